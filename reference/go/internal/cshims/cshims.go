// Package cshims gives the Go reference programs the same C functions the
// Rust scenarios call through c-shims (c-shims/src/shims.c, compiled here
// by cgo through shims.c beside this file), so both columns spin and sleep
// in identical C code. A call through cgo is what seed 002's experiments
// call an "FFI call": the runtime treats it as a syscall (entersyscall), so
// sysmon may hand its P off.
package cshims

// #cgo CFLAGS: -I${SRCDIR}/../../../../c-shims/src -O2
// #include "shims.h"
import "C"

import (
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// BusyLoop spins in C for d; returns the loop's iteration count.
func BusyLoop(d time.Duration) uint64 {
	return uint64(C.shim_busy_loop_ns(C.uint64_t(d.Nanoseconds())))
}

// BusyLoopUntil spins in C until *stop becomes non-zero (set it with
// atomic.StoreInt32). stop must not move: use a pointer to a heap value or
// a global.
func BusyLoopUntil(stop *int32) uint64 {
	return uint64(C.shim_busy_loop_forever((*C.int)(unsafe.Pointer(stop))))
}

// Stop sets *stop so BusyLoopUntil returns.
func Stop(stop *int32) { atomic.StoreInt32(stop, 1) }

// Nanosleep sleeps d in C and returns the measured duration.
func Nanosleep(d time.Duration) time.Duration {
	return time.Duration(C.shim_nanosleep_ns(C.uint64_t(d.Nanoseconds())))
}

// Getpid makes the getpid system call from C.
func Getpid() int64 { return int64(C.shim_getpid()) }

// Timerslack is the calling thread's timer slack (lock the OS thread
// around Timerslack/SetTimerslack to mean a particular thread).
func Timerslack() time.Duration { return time.Duration(C.shim_get_timerslack_ns()) }

// SetTimerslack sets the calling thread's timer slack.
func SetTimerslack(d time.Duration) error {
	if r := C.shim_set_timerslack_ns(C.uint64_t(d.Nanoseconds())); r != 0 {
		return syscall.Errno(-r)
	}
	return nil
}
