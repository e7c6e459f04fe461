/*
 * schedlab C shims. See shims.h for what each does and how Rust (cc crate)
 * and Go (cgo) both compile this same file.
 *
 * Invariants: no global state; every loop reads CLOCK_MONOTONIC or an
 * atomic each iteration, so the compiler cannot hoist or delete it; every
 * return value is measured, never the requested figure.
 */
#define _GNU_SOURCE
#include "shims.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t shim_busy_loop_ns(uint64_t ns) {
    uint64_t start = now_ns();
    uint64_t iterations = 0;
    while (now_ns() - start < ns) {
        iterations++;
    }
    return iterations;
}

uint64_t shim_busy_loop_forever(volatile int *stop) {
    uint64_t iterations = 0;
    while (__atomic_load_n(stop, __ATOMIC_RELAXED) == 0) {
        iterations++;
    }
    return iterations;
}

uint64_t shim_nanosleep_ns(uint64_t ns) {
    uint64_t start = now_ns();
    struct timespec req = {
        .tv_sec = (time_t)(ns / 1000000000ull),
        .tv_nsec = (long)(ns % 1000000000ull),
    };
    struct timespec rem;
    while (nanosleep(&req, &rem) != 0 && errno == EINTR) {
        req = rem;
    }
    return now_ns() - start;
}

int64_t shim_getpid(void) {
    return (int64_t)syscall(SYS_getpid);
}

uint64_t shim_get_timerslack_ns(void) {
    int r = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    return r < 0 ? 0 : (uint64_t)r;
}

int shim_set_timerslack_ns(uint64_t ns) {
    if (prctl(PR_SET_TIMERSLACK, (unsigned long)ns, 0, 0, 0) != 0) {
        return -errno;
    }
    return 0;
}
