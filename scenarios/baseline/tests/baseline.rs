//! The baseline binary end to end (tokio column; gmp is feature-gated and
//! go lives in reference/go), and its sweep.yaml against the figures the
//! lab measured.
//!
//! No timing assertions: the tests synchronise on the metrics lines the
//! binary writes (`load_start` means the runtime is up and idling), and the
//! thread count asserted is tokio's structural floor (main + workers), which
//! does not depend on load or machine speed.

use scenario_kit::testing::{self, MetricsTo};
use schedlab_protocol::metrics::{Line, Value};
use std::collections::BTreeMap;

const BIN: &str = env!("CARGO_BIN_EXE_baseline");

/// Runs `baseline --runtime <runtime>` with the metrics on fd 2 and returns
/// the lines, the thread count seen when `load_start` arrived (idle), and
/// stdout.
fn run_column(runtime: &str, procs: u32) -> (Vec<Line>, u64, String) {
    let procs = format!("procs={procs}");
    let mut args = testing::args(runtime, "1500ms", &[&procs]);
    args.extend(["--sample-ms".into(), "50".into()]);
    let run = testing::run(BIN, &args, MetricsTo::Stderr);
    assert!(run.status.success());
    let threads = *run
        .threads_at_phase
        .get("load_start")
        .expect("saw load_start while the process was alive");
    (run.lines, threads, run.other)
}

/// Checks the protocol shape of one run; returns the sample counters.
fn check_protocol(
    runtime: &str,
    procs: u32,
    lines: &[Line],
    stdout: &str,
) -> Vec<BTreeMap<String, f64>> {
    assert!(
        stdout.is_empty(),
        "metrics went to the fd, not stdout: {stdout:?}"
    );
    match lines.first() {
        Some(Line::Hello {
            scenario,
            runtime: r,
            params,
            ..
        }) => {
            assert_eq!((scenario.as_str(), r.as_str()), ("baseline", runtime));
            assert_eq!(params.get("procs"), Some(&Value::Num(procs as f64)));
        }
        other => panic!("first line is not hello: {other:?}"),
    }
    assert_eq!(testing::phases(lines), ["load_start", "load_stop"]);
    let metrics = testing::summary(lines);
    assert!(
        metrics["probe_n"] >= 1.0,
        "the probe woke at least once: {metrics:?}"
    );
    assert!(metrics["probe_p50_us"] <= metrics["probe_p99_us"]);
    assert!(metrics["probe_p99_us"] <= metrics["probe_max_us"]);
    let samples: Vec<BTreeMap<String, f64>> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Sample { counters, .. } => Some(counters.clone()),
            _ => None,
        })
        .collect();
    assert!(!samples.is_empty(), "at least one sample line");
    samples
}

/// gmp: the protocol, and a thread floor in Go's range (main M + sysmon +
/// start-up Ms: procs + 2, at most one more), which is what the sweep's
/// verdicts ask of it.
#[test]
fn gmp_column_idles_like_go() {
    for procs in [1, 2] {
        let (lines, threads, stdout) = run_column("gmp", procs);
        let samples = check_protocol("gmp", procs, &lines, &stdout);
        assert!(
            samples.iter().all(|c| c.contains_key("goroutines")),
            "{samples:?}"
        );
        let floor = u64::from(procs) + 2;
        assert!(
            (floor..=floor + 1).contains(&threads),
            "gmp thread floor at procs={procs}: {threads}"
        );
    }
}

#[test]
fn tokio_column_speaks_the_protocol_and_idles_at_workers_plus_main() {
    for procs in [1, 2] {
        let (lines, threads, stdout) = run_column("tokio", procs);
        let samples = check_protocol("tokio", procs, &lines, &stdout);
        assert!(
            samples
                .iter()
                .all(|c| c.get("workers") == Some(&(procs as f64))),
            "{samples:?}"
        );
        // main (in block_on) + `procs` workers: tokio starts no other
        // thread for an idle program (timer and I/O drivers run on a
        // parked worker; the blocking pool starts empty).
        assert_eq!(
            threads,
            u64::from(procs) + 1,
            "tokio thread floor at procs={procs}"
        );
    }
}

#[test]
fn user_mistakes_exit_2_with_a_message() {
    for (args, want) in [
        (
            &["--runtime", "tokio", "--set", "prcs=1"][..],
            "valid keys: procs",
        ),
        (&["--runtime", "tokio", "--set", "procs=0"], "out of range"),
        (&["--runtime", "erlang"], "unknown runtime"),
        (&["--runtime", "go"], "reference/go/baseline"),
        (&["--runtime", "tokio", "--duration", "5"], "missing unit"),
    ] {
        testing::assert_usage_error(BIN, args, want);
    }
}

#[test]
fn help_exits_0_and_lists_procs() {
    let text = testing::help_text(BIN);
    assert!(
        text.contains("procs") && text.contains("--runtime"),
        "{text}"
    );
}

/// The verdict predicates hold for what the lab measured on its 2-core
/// machine and fail for a floor that would be wrong.
#[test]
fn sweep_verdicts_match_the_measured_floors() {
    let sweep = testing::load_sweep(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(sweep.scenario, "baseline");
    let judge = |runtime: &str, procs: f64, threads: f64| -> Vec<bool> {
        let params = testing::params(&[("procs", Value::Num(procs))]);
        let metrics = testing::metrics(&[("threads_median", threads)]);
        let ctx = testing::point_context(runtime, &params, &metrics);
        testing::judge(&sweep, &ctx)
            .into_iter()
            .map(|(_, holds)| holds)
            .collect()
    };
    // measured: go 3 @1, 4 @2; tokio 2 @1, 3 @2
    assert_eq!(judge("go", 1.0, 3.0), [true]);
    assert_eq!(judge("go", 1.0, 4.0), [true]);
    assert_eq!(judge("go", 2.0, 4.0), [true]);
    assert_eq!(judge("go", 1.0, 2.0), [false]);
    assert_eq!(judge("go", 2.0, 7.0), [false]);
    assert_eq!(judge("gmp", 1.0, 3.0), [true]);
    assert_eq!(judge("gmp", 2.0, 3.0), [false]);
    assert_eq!(judge("tokio", 1.0, 2.0), [true]);
    assert_eq!(judge("tokio", 2.0, 3.0), [true]);
    assert_eq!(judge("tokio", 2.0, 4.0), [false]);
}

/// A scheduler knob reaches the gmp runtime the binary builds (through
/// GMP_DEBUG and a re-exec, scenario-kit knobs.rs): a 3-thread limit at
/// procs 4 is exceeded by the start-up alone (m0, sysmon and the Ms that
/// run the runtime's first goroutines), so the run dies as Go does, and
/// hello carries the knob.
#[test]
fn a_knob_reaches_the_gmp_runtime() {
    let args = testing::args("gmp", "500ms", &["procs=4", "gmp.max_threads=3"]);
    let run = testing::run(BIN, &args, MetricsTo::Stdout);
    assert_eq!(run.status.code(), Some(2), "{}", run.other);
    assert!(
        run.other.contains("exceeds 3-thread limit"),
        "{}",
        run.other
    );
    let p = testing::hello_params(&run.lines);
    assert_eq!(p.get("gmp.max_threads"), Some(&Value::Num(3.0)));
}

/// A knob the column has no switch for: hello, an event of kind `skip`
/// saying why, exit 4, no summary; knobs left at their default are not in
/// hello.
#[test]
fn tokio_skips_a_gmp_knob_and_says_why() {
    let args = testing::args("tokio", "500ms", &["gmp.asyncpreempt=off"]);
    let run = testing::run(BIN, &args, MetricsTo::Stdout);
    assert_eq!(run.status.code(), Some(4), "{}", run.other);
    let why = testing::event(&run.lines, "skip").expect("a skip event");
    assert!(why.starts_with("gmp.asyncpreempt=off: a knob"), "{why}");
    assert!(!run.lines.iter().any(|l| matches!(l, Line::Summary { .. })));
    let p = testing::hello_params(&run.lines);
    assert!(
        p.contains_key("gmp.asyncpreempt") && !p.contains_key("gmp.netpoll"),
        "{p:?}"
    );
}
