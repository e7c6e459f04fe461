//! System calls and FFI as the scheduler sees them (proc.go: entersyscall,
//! exitsyscall, exitsyscallfast, exitsyscall0, entersyscallblock; cgocall.go:
//! cgocall).
//!
//! * `syscall(f)`: `entersyscall` leaves the P in `_Psyscall` with no M
//!   (`p.m = nil`, remembered in `m.oldp`), so sysmon may retake it while f
//!   runs on this thread; `exitsyscall` takes it back if it is still in
//!   `_Psyscall` (`exitsyscallfast`), else any idle P, else the goroutine
//!   goes to the global queue and the M parks on the idle list
//!   (`exitsyscall0` -> `stopm`) — which is why threads never shrink.
//! * `raw_syscall(f)`: Go's `RawSyscall`: no hooks. The P stays `_Prunning`;
//!   sysmon only sees a G that runs long (and signals it: EINTR).
//! * `syscall_block(f)`: `entersyscallblock`: the P is handed off at once.
//! * `ffi(f)`: `cgocall`: `entersyscall` + `m.incgo`, and f runs on the M's
//!   native stack (Go runs C on the g0 stack through `asmcgocall`).
//!
//! The `syscall_handoff` knob (lib.rs `Builder`, model-only) switches the
//! hooks off: with it off `syscall`, `syscall_block` and `ffi` run f as
//! `raw_syscall` does (f still runs on the native stack for `ffi`), so the P
//! stays `_Prunning` through every call.
//!
//! The closure must not call back into gmp's scheduler (the goroutine has
//! no P while it runs); doing so panics with a message.

use std::sync::atomic::Ordering::*;

use crate::panic::throw;
use crate::proc::{Next, acquirep, handoffp, mcall, pidleget, releasep, safepoint};
use crate::runq::globrunqput;
use crate::runtime2::*;
use crate::stubs::{getm, need_g};

/// Models `runtime.entersyscall` / `reentersyscall` (proc.go).
pub(crate) fn entersyscall(m: &'static M, gp: &'static G) {
    let sched = m.sched;
    gp.casgstatus(G_RUNNING, G_SYSCALL);
    if sched.sysmonwait.load(Acquire) != 0 {
        entersyscall_sysmon(sched);
    }
    let Some(pp) = load(&m.p) else {
        throw("entersyscall: no p")
    };
    pp.count_syscall();
    m.syscalltick.store(pp.syscalltick.load(Relaxed), Relaxed);
    store(&pp.syscall_g, Some(gp));
    store(&pp.m, None);
    store(&m.oldp, Some(pp));
    store(&m.p, None);
    pp.status.store(P_SYSCALL, Release);
    if sched.stw.gcwaiting.load(Acquire) != 0 {
        crate::stw::entersyscall_gcwait(sched, pp);
    }
}

/// Models `runtime.entersyscall_sysmon` (proc.go): wakes sysmon from its
/// deep sleep.
fn entersyscall_sysmon(sched: &Sched) {
    let _l = sched.lock();
    if sched.sysmonwait.load(Acquire) != 0 {
        sched.sysmonwait.store(0, Release);
        sched.sysmonnote.wakeup();
    }
}

/// Models `runtime.entersyscallblock` + `entersyscallblock_handoff`
/// (proc.go): the syscall is known to block, hand the P off now.
pub(crate) fn entersyscallblock(m: &'static M, gp: &'static G) {
    let Some(pp) = load(&m.p) else {
        throw("entersyscallblock: no p")
    };
    pp.count_syscall();
    m.syscalltick.store(pp.syscalltick.load(Relaxed), Relaxed);
    pp.syscalltick_inc();
    gp.casgstatus(G_RUNNING, G_SYSCALL);
    let pp = releasep(m);
    let goid = gp.goid.load(Relaxed);
    handoffp(m.sched, pp, || {
        format!(
            "entersyscallblock: G{goid} handed off P{} before a blocking call",
            pp.id
        )
    });
}

/// Models `runtime.exitsyscall` (proc.go). Called on the goroutine's stack;
/// may switch to the scheduler (slow path) and resume on another M.
pub(crate) fn exitsyscall() {
    let Some(m) = getm() else {
        throw("exitsyscall: not an M")
    };
    let Some(gp) = load(&m.curg) else {
        throw("exitsyscall: no g")
    };
    let oldp = take(&m.oldp);
    if exitsyscallfast(m, oldp) {
        if let Some(pp) = load(&m.p) {
            pp.syscalltick_inc();
        }
        gp.casgstatus(G_SYSCALL, G_RUNNING);
        return;
    }
    m.sched.counters.exitsyscall_slow.fetch_add(1, Relaxed);
    // Call the scheduler.
    mcall(m, gp, Switch::ExitSyscall);
    // Scheduler returned, so we're allowed to run now (maybe on another M).
    let m = getm().unwrap_or_else(|| throw("exitsyscall: resumed off an M"));
    if let Some(pp) = load(&m.p) {
        pp.syscalltick_inc();
    }
}

/// Models `runtime.exitsyscallfast` (proc.go): the same P if it is still in
/// `_Psyscall`, else any idle P.
fn exitsyscallfast(m: &'static M, oldp: Option<&'static P>) -> bool {
    let sched = m.sched;
    // Try to re-acquire the last P.
    if let Some(oldp) = oldp
        && oldp.status.load(Acquire) == P_SYSCALL
        && oldp
            .status
            .compare_exchange(P_SYSCALL, P_IDLE, AcqRel, Acquire)
            .is_ok()
    {
        store(&oldp.syscall_g, None);
        acquirep(m, oldp);
        // exitsyscallfast_reacquired
        if m.syscalltick.load(Relaxed) != oldp.syscalltick.load(Relaxed) {
            oldp.syscalltick_inc();
        }
        return true;
    }
    // Try to get any other idle P.
    if sched.npidle.load(Acquire) != 0 && exitsyscallfast_pidle(m) {
        return true;
    }
    false
}

/// Models `runtime.exitsyscallfast_pidle` (proc.go).
fn exitsyscallfast_pidle(m: &'static M) -> bool {
    let sched = m.sched;
    let pp = {
        let mut l = sched.lock();
        let pp = pidleget(sched, &mut l);
        if pp.is_some() && sched.sysmonwait.load(Acquire) != 0 {
            sched.sysmonwait.store(0, Release);
            sched.sysmonnote.wakeup();
        }
        pp
    };
    match pp {
        Some(pp) => {
            acquirep(m, pp);
            true
        }
        None => false,
    }
}

/// Models `runtime.exitsyscall0` (proc.go): on g0, no P could be had: gp
/// goes to the global queue and this M stops (or waits for gp if locked).
pub(crate) fn exitsyscall0(m: &'static M, gp: &'static G) -> Next {
    let sched = m.sched;
    gp.casgstatus(G_SYSCALL, G_RUNNABLE);
    store(&gp.m, None);
    store(&m.curg, None);
    let mut locked = false;
    let pp = {
        let mut l = sched.lock();
        let pp = pidleget(sched, &mut l);
        if pp.is_none() {
            globrunqput(sched, &mut l, gp);
            locked = load(&gp.lockedm).is_some();
        } else if sched.sysmonwait.load(Acquire) != 0 {
            sched.sysmonwait.store(0, Release);
            sched.sysmonnote.wakeup();
        }
        pp
    };
    if let Some(pp) = pp {
        acquirep(m, pp);
        return Next::Run(gp, false);
    }
    if locked {
        // Wait until another thread schedules gp and so m again: schedule()
        // sees m.lockedg and calls stoplockedm.
        return Next::Schedule;
    }
    crate::proc::stopm_then_schedule(m)
}

struct ExitOnUnwind;
impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            exitsyscall();
        }
    }
}

/// Whether wrapped calls on m hand their P off (the `syscall_handoff`
/// knob; Go always does).
fn handoff_on(m: &M) -> bool {
    m.sched.cfg.syscall_handoff
}

/// `gmp::syscall`: see the module comment.
pub(crate) fn syscall<R>(f: impl FnOnce() -> R) -> R {
    let Some(m) = getm() else { return f() };
    if !handoff_on(m) {
        return raw_syscall(f);
    }
    safepoint();
    let (m, gp) = need_g("syscall");
    entersyscall(m, gp);
    let guard = ExitOnUnwind;
    let r = f();
    std::mem::forget(guard);
    exitsyscall();
    r
}

/// `gmp::syscall_block`: see the module comment.
pub(crate) fn syscall_block<R>(f: impl FnOnce() -> R) -> R {
    let Some(m) = getm() else { return f() };
    if !handoff_on(m) {
        return raw_syscall(f);
    }
    safepoint();
    let (m, gp) = need_g("syscall_block");
    entersyscallblock(m, gp);
    let guard = ExitOnUnwind;
    let r = f();
    std::mem::forget(guard);
    exitsyscall();
    r
}

/// `gmp::raw_syscall`: see the module comment. No safepoint either: Go's
/// `syscall.RawSyscall` is `//go:nosplit`, so it has no stack check where
/// a pending preemption could be honored (a loop of raw calls is stopped
/// by the caller's own safepoints, or by the signal: EINTR).
#[inline]
pub(crate) fn raw_syscall<R>(f: impl FnOnce() -> R) -> R {
    f()
}

struct AssertSend<T>(T);
// SAFETY: corosensei requires `Send` for `on_parent_stack` only to stop a
// `Yielder` from escaping to the parent context. The user's closure cannot
// name gmp's private yielder, and it runs on the same OS thread (the M that
// resumed the goroutine), so no value actually crosses threads.
unsafe impl<T> Send for AssertSend<T> {}

/// Models `runtime.cgocall` (cgocall.go): `entersyscall`, `m.incgo`, the
/// call on the g0 (native) stack, `exitsyscall`.
pub(crate) fn ffi<R>(f: impl FnOnce() -> R) -> R {
    let Some(m) = getm() else { return f() };
    let handoff = handoff_on(m);
    safepoint();
    let (m, gp) = need_g("ffi");
    if handoff {
        entersyscall(m, gp);
    }
    m.incgo.store(true, Release);
    let guard = ExitOnUnwindCgo(m, handoff);
    let y = gp.yielder.load(Acquire);
    let call = AssertSend(f);
    // SAFETY: y is the yielder of the running goroutine (we are on its
    // stack); it outlives this call.
    let r = unsafe { &*y }.on_parent_stack(move || {
        let call = call;
        AssertSend((call.0)())
    });
    std::mem::forget(guard);
    m.incgo.store(false, Release);
    if handoff {
        exitsyscall();
    }
    r.0
}

struct ExitOnUnwindCgo(&'static M, bool);
impl Drop for ExitOnUnwindCgo {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.incgo.store(false, Release);
            if self.1 {
                exitsyscall();
            }
        }
    }
}
