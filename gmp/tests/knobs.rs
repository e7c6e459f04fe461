//! The design-decision knobs (issue 15): each case switches one rule of
//! Go's scheduler off and checks the symptom that rule prevents, so each
//! fails if its knob does nothing. The rule itself, knob on, is checked by
//! rules.rs (named in each case's comment). Every case runs in its own
//! child process (common/mod.rs); assertions are about who ran first and
//! about counters, with wall time only as a generous cap.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

use common::*;

fn build(b: gmp::Builder) -> gmp::Runtime {
    b.build().expect("build runtime")
}

/// Waits (as a goroutine) until `flag` is set, waking every `every`.
/// A loop without calls: only async safe points, until `stop` is set or
/// `cap` passes. Returns whether `stop` ended it.
fn tight_loop(stop: &AtomicBool, cap: Duration) -> bool {
    let t0 = Instant::now();
    let mut x = 0u64;
    loop {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            gmp::async_safe_point();
        }
        if stop.load(Acquire) {
            return true;
        }
        if t0.elapsed() >= cap {
            return false;
        }
    }
}

/// A goroutine in a tight loop (capped at `cap`) while main, once the loop
/// runs, does `act` (sleep 1 ms; a gc()). Returns whether `act` finished
/// while the loop still ran (main then stops it).
fn act_beside_tight_loop(procs: usize, async_preempt: bool, cap: Duration, act: fn()) -> bool {
    let rt = build(
        gmp::Runtime::builder()
            .procs(procs)
            .async_preempt(async_preempt)
            .stw_watchdog(None),
    );
    rt.block_on(move || {
        let looping = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let ended_by_stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (l2, s2, e2, d2) = (looping.clone(), stop.clone(), ended_by_stop.clone(), done.clone());
        gmp::go(move || {
            l2.store(true, Release);
            e2.store(tight_loop(&s2, cap), Release);
            d2.store(true, Release);
        });
        wait_flag(&looping, Duration::from_millis(1));
        let t0 = Instant::now();
        act();
        let took = t0.elapsed();
        stop.store(true, Release);
        wait_flag(&done, Duration::from_millis(5));
        let s = gmp::stats();
        println!(
            "  procs {procs}, async_preempt={async_preempt}: main's act took {took:?}, done during the loop: {}; \
             preempt requests {}, signals {}",
            ended_by_stop.load(Acquire),
            s.preempt_requests,
            s.signals_sent
        );
        ended_by_stop.load(Acquire)
    })
}

/// procs 1: main sleeps 1 ms beside a 2 s tight loop.
fn main_runs_beside_tight_loop(async_preempt: bool) -> bool {
    act_beside_tight_loop(1, async_preempt, Duration::from_secs(2), || {
        gmp::sleep(Duration::from_millis(1))
    })
}

/// procs 2: main calls gc() (two stop-the-worlds) beside a 1.5 s loop.
fn gc_completes_beside_tight_loop(async_preempt: bool) -> bool {
    act_beside_tight_loop(2, async_preempt, Duration::from_millis(1500), gmp::gc)
}

/// Knob `async_preempt(false)` (Go: GODEBUG=asyncpreemptoff=1): sysmon
/// still asks the looping goroutine to stop but sends no signal; a loop
/// without safepoints never sees the request and holds the only P. The
/// control, knob on: sysmon's signal stops the loop after 10 ms.
fn asyncpreempt_off_tight_loop_holds_the_p() -> Result<(), String> {
    ensure(main_runs_beside_tight_loop(true), || {
        "control: main waited for the 2 s tight loop although async preemption is on".into()
    })?;
    ensure(!main_runs_beside_tight_loop(false), || {
        "main ran beside the tight loop: async_preempt(false) did not stop the signal".into()
    })
}

/// Knob `async_preempt(false)`: a loop with safepoints (function calls in
/// Go) is still preempted cooperatively: only the signal is switched off.
fn asyncpreempt_off_keeps_safepoint_preemption() -> Result<(), String> {
    let rt = build(gmp::Runtime::builder().procs(1).async_preempt(false));
    rt.block_on(|| {
        let main_ran = Arc::new(AtomicBool::new(false));
        let ran_during = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (m2, r2, d2) = (main_ran.clone(), ran_during.clone(), done.clone());
        gmp::go(move || {
            let t0 = Instant::now();
            while !m2.load(Acquire) && t0.elapsed() < Duration::from_secs(2) {
                spin_for(Duration::from_micros(100));
            }
            r2.store(m2.load(Acquire), Release);
            d2.store(true, Release);
        });
        gmp::sleep(Duration::from_millis(1));
        main_ran.store(true, Release);
        wait_flag(&done, Duration::from_millis(5));
        let s = gmp::stats();
        println!(
            "  main ran during the spin: {}; signals sent {} (want 0), preempt requests {}",
            ran_during.load(Acquire),
            s.signals_sent,
            s.preempt_requests
        );
        ensure(ran_during.load(Acquire), || {
            "a loop with safepoints was not preempted with async preemption off".into()
        })?;
        ensure(s.signals_sent == 0, || {
            format!("{} SIGURG sent with async preemption off", s.signals_sent)
        })
    })
}

/// Knob `async_preempt(false)`: golang/go#10958, "tight loop blocks GC":
/// the stop-the-world waits until the loop ends by itself. The control,
/// knob on: the stop-the-world's signal stops the loop and gc() completes
/// while the loop would still run.
fn asyncpreempt_off_gc_waits_for_the_loop() -> Result<(), String> {
    ensure(gc_completes_beside_tight_loop(true), || {
        "control: gc() waited for the 1.5 s tight loop although async preemption is on".into()
    })?;
    ensure(!gc_completes_beside_tight_loop(false), || {
        "gc() completed during the tight loop with async preemption off".into()
    })
}

/// procs 1: G A makes one 300 ms wrapped syscall, main sleeps 5 ms.
/// Returns (main woke while A was still in its call, retakes).
fn main_runs_during_a_slow_syscall(b: gmp::Builder) -> (bool, u64) {
    build(b.procs(1)).block_on(|| {
        let in_call = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (i2, d2) = (in_call.clone(), done.clone());
        let r0 = gmp::stats().retakes;
        gmp::go(move || {
            gmp::syscall(|| {
                i2.store(true, Release);
                std::thread::sleep(Duration::from_millis(300));
            });
            d2.store(true, Release);
        });
        wait_flag(&in_call, Duration::from_millis(1));
        gmp::sleep(Duration::from_millis(5));
        let during = !done.load(Acquire);
        wait_flag(&done, Duration::from_millis(5));
        (during, gmp::stats().retakes - r0)
    })
}

/// Knob `syscall_handoff(false)`: a wrapped syscall behaves as a raw one
/// (rules.rs raw_syscall_with_runnable_g): the P stays held, nothing is
/// retaken, main waits for the call. With the knob on, sysmon retakes the
/// P and main runs during the call.
fn handoff_off_wrapped_syscall_holds_the_p() -> Result<(), String> {
    let (on_during, on_retakes) = main_runs_during_a_slow_syscall(gmp::Runtime::builder());
    println!("  hand-off on: main ran during the call {on_during}, retakes {on_retakes}");
    ensure(on_during && on_retakes >= 1, || {
        "the control (hand-off on) did not retake the P".into()
    })?;
    let b = gmp::Runtime::builder().syscall_handoff(false);
    let (during, retakes) = main_runs_during_a_slow_syscall(b);
    println!("  hand-off off: main ran during the call {during}, retakes {retakes}");
    ensure(!during && retakes == 0, || {
        format!("hand-off off: main ran during the call {during}, {retakes} retakes")
    })
}

/// Knob `sysmon(false)`: the same slow syscall is never retaken, and a
/// goroutine spinning with safepoints is never asked to yield.
fn sysmon_off_retakes_and_preempts_nothing() -> Result<(), String> {
    let b = gmp::Runtime::builder().sysmon(false);
    let (during, retakes) = main_runs_during_a_slow_syscall(b);
    println!("  sysmon off: main ran during the call {during}, retakes {retakes}");
    ensure(!during && retakes == 0, || {
        format!("sysmon off: main ran during the call {during}, {retakes} retakes")
    })?;
    build(gmp::Runtime::builder().procs(1).sysmon(false)).block_on(|| {
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        gmp::go(move || {
            spin_for(Duration::from_millis(100));
            d2.store(true, Release);
        });
        wait_flag(&done, Duration::from_millis(1));
        let n = gmp::stats().preempt_requests;
        println!("  sysmon off: preempt requests after a 100 ms spin: {n}");
        ensure(n == 0, || format!("{n} preemption requests without sysmon"))
    })
}

/// Knob `retake_exception(false)`: the case of rules.rs
/// lone_yielding_g_not_retaken (60 syscalls of 2 ms, gosched between, procs
/// 2, the other P idle), where Go's exception keeps the P: without it,
/// sysmon retakes the P of nearly every call.
fn retake_exception_off_retakes_a_lone_syscaller() -> Result<(), String> {
    let b = gmp::Runtime::builder().procs(2).retake_exception(false);
    build(b).block_on(|| {
        settle();
        let done = Arc::new(AtomicBool::new(false));
        let retakes = Arc::new(AtomicU64::new(0));
        let (d2, r2) = (done.clone(), retakes.clone());
        gmp::go(move || {
            let r0 = gmp::stats().retakes;
            for _ in 0..60 {
                gmp::syscall(|| std::thread::sleep(Duration::from_millis(2)));
                gmp::gosched();
            }
            r2.store(gmp::stats().retakes - r0, Release);
            d2.store(true, Release);
        });
        gmp::sleep(Duration::from_millis(300));
        wait_flag(&done, Duration::from_millis(50));
        let n = retakes.load(Acquire);
        println!("  60 syscalls of 2 ms, gosched between, exception off: retakes={n}");
        ensure(n >= 30, || {
            format!("want >= 30 retakes without the exception, got {n}")
        })
    })
}

/// procs 1: five 100 ms syscalls with gosched between (so sysmon's
/// sysretake path never applies). Returns the retakes.
fn retakes_of_five_slow_syscalls(b: gmp::Builder) -> u64 {
    build(b.procs(1)).block_on(|| {
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        let r0 = gmp::stats().retakes;
        gmp::go(move || {
            for _ in 0..5 {
                gmp::syscall(|| std::thread::sleep(Duration::from_millis(100)));
                gmp::gosched();
            }
            d2.store(true, Release);
        });
        wait_flag(&done, Duration::from_millis(50));
        gmp::stats().retakes - r0
    })
}

/// Knob `sysmon_delay(Some(500 ms))`: a syscall is retaken when sysmon sees
/// it on two ticks; with ticks 500 ms apart a 100 ms call never is, where
/// Go's 20 us .. 10 ms back-off retakes each one.
fn sysmon_delay_fixed_moves_the_retake_threshold() -> Result<(), String> {
    let go_delay = retakes_of_five_slow_syscalls(gmp::Runtime::builder());
    let b = gmp::Runtime::builder().sysmon_delay(Some(Duration::from_millis(500)));
    let fixed = retakes_of_five_slow_syscalls(b);
    println!(
        "  five 100 ms syscalls: retakes with Go's delay {go_delay}, with a fixed 500 ms {fixed}"
    );
    ensure(go_delay >= 3, || {
        format!("control: Go's delay retook {go_delay} of 5 calls")
    })?;
    ensure(fixed <= 1, || {
        format!("a fixed 500 ms delay still retook {fixed} of five 100 ms calls")
    })
}

/// `N` gmp connections to a std listener (accepted on a plain thread) whose
/// readers wait for data until the measure is taken; then the peers close
/// and the readers return (m0 may be one of the blocked threads, and
/// `block_on` needs it back). Returns threads added and the Ms found in a
/// syscall while the readers waited.
fn threads_for_idle_readers(netpoll: bool) -> Result<(i64, u64), String> {
    const N: usize = 8;
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = l.local_addr().map_err(|e| e.to_string())?;
    let (close_tx, close_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let held: Vec<_> = l.incoming().take(N).collect();
        let _ = close_rx.recv_timeout(Duration::from_secs(60));
        drop(held);
    });
    let b = gmp::Runtime::builder().procs(2).netpoll(netpoll);
    build(b).block_on(move || {
        settle();
        let t0 = threads();
        let returned = Arc::new(AtomicU64::new(0));
        for _ in 0..N {
            let s = gmp::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
            let r2 = returned.clone();
            gmp::go(move || {
                let mut buf = [0u8; 16];
                let _ = s.read(&mut buf);
                r2.fetch_add(1, Release);
            });
        }
        // Readers block in read(2) (netpoll off: wait for sysmon to hand
        // every blocked P off) or park on the poller (on: then leave sysmon
        // 200 ms in which it could, wrongly, add threads).
        let t1 = Instant::now();
        while !netpoll
            && t1.elapsed() < Duration::from_secs(10)
            && gmp::stats().ms_syscall < N as u64
        {
            gmp::sleep(Duration::from_millis(10));
        }
        if netpoll {
            wait_parked("IO wait", N as u64)?;
            gmp::sleep(Duration::from_millis(200));
        }
        let added = threads() as i64 - t0 as i64;
        let in_syscall = gmp::stats().ms_syscall;
        println!(
            "  netpoll={netpoll}: {N} idle readers added {added} threads, {in_syscall} Ms in a syscall"
        );
        let _ = close_tx.send(());
        while returned.load(Acquire) < N as u64 {
            gmp::sleep(Duration::from_millis(5));
        }
        Ok((added, in_syscall))
    })
}

/// Knob `netpoll(false)`: sockets are not registered with the poller and
/// block their thread in read(2): one thread per idle reader, dup_fd's bug
/// by design. With the poller (net.rs tests) the readers park and add none.
/// Counted as Ms in a syscall, not as threads added: Ms left idle before
/// the readers start (a spinning M that found nothing) are reused by them,
/// so the thread delta moved with what was idle at the start (6 or 7 for 8
/// readers on a loaded machine).
fn netpoll_off_blocks_a_thread_per_reader() -> Result<(), String> {
    let (added, in_syscall) = threads_for_idle_readers(false)?;
    ensure(in_syscall >= 8 && added >= 4, || {
        format!(
            "netpoll off: 8 blocked readers: {in_syscall} Ms in a syscall (want 8), {added} threads added"
        )
    })
}

fn netpoll_on_readers_add_no_thread() -> Result<(), String> {
    let (added, in_syscall) = threads_for_idle_readers(true)?;
    ensure(added <= 2 && in_syscall == 0, || {
        format!("netpoll on: 8 parked readers added {added} threads, {in_syscall} Ms in a syscall")
    })
}

/// `GMP_DEBUG` (gmp's GODEBUG) wins over the builder: maxthreads=20 makes a
/// runtime built with the default 10,000 die at 20 threads.
fn gmp_debug_maxthreads_is_the_limit() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .env("GMP_TEST_CHILD", "many_blocking_calls")
        .env("GMP_DEBUG", "maxthreads=20")
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&out.stderr);
    println!(
        "  exit {:?}: {}",
        out.status.code(),
        err.lines().next().unwrap_or("")
    );
    ensure(
        out.status.code() == Some(2) && err.contains("exceeds 20-thread limit"),
        || {
            format!(
                "want exit 2 at 20 threads, got {:?}: {err}",
                out.status.code()
            )
        },
    )
}

/// Helper of the case above: 50 goroutines in blocking calls.
fn many_blocking_calls() -> Result<(), String> {
    build(gmp::Runtime::builder().procs(1)).block_on(|| {
        for _ in 0..50 {
            gmp::go(|| {
                gmp::syscall_block(|| std::thread::sleep(Duration::from_secs(2)));
            });
        }
        gmp::sleep(Duration::from_secs(3));
    });
    Err("survived 50 blocking calls under GMP_DEBUG=maxthreads=20".into())
}

/// Helper: builds a runtime and prints the error, if any.
fn build_only() -> Result<(), String> {
    gmp::Runtime::builder()
        .build()
        .map(drop)
        .map_err(|e| e.to_string())
}

/// A bad knob value is a build error naming the keys, never a default.
fn gmp_debug_rejects_unknown_knobs() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .env("GMP_TEST_CHILD", "build_only")
        .env("GMP_DEBUG", "asyncpreempt=0")
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure(
        !out.status.success() && err.contains("asyncpreemptoff=1") && err.contains("netpoll=0"),
        || {
            format!(
                "want a build error listing the keys, got {:?}: {err}",
                out.status.code()
            )
        },
    )
}

const CASES: &[Case] = &[
    Case::new(
        "asyncpreempt_off_tight_loop_holds_the_p",
        asyncpreempt_off_tight_loop_holds_the_p,
    ),
    Case::new(
        "asyncpreempt_off_keeps_safepoint_preemption",
        asyncpreempt_off_keeps_safepoint_preemption,
    ),
    Case::new(
        "asyncpreempt_off_gc_waits_for_the_loop",
        asyncpreempt_off_gc_waits_for_the_loop,
    ),
    Case::new(
        "handoff_off_wrapped_syscall_holds_the_p",
        handoff_off_wrapped_syscall_holds_the_p,
    ),
    Case::new(
        "sysmon_off_retakes_and_preempts_nothing",
        sysmon_off_retakes_and_preempts_nothing,
    ),
    Case::new(
        "retake_exception_off_retakes_a_lone_syscaller",
        retake_exception_off_retakes_a_lone_syscaller,
    ),
    Case::new(
        "sysmon_delay_fixed_moves_the_retake_threshold",
        sysmon_delay_fixed_moves_the_retake_threshold,
    ),
    Case::new(
        "netpoll_off_blocks_a_thread_per_reader",
        netpoll_off_blocks_a_thread_per_reader,
    ),
    Case::new(
        "netpoll_on_readers_add_no_thread",
        netpoll_on_readers_add_no_thread,
    ),
    Case::new(
        "gmp_debug_maxthreads_is_the_limit",
        gmp_debug_maxthreads_is_the_limit,
    ),
    Case::new(
        "gmp_debug_rejects_unknown_knobs",
        gmp_debug_rejects_unknown_knobs,
    ),
    Case::new("many_blocking_calls", many_blocking_calls).helper(),
    Case::new("build_only", build_only).helper(),
];

fn main() {
    common::main(CASES);
}
