//! `results/index.html`: every run under `results/`, newest first, with
//! its status, profile, scenarios, verdict counts and a link to its report
//! (as criterion's `report/index.html` lists its benchmarks).
//!
//! Only `run.json` and `verdicts.json` of each run are read; a folder
//! without a readable `run.json` is listed as "not a run" rather than
//! failing the index.

use crate::html::{self, esc};
use crate::text;
use schedlab_protocol::results::{
    REPORT_HTML, RUN_META, RunMeta, RunStatus, VERDICTS, VerdictRow, VerdictStatus,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The index file's name inside the results folder.
pub const INDEX_HTML: &str = "index.html";

/// Writes `<results>/index.html` listing every run in `results`.
pub fn write_index(results: &Path) -> anyhow::Result<PathBuf> {
    let mut runs: Vec<(PathBuf, Option<RunMeta>)> = std::fs::read_dir(results)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let meta = std::fs::read_to_string(p.join(RUN_META))
                .ok()
                .and_then(|t| serde_json::from_str::<RunMeta>(&t).ok());
            (p, meta)
        })
        .collect();
    runs.sort_by(|a, b| {
        let t = |m: &Option<RunMeta>| m.as_ref().map_or(0.0, |m| m.started_unix);
        t(&b.1).total_cmp(&t(&a.1)).then(b.0.cmp(&a.0))
    });
    let mut o = html::page_head("schedlab runs");
    let _ = writeln!(
        o,
        "<h1>schedlab runs</h1>\n<p class=\"note\">Every run under <code>{}</code>, newest first. Verdicts: reproduced or fixed / judged.</p>",
        esc(&results.display().to_string())
    );
    o.push_str("<table>\n<thead><tr><th>run</th><th>started</th><th>status</th><th>profile</th><th>scenarios</th><th>verdicts held</th></tr></thead>\n<tbody>\n");
    for (dir, meta) in &runs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(m) = meta else {
            if name != "plots" {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td colspan=\"5\" class=\"na\">not a run (no readable {RUN_META})</td></tr>",
                    esc(&name)
                );
            }
            continue;
        };
        let link = if dir.join(REPORT_HTML).is_file() {
            format!(
                "<a href=\"{}/{REPORT_HTML}\">{}</a>",
                esc(&name),
                esc(&name)
            )
        } else {
            format!("{} (no report)", esc(&name))
        };
        let status = match m.status {
            RunStatus::Complete => ("ok", "complete"),
            RunStatus::Interrupted => ("crash", "interrupted"),
            RunStatus::Running => ("timeout", "running"),
        };
        let verdicts: Vec<VerdictRow> = std::fs::read_to_string(dir.join(VERDICTS))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let held = verdicts
            .iter()
            .filter(|v| matches!(v.status, VerdictStatus::Reproduced | VerdictStatus::Fixed))
            .count();
        let scenarios: Vec<&str> = m.sweeps.iter().map(|s| s.scenario.as_str()).collect();
        let _ = writeln!(
            o,
            "<tr><td>{link}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{held} / {}</td></tr>",
            esc(&text::utc(m.started_unix)),
            status.0,
            status.1,
            m.profile_name(),
            esc(&scenarios.join(", ")),
            verdicts.len()
        );
    }
    o.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    let path = results.join(INDEX_HTML);
    schedlab_protocol::atomic::write_atomic(&path, o.as_bytes())?;
    Ok(path)
}
