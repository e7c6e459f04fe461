//! schedlab-report: draws a run directory into plots, `report.html` and
//! `report.md`.
//!
//! # What goes in and out
//!
//! [`render`] reads only the run directory the runner wrote (layout in
//! `schedlab_protocol::results`): `run.json` (host facts, status, the sweeps
//! as run, skipped runtimes), `<scenario>/points.json` (one row per point ×
//! runtime × repeat with its outcome and metrics), `verdicts.json`,
//! `fidelity.json` and the merged per-point `.jsonl` traces. It writes
//!
//! ```text
//! plots/<scenario>/<NN>-<title-slug>.png   BitMapBackend, vendored font
//! plots/<scenario>/<NN>-<title-slug>.svg   same picture, SVGBackend
//! plots/<scenario>/schedtrace.{png,svg}    Ms and Ps by state at one point
//! points/<scenario>/<point_id>.html        one page per point (inline SVG)
//! report.html                              self-contained: inline CSS and SVG
//! report.md                                tables + relative PNG links
//! ```
//!
//! and [`write_index`] writes `results/index.html`, the list of every run
//! under `results/` with a link to each report.
//!
//! and returns their paths in [`Rendered`]. `schedlab report` calls it on a
//! stored run, so it never needs anything the runner held in memory.
//!
//! # Invariants
//!
//! * **Never panics on odd data.** An empty run, a scenario whose points
//!   were all skipped, NaN metrics, a truncated `.jsonl`, a bad `where`:
//!   each becomes a "no data" card, a note under a plot, or a warning in
//!   the report. Only a missing/invalid `run.json` or an unwritable
//!   directory is an `Err`.
//! * **Nothing is hidden.** Runs that timed out, crashed or hit a limit are
//!   drawn as hollow markers or named in the plot's notes; a fidelity miss
//!   is shown as a red "miss"; an interrupted run says so at the top.
//! * **Missing is not zero.** A run without a value draws nothing and
//!   tables show "—".
//! * **All text from the run directory is escaped** before it reaches HTML
//!   (plotters escapes the text it puts in SVG itself).
//! * **Every file is written atomically** (temp + rename).
//!
//! # Modules
//!
//! * [`load`] — reading run directories and traces, tolerant of gaps.
//! * [`plot`] — figures (sweep, timeseries, cdf, schedtrace, no-data)
//!   drawn to PNG+SVG, with SVG tooltips.
//! * `views` — the goroutine dump and the thread-creation profile grouped
//!   and counted, as pprof's `debug=1` prints them.
//! * `html`, `md` — the two report documents, from the same [`Report`]
//!   model built here; each is a list of section functions.
//! * `pages` — the per-point pages; `index` — the index of all runs.
//! * `decisions` — the "Design decisions" table (what each scheduler knob
//!   changed), printed by both after the scenarios.

mod decisions;
mod html;
mod index;
pub mod load;
mod md;
mod pages;
pub mod plot;
mod tables;
mod text;
mod views;

pub use index::write_index;

use load::{EventLine, Run, Scenario, jsonl_path, read_events};
use plot::AnyFigure;
use schedlab_protocol::results::{REPORT_HTML, REPORT_MD};
use schedlab_protocol::sweep::PlotKind;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What [`render`] wrote.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub html: PathBuf,
    pub md: PathBuf,
    /// Every plot file written, PNG and SVG.
    pub plots: Vec<PathBuf>,
    /// Things the reader should know (unreadable files, failed plots); they
    /// are also printed in the report.
    pub warnings: Vec<String>,
}

/// Event kinds whose text the report prints.
const EVENT_KINDS: [&str; 4] = ["diagnosis", "model_check", "goroutine_dump", "threadcreate"];
/// Longest event text printed, in bytes.
const EVENT_CAP: usize = 6000;
/// At most this many event blocks per scenario.
const MAX_EVENTS: usize = 24;

/// One plot as drawn (or why it was not).
pub(crate) struct PlotOut {
    pub title: String,
    /// What to see in it (the sweep's `caption`).
    pub caption: Option<String>,
    pub kind: &'static str,
    /// Path relative to the run directory, `plots/<scenario>/<id>.png`.
    pub png_rel: String,
    pub svg_text: Option<String>,
    pub error: Option<String>,
    /// The figure's notes (runs left out and why), printed under it.
    pub notes: Vec<String>,
}

/// One printed event.
pub(crate) struct EventOut {
    pub point_id: String,
    pub runtime: String,
    pub repeat: u32,
    pub event: EventLine,
}

/// Everything the two documents print for one scenario.
pub(crate) struct ScenarioOut<'a> {
    pub sc: &'a Scenario,
    pub plots: Vec<PlotOut>,
    /// Titles of plots whose `where` matches no point of this profile
    /// (drawn by the full profile only).
    pub not_in_profile: Vec<String>,
    /// The scheduler trace figure, at the point where gmp made the most
    /// threads.
    pub sched: Option<PlotOut>,
    pub events: Vec<EventOut>,
}

/// The model both documents are written from.
pub(crate) struct Report<'a> {
    pub run: &'a Run,
    pub scenarios: Vec<ScenarioOut<'a>>,
    pub warnings: Vec<String>,
}

/// Renders plots, `report.html` and `report.md` for the run in `run_dir`.
pub fn render(run_dir: &Path) -> anyhow::Result<Rendered> {
    let run = load::load_run(run_dir)?;
    let mut warnings = run.warnings.clone();
    let mut plots = Vec::new();
    let mut scenarios = Vec::new();
    for sc in &run.scenarios {
        let (outs, not_in_profile) = draw_plots(&run, sc, &mut plots, &mut warnings);
        let sched = draw_sched(&run, sc, &mut plots, &mut warnings);
        scenarios.push(ScenarioOut {
            sc,
            plots: outs,
            not_in_profile,
            sched,
            events: collect_events(run_dir, sc),
        });
    }
    let report = Report {
        run: &run,
        scenarios,
        warnings: warnings.clone(),
    };
    let html = run_dir.join(REPORT_HTML);
    schedlab_protocol::atomic::write_atomic(&html, html::document(&report).as_bytes())?;
    let md = run_dir.join(REPORT_MD);
    schedlab_protocol::atomic::write_atomic(&md, md::document(&report).as_bytes())?;
    for sc in &run.scenarios {
        if let Err(e) = pages::write_point_pages(&run, sc) {
            warnings.push(format!("{}: point pages: {e:#}", sc.name));
        }
    }
    Ok(Rendered {
        html,
        md,
        plots,
        warnings,
    })
}

/// Draws every plot of a scenario's sweep; a failed plot is reported, not
/// fatal.
fn draw_plots(
    run: &Run,
    sc: &Scenario,
    files: &mut Vec<PathBuf>,
    warnings: &mut Vec<String>,
) -> (Vec<PlotOut>, Vec<String>) {
    let Some(sweep) = &sc.sweep else {
        return (Vec::new(), Vec::new());
    };
    if !load::safe_name(&sc.name) {
        warnings.push(format!(
            "scenario name {:?} is not a plain folder name: no plots",
            sc.name
        ));
        return (Vec::new(), Vec::new());
    }
    let dir = run.dir.join("plots").join(&sc.name);
    let mut used = BTreeSet::new();
    // The plan, for telling "full profile only" plots apart; a plan too
    // large to walk here (a 10^6-point grid) draws every plot instead.
    let planned: Vec<_> = if sweep.runs_bound(&sweep.runtimes) <= MAX_PLAN_WALK {
        sweep.expand(&sweep.runtimes).unwrap_or_default()
    } else {
        Vec::new()
    };
    let (drawn, skipped): (Vec<_>, Vec<_>) = sweep
        .plots
        .iter()
        .enumerate()
        .partition(|(_, spec)| in_profile(spec, &planned));
    let not_in_profile = skipped.iter().map(|(_, s)| s.title.clone()).collect();
    let outs = drawn
        .into_iter()
        .map(|(i, spec)| {
            let mut id = format!("{:02}-{}", i + 1, text::slug(&spec.title, 40));
            while !used.insert(id.clone()) {
                id.push('x');
            }
            let (kind, fig) = match spec.kind {
                PlotKind::Sweep => ("sweep", plot::sweep::build(spec, sc)),
                PlotKind::Timeseries => ("timeseries", plot::timeseries::build(spec, sc, &run.dir)),
                PlotKind::Cdf => ("cdf", plot::cdf::build(spec, sc)),
            };
            let png_rel = format!("plots/{}/{id}.png", sc.name);
            match plot::write_figure(&fig, &dir, &id) {
                Ok(w) => {
                    files.push(w.png);
                    files.push(w.svg);
                    let title = spec.title.clone();
                    PlotOut {
                        title,
                        caption: spec.caption.clone(),
                        kind,
                        png_rel,
                        svg_text: Some(w.svg_text),
                        error: no_data_reason(&fig),
                        notes: fig.notes().to_vec(),
                    }
                }
                Err(e) => {
                    warnings.push(format!(
                        "{}: plot \"{}\" failed: {e:#}",
                        sc.name, spec.title
                    ));
                    PlotOut {
                        title: spec.title.clone(),
                        caption: spec.caption.clone(),
                        kind,
                        png_rel,
                        svg_text: None,
                        error: Some(format!("{e:#}")),
                        notes: fig.notes().to_vec(),
                    }
                }
            }
        })
        .collect();
    (outs, not_in_profile)
}

/// The largest plan (point runs before skips) whose points are walked to
/// leave out the plots no planned point matches.
const MAX_PLAN_WALK: u128 = 20_000;

/// Whether a plot's `where` matches a point this profile planned (an empty
/// plan is unknown: yes; a `where` that names something the plan does not
/// know counts as a match: the drawn figure will say what is missing).
fn in_profile(
    spec: &schedlab_protocol::sweep::PlotSpec,
    planned: &[schedlab_protocol::sweep::PointSpec],
) -> bool {
    use schedlab_protocol::predicate::{MapContext, Predicate};
    let Some(src) = &spec.filter else {
        return true;
    };
    let Ok(pred) = Predicate::parse(src) else {
        return true;
    };
    planned.is_empty()
        || planned.iter().any(|p| {
            let ctx = MapContext::new()
                .with_params(&p.params)
                .with_runtime(&p.runtime);
            pred.eval(&ctx).unwrap_or(true)
        })
}

/// The scheduler trace at the point where gmp (else go) made the most
/// threads: every runtime's first repeat there.
fn draw_sched(
    run: &Run,
    sc: &Scenario,
    files: &mut Vec<PathBuf>,
    warnings: &mut Vec<String>,
) -> Option<PlotOut> {
    if !load::safe_name(&sc.name) {
        return None;
    }
    let peak = |rt: &str| {
        sc.points
            .iter()
            .filter(|p| p.runtime == rt)
            .filter_map(|p| p.metrics.get("threads_peak").map(|v| (p, *v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(p, _)| p.point_id.clone())
    };
    let (rt, point) = ["gmp", "go"]
        .into_iter()
        .find_map(|rt| peak(rt).map(|p| (rt, p)))?;
    let fig = pages::sched_figure(&run.dir, sc, &point)?;
    let dir = run.dir.join("plots").join(&sc.name);
    let title = fig.title.clone();
    let any = AnyFigure::Sched(fig);
    match plot::write_figure(&any, &dir, "schedtrace") {
        Ok(w) => {
            files.push(w.png);
            files.push(w.svg);
            Some(PlotOut {
                title,
                caption: Some(format!(
                    "What GODEBUG=schedtrace prints, over time, at {} (the point where {} made the most threads; every point's page has its own). Where the stacked Ms meet the black OS-thread line, every thread is an M; a tall red band is Ms parked in syscalls, each holding a thread.",
                    tables::point_label(sc, &point),
                    rt
                )),
                kind: "schedtrace",
                png_rel: format!("plots/{}/schedtrace.png", sc.name),
                svg_text: Some(w.svg_text),
                error: None,
                notes: any.notes().to_vec(),
            })
        }
        Err(e) => {
            warnings.push(format!("{}: scheduler trace failed: {e:#}", sc.name));
            None
        }
    }
}

fn no_data_reason(fig: &AnyFigure) -> Option<String> {
    match fig {
        AnyFigure::NoData(n) => Some(format!("no data: {}", n.reason)),
        _ => None,
    }
}

/// The first event of each printed kind per point × runtime (earliest
/// repeat that has one), capped in number.
fn collect_events(run_dir: &Path, sc: &Scenario) -> Vec<EventOut> {
    let mut rows: Vec<_> = sc.points.iter().collect();
    rows.sort_by_key(|p| p.repeat);
    let mut seen: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut out: Vec<EventOut> = Vec::new();
    for p in rows {
        if out.len() >= MAX_EVENTS {
            break;
        }
        let wanted: Vec<&str> = EVENT_KINDS
            .iter()
            .copied()
            .filter(|k| !seen.contains(&(p.point_id.clone(), p.runtime.clone(), k.to_string())))
            .collect();
        let Some(path) = jsonl_path(run_dir, &sc.name, &p.jsonl).filter(|_| !wanted.is_empty())
        else {
            continue;
        };
        for ev in read_events(&path, &wanted) {
            if seen.insert((p.point_id.clone(), p.runtime.clone(), ev.kind.clone()))
                && out.len() < MAX_EVENTS
            {
                out.push(EventOut {
                    point_id: p.point_id.clone(),
                    runtime: p.runtime.clone(),
                    repeat: p.repeat,
                    event: ev,
                });
            }
        }
    }
    let order = sc.point_ids();
    out.sort_by_key(|e| {
        (
            order.iter().position(|id| *id == e.point_id),
            e.runtime.clone(),
        )
    });
    out
}

/// An event's text cut to [`EVENT_CAP`] bytes, saying how much was cut.
pub(crate) fn capped_event_text(text: &str) -> String {
    match text::cap(text, EVENT_CAP) {
        (s, 0) => s.to_string(),
        (s, cut) => format!("{s}\n… ({cut} more bytes not shown; the full text is in the .jsonl)"),
    }
}

/// One sentence saying what the sweep ran.
pub(crate) fn what_was_run(sw: &schedlab_protocol::sweep::Sweep) -> String {
    let axes = |a: &schedlab_protocol::sweep::Axes| {
        a.iter()
            .map(|(k, v)| {
                format!(
                    "{k} ∈ {{{}}}",
                    v.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join(" × ")
    };
    let mut s = format!(
        "Ran: runtimes {}; duration {} per process; {} repeat(s) per point; grid {}",
        sw.runtimes.join(", "),
        sw.duration,
        sw.repeats,
        if sw.grid.is_empty() {
            "(single point)".to_string()
        } else {
            axes(&sw.grid)
        }
    );
    for (rt, a) in &sw.per_runtime {
        s.push_str(&format!("; for {rt}: {}", axes(a)));
    }
    if !sw.skip.is_empty() {
        s.push_str(&format!("; skipped where {}", sw.skip.join(" or ")));
    }
    s.push('.');
    s
}
