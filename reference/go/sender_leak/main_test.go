package main

import (
	"testing"
	"time"

	"schedlab/reference/internal/metrics"
)

// leakedAfter starts n senders of variant into a cap-slot channel whose
// receiver returned, and polls (up to 5 s, generous for a loaded 2-core
// machine) until the count of unfinished senders stops moving at want.
func leakedAfter(t *testing.T, variant string, capacity, n int, want int64) int64 {
	t.Helper()
	e := &exporter{input: make(chan int, capacity), done: make(chan struct{})}
	go e.receive()
	<-e.done
	s := &senders{counter: &metrics.Counter{}}
	var sem chan struct{}
	if variant == "pool" {
		sem = make(chan struct{}, 3)
	}
	for i := 0; i < n; i++ {
		if sem != nil {
			select {
			case sem <- struct{}{}:
			default:
				continue // the pool is full: the real producer would block here
			}
		}
		spawnSender(variant, e, s, i, sem)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.leaked() != want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return s.leaked()
}

func TestLeakKeepsEverySenderPastTheBuffer(t *testing.T) {
	if got := leakedAfter(t, "leak", 5, 50, 45); got != 45 {
		t.Fatalf("leaked %d senders, want 50 - 5 = 45", got)
	}
}

func TestFixesLeakNothing(t *testing.T) {
	for _, v := range []string{"fixed_flag", "fixed_done"} {
		if got := leakedAfter(t, v, 5, 50, 0); got != 0 {
			t.Errorf("%s leaked %d senders", v, got)
		}
	}
}

func TestPoolBoundsTheLeakToItsSize(t *testing.T) {
	// cap 1: one send fits, then 3 senders block holding all 3 slots.
	if got := leakedAfter(t, "pool", 1, 50, 3); got != 3 {
		t.Fatalf("pool leaked %d senders, want the pool's 3", got)
	}
}
