//! Running timers, after time.go and proc.go: what a P does with its own
//! heap (`cleantimers`, `adjusttimers`, `runtimer`, `runOneTimer`,
//! `clearDeletedTimers`) and what the scheduler asks of every P's timers
//! (`checkTimers`, `checkTimersNoP`, `timeSleepUntil`). A Modifying timer
//! met here makes the M `osyield` and look again: seed 004's spin.

use std::sync::Arc;
use std::sync::atomic::Ordering::*;
use std::time::Instant;

use crate::panic::throw;
use crate::runtime2::*;
use crate::stubs::getm;

use super::heap::{
    Heap, do_add_timer, do_del_timer, do_del_timer0, lock_timers, siftdown_timer, siftup_timer,
    update_timer0_when, wake_time,
};
use super::watch::{Spin, osyield, spin_done};
use super::{
    MAX_WHEN, RTimer, TIMER_DELETED, TIMER_MODIFIED_EARLIER, TIMER_MODIFIED_LATER, TIMER_MODIFYING,
    TIMER_MOVING, TIMER_NO_STATUS, TIMER_REMOVED, TIMER_REMOVING, TIMER_RUNNING, TIMER_WAITING,
    TimerFn, bad_timer,
};

/// Models `runtime.cleantimers` (time.go): cleans up the head of the heap
/// (locked).
pub(super) fn clean_timers(pp: &'static P, h: &mut Vec<Arc<RTimer>>) {
    loop {
        let Some(t) = h.first().cloned() else { return };
        // This loop can theoretically run for a while, and because it is
        // holding timersLock it cannot be preempted (Go returns early on
        // gp.preemptStop, which gmp does not have).
        if !std::ptr::eq(t.pp.load(Relaxed), pp) {
            throw("cleantimers: bad p");
        }
        match t.status.load(Acquire) {
            s @ TIMER_DELETED => {
                if !t.cas(s, TIMER_REMOVING) {
                    continue;
                }
                do_del_timer0(pp, h);
                if !t.cas(TIMER_REMOVING, TIMER_REMOVED) {
                    bad_timer();
                }
                pp.timers.deleted_timers.fetch_sub(1, AcqRel);
            }
            s @ (TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER) => {
                if !t.cas(s, TIMER_MOVING) {
                    continue;
                }
                // Now we can change the when field.
                t.when.store(t.nextwhen.load(Relaxed), Relaxed);
                // Move t to the right position.
                let t = do_del_timer0(pp, h);
                do_add_timer(pp, h, t.clone());
                if !t.cas(TIMER_MOVING, TIMER_WAITING) {
                    bad_timer();
                }
            }
            // Head of timers does not need adjustment.
            _ => return,
        }
    }
}

/// Models `runtime.adjusttimers` (time.go): moves timers modified earlier
/// or later to their place and removes deleted ones (locked). A Modifying
/// timer makes it `osyield` and look again — for ever if its modifier never
/// runs again (seed 004's spin).
pub(crate) fn adjust_timers(pp: &'static P, h: &mut Vec<Arc<RTimer>>, now: i64) {
    // If we haven't yet reached the time of the first timerModifiedEarlier
    // timer, don't do anything.
    let first = pp.timers.timer_modified_earliest.load(Acquire);
    if first == 0 || first > now {
        return;
    }
    // We are going to clear all timerModifiedEarlier timers.
    pp.timers.timer_modified_earliest.store(0, Release);
    let mut moved = Vec::new();
    let mut i = 0usize;
    while i < h.len() {
        let t = h[i].clone();
        if !std::ptr::eq(t.pp.load(Relaxed), pp) {
            throw("adjusttimers: bad p");
        }
        match t.status.load(Acquire) {
            s @ TIMER_DELETED => {
                if t.cas(s, TIMER_REMOVING) {
                    let changed = do_del_timer(pp, h, i);
                    if !t.cas(TIMER_REMOVING, TIMER_REMOVED) {
                        bad_timer();
                    }
                    pp.timers.deleted_timers.fetch_sub(1, AcqRel);
                    // Go back to the earliest changed heap entry.
                    i = changed;
                    continue;
                }
            }
            s @ (TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER) => {
                if t.cas(s, TIMER_MOVING) {
                    // Now we can change the when field.
                    t.when.store(t.nextwhen.load(Relaxed), Relaxed);
                    // Take t off the heap, and hold onto it.
                    let changed = do_del_timer(pp, h, i);
                    moved.push(t);
                    i = changed;
                    continue;
                }
            }
            TIMER_NO_STATUS | TIMER_RUNNING | TIMER_REMOVING | TIMER_REMOVED | TIMER_MOVING => {
                bad_timer()
            }
            TIMER_WAITING => {}
            TIMER_MODIFYING => {
                // Check again after modification is complete.
                osyield(&t, Some(pp), Spin::AdjustTimers);
                continue;
            }
            _ => bad_timer(),
        }
        i += 1;
    }
    // addAdjustedTimers
    for t in moved {
        do_add_timer(pp, h, t.clone());
        if !t.cas(TIMER_MOVING, TIMER_WAITING) {
            bad_timer();
        }
    }
}

/// Models `runtime.runtimer` (time.go): examines the head of the heap
/// (locked). Returns 0 if it ran a timer, -1 if there are no more timers,
/// or the time when the head should run. A Modifying head makes it
/// `osyield` and look again.
pub(crate) fn run_timer<'a>(pp: &'static P, mut h: Heap<'a>, now: i64) -> (Heap<'a>, i64) {
    loop {
        let t = h[0].clone();
        if !std::ptr::eq(t.pp.load(Relaxed), pp) {
            throw("runtimer: bad p");
        }
        match t.status.load(Acquire) {
            s @ TIMER_WAITING => {
                let when = t.when.load(Relaxed);
                if when > now {
                    // Not ready to run.
                    return (h, when);
                }
                if !t.cas(s, TIMER_RUNNING) {
                    continue;
                }
                // Note that run_one_timer may temporarily unlock the heap.
                let h = run_one_timer(pp, h, t, now);
                return (h, 0);
            }
            s @ TIMER_DELETED => {
                if !t.cas(s, TIMER_REMOVING) {
                    continue;
                }
                do_del_timer0(pp, &mut h);
                if !t.cas(TIMER_REMOVING, TIMER_REMOVED) {
                    bad_timer();
                }
                pp.timers.deleted_timers.fetch_sub(1, AcqRel);
                if h.is_empty() {
                    return (h, -1);
                }
            }
            s @ (TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER) => {
                if !t.cas(s, TIMER_MOVING) {
                    continue;
                }
                t.when.store(t.nextwhen.load(Relaxed), Relaxed);
                let t = do_del_timer0(pp, &mut h);
                do_add_timer(pp, &mut h, t.clone());
                if !t.cas(TIMER_MOVING, TIMER_WAITING) {
                    bad_timer();
                }
            }
            // Wait for modification to complete.
            TIMER_MODIFYING => osyield(&t, Some(pp), Spin::RunTimer),
            // Should not see a new or inactive timer on the heap, and these
            // should only be set when timers are locked, and we didn't do it.
            _ => bad_timer(),
        }
    }
}

/// Models `runtime.runOneTimer` (time.go): runs t (status Running, at the
/// head, heap locked); the heap is unlocked while `f` runs.
pub(crate) fn run_one_timer<'a>(
    pp: &'static P,
    mut h: Heap<'a>,
    t: Arc<RTimer>,
    now: i64,
) -> Heap<'a> {
    // f, arg and seq are read while the timer is Running: a modtimer
    // waits for that to end before it changes them.
    let seq = t.seq.load(Acquire);
    let deadline = match &t.f {
        TimerFn::NetpollDeadline(arg) => Some(arg.load()),
        _ => None,
    };
    let period = t.period.load(Relaxed);
    if period > 0 {
        // Leave in heap but adjust next time to fire.
        let delta = t.when.load(Relaxed) - now;
        let mut when = t
            .when
            .load(Relaxed)
            .saturating_add(period.saturating_mul(1 + -delta / period));
        if when < 0 {
            when = MAX_WHEN;
        }
        t.when.store(when, Relaxed);
        siftdown_timer(&mut h, 0);
        if !t.cas(TIMER_RUNNING, TIMER_WAITING) {
            bad_timer();
        }
        update_timer0_when(pp, &h);
    } else {
        // Remove from heap.
        do_del_timer0(pp, &mut h);
        if !t.cas(TIMER_RUNNING, TIMER_NO_STATUS) {
            bad_timer();
        }
    }
    drop(h);
    t.fires.fetch_add(1, Relaxed);
    match &t.f {
        // goroutineReady
        TimerFn::GoroutineReady(g) => match load(g) {
            Some(gp) => crate::proc::goready(GRef(gp)),
            None => throw("goroutineReady: no g"),
        },
        // sendTime: a non-blocking send of the current time.
        TimerFn::SendTime(c) => {
            let _ = c.try_send(Instant::now());
        }
        // netpollReadDeadline / netpollWriteDeadline / netpollDeadline
        TimerFn::NetpollDeadline(_) => {
            if let Some((pd, f)) = deadline {
                crate::netpoll::netpoll_deadline(pd, f, seq);
            }
        }
    }
    lock_timers(pp)
}

/// Models `runtime.clearDeletedTimers` (time.go): removes every deleted
/// timer from pp's heap (locked).
pub(super) fn clear_deleted_timers(pp: &'static P, h: &mut Vec<Arc<RTimer>>) {
    // We are going to clear all timerModifiedEarlier timers.
    pp.timers.timer_modified_earliest.store(0, Release);
    let mut cdel = 0i32;
    let old = std::mem::take(h);
    for t in old {
        loop {
            match t.status.load(Acquire) {
                TIMER_WAITING => {
                    h.push(t.clone());
                    let i = h.len() - 1;
                    siftup_timer(h, i);
                    break;
                }
                s @ (TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER) => {
                    if t.cas(s, TIMER_MOVING) {
                        t.when.store(t.nextwhen.load(Relaxed), Relaxed);
                        h.push(t.clone());
                        let i = h.len() - 1;
                        siftup_timer(h, i);
                        if !t.cas(TIMER_MOVING, TIMER_WAITING) {
                            bad_timer();
                        }
                        break;
                    }
                }
                s @ TIMER_DELETED => {
                    if t.cas(s, TIMER_REMOVING) {
                        store(&t.pp, None);
                        cdel += 1;
                        if !t.cas(TIMER_REMOVING, TIMER_REMOVED) {
                            bad_timer();
                        }
                        break;
                    }
                }
                // Loop until modification complete.
                TIMER_MODIFYING => osyield(&t, Some(pp), Spin::ClearDeletedTimers),
                _ => bad_timer(),
            }
        }
    }
    pp.timers.deleted_timers.fetch_sub(cdel, AcqRel);
    pp.timers.num_timers.fetch_sub(cdel as u32, AcqRel);
    update_timer0_when(pp, h);
}

/// Models `runtime.checkTimers` (proc.go): runs the timers of pp that are
/// due. Called from `find_runnable` (own P) and `steal_work` (other Ps).
/// Returns (now, pollUntil, ran).
///
/// The test for "no timers at all" is inlined into the scheduler's loop
/// (every `schedule` makes it); the rest is [`check_due_timers`].
#[inline]
pub(crate) fn check_timers(pp: &'static P, now: i64) -> (i64, i64, bool) {
    // If it's not yet time for the first timer, or the first adjusted
    // timer, then there is nothing to do.
    let next = wake_time(pp);
    if next == 0 {
        // No timers to run or adjust.
        return (now, 0, false);
    }
    check_due_timers(pp, now, next)
}

/// `checkTimers` once pp has a timer, due at `next` at the earliest.
#[inline(never)]
fn check_due_timers(pp: &'static P, now: i64, next: i64) -> (i64, i64, bool) {
    let sched = crate::stubs::cur_sched();
    let now = if now == 0 { sched.nanotime() } else { now };
    let mine = getm()
        .and_then(|m| load(&m.p))
        .is_some_and(|x| std::ptr::eq(x, pp));
    if now < next {
        // Next timer is not ready to run, but keep going if we would clear
        // deleted timers.
        if !mine
            || pp.timers.deleted_timers.load(Acquire)
                <= (pp.timers.num_timers.load(Acquire) / 4) as i32
        {
            return (now, next, false);
        }
    }
    let mut h = lock_timers(pp);
    let mut poll_until = 0;
    let mut ran = false;
    if !h.is_empty() {
        adjust_timers(pp, &mut h, now);
        while !h.is_empty() {
            // Note that run_timer may temporarily unlock the heap.
            let (h2, tw) = run_timer(pp, h, now);
            h = h2;
            if tw != 0 {
                if tw > 0 {
                    poll_until = tw;
                }
                break;
            }
            ran = true;
        }
    }
    spin_done();
    // If this is the local P, and there are a lot of deleted timers, clear
    // them out.
    if mine && pp.timers.deleted_timers.load(Acquire) > (h.len() / 4) as i32 {
        clear_deleted_timers(pp, &mut h);
        spin_done();
    }
    drop(h);
    (now, poll_until, ran)
}

/// Models `runtime.checkTimersNoP` (proc.go).
pub(crate) fn check_timers_nop(allp: &[P], poll_until: i64) -> i64 {
    let mut pu = poll_until;
    for p2 in allp {
        let w = wake_time(p2);
        if w != 0 && (pu == 0 || w < pu) {
            pu = w;
        }
    }
    pu
}

/// Models `runtime.timeSleepUntil` (proc.go): earliest timer of all Ps, or
/// i64::MAX.
pub(crate) fn time_sleep_until(allp: &[P]) -> i64 {
    let w = check_timers_nop(allp, 0);
    if w == 0 { i64::MAX } else { w }
}
