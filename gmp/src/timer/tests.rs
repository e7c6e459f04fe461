//! Unit tests of the timer state machine: no runtime runs, the heaps are
//! driven directly.

use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering::*};
use std::time::Instant;

use crate::runtime2::*;

use super::heap::{
    do_add_timer, do_del_timer0, lock_timers, update_timer_modified_earliest, wake_time,
};
use super::run::{adjust_timers, clean_timers, run_timer};
use super::*;

/// A P of a runtime that is built but never started (no threads).
fn leak_p() -> &'static P {
    let rt = crate::Runtime::builder().procs(1).build().expect("build");
    let sched = rt.sched;
    std::mem::forget(rt);
    &sched.allp[0]
}

fn timer(when: i64) -> Arc<RTimer> {
    let t = Arc::new(RTimer::new(TimerFn::GoroutineReady(AtomicPtr::default())));
    t.when.store(when, Relaxed);
    t
}

fn heap_ok(h: &[Arc<RTimer>]) -> bool {
    (1..h.len()).all(|i| h[(i - 1) / 4].when.load(Relaxed) <= h[i].when.load(Relaxed))
}

#[test]
fn heap_is_ordered_and_timer0_tracks_the_head() {
    let pp = leak_p();
    let mut h = lock_timers(pp);
    for w in [50, 10, 40, 30, 20, 60, 5, 70, 15] {
        do_add_timer(pp, &mut h, timer(w));
        assert!(heap_ok(&h));
    }
    assert_eq!(pp.timers.timer0_when.load(Relaxed), 5);
    let mut out = Vec::new();
    while !h.is_empty() {
        out.push(do_del_timer0(pp, &mut h).when.load(Relaxed));
        assert!(heap_ok(&h));
    }
    assert_eq!(out, vec![5, 10, 15, 20, 30, 40, 50, 60, 70]);
    assert_eq!(pp.timers.timer0_when.load(Relaxed), 0);
    assert_eq!(pp.timers.num_timers.load(Relaxed), 0);
}

#[test]
fn del_marks_deleted_and_clean_removes_it() {
    let pp = leak_p();
    let t = timer(100);
    t.status.store(TIMER_WAITING, Relaxed);
    lock_timers(pp).push(t.clone());
    store(&t.pp, Some(pp));
    pp.timers.num_timers.store(1, Relaxed);
    assert!(del_timer_raw(&t));
    assert_eq!(t.status.load(Relaxed), TIMER_DELETED);
    assert_eq!(pp.timers.deleted_timers.load(Relaxed), 1);
    assert!(!del_timer_raw(&t), "a second stop finds it already deleted");
    let mut h = lock_timers(pp);
    clean_timers(pp, &mut h);
    assert!(h.is_empty());
    assert_eq!(t.status.load(Relaxed), TIMER_REMOVED);
    assert_eq!(pp.timers.deleted_timers.load(Relaxed), 0);
    assert!(t.pp.load(Relaxed).is_null());
}

/// deltimer without a runtime (no safepoint, Go 1.19 ordering without
/// an M: acquirem is a no-op off an M).
fn del_timer_raw(t: &Arc<RTimer>) -> bool {
    loop {
        let s = t.status.load(Acquire);
        match s {
            TIMER_WAITING | TIMER_MODIFIED_LATER | TIMER_MODIFIED_EARLIER => {
                if t.cas(s, TIMER_MODIFYING) {
                    let tpp = load(&t.pp);
                    assert!(t.cas(TIMER_MODIFYING, TIMER_DELETED));
                    if let Some(p) = tpp {
                        p.timers.deleted_timers.fetch_add(1, AcqRel);
                    }
                    return true;
                }
            }
            _ => return false,
        }
    }
}

/// The in-heap branch of modtimer, without a runtime.
fn mod_in_heap(t: &Arc<RTimer>, when: i64) {
    let s = t.status.load(Acquire);
    assert!(t.cas(s, TIMER_MODIFYING));
    t.nextwhen.store(when, Relaxed);
    let new = if when < t.when.load(Relaxed) {
        TIMER_MODIFIED_EARLIER
    } else {
        TIMER_MODIFIED_LATER
    };
    if new == TIMER_MODIFIED_EARLIER {
        update_timer_modified_earliest(load(&t.pp).unwrap(), when);
    }
    assert!(t.cas(TIMER_MODIFYING, new));
}

#[test]
fn mod_sets_modified_earlier_or_later_and_adjust_moves_them() {
    let pp = leak_p();
    let a = timer(100);
    let b = timer(200);
    {
        let mut h = lock_timers(pp);
        for t in [&a, &b] {
            t.status.store(TIMER_WAITING, Relaxed);
            do_add_timer(pp, &mut h, (*t).clone());
        }
    }
    mod_in_heap(&b, 50);
    assert_eq!(b.status.load(Relaxed), TIMER_MODIFIED_EARLIER);
    assert_eq!(pp.timers.timer_modified_earliest.load(Relaxed), 50);
    assert_eq!(wake_time(pp), 50, "nobarrierWakeTime sees the earlier time");
    mod_in_heap(&a, 300);
    assert_eq!(a.status.load(Relaxed), TIMER_MODIFIED_LATER);
    let mut h = lock_timers(pp);
    // Not yet time for the earliest modification: nothing moves.
    adjust_timers(pp, &mut h, 40);
    assert_eq!(b.status.load(Relaxed), TIMER_MODIFIED_EARLIER);
    adjust_timers(pp, &mut h, 60);
    assert_eq!(a.status.load(Relaxed), TIMER_WAITING);
    assert_eq!(b.status.load(Relaxed), TIMER_WAITING);
    assert_eq!(b.when.load(Relaxed), 50);
    assert_eq!(a.when.load(Relaxed), 300);
    assert!(Arc::ptr_eq(&h[0], &b), "b moved to the head");
    assert_eq!(pp.timers.timer0_when.load(Relaxed), 50);
    assert_eq!(pp.timers.timer_modified_earliest.load(Relaxed), 0);
    drop(h);
    let _ = lock_timers(pp).drain(..).count();
    pp.timers.num_timers.store(0, Relaxed);
}

#[test]
fn run_timer_leaves_a_future_timer_and_runs_a_due_one() {
    let pp = leak_p();
    let c = crate::chan::chan::<Instant>(1);
    let t = Arc::new(RTimer::new(TimerFn::SendTime(c.clone())));
    t.when.store(100, Relaxed);
    t.status.store(TIMER_WAITING, Relaxed);
    {
        let mut h = lock_timers(pp);
        do_add_timer(pp, &mut h, t.clone());
    }
    let h = lock_timers(pp);
    let (h, tw) = run_timer(pp, h, 50);
    assert_eq!(tw, 100, "not due: returns its when");
    assert_eq!(t.status.load(Relaxed), TIMER_WAITING);
    assert_eq!(c.len(), 0);
    drop(h);
    // Due: Waiting -> Running -> NoStatus, off the heap, f ran (sendTime).
    let h = lock_timers(pp);
    let (h, tw) = run_timer(pp, h, 150);
    assert_eq!(tw, 0);
    assert!(h.is_empty());
    assert_eq!(t.status.load(Relaxed), TIMER_NO_STATUS);
    assert_eq!(t.fires.load(Relaxed), 1);
    assert_eq!(c.len(), 1, "the time was sent on the channel");
}

#[test]
fn run_timer_removes_a_deleted_head() {
    let pp = leak_p();
    let t = timer(10);
    t.status.store(TIMER_WAITING, Relaxed);
    {
        let mut h = lock_timers(pp);
        do_add_timer(pp, &mut h, t.clone());
    }
    assert!(del_timer_raw(&t));
    let h = lock_timers(pp);
    let (h, tw) = run_timer(pp, h, 20);
    assert_eq!(tw, -1);
    assert!(h.is_empty());
    assert_eq!(t.status.load(Relaxed), TIMER_REMOVED);
    assert_eq!(t.fires.load(Relaxed), 0);
}

#[test]
fn status_names_are_gos() {
    let names: Vec<_> = (0..10).map(status_name).collect();
    assert_eq!(
        names,
        [
            "NoStatus",
            "Waiting",
            "Running",
            "Deleted",
            "Removing",
            "Removed",
            "Modifying",
            "ModifiedEarlier",
            "ModifiedLater",
            "Moving"
        ]
    );
    assert_eq!(Timers::parse("go1.14.1"), Some(Timers::Go1_14_1));
    assert_eq!(Timers::parse("go1.19"), Some(Timers::Go1_19));
    assert_eq!(Timers::parse("go1.20"), None);
}
