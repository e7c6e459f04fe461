//! # gmp — a model of the Go 1.19 scheduler in Rust
//!
//! Goroutines (G) are stackful coroutines, run by OS threads (M) that each
//! must hold a processor token (P) to run Go code; `procs` Ps exist
//! (GOMAXPROCS). The scheduler's functions are Go's, from runtime/proc.go,
//! with Go's names in snake_case and a doc line naming the Go function each
//! one models, so the two can be read side by side:
//!
//! | module        | Go file / functions                                              |
//! |---------------|------------------------------------------------------------------|
//! | `runtime2`    | runtime2.go: g, m, p, schedt, waitReason                          |
//! | `proc`        | proc.go, one concern per file: `m` (newm, mstart, mexit, templateThread), `idle` (startm, stopm, handoffp, wakep, stoplockedm), `schedule` (schedule, findRunnable, execute), `goroutine` (newproc, gopark, goready, goexit0) |
//! | `panic`, `stubs` | panic.go: throw, fatal; stubs.go: getg (`getm`), fastrand |
//! | `runq`        | proc.go: runqput, runqget, runqgrab, runqsteal, globrunqput/get   |
//! | `syscall`     | proc.go: entersyscall, exitsyscall(fast/0), entersyscallblock; cgocall.go |
//! | `sysmon`      | proc.go: sysmon, retake, preemptone; signal_unix.go: preemptM     |
//! | `timer`       | time.go: per-P timer heaps (`heap`), addtimer/deltimer/modtimer (`modify`), cleantimers/runtimer/checkTimers (`run`), Timer and Sleep (`sleep`); Go 1.19 and Go 1.14.1 orderings |
//! | `stw`         | proc.go: stopTheWorld(WithSema), startTheWorld(WithSema), gcstopm, preemptall; gc() |
//! | `watchdog`    | (model-only) diagnoses a stop-the-world that does not complete, on sysmon's thread |
//! | `netpoll`     | netpoll.go, netpoll_epoll.go: pollDesc, netpoll(delay), netpollBreak (epoll via mio) |
//! | `net`         | net, internal/poll, os: TcpListener, TcpStream, File (conn.File, File.Fd) |
//! | `note`        | lock_futex.go: notesleep, notewakeup, notetsleep                  |
//! | `stack`       | stack.go (fixed-size slab stacks with canaries instead)           |
//! | `trace`       | proc.go: schedtrace; plus stats, goroutine dump, thread profile   |
//! | `debug`       | runtime1.go: parsedebugvars (`GMP_DEBUG`, gmp's `GODEBUG`)       |
//!
//! Entry: `Runtime::builder().procs(n).build()?.block_on(|| ...)` runs the
//! closure as the main goroutine, after a model of `runtime.main`'s start-up
//! (sysmon, the main goroutine locked to m0 while the runtime's own
//! goroutines start, as `gcenable` starts bgsweep/bgscavenge and waits for
//! them), which is what gives the thread floor Go has.
//!
//! The public API is below; what is and is not modeled is in gmp/README.md
//! and in each module's top comment (ARCHITECTURE.md has the map).

mod debug;
pub mod net;
mod netpoll;
mod note;
mod panic;
mod proc;
mod runq;
mod runtime2;
mod stack;
mod stubs;
mod stw;
mod syscall;
mod sysmon;
mod timer;
mod trace;
mod watchdog;

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub(crate) use proc::{gopark, goready};
#[allow(unused_imports)]
pub(crate) use runtime2::{GRef, WaitReason};
pub use timer::{Timer, Timers};
pub use trace::{Stats, ThreadCreate};
pub use watchdog::{Diagnosis, DiagnosisKind, diagnoses, set_diagnosis_hook};

// Channels and select (chan.rs, select.rs: Go's chan.go and select.go).
mod chan;
mod select;
pub use chan::{Chan, WouldBlock, chan};
pub use select::{RecvCase, SelectCase, SendCase, select};

use panic::throw;
use proc::newproc;
use runtime2::*;
use stubs::{getm, need_g};

/// Errors from building a runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("procs must be between 1 and 1024, got {0}")]
    Procs(usize),
    #[error("max_threads must be at least 3 (m0, sysmon, one more M), got {0}")]
    MaxThreads(usize),
    #[error("sysmon_delay must be 1 us .. 1 s, got {0} us")]
    SysmonDelay(u64),
    #[error("stack_size must be a multiple of 4096 between 16 KiB and 64 MiB, got {0}")]
    StackSize(usize),
    #[error(
        "bad GMP_DEBUG value {0:?}: expected comma-separated key=number pairs, keys: {keys}",
        keys = debug::KEYS
    )]
    Env(String),
}

/// Configures a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Builder {
    procs: usize,
    max_threads: usize,
    sysmon: bool,
    schedtrace: Option<Duration>,
    scheddetail: bool,
    stack_size: usize,
    timers: Timers,
    stw_watchdog: Option<Duration>,
    async_preempt: bool,
    syscall_handoff: bool,
    retake_exception: bool,
    sysmon_delay: Option<Duration>,
    netpoll: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            procs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_threads: 10_000,
            sysmon: true,
            schedtrace: None,
            scheddetail: false,
            stack_size: 256 * 1024,
            timers: Timers::Go1_19,
            stw_watchdog: Some(Duration::from_secs(1)),
            async_preempt: true,
            syscall_handoff: true,
            retake_exception: true,
            sysmon_delay: None,
            netpoll: true,
        }
    }
}

impl Builder {
    /// Number of Ps (Go: GOMAXPROCS). Default: the number of CPUs.
    pub fn procs(mut self, n: usize) -> Self {
        self.procs = n;
        self
    }
    /// Thread limit (Go: `debug.SetMaxThreads`, default 10,000). Exceeding
    /// it is a fatal error (exit status 2), as in Go.
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n;
        self
    }
    /// Run sysmon (default true; model-only switch, Go always starts it:
    /// off skips `runtime.main`'s `newm(sysmon, nil, -1)`, proc.go;
    /// `GMP_DEBUG=sysmon=0`). Without it no P is ever retaken from a
    /// syscall and no long-running goroutine is preempted.
    pub fn sysmon(mut self, on: bool) -> Self {
        self.sysmon = on;
        self
    }
    /// Print Go's `SCHED` line to stderr at this period (Go:
    /// `GODEBUG=schedtrace=ms`). Also set by env `GMP_DEBUG=schedtrace=1000`.
    pub fn schedtrace(mut self, every: Option<Duration>) -> Self {
        self.schedtrace = every;
        self
    }
    /// Detailed schedtrace (Go: `scheddetail=1`).
    pub fn scheddetail(mut self, on: bool) -> Self {
        self.scheddetail = on;
        self
    }
    /// Virtual size of each goroutine stack (default 256 KiB; only touched
    /// pages cost memory).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// The timer implementation's `modtimer` ordering (default
    /// [`Timers::Go1_19`]; [`Timers::Go1_14_1`] has seed 004's hang).
    pub fn timers(mut self, t: Timers) -> Self {
        self.timers = t;
        self
    }
    /// Report a stop-the-world (or a timer spin) lasting longer than this
    /// (default 1 s; None: no watchdog). See [`set_diagnosis_hook`].
    pub fn stw_watchdog(mut self, limit: Option<Duration>) -> Self {
        self.stw_watchdog = limit;
        self
    }

    // Design-decision knobs: each switches off one rule of Go's scheduler
    // (named in its doc line), to see which symptom that rule causes or
    // prevents. Each is also a `GMP_DEBUG` variable (debug.rs).

    /// Asynchronous preemption (default true; Go: `GODEBUG=asyncpreemptoff=1`
    /// turns it off, `GMP_DEBUG=asyncpreemptoff=1` here). Off, `preemptone`
    /// no longer signals the M (proc.go: `if preemptMSupported &&
    /// debug.asyncpreemptoff == 0 { preemptM(mp) }`), so a goroutine in a
    /// loop without function calls (whose only preemption points are
    /// [`async_safe_point`]s) is never stopped: it holds its P for ever, and
    /// a stop-the-world waits for it (Go before 1.14, golang/go#10958).
    /// Cooperative preemption at [`safepoint`]s is unchanged.
    pub fn async_preempt(mut self, on: bool) -> Self {
        self.async_preempt = on;
        self
    }

    /// Syscall hand-off (default true; model-only switch, `GMP_DEBUG=
    /// handoff=0`). Off, [`syscall`], [`syscall_block`] and [`ffi`] skip
    /// `entersyscall`/`exitsyscall` (proc.go, called by syscall.Syscall and
    /// cgocall): every wrapped call behaves as [`raw_syscall`], holding its P
    /// while it blocks, so sysmon has nothing to retake and no thread is
    /// added — and nothing else runs on that P meanwhile.
    pub fn syscall_handoff(mut self, on: bool) -> Self {
        self.syscall_handoff = on;
        self
    }

    /// retake's lone-syscaller exception (default true; model-only switch,
    /// `GMP_DEBUG=retakeexception=0`). Go's `retake` does not take a P from a
    /// syscall when its run queue is empty, another P is idle or an M spins,
    /// and the call began less than 10 ms ago ("we don't want to retake Ps
    /// if there is no other work to do"). Off, every P seen in the same
    /// syscall on two sysmon ticks is retaken and handed off.
    pub fn retake_exception(mut self, on: bool) -> Self {
        self.retake_exception = on;
        self
    }

    /// sysmon's delay between rounds (default None: Go's, 20 us doubling
    /// after 1 ms without work up to 10 ms; model-only switch, `GMP_DEBUG=
    /// sysmondelay=us`). Some(d) replaces that back-off (`usleep(delay)` in
    /// proc.go's `sysmon`) with a fixed d, which moves the threshold above
    /// which a syscall's P is retaken to about d. Must be 1 us .. 1 s.
    pub fn sysmon_delay(mut self, fixed: Option<Duration>) -> Self {
        self.sysmon_delay = fixed;
        self
    }

    /// The network poller for sockets (default true; model-only switch,
    /// `GMP_DEBUG=netpoll=0`). Off, a socket is not registered with the
    /// poller (netpoll.go `runtime_pollOpen` is not called; internal/poll's
    /// `FD.Init` with `pollable` false) and is put in blocking mode, so each
    /// read that waits for data blocks its thread inside the syscall, sysmon
    /// hands its P to another M: one thread per waiting connection, what
    /// dup_fd's bug (seed 000) does to every connection. Timers still sleep
    /// in the poller, as in Go.
    pub fn netpoll(mut self, on: bool) -> Self {
        self.netpoll = on;
        self
    }

    /// Builds the runtime: `procs` Ps (P0 for m0, the rest idle). No thread
    /// is started until [`Runtime::block_on`].
    pub fn build(self) -> Result<Runtime, Error> {
        if self.procs == 0 || self.procs > 1024 {
            return Err(Error::Procs(self.procs));
        }
        let dbg = debug::from_env()?;
        let max_threads = dbg.maxthreads.map_or(self.max_threads, |n| n as usize);
        if max_threads < 3 {
            return Err(Error::MaxThreads(max_threads));
        }
        let sysmon_delay_us = match dbg.sysmon_delay_us {
            Some(us) => us,
            None => self.sysmon_delay.map_or(0, |d| d.as_micros().max(1) as u64),
        };
        if sysmon_delay_us > 1_000_000 {
            return Err(Error::SysmonDelay(sysmon_delay_us));
        }
        if !self.stack_size.is_multiple_of(4096)
            || self.stack_size < 16 * 1024
            || self.stack_size > 64 << 20
        {
            return Err(Error::StackSize(self.stack_size));
        }
        let schedtrace_ms = dbg
            .schedtrace_ms
            .unwrap_or_else(|| self.schedtrace.map_or(0, |d| d.as_millis().max(1) as u64));
        let scheddetail = dbg.scheddetail.unwrap_or(self.scheddetail);
        let allp: &'static [P] = Box::leak(
            (0..self.procs)
                .map(|id| P {
                    id,
                    status: Default::default(),
                    m: AtomicPtr::new(std::ptr::null_mut()),
                    schedtick: Default::default(),
                    syscalltick: Default::default(),
                    runqhead: Default::default(),
                    runqtail: Default::default(),
                    runq: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
                    runnext: AtomicPtr::new(std::ptr::null_mut()),
                    preempt: Default::default(),
                    gfree: Mutex::new(Vec::new()),
                    goidcache: Default::default(),
                    goidcacheend: Default::default(),
                    sudogcache: AtomicPtr::new(std::ptr::null_mut()),
                    nsudogcache: Default::default(),
                    timers: Default::default(),
                    syscall_g: AtomicPtr::new(std::ptr::null_mut()),
                    syscalls: Default::default(),
                })
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let sched: &'static Sched = Box::leak(Box::new(Sched {
            cfg: Config {
                procs: self.procs,
                max_threads: max_threads as i64,
                sysmon: dbg.sysmon.unwrap_or(self.sysmon),
                schedtrace_ms,
                scheddetail,
                stack_size: self.stack_size,
                timers: self.timers,
                stw_watchdog_ns: self
                    .stw_watchdog
                    .map_or(0, |d| d.as_nanos().clamp(1, i64::MAX as u128) as i64),
                async_preempt: dbg.asyncpreemptoff.map_or(self.async_preempt, |off| !off),
                syscall_handoff: dbg.handoff.unwrap_or(self.syscall_handoff),
                retake_exception: dbg.retake_exception.unwrap_or(self.retake_exception),
                sysmon_delay_us,
                netpoll: dbg.netpoll.unwrap_or(self.netpoll),
            },
            lock: Mutex::new(SchedLocked {
                midle: Vec::new(),
                nmidlelocked: 0,
                mnext: 0,
                nmfreed: 0,
                nmsys: 0,
                pidle: Vec::new(),
                runq: Default::default(),
            }),
            runqsize: Default::default(),
            npidle: Default::default(),
            nmspinning: Default::default(),
            nmidle: Default::default(),
            sysmonwait: Default::default(),
            sysmonnote: Default::default(),
            lastpoll: Default::default(),
            poll_until: Default::default(),
            allp,
            idlep: (0..self.procs).map(|_| AtomicBool::new(false)).collect(),
            allm: Mutex::new(Vec::new()),
            allgs: Mutex::new(Vec::new()),
            gfree: Mutex::new(Vec::new()),
            sudogcache: Mutex::new(Vec::new()),
            goidgen: Default::default(),
            ngsys: Default::default(),
            ngdead: Default::default(),
            main_started: Default::default(),
            main_done: Default::default(),
            shutdown: Default::default(),
            m0: AtomicPtr::new(std::ptr::null_mut()),
            have_template_thread: Default::default(),
            newm_handoff: Mutex::new(NewmHandoff {
                list: Vec::new(),
                waiting: false,
            }),
            template_wake: Default::default(),
            netpoll: Default::default(),
            netpoll_inited: Default::default(),
            thread_creates: Mutex::new(Vec::new()),
            counters: Default::default(),
            stw: Default::default(),
            start: Instant::now(),
            start_ns: runtime2::nanotime1(),
        }));
        // Go's schedinit: lastpoll = nanotime(); procresize: every P but the
        // one m0 takes goes on the idle list (in allp order, P1 first out).
        sched.lastpoll.store(sched.nanotime(), Release);
        {
            let mut l = sched.lock();
            for pp in allp[1..].iter().rev() {
                proc::pidleput(sched, &mut l, pp);
            }
        }
        stubs::LAST_SCHED.store(sched as *const Sched as *mut Sched, Release);
        Ok(Runtime {
            sched,
            used: AtomicBool::new(false),
        })
    }
}

/// A gmp runtime: Ps, and (once `block_on` runs) Ms and goroutines.
pub struct Runtime {
    sched: &'static Sched,
    used: AtomicBool,
}

impl Runtime {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Runs `f` as the main goroutine on this thread (which becomes m0) and
    /// returns its result when it returns. A panic in `f` is resumed here; a
    /// panic in any other goroutine ends the process (exit status 2), as in
    /// Go. Goroutines still alive when `f` returns keep running on the
    /// runtime's other Ms until the runtime is dropped.
    ///
    /// Can be called once per runtime, from a thread that is not an M.
    #[track_caller]
    pub fn block_on<R, F>(&self, f: F) -> R
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let site = Location::caller();
        if getm().is_some() {
            panic!("gmp: block_on called from inside a gmp runtime");
        }
        if self.used.swap(true, AcqRel) {
            panic!("gmp: block_on called twice on the same runtime (Go has one main)");
        }
        let sched = self.sched;
        sysmon::initsig();
        let m0 = {
            let mut l = sched.lock();
            let id = proc::m_reserve_id(sched, &mut l);
            drop(l);
            proc::allocm(sched, MKind::Worker, id, true)
        };
        store(&sched.m0, Some(m0));
        stubs::setm(Some(m0));
        // SAFETY: gettid has no preconditions.
        m0.tid
            .store(unsafe { libc::syscall(libc::SYS_gettid) } as i32, Release);
        let p0 = &sched.allp[0];
        proc::acquirep(m0, p0);

        type Slot<R> = Arc<Mutex<Option<std::thread::Result<R>>>>;
        let slot: Slot<R> = Arc::new(Mutex::new(None));
        let slot2 = slot.clone();
        let main_g = proc::newproc1(
            sched,
            Some(p0),
            move || runtime_main(sched, f, slot2),
            Some(site),
            false,
        );
        runq::runqput(p0, main_g, true);

        proc::m_loop(m0);

        // m0 left the scheduler: give its P away (Go's mexit on m0), then
        // wait for main if it left because a locked goroutine exited on it
        // (Go wedges m0 in that case).
        if load(&m0.p).is_some() {
            let pp = proc::releasep(m0);
            proc::handoffp(sched, pp, || "mexit: m0 left the scheduler".to_string());
        }
        m0.wedged.store(true, Release);
        while !sched.main_done.load(Acquire) {
            m0.park.sleep();
            m0.park.clear();
        }
        m0.exited.store(true, Release);
        sched
            .allm
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|x| !std::ptr::eq(*x, m0));
        stubs::setm(None);
        let r = slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| throw("block_on: main goroutine left no result"));
        match r {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    /// Scheduler statistics of this runtime.
    pub fn stats(&self) -> Stats {
        trace::stats(self.sched)
    }
}

impl Drop for Runtime {
    /// Stops the runtime's idle Ms, sysmon and the template thread (their
    /// threads exit). Goroutines still running keep their Ms.
    fn drop(&mut self) {
        let sched = self.sched;
        if !self.used.load(Acquire) {
            return;
        }
        sched.shutdown.store(true, Release);
        let idle = {
            let mut l = sched.lock();
            sched.nmidle.store(0, Relaxed);
            std::mem::take(&mut l.midle)
        };
        for m in idle {
            m.exit_req.store(true, Release);
            m.park.wakeup();
        }
        sched.netpoll.netpoll_break();
        sched.sysmonnote.wakeup();
        sched.template_wake.wakeup();
    }
}

/// Wakes m0 if it waits for main to return (called when main returns).
pub(crate) fn runtime_wake_wedged_m0(m0: &'static M) {
    if m0.wedged.load(Acquire) {
        m0.park.wakeup();
    }
}

/// A buffered "channel" of unit values used only by the start-up model (the
/// `c := make(chan int, 2)` of `gcenable`).
struct StartupChan {
    state: Mutex<(u32, Option<GRef>)>,
}

impl StartupChan {
    fn send(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = s.1.take() {
            drop(s);
            goready(w);
        } else {
            s.0 += 1;
        }
    }
    fn recv(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.0 > 0 {
            s.0 -= 1;
            return;
        }
        gopark(WaitReason::ChanReceive, move |g| {
            s.1 = Some(g);
            drop(s);
            true
        });
    }
}

/// How `forcegchelper`, `bgsweep`, `bgscavenge` and `runfinq` spend an idle
/// program's life: parked with their Go wait reason (`goparkunlock`).
fn park_forever(reason: WaitReason) {
    gopark(reason, |_| true);
}

/// `go f()` for a runtime goroutine (Go: `newproc`; `isSystemGoroutine`).
fn spawn_system(f: impl FnOnce() + Send + 'static) {
    let (m, _) = need_g("go");
    newproc(m, f, None, true);
}

/// Models `runtime.main` (proc.go) up to `main.main`: start sysmon, lock the
/// main goroutine to m0, run the runtime's init (which starts
/// `forcegchelper`), `gcenable` (starts bgsweep and bgscavenge and waits for
/// both), the main package's init (os's finalizers start `runfinq`), unlock,
/// then run the user's main.
fn runtime_main<R, F>(sched: &'static Sched, f: F, slot: Arc<Mutex<Option<std::thread::Result<R>>>>)
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    // Allow newproc to start new Ms.
    sched.main_started.store(true, Release);
    if sched.cfg.sysmon {
        proc::newm(
            sched,
            MKind::Sysmon,
            None,
            false,
            None,
            "sysmon".to_string(),
        );
    }
    lock_os_thread_internal();
    // runtime_inittask: proc.go's init() { go forcegchelper() }
    spawn_system(|| park_forever(WaitReason::ForceGcIdle));
    // gcenable()
    let c = Arc::new(StartupChan {
        state: Mutex::new((0, None)),
    });
    let c1 = c.clone();
    spawn_system(move || {
        c1.send();
        park_forever(WaitReason::GcSweepWait);
    });
    let c2 = c.clone();
    spawn_system(move || {
        c2.send();
        park_forever(WaitReason::GcScavengeWait);
    });
    c.recv();
    c.recv();
    // main_inittask: os.init -> SetFinalizer -> createfing: go runfinq()
    spawn_system(|| park_forever(WaitReason::FinalizerWait));
    unlock_os_thread_internal();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
}

/// Models `runtime.lockOSThread` (proc.go): the runtime-internal lock.
fn lock_os_thread_internal() {
    let (m, gp) = need_g("lock_os_thread");
    m.locked_int.fetch_add(1, Relaxed);
    dolock_os_thread(m, gp);
}

/// Models `runtime.unlockOSThread` (proc.go).
fn unlock_os_thread_internal() {
    let (m, gp) = need_g("unlock_os_thread");
    if m.locked_int.load(Relaxed) == 0 {
        throw("runtime: internal error: misuse of lockOSThread/unlockOSThread");
    }
    m.locked_int.fetch_sub(1, Relaxed);
    dounlock_os_thread(m, gp);
}

/// Models `runtime.dolockOSThread` (proc.go).
fn dolock_os_thread(m: &'static M, gp: &'static G) {
    store(&m.lockedg, Some(gp));
    store(&gp.lockedm, Some(m));
}

/// Models `runtime.dounlockOSThread` (proc.go).
fn dounlock_os_thread(m: &'static M, gp: &'static G) {
    if m.locked_int.load(Relaxed) != 0 || m.locked_ext.load(Relaxed) != 0 {
        return;
    }
    store(&m.lockedg, None);
    store(&gp.lockedm, None);
}

// ---------------------------------------------------------------------------
// Public API

/// Starts a goroutine running `f` (Go's `go` statement; models
/// `runtime.newproc`). The spawn site is recorded for `goroutine_dump`.
/// Must be called from a goroutine.
#[track_caller]
pub fn go<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    let site = Location::caller();
    proc::safepoint();
    let (m, _) = need_g("go");
    newproc(m, f, Some(site), false);
}

/// Yields the processor (models `runtime.Gosched`): the goroutine goes to
/// the global run queue.
pub fn gosched() {
    let m = getm();
    if m.is_none() {
        std::thread::yield_now();
        return;
    }
    proc::gosched_on(m);
}

/// A cooperative preemption point: if sysmon asked the goroutine to stop
/// (it ran 10 ms without yielding), yield here (models the stack check in
/// every Go function prologue, where `newstack` calls `gopreempt_m`).
/// Long loops should call it.
#[inline]
pub fn safepoint() {
    proc::safepoint();
}

/// Checks a `GMP_DEBUG` value (gmp's `GODEBUG`: `asyncpreemptoff=1,
/// maxthreads=50`, ...) as [`Builder::build`] would read it, without
/// building a runtime.
pub fn check_gmp_debug(value: &str) -> Result<(), Error> {
    debug::parse(value).map(drop)
}

/// A point in a loop without function calls (a "tight loop") where Go's
/// asynchronous preemption can stop the goroutine: Go's SIGURG handler
/// injects a call to `asyncPreempt` at any such instruction
/// (signal_unix.go: `doSigPreempt`). Here the goroutine yields only if
/// sysmon's (or a stop-the-world's) preemption signal reached its thread
/// since the last async safe point; a synchronous request alone
/// (`gp.preempt`, what [`safepoint`] honors) is not seen, as a Go loop
/// without calls has no stack check. With [`Builder::async_preempt`] off
/// no signal is sent, so a loop that has only these points is never
/// preempted (golang/go#10958). Call it once per iteration of a loop that
/// models code without calls.
pub fn async_safe_point() {
    sysmon::async_safe_point();
}

/// Sleeps for `d` (models `time.Sleep` -> `runtime.timeSleep`): the
/// goroutine parks on a timer of the current P.
pub fn sleep(d: Duration) {
    if getm().is_none() {
        std::thread::sleep(d);
        return;
    }
    proc::safepoint();
    need_g("sleep");
    timer::time_sleep(d);
}

/// Stops the world (models `runtime.stopTheWorld`): every other P stops at
/// its goroutine's next safepoint or scheduling point. Must be followed by
/// [`start_the_world`] on the same goroutine.
pub fn stop_the_world(reason: &'static str) {
    stw::stop_the_world(reason);
}

/// Restarts the world stopped by [`stop_the_world`] (models
/// `runtime.startTheWorld`).
pub fn start_the_world() {
    stw::start_the_world();
}

/// One garbage-collection cycle as the scheduler sees it (models
/// `runtime.GC()`): a stop for sweep termination, a mark during which the
/// caller parks as the mark worker, a stop for mark termination, a yield
/// for the sweep.
pub fn gc() {
    stw::gc();
}

/// Completed stop-the-worlds of the current runtime and the longest stop
/// latency (from `gcwaiting` to the world stopped).
pub fn stw_stats() -> (u64, Duration) {
    let s = stubs::cur_sched();
    (
        s.stw.stops.load(Relaxed),
        Duration::from_nanos(s.stw.max_stop_ns.load(Relaxed).max(0) as u64),
    )
}

/// Runs `f` as a system call (models `syscall.Syscall`: `entersyscall`, f,
/// `exitsyscall`). While f runs, sysmon may retake the P and hand it to
/// another M, creating a thread if none is idle.
pub fn syscall<R>(f: impl FnOnce() -> R) -> R {
    syscall::syscall(f)
}

/// Runs `f` as a raw system call (models `syscall.RawSyscall`): no scheduler
/// hooks, the P stays held and nothing else runs on it meanwhile.
pub fn raw_syscall<R>(f: impl FnOnce() -> R) -> R {
    syscall::raw_syscall(f)
}

/// Runs `f` as a system call known to block (models `entersyscallblock`):
/// the P is handed off before f starts.
pub fn syscall_block<R>(f: impl FnOnce() -> R) -> R {
    syscall::syscall_block(f)
}

/// Runs `f` as a cgo call (models `runtime.cgocall`): a syscall to the
/// scheduler, run on the M's native stack.
pub fn ffi<R>(f: impl FnOnce() -> R) -> R {
    syscall::ffi(f)
}

/// Wires the calling goroutine to its current OS thread (models
/// `runtime.LockOSThread`; the first call starts the template thread).
pub fn lock_os_thread() {
    proc::safepoint();
    let (m, gp) = need_g("lock_os_thread");
    if m.sched.have_template_thread.load(Acquire) == 0 {
        proc::start_template_thread(m.sched);
    }
    let n = m.locked_ext.load(Relaxed).wrapping_add(1);
    if n == 0 {
        panic!("LockOSThread nesting overflow");
    }
    m.locked_ext.store(n, Relaxed);
    dolock_os_thread(m, gp);
}

/// Undoes one `lock_os_thread` (models `runtime.UnlockOSThread`).
pub fn unlock_os_thread() {
    let (m, gp) = need_g("unlock_os_thread");
    if m.locked_ext.load(Relaxed) == 0 {
        return;
    }
    m.locked_ext.fetch_sub(1, Relaxed);
    dounlock_os_thread(m, gp);
}

/// Scheduler statistics of the current runtime (or the last one built).
pub fn stats() -> Stats {
    trace::stats(stubs::cur_sched())
}

/// Number of live user goroutines (Go: `runtime.NumGoroutine`).
pub fn num_goroutine() -> u64 {
    stats().goroutines
}

/// Goroutines grouped by state (wait reason) and spawn site, most numerous
/// first: "1000 @ chan send, created at src/main.rs:42".
pub fn goroutine_dump() -> String {
    trace::goroutine_dump(stubs::cur_sched())
}

/// Every OS thread the runtime created, with the cause.
pub fn thread_create_profile() -> Vec<ThreadCreate> {
    trace::thread_create_profile(stubs::cur_sched())
}

/// Prints one schedtrace line (Go's SCHED line) to stderr now.
pub fn schedtrace_now(detailed: bool) {
    trace::schedtrace(stubs::cur_sched(), detailed);
}
