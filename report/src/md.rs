//! `report.md`: the same content as `report.html` for reading on a code
//! host or in a terminal, with plots as relative PNG links
//! (`plots/<scenario>/<id>.png`, next to the file).
//!
//! Plain text first: the file reads well in a terminal, so no HTML in it
//! (no entities, no `<br>`): a cell's details follow its text after " — ".
//! Like the HTML page it is a list of section functions per scenario
//! ([`SCENARIO_SECTIONS`]).
//!
//! Invariant: table cells go through `text::md_cell` (one line, pipes
//! escaped, a `<` that could open a tag escaped with a backslash); event
//! texts go in fenced blocks whose fence is longer than any backtick run
//! inside them.

use crate::tables::{self, Table};
use crate::text::{self, md_cell};
use crate::{PlotOut, Report, ScenarioOut, capped_event_text};
use schedlab_protocol::results::RunStatus;
use std::fmt::Write as _;

/// The whole document.
pub fn document(r: &Report<'_>) -> String {
    let m = &r.run.meta;
    let mut o = format!("# schedlab report — {}\n\n", md_cell(&m.run_id));
    o.push_str(match m.status {
        RunStatus::Complete => "**Run complete**: every planned point was run.\n\n",
        RunStatus::Interrupted => {
            "**This run was INTERRUPTED** (stopped by Ctrl-C): only the points that finished are shown.\n\n"
        }
        RunStatus::Running => "**This run had not finished** when the report was drawn: results are partial.\n\n",
    });
    let _ = writeln!(o, "- started: {}", text::utc(m.started_unix));
    let _ = writeln!(
        o,
        "- finished: {}",
        m.finished_unix.map_or("—".into(), text::utc)
    );
    let _ = writeln!(o, "- profile: {}", m.profile_name());
    if m.sampler_cpu_s > 0.0 {
        let _ = writeln!(
            o,
            "- sampler CPU: {} s ({:.1}% of one core)",
            text::num(m.sampler_cpu_s),
            m.sampler_cpu_frac * 100.0
        );
    }
    o.push_str("\n## Host\n\n");
    let host = Table {
        head: vec!["fact".into(), "value".into()],
        rows: m
            .host
            .iter()
            .map(|(k, v)| {
                vec![
                    tables::Cell::plain(k.clone()),
                    tables::Cell::plain(v.clone()),
                ]
            })
            .collect(),
    };
    o.push_str(&table(&host));
    if !m.skipped_runtimes.is_empty() {
        o.push_str("\n## Skipped runtimes\n\n");
        for (rt, why) in &m.skipped_runtimes {
            let _ = writeln!(o, "- **{} column skipped**: {}", md_cell(rt), md_cell(why));
        }
    }
    if !r.warnings.is_empty() {
        o.push_str("\n## Warnings\n\n");
        for w in &r.warnings {
            let _ = writeln!(o, "- {}", md_cell(w));
        }
    }
    for s in &r.scenarios {
        scenario(&mut o, r, s);
    }
    if let Some(t) = crate::decisions::table(r.run) {
        let _ = write!(
            o,
            "\n## Design decisions\n\n{}\n\n",
            crate::decisions::INTRO
        );
        o.push_str(&table(&t));
    }
    o
}

/// A section of a scenario: appends its Markdown (or nothing).
type Section = fn(&mut String, &Report<'_>, &ScenarioOut<'_>);

/// Each scenario's sections, in document order (as in report.html).
const SCENARIO_SECTIONS: &[Section] = &[
    incident,
    outcomes,
    verdicts,
    fidelity,
    plots,
    sched,
    diagnostics,
];

fn scenario(o: &mut String, r: &Report<'_>, s: &ScenarioOut<'_>) {
    let _ = writeln!(o, "\n## Scenario {}\n", md_cell(&s.sc.name));
    for section in SCENARIO_SECTIONS {
        section(o, r, s);
    }
}

fn incident(o: &mut String, _: &Report<'_>, s: &ScenarioOut<'_>) {
    if let Some(sw) = &s.sc.sweep {
        let _ = writeln!(o, "**Incident:** {}\n", md_cell(&sw.incident));
        for (k, v) in &sw.notes {
            let _ = writeln!(o, "- **{}**: {}", md_cell(k), md_cell(v));
        }
        let _ = writeln!(o, "\n{}\n", md_cell(&crate::what_was_run(sw)));
    }
}

fn outcomes(o: &mut String, r: &Report<'_>, s: &ScenarioOut<'_>) {
    o.push_str("### Outcomes\n\n");
    if s.sc.points.is_empty() {
        o.push_str("No point of this scenario was run.\n");
    } else {
        o.push_str(
            "Each point links to its page (time series, scheduler trace, profiles, stderr).\n\n",
        );
        o.push_str(&table(&tables::outcomes(r.run, s.sc)));
    }
}

fn verdicts(o: &mut String, _: &Report<'_>, s: &ScenarioOut<'_>) {
    o.push_str("\n### Verdicts\n\n");
    if s.sc.verdicts.is_empty() {
        o.push_str("No verdicts for this scenario.\n");
    } else {
        o.push_str("N/M = points where the expectation held / points judged.\n\n");
        o.push_str(&table(&tables::verdicts(s.sc)));
    }
}

fn fidelity(o: &mut String, _: &Report<'_>, s: &ScenarioOut<'_>) {
    o.push_str("\n### Fidelity: gmp vs go\n\n");
    if s.sc.fidelity.is_empty() {
        o.push_str("No fidelity comparisons for this scenario.\n");
    } else {
        let _ = writeln!(
            o,
            "{}. A row is *loose* when its band is as wide as all the metric measured in this scenario: it checks nothing.\n",
            md_cell(&tables::fidelity_summary(s.sc))
        );
        o.push_str(&table(&tables::fidelity(s.sc)));
    }
}

fn plot(o: &mut String, p: &PlotOut) {
    if p.svg_text.is_some() {
        let _ = writeln!(
            o,
            "![{}]({})\n",
            md_cell(&p.title).replace(['[', ']'], ""),
            p.png_rel
        );
    }
    if let Some(c) = &p.caption {
        let _ = writeln!(o, "{}\n", md_cell(c));
    }
    for n in &p.notes {
        let _ = writeln!(o, "- {}", md_cell(n));
    }
    if !p.notes.is_empty() {
        o.push('\n');
    }
    if let Some(e) = &p.error {
        let _ = writeln!(o, "*{}: {}*\n", md_cell(&p.title), md_cell(e));
    }
}

fn plots(o: &mut String, _: &Report<'_>, s: &ScenarioOut<'_>) {
    if s.plots.is_empty() && s.not_in_profile.is_empty() {
        return;
    }
    o.push_str("\n### Plots\n\n");
    for p in &s.plots {
        plot(o, p);
    }
    if !s.not_in_profile.is_empty() {
        let _ = writeln!(
            o,
            "{}: {}.\n",
            text::NOT_IN_PROFILE,
            s.not_in_profile
                .iter()
                .map(|t| format!("*{}*", md_cell(t)))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}

fn sched(o: &mut String, _: &Report<'_>, s: &ScenarioOut<'_>) {
    if let Some(p) = &s.sched {
        o.push_str("\n### Scheduler trace\n\n");
        plot(o, p);
    }
}

fn diagnostics(o: &mut String, _: &Report<'_>, s: &ScenarioOut<'_>) {
    if s.events.is_empty() {
        return;
    }
    o.push_str("\n### Diagnostics\n\n");
    for e in &s.events {
        let _ = writeln!(
            o,
            "**{}** from **{}** at {} (repeat {}):\n",
            md_cell(&e.event.kind),
            md_cell(&e.runtime),
            md_cell(&tables::point_label(s.sc, &e.point_id)),
            e.repeat
        );
        let grouped = match e.event.kind.as_str() {
            "goroutine_dump" => tables::goroutine_profile(&e.event.text).map(|(_, t)| t),
            "threadcreate" => tables::threadcreate_profile(&e.event.text).map(|(_, t)| t),
            _ => None,
        };
        match grouped {
            Some(t) => {
                o.push_str(&table(&t));
                o.push('\n');
            }
            None => {
                let body = capped_event_text(&e.event.text);
                let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
                let _ = writeln!(o, "{fence}text\n{body}\n{fence}\n");
            }
        }
    }
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn table(t: &Table) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "| {} |",
        t.head
            .iter()
            .map(|h| md_cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(o, "|{}", "---|".repeat(t.head.len()));
    for row in &t.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| {
                let mut s = md_cell(&c.text);
                if let Some(h) = &c.href {
                    s = format!("[{}]({h})", s.replace(['[', ']'], ""));
                }
                if c.class == "miss" || c.class == "loose" {
                    s = format!("**{s}**");
                }
                for d in &c.detail {
                    s.push_str(&format!(" — *{}*", md_cell(d)));
                }
                s
            })
            .collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o
}
