//! From raw ticks to the figures the signatures read: one [`Figures`] per
//! tick after the first.
//!
//! Rates need two readings, so the deriver keeps the previous tick's
//! process totals and each thread's last cumulative CPU and switch count.
//! Counts over a scanned subset are scaled up to the whole thread count
//! (see [`crate::sample`]): `r_threads`, `socket_readers`, `slow` are
//! estimates when `scanned < threads`, exact otherwise.

use crate::sample::{FdCounts, FdKind, Sys, Tick};
use crate::syscalls::{self, Class};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A thread gets at least this share of a core to count as busy (getting
/// CPU at all, whatever the machine's other load).
pub const BUSY_CORES: f64 = 0.05;

/// The thread that used the most CPU over a tick.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopThread {
    pub tid: i32,
    pub comm: String,
    pub cores: f64,
    /// Share of its CPU spent in the kernel (stime / (utime + stime)).
    pub sys_share: f64,
}

/// One example of a thread blocked reading a socket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockedRead {
    pub tid: i32,
    pub call: String,
    pub fd: u64,
    pub kind: FdKind,
    pub nonblock: Option<bool>,
}

/// What one tick says, as rates and counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    pub t_s: f64,
    pub threads: u64,
    pub scanned: u64,
    /// Threads in state R (running or runnable).
    pub r_threads: f64,
    /// Process CPU over the tick, in cores.
    pub cores: f64,
    pub rss_bytes: u64,
    pub io_bytes_per_s: Option<f64>,
    pub new_threads: u64,
    /// Threads blocked in read/recv on a socket.
    pub socket_readers: f64,
    /// Of those (scanned), how many read a socket without O_NONBLOCK.
    pub socket_readers_blocking: u64,
    pub socket_read_example: Option<BlockedRead>,
    /// Threads blocked in a slow call at the tick: sleeps, file I/O, open,
    /// fsync (scanned threads, not scaled: one sleeper in a sampled 10,000
    /// must not read as six).
    pub slow: f64,
    /// Every thread caught in a slow call at the tick or by the peeks
    /// before it, tid -> call (threads named `*sysmon*` left out: the
    /// runtime's own sleeper).
    pub slow_threads: BTreeMap<i32, String>,
    /// The slow calls, by name (scanned threads).
    pub slow_calls: BTreeMap<String, u64>,
    /// Threads parked in futex/epoll/poll.
    pub idle: f64,
    /// Threads caught in sched_yield.
    pub yielding: u64,
    /// Threads using at least [`BUSY_CORES`] (of those with a rate).
    pub busy_threads: u64,
    pub top: Option<TopThread>,
    /// CPU of every thread but the top one, in cores.
    pub others_cores: f64,
    /// Threads other than the top one that were switched onto a CPU during
    /// the tick (None when switch counts were not read).
    pub progressing: Option<u64>,
    pub fds: FdCounts,
    /// Thread names, most common first (scanned threads), for the report.
    pub names: Vec<(String, u64)>,
}

struct Last {
    cpu: u64,
    stime: u64,
    switches: Option<u64>,
    t_s: f64,
}

/// Turns ticks into figures.
pub struct Deriver {
    hz: f64,
    prev: Option<(f64, u64, Option<u64>)>,
    threads: HashMap<i32, Last>,
}

impl Default for Deriver {
    fn default() -> Self {
        Self::new()
    }
}

impl Deriver {
    pub fn new() -> Deriver {
        Deriver {
            hz: procfs::ticks_per_second() as f64,
            prev: None,
            threads: HashMap::new(),
        }
    }

    /// The figures of `tick`; `None` for the first (no rates yet).
    pub fn push(&mut self, tick: &Tick) -> Option<Figures> {
        let prev = self.prev.replace((tick.t_s, tick.cpu_ticks, tick.io_bytes));
        let mut f = Figures {
            t_s: tick.t_s,
            threads: tick.threads,
            scanned: tick.scanned.len() as u64,
            rss_bytes: tick.rss_bytes,
            new_threads: tick.new_threads,
            fds: tick.fds.clone(),
            ..Figures::default()
        };
        // Hot threads were all scanned and count as they are; the slice is a
        // uniform sample of the other threads and is scaled up to them.
        let hot = tick.scanned.iter().filter(|t| t.hot).count() as f64;
        let slice = tick.scanned.len() as f64 - hot;
        let slice_scale = if slice > 0.0 {
            (tick.threads as f64 - hot).max(0.0) / slice
        } else {
            0.0
        };
        let estimate =
            |[from_slice, from_hot]: [u64; 2]| from_hot as f64 + from_slice as f64 * slice_scale;
        // Counts indexed by `t.hot as usize`.
        let mut r = [0u64; 2];
        let mut sock = [0u64; 2];
        let mut slow = 0u64;
        let mut idle = [0u64; 2];
        let mut rates: Vec<(i32, &str, f64, f64, Option<u64>)> = Vec::new();
        let mut names: BTreeMap<String, u64> = BTreeMap::new();
        for t in &tick.scanned {
            *names.entry(name_family(&t.comm)).or_default() += 1;
            let h = t.hot as usize;
            if t.state == b'R' {
                r[h] += 1;
            }
            match t.sys {
                Sys::In { nr, .. } => match (syscalls::class(nr), &t.fd) {
                    (Class::FdRead, Some(fd)) if fd.kind == FdKind::Socket => {
                        sock[h] += 1;
                        if fd.nonblock == Some(false) {
                            f.socket_readers_blocking += 1;
                        }
                        if f.socket_read_example.is_none() || fd.nonblock == Some(false) {
                            f.socket_read_example = Some(BlockedRead {
                                tid: t.tid,
                                call: syscalls::name(nr),
                                fd: fd.fd,
                                kind: fd.kind,
                                nonblock: fd.nonblock,
                            });
                        }
                    }
                    (Class::FdRead, Some(fd)) if fd.kind == FdKind::File => {
                        slow += 1;
                        *f.slow_calls.entry(syscalls::name(nr)).or_default() += 1;
                        if !t.comm.contains("sysmon") {
                            f.slow_threads.insert(t.tid, syscalls::name(nr));
                        }
                    }
                    (Class::Slow, _) => {
                        slow += 1;
                        *f.slow_calls.entry(syscalls::name(nr)).or_default() += 1;
                        if !t.comm.contains("sysmon") {
                            f.slow_threads.insert(t.tid, syscalls::name(nr));
                        }
                    }
                    (Class::Idle, _) => idle[h] += 1,
                    (Class::Yield, _) => f.yielding += 1,
                    _ => {}
                },
                Sys::Running | Sys::NotInSyscall | Sys::Unknown => {}
            }
            let cpu = t.utime + t.stime;
            let last = self.threads.insert(
                t.tid,
                Last {
                    cpu,
                    stime: t.stime,
                    switches: t.switches,
                    t_s: tick.t_s,
                },
            );
            if let Some(l) = last {
                let dt = tick.t_s - l.t_s;
                if dt > 0.0 {
                    let d = cpu.saturating_sub(l.cpu) as f64;
                    let cores = d / self.hz / dt;
                    let sys_share = if d > 0.0 {
                        t.stime.saturating_sub(l.stime) as f64 / d
                    } else {
                        0.0
                    };
                    let sw = match (t.switches, l.switches) {
                        (Some(a), Some(b)) => Some(a.saturating_sub(b)),
                        _ => None,
                    };
                    rates.push((t.tid, &t.comm, cores, sys_share, sw));
                }
            }
        }
        let live: std::collections::HashSet<i32> = tick.scanned.iter().map(|t| t.tid).collect();
        if tick.scanned.len() as u64 == tick.threads {
            self.threads.retain(|t, _| live.contains(t));
        }
        f.r_threads = estimate(r);
        f.socket_readers = estimate(sock);
        f.slow = slow as f64;
        for &(tid, nr) in &tick.peeked_slow {
            let sysmon = tick
                .scanned
                .iter()
                .any(|t| t.tid == tid && t.comm.contains("sysmon"));
            if !sysmon {
                f.slow_threads
                    .entry(tid)
                    .or_insert_with(|| syscalls::name(nr));
            }
        }
        f.idle = estimate(idle);
        let mut names: Vec<(String, u64)> = names.into_iter().collect();
        names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        names.truncate(6);
        f.names = names;

        rates.sort_by(|a, b| b.2.total_cmp(&a.2));
        f.busy_threads = rates.iter().filter(|r| r.2 >= BUSY_CORES).count() as u64;
        if let Some(top) = rates.first() {
            f.top = Some(TopThread {
                tid: top.0,
                comm: top.1.to_string(),
                cores: top.2,
                sys_share: top.3,
            });
            f.others_cores = rates[1..].iter().map(|r| r.2).sum();
            if rates.iter().all(|r| r.4.is_some()) {
                f.progressing = Some(rates[1..].iter().filter(|r| r.4 > Some(0)).count() as u64);
            }
        }
        let (t0, cpu0, io0) = prev?;
        let dt = tick.t_s - t0;
        if dt <= 0.0 {
            return None;
        }
        f.cores = tick.cpu_ticks.saturating_sub(cpu0) as f64 / self.hz / dt;
        f.io_bytes_per_s = match (tick.io_bytes, io0) {
            (Some(a), Some(b)) => Some(a.saturating_sub(b) as f64 / dt),
            _ => None,
        };
        Some(f)
    }
}

/// `gmp-m12` -> `gmp-m*`, `worker-3` -> `worker-*`: names without their
/// number, so a pool reads as one family.
pub fn name_family(comm: &str) -> String {
    let trimmed = comm.trim_end_matches(|c: char| c.is_ascii_digit());
    if trimmed.len() < comm.len() && !trimmed.is_empty() {
        format!("{trimmed}*")
    } else {
        comm.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::ThreadState;

    fn thread(tid: i32, state: u8, hot: bool) -> ThreadState {
        ThreadState {
            tid,
            comm: "t".into(),
            state,
            utime: 0,
            stime: 0,
            switches: None,
            sys: Sys::Unknown,
            fd: None,
            hot,
        }
    }

    fn tick(t_s: f64, threads: u64, scanned: Vec<ThreadState>) -> Tick {
        Tick {
            t_s,
            threads,
            scanned,
            cpu_ticks: 0,
            rss_bytes: 0,
            io_bytes: None,
            fds: FdCounts::default(),
            new_threads: 0,
            scan_cost_s: 0.0,
            peeked_slow: Vec::new(),
        }
    }

    /// 10,000 threads, 3 spinning (hot, always scanned) and 497 others in
    /// the slice, one of them in R: 3 + 1 x 9,997 / 497 = 23.1 in R, not
    /// (3 + 1) x 10,000 / 500 = 80, which scaled the hot ones too.
    #[test]
    fn only_the_slice_is_scaled_up() {
        let mut scanned: Vec<ThreadState> = (0..3).map(|i| thread(i, b'R', true)).collect();
        scanned.push(thread(3, b'R', false));
        scanned.extend((4..500).map(|i| thread(i, b'S', false)));
        let mut d = Deriver::new();
        assert!(d.push(&tick(0.0, 10_000, scanned.clone())).is_none());
        let f = d.push(&tick(1.0, 10_000, scanned)).unwrap();
        let want = 3.0 + 9_997.0 / 497.0;
        assert!(
            (f.r_threads - want).abs() < 1e-9,
            "{} vs {want}",
            f.r_threads
        );
        // A full scan is counted as it is.
        let all: Vec<ThreadState> = (0..8).map(|i| thread(i, b'R', i < 2)).collect();
        let f = d.push(&tick(2.0, 8, all)).unwrap();
        assert_eq!(f.r_threads, 8.0);
    }

    #[test]
    fn name_families() {
        assert_eq!(name_family("gmp-m12"), "gmp-m*");
        assert_eq!(name_family("tokio-runtime-w"), "tokio-runtime-w");
        assert_eq!(name_family("42"), "42");
    }
}
