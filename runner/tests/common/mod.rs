//! A throwaway lab for the runner's integration tests: a root with
//! `scenarios/<name>/sweep.yaml` and a bin dir where `<name>` is a symlink
//! to `schedlab-fixture` (binary name = scenario name is the runner's
//! contract, so this is how a test scenario gets its binary).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const SCHEDLAB: &str = env!("CARGO_BIN_EXE_schedlab");
pub const FIXTURE: &str = env!("CARGO_BIN_EXE_schedlab-fixture");

pub struct Lab {
    pub dir: PathBuf,
}

impl Lab {
    pub fn new(name: &str) -> Lab {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("lab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("scenarios")).unwrap();
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(dir.join("pids")).unwrap();
        Lab { dir }
    }

    /// Adds a scenario run by the fixture.
    pub fn scenario(&self, name: &str, yaml: &str) {
        let d = self.dir.join("scenarios").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("sweep.yaml"), yaml).unwrap();
        let link = self.dir.join("bin").join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(FIXTURE, link).unwrap();
        }
    }

    /// `schedlab --root <lab> --bin-dir <lab>/bin ...`. The binary is
    /// this build's, or `$SCHEDLAB_UNDER_TEST` (to see a regression test
    /// fail on an older build).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let bin = std::env::var("SCHEDLAB_UNDER_TEST").unwrap_or(SCHEDLAB.to_string());
        let mut c = Command::new(bin);
        c.arg("--root")
            .arg(&self.dir)
            .arg("--bin-dir")
            .arg(self.dir.join("bin"))
            .args(args);
        c.env("SCHEDLAB_FIXTURE_PIDDIR", self.dir.join("pids"));
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("schedlab runs")
    }

    pub fn out(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `schedlab run SCENARIO --out <lab>/run`, which must exit 0: the
    /// run directory and the command's output.
    pub fn run_ok(&self, scenario: &str) -> (PathBuf, Output) {
        let run = self.out("run");
        let o = self.run(&["run", scenario, "--out", run.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        (run, o)
    }

    /// Pids the fixture wrote: (pid, role).
    pub fn pids(&self) -> Vec<(i32, String)> {
        std::fs::read_dir(self.dir.join("pids"))
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                let (pid, role) = n.split_once('.')?;
                Some((pid.parse().ok()?, role.to_string()))
            })
            .collect()
    }
}

/// No process with this pid, and no process group with this id.
pub fn gone(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence.
    let p = unsafe { libc::kill(pid, 0) } == -1
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    // SAFETY: as above, for the process group.
    let g = unsafe { libc::kill(-pid, 0) } == -1
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    p && g
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// points.json of a scenario in a run dir, as (point_id, runtime, repeat, outcome, detail).
pub fn points(run: &Path, scenario: &str) -> Vec<serde_json::Value> {
    read_json(&run.join(scenario).join("points.json"))
        .as_array()
        .unwrap()
        .clone()
}

pub fn find<'a>(
    pts: &'a [serde_json::Value],
    point_id: &str,
    repeat: u64,
) -> &'a serde_json::Value {
    pts.iter()
        .find(|p| p["point_id"] == point_id && p["repeat"] == repeat)
        .unwrap_or_else(|| panic!("no {point_id} r{repeat} in {pts:#?}"))
}

impl Lab {
    /// A fake Go toolchain: `go build` of `reference/go/<name>` links the
    /// fixture, so a sweep can have a go column (and fidelity rows)
    /// without Go. Returns the script's path, for `$GO`.
    pub fn fake_go(&self, scenario: &str) -> PathBuf {
        std::fs::create_dir_all(self.dir.join("reference/go").join(scenario)).unwrap();
        let go = self.dir.join("bin-go");
        std::fs::create_dir_all(&go).unwrap();
        let script = go.join("go");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ncase \"$1\" in\n  version) echo 'go version go1.19-fake linux/amd64';;\n  build) ln -sf '{FIXTURE}' \"$3\";;\nesac\n"
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }
}

impl Lab {
    /// `schedlab <args>` in the background, its output discarded.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("schedlab starts")
    }
}

/// Polls `f` until it holds; fails after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `child` at most `limit`; kills it and fails past that.
/// Returns its status and how long it took.
pub fn wait_exit(child: &mut Child, limit: Duration, what: &str) -> (ExitStatus, Duration) {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return (s, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: schedlab still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `sig` to a child of this test.
pub fn signal(child: &Child, sig: i32) {
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, sig) };
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 2, no panic, and every needle in stderr.
pub fn assert_user_error(o: &Output, needles: &[&str]) {
    assert_eq!(o.status.code(), Some(2), "{}", text(o));
    let e = stderr(o);
    assert!(!e.contains("panicked"), "{}", text(o));
    for n in needles {
        assert!(e.contains(n), "missing {n:?} in\n{}", text(o));
    }
}
