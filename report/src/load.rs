//! Reading a run directory (layout in `schedlab_protocol::results`).
//!
//! Invariants:
//! * `run.json` is the only file that must exist: without it the directory
//!   is not a run and [`load_run`] returns an error naming the path.
//! * Every other file may be absent or unreadable (an interrupted run, a
//!   scenario that never started, a truncated last line): the loader keeps
//!   what it can and records a human-readable warning, which the report
//!   prints. Nothing here panics on bad data.
//! * The report reads only inside the run directory: a `.jsonl` name from
//!   `points.json` that is absolute or climbs out with `..` is refused.
//! * Traces (`.jsonl`) are read on demand, one file at a time, because a
//!   large sweep has thousands of them: only the plotted repeat-0 traces are
//!   kept whole; the event scan keeps only the lines it needs.

use anyhow::Context as _;
use schedlab_protocol::metrics::{ExitLine, MergedLine, ProbeStats, ProcSample};
use schedlab_protocol::results::{
    FIDELITY, FidelityRow, POINTS, PointResult, RUN_META, RunMeta, VERDICTS, VerdictRow,
};
use schedlab_protocol::sweep::Sweep;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A run directory as read.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    pub meta: RunMeta,
    pub scenarios: Vec<Scenario>,
    /// Files that were missing or unreadable, in words.
    pub warnings: Vec<String>,
}

/// One scenario of a run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// The sweep as run; None when results exist without a stored sweep.
    pub sweep: Option<Sweep>,
    pub points: Vec<PointResult>,
    pub verdicts: Vec<VerdictRow>,
    pub fidelity: Vec<FidelityRow>,
}

impl Scenario {
    /// Runtimes in the sweep's order, then any others seen in the results.
    pub fn runtimes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .sweep
            .as_ref()
            .map(|s| s.runtimes.clone())
            .unwrap_or_default();
        let seen = self
            .points
            .iter()
            .map(|p| &p.runtime)
            .chain(self.verdicts.iter().map(|v| &v.runtime));
        for rt in seen {
            if !out.contains(rt) {
                out.push(rt.clone());
            }
        }
        out
    }

    /// Point ids in first-seen order (points.json is in grid order).
    pub fn point_ids(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in &self.points {
            if !out.contains(&p.point_id) {
                out.push(p.point_id.clone());
            }
        }
        out
    }

    /// The scenario's folder inside the run directory.
    pub fn dir(&self, run_dir: &Path) -> PathBuf {
        run_dir.join(&self.name)
    }
}

/// Reads `run.json`, every scenario's `points.json`, `verdicts.json` and
/// `fidelity.json`.
pub fn load_run(dir: &Path) -> anyhow::Result<Run> {
    let meta_path = dir.join(RUN_META);
    let text = std::fs::read_to_string(&meta_path).with_context(|| {
        format!(
            "cannot read {} (is this a schedlab run directory?)",
            meta_path.display()
        )
    })?;
    let meta: RunMeta = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid run.json", meta_path.display()))?;
    let mut warnings = Vec::new();
    let verdicts: Vec<VerdictRow> = read_optional_json(&dir.join(VERDICTS), &mut warnings);
    let fidelity: Vec<FidelityRow> = read_optional_json(&dir.join(FIDELITY), &mut warnings);
    let names = scenario_names(dir, &meta, &verdicts, &fidelity);
    let scenarios = names
        .into_iter()
        .map(|name| load_scenario(dir, &meta, name, &verdicts, &fidelity, &mut warnings))
        .collect();
    Ok(Run {
        dir: dir.to_path_buf(),
        meta,
        scenarios,
        warnings,
    })
}

fn load_scenario(
    dir: &Path,
    meta: &RunMeta,
    name: String,
    verdicts: &[VerdictRow],
    fidelity: &[FidelityRow],
    warnings: &mut Vec<String>,
) -> Scenario {
    let points_path = dir.join(&name).join(POINTS);
    let points = if points_path.exists() {
        read_points(&points_path, warnings)
    } else {
        warnings.push(format!("{name}: no {POINTS} (the scenario did not start)"));
        Vec::new()
    };
    Scenario {
        sweep: meta.sweeps.iter().find(|s| s.scenario == name).cloned(),
        verdicts: verdicts
            .iter()
            .filter(|v| v.scenario == name)
            .cloned()
            .collect(),
        fidelity: fidelity
            .iter()
            .filter(|f| f.scenario == name)
            .cloned()
            .collect(),
        points,
        name,
    }
}

/// Sweeps in run order, then scenarios that only have files.
fn scenario_names(
    dir: &Path,
    meta: &RunMeta,
    verdicts: &[VerdictRow],
    fidelity: &[FidelityRow],
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in &meta.sweeps {
        if !names.contains(&s.scenario) {
            names.push(s.scenario.clone());
        }
    }
    let mut extra = BTreeSet::new();
    extra.extend(verdicts.iter().map(|v| v.scenario.clone()));
    extra.extend(fidelity.iter().map(|f| f.scenario.clone()));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().join(POINTS).is_file() {
                extra.insert(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    for n in extra {
        if !names.contains(&n) && safe_name(&n) {
            names.push(n);
        }
    }
    names
}

/// A single path component without tricks.
pub fn safe_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('\\')
}

fn read_optional_json<T: serde::de::DeserializeOwned + Default>(
    path: &Path,
    warnings: &mut Vec<String>,
) -> T {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            warnings.push(format!("{} is unreadable: {e}", path.display()));
            T::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => T::default(),
        Err(e) => {
            warnings.push(format!("cannot read {}: {e}", path.display()));
            T::default()
        }
    }
}

/// Reads `points.json` row by row: a row that does not parse is left out
/// with a warning instead of losing the file. serde_json writes a NaN
/// metric as `null`, which `f64` cannot read back: such metrics are dropped
/// (missing, not zero) before the row is parsed.
fn read_points(path: &Path, warnings: &mut Vec<String>) -> Vec<PointResult> {
    let rows: Vec<serde_json::Value> = read_optional_json(path, warnings);
    let mut bad = 0;
    let mut first_err = String::new();
    let out = rows
        .into_iter()
        .filter_map(|mut row| {
            if let Some(m) = row.get_mut("metrics").and_then(|m| m.as_object_mut()) {
                m.retain(|_, v| !v.is_null());
            }
            serde_json::from_value::<PointResult>(row)
                .map_err(|e| {
                    bad += 1;
                    if first_err.is_empty() {
                        first_err = e.to_string();
                    }
                })
                .ok()
        })
        .collect();
    if bad > 0 {
        warnings.push(format!(
            "{}: {bad} row(s) unreadable and left out (first: {first_err})",
            path.display()
        ));
    }
    out
}

/// One `sample` line.
#[derive(Debug, Clone)]
pub struct SampleLine {
    pub t_ms: f64,
    pub probe: Option<ProbeStats>,
    pub counters: BTreeMap<String, f64>,
}

/// One `event` line.
#[derive(Debug, Clone)]
pub struct EventLine {
    pub t_ms: f64,
    pub kind: String,
    pub text: String,
}

/// A merged `.jsonl`, split by line type.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub procs: Vec<ProcSample>,
    pub samples: Vec<SampleLine>,
    pub phases: Vec<(f64, String)>,
    pub events: Vec<EventLine>,
    pub exit: Option<ExitLine>,
    /// Lines that did not parse (a truncated last line, a foreign line).
    pub bad_lines: usize,
}

impl Trace {
    /// Last time stamp of any line, in ms.
    pub fn end_ms(&self) -> f64 {
        let last = [
            self.procs.last().map(|p| p.t_ms),
            self.samples.last().map(|s| s.t_ms),
            self.phases.last().map(|p| p.0),
            self.exit.as_ref().map(|e| e.t_ms),
        ];
        last.into_iter()
            .flatten()
            .filter(|t| t.is_finite())
            .fold(0.0, f64::max)
    }
}

/// The path of a point's `.jsonl`, refusing names that leave the folder.
pub fn jsonl_path(run_dir: &Path, scenario: &str, file: &str) -> Option<PathBuf> {
    let p = Path::new(file);
    let plain = !file.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    plain.then(|| run_dir.join(scenario).join(p))
}

/// Reads a whole trace; `Err` only when the file cannot be opened.
pub fn read_trace(path: &Path) -> std::io::Result<Trace> {
    let text = std::fs::read_to_string(path)?;
    let mut t = Trace::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<MergedLine>(line) {
            Ok(l) => add_line(&mut t, l),
            Err(_) => t.bad_lines += 1,
        }
    }
    Ok(t)
}

fn add_line(t: &mut Trace, line: MergedLine) {
    match line {
        MergedLine::Proc(p) => t.procs.push(p),
        MergedLine::Sample {
            t_ms,
            probe,
            counters,
            ..
        } => t.samples.push(SampleLine {
            t_ms,
            probe,
            counters,
        }),
        MergedLine::Phase { t_ms, name, .. } => t.phases.push((t_ms, name)),
        MergedLine::Event {
            t_ms, kind, text, ..
        } => t.events.push(EventLine { t_ms, kind, text }),
        MergedLine::Exit(e) => t.exit = Some(e),
        MergedLine::Hello { .. } | MergedLine::Summary { .. } => {}
    }
}

/// Only the `event` lines of a trace whose kind is in `kinds` (cheap: other
/// lines are not parsed).
pub fn read_events(path: &Path, kinds: &[&str]) -> Vec<EventLine> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| l.contains("\"event\""))
        .filter_map(|l| match serde_json::from_str::<MergedLine>(l) {
            Ok(MergedLine::Event {
                t_ms, kind, text, ..
            }) if kinds.contains(&kind.as_str()) => Some(EventLine { t_ms, kind, text }),
            _ => None,
        })
        .collect()
}

/// The stderr line that best says why a process ended: the first line
/// naming a fatal error or a panic, else the last non-empty line.
pub fn telling_stderr_line(tail: &str) -> String {
    let lines: Vec<&str> = tail
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| {
            l.starts_with("fatal error") || l.contains("panicked at") || l.starts_with("panic:")
        })
        .or(lines.last())
        .map(|l| l.to_string())
        .unwrap_or_default()
}
