//! The scheduler proper: goroutine creation and exit, the M loop
//! (`schedule` -> `findRunnable` -> `execute`), parking and readying, M and
//! P hand-offs, spinning, `wakep`/`startm`/`handoffp`, thread creation.
//! Names and order of checks follow Go 1.19's runtime/proc.go; each function
//! that models a Go function says which one.
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
//! * Spinning: `nmspinning` counts spinning Ms. Whoever makes work available
//!   calls `wakep`, which starts a spinning M only if none spins and a P is
//!   idle; a spinning M that finds work calls `resetspinning` -> `wakep`,
//!   which is how Go (and gmp) starts "one M per new burst of work".
//!
//! # What differs from Go
//!
//! * No GC: no STW, no `gcwaiting`, no safe-point functions, no GC workers.
//!   (STW comes with the timer issue.)
//! * Preemption is cooperative at safepoints (every runtime call and
//!   [`crate::safepoint`]); `preemptone` still sends SIGURG (see sysmon.rs).
//! * m0 is the thread that called `block_on`. When the main goroutine
//!   returns, Go exits the process; gmp asks m0 to leave the scheduler (at its
//!   next scheduling point) and returns from `block_on`; the other Ms stay.
//! * `checkdead` (deadlock detection) is not modeled.

use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicPtr, Ordering::*};

use corosensei::{Coroutine, CoroutineResult};

use crate::panic::{fatal, panic_message, throw};
use crate::runq::{globrunqget, globrunqput, runqempty, runqget, runqput, runqsteal};
use crate::runtime2::*;
use crate::stack::GStack;
use crate::stubs::{cur_sched, fastrand, getm, gettid, need_g, setm};

/// What the M loop does next: Go's tail calls from g0 functions.
pub(crate) enum Next {
    /// `execute(gp, inheritTime)`.
    Run(&'static G, bool),
    /// `schedule()`.
    Schedule,
    /// Leave the loop: the thread exits (`mexit`) or m0 returns from block_on.
    Exit,
}

// ---------------------------------------------------------------------------
// M start, loop and exit

/// The cause of a thread creation, threaded from the decision (wakep,
/// retake, ...) to `newm`, for `thread_create_profile`.
pub(crate) type Cause = String;

/// Models `runtime.mstart1` (proc.go) for a new worker M, then runs the
/// scheduler until the M exits.
fn mstart(m: &'static M) {
    setm(Some(m));
    m.tid.store(gettid(), Release);
    match m.kind {
        MKind::Sysmon => crate::sysmon::sysmon(m),
        MKind::Template => template_thread(m),
        MKind::Worker => {
            if m.start_spinning.swap(false, AcqRel) {
                // Go: mstartfn = mspinning.
                m.spinning.store(true, Release);
            }
            let pp = take(&m.nextp);
            match pp {
                Some(pp) => acquirep(m, pp),
                None => throw("mstart: M has no P"),
            }
            m_loop(m);
            mexit(m);
        }
    }
    setm(None);
}

/// The g0 loop: `schedule` -> `execute` -> (goroutine switches back) -> the
/// `mcall` function -> `schedule` ...
pub(crate) fn m_loop(m: &'static M) {
    let mut next = schedule(m);
    loop {
        next = match next {
            Next::Run(gp, inherit) => execute(m, gp, inherit),
            Next::Schedule => schedule(m),
            Next::Exit => return,
        };
    }
}

/// Models `runtime.mexit` (proc.go) for a thread that is not m0: releases
/// the P and lets the OS thread end. (m0's "wedge" is in `Runtime::block_on`.)
fn mexit(m: &'static M) {
    let sched = m.sched;
    {
        let mut all = sched.allm.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|x| !std::ptr::eq(*x, m));
    }
    m.exited.store(true, Release);
    sched.counters.threads_exited.fetch_add(1, Relaxed);
    if load(&m.p).is_some() {
        let pp = releasep(m);
        handoffp(pp, || {
            format!("mexit: M{} exiting (locked goroutine exited)", m.id)
        });
    }
    let mut l = sched.lock();
    l.nmfreed += 1;
}

/// Whether this M has been asked to leave the scheduler (m0 after main
/// returned, or every M at runtime shutdown).
fn should_leave(m: &M) -> bool {
    m.exit_req.load(Acquire) || m.sched.shutdown.load(Acquire)
}

/// Asks m0 to leave the scheduler: the main goroutine has returned.
fn request_m0_leave(sched: &'static Sched) {
    let Some(m0) = load(&sched.m0) else { return };
    m0.exit_req.store(true, Release);
    {
        let mut l = sched.lock();
        if let Some(i) = l.midle.iter().position(|x| std::ptr::eq(*x, m0)) {
            l.midle.remove(i);
            sched.nmidle.fetch_sub(1, Relaxed);
            drop(l);
            m0.park.wakeup();
            return;
        }
    }
    if m0.polling.load(Acquire) {
        sched.netpoll.netpoll_break();
    }
    if let Some(g) = load(&m0.curg) {
        g.preempt.store(true, Release);
    }
    crate::runtime_wake_wedged_m0(m0);
}

// ---------------------------------------------------------------------------
// Thread creation

/// Models `runtime.mReserveID` + `checkmcount` (proc.go). sched.lock held.
pub(crate) fn m_reserve_id(sched: &Sched, l: &mut SchedLocked) -> i64 {
    let id = l.mnext;
    l.mnext += 1;
    checkmcount(sched, l);
    id
}

/// Models `runtime.checkmcount` (proc.go): the thread limit is a fatal
/// error, never a hang.
fn checkmcount(sched: &Sched, l: &SchedLocked) {
    let count = l.mnext - l.nmfreed;
    if count > sched.cfg.max_threads {
        fatal(&format!(
            "runtime: program exceeds {}-thread limit\nfatal error: thread exhaustion",
            sched.cfg.max_threads
        ));
    }
}

/// Models `runtime.allocm` (proc.go).
pub(crate) fn allocm(sched: &'static Sched, kind: MKind, id: i64, is_m0: bool) -> &'static M {
    let m: &'static M = Box::leak(Box::new(M {
        id,
        kind,
        is_m0,
        sched,
        p: AtomicPtr::new(std::ptr::null_mut()),
        nextp: AtomicPtr::new(std::ptr::null_mut()),
        oldp: AtomicPtr::new(std::ptr::null_mut()),
        curg: AtomicPtr::new(std::ptr::null_mut()),
        lockedg: AtomicPtr::new(std::ptr::null_mut()),
        locked_ext: Default::default(),
        locked_int: Default::default(),
        spinning: Default::default(),
        start_spinning: Default::default(),
        incgo: Default::default(),
        syscalltick: Default::default(),
        park: crate::note::Note::new(),
        tid: Default::default(),
        signal_pending: Default::default(),
        exit_req: Default::default(),
        exited: Default::default(),
        polling: Default::default(),
        wedged: Default::default(),
        locks: Default::default(),
        tstate: Default::default(),
    }));
    sched.allm.lock().unwrap_or_else(|e| e.into_inner()).push(m);
    m
}

/// Models `runtime.newm` (proc.go): allocates an M and starts its thread,
/// through the template thread when the caller is a locked (or cgo) M.
pub(crate) fn newm(
    sched: &'static Sched,
    kind: MKind,
    pp: Option<&'static P>,
    spinning: bool,
    id: Option<i64>,
    cause: Cause,
) {
    let id = match id {
        Some(id) => id,
        None => {
            let mut l = sched.lock();
            m_reserve_id(sched, &mut l)
        }
    };
    let mp = allocm(sched, kind, id, false);
    store(&mp.nextp, pp);
    mp.start_spinning.store(spinning, Release);
    if let Some(cur) = getm()
        && (cur.locked_ext.load(Relaxed) != 0 || cur.incgo.load(Relaxed))
    {
        // Go: the kernel state of a locked thread may be strange; ask the
        // known-good template thread to clone a new thread instead.
        let mut h = sched.newm_handoff.lock().unwrap_or_else(|e| e.into_inner());
        if sched.have_template_thread.load(Acquire) == 0 {
            drop(h);
            throw("on a locked thread with no template thread");
        }
        h.list.push((
            mp,
            format!(
                "{cause} (created by the template thread for locked M{})",
                cur.id
            ),
        ));
        if h.waiting {
            h.waiting = false;
            sched.template_wake.wakeup();
        }
        return;
    }
    newm1(mp, cause);
}

/// Models `runtime.newm1` + `newosproc` (os_linux.go): clones the thread.
fn newm1(mp: &'static M, cause: Cause) {
    let sched = mp.sched;
    let name = match mp.kind {
        MKind::Sysmon => "gmp-sysmon".to_string(),
        MKind::Template => "gmp-template".to_string(),
        MKind::Worker => format!("gmp-m{}", mp.id),
    };
    sched
        .thread_creates
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(ThreadCreateRec {
            m_id: mp.id,
            at_ns: sched.nanotime(),
            cause,
        });
    sched.counters.threads_created.fetch_add(1, Relaxed);
    let r = std::thread::Builder::new()
        .name(name)
        .stack_size(M_STACK_SIZE)
        .spawn(move || mstart(mp));
    if let Err(e) = r {
        let have = sched.counters.threads_created.load(Relaxed);
        fatal(&format!(
            "runtime: failed to create new OS thread (have {have} already; {e})\n\
             runtime: may need to increase max user processes (ulimit -u)\n\
             fatal error: newosproc"
        ));
    }
}

/// Native stack of an M (Go: the g0 stack; cgo's pthreads get 8 MB, non-cgo
/// Ms 16 KiB). `ffi` calls run here, like cgo calls run on g0.
const M_STACK_SIZE: usize = 1 << 20;

/// Models `runtime.startTemplateThread` (proc.go).
pub(crate) fn start_template_thread(sched: &'static Sched) {
    if sched
        .have_template_thread
        .compare_exchange(0, 1, AcqRel, Acquire)
        .is_err()
    {
        return;
    }
    newm(
        sched,
        MKind::Template,
        None,
        false,
        None,
        "template thread (first LockOSThread)".to_string(),
    );
}

/// Models `runtime.templateThread` (proc.go): creates threads on behalf of
/// locked Ms.
fn template_thread(m: &'static M) {
    let sched = m.sched;
    sched.lock().nmsys += 1;
    loop {
        let mut h = sched.newm_handoff.lock().unwrap_or_else(|e| e.into_inner());
        while !h.list.is_empty() {
            let list = std::mem::take(&mut h.list);
            drop(h);
            for (mp, cause) in list {
                newm1(mp, cause);
            }
            h = sched.newm_handoff.lock().unwrap_or_else(|e| e.into_inner());
        }
        h.waiting = true;
        sched.template_wake.clear();
        drop(h);
        if sched.shutdown.load(Acquire) {
            return;
        }
        sched.template_wake.sleep();
    }
}

// ---------------------------------------------------------------------------
// Idle Ms and Ps

/// Models `runtime.mput` (proc.go). sched.lock held.
fn mput(sched: &Sched, l: &mut SchedLocked, m: &'static M) {
    l.midle.push(m);
    sched.nmidle.fetch_add(1, Relaxed);
}

/// Models `runtime.mget` (proc.go). sched.lock held.
fn mget(sched: &Sched, l: &mut SchedLocked) -> Option<&'static M> {
    let m = l.midle.pop();
    if m.is_some() {
        sched.nmidle.fetch_sub(1, Relaxed);
    }
    m
}

/// Models `runtime.pidleput` (proc.go). sched.lock held.
pub(crate) fn pidleput(sched: &Sched, l: &mut SchedLocked, pp: &'static P) {
    if !runqempty(pp) {
        throw("pidleput: P has non-empty run queue");
    }
    sched.idlep[pp.id].store(true, Release);
    l.pidle.push(pp);
    sched.npidle.fetch_add(1, AcqRel);
}

/// Models `runtime.pidleget` (proc.go). sched.lock held.
pub(crate) fn pidleget(sched: &Sched, l: &mut SchedLocked) -> Option<&'static P> {
    let pp = l.pidle.pop()?;
    sched.idlep[pp.id].store(false, Release);
    sched.npidle.fetch_sub(1, AcqRel);
    Some(pp)
}

/// Models `runtime.acquirep` + `wirep` (proc.go).
pub(crate) fn acquirep(m: &'static M, pp: &'static P) {
    if load(&m.p).is_some() {
        throw("wirep: already in go");
    }
    if load(&pp.m).is_some() || pp.status.load(Acquire) != P_IDLE {
        throw(&format!(
            "wirep: invalid p state: p{} status={} m={:?}",
            pp.id,
            pp.status.load(Relaxed),
            load(&pp.m).map(|m| m.id)
        ));
    }
    store(&m.p, Some(pp));
    store(&pp.m, Some(m));
    pp.status.store(P_RUNNING, Release);
}

/// Models `runtime.releasep` (proc.go).
pub(crate) fn releasep(m: &'static M) -> &'static P {
    let Some(pp) = load(&m.p) else {
        throw("releasep: invalid arg")
    };
    if !load(&pp.m).is_some_and(|x| std::ptr::eq(x, m)) || pp.status.load(Acquire) != P_RUNNING {
        throw(&format!(
            "releasep: invalid p state: p{} status={}",
            pp.id,
            pp.status.load(Relaxed)
        ));
    }
    store(&m.p, None);
    store(&pp.m, None);
    pp.status.store(P_IDLE, Release);
    pp
}

/// Models `runtime.incidlelocked` (proc.go) (without `checkdead`).
pub(crate) fn incidlelocked(sched: &Sched, v: i32) {
    sched.lock().nmidlelocked += v;
}

/// Models `runtime.mPark` (proc.go).
fn m_park(m: &M) {
    m.park.sleep();
    m.park.clear();
}

/// Models `runtime.stopm` (proc.go): parks on the idle M list until some
/// `startm` hands this M a P. Returns false if the M was asked to leave
/// instead (m0 after main returned, or shutdown).
pub(crate) fn stopm(m: &'static M) -> bool {
    if load(&m.p).is_some() {
        throw("stopm holding p");
    }
    if m.spinning.load(Relaxed) {
        throw("stopm spinning");
    }
    let sched = m.sched;
    {
        let mut l = sched.lock();
        if should_leave(m) {
            return false;
        }
        mput(sched, &mut l, m);
    }
    m_park(m);
    match take(&m.nextp) {
        Some(pp) => {
            acquirep(m, pp);
            true
        }
        None if should_leave(m) => false,
        None => throw("stopm: woken without a P"),
    }
}

/// Models `runtime.startm` (proc.go): runs pp (or an idle P) on an idle M,
/// creating a thread only if no M is idle.
pub(crate) fn startm(
    sched: &'static Sched,
    pp: Option<&'static P>,
    spinning: bool,
    cause: impl FnOnce() -> Cause,
) {
    let mut l = sched.lock();
    let pp = match pp {
        Some(pp) => pp,
        None => match pidleget(sched, &mut l) {
            Some(pp) => pp,
            None => {
                drop(l);
                if spinning && sched.nmspinning.fetch_sub(1, AcqRel) == 0 {
                    throw("startm: negative nmspinning");
                }
                return;
            }
        },
    };
    if sched.shutdown.load(Acquire) {
        // Model-only: a runtime being dropped starts no thread; its
        // remaining runnable goroutines never run again.
        sched.idlep[pp.id].store(true, Release);
        l.pidle.push(pp);
        sched.npidle.fetch_add(1, AcqRel);
        if spinning {
            sched.nmspinning.fetch_sub(1, AcqRel);
        }
        return;
    }
    match mget(sched, &mut l) {
        None => {
            let id = m_reserve_id(sched, &mut l);
            drop(l);
            newm(sched, MKind::Worker, Some(pp), spinning, Some(id), cause());
        }
        Some(nmp) => {
            drop(l);
            if nmp.spinning.load(Relaxed) {
                throw("startm: m is spinning");
            }
            if load(&nmp.nextp).is_some() {
                throw("startm: m has p");
            }
            if spinning && !runqempty(pp) {
                throw("startm: p has runnable gs");
            }
            nmp.spinning.store(spinning, Release);
            store(&nmp.nextp, Some(pp));
            nmp.park.wakeup();
        }
    }
}

/// Models `runtime.handoffp` (proc.go): hands off a P from a syscall or a
/// locked M; starts an M in every case where `findRunnable` would find work.
pub(crate) fn handoffp(pp: &'static P, cause: impl FnOnce() -> Cause) {
    let sched = cur_sched_of_p(pp);
    sched.counters.handoffs.fetch_add(1, Relaxed);
    // if it has local work, start it straight away
    if !runqempty(pp) || sched.runqsize.load(Acquire) != 0 {
        startm(sched, Some(pp), false, cause);
        return;
    }
    // no local work, check that there are no spinning/idle M's,
    // otherwise our help is not required
    if sched.nmspinning.load(Acquire) + sched.npidle.load(Acquire) == 0
        && sched
            .nmspinning
            .compare_exchange(0, 1, AcqRel, Acquire)
            .is_ok()
    {
        startm(sched, Some(pp), true, cause);
        return;
    }
    let mut l = sched.lock();
    if sched.stw.gcwaiting.load(Acquire) != 0 {
        crate::stw::p_gcstop(sched, pp);
        return;
    }
    if sched.runqsize.load(Acquire) != 0 {
        drop(l);
        startm(sched, Some(pp), false, cause);
        return;
    }
    // If this is the last running P and nobody is polling network,
    // need to wakeup another M to poll network.
    if sched.npidle.load(Acquire) == sched.gomaxprocs() - 1 && sched.lastpoll.load(Acquire) != 0 {
        drop(l);
        startm(sched, Some(pp), false, cause);
        return;
    }
    let when = crate::timer::wake_time(pp);
    pidleput(sched, &mut l, pp);
    drop(l);
    if when != 0 {
        wake_net_poller(sched, when);
    }
}

fn cur_sched_of_p(_pp: &P) -> &'static Sched {
    cur_sched()
}

/// Models `runtime.wakep` (proc.go): tries to add one more P to execute Gs.
pub(crate) fn wakep(sched: &'static Sched) {
    if sched.npidle.load(Acquire) == 0 {
        return;
    }
    // be conservative about spinning threads
    if sched.nmspinning.load(Acquire) != 0
        || sched
            .nmspinning
            .compare_exchange(0, 1, AcqRel, Acquire)
            .is_err()
    {
        return;
    }
    startm(sched, None, true, || "wakep for new work".to_string());
}

/// Models `runtime.wakeNetPoller` (proc.go).
pub(crate) fn wake_net_poller(sched: &'static Sched, when: i64) {
    if sched.lastpoll.load(Acquire) == 0 {
        let poller_until = sched.poll_until.load(Acquire);
        if poller_until == 0 || poller_until > when {
            sched.netpoll.netpoll_break();
        }
    } else {
        wakep(sched);
    }
}

/// Models `runtime.resetspinning` (proc.go).
fn resetspinning(m: &'static M) {
    if !m.spinning.swap(false, AcqRel) {
        throw("resetspinning: not a spinning m");
    }
    if m.sched.nmspinning.fetch_sub(1, AcqRel) == 0 {
        throw("findrunnable: negative nmspinning");
    }
    wakep(m.sched);
}

/// Models `runtime.stoplockedm` (proc.go): the M is locked to a G that is not
/// runnable; give the P away and sleep until `startlockedm` hands one back.
/// Returns false if asked to leave (shutdown).
fn stoplockedm(m: &'static M) -> bool {
    let Some(lg) = load(&m.lockedg) else {
        throw("stoplockedm: inconsistent locking")
    };
    if !load(&lg.lockedm).is_some_and(|x| std::ptr::eq(x, m)) {
        throw("stoplockedm: inconsistent locking");
    }
    let sched = m.sched;
    if load(&m.p).is_some() {
        // Schedule another M to run this p.
        let pp = releasep(m);
        let startup = m.locked_int.load(Relaxed) != 0;
        handoffp(pp, || {
            if startup {
                format!(
                    "runtime.main start-up handoff: stoplockedm gave P{} away while locked G{} waits",
                    pp.id,
                    lg.goid.load(Relaxed)
                )
            } else {
                format!(
                    "stoplockedm: handoffp P{} while locked G{} waits",
                    pp.id,
                    lg.goid.load(Relaxed)
                )
            }
        });
    }
    incidlelocked(sched, 1);
    m_park(m);
    let Some(pp) = take(&m.nextp) else {
        if sched.shutdown.load(Acquire) {
            return false;
        }
        throw("stoplockedm: woken without a P")
    };
    if lg.readgstatus() != G_RUNNABLE {
        throw("stoplockedm: not runnable");
    }
    acquirep(m, pp);
    true
}

/// Models `runtime.startlockedm` (proc.go): hands our P to the M that gp is
/// locked to, then stops this M.
fn startlockedm(m: &'static M, gp: &'static G) -> bool {
    let Some(mp) = load(&gp.lockedm) else {
        throw("startlockedm: no locked m")
    };
    if std::ptr::eq(mp, m) {
        throw("startlockedm: locked to me");
    }
    if load(&mp.nextp).is_some() {
        throw("startlockedm: m has p");
    }
    incidlelocked(m.sched, -1);
    let pp = releasep(m);
    store(&mp.nextp, Some(pp));
    mp.park.wakeup();
    stopm(m)
}

// ---------------------------------------------------------------------------
// schedule / findRunnable / execute

/// Models `runtime.schedule` (proc.go): one round of scheduler.
fn schedule(m: &'static M) -> Next {
    if let Some(lg) = load(&m.lockedg) {
        if !stoplockedm(m) {
            return Next::Exit;
        }
        return Next::Run(lg, false);
    }
    if m.incgo.load(Relaxed) {
        throw("schedule: in cgo");
    }
    loop {
        let Some(pp) = load(&m.p) else {
            throw("schedule: no p")
        };
        pp.preempt.store(false, Relaxed);
        if m.spinning.load(Relaxed) && !runqempty(pp) {
            throw("schedule: spinning with local work");
        }
        let Some((gp, inherit)) = find_runnable(m) else {
            return Next::Exit;
        };
        if m.spinning.load(Relaxed) {
            resetspinning(m);
        }
        if load(&gp.lockedm).is_some() {
            // Hands off own p to the locked m, then blocks waiting for a new p.
            if !startlockedm(m, gp) {
                return Next::Exit;
            }
            continue;
        }
        return Next::Run(gp, inherit);
    }
}

/// Leaves the scheduler from find_runnable's top (holding a P).
fn leave_with_p(m: &'static M) {
    let sched = m.sched;
    if m.spinning.swap(false, AcqRel) {
        sched.nmspinning.fetch_sub(1, AcqRel);
    }
    let pp = releasep(m);
    handoffp(pp, || format!("handoffp: M{} left the scheduler", m.id));
}

/// Models `runtime.findRunnable` (proc.go): finds a runnable goroutine,
/// stealing, polling and finally parking the M. None: the M must leave.
fn find_runnable(m: &'static M) -> Option<(&'static G, bool)> {
    let sched = m.sched;
    'top: loop {
        if should_leave(m) {
            leave_with_p(m);
            return None;
        }
        let Some(pp) = load(&m.p) else {
            throw("findrunnable: no p")
        };
        if m.sched.stw.gcwaiting.load(Acquire) != 0 {
            if !crate::stw::gcstopm(m) {
                return None;
            }
            continue 'top;
        }
        let (now, mut poll_until, _) = crate::timer::check_timers(pp, 0);

        // Try to schedule a GC worker.
        if let Some(gp) = crate::stw::find_mark_worker(sched, now, false) {
            return Some((gp, false));
        }

        // Check the global runnable queue once in a while to ensure fairness.
        if pp.schedtick.load(Relaxed) % 61 == 0 && sched.runqsize.load(Acquire) > 0 {
            let mut l = sched.lock();
            let gp = globrunqget(sched, &mut l, pp, 1);
            drop(l);
            if let Some(gp) = gp {
                return Some((gp, false));
            }
        }
        // local runq
        if let Some(x) = runqget(pp) {
            return Some(x);
        }
        // global runq
        if sched.runqsize.load(Acquire) != 0 {
            let mut l = sched.lock();
            let gp = globrunqget(sched, &mut l, pp, 0);
            drop(l);
            if let Some(gp) = gp {
                return Some((gp, false));
            }
        }
        // Poll network: only an optimization before stealing, skipped if
        // nobody waits on the poller or an M is blocked in it already.
        if sched.netpoll_inited.load(Acquire)
            && sched.netpoll.waiters() > 0
            && sched.lastpoll.load(Acquire) != 0
        {
            let mut list = sched.netpoll.netpoll(0);
            if let Some(gp) = list.pop() {
                inject_glist(sched, list);
                gp.0.casgstatus(G_WAITING, G_RUNNABLE);
                return Some((gp.0, false));
            }
        }
        // Spinning Ms: steal work from other Ps.
        let procs = sched.gomaxprocs();
        if m.spinning.load(Relaxed)
            || 2 * sched.nmspinning.load(Acquire) < procs - sched.npidle.load(Acquire)
        {
            if !m.spinning.load(Relaxed) {
                m.spinning.store(true, Release);
                sched.nmspinning.fetch_add(1, AcqRel);
            }
            let (gp, _now, w, new_work) = steal_work(m, now);
            if let Some(x) = gp {
                return Some(x);
            }
            if new_work {
                continue 'top;
            }
            if w != 0 && (poll_until == 0 || w < poll_until) {
                poll_until = w;
            }
        }

        // We have nothing to do. In a GC mark, run idle-time marking
        // rather than give up the P.
        if let Some(gp) = crate::stw::find_mark_worker(sched, sched.nanotime(), true) {
            return Some((gp, false));
        }

        // return P and block
        {
            let mut l = sched.lock();
            if sched.stw.gcwaiting.load(Acquire) != 0 {
                drop(l);
                continue 'top;
            }
            if sched.runqsize.load(Acquire) != 0 {
                let gp = globrunqget(sched, &mut l, pp, 0);
                drop(l);
                if let Some(gp) = gp {
                    return Some((gp, false));
                }
                continue 'top;
            }
            let rp = releasep(m);
            if !std::ptr::eq(rp, pp) {
                throw("findrunnable: wrong p");
            }
            pidleput(sched, &mut l, pp);
        }

        // Delicate dance: drop nmspinning first, then check all sources
        // again (see proc.go).
        let was_spinning = m.spinning.load(Relaxed);
        if was_spinning {
            m.spinning.store(false, Release);
            if sched.nmspinning.fetch_sub(1, AcqRel) == 0 {
                throw("findrunnable: negative nmspinning");
            }
            // Check all runqueues once again.
            if let Some(pp) = check_runqs_nop(sched) {
                acquirep(m, pp);
                m.spinning.store(true, Release);
                sched.nmspinning.fetch_add(1, AcqRel);
                continue 'top;
            }
            poll_until = crate::timer::check_timers_nop(sched.allp, poll_until);
        }

        // Poll network until next timer.
        if sched.netpoll_inited.load(Acquire)
            && (sched.netpoll.waiters() > 0 || poll_until != 0)
            && sched.lastpoll.swap(0, AcqRel) != 0
        {
            sched.poll_until.store(poll_until, Release);
            let now = sched.nanotime();
            let delay = if poll_until != 0 {
                (poll_until - now).max(0)
            } else {
                -1
            };
            m.polling.store(true, Release);
            let list = if should_leave(m) {
                Vec::new()
            } else {
                sched.netpoll.netpoll(delay)
            };
            m.polling.store(false, Release);
            sched.poll_until.store(0, Release);
            sched.lastpoll.store(now, Release);
            if should_leave(m) {
                inject_glist(sched, list);
                return None;
            }
            let pp = {
                let mut l = sched.lock();
                pidleget(sched, &mut l)
            };
            match pp {
                None => inject_glist(sched, list),
                Some(pp) => {
                    acquirep(m, pp);
                    let mut list = list;
                    if let Some(gp) = list.pop() {
                        inject_glist(sched, list);
                        gp.0.casgstatus(G_WAITING, G_RUNNABLE);
                        return Some((gp.0, false));
                    }
                    if was_spinning {
                        m.spinning.store(true, Release);
                        sched.nmspinning.fetch_add(1, AcqRel);
                    }
                    continue 'top;
                }
            }
        } else if poll_until != 0 && sched.netpoll_inited.load(Acquire) {
            let poller_until = sched.poll_until.load(Acquire);
            if poller_until == 0 || poller_until > poll_until {
                sched.netpoll.netpoll_break();
            }
        }
        if !stopm(m) {
            return None;
        }
    }
}

/// Models `runtime.injectglist` (proc.go): marks the Gs runnable; without a
/// P all go to the global queue, with one as many as there are idle Ps go to
/// the global queue (an M started for each) and the rest to the local queue.
pub(crate) fn inject_glist(sched: &'static Sched, list: Vec<GRef>) {
    if list.is_empty() {
        return;
    }
    for g in &list {
        g.0.casgstatus(G_WAITING, G_RUNNABLE);
    }
    let mut list = list;
    if let Some(pp) = getm().and_then(|m| load(&m.p)) {
        let npidle = sched.npidle.load(Acquire) as usize;
        let local = if list.len() > npidle {
            list.split_off(npidle)
        } else {
            Vec::new()
        };
        for g in local {
            runqput(pp, g.0, false);
        }
    }
    let n = list.len();
    if n > 0 {
        let mut l = sched.lock();
        for g in list {
            globrunqput(sched, &mut l, g.0);
        }
    }
    for _ in 0..n {
        if sched.npidle.load(Acquire) == 0 {
            break;
        }
        startm(sched, None, false, || {
            "injectglist: netpoll work".to_string()
        });
    }
}

/// Models `runtime.checkRunqsNoP` (proc.go).
fn check_runqs_nop(sched: &'static Sched) -> Option<&'static P> {
    for (id, p2) in sched.allp.iter().enumerate() {
        if !sched.idlep[id].load(Acquire) && !runqempty(p2) {
            let mut l = sched.lock();
            return pidleget(sched, &mut l);
        }
    }
    None
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Models `runtime.stealWork` (proc.go) with Go's `stealOrder` (random
/// start, random step coprime with the number of Ps). Returns
/// (gp, now, pollUntil, newWork).
fn steal_work(m: &'static M, now: i64) -> (Option<(&'static G, bool)>, i64, i64, bool) {
    let sched = m.sched;
    let Some(pp) = load(&m.p) else {
        throw("stealWork: no p")
    };
    let n = sched.allp.len();
    let coprimes: Vec<usize> = (1..=n).filter(|&i| gcd(i, n) == 1).collect();
    let mut now = now;
    let mut poll_until = 0i64;
    let mut ran_timer = false;
    const STEAL_TRIES: usize = 4;
    for i in 0..STEAL_TRIES {
        let steal_timers_or_runnext = i == STEAL_TRIES - 1;
        let r = fastrand() as usize;
        let inc = coprimes[r % coprimes.len()];
        let mut pos = r % n;
        for _ in 0..n {
            if sched.stw.gcwaiting.load(Acquire) != 0 {
                // GC work may be available.
                return (None, now, poll_until, true);
            }
            let p2 = &sched.allp[pos];
            pos = (pos + inc) % n;
            if std::ptr::eq(pp, p2) {
                continue;
            }
            if steal_timers_or_runnext && crate::timer::has_timers(p2) {
                let (tnow, w, ran) = crate::timer::check_timers(p2, now);
                now = tnow;
                if w != 0 && (poll_until == 0 || w < poll_until) {
                    poll_until = w;
                }
                if ran {
                    if let Some(x) = runqget(pp) {
                        return (Some(x), now, poll_until, ran_timer);
                    }
                    ran_timer = true;
                }
            }
            // Don't bother to attempt to steal if p2 is idle.
            if !sched.idlep[p2.id].load(Acquire)
                && let Some(gp) = runqsteal(pp, p2, steal_timers_or_runnext)
            {
                return (Some((gp, false)), now, poll_until, ran_timer);
            }
        }
    }
    (None, now, poll_until, ran_timer)
}

/// Models `runtime.execute` (proc.go) + `gogo`: runs gp on this M until it
/// switches back, then runs the switch's g0 function.
fn execute(m: &'static M, gp: &'static G, inherit_time: bool) -> Next {
    store(&m.curg, Some(gp));
    store(&gp.m, Some(m));
    gp.casgstatus(G_RUNNABLE, G_RUNNING);
    gp.waitsince.store(0, Relaxed);
    gp.preempt.store(false, Relaxed);
    if !inherit_time {
        match load(&m.p) {
            Some(pp) => {
                pp.schedtick.fetch_add(1, Relaxed);
            }
            None => throw("execute: no p"),
        }
    }
    gogo(m, gp)
}

/// Models `runtime.gogo` (asm_amd64.s): resumes gp's coroutine; when it
/// switches back, dispatches the `mcall` function it asked for.
fn gogo(m: &'static M, gp: &'static G) -> Next {
    // SAFETY: gp is _Grunning on this M, so this M is the coroutine's only
    // owner (see G::coro).
    let coro = unsafe { &mut *gp.coro.get() };
    let Some(c) = coro.as_mut() else {
        throw("gogo: goroutine has no coroutine")
    };
    let r = c.0.resume(());
    check_stack(gp);
    match r {
        CoroutineResult::Yield(Switch::Park { data, call }) => park_m(m, gp, data, call),
        CoroutineResult::Yield(Switch::Gosched) => gosched_m(m, gp),
        CoroutineResult::Yield(Switch::Preempt) => gosched_m(m, gp),
        CoroutineResult::Yield(Switch::ExitSyscall) => crate::syscall::exitsyscall0(m, gp),
        CoroutineResult::Return(()) => goexit0(m, gp),
    }
}

/// The canary check done on every switch away from a goroutine.
fn check_stack(gp: &G) {
    let lo = gp.stack_lo.load(Relaxed);
    if lo != 0 && !crate::stack::canary_intact_at(lo) {
        fatal(&format!(
            "runtime: goroutine stack exceeds {}-byte limit\n\
             runtime: goroutine {} (created at {}) overwrote the canary below its stack [{:#x}, {:#x})\n\
             fatal error: stack overflow",
            gp.stack_hi.load(Relaxed) - lo,
            gp.goid.load(Relaxed),
            gp.site_str(),
            lo,
            gp.stack_hi.load(Relaxed)
        ));
    }
}

/// Models `runtime.dropg` (proc.go).
fn dropg(m: &'static M) {
    if let Some(gp) = load(&m.curg) {
        store(&gp.m, None);
    }
    store(&m.curg, None);
}

/// Models `runtime.park_m` (proc.go): gp is off its stack; run the commit
/// (Go's `unlockf`); false means "resume gp at once".
fn park_m(
    m: &'static M,
    gp: &'static G,
    data: *mut (),
    call: unsafe fn(*mut (), GRef) -> bool,
) -> Next {
    gp.casgstatus(G_RUNNING, G_WAITING);
    dropg(m);
    // SAFETY: `data` points at the commit closure on gp's (suspended) stack,
    // `call` is the trampoline of its exact type; it moves the closure onto
    // this stack before running it, and is called exactly once.
    let ok = unsafe { call(data, GRef(gp)) };
    if !ok {
        gp.casgstatus(G_WAITING, G_RUNNABLE);
        return Next::Run(gp, true);
    }
    Next::Schedule
}

/// Models `runtime.goschedImpl` (proc.go), used by `gosched_m` and
/// `gopreempt_m`: gp goes to the global run queue.
fn gosched_m(m: &'static M, gp: &'static G) -> Next {
    gp.casgstatus(G_RUNNING, G_RUNNABLE);
    dropg(m);
    let sched = m.sched;
    let mut l = sched.lock();
    globrunqput(sched, &mut l, gp);
    drop(l);
    Next::Schedule
}

/// Models `runtime.goexit0` (proc.go).
fn goexit0(m: &'static M, gp: &'static G) -> Next {
    let sched = m.sched;
    gp.casgstatus(G_RUNNING, G_DEAD);
    if gp.system.load(Relaxed) {
        sched.ngsys.fetch_sub(1, Relaxed);
    }
    store(&gp.m, None);
    let locked = load(&gp.lockedm).is_some();
    store(&gp.lockedm, None);
    store(&m.lockedg, None);
    gp.waitreason.store(0, Relaxed);
    gp.param.store(0, Relaxed);
    dropg(m);
    if m.locked_int.load(Relaxed) != 0 {
        throw("internal lockOSThread error");
    }
    m.locked_ext.store(0, Relaxed);
    let is_main = gp.goid.load(Relaxed) == 1;
    gfput(m, gp);
    if is_main {
        sched.main_done.store(true, Release);
        if !m.is_m0 {
            request_m0_leave(sched);
        } else {
            m.exit_req.store(true, Release);
        }
    }
    if locked {
        // The goroutine may have put the thread in an unusual state: kill
        // the thread rather than returning it to the pool.
        return Next::Exit;
    }
    if m.is_m0 && is_main {
        return Next::Exit;
    }
    Next::Schedule
}

// ---------------------------------------------------------------------------
// Goroutine creation

/// Models `runtime.gfput` (proc.go): keeps the dead G (and its stack).
fn gfput(m: &'static M, gp: &'static G) {
    // SAFETY: gp is dead and owned by this M until it is on a free list.
    let coro = unsafe { &mut *gp.coro.get() }.take();
    if let Some(c) = coro {
        let st = c.0.into_stack();
        // SAFETY: as above.
        unsafe { *gp.dead_stack.get() = Some(st) };
    }
    m.sched.ngdead.fetch_add(1, Relaxed);
    match load(&m.p) {
        Some(pp) => {
            let mut f = pp.gfree.lock().unwrap_or_else(|e| e.into_inner());
            f.push(gp);
            if f.len() >= 64 {
                // Go: move a batch to the global list.
                let mut g = m.sched.gfree.lock().unwrap_or_else(|e| e.into_inner());
                while f.len() > 32 {
                    if let Some(x) = f.pop() {
                        g.push(x);
                    }
                }
            }
        }
        None => m
            .sched
            .gfree
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(gp),
    }
}

/// Models `runtime.gfget` (proc.go).
fn gfget(sched: &Sched, pp: &P) -> Option<&'static G> {
    let mut f = pp.gfree.lock().unwrap_or_else(|e| e.into_inner());
    if f.is_empty() {
        let mut g = sched.gfree.lock().unwrap_or_else(|e| e.into_inner());
        while f.len() < 32 {
            match g.pop() {
                Some(x) => f.push(x),
                None => break,
            }
        }
    }
    let gp = f.pop()?;
    sched.ngdead.fetch_sub(1, Relaxed);
    Some(gp)
}

/// Models `runtime.malg` + `allgadd` (proc.go).
fn malg(sched: &'static Sched) -> &'static G {
    let g: &'static G = Box::leak(Box::new(G {
        goid: Default::default(),
        status: std::sync::atomic::AtomicU32::new(G_DEAD),
        preempt: Default::default(),
        m: AtomicPtr::new(std::ptr::null_mut()),
        lockedm: AtomicPtr::new(std::ptr::null_mut()),
        waitreason: Default::default(),
        waitsince: Default::default(),
        site: AtomicPtr::new(std::ptr::null_mut()),
        system: Default::default(),
        yielder: AtomicPtr::new(std::ptr::null_mut()),
        stack_lo: Default::default(),
        stack_hi: Default::default(),
        param: Default::default(),
        timer: Default::default(),
        coro: std::cell::UnsafeCell::new(None),
        dead_stack: std::cell::UnsafeCell::new(None),
        sched,
    }));
    sched
        .allgs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(g);
    g
}

/// Models `runtime.newproc1` (proc.go): a new G in `_Grunnable` running f.
pub(crate) fn newproc1<F>(
    sched: &'static Sched,
    pp: Option<&P>,
    f: F,
    site: Option<&'static Location<'static>>,
    system: bool,
) -> &'static G
where
    F: FnOnce() + Send + 'static,
{
    let newg = pp
        .and_then(|pp| gfget(sched, pp))
        .unwrap_or_else(|| malg(sched));
    if newg.readgstatus() != G_DEAD {
        throw("newproc1: new g is not Gdead");
    }
    // SAFETY: newg is dead and exclusively ours until it is on a run queue.
    let stack = unsafe { &mut *newg.dead_stack.get() }
        .take()
        .unwrap_or_else(|| GStack::alloc(sched.cfg.stack_size));
    let (lo, hi) = stack.bounds();
    newg.stack_lo.store(lo, Relaxed);
    newg.stack_hi.store(hi, Relaxed);
    let coro: Coro = Coroutine::with_stack(stack, move |y: &GYielder, ()| {
        newg.yielder
            .store(y as *const GYielder as *mut GYielder, Release);
        goroutine_body(newg, f);
    });
    // SAFETY: as above.
    unsafe { *newg.coro.get() = Some(SendCoro(coro)) };
    newg.goid
        .store(sched.goidgen.fetch_add(1, Relaxed) + 1, Relaxed);
    newg.site.store(
        site.map_or(std::ptr::null_mut(), |l| {
            l as *const Location as *mut Location
        }),
        Relaxed,
    );
    newg.system.store(system, Relaxed);
    if system {
        sched.ngsys.fetch_add(1, Relaxed);
    }
    newg.preempt.store(false, Relaxed);
    newg.waitreason.store(0, Relaxed);
    sched.counters.spawned.fetch_add(1, Relaxed);
    newg.casgstatus(G_DEAD, G_RUNNABLE);
    newg
}

/// The body of every goroutine: run f; an unrecovered panic kills the
/// process like Go's (exit status 2).
fn goroutine_body<F: FnOnce()>(gp: &'static G, f: F) {
    if let Err(p) = std::panic::catch_unwind(AssertUnwindSafe(f)) {
        let msg = panic_message(&*p);
        fatal(&format!(
            "panic: {msg}\n\ngoroutine {} [running]:\ncreated at {}",
            gp.goid.load(Relaxed),
            gp.site_str()
        ));
    }
}

/// Models `runtime.newproc` (proc.go): creates a G and puts it in `runnext`
/// of the current P, then `wakep` once `runtime.main` has started.
pub(crate) fn newproc<F>(
    m: &'static M,
    f: F,
    site: Option<&'static Location<'static>>,
    system: bool,
) where
    F: FnOnce() + Send + 'static,
{
    let sched = m.sched;
    let Some(pp) = load(&m.p) else {
        throw("newproc: no p")
    };
    let newg = newproc1(sched, Some(pp), f, site, system);
    runqput(pp, newg, true);
    if sched.main_started.load(Acquire) {
        wakep(sched);
    }
}

// ---------------------------------------------------------------------------
// Switching from a goroutine: mcall, gopark, goready, gosched

/// Models `runtime.mcall` (stubs.go): suspends the current goroutine and has
/// its M run the g0 function named by `sw`. Returns when the G is resumed,
/// possibly on another M.
pub(crate) fn mcall(gp: &'static G, sw: Switch) {
    let y = gp.yielder.load(Acquire);
    if y.is_null() {
        throw("mcall: goroutine has no yielder");
    }
    if getm().is_some_and(|m| m.incgo.load(Relaxed)) {
        throw("mcall: goroutine switch inside an ffi call");
    }
    // SAFETY: the yielder lives on gp's stack for the coroutine's whole life,
    // and we are running on that coroutine (gp is the current G).
    unsafe { (*y).suspend(sw) };
}

/// Models `runtime.gopark` (proc.go): parks the current goroutine with
/// `reason`; `commit` (Go's `unlockf`) runs on the M after the G is off its
/// stack, and returning false resumes the G at once. `commit` must not touch
/// the parking G's stack after it made the G readiable (as in Go).
pub(crate) fn gopark<F>(reason: WaitReason, commit: F)
where
    F: FnOnce(GRef) -> bool,
{
    let (m, gp) = need_g("gopark");
    gp.waitreason.store(reason as u8, Relaxed);
    gp.waitsince.store(m.sched.nanotime(), Relaxed);
    let mut slot = ManuallyDrop::new(commit);
    unsafe fn trampoline<F: FnOnce(GRef) -> bool>(data: *mut (), g: GRef) -> bool {
        // SAFETY: (caller) data points at a live, not yet moved F.
        let f: F = unsafe { std::ptr::read(data as *mut F) };
        f(g)
    }
    mcall(
        gp,
        Switch::Park {
            data: &mut *slot as *mut F as *mut (),
            call: trampoline::<F>,
        },
    );
}

/// Models `runtime.goready` + `ready` (proc.go): makes a parked goroutine
/// runnable in `runnext` of the current P, then `wakep`. Without a P (a
/// thread outside the runtime) the G goes to the global queue.
pub(crate) fn goready(g: GRef) {
    let gp = g.0;
    let sched = gp.sched;
    if gp.readgstatus() != G_WAITING {
        throw(&format!(
            "bad g->status in ready: goroutine {} status {}",
            gp.goid.load(Relaxed),
            gp.readgstatus()
        ));
    }
    gp.casgstatus(G_WAITING, G_RUNNABLE);
    match getm().and_then(|m| load(&m.p)) {
        Some(pp) => runqput(pp, gp, true),
        None => {
            let mut l = sched.lock();
            globrunqput(sched, &mut l, gp);
        }
    }
    wakep(sched);
}

/// Models `runtime.Gosched` (proc.go).
pub(crate) fn gosched() {
    let (_, gp) = need_g("gosched");
    mcall(gp, Switch::Gosched);
}

/// A safepoint: Go's function-prologue stack check, where a preemption
/// request (`gp.preempt`) is honored by `gopreempt_m`.
#[inline]
pub(crate) fn safepoint() {
    let Some(m) = getm() else { return };
    let Some(gp) = load(&m.curg) else { return };
    if gp.preempt.load(Relaxed)
        && gp.readgstatus() == G_RUNNING
        && !m.incgo.load(Relaxed)
        && m.locks.load(Relaxed) == 0
    {
        mcall(gp, Switch::Preempt);
    }
}

/// `stopm(); schedule()` as exitsyscall0 ends.
pub(crate) fn stopm_then_schedule(m: &'static M) -> Next {
    if !stopm(m) {
        return Next::Exit;
    }
    Next::Schedule
}
