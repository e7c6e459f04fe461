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

use super::style::{self, Entry, Key, Marker, SeriesId, Style};
use super::{
    AnyFigure, Figure, Hover, NoData, Scale, draw_notes, median, notes_height, one_chart,
    one_chart_areas, one_chart_mesh, pe, select_rows, series_id,
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
    pub id: SeriesId,
    pub label: String,
    pub style: Style,
    /// Sorted by x.
    pub groups: Vec<Group>,
}

pub struct SweepFig {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// x's name (a param or metric), for tooltips.
    pub x_name: String,
    /// The unit the y values are shown in (tooltips).
    pub y_unit: String,
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
    let y_max = rows
        .iter()
        .filter_map(|p| p.metrics.get(&y_name))
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, |a: f64, b| a.max(b.abs()));
    let (y_unit, y_factor) = text::display_unit(&y_name, y_max);
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
    let x_log = matches!(x_scale, Scale::Log { .. })
        || matches!(&x_scale, Scale::Fixed { inner, .. } if matches!(**inner, Scale::Log { .. }));
    let y_log = matches!(y_scale, Scale::Log { .. });
    let x_words = spec
        .x_label
        .clone()
        .unwrap_or_else(|| text::metric_words(&x_name));
    let x_unit = if categories.is_some() || x_is_axis(&rows, &x_name) {
        ""
    } else {
        let x_max = series
            .iter()
            .flat_map(|s| s.groups.iter().map(|g| g.x.abs()))
            .fold(0.0, f64::max);
        text::display_unit(&x_name, x_max).0
    };
    let y_words = spec
        .y_label
        .clone()
        .unwrap_or_else(|| text::metric_words(&y_name));
    AnyFigure::Sweep(SweepFig {
        title: spec.title.clone(),
        x_label: text::axis_title(&x_words, x_unit, x_log),
        y_label: text::axis_title(&y_words, y_unit, y_log),
        x_name: x_name.clone(),
        y_unit: y_unit.to_string(),
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
    let mut keyed: Vec<(SeriesId, Vec<PointRuns<'_>>)> = Vec::new();
    for p in rows {
        let key = series_id(p, &spec.series);
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
    let ids: Vec<SeriesId> = keyed.iter().map(|(k, _)| k.clone()).collect();
    let styles = style::assign(&ids);
    keyed
        .into_iter()
        .zip(styles)
        .map(|((id, points), style)| {
            let label = match id.label() {
                l if l.is_empty() => text::metric_words(y_name),
                l => l,
            };
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
                id,
                label,
                style,
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

impl Figure for SweepFig {
    fn size(&self) -> (u32, u32) {
        let legend = style::legend_height(&self.legend()) + 80;
        let h = (560 + super::title_height(&self.title, 1000) - 38).max(legend);
        (1000, h + notes_height(self.notes.len(), MAX_NOTES))
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<Vec<Hover>> {
        let [chart_area, legend_area, foot] =
            one_chart_areas(root, &self.title, self.notes.len(), MAX_NOTES)?;
        let axes = (self.x.clone(), self.y.clone());
        let mut chart = one_chart(&chart_area, axes)?;
        let mut mesh = one_chart_mesh(&mut chart, &self.x_label, &self.y_label);
        if let Scale::Cat { names } = &self.x {
            mesh.x_labels(names.len().max(1)).disable_x_mesh();
        }
        mesh.draw().map_err(pe)?;
        let mut hovers = Vec::new();
        let n = self.series.len();
        let step = dodge_step(n, &self.x, &chart);
        for (i, s) in self.series.iter().enumerate() {
            let dx = ((i as f64 - (n as f64 - 1.0) / 2.0) * step).round() as i32;
            self.draw_series(root, &chart, s, dx, &mut hovers)?;
        }
        style::draw_legend(&legend_area, &self.legend(), 10)?;
        draw_notes(&foot, &self.notes, MAX_NOTES)?;
        Ok(hovers)
    }
}

/// Pixels between neighbouring series at one x, so that sixteen series on
/// one x value stay apart: at most 9 px, and all of them within a third
/// of the gap between two x ticks (a category's width on a word axis).
fn dodge_step<DB: DrawingBackend>(n: usize, x: &Scale, chart: &Chart<'_, DB>) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let px = |v: f64| chart.backend_coord(&(v, 0.0)).0 as f64;
    let ticks: Vec<f64> = match x {
        Scale::Cat { names } => (0..names.len().max(1)).map(|i| i as f64).collect(),
        Scale::Fixed { ticks, .. } => ticks.clone(),
        _ => Vec::new(),
    };
    let (lo, hi) = x.bounds();
    let mut gap = (px(hi) - px(lo)).abs();
    for w in ticks.windows(2) {
        gap = gap.min((px(w[1]) - px(w[0])).abs());
    }
    if let [only] = ticks.as_slice() {
        gap = gap.min(2.0 * (px(*only) - px(lo)).abs());
    }
    (gap / 3.0 / (n as f64 - 1.0)).min(9.0)
}

impl SweepFig {
    fn legend(&self) -> Vec<Entry> {
        let ids: Vec<SeriesId> = self.series.iter().map(|s| s.id.clone()).collect();
        let styles: Vec<Style> = self.series.iter().map(|s| s.style).collect();
        let mut out = style::series_legend(&ids, &styles);
        if ids.iter().all(|i| i.label().is_empty())
            && let Some(e) = out.first_mut()
        {
            e.label = self.series[0].label.clone();
        }
        out.push(Entry::new(
            "marker: median of the ok repeats",
            Key::Dot(Marker::Circle),
        ));
        if self
            .series
            .iter()
            .any(|s| s.groups.iter().any(|g| g.ok.len() > 1))
        {
            out.push(Entry::new("bar: min to max over repeats", Key::Heading));
        }
        if self
            .series
            .iter()
            .any(|s| s.groups.iter().any(|g| !g.bad.is_empty()))
        {
            out.push(Entry::new("hollow: timeout / crash / limit", Key::Hollow));
        }
        out
    }

    /// The x value in words for a tooltip.
    fn x_words(&self, x: f64) -> String {
        match &self.x {
            Scale::Cat { names } => names
                .get(x.round().max(0.0) as usize)
                .cloned()
                .unwrap_or_default(),
            _ => format!("{} = {}", self.x_name, text::num(x)),
        }
    }

    /// One series in pixels on `root`, shifted `dx` px sideways.
    fn draw_series<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &Chart<'_, DB>,
        s: &Series,
        dx: i32,
        hovers: &mut Vec<Hover>,
    ) -> anyhow::Result<()> {
        let at = |x: f64, y: f64| {
            let (px, py) = chart.backend_coord(&(x, y));
            (px + dx, py)
        };
        let st = s.style;
        for seg in segments(&s.groups) {
            let pts: Vec<(i32, i32)> = seg.iter().map(|(x, y)| at(*x, *y)).collect();
            style::draw_path_px(root, pts, st.color, st.dash)?;
        }
        for g in &s.groups {
            let ok_range = super::min_max(g.ok.iter().copied());
            if let (Some((lo, hi)), true) = (ok_range, g.ok.len() > 1) {
                let (a, b) = (at(g.x, lo), at(g.x, hi));
                root.draw(&PathElement::new(vec![a, b], st.color.stroke_width(2)))
                    .map_err(pe)?;
                for p in [a, b] {
                    root.draw(&PathElement::new(
                        vec![(p.0 - 5, p.1), (p.0 + 5, p.1)],
                        st.color.stroke_width(2),
                    ))
                    .map_err(pe)?;
                }
            }
            let mut tip = format!("{} at {}:", s.label, self.x_words(g.x));
            if let Some(m) = median(&g.ok) {
                let c = at(g.x, m);
                style::draw_marker_px(root, c, st.marker, st.color, 5, true)?;
                tip.push_str(&format!(
                    " median {} of {} ok run(s)",
                    style::with_unit(m, &self.y_unit),
                    g.ok.len()
                ));
                if let (Some((lo, hi)), true) = (ok_range, g.ok.len() > 1) {
                    tip.push_str(&format!(", min {}, max {}", text::num(lo), text::num(hi)));
                }
                hovers.push(Hover::around(c, 8, tip.clone()));
            }
            for y in &g.bad {
                let c = at(g.x, *y);
                style::draw_marker_px(root, c, st.marker, st.color, 8, false)?;
                hovers.push(Hover::around(
                    c,
                    9,
                    format!(
                        "{} at {}: {} from a run that did not end ok",
                        s.label,
                        self.x_words(g.x),
                        style::with_unit(*y, &self.y_unit)
                    ),
                ));
            }
        }
        Ok(())
    }
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Scale, Scale>>;

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
            caption: None,
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
