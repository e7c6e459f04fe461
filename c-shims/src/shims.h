/*
 * schedlab C shims: small C functions the scenarios call through FFI, so
 * that "time spent in C" is real C (no Rust or Go runtime hooks inside).
 *
 * One source for both columns:
 *   - Rust: c-shims/build.rs compiles shims.c with the `cc` crate;
 *     c-shims/src/lib.rs declares these functions and wraps them.
 *   - Go (cgo): a package under reference/go includes the same file, e.g.
 *     reference/go/internal/cshims/cshims.go has
 *         // #include "shims.h"
 *         // #cgo CFLAGS: -I${SRCDIR}/../../../../c-shims/src -O2
 *         import "C"
 *     and a one-line C file beside it, shims.c:
 *         #include "../../../../c-shims/src/shims.c"
 *     (cgo compiles only .c files in the package directory, and a
 *     definition in the cgo preamble would be compiled twice).
 *
 * Every function is thread-safe and keeps no state.
 */
#ifndef SCHEDLAB_SHIMS_H
#define SCHEDLAB_SHIMS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Spins on the CPU for `ns` nanoseconds of CLOCK_MONOTONIC, calling
 * clock_gettime (vDSO: no syscall, no sleep) in the loop. Returns the
 * number of loop iterations. */
uint64_t shim_busy_loop_ns(uint64_t ns);

/* Spins until *stop becomes non-zero (read with an atomic relaxed load on
 * each iteration). Returns the number of iterations. */
uint64_t shim_busy_loop_forever(volatile int *stop);

/* nanosleep(ns), resumed after signals until the full time has passed.
 * Returns the measured duration in ns (CLOCK_MONOTONIC): with the default
 * 50 us timer slack a 5 us request really takes tens of microseconds. */
uint64_t shim_nanosleep_ns(uint64_t ns);

/* The getpid system call itself (syscall(SYS_getpid): glibc's wrapper
 * does not cache it since 2.25, but say so explicitly). */
int64_t shim_getpid(void);

/* The calling thread's timer slack (prctl PR_GET_TIMERSLACK), in ns. */
uint64_t shim_get_timerslack_ns(void);

/* Sets the calling thread's timer slack in ns (1 = as tight as the kernel
 * allows; 0 = back to the thread's default). Returns 0 or -errno. */
int shim_set_timerslack_ns(uint64_t ns);

#ifdef __cplusplus
}
#endif

#endif
