//! A sweep plot whose x is a metric (measured, not chosen by the sweep):
//! sender_leak's "RSS against leaked senders" puts x = leaked_senders, with
//! values like 9,000, 9,994, 9,995 and 999,995, and asks for `log_x`.
//!
//! The bug this guards: the x ticks were put on those measured values (as
//! for a sweep axis with few values), so the three close ones printed on
//! top of each other and the axis showed no decades, which made the log x
//! look as if it did not apply. The axis must be log and keep its own
//! decade ticks; an axis param keeps ticks on its values.

use plotters::coord::ranged1d::Ranged;
use schedlab_protocol::metrics::{Outcome, Params, Value};
use schedlab_protocol::results::PointResult;
use schedlab_protocol::sweep::{OneOrMany, PlotKind, PlotSpec};
use schedlab_report::load::Scenario;
use schedlab_report::plot::sweep::build;
use schedlab_report::plot::{AnyFigure, Scale};
use std::collections::BTreeMap;

fn row(runtime: &str, cap: f64, leaked: f64, rss: f64) -> PointResult {
    PointResult {
        scenario: "sender_leak".into(),
        point_id: format!("cap-{cap}_leaked-{leaked}"),
        runtime: runtime.into(),
        repeat: 0,
        params: Params::from([("cap".to_string(), Value::Num(cap))]),
        outcome: Outcome::Ok,
        outcome_detail: String::new(),
        jsonl: String::new(),
        metrics: BTreeMap::from([
            ("leaked_senders".to_string(), leaked),
            ("rss_end_bytes_self".to_string(), rss),
        ]),
    }
}

/// The figures of /tmp/scen5/sl-full (a stored run of sender_leak).
fn scenario() -> Scenario {
    let points = vec![
        row("gmp", 5.0, 9994.0, 46.5e6),
        row("gmp", 1000.0, 9000.0, 42.2e6),
        row("gmp", 6.0, 999_995.0, 4.27e9),
        row("tokio", 5.0, 9994.0, 9.6e6),
        row("tokio", 1000.0, 9000.0, 9.2e6),
        row("tokio", 6.0, 999_995.0, 579e6),
        row("threads", 5.0, 9995.0, 103e6),
        row("threads", 1000.0, 9000.0, 93e6),
    ];
    Scenario {
        name: "sender_leak".into(),
        sweep: None,
        points,
        verdicts: Vec::new(),
        fidelity: Vec::new(),
    }
}

fn spec(x: &str, log_x: bool) -> PlotSpec {
    PlotSpec {
        kind: PlotKind::Sweep,
        title: "RSS against leaked senders".into(),
        caption: None,
        x: Some(x.into()),
        y: OneOrMany::One("rss_end_bytes_self".into()),
        series: vec!["runtime".into()],
        filter: None,
        log_x,
        log_y: true,
        x_label: None,
        y_label: None,
    }
}

fn x_axis(spec: &PlotSpec) -> Scale {
    match build(spec, &scenario()) {
        AnyFigure::Sweep(f) => f.x,
        _ => panic!("no sweep figure"),
    }
}

#[test]
fn log_x_on_a_metric_keeps_decade_ticks() {
    let x = x_axis(&spec("leaked_senders", true));
    assert!(matches!(x, Scale::Log { .. }), "x is not a log axis: {x:?}");
    let ticks = x.key_points(10usize);
    for decade in [1e4, 1e5, 1e6] {
        assert!(ticks.contains(&decade), "no tick at {decade}: {ticks:?}");
    }
    for measured in [9994.0, 9995.0, 999_995.0] {
        assert!(
            !ticks.contains(&measured),
            "tick on a measured value {measured}: {ticks:?}"
        );
    }
    // log placement: 100k sits half way between 10k and 1M
    let px = |v: f64| x.map(&v, (0, 1000));
    let mid = (px(1e4) + px(1e6)) / 2;
    assert!((px(1e5) - mid).abs() <= 2, "100k at {} not {mid}", px(1e5));
}

#[test]
fn a_few_values_of_an_axis_param_keep_ticks_on_them() {
    let x = x_axis(&spec("cap", true));
    assert!(
        matches!(&x, Scale::Fixed { inner, .. } if matches!(**inner, Scale::Log { .. })),
        "{x:?}"
    );
    assert_eq!(x.key_points(10usize), [5.0, 6.0, 1000.0]);
}
