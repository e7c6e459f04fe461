// Reference program for scenario `ffi_cap` (seed 002: cgo busy loops run
// beside GOMAXPROCS; LockOSThread busy loops do not; a goroutine that exits
// locked takes its thread with it).
//
// The incident. Seed 002's cgo experiment: five goroutines each call a C
// busy loop while main spins, at GOMAXPROCS=1, and the process uses six
// cores' worth of CPU. A cgo call is a syscall to the scheduler
// (entersyscall in cgocall): sysmon's retake sees the P in _Psyscall and
// hands it off, so each C loop keeps an M to itself outside the cap and a
// new M runs the Go code. The LockOSThread experiment looks alike (8
// threads) but does not exceed the cap: a locked goroutine is still
// scheduled; when it is not running, its M sleeps (stoplockedm), so at most
// GOMAXPROCS threads run Go code. And a goroutine that returns while locked
// makes its M exit (goexit0 -> mexit): the one way Go threads terminate.
//
// The workload (issue 4): N goroutines, for the load phase, each
//   - mode=ffi: call the C busy loop cshims.BusyLoopUntil (c-shims/src/
//     shims.c, the same C the Rust column calls) until the load ends;
//   - mode=locked: runtime.LockOSThread, then a Go busy loop (preemptible:
//     Go 1.19 preempts it asynchronously) until the load ends, then
//     UnlockOSThread;
//   - mode=locked_exit: as locked, but return without unlocking, so each
//     goroutine's thread exits;
//
// while the main goroutine computes (a Go loop, preemptible), plus the
// kit's probe.
//
// Phases: load_start, load_stop; locked_exit adds exit_settled once the
// thread count has dropped (or after 1 s).
//
// What the runner should see (Go 1.19, Linux, 2 cores):
//   - ffi: R-threads max >= N + 1 > procs (N C loops + main's M; the CPU
//     caps it at the core count, so read r_threads, not cores, for N > 1);
//     threads about N + the floor.
//   - locked: threads about N + the floor, R-threads <= procs (+1 for
//     sysmon or a thread in transit), probe p99 ~ the 10 ms preemption
//     slice times the runnable goroutines.
//   - locked_exit: threads_after_exit ~ threads_before_exit - N.
//
// Summary metrics: main_iters (main's compute loop), go_loop_iters (locked
// modes), c_loop_iters (ffi), load_s, threads_created (threadcreate
// profile count at load_stop), threads_before_exit, threads_after_exit and
// threads_exited (locked_exit; /proc/self/status Threads), exit_settle_ms.
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"schedlab/reference/internal/cshims"
	"schedlab/reference/internal/metrics"
)

var spec = metrics.Spec{
	Name:       "ffi_cap",
	About:      "N goroutines busy-loop in C through cgo (ffi), or locked to their thread in Go (locked, locked_exit), while main computes (seed 002).",
	ProcsParam: "procs",
	Params: []metrics.Param{
		{Key: "mode", Kind: metrics.Word, Words: []string{"ffi", "locked", "locked_exit"}, Default: "ffi", Help: "cgo busy loop, LockOSThread + Go loop, or the same returning while locked"},
		{Key: "n", Kind: metrics.Int, Min: 1, Max: 1000, Default: "5", Help: "busy goroutines"},
		{Key: "procs", Kind: metrics.Int, Min: 1, Max: 256, Default: "1", Help: "GOMAXPROCS"},
	},
}

func main() { metrics.Run(spec, run) }

func run(ctx *metrics.Ctx) error {
	mode, n := ctx.Word("mode"), ctx.Int("n")
	stop := new(int32) // heap: C reads it for the whole call
	loopIters := make([]uint64, n)
	var wg sync.WaitGroup
	ctx.Phase("load_start")
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(out *uint64) {
			defer wg.Done()
			switch mode {
			case "ffi":
				*out = cshims.BusyLoopUntil(stop)
			case "locked":
				runtime.LockOSThread()
				*out = goBusyLoop(stop)
				runtime.UnlockOSThread()
			case "locked_exit":
				runtime.LockOSThread()
				*out = goBusyLoop(stop)
				// no UnlockOSThread: this goroutine's M exits with it
			}
		}(&loopIters[i])
	}
	mainIters := computeUntil(start.Add(ctx.Duration))
	before := selfThreads()
	atomic.StoreInt32(stop, 1)
	wg.Wait()
	ctx.Phase("load_stop")
	loadS := time.Since(start).Seconds()
	ctx.Metric("threads_created", float64(pprof.Lookup("threadcreate").Count()))
	if mode == "locked_exit" {
		after, waited := waitThreadsBelow(before-n, time.Second)
		ctx.Phase("exit_settled")
		ctx.Metric("threads_before_exit", float64(before))
		ctx.Metric("threads_after_exit", float64(after))
		ctx.Metric("threads_exited", float64(before-after))
		ctx.Metric("exit_settle_ms", float64(waited.Microseconds())/1e3)
	}
	var sum uint64
	for _, v := range loopIters {
		sum += v
	}
	if mode == "ffi" {
		ctx.Metric("c_loop_iters", float64(sum))
	} else {
		ctx.Metric("go_loop_iters", float64(sum))
	}
	ctx.Metric("main_iters", float64(mainIters))
	ctx.Metric("load_s", loadS)
	return nil
}

// goBusyLoop spins in Go until *stop; preemptible at any instruction.
func goBusyLoop(stop *int32) uint64 {
	var n uint64
	for atomic.LoadInt32(stop) == 0 {
		n++
	}
	return n
}

// sink keeps main's arithmetic alive.
var sink uint64

// computeUntil is main's work: arithmetic, reading the clock every 4096
// rounds.
func computeUntil(end time.Time) uint64 {
	var n, x uint64 = 0, 1
	for {
		for i := 0; i < 4096; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		n++
		if time.Now().After(end) {
			break
		}
	}
	atomic.StoreUint64(&sink, x) // keep the arithmetic
	return n
}

// waitThreadsBelow polls /proc/self/status until Threads <= want or the
// timeout, and returns the last count and the time waited.
func waitThreadsBelow(want int, timeout time.Duration) (int, time.Duration) {
	start := time.Now()
	for {
		n := selfThreads()
		if n <= want || time.Since(start) >= timeout {
			return n, time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// selfThreads is /proc/self/status Threads (0 if unreadable).
func selfThreads() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Threads:") {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			return n
		}
	}
	return 0
}
