//! The scheduler proper, after Go 1.19's runtime/proc.go: names and order
//! of checks are Go's, and each function that models a Go function says
//! which one. One concern per file, along proc.go's own sections (the way
//! tokio splits its multi-thread scheduler into worker, park, idle, queue):
//!
//! | file           | what                                                               |
//! |----------------|--------------------------------------------------------------------|
//! | `m.rs`         | M life cycle and thread creation: mstart, mexit, newm, templateThread |
//! | `idle.rs`      | idle Ms and Ps, spinning: stopm, startm, handoffp, wakep, acquirep  |
//! | `schedule.rs`  | the g0 loop, schedule, findRunnable, stealWork, execute            |
//! | `goroutine.rs` | newproc, the free lists, mcall, gopark, goready, gosched, goexit0  |
//!
//! The run queues are runq.rs, syscalls syscall.rs, sysmon sysmon.rs, the
//! stop-the-world stw.rs; `throw` is in panic.rs and `getg` in stubs.rs.
//!
//! # How a goroutine switch maps to Go's
//!
//! Go switches from a goroutine to its M's g0 stack with `mcall(fn)`, and fn
//! (`park_m`, `gosched_m`, `goexit0`, `exitsyscall0`) then calls `schedule`,
//! which never returns. In gmp a goroutine is a coroutine resumed by its M's
//! loop ([`m_loop`]) on the thread's native stack (the g0 stack): the
//! goroutine suspends with a [`Switch`] naming the `mcall` function, the loop
//! runs that function, and what Go does by tail-calling `schedule` or
//! `execute` is the [`Next`] value the function returns to the loop.
//!
//! # Who owns what
//!
//! * A P is owned by the M whose `m.p` points at it (status `_Prunning`), by
//!   a syscall (status `_Psyscall`, reclaimable by a CAS from sysmon or the
//!   returning M), by `sched.pidle`, or in transit in `m.nextp`.
//! * A G is owned by the M running it, by one run queue, by whoever will
//!   `goready` it (after `gopark`'s commit stored it somewhere), or by the
//!   gFree lists when dead.
//! * An M is owned by its thread; an idle one is on `sched.midle`, parked
//!   in `stopm` until `startm` hands it a P through `m.nextp` (spinning:
//!   idle.rs).
//!
//! # What differs from Go
//!
//! * No real GC: `gmp::gc()` (stw.rs) is two stops of the world around a
//!   mark done by one mark worker, so `schedule` checks `gcwaiting` (and
//!   stops its P in `gcstopm`) and `find_runnable` looks for the mark
//!   worker where Go does; there are no safe-point functions
//!   (`sched.safePointFn`) and no assists.
//! * A goroutine stops only at a safepoint: every runtime call and
//!   [`crate::safepoint`] (Go's prologue check), or, after sysmon's SIGURG
//!   (`preemptone`, sysmon.rs), at the next [`crate::async_safe_point`] of a
//!   loop without calls, where Go's signal handler would inject
//!   `asyncPreempt`; never at an arbitrary instruction.
//! * m0 is the thread that called `block_on`. When the main goroutine
//!   returns, Go exits the process; gmp asks m0 to leave the scheduler (at its
//!   next scheduling point) and returns from `block_on`; the other Ms stay.
//! * `checkdead` (deadlock detection) is not modeled.

mod goroutine;
mod idle;
mod m;
mod schedule;

pub(crate) use goroutine::{
    gopark, goready, gosched, gosched_on, mcall, newproc, newproc1, safepoint, safepoint_getm,
    safepoint_on,
};
pub(crate) use idle::{
    acquirep, handoffp, incidlelocked, pidleget, pidleput, releasep, startm, stopm,
    stopm_then_schedule, wake_net_poller, wakep,
};
pub(crate) use m::{allocm, m_reserve_id, newm, start_template_thread};
pub(crate) use schedule::{inject_glist, m_loop};

use crate::runtime2::*;

/// What the M loop does next: Go's tail calls from g0 functions.
pub(crate) enum Next {
    /// `execute(gp, inheritTime)`.
    Run(&'static G, bool),
    /// `schedule()`.
    Schedule,
    /// Leave the loop: the thread exits (`mexit`) or m0 returns from block_on.
    Exit,
}

/// The cause of a thread creation, threaded from the decision (wakep,
/// retake, ...) to `newm`, for `thread_create_profile`.
pub(crate) type Cause = String;
