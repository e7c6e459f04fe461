//! The watch loop: look every period until `--for` is over, the target
//! exits, or the user presses Ctrl-C; then diagnose what was seen.
//!
//! ```text
//! target (pid | spawned command)
//!   └─ every period: Collector::tick ──> Deriver::push ──> figures[]
//!                    Stacker::sample (--stacks)           stacks
//!                    pprof answers (own thread, --pprof)  pprof series
//! end: signatures::diagnose(figures, runtime, pprof, stacks) -> Report
//! ```
//!
//! Nothing is lost on an early end: an exit or a Ctrl-C ends the loop, and
//! the report is made of whatever was seen, saying why it ended.

use crate::figures::{Deriver, Figures};
use crate::pprof::{self, PprofSeries};
use crate::runtime::{self, RuntimeInfo};
use crate::sample::{Collector, LookError, Tick};
use crate::signatures::{self, Finding, Window};
use crate::stacks::{StackError, StackReport, Stacker};
use serde::Serialize;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What to watch.
#[derive(Debug, Clone)]
pub enum Target {
    Pid(i32),
    /// Launch this command, then watch it; it is stopped when the watch
    /// ends.
    Command(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    pub duration: Duration,
    pub every: Duration,
    pub stacks: bool,
    pub pprof: Option<String>,
    /// A launched command's stdin, stdout and stderr go to /dev/null
    /// (the corpus: scenario metrics lines are noise there).
    pub quiet_child: bool,
    /// Extra environment for a launched command.
    pub child_env: Vec<(String, String)>,
}

/// Input the user can fix: exit 2.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("no process {0} (it does not exist, or has already exited)")]
    NoSuchProcess(i32),
    #[error("{0}")]
    Denied(String),
    #[error("cannot start `{cmd}`: {err}")]
    Spawn { cmd: String, err: String },
    #[error(transparent)]
    Stacks(#[from] StackError),
    #[error("--pprof: {0}")]
    Pprof(#[from] pprof::PprofError),
    #[error("{0}")]
    Usage(String),
}

/// How the watch ended.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "how")]
pub enum Ended {
    /// `--for` was over.
    Done,
    /// The target exited while watched (with its status when we launched
    /// it).
    Exited { status: Option<String> },
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// Everything the watch learnt.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub pid: i32,
    pub cmdline: String,
    pub runtime: RuntimeInfo,
    pub every_s: f64,
    pub watched_s: f64,
    pub samples: usize,
    pub ended: Ended,
    pub syscalls_readable: bool,
    /// The verdict: the first finding (`none` when nothing held).
    pub verdict: Finding,
    /// Every signature that held, best first, then `none`.
    pub findings: Vec<Finding>,
    pub figures: Vec<Figures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stacks: Option<StackReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pprof: Option<PprofSeries>,
    /// The watcher's own CPU over the watch, in cores.
    pub watcher_cores: f64,
    /// Unix time the watch began.
    pub started_unix: f64,
}

/// Peeks at blocked threads' syscalls between two looks.
const PEEKS: u32 = 4;

/// Set by SIGINT/SIGTERM/SIGHUP while a watch runs.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signals() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let act = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe {
            let _ = sigaction(s, &act);
        }
    }
}

/// Whether a Ctrl-C ended the watch (for the caller's exit code).
pub fn interrupted() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Watches and diagnoses. `progress` is called after every sample with
/// (seconds watched, the newest figures).
pub fn watch(
    opts: &Options,
    mut progress: impl FnMut(f64, &Figures),
) -> Result<Report, WatchError> {
    if opts.every.is_zero() {
        return Err(WatchError::Usage("--every must be more than 0".into()));
    }
    install_signals();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut child = None;
    let pid = match &opts.target {
        Target::Pid(p) => *p,
        Target::Command(cmd) => {
            let c = spawn(cmd, opts.quiet_child, &opts.child_env)?;
            let pid = c.id() as i32;
            child = Some(c);
            pid
        }
    };
    let result = watch_pid(pid, opts, &mut child, started_unix, &mut progress);
    if let Some(c) = child.as_mut() {
        stop_child(c);
    }
    result
}

fn spawn(cmd: &[String], quiet: bool, env: &[(String, String)]) -> Result<Child, WatchError> {
    use std::process::Stdio;
    let (prog, args) = cmd
        .split_first()
        .ok_or_else(|| WatchError::Usage("give a PID or a command after --".into()))?;
    let mut c = Command::new(prog);
    c.args(args).envs(env.iter().cloned());
    if quiet {
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    }
    c.spawn().map_err(|e| WatchError::Spawn {
        cmd: cmd.join(" "),
        err: e.to_string(),
    })
}

/// SIGTERM, then SIGKILL after a second, then reap.
fn stop_child(c: &mut Child) {
    if matches!(c.try_wait(), Ok(Some(_))) {
        return;
    }
    let pid = nix::unistd::Pid::from_raw(c.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(1) {
        if matches!(c.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = c.kill();
    let _ = c.wait();
}

fn watch_pid(
    pid: i32,
    opts: &Options,
    child: &mut Option<Child>,
    started_unix: f64,
    progress: &mut impl FnMut(f64, &Figures),
) -> Result<Report, WatchError> {
    let mut col = Collector::new(pid, opts.every).map_err(|e| match e {
        LookError::Gone(p) => WatchError::NoSuchProcess(p),
        LookError::Denied { pid, msg } => {
            WatchError::Denied(format!("cannot read /proc/{pid}: {msg}"))
        }
    })?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let t0 = Instant::now();
    let cpu0 = crate::cost::process_cpu_s();
    let mut stacker = if opts.stacks {
        Some(Stacker::new(pid)?)
    } else {
        None
    };
    let poll_stop = Arc::new(AtomicBool::new(false));
    let pprof_rx = match &opts.pprof {
        Some(base) => {
            let url = pprof::profile_url(base);
            // The first answer decides whether the URL is usable at all; a
            // command we just launched gets a few seconds to start serving.
            let patience = if child.is_some() {
                Duration::from_secs(5)
            } else {
                Duration::ZERO
            };
            first_answer(&url, patience)?;
            Some((
                url.clone(),
                pprof::spawn_poller(url, opts.every, t0, poll_stop.clone()),
            ))
        }
        None => None,
    };
    let mut series = pprof_rx.as_ref().map(|(url, _)| PprofSeries {
        url: url.clone(),
        ..Default::default()
    });
    let mut deriver = Deriver::new();
    let mut figures = Vec::new();
    let mut rt: Option<RuntimeInfo> = None;
    let mut syscalls_readable = true;
    let mut samples = 0usize;
    let ended = loop {
        let tick_start = Instant::now();
        let tick = match col.tick() {
            Ok(t) => t,
            Err(LookError::Gone(_)) => break exited(child),
            Err(LookError::Denied { pid, msg }) if samples == 0 => {
                return Err(WatchError::Denied(format!(
                    "cannot read /proc/{pid}: {msg}"
                )));
            }
            Err(LookError::Denied { .. }) => break exited(child),
        };
        samples += 1;
        let names: Vec<String> = tick.scanned.iter().map(|t| t.comm.clone()).collect();
        match rt.as_mut() {
            // At the first look, while the executable is surely there.
            None => rt = Some(runtime::detect(pid, &names)),
            Some(r) => {
                r.refine(pid, &names);
            }
        }
        syscalls_readable &= syscalls_were_readable(&tick);
        if let Some(st) = stacker.as_mut() {
            let threads: Vec<(i32, u8)> = stack_subset(&tick);
            st.sample(&threads, &STOP);
        }
        if let (Some((_, rx)), Some(s)) = (&pprof_rx, series.as_mut()) {
            while let Ok((t, r)) = rx.try_recv() {
                s.push(t, r);
            }
        }
        if let Some(f) = deriver.push(&tick) {
            progress(t0.elapsed().as_secs_f64(), &f);
            figures.push(f);
        }
        if STOP.load(Ordering::SeqCst) {
            break Ended::Interrupted;
        }
        if t0.elapsed() >= opts.duration {
            break Ended::Done;
        }
        if let Some(c) = child.as_mut()
            && let Ok(Some(st)) = c.try_wait()
        {
            break Ended::Exited {
                status: Some(st.to_string()),
            };
        }
        let next = tick_start + opts.every;
        // Between looks, a few quick peeks at blocked threads' syscalls:
        // threads that cycle between a slow call and a wait for their P
        // are in the call a small part of the time.
        let peek_every = opts.every / (PEEKS + 1);
        let mut next_peek = tick_start + peek_every;
        while Instant::now() < next && !STOP.load(Ordering::SeqCst) {
            if Instant::now() >= next_peek {
                col.peek_slow();
                next_peek += peek_every;
            }
            let until = next.min(next_peek);
            std::thread::sleep(
                until
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
            );
        }
    };
    poll_stop.store(true, Ordering::SeqCst);
    if let Some(st) = stacker.as_mut() {
        st.finish();
    }
    if let (Some((_, rx)), Some(s)) = (&pprof_rx, series.as_mut()) {
        while let Ok((t, r)) = rx.try_recv() {
            s.push(t, r);
        }
    }
    let watched_s = t0.elapsed().as_secs_f64();
    let watcher_cores = (crate::cost::process_cpu_s() - cpu0) / watched_s.max(1e-9);
    let rt = rt.unwrap_or_else(|| runtime::detect(pid, &[]));
    let stacks = stacker.map(|s| s.report.clone());
    let findings = signatures::diagnose(&Window {
        figs: &figures,
        rt: &rt,
        pprof: series.as_ref(),
        stacks: stacks.as_ref(),
        syscalls_readable,
    });
    Ok(Report {
        pid,
        cmdline,
        runtime: rt,
        every_s: opts.every.as_secs_f64(),
        watched_s,
        samples,
        ended,
        syscalls_readable,
        verdict: findings[0].clone(),
        findings,
        figures,
        stacks,
        pprof: series,
        watcher_cores,
        started_unix,
    })
}

/// Fetches until the endpoint answers or `patience` is spent.
fn first_answer(url: &str, patience: Duration) -> Result<(), pprof::PprofError> {
    let t0 = Instant::now();
    loop {
        match pprof::fetch(url, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e @ pprof::PprofError::Unreachable { .. }) if t0.elapsed() < patience => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

fn exited(child: &mut Option<Child>) -> Ended {
    let status = child
        .as_mut()
        .and_then(|c| c.wait().ok())
        .map(|s| s.to_string());
    Ended::Exited { status }
}

/// A blocked thread whose syscall read as `Unknown` means the file was not
/// readable (no ptrace-read permission).
fn syscalls_were_readable(t: &Tick) -> bool {
    use crate::sample::Sys;
    let blocked: Vec<_> = t
        .scanned
        .iter()
        .filter(|s| matches!(s.state, b'S' | b'D'))
        .collect();
    blocked.is_empty() || blocked.iter().any(|s| s.sys != Sys::Unknown)
}

/// Which threads `--stacks` samples this tick: every running thread, and
/// up to 64 blocked ones (their PCs come from /proc, for free).
fn stack_subset(t: &Tick) -> Vec<(i32, u8)> {
    let mut v: Vec<(i32, u8)> = t
        .scanned
        .iter()
        .filter(|s| s.state == b'R')
        .map(|s| (s.tid, s.state))
        .collect();
    v.extend(
        t.scanned
            .iter()
            .filter(|s| s.state != b'R')
            .take(64)
            .map(|s| (s.tid, s.state)),
    );
    v
}
