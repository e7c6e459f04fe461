//! `schedlab compare RUN_A RUN_B`: what changed from run A to run B.
//!
//! The loop it serves: run the lab, change something in gmp, run again,
//! ask what the change did. Three sections, from the structured files of
//! each run (`protocol::rundir`: points.json, verdicts.json,
//! fidelity.json; never summary.csv):
//!
//! * **Verdicts** by (scenario, verdict, runtime): *regressed* (A held —
//!   reproduced or fixed — and B does not), *improved* (the reverse),
//!   *changed* (another status change, e.g. not reproduced → no data), and
//!   rows only one run has. "No data" in B for a runtime B skipped for the
//!   whole run (no Go toolchain) is not a regression, as for `run --check`.
//! * **Fidelity** by (scenario, point, metric): rows *won* (B within
//!   tolerance, A not) and *lost*.
//! * **Points** by (scenario, point, runtime): outcome changes, and every
//!   metric whose change exceeds the repeats' spread: the ranges
//!   [min, max] over the repeats that ran as designed (ok, timeout, limit:
//!   the analysis's rule) do not overlap, and the median moved by at
//!   least `--min-change` percent of A's. A point run once (on either
//!   side) has no spread, so nothing tells its change from noise: such
//!   moves are only counted, unless `--include-single`. Largest relative
//!   changes first, at most `--top`.
//!
//! Output: text (the terminal), Markdown, or one self-contained HTML page
//! (every value escaped). `--check` makes the exit status 3 when a verdict
//! regressed; a run that is not a run directory, or was never analysed, is
//! exit 2 with the `schedlab report` that fixes it.

use crate::run::user;
use anyhow::Result;
use schedlab_protocol::metrics::Outcome;
use schedlab_protocol::results::{FidelityRow, PointResult, VerdictRow, VerdictStatus};
use schedlab_protocol::rundir::RunDir;
use schedlab_protocol::util::median;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Html,
}

pub struct CompareOptions {
    pub format: Option<Format>,
    pub out: Option<PathBuf>,
    pub check: bool,
    /// Percent: smaller median changes are not listed.
    pub min_change: f64,
    /// At most this many metric changes are listed (largest first).
    pub top: usize,
    /// Also list changes at points with a single repeat (no spread).
    pub include_single: bool,
}

/// One verdict row's change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    Regressed,
    Improved,
    Changed,
    OnlyA,
    OnlyB,
}

impl Change {
    fn label(&self) -> &'static str {
        match self {
            Change::Regressed => "REGRESSED",
            Change::Improved => "improved",
            Change::Changed => "changed",
            Change::OnlyA => "only in A",
            Change::OnlyB => "only in B",
        }
    }
}

struct VerdictDiff {
    change: Change,
    scenario: String,
    id: String,
    runtime: String,
    a: Option<String>,
    b: Option<String>,
}

struct FidelityDiff {
    won: bool,
    row_a: Option<FidelityRow>,
    row_b: FidelityRow,
}

struct MetricDiff {
    scenario: String,
    point_id: String,
    runtime: String,
    metric: String,
    a: Stat,
    b: Stat,
    rel: f64,
}

struct OutcomeDiff {
    scenario: String,
    point_id: String,
    runtime: String,
    a: String,
    b: String,
}

/// Everything that changed.
struct Diff {
    a: String,
    b: String,
    notes: Vec<String>,
    verdicts: Vec<VerdictDiff>,
    verdicts_same: usize,
    fidelity: Vec<FidelityDiff>,
    fidelity_within: (usize, usize, usize, usize),
    outcomes: Vec<OutcomeDiff>,
    metrics: Vec<MetricDiff>,
    metrics_compared: usize,
    metrics_hidden: usize,
    /// Changes >= min_change at points with one repeat on a side.
    metrics_single: usize,
    include_single: bool,
    min_change: f64,
}

impl Diff {
    fn regressed(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|v| v.change == Change::Regressed)
            .count()
    }
}

fn held(s: VerdictStatus) -> bool {
    matches!(s, VerdictStatus::Reproduced | VerdictStatus::Fixed)
}

fn show_verdict(v: &VerdictRow) -> String {
    format!(
        "{} ({}/{})",
        v.status.as_str(),
        v.points_held,
        v.points_matched
    )
}

fn open(path: &Path) -> Result<RunDir> {
    let r = RunDir::open(path).map_err(user)?;
    if !r.analysed() {
        return Err(user(format!(
            "{}: not analysed yet (no verdicts.json or fidelity.json); run `schedlab report {}` first",
            path.display(),
            path.display()
        )));
    }
    Ok(r)
}

fn label(r: &RunDir) -> String {
    let profile = r.meta.profile_name();
    format!(
        "{} ({profile} profile, {})",
        r.path.display(),
        crate::fsutil::utc_stamp(r.meta.started_unix)
    )
}

fn diff_verdicts(a: &RunDir, b: &RunDir, d: &mut Diff) {
    type Key = (String, String, String);
    let key = |v: &VerdictRow| (v.scenario.clone(), v.id.clone(), v.runtime.clone());
    let av: BTreeMap<Key, &VerdictRow> = a.verdicts.iter().map(|v| (key(v), v)).collect();
    let bv: BTreeMap<Key, &VerdictRow> = b.verdicts.iter().map(|v| (key(v), v)).collect();
    let keys: BTreeSet<&Key> = av.keys().chain(bv.keys()).collect();
    for k in keys {
        let (va, vb) = (av.get(k), bv.get(k));
        let change = match (va, vb) {
            (Some(x), Some(y)) if x.status == y.status => {
                d.verdicts_same += 1;
                continue;
            }
            (Some(x), Some(y)) if held(x.status) && !held(y.status) => {
                let exempt = y.status == VerdictStatus::NoData
                    && b.meta.skipped_runtimes.contains_key(&y.runtime);
                if exempt {
                    Change::Changed
                } else {
                    Change::Regressed
                }
            }
            (Some(x), Some(y)) if !held(x.status) && held(y.status) => Change::Improved,
            (Some(_), Some(_)) => Change::Changed,
            (Some(_), None) => Change::OnlyA,
            (None, _) => Change::OnlyB,
        };
        d.verdicts.push(VerdictDiff {
            change,
            scenario: k.0.clone(),
            id: k.1.clone(),
            runtime: k.2.clone(),
            a: va.map(|v| show_verdict(v)),
            b: vb.map(|v| show_verdict(v)),
        });
    }
    d.verdicts.sort_by(|x, y| x.change.cmp(&y.change));
}

fn diff_fidelity(a: &RunDir, b: &RunDir, d: &mut Diff) {
    type Key = (String, String, String);
    let key = |f: &FidelityRow| (f.scenario.clone(), f.point_id.clone(), f.metric.clone());
    let af: BTreeMap<Key, &FidelityRow> = a.fidelity.iter().map(|f| (key(f), f)).collect();
    let within = |rows: &[FidelityRow]| {
        (
            rows.iter().filter(|f| f.within == Some(true)).count(),
            rows.len(),
        )
    };
    let (wa, na) = within(&a.fidelity);
    let (wb, nb) = within(&b.fidelity);
    d.fidelity_within = (wa, na, wb, nb);
    for f in &b.fidelity {
        let old = af.get(&key(f)).copied();
        let was = old.and_then(|o| o.within) == Some(true);
        let is = f.within == Some(true);
        if was != is {
            d.fidelity.push(FidelityDiff {
                won: is,
                row_a: old.cloned(),
                row_b: f.clone(),
            });
        }
    }
    d.fidelity.sort_by_key(|f| f.won);
}

/// (scenario, point, runtime).
type PointKey = (String, String, String);

/// A metric over the repeats of one point that ran as designed (ok,
/// timeout, limit: the analysis's rule): median, min, max, how many.
#[derive(Debug, Clone, Copy)]
struct Stat {
    med: f64,
    min: f64,
    max: f64,
    n: usize,
}

/// Each point's metrics as [`Stat`]s.
fn spread(points: &[PointResult]) -> BTreeMap<PointKey, BTreeMap<String, Stat>> {
    let mut values: BTreeMap<PointKey, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for p in points {
        if !matches!(p.outcome, Outcome::Ok | Outcome::Timeout | Outcome::Limit) {
            continue;
        }
        let per = values
            .entry((p.scenario.clone(), p.point_id.clone(), p.runtime.clone()))
            .or_default();
        for (m, v) in &p.metrics {
            per.entry(m.clone()).or_default().push(*v);
        }
    }
    values
        .into_iter()
        .map(|(k, per)| {
            let stats = per
                .into_iter()
                .filter_map(|(m, v)| {
                    let med = median(&v)?;
                    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    Some((
                        m,
                        Stat {
                            med,
                            min,
                            max,
                            n: v.len(),
                        },
                    ))
                })
                .collect();
            (k, stats)
        })
        .collect()
}

fn outcomes(points: &[PointResult]) -> BTreeMap<PointKey, String> {
    let mut sets: BTreeMap<PointKey, BTreeSet<&'static str>> = BTreeMap::new();
    for p in points {
        sets.entry((p.scenario.clone(), p.point_id.clone(), p.runtime.clone()))
            .or_default()
            .insert(Outcome::as_str(p.outcome));
    }
    sets.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect::<Vec<_>>().join("+")))
        .collect()
}

fn diff_points(a: &RunDir, b: &RunDir, d: &mut Diff, o: &CompareOptions) {
    let (oa, ob) = (outcomes(&a.points), outcomes(&b.points));
    for (k, x) in &oa {
        if let Some(y) = ob.get(k)
            && x != y
        {
            d.outcomes.push(OutcomeDiff {
                scenario: k.0.clone(),
                point_id: k.1.clone(),
                runtime: k.2.clone(),
                a: x.clone(),
                b: y.clone(),
            });
        }
    }
    let (sa, sb) = (spread(&a.points), spread(&b.points));
    for (k, ma) in &sa {
        let Some(mb) = sb.get(k) else { continue };
        for (metric, x) in ma {
            let Some(y) = mb.get(metric) else { continue };
            d.metrics_compared += 1;
            let rel = relative_change(x.med, y.med);
            if rel.abs() < o.min_change {
                continue;
            }
            if x.n < 2 || y.n < 2 {
                // One repeat has no spread: nothing tells noise from change.
                d.metrics_single += 1;
                if !o.include_single {
                    continue;
                }
            } else if y.min <= x.max && x.min <= y.max {
                continue;
            }
            d.metrics.push(MetricDiff {
                scenario: k.0.clone(),
                point_id: k.1.clone(),
                runtime: k.2.clone(),
                metric: metric.clone(),
                a: *x,
                b: *y,
                rel,
            });
        }
    }
    d.metrics
        .sort_by(|x, y| y.rel.abs().total_cmp(&x.rel.abs()));
    if d.metrics.len() > o.top {
        d.metrics_hidden = d.metrics.len() - o.top;
        d.metrics.truncate(o.top);
    }
}

/// Percent change from `a` to `b` (from 0: ±100 %).
fn relative_change(a: f64, b: f64) -> f64 {
    if a != 0.0 {
        (b - a) / a.abs() * 100.0
    } else if b != 0.0 {
        100.0_f64.copysign(b)
    } else {
        0.0
    }
}

fn build(a: &RunDir, b: &RunDir, o: &CompareOptions) -> Diff {
    let mut d = Diff {
        a: label(a),
        b: label(b),
        notes: Vec::new(),
        verdicts: Vec::new(),
        verdicts_same: 0,
        fidelity: Vec::new(),
        fidelity_within: (0, 0, 0, 0),
        outcomes: Vec::new(),
        metrics: Vec::new(),
        metrics_compared: 0,
        metrics_hidden: 0,
        metrics_single: 0,
        include_single: o.include_single,
        min_change: o.min_change,
    };
    if a.meta.profile != b.meta.profile || a.meta.quick != b.meta.quick {
        d.notes
            .push("the runs used different profiles: points and repeats differ".into());
    }
    for (r, which) in [(a, "A"), (b, "B")] {
        if r.meta.status != schedlab_protocol::results::RunStatus::Complete {
            d.notes.push(format!(
                "run {which} is not complete ({:?}): what it did not run is not compared",
                r.meta.status
            ));
        }
        for (rt, why) in &r.meta.skipped_runtimes {
            d.notes
                .push(format!("run {which} skipped the {rt} column: {why}"));
        }
    }
    diff_verdicts(a, b, &mut d);
    diff_fidelity(a, b, &mut d);
    diff_points(a, b, &mut d, o);
    d
}

fn num(x: f64) -> String {
    schedlab_protocol::metrics::Value::Num((x * 1000.0).round() / 1000.0).to_string()
}

fn range(x: Stat) -> String {
    if x.n < 2 {
        format!("{} (1 run)", num(x.med))
    } else {
        format!("{} [{}..{}]", num(x.med), num(x.min), num(x.max))
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(num).unwrap_or_else(|| "-".into())
}

fn fid_row(f: &FidelityRow) -> String {
    format!("gmp {} vs go {}", opt(f.gmp), opt(f.go))
}

/// One table of the diff: a title, a header, rows of cells. The three
/// formats print the same sections.
struct Section {
    title: &'static str,
    head: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

fn summary(d: &Diff) -> Vec<String> {
    let (wa, na, wb, nb) = d.fidelity_within;
    let won = d.fidelity.iter().filter(|f| f.won).count();
    let count = |c: fn(&Change) -> bool| d.verdicts.iter().filter(|v| c(&v.change)).count();
    let listed_single = if d.include_single {
        d.metrics_single
    } else {
        0
    };
    let mut out = vec![
        format!(
            "verdicts: {} regressed, {} improved, {} changed otherwise, {} unchanged",
            d.regressed(),
            count(|c| *c == Change::Improved),
            count(|c| !matches!(c, Change::Regressed | Change::Improved)),
            d.verdicts_same
        ),
        format!(
            "fidelity: {won} won, {} lost ({wa}/{na} -> {wb}/{nb} within tolerance)",
            d.fidelity.len() - won
        ),
        format!(
            "points: {} outcome changes; {} metric changes beyond the repeats' spread and >= {}% (of {} compared){}",
            d.outcomes.len(),
            (d.metrics.len() + d.metrics_hidden).saturating_sub(listed_single),
            d.min_change,
            d.metrics_compared,
            if d.metrics_hidden > 0 {
                format!(", the {} largest shown", d.metrics.len())
            } else {
                String::new()
            }
        ),
    ];
    if d.metrics_single > 0 {
        out.push(format!(
            "note: {} more moved >= {}% where one side has a single run of the metric: no spread tells change from noise{}",
            d.metrics_single,
            d.min_change,
            if d.include_single {
                " (listed, marked `1 run`)"
            } else {
                " (--include-single lists them; --repeats 3 gives them a spread)"
            }
        ));
    }
    out.extend(d.notes.iter().map(|n| format!("note: {n}")));
    out
}

fn sections(d: &Diff) -> Vec<Section> {
    let verdicts = d.verdicts.iter().map(|v| {
        vec![
            v.change.label().into(),
            v.scenario.clone(),
            v.id.clone(),
            v.runtime.clone(),
            format!(
                "{} -> {}",
                v.a.as_deref().unwrap_or("-"),
                v.b.as_deref().unwrap_or("-")
            ),
        ]
    });
    let fidelity = d.fidelity.iter().map(|f| {
        vec![
            if f.won { "won" } else { "LOST" }.into(),
            f.row_b.scenario.clone(),
            f.row_b.point_id.clone(),
            f.row_b.metric.clone(),
            format!(
                "{} -> {}",
                f.row_a.as_ref().map(fid_row).unwrap_or("-".into()),
                fid_row(&f.row_b)
            ),
            f.row_b.tolerance.clone(),
        ]
    });
    let outcomes = d.outcomes.iter().map(|o| {
        vec![
            o.scenario.clone(),
            o.point_id.clone(),
            o.runtime.clone(),
            o.a.clone(),
            o.b.clone(),
        ]
    });
    let metrics = d.metrics.iter().map(|m| {
        vec![
            m.scenario.clone(),
            m.point_id.clone(),
            m.runtime.clone(),
            m.metric.clone(),
            range(m.a),
            range(m.b),
            format!("{:+.1}%", m.rel),
        ]
    });
    vec![
        Section {
            title: "Verdicts that changed",
            head: &["change", "scenario", "verdict", "runtime", "A -> B"],
            rows: verdicts.collect(),
        },
        Section {
            title: "Fidelity rows won or lost",
            head: &["", "scenario", "point", "metric", "A -> B", "tolerance"],
            rows: fidelity.collect(),
        },
        Section {
            title: "Points whose outcome changed",
            head: &["scenario", "point", "runtime", "outcome A", "outcome B"],
            rows: outcomes.collect(),
        },
        Section {
            title: "Metrics that moved beyond the repeats' spread (median [min..max])",
            head: &["scenario", "point", "runtime", "metric", "A", "B", "change"],
            rows: metrics.collect(),
        },
    ]
    .into_iter()
    .filter(|s| !s.rows.is_empty())
    .collect()
}

fn text(d: &Diff) -> String {
    let mut out = format!("A: {}\nB: {}\n", d.a, d.b);
    for s in summary(d) {
        let _ = writeln!(out, "{s}");
    }
    for sec in sections(d) {
        let mut w: Vec<usize> = sec.head.iter().map(|h| h.len()).collect();
        for r in &sec.rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.len());
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let s: Vec<String> = cells
                .enumerate()
                .map(|(i, c)| format!("{c:<width$}", width = w[i]))
                .collect();
            format!("  {}", s.join("  ").trim_end())
        };
        let _ = writeln!(out, "\n{}", sec.title.to_lowercase());
        let _ = writeln!(out, "{}", line(&mut sec.head.iter().copied()));
        for r in &sec.rows {
            let _ = writeln!(out, "{}", line(&mut r.iter().map(String::as_str)));
        }
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(d: &Diff) -> String {
    let mut out = format!(
        "# Compare\n\n- A: `{}`\n- B: `{}`\n\n",
        md_cell(&d.a),
        md_cell(&d.b)
    );
    for s in summary(d) {
        let _ = writeln!(out, "- {}", md_cell(&s));
    }
    for sec in sections(d) {
        let _ = writeln!(out, "\n## {}\n", sec.title);
        let _ = writeln!(out, "| {} |", sec.head.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(sec.head.len()));
        for r in &sec.rows {
            let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(d: &Diff) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>schedlab compare</title>\n<style>\
         body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}\
         td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}tr.bad{background:#fdd}tr.good{background:#dfd}\
         code{background:#eee}</style></head><body>\n<h1>schedlab compare</h1>\n",
    );
    let _ = writeln!(
        out,
        "<p>A: <code>{}</code><br>B: <code>{}</code></p>\n<ul>",
        esc(&d.a),
        esc(&d.b)
    );
    for s in summary(d) {
        let _ = writeln!(out, "<li>{}</li>", esc(&s));
    }
    out.push_str("</ul>\n");
    for sec in sections(d) {
        let _ = write!(out, "<h2>{}</h2>\n<table><thead><tr>", esc(sec.title));
        for h in sec.head {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr></thead><tbody>\n");
        for r in &sec.rows {
            let class = match r[0].as_str() {
                "REGRESSED" | "LOST" => " class=\"bad\"",
                "improved" | "won" => " class=\"good\"",
                _ => "",
            };
            let _ = write!(out, "<tr{class}>");
            for c in r {
                let _ = write!(out, "<td>{}</td>", esc(c));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

/// `schedlab compare`.
pub fn compare(a: &Path, b: &Path, o: &CompareOptions) -> Result<i32> {
    let (ra, rb) = (open(a)?, open(b)?);
    let d = build(&ra, &rb, o);
    let format = o.format.unwrap_or_else(|| {
        match o
            .out
            .as_ref()
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
        {
            Some("html" | "htm") => Format::Html,
            Some("md") => Format::Markdown,
            _ => Format::Text,
        }
    });
    let body = match format {
        Format::Text => text(&d),
        Format::Markdown => markdown(&d),
        Format::Html => html(&d),
    };
    match &o.out {
        Some(p) => {
            crate::fsutil::write_atomic(p, body.as_bytes())?;
            println!("{}", summary(&d).join("\n"));
            println!("written: {}", p.display());
        }
        None => print!("{body}"),
    }
    if o.check && d.regressed() > 0 {
        eprintln!(
            "schedlab: --check: {} verdict(s) regressed from A to B",
            d.regressed()
        );
        return Ok(3);
    }
    Ok(0)
}
