//! Stop-the-world: Go 1.19's `stopTheWorld` / `stopTheWorldWithSema` /
//! `startTheWorldWithSema` / `gcstopm` (proc.go), and `gmp::gc()`, the
//! model of `runtime.GC()` as far as the scheduler sees it.
//!
//! # The protocol
//!
//! A goroutine that wants the world stopped takes `worldsema` (a
//! semaphore: one stopper at a time), marks itself waiting, then under
//! `sched.lock` sets `sched.stopwait = gomaxprocs` and `sched.gcwaiting`,
//! asks every running P's goroutine to stop (`preempt_all` ->
//! `preemptone`: `gp.preempt`, honored at its next safepoint), puts its own
//! P in `_Pgcstop`, takes every P in `_Psyscall` (CAS to `_Pgcstop`) and
//! every idle P, decrementing `stopwait` for each. Each P still running
//! stops itself: its M reaches `find_runnable`'s top (after a preemption, a
//! park or a goroutine exit), sees `gcwaiting` and calls [`gcstopm`]
//! (`_Pgcstop`, `stopwait--`, the last one wakes `sched.stopnote`, the M
//! parks in `stopm`). Ps that change hands meanwhile stop on the way:
//! `handoffp` and `entersyscall` check `gcwaiting` too. The stopper waits
//! on `stopnote` in 100 us rounds, re-running `preempt_all` after each
//! timeout "in case of any races".
//!
//! `start_the_world` is `procresize` without a size change: the stopper's
//! P runs again, every other P goes idle (or, with a non-empty run queue,
//! to an M), `gcwaiting` is cleared, sysmon is woken if it sleeps, and
//! `wakep` starts a spinning M for the rest.
//!
//! # Where it cannot complete (seed 004)
//!
//! `preemptone` skips a P whose M has no current G: an M inside the
//! scheduler is expected to reach a `gcwaiting` check by itself. An M
//! spinning with `osyield` in `run_timer`/`adjust_timers` on a timer that
//! is `Modifying` never does (Go does not check `gcwaiting` there either),
//! so with the Go 1.14.1 timer ordering the wait loop below runs for ever.
//! The watchdog (watchdog.rs) reports it.
//!
//! # Invariants
//!
//! * `stopwait` (atomic, written under `sched.lock`) counts the Ps not yet
//!   in `_Pgcstop` while `gcwaiting` is set; `stopnote` is woken exactly
//!   when it reaches 0 after the stopper's own decrements.
//! * While the world is stopped, every P is `_Pgcstop`; the stopper's P
//!   keeps `p.m`/`m.p` (Go: "Pgcstop is only diagnostic"), the others have
//!   no M and are on no list.
//!
//! # What differs from Go
//!
//! * No real GC: `gc()` is two stops of 1 us each around a "mark" done
//!   by one mark worker, the caller (see [`gc`], [`gc_mark`]). No heap, no
//!   assists, no `forEachP`, no safe-point functions, no
//!   `freezetheworld`. The one worker's fractional goal is 25% of the
//!   mark's wall time, where Go's is 25% of GOMAXPROCS over all workers
//!   (and `findRunnableGCWorker`'s `tryWakeP` is not modelled).
//! * `start_the_world` does not poll the network (Go calls `netpoll(0)`
//!   there); Ms for runnable Ps come from `startm` after `sched.lock` is
//!   released instead of `mget` under it.
//! * `worldsema` parks waiters with `gopark` like Go's `semacquire`, but is
//!   a plain FIFO (no `semtable`, no handoff heuristics).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering::*};
use std::time::Duration;

use crate::note::Note;
use crate::panic::throw;
use crate::proc::{pidleget, pidleput};
use crate::runq::runqempty;
use crate::runtime2::*;
use crate::stubs::need_g;

/// Stop-the-world state of a runtime (fields of Go's `schedt`).
#[derive(Default)]
pub(crate) struct Stw {
    /// `sched.gcwaiting`.
    pub(crate) gcwaiting: AtomicU32,
    /// `sched.stopwait` (written under `sched.lock`).
    pub(crate) stopwait: AtomicI32,
    /// `sched.stopnote`.
    pub(crate) stopnote: Note,
    worldsema: Sema,
    /// When the stop under way began (nanotime), 0 if none (watchdog).
    pub(crate) started_ns: AtomicI64,
    /// goid of the stopper, and its reason (watchdog).
    pub(crate) by_goid: AtomicU64,
    pub(crate) reason: Mutex<&'static str>,
    /// The watchdog reported the stop under way.
    pub(crate) reported: AtomicBool,
    /// Completed stops.
    pub(crate) stops: AtomicU64,
    /// Longest stop latency seen, ns (from `gcwaiting` to world stopped).
    pub(crate) max_stop_ns: AtomicI64,
    /// When the watchdog last scanned the Ms for a timer spin (nanotime).
    pub(crate) last_scan_ns: AtomicI64,
    /// The mark of the `gc()` cycle under way (see [`gc_mark`]).
    mark: Mutex<Mark>,
    /// Go's `gcBlackenEnabled`: a mark is under way. `findRunnable` reads
    /// it before it looks for the mark worker (under `mark`'s lock).
    blacken_enabled: AtomicBool,
}

/// The state of a `gc()` mark (Go: `gcBlackenEnabled`, the mark worker
/// pool, `gcController`'s fractional accounting).
#[derive(Default)]
struct Mark {
    /// Mark work not yet done, ns; above 0 only during a mark.
    work_left: i64,
    /// The mark worker, parked until a P picks it (Go's
    /// `gcBgMarkWorkerPool`, here of one).
    worker: Option<GRef>,
    /// When the mark began, and the worker's run time since (Go:
    /// `gcController.markStartTime`, `p.gcFractionalMarkTime`).
    start_ns: i64,
    worker_ns: i64,
}

impl Stw {
    /// Go's `gcBlackenEnabled != 0`.
    #[inline]
    pub(crate) fn blacken_enabled(&self) -> bool {
        self.blacken_enabled.load(Acquire)
    }

    /// The mark state, locked.
    fn mark(&self) -> std::sync::MutexGuard<'_, Mark> {
        self.mark.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A goroutine semaphore with one unit (Go's `semacquire`/`semrelease` on
/// `worldsema`).
#[derive(Default)]
struct Sema {
    state: Mutex<(bool, VecDeque<GRef>)>,
}

impl Sema {
    /// Models `runtime.semacquire`: parks until the unit is handed over.
    fn acquire(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !s.0 {
            s.0 = true;
            return;
        }
        crate::proc::gopark(WaitReason::Semacquire, move |g| {
            s.1.push_back(g);
            drop(s);
            true
        });
        // Woken by release: the unit was handed to us.
    }

    /// Models `runtime.semrelease1(.., handoff=true)`: the unit goes to the
    /// first waiter, if any.
    fn release(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match s.1.pop_front() {
            Some(g) => {
                drop(s);
                crate::proc::goready(g);
            }
            None => s.0 = false,
        }
    }
}

/// Models `runtime.stopTheWorld` (proc.go): stops every P but the caller's.
/// Returns when the world is stopped (or never: seed 004).
pub(crate) fn stop_the_world(reason: &'static str) {
    crate::proc::safepoint();
    let (_, gp) = need_g("stop_the_world");
    gp.sched.stw.worldsema.acquire();
    let (m, gp) = need_g("stop_the_world");
    *m.sched.stw.reason.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    // Go marks the stopper waiting while it stops the world (so a mark
    // worker may scan its stack).
    gp.waitreason.store(WaitReason::Zero as u8, Relaxed);
    gp.casgstatus(G_RUNNING, G_WAITING);
    stop_the_world_with_sema(m, gp);
    gp.casgstatus(G_WAITING, G_RUNNING);
}

/// Models `runtime.startTheWorld` (proc.go).
pub(crate) fn start_the_world() {
    let (m, _) = need_g("start_the_world");
    if m.sched.stw.gcwaiting.load(Acquire) == 0 {
        throw("start_the_world: the world is not stopped");
    }
    start_the_world_with_sema(m);
    m.sched.stw.worldsema.release();
}

/// Models `runtime.preemptall` (proc.go): `preemptone` on every running P.
pub(crate) fn preempt_all(sched: &Sched) -> bool {
    let mut res = false;
    for pp in sched.allp {
        if pp.status.load(Acquire) != P_RUNNING {
            continue;
        }
        if crate::sysmon::preemptone(sched, pp) {
            res = true;
        }
    }
    res
}

/// Models `runtime.stopTheWorldWithSema` (proc.go).
fn stop_the_world_with_sema(m: &'static M, gp: &'static G) {
    let sched = m.sched;
    let stw = &sched.stw;
    // If we hold a lock, then we won't be able to stop another M that is
    // blocked trying to acquire the lock.
    if m.locks.load(Relaxed) > 0 {
        throw("stopTheWorld: holding locks");
    }
    let Some(mypp) = load(&m.p) else {
        throw("stopTheWorld: no p")
    };
    let t0 = sched.nanotime();
    let wait = {
        let mut l = sched.lock();
        stw.stopwait.store(sched.gomaxprocs() as i32, Release);
        stw.by_goid.store(gp.goid.load(Relaxed), Relaxed);
        stw.reported.store(false, Relaxed);
        stw.started_ns.store(t0, Release);
        stw.gcwaiting.store(1, Release);
        preempt_all(sched);
        // stop current P
        mypp.status.store(P_GCSTOP, Release); // Pgcstop is only diagnostic.
        stw.stopwait.fetch_sub(1, AcqRel);
        // try to retake all P's in Psyscall status
        for pp in sched.allp {
            let s = pp.status.load(Acquire);
            if s == P_SYSCALL
                && pp
                    .status
                    .compare_exchange(s, P_GCSTOP, AcqRel, Acquire)
                    .is_ok()
            {
                pp.syscalltick_inc();
                stw.stopwait.fetch_sub(1, AcqRel);
            }
        }
        // stop idle P's
        while let Some(pp) = pidleget(sched, &mut l) {
            pp.status.store(P_GCSTOP, Release);
            stw.stopwait.fetch_sub(1, AcqRel);
        }
        stw.stopwait.load(Acquire) > 0
    };
    // wait for remaining P's to stop voluntarily
    if wait {
        loop {
            // wait for 100us, then try to re-preempt in case of any races
            if stw.stopnote.tsleep(Duration::from_micros(100)) {
                stw.stopnote.clear();
                break;
            }
            preempt_all(sched);
            if !sched.cfg.sysmon {
                // No sysmon thread: the stopper is the watchdog.
                crate::watchdog::check(sched, sched.nanotime());
            }
        }
    }
    // sanity checks
    if stw.stopwait.load(Acquire) != 0 {
        throw("stopTheWorld: not stopped (stopwait != 0)");
    }
    for pp in sched.allp {
        if pp.status.load(Acquire) != P_GCSTOP {
            throw("stopTheWorld: not stopped (status != _Pgcstop)");
        }
    }
    let took = sched.nanotime() - t0;
    stw.max_stop_ns.fetch_max(took, Relaxed);
    stw.stops.fetch_add(1, Relaxed);
    stw.started_ns.store(0, Release);
}

/// Models `runtime.startTheWorldWithSema` (proc.go) with `procresize` at
/// the same size.
fn start_the_world_with_sema(m: &'static M) {
    let sched = m.sched;
    let Some(mypp) = load(&m.p) else {
        throw("startTheWorld: no p")
    };
    let mut runnable = Vec::new();
    {
        let mut l = sched.lock();
        // procresize: the current P runs on; the others go idle, or to an M
        // if they have work.
        mypp.status.store(P_RUNNING, Release);
        for pp in sched.allp.iter().rev() {
            if std::ptr::eq(pp, mypp) {
                continue;
            }
            if pp.status.load(Acquire) != P_GCSTOP {
                throw("startTheWorld: P not stopped");
            }
            pp.status.store(P_IDLE, Release);
            if runqempty(pp) {
                pidleput(sched, &mut l, pp);
            } else {
                runnable.push(pp);
            }
        }
        sched.stw.gcwaiting.store(0, Release);
        if sched.sysmonwait.load(Acquire) != 0 {
            sched.sysmonwait.store(0, Release);
            sched.sysmonnote.wakeup();
        }
    }
    for pp in runnable {
        // Start M to run P.
        crate::proc::startm(sched, Some(pp), false, || {
            format!("startTheWorld: P{} has runnable goroutines", pp.id)
        });
    }
    // Wakeup an additional proc in case we have excessive runnable
    // goroutines in local queues or in the global queue.
    crate::proc::wakep(sched);
}

/// Models `runtime.gcstopm` (proc.go): this M's P stops for the world stop
/// and the M parks. Returns false if the M must leave the scheduler.
pub(crate) fn gcstopm(m: &'static M) -> bool {
    let sched = m.sched;
    if sched.stw.gcwaiting.load(Acquire) == 0 {
        throw("gcstopm: not waiting for gc");
    }
    if m.spinning.swap(false, AcqRel) {
        // OK to just drop nmspinning here, startTheWorld will unpark
        // threads as necessary.
        if sched.nmspinning.fetch_sub(1, AcqRel) == 0 {
            throw("gcstopm: negative nmspinning");
        }
    }
    let pp = crate::proc::releasep(m);
    {
        let _l = sched.lock();
        p_gcstop(sched, pp);
    }
    crate::proc::stopm(m)
}

/// A P stops for the world stop (sched.lock held): `_Pgcstop`,
/// `stopwait--`, and the last one wakes the stopper.
pub(crate) fn p_gcstop(sched: &Sched, pp: &P) {
    pp.status.store(P_GCSTOP, Release);
    if sched.stw.stopwait.fetch_sub(1, AcqRel) == 1 {
        sched.stw.stopnote.wakeup();
    }
}

/// Models `runtime.entersyscall_gcwait` (proc.go): a P that entered a
/// syscall while the world is stopping stops at once.
pub(crate) fn entersyscall_gcwait(sched: &Sched, pp: &P) {
    let _l = sched.lock();
    if sched.stw.stopwait.load(Acquire) > 0
        && pp
            .status
            .compare_exchange(P_SYSCALL, P_GCSTOP, AcqRel, Acquire)
            .is_ok()
    {
        pp.syscalltick_inc();
        if sched.stw.stopwait.fetch_sub(1, AcqRel) == 1 {
            sched.stw.stopnote.wakeup();
        }
    }
}

/// `gmp::gc()`: one garbage-collection cycle as the scheduler sees it, the
/// model of Go 1.19's `runtime.GC()` (mgc.go):
///
/// 1. `gcStart`: `stopTheWorldWithSema("GC sweep termination")`, a short
///    pause, `startTheWorldWithSema`.
/// 2. The concurrent mark ([`gc_mark`]).
/// 3. `gcMarkDone`: `stopTheWorldWithSema("GC mark termination")`, a
///    short pause, `startTheWorldWithSema`.
/// 4. The sweep: `runtime.GC` calls `Gosched` between `sweepone` calls;
///    on the model's empty heap, once.
///
/// Two stops per cycle, as in Go. The first version of this model was one
/// stop and no yield: the caller never left its P, so a `gc()` loop made
/// ~15,000 stops/s at procs 2 against Go's ~2,500 cycles/s (seed 004's
/// load with 8 timer goroutines), and its timer goroutines fired 10,000
/// times/s against Go's 600,000.
pub(crate) fn gc() {
    stop_the_world("GC sweep termination");
    stw_pause();
    start_the_world();
    gc_mark();
    stop_the_world("GC mark termination");
    stw_pause();
    start_the_world();
    crate::proc::gosched();
}

/// The model's concurrent mark: [`MARK_WORK_NS`] of work done by one mark
/// worker in [`MARK_SLICE_NS`] slices.
///
/// In Go the caller parks in `gcWaitOnMark` while background mark workers
/// (`gcBgMarkWorker`, one per P) mark, and the worker that finds no more
/// work runs mark termination. A P runs a worker ahead of its run queues
/// when `findRunnableGCWorker` says so (a dedicated worker, or a
/// fractional one under its utilization goal, 25% of GOMAXPROCS in all),
/// and when it has nothing else to run (`findRunnable`'s idle-time
/// marking). The model has one worker and it is the caller: it parks as
/// the worker; a P that picks it ([`find_mark_worker`]) runs it for one
/// slice, and it parks again until the work is done. So, as in Go, the
/// Ps do not run their run queues' goroutines between the two stops while
/// the worker has work and a P for it; an idle P marks rather than
/// sleeps.
fn gc_mark() {
    let (m, _) = need_g("gc");
    let sched = m.sched;
    {
        let mut mk = sched.stw.mark();
        mk.work_left = MARK_WORK_NS;
        mk.start_ns = sched.nanotime();
        mk.worker_ns = 0;
        sched.stw.blacken_enabled.store(true, Release);
    }
    loop {
        crate::proc::gopark(WaitReason::GcWorkerIdle, |g| {
            let mut mk = sched.stw.mark();
            mk.worker = Some(g);
            true
        });
        let slice = {
            let mk = sched.stw.mark();
            mk.work_left.min(MARK_SLICE_NS)
        };
        spin_ns(sched, slice);
        let mut mk = sched.stw.mark();
        mk.work_left -= slice;
        mk.worker_ns += slice;
        if mk.work_left <= 0 {
            sched.stw.blacken_enabled.store(false, Release);
            return;
        }
    }
}

/// Models `gcController.findRunnableGCWorker` (mgcpacer.go) and
/// `findRunnable`'s idle-time marking: the mark worker, if it is parked
/// and has work, and either `idle` (the P has nothing else to run) or the
/// worker is under its utilization goal ([`MARK_UTILIZATION`] of the
/// mark's elapsed time, Go's fractional goal). Taken off its park and
/// made runnable.
pub(crate) fn find_mark_worker(sched: &Sched, now: i64, idle: bool) -> Option<&'static G> {
    let mut mk = sched.stw.mark();
    if mk.work_left <= 0 || mk.worker.is_none() {
        return None;
    }
    let elapsed = now - mk.start_ns;
    if !idle && elapsed > 0 && mk.worker_ns as f64 > MARK_UTILIZATION * elapsed as f64 {
        return None;
    }
    let g = mk.worker.take()?.0;
    drop(mk);
    g.casgstatus(G_WAITING, G_RUNNABLE);
    Some(g)
}

/// The work a stop does with the world stopped (Go: `finishsweep_m`,
/// `gcMarkTermination`'s bookkeeping).
fn stw_pause() {
    let (m, _) = need_g("gc");
    spin_ns(m.sched, STW_PAUSE_NS);
}

fn spin_ns(sched: &Sched, ns: i64) {
    let t0 = sched.nanotime();
    while sched.nanotime() - t0 < ns {
        std::hint::spin_loop();
    }
}

/// The work of one stop with the world stopped.
const STW_PAUSE_NS: i64 = 1_000;
/// The mark work of one cycle on the model's (empty) heap.
const MARK_WORK_NS: i64 = 100_000;
/// The mark work the worker does each time a P picks it.
const MARK_SLICE_NS: i64 = 10_000;
/// The worker's utilization goal (Go's `gcBackgroundUtilization`).
const MARK_UTILIZATION: f64 = 0.25;
