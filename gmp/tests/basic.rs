//! Semantics of gmp's public API (goroutines, gosched, sleep, panics,
//! introspection), each case in its own child process (see common/mod.rs),
//! plus the stress cases that `make stress` runs with `--ignored`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// 10,000 goroutines, each yielding a few times, all finish (runq overflow
/// to the global queue, stealing between 2 Ps).
fn many_goroutines_finish() -> Result<(), String> {
    rt(2).block_on(|| {
        let n = Arc::new(AtomicUsize::new(0));
        for _ in 0..10_000 {
            let n = n.clone();
            gmp::go(move || {
                for _ in 0..3 {
                    gmp::gosched();
                }
                n.fetch_add(1, AcqRel);
            });
        }
        let t0 = Instant::now();
        while n.load(Acquire) < 10_000 && t0.elapsed() < Duration::from_secs(20) {
            gmp::sleep(Duration::from_millis(1));
        }
        let done = n.load(Acquire);
        let s = gmp::stats();
        println!(
            "  finished={done} spawned={} goroutines_now={}",
            s.spawned, s.goroutines
        );
        ensure(done == 10_000, || format!("only {done} of 10000 finished"))
    })
}

/// gosched lets the other runnable goroutines run (procs 1: strict
/// alternation through the global queue).
fn gosched_alternates() -> Result<(), String> {
    rt(1).block_on(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let left = Arc::new(AtomicUsize::new(2));
        for id in 0..2u8 {
            let (log, left) = (log.clone(), left.clone());
            gmp::go(move || {
                for _ in 0..5 {
                    log.lock().unwrap().push(id);
                    gmp::gosched();
                }
                left.fetch_sub(1, AcqRel);
            });
        }
        while left.load(Acquire) > 0 {
            gmp::gosched();
        }
        let v = log.lock().unwrap().clone();
        println!("  order {v:?}");
        let alternations = v.windows(2).filter(|w| w[0] != w[1]).count();
        ensure(v.len() == 10 && alternations >= 8, || {
            format!("not alternating: {v:?}")
        })
    })
}

/// sleep never wakes early, and a sleeping goroutine does not hold its P.
fn sleep_not_early_and_releases_p() -> Result<(), String> {
    rt(1).block_on(|| {
        let ran = Arc::new(AtomicBool::new(false));
        let r2 = ran.clone();
        gmp::go(move || r2.store(true, Release));
        let t0 = Instant::now();
        gmp::sleep(Duration::from_millis(30));
        let el = t0.elapsed();
        println!("  slept {el:?}; other goroutine ran: {}", ran.load(Acquire));
        ensure(el >= Duration::from_millis(30), || {
            format!("woke early: {el:?}")
        })?;
        ensure(ran.load(Acquire), || {
            "the P was not released while sleeping".into()
        })
    })
}

/// Many concurrent sleepers all wake, in deadline order per P.
fn many_sleepers_wake() -> Result<(), String> {
    rt(2).block_on(|| {
        let n = Arc::new(AtomicUsize::new(0));
        for i in 0..200u64 {
            let n = n.clone();
            gmp::go(move || {
                gmp::sleep(Duration::from_millis(1 + i % 20));
                n.fetch_add(1, AcqRel);
            });
        }
        let t0 = Instant::now();
        while n.load(Acquire) < 200 && t0.elapsed() < Duration::from_secs(10) {
            gmp::sleep(Duration::from_millis(2));
        }
        let woke = n.load(Acquire);
        println!("  woke={woke}");
        ensure(woke == 200, || format!("only {woke} of 200 sleepers woke"))
    })
}

/// The main goroutine's result comes back; its panic is resumed in block_on.
fn main_result_and_panic() -> Result<(), String> {
    let v = rt(2).block_on(|| 6 * 7);
    ensure(v == 42, || format!("block_on returned {v}"))?;
    let r = std::panic::catch_unwind(|| rt(1).block_on(|| panic!("main says no")));
    let msg = r
        .err()
        .and_then(|p| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    println!("  main panic payload: {msg:?}");
    ensure(msg == "main says no", || {
        format!("panic not resumed: {msg:?}")
    })
}

/// goroutine_dump groups by wait reason and spawn site; system goroutines
/// (forcegc, bgsweep, ...) are hidden as in Go.
fn goroutine_dump_groups() -> Result<(), String> {
    rt(2).block_on(|| {
        let line = line!() + 2;
        for _ in 0..100 {
            gmp::go(|| {
                gmp::sleep(Duration::from_secs(30));
            });
        }
        wait_parked("sleep", 100)?;
        let dump = gmp::goroutine_dump();
        print!("{dump}");
        let want = format!("100 @ sleep, created at gmp/tests/basic.rs:{line}");
        ensure(dump.contains(&want), || format!("dump lacks {want:?}"))?;
        ensure(dump.contains("goroutine profile: total 101"), || {
            "bad total".into()
        })?;
        let s = gmp::stats();
        ensure(s.goroutines == 101 && s.system_goroutines == 4, || {
            format!("{s:?}")
        })
    })
}

/// thread_create_profile names the cause of every thread.
fn thread_profile_causes() -> Result<(), String> {
    rt(1).block_on(|| {
        gmp::lock_os_thread();
        gmp::unlock_os_thread();
        let busy = Arc::new(AtomicBool::new(true));
        let b2 = busy.clone();
        gmp::go(move || {
            while b2.load(Acquire) {
                spin_for(Duration::from_millis(1));
            }
        });
        gmp::syscall(|| std::thread::sleep(Duration::from_millis(20)));
        busy.store(false, Release);
        let prof = gmp::thread_create_profile();
        for t in &prof {
            println!("  M{} {:?}: {}", t.m_id, t.at, t.cause);
        }
        let has = |s: &str| prof.iter().any(|t| t.cause.contains(s));
        ensure(has("sysmon"), || "no sysmon entry".into())?;
        ensure(has("template thread"), || "no template thread entry".into())?;
        ensure(has("runtime.main start-up handoff"), || {
            "no start-up hand-off".into()
        })?;
        ensure(prof.len() as u64 == gmp::stats().threads_created, || {
            "profile length".into()
        })
    })
}

/// GMP_DEBUG=schedtrace=N prints Go's SCHED line.
fn schedtrace_line() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .env("GMP_TEST_CHILD", "schedtrace_child")
        .env("GMP_DEBUG", "schedtrace=20")
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&out.stderr);
    println!("  {}", err.lines().next().unwrap_or(""));
    ensure(
        err.contains("SCHED ")
            && err.contains("gomaxprocs=2 idleprocs=")
            && err.contains(" runqueue="),
        || format!("no SCHED line in {err:?}"),
    )
}

fn schedtrace_child() -> Result<(), String> {
    rt(2).block_on(|| gmp::sleep(Duration::from_millis(100)));
    Ok(())
}

/// A bad GMP_DEBUG is a build error, not a panic.
fn bad_env_is_error() -> Result<(), String> {
    // SAFETY: single-threaded at this point (no runtime started yet).
    unsafe { std::env::set_var("GMP_DEBUG", "schedtrace=often") };
    let r = gmp::Runtime::builder().build();
    unsafe { std::env::remove_var("GMP_DEBUG") };
    let e = r.err().map(|e| e.to_string()).unwrap_or_default();
    println!("  {e}");
    ensure(e.contains("GMP_DEBUG"), || "no error".into())?;
    ensure(gmp::Runtime::builder().procs(0).build().is_err(), || {
        "procs 0 accepted".into()
    })
}

/// Stress: 1,000,000 goroutines spawned and parked (sleeping); RSS per
/// parked goroutine at most 8 KiB; mappings stay far below max_map_count.
fn million_parked() -> Result<(), String> {
    let rt = gmp::Runtime::builder().procs(2).build().expect("build");
    rt.block_on(|| {
        const N: usize = 1_000_000;
        let rss0 = rss_bytes();
        let parked = Arc::new(AtomicUsize::new(0));
        for _ in 0..N {
            let p = parked.clone();
            gmp::go(move || {
                p.fetch_add(1, Relaxed);
                gmp::sleep(Duration::from_secs(3600));
            });
        }
        while parked.load(Relaxed) < N {
            gmp::sleep(Duration::from_millis(10));
        }
        wait_parked("sleep", N as u64)?;
        let rss1 = rss_bytes();
        let per_g = (rss1 - rss0) as f64 / N as f64;
        let maps = std::fs::read_to_string("/proc/self/maps")
            .map(|s| s.lines().count())
            .unwrap_or(0);
        println!(
            "  {N} parked: RSS {} MiB -> {} MiB, {per_g:.0} bytes per goroutine, {maps} mappings",
            rss0 >> 20,
            rss1 >> 20
        );
        ensure(per_g <= 8192.0, || {
            format!("{per_g:.0} bytes per parked goroutine > 8 KiB")
        })?;
        ensure(maps < 10_000, || format!("{maps} mappings"))
    })
}

/// Stress: 9,000 goroutines in blocking syscalls make 9,000+ threads, under
/// the default 10,000 limit.
fn ten_thousand_threads() -> Result<(), String> {
    rt(2).block_on(|| {
        const N: u64 = 9_000;
        let started = Arc::new(AtomicU64::new(0));
        let release = Arc::new(AtomicBool::new(false));
        for _ in 0..N {
            let (s, r) = (started.clone(), release.clone());
            gmp::go(move || {
                gmp::syscall_block(|| {
                    s.fetch_add(1, AcqRel);
                    while !r.load(Acquire) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                });
            });
        }
        let t0 = Instant::now();
        while started.load(Acquire) < N && t0.elapsed() < Duration::from_secs(120) {
            gmp::sleep(Duration::from_millis(20));
        }
        let n = threads();
        release.store(true, Release);
        println!(
            "  {} goroutines in blocking syscalls, {n} threads",
            started.load(Acquire)
        );
        ensure(n >= N as usize, || format!("only {n} threads"))
    })
}

fn rss_bytes() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

const CASES: &[Case] = &[
    Case::new("many_goroutines_finish", many_goroutines_finish),
    Case::new("gosched_alternates", gosched_alternates),
    Case::new(
        "sleep_not_early_and_releases_p",
        sleep_not_early_and_releases_p,
    ),
    Case::new("many_sleepers_wake", many_sleepers_wake),
    Case::new("main_result_and_panic", main_result_and_panic),
    Case::new("goroutine_dump_groups", goroutine_dump_groups),
    Case::new("thread_profile_causes", thread_profile_causes),
    Case::new("schedtrace_line", schedtrace_line),
    Case::new("schedtrace_child", schedtrace_child).helper(),
    Case::new("bad_env_is_error", bad_env_is_error),
    Case::new("stress_million_parked", million_parked)
        .ignored()
        .timeout(Duration::from_secs(600)),
    Case::new("stress_ten_thousand_threads", ten_thousand_threads)
        .ignored()
        .timeout(Duration::from_secs(600)),
];

fn main() {
    common::main(CASES);
}
