//! `schedlab watch`: the command line, as a clap `Args` the runner's CLI
//! flattens into its `watch` subcommand.
//!
//! Exit codes: 0 no known failure; 3 a known failure was named; 2 bad input
//! (no such process, not permitted, a bad URL or duration); 1 the watch
//! itself failed (writing `--out`); 130 interrupted before any sample.

use crate::signatures::Signature;
use crate::watch::{self, Options, Target, WatchError};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  schedlab watch 4242                      watch pid 4242 for 30 s, then print a verdict
  schedlab watch --for 10s --json 4242     the same as JSON (every sample included)
  schedlab watch --stacks 4242             also sample each running thread's PC (ptrace)
  schedlab watch --pprof http://127.0.0.1:6060 4242   also poll a Go process's goroutine profile
  schedlab watch --out results/w1 -- ./server --port 80   launch, watch, write a run and its report

Exit: 0 no known failure, 3 a known failure named, 2 bad input, 1 error.")]
pub struct WatchArgs {
    /// The process to watch (or give a command to launch after `--`).
    pub pid: Option<i32>,
    /// How long to watch (500ms, 10s, 2m). A launched command is stopped
    /// (SIGTERM) when the watch ends.
    #[arg(long = "for", default_value = "30s", value_name = "DURATION")]
    pub for_: String,
    /// The sampling period.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub every: String,
    /// Print the report as JSON (verdict, findings, every sample).
    #[arg(long)]
    pub json: bool,
    /// Write a run directory in the lab's format, with report.html.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Sample each thread's program counter (ptrace seize/interrupt/detach
    /// for running threads; blocked threads' PCs come from /proc).
    #[arg(long)]
    pub stacks: bool,
    /// A Go process's net/http/pprof base URL (http://host:port or
    /// .../debug/pprof/): poll its goroutine profile.
    #[arg(long, value_name = "URL")]
    pub pprof: Option<String>,
    /// A command to launch and watch (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Turns the arguments into options, or a usage error.
pub fn options(a: &WatchArgs) -> Result<Options, WatchError> {
    let dur = |what: &str, s: &str| {
        schedlab_protocol::util::parse_duration(s)
            .map_err(|e| WatchError::Usage(format!("--{what}: {e}")))
            .and_then(|d| {
                if d.is_zero() || d > Duration::from_secs(7 * 24 * 3600) {
                    Err(WatchError::Usage(format!(
                        "--{what}: {s} is out of range (more than 0, at most a week)"
                    )))
                } else {
                    Ok(d)
                }
            })
    };
    let target = match (a.pid, a.command.is_empty()) {
        (Some(p), true) if p > 0 => Target::Pid(p),
        (Some(p), true) => return Err(WatchError::Usage(format!("{p} is not a process id"))),
        (None, false) => Target::Command(a.command.clone()),
        (Some(_), false) => {
            return Err(WatchError::Usage(
                "give a PID or a command after --, not both".into(),
            ));
        }
        (None, true) => {
            return Err(WatchError::Usage(
                "give a PID to watch, or a command after -- (see --help)".into(),
            ));
        }
    };
    Ok(Options {
        target,
        duration: dur("for", &a.for_)?,
        every: dur("every", &a.every)?,
        stacks: a.stacks,
        pprof: a.pprof.clone(),
        quiet_child: false,
        child_env: Vec::new(),
    })
}

/// Runs `schedlab watch`; returns the exit code. `render` draws the report
/// of a run directory (the runner passes the report crate's renderer).
pub fn run(a: &WatchArgs, render: &dyn Fn(&Path) -> anyhow::Result<PathBuf>) -> i32 {
    let opts = match options(a) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("schedlab watch: {e}");
            return 2;
        }
    };
    if let Some(out) = &a.out
        && out.join("run.json").exists()
    {
        eprintln!(
            "schedlab watch: {} already holds a run: give a new directory to --out",
            out.display()
        );
        return 2;
    }
    let tty = std::io::stderr().is_terminal();
    let total = opts.duration.as_secs_f64();
    let report = watch::watch(&opts, |t, f| {
        if tty {
            eprint!(
                "\r\x1b[2K[{t:5.1}/{total:.0} s] threads {}, in R {:.0}, cores {:.2}, RSS {}",
                f.threads,
                f.r_threads,
                f.cores,
                crate::signatures::mib(f.rss_bytes as f64)
            );
        }
    });
    if tty {
        eprint!("\r\x1b[2K");
    }
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("schedlab watch: {e}");
            return 2;
        }
    };
    if a.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("schedlab watch: {e}");
                return 1;
            }
        }
    } else {
        print!("{}", crate::output::text(&report));
    }
    if let Some(out) = &a.out {
        if let Err(e) = crate::rundir::write(out, &report) {
            eprintln!("schedlab watch: writing {}: {e:#}", out.display());
            return 1;
        }
        match render(out) {
            Ok(html) => eprintln!(
                "run directory: {}  report: {}",
                out.display(),
                html.display()
            ),
            Err(e) => {
                eprintln!(
                    "schedlab watch: the run is in {} but its report failed: {e:#}",
                    out.display()
                );
                return 1;
            }
        }
    }
    if report.samples == 0 && watch::interrupted() {
        return 130;
    }
    if report.verdict.signature == Signature::None {
        0
    } else {
        3
    }
}
