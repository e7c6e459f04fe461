//! The known failures, as rules over a window of [`Figures`].
//!
//! Each rule is one function that reads the window (plus what `--pprof` and
//! `--stacks` saw, when given) and returns a [`Finding`] with its evidence,
//! or nothing. The thresholds are named constants; each one's doc says which
//! scenario figure it sits between (the healthy and the failing variant),
//! and the crate README tabulates them with the runs that justify them.
//!
//! Rules never need a single tick: a failure is a state that lasts, so
//! every rule asks for its condition on [`sustained`] ticks. When several
//! rules fire, the verdict is the most confident, then the first in
//! [`Signature::ALL`] order (a stuck stop-the-world explains anything else
//! a frozen process shows; a blocked socket read explains its threads and
//! their memory).

use crate::figures::Figures;
use crate::pprof::PprofSeries;
use crate::runtime::{Kind, RuntimeInfo};
use crate::stacks::StackReport;
use serde::Serialize;
use std::collections::BTreeMap;

/// A thread spinning on a yield uses at least this much of a core...
pub const SPIN_CORES: f64 = 0.6;
/// ...with at least this share of it in the kernel (sched_yield round
/// trips). timer_stw's hung M: 0.85; a Go or C compute loop: < 0.05.
pub const SPIN_SYS_SHARE: f64 = 0.3;
/// While every other thread together uses at most this: the world is
/// stopped (hung timer_stw: the stopper's 100 us poll, ~0.05 core).
pub const STOPPED_OTHERS_CORES: f64 = 0.35;

/// Threads blocked reading sockets before it counts (dup_fd bug: one per
/// connection, 100 in the quick profile; fixed: 0).
pub const SOCKET_READERS_MIN: f64 = 2.0;
/// For a runtime not known to multiplex (thread-per-connection is a
/// design there), this many, most of them on blocking sockets.
pub const SOCKET_READERS_MIN_UNKNOWN: f64 = 8.0;

/// Distinct threads caught in slow syscalls over the window, beyond the
/// runtime's own sleeper (syscalls bug: the k = 6 handed-off Ms cycle
/// between nanosleep and a futex wait for the P, and 5-6 of them are
/// caught; fixed (getpid): none beside sysmon).
pub const SLOW_THREADS_MIN: f64 = 3.0;
/// ...in a process whose threads exceed its cap by more than this (the
/// syscalls bug: 8 threads at GOMAXPROCS 1; a healthy Go program idles at
/// cap + 2 or 3).
pub const SLOW_EXTRA_THREADS: f64 = 2.0;

/// Threads in state R beyond the cap (ffi_cap: 5 busy C loops + main at
/// GOMAXPROCS 1 = 6 in R; the LockOSThread variant, whose threads take
/// turns on the one P: 1-2).
pub const OVER_CAP_R: f64 = 2.0;

/// Linear growth this steep, this straight, for a leak (sender_leak at one
/// new sender/ms, as watched: RSS +4.1 MiB/s on gmp, +3.2 on Go, +0.6 on
/// tokio, the table in watch/README.md; fixed: flat).
pub const LEAK_RSS_BYTES_PER_S: f64 = 256.0 * 1024.0;
pub const LEAK_RSS_MIN_BYTES: f64 = 2.0 * 1024.0 * 1024.0;
pub const LEAK_THREADS_PER_S: f64 = 10.0;
pub const LEAK_GOROUTINES_PER_S: f64 = 5.0;
/// Goodness of fit of the straight line (R²).
pub const LEAK_R2: f64 = 0.9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    StuckStw,
    DupFd,
    FfiCap,
    Syscalls,
    Leak,
    None,
}

impl Signature {
    /// Verdict order (see the module doc); `None` last.
    pub const ALL: [Signature; 6] = [
        Signature::StuckStw,
        Signature::DupFd,
        Signature::FfiCap,
        Signature::Syscalls,
        Signature::Leak,
        Signature::None,
    ];

    /// The short name used in the confusion matrix and `--json`.
    pub fn id(self) -> &'static str {
        match self {
            Signature::StuckStw => "timer_stw",
            Signature::DupFd => "dup_fd",
            Signature::FfiCap => "ffi_cap",
            Signature::Syscalls => "syscalls",
            Signature::Leak => "sender_leak",
            Signature::None => "none",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Signature::StuckStw => {
                "a stop-the-world that never completes: one thread spins, the rest are stopped"
            }
            Signature::DupFd => "threads blocked in read(2) on sockets: a socket lost O_NONBLOCK",
            Signature::FfiCap => {
                "more threads running than the runtime's cap: FFI/cgo calls outside the scheduler"
            }
            Signature::Syscalls => {
                "threads piling up in slow syscalls, handed off and never exiting"
            }
            Signature::Leak => "a leak: memory, threads or goroutines growing linearly with time",
            Signature::None => "no known failure",
        }
    }

    /// Why it happens, in a sentence.
    pub fn why(self) -> &'static str {
        match self {
            Signature::StuckStw => {
                "a stop-the-world waits for every P to stop, but one M spins (osyield) on a timer another G left mid-modification (Go 1.14.1, golang/go#38023), or a loop with no preemption point holds a P (pre-1.14, golang/go#10958)"
            }
            Signature::DupFd => {
                "an event-loop runtime expects non-blocking sockets; once O_NONBLOCK is cleared (Go's conn.File()/f.Fd() dup does it on the shared file description) every read blocks its OS thread, and the scheduler hands the thread's P off and starts another: threads ~ connections (Docker Swarm, 20-30k threads)"
            }
            Signature::FfiCap => {
                "a C call is a syscall to the Go scheduler: its P is handed off after 20 us, so N busy C loops run beside GOMAXPROCS Go threads"
            }
            Signature::Syscalls => {
                "sysmon retakes the P of a thread stuck in a syscall for > 20 us and starts another M; Ms never exit, so a burst of slow calls leaves threads behind"
            }
            Signature::Leak => {
                "senders parked on a channel nobody reads never return; each keeps its stack (goroutine), future (task) or thread"
            }
            Signature::None => "none of the known signatures held on the window watched",
        }
    }

    /// The lab command that reproduces it.
    pub fn reproduce(self) -> Option<&'static str> {
        match self {
            Signature::StuckStw => Some("make run SCENARIO=timer_stw ARGS=--quick"),
            Signature::DupFd => Some("make run SCENARIO=dup_fd ARGS=--quick"),
            Signature::FfiCap => Some("make run SCENARIO=ffi_cap ARGS=--quick"),
            Signature::Syscalls => Some("make run SCENARIO=syscalls ARGS=--quick"),
            Signature::Leak => Some("make run SCENARIO=sender_leak ARGS=--quick"),
            Signature::None => None,
        }
    }

    pub fn from_id(s: &str) -> Option<Signature> {
        Signature::ALL.into_iter().find(|g| g.id() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// One signature that held, with what showed it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub signature: Signature,
    pub id: &'static str,
    pub title: &'static str,
    pub confidence: Confidence,
    pub evidence: Vec<String>,
    pub why: &'static str,
    pub reproduce: Option<&'static str>,
}

impl Finding {
    fn new(signature: Signature, confidence: Confidence, evidence: Vec<String>) -> Finding {
        Finding {
            signature,
            id: signature.id(),
            title: signature.title(),
            confidence,
            evidence,
            why: signature.why(),
            reproduce: signature.reproduce(),
        }
    }
}

/// What the rules read.
pub struct Window<'a> {
    pub figs: &'a [Figures],
    pub rt: &'a RuntimeInfo,
    pub pprof: Option<&'a PprofSeries>,
    pub stacks: Option<&'a StackReport>,
    /// Whether per-thread syscalls could be read (ptrace-read permission).
    pub syscalls_readable: bool,
}

/// A condition "lasts" when it holds on 3 ticks, or on half the window
/// when it is shorter than 6 ticks.
pub fn sustained(count: usize, total: usize) -> bool {
    count >= 1 && count >= 3.min(total.div_ceil(2))
}

/// Every finding, best first; the last is always `None` with the figures.
pub fn diagnose(w: &Window) -> Vec<Finding> {
    let mut out: Vec<Finding> = [stuck_stw(w), dup_fd(w), ffi_cap(w), syscalls(w), leak(w)]
        .into_iter()
        .flatten()
        .collect();
    out.sort_by_key(|f| {
        let order = Signature::ALL.iter().position(|s| *s == f.signature);
        (std::cmp::Reverse(f.confidence), order)
    });
    out.push(Finding::new(Signature::None, Confidence::Low, seen(w)));
    out
}

/// The figures in a few lines, for "no known failure" and the header.
pub fn seen(w: &Window) -> Vec<String> {
    let f = w.figs;
    if f.is_empty() {
        return vec!["no sample with rates (watched for less than two periods)".into()];
    }
    let last = &f[f.len() - 1];
    let max_threads = f.iter().map(|x| x.threads).max().unwrap_or(0);
    vec![
        format!(
            "threads {} (max {max_threads}), in R {:.0} (median), cap {} ({})",
            last.threads,
            median(f.iter().map(|x| x.r_threads)),
            w.rt.cap,
            w.rt.cap_source
        ),
        format!(
            "cores used {:.2} (median), RSS {}, fds {} ({} sockets)",
            median(f.iter().map(|x| x.cores)),
            mib(last.rss_bytes as f64),
            last.fds.total,
            last.fds.sockets
        ),
    ]
}

fn stuck_stw(w: &Window) -> Option<Finding> {
    let spinning = |f: &Figures| {
        f.top.as_ref().is_some_and(|t| {
            t.cores >= SPIN_CORES && (t.sys_share >= SPIN_SYS_SHARE || f.yielding > 0)
        }) && f.others_cores <= STOPPED_OTHERS_CORES
    };
    // The spin must last to the end of the window: a stopped world does
    // not restart.
    let tail = w.figs.iter().rev().take_while(|f| spinning(f)).count();
    if !sustained(tail, w.figs.len()) {
        return None;
    }
    let last = &w.figs[w.figs.len() - 1];
    let top = last.top.as_ref()?;
    let mut ev = vec![format!(
        "thread {} ({}) has spun for the last {tail} samples at {:.2} core, {:.0}% of it in the kernel (sched_yield round trips)",
        top.tid,
        top.comm,
        top.cores,
        top.sys_share * 100.0
    )];
    ev.push(format!(
        "the other {} threads together use {:.2} core: the world is stopped",
        last.threads.saturating_sub(1),
        last.others_cores
    ));
    if let Some(p) = last.progressing {
        ev.push(format!(
            "{p} of them were scheduled at all during the last sample"
        ));
    }
    if let Some(io) = last.io_bytes_per_s {
        ev.push(format!("I/O through read/write: {io:.0} bytes/s"));
    }
    let mut conf = Confidence::Medium;
    if let Some(sym) = w.stacks.and_then(|st| st.symbol_of(top.tid)) {
        if crate::stacks::is_timer_code(&sym) {
            conf = Confidence::High;
            ev.push(format!(
                "--stacks: the spinning thread is in {sym} (the timer code)"
            ));
        } else {
            ev.push(format!(
                "--stacks: the spinning thread is in {sym}, not the timer code: a loop with no preemption point (try `make run SCENARIO=tight_loop ARGS=--quick`)"
            ));
        }
    }
    if w.pprof.is_some_and(|p| p.silent_since_s.is_some()) {
        conf = Confidence::High;
        ev.push("--pprof: the endpoint stopped answering while the process burns a core".into());
    }
    Some(Finding::new(Signature::StuckStw, conf, ev))
}

fn dup_fd(w: &Window) -> Option<Finding> {
    let event_loop = w.rt.kind.is_event_loop();
    let min = if event_loop {
        SOCKET_READERS_MIN
    } else {
        SOCKET_READERS_MIN_UNKNOWN
    };
    let hits: Vec<&Figures> = w.figs.iter().filter(|f| f.socket_readers >= min).collect();
    if !sustained(hits.len(), w.figs.len()) {
        return None;
    }
    let peak = hits
        .iter()
        .max_by(|a, b| a.socket_readers.total_cmp(&b.socket_readers))?;
    let blocking = peak.socket_readers_blocking;
    if !event_loop && blocking == 0 {
        return None;
    }
    let mut ev = vec![format!(
        "{:.0} of {} threads are blocked in read/recv on a socket",
        peak.socket_readers, peak.threads
    )];
    if let Some(ex) = &peak.socket_read_example {
        ev.push(format!(
            "e.g. thread {}: {}(fd {}), a socket{}",
            ex.tid,
            ex.call,
            ex.fd,
            match ex.nonblock {
                Some(false) => " with O_NONBLOCK cleared",
                Some(true) => " (O_NONBLOCK set)",
                None => "",
            }
        ));
    }
    if peak.fds.sockets_checked > 0 {
        ev.push(format!(
            "{} of {} sockets checked have O_NONBLOCK cleared ({} sockets in all)",
            peak.fds.sockets_blocking, peak.fds.sockets_checked, peak.fds.sockets
        ));
    }
    ev.push(format!(
        "threads {} against a cap of {} ({})",
        peak.threads, w.rt.cap, w.rt.cap_source
    ));
    let conf = if event_loop {
        Confidence::High
    } else {
        ev.push(
            "the runtime is not known to multiplex: a thread-per-connection design looks the same"
                .into(),
        );
        Confidence::Medium
    };
    Some(Finding::new(Signature::DupFd, conf, ev))
}

fn ffi_cap(w: &Window) -> Option<Finding> {
    let cap = w.rt.cap as f64;
    // State R is the test; the CPU each thread gets is the machine's
    // business (on a loaded 2-core box six C loops get 0.17 core each).
    let over = |f: &&Figures| f.busy_threads as f64 > cap && f.r_threads >= cap + OVER_CAP_R;
    let hits: Vec<&Figures> = w.figs.iter().filter(over).collect();
    if !sustained(hits.len(), w.figs.len()) {
        return None;
    }
    let r = median(hits.iter().map(|f| f.r_threads));
    let busy = median(hits.iter().map(|f| f.busy_threads as f64));
    let cores = median(hits.iter().map(|f| f.cores));
    let ev = vec![
        format!(
            "{r:.0} threads in state R (median of {} samples) against a cap of {} ({})",
            hits.len(),
            w.rt.cap,
            w.rt.cap_source
        ),
        format!(
            "{busy:.0} threads each use at least a quarter of a core; the process uses {cores:.2} cores"
        ),
    ];
    let conf = if w.rt.kind == Kind::Go || r >= cap + 4.0 {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Some(Finding::new(Signature::FfiCap, conf, ev))
}

fn syscalls(w: &Window) -> Option<Finding> {
    // Go's sysmon sleeps in nanosleep and cannot be told by name (gmp's is
    // left out by name in the figures): one slow thread is its.
    let own = usize::from(w.rt.kind == Kind::Go);
    let mut seen: BTreeMap<i32, &str> = BTreeMap::new();
    for f in w.figs {
        for (tid, call) in &f.slow_threads {
            seen.entry(*tid).or_insert(call);
        }
    }
    let distinct = seen.len().saturating_sub(own);
    let max_threads = w.figs.iter().map(|f| f.threads).max().unwrap_or(0);
    let piled = max_threads as f64 > w.rt.cap as f64 + SLOW_EXTRA_THREADS;
    if (distinct as f64) < SLOW_THREADS_MIN || !piled {
        return None;
    }
    let mut by_call: BTreeMap<&str, usize> = BTreeMap::new();
    for c in seen.values() {
        *by_call.entry(c).or_default() += 1;
    }
    let calls: Vec<String> = by_call.iter().map(|(k, v)| format!("{v} in {k}")).collect();
    let mut ev = vec![format!(
        "{distinct} threads were caught blocked in slow syscalls ({}) over {} samples",
        calls.join(", "),
        w.figs.len()
    )];
    ev.push(format!(
        "threads peaked at {max_threads} against a cap of {} ({}): each slow call that outlasts sysmon's 20 us tick costs a hand-off and, when no idle M waits, a new thread",
        w.rt.cap, w.rt.cap_source
    ));
    let last = &w.figs[w.figs.len() - 1];
    if last.slow_threads.is_empty() && last.threads + 1 >= max_threads {
        ev.push(format!(
            "the calls have ended but the threads have not: still {} ({:.0} parked in futex/epoll)",
            last.threads, last.idle
        ));
    }
    let conf = if w.rt.kind.is_event_loop() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Some(Finding::new(Signature::Syscalls, conf, ev))
}

fn leak(w: &Window) -> Option<Finding> {
    let mut ev = Vec::new();
    let mut conf = None;
    let t: Vec<f64> = w.figs.iter().map(|f| f.t_s).collect();
    let rss: Vec<f64> = w.figs.iter().map(|f| f.rss_bytes as f64).collect();
    if let Some(g) = linear_growth(&t, &rss)
        && g.slope >= LEAK_RSS_BYTES_PER_S
        && g.growth >= LEAK_RSS_MIN_BYTES
    {
        ev.push(format!(
            "RSS grows {}/s in a straight line (R² {:.2}): {} to {} over {:.0} s",
            mib(g.slope),
            g.r2,
            mib(rss[0]),
            mib(rss[rss.len() - 1]),
            t[t.len() - 1] - t[0]
        ));
        conf = Some(Confidence::Medium);
    }
    let threads: Vec<f64> = w.figs.iter().map(|f| f.threads as f64).collect();
    if let Some(g) = linear_growth(&t, &threads)
        && g.slope >= LEAK_THREADS_PER_S
    {
        ev.push(format!(
            "threads grow {:.0}/s in a straight line (R² {:.2}): {} to {}",
            g.slope,
            g.r2,
            threads[0],
            threads[threads.len() - 1]
        ));
        conf = Some(Confidence::Medium);
    }
    if let Some(p) = w.pprof
        && let Some(g) = linear_growth(&p.t_s, &p.totals)
        && g.slope >= LEAK_GOROUTINES_PER_S
    {
        ev.push(format!(
            "goroutines grow {:.0}/s (pprof): {} to {}",
            g.slope,
            p.totals[0],
            p.totals[p.totals.len() - 1]
        ));
        if let Some(site) = p.growing_site() {
            ev.push(format!("the growing site: {site}"));
        }
        conf = Some(Confidence::High);
    }
    conf.map(|c| Finding::new(Signature::Leak, c, ev))
}

/// A straight-line fit that held over the whole window.
#[derive(Debug, Clone, Copy)]
pub struct Growth {
    pub slope: f64,
    pub r2: f64,
    pub growth: f64,
}

/// Least squares; `Some` only for a line that rises in both halves of the
/// window (not a start-up ramp that flattens) with R² ≥ [`LEAK_R2`], over
/// at least 4 points.
pub fn linear_growth(x: &[f64], y: &[f64]) -> Option<Growth> {
    let n = x.len().min(y.len());
    if n < 4 {
        return None;
    }
    let (slope, r2) = schedlab_protocol::util::least_squares(&x[..n], &y[..n])?;
    let h = n / 2;
    let (s1, _) = schedlab_protocol::util::least_squares(&x[..=h], &y[..=h])?;
    let (s2, _) = schedlab_protocol::util::least_squares(&x[h..n], &y[h..n])?;
    let growth = y[n - 1] - y[0];
    (slope > 0.0 && r2 >= LEAK_R2 && s1 >= 0.3 * slope && s2 >= 0.3 * slope).then_some(Growth {
        slope,
        r2,
        growth,
    })
}

/// The median of the values (0 when there are none): the runner's
/// `schedlab_protocol::util::median`.
pub fn median(it: impl Iterator<Item = f64>) -> f64 {
    schedlab_protocol::util::median(&it.collect::<Vec<_>>()).unwrap_or(0.0)
}

pub fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::TopThread;
    use crate::runtime::RuntimeInfo;

    fn rt(kind: Kind, cap: u64) -> RuntimeInfo {
        RuntimeInfo {
            kind,
            version: None,
            exe: "/x".into(),
            cap,
            cap_source: "test".into(),
            cpus: 2,
            affinity: 2,
        }
    }

    fn figs(n: usize, f: impl Fn(usize) -> Figures) -> Vec<Figures> {
        (0..n)
            .map(|i| Figures {
                t_s: i as f64 + 1.0,
                ..f(i)
            })
            .collect()
    }

    fn verdict(figs: &[Figures], rt: &RuntimeInfo) -> Signature {
        diagnose(&Window {
            figs,
            rt,
            pprof: None,
            stacks: None,
            syscalls_readable: true,
        })[0]
            .signature
    }

    #[test]
    fn sustained_needs_three_or_half() {
        assert!(!sustained(0, 1));
        assert!(sustained(1, 1));
        assert!(sustained(2, 4));
        assert!(!sustained(2, 9));
        assert!(sustained(3, 9));
    }

    #[test]
    fn a_flat_process_is_no_known_failure() {
        let f = figs(9, |_| Figures {
            threads: 5,
            rss_bytes: 10 << 20,
            ..Default::default()
        });
        assert_eq!(verdict(&f, &rt(Kind::Go, 2)), Signature::None);
    }

    #[test]
    fn blocked_socket_reads_are_dup_fd_only_when_they_last() {
        let f = figs(9, |i| Figures {
            threads: 104,
            socket_readers: if i >= 3 { 100.0 } else { 0.0 },
            ..Default::default()
        });
        assert_eq!(verdict(&f, &rt(Kind::Go, 2)), Signature::DupFd);
        let once = figs(9, |i| Figures {
            threads: 104,
            socket_readers: if i == 4 { 100.0 } else { 0.0 },
            ..Default::default()
        });
        assert_eq!(verdict(&once, &rt(Kind::Go, 2)), Signature::None);
    }

    #[test]
    fn thread_per_connection_is_not_dup_fd_without_blocking_sockets_evidence() {
        let f = figs(9, |_| Figures {
            threads: 104,
            socket_readers: 100.0,
            ..Default::default()
        });
        assert_eq!(verdict(&f, &rt(Kind::Unknown, 2)), Signature::None);
        let f = figs(9, |_| Figures {
            threads: 104,
            socket_readers: 100.0,
            socket_readers_blocking: 100,
            ..Default::default()
        });
        assert_eq!(verdict(&f, &rt(Kind::Unknown, 2)), Signature::DupFd);
    }

    #[test]
    fn a_yield_spin_with_a_stopped_world_is_stuck_stw_but_a_compute_loop_is_not() {
        let spin = |sys| {
            figs(6, move |_| Figures {
                threads: 6,
                top: Some(TopThread {
                    tid: 7,
                    comm: "m0".into(),
                    cores: 0.95,
                    sys_share: sys,
                }),
                others_cores: 0.05,
                ..Default::default()
            })
        };
        assert_eq!(verdict(&spin(0.85), &rt(Kind::Gmp, 2)), Signature::StuckStw);
        assert_eq!(verdict(&spin(0.01), &rt(Kind::Gmp, 2)), Signature::None);
    }

    #[test]
    fn threads_over_the_cap_are_ffi_cap() {
        let f = figs(6, |_| Figures {
            threads: 9,
            busy_threads: 6,
            r_threads: 6.0,
            ..Default::default()
        });
        assert_eq!(verdict(&f, &rt(Kind::Go, 1)), Signature::FfiCap);
        assert_eq!(verdict(&f, &rt(Kind::Go, 8)), Signature::None);
    }

    #[test]
    fn distinct_slow_threads_beyond_sysmons_own_sleep_are_syscalls() {
        // One thread caught per sample, a different one each time.
        let f = figs(6, |i| Figures {
            threads: 8,
            slow_threads: [(100 + i as i32, "nanosleep".to_string())].into(),
            ..Default::default()
        });
        assert_eq!(verdict(&f, &rt(Kind::Gmp, 1)), Signature::Syscalls);
        // Go's sysmon is one of them: 3 distinct are 2 beyond it.
        let three = figs(3, |i| Figures {
            threads: 8,
            slow_threads: [(100 + i as i32, "nanosleep".to_string())].into(),
            ..Default::default()
        });
        assert_eq!(verdict(&three, &rt(Kind::Go, 1)), Signature::None);
        // Always the same sleeper: not a pile.
        let one = figs(6, |_| Figures {
            threads: 8,
            slow_threads: [(100, "nanosleep".to_string())].into(),
            ..Default::default()
        });
        assert_eq!(verdict(&one, &rt(Kind::Gmp, 1)), Signature::None);
        // Threads within the cap: not piled up.
        let few = figs(6, |i| Figures {
            threads: 3,
            slow_threads: [(100 + i as i32, "nanosleep".to_string())].into(),
            ..Default::default()
        });
        assert_eq!(verdict(&few, &rt(Kind::Gmp, 1)), Signature::None);
    }

    #[test]
    fn linear_rss_growth_is_a_leak_but_a_ramp_that_flattens_is_not() {
        let f = figs(9, |i| Figures {
            threads: 5,
            rss_bytes: (10 << 20) + i as u64 * (3 << 20),
            ..Default::default()
        });
        assert_eq!(verdict(&f, &rt(Kind::Go, 2)), Signature::Leak);
        let ramp = figs(9, |i| Figures {
            threads: 5,
            rss_bytes: (10 << 20) + (i.min(2) as u64) * (20 << 20),
            ..Default::default()
        });
        assert_eq!(verdict(&ramp, &rt(Kind::Go, 2)), Signature::None);
    }

    #[test]
    fn ids_round_trip() {
        for s in Signature::ALL {
            assert_eq!(Signature::from_id(s.id()), Some(s));
        }
    }
}
