//! Odd data must not panic the report: zero/negative/infinite values on
//! log axes, a single point, empty and garbage traces, an unknown plot
//! metric, a timeseries `where` naming an unknown param.

mod common;

use common::TempDir;
use schedlab_protocol::metrics::{Outcome, Params, Value};
use schedlab_protocol::results::{PointResult, RunMeta, RunStatus};
use schedlab_protocol::sweep::{OneOrMany, PlotKind, PlotSpec, Sweep};
use std::collections::BTreeMap;

fn spec(kind: PlotKind, y: &str, filter: Option<&str>) -> PlotSpec {
    PlotSpec {
        kind,
        title: format!("{y} odd"),
        caption: None,
        x: Some("procs".into()),
        y: OneOrMany::One(y.into()),
        series: vec!["runtime".into()],
        filter: filter.map(String::from),
        log_x: true,
        log_y: true,
        x_label: None,
        y_label: None,
    }
}

fn row(rep: u32, procs: f64, y: f64, jsonl: &str) -> PointResult {
    PointResult {
        scenario: "odd".into(),
        point_id: format!("procs-{procs}"),
        runtime: "gmp".into(),
        repeat: rep,
        params: Params::from([("procs".to_string(), Value::Num(procs))]),
        outcome: Outcome::Ok,
        outcome_detail: String::new(),
        jsonl: jsonl.into(),
        metrics: BTreeMap::from([("y".to_string(), y)]),
    }
}

#[test]
fn odd_values_render_without_panic() {
    let dir = TempDir::new("oddvals");
    let plots = vec![
        spec(PlotKind::Sweep, "y", None),
        spec(PlotKind::Sweep, "absent_metric", None),
        spec(PlotKind::Cdf, "y", None),
        spec(PlotKind::Timeseries, "threads", None),
        spec(PlotKind::Timeseries, "threads", Some("nosuch == 1")),
    ];
    let sweep = Sweep {
        scenario: "odd".into(),
        incident: "odd".into(),
        runtimes: vec!["gmp".into()],
        duration: "1s".into(),
        grace: None,
        repeats: 1,
        sample_ms: None,
        grid: vec![(
            "procs".into(),
            vec![Value::Num(0.0), Value::Num(-1.0), Value::Num(8.0)],
        )],
        per_runtime: Vec::new(),
        skip: Vec::new(),
        default: None,
        quick: None,
        plots,
        verdicts: Vec::new(),
        fidelity: Vec::new(),
        notes: BTreeMap::new(),
        go_schedtrace: true,
    };
    let meta = RunMeta {
        run_id: "odd".into(),
        status: RunStatus::Complete,
        started_unix: f64::MAX,
        finished_unix: None,
        quick: false,
        host: BTreeMap::new(),
        sweeps: vec![sweep],
        skipped_runtimes: BTreeMap::new(),
        sampler_cpu_s: 0.0,
        sampler_cpu_frac: 0.0,
        ..Default::default()
    };
    std::fs::write(
        dir.0.join("run.json"),
        serde_json::to_vec(&meta).expect("json"),
    )
    .expect("write");
    let sdir = dir.0.join("odd");
    std::fs::create_dir_all(&sdir).expect("mkdir");
    let rows = vec![
        row(0, 0.0, 0.0, "empty.jsonl"),
        row(0, -1.0, -5.0, "garbage.jsonl"),
        row(0, 8.0, f64::INFINITY, "../../etc/passwd"),
        row(1, 8.0, 1e-300, "missing.jsonl"),
    ];
    std::fs::write(
        sdir.join("points.json"),
        serde_json::to_vec(&rows).expect("json"),
    )
    .expect("write");
    std::fs::write(sdir.join("empty.jsonl"), "").expect("write");
    std::fs::write(
        sdir.join("garbage.jsonl"),
        "not json\n{\"type\":\"proc\"}\n\u{0}\u{1}",
    )
    .expect("write");

    let r = schedlab_report::render(&dir.0).expect("odd data renders");
    assert_eq!(
        r.plots.len(),
        10,
        "every plot gets a PNG and an SVG, drawn or 'no data'"
    );
    let html = std::fs::read_to_string(&r.html).expect("html");
    assert!(
        html.contains("bad trace file name"),
        "a .jsonl path leaving the run dir is refused"
    );
    assert!(
        html.contains("unknown name `nosuch`"),
        "a where naming an unknown param is explained"
    );
    assert!(html.contains("no data"), "empty traces give a no-data card");
}
