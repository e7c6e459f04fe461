//! Timers: Go 1.19's `runtime/time.go`, function by function, with the one
//! ordering of Go 1.14.1 that wedged the world (golang/go#38023, seed 004).
//!
//! # The model
//!
//! A runtime timer ([`RTimer`]) is Go's `timer`: `pp` (which P's heap holds
//! it), `when`, `period`, `nextwhen`, `f` and a `status` word. Each P owns a
//! 4-ary min-heap of timers ([`PTimers`], Go's `p.timers` under
//! `p.timersLock`), with `timer0When` and `timerModifiedEarliest` cached in
//! atomics so `checkTimers` can decide without the lock that nothing is
//! due. The status word is the whole protocol; whoever CASes a timer into
//! `Modifying`, `Running`, `Removing` or `Moving` owns it until it CASes it
//! out again, and everybody else waits with `osyield` (sched_yield(2) on the
//! M's thread) in a retry loop — exactly where Go has those loops:
//!
//! ```text
//! addtimer:      NoStatus -> Waiting
//! deltimer:      Waiting/ModifiedXX -> Modifying -> Deleted; Running/Moving/Modifying: osyield, retry
//! modtimer:      Waiting/ModifiedXX/Deleted -> Modifying -> ModifiedXX
//!                NoStatus/Removed -> Modifying -> (into this P's heap) -> Waiting
//!                Running/Removing/Moving/Modifying: osyield, retry
//! cleantimers:   (head) Deleted -> Removing -> Removed; ModifiedXX -> Moving -> Waiting
//! adjusttimers:  Deleted -> Removing -> Removed; ModifiedXX -> Moving -> Waiting; Modifying: osyield, look again
//! runtimer:      Waiting -> Running -> NoStatus (or Waiting for a period); Modifying: osyield, look again
//! ```
//!
//! # The two orderings ([`Timers`])
//!
//! `modtimer` for a timer that already ran (`Removed`/`NoStatus`, the
//! `wasRemoved` path every `t.Reset` after `<-t.C` takes):
//!
//! ```text
//! Go 1.14.1                                    Go 1.19 (355f53f + e8be350)
//! CAS Removed -> Modifying                     acquirem (m.locks++: no preemption)
//! add_initialized_timer:  <- safepoint         CAS Removed -> Modifying
//!   lock; clean_timers; do_add_timer; unlock   lock <- safepoint, ignored (m.locks > 0)
//!   wake_net_poller:  <- SAFEPOINT: the G      do_add_timer; unlock
//!      may be preempted here, its timer in     CAS Modifying -> Waiting
//!      this P's heap and still Modifying       releasem
//! CAS Modifying -> Waiting                     wake_net_poller <- safepoint: timer Waiting
//! ```
//!
//! A safepoint is [`crate::safepoint`]: the model of the stack check in a
//! Go function prologue. If the G has a preemption request it is
//! descheduled there (`gopreempt_m`: `dropg`, global run queue) and its M
//! goes into `schedule` -> `find_runnable` -> [`check_timers`], which finds
//! the `Modifying` timer at the head of its own heap and spins in
//! [`run_timer`] (or [`adjust_timers`]) with `osyield`, on g0, with no
//! current G: `preempt_one` skips it and it never gets back to
//! `find_runnable`'s `gcwaiting` check. Only the preempted G could finish
//! the modification, and it waits on the global run queue. With a
//! stop-the-world under way the world never stops (stw.rs); without one
//! (procs 1) it is a livelock with one core spinning. The watchdog
//! (watchdog.rs) reads the diagnosis out of the fields below: each timer
//! remembers the G that last set it `Modifying`, from which call site, and
//! where that G was preempted; each M says what it is spinning on
//! ([`MTimerState`]).
//!
//! # Invariants
//!
//! * A timer is in at most one heap, and `t.pp` names it, exactly when its
//!   status is Waiting, Running, Deleted, Removing, ModifiedXX or Moving, or
//!   Modifying after `do_add_timer` / from a heap state.
//! * `when` changes only while the changer owns the timer (Modifying on the
//!   wasRemoved path before it is in a heap, Moving, Running) and under the
//!   heap's lock when the timer is in a heap, so the heap order holds.
//! * `timer0_when` = `when` of the heap's head (0 if empty);
//!   `timer_modified_earliest` <= `nextwhen` of every ModifiedEarlier timer
//!   in the heap, or 0.
//! * `f` never changes after creation (Go lets modtimer change it; gmp's API
//!   never does); the argument of a sleep timer (its G) is set by the G
//!   itself before the timer is armed.
//!
//! # What differs from Go
//!
//! * Heap elements are `Arc<RTimer>` (Go's GC keeps a timer alive while a
//!   heap holds it; the Arc does the same). No `moveTimers` (no
//!   `procresize`), no `timerpMask` (a P "has timers" when `num_timers > 0`),
//!   no race-detector contexts.
//! * Go 1.14.1's other differences (an `adjustTimers` counter instead of
//!   `timerModifiedEarliest`) are not modeled: only `modtimer`'s ordering and
//!   `acquirem` differ between the two modes, which is the whole of the two
//!   fixes.
//!
//! # Files
//!
//! | file        | what                                                              |
//! |-------------|-------------------------------------------------------------------|
//! | `mod.rs`    | the timer (`RTimer`), its status values, the two orderings        |
//! | `heap.rs`   | a P's 4-ary heap: siftup/siftdown, doaddtimer, dodeltimer(0)      |
//! | `modify.rs` | addtimer, deltimer, modtimer, resettimer                          |
//! | `run.rs`    | cleantimers, adjusttimers, runtimer, runOneTimer, checkTimers     |
//! | `sleep.rs`  | the public `Timer` and `sleep` (time.Sleep)                       |
//! | `watch.rs`  | the watchdog's view: who modified a timer, what an M spins on     |

mod heap;
mod modify;
mod run;
mod sleep;
mod watch;

#[cfg(test)]
mod tests;

pub(crate) use heap::{PTimers, has_timers, wake_time};
pub(crate) use modify::{del_timer, mod_timer, reset_timer};
pub(crate) use run::{check_timers, check_timers_nop, time_sleep_until};
pub use sleep::Timer;
pub(crate) use sleep::time_sleep;
pub(crate) use watch::{MTimerState, Site, Spin};

use std::panic::Location;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::chan::Chan;
use crate::panic::throw;
use crate::runtime2::*;

/// Which `modtimer` ordering the runtime uses (Builder `.timers(..)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Timers {
    /// Go 1.19: status set before `wake_net_poller` (355f53f) and no
    /// preemption while a timer is `Modifying` (e8be350).
    #[default]
    Go1_19,
    /// Go 1.14.1: `wake_net_poller` (a safepoint) between adding the timer
    /// to the heap and CASing it `Modifying -> Waiting`; no `acquirem`.
    Go1_14_1,
}

impl Timers {
    /// The sweep's name: `go1.19` or `go1.14.1`.
    pub fn name(self) -> &'static str {
        match self {
            Timers::Go1_19 => "go1.19",
            Timers::Go1_14_1 => "go1.14.1",
        }
    }

    /// Parses `go1.19` / `go1.14.1`.
    pub fn parse(s: &str) -> Option<Timers> {
        [Timers::Go1_19, Timers::Go1_14_1]
            .into_iter()
            .find(|t| t.name() == s)
    }
}

// Values for the timer status field (time.go).
pub(crate) const TIMER_NO_STATUS: u32 = 0;

pub(crate) const TIMER_WAITING: u32 = 1;

pub(crate) const TIMER_RUNNING: u32 = 2;

pub(crate) const TIMER_DELETED: u32 = 3;

pub(crate) const TIMER_REMOVING: u32 = 4;

pub(crate) const TIMER_REMOVED: u32 = 5;

pub(crate) const TIMER_MODIFYING: u32 = 6;

pub(crate) const TIMER_MODIFIED_EARLIER: u32 = 7;

pub(crate) const TIMER_MODIFIED_LATER: u32 = 8;

pub(crate) const TIMER_MOVING: u32 = 9;

/// Go's names of the status values.
pub(crate) fn status_name(s: u32) -> &'static str {
    match s {
        TIMER_NO_STATUS => "NoStatus",
        TIMER_WAITING => "Waiting",
        TIMER_RUNNING => "Running",
        TIMER_DELETED => "Deleted",
        TIMER_REMOVING => "Removing",
        TIMER_REMOVED => "Removed",
        TIMER_MODIFYING => "Modifying",
        TIMER_MODIFIED_EARLIER => "ModifiedEarlier",
        TIMER_MODIFIED_LATER => "ModifiedLater",
        TIMER_MOVING => "Moving",
        _ => "?",
    }
}

/// Go's `maxWhen`.
const MAX_WHEN: i64 = i64::MAX;

/// What a timer does when it fires (Go's `f` + `arg`).
pub(crate) enum TimerFn {
    /// `goroutineReady`: the sleep timer of a G (`gp.timer`).
    GoroutineReady(AtomicPtr<G>),
    /// `sendTime`: a non-blocking send of the time on the timer's channel.
    SendTime(Chan<Instant>),
    /// `netpollReadDeadline`, `netpollWriteDeadline` or `netpollDeadline`
    /// on a pollDesc: the timers `pd.rt` and `pd.wt` (netpoll.rs). Which of
    /// the three, and the pollDesc, are the arg (`modtimer` may change the
    /// function; the timer's `seq` goes with it).
    NetpollDeadline(crate::netpoll::DeadlineArg),
}

/// Go's `timer` (time.go).
pub(crate) struct RTimer {
    pp: AtomicPtr<P>,
    pub(crate) when: AtomicI64,
    period: AtomicI64,
    nextwhen: AtomicI64,
    pub(crate) status: AtomicU32,
    f: TimerFn,
    /// Go's `seq`: passed to `f` (the pollDesc sequence number of a
    /// deadline timer; 0 for the others).
    seq: AtomicU64,
    // Diagnosis (model-only): who last set the timer Modifying, from where,
    // and where it was preempted while it was Modifying.
    pub(crate) modifier: AtomicPtr<G>,
    pub(crate) modifier_goid: AtomicU64,
    pub(crate) modifier_m: AtomicI64,
    modifier_site: AtomicU8,
    modifier_loc: AtomicPtr<Location<'static>>,
    preempted_at: AtomicU8,
    pub(crate) fires: AtomicU64,
}

impl RTimer {
    pub(crate) fn new(f: TimerFn) -> RTimer {
        RTimer {
            pp: AtomicPtr::new(std::ptr::null_mut()),
            when: AtomicI64::new(0),
            period: AtomicI64::new(0),
            nextwhen: AtomicI64::new(0),
            status: AtomicU32::new(TIMER_NO_STATUS),
            f,
            seq: AtomicU64::new(0),
            modifier: AtomicPtr::new(std::ptr::null_mut()),
            modifier_goid: AtomicU64::new(0),
            modifier_m: AtomicI64::new(-1),
            modifier_site: AtomicU8::new(0),
            modifier_loc: AtomicPtr::new(std::ptr::null_mut()),
            preempted_at: AtomicU8::new(0),
            fires: AtomicU64::new(0),
        }
    }

    fn cas(&self, old: u32, new: u32) -> bool {
        self.status
            .compare_exchange(old, new, AcqRel, Acquire)
            .is_ok()
    }

    /// Sets a deadline timer's `f`, `arg` and `seq` (Go: `t.f = f; t.arg =
    /// arg; t.seq = seq`): by `modtimer` while the timer is Modifying, or by
    /// `poll_set_deadline` before the first `resettimer` (the timer is in
    /// no heap, or Deleted, and so does not run).
    pub(crate) fn set_deadline_fn(&self, call: crate::netpoll::DeadlineCall) {
        match &self.f {
            TimerFn::NetpollDeadline(arg) => arg.set(call.f, call.pd),
            _ => throw("modtimer: a deadline function for a non-deadline timer"),
        }
        self.seq.store(call.seq, Release);
    }
}

/// Models `runtime.badTimer` (time.go): a timer in a status it cannot
/// have here means the state machine is broken; a fatal error, as in Go.
fn bad_timer() -> ! {
    throw("timer data corruption")
}

/// The sleep timer of a G (Go: `gp.timer`), created by its first sleep.
#[derive(Default)]
pub(crate) struct GTimer(OnceLock<Arc<RTimer>>);
