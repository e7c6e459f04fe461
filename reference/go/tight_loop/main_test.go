package main

import (
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// gcReturnsDuringSpin runs spin for about 300 ms on one P and calls
// runtime.GC() from another 20 ms in: whether GC returned before the loop
// ended.
func gcReturnsDuringSpin() bool {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	n := int64(calibrate() * 300)
	var ended int32
	done := make(chan uint64)
	go func() {
		x := spin(n)
		atomic.StoreInt32(&ended, 1)
		done <- x
	}()
	time.Sleep(20 * time.Millisecond)
	runtime.GC()
	during := atomic.LoadInt32(&ended) == 0
	sink += <-done
	return during
}

// The scenario's premise on real Go: spin's loop has no synchronous
// preemption point, so only asynchronous preemption stops it. With it (the
// default) a GC completes while the loop runs; under
// GODEBUG=asyncpreemptoff=1 (a child process: the runtime reads GODEBUG at
// start) the GC waits for the loop to end.
func TestSpinIsPreemptedOnlyAsynchronously(t *testing.T) {
	if os.Getenv("TIGHT_LOOP_ASYNCOFF") == "1" {
		if gcReturnsDuringSpin() {
			t.Fatal("GC returned during spin with asyncpreemptoff=1: spin has a synchronous preemption point")
		}
		return
	}
	if !gcReturnsDuringSpin() {
		t.Fatal("GC waited for spin although asynchronous preemption is on")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpinIsPreemptedOnlyAsynchronously$")
	cmd.Env = append(os.Environ(), "TIGHT_LOOP_ASYNCOFF=1", "GODEBUG=asyncpreemptoff=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with asyncpreemptoff=1: %v\n%s", err, out)
	}
}
