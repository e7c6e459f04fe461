//! Scenario `sender_leak` (seeds 001 and 003): the goroutine leak that
//! reached 130,000 goroutines and gigabytes of memory.
//!
//! # The incident
//!
//! Seed 003: a server handed the self-monitoring metrics carried by client
//! heartbeats to an exporter goroutine through `make(chan ProcessMetric,
//! 1000)`. A customer configured no database, so the exporter returned at
//! once (`if len(config.Exporters) == 0 { return nil }`), but every heartbeat
//! still started a goroutine sending into the channel. Once the 1,000 buffer
//! slots were full, each of those goroutines parked in `chansend` (wait
//! reason "chan send", a sudog on the channel's send queue) for ever, with
//! its stack: 130,000 goroutines, GBs of RSS, found with pprof's
//! `goroutine?debug=1`. The fix: the sender checks the flag too. Seed 001
//! tells the same story and proposes a bounded pool (a 100-slot semaphore)
//! as the general remedy.
//!
//! # The workload (issue 5), the same in every column
//!
//! An exporter owns a buffered channel of capacity `cap` (5 as in seed 003's
//! reproduction, 1,000 as in the incident) and a config flag that is off;
//! its receiver returns at once. A producer on a fixed grid of `period_ms`
//! (1 ms; missed ticks are caught up, so sends ~= duration / period) starts
//! one sender per tick, which sends one value. Variants:
//!
//! * `leak`: seed 003 as written: senders past the buffer never return;
//! * `fixed_flag`: the sender checks the flag first (seed 003's fix);
//! * `fixed_done`: the sender selects between the send and a `done` signal
//!   the receiver raises when it returns (the cancellation idiom);
//! * `pool`: seed 001's `AsyncGoForHandle`: the producer takes one of
//!   `pool` (100) tokens before it starts a sender, the sender gives it back
//!   when its send completes. It turns the unbounded leak into
//!   back-pressure: `cap + pool` senders get started, the last `pool` hold
//!   every token for ever, and the producer blocks; `backpressure_ticks`
//!   counts the ticks that sent nothing (a heartbeat dropped on the floor,
//!   in the incident's terms);
//! * `flood`: no period: `flood_n` (1,000,000) leaking senders started as
//!   fast as one goroutine can, timed (`flood_s`, until every one has run
//!   and parked) with the memory each one costs.
//!
//! # Per runtime
//!
//! * gmp: `gmp::chan::<i64>(cap)`, `gmp::go` per sender, `gmp::select!` for
//!   `fixed_done`, a `gmp::chan::<()>(pool)` as the semaphore (the very code
//!   of seed 001). At the end the column writes `gmp::goroutine_dump()` as an
//!   event of kind `goroutine_dump`: "N @ chan send, created at
//!   scenarios/sender_leak/src/main.rs:LINE", next to the Go reference's
//!   pprof output.
//! * tokio: a bounded `mpsc::channel(cap)` and one `tokio::spawn` per
//!   sender. Tokio closes a channel when its `Receiver` is dropped, and a
//!   sender then gets an error instead of waiting, so a receiving *task*
//!   that returns cannot leak anything. The leak needs the `Receiver` to
//!   outlive the code meant to poll it, which is what seed 003 had: the
//!   channel lived in the exporter's config struct. Here too: the
//!   `Receiver` stays in the exporter, never polled. Leaked tasks are
//!   counted by the runtime (`tasks_alive` in the samples, from the kit).
//!   `fixed_done` selects on a `watch` channel the receiver drops; `pool`
//!   is a `Semaphore`.
//! * threads: one `std::thread` per send on a `sync_channel(cap)` (receiver
//!   kept, never read): the one-thread-per-task version leaks OS threads.
//!   std has no select: `fixed_done` tries the send and gives up on a full
//!   buffer once the receiver has said it is done. `flood` is refused (a
//!   million OS threads is not an experiment this machine can run).
//! * go: `reference/go/sender_leak` (same params, same summary names).
//!
//! # Measures
//!
//! Sample counters (every column): `sends`, `leaked_senders` (started −
//! finished) and `rss_kb`, plus each runtime's own alive count (gmp
//! `goroutines`, tokio `tasks_alive`; threads: the runner's thread count).
//! Summary: `sends`, `ticks_due`, `backpressure_ticks` (pool),
//! `leaked_senders`, `expected_leak` (= max(0, sends − cap) for leak and
//! flood), `leak_ratio`, `goroutines_start` / `goroutines_end` (the
//! runtime's own count: goroutines, alive tasks, or OS threads),
//! `rss_start_bytes`, `rss_end_bytes_self`, `bytes_per_goroutine` (RSS
//! growth / leaked, when >= 1,000 leaked), `bytes_per_leaked` (the slope of
//! a least-squares line through (leaked, RSS) points the producer records
//! every 100 ms from /proc/self/status), `flood_spawn_s`, `flood_s`, and for
//! gmp `dump_ms`.
//!
//! Invariants: a sender is counted `started` before it is spawned and
//! `finished` after its send (or its decision not to send) returned, so
//! `leaked_senders` never undercounts a parked sender; the exporter (and
//! with it the channel's receiving end) lives until the body returns, so no
//! column's channel is closed under its senders.

use scenario_kit::tokio;
use scenario_kit::{Ctx, Kind, ParamSpec, Runtime, Spec, Usage};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SPEC: Spec = Spec {
    name: "sender_leak",
    about: "Every period a sender goroutine/task/thread sends into a buffered channel whose only \
            receiver returned (seeds 001, 003); two fixes, a bounded pool, and a 1,000,000 flood.",
    runtimes: &[Runtime::Gmp, Runtime::Tokio, Runtime::Threads],
    params: &[
        ParamSpec {
            key: "variant",
            kind: Kind::Word(&["leak", "fixed_flag", "fixed_done", "pool", "flood"]),
            default: "leak",
            help: "the leak, its two fixes, seed 001's bounded pool, or a flood",
        },
        ParamSpec {
            key: "cap",
            kind: Kind::Int {
                min: 0,
                max: 1_000_000,
            },
            default: "5",
            help: "channel buffer capacity (tokio needs >= 1)",
        },
        ParamSpec {
            key: "period_ms",
            kind: Kind::Float {
                min: 0.001,
                max: 60_000.0,
            },
            default: "1",
            help: "one new sender every period, in ms",
        },
        ParamSpec {
            key: "pool",
            kind: Kind::Int {
                min: 1,
                max: 1_000_000,
            },
            default: "100",
            help: "pool variant: senders in flight at most",
        },
        ParamSpec {
            key: "flood_n",
            kind: Kind::Int {
                min: 1,
                max: 10_000_000,
            },
            default: "1000000",
            help: "flood variant: senders to leak",
        },
    ],
};

fn main() {
    scenario_kit::run(SPEC, |ctx: Ctx| {
        let w = Workload::from_params(&ctx)?;
        match ctx.runtime {
            Runtime::Gmp => on_gmp(&ctx, w),
            Runtime::Tokio => on_tokio(&ctx, w),
            Runtime::Threads => on_threads(&ctx, w),
            Runtime::Go => unreachable!("the kit refuses runtimes outside SPEC"),
        }
    })
}

// ------------------------------------------------------------ the workload

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Leak,
    FixedFlag,
    FixedDone,
    Pool,
    Flood,
}

#[derive(Debug, Clone, Copy)]
struct Workload {
    variant: Variant,
    cap: usize,
    period: Duration,
    pool: usize,
    flood_n: usize,
}

impl Workload {
    fn from_params(ctx: &Ctx) -> anyhow::Result<Workload> {
        let p = &ctx.params;
        let variant = match p.word("variant") {
            "leak" => Variant::Leak,
            "fixed_flag" => Variant::FixedFlag,
            "fixed_done" => Variant::FixedDone,
            "pool" => Variant::Pool,
            _ => Variant::Flood,
        };
        let w = Workload {
            variant,
            cap: p.usize("cap"),
            period: Duration::from_secs_f64(p.float("period_ms") / 1e3),
            pool: p.usize("pool"),
            flood_n: p.usize("flood_n"),
        };
        if ctx.runtime == Runtime::Tokio && w.cap == 0 {
            return Err(usage(
                "--set cap=0: tokio's bounded mpsc needs a capacity of at least 1",
            ));
        }
        if ctx.runtime == Runtime::Threads && variant == Variant::Flood {
            return Err(usage(
                "--set variant=flood: not on threads (one OS thread per sender: a million \
                 threads exceed kernel.pid_max); use --runtime gmp or tokio",
            ));
        }
        Ok(w)
    }

    /// Senders expected to stay parked: those past the buffer, for the
    /// variants that leak.
    fn expected_leak(&self, sends: i64) -> i64 {
        match self.variant {
            Variant::Leak | Variant::Flood => (sends - self.cap as i64).max(0),
            _ => 0,
        }
    }
}

fn usage(msg: &str) -> anyhow::Error {
    anyhow::Error::new(Usage(msg.to_string()))
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The producer's fixed grid: tick `k` is due at `start + k * period`; a
/// late producer catches up (sleeping until a past instant returns at once).
struct Ticks {
    start: Instant,
    next: Instant,
    period: Duration,
    deadline: Instant,
}

impl Ticks {
    fn new(period: Duration, duration: Duration) -> Ticks {
        let start = Instant::now();
        Ticks {
            start,
            next: start,
            period,
            deadline: start + duration,
        }
    }

    /// The instant of the next tick, or `None` past the deadline.
    fn advance(&mut self) -> Option<Instant> {
        self.next += self.period;
        (self.next <= self.deadline).then_some(self.next)
    }
}

// ------------------------------------------------------------ bookkeeping

/// Sender counts and the (leaked, RSS) points, shared by the columns.
struct Ledger {
    started: AtomicI64,
    finished: AtomicI64,
    /// flood: senders that began running (each parks right after).
    ran: AtomicI64,
    sends: scenario_kit::Counter,
    leaked: scenario_kit::Counter,
    rss_kb: scenario_kit::Counter,
    points: Mutex<RssPoints>,
}

struct RssPoints {
    last: Option<Instant>,
    xy: Vec<(f64, f64)>,
}

/// How often the producer records a (leaked, RSS) point.
const RSS_EVERY: Duration = Duration::from_millis(100);

impl Ledger {
    fn new(ctx: &Ctx) -> Arc<Ledger> {
        Arc::new(Ledger {
            started: AtomicI64::new(0),
            finished: AtomicI64::new(0),
            ran: AtomicI64::new(0),
            sends: ctx.counter("sends"),
            leaked: ctx.counter("leaked_senders"),
            rss_kb: ctx.counter("rss_kb"),
            points: Mutex::new(RssPoints {
                last: None,
                xy: Vec::new(),
            }),
        })
    }

    fn start_one(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.sends.add(1);
    }

    fn finish_one(&self) {
        self.finished.fetch_add(1, Ordering::Relaxed);
    }

    fn started(&self) -> i64 {
        self.started.load(Ordering::Relaxed)
    }

    fn leaked(&self) -> i64 {
        self.started() - self.finished.load(Ordering::Relaxed)
    }

    /// Records a (leaked, RSS) point and refreshes the counters, at most
    /// every [`RSS_EVERY`] unless `force`.
    fn note_rss(&self, force: bool) {
        let mut p = self.points.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if !force && p.last.is_some_and(|t| now - t < RSS_EVERY) {
            return;
        }
        p.last = Some(now);
        let (leaked, rss) = (self.leaked(), rss_bytes());
        self.leaked.set(leaked);
        self.rss_kb.set((rss / 1024) as i64);
        p.xy.push((leaked as f64, rss as f64));
    }

    /// Bytes of RSS per leaked sender: the least-squares slope of RSS
    /// against the leaked count, when the points span >= 1,000 senders.
    fn bytes_per_leaked(&self) -> Option<f64> {
        let p = self.points.lock().unwrap_or_else(|e| e.into_inner());
        slope(&p.xy)
    }
}

/// Least-squares slope of y on x; `None` with < 2 points or an x span
/// under 1,000 (too few senders to tell memory from noise).
fn slope(xy: &[(f64, f64)]) -> Option<f64> {
    let (lo, hi) = xy.iter().fold((f64::MAX, f64::MIN), |(l, h), (x, _)| {
        (l.min(*x), h.max(*x))
    });
    if xy.len() < 2 || hi - lo < 1000.0 {
        return None;
    }
    let (x, y): (Vec<f64>, Vec<f64>) = xy.iter().copied().unzip();
    schedlab_protocol::util::least_squares(&x, &y).map(|(slope, _)| slope)
}

/// VmRSS of this process in bytes (0 if unreadable).
fn rss_bytes() -> u64 {
    scenario_kit::selfstat::status_field(None, "VmRSS:").unwrap_or(0) * 1024
}

/// OS threads of this process (the `threads` column's alive count).
fn os_threads() -> u64 {
    scenario_kit::selfstat::threads()
}

/// What the column measured before the load.
struct Before {
    rss: u64,
}

/// Records the runtime's alive count and the RSS before the load.
fn before(ctx: &Ctx, alive: u64) -> Before {
    let b = Before { rss: rss_bytes() };
    ctx.metric("goroutines_start", alive as f64);
    ctx.metric("rss_start_bytes", b.rss as f64);
    b
}

/// Writes the summary metrics every column shares (see the top comment).
fn summarize(ctx: &Ctx, w: &Workload, ledger: &Ledger, before: &Before, alive_end: u64) {
    ledger.note_rss(true);
    let (sends, leaked, rss) = (ledger.started(), ledger.leaked(), rss_bytes());
    let expected = w.expected_leak(sends);
    ctx.metric("sends", sends as f64);
    ctx.metric("leaked_senders", leaked as f64);
    ctx.metric("expected_leak", expected as f64);
    if expected > 0 {
        ctx.metric("leak_ratio", leaked as f64 / expected as f64);
    }
    ctx.metric("goroutines_end", alive_end as f64);
    ctx.metric("rss_end_bytes_self", rss as f64);
    if leaked >= 1000 {
        let grown = rss as f64 - before.rss as f64;
        ctx.metric("bytes_per_goroutine", grown / leaked as f64);
    }
    if let Some(b) = ledger.bytes_per_leaked() {
        ctx.metric("bytes_per_leaked", b);
    }
}

/// ticks_due (what an ideal producer started since `start`), and for the
/// pool the ticks that started nothing.
fn record_ticks(ctx: &Ctx, w: &Workload, start: Instant, ledger: &Ledger) {
    let due = (start.elapsed().as_secs_f64() / w.period.as_secs_f64()) as i64;
    ctx.metric("ticks_due", due as f64);
    if w.variant == Variant::Pool {
        ctx.metric("backpressure_ticks", (due - ledger.started()) as f64);
    }
}

fn record_flood(ctx: &Ctx, spawn: Duration, took: Duration) {
    ctx.metric("flood_spawn_s", spawn.as_secs_f64());
    ctx.metric("flood_s", took.as_secs_f64());
}

// ------------------------------------------------------------ gmp

fn on_gmp(ctx: &Ctx, w: Workload) -> anyhow::Result<()> {
    let builder = scenario_kit::gmp::Runtime::builder().procs(cores());
    ctx.gmp(builder, move |ctx| gmp_column::run(&ctx, w))
}

mod gmp_column {
    //! The gmp column: seed 003's program, line for line, on the model's
    //! channels (`gmp::chan`, gmp/src/chan.rs: Go's chan.go).
    use super::*;
    use scenario_kit::gmp;
    use std::sync::atomic::AtomicBool;

    /// Seed 003's `Runner`: the channel, the config flag, the done channel.
    struct Exporter {
        input: gmp::Chan<i64>,
        flag: bool,
        done: gmp::Chan<()>,
    }

    /// The receiver goroutine: returns at once, the flag is off
    /// (`defer close(e.done)`).
    fn receive(e: &Exporter) {
        if e.flag {
            while e.input.recv().is_some() {}
        }
        e.done.close();
    }

    pub fn run(ctx: &Ctx, w: Workload) -> anyhow::Result<()> {
        let e = Arc::new(Exporter {
            input: gmp::chan(w.cap),
            flag: false,
            done: gmp::chan(0),
        });
        let e2 = e.clone();
        gmp::go(move || receive(&e2));
        let _ = e.done.recv(); // <-e.done: the receiver has returned
        let ledger = Ledger::new(ctx);
        let before = before(ctx, gmp::stats().goroutines);
        ledger.note_rss(true);
        ctx.phase("load_start");
        if w.variant == Variant::Flood {
            flood(ctx, &w, &e, &ledger);
        } else {
            produce(ctx, &w, &e, &ledger);
        }
        ctx.phase("load_stop");
        summarize(ctx, &w, &ledger, &before, gmp::stats().goroutines);
        let t = Instant::now();
        ctx.emit_goroutine_dump();
        ctx.metric("dump_ms", t.elapsed().as_secs_f64() * 1e3);
        Ok(())
    }

    fn sleep_until(at: Instant) {
        if let Some(d) = at.checked_duration_since(Instant::now()) {
            gmp::sleep(d);
        }
    }

    /// The heartbeat loop in a goroutine of its own (the pool's blocks
    /// for ever, as in Go); main sleeps until the deadline.
    fn produce(ctx: &Ctx, w: &Workload, e: &Arc<Exporter>, ledger: &Arc<Ledger>) {
        let sem: gmp::Chan<()> = gmp::chan(w.pool); // seed 001's LIMIT_G_NUM
        let mut ticks = Ticks::new(w.period, ctx.duration);
        let (start, deadline) = (ticks.start, ticks.deadline);
        let quit = Arc::new(AtomicBool::new(false));
        let (w2, e2, l2, q2) = (*w, e.clone(), ledger.clone(), quit.clone());
        gmp::go(move || {
            while let Some(at) = ticks.advance() {
                sleep_until(at);
                if q2.load(Ordering::Acquire) {
                    return;
                }
                if w2.variant == Variant::Pool {
                    sem.send(()); // parks when `pool` senders are in flight
                }
                spawn_sender(&w2, &e2, &l2, &sem);
                l2.note_rss(false);
            }
        });
        sleep_until(deadline);
        quit.store(true, Ordering::Release);
        record_ticks(ctx, w, start, ledger);
    }

    /// One heartbeat's sender goroutine, the variant's way. Each variant
    /// has its own `gmp::go` line: the goroutine dump names it.
    fn spawn_sender(w: &Workload, e: &Arc<Exporter>, ledger: &Arc<Ledger>, sem: &gmp::Chan<()>) {
        let i = ledger.started();
        ledger.start_one();
        let (e, l) = (e.clone(), ledger.clone());
        match w.variant {
            Variant::Leak | Variant::Flood => gmp::go(move || {
                e.input.send(i); // parks for ever once the buffer is full
                l.finish_one();
            }),
            Variant::FixedFlag => gmp::go(move || {
                if e.flag {
                    e.input.send(i);
                }
                l.finish_one();
            }),
            Variant::FixedDone => gmp::go(move || {
                gmp::select! {
                    send(e.input, i) => {},
                    recv(e.done) -> _closed => {},
                }
                l.finish_one();
            }),
            Variant::Pool => {
                let sem = sem.clone();
                gmp::go(move || {
                    e.input.send(i);
                    l.finish_one();
                    let _ = sem.recv(); // seed 001: give the token back
                })
            }
        }
    }

    /// `flood_n` leaking senders started back to back by main; waits until
    /// each has run (and parked, but for the `cap` that fit).
    fn flood(ctx: &Ctx, w: &Workload, e: &Arc<Exporter>, ledger: &Arc<Ledger>) {
        let start = Instant::now();
        for i in 0..w.flood_n as i64 {
            ledger.start_one();
            let (e, l) = (e.clone(), ledger.clone());
            gmp::go(move || {
                l.ran.fetch_add(1, Ordering::Relaxed);
                e.input.send(i);
                l.finish_one();
            });
        }
        let spawn = start.elapsed();
        while ledger.ran.load(Ordering::Relaxed) < w.flood_n as i64 {
            gmp::sleep(Duration::from_micros(100));
        }
        record_flood(ctx, spawn, start.elapsed());
        ctx.phase("flood_done");
        if let Some(rest) = ctx.duration.checked_sub(start.elapsed()) {
            gmp::sleep(rest);
        }
    }
}

// ------------------------------------------------------------ tokio

fn on_tokio(ctx: &Ctx, w: Workload) -> anyhow::Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(cores());
    ctx.tokio(&mut builder, move |ctx| async move {
        tokio_column::run(&ctx, w).await
    })
}

mod tokio_column {
    //! The tokio column: a bounded mpsc whose receiver is kept, never polled.
    use super::*;
    use tokio::sync::{Semaphore, mpsc, watch};

    /// Seed 003's `Runner`: the channel (both ends: the receiver stays
    /// here, see the top comment), the flag, and the done signal.
    struct Exporter {
        input: mpsc::Sender<i64>,
        kept_rx: Mutex<Option<mpsc::Receiver<i64>>>,
        flag: bool,
        done_tx: Mutex<Option<watch::Sender<()>>>,
        done: watch::Receiver<()>,
    }

    /// The receiving task: returns at once, the flag is off (dropping the
    /// done sender is `defer close(done)`).
    async fn receive(e: Arc<Exporter>) {
        let _close_done = e.done_tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if !e.flag {
            return;
        }
        let rx = e.kept_rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut rx) = rx {
            while rx.recv().await.is_some() {}
        }
    }

    fn alive_tasks() -> u64 {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks() as u64
    }

    pub async fn run(ctx: &Ctx, w: Workload) -> anyhow::Result<()> {
        let (input, rx) = mpsc::channel(w.cap);
        let (done_tx, done) = watch::channel(());
        let e = Arc::new(Exporter {
            input,
            kept_rx: Mutex::new(Some(rx)),
            flag: false,
            done_tx: Mutex::new(Some(done_tx)),
            done,
        });
        tokio::spawn(receive(e.clone())).await?;
        let ledger = Ledger::new(ctx);
        let before = before(ctx, alive_tasks());
        ledger.note_rss(true);
        ctx.phase("load_start");
        if w.variant == Variant::Flood {
            flood(ctx, &w, &e, &ledger).await;
        } else {
            produce(ctx, &w, &e, &ledger).await;
        }
        ctx.phase("load_stop");
        summarize(ctx, &w, &ledger, &before, alive_tasks());
        drop(e);
        Ok(())
    }

    /// The heartbeat loop in a task of its own (the pool's blocks for
    /// ever); the body sleeps until the deadline.
    async fn produce(ctx: &Ctx, w: &Workload, e: &Arc<Exporter>, ledger: &Arc<Ledger>) {
        let sem = Arc::new(Semaphore::new(w.pool));
        let ticks = Ticks::new(w.period, ctx.duration);
        let (deadline, start) = (ticks.deadline, ticks.start);
        let (w2, e2, l2) = (*w, e.clone(), ledger.clone());
        let producer = tokio::spawn(async move {
            let mut ticks = ticks;
            while let Some(at) = ticks.advance() {
                tokio::time::sleep_until(at.into()).await;
                let permit = match w2.variant {
                    // seed 001: LIMIT_G_NUM <- struct{}{} (waits when all are out)
                    Variant::Pool => sem.clone().acquire_owned().await.ok(),
                    _ => None,
                };
                spawn_sender(&w2, &e2, &l2, permit);
                l2.note_rss(false);
            }
        });
        tokio::time::sleep_until(deadline.into()).await;
        producer.abort();
        record_ticks(ctx, w, start, ledger);
    }

    /// One heartbeat's sender task, the variant's way.
    fn spawn_sender(
        w: &Workload,
        e: &Arc<Exporter>,
        ledger: &Arc<Ledger>,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) {
        let i = ledger.started();
        ledger.start_one();
        let (e, ledger) = (e.clone(), ledger.clone());
        match w.variant {
            Variant::Leak | Variant::Flood => tokio::spawn(async move {
                let _ = e.input.send(i).await; // pends for ever once the buffer is full
                ledger.finish_one();
            }),
            Variant::FixedFlag => tokio::spawn(async move {
                if e.flag {
                    let _ = e.input.send(i).await;
                }
                ledger.finish_one();
            }),
            Variant::FixedDone => tokio::spawn(async move {
                let mut done = e.done.clone();
                tokio::select! {
                    _ = e.input.send(i) => {}
                    _ = done.changed() => {} // Err at once: the receiver returned
                }
                ledger.finish_one();
            }),
            Variant::Pool => tokio::spawn(async move {
                let _token = permit; // seed 001: given back when the send completes
                let _ = e.input.send(i).await;
                ledger.finish_one();
            }),
        };
    }

    /// `flood_n` leaking senders spawned back to back; waits until each
    /// one has run (and parked, but for the `cap` that fit).
    async fn flood(ctx: &Ctx, w: &Workload, e: &Arc<Exporter>, ledger: &Arc<Ledger>) {
        let start = Instant::now();
        for i in 0..w.flood_n as i64 {
            ledger.start_one();
            let (e, l) = (e.clone(), ledger.clone());
            tokio::spawn(async move {
                l.ran.fetch_add(1, Ordering::Relaxed);
                let _ = e.input.send(i).await;
                l.finish_one();
            });
        }
        let spawn = start.elapsed();
        while ledger.ran.load(Ordering::Relaxed) < w.flood_n as i64 {
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        record_flood(ctx, spawn, start.elapsed());
        ctx.phase("flood_done");
        if let Some(rest) = ctx.duration.checked_sub(start.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
}

// ------------------------------------------------------------ threads

fn on_threads(ctx: &Ctx, w: Workload) -> anyhow::Result<()> {
    ctx.threads(|ctx| threads_column::run(&ctx, w))
}

mod threads_column {
    //! The threads column: a `std::thread` per send on a `sync_channel`.
    use super::*;
    use std::sync::Condvar;
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

    struct Exporter {
        input: SyncSender<i64>,
        /// Kept, never read: dropping it would make every send fail.
        _kept_rx: Mutex<Receiver<i64>>,
        flag: bool,
        done: AtomicBool,
    }

    /// A counting semaphore (seed 001's `LIMIT_G_NUM` channel).
    struct Tokens {
        free: Mutex<usize>,
        cv: Condvar,
    }

    impl Tokens {
        /// Takes a token, waiting until `deadline`; false if none came.
        fn acquire_until(&self, deadline: Instant) -> bool {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            while *free == 0 {
                let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                    return false;
                };
                free = self
                    .cv
                    .wait_timeout(free, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            *free -= 1;
            true
        }

        fn release(&self) {
            *self.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            self.cv.notify_one();
        }
    }

    pub fn run(ctx: &Ctx, w: Workload) -> anyhow::Result<()> {
        let (input, rx) = sync_channel(w.cap);
        let e = Arc::new(Exporter {
            input,
            _kept_rx: Mutex::new(rx),
            flag: false,
            done: AtomicBool::new(false),
        });
        let e2 = e.clone();
        let receiver = spawn_thread(ctx, move || {
            if !e2.flag {
                e2.done.store(true, Ordering::Release); // defer close(done)
            }
        });
        let _ = receiver.join();
        let ledger = Ledger::new(ctx);
        let before = before(ctx, os_threads());
        ledger.note_rss(true);
        ctx.phase("load_start");
        produce(ctx, &w, &e, &ledger);
        ctx.phase("load_stop");
        summarize(ctx, &w, &ledger, &before, os_threads());
        Ok(())
    }

    /// The heartbeat loop on this (main) thread.
    fn produce(ctx: &Ctx, w: &Workload, e: &Arc<Exporter>, ledger: &Arc<Ledger>) {
        let tokens = Arc::new(Tokens {
            free: Mutex::new(w.pool),
            cv: Condvar::new(),
        });
        let mut ticks = Ticks::new(w.period, ctx.duration);
        while let Some(at) = ticks.advance() {
            if let Some(d) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
            if w.variant == Variant::Pool && !tokens.acquire_until(ticks.deadline) {
                break; // back-pressure until the end of the run
            }
            spawn_sender(ctx, w, e, ledger, &tokens);
            ledger.note_rss(false);
        }
        if let Some(d) = ticks.deadline.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        record_ticks(ctx, w, ticks.start, ledger);
    }

    fn spawn_sender(
        ctx: &Ctx,
        w: &Workload,
        e: &Arc<Exporter>,
        ledger: &Arc<Ledger>,
        tokens: &Arc<Tokens>,
    ) {
        let i = ledger.started();
        ledger.start_one();
        let (e, l, t, variant) = (e.clone(), ledger.clone(), tokens.clone(), w.variant);
        spawn_thread(ctx, move || {
            match variant {
                Variant::Leak | Variant::Flood => {
                    let _ = e.input.send(i); // blocks for ever once the buffer is full
                }
                Variant::FixedFlag => {
                    if e.flag {
                        let _ = e.input.send(i);
                    }
                }
                Variant::FixedDone => {
                    if let Err(TrySendError::Full(v)) = e.input.try_send(i)
                        && !e.done.load(Ordering::Acquire)
                    {
                        let _ = e.input.send(v);
                    }
                }
                Variant::Pool => {
                    let _ = e.input.send(i);
                    t.release();
                }
            }
            l.finish_one();
        });
    }

    /// Spawns a thread; failing to (EAGAIN, ENOMEM: a resource ran out)
    /// ends the run as a `limit` event naming the limit.
    fn spawn_thread(ctx: &Ctx, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
        match std::thread::Builder::new().spawn(f) {
            Ok(h) => h,
            Err(err) => {
                let what = scenario_kit::limits::thread_limit(&err)
                    .unwrap_or_else(|| format!("threads: cannot create a thread: {err}"));
                ctx.limit(&what)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_is_bytes_per_sender_and_needs_a_span() {
        let xy: Vec<(f64, f64)> = (0..10)
            .map(|i| (i as f64 * 500.0, 1e6 + i as f64 * 500.0 * 4096.0))
            .collect();
        assert!((slope(&xy).unwrap() - 4096.0).abs() < 1e-6);
        assert_eq!(slope(&xy[..2]), None, "a span of 500 senders is too small");
        assert_eq!(slope(&[]), None);
    }

    #[test]
    fn expected_leak_is_what_does_not_fit_and_only_for_leaking_variants() {
        let mut w = Workload {
            variant: Variant::Leak,
            cap: 5,
            period: Duration::from_millis(1),
            pool: 100,
            flood_n: 10,
        };
        assert_eq!(w.expected_leak(2000), 1995);
        assert_eq!(w.expected_leak(3), 0);
        w.variant = Variant::Pool;
        assert_eq!(w.expected_leak(2000), 0);
    }
}
