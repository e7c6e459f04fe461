//! What every part of the runtime asks of the thread it runs on, after
//! Go's `runtime/stubs.go`: `getg` (here [`getm`]: the M of this thread,
//! from which its current G and P follow), `fastrand`, and [`cur_sched`]
//! (Go has one global `sched`; gmp can build several runtimes, so the
//! scheduler is the current M's).
//!
//! It depends only on the data structures (runtime2) and [`crate::panic`],
//! never on the scheduler's functions.

use std::cell::Cell;
use std::sync::atomic::{AtomicPtr, Ordering::*};

use crate::panic::throw;
use crate::runtime2::*;

thread_local! {
    static CUR_M: Cell<*const M> = const { Cell::new(std::ptr::null()) };
}

/// The last runtime built, for introspection calls made outside goroutines.
pub(crate) static LAST_SCHED: AtomicPtr<Sched> = AtomicPtr::new(std::ptr::null_mut());

/// The current M (Go: `getg().m`), or None on a thread that is not an M.
/// Never inlined: a goroutine may resume on another thread, and an inlined
/// thread-local access could reuse the previous thread's TLS address.
#[inline(never)]
pub(crate) fn getm() -> Option<&'static M> {
    let p = CUR_M.with(|c| c.get());
    // SAFETY: CUR_M holds null or a leaked M.
    unsafe { p.as_ref() }
}

#[inline(never)]
pub(crate) fn setm(m: Option<&'static M>) {
    CUR_M.with(|c| c.set(p_of(m)));
}

/// Raw read of the current M for the signal handler (no allocation, no
/// lazy initialization: CUR_M is const-initialized).
pub(crate) fn getm_raw() -> *const M {
    CUR_M.with(|c| c.get())
}

/// The scheduler of the current M, or of the last runtime built.
pub(crate) fn cur_sched() -> &'static Sched {
    match getm() {
        Some(m) => m.sched,
        None => {
            let p = LAST_SCHED.load(Acquire);
            // SAFETY: LAST_SCHED holds null or a leaked Sched.
            match unsafe { p.as_ref() } {
                Some(s) => s,
                None => throw("gmp: no runtime has been built"),
            }
        }
    }
}

/// The running goroutine and its M, or a panic if the caller is not a
/// goroutine running Go code (e.g. inside `syscall`/`ffi` closures).
/// Inlined into its callers ([`getm`], which reads the thread-local, never
/// is).
#[inline]
pub(crate) fn need_g(what: &str) -> (&'static M, &'static G) {
    need_g_on(getm(), what)
}

/// [`need_g`] for a caller that has read [`getm`] already.
#[inline]
pub(crate) fn need_g_on(m: Option<&'static M>, what: &str) -> (&'static M, &'static G) {
    let Some(m) = m else {
        panic!("gmp::{what} called outside a gmp goroutine (use Runtime::block_on)");
    };
    let Some(gp) = load(&m.curg) else {
        panic!("gmp::{what} called on an M with no goroutine");
    };
    if m.incgo.load(Relaxed) || gp.readgstatus() != G_RUNNING {
        panic!("gmp::{what} called inside a syscall/ffi closure (the goroutine has no P there)");
    }
    (m, gp)
}

pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

thread_local! {
    static FASTRAND: Cell<u64> = const { Cell::new(0) };
}

/// Models `runtime.fastrand` (stubs.go): a per-thread xorshift.
#[inline(never)]
pub(crate) fn fastrand() -> u32 {
    FASTRAND.with(|c| {
        let mut x = c.get();
        if x == 0 {
            x = (gettid() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.set(x);
        (x >> 32) as u32
    })
}
