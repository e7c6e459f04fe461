//! The gmp column: run a scenario body as the main goroutine of a gmp
//! runtime (the workspace's model of the Go 1.19 scheduler), with the probe
//! as a goroutine.
//!
//! * [`Ctx::gmp`] builds a runtime from a `gmp::Builder` and runs the body
//!   as its main goroutine; [`Ctx::gmp_on`] takes a runtime the scenario
//!   built itself.
//! * The probe is `gmp::go(..)`-spawned and sleeps with `gmp::sleep` on the
//!   1 ms grid (see [`crate::probe`]), so it parks like any goroutine and
//!   adds no thread: the column's thread count is the model's own.
//!   [`ProbeGoroutine`] is that goroutine, for a scenario that runs
//!   `block_on` itself (timer_stw runs it on a thread of its own, so that
//!   its main thread can end a run whose runtime is wedged).
//! * Stopping: the body returns on the main goroutine, sets the probe's stop
//!   flag, then waits for the probe goroutine to say it ended by polling a
//!   flag with `gmp::sleep(1 ms)` (the smallest part of gmp's API: no
//!   channel needed).
//! * Counters in every `sample` line come from `gmp::stats()`: goroutines,
//!   ms, ms_idle, ms_syscall, ms_spinning, ms_locked, ps_idle, ps_running,
//!   ps_syscall, threads_created, and system_goroutines,
//!   ms_running, threads_exited, retakes (fields the gmp crate added), and
//!   ps (GOMAXPROCS), so the report's scheduler trace can stack Ms and Ps
//!   by state out of their totals.
//! * When the body returns, the kit emits gmp's thread-creation profile as
//!   an `event` of kind `threadcreate`: one line per M, `M<id> at <s> s:
//!   <cause>` (the report groups them by cause).

use crate::probe::{PERIOD, Probe, RuntimeCounters};
use crate::{Ctx, limits};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

impl Ctx {
    /// Builds a gmp runtime (`gmp::Runtime::builder().procs(n)...`) and runs
    /// `body` as its main goroutine.
    pub fn gmp<F>(&self, builder: gmp::Builder, body: F) -> anyhow::Result<()>
    where
        F: FnOnce(Ctx) -> anyhow::Result<()> + Send + 'static,
    {
        match builder.build() {
            Ok(rt) => self.gmp_on(rt, body),
            Err(e) => Err(anyhow::anyhow!("building the gmp runtime: {e}")),
        }
    }

    /// Runs `body` as the main goroutine of `rt`, with the probe beside it.
    pub fn gmp_on<F>(&self, rt: gmp::Runtime, body: F) -> anyhow::Result<()>
    where
        F: FnOnce(Ctx) -> anyhow::Result<()> + Send + 'static,
    {
        let probe = self.new_probe(counters());
        let (p, ctx) = (probe.clone(), self.clone());
        let result = rt.block_on(move || {
            let g = ProbeGoroutine::start(&p);
            let result = body(ctx.clone());
            ctx.event(
                "threadcreate",
                threadcreate_text(&gmp::thread_create_profile()),
            );
            g.stop();
            result
        });
        self.record_probe(&probe.finish());
        result
    }

    /// Emits gmp's goroutine dump (grouped like pprof `goroutine?debug=1`)
    /// as an `event` of kind `goroutine_dump`.
    pub fn emit_goroutine_dump(&self) {
        self.event("goroutine_dump", gmp::goroutine_dump());
    }
}

/// Names the limit when gmp reports thread exhaustion through an io error.
pub fn thread_limit(err: &std::io::Error) -> Option<String> {
    limits::thread_limit(err)
}

/// The probe running as a goroutine (call from a goroutine).
pub struct ProbeGoroutine {
    probe: Probe,
    ended: Arc<AtomicBool>,
}

impl ProbeGoroutine {
    /// Starts `probe` as a goroutine (`gmp::go`) that sleeps with
    /// `gmp::sleep`.
    pub fn start(probe: &Probe) -> ProbeGoroutine {
        let ended = Arc::new(AtomicBool::new(false));
        let (p, e) = (probe.clone(), ended.clone());
        gmp::go(move || {
            crate::probe::run_blocking(&p, gmp::sleep);
            e.store(true, Ordering::Release);
        });
        ProbeGoroutine {
            probe: probe.clone(),
            ended,
        }
    }

    /// Stops the probe and parks until its goroutine has ended.
    pub fn stop(self) {
        self.probe.stop();
        while !self.ended.load(Ordering::Acquire) {
            gmp::sleep(PERIOD);
        }
    }
}

/// The runtime counters of every `sample` line of the gmp column.
pub fn counters() -> RuntimeCounters {
    Box::new(|c: &mut BTreeMap<String, f64>| {
        let s = gmp::stats();
        for (k, v) in [
            ("goroutines", s.goroutines as f64),
            ("ms", s.ms as f64),
            ("ms_idle", s.ms_idle as f64),
            ("ms_syscall", s.ms_syscall as f64),
            ("ms_spinning", s.ms_spinning as f64),
            ("ms_locked", s.ms_locked as f64),
            ("ps_idle", s.ps_idle as f64),
            ("ps_running", s.ps_running as f64),
            ("ps_syscall", s.ps_syscall as f64),
            ("threads_created", s.threads_created as f64),
            ("system_goroutines", s.system_goroutines as f64),
            ("ms_running", s.ms_running as f64),
            ("threads_exited", s.threads_exited as f64),
            ("retakes", s.retakes as f64),
            ("ps", s.procs as f64),
        ] {
            c.insert(k.to_string(), v);
        }
    })
}

/// At most this many Ms are listed in the `threadcreate` event.
const MAX_THREADCREATE: usize = 20_000;

/// gmp's thread-creation profile as text: a header, then one line per M.
fn threadcreate_text(profile: &[gmp::ThreadCreate]) -> String {
    use std::fmt::Write as _;
    let mut out = format!("threadcreate profile: total {}\n", profile.len());
    for t in profile.iter().take(MAX_THREADCREATE) {
        let _ = writeln!(
            out,
            "M{} at {:.3} s: {}",
            t.m_id,
            t.at.as_secs_f64(),
            t.cause
        );
    }
    if profile.len() > MAX_THREADCREATE {
        let _ = writeln!(out, "... {} more", profile.len() - MAX_THREADCREATE);
    }
    out
}
