//! Scenario `tight_loop` (golang/go#10958, "runtime: tight loops should be
//! preemptible"; the `gmp.asyncpreempt` knob, issue 15).
//!
//! # The incident
//!
//! Before Go 1.14 a goroutine was preempted only at a function prologue
//! (the stack check): a loop without calls never stopped. It held its P for
//! as long as it ran, and a stop-the-world (every GC starts with one) waited
//! for it with every other P already stopped: the whole program froze until
//! the loop ended. Go 1.14 added asynchronous preemption (sysmon and the
//! stop-the-world send SIGURG; the handler injects a call at the
//! interrupted instruction). `GODEBUG=asyncpreemptoff=1` switches it off
//! and brings the 1.13 behaviour back; gmp's `gmp.asyncpreempt=off` does
//! the same in the model (`preemptone` sends no signal, and a loop whose
//! only preemption points are `gmp::async_safe_point` never yields).
//!
//! # The workload
//!
//! `loopers` goroutines (tokio: tasks) each run a loop of pure arithmetic
//! with no call in it, calibrated before `load_start` to last `--duration`.
//! 50 ms into the load the main goroutine, which slept meanwhile, calls
//! `gc()` (gmp) / `runtime.GC()` (go) once (param `gc`; tokio has no
//! stop-the-world and no GC), then waits for the loops. The kit's 1 ms
//! probe runs beside them.
//!
//! * gmp: the loop body calls `gmp::async_safe_point()` once per iteration:
//!   the model of "every instruction here is an async safe point".
//! * go (`reference/go/tight_loop`): the same arithmetic in a `for` loop
//!   with no call; the kit re-executes the program with
//!   `GODEBUG=asyncpreemptoff=1` when `gmp.asyncpreempt=off`.
//! * tokio: the loop inside an async task, no `.await` in it. tokio never
//!   preempts a task (its co-operative budget is spent at `.await`s only):
//!   it is `asyncpreemptoff` by design, whatever the knob says (a knob off
//!   its default skips the tokio point).
//!
//! # Summary metrics (the same names as the go column)
//!
//! * `loop_ms`: the longest loop's wall time; `loop_end_ms`: when the
//!   first loop ended, from `load_start`;
//! * `gc_ms`: how long the `gc()` call took; `gc_end_ms`: when it returned,
//!   from `load_start`; `gc_after_loop`: 1 if it returned only after a loop
//!   had ended (the stop-the-world waited for it), else 0; `gc_wait_frac`:
//!   `gc_ms / loop_ms`, the share of the loop the GC waited (comparable
//!   across runs whose calibration differs);
//! * `main_late_ms`: how late main woke from its 50 ms sleep (all Ps held);
//! * `iters_per_ms`: the calibration; plus the kit's `probe_*`
//!   (`probe_max_us` is the longest the probe went without running).

use scenario_kit::tokio;
use scenario_kit::{Ctx, Kind, ParamSpec, Runtime, Spec};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SPEC: Spec = Spec {
    name: "tight_loop",
    about: "Goroutines in loops without calls while main runs a GC: does the stop-the-world wait for them? (golang/go#10958)",
    runtimes: &[Runtime::Gmp, Runtime::Tokio],
    params: &[
        ParamSpec {
            key: "procs",
            kind: Kind::Int { min: 1, max: 64 },
            default: "2",
            help: "GOMAXPROCS for gmp, worker_threads for tokio",
        },
        ParamSpec {
            key: "loopers",
            kind: Kind::Int { min: 1, max: 64 },
            default: "1",
            help: "goroutines (tasks) in a tight loop for the whole --duration",
        },
        ParamSpec {
            key: "gc",
            kind: Kind::Bool,
            default: "true",
            help: "main calls gc() (go: runtime.GC()) 50 ms into the load (ignored by tokio)",
        },
    ],
};

/// When main wakes to call gc(), from `load_start`.
const GC_AT: Duration = Duration::from_millis(50);

fn main() {
    scenario_kit::run(SPEC, |ctx: Ctx| {
        let plan = Plan::of(&ctx);
        match ctx.runtime {
            Runtime::Gmp => on_gmp(&ctx, plan),
            Runtime::Tokio => on_tokio(&ctx, plan),
            Runtime::Go | Runtime::Threads => unreachable!("the kit refuses runtimes outside SPEC"),
        }
    })
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    procs: usize,
    loopers: usize,
    gc: bool,
    load: Duration,
}

impl Plan {
    fn of(ctx: &Ctx) -> Plan {
        Plan {
            procs: ctx.params.usize("procs"),
            loopers: ctx.params.usize("loopers"),
            gc: ctx.params.bool("gc"),
            load: ctx.duration,
        }
    }
}

/// One step of the loop body: an LCG step, no call.
#[inline(always)]
fn step(x: u64) -> u64 {
    x.wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
}

/// The gmp loop: `n` steps, each an async safe point.
fn spin_gmp(n: u64) -> u64 {
    let mut x = 1u64;
    for _ in 0..n {
        x = step(std::hint::black_box(x));
        scenario_kit::gmp::async_safe_point();
    }
    x
}

/// The tokio loop: `n` steps and nothing else.
fn spin_plain(n: u64) -> u64 {
    let mut x = 1u64;
    for _ in 0..n {
        x = step(std::hint::black_box(x));
    }
    x
}

/// Loop iterations per millisecond of `spin`: doubles the count until one
/// run lasts 20 ms.
fn calibrate(spin: impl Fn(u64) -> u64) -> f64 {
    let mut n: u64 = 1 << 14;
    loop {
        let t = Instant::now();
        std::hint::black_box(spin(n));
        let e = t.elapsed();
        if e >= Duration::from_millis(20) {
            return n as f64 / (e.as_secs_f64() * 1000.0);
        }
        n *= 2;
    }
}

/// What the loops and main saw, from `load_start`.
#[derive(Default)]
struct Record {
    loop_ms: f64,
    loop_end_ms: Option<f64>,
    ended: usize,
}

/// A loop's record: its length from its own start, its end from
/// `load_start`.
fn finish_loop(rec: &Mutex<Record>, load_start: Instant, began: Instant) {
    let now = Instant::now();
    let mut r = rec.lock().unwrap_or_else(|p| p.into_inner());
    let len = (now - began).as_secs_f64() * 1000.0;
    r.loop_ms = r.loop_ms.max(len);
    let end = (now - load_start).as_secs_f64() * 1000.0;
    r.loop_end_ms = Some(r.loop_end_ms.map_or(end, |e| e.min(end)));
    r.ended += 1;
}

/// The summary metrics shared by every column.
fn report(ctx: &Ctx, rec: &Record, iters_per_ms: f64, main_late: Duration) {
    ctx.metric("loop_ms", rec.loop_ms);
    ctx.metric("loop_end_ms", rec.loop_end_ms.unwrap_or(f64::NAN));
    ctx.metric("iters_per_ms", iters_per_ms);
    ctx.metric("main_late_ms", main_late.as_secs_f64() * 1000.0);
}

fn on_gmp(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    use scenario_kit::gmp;
    let rt = gmp::Runtime::builder()
        .procs(plan.procs)
        .build()
        .map_err(|e| anyhow::anyhow!("building the gmp runtime: {e}"))?;
    ctx.gmp_on(rt, move |ctx| {
        let per_ms = calibrate(spin_gmp);
        let n = (per_ms * plan.load.as_secs_f64() * 1000.0) as u64;
        gmp::sleep(Duration::from_millis(20)); // the probe is up
        let rec = Arc::new(Mutex::new(Record::default()));
        ctx.phase("load_start");
        let load_start = Instant::now();
        for _ in 0..plan.loopers {
            let rec = rec.clone();
            gmp::go(move || {
                let began = Instant::now();
                std::hint::black_box(spin_gmp(n));
                finish_loop(&rec, load_start, began);
            });
        }
        gmp::sleep(GC_AT);
        let main_late = load_start.elapsed().saturating_sub(GC_AT);
        let gc_ms = plan.gc.then(|| {
            let t = Instant::now();
            gmp::gc();
            record_gc(&ctx, &rec, load_start, t)
        });
        while rec.lock().unwrap_or_else(|p| p.into_inner()).ended < plan.loopers {
            gmp::sleep(Duration::from_millis(1));
        }
        ctx.phase("load_stop");
        let r = rec.lock().unwrap_or_else(|p| p.into_inner());
        report(&ctx, &r, per_ms, main_late);
        if let Some(g) = gc_ms.filter(|_| r.loop_ms > 0.0) {
            ctx.metric("gc_wait_frac", g / r.loop_ms);
        }
        Ok(())
    })
}

/// gc_ms, gc_end_ms and gc_after_loop for a gc() call that began at `t`;
/// returns gc_ms.
fn record_gc(ctx: &Ctx, rec: &Mutex<Record>, load_start: Instant, t: Instant) -> f64 {
    let now = Instant::now();
    let end_ms = (now - load_start).as_secs_f64() * 1000.0;
    let gc_ms = (now - t).as_secs_f64() * 1000.0;
    ctx.metric("gc_ms", gc_ms);
    ctx.metric("gc_end_ms", end_ms);
    let loop_ended_before = rec
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .loop_end_ms
        .is_some_and(|e| e <= end_ms);
    ctx.metric("gc_after_loop", f64::from(u8::from(loop_ended_before)));
    gc_ms
}

fn on_tokio(ctx: &Ctx, plan: Plan) -> anyhow::Result<()> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.worker_threads(plan.procs);
    ctx.tokio(&mut b, move |ctx| async move {
        let per_ms = calibrate(spin_plain);
        let n = (per_ms * plan.load.as_secs_f64() * 1000.0) as u64;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let rec = Arc::new(Mutex::new(Record::default()));
        ctx.phase("load_start");
        let load_start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..plan.loopers {
            let rec = rec.clone();
            tasks.push(tokio::spawn(async move {
                let began = Instant::now();
                std::hint::black_box(spin_plain(n));
                finish_loop(&rec, load_start, began);
            }));
        }
        // main is block_on's future, on the main thread, not a worker.
        tokio::time::sleep(GC_AT).await;
        let main_late = load_start.elapsed().saturating_sub(GC_AT);
        for t in tasks {
            t.await?;
        }
        ctx.phase("load_stop");
        let r = rec.lock().unwrap_or_else(|p| p.into_inner());
        report(&ctx, &r, per_ms, main_late);
        Ok(())
    })
}
