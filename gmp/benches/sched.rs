//! gmp's micro-benchmarks (criterion), paired one to one with the Go 1.19
//! benchmarks in reference/go/bench (`BenchmarkSpawnJoin` <-> `SpawnJoin`
//! ...); `bench/go-ratio` prints the gmp/Go table from both.
//!
//! How a bench runs: one [`gmp::Runtime`] per bench function (procs 1,
//! sysmon on, like `GOMAXPROCS=1 go test -bench`). Its `block_on` runs on
//! a helper OS thread; the main goroutine sets the bench up (partner
//! goroutines, channels), then serves criterion's `iter_custom` requests:
//! "run N iterations" -> the loop runs inside the goroutine and returns the
//! elapsed time. Between requests the main goroutine waits in
//! `gmp::syscall` (so, like a goroutine in a blocking syscall, it holds no
//! P a sysmon retake could disturb). One iteration is one Go `b.N` op:
//!
//! | bench            | one op                                                      |
//! |------------------|-------------------------------------------------------------|
//! | SpawnJoin        | `go` a goroutine that sends on a channel; receive it        |
//! | ChanPingPong     | unbuffered round trip to an echo goroutine (2 park/ready)   |
//! | ChanBuffered     | send then receive on a buffered channel, one goroutine      |
//! | Gosched          | `gosched` with one other goroutine looping on `gosched`     |
//! | SyscallGetpid    | `gmp::syscall(getpid)`: entersyscall, getpid, exitsyscall   |
//! | RawSyscallGetpid | `gmp::raw_syscall(getpid)`: the bare system call            |

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

/// The per-request loop a bench sets up: runs `iters` ops, returns the time.
type Body = Box<dyn FnMut(u64) -> Duration>;
/// Called after the last request, still inside the main goroutine.
type Teardown = Box<dyn FnOnce()>;

/// Runs `setup` as the main goroutine of a fresh procs-1 runtime, then
/// measures its body under criterion's `name`.
fn bench_in_gmp<S>(c: &mut Criterion, name: &str, setup: S)
where
    S: FnOnce() -> (Body, Teardown) + Send + 'static,
{
    let (req_tx, req_rx) = mpsc::channel::<u64>();
    let (resp_tx, resp_rx) = mpsc::channel::<Duration>();
    let main = std::thread::spawn(move || {
        let rt = gmp::Runtime::builder()
            .procs(1)
            .build()
            .expect("gmp runtime");
        rt.block_on(move || {
            let (mut body, teardown) = setup();
            while let Ok(iters) = gmp::syscall(|| req_rx.recv()) {
                let elapsed = body(iters);
                if resp_tx.send(elapsed).is_err() {
                    break;
                }
            }
            drop(body);
            teardown();
        });
    });
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            req_tx.send(iters).expect("bench goroutine gone");
            resp_rx.recv().expect("bench goroutine gone")
        })
    });
    drop(req_tx);
    main.join().expect("bench runtime thread panicked");
}

fn timed(iters: u64, mut op: impl FnMut(u64)) -> Duration {
    let t0 = Instant::now();
    for i in 0..iters {
        op(i);
    }
    t0.elapsed()
}

fn getpid() -> i64 {
    // SAFETY: getpid has no preconditions (the raw syscall: glibc's
    // getpid() wrapper no longer caches, but be explicit).
    unsafe { libc::syscall(libc::SYS_getpid) }
}

fn spawn_join(c: &mut Criterion) {
    bench_in_gmp(c, "SpawnJoin", || {
        let done = gmp::chan::<()>(1);
        let body: Body = Box::new(move |iters| {
            timed(iters, |_| {
                let d = done.clone();
                gmp::go(move || d.send(()));
                done.recv();
            })
        });
        (body, Box::new(|| {}))
    });
}

fn chan_ping_pong(c: &mut Criterion) {
    bench_in_gmp(c, "ChanPingPong", || {
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
    });
}

fn chan_buffered(c: &mut Criterion) {
    bench_in_gmp(c, "ChanBuffered", || {
        let ch = gmp::chan::<u64>(128);
        let body: Body = Box::new(move |iters| {
            timed(iters, |i| {
                ch.send(i);
                std::hint::black_box(ch.recv());
            })
        });
        (body, Box::new(|| {}))
    });
}

fn gosched(c: &mut Criterion) {
    bench_in_gmp(c, "Gosched", || {
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
    });
}

fn syscall_getpid(c: &mut Criterion) {
    bench_in_gmp(c, "SyscallGetpid", || {
        let body: Body = Box::new(|iters| {
            timed(iters, |_| {
                std::hint::black_box(gmp::syscall(getpid));
            })
        });
        (body, Box::new(|| {}))
    });
}

fn raw_syscall_getpid(c: &mut Criterion) {
    bench_in_gmp(c, "RawSyscallGetpid", || {
        let body: Body = Box::new(|iters| {
            timed(iters, |_| {
                std::hint::black_box(gmp::raw_syscall(getpid));
            })
        });
        (body, Box::new(|| {}))
    });
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
        raw_syscall_getpid
}
criterion_main!(benches);
