//! `schedlab watch`: bad input is a clear message and exit 2 (never a
//! panic), a target that exits or a Ctrl-C still gets a report, and the
//! target is never left stopped. The fixture (`schedlab-fixture`) plays the
//! target: `mode=threads` starts threads, `busy` of them spinning.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn watch(args: &[&str]) -> Output {
    Command::new(SCHEDLAB)
        .arg("watch")
        .args(args)
        .output()
        .expect("running schedlab watch")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_exit2(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", text(o));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!e.contains("panicked"), "{}", text(o));
    assert!(e.contains(needle), "missing {needle:?}: {}", text(o));
}

/// A fixture process with `threads` threads, `busy` of them spinning.
fn target(threads: usize, busy: usize, secs: u64) -> Child {
    Command::new(FIXTURE)
        .args(["--runtime", "threads", "--duration"])
        .arg(format!("{}ms", secs * 1000))
        .args(["--set", "mode=threads", "--set"])
        .arg(format!("threads={threads}"))
        .arg("--set")
        .arg(format!("busy={busy}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("spawning the fixture")
}

fn state(pid: u32) -> Vec<(i32, char)> {
    let mut v = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let s = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        if let Some(i) = s.rfind(')') {
            let tid = t.file_name().to_string_lossy().parse().unwrap();
            v.push((tid, s[i + 2..].chars().next().unwrap()));
        }
    }
    v
}

#[test]
fn a_pid_that_does_not_exist() {
    assert_exit2(
        &watch(&["--for", "1s", "2147483000"]),
        "no process 2147483000",
    );
}

#[test]
fn bad_durations_and_arguments() {
    assert_exit2(&watch(&["--for", "99999999999999999999s", "1"]), "--for");
    assert_exit2(&watch(&["--every", "0s", "1"]), "--every");
    assert_exit2(&watch(&["--for", "soon", "1"]), "--for");
    assert_exit2(&watch(&["--for", "1s"]), "give a PID");
    assert_exit2(&watch(&["--for", "1s", "1", "--", "true"]), "not both");
    assert_exit2(
        &watch(&["--for", "1s", "--", "/no/such/program"]),
        "cannot start",
    );
}

#[test]
fn a_target_that_exits_while_watched_is_reported() {
    let o = watch(&["--for", "10s", "--every", "200ms", "--", "sleep", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("EXITED while watched"), "{}", text(&o));
    assert!(out.contains("verdict: none"), "{}", text(&o));
}

#[test]
fn json_has_the_verdict_and_every_sample() {
    let o = watch(&[
        "--for", "1200ms", "--every", "200ms", "--json", "--", "sleep", "5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["verdict"]["id"], "none");
    let n = v["figures"].as_array().unwrap().len();
    assert!(n >= 4, "{n} samples in 1.2 s at 200 ms: {}", text(&o));
}

#[test]
fn a_spinning_thread_over_the_cap_is_named_and_stacks_leave_it_running() {
    // 6 spinners on a 2-core machine: 6 in R against a cap of 2.
    let mut t = target(8, 6, 20);
    std::thread::sleep(Duration::from_millis(300));
    let pid = t.id().to_string();
    let o = watch(&["--for", "4s", "--stacks", &pid]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("verdict: ffi_cap"), "{}", text(&o));
    assert_eq!(
        o.status.code(),
        Some(3),
        "a named failure exits 3: {}",
        text(&o)
    );
    // The ptrace stops were measured, and short.
    let line = out
        .lines()
        .find(|l| l.starts_with("--stacks:"))
        .expect("a --stacks line");
    assert!(line.contains("ptrace stops"), "{line}");
    // No thread of the target was left in a tracing stop, and it still runs.
    let st = state(t.id());
    assert!(st.iter().all(|(_, s)| *s != 't' && *s != 'T'), "{st:?}");
    let cpu = |pid: u32| {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let f: Vec<u64> = s[s.rfind(')').unwrap() + 2..]
            .split(' ')
            .skip(11)
            .take(2)
            .map(|x| x.parse().unwrap())
            .collect();
        f[0] + f[1]
    };
    let c0 = cpu(t.id());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        cpu(t.id()) > c0,
        "the target stopped using CPU after the watch"
    );
    let _ = t.kill();
    let _ = t.wait();
}

#[test]
fn ctrl_c_ends_the_watch_with_a_report_and_never_a_stopped_target() {
    let mut t = target(4, 1, 20);
    let w = Command::new(SCHEDLAB)
        .args(["watch", "--for", "30s", "--every", "200ms", "--stacks"])
        .arg(t.id().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let t0 = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(w.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let o = w.wait_with_output().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t0.elapsed()
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("interrupted (Ctrl-C)"), "{}", text(&o));
    assert!(out.contains("verdict:"), "{}", text(&o));
    let st = state(t.id());
    assert!(st.iter().all(|(_, s)| *s != 't' && *s != 'T'), "{st:?}");
    let _ = t.kill();
    let _ = t.wait();
}

#[test]
fn a_pprof_url_that_is_unreachable_slow_or_html() {
    let mut t = target(2, 0, 20);
    let pid = t.id().to_string();
    // Nothing listens on a port we bound and closed.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = watch(&[
        "--for",
        "1s",
        "--pprof",
        &format!("http://127.0.0.1:{closed}"),
        &pid,
    ]);
    assert_exit2(&o, "cannot reach");

    // Accepts and never answers.
    let slow = TcpListener::bind("127.0.0.1:0").unwrap();
    let slow_port = slow.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in slow.incoming().flatten() {
            held.push(c);
        }
    });
    let t0 = Instant::now();
    let o = watch(&[
        "--for",
        "1s",
        "--pprof",
        &format!("http://127.0.0.1:{slow_port}"),
        &pid,
    ]);
    assert_exit2(&o, "did not answer within");
    assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());

    // Answers HTML.
    let html = TcpListener::bind("127.0.0.1:0").unwrap();
    let html_port = html.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in html.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let body = "<html><body>not pprof</body></html>";
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let o = watch(&[
        "--for",
        "1s",
        "--pprof",
        &format!("http://127.0.0.1:{html_port}"),
        &pid,
    ]);
    assert_exit2(&o, "did not return a goroutine profile");
    let _ = t.kill();
    let _ = t.wait();
}

#[test]
fn out_writes_a_run_directory_the_report_draws() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("watch-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let o = watch(&[
        "--for",
        "1500ms",
        "--every",
        "250ms",
        "--out",
        dir.to_str().unwrap(),
        "--",
        "sleep",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(dir.join("run.json").is_file());
    let jsonl: Vec<_> = std::fs::read_dir(dir.join("watch"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .collect();
    assert_eq!(jsonl.len(), 1, "one point's .jsonl");
    let jsonl = std::fs::read_to_string(jsonl[0].path()).unwrap();
    assert!(
        jsonl
            .lines()
            .filter(|l| l.contains(r#""type":"proc""#))
            .count()
            >= 4,
        "{jsonl}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("<svg") || html.contains(".svg"),
        "no plot in the report"
    );
    // `schedlab report DIR` re-runs the analysis, which finds points by the
    // runner's trace names: the watched point must survive it (it did not
    // while the trace was named pid-<PID>.jsonl).
    let points = |d: &std::path::Path| -> Vec<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(d.join("watch/points.json")).unwrap())
            .unwrap()
    };
    assert_eq!(points(&dir).len(), 1, "watch wrote one point");
    let rep = Command::new(env!("CARGO_BIN_EXE_schedlab"))
        .args(["report", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(rep.status.code(), Some(0), "{}", text(&rep));
    let after = points(&dir);
    assert_eq!(after.len(), 1, "report lost the watched point: {after:?}");
    assert!(
        after[0]["metrics"]["threads_peak"].as_f64() >= Some(1.0),
        "{after:?}"
    );
    // A second watch into the same directory is refused, not mixed in.
    let again = watch(&[
        "--for",
        "1s",
        "--out",
        dir.to_str().unwrap(),
        "--",
        "sleep",
        "2",
    ]);
    assert_exit2(&again, "already holds a run");
}

/// Another user's process: reading its threads' syscalls and tracing it
/// are refused, with what to do. Needs root (to start the watcher as
/// `nobody`) and setpriv; elsewhere it says why it did not run.
#[test]
fn another_users_process_gets_a_clear_error() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || which("setpriv").is_none() {
        eprintln!("skipped: needs root and setpriv to watch as another user");
        return;
    }
    let mut t = target(2, 0, 20);
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", SCHEDLAB])
        .args(["watch", "--for", "1s", "--stacks"])
        .arg(t.id().to_string())
        .output()
        .unwrap();
    assert_exit2(&o, "cannot ptrace");
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", SCHEDLAB])
        .args(["watch", "--for", "1s", "--every", "250ms"])
        .arg(t.id().to_string())
        .output()
        .unwrap();
    // Without --stacks it watches what it may, and says what it could not.
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("syscalls were not readable"),
        "{}",
        text(&o)
    );
    let _ = t.kill();
    let _ = t.wait();
}

fn which(prog: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(prog))
            .find(|f| f.is_file())
    })
}
