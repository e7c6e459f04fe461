//! `schedlab run` / `run-all` / `report`: from sweeps to a run directory.
//!
//! ```text
//! plan:    load sweeps ─ profile (--full | default | --quick) ─ --set ─
//!          --repeats/--duration ─ runtimes
//!          size: refuse more than MAX_RUNS point runs unless --yes
//!          values: every axis value checked against `<binary> --describe`
//!          resolve binaries (missing: stop before running anything)
//!          build Go references (missing: skip the go column, say why)
//! run:     lock the run dir ─ run.json (status running) ─ for each scenario,
//!          point (of this --shard), runtime, repeat: supervise::run_point ─
//!          points.json rewritten at most every POINTS_EVERY
//! finish:  analysis::analyze ─ run.json (complete | interrupted)
//!          ─ schedlab_report::render ─ verdict table ─ report path
//! ```
//!
//! # Invariants
//!
//! * The run directory is readable by `schedlab report` at every moment
//!   after `run.json` is first written: every file in it is complete
//!   (atomic writes); the analysis rebuilds points from the `.jsonl` files,
//!   so a points.json a little behind loses nothing.
//! * A grid is walked lazily ([`Sweep::points`]), never held in memory; the
//!   time to stop after a signal does not depend on its size: the current
//!   point is killed, at most [`SKIPPED_ROWS`] not-run point runs get a
//!   `skipped` row ("interrupted"), the rest are counted in run.json's
//!   `not_run`, points.json is written once, and the analysis and the report
//!   cover what ran. run.json says `interrupted`, exit 130. A second SIGINT
//!   or SIGTERM exits at once (see `signals.rs`).
//! * One runner per run directory: it holds `.lock` ([`lock_run_dir`]).
//! * No process of a point outlives the runner, even a SIGKILLed one
//!   (`supervise.rs`, `sentinel.rs`).
//! * A runtime that cannot run at all (no Go toolchain, no reference
//!   program) is recorded in `skipped_runtimes` with the reason and one
//!   `skipped` row per point; the rest of the run is unaffected.
//! * `--shard K/N` keeps the points whose index, counting distinct
//!   (scenario, point id) in plan order over the whole run, is K-1 modulo
//!   N: a point's runtimes and repeats stay together (gmp and go are
//!   compared on one host), every shard gets every scenario's points in
//!   turn, and the same command on N hosts covers the plan exactly once.

use crate::analysis;
use crate::discover;
use crate::fsutil::{lock_run_dir, unix_now, utc_stamp, write_json};
use crate::sampler::SamplerCost;
use crate::signals;
use crate::supervise::{self, PointRun};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use schedlab_protocol::metrics::{Outcome, Params};
use schedlab_protocol::results::{
    POINTS, PointResult, RUN_META, RunMeta, RunStatus, VerdictRow, VerdictStatus,
};
use schedlab_protocol::spec::ScenarioSpec;
use schedlab_protocol::sweep::{
    KNOWN_RUNTIMES, PointSpec, ProfileName, Sweep, parse_duration, parse_value,
};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default time past `duration` before a point is killed.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Point runs (points × runtimes × repeats) a run may have without `--yes`.
pub const MAX_RUNS: u128 = 100_000;

/// Up to this bound a plan is counted exactly (by walking it); above, the
/// bound (before skip predicates) stands for the count.
const EXACT_COUNT_UP_TO: u128 = 2 * MAX_RUNS;

/// Not-run point runs that get a `skipped` row when a run is interrupted.
pub const SKIPPED_ROWS: u64 = 1_000;

/// points.json is rewritten at most this often while a run goes (and at
/// the end of each scenario): a rewrite costs the whole list, so one per
/// point would make a long run quadratic.
const POINTS_EVERY: Duration = Duration::from_secs(2);

/// A mistake in what the user asked: exit code 2.
#[derive(Debug)]
pub struct UserError(pub String);

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

pub fn user(msg: impl Into<String>) -> anyhow::Error {
    UserError(msg.into()).into()
}

/// The /proc sampling period when neither `--sample-ms` nor the sweep
/// sets one.
pub const DEFAULT_SAMPLE_MS: u64 = 5;

/// `--shard K/N`: this host runs shard K (1-based) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s}: expected K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// Which points belong to this shard (see the top of this file). A fresh
/// one per walk of the plan: the answer depends on the order of first
/// sight.
struct Sharder {
    shard: Option<Shard>,
    seen: HashMap<(String, String), bool>,
}

impl Sharder {
    fn new(shard: Option<Shard>) -> Sharder {
        Sharder {
            shard,
            seen: HashMap::new(),
        }
    }

    fn keep(&mut self, scenario: &str, point_id: &str) -> bool {
        let Some(sh) = self.shard.filter(|s| s.n > 1) else {
            return true;
        };
        let next = self.seen.len() as u64;
        *self
            .seen
            .entry((scenario.to_string(), point_id.to_string()))
            .or_insert(next % sh.n as u64 == (sh.k - 1) as u64)
    }
}

/// The knobs common to `run` and `run-all`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub runtimes: Option<Vec<String>>,
    pub sets: Vec<String>,
    pub repeats: Option<u32>,
    pub duration: Option<String>,
    /// `--full`, `--quick`, or the default profile.
    pub profile: ProfileName,
    pub out: Option<PathBuf>,
    /// `--sample-ms`: overrides every sweep's own `sample_ms`.
    pub sample_ms: Option<u64>,
    /// Exit 3 unless every verdict reproduced or fixed (`--check`).
    pub check: bool,
    /// `--yes`: run more than [`MAX_RUNS`] point runs.
    pub yes: bool,
    pub shard: Option<Shard>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            runtimes: None,
            sets: Vec::new(),
            repeats: None,
            duration: None,
            profile: ProfileName::Default,
            out: None,
            sample_ms: None,
            check: false,
            yes: false,
            shard: None,
        }
    }
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

/// Applies the profile, --set, --repeats, --duration and --runtime.
/// `strict` (`run`, one scenario): `--quick` without a quick profile and a
/// runtime the scenario lacks are errors; for `run-all` they are notes.
pub fn shape(mut sweep: Sweep, o: &RunOptions, strict: bool) -> Result<Sweep> {
    if o.profile == ProfileName::Quick && sweep.quick.is_none() {
        if strict {
            return Err(user(format!(
                "scenario {} has no quick profile (no `quick:` in its sweep.yaml); run it without --quick",
                sweep.scenario
            )));
        }
        eprintln!(
            "schedlab: note: scenario {} has no quick profile; running its default profile",
            sweep.scenario
        );
        sweep
            .apply_profile(ProfileName::Default)
            .map_err(|e| user(e.to_string()))?;
    } else {
        sweep
            .apply_profile(o.profile)
            .map_err(|e| user(e.to_string()))?;
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
        // A scheduler knob the sweep lacks becomes a new axis (knobs.rs).
        schedlab_protocol::knobs::add_axis(&mut sweep, axis.trim());
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
            if strict && !sweep.runtimes.contains(r) {
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

/// Point runs of the plan whose (scenario, runtime) `runs`: exact when the
/// bound is small enough to walk, else the bound. Returns (count, exact).
fn count_runs(
    sweeps: &[Sweep],
    shard: Option<Shard>,
    runs: impl Fn(&str, &str) -> bool,
) -> (u128, bool) {
    let bound: u128 = sweeps
        .iter()
        .map(|s| s.runs_bound(&s.runtimes))
        .fold(0, u128::saturating_add);
    if bound > EXACT_COUNT_UP_TO {
        let n = shard.map_or(1, |s| s.n as u128);
        return (bound.div_ceil(n), false);
    }
    let mut sharder = Sharder::new(shard);
    let mut n = 0u128;
    for s in sweeps {
        let Ok(points) = s.points(&s.runtimes) else {
            continue;
        };
        for p in points {
            if sharder.keep(&s.scenario, &p.point_id) && runs(&s.scenario, &p.runtime) {
                n += s.repeats as u128;
            }
        }
    }
    (n, true)
}

/// Refuses a plan over [`MAX_RUNS`] unless `--yes`; says when a runtime
/// (or the whole plan) has no point left.
fn check_plan(sweeps: &[Sweep], o: &RunOptions) -> Result<u128> {
    let (runs, exact) = count_runs(sweeps, o.shard, |_, _| true);
    if runs > MAX_RUNS && !o.yes {
        return Err(user(format!(
            "this run has {}{runs} point runs (points x runtimes x repeats{}), more than {MAX_RUNS}; \
             narrow it with --set, --runtime or --repeats, or pass --yes to run it anyway",
            if exact { "" } else { "up to " },
            if exact {
                ""
            } else {
                ", before skip predicates"
            },
        )));
    }
    if exact {
        for s in sweeps {
            for rt in &s.runtimes {
                let one = [rt.clone()];
                if s.points(&one)
                    .map(|mut p| p.next().is_none())
                    .unwrap_or(false)
                {
                    eprintln!(
                        "schedlab: note: {}: no {rt} point is left: the skip predicates drop every one \
                         ({}); nothing runs on {rt}",
                        s.scenario,
                        s.skip.join("; ")
                    );
                }
            }
        }
        if runs == 0 && o.shard.is_none() {
            return Err(user(
                "nothing to run: every point is dropped by a skip predicate (see the notes above)",
            ));
        }
    }
    Ok(runs)
}

/// Checks every axis value against what the scenario binary declares
/// (`--describe`), before anything runs. A binary that cannot describe
/// itself (an old build, a test fixture) is not checked.
fn check_values(bin_dir: &Path, sweeps: &[Sweep]) -> Result<()> {
    for s in sweeps {
        let bin = bin_dir.join(&s.scenario);
        if !supervise::is_executable(&bin) {
            continue;
        }
        let Some(spec) = discover::describe(&bin) else {
            continue;
        };
        check_sweep_values(s, &spec)?;
    }
    Ok(())
}

fn check_sweep_values(s: &Sweep, spec: &ScenarioSpec) -> Result<()> {
    let fail = |e: String| user(format!("scenario {}: {e}; nothing was run", s.scenario));
    for rt in &s.runtimes {
        if rt != "go" && !spec.runtimes.contains(rt) {
            return Err(fail(format!(
                "its binary has no {rt} runtime (its runtimes: {})",
                spec.runtimes.join(", ")
            )));
        }
        for (axis, values) in s.axes_for(rt) {
            for v in &values {
                spec.check(&axis, v).map_err(fail)?;
            }
        }
    }
    Ok(())
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

/// How the run ended, in point runs.
#[derive(Default)]
struct Tally {
    /// Run (a process was started and ended).
    done: u64,
    /// Of those, ended as designed (ok, timeout, limit): not a crash.
    measured: u64,
    /// Not-run rows written for the interrupt.
    skipped_rows: u64,
    first_crash: Option<String>,
}

/// Runs `sweeps` (already shaped) into a new run directory. Returns the
/// process exit code (0, 1 when every point run crashed, 130 when
/// interrupted, 3 with `--check` and a verdict that did not hold).
pub fn run(
    root: &Path,
    bin_dir: &Path,
    sweeps: Vec<Sweep>,
    o: &RunOptions,
    label: &str,
) -> Result<i32> {
    let planned = check_plan(&sweeps, o)?;
    let mut total = planned;
    check_values(bin_dir, &sweeps)?;
    let bins = resolve_binaries(root, bin_dir, &sweeps)?;
    for (rt, why) in &bins.skipped {
        eprintln!("schedlab: skipping the {rt} column: {why}");
    }
    if !bins.skipped.is_empty() {
        // The runs of a skipped column get a row each, but are not run.
        let has = |sc: &str, rt: &str| bins.paths.contains_key(&(sc.to_string(), rt.to_string()));
        total = count_runs(&sweeps, o.shard, has).0;
    }
    let run_dir = new_run_dir(root, o.out.as_deref(), label)?;
    let _lock = lock_run_dir(&run_dir).map_err(user)?;
    signals::install();
    // Orphaned grandchildren of a scenario come back to us, so we can reap
    // them (see supervise.rs); the sentinel covers our own death.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    crate::sentinel::start();

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
        quick: o.profile == ProfileName::Quick,
        host,
        sweeps: sweeps.clone(),
        skipped_runtimes: bins.skipped.clone(),
        sampler_cpu_s: 0.0,
        sampler_cpu_frac: 0.0,
        profile: Some(o.profile),
        shard: o.shard.map(|s| s.to_string()),
        merged_from: Vec::new(),
        not_run: 0,
    };
    write_json(&run_dir.join(RUN_META), &meta)?;

    // Point runs that have a binary: the progress bar's length and what
    // `not_run` counts down from.
    let runnable = total.min(u64::MAX as u128) as u64;
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        ProgressBar::new(runnable)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} ETA {eta} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );

    let mut cost = SamplerCost::default();
    let mut tally = Tally::default();
    let mut sharder = Sharder::new(o.shard);
    for sweep in &sweeps {
        let dir = run_dir.join(&sweep.scenario);
        std::fs::create_dir_all(&dir)?;
        let mut list: Vec<PointResult> = Vec::new();
        let mut last_write = Instant::now();
        let sample_ms = o.sample_ms.or(sweep.sample_ms).unwrap_or(DEFAULT_SAMPLE_MS);
        for spec in sweep
            .points(&sweep.runtimes)
            .map_err(|e| user(e.to_string()))?
        {
            if !sharder.keep(&sweep.scenario, &spec.point_id) {
                continue;
            }
            if signals::interrupted() && tally.skipped_rows >= SKIPPED_ROWS {
                break;
            }
            let key = (sweep.scenario.clone(), spec.runtime.clone());
            let Some(binary) = bins.paths.get(&key) else {
                let why = bins
                    .skipped
                    .get(&spec.runtime)
                    .cloned()
                    .unwrap_or_else(|| "not available".into());
                list.push(skipped_point(sweep, &spec, 1, why));
                continue;
            };
            for repeat in 1..=sweep.repeats {
                if signals::interrupted() {
                    if tally.skipped_rows < SKIPPED_ROWS {
                        tally.skipped_rows += 1;
                        list.push(skipped_point(
                            sweep,
                            &spec,
                            repeat,
                            "interrupted (Ctrl-C) before it ran".into(),
                        ));
                    }
                    continue;
                }
                bar.set_message(format!(
                    "{} {} {} r{repeat}",
                    sweep.scenario, spec.point_id, spec.runtime
                ));
                let r = run_one(sweep, &spec, repeat, binary, &dir, sample_ms)?;
                cost.cpu_s += r.1.cpu_s;
                cost.wall_s += r.1.wall_s;
                if r.0.jsonl.is_empty() {
                    // Cut by the interrupt: not a run.
                    list.push(r.0);
                    continue;
                }
                tally.done += 1;
                if r.0.outcome == Outcome::Crash {
                    tally.first_crash.get_or_insert_with(|| describe(&r.0));
                } else {
                    tally.measured += 1;
                }
                bar.inc(1);
                if !tty {
                    eprintln!("[{}/{runnable}] {}", tally.done, describe(&r.0));
                } else if r.0.outcome != Outcome::Ok {
                    bar.println(describe(&r.0));
                }
                list.push(r.0);
                if last_write.elapsed() >= POINTS_EVERY {
                    write_json(&dir.join(POINTS), &list)?;
                    last_write = Instant::now();
                }
            }
        }
        write_json(&dir.join(POINTS), &list)?;
        if signals::interrupted() && tally.skipped_rows >= SKIPPED_ROWS {
            break;
        }
    }
    bar.finish_and_clear();

    let interrupted = signals::interrupted();
    meta.status = if interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Complete
    };
    meta.not_run = if interrupted {
        runnable.saturating_sub(tally.done)
    } else {
        0
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
            "schedlab: interrupted; finished points kept in {}{}",
            run_dir.display(),
            if meta.not_run > 0 {
                format!(" ({} point runs not run)", meta.not_run)
            } else {
                String::new()
            }
        );
        return Ok(130);
    }
    if tally.done > 0 && tally.measured == 0 {
        eprintln!(
            "schedlab: every one of the {} point runs crashed; the first: {}",
            tally.done,
            tally.first_crash.unwrap_or_default()
        );
        return Ok(1);
    }
    if tally.done == 0 {
        if planned == 0 {
            // Only a shard can have an empty plan (check_plan refuses one
            // otherwise): more shards than points is not an error.
            eprintln!(
                "schedlab: note: shard {} has no point (the plan has fewer points than shards)",
                o.shard.map(|s| s.to_string()).unwrap_or_default()
            );
        } else {
            eprintln!(
                "schedlab: nothing ran{}",
                if bins.skipped.is_empty() {
                    ""
                } else {
                    ": every runtime asked for was skipped (see above)"
                }
            );
            return Ok(1);
        }
    }
    Ok(if !rendered {
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
/// GODEBUG settings, if any); nothing for the other runtimes, and nothing
/// for a go point that may die of thread exhaustion (a sweep with
/// `go_schedtrace: false`, or a point that lowers the thread limit): Go
/// 1.19's crash path calls `schedtrace(true)`, which takes the
/// `sched.lock` that `checkmcount` threw with, and the process hangs
/// instead of exiting.
fn go_schedtrace_env(sweep: &Sweep, spec: &PointSpec) -> Vec<(String, String)> {
    let limit_set = schedlab_protocol::knobs::changed("gmp.max_threads", &spec.params);
    if spec.runtime != "go" || !sweep.go_schedtrace || limit_set {
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
    let name = schedlab_protocol::results::jsonl_name(&spec.point_id, &spec.runtime, repeat);
    let duration = sweep.duration();
    let p = PointRun {
        binary: binary.to_path_buf(),
        args: scenario_args(&spec.runtime, duration, &spec.params),
        env: go_schedtrace_env(sweep, spec),
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
            write_results_index(run_dir);
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

/// Refreshes `results/index.html` (every run, newest first) when the run
/// directory lives in a folder named `results` (the default); a run written
/// elsewhere with `--out` leaves that folder alone. A failure is a warning.
fn write_results_index(run_dir: &Path) {
    let Some(parent) = run_dir.parent() else {
        return;
    };
    if parent.file_name().is_some_and(|n| n == "results") {
        match schedlab_report::write_index(parent) {
            Ok(p) => println!("all runs: {}", p.display()),
            Err(e) => eprintln!("schedlab: warning: results index not written: {e:#}"),
        }
    }
}

/// Reads a run directory's run.json; a missing or unreadable one is a
/// user error (exit 2).
pub fn read_meta(run_dir: &Path) -> Result<RunMeta> {
    let bytes = std::fs::read(run_dir.join(RUN_META)).map_err(|e| {
        user(format!(
            "{}: not a run directory: {} is missing or unreadable ({e}); \
                 a run directory (results/<run-id>/) holds {RUN_META}, written when the run starts, \
                 and one folder per scenario",
            run_dir.display(),
            RUN_META
        ))
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| user(format!("{}: unreadable run.json: {e}", run_dir.display())))
}

/// `schedlab report [RUN_DIR]`. A run left `running` by a runner that died
/// (no one holds its lock) is marked interrupted, and the temp files of its
/// cut point are removed.
pub fn report(run_dir: &Path, check: bool) -> Result<i32> {
    let mut meta = read_meta(run_dir)?;
    if meta.status == RunStatus::Running {
        match lock_run_dir(run_dir) {
            Ok(_lock) => {
                meta.status = RunStatus::Interrupted;
                write_json(&run_dir.join(RUN_META), &meta)?;
                let removed = remove_temp_files(run_dir, &meta);
                eprintln!(
                    "schedlab: note: this run was left `running` by a runner that is gone; \
                     marked interrupted{}",
                    if removed > 0 {
                        format!(" ({removed} unfinished temp file(s) removed)")
                    } else {
                        String::new()
                    }
                );
            }
            Err(held) => eprintln!("schedlab: note: {held}; reporting on what is there so far"),
        }
    }
    note_missing_scenario_folders(run_dir, &meta);
    let (rendered, unmet) = finish(run_dir, &meta)?;
    Ok(if rendered {
        check_exit(check, &unmet)
    } else {
        1
    })
}

/// A run.json with none of its scenarios' folders beside it (copied alone,
/// or a run cut before its first point): the report will be empty, so say
/// why. (One scenario without a folder is an interrupted run-all's normal.)
fn note_missing_scenario_folders(run_dir: &Path, meta: &RunMeta) {
    let folders: Vec<String> = meta
        .sweeps
        .iter()
        .map(|s| format!("{}/", s.scenario))
        .collect();
    if !folders.is_empty() && !folders.iter().any(|f| run_dir.join(f).is_dir()) {
        eprintln!(
            "schedlab: note: {}: {RUN_META} but no scenario folder ({}): a run directory holds \
             one folder per scenario; no point of this run started, or the folders were not copied",
            run_dir.display(),
            folders.join(", ")
        );
    }
}

/// Analysis and report of a run directory already written (`merge`).
pub fn report_into(run_dir: &Path, meta: &RunMeta) -> Result<i32> {
    let (rendered, _) = finish(run_dir, meta)?;
    Ok(if rendered { 0 } else { 1 })
}

/// Deletes `.<name>.<pid>.tmp` files (see `protocol::atomic`) of a run
/// whose runner is gone. Returns how many.
fn remove_temp_files(run_dir: &Path, meta: &RunMeta) -> usize {
    let mut dirs = vec![run_dir.to_path_buf()];
    dirs.extend(meta.sweeps.iter().map(|s| run_dir.join(&s.scenario)));
    let mut n = 0;
    for d in dirs {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.')
                && name.ends_with(".tmp")
                && std::fs::remove_file(e.path()).is_ok()
            {
                n += 1;
            }
        }
    }
    n
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
    fn go_schedtrace_is_left_off_where_go_may_die_of_thread_exhaustion() {
        let mut sweep = Sweep::from_yaml(
            "scenario: s\nincident: i\nruntimes: [gmp, go]\nduration: 1s\ngrid: { procs: [1] }\n",
            "sweep.yaml",
        )
        .unwrap();
        let spec = |rt: &str, limit: Option<f64>| {
            let mut params = Params::new();
            params.insert("procs".into(), Value::Num(1.0));
            if let Some(n) = limit {
                params.insert("gmp.max_threads".into(), Value::Num(n));
            }
            PointSpec {
                runtime: rt.into(),
                point_id: "procs-1".into(),
                params,
                axes: vec!["procs".into()],
            }
        };
        let traced = |env: Vec<(String, String)>| {
            env.iter()
                .any(|(k, v)| k == "GODEBUG" && v.contains("schedtrace="))
        };
        assert!(traced(go_schedtrace_env(&sweep, &spec("go", None))));
        // The knob at its default (a grid passes it to every point) lowers
        // no limit: the trace stays on.
        assert!(traced(go_schedtrace_env(
            &sweep,
            &spec("go", Some(10000.0))
        )));
        assert!(go_schedtrace_env(&sweep, &spec("gmp", None)).is_empty());
        assert!(go_schedtrace_env(&sweep, &spec("go", Some(50.0))).is_empty());
        sweep.go_schedtrace = false;
        assert!(go_schedtrace_env(&sweep, &spec("go", None)).is_empty());
    }

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
