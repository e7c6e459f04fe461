//! Scenario `syscalls` (seed 002: fast, slow and raw system calls, and what
//! they do to a runtime's thread count).
//!
//! # The incident
//!
//! Seed 002 counts a Go program's threads while goroutines make system
//! calls. Six goroutines calling `getpid` (0.2 us) leave the three threads
//! of hello world: a call that short is over before sysmon looks. Six
//! goroutines in a 68 us `open` leave eight: `syscall.Syscall` brackets the
//! call with `entersyscall`/`exitsyscall`, sysmon's `retake` sees the P sit
//! in `_Psyscall` for more than one tick (20 us at first) and hands it off
//! (`handoffp` -> `startm`), and a new thread runs the other goroutines
//! when no idle M is left. `syscall.RawSyscall` has no hooks: sysmon never
//! sees it, the goroutine keeps its P for the whole call, no thread is
//! created, and the P (everything queued behind it) waits. And the threads
//! never exit: an M back from a syscall with no P parks on the idle list.
//!
//! # The workload (issue 4)
//!
//! * K goroutines/tasks loop, for the load phase, on one system call of
//!   length `d_us`: `nanosleep(d_us)` from C (`c-shims`), or `getpid` when
//!   `d_us` is 0;
//! * W compute goroutines/tasks stay runnable beside them (they matter:
//!   with nothing else runnable and a P idle, `retake` leaves a P in a
//!   syscall alone for up to 10 ms, so w = 0 shows fewer hand-offs);
//! * the kit's 1 ms latency probe;
//! * then a tail phase with no load: do the threads go away?
//!
//! Phases: `load_start`, `load_stop`, `tail_stop`. `--duration` is load +
//! tail; the tail is `tail_ms`, or 40% of the duration when `tail_ms` is -1
//! (the default), as in `reference/go/syscalls`.
//!
//! # Per runtime: the variants
//!
//! * gmp (and go, in `reference/go/syscalls`), axis `mode`:
//!   - `wrapped`: `gmp::syscall(|| call)` — Go's `syscall.Syscall`. The
//!     idiomatic call. Fast calls add nothing; slow ones add threads, about
//!     one per goroutine sitting in a call at once, and they stay.
//!   - `raw`: `gmp::raw_syscall(|| call)` — Go's `RawSyscall`. No thread,
//!     but the P is held through the call: the probe's lateness shows it.
//! * tokio, axis `mode`:
//!   - `direct`: the blocking call inside an async task (the mistake): the
//!     worker is blocked for the call, no thread is added, everything else
//!     on that worker waits (the probe's p99 grows with k × d at procs 1);
//!   - `block_in_place`: the worker hands its core to another thread for
//!     the call (tokio's `entersyscallblock`, done every time, not after a
//!     sysmon tick): threads grow even for short calls;
//!   - `spawn_blocking`: the idiomatic fix: the call runs on the blocking
//!     pool, about one pool thread per call in flight; idle pool threads
//!     exit after the pool's keep-alive (`keepalive_ms`, tokio's default
//!     10 s), which is the one place the tail differs from Go.
//!
//! Each task makes one call per iteration, then (tokio) yields with
//! `yield_now().await`, or (gmp) passes a `gmp::safepoint()`: the loop is
//! cooperative everywhere except inside the call itself, which is the
//! variable under test.
//!
//! # Timer slack and the real duration
//!
//! The kernel pads a sleeping thread's timer by its timer slack (50 us by
//! default): a 5 us nanosleep really takes about 55-60 us, so the short
//! durations never happen. `slack=1` sets the main thread's slack to 1 ns
//! with `prctl(PR_SET_TIMERSLACK)` before the runtime exists; every
//! runtime thread is created afterwards, from it or its descendants, and
//! inherits it. The summary carries the slack in force on every thread at
//! the end (`timerslack_ns_min`, `timerslack_ns_max`).
//!
//! Whatever was asked, the scenario measures what one call really takes:
//! before `load_start`, up to 200 calls (at least 5, at most ~10 ms' worth)
//! on the main goroutine/thread with no scheduler hook (`raw_syscall` on
//! gmp, a plain call on tokio's `block_on` thread): `syscall_real_us` is
//! their median, the x axis of the plots. During the load every worker also
//! records the C-measured duration of each call (`syscall_kernel_p50_us`)
//! and the duration seen from the task around the runtime's wrapper
//! (`syscall_call_p50_us`/`_p99_us`: with `wrapped` it includes
//! `exitsyscall`'s wait for a P, with `spawn_blocking` the round trip
//! through the pool).
//!
//! # Summary metrics (the same names as the go column)
//!
//! `syscall_real_us`, `syscall_real_p99_us`, `syscall_real_n`,
//! `syscall_call_p50_us`, `syscall_call_p99_us`, `syscall_kernel_p50_us`,
//! `syscalls`, `syscalls_per_s`, `compute_iters`, `threads_self_load_stop`,
//! `threads_self_tail_stop` (`/proc/self/status` Threads at those phases),
//! `threads_created_load`, `threads_created` (gmp: Ms created, as Go's
//! threadcreate profile counts), `timerslack_ns_min`, `timerslack_ns_max`,
//! `load_s`, `tail_s`; plus the kit's `probe_*`. gmp only: `retakes_load`
//! (sysmon's retakes of Ps in syscalls by load_stop; Go does not count
//! them).

use scenario_kit::hist::Histogram;
use scenario_kit::tokio;
use scenario_kit::{Counter, Ctx, Kind, ParamSpec, Runtime, Spec, Usage};
use scenario_kit::{selfstat, work};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SPEC: Spec = Spec {
    name: "syscalls",
    about: "K goroutines/tasks loop on a syscall of d_us (nanosleep; 0 = getpid) beside W compute loops, then an idle tail (seed 002).",
    runtimes: &[Runtime::Gmp, Runtime::Tokio],
    params: &[
        ParamSpec {
            key: "mode",
            kind: Kind::Word(&[
                "wrapped",
                "raw",
                "direct",
                "block_in_place",
                "spawn_blocking",
            ]),
            default: "wrapped",
            help: "how the call is made. gmp: wrapped (gmp::syscall) | raw (gmp::raw_syscall); \
                   tokio: direct | block_in_place | spawn_blocking",
        },
        ParamSpec {
            key: "d_us",
            kind: Kind::Int {
                min: 0,
                max: 1_000_000,
            },
            default: "1000",
            help: "nanosleep length in us; 0 = getpid",
        },
        ParamSpec {
            key: "k",
            kind: Kind::Int { min: 1, max: 5000 },
            default: "6",
            help: "goroutines/tasks looping on the syscall",
        },
        ParamSpec {
            key: "w",
            kind: Kind::Int { min: 0, max: 256 },
            default: "1",
            help: "compute goroutines/tasks that stay runnable",
        },
        ParamSpec {
            key: "procs",
            kind: Kind::Int { min: 1, max: 256 },
            default: "1",
            help: "GOMAXPROCS for gmp, worker_threads for tokio",
        },
        ParamSpec {
            key: "slack",
            kind: Kind::Bool,
            default: "false",
            help: "set the timer slack of every thread to 1 ns (PR_SET_TIMERSLACK)",
        },
        ParamSpec {
            key: "tail_ms",
            kind: Kind::Int {
                min: -1,
                max: 3_600_000,
            },
            default: "-1",
            help: "idle tail after the load, ms; -1 = 40% of --duration",
        },
        ParamSpec {
            key: "keepalive_ms",
            kind: Kind::Int {
                min: 1,
                max: 3_600_000,
            },
            default: "10000",
            help: "tokio only: the blocking pool's thread keep-alive (tokio's default 10 s)",
        },
    ],
};

fn main() {
    scenario_kit::run(SPEC, |ctx: Ctx| {
        let plan = Plan::of(&ctx)?;
        if plan.slack {
            set_slack_before_any_thread()?;
        }
        match ctx.runtime {
            Runtime::Gmp => on_gmp(&ctx, plan),
            Runtime::Tokio => on_tokio(&ctx, plan),
            Runtime::Go | Runtime::Threads => unreachable!("the kit refuses runtimes outside SPEC"),
        }
    })
}

// ---------------------------------------------------------------------------
// The plan: checked params

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Wrapped,
    Raw,
    Direct,
    BlockInPlace,
    SpawnBlocking,
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    mode: Mode,
    /// Zero: getpid.
    d: Duration,
    k: usize,
    w: usize,
    procs: usize,
    slack: bool,
    load: Duration,
    tail: Duration,
    keepalive: Duration,
}

impl Plan {
    fn of(ctx: &Ctx) -> anyhow::Result<Plan> {
        let p = &ctx.params;
        let mode = mode_for(ctx.runtime, p.word("mode"))?;
        let tail = match p.int("tail_ms") {
            -1 => ctx.duration * 4 / 10,
            ms => Duration::from_millis(ms as u64),
        };
        if tail >= ctx.duration {
            return Err(Usage(format!(
                "tail_ms={} leaves no load in --duration {:?}",
                p.int("tail_ms"),
                ctx.duration
            ))
            .into());
        }
        Ok(Plan {
            mode,
            d: Duration::from_micros(p.usize("d_us") as u64),
            k: p.usize("k"),
            w: p.usize("w"),
            procs: p.usize("procs"),
            slack: p.bool("slack"),
            load: ctx.duration - tail,
            tail,
            keepalive: Duration::from_millis(p.usize("keepalive_ms") as u64),
        })
    }
}

fn mode_for(rt: Runtime, word: &str) -> Result<Mode, Usage> {
    use Runtime::{Gmp, Tokio};
    scenario_kit::cli::mode_for(
        rt,
        word,
        &[
            (Gmp, "wrapped", Mode::Wrapped),
            (Gmp, "raw", Mode::Raw),
            (Tokio, "direct", Mode::Direct),
            (Tokio, "block_in_place", Mode::BlockInPlace),
            (Tokio, "spawn_blocking", Mode::SpawnBlocking),
        ],
    )
}

// ---------------------------------------------------------------------------
// The call, the compute loop and what they record (shared by both columns)

/// One system call of length `d` (getpid when zero); returns its duration
/// as measured around the bare call (in C for nanosleep).
fn one_call(d: Duration) -> Duration {
    if d.is_zero() {
        let t = Instant::now();
        std::hint::black_box(c_shims::getpid());
        t.elapsed()
    } else {
        c_shims::nanosleep(d)
    }
}

/// Median and p99 of up to 200 calls made through `call` (at least 5, and
/// no more after ~10 ms), in us.
struct Calibration {
    p50_us: f64,
    p99_us: f64,
    n: usize,
}

fn calibrate(mut call: impl FnMut() -> Duration) -> Calibration {
    let begin = Instant::now();
    let mut ns = Vec::with_capacity(200);
    while ns.len() < 200 && (ns.len() < 5 || begin.elapsed() < Duration::from_millis(10)) {
        ns.push(call().as_nanos() as f64);
    }
    ns.sort_by(f64::total_cmp);
    let q = |f: f64| ns[(f * (ns.len() - 1) as f64) as usize] / 1e3;
    Calibration {
        p50_us: q(0.5),
        p99_us: q(0.99),
        n: ns.len(),
    }
}

/// What the load's loops share: the stop flag, how many loops have ended,
/// the merged call histograms (in ns) and the compute iterations.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    ended: AtomicUsize,
    /// Around the runtime's wrapper, as the goroutine/task sees it.
    call_ns: Mutex<Histogram>,
    /// Inside the bare call (C-measured for nanosleep).
    kernel_ns: Mutex<Histogram>,
    compute_iters: AtomicU64,
}

impl Load {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    fn merge(&self, call: &Histogram, kernel: &Histogram) {
        lock(&self.call_ns).merge(call);
        lock(&self.kernel_ns).merge(kernel);
        self.ended.fetch_add(1, Ordering::Release);
    }

    fn add_compute(&self, iters: u64) {
        self.compute_iters.fetch_add(iters, Ordering::Relaxed);
        self.ended.fetch_add(1, Ordering::Release);
    }

    fn all_ended(&self, loops: usize) -> bool {
        self.ended.load(Ordering::Acquire) >= loops
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One syscall loop's own records, merged into [`Load`] when it ends.
struct CallLog {
    call: Histogram,
    kernel: Histogram,
    calls: Counter,
    pending: i64,
}

impl CallLog {
    fn new(calls: Counter) -> CallLog {
        CallLog {
            call: Histogram::new(),
            kernel: Histogram::new(),
            calls,
            pending: 0,
        }
    }

    fn record(&mut self, seen: Duration, kernel: Duration) {
        self.call.record(seen.as_nanos() as u64);
        self.kernel.record(kernel.as_nanos() as u64);
        self.pending += 1;
        if self.pending == 16 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.calls.add(self.pending);
        self.pending = 0;
    }

    fn finish(mut self, load: &Load) {
        self.flush();
        load.merge(&self.call, &self.kernel);
    }
}

// ---------------------------------------------------------------------------
// gmp: wrapped and raw

fn on_gmp(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    let builder = scenario_kit::gmp::Runtime::builder().procs(plan.procs);
    ctx.gmp(builder, move |ctx| load_and_tail_gmp(&ctx, plan))
}

fn load_and_tail_gmp(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    use scenario_kit::gmp;
    record_calibration(ctx, calibrate(|| gmp::raw_syscall(|| one_call(plan.d))));
    let load = Arc::new(Load::default());
    ctx.phase("load_start");
    let start = Instant::now();
    for _ in 0..plan.k {
        let (load, calls) = (load.clone(), ctx.counter("syscalls"));
        gmp::go(move || syscall_loop_gmp(&load, plan, calls));
    }
    for _ in 0..plan.w {
        let load = load.clone();
        gmp::go(move || compute_loop_gmp(&load));
    }
    gmp::sleep(plan.load);
    load.stop.store(true, Ordering::Relaxed);
    while !load.all_ended(plan.k + plan.w) {
        gmp::sleep(Duration::from_millis(1));
    }
    let load_s = start.elapsed().as_secs_f64();
    ctx.phase("load_stop");
    ctx.metric("threads_self_load_stop", selfstat::threads() as f64);
    ctx.metric("threads_created_load", gmp::stats().threads_created as f64);
    // sysmon's retakes of Ps in syscalls (the retake knobs move it)
    ctx.metric("retakes_load", gmp::stats().retakes as f64);
    gmp::sleep(plan.tail);
    ctx.phase("tail_stop");
    ctx.metric("threads_self_tail_stop", selfstat::threads() as f64);
    ctx.metric("threads_created", gmp::stats().threads_created as f64);
    record_load(ctx, &load, load_s, plan.tail);
    Ok(())
}

/// One of the K goroutines: the call through `gmp::syscall` (entersyscall
/// .. exitsyscall: sysmon may retake the P) or `gmp::raw_syscall` (no
/// hooks: the P is held), then a safepoint, as any Go loop has.
fn syscall_loop_gmp(load: &Load, plan: Plan, calls: Counter) {
    use scenario_kit::gmp;
    let mut log = CallLog::new(calls);
    while load.running() {
        let t = Instant::now();
        let kernel = match plan.mode {
            Mode::Raw => gmp::raw_syscall(|| one_call(plan.d)),
            _ => gmp::syscall(|| one_call(plan.d)),
        };
        log.record(t.elapsed(), kernel);
        gmp::safepoint();
    }
    log.finish(load);
}

/// One of the W compute goroutines: always runnable; a safepoint per chunk
/// (sysmon preempts it there after 10 ms, as Go's async preemption would).
fn compute_loop_gmp(load: &Load) {
    let (mut x, mut n) = (1u64, 0u64);
    while load.running() {
        work::compute_chunk(&mut x);
        n += 1;
        scenario_kit::gmp::safepoint();
    }
    load.add_compute(n);
}

// ---------------------------------------------------------------------------
// tokio: direct, block_in_place, spawn_blocking

fn on_tokio(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(plan.procs)
        .thread_keep_alive(plan.keepalive);
    ctx.tokio(&mut builder, move |ctx| async move {
        load_and_tail_tokio(&ctx, plan).await
    })
}

async fn load_and_tail_tokio(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    // on the block_on thread (main, not a worker): nothing else waits on it
    record_calibration(ctx, calibrate(|| one_call(plan.d)));
    let load = Arc::new(Load::default());
    ctx.phase("load_start");
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(plan.k + plan.w);
    for _ in 0..plan.k {
        let (load, calls) = (load.clone(), ctx.counter("syscalls"));
        tasks.push(tokio::spawn(syscall_loop_tokio(load, plan, calls)));
    }
    for _ in 0..plan.w {
        tasks.push(tokio::spawn(compute_loop_tokio(load.clone())));
    }
    tokio::time::sleep(plan.load).await;
    load.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    let load_s = start.elapsed().as_secs_f64();
    ctx.phase("load_stop");
    ctx.metric("threads_self_load_stop", selfstat::threads() as f64);
    tokio::time::sleep(plan.tail).await;
    ctx.phase("tail_stop");
    ctx.metric("threads_self_tail_stop", selfstat::threads() as f64);
    record_load(ctx, &load, load_s, plan.tail);
    Ok(())
}

/// One of the K tasks: the call made as `mode` says, then a yield (the
/// task is otherwise cooperative: only the call itself is under test).
async fn syscall_loop_tokio(load: Arc<Load>, plan: Plan, calls: Counter) {
    let mut log = CallLog::new(calls);
    while load.running() {
        let t = Instant::now();
        let kernel = match plan.mode {
            Mode::BlockInPlace => tokio::task::block_in_place(|| one_call(plan.d)),
            Mode::SpawnBlocking => tokio::task::spawn_blocking(move || one_call(plan.d))
                .await
                .unwrap_or_default(),
            _ => one_call(plan.d), // direct: the worker itself blocks
        };
        log.record(t.elapsed(), kernel);
        tokio::task::yield_now().await;
    }
    log.finish(&load);
}

/// One of the W compute tasks: always runnable, yielding every 1 ms of
/// compute (a well-behaved CPU task; Go preempts at 10 ms).
async fn compute_loop_tokio(load: Arc<Load>) {
    let (mut x, mut n) = (1u64, 0u64);
    let mut slice = Instant::now();
    while load.running() {
        work::compute_chunk(&mut x);
        n += 1;
        if n % 16 == 0 && slice.elapsed() >= Duration::from_millis(1) {
            tokio::task::yield_now().await;
            slice = Instant::now();
        }
    }
    load.add_compute(n);
}

// ---------------------------------------------------------------------------
// The summary, /proc and the timer slack

fn record_calibration(ctx: &Ctx, c: Calibration) {
    ctx.metric("syscall_real_us", c.p50_us);
    ctx.metric("syscall_real_p99_us", c.p99_us);
    ctx.metric("syscall_real_n", c.n as f64);
}

fn record_load(ctx: &Ctx, load: &Load, load_s: f64, tail: Duration) {
    let call = lock(&load.call_ns);
    let kernel = lock(&load.kernel_ns);
    if let (Some(p50), Some(p99)) = (call.quantile(0.5), call.quantile(0.99)) {
        ctx.metric("syscall_call_p50_us", p50 / 1e3);
        ctx.metric("syscall_call_p99_us", p99 / 1e3);
    }
    if let Some(p50) = kernel.quantile(0.5) {
        ctx.metric("syscall_kernel_p50_us", p50 / 1e3);
    }
    ctx.metric("syscalls", call.len() as f64);
    ctx.metric("syscalls_per_s", call.len() as f64 / load_s.max(1e-9));
    let iters = load.compute_iters.load(Ordering::Relaxed);
    ctx.metric("compute_iters", iters as f64);
    ctx.metric("load_s", load_s);
    ctx.metric("tail_s", tail.as_secs_f64());
    if let Some((lo, hi)) = slack_range() {
        ctx.metric("timerslack_ns_min", lo);
        ctx.metric("timerslack_ns_max", hi);
    }
}

/// Sets this (the main) thread's timer slack to 1 ns. Called before the
/// runtime is built: every runtime thread descends from this one and
/// inherits the slack (Linux copies it at clone).
fn set_slack_before_any_thread() -> anyhow::Result<()> {
    c_shims::set_timerslack(Duration::from_nanos(1))
        .map_err(|e| anyhow::anyhow!("prctl(PR_SET_TIMERSLACK, 1): {e}"))
}

/// The smallest and largest timer slack over the process's threads
/// (`/proc/<tid>/timerslack_ns`: a thread-group entry, reachable by tid).
fn slack_range() -> Option<(f64, f64)> {
    let tids = std::fs::read_dir("/proc/self/task").ok()?;
    let slacks: Vec<f64> = tids
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = format!("/proc/{}/timerslack_ns", e.file_name().to_string_lossy());
            std::fs::read_to_string(path).ok()?.trim().parse().ok()
        })
        .collect();
    let lo = slacks.iter().copied().reduce(f64::min)?;
    let hi = slacks.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}
