//! c-shims: the C functions later scenarios call through FFI (`ffi_cap`'s
//! busy loops, `syscalls`' timed nanosleep and raw getpid), compiled from
//! `src/shims.c` by `build.rs` with the `cc` crate. The Go reference
//! programs compile the very same file with cgo (how: `src/shims.h`), so
//! both columns spin and sleep in identical machine code.
//!
//! Why C at all: a scenario that measures "an FFI call that never yields"
//! must be sure no Rust/Go runtime hook runs inside it. The wrappers here
//! add nothing but the call; a scenario decides how the call is announced
//! to its runtime (`gmp::ffi(|| c_shims::busy_loop(d))`, `spawn_blocking`,
//! cgo ...).
//!
//! Invariants: every function is thread-safe and stateless; every returned
//! duration is measured on CLOCK_MONOTONIC, never the requested figure.

use std::sync::atomic::AtomicI32;
use std::time::Duration;

mod ffi {
    unsafe extern "C" {
        pub fn shim_busy_loop_ns(ns: u64) -> u64;
        pub fn shim_busy_loop_forever(stop: *const i32) -> u64;
        pub fn shim_nanosleep_ns(ns: u64) -> u64;
        pub fn shim_getpid() -> i64;
        pub fn shim_get_timerslack_ns() -> u64;
        pub fn shim_set_timerslack_ns(ns: u64) -> i32;
    }
}

/// Spins in C for `d` (CLOCK_MONOTONIC); returns the loop's iteration count.
pub fn busy_loop(d: Duration) -> u64 {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    // SAFETY: takes a plain integer, touches no memory of ours.
    unsafe { ffi::shim_busy_loop_ns(ns) }
}

/// Spins in C until `stop` becomes non-zero; returns the iteration count.
pub fn busy_loop_until(stop: &AtomicI32) -> u64 {
    // SAFETY: `stop` outlives the call (borrowed for its whole duration);
    // the C side only reads it with atomic loads, matching AtomicI32's
    // layout (an aligned i32), so concurrent stores from Rust are no race.
    unsafe { ffi::shim_busy_loop_forever(stop.as_ptr()) }
}

/// `nanosleep(d)` in C, resumed after signals; returns how long it really
/// took (the timer slack makes short sleeps much longer than asked).
pub fn nanosleep(d: Duration) -> Duration {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    // SAFETY: takes a plain integer, touches no memory of ours.
    Duration::from_nanos(unsafe { ffi::shim_nanosleep_ns(ns) })
}

/// The getpid system call, made from C.
pub fn getpid() -> i64 {
    // SAFETY: no arguments, no memory.
    unsafe { ffi::shim_getpid() }
}

/// The calling thread's timer slack.
pub fn timerslack() -> Duration {
    // SAFETY: no arguments; prctl(PR_GET_TIMERSLACK) only reads.
    Duration::from_nanos(unsafe { ffi::shim_get_timerslack_ns() })
}

/// Sets the calling thread's timer slack (1 ns: as tight as the kernel
/// allows; zero: back to the default). Threads created afterwards by this
/// thread inherit it.
pub fn set_timerslack(d: Duration) -> std::io::Result<()> {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    // SAFETY: takes a plain integer; affects only the calling thread.
    match unsafe { ffi::shim_set_timerslack_ns(ns) } {
        0 => Ok(()),
        e => Err(std::io::Error::from_raw_os_error(-e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    #[test]
    fn busy_loop_runs_at_least_the_time_asked() {
        let t = Instant::now();
        let iters = busy_loop(Duration::from_millis(5));
        assert!(t.elapsed() >= Duration::from_millis(5));
        assert!(iters > 0, "the loop must have iterated");
    }

    #[test]
    fn busy_loop_until_stops_when_told() {
        let stop = Arc::new(AtomicI32::new(0));
        let s = stop.clone();
        let h = std::thread::spawn(move || busy_loop_until(&s));
        std::thread::sleep(Duration::from_millis(5));
        stop.store(1, Ordering::Relaxed);
        assert!(h.join().unwrap() > 0);
    }

    #[test]
    fn nanosleep_reports_a_measured_duration_not_the_request() {
        let got = nanosleep(Duration::from_micros(200));
        assert!(got >= Duration::from_micros(200), "{got:?}");
    }

    #[test]
    fn getpid_is_our_pid() {
        assert_eq!(getpid(), i64::from(std::process::id()));
    }

    #[test]
    fn timerslack_round_trips_on_this_thread() {
        // a fresh thread, so the test runner's threads keep their slack
        std::thread::spawn(|| {
            set_timerslack(Duration::from_nanos(1)).unwrap();
            assert_eq!(timerslack(), Duration::from_nanos(1));
            set_timerslack(Duration::from_micros(50)).unwrap();
            assert_eq!(timerslack(), Duration::from_micros(50));
        })
        .join()
        .unwrap();
    }
}
