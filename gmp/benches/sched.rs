//! gmp's micro-benchmarks (criterion), paired one to one with the Go 1.19
//! benchmarks in reference/go/bench (`BenchmarkSpawnJoin` <-> `SpawnJoin`
//! ...); `bench/go-ratio` prints the gmp/Go table from both.
//!
//! How a bench runs: one [`gmp::Runtime`] per bench function (procs 1,
//! sysmon on, like `GOMAXPROCS=1 go test -bench`) whose main goroutine
//! sets the bench up, then serves criterion's `iter_custom` requests
//! (benches/common). One iteration is one Go `b.N` op:
//!
//! | bench            | one op                                                      |
//! |------------------|-------------------------------------------------------------|
//! | SpawnJoin        | `go` a goroutine that sends on a channel; receive it        |
//! | ChanPingPong     | unbuffered round trip to an echo goroutine (2 park/ready)   |
//! | ChanBuffered     | send then receive on a buffered channel, one goroutine      |
//! | Gosched          | `gosched` with one other goroutine looping on `gosched`     |
//! | SyscallGetpid    | `gmp::syscall(getpid)`: entersyscall, getpid, exitsyscall   |
//! | RawSyscallGetpid | `gmp::raw_syscall(getpid)`: the bare system call            |
//! | Select2          | round trip to a worker looping on `select!` over in + quit  |
//! | WakeAll10k       | close a channel 10,000 parked receivers wait on, join them  |
//! |                  | (spawning and parking them is untimed)                      |
//! | Join10k          | `go` 10,000 goroutines that each mark a [`Join`] done, wait |
//!
//! gmp has no `sync.WaitGroup`; `common::workloads::Join` is the same
//! shape (an atomic count, and the last `done` wakes the waiter, as
//! `wg.Done`'s `runtime_Semrelease` does). The three newest ops live in
//! `common/workloads.rs`, shared with `examples/ops.rs`.

use std::sync::atomic::Ordering::*;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::workloads::{getpid, gosched_partner, join, select_worker, wake_all};
use common::{Bench, Body, Teardown, bench_in_gmp, no_teardown, timed};

fn spawn_join(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "SpawnJoin",
            procs: 1,
            one_cpu: false,
        },
        || {
            let done = gmp::chan::<()>(1);
            let body: Body = Box::new(move |iters| {
                timed(iters, |_| {
                    let d = done.clone();
                    gmp::go(move || d.send(()));
                    done.recv();
                })
            });
            (body, no_teardown())
        },
    );
}

fn chan_ping_pong(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "ChanPingPong",
            procs: 1,
            one_cpu: false,
        },
        || {
            let ping = gmp::chan::<u64>(0);
            let pong = gmp::chan::<u64>(0);
            let (pi, po) = (ping.clone(), pong.clone());
            gmp::go(move || {
                // echo: sends back what it receives until ping is closed
                while let Some(v) = pi.recv() {
                    po.send(v);
                }
            });
            let p2 = ping.clone();
            let body: Body = Box::new(move |iters| {
                timed(iters, |i| {
                    ping.send(i);
                    std::hint::black_box(pong.recv());
                })
            });
            (body, Box::new(move || p2.close()))
        },
    );
}

fn chan_buffered(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "ChanBuffered",
            procs: 1,
            one_cpu: false,
        },
        || {
            let ch = gmp::chan::<u64>(128);
            let body: Body = Box::new(move |iters| {
                timed(iters, |i| {
                    ch.send(i);
                    std::hint::black_box(ch.recv());
                })
            });
            (body, no_teardown())
        },
    );
}

fn gosched(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "Gosched",
            procs: 1,
            one_cpu: false,
        },
        || {
            let (stop, done) = gosched_partner();
            let body: Body = Box::new(|iters| timed(iters, |_| gmp::gosched()));
            let teardown: Teardown = Box::new(move || {
                stop.store(true, Relaxed);
                done.recv();
            });
            (body, teardown)
        },
    );
}

fn syscall_getpid(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "SyscallGetpid",
            procs: 1,
            one_cpu: false,
        },
        || {
            let body: Body = Box::new(|iters| {
                timed(iters, |_| {
                    std::hint::black_box(gmp::syscall(getpid));
                })
            });
            (body, no_teardown())
        },
    );
}

fn raw_syscall_getpid(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "RawSyscallGetpid",
            procs: 1,
            one_cpu: false,
        },
        || {
            let body: Body = Box::new(|iters| {
                timed(iters, |_| {
                    std::hint::black_box(gmp::raw_syscall(getpid));
                })
            });
            (body, no_teardown())
        },
    );
}

fn select2(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "Select2",
            procs: 1,
            one_cpu: false,
        },
        || {
            let (input, quit, out) = (
                gmp::chan::<u64>(0),
                gmp::chan::<u64>(0),
                gmp::chan::<u64>(0),
            );
            select_worker(input.clone(), quit.clone(), out.clone());
            let body: Body = Box::new(move |iters| {
                timed(iters, |i| {
                    input.send(i);
                    std::hint::black_box(out.recv());
                })
            });
            (body, Box::new(move || quit.close()))
        },
    );
}

fn wake_all_10k(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "WakeAll10k",
            procs: 1,
            one_cpu: false,
        },
        || {
            let body: Body = Box::new(|iters| (0..iters).map(|_| wake_all()).sum());
            (body, no_teardown())
        },
    );
}

fn join_10k(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "Join10k",
            procs: 1,
            one_cpu: false,
        },
        || {
            let body: Body = Box::new(|iters| timed(iters, |_| join()));
            (body, no_teardown())
        },
    );
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = spawn_join, chan_ping_pong, chan_buffered, gosched, syscall_getpid,
        raw_syscall_getpid, select2, wake_all_10k, join_10k
}
criterion_main!(benches);
