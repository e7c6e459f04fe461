//! The `/proc` sampler: what the kernel says about a scenario process,
//! measured from outside so every runtime is measured the same way.
//!
//! One sampler thread per running point. Each tick reads
//! `/proc/<pid>/stat` (utime+stime, plus num_threads and rss: the same
//! kernel counters `/proc/<pid>/status` shows as Threads and VmRSS, see
//! [`read_base`]) through the procfs crate and sends a [`ProcSample`] to the
//! supervision loop, which interleaves it with the scenario's own lines.
//! Some ticks also scan `/proc/<pid>/task/*/stat` and count threads in
//! state R (running or runnable): the honest concurrency figure, which
//! exceeds a cap even on a 2-core machine where at most 2 can be running.
//!
//! # Invariants
//!
//! * **Own cost bounded.** The sampler must not perturb what it measures,
//!   so it stays under 5% of one core whatever the thread count. It
//!   measures the CPU time of each of its two activities with
//!   `CLOCK_THREAD_CPUTIME_ID` and spaces them so that `cost / period`
//!   stays within a budget: [`BASE_BUDGET`] for the base read,
//!   [`SCAN_BUDGET`] for the per-thread scan. At 10 threads the scan runs
//!   every tick; at 10,000 (tens of ms per scan) every second or so. A
//!   sample without a scan has `r_threads: None`. Over both, a governor
//!   delays the next tick whenever the thread's CPU since it started
//!   exceeds [`TOTAL_BUDGET`] of its wall time, which bounds what the
//!   per-activity pacing does not see (wake-ups, channel sends).
//! * **Cores over a window.** utime/stime tick at `1/USER_HZ` (10 ms), so
//!   the delta between two 5 ms samples is 0 or 2 cores: noise. `cores` is
//!   the delta over the last ≥ [`CORES_WINDOW_MS`] of samples instead (or
//!   since the first sample, early on).
//! * **No sample of a corpse or of a stranger.** The sampler stops at the
//!   first sample that finds the process a zombie or gone, and the
//!   supervision loop stops it (joins it) before reaping the pid, so the pid
//!   can never have been reused under it.
//! * The sampler's total CPU (`getrusage(RUSAGE_THREAD)` at its end) is
//!   returned so the runner can record it in `run.json`.

use procfs::process::Process;
use schedlab_protocol::metrics::ProcSample;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Fraction of one core the base read may use.
pub const BASE_BUDGET: f64 = 0.015;
/// Fraction of one core the per-thread scan may use.
pub const SCAN_BUDGET: f64 = 0.025;
/// Fraction of one core the whole sampler thread may use, on average since
/// it started (the governor over everything).
pub const TOTAL_BUDGET: f64 = 0.04;
/// The window `cores` is computed over.
pub const CORES_WINDOW_MS: f64 = 100.0;

/// What a sampler thread cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct SamplerCost {
    pub cpu_s: f64,
    pub wall_s: f64,
    pub samples: u64,
    pub scans: u64,
}

pub struct Sampler {
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<SamplerCost>>,
}

impl Sampler {
    /// Starts sampling `pid`; `t0` is the runner clock's zero (the spawn).
    pub fn start(pid: i32, t0: Instant, period: Duration, tx: Sender<ProcSample>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let join = std::thread::Builder::new()
            .name("sampler".into())
            .spawn(move || sample_loop(pid, t0, period, tx, &flag))
            .expect("spawning the sampler thread");
        Sampler {
            stop,
            join: Some(join),
        }
    }

    /// Stops and joins the thread; returns its cost.
    pub fn stop(mut self) -> SamplerCost {
        self.stop.store(true, Ordering::SeqCst);
        self.join
            .take()
            .and_then(|j| j.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// CPU time of the calling thread, in seconds.
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own; the clock id is a
    // constant the kernel always supports.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// CPU time of the calling thread from getrusage(RUSAGE_THREAD).
fn rusage_thread_s() -> f64 {
    // SAFETY: getrusage fills the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_THREAD is valid on Linux.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// One base read: threads, rss bytes, cpu ticks; or why there is none.
///
/// Everything comes from `/proc/<pid>/stat`: its `num_threads` and `rss`
/// are the kernel counters `/proc/<pid>/status` prints as `Threads` and
/// `VmRSS` (`signal->nr_threads`, `get_mm_rss()`), and one file instead of
/// two halves the sampler's cost, which is what lets it keep a 5 ms period
/// within its budget. The first sample of a point reads `status` too and
/// uses its figures (see [`read_status`]).
fn read_base(p: &Process, page: u64) -> Base {
    let Ok(stat) = p.stat() else {
        return Base::Gone;
    };
    if stat.state == 'Z' || stat.state == 'X' {
        return Base::Gone;
    }
    if stat.rss == 0 {
        // Between exec's switch to the new address space and its first
        // mapping, or while exiting: nothing meaningful to record.
        return Base::Unmapped;
    }
    Base::Sample(
        stat.num_threads.max(0) as u64,
        stat.rss * page,
        stat.utime + stat.stime,
    )
}

enum Base {
    /// threads, rss bytes, utime+stime ticks.
    Sample(u64, u64, u64),
    Unmapped,
    Gone,
}

/// `/proc/<pid>/status` Threads and VmRSS (bytes).
fn read_status(p: &Process) -> Option<(u64, u64)> {
    let st = p.status().ok()?;
    Some((st.threads, st.vmrss? * 1024))
}

/// Threads in state R, or None when the task list cannot be read.
fn count_running(p: &Process) -> Option<u64> {
    let tasks = p.tasks().ok()?;
    let mut n = 0;
    for t in tasks.flatten() {
        if let Ok(s) = t.stat()
            && s.state == 'R'
        {
            n += 1;
        }
    }
    Some(n)
}

/// The next period for an activity that cost `cost_s` of CPU per run.
fn paced(min: Duration, cost_s: f64, budget: f64) -> Duration {
    min.max(Duration::from_secs_f64(cost_s / budget))
}

/// cores over the window ending at the newest of `hist` (t_ms, ticks).
fn cores_over_window(hist: &mut VecDeque<(f64, u64)>, tps: f64) -> f64 {
    let &(t_new, k_new) = hist.back().expect("pushed before");
    while hist.len() > 2 && t_new - hist[1].0 >= CORES_WINDOW_MS {
        hist.pop_front();
    }
    let &(t_old, k_old) = hist.front().expect("non-empty");
    let dt_s = (t_new - t_old) / 1000.0;
    if dt_s <= 0.0 {
        0.0
    } else {
        (k_new.saturating_sub(k_old)) as f64 / tps / dt_s
    }
}

fn sample_loop(
    pid: i32,
    t0: Instant,
    period: Duration,
    tx: Sender<ProcSample>,
    stop: &AtomicBool,
) -> SamplerCost {
    let cpu_start = rusage_thread_s();
    let started = Instant::now();
    let cpu0 = thread_cpu_s();
    let mut cost = SamplerCost::default();
    let Ok(proc_) = Process::new(pid) else {
        return cost;
    };
    let tps = procfs::ticks_per_second() as f64;
    let page = procfs::page_size();
    let mut hist: VecDeque<(f64, u64)> = VecDeque::new();
    let mut next_scan = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let tick = Instant::now();
        let c0 = thread_cpu_s();
        let (mut threads, mut rss_bytes, ticks) = match read_base(&proc_, page) {
            Base::Sample(t, r, k) => (t, r, k),
            Base::Gone => break,
            Base::Unmapped => {
                std::thread::sleep(period);
                continue;
            }
        };
        if cost.samples == 0
            && let Some((t, r)) = read_status(&proc_)
        {
            (threads, rss_bytes) = (t, r);
        }
        let t_ms = t0.elapsed().as_secs_f64() * 1000.0;
        hist.push_back((t_ms, ticks));
        let cores = cores_over_window(&mut hist, tps);
        let c1 = thread_cpu_s();
        let base_period = paced(period, c1 - c0, BASE_BUDGET);
        let mut r_threads = None;
        if tick >= next_scan {
            r_threads = count_running(&proc_);
            let c2 = thread_cpu_s();
            next_scan = tick + paced(period, c2 - c1, SCAN_BUDGET);
            cost.scans += 1;
        }
        cost.samples += 1;
        if tx
            .send(ProcSample {
                t_ms,
                threads,
                r_threads,
                cores,
                rss_bytes,
            })
            .is_err()
        {
            break;
        }
        // The governor: whatever the activities' own pacing, the thread's
        // total CPU since it started stays within TOTAL_BUDGET of its wall
        // time (this covers wake-ups, sends and the first-sample status).
        let used = thread_cpu_s() - cpu0;
        let earliest = started + Duration::from_secs_f64(used / TOTAL_BUDGET);
        let next = (tick + base_period).max(earliest);
        // Sleep in slices so a stop request is seen within a period.
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            if now >= next {
                break;
            }
            std::thread::sleep((next - now).min(Duration::from_millis(20)));
        }
    }
    cost.cpu_s = rusage_thread_s() - cpu_start;
    cost.wall_s = started.elapsed().as_secs_f64();
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_respects_the_floor_and_the_budget() {
        let min = Duration::from_millis(5);
        assert_eq!(paced(min, 0.00001, 0.02), min);
        // A 20 ms scan at a 2.5% budget: every 800 ms.
        assert_eq!(paced(min, 0.020, 0.025).as_millis(), 800);
    }

    #[test]
    fn cores_use_a_window_of_at_least_100ms() {
        let mut h: VecDeque<(f64, u64)> = VecDeque::new();
        // One core busy: 1 tick (10 ms at 100 Hz) per 10 ms, sampled every 5 ms
        // where the tick count only moves on every other sample.
        let mut last = 0.0;
        for i in 0..100u64 {
            h.push_back((i as f64 * 5.0, i / 2));
            last = cores_over_window(&mut h, 100.0);
        }
        assert!((last - 1.0).abs() < 0.11, "{last}");
        assert!(h.front().unwrap().0 <= h.back().unwrap().0 - CORES_WINDOW_MS);
    }

    #[test]
    fn samples_this_process() {
        let (tx, rx) = std::sync::mpsc::channel();
        let s = Sampler::start(
            std::process::id() as i32,
            Instant::now(),
            Duration::from_millis(5),
            tx,
        );
        let first = rx.recv_timeout(Duration::from_secs(10)).expect("a sample");
        let cost = s.stop();
        // This test process has at least its own thread and the sampler's.
        assert!(first.threads >= 2, "{first:?}");
        assert!(first.rss_bytes > 0);
        assert!(cost.samples >= 1 && cost.scans >= 1);
    }
}
