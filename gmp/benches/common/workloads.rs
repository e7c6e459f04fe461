//! The operations of the newer benches, shared by `benches/sched.rs` (which
//! times them under criterion) and `examples/ops.rs` (which runs them for
//! an instruction profiler), so both measure the same code. Each function
//! runs in a goroutine.

#![allow(dead_code)] // each includer uses its own subset

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

/// The system call of `SyscallGetpid`/`RawSyscallGetpid`: getpid through
/// `syscall(2)`, as Go's twins call `syscall.Syscall(SYS_GETPID)`.
pub fn getpid() -> i64 {
    // SAFETY: getpid has no preconditions (the raw syscall: glibc's
    // getpid() wrapper no longer caches, but be explicit).
    unsafe { libc::syscall(libc::SYS_getpid) }
}

/// How many goroutines [`wake_all`] wakes and [`join`] joins.
pub const WAKE_N: u64 = 10_000;

/// A `sync.WaitGroup` for one wait: `n` calls to [`Join::done`], the last
/// of which wakes the goroutine in [`Join::wait`] (as `wg.Done`'s
/// `runtime_Semrelease` does). gmp has no WaitGroup; this is the same shape
/// built from a counter and a channel.
#[derive(Clone)]
pub struct Join(Arc<(AtomicU64, gmp::Chan<()>)>);

impl Join {
    pub fn new(n: u64) -> Join {
        Join(Arc::new((AtomicU64::new(n), gmp::chan(1))))
    }
    pub fn done(&self) {
        if self.0.0.fetch_sub(1, AcqRel) == 1 {
            self.0.1.send(());
        }
    }
    pub fn wait(&self) {
        self.0.1.recv();
    }
}

/// Gosched's partner: a goroutine looping on `gosched` until the returned
/// flag is set, then sending on the returned channel.
pub fn gosched_partner() -> (Arc<AtomicBool>, gmp::Chan<()>) {
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
    (stop, done)
}

/// Starts the usual worker loop of Select2: a `select!` over its input and
/// a quit channel, sending back on `out` what it receives, until `quit` is
/// closed.
pub fn select_worker(input: gmp::Chan<u64>, quit: gmp::Chan<u64>, out: gmp::Chan<u64>) {
    gmp::go(move || {
        loop {
            let mut more = true;
            gmp::select! {
                recv(input) -> v => {
                    if let Some(v) = v {
                        out.send(v);
                    }
                },
                recv(quit) -> _v => more = false,
            }
            if !more {
                return;
            }
        }
    });
}

/// One WakeAll10k op: starts [`WAKE_N`] goroutines that park receiving on
/// one channel and waits until all parked (untimed), then closes the
/// channel and waits until all ran; returns the time of that second part.
pub fn wake_all() -> Duration {
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
    t0.elapsed()
}

/// One Join10k op: starts [`WAKE_N`] goroutines that each mark a [`Join`]
/// done, and waits for them.
pub fn join() {
    let wg = Join::new(WAKE_N);
    for _ in 0..WAKE_N {
        let w = wg.clone();
        gmp::go(move || w.done());
    }
    wg.wait();
}
