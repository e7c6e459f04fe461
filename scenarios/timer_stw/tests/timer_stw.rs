//! The timer_stw binary end to end (the quick profile's assertions: the
//! go1.14.1 ordering hangs and is diagnosed, go1.19 does not) and its
//! sweep.yaml against the metrics the binary writes.
//! (`load_s < 10` for a 5 s run is a bound on the exit, not a timing
//! measurement: a wedged run that did not end by itself would run for ever.)
//!
//! No timing assertions: a hung run must end by itself at its duration
//! (the runs are bounded by a kill after 60 s, a hang guard), and the
//! checks are on the metrics and events it wrote.

use scenario_kit::testing;
use schedlab_protocol::metrics::{Line, Value};
use schedlab_protocol::sweep::Sweep;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_timer_stw");

/// Runs the binary; returns its exit code and metrics lines (stdout).
fn run(args: &[&str]) -> (i32, Vec<Line>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn timer_stw");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let give_up = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > give_up {
            let _ = child.kill();
            panic!("timer_stw did not exit by itself within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = t_out.join().unwrap();
    let stderr = t_err.join().unwrap();
    let lines = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    (status.code().unwrap_or(-1), lines, stderr)
}

fn summary(lines: &[Line]) -> BTreeMap<String, f64> {
    match lines.last() {
        Some(Line::Summary { metrics, .. }) => metrics.clone(),
        other => panic!("last line is not a summary: {other:?}"),
    }
}

fn events<'a>(lines: &'a [Line], kind: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| match l {
            Line::Event { kind: k, text, .. } if k == kind => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn gmp_point(timers: &str, procs: u32, dur: &str) -> (Vec<Line>, BTreeMap<String, f64>) {
    let (code, lines, stderr) = run(&[
        "--runtime",
        "gmp",
        "--duration",
        dur,
        "--set",
        &format!("timers={timers}"),
        "--set",
        &format!("procs={procs}"),
        "--set",
        "timer_goroutines=8",
    ]);
    assert_eq!(code, 0, "exit code; stderr:\n{stderr}");
    let m = summary(&lines);
    (lines, m)
}

/// The hang is a race (seed 004: "not at once, but certain as the run
/// time grows"). The points here run 8 timer goroutines (the seed has 2):
/// more trips through mod_timer's window, and every run at procs 2 hung
/// within 0.6 s (6 of 6). Up to 8 runs of 5 s, stopping at the first that
/// hangs, so a miss is a regression, not bad luck. A hung run ends 2 s
/// after its diagnosis, within its duration.
#[test]
fn go1_14_1_hangs_is_diagnosed_and_exits_at_its_duration() {
    let mut tries = Vec::new();
    let (lines, m) = loop {
        let (lines, m) = gmp_point("go1.14.1", 2, "5s");
        assert!(
            m["load_s"] < 10.0,
            "the run did not end at its duration: {m:?}"
        );
        if m["hung"] == 1.0 {
            break (lines, m);
        }
        assert!(
            events(&lines, "diagnosis").is_empty(),
            "a diagnosis without a hang"
        );
        tries.push(m["gc_cycles"]);
        assert!(
            tries.len() < 8,
            "no hang in 8 runs of 5 s (gc cycles {tries:?})"
        );
    };
    assert_eq!(m["hung"], 1.0, "{m:?}");
    assert_eq!(m["diagnosed"], 1.0, "{m:?}");
    assert!(
        m["time_to_hang_s"] >= 0.0 && m["time_to_hang_s"] <= m["load_s"],
        "{m:?}"
    );
    let diag = events(&lines, "diagnosis");
    assert_eq!(diag.len(), 1, "one report per hang: {diag:?}");
    // The watchdog reports the spin one of two ways: a stop-the-world that
    // does not complete (the seed's hang) or, when no stop is pending at
    // that moment, an M spinning on the same Modifying timer (a livelock;
    // the world would wedge at the next gc()). Both name the spin, the
    // timer and the preempted G; only the first names the P not stopped.
    let mut wants = vec![
        "spinning in",
        "is Modifying",
        "was set Modifying by G",
        "preempted in mod_timer -> ",
    ];
    if !diag[0].contains("livelock: M") {
        wants.extend(["NOT stopped", "has no current G"]);
    }
    for want in wants {
        assert!(
            diag[0].contains(want),
            "diagnosis lacks {want:?}:\n{}",
            diag[0]
        );
    }
    let mc = events(&lines, "model_check");
    assert_eq!(mc.len(), 1);
    assert!(
        mc[0].contains("LIVELOCK") && mc[0].contains("no livelock"),
        "{}",
        mc[0]
    );
}

#[test]
fn go1_19_runs_clean() {
    let (lines, m) = gmp_point("go1.19", 2, "2s");
    assert_eq!(m["hung"], 0.0, "{m:?}");
    assert_eq!(m["diagnosed"], 0.0, "{m:?}");
    assert!(m["gc_cycles"] > 0.0 && m["timer_fires"] > 0.0, "{m:?}");
    assert!(events(&lines, "diagnosis").is_empty());
    assert!(
        events(&lines, "model_check").is_empty(),
        "model check only at go1.14.1 points"
    );
    assert!(m.contains_key("probe_p50_us"), "{m:?}");
}

#[test]
fn bad_input_exits_2_and_tokio_is_refused() {
    let (code, _, err) = run(&[
        "--runtime",
        "gmp",
        "--duration",
        "1s",
        "--set",
        "timers=go1.12",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["--runtime", "tokio", "--duration", "1s"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = run(&["--help"]);
    assert_eq!(code, 0);
}

#[test]
fn sweep_loads_and_its_verdicts_judge_the_metrics() {
    let sweep = Sweep::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sweep.yaml"))
        .expect("sweep.yaml loads");
    assert_eq!(sweep.scenario, "timer_stw");
    assert!(sweep.notes.contains_key("tokio"));
    let judge = |runtime: &str, timers: &str, m: &[(&str, f64)]| {
        let params = BTreeMap::from([
            ("procs".to_string(), Value::Num(2.0)),
            ("timers".to_string(), Value::Str(timers.to_string())),
            ("timer_goroutines".to_string(), Value::Num(8.0)),
        ]);
        testing::judge(
            &sweep,
            &testing::point_context(runtime, &params, &testing::metrics(m)),
        )
    };
    let hung = [
        ("hung", 1.0),
        ("diagnosed", 1.0),
        ("cores_after_hang", 0.93),
    ];
    assert!(judge("gmp", "go1.14.1", &hung).iter().all(|x| x.1));
    let clean = [("hung", 0.0), ("gc_cycles", 9e4), ("timer_fires", 3e5)];
    assert!(judge("gmp", "go1.19", &clean).iter().all(|x| x.1));
    assert!(judge("go", "go1.14.1", &clean).iter().all(|x| x.1));
    let stuck19 = [("hung", 1.0), ("gc_cycles", 9e4), ("timer_fires", 3e5)];
    assert!(judge("gmp", "go1.19", &stuck19).iter().all(|x| !x.1));
}
