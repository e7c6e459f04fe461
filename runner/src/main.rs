//! `schedlab`: runs the lab's scenarios and judges them.
//!
//! ```text
//! schedlab list
//! schedlab run <scenario> [--runtime gmp,tokio,go] [--set axis=v1,v2]...
//!              [--repeats N] [--duration 5s] [--quick] [--out DIR] [--sample-ms N]
//! schedlab run-all [--quick] [...same knobs...]
//! schedlab report [RUN_DIR]
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
//! * [`host`], [`fsutil`], [`signals`]: facts, atomic files, Ctrl-C.
//!
//! Exit codes: 0 done; 1 the runner itself failed (I/O, report);
//! 2 bad input (unknown scenario, runtime or axis, bad sweep.yaml, missing
//! binary); 3 with `--check`, a verdict did not hold; 130 interrupted by
//! Ctrl-C (results kept).

mod analysis;
mod discover;
mod fsutil;
mod host;
mod run;
mod sampler;
mod signals;
mod supervise;
mod watchcmd;

use clap::{Args, Parser, Subcommand};
use run::{RunOptions, UserError};
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
    /// List the scenarios: name, runtimes, the incident.
    List,
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
    /// Use the sweep's small `quick` profile.
    #[arg(long)]
    quick: bool,
    /// The run directory to create (default: results/<time>-<scenario>).
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
}

impl Knobs {
    fn options(&self) -> RunOptions {
        RunOptions {
            runtimes: self.runtime.clone(),
            sets: self.sets.clone(),
            repeats: self.repeats,
            duration: self.duration.clone(),
            quick: self.quick,
            out: self.out.clone(),
            sample_ms: self.sample_ms,
            check: self.check,
        }
    }
}

fn list(root: &std::path::Path) -> i32 {
    let mut bad = false;
    let all = discover::scenarios(root);
    if all.is_empty() {
        println!("no scenarios under {}", root.join("scenarios").display());
    }
    let width = all.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, sweep) in all {
        match sweep {
            Ok(s) => println!(
                "{name:<width$}  {:<22}  {}",
                s.runtimes.join(","),
                s.incident
            ),
            Err(e) => {
                bad = true;
                eprintln!("{e}");
            }
        }
    }
    if bad { 2 } else { 0 }
}

fn real_main() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    let root = || {
        discover::find_root(cli.root.as_deref())
            .map_err(|e| anyhow::Error::new(UserError(e.to_string())))
    };
    let bin_dir = discover::bin_dir(cli.bin_dir.as_deref());
    match &cli.cmd {
        Cmd::List => Ok(list(&root()?)),
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
