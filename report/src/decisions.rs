//! The "Design decisions" section: what each scheduler knob changed
//! (issue 15; the knobs are `schedlab_protocol::knobs`).
//!
//! One row per decision (a knob at a value other than its default) ×
//! scenario × runtime that has such points in the run:
//!
//! * **Go's switch**: the Go mirror (`GODEBUG=asyncpreemptoff=1`,
//!   `debug.SetMaxThreads(n)`) or "model-only (no Go switch)"; a go column
//!   that skipped the points (a model-only knob) gets its own row saying so;
//! * **metric: before → after**: each metric the knob's verdicts test (the
//!   names in their `expect`), as the range of the point medians with the
//!   knob at its default ("before": the same params but the knob, same
//!   runtime) and with the knob set ("after"); plus the outcomes when they
//!   differ (a point that now times out or hits a limit);
//! * **claims**: every verdict that judges those points (its `where`
//!   holds there and names the knob: the claims about the decision, not
//!   the controls at the default), with its status on that runtime.
//!
//! Everything is computed from the run directory: the points' params and
//! medians (`ok`, `timeout` and `limit` repeats, as the runner's), the
//! sweeps as run, `verdicts.json`. A run without knob points has no
//! section.

use crate::load::{Run, Scenario};
use crate::tables::{Cell, Table};
use crate::text;
use schedlab_protocol::knobs::{self, GoMirror, KNOBS, Knob};
use schedlab_protocol::metrics::{Outcome, Params, Value};
use schedlab_protocol::predicate::{MapContext, Predicate};
use schedlab_protocol::results::{PointResult, VerdictStatus};
use schedlab_protocol::sweep::VerdictSpec;
use schedlab_protocol::util::median;

/// The sentence above the table.
pub const INTRO: &str = "Each row switches one rule of Go's scheduler off (a knob, `--set gmp.<knob>=<value>`) and shows what moved: each metric the knob's claims test, as the range over the points with the knob at its default (before) and set (after), at the same params otherwise. Go's switch says how the go column mirrors the knob; a model-only knob has no Go switch and the go column skips those points.";

/// The section's table, or None when the run has no knob points.
pub fn table(run: &Run) -> Option<Table> {
    let head = [
        "decision",
        "Go's switch",
        "scenario",
        "runtime",
        "points",
        "metric: before → after",
        "claims about it",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for k in KNOBS {
        for sc in &run.scenarios {
            for (value, rt) in groups(sc, k) {
                rows.push(row(sc, k, &value, &rt));
            }
        }
    }
    (!rows.is_empty()).then_some(Table { head, rows })
}

/// The (value, runtime) pairs of `sc` with points where `k` is the only
/// knob off its default, in the scenario's runtime order.
fn groups(sc: &Scenario, k: &Knob) -> Vec<(Value, String)> {
    let mut out: Vec<(Value, String)> = Vec::new();
    for rt in sc.runtimes() {
        for p in sc.points.iter().filter(|p| p.runtime == rt) {
            if let Some(v) = only_knob_off(&p.params, k)
                && !out.iter().any(|(ov, ort)| *ov == v && *ort == rt)
            {
                out.push((v, rt.clone()));
            }
        }
    }
    out
}

/// `k`'s value in `params` if it is off its default and no other knob is.
fn only_knob_off(params: &Params, k: &Knob) -> Option<Value> {
    let off = |kk: &Knob| {
        params
            .get(kk.key)
            .filter(|v| **v != kk.default_value())
            .cloned()
    };
    let v = off(k)?;
    KNOBS
        .iter()
        .filter(|o| o.key != k.key)
        .all(|o| off(o).is_none())
        .then_some(v)
}

/// `params` with `k` at its default (the "before" twin's params).
fn at_default(params: &Params, k: &Knob) -> Params {
    let mut p = params.clone();
    p.insert(k.key.to_string(), k.default_value());
    p
}

fn row(sc: &Scenario, k: &Knob, value: &Value, rt: &str) -> Vec<Cell> {
    let after: Vec<&PointResult> = sc
        .points
        .iter()
        .filter(|p| p.runtime == rt && only_knob_off(&p.params, k).as_ref() == Some(value))
        .collect();
    let ids = point_ids(&after);
    let ran: Vec<&PointResult> = after
        .iter()
        .copied()
        .filter(|p| p.outcome != Outcome::Skipped)
        .collect();
    let mut cells = vec![
        Cell::plain(format!("{}={value}", k.key)),
        go_cell(k),
        Cell::plain(sc.name.clone()),
        Cell::plain(rt.to_string()),
    ];
    if ran.is_empty() {
        let why = after
            .iter()
            .find(|p| !p.outcome_detail.is_empty())
            .map(|p| p.outcome_detail.clone())
            .unwrap_or_default();
        cells.push(Cell::plain(format!("{} skipped", ids.len())));
        cells.push(Cell {
            text: "not run".into(),
            class: "skipped",
            detail: vec![why],
            href: None,
        });
        cells.push(Cell::plain("—"));
        return cells;
    }
    let before: Vec<&PointResult> = sc
        .points
        .iter()
        .filter(|p| {
            p.runtime == rt
                && after
                    .iter()
                    .any(|a| at_default(&a.params, k) == with_all(&p.params, k))
        })
        .collect();
    let specs = judging(sc, &ran);
    cells.push(Cell::plain(point_ids(&ran).len().to_string()));
    cells.push(moved(sc, &specs, &before, &ran));
    cells.push(verdicts(sc, &specs, rt));
    cells
}

/// The sweep's verdicts that judge at least one of `after` (its `where`
/// holds there and names every knob the point has off): the claims about
/// this decision, not the controls at the default.
fn judging<'a>(sc: &'a Scenario, after: &[&PointResult]) -> Vec<&'a VerdictSpec> {
    let Some(sw) = &sc.sweep else {
        return Vec::new();
    };
    sw.verdicts
        .iter()
        .filter(|v| {
            after
                .iter()
                .any(|p| knobs::in_view(v.filter.as_deref(), &p.params) && where_holds(v, p))
        })
        .collect()
}

fn where_holds(v: &VerdictSpec, p: &PointResult) -> bool {
    let Some(f) = v.filter.as_deref() else {
        return true;
    };
    let Ok(pred) = Predicate::parse(f) else {
        return false;
    };
    let ctx = MapContext::new()
        .with_params(&knobs::with_defaults(&p.params))
        .with_runtime(&p.runtime);
    pred.eval(&ctx).unwrap_or(false)
}

/// `params` with `k` present (at its default when absent), to compare a
/// twin that has no axis for `k` with an "after" point's params.
fn with_all(params: &Params, k: &Knob) -> Params {
    let mut p = params.clone();
    p.entry(k.key.to_string())
        .or_insert_with(|| k.default_value());
    p
}

fn point_ids(ps: &[&PointResult]) -> Vec<String> {
    let mut ids: Vec<String> = ps.iter().map(|p| p.point_id.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

fn go_cell(k: &Knob) -> Cell {
    match k.go {
        GoMirror::Godebug(s) | GoMirror::Call(s) => Cell::plain(s),
        GoMirror::ModelOnly => Cell {
            text: "model-only (no Go switch)".into(),
            class: "",
            detail: vec![format!("switches off {}", k.go_code)],
            href: None,
        },
    }
}

/// The metrics the knob's verdicts test, before → after; the outcomes too
/// when they differ.
fn moved(
    sc: &Scenario,
    specs: &[&VerdictSpec],
    before: &[&PointResult],
    after: &[&PointResult],
) -> Cell {
    let mut lines = Vec::new();
    for m in tested_metrics(sc, specs) {
        let a = range(&medians(after, &m));
        if a.is_empty() {
            continue;
        }
        let b = range(&medians(before, &m));
        let b = if b.is_empty() { "—".to_string() } else { b };
        lines.push(format!("{m}: {b} → {a}"));
    }
    let (ob, oa) = (outcomes(before), outcomes(after));
    if ob != oa {
        lines.push(format!("outcome: {ob} → {oa}"));
    }
    let mut lines = lines.into_iter();
    Cell {
        text: lines.next().unwrap_or_else(|| "—".into()),
        class: "",
        detail: lines.collect(),
        href: None,
    }
}

/// Metric names in the `expect` of `specs` (params and the context's own
/// names left out): each verdict's in name order, verdicts in the file's
/// order.
fn tested_metrics(sc: &Scenario, specs: &[&VerdictSpec]) -> Vec<String> {
    let params: Vec<&String> = sc.points.iter().flat_map(|p| p.params.keys()).collect();
    let mut out: Vec<String> = Vec::new();
    for v in specs {
        let Ok(p) = Predicate::parse(&v.expect) else {
            continue;
        };
        for n in p.names() {
            let n = n
                .strip_prefix("min.")
                .or_else(|| n.strip_prefix("max."))
                .unwrap_or(&n)
                .to_string();
            if n != "outcome" && n != "runtime" && !params.contains(&&n) && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Per point, the median of `metric` over its repeats that ran as designed
/// (ok, timeout, limit: as the runner's medians).
fn medians(ps: &[&PointResult], metric: &str) -> Vec<f64> {
    point_ids(ps)
        .iter()
        .filter_map(|id| {
            let v: Vec<f64> = ps
                .iter()
                .filter(|p| &p.point_id == id)
                .filter(|p| matches!(p.outcome, Outcome::Ok | Outcome::Timeout | Outcome::Limit))
                .filter_map(|p| p.metrics.get(metric).copied())
                .collect();
            median(&v)
        })
        .collect()
}

/// `3` or `3–9` (over points), empty when there is no value.
fn range(v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.is_empty() {
        String::new()
    } else if lo == hi {
        text::num(lo)
    } else {
        format!("{}–{}", text::num(lo), text::num(hi))
    }
}

/// The distinct outcomes of `ps`, joined: `ok`, `ok+timeout`.
fn outcomes(ps: &[&PointResult]) -> String {
    let mut o: Vec<&str> = ps.iter().map(|p| p.outcome.as_str()).collect();
    o.sort();
    o.dedup();
    if o.is_empty() {
        "—".into()
    } else {
        o.join("+")
    }
}

/// The statuses of `specs` on `rt`: `id: status (held/matched)`.
fn verdicts(sc: &Scenario, specs: &[&VerdictSpec], rt: &str) -> Cell {
    let mut lines = Vec::new();
    let mut worst = "";
    for spec in specs {
        if let Some(v) = sc
            .verdicts
            .iter()
            .find(|v| v.id == spec.id && v.runtime == rt)
        {
            lines.push(format!(
                "{}: {} ({}/{})",
                v.id,
                v.status.as_str(),
                v.points_held,
                v.points_matched
            ));
            worst = match (worst, v.status) {
                (_, VerdictStatus::NotReproduced | VerdictStatus::NotFixed) => "v-not-reproduced",
                ("", VerdictStatus::NoData) => "v-no-data",
                ("", _) => "v-reproduced",
                (w, _) => w,
            };
        }
    }
    let mut lines = lines.into_iter();
    Cell {
        text: lines.next().unwrap_or_else(|| "—".into()),
        class: worst,
        detail: lines.collect(),
        href: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schedlab_protocol::results::{RunMeta, RunStatus, VerdictRow};
    use std::collections::BTreeMap;

    fn point(
        rt: &str,
        id: &str,
        params: &[(&str, Value)],
        m: &[(&str, f64)],
        o: Outcome,
    ) -> PointResult {
        PointResult {
            scenario: "s".into(),
            point_id: id.into(),
            runtime: rt.into(),
            repeat: 1,
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            outcome: o,
            outcome_detail: if o == Outcome::Skipped {
                "gmp.handoff=off: a knob ... go has no switch for (model-only); not run".into()
            } else {
                String::new()
            },
            jsonl: String::new(),
            metrics: m.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn run() -> Run {
        let sweep = schedlab_protocol::sweep::Sweep::from_yaml(
            "scenario: s\nincident: i\nruntimes: [gmp, go]\nduration: 1s\ngrid:\n  k: [6]\n  gmp.handoff: ['on', 'off']\nverdicts:\n  - id: handoff_off_adds_no_threads\n    claim: c\n    where: \"gmp.handoff == 'off'\"\n    expect: \"threads <= 3 && retakes == 0\"\n    holds: reproduced\n",
            "sweep.yaml",
        )
        .unwrap();
        let s = |v: &str| Value::Str(v.into());
        let on = [("k", Value::Num(6.0)), ("gmp.handoff", s("on"))];
        let off = [("k", Value::Num(6.0)), ("gmp.handoff", s("off"))];
        let points = vec![
            point(
                "gmp",
                "k-6",
                &on,
                &[("threads", 9.0), ("retakes", 72.0)],
                Outcome::Ok,
            ),
            point(
                "gmp",
                "k-6_gmp.handoff-off",
                &off,
                &[("threads", 3.0), ("retakes", 0.0)],
                Outcome::Ok,
            ),
            point("go", "k-6", &on, &[("threads", 9.0)], Outcome::Ok),
            point("go", "k-6_gmp.handoff-off", &off, &[], Outcome::Skipped),
        ];
        Run {
            dir: Default::default(),
            meta: RunMeta {
                run_id: "r".into(),
                status: RunStatus::Complete,
                started_unix: 0.0,
                finished_unix: None,
                quick: true,
                host: BTreeMap::new(),
                sweeps: vec![sweep.clone()],
                skipped_runtimes: BTreeMap::new(),
                sampler_cpu_s: 0.0,
                sampler_cpu_frac: 0.0,
                ..Default::default()
            },
            scenarios: vec![Scenario {
                name: "s".into(),
                sweep: Some(sweep),
                points,
                verdicts: vec![VerdictRow {
                    scenario: "s".into(),
                    id: "handoff_off_adds_no_threads".into(),
                    claim: "c".into(),
                    runtime: "gmp".into(),
                    status: VerdictStatus::Reproduced,
                    points_matched: 1,
                    points_held: 1,
                    details: vec![],
                }],
                fidelity: vec![],
            }],
            warnings: vec![],
        }
    }

    #[test]
    fn a_knob_row_shows_before_after_and_its_verdict_and_go_skips() {
        let t = table(&run()).expect("a knob point: a section");
        assert_eq!(t.rows.len(), 2, "gmp and the skipped go column");
        let gmp: Vec<&str> = t.rows[0].iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            gmp,
            [
                "gmp.handoff=off",
                "model-only (no Go switch)",
                "s",
                "gmp",
                "1",
                "retakes: 72 → 0",
                "handoff_off_adds_no_threads: reproduced (1/1)"
            ]
        );
        assert_eq!(t.rows[0][5].detail, ["threads: 9 → 3"]);
        let go: Vec<&str> = t.rows[1].iter().map(|c| c.text.as_str()).collect();
        assert_eq!(go[3..6], ["go", "1 skipped", "not run"]);
        assert!(t.rows[1][5].detail[0].contains("model-only"));
    }

    #[test]
    fn no_knob_points_no_section() {
        let mut r = run();
        r.scenarios[0]
            .points
            .retain(|p| !p.point_id.contains("gmp."));
        assert!(table(&r).is_none());
    }
}
