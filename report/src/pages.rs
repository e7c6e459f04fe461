//! One page per point, `points/<scenario>/<point_id>.html`, linked from
//! the report's outcome table: everything the runs of that point left,
//! without opening a `.jsonl`.
//!
//! A page shows, for every runtime's first repeat: the outcome of every
//! repeat with its trace file; threads, threads in state R, cores, RSS and
//! the probe over time on one time axis; the scheduler trace (Ms and Ps by
//! state); the goroutine dump and the thread-creation profile grouped and
//! counted; every other event (diagnoses, notes, limits); and the tail of
//! stderr. Figures are inline SVG only (no PNG: a sweep has hundreds of
//! points), with the same tooltips as the report's.
//!
//! Invariant: a page is written only for a point id that is a plain file
//! name; every text from the run goes through `text::html`.

use crate::html::{self, esc};
use crate::load::{Run, Scenario, Trace, jsonl_path, read_trace};
use crate::plot::schedtrace::{self, SchedFig};
use crate::plot::style::SeriesId;
use crate::plot::timeseries;
use crate::plot::{self, AnyFigure};
use crate::{tables, text};
use schedlab_protocol::results::PointResult;
use std::fmt::Write as _;
use std::path::Path;

/// The page of a point, relative to the run directory.
pub fn page_rel(scenario: &str, point_id: &str) -> Option<String> {
    (crate::load::safe_name(scenario) && crate::load::safe_name(point_id))
        .then(|| format!("points/{scenario}/{point_id}.html"))
}

/// The panels every point page draws.
const PANELS: [&str; 5] = ["threads", "r_threads", "cores", "rss_bytes", "probe_p99_us"];

/// The first repeat of each runtime at a point, with its trace.
fn first_traces<'a>(
    run_dir: &Path,
    sc: &'a Scenario,
    point_id: &str,
) -> Vec<(&'a PointResult, Trace)> {
    let rows: Vec<&PointResult> = sc
        .points
        .iter()
        .filter(|p| p.point_id == point_id && !p.jsonl.is_empty())
        .collect();
    timeseries::first_repeats(&rows)
        .into_iter()
        .filter_map(|p| {
            let path = jsonl_path(run_dir, &sc.name, &p.jsonl)?;
            read_trace(&path).ok().map(|t| (p, t))
        })
        .collect()
}

/// The scheduler trace of a point (every runtime that can say it).
pub fn sched_figure(run_dir: &Path, sc: &Scenario, point_id: &str) -> Option<SchedFig> {
    let traces = first_traces(run_dir, sc, point_id);
    sched_of(sc, point_id, &traces)
}

fn sched_of(sc: &Scenario, point_id: &str, traces: &[(&PointResult, Trace)]) -> Option<SchedFig> {
    let input: Vec<(String, &Trace, Option<f64>)> = traces
        .iter()
        .map(|(p, t)| {
            let procs = p.params.get("procs").and_then(|v| v.as_f64());
            (p.runtime.clone(), t, procs)
        })
        .collect();
    schedtrace::build(
        &format!(
            "Scheduler trace, {}: Ms and Ps by state over time",
            tables::point_label(sc, point_id)
        ),
        &input,
    )
}

/// Writes every point page of a scenario.
pub fn write_point_pages(run: &Run, sc: &Scenario) -> anyhow::Result<()> {
    for id in sc.point_ids() {
        let Some(rel) = page_rel(&sc.name, &id) else {
            continue;
        };
        let page = point_page(run, sc, &id);
        let path = run.dir.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        schedlab_protocol::atomic::write_atomic(&path, page.as_bytes())?;
    }
    Ok(())
}

fn point_page(run: &Run, sc: &Scenario, point_id: &str) -> String {
    let label = tables::point_label(sc, point_id);
    let mut o = html::page_head(&format!("{} · {label}", sc.name));
    let _ = writeln!(
        o,
        "<p><a href=\"../../report.html#sc-{}\">← back to the report</a> · run {}</p>\n<h1>{} · {}</h1>",
        text::slug(&sc.name, 60),
        esc(&run.meta.run_id),
        esc(&sc.name),
        esc(&label)
    );
    o.push_str(&runs_table(sc, point_id));
    let traces = first_traces(&run.dir, sc, point_id);
    o.push_str(&time_series(sc, &traces));
    if let Some(f) = sched_of(sc, point_id, &traces) {
        o.push_str("<h2>Scheduler trace</h2>\n<p class=\"note\">Ms and Ps by state, as GODEBUG=schedtrace prints them (gmp from its counters, go from its SCHED lines), with the OS threads /proc counted.</p>\n");
        o.push_str(&figure(&AnyFigure::Sched(f)));
    }
    for (p, t) in &traces {
        o.push_str(&runtime_block(p, t));
    }
    o.push_str("</body>\n</html>\n");
    o
}

fn runs_table(sc: &Scenario, point_id: &str) -> String {
    let mut o = String::from(
        "<h2>Runs</h2>\n<table>\n<thead><tr><th>runtime</th><th>repeat</th><th>outcome</th><th>threads peak</th><th>probe p99</th><th>wall</th><th>trace</th></tr></thead>\n<tbody>\n",
    );
    let m = |p: &PointResult, k: &str, unit: &str| {
        p.metrics.get(k).map_or("—".to_string(), |v| {
            let (u, f) = text::display_unit(k, *v);
            format!(
                "{}{}",
                text::num(v * f),
                if u.is_empty() {
                    unit.to_string()
                } else {
                    format!(" {u}")
                }
            )
        })
    };
    for p in sc.points.iter().filter(|p| p.point_id == point_id) {
        let trace = if p.jsonl.is_empty() {
            "—".to_string()
        } else {
            format!(
                "<a href=\"../../{}/{}\">{}</a>",
                esc(&sc.name),
                esc(&p.jsonl),
                esc(&p.jsonl)
            )
        };
        let detail = if p.outcome_detail.is_empty() {
            String::new()
        } else {
            format!("<span class=\"d\">{}</span>", esc(&p.outcome_detail))
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}{detail}</td><td>{}</td><td>{}</td><td>{}</td><td>{trace}</td></tr>",
            esc(&p.runtime),
            p.repeat,
            p.outcome.as_str(),
            p.outcome.as_str(),
            m(p, "threads_peak", ""),
            m(p, "probe_p99_us", ""),
            m(p, "wall_s", ""),
        );
    }
    o.push_str("</tbody>\n</table>\n");
    o
}

fn time_series(sc: &Scenario, traces: &[(&PointResult, Trace)]) -> String {
    if traces.is_empty() {
        return "<p class=\"note\">No trace of this point was kept.</p>\n".into();
    }
    let ids: Vec<SeriesId> = traces
        .iter()
        .map(|(p, _)| SeriesId {
            runtime: Some(p.runtime.clone()),
            variant: String::new(),
        })
        .collect();
    let loaded: Vec<(String, Trace)> = traces
        .iter()
        .map(|(p, t)| {
            let mut l = p.runtime.clone();
            if p.outcome != schedlab_protocol::metrics::Outcome::Ok {
                l.push_str(&format!(" ({})", p.outcome.as_str()));
            }
            (l, t.clone())
        })
        .collect();
    let panels: Vec<String> = PANELS.iter().map(|s| s.to_string()).collect();
    let title = format!(
        "{}: threads, threads in state R, cores, RSS and probe over time",
        sc.name
    );
    match timeseries::from_traces(&title, &ids, &loaded, &panels, Vec::new()) {
        Ok(f) => format!(
            "<h2>Over time</h2>\n<p class=\"note\">First repeat of each runtime. A hatched stretch has no sample line from the scenario (its runtime was stalled); the thin line is the probe's lateness as the runner saw it.</p>\n{}",
            figure(&AnyFigure::Timeseries(f))
        ),
        Err((why, _)) => format!("<p class=\"note\">No time series: {}</p>\n", esc(&why)),
    }
}

fn figure(f: &AnyFigure) -> String {
    match plot::svg_string(f) {
        Ok(svg) => format!("<figure>\n{}</figure>\n", html::inline_svg(&svg, "figure")),
        Err(e) => format!(
            "<p class=\"warn\">figure failed: {}</p>\n",
            esc(&format!("{e:#}"))
        ),
    }
}

/// One runtime's profiles, events and stderr.
fn runtime_block(p: &PointResult, t: &Trace) -> String {
    let mut o = format!("<h2>{} (repeat {})</h2>\n", esc(&p.runtime), p.repeat);
    for e in &t.events {
        match e.kind.as_str() {
            "goroutine_dump" => o.push_str(&html::goroutine_table(&p.runtime, e)),
            "threadcreate" => o.push_str(&html::threadcreate_table(&p.runtime, e)),
            "schedtrace" => {}
            _ => {
                let _ = writeln!(
                    o,
                    "<p><b>{}</b> at t = {} s:</p>\n<pre>{}</pre>",
                    esc(&e.kind),
                    text::num(e.t_ms / 1000.0),
                    esc(&crate::capped_event_text(&e.text))
                );
            }
        }
    }
    let sched_lines = t.events.iter().filter(|e| e.kind == "schedtrace").count();
    if sched_lines > 0 {
        let _ = writeln!(
            o,
            "<p class=\"note\">{sched_lines} SCHED line(s) from GODEBUG=schedtrace (drawn in the scheduler trace above).</p>"
        );
    }
    match &t.exit {
        Some(x) => {
            let how = match (x.code, x.signal) {
                (Some(c), _) => format!("exit code {c}"),
                (_, Some(s)) => format!("signal {s}"),
                _ => "unknown status".into(),
            };
            let _ = writeln!(
                o,
                "<p>Ended <b>{}</b> ({how}) at t = {} s. stderr (first and last 4 KiB):</p>\n<pre>{}</pre>",
                x.outcome.as_str(),
                text::num(x.t_ms / 1000.0),
                if x.stderr_tail.trim().is_empty() {
                    "(empty)".to_string()
                } else {
                    esc(&x.stderr_tail)
                }
            );
        }
        None => o.push_str("<p class=\"warn\">The trace has no exit line (cut short).</p>\n"),
    }
    o
}
