//! The seed-002 experiment: 6 goroutines each make one syscall (fast:
//! getpid; slow: a 200 us nanosleep through `syscall`; raw: the same through
//! `raw_syscall`), then main sleeps and prints the thread count:
//! `cargo run -p gmp --release --example slowsys -- <fast|slow|raw> <procs>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::time::Duration;

fn threads() -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn nanosleep_200us() {
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 200_000,
    };
    // SAFETY: a valid timespec; no remainder pointer.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.is_empty() || a.iter().any(|x| x == "--help") {
        println!("usage: slowsys <fast|slow|raw> <procs>");
        return;
    }
    let mode = a[0].clone();
    if !["fast", "slow", "raw"].contains(&mode.as_str()) {
        eprintln!("slowsys: mode must be fast, slow or raw");
        std::process::exit(2);
    }
    let procs: usize = a.get(1).and_then(|v| v.parse().ok()).unwrap_or(1);
    let rt = match gmp::Runtime::builder().procs(procs).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("slowsys: {e}");
            std::process::exit(2);
        }
    };
    rt.block_on(move || {
        let left = Arc::new(AtomicUsize::new(6));
        for _ in 0..6 {
            let (l, m) = (left.clone(), mode.clone());
            gmp::go(move || {
                match m.as_str() {
                    // SAFETY: getpid has no preconditions.
                    "fast" => drop(gmp::syscall(|| unsafe { libc::getpid() })),
                    "slow" => gmp::syscall(nanosleep_200us),
                    _ => gmp::raw_syscall(nanosleep_200us),
                }
                l.fetch_sub(1, AcqRel);
            });
        }
        while left.load(Acquire) > 0 {
            gmp::gosched();
        }
        gmp::sleep(Duration::from_millis(100));
        println!("{}", threads());
    });
}
