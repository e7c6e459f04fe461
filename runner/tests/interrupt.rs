//! Ctrl-C: SIGINT to a running `schedlab run` kills the current point's
//! process group, keeps the finished points, marks the run interrupted,
//! exits 130, and `schedlab report` still works on what is left.

mod common;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn sigint_keeps_finished_points_and_leaves_no_process() {
    let lab = Lab::new("interrupt");
    lab.scenario(
        "ci",
        "scenario: ci\nincident: i\nruntimes: [tokio]\nduration: 300ms\ngrace: 60s\ngrid: { mode: [idle, fork_hang, exit3] }\n",
    );
    let run = lab.out("run");
    let mut child = lab
        .cmd(&["run", "ci", "--out", run.to_str().unwrap()])
        .spawn()
        .unwrap();
    // The first point finished (its file is renamed into place), and the
    // second one is hanging with its grandchild forked.
    wait_for("the idle point", Duration::from_secs(60), || {
        run.join("ci/mode-idle.tokio.r1.jsonl").exists()
    });
    wait_for("the grandchild", Duration::from_secs(60), || {
        lab.pids().iter().any(|(_, r)| r == "grandchild")
    });
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("schedlab did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));

    let meta = read_json(&run.join("run.json"));
    assert_eq!(meta["status"], "interrupted");
    let pts = points(&run, "ci");
    assert_eq!(find(&pts, "mode-idle", 1)["outcome"], "ok");
    assert_eq!(find(&pts, "mode-forkhang", 1)["outcome"], "skipped");
    assert_eq!(find(&pts, "mode-exit3", 1)["outcome"], "skipped");
    assert!(
        !run.join("ci/mode-forkhang.tokio.r1.jsonl").exists(),
        "the cut point is not kept"
    );
    for e in std::fs::read_dir(run.join("ci")).unwrap().flatten() {
        assert!(
            !e.file_name().to_string_lossy().ends_with(".tmp"),
            "{:?}",
            e.path()
        );
    }
    for (pid, role) in lab.pids() {
        assert!(gone(pid), "{role} {pid} survived the interrupt");
    }
    // The stored run can be reported on.
    let o = lab.run(&["report", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let csv = std::fs::read_to_string(run.join("summary.csv")).unwrap();
    assert!(csv.contains("ci,mode-idle,tokio,1,ok"), "{csv}");
}
