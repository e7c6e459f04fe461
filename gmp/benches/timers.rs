//! gmp's timer and stop-the-world benchmarks (criterion), paired with the
//! Go 1.19 benchmarks in reference/go/bench (`BenchmarkTimerReset`,
//! `BenchmarkTimerFire`, `BenchmarkSTW/procs=1|2|2_busy`); `bench/go-ratio`
//! pairs the names.
//!
//! As in benches/sched.rs, each bench function gets a fresh runtime whose
//! main goroutine serves criterion's `iter_custom` requests and waits
//! between them in `gmp::syscall`. One iteration is one Go `b.N` op:
//!
//! | bench          | one op                                                        |
//! |----------------|---------------------------------------------------------------|
//! | timer_reset    | `t.reset(1h)` of a pending timer (modtimer: ModifiedLater)     |
//! | timer_fire     | `t.reset(1us); <-t.C` (wasRemoved path, run_timer, sendTime)   |
//! | stw/procs=N    | `stop_the_world; start_the_world` (Go: `runtime.ReadMemStats`) |
//! | stw/procs=2_busy | the same with a goroutine spinning (safepoints) on the other P |

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

type Body = Box<dyn FnMut(u64) -> Duration>;

/// Runs `setup` as the main goroutine of a fresh runtime with `procs` Ps,
/// then measures its body under criterion's `name` (in `group` if given).
fn bench_in_gmp<S>(c: &mut Criterion, group: Option<&str>, name: &str, procs: usize, setup: S)
where
    S: FnOnce() -> Body + Send + 'static,
{
    let (req_tx, req_rx) = mpsc::channel::<u64>();
    let (resp_tx, resp_rx) = mpsc::channel::<Duration>();
    let main = std::thread::spawn(move || {
        let rt = gmp::Runtime::builder()
            .procs(procs)
            .build()
            .expect("gmp runtime");
        rt.block_on(move || {
            let mut body = setup();
            while let Ok(iters) = gmp::syscall(|| req_rx.recv()) {
                let elapsed = body(iters);
                if resp_tx.send(elapsed).is_err() {
                    break;
                }
            }
        });
    });
    let run = |b: &mut criterion::Bencher| {
        b.iter_custom(|iters| {
            req_tx.send(iters).expect("bench goroutine gone");
            resp_rx.recv().expect("bench goroutine gone")
        })
    };
    match group {
        Some(g) => {
            let mut grp = c.benchmark_group(g);
            grp.bench_function(name, run);
            grp.finish();
        }
        None => {
            c.bench_function(name, run);
        }
    }
    drop(req_tx);
    main.join().expect("bench runtime thread panicked");
}

fn timed(iters: u64, mut op: impl FnMut()) -> Duration {
    let t0 = Instant::now();
    for _ in 0..iters {
        op();
    }
    t0.elapsed()
}

fn timer_reset(c: &mut Criterion) {
    bench_in_gmp(c, None, "timer_reset", 1, || {
        let t = gmp::Timer::new(Duration::from_secs(3600));
        Box::new(move |iters| {
            timed(iters, || {
                t.reset(Duration::from_secs(3600));
            })
        })
    });
}

fn timer_fire(c: &mut Criterion) {
    bench_in_gmp(c, None, "timer_fire", 1, || {
        let t = gmp::Timer::new(Duration::from_micros(1));
        t.recv();
        Box::new(move |iters| {
            timed(iters, || {
                t.reset(Duration::from_micros(1));
                t.recv();
            })
        })
    });
}

fn stw(c: &mut Criterion) {
    for (name, procs, busy) in [
        ("procs=1", 1, false),
        ("procs=2", 2, false),
        ("procs=2_busy", 2, true),
    ] {
        bench_in_gmp(c, Some("stw"), name, procs, move || {
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
            Box::new(move |iters| {
                let _busy = &stop;
                timed(iters, || {
                    gmp::stop_the_world("ReadMemStats");
                    gmp::start_the_world();
                })
            })
        });
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
