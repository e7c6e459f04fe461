//! sysmon: the monitor thread (proc.go: sysmon, retake, preemptone;
//! signal_unix.go: preemptM), and the SIGURG side effect of preemption.
//!
//! sysmon runs on its own M without a P. It sleeps 20 us, then doubles the
//! sleep after 50 rounds in which `retake` did nothing (about 1 ms), up to
//! 10 ms; when every P is idle it sleeps deeply on `sched.sysmonnote` (Go:
//! `sched.sysmonwait`) until the next timer or until a syscall entry/exit
//! wakes it. Each round, `retake`:
//!
//! * preempts a G that has been running for 10 ms without its P scheduling
//!   (`schedtick` unchanged): `preemptone` sets `gp.preempt` (honored at the
//!   G's next safepoint) and, like Go's async preemption, sends SIGURG to the
//!   M's thread. The handler only records the signal on its thread: the
//!   goroutine stops at its next [`async_safe_point`] (a point in a loop
//!   without calls, where Go's handler would inject `asyncPreempt`), not at
//!   an arbitrary instruction. A raw syscall on that thread (nanosleep, a
//!   blocking read without SA_RESTART semantics) returns EINTR as under Go.
//!   With the `async_preempt` knob off (Go: `GODEBUG=asyncpreemptoff=1`) no
//!   signal is sent: only safepoints stop a goroutine;
//! * retakes a P that has been in the same syscall for one sysmon tick,
//!   unless its run queue is empty, some P is idle or an M spins, and less
//!   than 10 ms have passed; if the P's G has not been scheduled for 10 ms
//!   (`sysretake`), the first-sighting step is skipped, so a lone goroutine
//!   looping on syscalls has its P handed off on nearly every call.
//!
//! Knobs (lib.rs `Builder`): `async_preempt` (the signal above),
//! `retake_exception` (the "unless ... less than 10 ms" clause),
//! `sysmon_delay` (a fixed sleep instead of the 20 us .. 10 ms back-off).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::time::Duration;

use crate::proc::{handoffp, incidlelocked, mcall};
use crate::runq::runqempty;
use crate::runtime2::*;
use crate::stubs::getm;

/// Go's `forcePreemptNS`: the time slice given to a G before it is preempted.
const FORCE_PREEMPT_NS: i64 = 10 * 1000 * 1000;
/// Go's `forcegcperiod`; sysmon's deep sleep is at most half of it.
const FORCEGC_PERIOD_NS: i64 = 2 * 60 * 1000 * 1000 * 1000;

/// Go's `sysmontick`, owned by sysmon.
#[derive(Default, Clone, Copy)]
struct SysmonTick {
    schedtick: u32,
    schedwhen: i64,
    syscalltick: u32,
    syscallwhen: i64,
}

/// SIGURG signals received by any M (the handler's only effect).
pub(crate) static SIGURG_RECEIVED: AtomicU64 = AtomicU64::new(0);

/// Models `runtime.sysmon` (proc.go).
pub(crate) fn sysmon(m: &'static M) {
    let sched = m.sched;
    sched.lock().nmsys += 1;
    let mut lasttrace = 0i64;
    let mut idle = 0u32;
    let mut delay = 0u64;
    let mut ticks = vec![SysmonTick::default(); sched.allp.len()];
    let procs = sched.gomaxprocs();
    let schedtrace = sched.cfg.schedtrace_ms;
    let fixed_delay = sched.cfg.sysmon_delay_us;
    loop {
        if fixed_delay > 0 {
            delay = fixed_delay; // the sysmon_delay knob: no back-off
        } else if idle == 0 {
            delay = 20; // start with 20us sleep...
        } else if idle > 50 {
            delay *= 2; // start doubling the sleep after 1ms...
        }
        if fixed_delay == 0 && delay > 10 * 1000 {
            delay = 10 * 1000; // up to 10ms
        }
        std::thread::sleep(Duration::from_micros(delay));
        if sched.shutdown.load(Acquire) {
            return;
        }
        let now = sched.nanotime();
        let stopping = || sched.stw.gcwaiting.load(Acquire) != 0;
        if schedtrace == 0 && (stopping() || sched.npidle.load(Acquire) == procs) {
            let l = sched.lock();
            if stopping() || sched.npidle.load(Acquire) == procs {
                let mut syscall_wake = false;
                let next = crate::timer::time_sleep_until(sched.allp);
                let mut l = l;
                if next > now {
                    sched.sysmonwait.store(1, Release);
                    drop(l);
                    let mut sleep = FORCEGC_PERIOD_NS / 2;
                    if next - now < sleep {
                        sleep = next - now;
                    }
                    if stopping() && sched.cfg.stw_watchdog_ns > 0 {
                        // Model-only: wake at least every 10 ms while the
                        // world is stopping, for the watchdog.
                        sleep = sleep.min(10_000_000);
                    }
                    syscall_wake = sched.sysmonnote.tsleep(Duration::from_nanos(sleep as u64));
                    l = sched.lock();
                    sched.sysmonwait.store(0, Release);
                    sched.sysmonnote.clear();
                }
                drop(l);
                if syscall_wake {
                    idle = 0;
                    delay = 20;
                }
            }
        }
        if sched.shutdown.load(Acquire) {
            return;
        }
        let now = sched.nanotime();
        // poll network if not polled for more than 10ms
        let lastpoll = sched.lastpoll.load(Acquire);
        if sched.netpoll_inited.load(Acquire) && lastpoll != 0 && lastpoll + 10_000_000 < now {
            let _ = sched
                .lastpoll
                .compare_exchange(lastpoll, now, AcqRel, Acquire);
            let list = sched.netpoll.netpoll(0); // non-blocking
            if !list.is_empty() {
                incidlelocked(sched, -1);
                crate::proc::inject_glist(sched, list);
                incidlelocked(sched, 1);
            }
        }
        // The hang watchdog (watchdog.rs) runs here, on sysmon's thread.
        crate::watchdog::check(sched, now);
        // retake P's blocked in syscalls and preempt long running G's
        if retake(sched, &mut ticks, now) != 0 {
            idle = 0;
        } else {
            idle += 1;
        }
        if schedtrace > 0 && lasttrace + (schedtrace as i64) * 1_000_000 <= now {
            lasttrace = now;
            crate::trace::schedtrace(sched, sched.cfg.scheddetail);
        }
    }
}

/// Models `runtime.retake` (proc.go).
fn retake(sched: &'static Sched, ticks: &mut [SysmonTick], now: i64) -> u32 {
    let mut n = 0;
    for (i, pp) in sched.allp.iter().enumerate() {
        let pd = &mut ticks[i];
        let s = pp.status.load(Acquire);
        let mut sysretake = false;
        if s == P_RUNNING || s == P_SYSCALL {
            // Preempt G if it's running for too long.
            let t = pp.schedtick.load(Relaxed);
            if pd.schedtick != t {
                pd.schedtick = t;
                pd.schedwhen = now;
            } else if pd.schedwhen + FORCE_PREEMPT_NS <= now {
                preemptone(sched, pp);
                // In case of syscall, preemptone() doesn't work, because
                // there is no M wired to P.
                sysretake = true;
            }
        }
        if s == P_SYSCALL {
            // Retake P from syscall if it's there for more than 1 sysmon
            // tick (at least 20us).
            let t = pp.syscalltick.load(Relaxed);
            if !sysretake && pd.syscalltick != t {
                pd.syscalltick = t;
                pd.syscallwhen = now;
                continue;
            }
            // On the one hand we don't want to retake Ps if there is no
            // other work to do, but on the other hand we want to retake them
            // eventually because they can prevent the sysmon thread from
            // deep sleep.
            if sched.cfg.retake_exception
                && runqempty(pp)
                && sched.nmspinning.load(Acquire) + sched.npidle.load(Acquire) > 0
                && pd.syscallwhen + 10 * 1000 * 1000 > now
            {
                continue;
            }
            incidlelocked(sched, -1);
            if pp
                .status
                .compare_exchange(s, P_IDLE, AcqRel, Acquire)
                .is_ok()
            {
                n += 1;
                pp.syscalltick_inc();
                sched.counters.retakes.fetch_add(1, Relaxed);
                let g = load(&pp.syscall_g).map(|g| g.goid.load(Relaxed));
                let why = if sysretake {
                    " (sysretake: P not scheduled for 10ms)"
                } else {
                    ""
                };
                let waited_us = (now - pd.syscallwhen) / 1000;
                handoffp(sched, pp, || match g {
                    Some(g) => format!(
                        "sysmon retook P{} from G{g} in syscall (seen {waited_us} us ago){why}",
                        pp.id
                    ),
                    None => format!("sysmon retook P{} in syscall{why}", pp.id),
                });
            }
            incidlelocked(sched, 1);
        }
    }
    n
}

/// Models `runtime.preemptone` (proc.go): asks the G running on pp to stop
/// at its next safepoint, and signals its M (`preemptM`).
pub(crate) fn preemptone(sched: &Sched, pp: &P) -> bool {
    let Some(mp) = load(&pp.m) else { return false };
    if crate::stubs::getm().is_some_and(|me| std::ptr::eq(me, mp)) {
        return false;
    }
    let Some(gp) = load(&mp.curg) else {
        return false;
    };
    gp.preempt.store(true, Release);
    sched.counters.preempt_requests.fetch_add(1, Relaxed);
    // Request an async preemption of this P.
    if sched.cfg.async_preempt {
        pp.preempt.store(true, Release);
        preempt_m(sched, mp);
    }
    true
}

/// Models `runtime.preemptM` (signal_unix.go): sends SIGURG to mp's thread
/// unless a signal is already pending.
fn preempt_m(sched: &Sched, mp: &M) {
    if mp
        .signal_pending
        .compare_exchange(0, 1, AcqRel, Acquire)
        .is_ok()
    {
        let tid = mp.tid.load(Acquire);
        if tid == 0 {
            mp.signal_pending.store(0, Release);
            return;
        }
        sched.counters.signals_sent.fetch_add(1, Relaxed);
        // SAFETY: tgkill with our own pid and a tid of one of our threads;
        // Ms never exit while they can be the target... except through
        // mexit, after which p.m no longer points at them.
        unsafe {
            libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGURG);
        }
    }
}

thread_local! {
    /// A preemption signal reached this thread (this M) and no async safe
    /// point has acted on it yet. Const-initialized: the signal handler
    /// may touch it.
    static ASYNC_PREEMPT_SIGNALED: Cell<bool> = const { Cell::new(false) };
}

/// Takes this thread's pending preemption signal. Never inlined: the caller
/// may have moved to another thread since its last call (see `getm`).
#[inline(never)]
fn take_async_preempt_signal() -> bool {
    ASYNC_PREEMPT_SIGNALED.with(|c| c.replace(false))
}

/// Models what Go's SIGURG handler does to a goroutine at an async safe
/// point (signal_unix.go: `doSigPreempt` -> `wantAsyncPreempt`,
/// `isAsyncSafePoint`, then the injected `asyncPreempt` -> `asyncPreempt2`
/// -> `gopreempt_m`), deferred from the handler to the goroutine's next
/// [`crate::async_safe_point`]: if a preemption signal reached this M and
/// the goroutine (or its P) is still asked to stop, it yields as at a
/// safepoint. Without a signal (async preemption off, or none sent) it does
/// nothing, even if `gp.preempt` is set: a loop without calls has no stack
/// check where a synchronous request could be seen.
pub(crate) fn async_safe_point() {
    if !take_async_preempt_signal() {
        return;
    }
    let Some(m) = getm() else { return };
    let Some(gp) = load(&m.curg) else { return };
    let want = gp.preempt.load(Relaxed) || load(&m.p).is_some_and(|pp| pp.preempt.load(Relaxed));
    if want && gp.readgstatus() == G_RUNNING && !m.incgo.load(Relaxed) && m.locks.load(Relaxed) == 0
    {
        mcall(m, gp, Switch::Preempt);
    }
}

extern "C" fn sigurg_handler(
    _sig: libc::c_int,
    _info: *mut libc::siginfo_t,
    _ctx: *mut libc::c_void,
) {
    // Go: doSigPreempt injects asyncPreempt here. gmp records the request on
    // this thread; the goroutine acts on it at its next async safe point.
    ASYNC_PREEMPT_SIGNALED.with(|c| c.set(true));
    let m = crate::stubs::getm_raw();
    if !m.is_null() {
        // SAFETY: CUR_M holds null or a leaked M.
        unsafe { (*m).signal_pending.store(0, Release) };
    }
    SIGURG_RECEIVED.fetch_add(1, Relaxed);
}

/// Models `runtime.initsig` (signal_unix.go) for SIGURG: installed with
/// SA_RESTART | SA_ONSTACK | SA_SIGINFO like Go's handlers.
pub(crate) fn initsig() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler
        // is async-signal-safe (const-initialized thread-locals, atomics).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = sigurg_handler as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGURG, &sa, std::ptr::null_mut());
        }
    });
}
