//! Scenario `timer_stw` (seed 004, golang/go#38023): Go 1.14.1's
//! stop-the-world hang, reproduced on the gmp model, timed and diagnosed.
//!
//! # The incident
//!
//! On Go 1.14.1 a goroutine resetting a fired timer (`t.Reset` after
//! `<-t.C`) set the timer `timerModifying`, put it in its P's heap, and was
//! preempted at the prologue of `wakeNetPoller` before setting it
//! `timerWaiting`. Its M went into the scheduler with no current G, found
//! the timer at the head of its heap and spun on it with `osyield`. A GC's
//! stop-the-world stopped every other P; `preemptone` skips an M without a
//! current G, the spinning M never reached a `gcwaiting` check, and the
//! goroutine that could finish the modification sat on the global run
//! queue: the process wedged with one core at 100 % in `runtime.osyield`.
//!
//! # The workload (the seed's reproduction)
//!
//! GOMAXPROCS = `procs`; one goroutine loops `gmp::gc()` (two stops and a mark);
//! two goroutines loop `<-t.C; t.Reset(1us)` and `<-t1.C; t1.Reset(2us)`
//! (`timer_goroutines`, default 2 as in the seed: more of them, alternately
//! at 1 us and 2 us, race in `mod_timer` more often).
//! Counters: `gc_cycles`, `timer1_fires`, `timer2_fires`, `timer_fires`
//! (in every sample line while the world runs). `timers` selects gmp's
//! `modtimer` ordering: `go1.14.1` (the bug) or `go1.19` (the fix).
//!
//! # Ending, hung or not
//!
//! A hung runtime cannot end the run: no goroutine runs again. So the
//! runtime's m0 is a spawned thread, and the process's main thread (not an
//! M) waits for `--duration` after `load_start` (or 2 s after a diagnosed
//! hang, see `AFTER_HANG`); then it writes `load_stop`
//! and the summary and exits the process whether the runtime finished or
//! not. gmp's watchdog (on sysmon's thread) reports a stop-the-world that
//! has not completed after `stall_limit_ms` (or, at procs 1, an M spinning
//! on one timer that long): the report becomes an `event` of kind
//! `diagnosis`, and its start is the hang time.
//!
//! At the start of a `go1.14.1` point the gmp column also writes an
//! `event` of kind `model_check`: `gmp_modelcheck::check` for both
//! orderings (the exhaustive model of the same protocol: the buggy
//! ordering's shortest livelocking interleaving; none for the fix).
//!
//! Summary metrics (names shared with reference/go/timer_stw): gc_cycles,
//! timer_fires, timer1_fires, timer2_fires, gc_cycles_per_s and
//! timer_fires_per_s (over the time before the hang, or the whole load),
//! load_s, hung (0/1), longest_stall_ms, stalls; gmp only: diagnosed (0/1),
//! time_to_hang_s (hung runs only: from load_start to the start of the
//! stop that never completed), cores_after_hang (CPU seconds per second
//! from the diagnosis to the end: the spinning M), stw_stops,
//! stw_max_stop_us.

use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use scenario_kit::gmp;
use scenario_kit::probe::Probe;
use scenario_kit::rt_gmp::ProbeGoroutine;
use scenario_kit::selfstat::cpu_seconds;
use scenario_kit::{Counter, Ctx, Kind, ParamSpec, Runtime, Spec};

const SPEC: Spec = Spec {
    name: "timer_stw",
    about: "Seed 004's Go 1.14.1 hang (a gc() loop beside two 1-2 us timer Reset loops) on the gmp model, with the Go 1.14.1 or Go 1.19 timer ordering; the watchdog's diagnosis as an event.",
    runtimes: &[Runtime::Gmp],
    params: &[
        ParamSpec {
            key: "procs",
            kind: Kind::Int { min: 1, max: 256 },
            default: "2",
            help: "GOMAXPROCS",
        },
        ParamSpec {
            key: "timers",
            kind: Kind::Word(&["go1.19", "go1.14.1"]),
            default: "go1.19",
            help: "modtimer ordering: go1.14.1 (wake_netpoller before the status change, no acquirem) or go1.19 (fixed)",
        },
        ParamSpec {
            key: "timer_goroutines",
            kind: Kind::Int { min: 1, max: 1024 },
            default: "2",
            help: "goroutines looping on their own timer, reset alternately to 1 us and 2 us (the seed has 2; more goroutines racing in mod_timer make the hang come sooner)",
        },
        ParamSpec {
            key: "stall_limit_ms",
            kind: Kind::Int {
                min: 10,
                max: 600_000,
            },
            default: "1000",
            help: "the watchdog reports a stop-the-world (or timer spin) lasting this long",
        },
    ],
};

fn main() {
    scenario_kit::run(SPEC, |ctx: Ctx| match ctx.runtime {
        Runtime::Gmp => run_gmp(&ctx),
        _ => unreachable!("the kit refuses runtimes outside SPEC"),
    })
}

/// The counters of the load, shared by the goroutines and the main thread.
struct Load {
    gc: Counter,
    t1: Counter,
    t2: Counter,
    fires: Counter,
    stop: AtomicBool,
    load_start: Mutex<Option<Instant>>,
    hang: Mutex<Option<Hang>>,
}

/// What the first watchdog report said, and the counters then.
struct Hang {
    began: Instant,
    reported: Instant,
    gc: i64,
    fires: i64,
    cpu_s: f64,
}

fn run_gmp(ctx: &Ctx) -> anyhow::Result<()> {
    let procs = ctx.params.usize("procs");
    let word = ctx.params.word("timers");
    let timers = gmp::Timers::parse(word).ok_or_else(|| anyhow::anyhow!("timers={word}"))?;
    let limit = Duration::from_millis(ctx.params.int("stall_limit_ms") as u64);
    if timers == gmp::Timers::Go1_14_1 {
        ctx.event("model_check", model_check());
    }
    let rt = gmp::Runtime::builder()
        .procs(procs)
        .timers(timers)
        .stw_watchdog(Some(limit))
        .build()
        .map_err(|e| anyhow::anyhow!("building the gmp runtime: {e}"))?;
    let load = Arc::new(Load {
        gc: ctx.counter("gc_cycles"),
        t1: ctx.counter("timer1_fires"),
        t2: ctx.counter("timer2_fires"),
        fires: ctx.counter("timer_fires"),
        stop: AtomicBool::new(false),
        load_start: Mutex::new(None),
        hang: Mutex::new(None),
    });
    let (l2, c2) = (load.clone(), ctx.clone());
    gmp::set_diagnosis_hook(move |d| {
        let mut h = l2.hang.lock().unwrap_or_else(|p| p.into_inner());
        if h.is_none() {
            *h = Some(Hang {
                began: d.began,
                reported: Instant::now(),
                gc: l2.gc.get(),
                fires: l2.fires.get(),
                cpu_s: cpu_seconds(),
            });
        }
        drop(h);
        c2.event("diagnosis", d.text.clone());
    });

    let probe = ctx.new_probe(counters());
    let (tx, rx) = mpsc::channel::<anyhow::Result<()>>();
    let (p2, l3, c3) = (probe.clone(), load.clone(), ctx.clone());
    // m0: a thread of its own, so that the main thread can end the run
    // when the runtime is wedged.
    std::thread::Builder::new()
        .name("timer_stw-m0".into())
        .spawn(move || {
            let r = rt.block_on(move || main_goroutine(c3, l3, p2));
            let _ = tx.send(r);
        })?;

    // The main thread (not an M): wait for load_start, then the duration.
    let t0 = Instant::now();
    let start = loop {
        if let Some(s) = *load.load_start.lock().unwrap_or_else(|p| p.into_inner()) {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            anyhow::bail!("the gmp runtime did not start its load within 30 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let end = start + ctx.duration + Duration::from_millis(300);
    let diagnosed = || load.hang.lock().is_ok_and(|h| h.is_some());
    let mut finished = wait_for_end_or_hang(&rx, &load, end);
    let now = Instant::now();
    if finished.is_err() && !diagnosed() {
        // Not finished, not (yet) diagnosed: a stall that began less than
        // stall_limit_ms before the end gets the watchdog's time to report.
        let t = Instant::now();
        while t.elapsed() < limit + Duration::from_millis(500) && !diagnosed() {
            if let Ok(r) = rx.recv_timeout(Duration::from_millis(10)) {
                finished = Ok(r);
                break;
            }
        }
    }
    let finished = match finished {
        Ok(r) => {
            r?;
            true
        }
        Err(_) => false,
    };
    ctx.phase("load_stop");
    if finished {
        ctx.record_probe(&probe.finish());
    }
    summarize(ctx, &load, start, now, finished);
    Ok(())
}

/// How long a hung run goes on after the diagnosis: long enough to
/// measure the spinning core (`cores_after_hang`), short enough that a
/// long `--duration` costs little when the hang comes early.
const AFTER_HANG: Duration = Duration::from_secs(2);

/// Waits until the runtime finishes, or `end`, or `AFTER_HANG` after the
/// watchdog's diagnosis: a wedged world never ends by itself, and nothing
/// more is learnt by watching it longer.
fn wait_for_end_or_hang(
    rx: &mpsc::Receiver<anyhow::Result<()>>,
    load: &Load,
    end: Instant,
) -> Result<anyhow::Result<()>, mpsc::RecvTimeoutError> {
    loop {
        let now = Instant::now();
        let hung_long_enough = load
            .hang
            .lock()
            .is_ok_and(|h| h.as_ref().is_some_and(|h| now >= h.reported + AFTER_HANG));
        if now >= end || hung_long_enough {
            return Err(mpsc::RecvTimeoutError::Timeout);
        }
        match rx.recv_timeout(Duration::from_millis(10).min(end - now)) {
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            r => return r,
        }
    }
}

/// The main goroutine: the probe, the seed's three goroutines, the
/// duration.
fn main_goroutine(ctx: Ctx, load: Arc<Load>, probe: Probe) -> anyhow::Result<()> {
    let probe = ProbeGoroutine::start(&probe);
    ctx.phase("load_start");
    *load.load_start.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    let l = load.clone();
    gmp::go(move || {
        while !l.stop.load(Relaxed) {
            gmp::gc();
            l.gc.add(1);
        }
    });
    for i in 0..ctx.params.usize("timer_goroutines") {
        let us = 1 + (i % 2) as u64;
        let l = load.clone();
        gmp::go(move || {
            let d = Duration::from_micros(us);
            let mine = if us == 1 { &l.t1 } else { &l.t2 };
            let t = gmp::Timer::new(d);
            while !l.stop.load(Relaxed) {
                t.recv();
                t.reset(d);
                mine.add(1);
                l.fires.add(1);
            }
            t.stop();
        });
    }
    gmp::sleep(ctx.duration);
    load.stop.store(true, Release);
    probe.stop();
    Ok(())
}

fn summarize(ctx: &Ctx, load: &Load, start: Instant, now: Instant, finished: bool) {
    let (gc, t1, t2, fires) = (
        load.gc.get(),
        load.t1.get(),
        load.t2.get(),
        load.fires.get(),
    );
    let load_s = now.duration_since(start).as_secs_f64();
    ctx.metric("gc_cycles", gc as f64);
    ctx.metric("timer1_fires", t1 as f64);
    ctx.metric("timer2_fires", t2 as f64);
    ctx.metric("timer_fires", fires as f64);
    ctx.metric("load_s", load_s);
    let (stops, max_stop) = gmp::stw_stats();
    ctx.metric("stw_stops", stops as f64);
    ctx.metric("stw_max_stop_us", max_stop.as_secs_f64() * 1e6);
    let hang = load.hang.lock().unwrap_or_else(|p| p.into_inner());
    let hung = !finished || hang.is_some();
    ctx.metric("hung", f64::from(u8::from(hung)));
    ctx.metric("diagnosed", f64::from(u8::from(hang.is_some())));
    ctx.metric("stalls", f64::from(u8::from(hang.is_some())));
    match &*hang {
        Some(h) => {
            let before = h.began.saturating_duration_since(start).as_secs_f64();
            ctx.metric("time_to_hang_s", before);
            ctx.metric("gc_cycles_per_s", h.gc as f64 / before.max(1e-3));
            ctx.metric("timer_fires_per_s", h.fires as f64 / before.max(1e-3));
            ctx.metric(
                "longest_stall_ms",
                now.saturating_duration_since(h.began).as_secs_f64() * 1e3,
            );
            let wall = now.saturating_duration_since(h.reported).as_secs_f64();
            if wall > 0.2 {
                ctx.metric("cores_after_hang", (cpu_seconds() - h.cpu_s) / wall);
            }
        }
        None => {
            ctx.metric("gc_cycles_per_s", gc as f64 / load_s.max(1e-3));
            ctx.metric("timer_fires_per_s", fires as f64 / load_s.max(1e-3));
            ctx.metric("longest_stall_ms", 0.0);
        }
    }
}

/// `gmp_modelcheck::check` for both orderings, as the report prints it.
fn model_check() -> String {
    let buggy = gmp_modelcheck::check(gmp_modelcheck::Ordering::Go1_14_1);
    let fixed = gmp_modelcheck::check(gmp_modelcheck::Ordering::Go1_19);
    format!("{buggy}\n{fixed}")
}

/// The runtime counters of every sample line: the kit's gmp counters and
/// the stop-the-world count.
fn counters() -> scenario_kit::probe::RuntimeCounters {
    let mut kit = scenario_kit::rt_gmp::counters();
    Box::new(move |c| {
        kit(c);
        c.insert("stw_stops".to_string(), gmp::stw_stats().0 as f64);
    })
}
