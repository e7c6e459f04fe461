//! M life cycle and thread creation, after proc.go: an M starts
//! ([`mstart`]), runs the scheduler loop until it is asked to leave, and
//! exits ([`mexit`]); [`newm`] is the only way gmp creates a thread, and
//! records why (the thread-creation profile). A locked or cgo M asks the
//! template thread to clone new threads for it, as Go does. The thread
//! limit (`checkmcount`) is a fatal error, never a hang.

use std::sync::atomic::{AtomicPtr, Ordering::*};

use crate::panic::{fatal, throw};
use crate::runtime2::*;
use crate::stubs::{getm, gettid, setm};

use super::Cause;
use super::idle::{acquirep, handoffp, releasep};
use super::schedule::m_loop;

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

/// Models `runtime.mexit` (proc.go) for a thread that is not m0: releases
/// the P and lets the OS thread end. (m0's "wedge" is in `Runtime::block_on`.)
pub(super) fn mexit(m: &'static M) {
    let sched = m.sched;
    {
        let mut all = sched.allm.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|x| !std::ptr::eq(*x, m));
    }
    m.exited.store(true, Release);
    sched.counters.threads_exited.fetch_add(1, Relaxed);
    if load(&m.p).is_some() {
        let pp = releasep(m);
        handoffp(sched, pp, || {
            format!("mexit: M{} exiting (locked goroutine exited)", m.id)
        });
    }
    let mut l = sched.lock();
    l.nmfreed += 1;
}

/// Whether this M has been asked to leave the scheduler (m0 after main
/// returned, or every M at runtime shutdown).
pub(super) fn should_leave(m: &M) -> bool {
    m.exit_req.load(Acquire) || m.sched.shutdown.load(Acquire)
}

/// Asks m0 to leave the scheduler: the main goroutine has returned.
pub(super) fn request_m0_leave(sched: &'static Sched) {
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
