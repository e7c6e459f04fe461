// Reference program for scenario `tight_loop` (golang/go#10958, "runtime:
// tight loops should be preemptible"; the gmp.asyncpreempt knob).
//
// The incident. Before Go 1.14 a goroutine stopped only at a function
// prologue (the stack check), so a loop without calls held its P for as
// long as it ran, and a stop-the-world (every GC starts with one) waited
// for it with every other P already stopped: the program froze until the
// loop ended. Go 1.14 preempts such a loop asynchronously (SIGURG;
// preemptone -> preemptM). GODEBUG=asyncpreemptoff=1 switches that off:
// the kit re-executes this program with it when --set gmp.asyncpreempt=off.
//
// The workload (the same as scenarios/tight_loop): `loopers` goroutines
// each run spin(n), a loop of arithmetic with no call in it (so no stack
// check, no preemption point but an asynchronous one), n calibrated before
// load_start so the loop lasts --duration. 50 ms into the load main, which
// slept meanwhile, calls runtime.GC() once (param gc), then waits for the
// loops. The kit's 1 ms probe runs beside them.
//
// Summary metrics: loop_ms (the longest loop), loop_end_ms (when the first
// loop ended, from load_start), gc_ms (how long runtime.GC() took),
// gc_end_ms, gc_after_loop (1 if GC returned only after a loop ended),
// gc_wait_frac (gc_ms / loop_ms: the share of the loop the GC waited),
// main_late_ms (how late main woke from its 50 ms sleep), iters_per_ms.
package main

import (
	"runtime"
	"sync"
	"time"

	"schedlab/reference/internal/metrics"
)

var spec = metrics.Spec{
	Name:       "tight_loop",
	About:      "Goroutines in loops without calls while main runs a GC: does the stop-the-world wait for them? (golang/go#10958)",
	ProcsParam: "procs",
	Params: []metrics.Param{
		{Key: "procs", Kind: metrics.Int, Min: 1, Max: 64, Default: "2", Help: "GOMAXPROCS"},
		{Key: "loopers", Kind: metrics.Int, Min: 1, Max: 64, Default: "1", Help: "goroutines in a tight loop for the whole --duration"},
		{Key: "gc", Kind: metrics.Bool, Default: "true", Help: "main calls runtime.GC() 50 ms into the load"},
	},
}

// gcAt is when main wakes to call runtime.GC(), from load_start.
const gcAt = 50 * time.Millisecond

// sink keeps spin's result alive.
var sink uint64

// spin runs n steps of an LCG. The loop has no call: its only preemption
// point is an asynchronous one.
//
//go:noinline
func spin(n int64) uint64 {
	x := uint64(1)
	for i := int64(0); i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// calibrate is spin's iterations per millisecond: it doubles n until one
// run lasts 20 ms.
func calibrate() float64 {
	n := int64(1 << 14)
	for {
		t := time.Now()
		sink += spin(n)
		if e := time.Since(t); e >= 20*time.Millisecond {
			return float64(n) / (e.Seconds() * 1000)
		}
		n *= 2
	}
}

type record struct {
	mu        sync.Mutex
	loopMs    float64
	loopEndMs float64 // 0: none ended yet
}

func (r *record) done(loadStart, began time.Time) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := ms(now.Sub(began)); l > r.loopMs {
		r.loopMs = l
	}
	if e := ms(now.Sub(loadStart)); r.loopEndMs == 0 || e < r.loopEndMs {
		r.loopEndMs = e
	}
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

func main() { metrics.Run(spec, run) }

func run(ctx *metrics.Ctx) error {
	perMs := calibrate()
	n := int64(perMs * ms(ctx.Duration))
	time.Sleep(20 * time.Millisecond) // the probe is up
	var rec record
	var wg sync.WaitGroup
	ctx.Phase("load_start")
	loadStart := time.Now()
	for i := 0; i < ctx.Int("loopers"); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			x := spin(n)
			rec.done(loadStart, began)
			rec.mu.Lock()
			sink += x
			rec.mu.Unlock()
		}()
	}
	time.Sleep(gcAt)
	mainLate := time.Since(loadStart) - gcAt
	gcMs := -1.0
	if ctx.Bool("gc") {
		t := time.Now()
		runtime.GC()
		now := time.Now()
		end := ms(now.Sub(loadStart))
		gcMs = ms(now.Sub(t))
		ctx.Metric("gc_ms", gcMs)
		ctx.Metric("gc_end_ms", end)
		rec.mu.Lock()
		after := rec.loopEndMs != 0 && rec.loopEndMs <= end
		rec.mu.Unlock()
		ctx.Metric("gc_after_loop", b2f(after))
	}
	wg.Wait()
	if gcMs >= 0 && rec.loopMs > 0 {
		ctx.Metric("gc_wait_frac", gcMs/rec.loopMs)
	}
	ctx.Phase("load_stop")
	ctx.Metric("loop_ms", rec.loopMs)
	ctx.Metric("loop_end_ms", rec.loopEndMs)
	ctx.Metric("iters_per_ms", perMs)
	ctx.Metric("main_late_ms", ms(mainLate))
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
