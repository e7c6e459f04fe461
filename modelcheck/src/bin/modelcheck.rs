//! `modelcheck`: runs the exhaustive model check of the Go timer /
//! stop-the-world protocol and prints the report (for humans, the runner and
//! the `timer_stw` report section).
//!
//! Exit codes: 0 when the check ran (whatever it found: finding the 1.14.1
//! livelock is the expected result), 2 on bad arguments.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use gmp_modelcheck::{Config, Ordering, check_config};

/// Exhaustive model check of Go's modtimer / schedule / stop_the_world
/// protocol (golang/go#38023, seed 004): finds the Go 1.14.1 livelock and
/// shows that the Go 1.19 ordering has none within the bound.
#[derive(Parser, Debug)]
#[command(name = "modelcheck", version)]
struct Args {
    /// go1.14.1 | go1.19 | both | status-before-wake-only | acquirem-only | all
    #[arg(long, default_value = "both")]
    ordering: String,
    /// Number of stop-the-world cycles the GC goroutine performs (1..=4).
    #[arg(long, default_value_t = 3)]
    gc_cycles: u8,
    /// Leave sysmon out (then only the GC's own preempt_all can preempt G10).
    #[arg(long)]
    no_sysmon: bool,
    /// The GC goroutine never gives up its P between cycles.
    #[arg(long)]
    no_gc_yield: bool,
    /// How many times G10 goes round `<-t.C; t.Reset(1us)` (1..=4).
    #[arg(long, default_value_t = 3)]
    resets: u8,
}

fn orderings(name: &str) -> Option<Vec<Ordering>> {
    match name {
        "both" => Some(vec![Ordering::Go1_14_1, Ordering::Go1_19]),
        "all" => Some(Ordering::ALL.to_vec()),
        one => Ordering::parse(one).map(|o| vec![o]),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(list) = orderings(&args.ordering) else {
        eprintln!(
            "modelcheck: unknown --ordering {:?}; expected go1.14.1, go1.19, both, status-before-wake-only, acquirem-only or all",
            args.ordering
        );
        return ExitCode::from(2);
    };
    if !(1..=4).contains(&args.gc_cycles) {
        eprintln!(
            "modelcheck: --gc-cycles must be between 1 and 4, got {}",
            args.gc_cycles
        );
        return ExitCode::from(2);
    }
    if !(1..=4).contains(&args.resets) {
        eprintln!(
            "modelcheck: --resets must be between 1 and 4, got {}",
            args.resets
        );
        return ExitCode::from(2);
    }
    for (k, ordering) in list.into_iter().enumerate() {
        if k > 0 {
            println!();
        }
        let config = Config {
            ordering,
            sysmon: !args.no_sysmon,
            gc_cycles: args.gc_cycles,
            gc_yields: !args.no_gc_yield,
            resets: args.resets,
        };
        let start = Instant::now();
        let report = check_config(config);
        print!("{report}");
        println!("checked in {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    }
    ExitCode::SUCCESS
}
