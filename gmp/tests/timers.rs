//! Timer and sleep semantics (time.go's `Timer`, `Sleep`), each case in its
//! own child process (see common/mod.rs). The state machine's transitions
//! are unit tests in src/timer/tests.rs; these drive it through the public API
//! on a running runtime, in both orderings where the ordering matters.
//!
//! No assertion is on lateness: "not early" is a semantic guarantee (Go's
//! too); "eventually" is bounded by the case timeout (a hang guard), and a
//! timer that should not fire is checked after a generous wait.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

use common::*;

const BOTH: [gmp::Timers; 2] = [gmp::Timers::Go1_19, gmp::Timers::Go1_14_1];

/// A 5 ms sleep never wakes before 5 ms (20 times, procs 1 and 2).
fn sleep_not_early() -> Result<(), String> {
    for procs in [1, 2] {
        rt_timers(procs, gmp::Timers::Go1_19).block_on(|| {
            for _ in 0..20 {
                let t0 = Instant::now();
                gmp::sleep(Duration::from_millis(5));
                let el = t0.elapsed();
                ensure(el >= Duration::from_millis(5), || {
                    format!("woke after {el:?}")
                })?;
            }
            Ok::<(), String>(())
        })?;
    }
    Ok(())
}

/// Timer::new fires once, not early; reset of a fired timer returns false
/// (the wasRemoved path) and fires again; both orderings.
fn timer_fires_and_resets() -> Result<(), String> {
    for ord in BOTH {
        rt_timers(2, ord).block_on(move || {
            let t0 = Instant::now();
            let t = gmp::Timer::new(Duration::from_millis(5));
            let at = t.recv();
            ensure(at.duration_since(t0) >= Duration::from_millis(5), || {
                format!("{ord:?}: fired after {:?}", at.duration_since(t0))
            })?;
            ensure(t.fires() == 1, || format!("fires {}", t.fires()))?;
            let t1 = Instant::now();
            let pending = t.reset(Duration::from_millis(5));
            ensure(!pending, || "reset of a fired timer said pending".into())?;
            let at = t.recv();
            ensure(at.duration_since(t1) >= Duration::from_millis(5), || {
                format!("re-fired after {:?}", at.duration_since(t1))
            })?;
            ensure(t.fires() == 2, || format!("fires {}", t.fires()))
        })?;
    }
    Ok(())
}

/// stop before the timer fires: true once, then false; it never fires.
fn timer_stop_prevents_fire() -> Result<(), String> {
    for ord in BOTH {
        rt_timers(2, ord).block_on(move || {
            let t = gmp::Timer::new(Duration::from_millis(20));
            ensure(t.stop(), || "first stop said already fired".into())?;
            ensure(!t.stop(), || "second stop said pending".into())?;
            gmp::sleep(Duration::from_millis(60));
            ensure(t.c().try_recv().is_err() && t.fires() == 0, || {
                format!("{ord:?}: a stopped timer fired")
            })?;
            // Reset after stop: the Deleted -> Modifying -> ModifiedXX path
            // (or Removed, if the heap was cleaned meanwhile): fires again.
            ensure(!t.reset(Duration::from_millis(2)), || {
                "reset after stop said pending".into()
            })?;
            t.recv();
            ensure(t.fires() == 1, || format!("fires {}", t.fires()))
        })?;
    }
    Ok(())
}

/// reset of a pending timer to later: true, and it does not fire at the
/// old time (ModifiedLater); reset to much earlier: fires at the new time
/// (ModifiedEarlier; if adjust_timers ignored it, the case would time out
/// waiting for the 1000 s timer).
fn timer_reset_later_and_earlier() -> Result<(), String> {
    for ord in BOTH {
        rt_timers(2, ord).block_on(move || {
            let t = gmp::Timer::new(Duration::from_millis(10));
            ensure(t.reset(Duration::from_millis(200)), || {
                "reset of a pending timer said not pending".into()
            })?;
            gmp::sleep(Duration::from_millis(50));
            ensure(t.c().try_recv().is_err(), || {
                format!("{ord:?}: fired at the old (earlier) time")
            })?;
            t.recv();
            let t2 = gmp::Timer::new(Duration::from_secs(1000));
            ensure(t2.reset(Duration::from_millis(3)), || "not pending".into())?;
            t2.recv();
            Ok::<(), String>(())
        })?;
    }
    Ok(())
}

/// 2,000 timers on 2 Ps reset back and forth, then stopped halfway: every
/// timer left running fires exactly once, no stopped one fires, and the
/// deleted ones are cleaned out of the heaps.
fn many_timers_reset_and_stopped() -> Result<(), String> {
    for ord in BOTH {
        rt_timers(2, ord).block_on(move || {
            let done = Arc::new(AtomicUsize::new(0));
            let bad = Arc::new(AtomicUsize::new(0));
            for i in 0..20u64 {
                let (done, bad) = (done.clone(), bad.clone());
                gmp::go(move || {
                    let ts: Vec<_> = (0..100u64)
                        .map(|j| gmp::Timer::new(Duration::from_millis(5 + (i * 7 + j) % 30)))
                        .collect();
                    for (j, t) in ts.iter().enumerate() {
                        t.reset(Duration::from_millis(40 + j as u64 % 10));
                        if j % 2 == 1 {
                            t.stop();
                        }
                    }
                    gmp::sleep(Duration::from_millis(150));
                    for (j, t) in ts.iter().enumerate() {
                        let want = if j % 2 == 1 { 0 } else { 1 };
                        if t.fires() != want {
                            bad.fetch_add(1, AcqRel);
                        }
                    }
                    done.fetch_add(1, AcqRel);
                });
            }
            while done.load(Acquire) < 20 {
                gmp::sleep(Duration::from_millis(5));
            }
            let b = bad.load(Acquire);
            println!("  {ord:?}: {b} timers with a wrong fire count");
            ensure(b == 0, || {
                format!("{b} timers fired the wrong number of times")
            })
        })?;
    }
    Ok(())
}

/// A timer created on one P fires while that P's goroutine is busy: the
/// other P's M runs it (timer stealing in find_runnable's last round) or
/// the busy P's scheduler does at its next scheduling point.
fn timer_fires_while_its_p_is_busy() -> Result<(), String> {
    rt_timers(2, gmp::Timers::Go1_19).block_on(|| {
        let t = gmp::Timer::new(Duration::from_millis(5));
        let fired = Arc::new(AtomicUsize::new(0));
        let f2 = fired.clone();
        let c = t.c().clone();
        gmp::go(move || {
            c.recv();
            f2.store(1, Release);
        });
        // Busy on this P (safepoints only) for 300 ms.
        spin_for(Duration::from_millis(300));
        ensure(
            wait_until(Duration::from_secs(1), || fired.load(Acquire) == 1),
            || "the timer never fired".into(),
        )
    })
}

const CASES: &[Case] = &[
    Case::new("sleep_not_early", sleep_not_early),
    Case::new("timer_fires_and_resets", timer_fires_and_resets),
    Case::new("timer_stop_prevents_fire", timer_stop_prevents_fire),
    Case::new(
        "timer_reset_later_and_earlier",
        timer_reset_later_and_earlier,
    )
    .timeout(Duration::from_secs(30)),
    Case::new(
        "many_timers_reset_and_stopped",
        many_timers_reset_and_stopped,
    ),
    Case::new(
        "timer_fires_while_its_p_is_busy",
        timer_fires_while_its_p_is_busy,
    ),
];

fn main() {
    common::main(CASES);
}
