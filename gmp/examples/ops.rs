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

use std::sync::atomic::Ordering::*;
use std::time::{Duration, Instant};

#[path = "../benches/common/workloads.rs"]
mod workloads;

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
    (
        "syscall",
        "gmp::syscall(workloads::getpid): entersyscall, getpid, exitsyscall",
    ),
    (
        "raw_syscall",
        "gmp::raw_syscall(workloads::getpid): the bare system call",
    ),
    (
        "stw",
        "stop_the_world then start_the_world (give procs 2 for a wakeup)",
    ),
];

fn usage() -> ! {
    eprintln!("usage: ops <op> <n> [procs, default 1]\nops:");
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
    let procs = match args.get(2).map(|p| p.parse::<usize>()) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        Some(_) => usage(),
    };
    let op = op.clone();
    let rt = gmp::Runtime::builder().procs(procs).build().expect("build");
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
            let (stop, done) = workloads::gosched_partner();
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
            workloads::select_worker(input.clone(), quit.clone(), out.clone());
            let d = timed(n, |i| {
                input.send(i);
                std::hint::black_box(out.recv());
            });
            quit.close();
            d
        }
        "wake_all" => (0..n).map(|_| workloads::wake_all()).sum(),
        "join" => timed(n, |_| workloads::join()),
        "syscall" => timed(n, |_| {
            std::hint::black_box(gmp::syscall(workloads::getpid));
        }),
        "raw_syscall" => timed(n, |_| {
            std::hint::black_box(gmp::raw_syscall(workloads::getpid));
        }),
        "stw" => timed(n, |_| {
            gmp::stop_the_world("ReadMemStats");
            gmp::start_the_world();
        }),
        _ => unreachable!(),
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
