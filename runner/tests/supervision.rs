//! Supervision: timeouts, crashes, limits, orphans, and the merged file.
//!
//! Bounds are about outcomes and counts, never about how fast anything
//! ran: the machine is small and shared.

mod common;
use common::*;

const MODES: &str = r#"scenario: sv
incident: "supervision fixture"
runtimes: [tokio]
duration: 200ms
grace: 700ms
grid:
  mode: [idle, hang, crash, exit3, fork_hang, limit]
  ignore_term: [1]
"#;

#[test]
fn every_ending_is_recorded_and_no_process_is_left() {
    let lab = Lab::new("supervision");
    lab.scenario("sv", MODES);
    let (run, o) = lab.run_ok("sv");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("panicked"),
        "{}",
        text(&o)
    );

    let pts = points(&run, "sv");
    let outcome = |id: &str| find(&pts, id, 1)["outcome"].as_str().unwrap().to_string();
    let detail = |id: &str| {
        find(&pts, id, 1)["outcome_detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(outcome("mode-idle_ignore_term-1"), "ok");
    // hang ignores SIGTERM: the runner must escalate to SIGKILL.
    assert_eq!(outcome("mode-hang_ignore_term-1"), "timeout");
    assert!(
        detail("mode-hang_ignore_term-1").contains("SIGKILL"),
        "{}",
        detail("mode-hang_ignore_term-1")
    );
    assert_eq!(outcome("mode-forkhang_ignore_term-1"), "timeout");
    assert_eq!(outcome("mode-crash_ignore_term-1"), "crash");
    assert!(
        detail("mode-crash_ignore_term-1").contains("SIGABRT"),
        "{}",
        detail("mode-crash_ignore_term-1")
    );
    assert_eq!(outcome("mode-exit3_ignore_term-1"), "crash");
    assert!(
        detail("mode-exit3_ignore_term-1").starts_with("exit code 3"),
        "{}",
        detail("mode-exit3_ignore_term-1")
    );
    assert_eq!(outcome("mode-limit_ignore_term-1"), "limit");
    assert!(
        detail("mode-limit_ignore_term-1").contains("pthread_create"),
        "{}",
        detail("mode-limit_ignore_term-1")
    );

    // The exit lines carry the status and the stderr tail.
    let exit_of = |id: &str| {
        let t =
            std::fs::read_to_string(run.join("sv").join(format!("{id}.tokio.r1.jsonl"))).unwrap();
        let last: serde_json::Value = serde_json::from_str(t.lines().last().unwrap()).unwrap();
        assert_eq!(last["type"], "exit", "{id}: the exit line is last");
        last
    };
    assert_eq!(exit_of("mode-crash_ignore_term-1")["signal"], libc::SIGABRT);
    assert!(
        exit_of("mode-crash_ignore_term-1")["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("about to abort")
    );
    assert_eq!(exit_of("mode-exit3_ignore_term-1")["code"], 3);
    assert_eq!(exit_of("mode-hang_ignore_term-1")["signal"], libc::SIGKILL);

    // Every process the fixture started (leaders and the forked
    // grandchild) is gone, and so is every process group.
    let pids = lab.pids();
    assert!(
        pids.iter().any(|(_, r)| r == "grandchild"),
        "the fork_hang fixture forked: {pids:?}"
    );
    assert_eq!(
        pids.iter().filter(|(_, r)| r == "leader").count(),
        6,
        "{pids:?}"
    );
    for (pid, role) in pids {
        assert!(gone(pid), "{role} {pid} (or its group) is still there");
    }

    // No temp file left behind; run.json complete with the sampler's cost.
    for e in std::fs::read_dir(run.join("sv")).unwrap().flatten() {
        assert!(
            !e.file_name().to_string_lossy().ends_with(".tmp"),
            "{:?}",
            e.path()
        );
    }
    let meta = read_json(&run.join("run.json"));
    assert_eq!(meta["status"], "complete");
    assert!(meta["sampler_cpu_s"].as_f64().unwrap() > 0.0, "{meta}");
    for k in [
        "hostname",
        "kernel",
        "cores",
        "pid_max",
        "threads_max",
        "rlimit_nofile",
        "rlimit_nproc",
        "max_map_count",
        "tokio",
        "go",
    ] {
        assert!(
            meta["host"].get(k).is_some(),
            "host fact {k} missing: {}",
            meta["host"]
        );
    }
}

#[test]
fn merged_file_is_one_clock_in_order() {
    let lab = Lab::new("merged");
    lab.scenario(
        "mg",
        "scenario: mg\nincident: i\nruntimes: [tokio]\nduration: 400ms\ngrid: { mode: [idle] }\n",
    );
    let (run, _) = lab.run_ok("mg");
    let t = std::fs::read_to_string(run.join("mg/mode-idle.tokio.r1.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = t
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "hello");
    assert_eq!(lines.last().unwrap()["type"], "exit");
    let mut last_t = 0.0;
    let mut procs = 0;
    for l in &lines[1..] {
        let t = l["t_ms"].as_f64().unwrap();
        assert!(t >= last_t, "out of order at {l}");
        last_t = t;
        match l["type"].as_str().unwrap() {
            "proc" => {
                procs += 1;
                for k in ["threads", "cores", "rss_bytes"] {
                    assert!(l.get(k).is_some(), "{l}");
                }
            }
            "phase" | "summary" => assert!(
                l["src_t_ms"].is_number(),
                "scenario lines keep their clock: {l}"
            ),
            _ => {}
        }
    }
    // 400 ms at a 5 ms period: there are proc samples (how many depends on
    // the machine's load; at least one is certain).
    assert!(procs >= 1, "{t}");
}
