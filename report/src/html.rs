//! `report.html`: one self-contained page (inline CSS, inline SVG plots, no
//! script, no network), readable offline and printable.
//!
//! Order: title, run status (an interrupted run says so first), run facts,
//! host table, skipped runtimes, warnings, then per scenario: incident,
//! notes, what was run, outcomes, verdicts, fidelity, plots, diagnostics.
//!
//! Invariant: every string from the run directory goes through
//! `text::html`; the only unescaped markup is this file's own and the SVG
//! plotters produced (which escapes its text nodes).

use crate::tables::{self, Cell, Table};
use crate::text::{self, html as esc};
use crate::{Report, ScenarioOut, capped_event_text};
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
.d{display:block;font-size:12px;color:#555;font-weight:normal;max-width:420px;overflow-wrap:anywhere}
figure{margin:18px 0} figure svg{max-width:100%;height:auto;border:1px solid #e4e4e4}
figcaption{color:#444;font-size:14px}
pre{background:#f6f6f6;border:1px solid #ddd;padding:8px;overflow:auto;max-height:420px;font-size:12px}
.note{color:#444} .warn{color:#8a4b00} .incident{font-size:17px}
"#;

/// The whole page.
pub fn document(r: &Report<'_>) -> String {
    let m = &r.run.meta;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>schedlab report — {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>schedlab report</h1>\n",
        esc(&m.run_id)
    );
    o.push_str(&banner(m.status));
    o.push_str(&run_facts(r));
    o.push_str(&host(r));
    o.push_str(&skipped(r));
    if !r.warnings.is_empty() {
        o.push_str("<h2>Warnings</h2>\n<ul class=\"warn\">\n");
        for w in &r.warnings {
            let _ = writeln!(o, "<li>{}</li>", esc(w));
        }
        o.push_str("</ul>\n");
    }
    if r.scenarios.is_empty() {
        o.push_str("<p class=\"note\">This run has no scenario results.</p>\n");
    } else {
        o.push_str("<p>Scenarios: ");
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
        o.push_str(&links.join(" · "));
        o.push_str("</p>\n");
    }
    for s in &r.scenarios {
        o.push_str(&scenario(r, s));
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
            match m.profile.map(|p| p.as_str()) {
                _ if m.quick => "quick (small grid, for tests)".into(),
                Some("default") => "default (every verdict, fewer repeats; --full for all)".into(),
                _ => "full".into(),
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

fn scenario(r: &Report<'_>, s: &ScenarioOut<'_>) -> String {
    let sc = s.sc;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<section id=\"sc-{}\">\n<h2>Scenario {}</h2>",
        text::slug(&sc.name, 60),
        esc(&sc.name)
    );
    if let Some(sw) = &sc.sweep {
        let _ = writeln!(
            o,
            "<p class=\"incident\"><b>Incident:</b> {}</p>",
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
    } else {
        o.push_str("<p class=\"note\">The sweep of this scenario is not stored in run.json.</p>\n");
    }
    o.push_str("<h3>Outcomes</h3>\n");
    if sc.points.is_empty() {
        o.push_str("<p class=\"note\">No point of this scenario was run.</p>\n");
    } else {
        o.push_str(
            "<p class=\"note\">How each process ended, per point and runtime (×N = repeats).</p>\n",
        );
        o.push_str(&table(&tables::outcomes(r.run, sc), "outcomes"));
    }
    o.push_str("<h3>Verdicts</h3>\n");
    if sc.verdicts.is_empty() {
        o.push_str("<p class=\"note\">No verdicts for this scenario.</p>\n");
    } else {
        o.push_str("<p class=\"note\">Each claim judged per runtime over the matching points (medians over repeats): N/M = points where the expectation held / points judged. Green: the claim holds; red: it does not; grey: no data; — : the claim does not concern this runtime.</p>\n");
        o.push_str(&table(&tables::verdicts(sc), "verdicts"));
    }
    o.push_str("<h3>Fidelity: gmp vs go</h3>\n");
    if sc.fidelity.is_empty() {
        o.push_str("<p class=\"note\">No fidelity comparisons for this scenario.</p>\n");
    } else {
        let _ = writeln!(
            o,
            "<p class=\"note\">The gmp model against real Go, medians over repeats. {}.</p>",
            esc(&tables::fidelity_summary(sc))
        );
        o.push_str(&table(&tables::fidelity(sc), "fidelity"));
    }
    plots(&mut o, s);
    events(&mut o, s);
    o.push_str("</section>\n");
    o
}

fn plots(o: &mut String, s: &ScenarioOut<'_>) {
    if s.plots.is_empty() {
        return;
    }
    o.push_str("<h3>Plots</h3>\n");
    for p in &s.plots {
        o.push_str("<figure>\n");
        if let Some(svg) = &p.svg_text {
            o.push_str(&inline_svg(svg, &p.title));
        }
        let _ = write!(
            o,
            "<figcaption>{} ({} plot; PNG: <code>{}</code>)",
            esc(&p.title),
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
    }
}

/// The SVG element only (no XML prolog), labelled for screen readers.
fn inline_svg(svg: &str, title: &str) -> String {
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

fn events(o: &mut String, s: &ScenarioOut<'_>) {
    if s.events.is_empty() {
        return;
    }
    o.push_str("<h3>Diagnostics</h3>\n<p class=\"note\">The first diagnosis, goroutine dump and thread-creation profile each process printed.</p>\n");
    for e in &s.events {
        let _ = writeln!(
            o,
            "<p><b>{}</b> from <b>{}</b> at {} (repeat {}, t = {} s):</p>\n<pre>{}</pre>",
            esc(&e.event.kind),
            esc(&e.runtime),
            esc(&tables::point_label(s.sc, &e.point_id)),
            e.repeat,
            text::num(e.event.t_ms / 1000.0),
            esc(&capped_event_text(&e.event.text))
        );
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
    let mut o = format!("<td{class}>{}", esc(&c.text));
    for d in &c.detail {
        let _ = write!(o, "<span class=\"d\">{}</span>", esc(d));
    }
    o.push_str("</td>");
    o
}
