//! What gmp's bench files share: a fresh runtime per bench whose main
//! goroutine serves criterion's `iter_custom` requests.
//!
//! `block_on` runs on a helper OS thread; the main goroutine sets the bench
//! up (partner goroutines, channels, connections), then serves requests:
//! "run N iterations" -> the loop runs inside the goroutine and returns the
//! elapsed time. Between requests the main goroutine waits in
//! `gmp::syscall` (so, like a goroutine in a blocking syscall, it holds no
//! P a sysmon retake could disturb).

pub mod workloads;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::Criterion;

/// The per-request loop a bench sets up: runs `iters` ops, returns the time.
pub type Body = Box<dyn FnMut(u64) -> Duration>;
/// Called after the last request (the body dropped), still inside the main
/// goroutine.
pub type Teardown = Box<dyn FnOnce()>;

/// A teardown with nothing to do (dropping the body is enough).
pub fn no_teardown() -> Teardown {
    Box::new(|| {})
}

/// Where a bench's figures go and the runtime it runs on.
pub struct Bench<'a> {
    /// Criterion group (`stw` for `stw/procs=2`), if any.
    pub group: Option<&'a str>,
    /// Criterion id; `bench/go-ratio` pairs it with the Go benchmark name.
    pub name: &'a str,
    /// The runtime's Ps (Go: GOMAXPROCS).
    pub procs: usize,
    /// Run every thread of the runtime on one CPU (the first this process
    /// may use). `bench/go-ratio` runs the Go twin the same way. Without
    /// it, a bench whose op wakes a thread on the other CPU times the
    /// kernel's cross-CPU wake-up (5-8 us on this 2-vCPU VM, varying run to
    /// run) more than the runtime.
    pub one_cpu: bool,
}

/// Runs `setup` as the main goroutine of a fresh runtime, then measures its
/// body under criterion's id.
pub fn bench_in_gmp<S>(c: &mut Criterion, bench: Bench<'_>, setup: S)
where
    S: FnOnce() -> (Body, Teardown) + Send + 'static,
{
    let (req_tx, req_rx) = mpsc::channel::<u64>();
    let (resp_tx, resp_rx) = mpsc::channel::<Duration>();
    let procs = bench.procs;
    let one_cpu = bench.one_cpu;
    let main = std::thread::spawn(move || {
        if one_cpu {
            // Before the runtime exists: its Ms and sysmon are created by
            // this thread or its descendants and inherit the mask.
            pin_to_first_cpu();
        }
        let rt = gmp::Runtime::builder()
            .procs(procs)
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
    let run = |b: &mut criterion::Bencher| {
        b.iter_custom(|iters| {
            req_tx.send(iters).expect("bench goroutine gone");
            resp_rx.recv().expect("bench goroutine gone")
        })
    };
    match bench.group {
        Some(g) => {
            let mut grp = c.benchmark_group(g);
            grp.bench_function(bench.name, run);
            grp.finish();
        }
        None => {
            c.bench_function(bench.name, run);
        }
    }
    drop(req_tx);
    main.join().expect("bench runtime thread panicked");
}

/// Restricts the calling thread (and the threads it creates from now on)
/// to the lowest-numbered CPU of its current affinity mask.
fn pin_to_first_cpu() {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    use nix::unistd::Pid;
    let this_thread = Pid::from_raw(0);
    let mask = sched_getaffinity(this_thread).expect("sched_getaffinity");
    let first = (0..CpuSet::count())
        .find(|&c| mask.is_set(c).unwrap_or(false))
        .expect("an empty affinity mask");
    let mut one = CpuSet::new();
    one.set(first).expect("a CPU of the mask is in range");
    sched_setaffinity(this_thread, &one).expect("sched_setaffinity");
}

/// Runs `op` `iters` times (with the iteration's index) and returns the
/// time it took.
pub fn timed(iters: u64, mut op: impl FnMut(u64)) -> Duration {
    let t0 = Instant::now();
    for i in 0..iters {
        op(i);
    }
    t0.elapsed()
}
