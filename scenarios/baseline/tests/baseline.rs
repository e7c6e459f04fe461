//! The baseline binary end to end (tokio column; gmp is feature-gated and
//! go lives in reference/go), and its sweep.yaml against the figures the
//! lab measured.
//!
//! No timing assertions: the tests synchronise on the metrics lines the
//! binary writes (`load_start` means the runtime is up and idling), and the
//! thread count asserted is tokio's structural floor (main + workers), which
//! does not depend on load or machine speed.

use schedlab_protocol::metrics::{Line, Value};
use schedlab_protocol::predicate::{MapContext, Predicate};
use schedlab_protocol::sweep::Sweep;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_baseline");

fn threads_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Runs `baseline --runtime <runtime>` with the metrics on fd 2 (stderr, which
/// every child has open: the SCHEDLAB_METRICS_FD path without a pipe
/// helper) and returns the lines and the thread count seen while idle.
fn run_column(runtime: &str, procs: u32) -> (Vec<Line>, u64, String) {
    let mut child = Command::new(BIN)
        .args([
            "--runtime",
            runtime,
            "--duration",
            "1500ms",
            "--sample-ms",
            "50",
            "--set",
        ])
        .arg(format!("procs={procs}"))
        .env("SCHEDLAB_METRICS_FD", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baseline");
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    let mut threads = None;
    let mut buf = String::new();
    while reader.read_line(&mut buf).unwrap() > 0 {
        let line: Line =
            serde_json::from_str(buf.trim_end()).unwrap_or_else(|e| panic!("{buf:?}: {e}"));
        if matches!(&line, Line::Phase { name, .. } if name == "load_start") {
            threads = threads_of(child.id());
        }
        lines.push(line);
        buf.clear();
    }
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(child.wait().unwrap().success());
    (
        lines,
        threads.expect("saw load_start while the process was alive"),
        stdout,
    )
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
    let phases: Vec<&str> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Phase { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(phases, ["load_start", "load_stop"]);
    match lines.last() {
        Some(Line::Summary { metrics, .. }) => {
            assert!(
                metrics["probe_n"] >= 1.0,
                "the probe woke at least once: {metrics:?}"
            );
            assert!(metrics["probe_p50_us"] <= metrics["probe_p99_us"]);
            assert!(metrics["probe_p99_us"] <= metrics["probe_max_us"]);
        }
        other => panic!("last line is not summary: {other:?}"),
    }
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

/// gmp, when scenario-kit is built with it: the protocol, and a thread
/// floor in Go's range (main M + sysmon + start-up Ms: procs + 2, at most
/// one more), which is what the sweep's verdicts ask of it.
#[test]
fn gmp_column_when_built_idles_like_go() {
    if !scenario_kit::GMP_BUILT {
        return;
    }
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
        let out = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn gmp_without_the_feature_says_so_and_exits_2() {
    let out = Command::new(BIN)
        .args(["--runtime", "gmp"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if scenario_kit::GMP_BUILT {
        return; // built with gmp: the column runs (covered by the runner's quick run)
    }
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("gmp column is not built yet"), "{err}");
}

#[test]
fn help_exits_0_and_lists_procs() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("procs") && text.contains("--runtime"),
        "{text}"
    );
}

/// The verdict predicates hold for what the lab measured on its 2-core
/// machine and fail for a floor that would be wrong.
#[test]
fn sweep_verdicts_match_the_measured_floors() {
    let sweep = Sweep::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sweep.yaml"))
        .expect("sweep.yaml loads");
    assert_eq!(sweep.scenario, "baseline");
    let judge = |runtime: &str, procs: f64, threads: f64| -> Vec<bool> {
        let params = BTreeMap::from([("procs".to_string(), Value::Num(procs))]);
        let metrics = BTreeMap::from([("threads_median".to_string(), threads)]);
        let ctx = MapContext::new()
            .with_params(&params)
            .with_runtime(runtime)
            .with_metrics(&metrics);
        sweep
            .verdicts
            .iter()
            .filter(|v| {
                v.filter
                    .as_deref()
                    .is_none_or(|w| Predicate::parse(w).unwrap().eval(&ctx).unwrap())
            })
            .map(|v| Predicate::parse(&v.expect).unwrap().eval(&ctx).unwrap())
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
