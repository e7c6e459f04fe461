//! Goroutines, after proc.go and stubs.go: creation (`newproc`,
//! `newproc1`, `malg`, the `gfput`/`gfget` free lists that keep dead Gs
//! and their stacks), the switch from a goroutine to its M ([`mcall`],
//! [`gopark`], [`gosched`], [`safepoint`]), waking one ([`goready`]), and
//! the g0 functions a switch runs: `park_m`, `gosched_m` (also
//! `gopreempt_m`), `goexit0`.

use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicPtr, Ordering::*};

use corosensei::Coroutine;

use crate::panic::{fatal, panic_message, throw};
use crate::runq::{globrunqput, runqput};
use crate::runtime2::*;
use crate::stack::GStack;
use crate::stubs::{getm, need_g, need_g_on};

use super::Next;
use super::idle::wakep;
use super::m::request_m0_leave;
use super::schedule::dropg;

/// Models `runtime.park_m` (proc.go): gp is off its stack; run the commit
/// (Go's `unlockf`); false means "resume gp at once".
pub(super) fn park_m(
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
pub(super) fn gosched_m(m: &'static M, gp: &'static G) -> Next {
    gp.casgstatus(G_RUNNING, G_RUNNABLE);
    dropg(m);
    let sched = m.sched;
    let mut l = sched.lock();
    globrunqput(sched, &mut l, gp);
    drop(l);
    Next::Schedule
}

/// Models `runtime.goexit0` (proc.go).
pub(super) fn goexit0(m: &'static M, gp: &'static G) -> Next {
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
    newg.goid.store(new_goid(sched, pp), Relaxed);
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

/// Go's `_GoidCacheBatch`.
const GOID_CACHE_BATCH: u64 = 16;

/// A new goroutine's id, as `newproc1` takes it: from pp's cache, which is
/// refilled from `sched.goidgen` 16 at a time (one atomic add per 16
/// goroutines, not one each). Without a P, straight from `goidgen`.
fn new_goid(sched: &Sched, pp: Option<&P>) -> u64 {
    let Some(pp) = pp else {
        return sched.goidgen.fetch_add(1, Relaxed) + 1;
    };
    let mut id = pp.goidcache.load(Relaxed);
    if id == pp.goidcacheend.load(Relaxed) {
        // Sched.goidgen is the last allocated id, this batch must be
        // [sched.goidgen+1, sched.goidgen+GoidCacheBatch].
        id = sched.goidgen.fetch_add(GOID_CACHE_BATCH, Relaxed) + 1;
        pp.goidcacheend.store(id + GOID_CACHE_BATCH, Relaxed);
    }
    pp.goidcache.store(id + 1, Relaxed);
    id
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

/// Models `runtime.mcall` (stubs.go): suspends the current goroutine `gp`
/// of `m` and has `m` run the g0 function named by `sw`. Returns when the G
/// is resumed, possibly on another M.
pub(crate) fn mcall(m: &M, gp: &'static G, sw: Switch) {
    let y = gp.yielder.load(Acquire);
    if y.is_null() {
        throw("mcall: goroutine has no yielder");
    }
    if m.incgo.load(Relaxed) {
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
    let mut slot = ManuallyDrop::new(commit);
    unsafe fn trampoline<F: FnOnce(GRef) -> bool>(data: *mut (), g: GRef) -> bool {
        // SAFETY: (caller) data points at a live, not yet moved F.
        let f: F = unsafe { std::ptr::read(data as *mut F) };
        f(g)
    }
    mcall(
        m,
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
    gosched_on(getm());
}

/// [`gosched`] for a caller that has read `getm` already.
pub(crate) fn gosched_on(m: Option<&'static M>) {
    let (m, gp) = need_g_on(m, "gosched");
    mcall(m, gp, Switch::Gosched);
}

/// A safepoint: Go's function-prologue stack check, where a preemption
/// request (`gp.preempt`) is honored by `gopreempt_m`.
#[inline]
pub(crate) fn safepoint() {
    safepoint_getm();
}

/// [`safepoint`], then the current M for a caller that needs it: the one
/// it read, or, if the goroutine was preempted here, the one it resumed on.
#[inline]
pub(crate) fn safepoint_getm() -> Option<&'static M> {
    safepoint_on(getm())
}

/// [`safepoint_getm`] for a caller that has read `getm` already (Go's
/// functions read `getg()` once, a register): the M read, or the one the
/// goroutine resumed on if it was preempted here.
#[inline]
pub(crate) fn safepoint_on(m: Option<&'static M>) -> Option<&'static M> {
    let m = m?;
    let Some(gp) = load(&m.curg) else {
        return Some(m);
    };
    if gp.preempt.load(Relaxed)
        && gp.readgstatus() == G_RUNNING
        && !m.incgo.load(Relaxed)
        && m.locks.load(Relaxed) == 0
    {
        mcall(m, gp, Switch::Preempt);
        return getm();
    }
    Some(m)
}
