// Reference program for scenario `syscalls` (seed 002: fast, slow and raw
// system calls, and what they do to Go's thread count).
//
// The incident. Seed 002 shows that a Go program's thread count is not
// GOMAXPROCS: a system call made through syscall.Syscall is bracketed by
// entersyscall/exitsyscall, and when it lasts longer than one sysmon tick
// (20 us at first, backing off to 10 ms when idle) sysmon's retake takes the
// P away from the blocked M (handoffp), and another M - a new thread when no
// idle one is left - runs the other goroutines. Six goroutines in a 68 us
// open(2) leave eight threads; getpid (0.2 us) leaves the three of hello
// world; syscall.RawSyscall is invisible to sysmon, keeps its P and adds no
// thread; and the threads never exit afterwards.
//
// The workload (issue 4): K goroutines each loop, for the load phase, on a
// system call of length d_us (nanosleep(d_us); d_us = 0 means getpid),
// made with syscall.Syscall (mode=wrapped) or syscall.RawSyscall
// (mode=raw); W compute goroutines stay runnable (they are what makes
// retake hand the P off at once: with nothing else runnable and a P idle,
// retake leaves a P in a syscall alone for up to 10 ms); the kit's 1 ms
// probe. Then a tail phase with no load: the threads stay.
//
// Phases: load_start, load_stop, tail_stop. --duration is load + tail; the
// tail is tail_ms, or 40% of the duration when tail_ms is -1 (default).
//
// What the runner should see (Go 1.19, Linux):
//   - d_us=0 (getpid, ~0.1-0.3 us): no thread beyond the floor (3-4 at
//     procs 1), whatever k.
//   - wrapped, d_us well above the sysmon tick (100, 1000): threads rise to
//     about k + the floor while the load runs (the idle Ms of start-up
//     absorb the first hand-offs, so k=1 may add none), and threads_end of
//     the tail equals the peak: Ms never exit.
//   - raw: no new thread at any d; the probe's p99 rises to about d_us at
//     procs 1 (the P sits in the kernel with the goroutine).
//   - the 5-50 us region is where the sysmon threshold shows as a step; the
//     kernel's timer slack (50 us by default) makes a 5 us nanosleep last
//     ~55-60 us, so slack=1 sets PR_SET_TIMERSLACK to 1 ns for every thread
//     and the short durations become really short.
//
// Timer slack is per thread and inherited by threads created later and
// across execve. With slack=1, main() sets it on its own (locked) thread
// and re-executes the program before the kit starts; every thread of the new
// image descends from that thread. As a second line, every existing thread's
// /proc/<tid>/timerslack_ns is written (needs CAP_SYS_NICE; a
// failure is only noted), and the slack in force is read back for the
// summary (timerslack_ns_min/_max over all threads).
//
// The real syscall duration (summary syscall_real_us, the x axis of the
// plots) is measured before load_start on the main goroutine with
// RawSyscall: a raw call keeps its P, so the time read after it is the
// kernel's time plus the wake-up, with no scheduler wait in it, and it
// creates no thread. During the load every worker also times its own calls
// (syscall_call_p50_us, syscall_call_p99_us); in wrapped mode those include
// exitsyscall's wait for a P, so they grow with k/procs and are not the
// kernel's duration.
//
// Summary metrics: syscall_real_us (median, calibration), syscall_real_p99_us,
// syscall_call_p50_us, syscall_call_p99_us, syscalls (calls in the load),
// syscalls_per_s, compute_iters, threads_created_load (threadcreate profile
// count at load_stop), threads_created (at tail_stop), threads_self_load_stop,
// threads_self_tail_stop (/proc/self/status Threads), timerslack_ns_min,
// timerslack_ns_max, load_s, tail_s.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"schedlab/reference/internal/metrics"
)

var spec = metrics.Spec{
	Name:       "syscalls",
	About:      "K goroutines loop on a syscall of d_us (nanosleep; 0 = getpid), wrapped or raw, beside W compute goroutines; then an idle tail (seed 002).",
	ProcsParam: "procs",
	Params: []metrics.Param{
		{Key: "mode", Kind: metrics.Word, Words: []string{"wrapped", "raw"}, Default: "wrapped", Help: "syscall.Syscall (sysmon sees it) or syscall.RawSyscall (it does not)"},
		{Key: "d_us", Kind: metrics.Int, Min: 0, Max: 1000000, Default: "1000", Help: "nanosleep length in us; 0 = getpid"},
		{Key: "k", Kind: metrics.Int, Min: 1, Max: 5000, Default: "6", Help: "goroutines looping on the syscall"},
		{Key: "w", Kind: metrics.Int, Min: 0, Max: 256, Default: "1", Help: "compute goroutines that stay runnable"},
		{Key: "procs", Kind: metrics.Int, Min: 1, Max: 256, Default: "1", Help: "GOMAXPROCS"},
		{Key: "slack", Kind: metrics.Bool, Default: "false", Help: "set every thread's timer slack to 1 ns (PR_SET_TIMERSLACK)"},
		{Key: "tail_ms", Kind: metrics.Int, Min: -1, Max: 3600000, Default: "-1", Help: "idle tail after the load, ms; -1 = 40% of --duration"},
	},
}

// envSlackDone marks the image that was re-executed with a 1 ns slack.
const envSlackDone = "SCHEDLAB_SYSCALLS_SLACK_SET"

const prSetTimerslack = 29 // <linux/prctl.h> PR_SET_TIMERSLACK

func main() {
	if wantsSlack(os.Args[1:]) && os.Getenv(envSlackDone) == "" {
		reexecWithSlack()
	}
	metrics.Run(spec, run)
}

// wantsSlack scans the raw command line for --set slack=<true>; the kit
// validates it properly afterwards.
func wantsSlack(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		var v string
		switch {
		case a == "--set" || a == "-set":
			if i+1 < len(args) {
				v = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--set="):
			v = strings.TrimPrefix(a, "--set=")
		case strings.HasPrefix(a, "-set="):
			v = strings.TrimPrefix(a, "-set=")
		}
		if k, val, ok := strings.Cut(v, "="); ok && k == "slack" {
			return val == "1" || val == "true" || val == "yes"
		}
	}
	return false
}

// reexecWithSlack sets this thread's slack to 1 ns and replaces the image
// from this very thread: the new image's first thread keeps the slack and
// every thread it creates inherits it. Returns only if exec failed.
func reexecWithSlack() {
	runtime.LockOSThread()
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0); e != 0 {
		fmt.Fprintf(os.Stderr, "syscalls: warning: PR_SET_TIMERSLACK: %v\n", e)
		return
	}
	env := append(os.Environ(), envSlackDone+"=1")
	err := syscall.Exec("/proc/self/exe", os.Args, env)
	fmt.Fprintf(os.Stderr, "syscalls: warning: re-exec with timer slack: %v\n", err)
}

type params struct {
	raw     bool
	d       time.Duration
	k, w    int
	slack   bool
	load    time.Duration
	tail    time.Duration
	tailArg int
}

func paramsOf(ctx *metrics.Ctx) (params, error) {
	p := params{
		raw:   ctx.Word("mode") == "raw",
		d:     time.Duration(ctx.Int("d_us")) * time.Microsecond,
		k:     ctx.Int("k"),
		w:     ctx.Int("w"),
		slack: ctx.Bool("slack"),
	}
	p.tail = ctx.Duration * 4 / 10
	if t := ctx.Int("tail_ms"); t >= 0 {
		p.tail = time.Duration(t) * time.Millisecond
	}
	if p.tail >= ctx.Duration && ctx.Duration > 0 {
		return p, fmt.Errorf("tail_ms=%d leaves no load in --duration %v", ctx.Int("tail_ms"), ctx.Duration)
	}
	p.load = ctx.Duration - p.tail
	return p, nil
}

func run(ctx *metrics.Ctx) error {
	p, err := paramsOf(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "syscalls: error: %v\nRun `syscalls --help` for the parameters.\n", err)
		os.Exit(2)
	}
	if p.slack {
		if err := setSlackAllThreads(1); err != nil {
			ctx.Event("note", "writing /proc/<tid>/timerslack_ns: "+err.Error()+" (threads created after the re-exec inherit 1 ns anyway)")
		}
	}
	calib := calibrate(p)
	ctx.Metric("syscall_real_us", calib.p50)
	ctx.Metric("syscall_real_p99_us", calib.p99)
	ctx.Metric("syscall_real_n", float64(calib.n))

	calls := ctx.Counter("syscalls")
	var stop int32
	var wg sync.WaitGroup
	hists := make([]*metrics.Histogram, p.k)
	ctx.Phase("load_start")
	start := time.Now()
	for i := 0; i < p.k; i++ {
		hists[i] = metrics.NewHistogram()
		wg.Add(1)
		go func(h *metrics.Histogram) {
			defer wg.Done()
			syscallLoop(p, h, &stop, calls)
		}(hists[i])
	}
	iters := make([]uint64, p.w)
	for i := 0; i < p.w; i++ {
		wg.Add(1)
		go func(out *uint64) {
			defer wg.Done()
			*out = computeLoop(&stop)
		}(&iters[i])
	}
	time.Sleep(p.load)
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	loadS := time.Since(start).Seconds()
	ctx.Phase("load_stop")
	ctx.Metric("threads_created_load", threadsCreated())
	ctx.Metric("threads_self_load_stop", selfThreads())

	time.Sleep(p.tail)
	ctx.Phase("tail_stop")
	ctx.Metric("threads_created", threadsCreated())
	ctx.Metric("threads_self_tail_stop", selfThreads())

	all := metrics.NewHistogram()
	for _, h := range hists {
		all.Merge(h)
	}
	if v, ok := all.Quantile(0.5); ok {
		ctx.Metric("syscall_call_p50_us", v/1e3)
	}
	if v, ok := all.Quantile(0.99); ok {
		ctx.Metric("syscall_call_p99_us", v/1e3)
	}
	var sum uint64
	for _, n := range iters {
		sum += n
	}
	ctx.Metric("syscalls", float64(all.Len()))
	ctx.Metric("syscalls_per_s", float64(all.Len())/loadS)
	ctx.Metric("compute_iters", float64(sum))
	ctx.Metric("load_s", loadS)
	ctx.Metric("tail_s", p.tail.Seconds())
	if lo, hi, ok := slackRange(); ok {
		ctx.Metric("timerslack_ns_min", lo)
		ctx.Metric("timerslack_ns_max", hi)
	}
	return nil
}

// syscallLoop is one of the K goroutines: the call, timed in ns.
func syscallLoop(p params, h *metrics.Histogram, stop *int32, calls *metrics.Counter) {
	ts := syscall.NsecToTimespec(p.d.Nanoseconds())
	var pending int64
	for atomic.LoadInt32(stop) == 0 {
		t0 := time.Now()
		call(p, &ts)
		h.Record(uint64(time.Since(t0).Nanoseconds()))
		if pending++; pending == 16 {
			calls.Add(pending)
			pending = 0
		}
	}
	calls.Add(pending)
}

// call makes one system call: nanosleep(d), or getpid when d is 0, through
// syscall.Syscall (entersyscall/exitsyscall) or syscall.RawSyscall (none).
func call(p params, ts *syscall.Timespec) {
	switch {
	case p.d == 0 && p.raw:
		syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
	case p.d == 0:
		syscall.Syscall(syscall.SYS_GETPID, 0, 0, 0)
	case p.raw:
		syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(ts)), 0, 0)
	default:
		syscall.Syscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(ts)), 0, 0)
	}
}

// sink keeps the compute loops' results alive.
var sink uint64

// computeLoop stays runnable until stop: Go 1.19 preempts it asynchronously.
func computeLoop(stop *int32) uint64 {
	var n, x uint64 = 0, 1
	for atomic.LoadInt32(stop) == 0 {
		for i := 0; i < 1024; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		n++
	}
	atomic.StoreUint64(&sink, x) // keep the arithmetic
	return n
}

type calibration struct {
	p50, p99 float64
	n        int
}

// calibrate times up to 200 raw calls (at most ~10 ms of them, at least 5)
// on the main goroutine: kernel time plus wake-up, no scheduler wait, no
// new thread. Runs before load_start.
func calibrate(p params) calibration {
	ts := syscall.NsecToTimespec(p.d.Nanoseconds())
	raw := p
	raw.raw = true
	var ns []float64
	begin := time.Now()
	for len(ns) < 200 && (len(ns) < 5 || time.Since(begin) < 10*time.Millisecond) {
		t0 := time.Now()
		call(raw, &ts)
		ns = append(ns, float64(time.Since(t0).Nanoseconds()))
	}
	sort.Float64s(ns)
	q := func(f float64) float64 { return ns[int(f*float64(len(ns)-1))] / 1e3 }
	return calibration{p50: q(0.5), p99: q(0.99), n: len(ns)}
}

func threadsCreated() float64 { return float64(pprof.Lookup("threadcreate").Count()) }

// selfThreads is /proc/self/status Threads (0 if unreadable).
func selfThreads() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Threads:") {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			return float64(n)
		}
	}
	return 0
}

func taskIDs() ([]string, error) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// setSlackAllThreads writes ns into every thread's timerslack_ns. The file
// is not listed under /proc/self/task/<tid>/ (it is a thread-group entry),
// but /proc/<tid>/timerslack_ns reaches any thread by its tid.
func setSlackAllThreads(ns int) error {
	tids, err := taskIDs()
	if err != nil {
		return err
	}
	var first error
	for _, t := range tids {
		err := os.WriteFile("/proc/"+t+"/timerslack_ns", []byte(strconv.Itoa(ns)), 0)
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// slackRange reads every thread's timer slack.
func slackRange() (lo, hi float64, ok bool) {
	tids, err := taskIDs()
	if err != nil {
		return 0, 0, false
	}
	for _, t := range tids {
		b, err := os.ReadFile("/proc/" + t + "/timerslack_ns")
		if err != nil {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			continue
		}
		if !ok || v < lo {
			lo = v
		}
		if !ok || v > hi {
			hi = v
		}
		ok = true
	}
	return lo, hi, ok
}
