//! What watching costs: the watcher's CPU while it watches a 10,000-thread
//! process at `--every 1s`, and how long `--stacks` stops each running
//! thread. A benchmark (`cargo bench -p schedlab-watch`), not a test: the
//! figures depend on the machine; the targets are under 5% of one core and
//! well under 1 ms per stop.
//!
//! The bench re-executes itself as the target (`WATCH_BENCH_TARGET=N,B`:
//! N threads, B of them spinning) so it needs nothing else built.

use schedlab_watch::watch::{self, Options, Target};
use std::process::{Command, Stdio};
use std::time::Duration;

const ENV: &str = "WATCH_BENCH_TARGET";

fn main() {
    if let Ok(spec) = std::env::var(ENV) {
        be_target(&spec);
    }
    // cargo bench passes --bench; a filter argument selects a part.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let want = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if want("idle_10k") {
        cost("idle_10k", 10_000, 0, false, 10);
    }
    if want("stacks_busy") {
        cost("stacks_busy", 64, 4, true, 5);
    }
}

/// Watches a fresh target for `secs` and prints the watcher's cost.
fn cost(name: &str, threads: usize, busy: usize, stacks: bool, secs: u64) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(ENV, format!("{threads},{busy}"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning the bench target");
    // The target prints one line when all its threads exist.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let opts = Options {
        target: Target::Pid(child.id() as i32),
        duration: Duration::from_secs(secs),
        every: Duration::from_secs(1),
        stacks,
        pprof: None,
        quiet_child: true,
        child_env: Vec::new(),
    };
    let r = watch::watch(&opts, |_, _| {}).expect("watching the bench target");
    let _ = child.kill();
    let _ = child.wait();
    let scanned: Vec<u64> = r.figures.iter().map(|f| f.scanned).collect();
    println!(
        "{name}: target {} threads ({busy} spinning), watched {:.1} s at --every 1s: watcher used {:.2}% of one core; threads scanned per sample {:?}",
        r.figures.last().map_or(0, |f| f.threads),
        r.watched_s,
        r.watcher_cores * 100.0,
        scanned
    );
    if let Some((med, p90, max)) = r.stacks.as_ref().and_then(|s| s.pause_percentiles_us()) {
        println!(
            "{name}: --stacks: {} ptrace stops, each thread paused median {med:.0} us, p90 {p90:.0} us, max {max:.0} us",
            r.stacks.as_ref().map_or(0, |s| s.pauses_us.len())
        );
    }
}

fn be_target(spec: &str) -> ! {
    let (n, b) = spec.split_once(',').expect("N,B");
    let n: usize = n.parse().unwrap();
    let b: usize = b.parse().unwrap();
    for i in 0..n {
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                if i < b {
                    let mut x = 0u64;
                    loop {
                        x = std::hint::black_box(x.wrapping_add(1));
                    }
                }
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            })
            .expect("spawning a target thread");
    }
    println!("ready");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
