//! Stop-the-world and seed 004 (the Go 1.14.1 timer hang, golang/go#38023),
//! each case in its own child process (see common/mod.rs).
//!
//! * STW completes at procs 1 and 2 with busy goroutines that only yield
//!   at safepoints, and with a goroutine inside a syscall (its P is taken
//!   to `_Pgcstop` without waiting for it).
//! * The seed's reproduction (procs 2; one goroutine loops `gmp::gc()`, two
//!   loop `<-t.C; t.Reset(1us)` / `t.Reset(2us)`): with `Timers::Go1_14_1`
//!   it hangs and the watchdog names the P that is not stopped, the M
//!   spinning on the `Modifying` timer and the preempted G; the child exits
//!   from the diagnosis hook (status 3) or fails after 50 s without a hang.
//!   With `Timers::Go1_19` the same load runs 5 s and both GC cycles and
//!   timer fires advance in every second of it.
//!
//! No assertion is on time: the bounds are counts (cycles, fires) and the
//! case timeouts are hang guards.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

use common::*;

/// `rounds` GC cycles from main while `busy` goroutines spin (safepoints
/// only): every cycle completes and the busy goroutines keep running
/// between cycles.
fn stw_with_busy(procs: usize, busy: usize, rounds: u64) -> Result<(), String> {
    rt_timers(procs, gmp::Timers::Go1_19).block_on(move || {
        let stop = Arc::new(AtomicBool::new(false));
        let work = Arc::new(AtomicU64::new(0));
        for _ in 0..busy {
            let (stop, work) = (stop.clone(), work.clone());
            gmp::go(move || {
                while !stop.load(Acquire) {
                    spin_for(Duration::from_micros(50));
                    work.fetch_add(1, AcqRel);
                }
            });
        }
        gmp::sleep(Duration::from_millis(5));
        let mut progressed = 0;
        for _ in 0..rounds {
            let before = work.load(Acquire);
            gmp::gc();
            gmp::sleep(Duration::from_millis(2));
            if work.load(Acquire) > before {
                progressed += 1;
            }
        }
        stop.store(true, Release);
        let (stops, max) = gmp::stw_stats();
        println!(
            "  procs={procs} busy={busy}: {stops} stops, longest {max:?}; busy work advanced in {progressed}/{rounds} gaps"
        );
        // Two stops per cycle: sweep termination and mark termination.
        ensure(stops == 2 * rounds, || {
            format!("{stops} stops, wanted {}", 2 * rounds)
        })?;
        ensure(progressed >= rounds / 2, || {
            format!("the busy goroutines advanced in only {progressed} of {rounds} gaps")
        })
    })
}

fn stw_procs1_busy() -> Result<(), String> {
    stw_with_busy(1, 2, 50)
}

fn stw_procs2_busy() -> Result<(), String> {
    stw_with_busy(2, 3, 100)
}

/// A goroutine in a 400 ms syscall does not hold up the stop: its P is
/// taken to `_Pgcstop`, and the world stops and restarts while the
/// syscall is still running.
fn stw_with_g_in_syscall() -> Result<(), String> {
    rt_timers(2, gmp::Timers::Go1_19).block_on(|| {
        let in_call = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (i2, d2) = (in_call.clone(), done.clone());
        gmp::go(move || {
            gmp::syscall(|| {
                i2.store(true, Release);
                std::thread::sleep(Duration::from_millis(400));
            });
            d2.store(true, Release);
        });
        while !in_call.load(Acquire) {
            gmp::sleep(Duration::from_millis(1));
        }
        for _ in 0..10 {
            gmp::gc();
        }
        let during = !done.load(Acquire);
        while !done.load(Acquire) {
            gmp::sleep(Duration::from_millis(5));
        }
        gmp::gc();
        let (stops, _) = gmp::stw_stats();
        println!("  {stops} stops; all 10 completed during the syscall: {during}");
        ensure(during, || {
            "the stops waited for the syscall to return".into()
        })?;
        ensure(stops == 22, || format!("{stops} stops, wanted 2 per cycle"))
    })
}

/// The seed's load: a goroutine looping gc() and `timer_goroutines` timer
/// loops reset alternately to 1 us and 2 us (the seed has 2). The tests use
/// 8: more trips through mod_timer's window make the Go 1.14.1 hang near
/// certain within seconds (scenario timer_stw measured 6 of 6 runs within
/// 0.6 s, against 4 of 6 within 15 s with 2), so the bound below cannot
/// flake, and the Go 1.19 run is checked under the heavier load. Returns
/// the counters (gc cycles, fires).
fn seed004_load(timer_goroutines: u64) -> (Arc<AtomicU64>, Arc<AtomicU64>) {
    let gcs = Arc::new(AtomicU64::new(0));
    let fires = Arc::new(AtomicU64::new(0));
    let g = gcs.clone();
    gmp::go(move || {
        loop {
            gmp::gc();
            g.fetch_add(1, Relaxed);
        }
    });
    for i in 0..timer_goroutines {
        let us = 1 + i % 2;
        let f = fires.clone();
        gmp::go(move || {
            let d = Duration::from_micros(us);
            let t = gmp::Timer::new(d);
            loop {
                t.recv();
                t.reset(d);
                f.fetch_add(1, Relaxed);
            }
        });
    }
    (gcs, fires)
}

/// Go 1.14.1's ordering: the world wedges, and the watchdog says why. The
/// diagnosis hook checks the text and exits the child with status 3.
fn seed004_go1_14_1_hangs_and_is_diagnosed() -> Result<(), String> {
    gmp::set_diagnosis_hook(|d| {
        let t = &d.text;
        let wants = [
            "stop-the-world",
            "NOT stopped",
            "spinning in",
            "is Modifying",
            "was set Modifying by G",
            "mod_timer",
            "preempted in mod_timer -> ",
            "created at gmp/tests/stw.rs",
            "has no current G",
        ];
        let missing: Vec<_> = wants.iter().filter(|w| !t.contains(*w)).collect();
        if missing.is_empty() {
            eprintln!("DIAGNOSIS OK after {:?} of stall", d.stalled_for);
            std::process::exit(3);
        }
        eprintln!("DIAGNOSIS INCOMPLETE: missing {missing:?}");
        std::process::exit(4);
    });
    rt_timers(2, gmp::Timers::Go1_14_1).block_on(|| {
        let (gcs, fires) = seed004_load(8);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(50) {
            gmp::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "no hang in 50 s ({} GC cycles, {} timer fires)",
            gcs.load(Relaxed),
            fires.load(Relaxed)
        ))
    })
}

/// Go 1.19's ordering: 5 s of the same load, GC cycles and timer fires
/// advancing in each second, and no watchdog report.
fn seed004_go1_19_runs_clean() -> Result<(), String> {
    rt_timers(2, gmp::Timers::Go1_19).block_on(|| {
        let (gcs, fires) = seed004_load(8);
        let mut windows = Vec::new();
        for _ in 0..5 {
            let (g0, f0) = (gcs.load(Relaxed), fires.load(Relaxed));
            gmp::sleep(Duration::from_secs(1));
            windows.push((gcs.load(Relaxed) - g0, fires.load(Relaxed) - f0));
        }
        println!("  per-second (gc cycles, timer fires): {windows:?}");
        ensure(gmp::diagnoses().is_empty(), || {
            format!("watchdog reported: {:?}", gmp::diagnoses())
        })?;
        ensure(windows.iter().all(|&(g, f)| g > 0 && f > 0), || {
            format!("a second without progress: {windows:?}")
        })
    })
}

const CASES: &[Case] = &[
    Case::new("stw_procs1_busy", stw_procs1_busy).timeout(Duration::from_secs(60)),
    Case::new("stw_procs2_busy", stw_procs2_busy).timeout(Duration::from_secs(60)),
    Case::new("stw_with_g_in_syscall", stw_with_g_in_syscall).timeout(Duration::from_secs(60)),
    Case::new(
        "seed004_go1_14_1_hangs_and_is_diagnosed",
        seed004_go1_14_1_hangs_and_is_diagnosed,
    )
    .fails(3, &["gmp watchdog: stop-the-world", "DIAGNOSIS OK"])
    .timeout(Duration::from_secs(60)),
    Case::new("seed004_go1_19_runs_clean", seed004_go1_19_runs_clean)
        .timeout(Duration::from_secs(60)),
];

fn main() {
    common::main(CASES);
}
