package main

import (
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestGoBusyLoopStopsWhenAsked(t *testing.T) {
	stop := new(int32)
	done := make(chan uint64)
	go func() { done <- goBusyLoop(stop) }()
	time.Sleep(2 * time.Millisecond)
	atomic.StoreInt32(stop, 1)
	if n := <-done; n == 0 {
		t.Fatal("the loop never ran")
	}
}

// The locked_exit mechanism: a goroutine that returns while locked takes
// its thread with it (unless that thread is the main thread, m0, which Go
// parks instead).
func TestLockedGoroutineExitEndsItsThread(t *testing.T) {
	tid := make(chan int)
	go func() {
		runtime.LockOSThread()
		tid <- syscall.Gettid()
	}()
	id := <-tid
	if id == os.Getpid() {
		t.Skip("the goroutine ran on the main thread, which Go never lets exit")
	}
	path := "/proc/self/task/" + strconv.Itoa(id)
	deadline := time.Now().Add(5 * time.Second) // generous: a loaded 2-core box
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("thread %d still exists 5 s after its locked goroutine returned", id)
}

func TestSelfThreadsReadsProc(t *testing.T) {
	if selfThreads() < 1 {
		t.Fatal("cannot read /proc/self/status Threads")
	}
}
