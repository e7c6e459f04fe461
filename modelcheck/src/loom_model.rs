//! The same protocol under loom: real atomics, real (loom) threads, every
//! interleaving of their memory operations explored by loom's scheduler.
//! Compiled only with `--cfg loom`; exercised by `tests/loom.rs`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p gmp-modelcheck --release loom
//! ```
//!
//! # Threads
//!
//! * `M0` (loom's main thread) owns P0 and starts by running G10, which
//!   executes the very program of [`crate::model::Ordering::program`]
//!   (the explicit-state model and this one share it). At a safepoint with a
//!   pending request and no `acquirem`, G10 is descheduled: `M0.curg`
//!   becomes none and G10's continuation (its pc and `m.locks`) goes on the
//!   global run queue. M0 then runs `schedule`: `gcwaiting` -> `gcstopm`;
//!   `check_timers` spins with `loom::thread::yield_now()` (Go's `osyield`)
//!   while the timer in P0's heap is `Modifying`; `findrunnable` takes G10
//!   back from the run queue or releases P0 to idle and the thread ends.
//! * `GC` (M1/P1) runs one `stop_the_world` and `start_the_world`: under
//!   `sched.lock` it sets `gcwaiting`, runs `preempt_all` (which skips M0
//!   when its `curg` is none), stops P1 and takes P0 if idle; then it waits
//!   for `stopwait == 0`, each round a `yield_now()` (the 100 us
//!   `notetsleep`) followed by `preempt_all` again.
//! * `sysmon` makes one `retake`: if M0 is running G10, it sets G10's
//!   preempt flag. Without it nothing would ask G10 to stop before
//!   `gcwaiting` is set (see the explicit model's notes: with one GC cycle
//!   the GC's own request comes too late to hang).
//!
//! # Why a hang shows up as "maximum number of branches"
//!
//! loom has no notion of time: a thread that calls `yield_now()` is only
//! rescheduled after another thread made progress, but a loop of yields
//! that never ends makes the execution infinitely long. In the 1.14.1
//! interleaving of the seed, M0 yields forever in `check_timers` (the timer
//! stays `Modifying` because G10 is on the run queue) and the GC yields
//! forever in its stop wait (`stopwait` stays 1 because P0 never stops);
//! no thread is blocked, so loom reports no deadlock: the execution grows
//! until it exceeds `max_branches` and loom panics with "Model exceeded
//! maximum number of branches ... e.g. spin locks". With the 1.19 ordering
//! every execution ends, and loom explores them all to completion.
//!
//! Memory orderings are `SeqCst` everywhere, as in Go's runtime/internal
//! atomics; the question is about interleavings, not weak memory.

use loom::sync::Arc;
use loom::sync::Mutex;
use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use loom::thread;

/// Evidence of what an execution was doing when loom stopped it, counted
/// per OS thread (loom runs every model thread of one check as a coroutine
/// on the thread that called it, and tests run in parallel): how many
/// times, in the current execution, M0 yielded on the Modifying timer and
/// the GC timed out waiting for the world to stop. Plain cells: loom does
/// not see them, so they add no branches. Reset at the start of each
/// execution.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spins {
    /// `osyield`s of M0 in `check_timers` on a Modifying timer.
    pub m0_timer_spins: usize,
    /// 100 us stop-note timeouts of the GC.
    pub gc_stop_waits: usize,
}

std::thread_local! {
    static SPINS: std::cell::Cell<Spins> = const { std::cell::Cell::new(Spins { m0_timer_spins: 0, gc_stop_waits: 0 }) };
}

/// The spin counts of the last (or current) execution on this thread.
pub fn last_spins() -> Spins {
    SPINS.with(|c| c.get())
}

fn bump(f: impl FnOnce(&mut Spins)) {
    SPINS.with(|c| {
        let mut s = c.get();
        f(&mut s);
        c.set(s);
    });
}

use crate::model::{Ordering, Step};

const REMOVED: u8 = 0;
const MODIFYING: u8 = 1;
const WAITING: u8 = 2;
const NOSTATUS: u8 = 3;

const NONE: u8 = 0;
const G10: u8 = 10;

const P_RUNNING: u8 = 0;
const P_IDLE: u8 = 1;
const P_GCSTOP: u8 = 2;

/// G10's continuation: what a run queue holds.
#[derive(Clone, Copy, Debug)]
struct G10Cont {
    pc: usize,
    locks: bool,
}

/// `sched`, guarded by `sched.lock`.
#[derive(Default)]
struct Sched {
    runq: Vec<G10Cont>,
}

/// Everything the threads share.
struct Shared {
    program: Vec<Step>,
    timer: AtomicU8,
    in_heap_p0: AtomicBool,
    g10_preempt: AtomicBool,
    m0_curg: AtomicU8,
    p0_status: AtomicU8,
    gcwaiting: AtomicBool,
    stopwait: AtomicUsize,
    sched: Mutex<Sched>,
}

/// How G10's run ended.
enum Ran {
    Preempted,
    Done,
}

/// G10 runs from `c` until it returns from `modtimer` or is preempted.
fn run_g10(sh: &Shared, mut c: G10Cont) -> Ran {
    while let Some(&step) = sh.program.get(c.pc) {
        c.pc += 1;
        match step {
            Step::AcquireM => c.locks = true,
            Step::ReleaseM => c.locks = false,
            Step::CasModifying => cas(&sh.timer, REMOVED, MODIFYING),
            Step::AddToHeap => sh.in_heap_p0.store(true, SeqCst),
            Step::CasWaiting => cas(&sh.timer, MODIFYING, WAITING),
            Step::SafepointLock | Step::SafepointWake => {
                if sh.g10_preempt.load(SeqCst) && !c.locks {
                    gosched(sh, c);
                    return Ran::Preempted;
                }
            }
            Step::Park => return Ran::Done,
        }
    }
    Ran::Done
}

/// A CAS that Go would `badTimer()` on failure.
fn cas(a: &AtomicU8, from: u8, to: u8) {
    let r = a.compare_exchange(from, to, SeqCst, SeqCst);
    assert_eq!(r, Ok(from), "badTimer: racy use of timers");
}

/// `gopreempt_m` -> `goschedImpl`: `dropg`, then `globrunqput`.
fn gosched(sh: &Shared, c: G10Cont) {
    sh.m0_curg.store(NONE, SeqCst);
    sh.sched.lock().unwrap().runq.push(c);
}

/// `gcstopm`: P0 to `_Pgcstop`, then park until the world restarts.
fn gcstopm(sh: &Shared) {
    {
        let _lock = sh.sched.lock().unwrap();
        sh.p0_status.store(P_GCSTOP, SeqCst);
        sh.stopwait.fetch_sub(1, SeqCst);
    }
    while sh.gcwaiting.load(SeqCst) {
        thread::yield_now();
    }
    sh.p0_status.store(P_RUNNING, SeqCst);
}

/// `checkTimers` -> `adjusttimers`/`runtimer` on P0.
fn check_timers(sh: &Shared) {
    if !sh.in_heap_p0.load(SeqCst) {
        return;
    }
    loop {
        match sh.timer.load(SeqCst) {
            MODIFYING => {
                bump(|s| s.m0_timer_spins += 1);
                thread::yield_now(); // osyield
            }
            WAITING => {
                cas(&sh.timer, WAITING, NOSTATUS);
                sh.in_heap_p0.store(false, SeqCst);
                return;
            }
            _ => return,
        }
    }
}

/// `schedule` on M0: the next continuation of G10 to run, or none when P0
/// goes idle.
fn schedule(sh: &Shared) -> Option<G10Cont> {
    loop {
        if sh.gcwaiting.load(SeqCst) {
            gcstopm(sh);
            continue;
        }
        check_timers(sh);
        let mut sched = sh.sched.lock().unwrap();
        if sh.gcwaiting.load(SeqCst) {
            drop(sched);
            gcstopm(sh);
            continue;
        }
        if let Some(c) = sched.runq.pop() {
            sh.m0_curg.store(G10, SeqCst);
            sh.g10_preempt.store(false, SeqCst);
            return Some(c);
        }
        sh.p0_status.store(P_IDLE, SeqCst);
        return None;
    }
}

/// M0's thread: G10 first, then the scheduler.
fn m0(sh: &Shared) {
    let mut next = Some(G10Cont {
        pc: 0,
        locks: false,
    });
    while let Some(c) = next {
        if let Ran::Done = run_g10(sh, c) {
            sh.m0_curg.store(NONE, SeqCst);
        }
        next = schedule(sh);
    }
}

/// `preemptall` from P1: `preemptone(P0)` skips an M with no curg.
fn preempt_all(sh: &Shared) {
    if sh.p0_status.load(SeqCst) == P_RUNNING && sh.m0_curg.load(SeqCst) == G10 {
        sh.g10_preempt.store(true, SeqCst);
    }
}

/// The GC goroutine on M1/P1: one stop-the-world, then start the world.
fn gc(sh: &Shared) {
    {
        let _lock = sh.sched.lock().unwrap();
        sh.stopwait.store(2, SeqCst);
        sh.gcwaiting.store(true, SeqCst);
        preempt_all(sh);
        sh.stopwait.fetch_sub(1, SeqCst); // P1 -> _Pgcstop
        if sh
            .p0_status
            .compare_exchange(P_IDLE, P_GCSTOP, SeqCst, SeqCst)
            .is_ok()
        {
            sh.stopwait.fetch_sub(1, SeqCst);
        }
    }
    while sh.stopwait.load(SeqCst) > 0 {
        bump(|s| s.gc_stop_waits += 1);
        thread::yield_now(); // notetsleep(&sched.stopnote, 100us) timed out
        preempt_all(sh);
    }
    assert_eq!(
        sh.p0_status.load(SeqCst),
        P_GCSTOP,
        "world stopped with P0 running"
    );
    let _lock = sh.sched.lock().unwrap();
    sh.gcwaiting.store(false, SeqCst); // start_the_world
}

/// sysmon's one `retake` of P0.
fn sysmon(sh: &Shared) {
    if sh.m0_curg.load(SeqCst) == G10 {
        sh.g10_preempt.store(true, SeqCst);
    }
}

/// One execution of the protocol (the body of `loom::model`): returns
/// normally only if the world stopped and every thread finished.
pub fn execution(ordering: Ordering) {
    SPINS.with(|c| c.set(Spins::default()));
    let sh = Arc::new(Shared {
        program: ordering.program(),
        timer: AtomicU8::new(REMOVED),
        in_heap_p0: AtomicBool::new(false),
        g10_preempt: AtomicBool::new(false),
        m0_curg: AtomicU8::new(G10),
        p0_status: AtomicU8::new(P_RUNNING),
        gcwaiting: AtomicBool::new(false),
        stopwait: AtomicUsize::new(0),
        sched: Mutex::new(Sched::default()),
    });
    let gc_thread = {
        let sh = sh.clone();
        thread::spawn(move || gc(&sh))
    };
    let sysmon_thread = {
        let sh = sh.clone();
        thread::spawn(move || sysmon(&sh))
    };
    m0(&sh);
    gc_thread.join().unwrap();
    sysmon_thread.join().unwrap();
    let t = sh.timer.load(SeqCst);
    assert!(t == WAITING || t == NOSTATUS, "timer left in status {t}");
}
