//! `schedlab run` / `run-all` / `report`: from sweeps to a run directory.
//!
//! ```text
//! plan:    load sweeps ─ --quick ─ --set ─ --repeats/--duration ─ runtimes
//!          resolve binaries (missing: stop before running anything)
//!          build Go references (missing: skip the go column, say why)
//! run:     run.json (status running) ─ for each scenario, point, runtime,
//!          repeat: supervise::run_point ─ points.json rewritten after each
//! finish:  analysis::analyze ─ run.json (complete | interrupted)
//!          ─ schedlab_report::render ─ verdict table ─ report path
//! ```
//!
//! # Invariants
//!
//! * The run directory is readable by `schedlab report` at every moment
//!   after `run.json` is first written: every file in it is complete
//!   (atomic writes) and `points.json` lists every finished point.
//! * Ctrl-C: the current point is killed and dropped, the points not yet
//!   run are recorded as `skipped` ("interrupted"), the analysis and the
//!   report are still produced, `run.json` says `interrupted`, exit 130.
//! * A runtime that cannot run at all (no Go toolchain, no reference
//!   program) is recorded in `skipped_runtimes` with the reason and one
//!   `skipped` row per point; the rest of the run is unaffected.

use crate::analysis;
use crate::discover;
use crate::fsutil::{unix_now, utc_stamp, write_json};
use crate::sampler::SamplerCost;
use crate::signals;
use crate::supervise::{self, PointRun};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use schedlab_protocol::metrics::{Outcome, Params};
use schedlab_protocol::results::{
    POINTS, PointResult, RUN_META, RunMeta, RunStatus, VerdictRow, VerdictStatus,
};
use schedlab_protocol::sweep::{KNOWN_RUNTIMES, PointSpec, Sweep, parse_duration, parse_value};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default time past `duration` before a point is killed.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// A mistake in what the user asked: exit code 2.
#[derive(Debug)]
pub struct UserError(pub String);

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

fn user(msg: impl Into<String>) -> anyhow::Error {
    UserError(msg.into()).into()
}

/// The /proc sampling period when neither `--sample-ms` nor the sweep
/// sets one.
pub const DEFAULT_SAMPLE_MS: u64 = 5;

/// The knobs common to `run` and `run-all`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub runtimes: Option<Vec<String>>,
    pub sets: Vec<String>,
    pub repeats: Option<u32>,
    pub duration: Option<String>,
    pub quick: bool,
    pub out: Option<PathBuf>,
    /// `--sample-ms`: overrides every sweep's own `sample_ms`.
    pub sample_ms: Option<u64>,
    /// Exit 3 unless every verdict reproduced or fixed (`--check`).
    pub check: bool,
}

/// Loads one scenario's sweep; unknown scenario → the list of valid names.
pub fn load_scenario(root: &Path, name: &str) -> Result<Sweep> {
    let all = discover::scenarios(root);
    let Some((_, sweep)) = all.into_iter().find(|(n, _)| n == name) else {
        let names: Vec<String> = discover::scenarios(root)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        return Err(user(format!(
            "unknown scenario `{name}`; valid scenarios: {}",
            if names.is_empty() {
                "(none under scenarios/)".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    sweep.map_err(|e| user(e.to_string()))
}

/// Applies --quick, --set, --repeats, --duration and --runtime.
pub fn shape(mut sweep: Sweep, o: &RunOptions, strict_runtimes: bool) -> Result<Sweep> {
    if o.quick {
        sweep.apply_quick();
    } else {
        sweep.quick = None;
    }
    for s in &o.sets {
        let Some((axis, values)) = s.split_once('=') else {
            return Err(user(format!("--set {s}: expected axis=v1,v2")));
        };
        let values = values
            .split(',')
            .filter(|v| !v.trim().is_empty())
            .map(parse_value)
            .collect();
        sweep
            .apply_set(axis.trim(), values)
            .map_err(|e| user(e.to_string()))?;
    }
    if let Some(r) = o.repeats {
        if r == 0 {
            return Err(user("--repeats: expected at least 1"));
        }
        sweep.repeats = r;
    }
    if let Some(d) = &o.duration {
        parse_duration(d).map_err(|e| user(format!("--duration: {e}")))?;
        sweep.duration = d.clone();
    }
    if let Some(wanted) = &o.runtimes {
        for r in wanted {
            if !KNOWN_RUNTIMES.contains(&r.as_str()) {
                return Err(user(format!(
                    "unknown runtime `{r}`; valid runtimes: {}",
                    KNOWN_RUNTIMES.join(", ")
                )));
            }
            if strict_runtimes && !sweep.runtimes.contains(r) {
                return Err(user(format!(
                    "scenario {} has no runtime `{r}`; its runtimes: {}",
                    sweep.scenario,
                    sweep.runtimes.join(", ")
                )));
            }
        }
        sweep.runtimes.retain(|r| wanted.contains(r));
    }
    Ok(sweep)
}

/// Where each runtime's binary is, or why it is skipped.
struct Binaries {
    /// (scenario, runtime) → binary.
    paths: BTreeMap<(String, String), PathBuf>,
    /// runtime → reason (whole run), scenario-level reasons are prefixed.
    skipped: BTreeMap<String, String>,
    go_version: String,
}

fn resolve_binaries(root: &Path, bin_dir: &Path, sweeps: &[Sweep]) -> Result<Binaries> {
    let mut b = Binaries {
        paths: BTreeMap::new(),
        skipped: BTreeMap::new(),
        go_version: String::new(),
    };
    let wants_go = sweeps.iter().any(|s| s.runtimes.iter().any(|r| r == "go"));
    let go = if wants_go {
        Some(discover::find_go())
    } else {
        None
    };
    b.go_version = match &go {
        Some(Ok(g)) => discover::go_version(g),
        Some(Err(why)) => format!("absent: {why}"),
        None => "not needed".into(),
    };
    for s in sweeps {
        for r in &s.runtimes {
            let key = (s.scenario.clone(), r.clone());
            if r != "go" {
                let p = bin_dir.join(&s.scenario);
                if !supervise::is_executable(&p) {
                    return Err(user(discover::build_hint(bin_dir, &s.scenario)));
                }
                b.paths.insert(key, p);
                continue;
            }
            match go.as_ref().expect("wants_go") {
                Err(why) => {
                    b.skipped
                        .insert("go".into(), format!("{why}; {}", discover::GO_INSTALL_HINT));
                }
                Ok(g) => match discover::build_go_reference(g, root, &s.scenario) {
                    Ok(p) => {
                        b.paths.insert(key, p);
                    }
                    Err(why) => {
                        let entry = b.skipped.entry("go".into()).or_default();
                        if !entry.is_empty() {
                            entry.push_str("; ");
                        }
                        entry.push_str(&format!("{}: {why}", s.scenario));
                    }
                },
            }
        }
    }
    Ok(b)
}

fn new_run_dir(root: &Path, out: Option<&Path>, label: &str) -> Result<PathBuf> {
    if let Some(o) = out {
        if o.exists()
            && std::fs::read_dir(o)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(user(format!(
                "--out {}: exists and is not empty",
                o.display()
            )));
        }
        std::fs::create_dir_all(o)?;
        return Ok(o.to_path_buf());
    }
    let base = root.join("results");
    let stamp = utc_stamp(unix_now());
    let mut dir = base.join(format!("{stamp}-{label}"));
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{stamp}-{label}-{n}"));
        n += 1;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Runs `sweeps` (already shaped) into a new run directory. Returns the
/// process exit code (0, or 130 when interrupted).
pub fn run(
    root: &Path,
    bin_dir: &Path,
    sweeps: Vec<Sweep>,
    o: &RunOptions,
    label: &str,
) -> Result<i32> {
    let bins = resolve_binaries(root, bin_dir, &sweeps)?;
    for (rt, why) in &bins.skipped {
        eprintln!("schedlab: skipping the {rt} column: {why}");
    }
    let run_dir = new_run_dir(root, o.out.as_deref(), label)?;
    signals::install();
    // Orphaned grandchildren of a scenario come back to us, so we can reap
    // them (see supervise.rs).
    let _ = nix::sys::prctl::set_child_subreaper(true);

    let started = unix_now();
    let mut host = crate::host::facts(root);
    host.insert("go".into(), bins.go_version.clone());
    let mut meta = RunMeta {
        run_id: run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        status: RunStatus::Running,
        started_unix: started,
        finished_unix: None,
        quick: o.quick,
        host,
        sweeps: sweeps.clone(),
        skipped_runtimes: bins.skipped.clone(),
        sampler_cpu_s: 0.0,
        sampler_cpu_frac: 0.0,
    };
    write_json(&run_dir.join(RUN_META), &meta)?;

    let plan: Vec<(usize, PointSpec)> = sweeps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.expand(&s.runtimes)
                .unwrap_or_default()
                .into_iter()
                .map(move |p| (i, p))
        })
        .collect();
    let total: u64 = plan
        .iter()
        .filter(|(i, p)| {
            bins.paths
                .contains_key(&(sweeps[*i].scenario.clone(), p.runtime.clone()))
        })
        .map(|(i, _)| sweeps[*i].repeats as u64)
        .sum();
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} ETA {eta} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );

    let mut cost = SamplerCost::default();
    let mut results: BTreeMap<String, Vec<PointResult>> = BTreeMap::new();
    let mut done = 0u64;
    for (i, spec) in &plan {
        let sweep = &sweeps[*i];
        let dir = run_dir.join(&sweep.scenario);
        std::fs::create_dir_all(&dir)?;
        let key = (sweep.scenario.clone(), spec.runtime.clone());
        let list = results.entry(sweep.scenario.clone()).or_default();
        let Some(binary) = bins.paths.get(&key) else {
            let why = bins
                .skipped
                .get(&spec.runtime)
                .cloned()
                .unwrap_or_else(|| "not available".into());
            list.push(skipped_point(sweep, spec, 1, why));
            write_json(&dir.join(POINTS), list)?;
            continue;
        };
        for repeat in 1..=sweep.repeats {
            if signals::interrupted() {
                list.push(skipped_point(
                    sweep,
                    spec,
                    repeat,
                    "interrupted (Ctrl-C) before it ran".into(),
                ));
                write_json(&dir.join(POINTS), list)?;
                continue;
            }
            bar.set_message(format!(
                "{} {} {} r{repeat}",
                sweep.scenario, spec.point_id, spec.runtime
            ));
            let sample_ms = o.sample_ms.or(sweep.sample_ms).unwrap_or(DEFAULT_SAMPLE_MS);
            let r = run_one(sweep, spec, repeat, binary, &dir, sample_ms)?;
            cost.cpu_s += r.1.cpu_s;
            cost.wall_s += r.1.wall_s;
            done += 1;
            bar.inc(1);
            if !tty {
                eprintln!("[{done}/{total}] {}", describe(&r.0));
            } else if r.0.outcome != Outcome::Ok && !r.0.jsonl.is_empty() {
                bar.println(describe(&r.0));
            }
            list.push(r.0);
            write_json(&dir.join(POINTS), list)?;
        }
    }
    bar.finish_and_clear();

    let interrupted = signals::interrupted();
    meta.status = if interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Complete
    };
    meta.finished_unix = Some(unix_now());
    meta.sampler_cpu_s = cost.cpu_s;
    meta.sampler_cpu_frac = if cost.wall_s > 0.0 {
        cost.cpu_s / cost.wall_s
    } else {
        0.0
    };
    write_json(&run_dir.join(RUN_META), &meta)?;
    let (rendered, unmet) = finish(&run_dir, &meta)?;
    if interrupted {
        eprintln!(
            "schedlab: interrupted; finished points kept in {}",
            run_dir.display()
        );
    }
    Ok(if interrupted {
        130
    } else if !rendered {
        1
    } else {
        check_exit(o.check, &unmet)
    })
}

/// The exit status of `--check`: 3 when a verdict did not hold.
fn check_exit(check: bool, unmet: &[String]) -> i32 {
    if !check || unmet.is_empty() {
        return 0;
    }
    eprintln!(
        "schedlab: --check: {} verdict(s) did not hold:",
        unmet.len()
    );
    for u in unmet {
        eprintln!("  {u}");
    }
    3
}

/// Verdicts that neither reproduced nor fixed. "no data" counts as unmet
/// unless the whole runtime was skipped for the run (no Go toolchain): a
/// point that crashed must not pass a check by having no metrics.
pub fn unmet_verdicts(rows: &[VerdictRow], meta: &RunMeta) -> Vec<String> {
    rows.iter()
        .filter(|v| match v.status {
            VerdictStatus::Reproduced | VerdictStatus::Fixed => false,
            VerdictStatus::NoData => !meta.skipped_runtimes.contains_key(&v.runtime),
            VerdictStatus::NotReproduced | VerdictStatus::NotFixed => true,
        })
        .map(|v| {
            format!(
                "{} {} on {}: {} ({}/{} points){}",
                v.scenario,
                v.id,
                v.runtime,
                v.status.as_str(),
                v.points_held,
                v.points_matched,
                v.details
                    .first()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

fn skipped_point(sweep: &Sweep, spec: &PointSpec, repeat: u32, why: String) -> PointResult {
    PointResult {
        scenario: sweep.scenario.clone(),
        point_id: spec.point_id.clone(),
        runtime: spec.runtime.clone(),
        repeat,
        params: spec.params.clone(),
        outcome: Outcome::Skipped,
        outcome_detail: why,
        jsonl: String::new(),
        metrics: BTreeMap::new(),
    }
}

/// The scenario command line of the brief.
pub fn scenario_args(runtime: &str, duration: Duration, params: &Params) -> Vec<String> {
    let mut a = vec![
        "--runtime".into(),
        runtime.into(),
        "--duration".into(),
        format!("{}ms", duration.as_millis()),
    ];
    for (k, v) in params {
        a.push("--set".into());
        a.push(format!("{k}={v}"));
    }
    a
}

/// How often a go run prints its scheduler trace (`GODEBUG=schedtrace`),
/// in ms: the report draws Ms and Ps by state from these lines.
pub const GO_SCHEDTRACE_MS: u64 = 100;

/// `GODEBUG=schedtrace=N` for the go column (added to the user's own
/// GODEBUG settings, if any); nothing for the other runtimes.
fn go_schedtrace_env(runtime: &str) -> Vec<(String, String)> {
    if runtime != "go" {
        return Vec::new();
    }
    let mut v = format!("schedtrace={GO_SCHEDTRACE_MS}");
    if let Ok(user) = std::env::var("GODEBUG")
        && !user.is_empty()
    {
        v = format!("{user},{v}");
    }
    vec![("GODEBUG".into(), v)]
}

fn run_one(
    sweep: &Sweep,
    spec: &PointSpec,
    repeat: u32,
    binary: &Path,
    dir: &Path,
    sample_ms: u64,
) -> Result<(PointResult, SamplerCost)> {
    let name = supervise::jsonl_name(&spec.point_id, &spec.runtime, repeat);
    let duration = sweep.duration();
    let p = PointRun {
        binary: binary.to_path_buf(),
        args: scenario_args(&spec.runtime, duration, &spec.params),
        env: go_schedtrace_env(&spec.runtime),
        limit: duration + sweep.grace().unwrap_or(DEFAULT_GRACE),
        sample_period: Duration::from_millis(sample_ms.max(1)),
        jsonl: dir.join(&name),
    };
    let end = supervise::run_point(&p)?;
    let mut pr = skipped_point(sweep, spec, repeat, end.detail.clone());
    pr.outcome = end.outcome;
    if !end.interrupted {
        let d = analysis::read_jsonl(&p.jsonl)?;
        pr.metrics = d.summary.clone();
        pr.metrics.extend(analysis::runner_metrics(&d));
        pr.jsonl = name;
    }
    Ok((pr, end.sampler))
}

fn describe(p: &PointResult) -> String {
    let mut s = format!(
        "{} {} {} r{}: {}",
        p.scenario,
        p.point_id,
        p.runtime,
        p.repeat,
        p.outcome.as_str()
    );
    if !p.outcome_detail.is_empty() {
        s.push_str(&format!(" ({})", p.outcome_detail));
    }
    for k in ["threads_peak", "wall_s"] {
        if let Some(v) = p.metrics.get(k) {
            s.push_str(&format!(", {k} {v:.1}"));
        }
    }
    s
}

/// Analysis, report, verdict table. Returns whether the report rendered.
/// Analysis, the terminal summary and the report. Returns whether the
/// report rendered and the verdicts that did not hold.
fn finish(run_dir: &Path, meta: &RunMeta) -> Result<(bool, Vec<String>)> {
    let a = analysis::analyze(run_dir, meta)?;
    let unmet = unmet_verdicts(&a.verdicts, meta);
    let kept = a.points.iter().filter(|p| !p.jsonl.is_empty()).count();
    println!("{kept} point runs analysed in {}", run_dir.display());
    print!("{}", verdict_table(&a.verdicts));
    if !a.fidelity.is_empty() {
        let within = a.fidelity.iter().filter(|f| f.within == Some(true)).count();
        let judged = a.fidelity.iter().filter(|f| f.within.is_some()).count();
        println!(
            "fidelity gmp vs go: {within}/{judged} comparisons within tolerance ({} without data)",
            a.fidelity.len() - judged
        );
    }
    let rendered = match schedlab_report::render(run_dir) {
        Ok(r) => {
            println!("report: {}", r.html.display());
            true
        }
        Err(e) => {
            eprintln!("schedlab: the report could not be rendered: {e:#}");
            println!("results: {}", run_dir.display());
            false
        }
    };
    Ok((rendered, unmet))
}

/// `schedlab report [RUN_DIR]`.
pub fn report(run_dir: &Path, check: bool) -> Result<i32> {
    let meta: RunMeta = serde_json::from_slice(
        &std::fs::read(run_dir.join(RUN_META))
            .map_err(|e| user(format!("{}: not a run directory ({e})", run_dir.display())))?,
    )
    .map_err(|e| user(format!("{}: unreadable run.json: {e}", run_dir.display())))?;
    let (rendered, unmet) = finish(run_dir, &meta)?;
    Ok(if rendered {
        check_exit(check, &unmet)
    } else {
        1
    })
}

/// The newest run under `<root>/results` (by run.json start time).
pub fn newest_run(root: &Path) -> Result<PathBuf> {
    let base = root.join("results");
    let mut best: Option<(f64, PathBuf)> = None;
    for e in std::fs::read_dir(&base)
        .map_err(|e| user(format!("{}: {e}", base.display())))?
        .flatten()
    {
        let p = e.path();
        let Ok(b) = std::fs::read(p.join(RUN_META)) else {
            continue;
        };
        let Ok(m) = serde_json::from_slice::<RunMeta>(&b) else {
            continue;
        };
        if best.as_ref().is_none_or(|(t, _)| m.started_unix > *t) {
            best = Some((m.started_unix, p));
        }
    }
    best.map(|b| b.1).ok_or_else(|| {
        user(format!(
            "no run under {} (run `schedlab run <scenario>` first)",
            base.display()
        ))
    })
}

pub fn verdict_table(rows: &[VerdictRow]) -> String {
    if rows.is_empty() {
        return "no verdicts\n".into();
    }
    let head = ["scenario", "verdict", "runtime", "status", "held"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.scenario.clone(),
                r.id.clone(),
                r.runtime.clone(),
                r.status.as_str().to_string(),
                format!("{}/{}", r.points_held, r.points_matched),
            ]
        })
        .collect();
    let mut w = head.map(str::len);
    for c in &cells {
        for (i, s) in c.iter().enumerate() {
            w[i] = w[i].max(s.len());
        }
    }
    let line = |c: &[String]| {
        c.iter()
            .enumerate()
            .map(|(i, s)| format!("{s:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
            + "\n"
    };
    let mut out = line(&head.map(String::from));
    out.push_str(&line(&w.map(|n| "-".repeat(n))));
    for c in &cells {
        out.push_str(&line(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use schedlab_protocol::metrics::Value;

    #[test]
    fn scenario_args_follow_the_contract() {
        let mut p = Params::new();
        p.insert("procs".into(), Value::Num(2.0));
        p.insert("mode".into(), Value::Str("raw".into()));
        let a = scenario_args("tokio", Duration::from_secs(5), &p);
        assert_eq!(
            a,
            vec![
                "--runtime",
                "tokio",
                "--duration",
                "5000ms",
                "--set",
                "mode=raw",
                "--set",
                "procs=2"
            ]
        );
    }

    #[test]
    fn shape_rejects_unknown_runtime_and_axis() {
        let s = Sweep::from_yaml(
            "scenario: s\nincident: i\nruntimes: [gmp, go]\nduration: 1s\ngrid: { procs: [1, 2] }\n",
            "t",
        )
        .unwrap();
        let o = RunOptions {
            runtimes: Some(vec!["tokio".into()]),
            ..Default::default()
        };
        let e = shape(s.clone(), &o, true).unwrap_err().to_string();
        assert!(e.contains("its runtimes: gmp, go"), "{e}");
        let o = RunOptions {
            runtimes: Some(vec!["java".into()]),
            ..Default::default()
        };
        let e = shape(s.clone(), &o, true).unwrap_err().to_string();
        assert!(e.contains("gmp, tokio, go, threads"), "{e}");
        let o = RunOptions {
            sets: vec!["cpus=1".into()],
            ..Default::default()
        };
        let e = shape(s.clone(), &o, true).unwrap_err().to_string();
        assert!(e.contains("valid axes: procs"), "{e}");
        let o = RunOptions {
            sets: vec!["procs=4,8".into()],
            runtimes: Some(vec!["go".into()]),
            ..Default::default()
        };
        let t = shape(s, &o, true).unwrap();
        assert_eq!(t.runtimes, vec!["go"]);
        assert_eq!(t.expand(&t.runtimes).unwrap().len(), 2);
    }
}
