//! Run queues: each P's lock-free local queue (256 slots + `runnext`) and
//! the global queue under `sched.lock`, as in proc.go.
//!
//! The local queue is Go's single-producer / multi-consumer ring: only the
//! P's owner writes slots and `runqtail` (store-release); any M may consume
//! by CAS on `runqhead` (consumers include thieves in `runqgrab`). Slots are
//! `AtomicPtr` (relaxed) where Go uses plain words, so the Rust memory model
//! sees no data race; the orderings on head/tail are Go's.

use std::sync::atomic::Ordering::*;

use crate::runtime2::{G, P, RUNQ_SIZE, SchedLocked, p_of};

fn slot(pp: &P, i: u32) -> &std::sync::atomic::AtomicPtr<G> {
    &pp.runq[(i % RUNQ_SIZE) as usize]
}

fn gp_at(pp: &P, i: u32) -> &'static G {
    // SAFETY: slots between head and tail hold leaked Gs.
    unsafe { &*slot(pp, i).load(Relaxed) }
}

/// Models `runtime.runqempty` (proc.go).
pub(crate) fn runqempty(pp: &P) -> bool {
    loop {
        let head = pp.runqhead.load(Acquire);
        let tail = pp.runqtail.load(Acquire);
        let runnext = pp.runnext.load(Acquire);
        if tail == pp.runqtail.load(Acquire) {
            return head == tail && runnext.is_null();
        }
    }
}

/// Models `runtime.runqput` (proc.go): `next` puts gp in `runnext`, kicking
/// the old `runnext` to the tail; a full queue moves half to the global queue.
pub(crate) fn runqput(pp: &'static P, gp: &'static G, next: bool) {
    let mut gp = gp;
    if next {
        let old = pp.runnext.swap(p_of(Some(gp)), AcqRel);
        if old.is_null() {
            return;
        }
        // SAFETY: runnext only holds leaked Gs.
        gp = unsafe { &*old };
    }
    loop {
        let h = pp.runqhead.load(Acquire);
        let t = pp.runqtail.load(Relaxed);
        if t.wrapping_sub(h) < RUNQ_SIZE {
            slot(pp, t).store(p_of(Some(gp)), Relaxed);
            pp.runqtail.store(t.wrapping_add(1), Release);
            return;
        }
        if runqputslow(pp, gp, h, t) {
            return;
        }
    }
}

/// Models `runtime.runqputslow` (proc.go).
fn runqputslow(pp: &'static P, gp: &'static G, h: u32, t: u32) -> bool {
    let n = t.wrapping_sub(h) / 2;
    if n != RUNQ_SIZE / 2 {
        crate::panic::throw("runqputslow: queue is not full");
    }
    let mut batch: Vec<&'static G> = (0..n).map(|i| gp_at(pp, h.wrapping_add(i))).collect();
    if pp
        .runqhead
        .compare_exchange(h, h.wrapping_add(n), AcqRel, Relaxed)
        .is_err()
    {
        return false;
    }
    batch.push(gp);
    let sched = gp.sched;
    let mut l = sched.lock();
    for g in batch {
        globrunqput(sched, &mut l, g);
    }
    true
}

/// Models `runtime.runqget` (proc.go): returns (gp, inheritTime).
pub(crate) fn runqget(pp: &P) -> Option<(&'static G, bool)> {
    let next = pp.runnext.load(Acquire);
    if !next.is_null()
        && pp
            .runnext
            .compare_exchange(next, std::ptr::null_mut(), AcqRel, Relaxed)
            .is_ok()
    {
        // SAFETY: runnext only holds leaked Gs.
        return Some((unsafe { &*next }, true));
    }
    loop {
        let h = pp.runqhead.load(Acquire);
        let t = pp.runqtail.load(Acquire);
        if t == h {
            return None;
        }
        let gp = gp_at(pp, h);
        if pp
            .runqhead
            .compare_exchange(h, h.wrapping_add(1), AcqRel, Relaxed)
            .is_ok()
        {
            return Some((gp, false));
        }
    }
}

/// How many Gs pp's local queue must hold before [`runqpeek`] names one:
/// with fewer, the runnable goroutines' stacks are in the cache anyway.
const PEEK_MIN: u32 = 8;

/// The G at the head of pp's local queue when the queue is long (at least
/// [`PEEK_MIN`]), without taking it: a hint for prefetching what it will
/// touch (by the time it runs the head may be another G).
pub(crate) fn runqpeek(pp: &P) -> Option<&'static G> {
    let h = pp.runqhead.load(Relaxed);
    if pp.runqtail.load(Relaxed).wrapping_sub(h) < PEEK_MIN {
        return None;
    }
    Some(gp_at(pp, h))
}

/// Models `runtime.runqgrab` (proc.go): takes half of p2's queue into `batch`.
fn runqgrab(p2: &P, batch: &mut Vec<&'static G>, steal_runnext: bool) -> u32 {
    loop {
        let h = p2.runqhead.load(Acquire);
        let t = p2.runqtail.load(Acquire);
        let mut n = t.wrapping_sub(h);
        n -= n / 2;
        if n == 0 {
            if steal_runnext {
                let next = p2.runnext.load(Acquire);
                if !next.is_null() {
                    if p2.status.load(Relaxed) == crate::runtime2::P_RUNNING {
                        // Go: usleep(3), to let p2's owner run the G it is
                        // about to schedule instead of bouncing it.
                        std::thread::sleep(std::time::Duration::from_micros(3));
                    }
                    if p2
                        .runnext
                        .compare_exchange(next, std::ptr::null_mut(), AcqRel, Relaxed)
                        .is_err()
                    {
                        continue;
                    }
                    // SAFETY: runnext only holds leaked Gs.
                    batch.push(unsafe { &*next });
                    return 1;
                }
            }
            return 0;
        }
        if n > RUNQ_SIZE / 2 {
            continue; // inconsistent h and t
        }
        batch.clear();
        for i in 0..n {
            batch.push(gp_at(p2, h.wrapping_add(i)));
        }
        if p2
            .runqhead
            .compare_exchange(h, h.wrapping_add(n), AcqRel, Relaxed)
            .is_ok()
        {
            return n;
        }
    }
}

/// Models `runtime.runqsteal` (proc.go): steals half of p2's run queue into
/// pp's and returns one of the stolen Gs.
pub(crate) fn runqsteal(pp: &'static P, p2: &P, steal_runnext: bool) -> Option<&'static G> {
    let mut batch = Vec::new();
    let n = runqgrab(p2, &mut batch, steal_runnext);
    if n == 0 {
        return None;
    }
    let gp = batch.pop()?;
    if batch.is_empty() {
        return Some(gp);
    }
    let t = pp.runqtail.load(Relaxed);
    let h = pp.runqhead.load(Acquire);
    if t.wrapping_sub(h) + batch.len() as u32 >= RUNQ_SIZE {
        crate::panic::throw("runqsteal: runq overflow");
    }
    for (i, g) in batch.iter().enumerate() {
        slot(pp, t.wrapping_add(i as u32)).store(p_of(Some(*g)), Relaxed);
    }
    pp.runqtail
        .store(t.wrapping_add(batch.len() as u32), Release);
    Some(gp)
}

/// Models `runtime.globrunqput` (proc.go). sched.lock must be held.
pub(crate) fn globrunqput(sched: &crate::runtime2::Sched, l: &mut SchedLocked, gp: &'static G) {
    l.runq.push_back(gp);
    sched.runqsize.store(l.runq.len() as u32, Relaxed);
}

/// Models `runtime.globrunqget` (proc.go): takes a fair share of the global
/// queue (at most `max` if > 0), puts all but one on pp's local queue.
pub(crate) fn globrunqget(
    sched: &crate::runtime2::Sched,
    l: &mut SchedLocked,
    pp: &'static P,
    max: u32,
) -> Option<&'static G> {
    let size = l.runq.len() as u32;
    if size == 0 {
        return None;
    }
    let mut n = size / sched.gomaxprocs() + 1;
    if n > size {
        n = size;
    }
    if max > 0 && n > max {
        n = max;
    }
    if n > RUNQ_SIZE / 2 {
        n = RUNQ_SIZE / 2;
    }
    let gp = l.runq.pop_front();
    for _ in 1..n {
        if let Some(g1) = l.runq.pop_front() {
            runqput(pp, g1, false);
        }
    }
    sched.runqsize.store(l.runq.len() as u32, Relaxed);
    gp
}

/// Number of Gs in pp's local queue (schedtrace).
pub(crate) fn runqlen(pp: &P) -> u32 {
    pp.runqtail
        .load(Acquire)
        .wrapping_sub(pp.runqhead.load(Acquire))
}
