//! Spawns N goroutines that each park receiving on one channel, waits until
//! all of them have parked, and reports the time and the memory it took:
//! `cargo run -p gmp --release --example spawnmany -- <procs> <n> [--json]`.
//!
//! The Go twin is reference/go/bench/spawnparked (same workload, same JSON
//! line with `--json`); `bench/go-ratio` runs both with one P and prints
//! them side by side:
//!
//! ```text
//! {"n":1000000,"ns_per_goroutine":412.0,"rss_per_goroutine":4301}
//! ```
//!
//! `ns_per_goroutine` is the time from the first `go` until the last
//! goroutine parked, over n; `rss_per_goroutine` the growth of VmRSS
//! (/proc/self/statm) over the same span, over n: the page its stack's
//! frames touched, its `G`, its sudog (on that stack).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::time::Instant;

fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        * 4096
}

fn usage() -> ! {
    eprintln!("usage: spawnmany <procs> <n> [--json]   (procs 1..1024, n >= 1)");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        usage();
    }
    let json = args.iter().any(|a| a == "--json");
    let nums: Vec<&String> = args.iter().filter(|a| *a != "--json").collect();
    let num = |i: usize, d: usize| match nums.get(i) {
        None => d,
        Some(v) => v.parse().unwrap_or_else(|_| usage()),
    };
    let (procs, n) = (num(0, 1), num(1, 100_000));
    if nums.len() > 2 || n == 0 {
        usage();
    }
    let rt = match gmp::Runtime::builder().procs(procs).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spawnmany: {e}");
            std::process::exit(2);
        }
    };
    rt.block_on(move || {
        let r0 = rss();
        let block = gmp::chan::<()>(0);
        let parked = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        for _ in 0..n {
            let (p, b) = (parked.clone(), block.clone());
            gmp::go(move || {
                p.fetch_add(1, Relaxed);
                b.recv();
            });
        }
        let spawned = t0.elapsed();
        while parked.load(Relaxed) < n {
            gmp::gosched();
        }
        // The last goroutines counted themselves before their receive: one
        // more yield lets them reach it (one P: they run in turn).
        gmp::gosched();
        let all = t0.elapsed();
        let per_g = (rss() - r0) as f64 / n as f64;
        let ns = all.as_nanos() as f64 / n as f64;
        if json {
            println!("{{\"n\":{n},\"ns_per_goroutine\":{ns:.1},\"rss_per_goroutine\":{per_g:.0}}}");
        } else {
            println!(
                "procs={procs} n={n}: spawn loop {:.0} ns/goroutine, all parked after {all:?} \
                 ({ns:.0} ns/goroutine), {per_g:.0} bytes RSS each",
                spawned.as_nanos() as f64 / n as f64,
            );
        }
    });
}
