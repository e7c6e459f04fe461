//! From stored `.jsonl` files to numbers and judgements.
//!
//! Used at the end of `schedlab run` and again by `schedlab report`, which
//! recomputes everything from the run directory alone, so the two always
//! agree and a run cut by Ctrl-C (or by a SIGKILL to the runner: the
//! `.jsonl` files are complete or absent) can still be analysed.
//!
//! ```text
//! <scenario>/*.jsonl ──▶ per point × runtime × repeat metrics ──▶ points.json
//!                                   │ median over repeats
//!                                   ├──▶ summary.csv  (rows + median rows)
//!                                   ├──▶ verdicts.json (sweep verdicts × runtime)
//!                                   └──▶ fidelity.json (gmp vs go per point)
//! ```
//!
//! # Invariants
//!
//! * A point's identity comes from its file name,
//!   `<point_id>.<runtime>.r<repeat>.jsonl` (point ids may contain dots, so
//!   it is parsed from the right); its params from the `hello` line, or
//!   from the sweep's expansion when the scenario died before saying hello.
//! * Runner metrics (see [`runner_metrics`]) are computed from `proc` lines
//!   only, and win over a scenario summary metric of the same name.
//! * Points not run (runtime skipped, Ctrl-C) come from the previous
//!   `points.json`; they have no `.jsonl` and no metrics.
//! * Nothing here is quadratic or walks a whole grid: points are grouped
//!   with hash maps, and the plan is walked only until every recorded
//!   point is placed. One unreadable `.jsonl` (not UTF-8, a directory of
//!   that name) or line is skipped with a warning naming it; the rest of
//!   the run is analysed.
//! * Medians use every repeat that ran as designed and has the metric:
//!   outcomes ok, timeout and limit (a deadlock or a thread limit is a
//!   result); crashed repeats keep their own rows in summary.csv but do not
//!   count, so a point that only crashed has no data for verdicts. An even
//!   count takes the mean of the middle two.
//! * A verdict is judged per runtime over the points the run recorded (run,
//!   or skipped with a reason) that match its `where` (the plan's params +
//!   `runtime`): a shard judges its points, a merged run all of them.
//!   Each point: `expect` true → holds; false → fails; a missing name →
//!   no data. Status: no point with data → no
//!   data; else all with data hold → reproduced (or fixed); else not
//!   reproduced (not fixed). A runtime that matches no point gets no row.
//!   The context has params, `runtime`, `outcome` (the repeats' outcomes,
//!   e.g. `ok` or `ok+timeout`) and the median metrics.

use crate::fsutil::{write_atomic, write_json};
use anyhow::{Context, Result};
use schedlab_protocol::metrics::{ExitLine, MergedLine, Outcome, Params, ProcSample, Value};
use schedlab_protocol::predicate::{EvalError, MapContext, Predicate};
use schedlab_protocol::results::{
    FIDELITY, FidelityRow, MEDIANS_CSV, POINTS, PointResult, RunMeta, SUMMARY_CSV, VERDICTS,
    VerdictRow, VerdictStatus, parse_jsonl_name,
};
use schedlab_protocol::sweep::{Holds, Sweep, Tolerance};
use schedlab_protocol::util::median;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

/// Everything read back from one `.jsonl`.
#[derive(Debug, Default)]
pub struct PointData {
    pub params: Option<Params>,
    pub procs: Vec<ProcSample>,
    pub phases: Vec<(String, f64)>,
    pub summary: BTreeMap<String, f64>,
    pub limit: Option<String>,
    /// The text of an `event` of kind `skip` (a knob the runtime lacks).
    pub skip: Option<String>,
    pub exit: Option<ExitLine>,
    /// Lines that could not be read (not UTF-8, not JSON of the protocol):
    /// `line N: why`. They are skipped, never fatal.
    pub bad_lines: Vec<String>,
}

pub fn read_jsonl(path: &Path) -> Result<PointData> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut d = PointData::default();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = std::str::from_utf8(raw)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|line| {
                serde_json::from_str::<MergedLine>(line)
                    .map_err(|e| format!("not a line of the protocol ({e})"))
            });
        let l = match parsed {
            Ok(l) => l,
            Err(why) => {
                d.bad_lines.push(format!("line {}: {why}", i + 1));
                continue;
            }
        };
        match l {
            MergedLine::Hello { params, .. } => d.params = Some(params),
            MergedLine::Phase { t_ms, name, .. } => d.phases.push((name, t_ms)),
            MergedLine::Event { kind, text, .. } if kind == "limit" => {
                d.limit.get_or_insert(text);
            }
            MergedLine::Event { kind, text, .. } if kind == "skip" => {
                d.skip.get_or_insert(text);
            }
            MergedLine::Summary { metrics, .. } => d.summary = metrics,
            MergedLine::Proc(p) => d.procs.push(p),
            MergedLine::Exit(e) => d.exit = Some(e),
            _ => {}
        }
    }
    Ok(d)
}

/// Says, once per file, which lines of a `.jsonl` were skipped.
fn warn_bad_lines(path: &Path, d: &PointData) {
    if d.bad_lines.is_empty() {
        return;
    }
    let shown: Vec<&str> = d.bad_lines.iter().take(3).map(String::as_str).collect();
    eprintln!(
        "schedlab: warning: {}: skipped {} unreadable line(s): {}{}",
        path.display(),
        d.bad_lines.len(),
        shown.join("; "),
        if d.bad_lines.len() > 3 { "; ..." } else { "" }
    );
}

/// The thread count a runtime died at, from its own fatal error: Go's
/// `checkmcount` (and gmp's, which models it) prints "runtime: program
/// exceeds N-thread limit" when creating an M would pass N. The /proc
/// sampler's `threads_peak` only bounds that from below: a ramp of 500
/// threads in 0.1 s outruns its ticks.
fn thread_limit_hit(stderr: &str) -> Option<f64> {
    stderr.lines().find_map(|l| {
        let rest = l.split("program exceeds ").nth(1)?;
        rest.strip_suffix("-thread limit")?.trim().parse().ok()
    })
}

fn max(v: impl Iterator<Item = f64>) -> Option<f64> {
    v.fold(None, |m, x| Some(m.map_or(x, |m: f64| m.max(x))))
}

/// threads_peak, threads_median, threads_end, r_threads_max,
/// r_threads_median, cores_mean, cores_max, rss_peak_bytes, rss_end_bytes,
/// wall_s, threads_at_<phase>, and `thread_limit_hit` when the runtime died
/// of its thread limit.
pub fn runner_metrics(d: &PointData) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let p = &d.procs;
    if let Some(e) = &d.exit {
        m.insert("wall_s".into(), e.t_ms / 1000.0);
        if let Some(n) = thread_limit_hit(&e.stderr_tail) {
            m.insert("thread_limit_hit".into(), n);
        }
    }
    if p.is_empty() {
        return m;
    }
    let threads: Vec<f64> = p.iter().map(|s| s.threads as f64).collect();
    let r: Vec<f64> = p
        .iter()
        .filter_map(|s| s.r_threads.map(|x| x as f64))
        .collect();
    let cores: Vec<f64> = p.iter().map(|s| s.cores).collect();
    m.insert(
        "threads_peak".into(),
        max(threads.iter().copied()).unwrap_or(0.0),
    );
    m.insert("threads_median".into(), median(&threads).unwrap_or(0.0));
    m.insert("threads_end".into(), *threads.last().unwrap_or(&0.0));
    if let Some(x) = max(r.iter().copied()) {
        m.insert("r_threads_max".into(), x);
        m.insert("r_threads_median".into(), median(&r).unwrap_or(0.0));
    }
    m.insert(
        "cores_mean".into(),
        cores.iter().sum::<f64>() / cores.len() as f64,
    );
    m.insert(
        "cores_max".into(),
        max(cores.iter().copied()).unwrap_or(0.0),
    );
    m.insert(
        "rss_peak_bytes".into(),
        max(p.iter().map(|s| s.rss_bytes as f64)).unwrap_or(0.0),
    );
    m.insert(
        "rss_end_bytes".into(),
        p.last().map(|s| s.rss_bytes as f64).unwrap_or(0.0),
    );
    for (name, t) in &d.phases {
        let key = format!("threads_at_{name}");
        if m.contains_key(&key) {
            continue;
        }
        if let Some(s) = p.iter().find(|s| s.t_ms >= *t) {
            m.insert(key, s.threads as f64);
        }
    }
    m
}

/// The outcome detail, rebuilt from the file.
fn detail_of(d: &PointData) -> (Outcome, String) {
    let Some(e) = &d.exit else {
        return (Outcome::Crash, "no exit line (runner stopped?)".into());
    };
    let last = crate::supervise::telling_line(&e.stderr_tail);
    let status = match (e.code, e.signal) {
        (Some(c), _) => format!("exit code {c}"),
        (_, Some(s)) => format!("signal {s}"),
        _ => String::new(),
    };
    let detail = match e.outcome {
        Outcome::Ok => String::new(),
        Outcome::Skipped => d.skip.clone().unwrap_or_default(),
        Outcome::Timeout => "killed at the time limit (duration + grace)".into(),
        Outcome::Limit => d
            .limit
            .clone()
            .unwrap_or_else(|| format!("{status}: {last}")),
        Outcome::Crash if last.is_empty() => status,
        Outcome::Crash => format!("{status}: {last}"),
    };
    (e.outcome, detail)
}

/// Plan order and grid params of the points in `wanted`, found by walking
/// the sweep lazily until each is seen (the recorded points are a prefix of
/// the plan, or of one shard of it), at most [`ORDER_WALK`] points.
fn plan_positions(
    sweep: &Sweep,
    mut wanted: HashSet<(String, String)>,
) -> HashMap<(String, String), (usize, Params)> {
    let mut out = HashMap::new();
    let Ok(points) = sweep.points(&sweep.runtimes) else {
        return out;
    };
    for (i, s) in points.enumerate().take(ORDER_WALK) {
        if wanted.is_empty() {
            break;
        }
        let key = (s.point_id, s.runtime);
        if wanted.remove(&key) {
            out.insert(key, (i, s.params));
        }
    }
    out
}

/// The most plan points walked to order the recorded ones (a stray file
/// naming no point of the plan must not make the walk of a huge grid
/// endless).
const ORDER_WALK: usize = 2_000_000;

/// All results of one scenario, in plan order. Every `.jsonl` is read;
/// one that cannot be read (a directory, a bad file) is skipped with a
/// warning, never fatal.
pub fn scenario_points(run_dir: &Path, sweep: &Sweep) -> Result<Vec<PointResult>> {
    let dir = run_dir.join(&sweep.scenario);
    let prior: Vec<PointResult> = std::fs::read(dir.join(POINTS))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let prior_by_file: HashMap<&str, &PointResult> = prior
        .iter()
        .filter(|p| !p.jsonl.is_empty())
        .map(|p| (p.jsonl.as_str(), p))
        .collect();
    let mut out: Vec<PointResult> = prior
        .iter()
        .filter(|p| p.jsonl.is_empty())
        .cloned()
        .collect();
    let mut names: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.retain(|n| n.ends_with(".jsonl") && !n.starts_with('.'));
    names.sort();
    let mut parsed = Vec::new();
    for name in names {
        let Some((point_id, runtime, repeat)) = parse_jsonl_name(&name) else {
            continue;
        };
        let path = dir.join(&name);
        let d = match read_jsonl(&path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("schedlab: warning: skipped {}: {e:#}", path.display());
                continue;
            }
        };
        warn_bad_lines(&path, &d);
        parsed.push((name, point_id, runtime, repeat, d));
    }
    let wanted: HashSet<(String, String)> = out
        .iter()
        .map(|p| (p.point_id.clone(), p.runtime.clone()))
        .chain(parsed.iter().map(|p| (p.1.clone(), p.2.clone())))
        .collect();
    let plan = plan_positions(sweep, wanted);
    for (name, point_id, runtime, repeat, d) in parsed {
        let key = (point_id, runtime);
        let params = d
            .params
            .clone()
            .or_else(|| prior_by_file.get(name.as_str()).map(|p| p.params.clone()))
            .or_else(|| plan.get(&key).map(|(_, p)| p.clone()))
            .unwrap_or_default();
        let (outcome, detail) = detail_of(&d);
        let outcome_detail = prior_by_file
            .get(name.as_str())
            .filter(|p| !p.outcome_detail.is_empty())
            .map(|p| p.outcome_detail.clone())
            .unwrap_or(detail);
        let mut metrics = d.summary.clone();
        metrics.extend(runner_metrics(&d));
        // JSON has no NaN or infinity (serde_json writes null, which no
        // reader of points.json accepts as f64): a metric that is not a
        // finite number is a metric the point does not have.
        metrics.retain(|_, v| v.is_finite());
        out.push(PointResult {
            scenario: sweep.scenario.clone(),
            point_id: key.0,
            runtime: key.1,
            repeat,
            params,
            outcome,
            outcome_detail,
            jsonl: name,
            metrics,
        });
    }
    let order = |p: &PointResult| {
        plan.get(&(p.point_id.clone(), p.runtime.clone()))
            .map_or(usize::MAX, |(i, _)| *i)
    };
    out.sort_by_cached_key(|p| (order(p), p.repeat, p.point_id.clone()));
    Ok(out)
}

/// Median metrics of one point × runtime over its repeats.
#[derive(Debug, Clone)]
pub struct MedianRow {
    pub scenario: String,
    pub point_id: String,
    pub runtime: String,
    pub params: Params,
    /// Outcomes of the repeats, joined: `ok`, `timeout`, `ok+crash`.
    pub outcome: String,
    /// How many repeats the row is the median of (crashed ones included in
    /// the count, left out of the medians).
    pub repeats: usize,
    pub metrics: BTreeMap<String, f64>,
    /// `min.<metric>` and `max.<metric>` over the same repeats: for claims
    /// about every run or any run ("never hangs": `max.hung == 0`; "hangs
    /// at least once": `max.hung == 1`), which a median cannot state.
    /// Verdict predicates see them; the CSV files do not.
    pub extremes: BTreeMap<String, f64>,
    /// One repeat's detail, for messages.
    pub detail: String,
}

/// Repeats whose metrics count in medians: the scenario ran as designed
/// (ended well, or hit the deadline or a limit, which are results). A crash
/// (bad arguments, a panic) measured nothing the sweep asked about.
fn ran_as_designed(o: Outcome) -> bool {
    matches!(o, Outcome::Ok | Outcome::Timeout | Outcome::Limit)
}

pub fn medians(points: &[PointResult]) -> Vec<MedianRow> {
    // Groups in first-seen order; one pass, whatever the number of points.
    let mut index: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let mut groups: Vec<Vec<&PointResult>> = Vec::new();
    for p in points {
        let k = (p.scenario.as_str(), p.point_id.as_str(), p.runtime.as_str());
        let i = *index.entry(k).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(p);
    }
    groups
        .into_iter()
        .map(|group| {
            let outcomes: BTreeSet<&str> = group.iter().map(|p| p.outcome.as_str()).collect();
            let measured: Vec<&&PointResult> = group
                .iter()
                .filter(|p| ran_as_designed(p.outcome))
                .collect();
            let names: BTreeSet<&String> = measured.iter().flat_map(|p| p.metrics.keys()).collect();
            let (mut metrics, mut extremes) = (BTreeMap::new(), BTreeMap::new());
            for n in names {
                let v: Vec<f64> = measured
                    .iter()
                    .filter_map(|p| p.metrics.get(n).copied())
                    .collect();
                if let Some(m) = median(&v) {
                    metrics.insert(n.clone(), m);
                    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    extremes.insert(format!("min.{n}"), min);
                    extremes.insert(format!("max.{n}"), max);
                }
            }
            let first = group[0];
            MedianRow {
                repeats: group.len(),
                params: first.params.clone(),
                outcome: outcomes.into_iter().collect::<Vec<_>>().join("+"),
                detail: group
                    .iter()
                    .map(|p| p.outcome_detail.as_str())
                    .find(|d| !d.is_empty())
                    .unwrap_or("")
                    .into(),
                metrics,
                extremes,
                scenario: first.scenario.clone(),
                point_id: first.point_id.clone(),
                runtime: first.runtime.clone(),
            }
        })
        .collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num_field(x: f64) -> String {
    Value::Num(x).to_string()
}

/// summary.csv: a row per point × runtime × repeat. Columns: `scenario`,
/// `point_id`, `runtime`, `repeat` (a number), `outcome`, then the
/// parameters as `param.<name>` (first-seen order) and the metrics as
/// `metric.<name>` (sorted), so a parameter and a metric of the same name
/// (dup_fd's `conns`) stay two columns a spreadsheet can tell apart.
pub fn summary_csv(points: &[PointResult]) -> String {
    let rows: Vec<CsvRow> = points
        .iter()
        .map(|p| CsvRow {
            scenario: &p.scenario,
            point_id: &p.point_id,
            runtime: &p.runtime,
            lead: p.repeat.to_string(),
            outcome: p.outcome.as_str(),
            params: &p.params,
            metrics: &p.metrics,
        })
        .collect();
    flat_csv("repeat", &rows)
}

/// medians.csv: a row per point × runtime, the median of its repeats
/// (crashed repeats left out of the medians), with `repeats` (how many) where
/// summary.csv has `repeat`, and `outcome` the outcomes seen (`ok+timeout`).
pub fn medians_csv(meds: &[MedianRow]) -> String {
    let rows: Vec<CsvRow> = meds
        .iter()
        .map(|m| CsvRow {
            scenario: &m.scenario,
            point_id: &m.point_id,
            runtime: &m.runtime,
            lead: m.repeats.to_string(),
            outcome: &m.outcome,
            params: &m.params,
            metrics: &m.metrics,
        })
        .collect();
    flat_csv("repeats", &rows)
}

/// One line of summary.csv or medians.csv before flattening.
struct CsvRow<'a> {
    scenario: &'a str,
    point_id: &'a str,
    runtime: &'a str,
    lead: String,
    outcome: &'a str,
    params: &'a Params,
    metrics: &'a BTreeMap<String, f64>,
}

fn flat_csv(lead: &str, rows: &[CsvRow]) -> String {
    let mut params: Vec<&String> = Vec::new();
    for r in rows {
        for k in r.params.keys() {
            if !params.contains(&k) {
                params.push(k);
            }
        }
    }
    let metrics: BTreeSet<&String> = rows.iter().flat_map(|r| r.metrics.keys()).collect();
    let mut header: Vec<String> = ["scenario", "point_id", "runtime", lead, "outcome"]
        .map(String::from)
        .to_vec();
    header.extend(params.iter().map(|k| format!("param.{k}")));
    header.extend(metrics.iter().map(|k| format!("metric.{k}")));
    let mut out = header
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in rows {
        let mut f = vec![
            csv_field(r.scenario),
            csv_field(r.point_id),
            csv_field(r.runtime),
            r.lead.clone(),
            csv_field(r.outcome),
        ];
        f.extend(params.iter().map(|k| {
            r.params
                .get(*k)
                .map(|v| csv_field(&v.to_string()))
                .unwrap_or_default()
        }));
        f.extend(
            metrics
                .iter()
                .map(|k| r.metrics.get(*k).map(|x| num_field(*x)).unwrap_or_default()),
        );
        out.push_str(&(f.join(",") + "\n"));
    }
    out
}

fn where_holds(filter: &Option<String>, params: &Params, runtime: Option<&str>) -> bool {
    if !schedlab_protocol::knobs::in_view(filter.as_deref(), params) {
        return false;
    }
    let Some(src) = filter else { return true };
    let Ok(p) = Predicate::parse(src) else {
        return false;
    };
    let params = schedlab_protocol::knobs::with_defaults(params);
    let mut ctx = MapContext::new().with_params(&params);
    if let Some(r) = runtime {
        ctx = ctx.with_runtime(r);
    }
    p.eval(&ctx).unwrap_or(false)
}

/// `name=value` for every name the predicate uses that the context has.
fn show_values(p: &Predicate, ctx: &MapContext) -> String {
    p.names()
        .iter()
        .filter_map(|n| ctx.vars.get(n).map(|v| format!("{n}={v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The median rows of `sweep`'s scenario with the grid params of each
/// (the params the plan gave it, which `where` filters judge; the hello
/// line's params when the plan walk did not find it), in plan order.
fn rows_of<'a>(sweep: &Sweep, meds: &'a [MedianRow]) -> Vec<(&'a MedianRow, Params)> {
    let mine: Vec<&MedianRow> = meds
        .iter()
        .filter(|m| m.scenario == sweep.scenario)
        .collect();
    let plan = plan_positions(
        sweep,
        mine.iter()
            .map(|m| (m.point_id.clone(), m.runtime.clone()))
            .collect(),
    );
    let mut rows: Vec<(usize, &MedianRow, Params)> = mine
        .into_iter()
        .map(
            |m| match plan.get(&(m.point_id.clone(), m.runtime.clone())) {
                Some((i, p)) => (*i, m, p.clone()),
                None => (usize::MAX, m, m.params.clone()),
            },
        )
        .collect();
    rows.sort_by_key(|r| r.0);
    rows.into_iter().map(|(_, m, p)| (m, p)).collect()
}

/// Judges every verdict of `sweep` for every runtime it has, over the
/// points the run recorded (run, or skipped with a reason): a shard judges
/// its own points, a merged run all of them, and a point an interrupt left
/// unrecorded is in run.json's `not_run`, not in a verdict.
pub fn verdicts(
    sweep: &Sweep,
    meds: &[MedianRow],
    skipped: &BTreeMap<String, String>,
) -> Vec<VerdictRow> {
    let rows = rows_of(sweep, meds);
    let mut out = Vec::new();
    for v in &sweep.verdicts {
        let Ok(expect) = Predicate::parse(&v.expect) else {
            continue;
        };
        for runtime in &sweep.runtimes {
            let matched: Vec<&MedianRow> = rows
                .iter()
                .filter(|(m, grid)| {
                    &m.runtime == runtime && where_holds(&v.filter, grid, Some(runtime))
                })
                .map(|(m, _)| *m)
                .collect();
            if matched.is_empty() {
                continue;
            }
            let (mut held, mut failed, mut details) = (0u32, 0u32, Vec::new());
            for med in &matched {
                if med.outcome == "skipped" {
                    let why = skipped
                        .get(runtime)
                        .map(|w| format!("{runtime} skipped: {w}"))
                        .or_else(|| (!med.detail.is_empty()).then(|| med.detail.clone()))
                        .unwrap_or("not run".into());
                    details.push(format!("{}: no data ({why})", med.point_id));
                    continue;
                }
                let ctx = MapContext::new()
                    .with_params(&med.params)
                    .with_runtime(runtime)
                    .with_str("outcome", &med.outcome)
                    .with_metrics(&med.metrics)
                    .with_metrics(&med.extremes);
                match expect.eval(&ctx) {
                    Ok(true) => held += 1,
                    Ok(false) => {
                        failed += 1;
                        details.push(format!(
                            "{}: `{}` is false with {}",
                            med.point_id,
                            v.expect,
                            show_values(&expect, &ctx)
                        ));
                    }
                    Err(EvalError::Unknown(n)) => {
                        let why = if med.detail.is_empty() {
                            String::new()
                        } else {
                            format!("; {}", med.detail)
                        };
                        details.push(format!(
                            "{}: no data (no `{n}`; outcome {}{why})",
                            med.point_id, med.outcome
                        ));
                    }
                    Err(EvalError::Type(e)) => {
                        details.push(format!("{}: no data ({e})", med.point_id))
                    }
                }
            }
            let status = match (held + failed, failed, v.holds) {
                (0, _, _) => VerdictStatus::NoData,
                (_, 0, Holds::Reproduced) => VerdictStatus::Reproduced,
                (_, 0, Holds::Fixed) => VerdictStatus::Fixed,
                (_, _, Holds::Reproduced) => VerdictStatus::NotReproduced,
                (_, _, Holds::Fixed) => VerdictStatus::NotFixed,
            };
            out.push(VerdictRow {
                scenario: sweep.scenario.clone(),
                id: v.id.clone(),
                claim: v.claim.clone(),
                runtime: runtime.clone(),
                status,
                points_matched: matched.len() as u32,
                points_held: held,
                details,
            });
        }
    }
    out
}

/// gmp against go, per fidelity spec and recorded point both have.
pub fn fidelity(sweep: &Sweep, meds: &[MedianRow]) -> Vec<FidelityRow> {
    let has = |r: &str| sweep.runtimes.iter().any(|x| x == r);
    if !has("gmp") || !has("go") {
        return Vec::new();
    }
    let rows = rows_of(sweep, meds);
    let go: HashMap<&str, &MedianRow> = rows
        .iter()
        .filter(|(m, _)| m.runtime == "go")
        .map(|(m, _)| (m.point_id.as_str(), *m))
        .collect();
    let shared: Vec<(&MedianRow, &MedianRow, &Params)> = rows
        .iter()
        .filter(|(m, _)| m.runtime == "gmp")
        .filter_map(|(m, grid)| go.get(m.point_id.as_str()).map(|g| (*m, *g, grid)))
        .collect();
    let mut out = Vec::new();
    for f in &sweep.fidelity {
        let Ok(tol) = Tolerance::parse(&f.tolerance) else {
            continue;
        };
        for (g, o, _) in shared.iter().filter(|s| where_holds(&f.filter, s.2, None)) {
            let (gmp, go) = (
                g.metrics.get(&f.metric).copied(),
                o.metrics.get(&f.metric).copied(),
            );
            out.push(FidelityRow {
                scenario: sweep.scenario.clone(),
                point_id: g.point_id.clone(),
                metric: f.metric.clone(),
                gmp,
                go,
                tolerance: f.tolerance.to_string(),
                within: gmp.zip(go).map(|(a, b)| tol.within(a, b)),
            });
        }
    }
    out
}

pub struct Analysis {
    pub points: Vec<PointResult>,
    pub verdicts: Vec<VerdictRow>,
    pub fidelity: Vec<FidelityRow>,
}

/// Recomputes and writes points.json (per scenario), summary.csv,
/// verdicts.json and fidelity.json from the run directory.
pub fn analyze(run_dir: &Path, meta: &RunMeta) -> Result<Analysis> {
    let mut all = Vec::new();
    let (mut vrows, mut frows) = (Vec::new(), Vec::new());
    for sweep in &meta.sweeps {
        let dir = run_dir.join(&sweep.scenario);
        std::fs::create_dir_all(&dir)?;
        let points = scenario_points(run_dir, sweep)?;
        write_json(&dir.join(POINTS), &points)?;
        let meds = medians(&points);
        vrows.extend(verdicts(sweep, &meds, &meta.skipped_runtimes));
        frows.extend(fidelity(sweep, &meds));
        all.extend(points);
    }
    let meds = medians(&all);
    write_atomic(&run_dir.join(SUMMARY_CSV), summary_csv(&all).as_bytes())?;
    write_atomic(&run_dir.join(MEDIANS_CSV), medians_csv(&meds).as_bytes())?;
    write_json(&run_dir.join(VERDICTS), &vrows)?;
    write_json(&run_dir.join(FIDELITY), &frows)?;
    Ok(Analysis {
        points: all,
        verdicts: vrows,
        fidelity: frows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use schedlab_protocol::sweep::Sweep;

    fn proc_(t: f64, threads: u64, r: Option<u64>) -> ProcSample {
        ProcSample {
            t_ms: t,
            threads,
            r_threads: r,
            cores: 0.5,
            rss_bytes: 1000 + threads,
        }
    }

    #[test]
    fn the_thread_limit_a_runtime_died_at_comes_from_its_fatal_error() {
        let tail = "runtime: program exceeds 500-thread limit\nfatal error: thread exhaustion\n";
        assert_eq!(thread_limit_hit(tail), Some(500.0));
        assert_eq!(thread_limit_hit("fatal error: thread exhaustion\n"), None);
        assert_eq!(thread_limit_hit("program exceeds many-thread limit"), None);
    }

    #[test]
    fn runner_metrics_from_samples() {
        let d = PointData {
            procs: vec![
                proc_(5.0, 1, Some(1)),
                proc_(10.0, 3, None),
                proc_(15.0, 5, Some(4)),
                proc_(20.0, 4, Some(2)),
            ],
            phases: vec![("load_start".into(), 8.0)],
            exit: Some(ExitLine {
                t_ms: 2500.0,
                outcome: Outcome::Ok,
                code: Some(0),
                signal: None,
                stderr_tail: String::new(),
            }),
            ..Default::default()
        };
        let m = runner_metrics(&d);
        assert_eq!(m["threads_peak"], 5.0);
        assert_eq!(m["threads_median"], 3.5);
        assert_eq!(m["threads_end"], 4.0);
        assert_eq!(m["r_threads_max"], 4.0);
        assert_eq!(m["r_threads_median"], 2.0);
        assert_eq!(m["threads_at_load_start"], 3.0);
        assert_eq!(m["rss_peak_bytes"], 1005.0);
        assert_eq!(m["wall_s"], 2.5);
        assert_eq!(m["cores_mean"], 0.5);
    }

    #[test]
    fn jsonl_names_parse_from_the_right() {
        assert_eq!(
            parse_jsonl_name("rate-0.5_m-x.go.r2.jsonl"),
            Some(("rate-0.5_m-x".into(), "go".into(), 2))
        );
        assert_eq!(
            parse_jsonl_name(&schedlab_protocol::results::jsonl_name("pid-7", "go", 1)),
            Some(("pid-7".into(), "go".into(), 1))
        );
        assert_eq!(parse_jsonl_name("bad.jsonl"), None);
    }

    fn pr(
        pid: &str,
        rt: &str,
        rep: u32,
        procs: f64,
        outcome: Outcome,
        m: &[(&str, f64)],
    ) -> PointResult {
        let mut params = Params::new();
        params.insert("procs".into(), Value::Num(procs));
        PointResult {
            scenario: "s".into(),
            point_id: pid.into(),
            runtime: rt.into(),
            repeat: rep,
            params,
            outcome,
            outcome_detail: String::new(),
            jsonl: format!("{pid}.{rt}.r{rep}.jsonl"),
            metrics: m.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    const SWEEP: &str = r#"scenario: s
incident: i
runtimes: [gmp, tokio, go]
duration: 1s
grid: { procs: [1, 2] }
verdicts:
  - id: floor
    claim: "go starts 3 threads"
    where: "runtime != 'tokio'"
    expect: "threads_median >= 3"
    holds: reproduced
  - id: fix
    claim: "tokio stays small"
    where: "runtime == 'tokio' && procs == 1"
    expect: "threads_median <= 2 && outcome == 'ok'"
    holds: fixed
fidelity:
  - metric: threads_median
    tolerance: 1
"#;

    #[test]
    fn medians_verdicts_and_fidelity() {
        let sweep = Sweep::from_yaml(SWEEP, "t").unwrap();
        let points = vec![
            pr(
                "procs-1",
                "gmp",
                1,
                1.0,
                Outcome::Ok,
                &[("threads_median", 3.0)],
            ),
            pr(
                "procs-1",
                "gmp",
                2,
                1.0,
                Outcome::Ok,
                &[("threads_median", 5.0)],
            ),
            pr(
                "procs-1",
                "gmp",
                3,
                1.0,
                Outcome::Crash,
                &[("threads_median", 1.0)],
            ),
            pr(
                "procs-2",
                "gmp",
                1,
                2.0,
                Outcome::Crash,
                &[("threads_median", 1.0)],
            ),
            pr(
                "procs-1",
                "tokio",
                1,
                1.0,
                Outcome::Ok,
                &[("threads_median", 3.0)],
            ),
            pr(
                "procs-1",
                "go",
                1,
                1.0,
                Outcome::Ok,
                &[("threads_median", 3.0)],
            ),
            pr(
                "procs-2",
                "go",
                1,
                2.0,
                Outcome::Timeout,
                &[("threads_median", 2.0)],
            ),
        ];
        let meds = medians(&points);
        let gmp1 = meds
            .iter()
            .find(|m| m.point_id == "procs-1" && m.runtime == "gmp")
            .unwrap();
        assert_eq!(
            gmp1.metrics["threads_median"], 4.0,
            "median of 3 and 5; the crashed repeat does not count"
        );
        assert_eq!(gmp1.outcome, "crash+ok");
        let v = verdicts(&sweep, &meds, &BTreeMap::new());
        let get = |id: &str, rt: &str| v.iter().find(|r| r.id == id && r.runtime == rt).unwrap();
        // gmp: procs-1 holds (4 >= 3), procs-2 crashed: no data -> reproduced on the data there is.
        assert_eq!(get("floor", "gmp").status, VerdictStatus::Reproduced);
        assert_eq!(get("floor", "gmp").points_held, 1);
        assert!(
            get("floor", "gmp").details[0].contains("no data"),
            "{:?}",
            get("floor", "gmp").details
        );
        // go: procs-2 has 2 < 3 -> not reproduced.
        assert_eq!(get("floor", "go").status, VerdictStatus::NotReproduced);
        assert!(
            v.iter().all(|r| !(r.id == "floor" && r.runtime == "tokio")),
            "tokio matches no point"
        );
        assert_eq!(
            get("fix", "tokio").status,
            VerdictStatus::NotFixed,
            "3 threads > 2"
        );
        let f = fidelity(&sweep, &meds);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].within, Some(true), "|4 - 3| <= 1");
        assert_eq!(f[1].within, None, "gmp procs-2 has no metric");
    }

    #[test]
    fn verdicts_see_min_and_max_over_repeats_where_a_median_cannot_say_it() {
        let yaml = r#"scenario: s
incident: i
runtimes: [gmp]
duration: 1s
grid: { procs: [2] }
verdicts:
  - id: at_least_once
    claim: "hangs in at least one run"
    expect: "max.hung == 1"
    holds: reproduced
  - id: never
    claim: "never hangs"
    expect: "max.hung == 0"
    holds: fixed
  - id: every_run_progressed
    claim: "every run counted cycles"
    expect: "min.cycles > 0"
    holds: fixed
"#;
        let sweep = Sweep::from_yaml(yaml, "t").unwrap();
        let run = |rep, hung, cycles| {
            pr(
                "procs-2",
                "gmp",
                rep,
                2.0,
                Outcome::Ok,
                &[("hung", hung), ("cycles", cycles)],
            )
        };
        let points = vec![run(1, 0.0, 10.0), run(2, 0.0, 7.0), run(3, 1.0, 0.0)];
        let meds = medians(&points);
        assert_eq!(
            meds[0].metrics["hung"], 0.0,
            "the median says: did not hang"
        );
        assert_eq!(meds[0].extremes["max.hung"], 1.0);
        assert_eq!(meds[0].extremes["min.cycles"], 0.0);
        let v = verdicts(&sweep, &meds, &BTreeMap::new());
        let status = |id: &str| v.iter().find(|r| r.id == id).unwrap().status;
        assert_eq!(status("at_least_once"), VerdictStatus::Reproduced);
        assert_eq!(
            status("never"),
            VerdictStatus::NotFixed,
            "one run of three hung"
        );
        assert_eq!(status("every_run_progressed"), VerdictStatus::NotFixed);
    }

    #[test]
    fn csv_has_rows_and_medians() {
        let points = vec![
            pr(
                "procs-1",
                "gmp",
                1,
                1.0,
                Outcome::Ok,
                &[("b", 1.0), ("a", 2.0)],
            ),
            pr("procs-1", "gmp", 2, 1.0, Outcome::Timeout, &[("b", 3.0)]),
        ];
        let csv = summary_csv(&points);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "scenario,point_id,runtime,repeat,outcome,param.procs,metric.a,metric.b"
        );
        assert_eq!(lines[1], "s,procs-1,gmp,1,ok,1,2,1");
        assert_eq!(lines[2], "s,procs-1,gmp,2,timeout,1,,3");
        assert_eq!(lines.len(), 3, "{csv}");
        let med = medians_csv(&medians(&points));
        let lines: Vec<&str> = med.lines().collect();
        assert_eq!(
            lines[0],
            "scenario,point_id,runtime,repeats,outcome,param.procs,metric.a,metric.b"
        );
        assert_eq!(lines[1], "s,procs-1,gmp,2,ok+timeout,1,2,2");
    }
}
