package cshims

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestBusyLoopRunsAtLeastTheTimeAsked(t *testing.T) {
	start := time.Now()
	if n := BusyLoop(5 * time.Millisecond); n == 0 {
		t.Fatal("no iterations")
	}
	if time.Since(start) < 5*time.Millisecond {
		t.Fatal("returned early")
	}
}

func TestBusyLoopUntilStops(t *testing.T) {
	stop := new(int32)
	done := make(chan uint64)
	go func() { done <- BusyLoopUntil(stop) }()
	time.Sleep(5 * time.Millisecond)
	Stop(stop)
	if n := <-done; n == 0 {
		t.Fatal("no iterations")
	}
}

func TestNanosleepIsMeasured(t *testing.T) {
	if got := Nanosleep(200 * time.Microsecond); got < 200*time.Microsecond {
		t.Fatalf("slept %v", got)
	}
}

func TestGetpid(t *testing.T) {
	if Getpid() != int64(os.Getpid()) {
		t.Fatal("wrong pid")
	}
}

func TestTimerslackRoundTrips(t *testing.T) {
	runtime.LockOSThread() // the thread exits with the goroutine: its slack goes with it
	if err := SetTimerslack(1); err != nil {
		t.Fatal(err)
	}
	if Timerslack() != 1 {
		t.Fatalf("slack %v", Timerslack())
	}
}
