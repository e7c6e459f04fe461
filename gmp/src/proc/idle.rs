//! Idle Ms and Ps and spinning Ms, after proc.go: the idle lists
//! (`mput`/`mget`, `pidleput`/`pidleget`), taking and releasing a P
//! (`acquirep`/`releasep`), parking an M ([`stopm`], [`stoplockedm`]) and
//! waking one ([`startm`], [`handoffp`], [`wakep`]).
//!
//! # Spinning
//!
//! `nmspinning` counts spinning Ms (Ms looking for work without having
//! found any) plus the Ms a `startm(.., spinning=true)` is starting.
//! Whoever makes work available calls [`wakep`], which starts a spinning M
//! only if none spins and a P is idle; a spinning M that finds work calls
//! `resetspinning` -> `wakep`, so one new burst of work wakes one M at a
//! time. [`handoffp`] starts an M in every case where `findRunnable` would
//! find work for the P it gives away, and otherwise puts the P on the idle
//! list.

use std::sync::atomic::Ordering::*;

use crate::panic::throw;
use crate::runq::runqempty;
use crate::runtime2::*;

use super::m::{m_reserve_id, newm, should_leave};
use super::{Cause, Next};

/// Models `runtime.mput` (proc.go). sched.lock held.
fn mput(sched: &Sched, l: &mut SchedLocked, m: &'static M) {
    l.midle.push(m);
    sched.nmidle.fetch_add(1, Relaxed);
}

/// Models `runtime.mget` (proc.go). sched.lock held.
fn mget(sched: &Sched, l: &mut SchedLocked) -> Option<&'static M> {
    let m = l.midle.pop();
    if m.is_some() {
        sched.nmidle.fetch_sub(1, Relaxed);
    }
    m
}

/// Models `runtime.pidleput` (proc.go). sched.lock held.
pub(crate) fn pidleput(sched: &Sched, l: &mut SchedLocked, pp: &'static P) {
    if !runqempty(pp) {
        throw("pidleput: P has non-empty run queue");
    }
    sched.idlep[pp.id].store(true, Release);
    l.pidle.push(pp);
    sched.npidle.fetch_add(1, AcqRel);
}

/// Models `runtime.pidleget` (proc.go). sched.lock held.
pub(crate) fn pidleget(sched: &Sched, l: &mut SchedLocked) -> Option<&'static P> {
    let pp = l.pidle.pop()?;
    sched.idlep[pp.id].store(false, Release);
    sched.npidle.fetch_sub(1, AcqRel);
    Some(pp)
}

/// Models `runtime.acquirep` + `wirep` (proc.go).
pub(crate) fn acquirep(m: &'static M, pp: &'static P) {
    if load(&m.p).is_some() {
        throw("wirep: already in go");
    }
    if load(&pp.m).is_some() || pp.status.load(Acquire) != P_IDLE {
        throw(&format!(
            "wirep: invalid p state: p{} status={} m={:?}",
            pp.id,
            pp.status.load(Relaxed),
            load(&pp.m).map(|m| m.id)
        ));
    }
    store(&m.p, Some(pp));
    store(&pp.m, Some(m));
    pp.status.store(P_RUNNING, Release);
}

/// Models `runtime.releasep` (proc.go).
pub(crate) fn releasep(m: &'static M) -> &'static P {
    let Some(pp) = load(&m.p) else {
        throw("releasep: invalid arg")
    };
    if !load(&pp.m).is_some_and(|x| std::ptr::eq(x, m)) || pp.status.load(Acquire) != P_RUNNING {
        throw(&format!(
            "releasep: invalid p state: p{} status={}",
            pp.id,
            pp.status.load(Relaxed)
        ));
    }
    store(&m.p, None);
    store(&pp.m, None);
    pp.status.store(P_IDLE, Release);
    pp
}

/// Models `runtime.incidlelocked` (proc.go) (without `checkdead`).
pub(crate) fn incidlelocked(sched: &Sched, v: i32) {
    sched.lock().nmidlelocked += v;
}

/// Models `runtime.mPark` (proc.go).
fn m_park(m: &M) {
    m.park.sleep();
    m.park.clear();
}

/// Models `runtime.stopm` (proc.go): parks on the idle M list until some
/// `startm` hands this M a P. Returns false if the M was asked to leave
/// instead (m0 after main returned, or shutdown).
pub(crate) fn stopm(m: &'static M) -> bool {
    if load(&m.p).is_some() {
        throw("stopm holding p");
    }
    if m.spinning.load(Relaxed) {
        throw("stopm spinning");
    }
    let sched = m.sched;
    {
        let mut l = sched.lock();
        if should_leave(m) {
            return false;
        }
        mput(sched, &mut l, m);
    }
    m_park(m);
    match take(&m.nextp) {
        Some(pp) => {
            acquirep(m, pp);
            true
        }
        None if should_leave(m) => false,
        None => throw("stopm: woken without a P"),
    }
}

/// Models `runtime.startm` (proc.go): runs pp (or an idle P) on an idle M,
/// creating a thread only if no M is idle.
pub(crate) fn startm(
    sched: &'static Sched,
    pp: Option<&'static P>,
    spinning: bool,
    cause: impl FnOnce() -> Cause,
) {
    let mut l = sched.lock();
    let pp = match pp {
        Some(pp) => pp,
        None => match pidleget(sched, &mut l) {
            Some(pp) => pp,
            None => {
                drop(l);
                if spinning && sched.nmspinning.fetch_sub(1, AcqRel) == 0 {
                    throw("startm: negative nmspinning");
                }
                return;
            }
        },
    };
    if sched.shutdown.load(Acquire) {
        // Model-only: a runtime being dropped starts no thread; its
        // remaining runnable goroutines never run again.
        sched.idlep[pp.id].store(true, Release);
        l.pidle.push(pp);
        sched.npidle.fetch_add(1, AcqRel);
        if spinning {
            sched.nmspinning.fetch_sub(1, AcqRel);
        }
        return;
    }
    match mget(sched, &mut l) {
        None => {
            let id = m_reserve_id(sched, &mut l);
            drop(l);
            newm(sched, MKind::Worker, Some(pp), spinning, Some(id), cause());
        }
        Some(nmp) => {
            drop(l);
            if nmp.spinning.load(Relaxed) {
                throw("startm: m is spinning");
            }
            if load(&nmp.nextp).is_some() {
                throw("startm: m has p");
            }
            if spinning && !runqempty(pp) {
                throw("startm: p has runnable gs");
            }
            nmp.spinning.store(spinning, Release);
            store(&nmp.nextp, Some(pp));
            nmp.park.wakeup();
        }
    }
}

/// Models `runtime.handoffp` (proc.go): hands off a P from a syscall or a
/// locked M; starts an M in every case where `findRunnable` would find work.
pub(crate) fn handoffp(sched: &'static Sched, pp: &'static P, cause: impl FnOnce() -> Cause) {
    sched.counters.handoffs.fetch_add(1, Relaxed);
    // if it has local work, start it straight away
    if !runqempty(pp) || sched.runqsize.load(Acquire) != 0 {
        startm(sched, Some(pp), false, cause);
        return;
    }
    // no local work, check that there are no spinning/idle M's,
    // otherwise our help is not required
    if sched.nmspinning.load(Acquire) + sched.npidle.load(Acquire) == 0
        && sched
            .nmspinning
            .compare_exchange(0, 1, AcqRel, Acquire)
            .is_ok()
    {
        startm(sched, Some(pp), true, cause);
        return;
    }
    let mut l = sched.lock();
    if sched.stw.gcwaiting.load(Acquire) != 0 {
        crate::stw::p_gcstop(sched, pp);
        return;
    }
    if sched.runqsize.load(Acquire) != 0 {
        drop(l);
        startm(sched, Some(pp), false, cause);
        return;
    }
    // If this is the last running P and nobody is polling network,
    // need to wakeup another M to poll network.
    if sched.npidle.load(Acquire) == sched.gomaxprocs() - 1 && sched.lastpoll.load(Acquire) != 0 {
        drop(l);
        startm(sched, Some(pp), false, cause);
        return;
    }
    let when = crate::timer::wake_time(pp);
    pidleput(sched, &mut l, pp);
    drop(l);
    if when != 0 {
        wake_net_poller(sched, when);
    }
}

/// Models `runtime.wakep` (proc.go): tries to add one more P to execute Gs.
pub(crate) fn wakep(sched: &'static Sched) {
    if sched.npidle.load(Acquire) == 0 {
        return;
    }
    // be conservative about spinning threads
    if sched.nmspinning.load(Acquire) != 0
        || sched
            .nmspinning
            .compare_exchange(0, 1, AcqRel, Acquire)
            .is_err()
    {
        return;
    }
    startm(sched, None, true, || "wakep for new work".to_string());
}

/// Models `runtime.wakeNetPoller` (proc.go).
pub(crate) fn wake_net_poller(sched: &'static Sched, when: i64) {
    if sched.lastpoll.load(Acquire) == 0 {
        let poller_until = sched.poll_until.load(Acquire);
        if poller_until == 0 || poller_until > when {
            sched.netpoll.netpoll_break();
        }
    } else {
        wakep(sched);
    }
}

/// Models `runtime.resetspinning` (proc.go).
pub(super) fn resetspinning(m: &'static M) {
    if !m.spinning.swap(false, AcqRel) {
        throw("resetspinning: not a spinning m");
    }
    if m.sched.nmspinning.fetch_sub(1, AcqRel) == 0 {
        throw("findrunnable: negative nmspinning");
    }
    wakep(m.sched);
}

/// Models `runtime.stoplockedm` (proc.go): the M is locked to a G that is not
/// runnable; give the P away and sleep until `startlockedm` hands one back.
/// Returns false if asked to leave (shutdown).
pub(super) fn stoplockedm(m: &'static M) -> bool {
    let Some(lg) = load(&m.lockedg) else {
        throw("stoplockedm: inconsistent locking")
    };
    if !load(&lg.lockedm).is_some_and(|x| std::ptr::eq(x, m)) {
        throw("stoplockedm: inconsistent locking");
    }
    let sched = m.sched;
    if load(&m.p).is_some() {
        // Schedule another M to run this p.
        let pp = releasep(m);
        let startup = m.locked_int.load(Relaxed) != 0;
        handoffp(sched, pp, || {
            if startup {
                format!(
                    "runtime.main start-up handoff: stoplockedm gave P{} away while locked G{} waits",
                    pp.id,
                    lg.goid.load(Relaxed)
                )
            } else {
                format!(
                    "stoplockedm: handoffp P{} while locked G{} waits",
                    pp.id,
                    lg.goid.load(Relaxed)
                )
            }
        });
    }
    incidlelocked(sched, 1);
    m_park(m);
    let Some(pp) = take(&m.nextp) else {
        if sched.shutdown.load(Acquire) {
            return false;
        }
        throw("stoplockedm: woken without a P")
    };
    if lg.readgstatus() != G_RUNNABLE {
        throw("stoplockedm: not runnable");
    }
    acquirep(m, pp);
    true
}

/// Models `runtime.startlockedm` (proc.go): hands our P to the M that gp is
/// locked to, then stops this M.
pub(super) fn startlockedm(m: &'static M, gp: &'static G) -> bool {
    let Some(mp) = load(&gp.lockedm) else {
        throw("startlockedm: no locked m")
    };
    if std::ptr::eq(mp, m) {
        throw("startlockedm: locked to me");
    }
    if load(&mp.nextp).is_some() {
        throw("startlockedm: m has p");
    }
    incidlelocked(m.sched, -1);
    let pp = releasep(m);
    store(&mp.nextp, Some(pp));
    mp.park.wakeup();
    stopm(m)
}

/// `stopm(); schedule()` as exitsyscall0 ends.
pub(crate) fn stopm_then_schedule(m: &'static M) -> Next {
    if !stopm(m) {
        return Next::Exit;
    }
    Next::Schedule
}
