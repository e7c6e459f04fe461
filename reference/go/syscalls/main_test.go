package main

import (
	"syscall"
	"testing"
	"time"
)

func TestWantsSlackReadsEveryFormOfSet(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{[]string{"--runtime", "go", "--set", "slack=1"}, true},
		{[]string{"--set=slack=true"}, true},
		{[]string{"-set", "slack=yes"}, true},
		{[]string{"--set", "slack=0"}, false},
		{[]string{"--set", "k=1", "--set", "d_us=5"}, false},
		{[]string{"--set"}, false},
		{[]string{"slack=1"}, false}, // not a --set value
	}
	for _, c := range cases {
		if got := wantsSlack(c.args); got != c.want {
			t.Errorf("wantsSlack(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

func TestCallSleepsAtLeastD(t *testing.T) {
	for _, raw := range []bool{false, true} {
		p := params{raw: raw, d: 300 * time.Microsecond}
		ts := syscall.NsecToTimespec(p.d.Nanoseconds())
		start := time.Now()
		call(p, &ts)
		if got := time.Since(start); got < p.d {
			t.Errorf("raw=%v: nanosleep(%v) returned after %v", raw, p.d, got)
		}
	}
}

func TestCalibrateCountsCallsAndOrdersQuantiles(t *testing.T) {
	c := calibrate(params{d: 200 * time.Microsecond})
	// At least 5 calls; at most 200, and about 10 ms / 200 us = 50 of them.
	if c.n < 5 || c.n > 200 {
		t.Fatalf("n = %d", c.n)
	}
	if c.p50 < 200 || c.p99 < c.p50 {
		t.Fatalf("p50 %v us, p99 %v us: a 200 us sleep cannot be shorter, p99 >= p50", c.p50, c.p99)
	}
}

func TestSelfThreadsReadsProc(t *testing.T) {
	if selfThreads() < 1 {
		t.Fatal("cannot read /proc/self/status Threads")
	}
}
