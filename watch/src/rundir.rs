//! `--out DIR`: the watch as a run directory in the lab's own layout
//! (`schedlab_protocol::results`), so `schedlab report` draws a watched
//! process exactly as it draws a scenario point:
//!
//! ```text
//! DIR/run.json                       one sweep, scenario `watch`
//! DIR/watch/points.json              one point: pid-<PID>, the detected runtime
//! DIR/watch/pid-<PID>.<rt>.r1.jsonl  hello, a `proc` line per sample, the
//!                                    findings as `diagnosis` events, exit
//! ```
//!
//! The sweep and run metadata are built as JSON and read back through the
//! protocol's own types, so fields the protocol adds later with defaults
//! need nothing here.

use crate::signatures::{Signature, mib};
use crate::watch::{Ended, Report};
use anyhow::Context;
use schedlab_protocol::metrics::{ExitLine, MergedLine, Outcome, ProcSample, Value};
use schedlab_protocol::results::{PointResult, RunMeta};
use schedlab_protocol::sweep::Sweep;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

pub const SCENARIO: &str = "watch";

/// Writes `report` under `dir` (created; must not hold a run already).
/// The watched process is the run's one point, its first repeat (the
/// runner counts repeats from 1).
const REPEAT: u32 = 1;

pub fn write(dir: &Path, r: &Report) -> anyhow::Result<()> {
    if dir.join("run.json").exists() {
        anyhow::bail!(
            "{} already holds a run (run.json): give a new directory to --out",
            dir.display()
        );
    }
    let sdir = dir.join(SCENARIO);
    std::fs::create_dir_all(&sdir).with_context(|| format!("creating {}", sdir.display()))?;
    let point_id = format!("pid-{}", r.pid);
    let runtime = r.runtime.kind.as_str().to_string();
    // The runner's name for a point's trace: `schedlab report DIR` re-runs
    // the analysis, which finds points by it.
    let jsonl = schedlab_protocol::results::jsonl_name(&point_id, &runtime, REPEAT);

    let mut lines = String::new();
    let mut push = |l: &MergedLine| {
        lines.push_str(&serde_json::to_string(l).unwrap_or_default());
        lines.push('\n');
    };
    let mut params = BTreeMap::new();
    params.insert("pid".to_string(), Value::Num(f64::from(r.pid)));
    push(&MergedLine::Hello {
        v: schedlab_protocol::metrics::PROTOCOL_VERSION,
        scenario: SCENARIO.into(),
        runtime: runtime.clone(),
        params: params.clone(),
        pid: r.pid as u32,
    });
    for f in &r.figures {
        push(&MergedLine::Proc(ProcSample {
            t_ms: f.t_s * 1000.0,
            threads: f.threads,
            r_threads: Some(f.r_threads.round() as u64),
            cores: f.cores,
            rss_bytes: f.rss_bytes,
        }));
    }
    let t_end = r.watched_s * 1000.0;
    for f in &r.findings {
        if f.signature == Signature::None && r.findings.len() > 1 {
            continue;
        }
        push(&MergedLine::Event {
            t_ms: t_end,
            src_t_ms: None,
            kind: "diagnosis".into(),
            text: format!("{}: {}\n{}", f.id, f.title, f.evidence.join("\n")),
        });
    }
    push(&MergedLine::Exit(ExitLine {
        t_ms: t_end,
        outcome: Outcome::Ok,
        code: None,
        signal: None,
        stderr_tail: String::new(),
    }));
    std::fs::write(sdir.join(&jsonl), lines)?;

    let figs = &r.figures;
    let max = |g: fn(&crate::figures::Figures) -> f64| figs.iter().map(g).fold(0.0, f64::max);
    let med =
        |g: fn(&crate::figures::Figures) -> f64| crate::signatures::median(figs.iter().map(g));
    let mut metrics = BTreeMap::new();
    metrics.insert("threads_peak".into(), max(|f| f.threads as f64));
    metrics.insert("threads_median".into(), med(|f| f.threads as f64));
    metrics.insert(
        "threads_end".into(),
        figs.last().map_or(0.0, |f| f.threads as f64),
    );
    metrics.insert("r_threads_max".into(), max(|f| f.r_threads));
    metrics.insert("r_threads_median".into(), med(|f| f.r_threads));
    metrics.insert(
        "cores_mean".into(),
        figs.iter().map(|f| f.cores).sum::<f64>() / figs.len().max(1) as f64,
    );
    metrics.insert("cores_max".into(), max(|f| f.cores));
    metrics.insert("rss_peak_bytes".into(), max(|f| f.rss_bytes as f64));
    metrics.insert(
        "rss_end_bytes".into(),
        figs.last().map_or(0.0, |f| f.rss_bytes as f64),
    );
    metrics.insert("wall_s".into(), r.watched_s);
    let point = PointResult {
        scenario: SCENARIO.into(),
        point_id: point_id.clone(),
        runtime: runtime.clone(),
        repeat: REPEAT,
        params,
        outcome: Outcome::Ok,
        outcome_detail: match &r.ended {
            Ended::Exited { status } => format!(
                "exited while watched{}",
                status
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ),
            Ended::Interrupted => "watch interrupted".into(),
            Ended::Done => String::new(),
        },
        jsonl,
        metrics,
    };
    std::fs::write(
        sdir.join(schedlab_protocol::results::POINTS),
        serde_json::to_string_pretty(&vec![point])?,
    )?;

    let verdict = format!(
        "{}: {} (confidence {:?})",
        r.verdict.id, r.verdict.title, r.verdict.confidence
    )
    .to_lowercase();
    let sweep: Sweep = serde_json::from_value(json!({
        "scenario": SCENARIO,
        "incident": format!("pid {} `{}`: {verdict}", r.pid, r.cmdline.chars().take(80).collect::<String>()),
        "runtimes": [runtime],
        "duration": format!("{:.0}ms", t_end),
        "grid": {},
        "plots": [
            {"kind": "timeseries", "title": format!("Threads, threads in state R and cores used, pid {}", r.pid),
             "y": ["threads", "r_threads", "cores"]},
            {"kind": "timeseries", "title": format!("Resident memory, pid {} (peak {})", r.pid,
                mib(max(|f| f.rss_bytes as f64))),
             "y": ["rss_bytes"]}
        ],
        "notes": { runtime.clone(): format!("watched from outside by `schedlab watch`: {verdict}") }
    }))
    .context("building the watch's sweep")?;
    let meta: RunMeta = serde_json::from_value(json!({
        "run_id": dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        "status": "complete",
        "started_unix": r.started_unix,
        "finished_unix": r.started_unix + r.watched_s,
        "quick": false,
        "host": host(),
        "sweeps": [sweep],
    }))
    .context("building run.json")?;
    let tmp = dir.join("run.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&meta)?)?;
    std::fs::rename(&tmp, dir.join("run.json"))?;
    Ok(())
}

fn host() -> BTreeMap<String, String> {
    let mut h = BTreeMap::new();
    if let Ok(n) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        h.insert("hostname".into(), n.trim().to_string());
    }
    if let Ok(k) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        h.insert("kernel".into(), k.trim().to_string());
    }
    h.insert(
        "cores".into(),
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .to_string(),
    );
    h
}
