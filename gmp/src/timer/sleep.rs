//! What users call, after time/sleep.go and time.go: [`time_sleep`]
//! (`time.Sleep`) and [`Timer`] (`time.NewTimer`, `Reset`, `Stop`, `C`).

use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering::*};
use std::time::{Duration, Instant};

use crate::chan::Chan;
use crate::panic::throw;
use crate::runtime2::*;
use crate::stubs::{getm, need_g};

use super::modify::{add_timer, del_timer, reset_timer};
use super::{MAX_WHEN, RTimer, TimerFn, status_name};

/// Go's `when(d)` (time/sleep.go): nanotime() + d, saturating.
fn when_after(sched: &Sched, d: Duration) -> i64 {
    let ns = d.as_nanos().min(i64::MAX as u128) as i64;
    let w = sched.nanotime().saturating_add(ns);
    if w <= 0 { MAX_WHEN } else { w }
}

/// Models `runtime.timeSleep` (time.go): parks the G; `resetForSleep` arms
/// its timer (`gp.timer`) from the M once the G is off its stack, so a
/// short timer cannot fire before the G has parked.
pub(crate) fn time_sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    let (m, gp) = need_g("sleep");
    let t = gp
        .timer
        .0
        .get_or_init(|| Arc::new(RTimer::new(TimerFn::GoroutineReady(AtomicPtr::default()))))
        .clone();
    if let TimerFn::GoroutineReady(arg) = &t.f {
        store(arg, Some(gp));
    }
    t.nextwhen.store(when_after(m.sched, d), Relaxed);
    crate::proc::gopark(WaitReason::Sleep, move |_| {
        // resetForSleep
        let when = t.nextwhen.load(Relaxed);
        reset_timer(getm(), &t, when, None);
        true
    });
}

/// A single-shot timer, Go's `time.Timer`: after its duration the current
/// time is sent (without blocking) on its channel of capacity 1.
///
/// Create, reset and stop it from a goroutine (the timer goes into the heap
/// of the P the goroutine runs on, as in Go).
pub struct Timer {
    t: Arc<RTimer>,
    c: Chan<Instant>,
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Timer({:#x}, {})",
            self.t.addr(),
            status_name(self.t.status.load(Relaxed))
        )
    }
}

impl Timer {
    /// `time.NewTimer(d)` (models `startTimer` -> `addtimer`).
    pub fn new(d: Duration) -> Timer {
        let (m, _) = need_g("Timer::new");
        let c = crate::chan::chan::<Instant>(1);
        let t = Arc::new(RTimer::new(TimerFn::SendTime(c.clone())));
        t.when.store(when_after(m.sched, d), Relaxed);
        add_timer(t.clone());
        Timer { t, c }
    }

    /// `t.Reset(d)` (models `resetTimer` -> `resettimer` -> `modtimer`):
    /// returns true if the timer was still pending.
    #[track_caller]
    pub fn reset(&self, d: Duration) -> bool {
        let loc = Location::caller();
        let (m, _) = need_g("Timer::reset");
        let when = when_after(m.sched, d);
        reset_timer(Some(m), &self.t, when, Some(loc))
    }

    /// `t.Stop()` (models `stopTimer` -> `deltimer`): true if the call
    /// stopped the timer before it fired.
    pub fn stop(&self) -> bool {
        need_g("Timer::stop");
        del_timer(&self.t)
    }

    /// `t.C`: the channel the time is sent on.
    pub fn c(&self) -> &Chan<Instant> {
        &self.c
    }

    /// `<-t.C`: parks until the timer fires (or has fired).
    pub fn recv(&self) -> Instant {
        match self.c.recv() {
            Some(t) => t,
            None => throw("timer channel closed"),
        }
    }

    /// How many times the runtime ran this timer (model-only).
    pub fn fires(&self) -> u64 {
        self.t.fires.load(Relaxed)
    }
}
