//! The ffi_cap binary end to end on gmp and tokio, and its sweep.yaml.
//!
//! No timed assertions. Thread counts are asserted only where the
//! mechanism fixes them, with the margin explained at each:
//! * gmp `ffi`, n=5, procs=1: every C loop runs for the whole load on an M
//!   of its own (sysmon retakes each P within 20 us - 10 ms; the load is
//!   600 ms), so the process has at least n + 1 threads at some point
//!   (the verdict asks R-threads >= n + 1; threads are the robust part);
//! * gmp `locked_exit`: a goroutine that returns locked takes its M with
//!   it; all but possibly one (m0 is wedged, not exited, if a goroutine
//!   locked it) of n = 3 threads go (`threads_gone`: thread ids, not the
//!   count, which a replacement M can keep up);
//! * tokio `spawn_blocking`, n = 3, one worker: 3 pool threads spin for
//!   the whole load beside main and the worker: >= n + 2 threads.

use scenario_kit::testing::{self, MetricsTo, phases, summary};
use schedlab_protocol::metrics::{Line, Value};
use schedlab_protocol::sweep::Sweep;
use std::collections::BTreeMap;

const BIN: &str = env!("CARGO_BIN_EXE_ffi_cap");

/// Runs the binary with metrics on fd 2; returns the lines and the most
/// threads seen in /proc while it ran (polled every 2 ms).
fn run(runtime: &str, sets: &[&str]) -> (Vec<Line>, u64) {
    let run = testing::run(
        BIN,
        &testing::args(runtime, "600ms", sets),
        MetricsTo::Stderr,
    );
    run.assert_success(&format!("{runtime} {sets:?}"));
    (run.lines, run.threads_peak)
}

#[test]
fn gmp_ffi_loops_each_get_a_thread() {
    let (lines, peak) = run("gmp", &["mode=ffi", "n=5", "procs=1"]);
    match lines.first() {
        Some(Line::Hello {
            scenario, params, ..
        }) => {
            assert_eq!(scenario, "ffi_cap");
            assert_eq!(params.get("n"), Some(&Value::Num(5.0)));
            assert_eq!(params.get("mode"), Some(&Value::Str("ffi".into())));
        }
        other => panic!("first line is not hello: {other:?}"),
    }
    assert_eq!(phases(&lines), ["load_start", "load_stop"]);
    let m = summary(&lines);
    assert!(peak >= 6, "5 C loops + main's M, saw {peak} threads: {m:?}");
    assert!(m["c_loop_iters"] > 0.0 && m["main_iters"] > 0.0, "{m:?}");
    assert!(m["threads_created"] >= 6.0, "{m:?}");
    assert_eq!(m["loop_ms"], 600.0);
}

#[test]
fn gmp_locked_exit_terminates_the_threads() {
    let (lines, _) = run("gmp", &["mode=locked_exit", "n=3", "procs=2"]);
    assert_eq!(phases(&lines), ["load_start", "load_stop", "exit_settled"]);
    let m = summary(&lines);
    // n - 1: a loop may have locked the main thread, which is wedged, not
    // exited; the count itself may drop by less (replacement Ms)
    assert!(m["threads_gone"] >= 2.0, "{m:?}");
    assert!(m["go_loop_iters"] > 0.0, "{m:?}");
}

#[test]
fn tokio_spawn_blocking_loops_run_beside_the_worker() {
    let (lines, peak) = run("tokio", &["mode=spawn_blocking", "n=3", "procs=1"]);
    let m = summary(&lines);
    assert!(
        peak >= 5,
        "main + worker + 3 pool threads, saw {peak}: {m:?}"
    );
    assert!(m["c_loop_iters"] > 0.0, "{m:?}");
}

#[test]
fn user_mistakes_exit_2_with_a_message() {
    for (args, want) in [
        (
            &["--runtime", "tokio", "--set", "mode=ffi"][..],
            "not a tokio mode",
        ),
        (
            &["--runtime", "gmp", "--set", "mode=direct"],
            "gmp has mode=ffi",
        ),
        (&["--runtime", "gmp", "--set", "n=0"], "out of range"),
        (&["--runtime", "gmp", "--set", "m=1"], "valid keys"),
    ] {
        testing::assert_usage_error(BIN, args, want);
    }
    let text = testing::help_text(BIN);
    assert!(
        text.contains("locked_exit") && text.contains("procs"),
        "{text}"
    );
}

fn judge(
    sweep: &Sweep,
    runtime: &str,
    mode: &str,
    n: f64,
    procs: f64,
    metrics: &[(&str, f64)],
) -> BTreeMap<String, bool> {
    let params = testing::params(&[
        ("mode", Value::Str(mode.into())),
        ("n", Value::Num(n)),
        ("procs", Value::Num(procs)),
    ]);
    let metrics = testing::metrics(metrics);
    let ctx = testing::point_context(runtime, &params, &metrics);
    testing::judge(sweep, &ctx).into_iter().collect()
}

/// The verdicts hold for figures measured on the lab machine and fail for
/// the figures the opposite mechanism would give.
#[test]
fn sweep_verdicts_judge_measured_figures() {
    let sweep = testing::load_sweep(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(sweep.scenario, "ffi_cap");
    let ffi = [("r_threads_max", 6.0), ("threads_peak", 8.0)];
    let v = judge(&sweep, "go", "ffi", 5.0, 1.0, &ffi);
    assert!(
        v["ffi_loops_exceed_the_cap"] && v["locked_loops_still_add_threads"],
        "{v:?}"
    );
    let capped = [
        ("r_threads_max", 2.0),
        ("r_threads_median", 1.0),
        ("threads_peak", 8.0),
    ];
    let v = judge(&sweep, "gmp", "ffi", 5.0, 1.0, &capped);
    assert!(!v["ffi_loops_exceed_the_cap"], "{v:?}");
    let v = judge(&sweep, "gmp", "locked", 5.0, 1.0, &capped);
    assert!(v["locked_loops_respect_the_cap"], "{v:?}");
    let uncapped = [
        ("r_threads_max", 6.0),
        ("r_threads_median", 5.0),
        ("threads_peak", 8.0),
    ];
    let v = judge(&sweep, "gmp", "locked", 5.0, 1.0, &uncapped);
    assert!(!v["locked_loops_respect_the_cap"], "{v:?}");
    let exit = [
        ("threads_gone", 4.0),
        ("threads_before_exit", 9.0),
        ("threads_after_exit", 6.0),
    ];
    let v = judge(&sweep, "gmp", "locked_exit", 5.0, 1.0, &exit);
    assert!(
        v["locked_exit_terminates_threads"] && v["locked_exit_threads_gone"],
        "{v:?}"
    );
    let stuck = [
        ("threads_gone", 0.0),
        ("threads_before_exit", 9.0),
        ("threads_after_exit", 9.0),
    ];
    let v = judge(&sweep, "gmp", "locked_exit", 5.0, 1.0, &stuck);
    assert!(
        !v["locked_exit_terminates_threads"] && !v["locked_exit_threads_gone"],
        "{v:?}"
    );
    let raw = [
        ("probe_p99_us", 1_000_000.0),
        ("main_max_gap_ms", 1000.0),
        ("loop_ms", 1000.0),
    ];
    assert!(judge(&sweep, "gmp", "raw_ffi", 1.0, 1.0, &raw)["raw_ffi_holds_the_p"]);
    let starved = [("probe_p99_us", 990_000.0), ("loop_ms", 1000.0)];
    assert!(judge(&sweep, "tokio", "direct", 2.0, 1.0, &starved)["tokio_direct_starves"]);
    let fine = [("probe_p99_us", 2_000.0), ("loop_ms", 1000.0)];
    assert!(!judge(&sweep, "tokio", "direct", 2.0, 1.0, &fine)["tokio_direct_starves"]);
}

#[test]
fn sweep_expands_for_every_runtime() {
    let mut sweep = testing::load_sweep(env!("CARGO_MANIFEST_DIR"));
    let rts = ["gmp".to_string(), "go".to_string(), "tokio".to_string()];
    let full = sweep.expand(&rts).expect("expands");
    let count = |rt: &str| full.iter().filter(|p| p.runtime == rt).count();
    // + sysmon off at ffi, n 2, procs 1 and 2 on gmp and go (go skips them)
    assert_eq!((count("gmp"), count("go"), count("tokio")), (26, 20, 18));
    sweep.apply_quick();
    assert_eq!(sweep.expand(&rts).expect("expands").len(), 40 + 4);
}
