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
//! gmp has no `sync.WaitGroup`; [`Join`] is the same shape (an atomic
//! count, and the last `done` wakes the waiter, as `wg.Done`'s
//! `runtime_Semrelease` does) built from a counter and a channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::{Bench, Body, Teardown, bench_in_gmp, no_teardown, timed};

fn getpid() -> i64 {
    // SAFETY: getpid has no preconditions (the raw syscall: glibc's
    // getpid() wrapper no longer caches, but be explicit).
    unsafe { libc::syscall(libc::SYS_getpid) }
}

fn spawn_join(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "SpawnJoin",
            procs: 1,
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
        },
        || {
            let stop = Arc::new(AtomicBool::new(false));
            let done = gmp::chan::<()>(1);
            let (s, d) = (stop.clone(), done.clone());
            gmp::go(move || {
                while !s.load(Relaxed) {
                    gmp::gosched();
                }
                d.send(());
            });
            gmp::gosched(); // let it start
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
        },
        || {
            let (input, quit, out) = (
                gmp::chan::<u64>(0),
                gmp::chan::<u64>(0),
                gmp::chan::<u64>(0),
            );
            let (i2, q2, o2) = (input.clone(), quit.clone(), out.clone());
            gmp::go(move || {
                // the usual worker loop: select over its input and quit
                loop {
                    let mut more = true;
                    gmp::select! {
                        recv(i2) -> v => {
                            if let Some(v) = v {
                                o2.send(v);
                            }
                        },
                        recv(q2) -> _v => more = false,
                    }
                    if !more {
                        return;
                    }
                }
            });
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

/// How many goroutines WakeAll10k wakes and Join10k joins.
const WAKE_N: u64 = 10_000;

/// A `sync.WaitGroup` for one wait: `n` calls to [`Join::done`], the last
/// of which wakes the goroutine in [`Join::wait`].
#[derive(Clone)]
struct Join(Arc<(AtomicU64, gmp::Chan<()>)>);

impl Join {
    fn new(n: u64) -> Join {
        Join(Arc::new((AtomicU64::new(n), gmp::chan(1))))
    }
    fn done(&self) {
        if self.0.0.fetch_sub(1, AcqRel) == 1 {
            self.0.1.send(());
        }
    }
    fn wait(&self) {
        self.0.1.recv();
    }
}

fn wake_all_10k(c: &mut Criterion) {
    bench_in_gmp(
        c,
        Bench {
            group: None,
            name: "WakeAll10k",
            procs: 1,
        },
        || {
            let body: Body = Box::new(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let gate = gmp::chan::<()>(0);
                    let (parked, done) = (Join::new(WAKE_N), Join::new(WAKE_N));
                    for _ in 0..WAKE_N {
                        let (g, p, d) = (gate.clone(), parked.clone(), done.clone());
                        gmp::go(move || {
                            p.done();
                            g.recv();
                            d.done();
                        });
                    }
                    parked.wait();
                    let t0 = Instant::now();
                    gate.close();
                    done.wait();
                    total += t0.elapsed();
                }
                total
            });
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
        },
        || {
            let body: Body = Box::new(|iters| {
                timed(iters, |_| {
                    let wg = Join::new(WAKE_N);
                    for _ in 0..WAKE_N {
                        let w = wg.clone();
                        gmp::go(move || w.done());
                    }
                    wg.wait();
                })
            });
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
