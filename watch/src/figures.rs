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
        let scale = if tick.scanned.is_empty() {
            0.0
        } else {
            tick.threads as f64 / tick.scanned.len() as f64
        };
        let mut r = 0u64;
        let mut sock = 0u64;
        let mut slow = 0u64;
        let mut idle = 0u64;
        let mut rates: Vec<(i32, &str, f64, f64, Option<u64>)> = Vec::new();
        let mut names: BTreeMap<String, u64> = BTreeMap::new();
        for t in &tick.scanned {
            *names.entry(name_family(&t.comm)).or_default() += 1;
            if t.state == b'R' {
                r += 1;
            }
            match t.sys {
                Sys::In { nr, .. } => match (syscalls::class(nr), &t.fd) {
                    (Class::FdRead, Some(fd)) if fd.kind == FdKind::Socket => {
                        sock += 1;
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
                    (Class::Idle, _) => idle += 1,
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
        f.r_threads = r as f64 * scale;
        f.socket_readers = sock as f64 * scale;
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
        f.idle = idle as f64 * scale;
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

    #[test]
    fn name_families() {
        assert_eq!(name_family("gmp-m12"), "gmp-m*");
        assert_eq!(name_family("tokio-runtime-w"), "tokio-runtime-w");
        assert_eq!(name_family("42"), "42");
    }
}
