//! Scenario `baseline` (seed 002, first experiment): how many OS threads
//! does a program that does nothing have?
//!
//! The program starts its runtime, writes `load_start`, idles for
//! `--duration` with only the kit's 1 ms latency probe awake, writes
//! `load_stop` and exits. The runner counts the threads from outside
//! (/proc); the result is each runtime's thread floor as a function of its
//! processor count (`procs`):
//!
//! * gmp: `procs(procs)` — GOMAXPROCS in the model. Go's floor is the main
//!   M, sysmon's M, and Ms started for the first goroutines (GC workers,
//!   finalizer) while main is locked to its thread during init: 3 to 4 at
//!   GOMAXPROCS=1 (seed 002 saw 3), about 4 at 2 (real Go 1.19 on the lab
//!   machine, `reference/go/baseline`).
//! * tokio: a multi-thread runtime with `worker_threads = procs`: the main
//!   thread (blocked in `block_on`) plus the workers; the timer and I/O
//!   drivers have no thread of their own and the blocking pool starts
//!   empty, so the floor is `procs + 1`.
//! * go: not here: `reference/go/baseline/main.go` is the same program in Go.
//!
//! The body is the same in every column: phase, idle, phase. The probe
//! (a task/goroutine) is the only thing that wakes, once a millisecond; its
//! lateness at idle is each runtime's timer floor, the reference every
//! other scenario's probe figures are read against.

use scenario_kit::tokio;
use scenario_kit::{Ctx, Kind, ParamSpec, Runtime, Spec};

const SPEC: Spec = Spec {
    name: "baseline",
    about: "Idles for --duration with only the latency probe awake: the thread floor of each runtime (seed 002).",
    runtimes: &[Runtime::Gmp, Runtime::Tokio],
    params: &[ParamSpec {
        key: "procs",
        kind: Kind::Int { min: 1, max: 256 },
        default: "1",
        help: "processors: GOMAXPROCS for gmp, worker_threads for tokio",
    }],
};

fn main() {
    scenario_kit::run(SPEC, |ctx: Ctx| match ctx.runtime {
        Runtime::Tokio => idle_on_tokio(&ctx),
        Runtime::Gmp => idle_on_gmp(&ctx),
        Runtime::Go | Runtime::Threads => unreachable!("the kit refuses runtimes outside SPEC"),
    })
}

fn idle_on_tokio(ctx: &Ctx) -> anyhow::Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(ctx.params.usize("procs"));
    ctx.tokio(&mut builder, |ctx| async move {
        ctx.phase("load_start");
        tokio::time::sleep(ctx.duration).await;
        ctx.phase("load_stop");
        Ok(())
    })
}

fn idle_on_gmp(ctx: &Ctx) -> anyhow::Result<()> {
    let procs = ctx.params.usize("procs");
    ctx.gmp(scenario_kit::gmp::Runtime::builder().procs(procs), |ctx| {
        ctx.phase("load_start");
        scenario_kit::gmp::sleep(ctx.duration);
        ctx.phase("load_stop");
        Ok(())
    })
}
