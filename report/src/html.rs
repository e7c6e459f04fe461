//! `report.html`: one self-contained page (inline CSS, inline SVG plots, no
//! script, no network), readable offline and printable.
//!
//! The page is two lists of section functions, so adding a section is
//! adding one function to a list: [`RUN_SECTIONS`] (run status, an
//! interrupted run saying so first; run facts; host; skipped runtimes;
//! warnings; the scenario index) and, per scenario, [`SCENARIO_SECTIONS`]
//! (incident, outcomes, verdicts, fidelity, plots, scheduler trace,
//! diagnostics). Each returns its HTML, or an empty string to leave itself
//! out.
//!
//! Invariant: every string from the run directory goes through
//! `text::html`; the only unescaped markup is this file's own and the SVG
//! plotters produced (which escapes its text nodes).

use crate::load::EventLine;
use crate::tables::{self, Cell, Table};
pub(crate) use crate::text::html as esc;
use crate::{PlotOut, Report, ScenarioOut, capped_event_text, text};
use schedlab_protocol::results::RunStatus;
use std::fmt::Write as _;

const CSS: &str = r#"
body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;color:#1f1f1f;line-height:1.45}
h1{margin:0 0 6px} h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:44px} h3{margin-top:26px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:14px}
th,td{border:1px solid #c8c8c8;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
.banner{padding:10px 14px;border-radius:6px;font-weight:bold;margin:10px 0}
.banner.complete{background:#e3f3e7;border:1px solid #96cfa4}
.banner.interrupted{background:#fde3df;border:1px solid #e99a90}
.banner.running{background:#fff1d9;border:1px solid #eebf68}
td.ok{background:#e3f3e7} td.timeout{background:#fff1d9} td.crash,td.limit{background:#fde3df}
td.skipped,td.na{background:#f1f1f1;color:#666}
td.v-reproduced,td.v-fixed{background:#d3efdb} td.v-not-reproduced,td.v-not-fixed{background:#fbd9d2}
td.v-no-data{background:#ececec;color:#555}
td.within{background:#e3f3e7} td.miss{background:#f6c9c0;color:#9c0000;font-weight:bold}
td.loose{background:#fff1d9}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.d{display:block;font-size:12px;color:#555;font-weight:normal;max-width:420px;overflow-wrap:anywhere}
figure{margin:18px 0} figure svg{max-width:100%;height:auto;border:1px solid #e4e4e4}
figcaption{color:#444;font-size:14px}
pre{background:#f6f6f6;border:1px solid #ddd;padding:8px;overflow:auto;max-height:420px;font-size:12px}
.note{color:#444} .warn{color:#8a4b00} .incident{font-size:17px}
"#;

/// `<!DOCTYPE html>` to `<body>` with the report's style, for every page
/// this crate writes.
pub(crate) fn page_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(title)
    )
}

/// A section of the page about the whole run.
type RunSection = fn(&Report<'_>) -> String;
/// A section of a scenario.
type ScenarioSection = fn(&Report<'_>, &ScenarioOut<'_>) -> String;

/// The run's sections, in page order.
const RUN_SECTIONS: &[RunSection] = &[
    |r| banner(r.run.meta.status),
    run_facts,
    host,
    skipped,
    warnings,
    scenario_index,
];

/// Each scenario's sections, in page order.
const SCENARIO_SECTIONS: &[ScenarioSection] = &[
    incident,
    outcomes,
    verdicts,
    fidelity,
    plots,
    sched,
    diagnostics,
];

/// The whole page.
pub fn document(r: &Report<'_>) -> String {
    let mut o = page_head(&format!("schedlab report — {}", r.run.meta.run_id));
    o.push_str("<h1>schedlab report</h1>\n");
    if r.run.dir.parent().and_then(|p| p.file_name()) == Some(std::ffi::OsStr::new("results")) {
        o.push_str("<p><a href=\"../index.html\">all runs</a></p>\n");
    }
    for section in RUN_SECTIONS {
        o.push_str(&section(r));
    }
    for s in &r.scenarios {
        let _ = writeln!(
            o,
            "<section id=\"sc-{}\">\n<h2>Scenario {}</h2>",
            text::slug(&s.sc.name, 60),
            esc(&s.sc.name)
        );
        for section in SCENARIO_SECTIONS {
            o.push_str(&section(r, s));
        }
        o.push_str("</section>\n");
    }
    if let Some(t) = crate::decisions::table(r.run) {
        let _ = write!(
            o,
            "<h2 id=\"design-decisions\">Design decisions</h2>\n<p>{}</p>\n",
            esc(crate::decisions::INTRO)
        );
        o.push_str(&table(&t, "decisions"));
    }
    o.push_str("</body>\n</html>\n");
    o
}

fn warnings(r: &Report<'_>) -> String {
    if r.warnings.is_empty() {
        return String::new();
    }
    let mut o = String::from("<h2>Warnings</h2>\n<ul class=\"warn\">\n");
    for w in &r.warnings {
        let _ = writeln!(o, "<li>{}</li>", esc(w));
    }
    o.push_str("</ul>\n");
    o
}

fn scenario_index(r: &Report<'_>) -> String {
    if r.scenarios.is_empty() {
        return "<p class=\"note\">This run has no scenario results.</p>\n".into();
    }
    let links: Vec<String> = r
        .scenarios
        .iter()
        .map(|s| {
            format!(
                "<a href=\"#sc-{}\">{}</a>",
                text::slug(&s.sc.name, 60),
                esc(&s.sc.name)
            )
        })
        .collect();
    format!("<p>Scenarios: {}</p>\n", links.join(" · "))
}

fn banner(status: RunStatus) -> String {
    let (class, msg) = match status {
        RunStatus::Complete => ("complete", "Run complete: every planned point was run."),
        RunStatus::Interrupted => (
            "interrupted",
            "This run was INTERRUPTED (stopped by Ctrl-C): only the points that finished are shown; the rest are marked skipped or missing.",
        ),
        RunStatus::Running => (
            "running",
            "This run had not finished when the report was drawn (status: running): results are partial.",
        ),
    };
    format!("<p class=\"banner {class}\">{msg}</p>\n")
}

fn run_facts(r: &Report<'_>) -> String {
    let m = &r.run.meta;
    let status = match m.status {
        RunStatus::Complete => "complete",
        RunStatus::Interrupted => "interrupted",
        RunStatus::Running => "running",
    };
    let mut rows = vec![
        ("run id", m.run_id.clone()),
        ("status", status.to_string()),
        ("started", text::utc(m.started_unix)),
        ("finished", m.finished_unix.map_or("—".into(), text::utc)),
        (
            "profile",
            match m.profile_name() {
                "quick" => "quick (small grid, for tests)".into(),
                "default" => "default (every verdict, fewer repeats; --full for all)".into(),
                other => other.into(),
            },
        ),
    ];
    if m.sampler_cpu_s > 0.0 || m.sampler_cpu_frac > 0.0 {
        rows.push((
            "sampler CPU",
            format!(
                "{} s ({:.1}% of one core)",
                text::num(m.sampler_cpu_s),
                m.sampler_cpu_frac * 100.0
            ),
        ));
    }
    let rows: Vec<(String, String)> = rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    kv_table(&rows)
}

/// Facts as a compact table, two facts per row.
fn kv_table(rows: &[(String, String)]) -> String {
    let mut o = String::from("<table class=\"kv\">\n");
    for pair in rows.chunks(2) {
        o.push_str("<tr>");
        for (k, v) in pair {
            let _ = write!(o, "<th>{}</th><td>{}</td>", esc(k), esc(v));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
    o
}

fn host(r: &Report<'_>) -> String {
    let mut o = String::from("<h2>Host</h2>\n");
    if r.run.meta.host.is_empty() {
        o.push_str("<p class=\"note\">No host facts recorded.</p>\n");
        return o;
    }
    let rows: Vec<(String, String)> = r
        .run
        .meta
        .host
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    o.push_str(&kv_table(&rows));
    o
}

fn skipped(r: &Report<'_>) -> String {
    let sk = &r.run.meta.skipped_runtimes;
    if sk.is_empty() {
        return String::new();
    }
    let mut o = String::from("<h2>Skipped runtimes</h2>\n<ul>\n");
    for (rt, why) in sk {
        let _ = writeln!(
            o,
            "<li><b>{} column skipped</b>: {}</li>",
            esc(rt),
            esc(why)
        );
    }
    o.push_str("</ul>\n");
    o
}

fn incident(_: &Report<'_>, s: &ScenarioOut<'_>) -> String {
    let Some(sw) = &s.sc.sweep else {
        return "<p class=\"note\">The sweep of this scenario is not stored in run.json.</p>\n"
            .into();
    };
    let mut o = format!(
        "<p class=\"incident\"><b>Incident:</b> {}</p>\n",
        esc(&sw.incident)
    );
    if !sw.notes.is_empty() {
        o.push_str("<ul class=\"note\">\n");
        for (k, v) in &sw.notes {
            let _ = writeln!(o, "<li><b>{}</b>: {}</li>", esc(k), esc(v));
        }
        o.push_str("</ul>\n");
    }
    let _ = writeln!(o, "<p class=\"note\">{}</p>", esc(&crate::what_was_run(sw)));
    o
}

fn outcomes(r: &Report<'_>, s: &ScenarioOut<'_>) -> String {
    let mut o = String::from("<h3>Outcomes</h3>\n");
    if s.sc.points.is_empty() {
        o.push_str("<p class=\"note\">No point of this scenario was run.</p>\n");
    } else {
        o.push_str(
            "<p class=\"note\">How each process ended, per point and runtime (×N = repeats). A point's name links to its page: time series, scheduler trace, profiles, stderr.</p>\n",
        );
        o.push_str(&table(&tables::outcomes(r.run, s.sc), "outcomes"));
    }
    o
}

fn verdicts(_: &Report<'_>, s: &ScenarioOut<'_>) -> String {
    let mut o = String::from("<h3>Verdicts</h3>\n");
    if s.sc.verdicts.is_empty() {
        o.push_str("<p class=\"note\">No verdicts for this scenario.</p>\n");
    } else {
        o.push_str("<p class=\"note\">Each claim judged per runtime over the matching points (medians over repeats): N/M = points where the expectation held / points judged. Green: the claim holds; red: it does not; grey: no data; — : the claim does not concern this runtime.</p>\n");
        o.push_str(&table(&tables::verdicts(s.sc), "verdicts"));
    }
    o
}

fn fidelity(_: &Report<'_>, s: &ScenarioOut<'_>) -> String {
    let mut o = String::from("<h3>Fidelity: gmp vs go</h3>\n");
    if s.sc.fidelity.is_empty() {
        o.push_str("<p class=\"note\">No fidelity comparisons for this scenario.</p>\n");
    } else {
        let _ = writeln!(
            o,
            "<p class=\"note\">The gmp model against real Go, medians over repeats. {}. A tolerance is absolute (±5 threads) or relative to go's value (±10%); a row is flagged <i>loose</i> when its band is at least as wide as everything this metric measured across the scenario (all points, all runtimes): such a row cannot fail, so it checks nothing.</p>",
            esc(&tables::fidelity_summary(s.sc))
        );
        o.push_str(&table(&tables::fidelity(s.sc), "fidelity"));
    }
    o
}

fn plots(_: &Report<'_>, s: &ScenarioOut<'_>) -> String {
    if s.plots.is_empty() && s.not_in_profile.is_empty() {
        return String::new();
    }
    let mut o = String::from("<h3>Plots</h3>\n");
    for p in &s.plots {
        o.push_str(&figure(p));
    }
    if !s.not_in_profile.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"note\">{}: {}.</p>",
            text::NOT_IN_PROFILE,
            s.not_in_profile
                .iter()
                .map(|t| format!("<i>{}</i>", esc(t)))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    o
}

fn sched(_: &Report<'_>, s: &ScenarioOut<'_>) -> String {
    match &s.sched {
        Some(p) => format!("<h3>Scheduler trace</h3>\n{}", figure(p)),
        None => String::new(),
    }
}

/// A plot with its caption (what to see) and notes.
fn figure(p: &PlotOut) -> String {
    let mut o = String::from("<figure>\n");
    if let Some(svg) = &p.svg_text {
        o.push_str(&inline_svg(svg, &p.title));
    }
    o.push_str("<figcaption>");
    if let Some(c) = &p.caption {
        let _ = write!(o, "{} ", esc(c));
    }
    let _ = write!(
        o,
        "<span class=\"d\">{} plot; PNG: <code>{}</code>; hover for exact values</span>",
        p.kind,
        esc(&p.png_rel)
    );
    if let Some(e) = &p.error {
        let _ = write!(o, " — <span class=\"warn\">{}</span>", esc(e));
    }
    o.push_str("</figcaption>\n");
    if !p.notes.is_empty() {
        o.push_str("<ul class=\"note\">\n");
        for n in &p.notes {
            let _ = writeln!(o, "<li>{}</li>", esc(n));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</figure>\n");
    o
}

/// The SVG element only (no XML prolog), labelled for screen readers.
pub(crate) fn inline_svg(svg: &str, title: &str) -> String {
    let Some(start) = svg.find("<svg") else {
        return String::new();
    };
    let body = &svg[start..];
    format!(
        "<svg role=\"img\" aria-label=\"{}\"{}\n",
        esc(title),
        &body[4..]
    )
}

fn diagnostics(_: &Report<'_>, s: &ScenarioOut<'_>) -> String {
    if s.events.is_empty() {
        return String::new();
    }
    let mut o = String::from(
        "<h3>Diagnostics</h3>\n<p class=\"note\">The first diagnosis, goroutine dump and thread-creation profile each process printed; dumps and profiles grouped and counted as pprof's debug=1 does.</p>\n",
    );
    for e in &s.events {
        let _ = writeln!(
            o,
            "<p class=\"ev\">From <b>{}</b> at {} (repeat {}, t = {} s):</p>",
            esc(&e.runtime),
            esc(&tables::point_label(s.sc, &e.point_id)),
            e.repeat,
            text::num(e.event.t_ms / 1000.0),
        );
        o.push_str(&event_body(&e.runtime, &e.event));
    }
    o
}

/// An event as a grouped table (goroutine dump, threadcreate) or text.
fn event_body(runtime: &str, e: &EventLine) -> String {
    match e.kind.as_str() {
        "goroutine_dump" => goroutine_table(runtime, e),
        "threadcreate" => threadcreate_table(runtime, e),
        _ => format!(
            "<p><b>{}</b>:</p>\n<pre>{}</pre>\n",
            esc(&e.kind),
            esc(&capped_event_text(&e.text))
        ),
    }
}

/// A goroutine dump grouped by state and site, largest group first (the
/// raw text when it does not group).
pub(crate) fn goroutine_table(runtime: &str, e: &EventLine) -> String {
    match tables::goroutine_profile(&e.text) {
        Some((total, t)) => format!(
            "<p><b>goroutine profile</b> ({}): total {}, grouped by state and site</p>\n{}",
            esc(runtime),
            total.map_or("?".to_string(), |t| t.to_string()),
            table(&t, "profile")
        ),
        None => format!(
            "<p><b>goroutine dump</b> ({}):</p>\n<pre>{}</pre>\n",
            esc(runtime),
            esc(&capped_event_text(&e.text))
        ),
    }
}

/// gmp's thread-creation profile: Ms grouped by cause (the raw text when it
/// does not group).
pub(crate) fn threadcreate_table(runtime: &str, e: &EventLine) -> String {
    match tables::threadcreate_profile(&e.text) {
        Some((total, t)) => format!(
            "<p><b>threadcreate profile</b> ({}): {total} thread(s) created, by cause (numbers in a cause replaced by #)</p>\n{}",
            esc(runtime),
            table(&t, "profile")
        ),
        None => format!(
            "<p><b>threadcreate</b> ({}):</p>\n<pre>{}</pre>\n",
            esc(runtime),
            esc(&capped_event_text(&e.text))
        ),
    }
}

fn table(t: &Table, class: &str) -> String {
    let mut o = format!("<table class=\"{class}\">\n<thead><tr>");
    for h in &t.head {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        o.push_str("<tr>");
        for c in row {
            o.push_str(&cell(c));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table>\n");
    o
}

fn cell(c: &Cell) -> String {
    let class = if c.class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{}\"", c.class)
    };
    let mut o = match &c.href {
        Some(h) => format!("<td{class}><a href=\"{}\">{}</a>", esc(h), esc(&c.text)),
        None => format!("<td{class}>{}", esc(&c.text)),
    };
    for d in &c.detail {
        let _ = write!(o, "<span class=\"d\">{}</span>", esc(d));
    }
    o.push_str("</td>");
    o
}
