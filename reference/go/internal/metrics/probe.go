package metrics

// The 1 ms latency probe, a goroutine, and the sampler riding on it (see
// doc.go and scenario-kit/src/probe.rs: the same schedule and the same
// sampling rule). The interval histogram is emptied exactly when a sample
// line is written; the whole-run histogram only grows; both sit behind one
// mutex that only the probe takes, once per wake-up.

import (
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

const (
	probePeriod = time.Millisecond
	resetAfter  = 5 * time.Millisecond
)

// schedule is the fixed 1 ms grid.
type schedule struct{ next time.Time }

func newSchedule(now time.Time) schedule { return schedule{next: now.Add(probePeriod)} }

// woke records a wake-up at now and returns its lateness (never negative).
func (s *schedule) woke(now time.Time) time.Duration {
	late := now.Sub(s.next)
	if late < 0 {
		late = 0
	}
	if late > resetAfter {
		s.next = now.Add(probePeriod)
	} else {
		s.next = s.next.Add(probePeriod)
	}
	return late
}

type probe struct {
	em          *Emitter
	counters    *counters
	sampleEvery time.Duration

	mu         sync.Mutex
	interval   *Histogram
	total      *Histogram
	nextSample time.Time

	stop int32
	done chan struct{}
}

func newProbe(em *Emitter, c *counters, every time.Duration) *probe {
	return &probe{
		em: em, counters: c, sampleEvery: every,
		interval: NewHistogram(), total: NewHistogram(),
		nextSample: time.Now().Add(every), done: make(chan struct{}),
	}
}

// loop sleeps on the grid until stopped; run it as a goroutine.
func (p *probe) loop() {
	defer close(p.done)
	s := newSchedule(time.Now())
	for atomic.LoadInt32(&p.stop) == 0 {
		for {
			d := time.Until(s.next)
			if d <= 0 {
				break
			}
			time.Sleep(d)
		}
		now := time.Now()
		p.record(s.woke(now), now)
	}
}

func (p *probe) record(late time.Duration, now time.Time) {
	us := uint64(late / time.Microsecond)
	p.mu.Lock()
	p.interval.Record(us)
	p.total.Record(us)
	var due *Histogram
	if !now.Before(p.nextSample) {
		p.nextSample = nextSampleAfter(p.nextSample, now, p.sampleEvery)
		due, p.interval = p.interval, NewHistogram()
	}
	p.mu.Unlock()
	if due != nil {
		p.emitSample(due, now)
	}
}

func nextSampleAfter(prev, now time.Time, every time.Duration) time.Time {
	next := prev.Add(every)
	if !next.After(now) {
		behind := now.Sub(prev) / every
		next = prev.Add(every * (behind + 1))
	}
	return next
}

func (p *probe) emitSample(h *Histogram, now time.Time) {
	c := map[string]float64{
		"goroutines":      float64(runtime.NumGoroutine()),
		"threads_created": float64(pprof.Lookup("threadcreate").Count()),
		"gomaxprocs":      float64(runtime.GOMAXPROCS(0)),
	}
	p.counters.readInto(c)
	var stats *ProbeStats
	if h.Len() > 0 {
		s := h.Stats()
		stats = &s
	}
	p.em.sample(now, stats, c)
}

// finish stops the loop, waits for it, writes the last partial sample and
// returns the whole run's stats.
func (p *probe) finish() ProbeStats {
	atomic.StoreInt32(&p.stop, 1)
	<-p.done
	p.mu.Lock()
	rest, total := p.interval, p.total.Stats()
	p.interval = NewHistogram()
	p.mu.Unlock()
	if rest.Len() > 0 {
		p.emitSample(rest, time.Now())
	}
	return total
}

// Counter is a named value every sample line carries.
type Counter struct{ v int64 }

// Add adds d.
func (c *Counter) Add(d int64) { atomic.AddInt64(&c.v, d) }

// Set sets v.
func (c *Counter) Set(v int64) { atomic.StoreInt64(&c.v, v) }

// Get reads the value.
func (c *Counter) Get() int64 { return atomic.LoadInt64(&c.v) }

type counters struct {
	mu sync.Mutex
	m  map[string]*Counter
}

func (cs *counters) get(name string) *Counter {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]*Counter{}
	}
	c, ok := cs.m[name]
	if !ok {
		c = &Counter{}
		cs.m[name] = c
	}
	return c
}

func (cs *counters) readInto(out map[string]float64) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for k, c := range cs.m {
		out[k] = float64(c.Get())
	}
}
