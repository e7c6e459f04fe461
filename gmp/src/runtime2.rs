//! The scheduler's data structures: G, M, P and the global `sched`, after
//! Go's `runtime/runtime2.go`.
//!
//! * **G** — a goroutine: a corosensei coroutine on a slab stack, plus the
//!   status word and the bookkeeping Go keeps in `runtime.g`. G structs are
//!   allocated once and never freed (like Go's, which stay in `allgs`); a dead
//!   G keeps its stack and is reused by `gfget`.
//! * **M** — an OS thread. Its native stack plays Go's g0 stack: the
//!   scheduler loop runs there and resumes goroutines from there.
//! * **P** — a processor token: local run queue (256 + `runnext`), timer heap,
//!   `schedtick`/`syscalltick` that sysmon samples.
//! * **Sched** — Go's `schedt`, plus `allp`, `allm`, `allgs` and config.
//!
//! All cross-thread fields are atomics (Go reads most of them racily too);
//! the fields Go protects with `sched.lock` live in [`SchedLocked`] behind a
//! `Mutex`. Structures are leaked (`&'static`), so raw pointers between them
//! (`AtomicPtr`) are always valid; `null` stands for Go's `nil`.
//!
//! Invariants (checked with `throw` where Go checks them):
//! * a G in `_Grunning` or `_Gsyscall` has exactly one M (`g.m`, `m.curg`);
//!   only that M touches the G's coroutine;
//! * a P in `_Prunning` has `p.m` set and `m.p` pointing back; a P in
//!   `_Psyscall` has `p.m == nil` and is remembered in `m.oldp`; a P in
//!   `_Pidle` is on `sched.pidle` or being handed to an M through `m.nextp`;
//! * `npidle` = length of `pidle`; `nmspinning` = Ms with `spinning` set plus
//!   Ms that a `startm(.., spinning=true)` is starting;
//! * an M is on `midle` only while parked in `stopm`.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Mutex;
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize,
    Ordering::*,
};
use std::time::Instant;

use corosensei::{Coroutine, Yielder};

use crate::note::Note;
use crate::stack::GStack;

// G status values, as in runtime2.go.
pub(crate) const G_IDLE: u32 = 0;
pub(crate) const G_RUNNABLE: u32 = 1;
pub(crate) const G_RUNNING: u32 = 2;
pub(crate) const G_SYSCALL: u32 = 3;
pub(crate) const G_WAITING: u32 = 4;
pub(crate) const G_DEAD: u32 = 6;

// P status values, as in runtime2.go.
pub(crate) const P_IDLE: u32 = 0;
pub(crate) const P_RUNNING: u32 = 1;
pub(crate) const P_SYSCALL: u32 = 2;
pub(crate) const P_GCSTOP: u32 = 3;

/// Size of a P's local run queue (Go: `runq [256]guintptr`).
pub(crate) const RUNQ_SIZE: u32 = 256;

/// Why a goroutine is parked: Go's `waitReason` (runtime2.go). The strings
/// are Go's, so dumps read like Go's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[allow(dead_code)]
pub(crate) enum WaitReason {
    Zero = 0,
    ChanReceiveNilChan,
    ChanSendNilChan,
    SelectNoCases,
    Select,
    ChanReceive,
    ChanSend,
    Sleep,
    IoWait,
    Syscall,
    SyncMutexLock,
    Semacquire,
    ForceGcIdle,
    GcSweepWait,
    GcScavengeWait,
    FinalizerWait,
    Preempted,
    GcWorkerIdle,
}

impl WaitReason {
    pub(crate) fn from_u8(v: u8) -> WaitReason {
        use WaitReason::*;
        const ALL: [WaitReason; 18] = [
            Zero,
            ChanReceiveNilChan,
            ChanSendNilChan,
            SelectNoCases,
            Select,
            ChanReceive,
            ChanSend,
            Sleep,
            IoWait,
            Syscall,
            SyncMutexLock,
            Semacquire,
            ForceGcIdle,
            GcSweepWait,
            GcScavengeWait,
            FinalizerWait,
            Preempted,
            GcWorkerIdle,
        ];
        ALL.get(v as usize).copied().unwrap_or(Zero)
    }

    /// Go's `waitReasonStrings`.
    pub(crate) fn as_str(self) -> &'static str {
        use WaitReason::*;
        match self {
            Zero => "",
            ChanReceiveNilChan => "chan receive (nil chan)",
            ChanSendNilChan => "chan send (nil chan)",
            SelectNoCases => "select (no cases)",
            Select => "select",
            ChanReceive => "chan receive",
            ChanSend => "chan send",
            Sleep => "sleep",
            IoWait => "IO wait",
            Syscall => "syscall",
            SyncMutexLock => "sync.Mutex.Lock",
            Semacquire => "semacquire",
            ForceGcIdle => "force gc (idle)",
            GcSweepWait => "GC sweep wait",
            GcScavengeWait => "GC scavenge wait",
            FinalizerWait => "finalizer wait",
            Preempted => "preempted",
            GcWorkerIdle => "GC worker (idle)",
        }
    }
}

/// What a goroutine asks its M to do when it switches away: the function Go
/// passes to `mcall` (`park_m`, `gosched_m`, `gopreempt_m`, `exitsyscall0`).
/// Goroutine exit is the coroutine's return (`goexit1` -> `goexit0`).
pub(crate) enum Switch {
    /// `gopark`: `commit` is Go's `unlockf`, moved onto the M's stack and run
    /// there after the G is off its stack.
    Park {
        data: *mut (),
        call: unsafe fn(*mut (), GRef) -> bool,
    },
    Gosched,
    Preempt,
    ExitSyscall,
}

pub(crate) type Coro = Coroutine<(), Switch, (), GStack>;
pub(crate) type GYielder = Yielder<(), Switch>;

/// A coroutine that may be resumed on another OS thread.
pub(crate) struct SendCoro(pub(crate) Coro);
// SAFETY: a goroutine's coroutine is resumed by one M at a time (the G's
// status word hands it over with acquire/release CASes), so moving it between
// threads is a transfer, never shared access. What lives on its stack while
// suspended is the goroutine's own frames: the user closure (required to be
// `Send` by `gmp::go`) and gmp's runtime frames, which hold no thread-bound
// state across a switch (thread-locals are re-read after every resume through
// non-inlined accessors). Nothing that is not `Send` may be live across a
// switch; that is the documented contract of `gmp::go`.
unsafe impl Send for SendCoro {}

pub(crate) struct G {
    pub(crate) goid: AtomicU64,
    pub(crate) status: AtomicU32,
    /// Preemption request (Go: `gp.preempt`), checked at safepoints.
    pub(crate) preempt: AtomicBool,
    pub(crate) m: AtomicPtr<M>,
    pub(crate) lockedm: AtomicPtr<M>,
    pub(crate) waitreason: AtomicU8,
    /// Spawn site (`#[track_caller]` of `gmp::go`): Go's `gopc`.
    pub(crate) site: AtomicPtr<Location<'static>>,
    /// A runtime goroutine (Go: `isSystemGoroutine`), hidden from counts.
    pub(crate) system: AtomicBool,
    pub(crate) yielder: AtomicPtr<GYielder>,
    /// Bounds of the current stack (canary checks, overflow message).
    pub(crate) stack_lo: AtomicUsize,
    pub(crate) stack_hi: AtomicUsize,
    /// Go's `gp.param`: a word passed by the waker to the parked G (the
    /// channel code uses it like Go's chan.go does).
    pub(crate) param: AtomicUsize,
    /// The sleep timer (Go: `gp.timer`), created by the first sleep.
    pub(crate) timer: crate::timer::GTimer,
    /// Owned by whoever owns the G (its M while running; nobody while
    /// runnable/waiting; the gFree list while dead).
    pub(crate) coro: UnsafeCell<Option<SendCoro>>,
    /// The stack of a dead G kept for reuse (Go: a Gdead G keeps its stack).
    pub(crate) dead_stack: UnsafeCell<Option<GStack>>,
    pub(crate) sched: &'static Sched,
}

// SAFETY: all fields but `coro` and `dead_stack` are atomics; those two are
// only touched by the single owner of the G as described on the fields, and
// ownership moves with acquire/release operations on `status` and the run
// queues.
unsafe impl Sync for G {}
// SAFETY: see above; a G is just shared by `&'static` references.
unsafe impl Send for G {}

impl G {
    /// Models `runtime.readgstatus` (proc.go).
    pub(crate) fn readgstatus(&self) -> u32 {
        self.status.load(Acquire)
    }

    /// Models `runtime.casgstatus` (proc.go): throws on an unexpected state.
    pub(crate) fn casgstatus(&self, old: u32, new: u32) {
        if self
            .status
            .compare_exchange(old, new, AcqRel, Acquire)
            .is_err()
        {
            crate::panic::throw(&format!(
                "casgstatus: bad incoming values: goroutine {} status {} -> {} (is {})",
                self.goid.load(Relaxed),
                old,
                new,
                self.readgstatus()
            ));
        }
    }

    pub(crate) fn site_str(&self) -> String {
        let p = self.site.load(Relaxed);
        if p.is_null() {
            "<runtime>".to_string()
        } else {
            // SAFETY: `site` only ever holds `&'static Location`s.
            let l: &'static Location<'static> = unsafe { &*p };
            format!("{}:{}", l.file(), l.line())
        }
    }
}

/// A handle to a goroutine, for waking it later (Go passes `*g`).
#[derive(Clone, Copy)]
pub(crate) struct GRef(pub(crate) &'static G);

impl GRef {
    #[allow(dead_code)]
    pub(crate) fn goid(&self) -> u64 {
        self.0.goid.load(Relaxed)
    }
    #[allow(dead_code)]
    pub(crate) fn ptr_eq(&self, other: &GRef) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl std::fmt::Debug for GRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "G{}", self.goid())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MKind {
    /// Runs the scheduler (`mstart1` -> `schedule`).
    Worker,
    /// Runs `sysmon` without a P.
    Sysmon,
    /// Runs `templateThread` without a P.
    Template,
}

pub(crate) struct M {
    pub(crate) id: i64,
    pub(crate) kind: MKind,
    pub(crate) is_m0: bool,
    pub(crate) sched: &'static Sched,
    pub(crate) p: AtomicPtr<P>,
    pub(crate) nextp: AtomicPtr<P>,
    pub(crate) oldp: AtomicPtr<P>,
    pub(crate) curg: AtomicPtr<G>,
    pub(crate) lockedg: AtomicPtr<G>,
    pub(crate) locked_ext: AtomicU32,
    pub(crate) locked_int: AtomicU32,
    pub(crate) spinning: AtomicBool,
    /// Set by `startm` on a new M: it starts spinning (Go: `mspinning`).
    pub(crate) start_spinning: AtomicBool,
    pub(crate) incgo: AtomicBool,
    pub(crate) syscalltick: AtomicU32,
    pub(crate) park: Note,
    pub(crate) tid: AtomicI32,
    pub(crate) signal_pending: AtomicU32,
    /// Asks a parked M to leave the scheduler (m0 returning from block_on,
    /// or runtime shutdown).
    pub(crate) exit_req: AtomicBool,
    pub(crate) exited: AtomicBool,
    /// Blocked in the netpoll model (no P).
    pub(crate) polling: AtomicBool,
    /// m0 parked after leaving the scheduler, waiting for main to return.
    pub(crate) wedged: AtomicBool,
    /// Go's `m.locks` (`acquirem`): no preemption at safepoints while > 0.
    /// Only the M's own thread changes it ([`M::locks_inc`] /
    /// [`M::locks_dec`]); others only read it.
    pub(crate) locks: AtomicU32,
    /// What this M does with timers, for the watchdog (timer/watch.rs).
    pub(crate) tstate: crate::timer::MTimerState,
}

impl M {
    /// `mp.locks++` (acquirem, lock): a plain increment in Go, since only
    /// the M's own thread writes it; so here a load and a store, not an
    /// atomic read-modify-write (readers on other threads, like sysmon,
    /// only need to see some recent value).
    pub(crate) fn locks_inc(&self) {
        self.locks.store(self.locks.load(Relaxed) + 1, Relaxed);
    }

    /// `mp.locks--` (releasem, unlock).
    pub(crate) fn locks_dec(&self) {
        self.locks.store(self.locks.load(Relaxed) - 1, Relaxed);
    }
}

pub(crate) struct P {
    pub(crate) id: usize,
    pub(crate) status: AtomicU32,
    pub(crate) m: AtomicPtr<M>,
    pub(crate) schedtick: AtomicU32,
    pub(crate) syscalltick: AtomicU32,
    pub(crate) runqhead: AtomicU32,
    pub(crate) runqtail: AtomicU32,
    pub(crate) runq: [AtomicPtr<G>; RUNQ_SIZE as usize],
    pub(crate) runnext: AtomicPtr<G>,
    pub(crate) preempt: AtomicBool,
    /// Dead Gs kept for reuse (Go: `p.gFree`).
    pub(crate) gfree: Mutex<Vec<&'static G>>,
    /// Go's `p.goidcache`, `p.goidcacheend`: goids taken from
    /// `sched.goidgen` 16 at a time (only the P's M touches them).
    pub(crate) goidcache: AtomicU64,
    pub(crate) goidcacheend: AtomicU64,
    /// Go's `p.sudogcache`: free sudogs, a list linked through
    /// `Sudog::next`, and its length (only the P's M touches them; see
    /// `chan::acquire_sudog`).
    pub(crate) sudogcache: AtomicPtr<crate::chan::Sudog>,
    pub(crate) nsudogcache: AtomicU32,
    pub(crate) timers: crate::timer::PTimers,
    /// The G that entered the syscall this P is in (model bookkeeping for the
    /// thread-creation profile; Go does not record it).
    pub(crate) syscall_g: AtomicPtr<G>,
    /// System calls entered while this P was held (model-only; `stats()`
    /// sums them over `allp`). Per P, written by its owner only, so the
    /// syscall path pays no shared read-modify-write for it.
    pub(crate) syscalls: AtomicU64,
}

impl P {
    /// Go's `pp.syscalltick++`. Only the P's owner writes the tick: the M
    /// that holds the P, or whoever just won the CAS that took it out of
    /// `_Psyscall` (retake, stopTheWorld). So a load and a store, as Go's
    /// plain increment, not a locked read-modify-write.
    #[inline]
    pub(crate) fn syscalltick_inc(&self) {
        self.syscalltick
            .store(self.syscalltick.load(Relaxed).wrapping_add(1), Relaxed);
    }

    /// Counts a system call entered on this P (its owner only).
    #[inline]
    pub(crate) fn count_syscall(&self) {
        self.syscalls
            .store(self.syscalls.load(Relaxed) + 1, Relaxed);
    }
}

/// The fields of Go's `schedt` protected by `sched.lock`.
pub(crate) struct SchedLocked {
    pub(crate) midle: Vec<&'static M>,
    pub(crate) nmidlelocked: i32,
    pub(crate) mnext: i64,
    pub(crate) nmfreed: i64,
    pub(crate) nmsys: i32,
    pub(crate) pidle: Vec<&'static P>,
    pub(crate) runq: VecDeque<&'static G>,
}

/// Model-only counters (Go has none of these; gmp exposes them).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) retakes: AtomicU64,
    pub(crate) handoffs: AtomicU64,
    pub(crate) preempt_requests: AtomicU64,
    pub(crate) signals_sent: AtomicU64,
    pub(crate) exitsyscall_slow: AtomicU64,
    pub(crate) threads_created: AtomicU64,
    pub(crate) threads_exited: AtomicU64,
    pub(crate) spawned: AtomicU64,
}

pub(crate) struct Config {
    pub(crate) procs: usize,
    pub(crate) max_threads: i64,
    pub(crate) sysmon: bool,
    pub(crate) schedtrace_ms: u64,
    pub(crate) scheddetail: bool,
    pub(crate) stack_size: usize,
    /// The `modtimer` ordering (Builder `timers`).
    pub(crate) timers: crate::timer::Timers,
    /// Watchdog limit for a stop-the-world (ns, 0: off).
    pub(crate) stw_watchdog_ns: i64,
    /// Go's `debug.asyncpreemptoff == 0`: `preemptone` signals the M.
    pub(crate) async_preempt: bool,
    /// `syscall`, `syscall_block` and `ffi` enter and exit the scheduler
    /// (off: they behave as `raw_syscall`; model-only).
    pub(crate) syscall_handoff: bool,
    /// `retake` spares a P in a syscall with nothing else to do for 10 ms
    /// (model-only switch).
    pub(crate) retake_exception: bool,
    /// sysmon's delay fixed at this many us; 0: Go's 20 us .. 10 ms.
    pub(crate) sysmon_delay_us: u64,
    /// Sockets are registered with the netpoller (off: model-only).
    pub(crate) netpoll: bool,
}

pub(crate) struct ThreadCreateRec {
    pub(crate) m_id: i64,
    pub(crate) at_ns: i64,
    pub(crate) cause: String,
}

/// Go's `newmHandoff`: Ms waiting for the template thread to create them.
pub(crate) struct NewmHandoff {
    pub(crate) list: Vec<(&'static M, String)>,
    pub(crate) waiting: bool,
}

pub(crate) struct Sched {
    pub(crate) cfg: Config,
    pub(crate) lock: Mutex<SchedLocked>,
    /// Mirror of `sched.runqsize`, readable without the lock (Go reads it
    /// racily).
    pub(crate) runqsize: AtomicU32,
    pub(crate) npidle: AtomicU32,
    pub(crate) nmspinning: AtomicU32,
    pub(crate) nmidle: AtomicU32,
    pub(crate) sysmonwait: AtomicU32,
    pub(crate) sysmonnote: Note,
    pub(crate) lastpoll: AtomicI64,
    pub(crate) poll_until: AtomicI64,
    pub(crate) allp: &'static [P],
    pub(crate) idlep: Vec<AtomicBool>,
    pub(crate) allm: Mutex<Vec<&'static M>>,
    pub(crate) allgs: Mutex<Vec<&'static G>>,
    pub(crate) gfree: Mutex<Vec<&'static G>>,
    /// Go's `sched.sudogcache` under `sched.sudoglock`: the addresses of
    /// free sudogs the Ps' caches overflowed into.
    pub(crate) sudogcache: Mutex<Vec<usize>>,
    pub(crate) goidgen: AtomicU64,
    pub(crate) ngsys: AtomicI64,
    pub(crate) ngdead: AtomicI64,
    pub(crate) main_started: AtomicBool,
    pub(crate) main_done: AtomicBool,
    pub(crate) shutdown: AtomicBool,
    pub(crate) m0: AtomicPtr<M>,
    pub(crate) have_template_thread: AtomicU32,
    pub(crate) newm_handoff: Mutex<NewmHandoff>,
    pub(crate) template_wake: Note,
    pub(crate) netpoll: crate::netpoll::Netpoll,
    pub(crate) netpoll_inited: AtomicBool,
    pub(crate) thread_creates: Mutex<Vec<ThreadCreateRec>>,
    pub(crate) counters: Counters,
    /// Stop-the-world state (stw.rs).
    pub(crate) stw: crate::stw::Stw,
    pub(crate) start: Instant,
    /// `start` on the clock [`nanotime1`] reads.
    pub(crate) start_ns: i64,
}

impl Sched {
    /// Models `runtime.nanotime`: monotonic ns since the runtime started,
    /// never 0 (0 means "unset" in `lastpoll`, `pollUntil`, ...).
    #[inline]
    pub(crate) fn nanotime(&self) -> i64 {
        nanotime1() - self.start_ns + 1
    }

    /// `lock(&sched.lock)`.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, SchedLocked> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Go's `gomaxprocs` (fixed: no `procresize`).
    pub(crate) fn gomaxprocs(&self) -> u32 {
        self.cfg.procs as u32
    }
}

/// Models `runtime.nanotime1` (sys_linux_amd64.s): CLOCK_MONOTONIC through
/// the vDSO, in ns (the clock `std::time::Instant` reads too, without its
/// checked `Duration` arithmetic, which cost more than the clock itself).
#[inline]
pub(crate) fn nanotime1() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own; CLOCK_MONOTONIC
    // always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Helpers to turn `&'static T` into the `*mut T` that `AtomicPtr` stores.
pub(crate) fn p_of<T>(r: Option<&'static T>) -> *mut T {
    match r {
        Some(r) => r as *const T as *mut T,
        None => std::ptr::null_mut(),
    }
}

/// Reads an `AtomicPtr` holding a leaked `&'static T` or null.
pub(crate) fn load<T>(a: &AtomicPtr<T>) -> Option<&'static T> {
    let p = a.load(Acquire);
    // SAFETY: every AtomicPtr in these structures holds null or a pointer to
    // a leaked (never freed) G, M or P.
    unsafe { p.as_ref() }
}

pub(crate) fn store<T>(a: &AtomicPtr<T>, v: Option<&'static T>) {
    a.store(p_of(v), Release);
}

pub(crate) fn take<T>(a: &AtomicPtr<T>) -> Option<&'static T> {
    let p = a.swap(std::ptr::null_mut(), AcqRel);
    // SAFETY: as in `load`.
    unsafe { p.as_ref() }
}
