// Reference program for scenario `sender_leak` (seeds 001 and 003: a
// goroutine leak that reached 130,000 goroutines and GBs of memory).
//
// The incident (seed 003). A server passed self-monitoring metrics from
// heartbeat handlers to an exporter goroutine through a channel with 1,000
// buffer slots. When a customer configured no exporter, the exporter
// goroutine returned at once ("if len(exporters) == 0 { return nil }"),
// but every heartbeat still sent into the channel: once the buffer was
// full, each send parked its goroutine in chansend (gopark, waitReason
// "chan send", a sudog on the channel's sendq) forever, keeping its stack:
// goroutines grew without bound. Seed 003's reproduction: a receiver that
// returns because a flag is off, and a loop that starts, every 500 ms, a
// goroutine sending one value into a channel of capacity 5. The fix: the
// sender checks the flag. Seed 001 proposes a bounded pool (a semaphore of
// 100 in flight) as the general remedy, and pprof's goroutine?debug=1 to
// find the leak ("N @ ... chan send ... created by ...").
//
// The workload (issue 5): seed 003's program at period_ms (1 ms), channel
// capacity cap (5; 1,000 as in the incident). Variants:
//   - leak: seed 003 as written;
//   - fixed_flag: the sender checks the flag (seed 003's fix);
//   - fixed_done: the sender selects on the send and on a done channel the
//     receiver closes when it returns;
//   - pool: seed 001's AsyncGoForHandle: acquire a slot of a 100-slot
//     semaphore (blocking), then start the sender, which frees its slot
//     when its send completes. It turns the leak into back-pressure: the
//     first 100 senders past the buffer block for ever holding every slot,
//     so the producer itself blocks and the heartbeats stop
//     (backpressure_ticks counts the ticks that never sent);
//   - flood: no period: start flood_n (1,000,000) leaking senders as fast as
//     one goroutine can, timing it (flood_s: until every sender has run and
//     parked) and the memory each costs (bytes_per_goroutine).
//
// At the end the program writes pprof's goroutine profile at debug=1 (an
// event of kind goroutine_dump: leaked senders grouped by stack, "N @ ...
// chan send ... created by main.spawnSender").
//
// Phases: load_start, load_stop (flood: flood_done between them).
//
// What the runner should see (Go 1.19): leak: goroutines grow linearly,
// leaked_senders ~= sends - cap (leak_ratio ~1), about 2.5-3 KiB of RSS per
// leaked goroutine (2 KiB initial stack + g + sudog); fixed_flag and
// fixed_done: flat; pool: flat at ~pool, backpressure_ticks ~= the ticks
// after the first cap+pool sends; flood: 1,000,000 goroutines in about a
// second or two, ~2.6-3 KiB each.
//
// Summary metrics: sends (sender goroutines started), ticks_due,
// backpressure_ticks, leaked_senders (started - finished), expected_leak
// (max(0, sends - cap)), leak_ratio, goroutines_start, goroutines_end,
// rss_start_bytes, rss_end_bytes_self, bytes_per_goroutine (RSS growth /
// leaked senders, when >= 1000 leaked), go_bytes_per_goroutine (the Go
// heap+stack growth from runtime.MemStats over the same), flood_spawn_s,
// flood_s, dump_ms. Sample counters: sends, leaked_senders, rss_kb.
package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"schedlab/reference/internal/metrics"
	// SCHEDLAB_PPROF_ADDR set: serve pprof, for `schedlab watch --pprof`.
	_ "schedlab/reference/internal/pprofserve"
)

var spec = metrics.Spec{
	Name:  "sender_leak",
	About: "Every period a goroutine sends into a buffered channel whose only receiver returned (seeds 001, 003); fixes, a pool, and a 1,000,000-goroutine flood.",
	Params: []metrics.Param{
		{Key: "variant", Kind: metrics.Word, Words: []string{"leak", "fixed_flag", "fixed_done", "pool", "flood"}, Default: "leak", Help: "the leak, its two fixes, seed 001's bounded pool, or a flood"},
		{Key: "cap", Kind: metrics.Int, Min: 0, Max: 1000000, Default: "5", Help: "channel buffer capacity"},
		{Key: "period_ms", Kind: metrics.Float, Min: 0.001, Max: 60000, Default: "1", Help: "one new sender every period"},
		{Key: "pool", Kind: metrics.Int, Min: 1, Max: 1000000, Default: "100", Help: "pool variant: senders in flight at most"},
		{Key: "flood_n", Kind: metrics.Int, Min: 1, Max: 10000000, Default: "1000000", Help: "flood variant: goroutines to leak"},
	},
}

func main() { metrics.Run(spec, run) }

// senders counts sender goroutines started and finished.
type senders struct {
	started, finished int64
	counter           *metrics.Counter
}

func (s *senders) leaked() int64 {
	return atomic.LoadInt64(&s.started) - atomic.LoadInt64(&s.finished)
}

// exporter is seed 003's receiver side: the channel, the config flag
// (false: no database configured), and the done channel of fixed_done.
type exporter struct {
	input chan int
	flag  bool
	done  chan struct{}
}

// receive is the receiver goroutine: it returns at once, the flag is off.
func (e *exporter) receive() {
	defer close(e.done)
	if !e.flag {
		return
	}
	for v := range e.input {
		_ = v
	}
}

func run(ctx *metrics.Ctx) error {
	variant := ctx.Word("variant")
	e := &exporter{input: make(chan int, ctx.Int("cap")), done: make(chan struct{})}
	go e.receive()
	<-e.done
	s := &senders{counter: ctx.Counter("sends")}
	stopRSS := sampleRSS(ctx, s)
	base := runtime.NumGoroutine()
	rss0 := rssBytes()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	ctx.Metric("goroutines_start", float64(base))
	ctx.Metric("rss_start_bytes", float64(rss0))

	ctx.Phase("load_start")
	if variant == "flood" {
		took := flood(ctx, e, s, ctx.Int("flood_n"))
		ctx.Phase("flood_done")
		if rest := ctx.Duration - took; rest > 0 {
			time.Sleep(rest)
		}
	} else {
		period := time.Duration(ctx.Float("period_ms") * float64(time.Millisecond))
		produce(ctx, variant, e, s, period)
	}
	ctx.Phase("load_stop")
	xy := stopRSS()

	leaked := s.leaked()
	sends := atomic.LoadInt64(&s.started)
	var expected int64 // only the leaking variants are expected to leak
	if variant == "leak" || variant == "flood" {
		expected = max64(0, sends-int64(cap(e.input)))
	}
	rss1 := rssBytes()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	ctx.Metric("sends", float64(sends))
	ctx.Metric("leaked_senders", float64(leaked))
	ctx.Metric("expected_leak", float64(expected))
	if expected > 0 {
		ctx.Metric("leak_ratio", float64(leaked)/float64(expected))
	}
	ctx.Metric("goroutines_end", float64(runtime.NumGoroutine()))
	ctx.Metric("rss_end_bytes_self", float64(rss1))
	if leaked >= 1000 {
		ctx.Metric("bytes_per_goroutine", float64(rss1-rss0)/float64(leaked))
		goBytes := float64(ms1.StackInuse+ms1.HeapInuse) - float64(ms0.StackInuse+ms0.HeapInuse)
		ctx.Metric("go_bytes_per_goroutine", goBytes/float64(leaked))
	}
	xy = append(xy, point{float64(leaked), float64(rss1)})
	if b, ok := slope(xy); ok {
		ctx.Metric("bytes_per_leaked", b) // the same name and rule as gmp's and tokio's
	}
	t := time.Now()
	ctx.GoroutineDump()
	ctx.Metric("dump_ms", float64(time.Since(t).Microseconds())/1e3)
	return nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// produce is seed 003's heartbeat loop on a fixed grid of period (missed
// ticks are caught up, so sends ~= duration / period), in its own goroutine
// because the pool variant's producer blocks for ever.
func produce(ctx *metrics.Ctx, variant string, e *exporter, s *senders, period time.Duration) {
	var sem chan struct{}
	if variant == "pool" {
		sem = make(chan struct{}, ctx.Int("pool"))
	}
	start := time.Now()
	deadline := start.Add(ctx.Duration)
	var ticks int64
	var quit int32
	go func() {
		next := start
		for i := 0; atomic.LoadInt32(&quit) == 0; i++ {
			next = next.Add(period)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			if next.After(deadline) {
				return
			}
			atomic.AddInt64(&ticks, 1)
			if sem != nil {
				sem <- struct{}{} // seed 001: LIMIT_G_NUM <- struct{}{} (blocks when full)
			}
			spawnSender(variant, e, s, i, sem)
		}
	}()
	time.Sleep(time.Until(deadline))
	atomic.StoreInt32(&quit, 1)
	due := int64(time.Since(start) / period)
	ctx.Metric("ticks_due", float64(due))
	if variant == "pool" {
		ctx.Metric("backpressure_ticks", float64(due-atomic.LoadInt64(&s.started)))
	}
}

// spawnSender starts one heartbeat's sender goroutine, the variant's way.
func spawnSender(variant string, e *exporter, s *senders, i int, sem chan struct{}) {
	atomic.AddInt64(&s.started, 1)
	s.counter.Add(1)
	switch variant {
	case "leak":
		go func() {
			e.input <- i // parks for ever once the buffer is full
			atomic.AddInt64(&s.finished, 1)
		}()
	case "fixed_flag":
		go func() {
			if e.flag {
				e.input <- i
			}
			atomic.AddInt64(&s.finished, 1)
		}()
	case "fixed_done":
		go func() {
			select {
			case e.input <- i:
			case <-e.done:
			}
			atomic.AddInt64(&s.finished, 1)
		}()
	case "pool":
		go func() {
			defer func() { <-sem }() // seed 001: return the token
			e.input <- i
			atomic.AddInt64(&s.finished, 1)
		}()
	}
}

// flood starts n leaking senders from one goroutine as fast as it can and
// waits until every one has run (and parked, but for the cap that fit).
func flood(ctx *metrics.Ctx, e *exporter, s *senders, n int) time.Duration {
	var ran int64
	start := time.Now()
	for i := 0; i < n; i++ {
		atomic.AddInt64(&s.started, 1)
		go func(i int) {
			atomic.AddInt64(&ran, 1)
			e.input <- i
			atomic.AddInt64(&s.finished, 1)
		}(i)
	}
	s.counter.Set(int64(n))
	spawn := time.Since(start)
	for atomic.LoadInt64(&ran) < int64(n) {
		time.Sleep(100 * time.Microsecond)
	}
	took := time.Since(start)
	ctx.Metric("flood_spawn_s", spawn.Seconds())
	ctx.Metric("flood_s", took.Seconds())
	return took
}

// sampleRSS puts rss_kb and leaked_senders in the sample lines (every
// 100 ms) and returns its stop function.
func sampleRSS(ctx *metrics.Ctx, s *senders) func() []point {
	rss, leaked := ctx.Counter("rss_kb"), ctx.Counter("leaked_senders")
	quit, done := make(chan struct{}), make(chan struct{})
	var xy []point
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			r, l := rssBytes(), s.leaked()
			rss.Set(r / 1024)
			leaked.Set(l)
			xy = append(xy, point{float64(l), float64(r)})
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() []point { close(quit); <-done; return xy }
}

// point is one (leaked senders, RSS bytes) sample.
type point struct{ x, y float64 }

// slope is the least-squares slope of y on x, as the Rust columns'
// bytes_per_leaked; ok is false with < 2 points or an x span under 1,000
// (too few senders to tell memory from noise).
func slope(xy []point) (float64, bool) {
	if len(xy) < 2 {
		return 0, false
	}
	lo, hi, mx, my := xy[0].x, xy[0].x, 0.0, 0.0
	for _, p := range xy {
		if p.x < lo {
			lo = p.x
		}
		if p.x > hi {
			hi = p.x
		}
		mx += p.x
		my += p.y
	}
	if hi-lo < 1000 {
		return 0, false
	}
	n := float64(len(xy))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for _, p := range xy {
		sxy += (p.x - mx) * (p.y - my)
		sxx += (p.x - mx) * (p.x - mx)
	}
	return sxy / sxx, true
}

// rssBytes is /proc/self/status VmRSS in bytes (0 if unreadable).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(strings.TrimPrefix(line, "VmRSS:"))
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
