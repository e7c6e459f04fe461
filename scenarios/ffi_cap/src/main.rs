//! Scenario `ffi_cap` (seed 002: FFI busy loops run beside GOMAXPROCS;
//! LockOSThread busy loops do not; a goroutine that exits locked takes its
//! thread with it).
//!
//! # The incident
//!
//! Seed 002's cgo experiment: five goroutines each call a C busy loop
//! while main spins, at GOMAXPROCS=1, and the process burns six cores'
//! worth of CPU. A cgo call is a syscall to the scheduler (`cgocall` ->
//! `entersyscall`): sysmon's `retake` finds the P in `_Psyscall` and hands
//! it off, so every C loop keeps an M to itself outside the cap while a
//! new M runs the Go code. Its LockOSThread experiment looks the same from
//! `ps` (8 threads) but stays under the cap: a locked goroutine is still
//! scheduled, and when it is not running its M sleeps (`stoplockedm`), so
//! at most GOMAXPROCS threads run Go code. And a goroutine that returns
//! while locked makes its M exit (`goexit0` -> `mexit`): the one way a Go
//! thread ends.
//!
//! # The workload (issue 4)
//!
//! N goroutines/tasks spin for the load phase (the whole `--duration`),
//! each as `mode` says, while the main goroutine (tokio: a task) computes
//! with safepoints, plus the kit's 1 ms probe. A C loop runs until the
//! load's deadline, computed once before they start: a loop that can
//! never be interrupted (`raw_ffi`, tokio's `direct`) still ends, and the
//! process with it. A locked Rust loop runs until main, at the deadline,
//! has counted the threads and sets a stop flag (as the go column does).
//!
//! Phases: `load_start` (after 20 ms of idling that let the probe start),
//! `load_stop`; `locked_exit` adds `exit_settled`
//! once N of the threads alive before the loops ended have gone (or after
//! 1 s).
//!
//! # Per runtime: the variants
//!
//! * gmp (and go, in `reference/go/ffi_cap`), axis `mode`:
//!   - `ffi`: `gmp::ffi(|| c_shims::busy_loop(..))` — cgo. The P is
//!     retaken from every loop: R-threads reach N + 1 (the N C loops and
//!     the M running main), above `procs`: the cap does not hold.
//!   - `locked`: `gmp::lock_os_thread()`, then a Rust busy loop with a
//!     `gmp::safepoint()` per chunk (Go 1.19 preempts its loop
//!     asynchronously), then unlock. Threads grow like `ffi` (one M per
//!     locked goroutine) but at most `procs` of them run: the cap holds.
//!   - `locked_exit`: as `locked`, returning without unlocking: each of
//!     those Ms exits (m0 cannot: if a goroutine locked the main thread,
//!     Go wedges it instead, and so does gmp).
//!   - `raw_ffi` (gmp only): the C loop in `gmp::raw_syscall` — no hooks:
//!     sysmon cannot retake the P, nothing else runs on it until the loop
//!     ends (at procs 1, the whole load).
//! * tokio, axis `mode`:
//!   - `spawn_blocking`: each loop on the blocking pool (the idiomatic
//!     way): N pool threads spin beside `worker_threads`: exceeds it.
//!   - `block_in_place`: each task hands its worker's core to a new thread
//!     and spins in place: exceeds `worker_threads` too.
//!   - `direct`: the C loop called inside an async task (the mistake): it
//!     holds its worker for the whole load; at procs 1 every other task,
//!     the probe included, starves: probe p99 >= the loop's length.
//!
//! # Summary metrics (the same names as the go column)
//!
//! `loop_ms` (the loops' length, the load), `load_s`, `main_iters`,
//! `c_loop_iters` (ffi, raw_ffi and the tokio modes), `go_loop_iters`
//! (locked modes), `threads_created` (gmp: Ms created), and for
//! `locked_exit`: `threads_before_exit`, `threads_after_exit`,
//! `threads_exited` (the drop in the count), `exit_settle_ms`; plus the
//! kit's `probe_*`. Rust columns only (not in the go column yet):
//! `main_max_gap_ms`, the longest main went without running (from the
//! load's start, so it also sees a main that never ran: the probe cannot,
//! its 1 ms grid starts when it first runs), and `threads_gone`
//! (`locked_exit`: threads alive before the loops ended that no longer
//! exist; the count alone under-reports, see `settle_locked_exit`).

use scenario_kit::tokio;
use scenario_kit::{Ctx, Kind, ParamSpec, Runtime, Spec, Usage};
use scenario_kit::{selfstat, work};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SPEC: Spec = Spec {
    name: "ffi_cap",
    about: "N goroutines/tasks busy-loop in C (ffi) or locked to their thread (locked, locked_exit) while main computes (seed 002).",
    runtimes: &[Runtime::Gmp, Runtime::Tokio],
    params: &[
        ParamSpec {
            key: "mode",
            kind: Kind::Word(&[
                "ffi",
                "locked",
                "locked_exit",
                "raw_ffi",
                "spawn_blocking",
                "block_in_place",
                "direct",
            ]),
            default: "ffi",
            help: "gmp: ffi | locked | locked_exit | raw_ffi; tokio: spawn_blocking | block_in_place | direct",
        },
        ParamSpec {
            key: "n",
            kind: Kind::Int { min: 1, max: 1000 },
            default: "5",
            help: "busy goroutines/tasks",
        },
        ParamSpec {
            key: "procs",
            kind: Kind::Int { min: 1, max: 256 },
            default: "1",
            help: "GOMAXPROCS for gmp, worker_threads for tokio",
        },
    ],
};

fn main() {
    scenario_kit::run(SPEC, |ctx: Ctx| {
        let plan = Plan::of(&ctx)?;
        match ctx.runtime {
            Runtime::Gmp => on_gmp(&ctx, plan),
            Runtime::Tokio => on_tokio(&ctx, plan),
            Runtime::Go | Runtime::Threads => unreachable!("the kit refuses runtimes outside SPEC"),
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ffi,
    Locked,
    LockedExit,
    RawFfi,
    SpawnBlocking,
    BlockInPlace,
    Direct,
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    mode: Mode,
    n: usize,
    procs: usize,
    load: Duration,
}

impl Plan {
    fn of(ctx: &Ctx) -> anyhow::Result<Plan> {
        let p = &ctx.params;
        Ok(Plan {
            mode: mode_for(ctx.runtime, p.word("mode"))?,
            n: p.usize("n"),
            procs: p.usize("procs"),
            load: ctx.duration,
        })
    }
}

fn mode_for(rt: Runtime, word: &str) -> Result<Mode, Usage> {
    use Runtime::{Gmp, Tokio};
    scenario_kit::cli::mode_for(
        rt,
        word,
        &[
            (Gmp, "ffi", Mode::Ffi),
            (Gmp, "locked", Mode::Locked),
            (Gmp, "locked_exit", Mode::LockedExit),
            (Gmp, "raw_ffi", Mode::RawFfi),
            (Tokio, "spawn_blocking", Mode::SpawnBlocking),
            (Tokio, "block_in_place", Mode::BlockInPlace),
            (Tokio, "direct", Mode::Direct),
        ],
    )
}

/// How long main idles before the load: the probe's first run starts its
/// 1 ms grid, so a stall from the load's first instant is recorded as
/// lateness (a probe that has never run has no deadline to miss). On gmp
/// main's sleep hands the P to the probe goroutine (in runnext); on tokio
/// main first waits for a task spawned after the probe to have run.
const PROBE_SETTLE: Duration = Duration::from_millis(20);

/// What the N loops share: the stop flag of the locked loops, their
/// summed iterations and how many ended.
#[derive(Default)]
struct Loops {
    stop: AtomicBool,
    iters: AtomicU64,
    ended: AtomicUsize,
}

impl Loops {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    fn ended(&self, iters: u64) {
        self.iters.fetch_add(iters, Ordering::Relaxed);
        self.ended.fetch_add(1, Ordering::Release);
    }

    fn all_ended(&self, n: usize) -> bool {
        self.ended.load(Ordering::Acquire) >= n
    }
}

/// The C busy loop until `deadline` (at once if it has passed).
fn c_loop_until(deadline: Instant) -> u64 {
    c_shims::busy_loop(deadline.saturating_duration_since(Instant::now()))
}

// ---------------------------------------------------------------------------
// gmp: ffi, locked, locked_exit, raw_ffi

fn on_gmp(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    let builder = scenario_kit::gmp::Runtime::builder().procs(plan.procs);
    ctx.gmp(builder, move |ctx| spin_gmp(&ctx, plan))
}

fn spin_gmp(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    use scenario_kit::gmp;
    let loops = Arc::new(Loops::default());
    gmp::sleep(PROBE_SETTLE);
    ctx.phase("load_start");
    let start = Instant::now();
    let deadline = start + plan.load;
    for _ in 0..plan.n {
        let loops = loops.clone();
        gmp::go(move || loops.ended(busy_goroutine(plan.mode, &loops, deadline)));
    }
    let main = compute_until_gmp(start, deadline);
    let before = Tids::now();
    loops.stop.store(true, Ordering::Relaxed);
    while !loops.all_ended(plan.n) {
        gmp::sleep(Duration::from_millis(1));
    }
    ctx.phase("load_stop");
    record_load(ctx, plan, &loops, &main, start);
    ctx.metric("threads_created", gmp::stats().threads_created as f64);
    if plan.mode == Mode::LockedExit {
        settle_locked_exit(ctx, before, plan.n, gmp::sleep);
    }
    Ok(())
}

/// One of the N goroutines, as `mode` says; returns its loop's iterations.
/// C loops end at `deadline` (a raw one may hold the only P: nobody could
/// tell it to stop), locked loops when main says so, after it has counted
/// the threads they hold.
fn busy_goroutine(mode: Mode, loops: &Loops, deadline: Instant) -> u64 {
    use scenario_kit::gmp;
    match mode {
        Mode::Ffi => gmp::ffi(|| c_loop_until(deadline)),
        Mode::RawFfi => gmp::raw_syscall(|| c_loop_until(deadline)),
        Mode::Locked => {
            gmp::lock_os_thread();
            let n = rust_loop_gmp(loops);
            gmp::unlock_os_thread();
            n
        }
        // returns still locked: its M exits with it
        _ => {
            gmp::lock_os_thread();
            rust_loop_gmp(loops)
        }
    }
}

/// A Rust busy loop with a safepoint per round (where sysmon's preemption
/// request is honoured, as Go's asynchronous preemption would).
fn rust_loop_gmp(loops: &Loops) -> u64 {
    let mut n = 0u64;
    while loops.running() {
        n += 1;
        std::hint::black_box(n);
        scenario_kit::gmp::safepoint();
    }
    n
}

/// Main's work: arithmetic with a safepoint per chunk, from `start` until
/// `deadline`.
fn compute_until_gmp(start: Instant, deadline: Instant) -> Compute {
    let mut c = Compute::new(start);
    while c.chunk() < deadline {
        scenario_kit::gmp::safepoint();
    }
    c
}

/// Main's compute loop and the longest time it went without running: the
/// gap between two chunks (or from the load's start to the first one) is
/// time main spent without a P / a worker, which the probe cannot always
/// show (a goroutine that has never run yet has no deadline to be late
/// for).
struct Compute {
    x: u64,
    iters: u64,
    last: Instant,
    max_gap: Duration,
}

impl Compute {
    fn new(start: Instant) -> Compute {
        Compute {
            x: 1,
            iters: 0,
            last: start,
            max_gap: Duration::ZERO,
        }
    }

    /// One chunk; returns the time it ended.
    fn chunk(&mut self) -> Instant {
        let began = Instant::now();
        self.max_gap = self.max_gap.max(began - self.last);
        work::compute_chunk(&mut self.x);
        self.iters += 1;
        self.last = Instant::now();
        self.last
    }
}

/// `locked_exit`: waits (polling with `sleep`) until the n threads that
/// ran the locked loops have gone or 1 s has passed, then records the
/// count before/after and how many of the threads alive before are gone.
///
/// Why both: an M that exits hands its P off (`mexit` -> `handoffp`), and
/// if there is work (main, woken by the last loop) and no idle M, a new
/// thread is started for it, so the count may drop by less than the
/// threads that ended (real Go does this too). `threads_gone` counts the
/// terminations themselves: thread ids alive at `before` and absent now.
fn settle_locked_exit(ctx: &Ctx, before: Tids, n: usize, sleep: impl Fn(Duration)) {
    let start = Instant::now();
    let mut gone = before.gone_now();
    while gone < n && start.elapsed() < Duration::from_secs(1) {
        sleep(Duration::from_millis(5));
        gone = before.gone_now();
    }
    let after = selfstat::threads() as f64;
    ctx.phase("exit_settled");
    ctx.metric("threads_before_exit", before.count());
    ctx.metric("threads_after_exit", after);
    ctx.metric("threads_exited", before.count() - after);
    ctx.metric("threads_gone", gone as f64);
    ctx.metric("exit_settle_ms", start.elapsed().as_secs_f64() * 1e3);
}

/// The thread ids of this process at one instant (`/proc/self/task`).
struct Tids(Vec<String>);

impl Tids {
    fn now() -> Tids {
        let tids = std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        Tids(tids)
    }

    fn count(&self) -> f64 {
        self.0.len() as f64
    }

    /// How many of these threads no longer exist.
    fn gone_now(&self) -> usize {
        let now = Tids::now();
        self.0.iter().filter(|t| !now.0.contains(t)).count()
    }
}

// ---------------------------------------------------------------------------
// tokio: spawn_blocking, block_in_place, direct

fn on_tokio(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(plan.procs);
    ctx.tokio(&mut builder, move |ctx| async move {
        spin_tokio(&ctx, plan).await
    })
}

async fn spin_tokio(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    let loops = Arc::new(Loops::default());
    // the probe task was spawned (from this thread, into the same FIFO
    // injection queue) before this one: once this one has run, so has the
    // probe's first poll, which starts its grid, whatever the box's load
    tokio::spawn(async {}).await?;
    tokio::time::sleep(PROBE_SETTLE).await;
    ctx.phase("load_start");
    let start = Instant::now();
    let deadline = start + plan.load;
    let mut tasks = Vec::with_capacity(plan.n);
    for _ in 0..plan.n {
        let loops = loops.clone();
        tasks.push(tokio::spawn(async move {
            let iters = match plan.mode {
                Mode::SpawnBlocking => tokio::task::spawn_blocking(move || c_loop_until(deadline))
                    .await
                    .unwrap_or_default(),
                Mode::BlockInPlace => tokio::task::block_in_place(|| c_loop_until(deadline)),
                _ => c_loop_until(deadline), // direct: the worker spins
            };
            loops.ended(iters);
        }));
    }
    let main = tokio::spawn(compute_until_tokio(start, deadline)).await?;
    for t in tasks {
        t.await?;
    }
    ctx.phase("load_stop");
    record_load(ctx, plan, &loops, &main, start);
    Ok(())
}

/// "Main"'s work as a task on the workers (the Go code under the cap):
/// arithmetic, yielding every 1 ms.
async fn compute_until_tokio(start: Instant, deadline: Instant) -> Compute {
    let mut c = Compute::new(start);
    let mut slice = start;
    loop {
        let now = c.chunk();
        if now >= deadline {
            return c;
        }
        if now - slice >= Duration::from_millis(1) {
            tokio::task::yield_now().await;
            slice = Instant::now();
        }
    }
}

// ---------------------------------------------------------------------------
// The summary and /proc

fn record_load(ctx: &Ctx, plan: Plan, loops: &Loops, main: &Compute, start: Instant) {
    let iters = loops.iters.load(Ordering::Relaxed) as f64;
    match plan.mode {
        Mode::Locked | Mode::LockedExit => ctx.metric("go_loop_iters", iters),
        _ => ctx.metric("c_loop_iters", iters),
    }
    ctx.metric("main_iters", main.iters as f64);
    ctx.metric("main_max_gap_ms", main.max_gap.as_secs_f64() * 1e3);
    ctx.metric("loop_ms", plan.load.as_secs_f64() * 1e3);
    ctx.metric("load_s", start.elapsed().as_secs_f64());
}
