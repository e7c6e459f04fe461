//! `kind: timeseries` — metrics over time for the points matching `where`,
//! first repeat only (repeat 0, or the lowest stored), one panel per metric
//! stacked on a shared time axis.
//!
//! Where each panel's values come from (the merged `.jsonl`):
//! * `threads`, `r_threads`, `cores`, `rss_bytes`: the runner's `proc` lines
//!   (`r_threads` only on the samples where the per-thread scan ran);
//! * `probe_p99_us` (and `probe_p50_us`, `probe_max_us`): the scenario's
//!   `sample` lines' probe statistics;
//! * any other name: that counter of the `sample` lines.
//!
//! # A stalled runtime is drawn as a gap, not hidden
//!
//! A scenario writes its `sample` lines from its own runtime (the probe
//! carries the sampler), so a runtime that stalls writes none until it
//! recovers, and its probe statistics arrive in one lump at the end. Two
//! things keep the stall visible:
//!
//! * **Gaps.** Where a trace's sample lines stop for longer than
//!   [`gap_threshold_ms`] (between two lines, or from the last one to the
//!   process's exit), the panels fed by sample lines draw no line across
//!   the gap but a hatched box, "no samples: the runtime was stalled".
//! * **The runner's view of the probe.** Every line is stamped with the
//!   runner's clock when it arrives, and the runner's `/proc` samples go on
//!   through a stall. So at every `/proc` sample the report knows how
//!   overdue the next sample line is: time since the last one, less the
//!   sampling period. Probe panels draw that as a thin line beside the
//!   probe's own p99: a starved runtime still has a curve, a ramp that
//!   climbs for as long as the stall lasts. No runner change was needed:
//!   the runner's time stamps are already in the `.jsonl`.
//!
//! # Reading the rest
//!
//! One line per trace, coloured by runtime, styled by variant (see
//! `style`); units are chosen per panel from the values (µs, ms or s; MiB
//! for RSS). Phases come from the first trace that has them: every phase
//! boundary is a thin vertical line, labelled over the top panel on as many
//! rows as the labels need not to overlap; a `<name>_start` … `<name>_stop`
//! pair is shaded, unless it spans (almost) the whole run, where shading
//! would say nothing (the legend says so instead). Time is the runner's
//! clock in seconds since the process was spawned. A trace with no value
//! for a panel draws nothing there. Hovering a panel shows each trace's
//! value at that time.

use super::style::{self, Entry, Key, SeriesId, Style};
use super::{AnyFigure, FONT, Figure, Hover, NoData, Scale, draw_notes, pe, select_rows};
use crate::load::{Scenario, Trace, jsonl_path, read_trace};
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;
use schedlab_protocol::metrics::Outcome;
use schedlab_protocol::results::PointResult;
use schedlab_protocol::sweep::PlotSpec;
use std::path::Path;

/// At most this many traces per figure (more would be unreadable).
const MAX_TRACES: usize = 8;
/// Points kept per line after min/max decimation.
const MAX_POINTS: usize = 2000;
const MAX_NOTES: usize = 4;
const PANEL_H: u32 = 200;
const WIDTH: u32 = 1100;
/// Hover columns per panel.
const HOVER_COLS: usize = 60;

/// One trace: a runtime at a point, as drawn.
#[derive(Debug, Clone)]
pub struct TraceInfo {
    pub label: String,
    pub style: Style,
    pub id: SeriesId,
}

/// A trace's line as segments (it breaks at gaps): (trace, segments).
pub type Segments = (usize, Vec<Vec<(f64, f64)>>);

pub struct Panel {
    /// Axis title with its unit.
    pub label: String,
    pub unit: &'static str,
    pub scale: Scale,
    /// (trace index, segments of points in seconds × display unit): a line
    /// breaks where the trace has a gap.
    pub lines: Vec<Segments>,
    /// Probe panels: the runner's view of the probe, per trace.
    pub runner_view: Vec<(usize, Vec<(f64, f64)>)>,
    /// Values from sample lines (gaps are drawn over this panel).
    pub sampled: bool,
}

pub struct TimeseriesFig {
    pub title: String,
    pub traces: Vec<TraceInfo>,
    pub panels: Vec<Panel>,
    pub t_max: f64,
    /// Phase boundaries (s, name).
    pub phases: Vec<(f64, String)>,
    /// Shaded intervals (from s, to s, name).
    pub shades: Vec<(f64, f64, String)>,
    /// Phases that span the whole run, not shaded (name, from s, to s).
    pub whole_run: Vec<(String, f64, f64)>,
    /// Stretches without sample lines: (trace, from s, to s).
    pub gaps: Vec<(usize, f64, f64)>,
    pub notes: Vec<String>,
}

/// Builds the figure from the first-repeat traces of the matching points.
pub fn build(spec: &PlotSpec, sc: &Scenario, run_dir: &Path) -> AnyFigure {
    let no_data = |reason: String, notes: Vec<String>| {
        AnyFigure::NoData(NoData {
            title: spec.title.clone(),
            reason,
            notes,
        })
    };
    let mut notes = Vec::new();
    let rows: Vec<&PointResult> = select_rows(&sc.points, spec.filter.as_deref(), &mut notes);
    let mut rows = first_repeats(&rows);
    if rows.len() > MAX_TRACES {
        notes.push(format!(
            "{} traces match; the first {MAX_TRACES} are drawn",
            rows.len()
        ));
        rows.truncate(MAX_TRACES);
    }
    let differing = differing_params(&rows);
    let mut traces: Vec<(SeriesId, String, Trace)> = Vec::new();
    for p in rows {
        let id = SeriesId {
            runtime: Some(p.runtime.clone()),
            variant: style::param_words(&p.params, &differing),
        };
        let mut label = id.label();
        if p.outcome != Outcome::Ok {
            label.push_str(&format!(" ({})", p.outcome.as_str()));
        }
        let Some(path) = jsonl_path(run_dir, &sc.name, &p.jsonl) else {
            notes.push(format!("{label}: bad trace file name {:?}", p.jsonl));
            continue;
        };
        match read_trace(&path) {
            Ok(t) => traces.push((id, label, t)),
            Err(e) => notes.push(format!("{label}: cannot read {}: {e}", p.jsonl)),
        }
    }
    if traces.is_empty() {
        return no_data(
            notes
                .first()
                .cloned()
                .unwrap_or_else(|| "no run matches (first repeat, not skipped)".into()),
            notes,
        );
    }
    let loaded: Vec<(String, Trace)> = traces
        .iter()
        .map(|(_, l, t)| (l.clone(), t.clone()))
        .collect();
    let ids: Vec<SeriesId> = traces.iter().map(|(id, _, _)| id.clone()).collect();
    let names: Vec<String> = spec.y.names().iter().map(|s| s.to_string()).collect();
    match from_traces(&spec.title, &ids, &loaded, &names, notes) {
        Ok(f) => AnyFigure::Timeseries(f),
        Err((why, notes)) => no_data(why, notes),
    }
}

/// The first repeat of each point × runtime (the runner may count repeats
/// from 0 or from 1).
pub fn first_repeats<'a>(rows: &[&'a PointResult]) -> Vec<&'a PointResult> {
    rows.iter()
        .copied()
        .filter(|p| {
            rows.iter()
                .filter(|q| q.point_id == p.point_id && q.runtime == p.runtime)
                .map(|q| q.repeat)
                .min()
                == Some(p.repeat)
        })
        .collect()
}

/// The params whose values differ between the rows (what tells their
/// traces apart besides the runtime).
pub fn differing_params(rows: &[&PointResult]) -> Vec<String> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    for p in rows {
        for (k, v) in &p.params {
            if first.params.get(k) != Some(v) && !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    // Keep the params' own order.
    first
        .params
        .keys()
        .filter(|k| names.contains(k))
        .cloned()
        .collect()
}

/// The figure from loaded traces (label, trace) with their identities.
pub fn from_traces(
    title: &str,
    ids: &[SeriesId],
    traces: &[(String, Trace)],
    metrics: &[String],
    mut notes: Vec<String>,
) -> Result<TimeseriesFig, (String, Vec<String>)> {
    let styles = style::assign(ids);
    let infos: Vec<TraceInfo> = traces
        .iter()
        .zip(ids)
        .zip(styles)
        .map(|(((label, _), id), style)| TraceInfo {
            label: label.clone(),
            style,
            id: id.clone(),
        })
        .collect();
    let period = sample_period_ms(traces);
    let gaps_ms: Vec<Vec<(f64, f64)>> =
        traces.iter().map(|(_, t)| sample_gaps(t, period)).collect();
    let panels: Vec<Panel> = metrics
        .iter()
        .map(|m| panel(m, traces, &gaps_ms, period))
        .collect();
    for (i, (label, t)) in traces.iter().enumerate() {
        if !panels.iter().any(|p| p.lines.iter().any(|(j, _)| *j == i)) {
            let why = t
                .exit
                .as_ref()
                .map(|e| crate::load::telling_stderr_line(&e.stderr_tail))
                .unwrap_or_default();
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            };
            notes.push(format!("{label}: no values to draw{why}"));
        }
    }
    if panels.iter().all(|p| p.lines.is_empty()) {
        let why = format!("the traces have no values for {}", metrics.join(", "));
        return Err((why, notes));
    }
    let t_max = traces
        .iter()
        .map(|(_, t)| t.end_ms() / 1000.0)
        .fold(0.0, f64::max)
        .max(0.001);
    let phases: Vec<(f64, String)> = traces
        .iter()
        .find(|(_, t)| !t.phases.is_empty())
        .map(|(_, t)| {
            t.phases
                .iter()
                .filter(|p| p.0.is_finite())
                .map(|(ms, n)| (ms / 1000.0, n.clone()))
                .collect()
        })
        .unwrap_or_default();
    let (shades, whole_run) = shaded(&phases, t_max)
        .into_iter()
        .partition::<Vec<_>, _>(|(a, b, _)| (b - a) < 0.9 * t_max);
    let gaps = gaps_ms
        .iter()
        .enumerate()
        .flat_map(|(i, g)| g.iter().map(move |(a, b)| (i, a / 1000.0, b / 1000.0)))
        .collect();
    Ok(TimeseriesFig {
        title: title.to_string(),
        traces: infos,
        panels,
        t_max,
        phases,
        shades,
        whole_run: whole_run.into_iter().map(|(a, b, n)| (n, a, b)).collect(),
        gaps,
        notes,
    })
}

/// The scenarios' sampling period: the median interval between sample
/// lines over every trace, clamped to 10 ms .. 1 s (100 ms by default).
pub fn sample_period_ms(traces: &[(String, Trace)]) -> f64 {
    let mut dts: Vec<f64> = traces
        .iter()
        .flat_map(|(_, t)| t.samples.windows(2).map(|w| w[1].t_ms - w[0].t_ms))
        .filter(|d| d.is_finite() && *d > 0.0)
        .collect();
    dts.sort_by(f64::total_cmp);
    if dts.len() < 3 {
        return 100.0;
    }
    dts[dts.len() / 2].clamp(10.0, 1000.0)
}

/// How long sample lines may stop before the stretch counts as a gap.
pub fn gap_threshold_ms(period_ms: f64) -> f64 {
    (4.0 * period_ms).max(300.0)
}

/// Stretches (ms) without sample lines: between two lines, from the first
/// scenario line to the first sample, and from the last sample to the
/// process's exit.
pub fn sample_gaps(t: &Trace, period_ms: f64) -> Vec<(f64, f64)> {
    let thr = gap_threshold_ms(period_ms);
    let mut times: Vec<f64> = t.samples.iter().map(|s| s.t_ms).collect();
    if times.is_empty() {
        return Vec::new();
    }
    let start = scenario_start_ms(t);
    if let Some(s) = start {
        times.insert(0, s);
    }
    if let Some(e) = &t.exit {
        times.push(e.t_ms);
    }
    times
        .windows(2)
        .filter(|w| w[1] - w[0] > thr)
        .map(|w| (w[0], w[1]))
        .collect()
}

/// When the scenario first spoke (its first phase, event or sample).
fn scenario_start_ms(t: &Trace) -> Option<f64> {
    [
        t.phases.first().map(|p| p.0),
        t.events.first().map(|e| e.t_ms),
        t.samples.first().map(|s| s.t_ms),
    ]
    .into_iter()
    .flatten()
    .filter(|v| v.is_finite())
    .reduce(f64::min)
}

/// The runner's view of the probe (ms, µs): at every `/proc` sample from
/// the scenario's first line to its last sample line, how overdue the next
/// sample line is (time since the last one, less the period; never < 0).
pub fn runner_lateness(t: &Trace, period_ms: f64) -> Vec<(f64, f64)> {
    let (Some(start), Some(last)) = (scenario_start_ms(t), t.samples.last().map(|s| s.t_ms)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut i = 0;
    let mut prev = start;
    for p in t.procs.iter().filter(|p| p.t_ms >= start && p.t_ms <= last) {
        while i < t.samples.len() && t.samples[i].t_ms <= p.t_ms {
            prev = t.samples[i].t_ms;
            i += 1;
        }
        out.push((p.t_ms, ((p.t_ms - prev - period_ms) * 1000.0).max(0.0)));
    }
    out
}

/// One panel: the metric from every trace that has it.
fn panel(metric: &str, traces: &[(String, Trace)], gaps: &[Vec<(f64, f64)>], period: f64) -> Panel {
    let sampled = !matches!(metric, "threads" | "r_threads" | "cores" | "rss_bytes");
    let raw: Vec<(usize, Vec<(f64, f64)>)> = traces
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (i, values(metric, t)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let probe = metric.starts_with("probe_");
    let view: Vec<(usize, Vec<(f64, f64)>)> = if probe {
        traces
            .iter()
            .enumerate()
            .map(|(i, (_, t))| (i, runner_lateness(t, period)))
            .filter(|(_, v)| v.iter().any(|p| p.1 > 0.0))
            .collect()
    } else {
        Vec::new()
    };
    let max = raw
        .iter()
        .chain(view.iter())
        .flat_map(|(_, v)| v.iter().map(|p| p.1.abs()))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (unit, factor) = text::display_unit(metric, max);
    let scale_pts = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
        pts.iter()
            .map(|(ms, v)| (ms / 1000.0, v * factor))
            .filter(|(t, v)| t.is_finite() && v.is_finite())
            .collect()
    };
    let lines: Vec<Segments> = raw
        .iter()
        .map(|(i, pts)| {
            let pts = scale_pts(pts);
            let segs = if sampled {
                split_at_gaps(pts, &gaps[*i])
            } else {
                vec![pts]
            };
            (
                *i,
                segs.into_iter()
                    .map(|s| decimate(s, MAX_POINTS))
                    .filter(|s| !s.is_empty())
                    .collect(),
            )
        })
        .collect();
    let runner_view: Vec<(usize, Vec<(f64, f64)>)> = view
        .iter()
        .map(|(i, pts)| (*i, decimate(scale_pts(pts), MAX_POINTS)))
        .collect();
    let scale = Scale::linear(
        lines
            .iter()
            .flat_map(|(_, s)| s.iter().flatten().map(|q| q.1))
            .chain(runner_view.iter().flat_map(|(_, p)| p.iter().map(|q| q.1))),
        true,
    );
    Panel {
        label: text::axis_title(&text::metric_words(metric), unit, false),
        unit,
        scale,
        lines,
        runner_view,
        sampled,
    }
}

/// Splits a line (s) where a gap (ms) lies between two of its points.
fn split_at_gaps(pts: Vec<(f64, f64)>, gaps: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for p in pts {
        if let Some(prev) = out.last().and_then(|s| s.last()) {
            let crosses = gaps
                .iter()
                .any(|(a, b)| prev.0 * 1000.0 <= *a + 1e-6 && p.0 * 1000.0 >= *b - 1e-6);
            if crosses {
                out.push(Vec::new());
            }
        }
        if let Some(cur) = out.last_mut() {
            cur.push(p);
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// (t_ms, value) of `metric` in a trace.
pub fn values(metric: &str, t: &Trace) -> Vec<(f64, f64)> {
    let procs = |f: &dyn Fn(&schedlab_protocol::metrics::ProcSample) -> Option<f64>| {
        t.procs
            .iter()
            .filter_map(|p| f(p).map(|v| (p.t_ms, v)))
            .collect()
    };
    let probe = |f: &dyn Fn(&schedlab_protocol::metrics::ProbeStats) -> f64| {
        t.samples
            .iter()
            .filter_map(|s| s.probe.as_ref().filter(|p| p.n > 0).map(|p| (s.t_ms, f(p))))
            .collect()
    };
    match metric {
        "threads" => procs(&|p| Some(p.threads as f64)),
        "r_threads" => procs(&|p| p.r_threads.map(|r| r as f64)),
        "cores" => procs(&|p| Some(p.cores)),
        "rss_bytes" => procs(&|p| Some(p.rss_bytes as f64)),
        "probe_p99_us" => probe(&|p| p.p99_us),
        "probe_p50_us" => probe(&|p| p.p50_us),
        "probe_max_us" => probe(&|p| p.max_us),
        other => t
            .samples
            .iter()
            .filter_map(|s| s.counters.get(other).map(|v| (s.t_ms, *v)))
            .collect(),
    }
}

/// Keeps the min and max of each bucket so spikes survive thinning.
pub fn decimate(pts: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if pts.len() <= max {
        return pts;
    }
    let per = pts.len().div_ceil(max / 2);
    let mut out = Vec::with_capacity(max + 2);
    for chunk in pts.chunks(per) {
        let lo = chunk.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        let hi = chunk.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
            out.push(*a);
            if a != b {
                out.push(*b);
            }
        }
    }
    out
}

/// `<x>_start` … `<x>_stop` intervals (to the end when there is no stop).
fn shaded(phases: &[(f64, String)], t_max: f64) -> Vec<(f64, f64, String)> {
    let mut out = Vec::new();
    for (i, (t, name)) in phases.iter().enumerate() {
        let Some(base) = name.strip_suffix("_start") else {
            continue;
        };
        let stop = format!("{base}_stop");
        let end = phases[i + 1..]
            .iter()
            .find(|(_, n)| *n == stop)
            .map_or(t_max, |p| p.0);
        if end > *t {
            out.push((*t, end, base.to_string()));
        }
    }
    out
}

/// Rows for phase labels so that none overlaps another: each label
/// (x px, width px) goes on the first row whose last label ends before it.
/// Labels at (almost) the same x are merged first ("load_start,
/// connected").
pub fn place_labels(
    labels: &[(i32, String)],
    width: impl Fn(&str) -> i32,
) -> Vec<(i32, usize, String)> {
    let mut merged: Vec<(i32, String)> = Vec::new();
    for (x, name) in labels {
        match merged.last_mut() {
            Some((px, n)) if (x - *px).abs() <= 3 => {
                n.push_str(", ");
                n.push_str(name);
            }
            _ => merged.push((*x, name.clone())),
        }
    }
    let mut row_end: Vec<i32> = Vec::new();
    merged
        .into_iter()
        .map(|(x, name)| {
            let w = width(&name);
            let row = row_end
                .iter()
                .position(|end| *end + 6 < x)
                .unwrap_or(row_end.len());
            if row == row_end.len() {
                row_end.push(x + w);
            } else {
                row_end[row] = x + w;
            }
            (x, row, name)
        })
        .collect()
}

const SHADE: RGBColor = RGBColor(255, 190, 60);
/// SHADE at 18% over white, as drawn.
const SHADE_LEGEND: RGBColor = RGBColor(255, 243, 220);
const PHASE_FONT: u32 = 13;

impl TimeseriesFig {
    fn phase_rows(&self) -> usize {
        // Estimated at the chart's width; exact enough for the top margin.
        let w = (WIDTH - style::LEGEND_W - 100) as f64;
        let labels: Vec<(i32, String)> = self
            .phases
            .iter()
            .map(|(t, n)| ((t / (self.t_max * 1.02) * w) as i32, n.clone()))
            .collect();
        place_labels(&labels, phase_text_width)
            .iter()
            .map(|(_, r, _)| r + 1)
            .max()
            .unwrap_or(0)
    }

    fn legend(&self) -> Vec<Entry> {
        let ids: Vec<SeriesId> = self.traces.iter().map(|t| t.id.clone()).collect();
        let styles: Vec<Style> = self.traces.iter().map(|t| t.style).collect();
        let mut legend = style::series_legend(&ids, &styles);
        // Outcomes other than ok are in the trace labels: keep them.
        for (e, t) in legend.iter_mut().zip(&self.traces) {
            if let Key::Series(_) = e.key {
                e.label = t.label.clone();
            }
        }
        if self.panels.iter().any(|p| !p.runner_view.is_empty()) {
            legend.push(Entry::new(
                "thin line: probe lateness as the runner sees it (how overdue the next sample line is)",
                Key::Thin,
            ));
        }
        if !self.gaps.is_empty() {
            legend.push(Entry::new(
                "hatched: no samples: the runtime was stalled",
                Key::Hatch,
            ));
        }
        if !self.shades.is_empty() {
            let names: Vec<&str> = self.shades.iter().map(|s| s.2.as_str()).collect();
            legend.push(Entry::new(
                format!("shaded: {} phase", names.join(", ")),
                Key::Shade(SHADE_LEGEND),
            ));
        }
        for (n, a, b) in &self.whole_run {
            legend.push(Entry::new(
                format!(
                    "{n} phase: the whole run ({}–{} s), not shaded",
                    text::num(*a),
                    text::num(*b)
                ),
                Key::Heading,
            ));
        }
        legend
    }

    fn top_margin(&self) -> u32 {
        10 + 17 * self.phase_rows() as u32
    }
}

fn phase_text_width(s: &str) -> i32 {
    (FONT, PHASE_FONT)
        .into_font()
        .box_size(s)
        .map(|(w, _)| w as i32)
        .unwrap_or(0)
}

impl Figure for TimeseriesFig {
    fn size(&self) -> (u32, u32) {
        let n = self.panels.len().max(1) as u32;
        let body = self.top_margin() + n * PANEL_H + 50;
        let legend = style::legend_height(&self.legend()) + 20;
        super::figure_size(
            &self.title,
            WIDTH,
            body.max(legend),
            self.notes.len(),
            MAX_NOTES,
        )
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<Vec<Hover>> {
        let [charts, legend_area, foot] =
            super::one_chart_areas(root, &self.title, self.notes.len(), MAX_NOTES)?;
        let n = self.panels.len();
        let top = self.top_margin();
        let mut rest = charts;
        let mut hovers = Vec::new();
        for (i, p) in self.panels.iter().enumerate() {
            let first = i == 0;
            let last = i + 1 == n;
            let height = PANEL_H + if first { top } else { 0 } + if last { 50 } else { 0 };
            let (area, below) = rest.split_vertically(height);
            self.draw_panel(root, &area, p, first, last, &mut hovers)?;
            rest = below;
        }
        style::draw_legend(&legend_area, &self.legend(), top as i32)?;
        draw_notes(&foot, &self.notes, MAX_NOTES)?;
        Ok(hovers)
    }
}

impl TimeseriesFig {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        p: &Panel,
        first: bool,
        last: bool,
        hovers: &mut Vec<Hover>,
    ) -> anyhow::Result<()> {
        let x = Scale::Lin {
            lo: 0.0,
            hi: self.t_max * 1.02,
        };
        let mut chart = ChartBuilder::on(area)
            .margin_left(14)
            .margin_right(14)
            .margin_top(if first { self.top_margin() } else { 8 })
            .x_label_area_size(if last { 50 } else { 0 })
            .y_label_area_size(84)
            .build_cartesian_2d(x, p.scale.clone())
            .map_err(pe)?;
        let (ylo, yhi) = p.scale.bounds();
        for (a, b, _) in &self.shades {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(*a, ylo), (*b, yhi)],
                    SHADE.mix(0.18).filled(),
                )))
                .map_err(pe)?;
        }
        let mut mesh = chart.configure_mesh();
        mesh.y_desc(&p.label)
            .axis_desc_style((FONT, 15))
            .label_style((FONT, 13))
            .y_labels(5)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215));
        if last {
            mesh.x_desc("time since the process started (s)");
        }
        mesh.draw().map_err(pe)?;
        if p.sampled {
            self.draw_gaps(root, &chart, ylo, yhi, hovers)?;
        }
        self.draw_phases(root, &chart, ylo, yhi, first)?;
        for (i, pts) in &p.runner_view {
            let c = self.traces[*i].style.color;
            let px: Vec<(i32, i32)> = pts.iter().map(|q| chart.backend_coord(q)).collect();
            root.draw(&PathElement::new(px, c.mix(0.85).stroke_width(1)))
                .map_err(pe)?;
        }
        for (i, segs) in &p.lines {
            let st = self.traces[*i].style;
            for seg in segs {
                let px: Vec<(i32, i32)> = seg.iter().map(|q| chart.backend_coord(q)).collect();
                if px.len() == 1 {
                    style::draw_marker_px(root, px[0], st.marker, st.color, 4, true)?;
                } else {
                    style::draw_path_px(root, px, st.color, st.dash)?;
                }
            }
        }
        if p.lines.is_empty() {
            let style = TextStyle::from((FONT, 16).into_font()).color(&RGBColor(110, 110, 110));
            let mid = EmptyElement::at((self.t_max * 0.3, (ylo + yhi) / 2.0))
                + Text::new(format!("no data for {}", p.label), (0, 0), style);
            chart.draw_series(std::iter::once(mid)).map_err(pe)?;
        }
        self.panel_hovers(&chart, p, ylo, yhi, hovers);
        Ok(())
    }

    /// Hatched boxes where a trace wrote no sample lines.
    fn draw_gaps<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &ChartContext<'_, DB, Cartesian2d<Scale, Scale>>,
        ylo: f64,
        yhi: f64,
        hovers: &mut Vec<Hover>,
    ) -> anyhow::Result<()> {
        for (i, a, b) in &self.gaps {
            let t = &self.traces[*i];
            let (x0, y0) = chart.backend_coord(&(*a, yhi));
            let (x1, y1) = chart.backend_coord(&(*b, ylo));
            let c = t.style.color.mix(0.55);
            for (p, q) in style::hatch_lines((x0, y0), (x1, y1), 9) {
                root.draw(&PathElement::new(vec![p, q], c.stroke_width(1)))
                    .map_err(pe)?;
            }
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.stroke_width(1)))
                .map_err(pe)?;
            let label = format!("no samples from {}: the runtime was stalled", t.label);
            let st = TextStyle::from((FONT, 13).into_font()).color(&t.style.color);
            if (x1 - x0) > style::text_width(&label) as i32 / 2 {
                root.draw(&Text::new(
                    label.clone(),
                    (x0 + 6, y0 + 4 + 15 * *i as i32 % 60),
                    st,
                ))
                .map_err(pe)?;
            }
            hovers.push(Hover {
                x: x0,
                y: y0,
                w: x1 - x0,
                h: (y1 - y0).min(30),
                text: format!(
                    "{label}: no sample line between {} s and {} s ({} s)",
                    text::num(*a),
                    text::num(*b),
                    text::num(b - a)
                ),
            });
        }
        Ok(())
    }

    fn draw_phases<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &ChartContext<'_, DB, Cartesian2d<Scale, Scale>>,
        ylo: f64,
        yhi: f64,
        first: bool,
    ) -> anyhow::Result<()> {
        let mut labels = Vec::new();
        for (t, name) in &self.phases {
            let (x, y0) = chart.backend_coord(&(*t, yhi));
            let (_, y1) = chart.backend_coord(&(*t, ylo));
            root.draw(&PathElement::new(
                vec![(x, y0), (x, y1)],
                RGBColor(150, 110, 20).stroke_width(1),
            ))
            .map_err(pe)?;
            labels.push((x, name.clone()));
        }
        if first {
            let (_, top) = chart.backend_coord(&(0.0, yhi));
            let style =
                TextStyle::from((FONT, PHASE_FONT).into_font()).color(&RGBColor(120, 80, 0));
            for (x, row, name) in place_labels(&labels, phase_text_width) {
                let y = top - 16 - 17 * row as i32;
                root.draw(&Text::new(name, (x + 2, y), style.clone()))
                    .map_err(pe)?;
            }
        }
        Ok(())
    }

    /// Columns across the panel whose tooltips give each trace's value.
    fn panel_hovers<DB: DrawingBackend>(
        &self,
        chart: &ChartContext<'_, DB, Cartesian2d<Scale, Scale>>,
        p: &Panel,
        ylo: f64,
        yhi: f64,
        hovers: &mut Vec<Hover>,
    ) {
        let t_hi = self.t_max * 1.02;
        let (xa, ya) = chart.backend_coord(&(0.0, yhi));
        let (xb, yb) = chart.backend_coord(&(t_hi, ylo));
        let cols = HOVER_COLS as i32;
        let colw = ((xb - xa) / cols).max(1);
        for c in 0..cols {
            let (t0, t1) = (
                t_hi * c as f64 / cols as f64,
                t_hi * (c + 1) as f64 / cols as f64,
            );
            let mut lines = Vec::new();
            for (i, segs) in &p.lines {
                let last = segs
                    .iter()
                    .flatten()
                    .take_while(|q| q.0 <= t1)
                    .last()
                    .filter(|q| q.0 >= t0 - (t1 - t0) * 4.0);
                if let Some(q) = last {
                    lines.push(format!(
                        "{}: {}",
                        self.traces[*i].label,
                        style::with_unit(q.1, p.unit)
                    ));
                }
            }
            for (i, pts) in &p.runner_view {
                if let Some(q) = pts.iter().take_while(|q| q.0 <= t1).last() {
                    lines.push(format!(
                        "{} (runner's view): {}",
                        self.traces[*i].label,
                        style::with_unit(q.1, p.unit)
                    ));
                }
            }
            if lines.is_empty() {
                continue;
            }
            hovers.push(Hover {
                x: xa + c * colw,
                y: ya,
                w: colw,
                h: yb - ya,
                text: format!(
                    "{} at t = {}–{} s\n{}",
                    p.label,
                    text::num(t0),
                    text::num(t1),
                    lines.join("\n")
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::SampleLine;
    use schedlab_protocol::metrics::{ExitLine, ProbeStats, ProcSample};

    #[test]
    fn shades_start_stop_pairs() {
        let ph = vec![
            (1.0, "load_start".to_string()),
            (3.0, "load_stop".to_string()),
            (4.0, "tail_start".to_string()),
        ];
        let s = shaded(&ph, 5.0);
        assert_eq!(
            s,
            vec![
                (1.0, 3.0, "load".to_string()),
                (4.0, 5.0, "tail".to_string())
            ]
        );
    }

    #[test]
    fn decimation_keeps_spikes() {
        let mut pts: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, 1.0)).collect();
        pts[5_000].1 = 99.0;
        let d = decimate(pts, 200);
        assert!(d.len() <= 202, "{}", d.len());
        assert!(d.iter().any(|p| p.1 == 99.0));
    }

    #[test]
    fn labels_at_one_time_merge_and_close_ones_take_rows() {
        let placed = place_labels(
            &[
                (10, "load_start".into()),
                (11, "connected".into()),
                (30, "tail_start".into()),
                (400, "load_stop".into()),
            ],
            |s| 8 * s.len() as i32,
        );
        assert_eq!(placed[0], (10, 0, "load_start, connected".to_string()));
        assert_eq!(placed[1].1, 1, "overlaps the first: next row");
        assert_eq!(placed[2].1, 0, "far away: first row again");
    }

    fn stalled() -> Trace {
        // A runtime that writes samples every 100 ms until 0.5 s, then
        // nothing until 3 s; the runner's /proc samples go on every 10 ms.
        let mut t = Trace::default();
        t.phases.push((10.0, "load_start".into()));
        for ms in [100.0, 200.0, 300.0, 400.0, 500.0, 3000.0] {
            t.samples.push(SampleLine {
                t_ms: ms,
                probe: Some(ProbeStats {
                    n: 10,
                    p50_us: 50.0,
                    p99_us: 80.0,
                    max_us: 90.0,
                }),
                counters: Default::default(),
            });
        }
        for i in 0..310 {
            t.procs.push(ProcSample {
                t_ms: i as f64 * 10.0,
                threads: 3,
                r_threads: None,
                cores: 0.0,
                rss_bytes: 0,
            });
        }
        t.exit = Some(ExitLine {
            t_ms: 3100.0,
            outcome: Outcome::Ok,
            code: Some(0),
            signal: None,
            stderr_tail: String::new(),
        });
        t
    }

    #[test]
    fn a_stall_is_a_gap_and_the_runner_sees_it_grow() {
        let t = stalled();
        assert_eq!(sample_gaps(&t, 100.0), vec![(500.0, 3000.0)]);
        let late = runner_lateness(&t, 100.0);
        let at = |ms: f64| late.iter().find(|p| p.0 >= ms).map(|p| p.1).unwrap();
        assert_eq!(at(300.0), 0.0, "on time while samples flow");
        assert!(
            (at(2500.0) - 1_900_000.0).abs() < 20_000.0,
            "{}",
            at(2500.0)
        );
        let traces = vec![("tokio".to_string(), t)];
        let ids = vec![SeriesId {
            runtime: Some("tokio".into()),
            variant: String::new(),
        }];
        let f = from_traces("t", &ids, &traces, &["probe_p99_us".into()], Vec::new())
            .unwrap_or_else(|_| panic!("no figure"));
        let p = &f.panels[0];
        assert_eq!(p.lines[0].1.len(), 2, "the line breaks at the gap");
        assert_eq!(p.unit, "s", "a 2.4 s lateness is shown in seconds");
        assert!(!p.runner_view.is_empty());
        assert_eq!(f.gaps, vec![(0, 0.5, 3.0)]);
    }
}
