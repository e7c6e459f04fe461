//! The runner against bad sweeps and signals (issue 12): each test here
//! failed on the runner before the fix it names.
//!
//! Bounds on time are generous (the machine is small and shared): they
//! tell "ends" from "does not end", not fast from slow.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

/// A sweep over `n` free axes of 10 values each (10^n points).
fn grid_sweep(name: &str, n: usize, extra: &str) -> String {
    let axes: String = (0..n)
        .map(|i| format!("  a{i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"))
        .collect();
    format!(
        "scenario: {name}\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrace: 60s\n{extra}grid:\n  mode: [idle]\n{axes}"
    )
}

fn no_tmp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        assert!(!n.ends_with(".tmp"), "{:?} left behind", e.path());
    }
}

// ---------------------------------------------------------------- bug 1

#[test]
fn a_grid_over_the_limit_is_refused_with_its_count() {
    let lab = Lab::new("hugegrid");
    lab.scenario("big", &grid_sweep("big", 20, ""));
    let mut child = lab
        .cmd(&["run", "big"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (status, _) = wait_exit(&mut child, Duration::from_secs(60), "a 10^20 grid");
    let o = std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: {
            use std::io::Read;
            let mut s = Vec::new();
            child.stderr.take().unwrap().read_to_end(&mut s).unwrap();
            s
        },
    };
    assert_user_error(&o, &["up to 100000000000000000000 point runs", "--yes"]);
    assert!(!lab.dir.join("results").exists(), "nothing ran");
}

#[test]
fn sigint_on_a_million_point_grid_exits_promptly_and_keeps_what_ran() {
    let lab = Lab::new("bigint");
    lab.scenario("big", &grid_sweep("big", 6, ""));
    let run = lab.out("run");
    let mut child = lab.spawn(&["run", "big", "--yes", "--out", run.to_str().unwrap()]);
    wait_for("two finished points", Duration::from_secs(120), || {
        std::fs::read_dir(run.join("big"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
                    .count()
                    >= 2
            })
            .unwrap_or(false)
    });
    signal(&child, libc::SIGINT);
    let (status, took) = wait_exit(&mut child, Duration::from_secs(60), "SIGINT");
    assert_eq!(status.code(), Some(130));
    eprintln!("exit {took:?} after SIGINT on a 10^6-point grid");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let meta = read_json(&run.join("run.json"));
    assert_eq!(meta["status"], "interrupted");
    let not_run = meta["not_run"].as_u64().unwrap();
    assert!(not_run > 990_000 && not_run < 1_000_000, "{not_run}");
    let pts = points(&run, "big");
    assert!(pts.iter().filter(|p| p["outcome"] == "ok").count() >= 2);
    let skipped = pts.iter().filter(|p| p["outcome"] == "skipped").count();
    assert!((1_000..=1_001).contains(&skipped), "{skipped} skipped rows");
    no_tmp_files(&run.join("big"));
}

#[test]
fn a_second_sigint_exits_at_once_and_report_marks_the_run_interrupted() {
    let lab = Lab::new("twice");
    lab.scenario(
        "tw",
        "scenario: tw\nincident: i\nruntimes: [tokio]\nduration: 60s\ngrace: 60s\ngrid: { mode: [fork_hang], ignore_term: [1] }\n",
    );
    let (mut child, run) = run_until_grandchild(&lab, "tw");
    // The point ignores SIGTERM: after the first SIGINT the runner waits
    // a second before its SIGKILL; the second SIGINT does not wait.
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(50));
    signal(&child, libc::SIGINT);
    let (status, took) = wait_exit(&mut child, Duration::from_secs(30), "second SIGINT");
    assert_eq!(status.code(), Some(130));
    assert!(took < Duration::from_millis(900), "took {took:?}");
    for (pid, role) in lab.pids() {
        wait_for(
            &format!("{role} {pid} to be killed"),
            Duration::from_secs(10),
            || gone(pid),
        );
    }
    let meta = read_json(&run.join("run.json"));
    assert_eq!(meta["status"], "running", "no time to write it");
    let o = lab.run(&["report", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stderr(&o).contains("marked interrupted"), "{}", text(&o));
    assert_eq!(read_json(&run.join("run.json"))["status"], "interrupted");
    no_tmp_files(&run.join("tw"));
}

// ---------------------------------------------------------------- bug 2

#[test]
fn names_in_a_sweep_cannot_escape_the_run_directory() {
    let lab = Lab::new("escape");
    lab.scenario(
        "ax",
        "scenario: ax\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid:\n  ../../../x/pwn: [1]\n",
    );
    assert_user_error(
        &lab.run(&["run", "ax"]),
        &["scenarios/ax/sweep.yaml:6:3: grid: axis name `../../../x/pwn` is not allowed"],
    );
    lab.scenario(
        "sc",
        "scenario: ../../..\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid: { mode: [idle] }\n",
    );
    assert_user_error(
        &lab.run(&["run", "sc"]),
        &["scenarios/sc/sweep.yaml:1:1: scenario: scenario name `../../..` is not allowed"],
    );
    assert!(!lab.dir.join("results").exists());
    assert!(!lab.dir.parent().unwrap().join("x").exists());
}

// ---------------------------------------------------------------- bug 3

#[test]
fn two_points_with_one_id_are_refused() {
    let lab = Lab::new("dupid");
    lab.scenario(
        "d",
        "scenario: d\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid: { mode: [idle], procs: [1, 2] }\n",
    );
    assert_user_error(
        &lab.run(&["run", "d", "--set", "procs=1,-1"]),
        &["values `1` and `-1` would give two points the same id `procs-1`"],
    );
    assert_user_error(
        &lab.run(&["run", "d", "--set", "procs=1,1"]),
        &["axis procs lists the value 1 twice"],
    );
    lab.scenario(
        "y",
        "scenario: y\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid: { mode: [idle], procs: [2, 2] }\n",
    );
    assert_user_error(
        &lab.run(&["run", "y"]),
        &["scenarios/y/sweep.yaml:5:23: grid.procs: axis procs lists the value 2 twice"],
    );
    assert!(!lab.dir.join("results").exists());
}

// ---------------------------------------------------------------- bug 4

#[test]
fn huge_durations_are_an_error_not_a_panic() {
    let lab = Lab::new("hugedur");
    lab.scenario(
        "h",
        "scenario: h\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid: { mode: [idle] }\n",
    );
    assert_user_error(
        &lab.run(&["run", "h", "--duration", "99999999999999999999s"]),
        &["--duration", "out of range"],
    );
    lab.scenario(
        "y",
        "scenario: y\nincident: i\nruntimes: [tokio]\nduration: 99999999999999999999s\ngrid: { mode: [idle] }\n",
    );
    assert_user_error(
        &lab.run(&["run", "y"]),
        &["scenarios/y/sweep.yaml:4:11: duration", "out of range"],
    );
}

// ---------------------------------------------------------------- bug 5

const FORK: &str = "scenario: fk\nincident: i\nruntimes: [tokio]\nduration: 200ms\ngrace: 60s\ngrid: { mode: [idle, fork_hang, exit3] }\n";

/// Runs `scenario` into `<lab>/run` in the background until its
/// fork_hang point has forked its grandchild.
fn run_until_grandchild(lab: &Lab, scenario: &str) -> (Child, PathBuf) {
    let run = lab.out("run");
    let child = lab.spawn(&["run", scenario, "--out", run.to_str().unwrap()]);
    wait_for("the grandchild", Duration::from_secs(60), || {
        lab.pids().iter().any(|(_, r)| r == "grandchild")
    });
    (child, run)
}

#[test]
fn sighup_is_handled_like_sigterm() {
    let lab = Lab::new("sighup");
    lab.scenario("fk", FORK);
    let (mut child, run) = run_until_grandchild(&lab, "fk");
    signal(&child, libc::SIGHUP);
    let (status, _) = wait_exit(&mut child, Duration::from_secs(30), "SIGHUP");
    assert_eq!(status.code(), Some(130));
    let meta = read_json(&run.join("run.json"));
    assert_eq!(meta["status"], "interrupted");
    assert!(run.join("report.html").is_file(), "the report was written");
    assert_eq!(find(&points(&run, "fk"), "mode-idle", 1)["outcome"], "ok");
    no_tmp_files(&run.join("fk"));
    for (pid, role) in lab.pids() {
        assert!(gone(pid), "{role} {pid} survived SIGHUP");
    }
}

#[test]
fn no_process_of_a_point_outlives_a_sigkilled_runner() {
    let lab = Lab::new("sigkill");
    lab.scenario("fk", FORK);
    let (mut child, run) = run_until_grandchild(&lab, "fk");
    signal(&child, libc::SIGKILL);
    let _ = child.wait();
    for (pid, role) in lab.pids() {
        wait_for(
            &format!("{role} {pid} to be killed"),
            Duration::from_secs(10),
            || gone(pid),
        );
    }
    // The run is left `running` with the cut point's temp file; report
    // marks it interrupted and removes the temp file.
    assert_eq!(read_json(&run.join("run.json"))["status"], "running");
    let o = lab.run(&["report", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(read_json(&run.join("run.json"))["status"], "interrupted");
    no_tmp_files(&run.join("fk"));
    assert_eq!(find(&points(&run, "fk"), "mode-idle", 1)["outcome"], "ok");
}

// ---------------------------------------------------------------- bug 6

#[test]
fn one_bad_jsonl_does_not_sink_the_report() {
    let lab = Lab::new("badutf8");
    lab.scenario(
        "u",
        "scenario: u\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid: { mode: [idle], procs: [1, 2, 3] }\nverdicts:\n  - id: v\n    claim: c\n    expect: \"fixture_value == 42\"\n    holds: reproduced\n",
    );
    let (run, _) = lab.run_ok("u");
    // A byte that is not UTF-8 in one line of one file, and a directory
    // named like a point file.
    let f = run.join("u/mode-idle_procs-2.tokio.r1.jsonl");
    let mut bytes = std::fs::read(&f).unwrap();
    let nl = bytes.iter().position(|b| *b == b'\n').unwrap();
    bytes.splice(nl + 1..nl + 1, b"{\"type\":\"proc\xff\"}\n".iter().copied());
    std::fs::write(&f, bytes).unwrap();
    std::fs::create_dir(run.join("u/mode-idle_procs-9.tokio.r1.jsonl")).unwrap();
    let o = lab.run(&["report", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains(
            "mode-idle_procs-2.tokio.r1.jsonl: skipped 1 unreadable line(s): line 2: not UTF-8"
        ),
        "{}",
        text(&o)
    );
    assert!(
        e.contains("skipped") && e.contains("procs-9"),
        "{}",
        text(&o)
    );
    let pts = points(&run, "u");
    assert_eq!(pts.len(), 3, "every readable point is kept");
    assert_eq!(find(&pts, "mode-idle_procs-2", 1)["outcome"], "ok");
    assert_eq!(read_json(&run.join("verdicts.json"))[0]["points_held"], 3);
}

// ---------------------------------------------------------------- minor

#[test]
fn values_are_checked_against_the_scenario_before_anything_runs() {
    let lab = Lab::new("values");
    lab.scenario(
        "v",
        "scenario: v\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid: { mode: [idle], procs: [1] }\n",
    );
    for (set, want) in [
        ("procs=0", "procs=0: out of range 1..=256"),
        ("procs=abc", "procs=abc: expected an integer"),
        ("procs=-1", "procs=-1: out of range"),
        (
            "mode=idle,sleepy",
            "mode=sleepy: expected one of idle, hang",
        ),
    ] {
        assert_user_error(
            &lab.run(&["run", "v", "--set", set]),
            &["scenario v: ", want],
        );
    }
    lab.scenario(
        "k",
        "scenario: k\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid: { mode: [idle], cpus: [1] }\n",
    );
    assert_user_error(
        &lab.run(&["run", "k"]),
        &[
            "`cpus` is not a parameter of scenario fixture",
            "mode, threads",
        ],
    );
    assert!(!lab.dir.join("results").exists(), "nothing ran");
}

#[test]
fn zero_repeats_and_no_runtimes_are_refused_at_load() {
    let lab = Lab::new("zero");
    lab.scenario(
        "r",
        "scenario: r\nincident: i\nruntimes: [tokio]\nduration: 50ms\nrepeats: 0\ngrid: { mode: [idle] }\n",
    );
    assert_user_error(
        &lab.run(&["run", "r"]),
        &["scenarios/r/sweep.yaml:5:1: repeats: expected at least 1"],
    );
    lab.scenario(
        "e",
        "scenario: e\nincident: i\nruntimes: []\nduration: 50ms\ngrid: { mode: [idle] }\n",
    );
    assert_user_error(
        &lab.run(&["run", "e"]),
        &["scenarios/e/sweep.yaml:3:1: runtimes: expected at least one"],
    );
}

#[test]
fn quick_without_a_quick_profile_says_so() {
    let lab = Lab::new("noquick");
    lab.scenario(
        "nq",
        "scenario: nq\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid: { mode: [idle] }\n",
    );
    assert_user_error(
        &lab.run(&["run", "nq", "--quick"]),
        &["scenario nq has no quick profile"],
    );
    let o = lab.run(&["run-all", "--quick"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stderr(&o).contains("note: scenario nq has no quick profile; running its default profile"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_runtime_emptied_by_skip_is_named_and_an_empty_plan_refused() {
    let lab = Lab::new("emptied");
    lab.scenario(
        "s",
        "scenario: s\nincident: i\nruntimes: [tokio, gmp]\nduration: 50ms\ngrid: { mode: [idle], procs: [1, 2] }\nskip: [\"runtime == 'gmp' && procs == 2\"]\n",
    );
    let o = lab.run(&["run", "s", "--set", "procs=2"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stderr(&o).contains("note: s: no gmp point is left"),
        "{}",
        text(&o)
    );
    assert_user_error(
        &lab.run(&["run", "s", "--set", "procs=2", "--runtime", "gmp"]),
        &["nothing to run"],
    );
}

#[test]
fn a_run_where_every_point_crashed_fails() {
    let lab = Lab::new("allcrash");
    lab.scenario(
        "c",
        "scenario: c\nincident: i\nruntimes: [tokio]\nduration: 50ms\ngrid: { mode: [crash, exit3] }\n",
    );
    let o = lab.run(&["run", "c"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("every one of the 2 point runs crashed"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_run_where_nothing_ran_fails() {
    let lab = Lab::new("nothingran");
    lab.scenario(
        "g",
        "scenario: g\nincident: i\nruntimes: [tokio, go]\nduration: 50ms\ngrid: { mode: [idle] }\n",
    );
    let o = lab
        .cmd(&["run", "g", "--runtime", "go"])
        .env("GO", lab.dir.join("no-such-go"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(e.contains("skipping the go column"), "{}", text(&o));
    assert!(
        e.contains("nothing ran: every runtime asked for was skipped"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_run_directory_has_one_writer() {
    let lab = Lab::new("lock");
    lab.scenario(
        "l",
        "scenario: l\nincident: i\nruntimes: [tokio]\nduration: 30s\ngrace: 60s\ngrid: { mode: [idle] }\n",
    );
    let run = lab.out("run");
    let mut first = lab.spawn(&["run", "l", "--out", run.to_str().unwrap()]);
    wait_for("run.json", Duration::from_secs(60), || {
        run.join("run.json").exists()
    });
    // `report` on a live run reports what is there but leaves its status.
    let o = lab.run(&["report", run.to_str().unwrap()]);
    assert!(stderr(&o).contains("another schedlab (pid"), "{}", text(&o));
    assert_eq!(read_json(&run.join("run.json"))["status"], "running");
    signal(&first, libc::SIGINT);
    let (status, _) = wait_exit(&mut first, Duration::from_secs(30), "SIGINT");
    assert_eq!(status.code(), Some(130));
}
