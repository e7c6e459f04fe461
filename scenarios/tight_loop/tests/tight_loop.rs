//! The tight_loop binary end to end on gmp and tokio, and its sweep.yaml.
//!
//! The assertions are about order, not time: with asynchronous preemption
//! off, gc() can only return after the loop ended (`gc_after_loop` 1); on,
//! the loop is stopped by the stop-the-world's signal and gc() returns
//! while it still runs (0). The loops last 400 ms, so "on" has 350 ms of
//! margin for one signal.

use scenario_kit::testing::{self, MetricsTo};
use schedlab_protocol::metrics::Value;
use std::collections::BTreeMap;

const BIN: &str = env!("CARGO_BIN_EXE_tight_loop");

fn run(runtime: &str, sets: &[&str]) -> testing::Run {
    let run = testing::run(
        BIN,
        &testing::args(runtime, "400ms", sets),
        MetricsTo::Stderr,
    );
    run.assert_success(&format!("{runtime} {sets:?}"));
    assert_eq!(run.phases(), ["load_start", "load_stop"]);
    run
}

#[test]
fn gmp_gc_waits_for_a_tight_loop_only_with_asyncpreempt_off() {
    let off = run("gmp", &["gmp.asyncpreempt=off"]);
    let m = off.summary();
    assert_eq!(m["gc_after_loop"], 1.0, "{m:?}");
    assert!(m["gc_ms"] > 0.0 && m["loop_ms"] > 0.0, "{m:?}");
    let on = run("gmp", &["gmp.asyncpreempt=on"]);
    let m = on.summary();
    assert_eq!(m["gc_after_loop"], 0.0, "{m:?}");
    assert_eq!(
        testing::hello_params(&on.lines).get("gmp.asyncpreempt"),
        Some(&Value::Str("on".into()))
    );
}

#[test]
fn tokio_runs_the_loops_and_reports_the_same_names() {
    let r = run("tokio", &["loopers=1"]);
    let m = r.summary();
    for k in ["loop_ms", "loop_end_ms", "main_late_ms", "iters_per_ms"] {
        assert!(m.get(k).is_some_and(|v| *v > 0.0), "{k}: {m:?}");
    }
    assert!(!m.contains_key("gc_ms"), "tokio has no gc: {m:?}");
}

/// The verdicts on figures measured on the lab machine (quick profile).
#[test]
fn sweep_verdicts_judge_measured_figures() {
    let sweep = testing::load_sweep(env!("CARGO_MANIFEST_DIR"));
    let judge = |rt: &str, loopers: f64, knob: &str, m: &[(&str, f64)]| {
        let params: BTreeMap<String, Value> = testing::params(&[
            ("procs", Value::Num(2.0)),
            ("loopers", Value::Num(loopers)),
            ("gmp.asyncpreempt", Value::Str(knob.into())),
        ]);
        let ctx = testing::point_context(rt, &params, &testing::metrics(m));
        testing::judge(&sweep, &ctx)
    };
    // go, off, one looper: gc waited 533 of 583 ms, the probe as long.
    let off = [
        ("gc_after_loop", 1.0),
        ("gc_wait_frac", 0.91),
        ("gc_ms", 533.0),
        ("loop_ms", 583.0),
        ("main_late_ms", 0.5),
        ("probe_max_us", 532534.0),
    ];
    assert_eq!(
        judge("go", 1.0, "off", &off),
        [("gc_waits_for_the_tight_loop".to_string(), true)]
    );
    // the same figures under "on" break that claim's fix
    assert_eq!(
        judge("gmp", 1.0, "on", &off),
        [("async_preemption_stops_the_loop".to_string(), false)]
    );
    // gmp, on, one looper: gc in 0.2 ms, probe gap 10 ms of a 444 ms loop
    let on = [
        ("gc_after_loop", 0.0),
        ("gc_wait_frac", 0.0005),
        ("loop_ms", 444.0),
        ("main_late_ms", 0.3),
        ("probe_max_us", 9960.0),
    ];
    assert_eq!(
        judge("gmp", 1.0, "on", &on),
        [("async_preemption_stops_the_loop".to_string(), true)]
    );
    // tokio, two loopers on two workers: the probe starved 597 ms
    let tokio = [("loop_ms", 646.0), ("probe_max_us", 597356.0)];
    assert_eq!(
        judge("tokio", 2.0, "on", &tokio),
        [("tokio_never_preempts".to_string(), true)]
    );
}
