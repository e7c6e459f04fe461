//! Spawns N goroutines that each park (sleep for an hour) and reports the
//! rate and the RSS per parked goroutine:
//! `cargo run -p gmp --release --example spawnmany -- <procs> <n>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        * 4096
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.iter().any(|x| x == "--help") {
        println!("usage: spawnmany <procs> <n>");
        return;
    }
    let procs: usize = a.first().and_then(|v| v.parse().ok()).unwrap_or(1);
    let n: usize = a.get(1).and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rt = match gmp::Runtime::builder().procs(procs).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spawnmany: {e}");
            std::process::exit(2);
        }
    };
    rt.block_on(move || {
        let r0 = rss();
        let parked = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        for _ in 0..n {
            let p = parked.clone();
            gmp::go(move || {
                p.fetch_add(1, Relaxed);
                gmp::sleep(Duration::from_secs(3600));
            });
        }
        let spawned = t0.elapsed();
        while parked.load(Relaxed) < n {
            gmp::sleep(Duration::from_millis(1));
        }
        let all = t0.elapsed();
        println!(
            "procs={procs} n={n}: spawn {:.0} ns/goroutine, all parked after {:?}, {} bytes RSS each",
            spawned.as_nanos() as f64 / n as f64,
            all,
            (rss() - r0) / n
        );
    });
}
