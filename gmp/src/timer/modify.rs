//! Adding, stopping and changing a timer, after time.go: `addtimer`,
//! `deltimer`, `modtimer` (with the two orderings of [`Timers`]) and
//! `resettimer`. These run on the goroutine that owns the `Timer` value,
//! with the timer's status word as the lock: a status it cannot change now
//! (Running, Moving, Modifying, ...) makes it `osyield` and retry.

use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::Ordering::*;

use crate::panic::throw;
use crate::runtime2::*;
use crate::stubs::getm;

use super::heap::{do_add_timer, lock_timers, update_timer_modified_earliest};
use super::run::clean_timers;
use super::watch::{Site, Spin, osyield, spin_done};
use super::{
    RTimer, TIMER_DELETED, TIMER_MODIFIED_EARLIER, TIMER_MODIFIED_LATER, TIMER_MODIFYING,
    TIMER_MOVING, TIMER_NO_STATUS, TIMER_REMOVED, TIMER_REMOVING, TIMER_RUNNING, TIMER_WAITING,
    Timers, bad_timer,
};

/// `acquirem` under the Go 1.19 ordering (e8be350); nothing under 1.14.1.
pub(super) fn acquirem(m: Option<&'static M>, ord: Timers) -> Option<&'static M> {
    if ord != Timers::Go1_19 {
        return None;
    }
    let m = m?;
    m.locks_inc();
    Some(m)
}

/// Models `runtime.releasem`: a pending preemption request is honored at
/// the next safepoint (gmp's safepoint reads `gp.preempt` itself).
fn releasem(mp: Option<&'static M>) {
    if let Some(m) = mp {
        m.locks_dec();
    }
}

/// A call prologue inside the timer code: [`crate::safepoint`], recording
/// in the timer where its modifier was preempted if it is about to be.
fn safepoint_in(t: &RTimer, site: Site) {
    let Some(m) = getm() else { return };
    let Some(gp) = load(&m.curg) else { return };
    if gp.preempt.load(Relaxed)
        && m.locks.load(Relaxed) == 0
        && t.status.load(Relaxed) == TIMER_MODIFYING
    {
        t.preempted_at.store(site as u8, Relaxed);
    }
    crate::proc::safepoint();
}

fn timers_mode() -> Timers {
    crate::stubs::cur_sched().cfg.timers
}

/// The current M's P (the caller runs Go code or is on g0 with a P).
fn cur_p(what: &str) -> &'static P {
    match getm().and_then(|m| load(&m.p)) {
        Some(pp) => pp,
        None => throw(&format!("{what}: no p")),
    }
}

/// Models `runtime.addtimer` (time.go): a new timer into the current P's
/// heap. Go 1.14.1: `addInitializedTimer`, no `acquirem`.
pub(crate) fn add_timer(t: Arc<RTimer>) {
    let when = t.when.load(Relaxed);
    if when <= 0 {
        throw("timer when must be positive");
    }
    if t.status.load(Relaxed) != TIMER_NO_STATUS {
        throw("addtimer called with initialized timer");
    }
    t.status.store(TIMER_WAITING, Release);
    // Disable preemption while using pp to avoid changing another P's heap.
    let mp = acquirem(getm(), timers_mode());
    let pp = cur_p("addtimer");
    {
        let mut h = lock_timers(pp);
        clean_timers(pp, &mut h);
        do_add_timer(pp, &mut h, t);
    }
    crate::proc::wake_net_poller(crate::stubs::cur_sched(), when);
    releasem(mp);
}

/// Models `runtime.deltimer` (time.go): marks t deleted (the P whose heap
/// holds it removes it later). Reports whether t was stopped before it ran.
pub(crate) fn del_timer(t: &Arc<RTimer>) -> bool {
    // The M after the safepoint: a preempted goroutine may resume on
    // another M.
    let m = crate::proc::safepoint_getm();
    let ord = m.map_or_else(timers_mode, |m| m.sched.cfg.timers);
    let mut spun = false;
    let r = loop {
        let s = t.status.load(Acquire);
        match s {
            TIMER_WAITING | TIMER_MODIFIED_LATER | TIMER_MODIFIED_EARLIER => {
                // Prevent preemption while the timer is in timerModifying.
                // This could lead to a self-deadlock. See #38070.
                let mp = acquirem(m, ord);
                if t.cas(s, TIMER_MODIFYING) {
                    t.note_modifier(ord, m, Site::DelTimer, None);
                    // Must fetch t.pp before changing status, as
                    // cleantimers in another goroutine can clear t.pp of a
                    // timerDeleted timer.
                    let tpp = load(&t.pp);
                    if !t.cas(TIMER_MODIFYING, TIMER_DELETED) {
                        bad_timer();
                    }
                    releasem(mp);
                    if let Some(tpp) = tpp {
                        tpp.timers.deleted_timers.fetch_add(1, AcqRel);
                    }
                    break true;
                }
                releasem(mp);
            }
            TIMER_DELETED | TIMER_REMOVING | TIMER_REMOVED | TIMER_NO_STATUS => break false,
            // The timer is being run or moved by a different P, or modified
            // simultaneously: wait for it to complete.
            TIMER_RUNNING | TIMER_MOVING | TIMER_MODIFYING => {
                spun = true;
                osyield(t, None, Spin::DelTimer)
            }
            _ => bad_timer(),
        }
    };
    if spun {
        spin_done();
    }
    r
}

/// Models `runtime.modtimer` (time.go), with the ordering of the runtime's
/// [`Timers`] mode. Reports whether the timer was pending (not yet run).
/// `m` is the caller's M (`getm()`), read once as Go's functions read
/// `getg()` once; `f` is Go's `f, arg, seq` for a pollDesc timer (None:
/// keep the timer's); `loc` is the user's call site (diagnosis).
pub(crate) fn mod_timer(
    m: Option<&'static M>,
    t: &Arc<RTimer>,
    when: i64,
    period: i64,
    f: Option<crate::netpoll::DeadlineCall>,
    loc: Option<&'static Location<'static>>,
) -> bool {
    if when <= 0 {
        throw("timer when must be positive");
    }
    if period < 0 {
        throw("timer period must be non-negative");
    }
    // The prologue of modtimer (timer not yet Modifying).
    // The M after the safepoint: a preempted goroutine may resume on
    // another M.
    let m = crate::proc::safepoint_on(m);
    let ord = m.map_or_else(timers_mode, |m| m.sched.cfg.timers);
    let mut spun = false;
    let was_removed;
    let pending;
    let mut mp;
    loop {
        let s = t.status.load(Acquire);
        match s {
            TIMER_WAITING | TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER => {
                mp = acquirem(m, ord);
                if t.cas(s, TIMER_MODIFYING) {
                    t.note_modifier(ord, m, Site::ModTimerInHeap, loc);
                    (was_removed, pending) = (false, true);
                    break;
                }
                releasem(mp);
            }
            TIMER_NO_STATUS | TIMER_REMOVED => {
                mp = acquirem(m, ord);
                // Timer was already run and t is no longer in a heap. Act
                // like addtimer.
                if t.cas(s, TIMER_MODIFYING) {
                    t.note_modifier(ord, m, Site::ModTimerRemoved, loc);
                    (was_removed, pending) = (true, false);
                    break;
                }
                releasem(mp);
            }
            TIMER_DELETED => {
                mp = acquirem(m, ord);
                if t.cas(s, TIMER_MODIFYING) {
                    t.note_modifier(ord, m, Site::ModTimerDeleted, loc);
                    if let Some(tpp) = load(&t.pp) {
                        tpp.timers.deleted_timers.fetch_sub(1, AcqRel);
                    }
                    (was_removed, pending) = (false, false);
                    break;
                }
                releasem(mp);
            }
            // The timer is being run or moved by a different P, or another
            // modtimer is under way: wait for it to complete.
            TIMER_RUNNING | TIMER_REMOVING | TIMER_MOVING | TIMER_MODIFYING => {
                spun = true;
                osyield(t, None, Spin::ModTimer)
            }
            _ => bad_timer(),
        }
    }
    if spun {
        spin_done();
    }
    t.period.store(period, Relaxed);
    if let Some(call) = f {
        t.set_deadline_fn(call);
    }

    if was_removed {
        t.when.store(when, Relaxed);
        match ord {
            Timers::Go1_19 => {
                safepoint_in(t, Site::LockTimers); // ignored: m.locks > 0
                let pp = cur_p("modtimer");
                {
                    let mut h = lock_timers(pp);
                    do_add_timer(pp, &mut h, t.clone());
                }
                if !t.cas(TIMER_MODIFYING, TIMER_WAITING) {
                    bad_timer();
                }
                releasem(mp.take());
                safepoint_in(t, Site::WakeNetPoller);
                crate::proc::wake_net_poller(crate::stubs::cur_sched(), when);
            }
            Timers::Go1_14_1 => {
                add_initialized_timer(t);
                if !t.cas(TIMER_MODIFYING, TIMER_WAITING) {
                    bad_timer();
                }
            }
        }
    } else {
        // The timer is in some other P's heap, so we can't change the when
        // field. If we did, the other P's heap would be out of order. So
        // we put the new when value in the nextwhen field, and let the
        // other P set the when field when it is prepared to resort the heap.
        t.nextwhen.store(when, Relaxed);
        let new_status = if when < t.when.load(Relaxed) {
            TIMER_MODIFIED_EARLIER
        } else {
            TIMER_MODIFIED_LATER
        };
        let tpp = load(&t.pp);
        if new_status == TIMER_MODIFIED_EARLIER
            && let Some(tpp) = tpp
        {
            update_timer_modified_earliest(tpp, when);
        }
        // Set the new status of the timer.
        if !t.cas(TIMER_MODIFYING, new_status) {
            bad_timer();
        }
        releasem(mp.take());
        // If the new status is earlier, wake up the poller.
        if new_status == TIMER_MODIFIED_EARLIER {
            safepoint_in(t, Site::WakeNetPoller);
            crate::proc::wake_net_poller(crate::stubs::cur_sched(), when);
        }
    }
    pending
}

/// Models Go 1.14.1's `runtime.addInitializedTimer` (time.go) as
/// `modtimer` calls it for a removed timer: the prologue is a safepoint
/// (the timer is Modifying, in no heap), then lock, `cleantimers`,
/// `doaddtimer`, unlock, and `wakeNetPoller`, whose prologue is the
/// safepoint of seed 004: the timer is now in this P's heap, still
/// Modifying, and `modtimer` sets it Waiting only after this returns.
pub(super) fn add_initialized_timer(t: &Arc<RTimer>) {
    safepoint_in(t, Site::AddInitializedTimer);
    let when = t.when.load(Relaxed);
    let pp = cur_p("addInitializedTimer");
    {
        let mut h = lock_timers(pp);
        clean_timers(pp, &mut h);
        do_add_timer(pp, &mut h, t.clone());
    }
    safepoint_in(t, Site::WakeNetPoller);
    crate::proc::wake_net_poller(crate::stubs::cur_sched(), when);
}

/// Models `runtime.resettimer` (time.go): `modtimer` with the timer's own
/// period and function; `m` as for [`mod_timer`].
pub(crate) fn reset_timer(
    m: Option<&'static M>,
    t: &Arc<RTimer>,
    when: i64,
    loc: Option<&'static Location<'static>>,
) -> bool {
    mod_timer(m, t, when, t.period.load(Relaxed), None, loc)
}
