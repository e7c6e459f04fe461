//! The scheduler trace view: Ms and Ps by state over time, one column per
//! runtime that can say it, as `GODEBUG=schedtrace=N` prints it in words.
//!
//! Sources (both already in the point's `.jsonl`):
//! * **gmp**: the runtime counters of every `sample` line: `ms_running`,
//!   `ms_syscall`, `ms_spinning`, `ms_idle` out of `ms`, the rest being Ms
//!   that are none of these (sysmon, the template thread, a locked M parked
//!   for its goroutine, an M between two states); `ms_locked` is an
//!   attribute, not a state, drawn as a dashed line over the stack. Ps:
//!   `ps_running`, `ps_syscall`, `ps_idle` out of `ps` (or the point's
//!   `procs`), the rest being Ps between owners (idle but handed to an M
//!   that has not started running it, as after a hand-off) or stopped for a
//!   stop-the-world.
//! * **go**: the `SCHED` lines Go's runtime prints to stderr under
//!   `GODEBUG=schedtrace=N`, which the runner turns into `event` lines of
//!   kind `schedtrace` stamped with its clock. Go's line does not split
//!   busy Ms or Ps into running and in-syscall: its states are idle,
//!   spinning and busy.
//!
//! Each column stacks the states as areas (running at the bottom, idle on
//! top), with the OS thread count from `/proc` as a black line over the Ms:
//! where the stack meets the line, every OS thread is an M.

use super::style::{self, Entry, Key};
use super::{Figure, Hover, Scale, draw_notes, pe};
use crate::load::Trace;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;

/// A scheduler state and its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    Syscall,
    Busy,
    Spinning,
    Idle,
    Other,
    Stopped,
}

impl State {
    pub fn color(self) -> RGBColor {
        match self {
            State::Running => RGBColor(44, 160, 44),
            State::Syscall => RGBColor(214, 39, 40),
            State::Busy => RGBColor(150, 100, 40),
            State::Spinning => RGBColor(255, 160, 40),
            State::Idle => RGBColor(200, 200, 200),
            State::Other => RGBColor(160, 160, 220),
            State::Stopped => RGBColor(120, 60, 150),
        }
    }

    pub fn words(self, of: &str) -> String {
        let w = match self {
            State::Running => "running Go code",
            State::Syscall => "in a syscall",
            State::Busy => "busy (running or in a syscall: schedtrace does not split them)",
            State::Spinning => "spinning (looking for work)",
            State::Idle => "idle",
            State::Other => "other (sysmon, template thread, parked locked M, in transition)",
            State::Stopped => "between owners (handed to an M not yet running) or stopped",
        };
        format!("{of} {w}")
    }
}

/// A line over a stack: label, points (s, count), dashed.
pub type OverLine = (String, Vec<(f64, f64)>, bool);

/// One stacked panel: states in stacking order, each a value per time.
#[derive(Debug, Clone)]
pub struct Stack {
    pub what: &'static str,
    pub times: Vec<f64>,
    pub layers: Vec<(State, Vec<f64>)>,
    /// Lines over the stack: (label, points, dashed).
    pub lines: Vec<OverLine>,
}

/// One runtime's column.
#[derive(Debug, Clone)]
pub struct Column {
    pub runtime: String,
    pub ms: Stack,
    pub ps: Stack,
}

pub struct SchedFig {
    pub title: String,
    pub columns: Vec<Column>,
    pub t_max: f64,
    pub notes: Vec<String>,
}

/// One parsed `SCHED` line.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedLine {
    pub gomaxprocs: f64,
    pub idleprocs: f64,
    pub threads: f64,
    pub spinning: f64,
    pub idle: f64,
    pub runqueue: f64,
}

/// Parses Go's `SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=104
/// spinningthreads=0 idlethreads=2 runqueue=0 [0 0]`.
pub fn parse_sched(line: &str) -> Option<SchedLine> {
    let rest = line.trim().strip_prefix("SCHED ")?;
    let field = |k: &str| -> Option<f64> {
        rest.split_whitespace()
            .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
    };
    Some(SchedLine {
        gomaxprocs: field("gomaxprocs")?,
        idleprocs: field("idleprocs")?,
        threads: field("threads")?,
        spinning: field("spinningthreads")?,
        idle: field("idlethreads")?,
        runqueue: field("runqueue").unwrap_or(0.0),
    })
}

/// The gmp column from sample counters, if the trace has them.
pub fn gmp_column(runtime: &str, t: &Trace, procs: Option<f64>) -> Option<Column> {
    let rows: Vec<_> = t
        .samples
        .iter()
        .filter(|s| s.counters.contains_key("ms"))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let get = |s: &crate::load::SampleLine, k: &str| s.counters.get(k).copied().unwrap_or(0.0);
    let times: Vec<f64> = rows.iter().map(|s| s.t_ms / 1000.0).collect();
    let ms_states = [
        (State::Running, "ms_running"),
        (State::Syscall, "ms_syscall"),
        (State::Spinning, "ms_spinning"),
        (State::Idle, "ms_idle"),
    ];
    let mut ms_layers: Vec<(State, Vec<f64>)> = ms_states
        .iter()
        .map(|(st, k)| (*st, rows.iter().map(|s| get(s, k)).collect()))
        .collect();
    let other: Vec<f64> = rows
        .iter()
        .map(|s| {
            let known: f64 = ms_states.iter().map(|(_, k)| get(s, k)).sum();
            (get(s, "ms") - known).max(0.0)
        })
        .collect();
    ms_layers.push((State::Other, other));
    let ps_states = [
        (State::Running, "ps_running"),
        (State::Syscall, "ps_syscall"),
        (State::Idle, "ps_idle"),
    ];
    let mut ps_layers: Vec<(State, Vec<f64>)> = ps_states
        .iter()
        .map(|(st, k)| (*st, rows.iter().map(|s| get(s, k)).collect()))
        .collect();
    let total = |s: &crate::load::SampleLine| s.counters.get("ps").copied().or(procs);
    if rows.iter().any(|s| total(s).is_some()) {
        let stopped = rows
            .iter()
            .map(|s| {
                let known: f64 = ps_states.iter().map(|(_, k)| get(s, k)).sum();
                (total(s).unwrap_or(known) - known).max(0.0)
            })
            .collect();
        ps_layers.push((State::Stopped, stopped));
    }
    let locked: Vec<(f64, f64)> = rows
        .iter()
        .map(|s| (s.t_ms / 1000.0, get(s, "ms_locked")))
        .collect();
    let mut ms_lines = vec![threads_line(t)];
    if locked.iter().any(|p| p.1 > 0.0) {
        ms_lines.push(("Ms locked to a goroutine (any state)".into(), locked, true));
    }
    Some(Column {
        runtime: runtime.to_string(),
        ms: Stack {
            what: "Ms",
            times: times.clone(),
            layers: ms_layers,
            lines: ms_lines,
        },
        ps: Stack {
            what: "Ps",
            times,
            layers: ps_layers,
            lines: Vec::new(),
        },
    })
}

/// The go column from `schedtrace` events, if the trace has them.
pub fn go_column(runtime: &str, t: &Trace) -> Option<Column> {
    let rows: Vec<(f64, SchedLine)> = t
        .events
        .iter()
        .filter(|e| e.kind == "schedtrace")
        .filter_map(|e| parse_sched(&e.text).map(|s| (e.t_ms / 1000.0, s)))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let times: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let col = |f: &dyn Fn(&SchedLine) -> f64| rows.iter().map(|r| f(&r.1).max(0.0)).collect();
    Some(Column {
        runtime: runtime.to_string(),
        ms: Stack {
            what: "Ms",
            times: times.clone(),
            layers: vec![
                (State::Busy, col(&|s| s.threads - s.idle - s.spinning)),
                (State::Spinning, col(&|s| s.spinning)),
                (State::Idle, col(&|s| s.idle)),
            ],
            lines: vec![threads_line(t)],
        },
        ps: Stack {
            what: "Ps",
            times,
            layers: vec![
                (State::Busy, col(&|s| s.gomaxprocs - s.idleprocs)),
                (State::Idle, col(&|s| s.idleprocs)),
            ],
            lines: Vec::new(),
        },
    })
}

fn threads_line(t: &Trace) -> OverLine {
    let pts = t
        .procs
        .iter()
        .map(|p| (p.t_ms / 1000.0, p.threads as f64))
        .collect();
    (
        "OS threads (/proc)".into(),
        super::timeseries::decimate(pts, 1500),
        false,
    )
}

/// The figure for one point's traces (runtime, trace, procs param).
pub fn build(title: &str, traces: &[(String, &Trace, Option<f64>)]) -> Option<SchedFig> {
    let columns: Vec<Column> = traces
        .iter()
        .filter_map(|(rt, t, procs)| gmp_column(rt, t, *procs).or_else(|| go_column(rt, t)))
        .collect();
    if columns.is_empty() {
        return None;
    }
    let t_max = traces
        .iter()
        .map(|(_, t, _)| t.end_ms() / 1000.0)
        .fold(0.001, f64::max);
    let mut notes = Vec::new();
    for (rt, t, _) in traces {
        if !columns.iter().any(|c| &c.runtime == rt) && rt == "go" && t.exit.is_some() {
            notes.push(
                "go: no SCHED lines in this trace (the runner sets GODEBUG=schedtrace for go runs)"
                    .to_string(),
            );
        }
    }
    Some(SchedFig {
        title: title.to_string(),
        columns,
        t_max,
        notes,
    })
}

const PANEL_H: u32 = 210;
const MAX_NOTES: usize = 3;

impl SchedFig {
    fn legend(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut seen: Vec<(&str, State)> = Vec::new();
        for c in &self.columns {
            for st in [&c.ms, &c.ps] {
                for (s, _) in &st.layers {
                    if !seen.contains(&(st.what, *s)) {
                        seen.push((st.what, *s));
                        out.push(Entry::new(s.words(st.what), Key::Color(s.color())));
                    }
                }
            }
        }
        out.push(Entry::new("OS threads (/proc)", Key::Thin));
        if self.columns.iter().any(|c| c.ms.lines.iter().any(|l| l.2)) {
            out.push(Entry::new(
                "dashed: Ms locked to a goroutine",
                Key::Variant(style::Dash::Dashed, style::Marker::Cross),
            ));
        }
        out
    }
}

impl Figure for SchedFig {
    fn size(&self) -> (u32, u32) {
        let body = 40 + 2 * PANEL_H + 50;
        let legend = style::legend_height(&self.legend()) + 40;
        super::figure_size(
            &self.title,
            1100,
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
        let cols = charts.split_evenly((1, self.columns.len().max(1)));
        let mut hovers = Vec::new();
        for (c, area) in self.columns.iter().zip(cols) {
            let (head, rest) = area.split_vertically(30);
            head.draw(&Text::new(
                c.runtime.clone(),
                (90, 6),
                TextStyle::from((super::FONT, 18).into_font().style(FontStyle::Bold)),
            ))
            .map_err(pe)?;
            let (top, bottom) = rest.split_vertically(PANEL_H + 10);
            self.draw_stack(root, &top, &c.runtime, &c.ms, false, &mut hovers)?;
            self.draw_stack(root, &bottom, &c.runtime, &c.ps, true, &mut hovers)?;
        }
        style::draw_legend(&legend_area, &self.legend(), 40)?;
        draw_notes(&foot, &self.notes, MAX_NOTES)?;
        Ok(hovers)
    }
}

impl SchedFig {
    fn draw_stack<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        runtime: &str,
        s: &Stack,
        last: bool,
        hovers: &mut Vec<Hover>,
    ) -> anyhow::Result<()> {
        let n = s.times.len();
        let tops: Vec<f64> = (0..n)
            .map(|i| s.layers.iter().map(|(_, v)| v[i]).sum::<f64>())
            .collect();
        let y = Scale::linear(
            tops.iter()
                .copied()
                .chain(s.lines.iter().flat_map(|l| l.1.iter().map(|p| p.1))),
            true,
        );
        let x = Scale::Lin {
            lo: 0.0,
            hi: self.t_max * 1.02,
        };
        let mut chart = ChartBuilder::on(area)
            .margin(8)
            .x_label_area_size(if last { 44 } else { 20 })
            .y_label_area_size(70)
            .build_cartesian_2d(x, y)
            .map_err(pe)?;
        let mut mesh = chart.configure_mesh();
        mesh.y_desc(format!("{} by state", s.what))
            .axis_desc_style((super::FONT, 15))
            .label_style((super::FONT, 12))
            .y_labels(5)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215));
        if last {
            mesh.x_desc("time since the process started (s)");
        }
        mesh.draw().map_err(pe)?;
        let mut base = vec![0.0; n];
        for (state, vals) in &s.layers {
            let top: Vec<f64> = base.iter().zip(vals).map(|(b, v)| b + v).collect();
            if vals.iter().any(|v| *v > 0.0) {
                let mut poly: Vec<(i32, i32)> = Vec::with_capacity(4 * n);
                for (i, y) in top.iter().enumerate() {
                    let t1 = s.times.get(i + 1).copied().unwrap_or(s.times[i]);
                    poly.push(chart.backend_coord(&(s.times[i], *y)));
                    poly.push(chart.backend_coord(&(t1, *y)));
                }
                for i in (0..n).rev() {
                    let t1 = s.times.get(i + 1).copied().unwrap_or(s.times[i]);
                    poly.push(chart.backend_coord(&(t1, base[i])));
                    poly.push(chart.backend_coord(&(s.times[i], base[i])));
                }
                root.draw(&Polygon::new(poly, state.color().filled()))
                    .map_err(pe)?;
            }
            base = top;
        }
        for (_, pts, dashed) in &s.lines {
            let px: Vec<(i32, i32)> = pts.iter().map(|p| chart.backend_coord(p)).collect();
            let dash = if *dashed {
                style::Dash::Dashed
            } else {
                style::Dash::Solid
            };
            style::draw_path_px(root, px, BLACK, dash)?;
        }
        // Tooltips: every sample's counts.
        let step = (n / 80).max(1);
        for i in (0..n).step_by(step) {
            let t1 = s.times.get(i + step).copied().unwrap_or(self.t_max);
            let (x0, y0) = chart.backend_coord(&(s.times[i], tops[i]));
            let (x1, y1) = chart.backend_coord(&(t1, 0.0));
            let parts: Vec<String> = s
                .layers
                .iter()
                .map(|(st, v)| {
                    format!("{}: {}", st.words(""), text::num(v[i]))
                        .trim()
                        .to_string()
                })
                .collect();
            hovers.push(Hover {
                x: x0,
                y: y0.min(y1 - 6),
                w: (x1 - x0).max(2),
                h: (y1 - y0).max(6),
                text: format!(
                    "{runtime} {} at t = {} s\n{}",
                    s.what,
                    text::num(s.times[i]),
                    parts.join("\n")
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{EventLine, SampleLine};

    #[test]
    fn parses_go_sched_lines() {
        let s = parse_sched(
            "SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=104 spinningthreads=1 idlethreads=2 runqueue=3 [0 0]",
        )
        .unwrap();
        assert_eq!(
            (s.gomaxprocs, s.threads, s.spinning, s.idle),
            (2.0, 104.0, 1.0, 2.0)
        );
        assert_eq!(s.runqueue, 3.0);
        assert!(parse_sched("fatal error: thread exhaustion").is_none());
    }

    #[test]
    fn gmp_states_add_up_to_all_ms() {
        let mut t = Trace::default();
        t.samples.push(SampleLine {
            t_ms: 100.0,
            probe: None,
            counters: [
                ("ms", 10.0),
                ("ms_running", 2.0),
                ("ms_syscall", 5.0),
                ("ms_spinning", 0.0),
                ("ms_idle", 1.0),
                ("ps_running", 1.0),
                ("ps_syscall", 0.0),
                ("ps_idle", 0.0),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        });
        let c = gmp_column("gmp", &t, Some(2.0)).unwrap();
        let ms: f64 = c.ms.layers.iter().map(|(_, v)| v[0]).sum();
        assert_eq!(ms, 10.0, "other = ms - the named states");
        let stopped = c.ps.layers.iter().find(|l| l.0 == State::Stopped).unwrap();
        assert_eq!(stopped.1[0], 1.0);
        let mut g = Trace::default();
        g.events.push(EventLine {
            t_ms: 1000.0,
            kind: "schedtrace".into(),
            text: "SCHED 0ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 idlethreads=2 runqueue=0".into(),
        });
        let c = go_column("go", &g).unwrap();
        assert_eq!(c.ms.layers[0], (State::Busy, vec![3.0]));
        assert_eq!(c.ps.layers[0], (State::Busy, vec![1.0]));
    }
}
