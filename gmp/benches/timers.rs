//! gmp's timer and stop-the-world benchmarks (criterion), paired with the
//! Go 1.19 benchmarks in reference/go/bench (`BenchmarkTimerReset`,
//! `BenchmarkTimerFire`, `BenchmarkTimerSleep1us`,
//! `BenchmarkSTW/procs=1|2|2_busy|2_1cpu`); `bench/go-ratio` pairs the
//! names.
//!
//! Each bench function gets a fresh runtime whose main goroutine serves
//! criterion's `iter_custom` requests (benches/common). One iteration is
//! one Go `b.N` op:
//!
//! | bench            | one op                                                          |
//! |------------------|-----------------------------------------------------------------|
//! | timer_reset      | `t.reset(1h)` of a pending timer (modtimer: ModifiedLater)       |
//! | timer_fire       | `t.reset(1ns); <-t.C`: due when the receiver parks, so           |
//! |                  | find_runnable's check_timers runs it (run_timer, sendTime)       |
//! | timer_sleep_1us  | `t.reset(1us); <-t.C`: ~1 us, or ~1.06 ms when the M reaches     |
//! |                  | netpoll first (sub-ms delays round up to epoll's 1 ms)           |
//! | stw/procs=N      | `stop_the_world; start_the_world` (Go: `runtime.ReadMemStats`)   |
//! | stw/procs=2_busy | the same with a goroutine spinning (safepoints) on the other P   |
//! | stw/procs=2_1cpu | procs=2 with every thread of the runtime on one CPU              |
//!
//! Two of these time the kernel more than the runtime, so `bench/go-ratio`
//! shows them without holding them to the 1.0 target (the reasons, with
//! figures, are in reference/go/bench/doc.go): timer_sleep_1us (the share
//! of 1 ms epoll waits), and stw/procs=2 and 2_busy (each stop waits for
//! a thread on the other CPU: two cross-CPU futex wake-ups per op, whose
//! latency on a 2-vCPU VM dominates and varies between runs).
//! stw/procs=2_1cpu is the same stop with the wake-ups made context
//! switches on one CPU: the runtime's own cost.

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
            one_cpu: false,
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
    timer_wait(c, "timer_fire", Duration::from_nanos(1));
}

fn timer_sleep_1us(c: &mut Criterion) {
    timer_wait(c, "timer_sleep_1us", Duration::from_micros(1));
}

/// `t.reset(d); t.recv()` per op, on one P.
fn timer_wait(c: &mut Criterion, name: &'static str, d: Duration) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name,
            procs: 1,
            one_cpu: false,
        },
        move || {
            let t = gmp::Timer::new(d);
            t.recv();
            let body: Body = Box::new(move |iters| {
                timed(iters, |_| {
                    t.reset(d);
                    t.recv();
                })
            });
            (body, no_teardown())
        },
    );
}

fn stw(c: &mut Criterion) {
    for (name, procs, busy, one_cpu) in [
        ("procs=1", 1, false, false),
        ("procs=2", 2, false, false),
        ("procs=2_busy", 2, true, false),
        ("procs=2_1cpu", 2, false, true),
    ] {
        bench_in_gmp(
            c,
            Bench {
                group: Some("stw"),
                name,
                procs,
                one_cpu,
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
    targets = timer_reset, timer_fire, timer_sleep_1us, stw
}
criterion_main!(benches);
