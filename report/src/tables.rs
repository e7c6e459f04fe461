//! The report's tables as plain data, so `report.html` and `report.md` show
//! the same cells: outcomes (points × runtimes), verdicts (claims ×
//! runtimes) and fidelity (gmp vs go per point and metric).
//!
//! Invariants:
//! * A cell's `class` is a fixed word from this file (CSS class in HTML),
//!   never text from the run directory.
//! * A value that is missing prints "—", never 0; a fidelity miss prints
//!   "miss" with class `miss`, whatever the numbers.

use crate::load::{Run, Scenario};
use crate::text;
use schedlab_protocol::metrics::{Outcome, Value};
use schedlab_protocol::results::{FidelityRow, VerdictStatus};
use schedlab_protocol::sweep::Tolerance;

/// One table cell.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    /// A fixed CSS class word (empty for none).
    pub class: &'static str,
    /// Extra lines shown small under the text.
    pub detail: Vec<String>,
    /// A link (relative to the report) the text points to.
    pub href: Option<String>,
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    /// A number, right-aligned in HTML.
    pub fn num(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            class: "num",
            ..Cell::default()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    pub head: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

const DASH: &str = "—";
const MAX_DETAIL: usize = 3;

/// Points × runtimes: how each run ended, with the detail.
pub fn outcomes(run: &Run, sc: &Scenario) -> Table {
    let runtimes = sc.runtimes();
    let mut head = vec!["point".to_string()];
    head.extend(runtimes.iter().cloned());
    let rows = sc
        .point_ids()
        .into_iter()
        .map(|id| {
            let mut row = vec![Cell {
                href: crate::pages::page_rel(&sc.name, &id),
                ..Cell::plain(point_label(sc, &id))
            }];
            for rt in &runtimes {
                row.push(outcome_cell(run, sc, &id, rt));
            }
            row
        })
        .collect();
    Table { head, rows }
}

/// `procs-2_mode-raw` shown as `procs=2, mode=raw` when params are known.
pub fn point_label(sc: &Scenario, point_id: &str) -> String {
    let Some(p) = sc.points.iter().find(|p| p.point_id == point_id) else {
        return point_id.to_string();
    };
    if p.params.is_empty() {
        return point_id.to_string();
    }
    p.params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn outcome_cell(run: &Run, sc: &Scenario, point_id: &str, runtime: &str) -> Cell {
    let reps: Vec<_> = sc
        .points
        .iter()
        .filter(|p| p.point_id == point_id && p.runtime == runtime)
        .collect();
    if reps.is_empty() {
        return match run.meta.skipped_runtimes.get(runtime) {
            Some(why) => Cell {
                text: "skipped".into(),
                class: "skipped",
                detail: vec![why.clone()],
                href: None,
            },
            None => Cell {
                text: "not run".into(),
                class: "skipped",
                detail: Vec::new(),
                href: None,
            },
        };
    }
    let order = [
        Outcome::Ok,
        Outcome::Timeout,
        Outcome::Limit,
        Outcome::Crash,
        Outcome::Skipped,
    ];
    let counts: Vec<(Outcome, usize)> = order
        .iter()
        .map(|o| (*o, reps.iter().filter(|p| p.outcome == *o).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let text = if counts.len() == 1 && reps.len() == 1 {
        counts[0].0.as_str().to_string()
    } else {
        counts
            .iter()
            .map(|(o, n)| format!("{} ×{n}", o.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let worst = [
        Outcome::Crash,
        Outcome::Limit,
        Outcome::Timeout,
        Outcome::Skipped,
        Outcome::Ok,
    ]
    .into_iter()
    .find(|o| counts.iter().any(|(c, _)| c == o))
    .unwrap_or(Outcome::Ok);
    let mut detail: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for p in &reps {
        if !p.outcome_detail.is_empty() && !seen.contains(&p.outcome_detail.as_str()) {
            seen.push(&p.outcome_detail);
            detail.push(format!(
                "r{}: {}",
                p.repeat,
                text::cap(&p.outcome_detail, 300).0
            ));
        }
    }
    detail.truncate(MAX_DETAIL);
    Cell {
        text,
        class: outcome_class(worst),
        detail,
        href: None,
    }
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Timeout => "timeout",
        Outcome::Crash => "crash",
        Outcome::Limit => "limit",
        Outcome::Skipped => "skipped",
    }
}

/// Verdict claims × runtimes; cells say the status and how many matching
/// points held.
pub fn verdicts(sc: &Scenario) -> Table {
    let mut runtimes: Vec<String> = sc.runtimes();
    runtimes.retain(|rt| sc.verdicts.iter().any(|v| &v.runtime == rt));
    let mut ids: Vec<(String, String)> = Vec::new();
    for v in &sc.verdicts {
        if !ids.iter().any(|(id, _)| *id == v.id) {
            ids.push((v.id.clone(), v.claim.clone()));
        }
    }
    let mut head = vec!["claim".to_string()];
    head.extend(runtimes.iter().cloned());
    let rows = ids
        .into_iter()
        .map(|(id, claim)| {
            let mut row = vec![Cell {
                text: claim,
                detail: vec![id.clone()],
                ..Cell::default()
            }];
            for rt in &runtimes {
                row.push(
                    match sc.verdicts.iter().find(|v| v.id == id && &v.runtime == rt) {
                        None => Cell {
                            text: DASH.into(),
                            class: "na",
                            ..Cell::default()
                        },
                        Some(v) => {
                            let mut detail: Vec<String> =
                                v.details.iter().take(MAX_DETAIL).cloned().collect();
                            if v.details.len() > MAX_DETAIL {
                                detail.push(format!("… {} more", v.details.len() - MAX_DETAIL));
                            }
                            let text = format!(
                                "{} ({}/{} points)",
                                v.status.as_str(),
                                v.points_held,
                                v.points_matched
                            );
                            Cell {
                                text,
                                class: verdict_class(v.status),
                                detail,
                                href: None,
                            }
                        }
                    },
                );
            }
            row
        })
        .collect();
    Table { head, rows }
}

fn verdict_class(s: VerdictStatus) -> &'static str {
    match s {
        VerdictStatus::Reproduced => "v-reproduced",
        VerdictStatus::NotReproduced => "v-not-reproduced",
        VerdictStatus::Fixed => "v-fixed",
        VerdictStatus::NotFixed => "v-not-fixed",
        VerdictStatus::NoData => "v-no-data",
    }
}

/// gmp vs go per point and metric.
pub fn fidelity(sc: &Scenario) -> Table {
    let head = [
        "point",
        "metric",
        "gmp",
        "go",
        "gmp − go",
        "tolerance",
        "result",
    ]
    .map(String::from)
    .to_vec();
    let order = sc.point_ids();
    let mut rows: Vec<&FidelityRow> = sc.fidelity.iter().collect();
    rows.sort_by_key(|r| {
        order
            .iter()
            .position(|id| *id == r.point_id)
            .unwrap_or(usize::MAX)
    });
    let rows = rows.into_iter().map(|r| fidelity_row(sc, r)).collect();
    Table { head, rows }
}

/// A tolerance in words: "±10% of go (relative): ±10.5", "±5 (absolute)".
pub fn tolerance_words(tol: &str, go: Option<f64>) -> String {
    let v = Value::Str(tol.to_string());
    match (Tolerance::parse(&v), go) {
        (Ok(Tolerance::Percent(p)), Some(g)) => format!(
            "±{}% of go (relative): ±{}",
            text::num(p),
            text::num(p / 100.0 * g.abs())
        ),
        (Ok(Tolerance::Percent(p)), None) => format!("±{}% of go (relative)", text::num(p)),
        (Ok(Tolerance::Abs(a)), _) => format!("±{} (absolute)", text::num(a)),
        (Err(_), _) => tol.to_string(),
    }
}

/// Half the width of the band a tolerance allows around `go`.
fn half_width(tol: &str, go: f64) -> Option<f64> {
    match Tolerance::parse(&Value::Str(tol.to_string())).ok()? {
        Tolerance::Percent(p) => Some(p / 100.0 * go.abs()),
        Tolerance::Abs(a) => Some(a),
    }
}

/// The smallest and largest median (point × runtime) of `metric` over the
/// scenario's runs: the effect it measured.
fn measured_range(sc: &Scenario, metric: &str) -> Option<(f64, f64)> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for p in &sc.points {
        if !keys.contains(&(p.point_id.as_str(), p.runtime.as_str())) {
            keys.push((&p.point_id, &p.runtime));
        }
    }
    let meds = keys.into_iter().filter_map(|(id, rt)| {
        let v: Vec<f64> = sc
            .points
            .iter()
            .filter(|p| p.point_id == id && p.runtime == rt)
            .filter_map(|p| p.metrics.get(metric).copied())
            .collect();
        crate::plot::median(&v)
    });
    crate::plot::min_max(meds)
}

/// Why a row's tolerance checks nothing, if it does not: its band (go ±
/// tolerance) is at least as wide as the whole range the metric took over
/// the scenario's runs, so no value measured here could fall outside it.
pub fn loose_because(sc: &Scenario, r: &FidelityRow) -> Option<String> {
    let go = r.go?;
    let half = half_width(&r.tolerance, go)?;
    let (lo, hi) = measured_range(sc, &r.metric)?;
    let spread = hi - lo;
    (spread > 0.0 && 2.0 * half >= spread).then(|| {
        format!(
            "loose: the band ±{} is as wide as all this metric measured here ({} to {}): no check",
            text::num(half),
            text::num(lo),
            text::num(hi)
        )
    })
}

fn fidelity_row(sc: &Scenario, r: &FidelityRow) -> Vec<Cell> {
    let val = |v: Option<f64>| v.map_or(DASH.to_string(), text::num);
    let diff = match (r.gmp, r.go) {
        (Some(a), Some(b)) => text::num(a - b),
        _ => DASH.to_string(),
    };
    let loose = loose_because(sc, r);
    let result = match r.within {
        Some(true) => Cell {
            text: "within".into(),
            class: if loose.is_some() { "loose" } else { "within" },
            detail: loose.into_iter().collect(),
            href: None,
        },
        Some(false) => Cell {
            text: "miss".into(),
            class: "miss",
            ..Cell::default()
        },
        None => {
            let side = match (r.gmp, r.go) {
                (None, None) => "both sides missing",
                (None, _) => "no gmp value",
                (_, None) => "no go value",
                _ => "undecided",
            };
            Cell {
                text: DASH.into(),
                class: "na",
                detail: vec![side.into()],
                href: None,
            }
        }
    };
    vec![
        Cell::plain(point_label(sc, &r.point_id)),
        Cell::plain(r.metric.clone()),
        Cell::plain(val(r.gmp)),
        Cell::plain(val(r.go)),
        Cell::plain(diff),
        Cell::plain(tolerance_words(&r.tolerance, r.go)),
        result,
    ]
}

/// "K within, M misses, U undecided of N".
pub fn fidelity_summary(sc: &Scenario) -> String {
    let n = sc.fidelity.len();
    let within = sc
        .fidelity
        .iter()
        .filter(|r| r.within == Some(true))
        .count();
    let miss = sc
        .fidelity
        .iter()
        .filter(|r| r.within == Some(false))
        .count();
    let loose = sc
        .fidelity
        .iter()
        .filter(|r| r.within == Some(true) && loose_because(sc, r).is_some())
        .count();
    format!(
        "{within} of {n} comparisons within tolerance ({loose} of them loose), {miss} miss(es), {} undecided (a side missing)",
        n - within - miss
    )
}

/// Most rows shown of a grouped profile; the rest are counted in a last row.
pub const MAX_GROUPS: usize = 25;

/// A goroutine dump grouped by state and site, largest group first, as
/// pprof's `goroutine?debug=1`; with the dump's total, or `None` when the
/// text is not a dump this can group.
pub fn goroutine_profile(text: &str) -> Option<(Option<u64>, Table)> {
    let (total, groups) = crate::views::goroutine_groups(text);
    if groups.is_empty() {
        return None;
    }
    let mut rows: Vec<Vec<Cell>> = groups
        .iter()
        .take(MAX_GROUPS)
        .map(|g| {
            vec![
                Cell::num(g.count.to_string()),
                Cell::plain(g.state.clone()),
                Cell::plain(g.site.clone()),
            ]
        })
        .collect();
    more_row(&mut rows, groups.len(), 3, "group(s)");
    let head = ["goroutines", "state", "where"].map(String::from).to_vec();
    Some((total, Table { head, rows }))
}

/// gmp's thread-creation profile: Ms grouped by cause (numbers in a cause
/// replaced by #), with when the first and last of each were made; with the
/// number of threads, or `None` when nothing groups.
pub fn threadcreate_profile(text: &str) -> Option<(u64, Table)> {
    let groups = crate::views::threadcreate_groups(text);
    if groups.is_empty() {
        return None;
    }
    let total = groups.iter().map(|g| g.count).sum();
    let mut rows: Vec<Vec<Cell>> = groups
        .iter()
        .take(MAX_GROUPS)
        .map(|g| {
            vec![
                Cell::num(g.count.to_string()),
                Cell::plain(g.cause.clone()),
                Cell::num(format!("{} s", text::num(g.first_s))),
                Cell::num(format!("{} s", text::num(g.last_s))),
                Cell::plain(g.example.clone()),
            ]
        })
        .collect();
    more_row(&mut rows, groups.len(), 5, "cause(s)");
    let head = [
        "threads",
        "cause",
        "first at",
        "last at",
        "one of them, as recorded",
    ]
    .map(String::from)
    .to_vec();
    Some((total, Table { head, rows }))
}

/// "… N more <what> in the .jsonl" under a profile cut at [`MAX_GROUPS`].
fn more_row(rows: &mut Vec<Vec<Cell>>, groups: usize, width: usize, what: &str) {
    if groups > MAX_GROUPS {
        let mut row = vec![Cell {
            text: format!("… {} more {what} in the .jsonl", groups - MAX_GROUPS),
            class: "na",
            ..Cell::default()
        }];
        row.resize_with(width, Cell::default);
        rows.push(row);
    }
}
