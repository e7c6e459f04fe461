// Reference program for scenario `timer_stw` (seed 004: Go 1.14.1's
// stop-the-world hang, golang/go#38023) - the control column.
//
// The incident. On Go 1.14.1 a goroutine resetting a timer could be
// preempted inside modtimer after setting the timer's status to
// timerModifying and before finishing (the preemption came at
// wakeNetPoller's stack check). Its M went into schedule() on g0 with no
// curg, found that timer at the head of its P's heap in adjusttimers/
// checkTimers and spun on it with osyield, waiting for a modification that
// only the preempted goroutine could finish. With a GC's stop-the-world
// pending, every other P stopped; preemptone skips an M without a curg, so
// the spinning P never did: the world never stopped, the process wedged
// with one core at 100% in runtime.osyield. Go 1.14.2 (commit 355f53f)
// moved wakeNetPoller after the status change.
//
// The workload: seed 004's reproduction, unchanged in substance:
// GOMAXPROCS = procs (2 in the seed); one goroutine loops runtime.GC();
// two goroutines loop `<-t.C; t.Reset(1us)` and `<-t1.C; t1.Reset(2us)`
// (timer_goroutines, default 2 as in the seed; more alternate 1us/2us).
// Instead of printing every 10,000 rounds it counts GC cycles and timer
// fires (sample counters gc_cycles, timer_fires, timer1_fires,
// timer2_fires) and a watchdog goroutine samples them every 100 ms, putting
// the rates over its last window in the counters gc_cycles_per_s and
// timer_fires_per_s.
//
// This binary runs on the installed Go 1.19, where the ordering is fixed:
// it must never hang (the control). A real hang would stop the world for
// ever, so no goroutine of this process - the watchdog included - could
// report it: the runner's timeout is the hang detector here; what the
// watchdog can see is a stall (no counter moving for stall_limit_ms while
// the world still runs), reported as an event of kind diagnosis.
// timers=go1.14.1 is accepted so a sweep's grid can name the axis for
// every runtime, but Go 1.14.1 cannot be installed in this lab: the point
// runs the same Go 1.19 runtime, and says so in a note event
// (go_runtime_minor = 19 in the summary).
//
// Phases: load_start, load_stop.
//
// What the runner should see (Go 1.19): no hang at any procs over any
// duration; gc_cycles_per_s in the hundreds to thousands (one full GC per
// loop round on a tiny heap), timer_fires_per_s in the tens to hundreds of
// thousands; cores used about min(procs, 2); hung = 0.
//
// Summary metrics: gc_cycles, timer_fires, timer1_fires, timer2_fires,
// gc_cycles_per_s, timer_fires_per_s, num_gc (runtime.MemStats.NumGC
// growth), longest_stall_ms (the longest watchdog window in which neither
// GC cycles nor timer fires moved), stalls (windows over stall_limit_ms),
// hung (0: the program got to write its summary), go_runtime_minor.
package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"schedlab/reference/internal/metrics"
)

var spec = metrics.Spec{
	Name:       "timer_stw",
	About:      "Seed 004's Go 1.14.1 hang reproduction (a runtime.GC loop beside two 1-2 us timer Reset loops) on the installed Go: the control.",
	ProcsParam: "procs",
	Params: []metrics.Param{
		{Key: "procs", Kind: metrics.Int, Min: 1, Max: 256, Default: "2", Help: "GOMAXPROCS"},
		{Key: "timers", Kind: metrics.Word, Words: []string{"go1.19", "go1.14.1"}, Default: "go1.19", Help: "timer ordering axis of the sweep; the real runtime here is always the installed Go"},
		{Key: "timer_goroutines", Kind: metrics.Int, Min: 1, Max: 1024, Default: "2", Help: "goroutines looping on their own timer, reset alternately to 1us and 2us (the seed has 2)"},
		{Key: "stall_limit_ms", Kind: metrics.Int, Min: 10, Max: 600000, Default: "1000", Help: "a watchdog window without progress this long counts as a stall"},
	},
}

func main() { metrics.Run(spec, run) }

type counts struct {
	gc, t1, t2 *metrics.Counter
	fires      *metrics.Counter
}

func run(ctx *metrics.Ctx) error {
	minor := goMinor()
	ctx.Metric("go_runtime_minor", float64(minor))
	if ctx.Word("timers") == "go1.14.1" {
		ctx.Event("note", fmt.Sprintf("timers=go1.14.1 asked, but Go 1.14.1 cannot be installed here: this point runs %s's timers (the fixed ordering), as a control", runtime.Version()))
	}
	c := counts{
		gc: ctx.Counter("gc_cycles"), t1: ctx.Counter("timer1_fires"),
		t2: ctx.Counter("timer2_fires"), fires: ctx.Counter("timer_fires"),
	}
	var stop int32
	var wg sync.WaitGroup
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)

	ctx.Phase("load_start")
	start := time.Now()
	wg.Add(1)
	go func() { defer wg.Done(); gcLoop(&stop, c.gc) }()
	for i := 0; i < ctx.Int("timer_goroutines"); i++ {
		d, mine := time.Microsecond, c.t1
		if i%2 == 1 {
			d, mine = 2*time.Microsecond, c.t2
		}
		wg.Add(1)
		go func() { defer wg.Done(); timerLoop(&stop, d, mine, c.fires) }()
	}
	w := watch(ctx, c, start.Add(ctx.Duration), time.Duration(ctx.Int("stall_limit_ms"))*time.Millisecond)
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	secs := time.Since(start).Seconds()
	ctx.Phase("load_stop")

	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	gc, t1, t2 := c.gc.Get(), c.t1.Get(), c.t2.Get()
	ctx.Metric("gc_cycles", float64(gc))
	ctx.Metric("timer1_fires", float64(t1))
	ctx.Metric("timer2_fires", float64(t2))
	ctx.Metric("timer_fires", float64(t1+t2))
	ctx.Metric("gc_cycles_per_s", float64(gc)/secs)
	ctx.Metric("timer_fires_per_s", float64(t1+t2)/secs)
	ctx.Metric("num_gc", float64(ms1.NumGC-ms0.NumGC))
	ctx.Metric("longest_stall_ms", float64(w.longest.Microseconds())/1e3)
	ctx.Metric("stalls", float64(w.stalls))
	ctx.Metric("load_s", secs)
	ctx.Metric("hung", 0)
	return nil
}

// gcLoop is seed 004's first goroutine: runtime.GC() in a loop.
func gcLoop(stop *int32, n *metrics.Counter) {
	for atomic.LoadInt32(stop) == 0 {
		runtime.GC()
		n.Add(1)
	}
}

// timerLoop is seed 004's timer goroutines: wait for the timer, Reset it.
func timerLoop(stop *int32, d time.Duration, mine, all *metrics.Counter) {
	t := time.NewTimer(d)
	for atomic.LoadInt32(stop) == 0 {
		<-t.C
		t.Reset(d)
		mine.Add(1)
		all.Add(1)
	}
	t.Stop()
}

type watchResult struct {
	longest time.Duration
	stalls  int
}

// watch samples the counters every 100 ms until end; a window in which
// neither GC cycles nor timer fires move is a stall, and one over limit is
// reported with the counters' state.
func watch(ctx *metrics.Ctx, c counts, end time.Time, limit time.Duration) watchResult {
	var r watchResult
	gcRate, fireRate := ctx.Counter("gc_cycles_per_s"), ctx.Counter("timer_fires_per_s")
	lastGC, lastFires := c.gc.Get(), c.fires.Get()
	since := time.Now()
	prev, prevGC, prevFires := since, lastGC, lastFires
	reported := false
	for time.Now().Before(end) {
		d := time.Until(end)
		if d > 100*time.Millisecond {
			d = 100 * time.Millisecond
		}
		time.Sleep(d)
		now := time.Now()
		gc, fires := c.gc.Get(), c.fires.Get()
		if dt := now.Sub(prev).Seconds(); dt > 0 {
			gcRate.Set(int64(float64(gc-prevGC) / dt))
			fireRate.Set(int64(float64(fires-prevFires) / dt))
			prev, prevGC, prevFires = now, gc, fires
		}
		if gc != lastGC || fires != lastFires {
			lastGC, lastFires, since, reported = gc, fires, now, false
			continue
		}
		stalled := now.Sub(since)
		if stalled > r.longest {
			r.longest = stalled
		}
		if stalled >= limit && !reported {
			r.stalls++
			reported = true
			ctx.Event("diagnosis", fmt.Sprintf("no progress for %v: gc_cycles=%d timer1_fires=%d timer2_fires=%d (the world still runs: this watchdog woke, so it is not a stop-the-world wedge)",
				stalled.Round(time.Millisecond), gc, c.t1.Get(), c.t2.Get()))
		}
	}
	return r
}

// goMinor is the minor version of the running Go (19 for go1.19.x).
func goMinor() int {
	v := strings.TrimPrefix(runtime.Version(), "go1.")
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	n, _ := strconv.Atoi(v)
	return n
}
