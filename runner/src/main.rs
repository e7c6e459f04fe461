//! `schedlab`: runs the lab's scenarios and judges them.
//!
//! ```text
//! schedlab list
//! schedlab run <scenario> [--runtime gmp,tokio,go] [--set axis=v1,v2]...
//!              [--repeats N] [--duration 5s] [--quick | --full] [--out DIR]
//!              [--sample-ms N] [--check] [--yes] [--shard K/N]
//! schedlab run-all [--quick | --full] [...same knobs...]
//! schedlab report [RUN_DIR]
//! schedlab compare RUN_A RUN_B [--format text|markdown|html] [--out FILE] [--check]
//! schedlab merge DIR... [--out DIR]
//! ```
//!
//! Modules, in the order data flows:
//!
//! * [`discover`]: root, scenarios, binaries, the Go toolchain;
//! * [`run`]: shapes sweeps, plans points, drives the run, prints the end;
//! * [`supervise`]: one point = one process group, its pipes, its deadline,
//!   its `.jsonl`;
//! * [`sampler`]: `/proc` beside it;
//! * [`analysis`]: `.jsonl` → points.json, summary.csv, verdicts, fidelity;
//! * [`host`], [`fsutil`], [`signals`], [`sentinel`]: facts, atomic files
//!   and the run lock, Ctrl-C/SIGTERM/SIGHUP, the process that cleans up
//!   after a killed runner.
//!
//! Exit codes: 0 done; 1 the runner itself failed (I/O, report), or every
//! point run crashed; 2 bad input (unknown scenario, runtime or axis, bad
//! sweep.yaml or value, missing binary, a plan over the size limit without
//! `--yes`, a run directory in use); 3 with `--check`, a verdict did not
//! hold; 130 interrupted by SIGINT, SIGTERM or SIGHUP (results kept).

mod analysis;
mod compare;
mod discover;
mod fsutil;
mod host;
mod merge;
mod run;
mod sampler;
mod sentinel;
mod signals;
mod supervise;
mod watchcmd;

use clap::{Args, Parser, Subcommand};
use run::{RunOptions, Shard, UserError};
use schedlab_protocol::sweep::ProfileName;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "schedlab",
    version,
    about = "Reproduce M:N scheduler failures side by side: gmp, tokio, go"
)]
struct Cli {
    /// The lab's root (the folder with scenarios/). Default: the current
    /// directory or the nearest parent that has scenarios/.
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Where the scenario binaries are. Default: $SCHEDLAB_BIN_DIR, else
    /// the folder of this schedlab binary (target/release or target/debug).
    #[arg(long, global = true)]
    bin_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the scenarios: name, runtimes, Go reference, the incident.
    List {
        /// One JSON array instead of the table: name, runtimes,
        /// go_reference, incident, sweep (path), error (a sweep that does
        /// not load).
        #[arg(long)]
        json: bool,
    },
    /// Run one scenario's sweep, then analyse and render the report.
    Run {
        /// Scenario name (a folder under scenarios/).
        scenario: String,
        #[command(flatten)]
        knobs: Knobs,
    },
    /// Run every scenario, then the report.
    RunAll {
        #[command(flatten)]
        knobs: Knobs,
    },
    /// Diagnose a live process from outside (/proc, optionally ptrace and
    /// pprof): which known failure it shows, on what evidence, and the lab
    /// command that reproduces it.
    Watch(schedlab_watch::cli::WatchArgs),
    /// Watch the lab's own buggy and fixed programs and print the
    /// confusion matrix (true failure x named); exit 3 on a wrong name.
    WatchCorpus {
        /// Only the quick slice (one case per failure, and one healthy).
        #[arg(long)]
        quick: bool,
        /// Only this scenario's cases.
        #[arg(long, value_name = "SCENARIO")]
        only: Option<String>,
    },
    /// Recompute the analysis and rebuild the report of a stored run
    /// without running anything.
    Report {
        /// The run directory. Default: the newest run under results/.
        run_dir: Option<PathBuf>,
        /// Exit 3 unless every verdict reproduced or fixed (see `run --check`).
        #[arg(long)]
        check: bool,
    },
    /// What changed from run A to run B: verdicts flipped, fidelity rows
    /// won or lost, outcomes, and metrics that moved beyond the repeats'
    /// spread.
    Compare {
        /// The run before (e.g. results/<id> of the unchanged code).
        run_a: PathBuf,
        /// The run after.
        run_b: PathBuf,
        /// text (default), markdown or html; default from --out's extension.
        #[arg(long, value_enum)]
        format: Option<compare::Format>,
        /// Write to this file instead of stdout (.md and .html choose the format).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Exit 3 when a verdict that held in A does not hold in B.
        #[arg(long)]
        check: bool,
        /// List a metric only if its median moved by at least this percent.
        #[arg(long, default_value_t = 10.0, value_name = "PCT")]
        min_change: f64,
        /// List at most this many metric changes (the largest).
        #[arg(long, default_value_t = 40, value_name = "N")]
        top: usize,
        /// Also list metric moves at points run once (no spread to judge
        /// noise by).
        #[arg(long)]
        include_single: bool,
    },
    /// Join the run directories of `--shard 1/N` .. `N/N` into one run
    /// directory, then analyse it and write its report.
    Merge {
        /// The shard run directories (copied back from each host).
        #[arg(required = true, num_args = 1..)]
        dirs: Vec<PathBuf>,
        /// The run directory to create (default: results/<time>-merged).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The sentinel of a run (internal: see sentinel.rs).
    #[command(name = "__sentinel", hide = true)]
    Sentinel,
}

#[derive(Args)]
struct Knobs {
    /// Only these runtimes (comma-separated: gmp, tokio, go, threads).
    #[arg(long, value_delimiter = ',')]
    runtime: Option<Vec<String>>,
    /// Replace an axis's values: --set procs=1,2,4 (repeatable).
    #[arg(long = "set", value_name = "AXIS=V1,V2")]
    sets: Vec<String>,
    /// Repeats per point and runtime.
    #[arg(long)]
    repeats: Option<u32>,
    /// Duration of each point (500ms, 5s, 2m).
    #[arg(long)]
    duration: Option<String>,
    /// Use the sweep's small `quick` profile (what `make test` checks).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Use the sweep's full profile (its top level: every repeat, full
    /// length; the figures the READMEs quote). Default: the sweep's
    /// `default:` profile, which keeps every verdict in minutes.
    #[arg(long)]
    full: bool,
    /// The run directory to create. Default: results/<time>-<scenario> for
    /// `run`, results/<time>-all for `run-all` (one directory, a folder per
    /// scenario, one report).
    #[arg(long)]
    out: Option<PathBuf>,
    /// /proc sampling period in ms [default: the sweep's `sample_ms`, else 5].
    #[arg(long)]
    sample_ms: Option<u64>,
    /// Exit 3 unless every verdict reproduced (or, for a fix, fixed); "no
    /// data" fails too, except for a runtime skipped for the whole run
    /// (no Go toolchain). What `make test` asserts on the quick profiles.
    #[arg(long)]
    check: bool,
    /// Run a plan of more than 100,000 point runs (refused without it).
    #[arg(long)]
    yes: bool,
    /// Run only shard K of N (by point: a point's runtimes and repeats stay
    /// together). Run the same command with 1/N .. N/N on N hosts, then
    /// `schedlab merge` the run directories.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
}

impl Knobs {
    fn options(&self) -> RunOptions {
        RunOptions {
            runtimes: self.runtime.clone(),
            sets: self.sets.clone(),
            repeats: self.repeats,
            duration: self.duration.clone(),
            profile: if self.quick {
                ProfileName::Quick
            } else if self.full {
                ProfileName::Full
            } else {
                ProfileName::Default
            },
            out: self.out.clone(),
            sample_ms: self.sample_ms,
            check: self.check,
            yes: self.yes,
            shard: self.shard,
        }
    }
}

fn list(root: &std::path::Path, json: bool) -> i32 {
    let all = discover::scenarios(root);
    let bad = all.iter().any(|(_, s)| s.is_err());
    let go_ref = |name: &str| root.join("reference/go").join(name).is_dir();
    if json {
        let rows: Vec<serde_json::Value> = all
            .iter()
            .map(|(name, sweep)| match sweep {
                Ok(s) => serde_json::json!({
                    "name": name,
                    "runtimes": s.runtimes,
                    "go_reference": go_ref(name),
                    "incident": s.incident,
                    "sweep": format!("scenarios/{name}/sweep.yaml"),
                }),
                Err(e) => serde_json::json!({ "name": name, "error": e.to_string() }),
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return if bad { 2 } else { 0 };
    }
    if all.is_empty() {
        println!("no scenarios under {}", root.join("scenarios").display());
        return 0;
    }
    let width = all.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(8);
    println!(
        "{:<width$}  {:<22}  {:<5}  INCIDENT",
        "SCENARIO", "RUNTIMES", "GO"
    );
    for (name, sweep) in all {
        match sweep {
            Ok(s) => println!(
                "{name:<width$}  {:<22}  {:<5}  {}",
                s.runtimes.join(","),
                if go_ref(&name) { "yes" } else { "no" },
                s.incident
            ),
            Err(e) => eprintln!("{e}"),
        }
    }
    if bad { 2 } else { 0 }
}

/// For the commands whose output is made to be piped (`list | head`,
/// `compare | less`): a reader that goes away ends the process quietly, as
/// it ends `ls`, instead of a "failed printing to stdout" panic. Not for
/// the run commands, which own child processes and pipes and must clean up.
fn quiet_on_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: restores the default disposition before any thread is
    // started; no Rust handler is replaced or observed.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

fn real_main() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    let root = || {
        discover::find_root(cli.root.as_deref())
            .map_err(|e| anyhow::Error::new(UserError(e.to_string())))
    };
    let bin_dir = discover::bin_dir(cli.bin_dir.as_deref());
    if matches!(cli.cmd, Cmd::List { .. } | Cmd::Compare { .. }) {
        quiet_on_closed_pipe();
    }
    match &cli.cmd {
        Cmd::List { json } => Ok(list(&root()?, *json)),
        Cmd::Run { scenario, knobs } => {
            let root = root()?;
            let o = knobs.options();
            let sweep = run::shape(run::load_scenario(&root, scenario)?, &o, true)?;
            run::run(&root, &bin_dir, vec![sweep], &o, scenario)
        }
        Cmd::RunAll { knobs } => {
            let root = root()?;
            let o = knobs.options();
            let mut sweeps = Vec::new();
            for (name, s) in discover::scenarios(&root) {
                let s = s.map_err(|e| anyhow::Error::new(UserError(e.to_string())))?;
                if s.scenario != name {
                    eprintln!(
                        "schedlab: note: scenarios/{name}/sweep.yaml says scenario: {}",
                        s.scenario
                    );
                }
                let mut s = run::shape(s, &o, false)?;
                // The folder name is the binary name and the results folder.
                s.scenario = name;
                if !s.runtimes.is_empty() {
                    sweeps.push(s);
                }
            }
            if sweeps.is_empty() {
                return Err(UserError("no scenario to run".into()).into());
            }
            run::run(&root, &bin_dir, sweeps, &o, "all")
        }
        Cmd::Watch(args) => Ok(watchcmd::watch(args)),
        Cmd::WatchCorpus { quick, only } => Ok(watchcmd::corpus(
            &root()?,
            &bin_dir,
            *quick,
            only.as_deref(),
        )),
        Cmd::Report { run_dir, check } => {
            let dir = match run_dir {
                Some(d) => d.clone(),
                None => run::newest_run(&root()?)?,
            };
            run::report(&dir, *check)
        }
        Cmd::Compare {
            run_a,
            run_b,
            format,
            out,
            check,
            min_change,
            top,
            include_single,
        } => compare::compare(
            run_a,
            run_b,
            &compare::CompareOptions {
                format: *format,
                out: out.clone(),
                check: *check,
                min_change: *min_change,
                top: *top,
                include_single: *include_single,
            },
        ),
        Cmd::Merge { dirs, out } => {
            let root = root().ok();
            merge::merge(root.as_deref(), dirs, out.as_deref())
        }
        Cmd::Sentinel => Ok(sentinel::main_loop()),
    }
}

fn main() {
    let code = match real_main() {
        Ok(c) => c,
        Err(e) if e.downcast_ref::<UserError>().is_some() => {
            eprintln!("schedlab: {e}");
            2
        }
        Err(e) => {
            eprintln!("schedlab: error: {e:#}");
            1
        }
    };
    std::process::exit(code)
}
