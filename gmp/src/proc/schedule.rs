//! One round of scheduling, after proc.go: [`m_loop`] is the g0 loop of
//! every M (`schedule` -> `execute` -> the goroutine switches back -> the
//! `mcall` function -> `schedule` ...); `schedule` asks `find_runnable`,
//! which checks, in Go's order, timers, the global queue every 61st tick,
//! the local queue, the global queue, the network, other Ps' queues (as a
//! spinning M), and finally gives up its P and parks the M. `execute` and
//! `gogo` resume the goroutine found.

use std::sync::atomic::Ordering::*;

use corosensei::CoroutineResult;

use crate::panic::{fatal, throw};
use crate::runq::{globrunqget, globrunqput, runqempty, runqget, runqpeek, runqput, runqsteal};
use crate::runtime2::*;
use crate::stubs::{fastrand, getm};

use super::Next;
use super::goroutine::{goexit0, gosched_m, park_m};
use super::idle::{
    acquirep, handoffp, pidleget, pidleput, releasep, resetspinning, startlockedm, startm,
    stoplockedm, stopm,
};
use super::m::should_leave;

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

/// Models `runtime.schedule` (proc.go): one round of scheduler.
pub(super) fn schedule(m: &'static M) -> Next {
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
    handoffp(sched, pp, || {
        format!("handoffp: M{} left the scheduler", m.id)
    });
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
        if sched.stw.blacken_enabled()
            && let Some(gp) = crate::stw::find_mark_worker(sched, now, false)
        {
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
        if sched.stw.blacken_enabled()
            && let Some(gp) = crate::stw::find_mark_worker(sched, sched.nanotime(), true)
        {
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
pub(super) fn execute(m: &'static M, gp: &'static G, inherit_time: bool) -> Next {
    store(&m.curg, Some(gp));
    store(&gp.m, Some(m));
    gp.casgstatus(G_RUNNABLE, G_RUNNING);
    gp.preempt.store(false, Relaxed);
    if !inherit_time {
        match load(&m.p) {
            // `pp.schedtick++`: only the P's M writes it (sysmon reads it),
            // so a load and a store, not an atomic read-modify-write.
            Some(pp) => pp
                .schedtick
                .store(pp.schedtick.load(Relaxed).wrapping_add(1), Relaxed),
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
    crate::stack::prefetch_canary(gp.stack_lo.load(Relaxed));
    prefetch_next(m);
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

/// While the goroutine about to run runs, brings in what the next one in
/// the local queue will touch first, when the queue is long enough for
/// its stack to be out of the cache (see `runqpeek`).
#[inline(never)]
fn prefetch_next(m: &M) {
    if let Some(next) = load(&m.p).and_then(runqpeek) {
        crate::stack::prefetch_goroutine(next);
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
pub(super) fn dropg(m: &'static M) {
    if let Some(gp) = load(&m.curg) {
        store(&gp.m, None);
    }
    store(&m.curg, None);
}
