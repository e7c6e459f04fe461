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
//! One line per trace (runtime, and point when several match). Phases are
//! taken from the first trace that has them: a `<name>_start` … `<name>_stop`
//! pair is shaded, every phase boundary is a thin vertical line, labelled in
//! the top panel. Time is the runner's clock in seconds since the process
//! was spawned. A trace with no value for a panel draws nothing there.

use super::{
    AnyFigure, FONT, Figure, LEGEND_W, LegendEntry, Mark, NoData, Scale, colors_for, draw_legend,
    draw_notes, notes_height, pe, select_rows, title_font,
};
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
const PANEL_H: u32 = 210;

pub struct Panel {
    pub label: String,
    pub scale: Scale,
    /// (trace index, points in seconds × display unit).
    pub lines: Vec<(usize, Vec<(f64, f64)>)>,
}

pub struct TimeseriesFig {
    pub title: String,
    pub traces: Vec<LegendEntry>,
    pub panels: Vec<Panel>,
    pub t_max: f64,
    /// Phase boundaries (s, name).
    pub phases: Vec<(f64, String)>,
    /// Shaded intervals (from s, to s).
    pub shades: Vec<(f64, f64, String)>,
    pub notes: Vec<String>,
}

/// Builds the figure from the repeat-0 traces of the matching points.
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
    // The first repeat of each point × runtime (the runner may count
    // repeats from 0 or from 1).
    let first = |p: &&PointResult| {
        rows.iter()
            .filter(|q| q.point_id == p.point_id && q.runtime == p.runtime)
            .map(|q| q.repeat)
            .min()
            == Some(p.repeat)
    };
    let mut rows: Vec<&PointResult> = rows.iter().copied().filter(first).collect();
    if rows.len() > MAX_TRACES {
        notes.push(format!(
            "{} traces match; the first {MAX_TRACES} are drawn",
            rows.len()
        ));
        rows.truncate(MAX_TRACES);
    }
    let several_points = rows.iter().any(|p| p.point_id != rows[0].point_id);
    let mut traces: Vec<(String, Trace)> = Vec::new();
    for p in rows {
        let Some(path) = jsonl_path(run_dir, &sc.name, &p.jsonl) else {
            notes.push(format!(
                "{} @ {}: bad trace file name {:?}",
                p.runtime, p.point_id, p.jsonl
            ));
            continue;
        };
        let mut label = if several_points {
            format!("{} · {}", p.runtime, p.point_id)
        } else {
            p.runtime.clone()
        };
        if p.outcome != Outcome::Ok {
            label.push_str(&format!(" ({})", p.outcome.as_str()));
        }
        match read_trace(&path) {
            Ok(t) => traces.push((label, t)),
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
    let labels: Vec<String> = traces.iter().map(|(l, _)| l.clone()).collect();
    // One point: each runtime keeps its color. Several points: a runtime
    // has several lines, so every line takes its own palette color.
    let color_keys: Vec<String> = if several_points {
        labels.clone()
    } else {
        labels
            .iter()
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect()
    };
    let colors = colors_for(&color_keys);
    let legend = labels
        .iter()
        .zip(colors)
        .map(|(label, color)| LegendEntry {
            label: label.clone(),
            color,
            mark: Mark::Line,
        })
        .collect();
    let panels: Vec<Panel> = spec.y.names().iter().map(|m| panel(m, &traces)).collect();
    for (i, (label, t)) in traces.iter().enumerate() {
        if !panels.iter().any(|p| p.lines.iter().any(|(j, _)| *j == i)) {
            let why = t
                .exit
                .as_ref()
                .map(|e| {
                    e.stderr_tail
                        .lines()
                        .last()
                        .unwrap_or("")
                        .trim()
                        .to_string()
                })
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
        let why = format!(
            "the traces have no values for {}",
            spec.y.names().join(", ")
        );
        return no_data(why, notes);
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
    let shades = shaded(&phases, t_max);
    AnyFigure::Timeseries(TimeseriesFig {
        title: spec.title.clone(),
        traces: legend,
        panels,
        t_max,
        phases,
        shades,
        notes,
    })
}

/// One panel: the metric from every trace that has it.
fn panel(metric: &str, traces: &[(String, Trace)]) -> Panel {
    let (label, factor) = text::metric_axis(metric);
    let lines: Vec<(usize, Vec<(f64, f64)>)> = traces
        .iter()
        .enumerate()
        .map(|(i, (_, t))| {
            let pts: Vec<(f64, f64)> = values(metric, t)
                .into_iter()
                .map(|(ms, v)| (ms / 1000.0, v * factor))
                .filter(|(t, v)| t.is_finite() && v.is_finite())
                .collect();
            (i, decimate(pts, MAX_POINTS))
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    let scale = Scale::linear(lines.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)), true);
    Panel {
        label,
        scale,
        lines,
    }
}

/// (t_ms, value) of `metric` in a trace.
fn values(metric: &str, t: &Trace) -> Vec<(f64, f64)> {
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
fn decimate(pts: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
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

const SHADE: RGBColor = RGBColor(255, 190, 60);
/// SHADE at 18% over white, as drawn.
const SHADE_LEGEND: RGBColor = RGBColor(255, 243, 220);

impl Figure for TimeseriesFig {
    fn size(&self) -> (u32, u32) {
        let n = self.panels.len().max(1) as u32;
        (
            1100,
            60 + n * PANEL_H + 50 + notes_height(self.notes.len(), MAX_NOTES),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let (w, h) = self.size();
        let (body, foot) = root.split_vertically(h - notes_height(self.notes.len(), MAX_NOTES));
        let body = body
            .margin(8, 0, 0, 0)
            .titled(&self.title, title_font(&self.title, w - 40))
            .map_err(pe)?;
        let (charts, legend_area) = body.split_horizontally(w - LEGEND_W);
        let n = self.panels.len();
        let mut rest = charts;
        for (i, p) in self.panels.iter().enumerate() {
            let last = i + 1 == n;
            let (area, below) = if last {
                (rest.clone(), rest.clone())
            } else {
                rest.split_vertically(PANEL_H)
            };
            self.draw_panel(&area, p, i == 0, last)?;
            rest = below;
        }
        let mut legend = self.traces.clone();
        if !self.shades.is_empty() {
            let names: Vec<&str> = self.shades.iter().map(|s| s.2.as_str()).collect();
            legend.push(LegendEntry {
                label: format!("shaded: {} phase", names.join(", ")),
                color: SHADE_LEGEND,
                mark: Mark::Shade,
            });
        }
        draw_legend(&legend_area, &legend, 40)?;
        draw_notes(&foot, &self.notes, MAX_NOTES)
    }
}

impl TimeseriesFig {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        p: &Panel,
        first: bool,
        last: bool,
    ) -> anyhow::Result<()> {
        let x = Scale::Lin {
            lo: 0.0,
            hi: self.t_max * 1.02,
        };
        let mut chart = ChartBuilder::on(area)
            .margin_left(14)
            .margin_right(14)
            .margin_top(if first { 22 } else { 8 })
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
        for (t, name) in &self.phases {
            let line = PathElement::new(
                vec![(*t, ylo), (*t, yhi)],
                RGBColor(150, 110, 20).stroke_width(1),
            );
            chart.draw_series(std::iter::once(line)).map_err(pe)?;
            if first {
                let style = TextStyle::from((FONT, 13).into_font()).color(&RGBColor(120, 80, 0));
                let label = EmptyElement::at((*t, yhi)) + Text::new(name.clone(), (3, -16), style);
                chart.draw_series(std::iter::once(label)).map_err(pe)?;
            }
        }
        for (i, pts) in &p.lines {
            let color = self.traces[*i].color;
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                .map_err(pe)?;
        }
        if p.lines.is_empty() {
            let style = TextStyle::from((FONT, 16).into_font()).color(&RGBColor(110, 110, 110));
            let mid = EmptyElement::at((self.t_max * 0.4, (ylo + yhi) / 2.0))
                + Text::new(format!("no data for {}", p.label), (0, 0), style);
            chart.draw_series(std::iter::once(mid)).map_err(pe)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
