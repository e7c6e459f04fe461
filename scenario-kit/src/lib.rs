//! scenario-kit: what every scenario binary shares, so that a scenario file
//! holds only its workload.
//!
//! A scenario's `main` reads like this:
//!
//! ```no_run
//! use scenario_kit::tokio; // the kit's tokio: one version in the workspace
//! use scenario_kit::{Ctx, Kind, ParamSpec, Runtime, Spec};
//!
//! const SPEC: Spec = Spec {
//!     name: "demo",
//!     about: "idles for the duration",
//!     runtimes: &[Runtime::Tokio, Runtime::Threads],
//!     params: &[ParamSpec { key: "procs", kind: Kind::Int { min: 1, max: 256 }, default: "1", help: "Ps" }],
//! };
//!
//! fn main() {
//!     scenario_kit::run(SPEC, |ctx: Ctx| match ctx.runtime {
//!         Runtime::Tokio => {
//!             let mut b = tokio::runtime::Builder::new_multi_thread();
//!             b.worker_threads(ctx.params.usize("procs"));
//!             ctx.tokio(&mut b, |ctx| async move {
//!                 ctx.phase("load_start");
//!                 tokio::time::sleep(ctx.duration).await;
//!                 ctx.phase("load_stop");
//!                 Ok(())
//!             })
//!         }
//!         _ => ctx.threads(|ctx| {
//!             std::thread::sleep(ctx.duration);
//!             Ok(())
//!         }),
//!     })
//! }
//! ```
//!
//! The life of a scenario process, as [`run`] drives it:
//!
//! 1. parse and check the command line against the [`Spec`] plus the
//!    scheduler [`knobs`] every scenario accepts ([`cli`]); any user
//!    mistake: a message and exit 2, before anything else happens;
//!    1b. a knob off its default: the gmp column re-executes itself once
//!    with it in `GMP_DEBUG`; a column without that switch writes `hello`
//!    and an `event` of kind `skip` and exits 4 ([`knobs`]);
//! 2. open the metrics sink ([`emit`]): the fd in `SCHEDLAB_METRICS_FD`, or
//!    stdout; write `hello` (protocol version, scenario, runtime, every
//!    param with defaults filled and the knobs given, pid);
//! 3. call the scenario's body with a [`Ctx`]. The body builds the runtime
//!    it wants and hands it to a runtime adapter ([`Ctx::tokio`],
//!    [`Ctx::threads`], [`Ctx::gmp`]), which starts the 1 ms latency
//!    [`probe`] *inside that runtime* (a tokio task, a goroutine, a thread),
//!    runs the workload, stops the probe and keeps its whole-run stats;
//! 4. write `summary` (probe_p50_us, probe_p99_us, probe_max_us, probe_n
//!    and whatever the body put in with [`Ctx::metric`]) and exit 0.
//!    A body error is written as an `event` of kind `error` and exits 1; a
//!    system limit ([`Ctx::limit`]) as an `event` of kind `limit` and exits
//!    3 ([`limits::LIMIT_EXIT_CODE`]). Neither writes a summary: the
//!    protocol's rule is that a summary means the run completed.
//!
//! Invariants: exactly one `hello` first and at most one `summary` last
//! (the adapters are the only place the probe runs, and `run` writes the
//! summary after the body returned); the kit adds no thread of its own to
//! the gmp and tokio columns (the probe and its sampler are a task or a
//! goroutine), so the thread counts the runner measures are the runtime's;
//! the process ends with `std::process::exit`, so a runtime that still has
//! threads parked in blocking work cannot hold it open after the summary.
//!
//! The scenarios' integration tests share [`testing`]: running a scenario
//! binary and collecting its protocol lines, stderr/stdout, status and
//! thread counts, usage-error checks, and judging a sweep.yaml's verdicts.

pub mod cli;
pub mod emit;
pub mod hist;
pub mod knobs;
pub mod limits;
pub mod probe;
pub mod rt_gmp;
mod rt_threads;
pub mod rt_tokio;
pub mod selfstat;
pub mod testing;
pub mod work;

pub use cli::{Kind, ParamSpec, Params, Runtime, Spec, Usage};
pub use emit::{Clock, Emitter};
pub use probe::{Counter, Counters};

/// The tokio the kit's adapter is built against: scenarios use this one, so
/// there is one tokio in the workspace and no version to keep in step.
pub use tokio;

/// The gmp crate itself, for scenarios' gmp arms.
pub use gmp;

use schedlab_protocol::metrics::{Line, PROTOCOL_VERSION, ProbeStats};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Everything a scenario body needs. Cheap to clone (an `Arc` inside), and
/// `Send + Sync`: pass clones into tasks and goroutines.
#[derive(Clone)]
pub struct Ctx {
    /// The runtime chosen with `--runtime`.
    pub runtime: Runtime,
    /// `--duration`: how long the scenario's load (or idle) lasts.
    pub duration: Duration,
    /// `--sample-ms`.
    pub sample_every: Duration,
    /// `--set` values with defaults filled.
    pub params: Params,
    shared: Arc<Shared>,
}

struct Shared {
    spec: Spec,
    emitter: Emitter,
    clock: Clock,
    counters: Counters,
    metrics: Mutex<BTreeMap<String, f64>>,
}

impl Ctx {
    fn new(spec: Spec, cfg: cli::Config, emitter: Emitter, clock: Clock) -> Ctx {
        Ctx {
            runtime: cfg.runtime,
            duration: cfg.duration,
            sample_every: cfg.sample_every,
            params: cfg.params,
            shared: Arc::new(Shared {
                spec,
                emitter,
                clock,
                counters: Counters::default(),
                metrics: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    pub fn spec(&self) -> &Spec {
        &self.shared.spec
    }

    /// Writes a `phase` line (`load_start`, `load_stop`, `tail_stop`, ...).
    pub fn phase(&self, name: &str) {
        self.emit(&Line::Phase {
            t_ms: self.now_ms(),
            name: name.to_string(),
        });
    }

    /// Writes an `event` line: `note`, `diagnosis`, `goroutine_dump`, ...
    pub fn event(&self, kind: &str, text: impl Into<String>) {
        self.emit(&Line::Event {
            t_ms: self.now_ms(),
            kind: kind.to_string(),
            text: text.into(),
        });
    }

    /// Adds (or replaces) a metric of the final `summary` line.
    pub fn metric(&self, name: &str, value: f64) {
        self.shared
            .metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), value);
    }

    /// A named counter carried by every `sample` line from now on.
    pub fn counter(&self, name: &str) -> Counter {
        self.shared.counters.get(name)
    }

    /// Reports a system limit (an `event` of kind `limit` naming it, see
    /// [`limits`]) and exits with [`limits::LIMIT_EXIT_CODE`].
    pub fn limit(&self, what: &str) -> ! {
        eprintln!("{}: system limit: {what}", self.shared.spec.name);
        self.event("limit", what);
        std::process::exit(limits::LIMIT_EXIT_CODE)
    }

    /// Milliseconds since the process started (the `t_ms` of every line).
    pub fn now_ms(&self) -> f64 {
        self.shared.clock.now_ms()
    }

    pub fn emit(&self, line: &Line) {
        self.shared.emitter.emit(line);
    }

    pub fn emitter(&self) -> &Emitter {
        &self.shared.emitter
    }

    /// A probe bound to this context, reading `runtime_counters` at each
    /// sample. Used by the runtime adapters.
    pub fn new_probe(&self, runtime_counters: probe::RuntimeCounters) -> probe::Probe {
        probe::Probe::new(
            self.shared.emitter.clone(),
            self.shared.clock,
            self.sample_every,
            self.shared.counters.clone(),
            runtime_counters,
        )
    }

    /// Puts the whole-run probe stats into the summary.
    pub fn record_probe(&self, s: &ProbeStats) {
        self.metric("probe_n", s.n as f64);
        self.metric("probe_p50_us", s.p50_us);
        self.metric("probe_p99_us", s.p99_us);
        self.metric("probe_max_us", s.max_us);
    }

    fn summary(&self) -> Line {
        let metrics = self
            .shared
            .metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Line::Summary {
            t_ms: self.now_ms(),
            metrics,
        }
    }
}

/// Runs a scenario binary: parse the command line, `hello`, the body,
/// `summary`, exit. Never returns. See the module comment for the protocol.
pub fn run(spec: Spec, body: impl FnOnce(Ctx) -> anyhow::Result<()>) -> ! {
    let clock = Clock::process();
    let spec = knobs::with_knobs(spec);
    let cfg = match cli::parse(&spec, std::env::args_os()) {
        Ok(cfg) => cfg,
        Err(Ok(clap_err)) => clap_err.exit(),
        Err(Err(usage)) => exit_usage(&spec, &usage),
    };
    let gmp_debug = std::env::var("GMP_DEBUG").ok();
    let knob_plan = knobs::plan(cfg.runtime, &cfg.params, gmp_debug.as_deref());
    if let knobs::Plan::Reexec(value) = &knob_plan {
        let e = knobs::reexec_with_gmp_debug(value);
        eprintln!(
            "{}: error: re-executing with GMP_DEBUG={value}: {e}",
            spec.name
        );
        std::process::exit(1);
    }
    let emitter = Emitter::from_env().unwrap_or_else(|e| exit_usage(&spec, &Usage(e)));
    let ctx = Ctx::new(spec, cfg, emitter, clock);
    ctx.emit(&Line::Hello {
        v: PROTOCOL_VERSION,
        scenario: spec.name.to_string(),
        runtime: ctx.runtime.as_str().to_string(),
        params: knobs::hello_params(&ctx.params),
        pid: std::process::id(),
    });
    if let knobs::Plan::Skip(why) = knob_plan {
        eprintln!("{}: skipped: {why}", spec.name);
        ctx.event("skip", why);
        std::process::exit(knobs::SKIP_EXIT_CODE);
    }
    match body(ctx.clone()) {
        Ok(()) => {
            ctx.emit(&ctx.summary());
            std::process::exit(0)
        }
        Err(e) => exit_error(&ctx, e),
    }
}

fn exit_usage(spec: &Spec, u: &Usage) -> ! {
    eprintln!("{}: error: {u}", spec.name);
    eprintln!(
        "Run `{} --help` for the command line and the parameters.",
        spec.name
    );
    std::process::exit(2)
}

fn exit_error(ctx: &Ctx, e: anyhow::Error) -> ! {
    if let Some(u) = e.downcast_ref::<Usage>() {
        exit_usage(ctx.spec(), u);
    }
    let text = format!("{e:#}");
    eprintln!("{}: error: {text}", ctx.spec().name);
    ctx.event("error", text);
    std::process::exit(1)
}

/// A `Write` that keeps what the emitter wrote, for the crate's tests.
#[cfg(test)]
pub(crate) mod test_buf {
    use schedlab_protocol::metrics::Line;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    pub(crate) struct Buf(pub(crate) Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buf {
        /// Every line written so far, parsed.
        pub(crate) fn lines(&self) -> Vec<Line> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines()
                .map(|l| serde_json::from_str(l).expect(l))
                .collect()
        }

        /// Whether a `sample` line was written.
        pub(crate) fn has_sample(&self) -> bool {
            self.lines()
                .iter()
                .any(|l| matches!(l, Line::Sample { .. }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    use crate::test_buf::Buf;

    const SPEC: Spec = Spec {
        name: "t",
        about: "t",
        runtimes: &[Runtime::Tokio, Runtime::Threads],
        params: &[],
    };

    fn ctx(runtime: &str, buf: &Buf) -> Ctx {
        let cfg = cli::parse(
            &SPEC,
            [
                "t",
                "--runtime",
                runtime,
                "--duration",
                "1s",
                "--sample-ms",
                "1",
            ],
        )
        .unwrap();
        Ctx::new(SPEC, cfg, Emitter::to_writer(buf.clone()), Clock::process())
    }

    /// Waits (without asserting on time: 30 s is a hang guard) until the
    /// probe has written a sample line.
    fn wait_for_sample(buf: &Buf) {
        let give_up = Instant::now() + Duration::from_secs(30);
        while !buf.has_sample() {
            assert!(Instant::now() < give_up, "no sample line within 30 s");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn summary_of(ctx: &Ctx) -> BTreeMap<String, f64> {
        match ctx.summary() {
            Line::Summary { metrics, .. } => metrics,
            _ => unreachable!(),
        }
    }

    #[test]
    fn threads_adapter_runs_the_probe_and_fills_the_summary() {
        let buf = Buf::default();
        let c = ctx("threads", &buf);
        c.counter("sends").add(3);
        c.threads(|ctx| {
            ctx.phase("load_start");
            wait_for_sample(&buf);
            ctx.metric("answer", 42.0);
            Ok(())
        })
        .unwrap();
        let m = summary_of(&c);
        assert!(m["probe_n"] >= 1.0, "{m:?}");
        assert!(m["probe_p50_us"] <= m["probe_p99_us"] && m["probe_p99_us"] <= m["probe_max_us"]);
        assert_eq!(m["answer"], 42.0);
        let samples: Vec<_> = buf
            .lines()
            .into_iter()
            .filter_map(|l| match l {
                Line::Sample { counters, .. } => Some(counters),
                _ => None,
            })
            .collect();
        assert!(
            samples.iter().all(|c| c.get("sends") == Some(&3.0)),
            "{samples:?}"
        );
    }

    /// Waits (hang guard only) until a sample line satisfies `want`.
    async fn sample_where(
        buf: &Buf,
        want: impl Fn(&BTreeMap<String, f64>) -> bool,
    ) -> BTreeMap<String, f64> {
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            let found = buf.lines().into_iter().find_map(|l| match l {
                Line::Sample { counters, .. } if want(&counters) => Some(counters),
                _ => None,
            });
            if let Some(c) = found {
                return c;
            }
            assert!(
                Instant::now() < give_up,
                "no matching sample within 30 s: {:?}",
                buf.lines().last()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    #[test]
    fn tokio_adapter_reports_workers_tasks_and_threads() {
        let buf = Buf::default();
        let c = ctx("tokio", &buf);
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        let b2 = buf.clone();
        c.tokio(&mut b, |_ctx| async move {
            // both workers have started (their start hooks ran)
            let s = sample_where(&b2, |c| c.get("runtime_threads") == Some(&2.0)).await;
            assert_eq!(s.get("workers"), Some(&2.0), "{s:?}");
            assert_eq!(s.get("blocking_threads"), Some(&0.0), "{s:?}");
            // the probe task at least; the body is block_on's future, not a task
            assert!(s["tasks_alive"] >= 1.0, "{s:?}");
            Ok(())
        })
        .unwrap();
        let m = summary_of(&c);
        assert!(m["probe_n"] >= 1.0, "{m:?}");
    }

    #[test]
    fn tokio_blocking_threads_are_counted() {
        let buf = Buf::default();
        let c = ctx("tokio", &buf);
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(1);
        let b2 = buf.clone();
        c.tokio(&mut b, |_ctx| async move {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let blocker = tokio::task::spawn_blocking(move || rx.recv());
            let s = sample_where(&b2, |c| c.get("blocking_threads") == Some(&1.0)).await;
            assert_eq!(s.get("runtime_threads"), Some(&2.0), "{s:?}");
            tx.send(()).unwrap();
            blocker.await.unwrap().unwrap();
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn summary_without_a_probe_has_only_the_bodys_metrics() {
        let c = ctx("threads", &Buf::default());
        c.metric("x", 1.0);
        assert_eq!(summary_of(&c), BTreeMap::from([("x".to_string(), 1.0)]));
    }
}
