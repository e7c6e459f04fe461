//! gmp's timer and stop-the-world benchmarks (criterion), paired with the
//! Go 1.19 benchmarks in reference/go/bench (`BenchmarkTimerReset`,
//! `BenchmarkTimerFire`, `BenchmarkSTW/procs=1|2|2_busy`); `bench/go-ratio`
//! pairs the names.
//!
//! Each bench function gets a fresh runtime whose main goroutine serves
//! criterion's `iter_custom` requests (benches/common). One iteration is
//! one Go `b.N` op:
//!
//! | bench          | one op                                                        |
//! |----------------|---------------------------------------------------------------|
//! | timer_reset    | `t.reset(1h)` of a pending timer (modtimer: ModifiedLater)     |
//! | timer_fire     | `t.reset(1us); <-t.C` (wasRemoved path, run_timer, sendTime)   |
//! | stw/procs=N    | `stop_the_world; start_the_world` (Go: `runtime.ReadMemStats`) |
//! | stw/procs=2_busy | the same with a goroutine spinning (safepoints) on the other P |

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::{Bench, Body, bench_in_gmp, no_teardown, timed};

fn timer_reset(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "timer_reset",
            procs: 1,
        },
        || {
            let t = gmp::Timer::new(Duration::from_secs(3600));
            let body: Body = Box::new(move |iters| {
                timed(iters, |_| {
                    t.reset(Duration::from_secs(3600));
                })
            });
            (body, no_teardown())
        },
    );
}

fn timer_fire(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "timer_fire",
            procs: 1,
        },
        || {
            let t = gmp::Timer::new(Duration::from_micros(1));
            t.recv();
            let body: Body = Box::new(move |iters| {
                timed(iters, |_| {
                    t.reset(Duration::from_micros(1));
                    t.recv();
                })
            });
            (body, no_teardown())
        },
    );
}

fn stw(c: &mut Criterion) {
    for (name, procs, busy) in [
        ("procs=1", 1, false),
        ("procs=2", 2, false),
        ("procs=2_busy", 2, true),
    ] {
        bench_in_gmp(
            c,
            Bench {
                group: Some("stw"),
                name,
                procs,
            },
            move || {
                let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
                if busy {
                    let s = stop.0.clone();
                    gmp::go(move || {
                        let mut x = 0u64;
                        while !s.load(Relaxed) {
                            for _ in 0..100 {
                                x = std::hint::black_box(x.wrapping_add(1));
                            }
                            gmp::safepoint();
                        }
                    });
                }
                let body: Body = Box::new(move |iters| {
                    let _busy = &stop;
                    timed(iters, |_| {
                        gmp::stop_the_world("ReadMemStats");
                        gmp::start_the_world();
                    })
                });
                (body, no_teardown())
            },
        );
    }
}

/// Stops the busy goroutine when the bench body is dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Relaxed);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = timer_reset, timer_fire, stw
}
criterion_main!(benches);
