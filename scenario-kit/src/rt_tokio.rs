//! The tokio column: run a scenario body on a tokio runtime with the probe
//! as one of its tasks.
//!
//! [`Ctx::tokio`] takes the scenario's `tokio::runtime::Builder` (so the
//! scenario chooses multi-thread or current-thread, `worker_threads`,
//! `max_blocking_threads`, keep-alive ...), adds what the kit needs, builds
//! it, and inside `block_on`:
//!
//! * spawns the probe: a task on `tokio::time::interval(1 ms)` with
//!   `MissedTickBehavior::Delay`, recording `Instant::now() - deadline` where
//!   `deadline` is the instant `tick()` returns (the tick's intended time);
//! * awaits the body's future (it runs on the `block_on` thread, the main
//!   thread, like `#[tokio::main]`);
//! * stops the probe and waits for its task to end (within one tick,
//!   unless every worker is blocked: then when one frees up).
//!
//! Counters in every `sample` line:
//! * `workers`, `tasks_alive`, `global_queue_depth`, `busy_cores` (sum over
//!   workers of busy time / interval) from tokio-metrics' `RuntimeMonitor`
//!   (stable tokio metrics only: no `--cfg tokio_unstable` needed);
//! * `runtime_threads`: threads the runtime has alive, workers and blocking
//!   pool together, counted by `on_thread_start`/`on_thread_stop` hooks the
//!   kit installs (so a scenario must not install its own: the builder keeps
//!   only the last); `blocking_threads` = `runtime_threads - workers`
//!   (tokio's own `num_blocking_threads` is unstable API).
//!
//! Thread accounting of this column: `main` (blocks in `block_on`) +
//! `worker_threads` workers + blocking-pool threads in use or kept alive
//! (10 s keep-alive by default). The timer and I/O drivers have no thread:
//! an idle worker parks in epoll with the next timer as its timeout.
//!
//! At the end the runtime is shut down in the background (no wait): a
//! blocking task that never returns (an FFI busy loop) must not keep the
//! process from writing its summary and exiting.

use crate::probe::{Probe, RuntimeCounters};
use crate::{Ctx, limits};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;
use tokio::time::MissedTickBehavior;

impl Ctx {
    /// Builds `builder` (with the kit's hooks and `enable_all`), runs `body`
    /// in `block_on` with the probe running beside it.
    pub fn tokio<F, Fut>(
        &self,
        builder: &mut tokio::runtime::Builder,
        body: F,
    ) -> anyhow::Result<()>
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let alive = Arc::new(AtomicI64::new(0));
        install_thread_hooks(builder, &alive);
        let rt = match builder.enable_all().build() {
            Ok(rt) => rt,
            Err(e) => match limits::thread_limit(&e) {
                Some(what) => self.limit(&what),
                None => return Err(anyhow::Error::new(e).context("building the tokio runtime")),
            },
        };
        let probe = self.new_probe(tokio_counters(rt.handle(), alive));
        let result = rt.block_on(async {
            let task = tokio::spawn(run_probe(probe.clone()));
            let result = body(self.clone()).await;
            probe.stop();
            let _ = task.await;
            result
        });
        self.record_probe(&probe.finish()); // its last sample reads the live runtime
        rt.shutdown_background();
        result
    }
}

fn install_thread_hooks(builder: &mut tokio::runtime::Builder, alive: &Arc<AtomicI64>) {
    let up = alive.clone();
    let down = alive.clone();
    builder
        .on_thread_start(move || {
            up.fetch_add(1, Ordering::Relaxed);
        })
        .on_thread_stop(move || {
            down.fetch_sub(1, Ordering::Relaxed);
        });
}

/// The probe task: a 1 ms interval, lateness against each tick's deadline.
async fn run_probe(probe: Probe) {
    let mut iv = tokio::time::interval(crate::probe::PERIOD);
    iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
    iv.tick().await; // the first tick completes at once
    while !probe.stopped() {
        let deadline = iv.tick().await.into_std();
        let now = Instant::now();
        probe.record(now.saturating_duration_since(deadline), now);
    }
}

fn tokio_counters(handle: &tokio::runtime::Handle, alive: Arc<AtomicI64>) -> RuntimeCounters {
    let monitor = tokio_metrics::RuntimeMonitor::new(handle);
    let mut intervals = monitor.intervals();
    Box::new(move |c: &mut BTreeMap<String, f64>| {
        let threads = alive.load(Ordering::Relaxed);
        c.insert("runtime_threads".into(), threads as f64);
        if let Some(m) = intervals.next() {
            let workers = m.workers_count as i64;
            c.insert("workers".into(), workers as f64);
            c.insert("tasks_alive".into(), m.live_tasks_count as f64);
            c.insert("global_queue_depth".into(), m.global_queue_depth as f64);
            let secs = m.elapsed.as_secs_f64();
            if secs > 0.0 {
                c.insert(
                    "busy_cores".into(),
                    m.total_busy_duration.as_secs_f64() / secs,
                );
            }
            c.insert("blocking_threads".into(), (threads - workers).max(0) as f64);
        }
    })
}
