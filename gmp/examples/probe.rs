//! Wake-up lateness of a goroutine sleeping 1 ms in a loop (the probe every
//! scenario runs), with `busy` goroutines spinning with safepoints:
//! `cargo run -p gmp --release --example probe -- <procs> <busy> [ms]`.

use std::time::{Duration, Instant};

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.iter().any(|x| x == "--help") {
        println!("usage: probe <procs> <busy goroutines> [run ms]");
        return;
    }
    let num = |i: usize, d: u64| a.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (procs, busy, ms) = (num(0, 2) as usize, num(1, 1), num(2, 1000));
    let rt = match gmp::Runtime::builder().procs(procs).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("probe: {e}");
            std::process::exit(2);
        }
    };
    rt.block_on(move || {
        for _ in 0..busy {
            gmp::go(move || {
                let t0 = Instant::now();
                while t0.elapsed() < Duration::from_millis(ms + 100) {
                    for _ in 0..1000 {
                        std::hint::black_box(0u64);
                    }
                    gmp::safepoint();
                }
            });
        }
        let mut late = Vec::new();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(ms) {
            let s = Instant::now();
            gmp::sleep(Duration::from_millis(1));
            late.push(s.elapsed().saturating_sub(Duration::from_millis(1)).as_micros() as u64);
        }
        late.sort();
        let q = |f: f64| late[((late.len() - 1) as f64 * f) as usize];
        println!(
            "procs={procs} busy={busy}: n={} lateness p50={}us p99={}us max={}us threads_created={}",
            late.len(),
            q(0.5),
            q(0.99),
            q(1.0),
            gmp::stats().threads_created
        );
    });
}
