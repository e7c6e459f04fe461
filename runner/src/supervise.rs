//! Running one point: one scenario process, supervised, sampled, merged.
//!
//! ```text
//!   runner (subreaper)                     scenario process (own pgid)
//!   ───────────────────                    ───────────────────────────
//!   pipe2(O_CLOEXEC) ── write end ──dup2──▶ fd 3  (SCHEDLAB_METRICS_FD=3)
//!   stdout, stderr pipes ◀───────────────── stdout, stderr
//!   sampler thread ── /proc/<pid> ──────▶  (read from outside)
//!   loop: poll(metrics, stdout, stderr, 20 ms)
//!         restamp lines, interleave proc samples, stream to .jsonl tmp
//!         deadline? SIGTERM group; +1 s: SIGKILL group
//!         Ctrl-C?   same (SIGKILL after 250 ms), then the point is dropped
//!         waitid(WNOWAIT): exited? -> stop sampler, SIGKILL group, reap all
//! ```
//!
//! # Invariants
//!
//! * **No orphan.** The child calls `setpgid(0, 0)` before exec, so it and
//!   everything it forks share a process group whose id is its pid. The
//!   runner is a child subreaper (`PR_SET_CHILD_SUBREAPER`, set in
//!   `main`), so grandchildren orphaned by the leader's death are
//!   re-parented to the runner, not to init. When the leader ends (by itself
//!   or killed), the runner SIGKILLs the group and reaps with
//!   `waitpid(-pgid)` until `kill(-pgid, 0)` says ESRCH: when `run_point`
//!   returns, no process of the group exists, not even a zombie. The child
//!   also has `PR_SET_PDEATHSIG = SIGKILL`, so even a SIGKILLed runner does
//!   not leave the leader running.
//! * **The pid is never reused under us.** Exit is detected with
//!   `waitid(..., WNOWAIT)`, which leaves the zombie in place; the sampler
//!   is stopped and the group killed while the leader's pid is still held
//!   by its zombie, and only then is it reaped.
//! * **One clock, in order.** Each scenario line is stamped with the runner
//!   clock (ms since spawn) when its last byte is read; its own `t_ms` is
//!   kept as `src_t_ms`. Proc samples are stamped when read. Lines wait in a
//!   small buffer and are written sorted once older than [`REORDER_MS`], so
//!   the `.jsonl` is in time order although two threads produce it.
//! * **Atomic.** The `.jsonl` streams to a temp file renamed after the
//!   final `exit` line; an interrupted point's temp file is deleted.
//! * **Outcome** (first that applies): interrupted by Ctrl-C (the point is
//!   not kept); `timeout` (the runner's deadline fired); `skipped` (an
//!   `event` of kind `skip`: the runtime has no switch for a scheduler knob
//!   the point sets, scenario-kit knobs.rs); `limit` (an `event`
//!   of kind `limit`, or a crash whose stderr names a resource limit);
//!   `ok` (exit 0 with a summary); `crash` (anything else: non-zero exit,
//!   a signal, or exit 0 without a summary).

use crate::fsutil::AtomicFile;
use crate::sampler::{Sampler, SamplerCost};
use crate::signals;
use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;
use schedlab_protocol::metrics::{ExitLine, Line, MergedLine, Outcome, ProcSample};
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a line may wait to be sorted with lines from the other thread.
pub const REORDER_MS: f64 = 200.0;
/// SIGTERM to SIGKILL at the deadline.
pub const KILL_AFTER: Duration = Duration::from_secs(1);
/// SIGTERM to SIGKILL on Ctrl-C: the user is waiting, and the point is
/// dropped anyway, so its clean exit matters less than a prompt one.
pub const INTERRUPT_KILL_AFTER: Duration = Duration::from_millis(250);
/// The fd number scenarios receive the metrics pipe on.
pub const METRICS_FD: i32 = 3;
/// Bytes of stderr kept at each end.
pub const STDERR_TAIL: usize = 4096;

/// What to run for one point × runtime × repeat.
pub struct PointRun {
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// duration + grace.
    pub limit: Duration,
    pub sample_period: Duration,
    pub jsonl: PathBuf,
}

/// How it ended.
#[derive(Debug, Clone)]
pub struct PointEnd {
    pub outcome: Outcome,
    pub detail: String,
    /// Ctrl-C cut it: nothing was kept.
    pub interrupted: bool,
    pub sampler: SamplerCost,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stop {
    Deadline,
    Interrupt,
}

/// Lines waiting to be written in time order.
struct Merger {
    pending: Vec<(f64, u64, String)>,
    seq: u64,
    out: AtomicFile,
}

impl Merger {
    fn push(&mut self, t_ms: f64, json: String) {
        self.seq += 1;
        self.pending.push((t_ms, self.seq, json));
    }

    fn push_line(&mut self, line: &MergedLine) {
        let t = merged_t_ms(line);
        self.push(
            t,
            serde_json::to_string(line).expect("merged lines serialize"),
        );
    }

    /// Writes lines older than `before_ms`, sorted.
    fn flush_before(&mut self, before_ms: f64) -> Result<()> {
        self.pending
            .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let n = self
            .pending
            .iter()
            .take_while(|(t, _, _)| *t < before_ms)
            .count();
        for (_, _, json) in self.pending.drain(..n) {
            self.out.write_line(&json)?;
        }
        Ok(())
    }
}

fn merged_t_ms(l: &MergedLine) -> f64 {
    match l {
        MergedLine::Hello { .. } => 0.0,
        MergedLine::Phase { t_ms, .. }
        | MergedLine::Sample { t_ms, .. }
        | MergedLine::Event { t_ms, .. }
        | MergedLine::Summary { t_ms, .. } => *t_ms,
        MergedLine::Proc(p) => p.t_ms,
        MergedLine::Exit(e) => e.t_ms,
    }
}

/// A scenario line on the runner clock.
pub fn restamp(line: Line, t_ms: f64) -> MergedLine {
    match line {
        Line::Hello {
            v,
            scenario,
            runtime,
            params,
            pid,
        } => MergedLine::Hello {
            v,
            scenario,
            runtime,
            params,
            pid,
        },
        Line::Phase { t_ms: src, name } => MergedLine::Phase {
            t_ms,
            src_t_ms: Some(src),
            name,
        },
        Line::Sample {
            t_ms: src,
            probe,
            counters,
        } => MergedLine::Sample {
            t_ms,
            src_t_ms: Some(src),
            probe,
            counters,
        },
        Line::Event {
            t_ms: src,
            kind,
            text,
        } => MergedLine::Event {
            t_ms,
            src_t_ms: Some(src),
            kind,
            text,
        },
        Line::Summary { t_ms: src, metrics } => MergedLine::Summary {
            t_ms,
            src_t_ms: Some(src),
            metrics,
        },
    }
}

/// What the scenario said that decides the outcome.
#[derive(Default)]
struct Heard {
    summary: bool,
    limit: Option<String>,
    /// An `event` of kind `skip`: the scenario's runtime has no switch for
    /// a parameter it was given (scenario-kit knobs.rs) and did not run.
    skip: Option<String>,
}

/// A byte stream split into lines.
struct LineBuf {
    buf: Vec<u8>,
    open: bool,
}

impl LineBuf {
    fn new() -> Self {
        LineBuf {
            buf: Vec::new(),
            open: true,
        }
    }

    /// Reads what is available; returns complete lines.
    fn read_from(&mut self, r: &mut impl Read) -> Vec<String> {
        let mut chunk = [0u8; 16384];
        loop {
            match r.read(&mut chunk) {
                Ok(0) => {
                    self.open = false;
                    break;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.open = false;
                    break;
                }
            }
        }
        let mut lines = Vec::new();
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            let rest = self.buf.split_off(i + 1);
            let line = std::mem::replace(&mut self.buf, rest);
            lines.push(
                String::from_utf8_lossy(&line[..i])
                    .trim_end_matches('\r')
                    .to_string(),
            );
        }
        if !self.open && !self.buf.is_empty() {
            lines.push(String::from_utf8_lossy(&std::mem::take(&mut self.buf)).to_string());
        }
        lines
    }
}

/// Keeps the first and the last [`STDERR_TAIL`] bytes of a stream.
///
/// Both ends matter: Rust panics and most errors end a stream, but the Go
/// runtime prints its verdict first ("runtime: program exceeds
/// 10000-thread limit", "fatal error: thread exhaustion") and then megabytes
/// of goroutine stacks, so a tail alone would lose it.
///
/// Scheduler-trace lines (`SCHED ...`, which Go prints under
/// `GODEBUG=schedtrace=N` and gmp under `GMP_DEBUG`) are taken out of the
/// stream into [`Tail::sched`], so they neither fill the kept ends nor push
/// a fatal error out of them; the loop files them as `schedtrace` events.
struct Tail {
    head: Vec<u8>,
    buf: Vec<u8>,
    total: usize,
    open: bool,
    /// The current line, until its newline says whether it is a SCHED line.
    line: Vec<u8>,
    /// SCHED lines read and not yet taken.
    sched: Vec<String>,
}

/// A line longer than this is not a SCHED line: it goes to the tail.
const SCHED_LINE_MAX: usize = 4096;

impl Tail {
    fn new() -> Tail {
        Tail {
            head: Vec::new(),
            buf: Vec::new(),
            total: 0,
            open: true,
            line: Vec::new(),
            sched: Vec::new(),
        }
    }

    fn read_from(&mut self, r: &mut impl Read) {
        let mut chunk = [0u8; 16384];
        loop {
            match r.read(&mut chunk) {
                Ok(0) => {
                    self.open = false;
                    let rest = std::mem::take(&mut self.line);
                    self.keep(&rest);
                    return;
                }
                Ok(n) => self.split_lines(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    /// Routes complete lines: SCHED lines to `sched`, the rest to `keep`.
    fn split_lines(&mut self, mut bytes: &[u8]) {
        while let Some(i) = bytes.iter().position(|b| *b == b'\n') {
            self.line.extend_from_slice(&bytes[..=i]);
            bytes = &bytes[i + 1..];
            let line = std::mem::take(&mut self.line);
            if line.starts_with(b"SCHED ") {
                self.sched
                    .push(String::from_utf8_lossy(&line).trim_end().to_string());
            } else {
                self.keep(&line);
            }
        }
        self.line.extend_from_slice(bytes);
        if self.line.len() > SCHED_LINE_MAX
            || !b"SCHED ".starts_with(&self.line[..self.line.len().min(6)])
        {
            let line = std::mem::take(&mut self.line);
            self.keep(&line);
        }
    }

    fn keep(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len();
        let room = STDERR_TAIL.saturating_sub(self.head.len());
        let to_head = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..to_head]);
        bytes = &bytes[to_head..];
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > STDERR_TAIL {
            self.buf.drain(..self.buf.len() - STDERR_TAIL);
        }
    }

    fn text(&self) -> String {
        let head = String::from_utf8_lossy(&self.head);
        let elided = self.total - self.head.len() - self.buf.len();
        let tail = String::from_utf8_lossy(&self.buf);
        match elided {
            0 => format!("{head}{tail}"),
            n => format!("{head}\n[... {n} bytes of stderr not kept ...]\n{tail}"),
        }
    }
}

fn set_nonblocking(fd: std::os::fd::BorrowedFd<'_>) -> Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Spawns the scenario in its own process group with the metrics pipe on
/// fd 3.
fn spawn(p: &PointRun, metrics_w: &OwnedFd) -> Result<std::process::Child> {
    let wfd = metrics_w.as_raw_fd();
    let mut cmd = Command::new(&p.binary);
    cmd.args(&p.args)
        .envs(p.env.iter().map(|(k, v)| (k, v)))
        .env(
            schedlab_protocol::metrics::ENV_METRICS_FD,
            METRICS_FD.to_string(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure runs in the forked child before exec and calls
    // only async-signal-safe functions (setpgid, prctl, dup2, fcntl); it
    // allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            if wfd == METRICS_FD {
                // dup2 onto itself would keep O_CLOEXEC: clear it instead.
                let flags = libc::fcntl(wfd, libc::F_GETFD);
                libc::fcntl(wfd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            } else if libc::dup2(wfd, METRICS_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .with_context(|| format!("starting {}", p.binary.display()))
}

/// Signals the whole group; a group already gone is fine.
fn signal_group(pgid: i32, sig: Signal) {
    let _ = kill(Pid::from_raw(-pgid), sig);
}

/// Has the leader ended? (Leaves the zombie in place: WNOWAIT.)
fn leader_exited(pid: i32) -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(
        waitid(Id::Pid(Pid::from_raw(pid)), flags),
        Ok(WaitStatus::StillAlive)
    )
}

/// SIGKILLs and reaps every process of the group until none is left.
/// Returns false if some survived for 5 s (not expected: only a process
/// that left the group could, and then it is not ours).
pub fn reap_group(pgid: i32) -> bool {
    let start = Instant::now();
    loop {
        signal_group(pgid, Signal::SIGKILL);
        while let Ok(st) = waitpid(Pid::from_raw(-pgid), Some(WaitPidFlag::WNOHANG)) {
            if st == WaitStatus::StillAlive {
                break;
            }
        }
        if kill(Pid::from_raw(-pgid), None) == Err(Errno::ESRCH) {
            return true;
        }
        if start.elapsed() > Duration::from_secs(5) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Words in stderr that say a resource limit was hit.
const LIMIT_WORDS: [&str; 7] = [
    "thread exhaustion",
    "Resource temporarily unavailable",
    "Too many open files",
    "thread limit",
    "pthread_create failed",
    "failed to spawn thread",
    "Cannot allocate memory",
];

fn limit_in_stderr(tail: &str) -> Option<String> {
    tail.lines()
        .rev()
        .find(|l| LIMIT_WORDS.iter().any(|w| l.contains(w)))
        .map(|l| l.trim().to_string())
}

/// The stderr line that best says what went wrong: the last one that
/// mentions an error or a panic, else the last non-empty one.
pub fn telling_line(tail: &str) -> String {
    let lines: Vec<&str> = tail
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let telling = |l: &&&str| {
        let low = l.to_ascii_lowercase();
        low.contains("error") || low.contains("panicked") || low.contains("fatal")
    };
    lines
        .iter()
        .rev()
        .find(telling)
        .or(lines.last())
        .unwrap_or(&"")
        .to_string()
}

fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// Runs one point to its end. Err only for runner-side failures (cannot
/// spawn, cannot write): whatever the scenario does is an outcome.
pub fn run_point(p: &PointRun) -> Result<PointEnd> {
    let (metrics_r, metrics_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let mut out = Merger {
        pending: Vec::new(),
        seq: 0,
        out: AtomicFile::create(&p.jsonl)?,
    };
    let t0 = Instant::now();
    let mut child = spawn(p, &metrics_w)?;
    drop(metrics_w);
    let pid = child.id() as i32;
    let pgid = pid;
    crate::sentinel::watch(pgid);
    let (tx, rx) = mpsc::channel::<ProcSample>();
    let sampler = Sampler::start(pid, t0, p.sample_period, tx);

    let mut metrics_file = std::fs::File::from(metrics_r);
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    set_nonblocking(metrics_file.as_fd())?;
    set_nonblocking(stdout.as_fd())?;
    set_nonblocking(stderr.as_fd())?;

    let mut metrics_lines = LineBuf::new();
    let mut out_sink = LineBuf::new();
    let mut err_tail = Tail::new();
    let mut heard = Heard::default();
    let mut stop: Option<(Stop, Instant)> = None;
    let mut killed = false;
    let now_ms = |t0: Instant| t0.elapsed().as_secs_f64() * 1000.0;

    loop {
        poll_readable(&[
            (metrics_lines.open, metrics_file.as_fd()),
            (out_sink.open, stdout.as_fd()),
            (err_tail.open, stderr.as_fd()),
        ]);
        let t = now_ms(t0);
        if metrics_lines.open {
            for raw in metrics_lines.read_from(&mut metrics_file) {
                take_line(&raw, t, &mut heard, &mut out);
            }
        }
        if out_sink.open {
            out_sink.read_from(&mut stdout);
        }
        if err_tail.open {
            err_tail.read_from(&mut stderr);
            take_sched_lines(&mut err_tail, t, &mut out);
        }
        for s in rx.try_iter() {
            out.push_line(&MergedLine::Proc(s));
        }
        out.flush_before(t - REORDER_MS)?;

        if stop.is_none() {
            if signals::interrupted() {
                stop = Some((Stop::Interrupt, Instant::now()));
            } else if t0.elapsed() >= p.limit {
                stop = Some((Stop::Deadline, Instant::now()));
            }
            if stop.is_some() {
                signal_group(pgid, Signal::SIGTERM);
            }
        } else if let Some((why, since)) = stop
            && !killed
            && since.elapsed()
                >= match why {
                    Stop::Interrupt => INTERRUPT_KILL_AFTER,
                    Stop::Deadline => KILL_AFTER,
                }
        {
            signal_group(pgid, Signal::SIGKILL);
            killed = true;
        }
        if leader_exited(pid) {
            break;
        }
    }

    let cost = sampler.stop();
    for s in rx.try_iter() {
        out.push_line(&MergedLine::Proc(s));
    }
    let exit_ms = now_ms(t0);
    signal_group(pgid, Signal::SIGKILL);
    let status = waitpid(Pid::from_raw(pid), None).context("reaping the scenario process")?;
    let clean = reap_group(pgid);
    if clean {
        crate::sentinel::release(pgid);
    }

    // Everything that can write to the pipes is dead: read to the end.
    let t = now_ms(t0);
    for raw in metrics_lines.read_from(&mut metrics_file) {
        take_line(&raw, t, &mut heard, &mut out);
    }
    err_tail.read_from(&mut stderr);
    take_sched_lines(&mut err_tail, t, &mut out);
    out_sink.read_from(&mut stdout);

    let stderr_tail = err_tail.text();
    let (code, signal) = match status {
        WaitStatus::Exited(_, c) => (Some(c), None),
        WaitStatus::Signaled(_, s, _) => (None, Some(s as i32)),
        _ => (None, None),
    };
    let (outcome, mut detail) = decide(
        stop.map(|s| s.0),
        killed,
        code,
        signal,
        &heard,
        &stderr_tail,
        p.limit,
    );
    if !clean {
        detail.push_str(&format!(" (warning: process group {pgid} did not go away)"));
    }
    let interrupted = stop.map(|s| s.0) == Some(Stop::Interrupt);
    if interrupted {
        // Dropping the AtomicFile deletes the temp file: the point is not kept.
        return Ok(PointEnd {
            outcome: Outcome::Skipped,
            detail,
            interrupted,
            sampler: cost,
        });
    }
    out.push_line(&MergedLine::Exit(ExitLine {
        t_ms: exit_ms.max(t),
        outcome,
        code,
        signal,
        stderr_tail,
    }));
    out.flush_before(f64::INFINITY)?;
    out.out.commit()?;
    Ok(PointEnd {
        outcome,
        detail,
        interrupted,
        sampler: cost,
    })
}

/// Waits (at most 20 ms) until one of the open fds is readable.
fn poll_readable(fds: &[(bool, std::os::fd::BorrowedFd<'_>)]) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut pfds: Vec<PollFd> = fds
        .iter()
        .filter(|(open, _)| *open)
        .map(|(_, fd)| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    if pfds.is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    } else {
        let _ = poll(&mut pfds, PollTimeout::from(20u16));
    }
}

/// Files the SCHED lines read from stderr as `schedtrace` events at `t_ms`.
fn take_sched_lines(tail: &mut Tail, t_ms: f64, out: &mut Merger) {
    for text in tail.sched.drain(..) {
        out.push_line(&MergedLine::Event {
            t_ms,
            src_t_ms: None,
            kind: "schedtrace".into(),
            text,
        });
    }
}

/// Parses one scenario line, notes what matters, queues it.
fn take_line(raw: &str, t_ms: f64, heard: &mut Heard, out: &mut Merger) {
    if raw.trim().is_empty() {
        return;
    }
    match serde_json::from_str::<Line>(raw) {
        Ok(line) => {
            match &line {
                Line::Summary { .. } => heard.summary = true,
                Line::Event { kind, text, .. } if kind == "limit" => {
                    heard.limit.get_or_insert_with(|| text.clone());
                }
                Line::Event { kind, text, .. } if kind == "skip" => {
                    heard.skip.get_or_insert_with(|| text.clone());
                }
                _ => {}
            }
            out.push_line(&restamp(line, t_ms));
        }
        Err(e) => {
            let shown: String = raw.chars().take(300).collect();
            out.push_line(&MergedLine::Event {
                t_ms,
                src_t_ms: None,
                kind: "runner".into(),
                text: format!("unreadable metrics line ({e}): {shown}"),
            });
        }
    }
}

/// The outcome rules of the top of this file.
fn decide(
    stop: Option<Stop>,
    killed: bool,
    code: Option<i32>,
    signal: Option<i32>,
    heard: &Heard,
    stderr_tail: &str,
    limit: Duration,
) -> (Outcome, String) {
    match stop {
        Some(Stop::Interrupt) => return (Outcome::Skipped, "interrupted by Ctrl-C".into()),
        Some(Stop::Deadline) => {
            let how = if killed {
                "SIGTERM ignored, SIGKILLed"
            } else {
                "ended by SIGTERM"
            };
            return (
                Outcome::Timeout,
                format!(
                    "still running at {:.1} s (duration + grace): {how}",
                    limit.as_secs_f64()
                ),
            );
        }
        None => {}
    }
    if let Some(text) = &heard.skip {
        return (Outcome::Skipped, text.clone());
    }
    if let Some(text) = &heard.limit {
        return (Outcome::Limit, text.clone());
    }
    if code == Some(0) {
        return if heard.summary {
            (Outcome::Ok, String::new())
        } else {
            (Outcome::Crash, "exited 0 without a summary line".into())
        };
    }
    let status = match (code, signal) {
        (Some(c), _) => format!("exit code {c}"),
        (_, Some(s)) => format!("killed by {}", signal_name(s)),
        _ => "ended without a status".into(),
    };
    if let Some(l) = limit_in_stderr(stderr_tail) {
        return (Outcome::Limit, format!("{status}: {l}"));
    }
    let last = telling_line(stderr_tail);
    (
        Outcome::Crash,
        if last.is_empty() {
            status
        } else {
            format!("{status}: {last}")
        },
    )
}

/// Whether `path` is an executable file.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_rules() {
        let heard = Heard {
            summary: true,
            ..Heard::default()
        };
        let lim = Duration::from_secs(3);
        assert_eq!(
            decide(None, false, Some(0), None, &heard, "", lim).0,
            Outcome::Ok
        );
        assert_eq!(
            decide(Some(Stop::Deadline), true, None, Some(9), &heard, "", lim).0,
            Outcome::Timeout
        );
        let (o, d) = decide(None, false, None, Some(6), &Heard::default(), "boom\n", lim);
        assert_eq!(o, Outcome::Crash);
        assert_eq!(d, "killed by SIGABRT: boom");
        let (_, d) = decide(
            None,
            false,
            Some(2),
            None,
            &Heard::default(),
            "x: error: bad flag\nRun `x --help`.\n",
            lim,
        );
        assert_eq!(
            d, "exit code 2: x: error: bad flag",
            "the telling line, not the hint after it"
        );
        assert_eq!(
            decide(None, false, Some(0), None, &Heard::default(), "", lim).0,
            Outcome::Crash
        );
        let (o, d) = decide(
            None,
            false,
            Some(2),
            None,
            &Heard::default(),
            "x\nruntime: pthread_create failed: Resource temporarily unavailable\n",
            lim,
        );
        assert_eq!(o, Outcome::Limit);
        assert!(d.starts_with("exit code 2: runtime: pthread_create"), "{d}");
        let said = Heard {
            limit: Some("fds: EMFILE at 1024".into()),
            ..Heard::default()
        };
        assert_eq!(
            decide(None, false, Some(1), None, &said, "", lim),
            (Outcome::Limit, "fds: EMFILE at 1024".into())
        );
        // A runtime without a knob's switch says so and stops: skipped.
        let skip = Heard {
            skip: Some("gmp.handoff=off is a knob ...; go has no such switch".into()),
            ..Heard::default()
        };
        assert_eq!(
            decide(None, false, Some(4), None, &skip, "", lim),
            (
                Outcome::Skipped,
                "gmp.handoff=off is a knob ...; go has no such switch".into()
            )
        );
    }

    #[test]
    fn line_buffer_splits_and_keeps_partial_lines() {
        let mut lb = LineBuf::new();
        let mut src: &[u8] = b"a\nbc\nde";
        assert_eq!(
            lb.read_from(&mut src),
            vec!["a", "bc", "de"],
            "EOF flushes the partial line"
        );
        assert!(!lb.open);
    }

    #[test]
    fn merger_sorts_lines_from_both_sources() {
        let dir = std::env::temp_dir().join(format!("schedlab-merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.jsonl");
        let mut m = Merger {
            pending: Vec::new(),
            seq: 0,
            out: AtomicFile::create(&p).unwrap(),
        };
        m.push(10.0, "b".into());
        m.push(5.0, "a".into());
        m.push(300.0, "c".into());
        m.flush_before(100.0).unwrap();
        m.push(200.0, "b2".into());
        m.flush_before(f64::INFINITY).unwrap();
        m.out.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a\nb\nb2\nc\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sched_lines_leave_the_stderr_tail_as_events() {
        let mut t = Tail::new();
        t.split_lines(b"SCHED 0ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 idlethreads=2 runqueue=0\nfatal error: thread exh");
        t.split_lines(b"austion\nSCH");
        t.split_lines(b"ED 100ms: gomaxprocs=2\n");
        assert_eq!(t.sched.len(), 2, "{:?}", t.sched);
        assert!(t.sched[1].starts_with("SCHED 100ms"));
        assert_eq!(t.text(), "fatal error: thread exhaustion\n");
    }

    #[test]
    fn stderr_keeps_both_ends_so_a_go_fatal_error_survives_its_stacks() {
        let mut t = Tail::new();
        t.keep(b"runtime: program exceeds 10000-thread limit\nfatal error: thread exhaustion\n");
        for _ in 0..1000 {
            t.keep(b"goroutine 17 [syscall]:\nsyscall.Syscall(0x0, 0x10, 0xc000, 0x1000)\n");
        }
        t.keep(b"exit status 2\n");
        let text = t.text();
        assert!(text.starts_with("runtime: program exceeds 10000-thread limit"));
        assert!(text.ends_with("exit status 2\n"));
        assert!(text.contains("bytes of stderr not kept"));
        assert!(text.len() < 3 * STDERR_TAIL);
        assert_eq!(
            limit_in_stderr(&text).as_deref(),
            Some("fatal error: thread exhaustion")
        );
    }
}
