//! A simple per-P timer heap: the stand-in for Go's timers (time.go) until
//! the timers issue brings Go's timer states (`timerModifying` and friends).
//! Kept in its own module so that it can be replaced whole.
//!
//! What is modeled: each P owns a min-heap of (when, G) "sleep" timers;
//! `timer0When` caches the earliest `when` for lock-free peeks; timers run
//! from `checkTimers` on the P's own M in `findRunnable`, from thieves in
//! `stealWork` (last round), and wake the parked G with `goready` (Go's
//! `goroutineReady`). An M with nothing to do blocks in the netpoll model
//! until the earliest timer of any P (`checkTimersNoP`), and sysmon's deep
//! sleep ends at it (`timeSleepUntil`).
//!
//! What is not: modification/deletion of timers, timer states, `adjusttimers`,
//! timers with callbacks other than waking a goroutine.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::*};

use crate::runtime2::{G, GRef, P};

struct Entry {
    when: i64,
    seq: u64,
    g: &'static G,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.when, self.seq) == (o.when, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.when, self.seq).cmp(&(o.when, o.seq))
    }
}

#[derive(Default)]
pub(crate) struct PTimers {
    heap: Mutex<BinaryHeap<Reverse<Entry>>>,
    /// Go's `p.timer0When`: earliest `when`, 0 if none.
    timer0_when: AtomicI64,
    seq: AtomicU64,
}

impl PTimers {
    fn update_timer0(&self, h: &BinaryHeap<Reverse<Entry>>) {
        self.timer0_when
            .store(h.peek().map(|e| e.0.when).unwrap_or(0), Release);
    }
}

/// Models `runtime.doaddtimer` (time.go) for a sleep timer: `gp` is readied
/// at `when`. Called with pp held by the current M.
pub(crate) fn add_timer(pp: &P, when: i64, gp: GRef) {
    let t = &pp.timers;
    let mut h = t.heap.lock().unwrap_or_else(|e| e.into_inner());
    h.push(Reverse(Entry {
        when,
        seq: t.seq.fetch_add(1, Relaxed),
        g: gp.0,
    }));
    t.update_timer0(&h);
}

/// Models `runtime.nobarrierWakeTime` (proc.go): earliest timer of pp, 0 if
/// none.
pub(crate) fn wake_time(pp: &P) -> i64 {
    pp.timers.timer0_when.load(Acquire)
}

/// Models `runtime.checkTimers` (proc.go) + `runtimer` (time.go): runs pp's
/// expired timers (readying their Gs onto the current P). Returns
/// (now, pollUntil, ran).
pub(crate) fn check_timers(pp: &P, now: i64) -> (i64, i64, bool) {
    let next = wake_time(pp);
    if next == 0 {
        return (now, 0, false);
    }
    let sched = crate::proc::cur_sched();
    let now = if now == 0 { sched.nanotime() } else { now };
    if now < next {
        return (now, next, false);
    }
    let mut ready = Vec::new();
    let poll_until;
    {
        let t = &pp.timers;
        let mut h = t.heap.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(e) = h.peek() {
            if e.0.when > now {
                break;
            }
            if let Some(Reverse(e)) = h.pop() {
                ready.push(e.g);
            }
        }
        t.update_timer0(&h);
        poll_until = h.peek().map(|e| e.0.when).unwrap_or(0);
    }
    let ran = !ready.is_empty();
    for g in ready {
        // Go: goroutineReady -> goready(gp) -> ready(gp, next=true).
        crate::proc::goready(GRef(g));
    }
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

/// Whether pp may have timers (Go: `timerpMask`).
pub(crate) fn has_timers(pp: &P) -> bool {
    wake_time(pp) != 0
}
