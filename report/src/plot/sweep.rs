//! `kind: sweep` — a metric (y) against a parameter or metric (x) over the
//! points of a sweep, one line per series.
//!
//! Reading the picture:
//! * a series is one combination of the `series` names' values (e.g.
//!   `gmp`, `tokio · spawn_blocking`), with one color;
//! * a filled dot is the median over the repeats that ended `ok`, the
//!   vertical whisker spans their min–max, and the line joins the medians
//!   of neighbouring x values (it breaks where a point has no ok value);
//! * a hollow circle is a value from a run that timed out, crashed or hit a
//!   limit — shown, never dropped; a run with no value at all is named in
//!   the notes under the chart;
//! * when x is a sweep axis with few values, the x ticks sit on those
//!   values; when x is a metric (measured, e.g. leaked senders) the axis
//!   keeps its own nice or decade ticks, which is what shows a log x;
//! * words on the x axis (e.g. `mode: raw, fast`) make it categorical, and
//!   series are nudged sideways a little so their whiskers do not hide each
//!   other.

use super::{
    AnyFigure, Figure, LegendEntry, Mark, NoData, Scale, colors_for, draw_legend, draw_notes,
    median, notes_height, one_chart, one_chart_areas, one_chart_mesh, pe, select_rows, series_key,
};
use crate::load::Scenario;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;
use schedlab_protocol::metrics::{Outcome, Value};
use schedlab_protocol::results::PointResult;
use schedlab_protocol::sweep::PlotSpec;

/// Values at one x for one series.
#[derive(Debug, Clone)]
pub struct Group {
    pub x: f64,
    /// y of the repeats that ended ok.
    pub ok: Vec<f64>,
    /// y of the repeats that timed out, crashed or hit a limit.
    pub bad: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub color: RGBColor,
    /// Sorted by x.
    pub groups: Vec<Group>,
}

pub struct SweepFig {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x: Scale,
    pub y: Scale,
    pub series: Vec<Series>,
    pub notes: Vec<String>,
}

const MAX_NOTES: usize = 4;

/// Builds the figure, or a "no data" card saying why there is nothing.
pub fn build(spec: &PlotSpec, sc: &Scenario) -> AnyFigure {
    let no_data = |reason: String, notes: Vec<String>| {
        AnyFigure::NoData(NoData {
            title: spec.title.clone(),
            reason,
            notes,
        })
    };
    let Some(x_name) = spec.x.clone() else {
        return no_data("the plot spec has no x".into(), Vec::new());
    };
    let y_names = spec.y.names();
    let Some(y_name) = y_names.first().map(|s| s.to_string()) else {
        return no_data("the plot spec has no y".into(), Vec::new());
    };
    let mut notes = Vec::new();
    if y_names.len() > 1 {
        notes.push(format!("only the first y ({y_name}) is drawn"));
    }
    let rows = select_rows(&sc.points, spec.filter.as_deref(), &mut notes);
    let (y_label, y_factor) = text::metric_axis(&y_name);
    let categories = categorical_x(sc, &rows, &x_name);
    let mut series = group_rows(
        &rows,
        spec,
        &x_name,
        &y_name,
        y_factor,
        categories.as_deref(),
        &mut notes,
    );
    let y_scale = if spec.log_y {
        let s = Scale::log(all_values(&series));
        if s.is_none() {
            notes.push("log y axis asked, but no value is > 0: linear axis used".into());
        }
        s
    } else {
        None
    }
    .unwrap_or_else(|| Scale::linear(all_values(&series), true));
    drop_unplaceable(&mut series, &y_scale, &mut notes);
    if series
        .iter()
        .all(|s| s.groups.iter().all(|g| g.ok.is_empty() && g.bad.is_empty()))
    {
        let why = notes
            .first()
            .cloned()
            .unwrap_or_else(|| format!("no run has a value for {y_name}"));
        return no_data(why, notes);
    }
    let x_scale = match &categories {
        Some(names) => Scale::Cat {
            names: names.clone(),
        },
        None => x_scale(spec, &series, x_is_axis(&rows, &x_name), &mut notes),
    };
    if let Some(names) = &categories {
        dodge(&mut series, names.len());
    }
    AnyFigure::Sweep(SweepFig {
        title: spec.title.clone(),
        x_label: spec
            .x_label
            .clone()
            .unwrap_or_else(|| text::metric_axis(&x_name).0),
        y_label: spec.y_label.clone().unwrap_or(y_label),
        x: x_scale,
        y: y_scale,
        series,
        notes,
    })
}

fn all_values(series: &[Series]) -> impl Iterator<Item = f64> + '_ {
    series.iter().flat_map(|s| {
        s.groups
            .iter()
            .flat_map(|g| g.ok.iter().chain(g.bad.iter()).copied())
    })
}

/// Category names when any x value is a word: the sweep's axis order first.
fn categorical_x(sc: &Scenario, rows: &[&PointResult], x: &str) -> Option<Vec<String>> {
    let words = rows
        .iter()
        .any(|p| matches!(p.params.get(x), Some(Value::Str(_))))
        || x == "runtime";
    if !words {
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    if let Some(sw) = &sc.sweep {
        let axes = sw
            .grid
            .iter()
            .chain(sw.per_runtime.iter().flat_map(|(_, a)| a.iter()));
        for (_, vals) in axes.filter(|(n, _)| n == x) {
            for v in vals {
                push_unique(&mut names, v.to_string());
            }
        }
    }
    for p in rows {
        if let Some(v) = super::lookup(p, x) {
            push_unique(&mut names, v.to_string());
        }
    }
    // Keep only categories that have rows, in that order.
    let used: Vec<String> = rows
        .iter()
        .filter_map(|p| super::lookup(p, x))
        .map(|v| v.to_string())
        .collect();
    names.retain(|n| used.contains(n));
    Some(names)
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// A point id and its repeats.
type PointRuns<'a> = (String, Vec<&'a PointResult>);

/// Groups rows by series and point; x is the param (or the median of the
/// metric) of the point.
fn group_rows(
    rows: &[&PointResult],
    spec: &PlotSpec,
    x_name: &str,
    y_name: &str,
    y_factor: f64,
    categories: Option<&[String]>,
    notes: &mut Vec<String>,
) -> Vec<Series> {
    let mut keyed: Vec<(String, Vec<PointRuns<'_>>)> = Vec::new();
    for p in rows {
        let key = series_key(p, &spec.series, y_name);
        let idx = keyed
            .iter()
            .position(|(k, _)| *k == key)
            .unwrap_or_else(|| {
                keyed.push((key.clone(), Vec::new()));
                keyed.len() - 1
            });
        let points = &mut keyed[idx].1;
        match points.iter_mut().find(|(id, _)| *id == p.point_id) {
            Some((_, v)) => v.push(p),
            None => points.push((p.point_id.clone(), vec![p])),
        }
    }
    let labels: Vec<String> = keyed.iter().map(|(k, _)| k.clone()).collect();
    let colors = colors_for(&labels);
    keyed
        .into_iter()
        .zip(colors)
        .map(|((label, points), color)| {
            let mut groups: Vec<Group> = points
                .iter()
                .filter_map(|(id, reps)| {
                    make_group(
                        &label, id, reps, x_name, y_name, y_factor, categories, notes,
                    )
                })
                .collect();
            groups.sort_by(|a, b| a.x.total_cmp(&b.x));
            Series {
                label,
                color,
                groups,
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn make_group(
    label: &str,
    point_id: &str,
    reps: &[&PointResult],
    x_name: &str,
    y_name: &str,
    y_factor: f64,
    categories: Option<&[String]>,
    notes: &mut Vec<String>,
) -> Option<Group> {
    let x = match categories {
        Some(names) => {
            let v = super::lookup(reps[0], x_name)?.to_string();
            names.iter().position(|n| *n == v)? as f64
        }
        None => {
            let xs: Vec<f64> = reps
                .iter()
                .filter_map(|p| super::lookup(p, x_name).and_then(|v| v.as_f64()))
                .collect();
            match median(&xs) {
                Some(x) => x,
                None => {
                    notes.push(format!("{label} @ {point_id}: no value for x ({x_name})"));
                    return None;
                }
            }
        }
    };
    let mut g = Group {
        x,
        ok: Vec::new(),
        bad: Vec::new(),
    };
    let mut missing = Vec::new();
    for p in reps {
        match p
            .metrics
            .get(y_name)
            .map(|v| v * y_factor)
            .filter(|v| v.is_finite())
        {
            Some(v) if p.outcome == Outcome::Ok => g.ok.push(v),
            Some(v) => g.bad.push(v),
            None => missing.push(*p),
        }
    }
    if !missing.is_empty() {
        let what = format!("{label} @ {point_id}");
        notes.push(missing_note(&what, y_name, &missing, reps.len()));
    }
    Some(g)
}

/// One note for the runs of a point that have no value for the metric: the
/// run and its outcome when it is one run, else how many and their outcomes
/// ("no value for x in 20 of 20 runs (ok x20)"), so a metric that only some
/// runs have (time to hang) costs one line per point, not one per run.
fn missing_note(what: &str, y_name: &str, missing: &[&PointResult], runs: usize) -> String {
    let detail = |p: &PointResult| {
        if p.outcome_detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", p.outcome_detail)
        }
    };
    if let [p] = missing {
        return format!(
            "{what} r{}: {}, no value for {y_name}{}",
            p.repeat,
            p.outcome.as_str(),
            detail(p)
        );
    }
    let mut by_outcome: Vec<(&str, usize, String)> = Vec::new();
    for p in missing {
        match by_outcome
            .iter_mut()
            .find(|(o, _, _)| *o == p.outcome.as_str())
        {
            Some(e) => e.1 += 1,
            None => by_outcome.push((p.outcome.as_str(), 1, detail(p))),
        }
    }
    let outcomes: Vec<String> = by_outcome
        .iter()
        .map(|(o, n, d)| format!("{o} x{n}{d}"))
        .collect();
    format!(
        "{what}: no value for {y_name} in {} of {runs} runs ({})",
        missing.len(),
        outcomes.join(", ")
    )
}

/// Drops values a log axis cannot show (<= 0), with a note.
fn drop_unplaceable(series: &mut [Series], y: &Scale, notes: &mut Vec<String>) {
    let mut dropped = 0;
    for g in series.iter_mut().flat_map(|s| s.groups.iter_mut()) {
        let before = g.ok.len() + g.bad.len();
        g.ok.retain(|v| y.accepts(*v));
        g.bad.retain(|v| y.accepts(*v));
        dropped += before - g.ok.len() - g.bad.len();
    }
    if dropped > 0 {
        notes.push(format!("{dropped} value(s) <= 0 not shown on the log axis"));
    }
}

/// Whether x is chosen by the sweep (a param of the points, or the repeat
/// number) rather than measured (a metric).
fn x_is_axis(rows: &[&PointResult], x_name: &str) -> bool {
    x_name == "repeat" || rows.iter().any(|p| p.params.contains_key(x_name))
}

/// The x axis. When x is a sweep axis with at most 12 distinct values the
/// ticks sit on them (the values the sweep chose). When x is a metric its
/// values are measurements (e.g. 9,994 and 9,995 leaked senders): ticks
/// there would crowd and hide the axis' own scale, so it keeps its nice
/// (linear) or decade (log) ticks.
fn x_scale(spec: &PlotSpec, series: &[Series], x_is_axis: bool, notes: &mut Vec<String>) -> Scale {
    let xs = || series.iter().flat_map(|s| s.groups.iter().map(|g| g.x));
    let mut distinct: Vec<f64> = xs().filter(|x| x.is_finite()).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    let inner = axis_for_x(spec, xs, notes);
    if x_is_axis && (1..=12).contains(&distinct.len()) {
        distinct.retain(|x| inner.accepts(*x));
        return Scale::Fixed {
            inner: Box::new(inner),
            ticks: distinct,
        };
    }
    inner
}

fn axis_for_x<I: Iterator<Item = f64>>(
    spec: &PlotSpec,
    xs: impl Fn() -> I,
    notes: &mut Vec<String>,
) -> Scale {
    if spec.log_x {
        if let Some(s) = Scale::log(xs()) {
            if xs().any(|x| x <= 0.0) {
                notes.push("x values <= 0 cannot be shown on the log axis".into());
            }
            return s;
        }
        notes.push("log x axis asked, but no x is > 0: linear axis used".into());
    }
    let (lo, hi) = super::min_max(xs()).unwrap_or((0.0, 1.0));
    let pad = if hi > lo { (hi - lo) * 0.06 } else { 0.5 };
    Scale::Lin {
        lo: lo - pad,
        hi: hi + pad,
    }
}

/// Nudges series sideways on a categorical axis.
fn dodge(series: &mut [Series], _categories: usize) {
    let n = series.len();
    if n < 2 {
        return;
    }
    let width = 0.4_f64.min(0.12 * n as f64);
    for (i, s) in series.iter_mut().enumerate() {
        let off = -width / 2.0 + width * i as f64 / (n - 1) as f64;
        for g in &mut s.groups {
            g.x += off;
        }
    }
}

impl Figure for SweepFig {
    fn size(&self) -> (u32, u32) {
        (1000, 560 + notes_height(self.notes.len(), MAX_NOTES))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let (chart_area, legend_area, foot) =
            one_chart_areas(root, self.size(), self.notes.len(), MAX_NOTES);
        let axes = (self.x.clone(), self.y.clone());
        let mut chart = one_chart(&chart_area, &self.title, self.size().0, axes)?;
        let mut mesh = one_chart_mesh(&mut chart, &self.x_label, &self.y_label);
        if let Scale::Cat { names } = &self.x {
            mesh.x_labels(names.len().max(1)).disable_x_mesh();
        }
        mesh.draw().map_err(pe)?;
        for s in &self.series {
            draw_series(&mut chart, s)?;
        }
        draw_legend(&legend_area, &self.legend(), 70)?;
        draw_notes(&foot, &self.notes, MAX_NOTES)
    }
}

impl SweepFig {
    fn legend(&self) -> Vec<LegendEntry> {
        let mut out: Vec<LegendEntry> = self
            .series
            .iter()
            .map(|s| LegendEntry {
                label: s.label.clone(),
                color: s.color,
                mark: Mark::LineDot,
            })
            .collect();
        out.push(LegendEntry {
            label: "dot: median of ok repeats".into(),
            color: RGBColor(60, 60, 60),
            mark: Mark::LineDot,
        });
        if self
            .series
            .iter()
            .any(|s| s.groups.iter().any(|g| !g.bad.is_empty()))
        {
            out.push(LegendEntry {
                label: "timeout / crash / limit".into(),
                color: RGBColor(60, 60, 60),
                mark: Mark::Hollow,
            });
        }
        out
    }
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Scale, Scale>>;

fn draw_series<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, s: &Series) -> anyhow::Result<()> {
    let c = s.color;
    for seg in segments(&s.groups) {
        chart
            .draw_series(LineSeries::new(seg, c.stroke_width(2)))
            .map_err(pe)?;
    }
    for g in &s.groups {
        if let (Some((lo, hi)), true) = (super::min_max(g.ok.iter().copied()), g.ok.len() > 1) {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(g.x, lo), (g.x, hi)],
                    c.stroke_width(2),
                )))
                .map_err(pe)?;
            for y in [lo, hi] {
                let cap = EmptyElement::at((g.x, y))
                    + PathElement::new(vec![(-6, 0), (6, 0)], c.stroke_width(2));
                chart.draw_series(std::iter::once(cap)).map_err(pe)?;
            }
        }
        if let Some(m) = median(&g.ok) {
            chart
                .draw_series(std::iter::once(Circle::new((g.x, m), 5, c.filled())))
                .map_err(pe)?;
        }
        chart
            .draw_series(
                g.bad
                    .iter()
                    .map(|y| Circle::new((g.x, *y), 7, c.stroke_width(2))),
            )
            .map_err(pe)?;
    }
    Ok(())
}

/// Runs of neighbouring groups that all have an ok median.
fn segments(groups: &[Group]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for g in groups {
        match median(&g.ok) {
            Some(m) => cur.push((g.x, m)),
            None => {
                if cur.len() > 1 {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
        }
    }
    if cur.len() > 1 {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use schedlab_protocol::sweep::OneOrMany;
    use std::collections::BTreeMap;

    fn row(rt: &str, procs: f64, mode: &str, rep: u32, y: f64, outcome: Outcome) -> PointResult {
        PointResult {
            scenario: "s".into(),
            point_id: format!("procs-{procs}_mode-{mode}"),
            runtime: rt.into(),
            repeat: rep,
            params: BTreeMap::from([
                ("procs".to_string(), Value::Num(procs)),
                ("mode".to_string(), Value::Str(mode.into())),
            ]),
            outcome,
            outcome_detail: String::new(),
            jsonl: String::new(),
            metrics: BTreeMap::from([("threads_peak".to_string(), y)]),
        }
    }

    fn scenario(points: Vec<PointResult>) -> Scenario {
        Scenario {
            name: "s".into(),
            sweep: None,
            points,
            verdicts: Vec::new(),
            fidelity: Vec::new(),
        }
    }

    fn spec(x: &str, series: &[&str]) -> PlotSpec {
        PlotSpec {
            kind: schedlab_protocol::sweep::PlotKind::Sweep,
            title: "t".into(),
            x: Some(x.into()),
            y: OneOrMany::One("threads_peak".into()),
            series: series.iter().map(|s| s.to_string()).collect(),
            filter: None,
            log_x: false,
            log_y: false,
            x_label: None,
            y_label: None,
        }
    }

    #[test]
    fn runs_without_the_metric_make_one_note_per_point() {
        let mut rows: Vec<PointResult> = (1..=3)
            .map(|r| row("gmp", 2.0, "raw", r, 0.0, Outcome::Ok))
            .collect();
        for p in &mut rows {
            p.metrics.clear();
        }
        rows[2].outcome = Outcome::Timeout;
        rows[2].outcome_detail = "killed after 25 s".into();
        let refs: Vec<&PointResult> = rows.iter().collect();
        assert_eq!(
            missing_note("gmp @ p", "threads_peak", &refs, 4),
            "gmp @ p: no value for threads_peak in 3 of 4 runs (ok x2, timeout x1 (killed after 25 s))"
        );
        assert_eq!(
            missing_note("gmp @ p", "threads_peak", &refs[2..], 4),
            "gmp @ p r3: timeout, no value for threads_peak (killed after 25 s)"
        );
    }

    #[test]
    fn words_on_x_make_a_categorical_axis_and_series_join_names() {
        let sc = scenario(vec![
            row("tokio", 2.0, "spawn_blocking", 0, 9.0, Outcome::Ok),
            row("tokio", 2.0, "direct", 0, 3.0, Outcome::Ok),
            row("tokio", 4.0, "direct", 0, 5.0, Outcome::Ok),
        ]);
        let AnyFigure::Sweep(f) = build(&spec("mode", &["runtime"]), &sc) else {
            panic!("no figure")
        };
        let Scale::Cat { names } = &f.x else {
            panic!("x is not categorical")
        };
        assert_eq!(names, &["spawn_blocking", "direct"]);
        let AnyFigure::Sweep(f) = build(&spec("procs", &["runtime", "mode"]), &sc) else {
            panic!("no figure")
        };
        let labels: Vec<&str> = f.series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["tokio · spawn_blocking", "tokio · direct"]);
        assert_eq!(
            f.series[1].groups.iter().map(|g| g.x).collect::<Vec<_>>(),
            [2.0, 4.0]
        );
    }

    #[test]
    fn timeouts_are_kept_apart_and_nan_is_dropped() {
        let sc = scenario(vec![
            row("gmp", 1.0, "a", 0, 3.0, Outcome::Ok),
            row("gmp", 1.0, "a", 1, 30.0, Outcome::Timeout),
            row("gmp", 1.0, "a", 2, f64::NAN, Outcome::Ok),
        ]);
        let AnyFigure::Sweep(f) = build(&spec("procs", &["runtime"]), &sc) else {
            panic!("no figure")
        };
        let g = &f.series[0].groups[0];
        assert_eq!(
            (g.ok.as_slice(), g.bad.as_slice()),
            (&[3.0][..], &[30.0][..])
        );
        assert!(
            f.notes.iter().any(|n| n.contains("r2: ok, no value")),
            "{:?}",
            f.notes
        );
    }

    #[test]
    fn line_breaks_where_a_point_has_no_ok_value() {
        let g = |x: f64, ok: &[f64]| Group {
            x,
            ok: ok.to_vec(),
            bad: Vec::new(),
        };
        let segs = segments(&[
            g(1.0, &[1.0]),
            g(2.0, &[2.0]),
            g(3.0, &[]),
            g(4.0, &[4.0]),
            g(5.0, &[5.0]),
        ]);
        assert_eq!(
            segs,
            vec![vec![(1.0, 1.0), (2.0, 2.0)], vec![(4.0, 4.0), (5.0, 5.0)]]
        );
    }
}
