//! The latency probe and the sampler it carries.
//!
//! The probe is one task/goroutine/thread per scenario process that wants to
//! wake every [`PERIOD`] (1 ms) and records how late each wake-up was: the
//! scheduling latency as a program running on that runtime feels it. Every
//! runtime runs the same schedule ([`Schedule`], which is tokio's
//! `MissedTickBehavior::Delay`):
//!
//! * deadlines sit on a fixed 1 ms grid: `next = deadline + PERIOD`, so a
//!   probe that wakes 60 us late every time records 60 us, not drift;
//! * a wake-up more than [`RESET_AFTER`] (5 ms) late restarts the grid from
//!   the wake-up (`next = now + PERIOD`): a stall of 2 s is recorded once
//!   as a 2 s lateness, not followed by 2,000 catch-up wake-ups;
//! * lateness = time woken − deadline, in whole microseconds, never negative.
//!
//! What the floor is differs by runtime, and that is a result, not noise:
//! std threads and gmp sleep with nanosleep/futex precision (tens of us on
//! Linux: the default 50 us timer slack), tokio's timer wheel has 1 ms
//! resolution and rounds deadlines up, so an idle tokio probe is typically
//! ~1 ms late; Go rounds sub-millisecond netpoll waits up to 1 ms as well.
//!
//! The sampler rides on the probe: after recording a wake-up, if
//! `--sample-ms` has passed since the last `sample` line, the probe emits
//! one with the interval's [`ProbeStats`] and the counters (the runtime's
//! own plus the scenario's [`Counters`]). Riding on the probe instead of a
//! thread of its own keeps the thread count (the lab's main measure) free
//! of instrumentation: the only thread the kit may add is the `threads`
//! runtime's probe thread. The price: a starved probe emits no samples until
//! it runs again, and that gap is itself visible in the time series; the
//! runner's own /proc samples go on.
//!
//! Invariants: the interval histogram is emptied exactly when a sample line
//! is written; the whole-run histogram only grows; both are behind one
//! mutex taken once per wake-up (uncontended: only the probe records).

use crate::emit::{Clock, Emitter};
use crate::hist::Histogram;
use schedlab_protocol::metrics::{Line, ProbeStats};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the probe wants to wake.
pub const PERIOD: Duration = Duration::from_millis(1);
/// A wake-up later than this restarts the 1 ms grid from "now".
pub const RESET_AFTER: Duration = Duration::from_millis(5);

/// The fixed-grid schedule shared by the std, gmp and Go probes (tokio's
/// `Interval` computes the same thing itself).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    next: Instant,
}

impl Schedule {
    pub fn starting_at(now: Instant) -> Schedule {
        Schedule { next: now + PERIOD }
    }

    /// How long to sleep from `now`; `None` when the deadline has come.
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        self.next
            .checked_duration_since(now)
            .filter(|d| !d.is_zero())
    }

    /// Records a wake-up at `now` (at or after the deadline): returns the
    /// lateness and moves to the next deadline.
    pub fn woke(&mut self, now: Instant) -> Duration {
        let late = now.saturating_duration_since(self.next);
        self.next = if late > RESET_AFTER {
            now + PERIOD
        } else {
            self.next + PERIOD
        };
        late
    }
}

/// Named counters a scenario updates and every `sample` line carries
/// (e.g. `sends`, `in_flight`, `conns_open`).
#[derive(Clone, Default)]
pub struct Counters {
    list: Arc<Mutex<Vec<(String, Counter)>>>,
}

/// One counter: an atomic, cheap to clone and update from anywhere.
#[derive(Clone, Default, Debug)]
pub struct Counter(Arc<AtomicI64>);

impl Counter {
    pub fn add(&self, d: i64) {
        self.0.fetch_add(d, Ordering::Relaxed);
    }
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Counters {
    /// The counter called `name`, created at 0 on first use.
    pub fn get(&self, name: &str) -> Counter {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, c)) = list.iter().find(|(n, _)| n == name) {
            return c.clone();
        }
        let c = Counter::default();
        list.push((name.to_string(), c.clone()));
        c
    }

    pub fn read_into(&self, out: &mut BTreeMap<String, f64>) {
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        for (n, c) in list.iter() {
            out.insert(n.clone(), c.get() as f64);
        }
    }
}

/// Reads a runtime's own counters into a sample.
pub type RuntimeCounters = Box<dyn FnMut(&mut BTreeMap<String, f64>) + Send>;

/// The probe's shared state. Cheap to clone; every clone is the same probe.
#[derive(Clone)]
pub struct Probe {
    inner: Arc<Inner>,
}

struct Inner {
    emitter: Emitter,
    clock: Clock,
    sample_every: Duration,
    counters: Counters,
    runtime_counters: Mutex<RuntimeCounters>,
    state: Mutex<State>,
    stop: AtomicBool,
}

struct State {
    interval: Histogram,
    total: Histogram,
    next_sample: Instant,
}

impl Probe {
    pub fn new(
        emitter: Emitter,
        clock: Clock,
        sample_every: Duration,
        counters: Counters,
        runtime_counters: RuntimeCounters,
    ) -> Probe {
        let state = State {
            interval: Histogram::new(),
            total: Histogram::new(),
            next_sample: Instant::now() + sample_every,
        };
        Probe {
            inner: Arc::new(Inner {
                emitter,
                clock,
                sample_every,
                counters,
                runtime_counters: Mutex::new(runtime_counters),
                state: Mutex::new(state),
                stop: AtomicBool::new(false),
            }),
        }
    }

    /// Records one wake-up `late` after its deadline, observed at `now`;
    /// emits a `sample` line when one is due.
    pub fn record(&self, late: Duration, now: Instant) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let due = {
            let mut st = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
            st.interval.record(us);
            st.total.record(us);
            if now < st.next_sample {
                None
            } else {
                st.next_sample = next_sample_after(st.next_sample, now, self.inner.sample_every);
                Some(st.interval.take())
            }
        };
        if let Some(h) = due {
            self.emit_sample(&h, now);
        }
    }

    /// Writes a sample line with `h`'s stats and the counters.
    fn emit_sample(&self, h: &Histogram, now: Instant) {
        let mut counters = BTreeMap::new();
        {
            let mut rc = self
                .inner
                .runtime_counters
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            (rc)(&mut counters);
        }
        self.inner.counters.read_into(&mut counters);
        let probe = (!h.is_empty()).then(|| h.stats());
        self.inner.emitter.emit(&Line::Sample {
            t_ms: self.inner.clock.ms_at(now),
            probe,
            counters,
        });
    }

    /// Asks the probe loop to end after its current wake-up.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::Release);
    }

    pub fn stopped(&self) -> bool {
        self.inner.stop.load(Ordering::Acquire)
    }

    /// After the loop has ended: emits a last sample with what the interval
    /// still holds and returns the whole run's stats.
    pub fn finish(&self) -> ProbeStats {
        let (rest, total) = {
            let mut st = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
            (st.interval.take(), st.total.stats())
        };
        if !rest.is_empty() {
            self.emit_sample(&rest, Instant::now());
        }
        total
    }
}

/// The next sample time on the `every` grid strictly after `now` (a late
/// sampler skips the slots it missed rather than bursting).
fn next_sample_after(prev: Instant, now: Instant, every: Duration) -> Instant {
    let mut next = prev + every;
    if next <= now {
        let behind = now.duration_since(prev).as_nanos() / every.as_nanos().max(1);
        next = prev + every * (behind as u32 + 1);
    }
    next
}

/// The std-thread probe loop: sleeps on the grid until stopped.
pub fn run_blocking(probe: &Probe, sleep: impl Fn(Duration)) {
    let mut sched = Schedule::starting_at(Instant::now());
    while !probe.stopped() {
        while let Some(d) = sched.wait(Instant::now()) {
            sleep(d);
        }
        let now = Instant::now();
        probe.record(sched.woke(now), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_time_wakeups_stay_on_the_grid() {
        let t0 = Instant::now();
        let mut s = Schedule::starting_at(t0);
        assert_eq!(s.wait(t0), Some(PERIOD));
        // wake 60 us late: next deadline is still t0 + 2 ms, not drifted
        let late = s.woke(t0 + PERIOD + Duration::from_micros(60));
        assert_eq!(late, Duration::from_micros(60));
        assert_eq!(
            s.wait(t0 + PERIOD + Duration::from_micros(60)),
            Some(Duration::from_micros(940))
        );
    }

    #[test]
    fn a_long_stall_is_recorded_once_and_restarts_the_grid() {
        let t0 = Instant::now();
        let mut s = Schedule::starting_at(t0);
        let woke = t0 + Duration::from_secs(2);
        assert_eq!(s.woke(woke), Duration::from_secs(2) - PERIOD);
        assert_eq!(
            s.wait(woke),
            Some(PERIOD),
            "grid restarts from the late wake-up"
        );
    }

    #[test]
    fn a_small_delay_catches_up_without_restarting() {
        let t0 = Instant::now();
        let mut s = Schedule::starting_at(t0);
        let woke = t0 + Duration::from_millis(4); // 3 ms late: under RESET_AFTER
        assert_eq!(s.woke(woke), Duration::from_millis(3));
        assert_eq!(
            s.wait(woke),
            None,
            "the next deadline (2 ms) has already passed"
        );
    }

    #[test]
    fn early_wakeup_reports_no_negative_lateness() {
        let t0 = Instant::now();
        let mut s = Schedule::starting_at(t0);
        assert_eq!(s.woke(t0), Duration::ZERO);
    }

    #[test]
    fn next_sample_skips_missed_slots() {
        let t0 = Instant::now();
        let every = Duration::from_millis(100);
        assert_eq!(
            next_sample_after(t0, t0 + Duration::from_millis(100), every),
            t0 + every * 2
        );
        assert_eq!(
            next_sample_after(t0, t0 + Duration::from_millis(350), every),
            t0 + every * 4
        );
        assert_eq!(
            next_sample_after(t0, t0 + Duration::from_millis(10), every),
            t0 + every
        );
    }

    #[test]
    fn counters_are_shared_by_name() {
        let c = Counters::default();
        c.get("sends").add(3);
        c.get("sends").add(2);
        c.get("in_flight").set(-1);
        let mut m = BTreeMap::new();
        c.read_into(&mut m);
        assert_eq!(m.get("sends"), Some(&5.0));
        assert_eq!(m.get("in_flight"), Some(&-1.0));
    }
}

#[cfg(test)]
mod sample_tests {
    use super::*;

    use crate::test_buf::Buf;

    #[test]
    fn samples_carry_interval_stats_and_counters_and_finish_flushes_the_rest() {
        let buf = Buf::default();
        let counters = Counters::default();
        counters.get("sends").set(7);
        let rc: RuntimeCounters = Box::new(|m| {
            m.insert("workers".into(), 2.0);
        });
        let every = Duration::from_millis(10);
        let p = Probe::new(
            Emitter::to_writer(buf.clone()),
            Clock::process(),
            every,
            counters,
            rc,
        );
        let t0 = Instant::now();
        // 25 wake-ups 1 ms apart over synthetic time: samples at ~10 and ~20 ms.
        for i in 1..=25u64 {
            p.record(Duration::from_micros(i * 10), t0 + Duration::from_millis(i));
        }
        let total = p.finish();
        assert_eq!(total.n, 25);
        assert_eq!(total.max_us, 250.0);
        let ls = buf.lines();
        let samples: Vec<_> = ls
            .iter()
            .map(|l| match l {
                Line::Sample {
                    probe, counters, ..
                } => (probe.clone().unwrap(), counters.clone()),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert!(samples.len() >= 2, "{samples:?}");
        assert_eq!(
            samples.iter().map(|(p, _)| p.n).sum::<u64>(),
            25,
            "each wake-up in exactly one sample"
        );
        for (_, c) in &samples {
            assert_eq!(c.get("workers"), Some(&2.0));
            assert_eq!(c.get("sends"), Some(&7.0));
        }
    }
}
