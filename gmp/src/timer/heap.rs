//! A P's timer heap, after time.go: a 4-ary min-heap by `when` under
//! `p.timersLock` ([`lock_timers`]), with `timer0When` and
//! `timerModifiedEarliest` cached in atomics so that [`wake_time`] can say
//! without the lock when the P's first timer is due.

use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::panic::throw;
use crate::runtime2::*;

use super::{RTimer, bad_timer};

/// A P's timers (Go: `p.timersLock`, `p.timers`, `p.timer0When`,
/// `p.timerModifiedEarliest`, `p.numTimers`, `p.deletedTimers`).
#[derive(Default)]
pub(crate) struct PTimers {
    pub(super) lock: Mutex<Vec<Arc<RTimer>>>,
    pub(super) timer0_when: AtomicI64,
    pub(super) timer_modified_earliest: AtomicI64,
    pub(super) num_timers: AtomicU32,
    pub(super) deleted_timers: AtomicI32,
}

pub(super) type Heap<'a> = MutexGuard<'a, Vec<Arc<RTimer>>>;

/// `lock(&pp.timersLock)`: the P's timer heap, locked (a poisoned lock is
/// taken as it is, like Go's runtime mutex, which cannot be poisoned).
pub(super) fn lock_timers(pp: &P) -> Heap<'_> {
    pp.timers.lock.lock().unwrap_or_else(|e| e.into_inner())
}

/// Models `runtime.siftupTimer` (time.go).
pub(super) fn siftup_timer(t: &mut [Arc<RTimer>], mut i: usize) -> usize {
    if i >= t.len() {
        bad_timer();
    }
    let when = t[i].when.load(Relaxed);
    if when <= 0 {
        bad_timer();
    }
    while i > 0 {
        let p = (i - 1) / 4; // parent
        if when >= t[p].when.load(Relaxed) {
            break;
        }
        t.swap(i, p);
        i = p;
    }
    i
}

/// Models `runtime.siftdownTimer` (time.go).
pub(super) fn siftdown_timer(t: &mut [Arc<RTimer>], mut i: usize) {
    let n = t.len();
    if i >= n {
        bad_timer();
    }
    let when = t[i].when.load(Relaxed);
    if when <= 0 {
        bad_timer();
    }
    loop {
        let mut c = i * 4 + 1; // left child
        let mut c3 = c + 2; // mid child
        if c >= n {
            break;
        }
        let mut w = t[c].when.load(Relaxed);
        if c + 1 < n && t[c + 1].when.load(Relaxed) < w {
            w = t[c + 1].when.load(Relaxed);
            c += 1;
        }
        if c3 < n {
            let mut w3 = t[c3].when.load(Relaxed);
            if c3 + 1 < n && t[c3 + 1].when.load(Relaxed) < w3 {
                w3 = t[c3 + 1].when.load(Relaxed);
                c3 += 1;
            }
            if w3 < w {
                w = w3;
                c = c3;
            }
        }
        if w >= when {
            break;
        }
        t.swap(i, c);
        i = c;
    }
}

/// Models `runtime.updateTimer0When` (time.go).
pub(super) fn update_timer0_when(pp: &P, h: &[Arc<RTimer>]) {
    let w = h.first().map_or(0, |t| t.when.load(Relaxed));
    pp.timers.timer0_when.store(w, Release);
}

/// Models `runtime.updateTimerModifiedEarliest` (time.go).
pub(super) fn update_timer_modified_earliest(pp: &P, nextwhen: i64) {
    let a = &pp.timers.timer_modified_earliest;
    loop {
        let old = a.load(Acquire);
        if old != 0 && old < nextwhen {
            return;
        }
        if a.compare_exchange(old, nextwhen, AcqRel, Acquire).is_ok() {
            return;
        }
    }
}

/// Models `runtime.doaddtimer` (time.go): adds t to pp's heap (locked).
pub(super) fn do_add_timer(pp: &'static P, h: &mut Vec<Arc<RTimer>>, t: Arc<RTimer>) {
    // Timers rely on the network poller, so make sure the poller has started.
    crate::stubs::cur_sched()
        .netpoll_inited
        .store(true, Release);
    if !t.pp.load(Relaxed).is_null() {
        throw("doaddtimer: P already set in timer");
    }
    store(&t.pp, Some(pp));
    let i = h.len();
    h.push(t);
    let i = siftup_timer(h, i);
    if i == 0 {
        update_timer0_when(pp, h);
    }
    pp.timers.num_timers.fetch_add(1, AcqRel);
}

/// Models `runtime.dodeltimer` (time.go): removes timer i (locked);
/// returns the smallest changed index.
pub(super) fn do_del_timer(pp: &P, h: &mut Vec<Arc<RTimer>>, i: usize) -> usize {
    if !std::ptr::eq(h[i].pp.load(Relaxed), pp) {
        throw("dodeltimer: wrong P");
    }
    store(&h[i].pp, None);
    let last = h.len() - 1;
    h.swap_remove(i);
    let mut smallest_changed = i;
    if i != last {
        // Moving to i may have moved the last timer to a new parent, so
        // sift up to preserve the heap guarantee.
        smallest_changed = siftup_timer(h, i);
        siftdown_timer(h, i);
    }
    if i == 0 {
        update_timer0_when(pp, h);
    }
    if pp.timers.num_timers.fetch_sub(1, AcqRel) == 1 {
        // If there are no timers, then clearly none are modified.
        pp.timers.timer_modified_earliest.store(0, Release);
    }
    smallest_changed
}

/// Models `runtime.dodeltimer0` (time.go): removes the head (locked).
pub(super) fn do_del_timer0(pp: &P, h: &mut Vec<Arc<RTimer>>) -> Arc<RTimer> {
    if !std::ptr::eq(h[0].pp.load(Relaxed), pp) {
        throw("dodeltimer0: wrong P");
    }
    store(&h[0].pp, None);
    let t = h.swap_remove(0);
    if !h.is_empty() {
        siftdown_timer(h, 0);
    }
    update_timer0_when(pp, h);
    if pp.timers.num_timers.fetch_sub(1, AcqRel) == 1 {
        pp.timers.timer_modified_earliest.store(0, Release);
    }
    t
}

/// Models `runtime.nobarrierWakeTime` (time.go): when pp's first timer
/// (or first modified-earlier timer) is due, 0 if none.
#[inline]
pub(crate) fn wake_time(pp: &P) -> i64 {
    let next = pp.timers.timer0_when.load(Acquire);
    let next_adj = pp.timers.timer_modified_earliest.load(Acquire);
    if next == 0 || (next_adj != 0 && next_adj < next) {
        next_adj
    } else {
        next
    }
}

/// Whether pp has timers (Go: `timerpMask`).
pub(crate) fn has_timers(pp: &P) -> bool {
    pp.timers.num_timers.load(Acquire) != 0
}

/// Number of timers in pp's heap (schedtrace's `timerslen`).
#[allow(dead_code)]
pub(crate) fn num_timers(pp: &P) -> u32 {
    pp.timers.num_timers.load(Acquire)
}
