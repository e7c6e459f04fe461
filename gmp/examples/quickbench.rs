//! Rough per-operation costs of gmp (the criterion benches are the real
//! measurement): `cargo run -p gmp --release --example quickbench`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::time::Instant;

fn main() {
    if std::env::args().any(|a| a == "--help") {
        println!("usage: quickbench   (prints ns/op for a few gmp operations)");
        return;
    }
    let rt = gmp::Runtime::builder().procs(1).build().expect("build");
    rt.block_on(|| {
        const N: u64 = 200_000;
        // spawn + join (join = a counter the main goroutine waits on)
        let done = Arc::new(AtomicU64::new(0));
        let t0 = Instant::now();
        for _ in 0..N {
            let d = done.clone();
            gmp::go(move || {
                d.fetch_add(1, Relaxed);
            });
            gmp::gosched();
        }
        while done.load(Acquire) < N {
            gmp::gosched();
        }
        println!(
            "spawn+run+gosched: {:.0} ns/op",
            t0.elapsed().as_nanos() as f64 / N as f64
        );

        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        gmp::go(move || {
            while !s2.load(Acquire) {
                gmp::gosched();
            }
        });
        let t0 = Instant::now();
        for _ in 0..N {
            gmp::gosched();
        }
        println!(
            "gosched with one other runnable G: {:.0} ns/op",
            t0.elapsed().as_nanos() as f64 / N as f64
        );
        stop.store(true, Release);

        let t0 = Instant::now();
        for _ in 0..N {
            // SAFETY: getpid has no preconditions.
            gmp::syscall(|| unsafe { libc::getpid() });
        }
        println!(
            "syscall(getpid): {:.0} ns/op",
            t0.elapsed().as_nanos() as f64 / N as f64
        );
        let t0 = Instant::now();
        for _ in 0..N {
            // SAFETY: getpid has no preconditions.
            gmp::raw_syscall(|| unsafe { libc::getpid() });
        }
        println!(
            "raw_syscall(getpid): {:.0} ns/op",
            t0.elapsed().as_nanos() as f64 / N as f64
        );
    });
}
