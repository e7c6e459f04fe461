//! Host facts for `run.json`: what a reader needs to judge the numbers.
//!
//! Every fact is a string; one that cannot be read says why instead of
//! failing the run (`unavailable: ...`). The kernel limits matter here more
//! than usual: a thread explosion ends at `threads-max`, `pid_max`,
//! `RLIMIT_NPROC` or `max_map_count`, and an fd leak at `RLIMIT_NOFILE`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("unavailable: {e}"))
}

fn command_line(cmd: &str, args: &[&str], dir: Option<&Path>) -> Option<String> {
    let mut c = Command::new(cmd);
    c.args(args);
    if let Some(d) = dir {
        c.current_dir(d);
    }
    let out = c.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn rlimit(res: nix::sys::resource::Resource) -> String {
    let show = |v: u64| {
        if v == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    match nix::sys::resource::getrlimit(res) {
        Ok((soft, hard)) => format!("{} (hard {})", show(soft), show(hard)),
        Err(e) => format!("unavailable: {e}"),
    }
}

fn mem_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .map(|l| l["MemTotal:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unavailable".into())
}

/// The tokio version pinned in Cargo.lock.
pub fn tokio_version(root: &Path) -> String {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"tokio\""
            && let Some(v) = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = "))
        {
            return v.trim_matches('"').to_string();
        }
    }
    "unavailable: no tokio in Cargo.lock".into()
}

/// hostname, kernel, cores, memory, rustc, tokio, git commit and limits.
/// `go` is added by the caller (it knows whether a toolchain was found).
pub fn facts(root: &Path) -> BTreeMap<String, String> {
    use nix::sys::resource::Resource;
    let mut h = BTreeMap::new();
    h.insert("hostname".into(), read_trim("/proc/sys/kernel/hostname"));
    h.insert("kernel".into(), read_trim("/proc/sys/kernel/osrelease"));
    h.insert(
        "cores".into(),
        std::thread::available_parallelism()
            .map(|n| n.to_string())
            .unwrap_or_else(|e| format!("unavailable: {e}")),
    );
    h.insert("memory".into(), mem_total());
    h.insert(
        "rustc".into(),
        command_line("rustc", &["-V"], None)
            .unwrap_or_else(|| "unavailable: rustc not on PATH".into()),
    );
    h.insert("tokio".into(), tokio_version(root));
    let commit = command_line("git", &["rev-parse", "HEAD"], Some(root));
    let dirty = command_line(
        "git",
        &["status", "--porcelain", "--untracked-files=no"],
        Some(root),
    )
    .map(|s| {
        if s.is_empty() {
            ""
        } else {
            " (with uncommitted changes)"
        }
    });
    h.insert(
        "git_commit".into(),
        match commit {
            Some(c) => format!("{c}{}", dirty.unwrap_or("")),
            None => "unavailable: not a git checkout".into(),
        },
    );
    h.insert("pid_max".into(), read_trim("/proc/sys/kernel/pid_max"));
    h.insert(
        "threads_max".into(),
        read_trim("/proc/sys/kernel/threads-max"),
    );
    h.insert(
        "max_map_count".into(),
        read_trim("/proc/sys/vm/max_map_count"),
    );
    h.insert("rlimit_nofile".into(), rlimit(Resource::RLIMIT_NOFILE));
    h.insert("rlimit_nproc".into(), rlimit(Resource::RLIMIT_NPROC));
    h
}
