//! One gmp micro-operation run N times on a fresh runtime (procs 1), for an
//! instruction profiler: the criterion benches (gmp/benches) time these
//! operations, this runs them with nothing else around, so instruction
//! counts per operation are stable even on a loaded machine.
//!
//! ```text
//! cargo build --release -p gmp --example ops
//! valgrind --tool=callgrind --callgrind-out-file=cg.out target/release/examples/ops gosched 100000
//! callgrind_annotate --inclusive=yes cg.out | head -40
//! ```
//!
//! Compare two builds by `Ir` of the run (or run N and 2N and take the
//! difference over N: the start-up cost cancels).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

const OPS: &[(&str, &str)] = &[
    ("ping_pong", "unbuffered round trip to an echo goroutine"),
    ("buffered", "send then receive on a buffered channel"),
    (
        "gosched",
        "gosched with one other goroutine looping on gosched",
    ),
    ("timer_reset", "reset(1h) of a pending timer"),
    (
        "select2",
        "round trip to a worker looping on select! over in + quit",
    ),
    (
        "spawn_join",
        "go a goroutine that sends on a channel, receive",
    ),
    (
        "wake_all",
        "close a channel 10,000 parked receivers wait on, join them",
    ),
    (
        "join",
        "go 10,000 goroutines that each mark a join done, wait",
    ),
];

fn usage() -> ! {
    eprintln!("usage: ops <op> <n>\nops:");
    for (name, what) in OPS {
        eprintln!("  {name:<12} {what}");
    }
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        usage();
    }
    let (Some(op), Some(n)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        usage()
    };
    if !OPS.iter().any(|(name, _)| name == op) {
        eprintln!("ops: unknown op {op:?}");
        usage();
    }
    let op = op.clone();
    let rt = gmp::Runtime::builder().procs(1).build().expect("build");
    let took = rt.block_on(move || run(&op, n));
    eprintln!(
        "{} ops in {took:?}: {:.1} ns/op",
        n,
        took.as_nanos() as f64 / n.max(1) as f64
    );
}

#[inline(never)]
fn run(op: &str, n: u64) -> Duration {
    match op {
        "ping_pong" => {
            let (ping, pong) = (gmp::chan::<u64>(0), gmp::chan::<u64>(0));
            let (pi, po) = (ping.clone(), pong.clone());
            gmp::go(move || {
                while let Some(v) = pi.recv() {
                    po.send(v);
                }
            });
            let d = timed(n, |i| {
                ping.send(i);
                std::hint::black_box(pong.recv());
            });
            ping.close();
            d
        }
        "buffered" => {
            let ch = gmp::chan::<u64>(128);
            timed(n, |i| {
                ch.send(i);
                std::hint::black_box(ch.recv());
            })
        }
        "gosched" => {
            let stop = Arc::new(AtomicBool::new(false));
            let done = gmp::chan::<()>(1);
            let (s, d) = (stop.clone(), done.clone());
            gmp::go(move || {
                while !s.load(Relaxed) {
                    gmp::gosched();
                }
                d.send(());
            });
            gmp::gosched();
            let t = timed(n, |_| gmp::gosched());
            stop.store(true, Relaxed);
            done.recv();
            t
        }
        "timer_reset" => {
            let t = gmp::Timer::new(Duration::from_secs(3600));
            timed(n, |_| {
                t.reset(Duration::from_secs(3600));
            })
        }
        "select2" => {
            let (input, quit, out) = (
                gmp::chan::<u64>(0),
                gmp::chan::<u64>(0),
                gmp::chan::<u64>(0),
            );
            let (i2, q2, o2) = (input.clone(), quit.clone(), out.clone());
            gmp::go(move || {
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
            let d = timed(n, |i| {
                input.send(i);
                std::hint::black_box(out.recv());
            });
            quit.close();
            d
        }
        "wake_all" => {
            let mut total = Duration::ZERO;
            for _ in 0..n {
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
        }
        "join" => timed(n, |_| {
            let wg = Join::new(WAKE_N);
            for _ in 0..WAKE_N {
                let w = wg.clone();
                gmp::go(move || w.done());
            }
            wg.wait();
        }),
        "spawn_join" => {
            let done = gmp::chan::<()>(1);
            timed(n, |_| {
                let d = done.clone();
                gmp::go(move || d.send(()));
                done.recv();
            })
        }
        _ => unreachable!(),
    }
}

/// How many goroutines wake_all wakes and join joins.
const WAKE_N: u64 = 10_000;

/// A `sync.WaitGroup` for one wait (as in benches/sched.rs).
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

#[inline(never)]
fn timed(n: u64, mut op: impl FnMut(u64)) -> Duration {
    let t0 = Instant::now();
    for i in 0..n {
        op(i);
    }
    t0.elapsed()
}
