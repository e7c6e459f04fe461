//! The sentinel: a small process that outlives the runner long enough to
//! kill what the runner can no longer kill.
//!
//! `supervise.rs` guarantees that no process of a point outlives the point
//! *while the runner lives*: the runner is a child subreaper and reaps the
//! whole process group. A SIGKILLed runner (or one that `_exit`s on a second
//! Ctrl-C) runs no code, though: the point's leader dies of its
//! `PR_SET_PDEATHSIG`, but a grandchild it forked does not inherit that and
//! is re-parented to init, running for ever.
//!
//! ```text
//!   runner ──stdin pipe (CLOEXEC: no scenario inherits it)──▶ sentinel
//!          "+<pgid>\n" when a point's group starts
//!          "-<pgid>\n" when it has been reaped
//!   runner dies (any way) ─▶ EOF ─▶ sentinel: SIGKILL every group still
//!                                   registered, exit
//! ```
//!
//! Invariants:
//! * The sentinel is `/proc/self/exe __sentinel` (the same binary, even if
//!   cargo replaced the file meanwhile), in its own process group, with
//!   stdout and stderr on `/dev/null` (it never holds a caller's pipe open)
//!   and SIGINT, SIGTERM, SIGHUP and SIGPIPE ignored: only EOF ends it.
//! * A group is killed by its id, which stays valid while any member lives
//!   (Linux never reuses a pid that still names a process group), so a
//!   group whose leader is gone is still found.
//! * If the sentinel cannot start, the run goes on without it (a warning):
//!   it only matters when the runner is killed.

use std::io::{BufRead, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// The hidden subcommand that runs [`main_loop`].
pub const SUBCOMMAND: &str = "__sentinel";

static PIPE: Mutex<Option<ChildStdin>> = Mutex::new(None);

/// Starts the sentinel for this process (once).
pub fn start() {
    let mut pipe = PIPE.lock().unwrap_or_else(|e| e.into_inner());
    if pipe.is_some() {
        return;
    }
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg(SUBCOMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    match cmd.spawn() {
        Ok(mut child) => *pipe = child.stdin.take(),
        Err(e) => eprintln!(
            "schedlab: warning: no sentinel ({e}); if the runner is killed, a point's forked children may survive it"
        ),
    }
}

fn say(line: String) {
    let mut pipe = PIPE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pipe.as_mut()
        && p.write_all(line.as_bytes()).is_err()
    {
        *pipe = None;
    }
}

/// A point's process group has started.
pub fn watch(pgid: i32) {
    say(format!("+{pgid}\n"));
}

/// A point's process group is gone (reaped by the runner).
pub fn release(pgid: i32) {
    say(format!("-{pgid}\n"));
}

/// `schedlab __sentinel`: reads registrations until EOF, then kills.
pub fn main_loop() -> i32 {
    use nix::sys::signal::{SigHandler, Signal, signal};
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGPIPE,
    ] {
        // SAFETY: SIG_IGN installs no handler code.
        let _ = unsafe { signal(sig, SigHandler::SigIgn) };
    }
    let mut live: Vec<i32> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (op, id) = line.split_at(line.len().min(1));
        let Ok(pgid) = id.parse::<i32>() else {
            continue;
        };
        match op {
            "+" if pgid > 1 => live.push(pgid),
            "-" => live.retain(|p| *p != pgid),
            _ => {}
        }
    }
    // The runner is gone. Kill twice, a little apart, to catch a fork that
    // was under way during the first kill.
    for _ in 0..2 {
        for pgid in &live {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-pgid), Signal::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    0
}
