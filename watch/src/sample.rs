//! One look at a process through `/proc`: a [`Tick`].
//!
//! The process-wide files (`stat`, `io`, `status`) are read with the
//! procfs crate. The per-thread files (`task/TID/stat`, `syscall`,
//! `schedstat`) are read by a small parser of our own, because they are
//! read thousands of times a second at 10,000 threads and procfs parses
//! every field of `stat` into a struct (measured: see the crate README).
//!
//! # Invariants
//!
//! * **Read only, never stop the target.** Nothing here signals, traces or
//!   writes: only `/proc` reads. `task/TID/syscall` needs ptrace-read
//!   permission over the target (same user, or CAP_SYS_PTRACE); without it
//!   a thread's syscall is [`Sys::Unknown`] and the signatures that need it
//!   say so.
//! * **Bounded cost.** Per-thread reads cost about a microsecond or two
//!   each. When the last tick's per-thread cost says a full scan would take
//!   more than [`SCAN_BUDGET`] of the period, only a subset is scanned:
//!   every thread found running (state R) at its last look (the hot set: a
//!   spinning thread is never missed; one seen blocked or gone leaves it)
//!   plus a rotating slice of the rest. In [`crate::figures`] the hot
//!   threads count as they are and only the slice is scaled up, to the
//!   threads outside the hot set (each scanned thread says which it was:
//!   [`ThreadState::hot`]).
//! * **A thread seen twice has a rate.** Per-thread CPU and switch counts
//!   are cumulative; a rate needs two readings of the same tid, which the
//!   collector keeps from one scan to the next.

use crate::syscalls::{self, Class};
use procfs::process::Process;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Fraction of one core the per-thread scan may use per period.
pub const SCAN_BUDGET: f64 = 0.025;
/// Fewer threads than this are always scanned in full.
pub const FULL_SCAN_BELOW: usize = 512;
/// Peeks read every thread's syscall only in processes this small.
pub const PEEK_MAX_THREADS: usize = 256;
/// Above this many threads the task list (12 ms to read at 10,000
/// threads) is read again only every [`TID_LIST_EVERY`] ticks; a thread
/// gone since is simply not found.
pub const TID_LIST_CACHE_ABOVE: usize = 2000;
pub const TID_LIST_EVERY: u32 = 4;
/// At most this many descriptors are resolved (readlink) per tick.
pub const FD_SCAN_MAX: usize = 4096;

/// A thread's syscall, from `/proc/PID/task/TID/syscall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sys {
    /// Not read (thread running, or not permitted).
    Unknown,
    /// On a CPU: the kernel does not say.
    Running,
    /// Blocked, but not in a syscall (a page fault, a stop).
    NotInSyscall,
    /// Blocked in syscall `nr`, whose first argument is `arg0`.
    In { nr: i64, arg0: u64 },
}

/// One thread at one instant.
#[derive(Debug, Clone)]
pub struct ThreadState {
    pub tid: i32,
    pub comm: String,
    /// `R`, `S`, `D`, `T`, `t`, `Z`, ...
    pub state: u8,
    /// Clock ticks (1/USER_HZ) in user and system mode, cumulative.
    pub utime: u64,
    pub stime: u64,
    /// Times the thread was switched onto a CPU (`schedstat`), cumulative,
    /// when read.
    pub switches: Option<u64>,
    pub sys: Sys,
    /// For a blocked read: what the descriptor is.
    pub fd: Option<FdInfo>,
    /// Scanned because it was in the hot set (not as part of the slice).
    pub hot: bool,
}

/// What a descriptor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdInfo {
    pub fd: u64,
    pub kind: FdKind,
    /// `O_NONBLOCK` from `fdinfo`'s flags, when read.
    pub nonblock: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FdKind {
    Socket,
    Pipe,
    File,
    Anon,
    Other,
}

impl FdKind {
    fn of_link(link: &str) -> FdKind {
        if link.starts_with("socket:") {
            FdKind::Socket
        } else if link.starts_with("pipe:") {
            FdKind::Pipe
        } else if link.starts_with("anon_inode:") {
            FdKind::Anon
        } else if link.starts_with('/') {
            FdKind::File
        } else {
            FdKind::Other
        }
    }
}

/// Descriptor counts by kind.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FdCounts {
    pub total: u64,
    pub sockets: u64,
    pub pipes: u64,
    pub files: u64,
    pub anon: u64,
    /// Of a sample of the sockets, how many have `O_NONBLOCK` cleared, and
    /// how many were looked at.
    pub sockets_blocking: u64,
    pub sockets_checked: u64,
}

/// One look at the process.
#[derive(Debug, Clone)]
pub struct Tick {
    /// Seconds since the watch began.
    pub t_s: f64,
    /// `Threads` (from `stat`'s num_threads).
    pub threads: u64,
    /// The threads scanned this tick (all, or a subset: see the module doc).
    pub scanned: Vec<ThreadState>,
    /// Process CPU, clock ticks, cumulative (utime + stime of all threads,
    /// live and dead).
    pub cpu_ticks: u64,
    pub rss_bytes: u64,
    /// `io`'s rchar + wchar (bytes through read/write-like calls), when
    /// readable.
    pub io_bytes: Option<u64>,
    pub fds: FdCounts,
    /// Tids never seen before this tick.
    pub new_threads: u64,
    /// What the per-thread scan cost (seconds of this thread's CPU).
    pub scan_cost_s: f64,
    /// Threads caught in a slow syscall by the peeks since the last tick
    /// (tid, syscall number).
    pub peeked_slow: Vec<(i32, i64)>,
}

/// Why a look failed.
#[derive(Debug, thiserror::Error)]
pub enum LookError {
    #[error("process {0} has exited")]
    Gone(i32),
    #[error("cannot read /proc/{pid}: {msg}")]
    Denied { pid: i32, msg: String },
}

/// Reads ticks of one process.
pub struct Collector {
    pid: i32,
    proc_: Process,
    start: Instant,
    comms: HashMap<i32, String>,
    seen: HashSet<i32>,
    /// Tids found running (state R) at their last look: always rescanned.
    hot: HashSet<i32>,
    /// Per-thread scan cost, seconds, from the last scan.
    cost_per_thread: f64,
    /// Where the rotating slice resumes.
    cursor: usize,
    period: Duration,
    buf: Vec<u8>,
    first: bool,
    peeked_slow: Vec<(i32, i64)>,
    /// Threads at the last tick (peeks skip big processes without
    /// listing them).
    last_threads: usize,
    tids: Vec<i32>,
    ticks: u32,
}

impl Collector {
    pub fn new(pid: i32, period: Duration) -> Result<Collector, LookError> {
        let proc_ = Process::new(pid).map_err(|e| map_err(pid, e))?;
        Ok(Collector {
            pid,
            proc_,
            start: Instant::now(),
            comms: HashMap::new(),
            seen: HashSet::new(),
            hot: HashSet::new(),
            cost_per_thread: 0.0,
            cursor: 0,
            period,
            buf: Vec::with_capacity(1024),
            first: true,
            peeked_slow: Vec::new(),
            last_threads: 0,
            tids: Vec::new(),
            ticks: 0,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// One look. `Err(Gone)` once the process has exited (or is a zombie).
    pub fn tick(&mut self) -> Result<Tick, LookError> {
        let t_s = self.start.elapsed().as_secs_f64();
        let stat = self.proc_.stat().map_err(|e| map_err(self.pid, e))?;
        if stat.state == 'Z' || stat.state == 'X' {
            return Err(LookError::Gone(self.pid));
        }
        let page = procfs::page_size();
        let io_bytes = self.proc_.io().ok().map(|io| io.rchar + io.wchar);
        let cpu0 = crate::cost::thread_cpu_s();
        let stale =
            self.tids.len() > TID_LIST_CACHE_ABOVE && !self.ticks.is_multiple_of(TID_LIST_EVERY);
        if !stale {
            self.tids = self.task_ids()?;
        }
        self.ticks += 1;
        let tids = std::mem::take(&mut self.tids);
        let chosen = self.choose(&tids);
        let mut scanned = Vec::with_capacity(chosen.len());
        let read_switches = tids.len() <= FULL_SCAN_BELOW * 2;
        for tid in chosen {
            let hot = self.hot.contains(&tid);
            if let Some(mut t) = self.read_thread(tid, read_switches) {
                t.hot = hot;
                scanned.push(t);
            }
        }
        let scan_cost_s = crate::cost::thread_cpu_s() - cpu0;
        if !scanned.is_empty() {
            self.cost_per_thread = scan_cost_s / scanned.len() as f64;
        }
        let mut new_threads = 0;
        for &tid in &tids {
            if self.seen.insert(tid) && !self.first {
                new_threads += 1;
            }
        }
        self.seen.retain(|t| tids.binary_search(t).is_ok());
        self.comms.retain(|t, _| tids.binary_search(t).is_ok());
        self.hot.retain(|t| tids.binary_search(t).is_ok());
        self.first = false;
        self.last_threads = tids.len();
        self.tids = tids;
        let fds = self.fd_counts();
        Ok(Tick {
            t_s,
            threads: stat.num_threads.max(0) as u64,
            scanned,
            cpu_ticks: stat.utime + stat.stime,
            rss_bytes: stat.rss * page,
            io_bytes,
            fds,
            new_threads,
            scan_cost_s,
            peeked_slow: std::mem::take(&mut self.peeked_slow),
        })
    }

    /// A quick look at every thread's syscall (small processes only),
    /// remembering those in a slow call for the next tick.
    pub fn peek_slow(&mut self) {
        if self.last_threads > PEEK_MAX_THREADS {
            return;
        }
        let Ok(tids) = self.task_ids() else { return };
        for tid in tids {
            let path = format!("/proc/{}/task/{tid}/syscall", self.pid);
            if let Some(Sys::In { nr, .. }) = self.read_small(&path).map(parse_syscall)
                && syscalls::class(nr) == Class::Slow
            {
                self.peeked_slow.push((tid, nr));
            }
        }
    }

    fn task_ids(&self) -> Result<Vec<i32>, LookError> {
        let dir = format!("/proc/{}/task", self.pid);
        let rd = fs::read_dir(&dir).map_err(|e| io_err(self.pid, e))?;
        let mut tids: Vec<i32> = rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        tids.sort_unstable();
        Ok(tids)
    }

    /// Which threads to scan: all when it fits the budget, else the hot
    /// set plus a rotating slice.
    fn choose(&mut self, tids: &[i32]) -> Vec<i32> {
        let budget_s = SCAN_BUDGET * self.period.as_secs_f64();
        let fits = tids.len() < FULL_SCAN_BELOW
            || (self.cost_per_thread > 0.0 && self.cost_per_thread * tids.len() as f64 <= budget_s);
        if fits {
            return tids.to_vec();
        }
        // The first look at a big process measures the cost on a slice.
        let n = if self.cost_per_thread == 0.0 {
            FULL_SCAN_BELOW
        } else {
            ((budget_s / self.cost_per_thread) as usize).clamp(64, tids.len())
        };
        let mut out: Vec<i32> = tids
            .iter()
            .copied()
            .filter(|t| self.hot.contains(t))
            .collect();
        let start = self.cursor % tids.len();
        for i in 0..tids.len() {
            if out.len() >= n {
                break;
            }
            let t = tids[(start + i) % tids.len()];
            if !self.hot.contains(&t) {
                out.push(t);
            }
        }
        self.cursor = start + n;
        out
    }

    fn read_small(&mut self, path: &str) -> Option<&str> {
        self.buf.clear();
        let mut f = fs::File::open(path).ok()?;
        f.read_to_end(&mut self.buf).ok()?;
        std::str::from_utf8(&self.buf).ok()
    }

    fn read_thread(&mut self, tid: i32, read_switches: bool) -> Option<ThreadState> {
        let base = format!("/proc/{}/task/{}", self.pid, tid);
        let (state, utime, stime) = parse_task_stat(self.read_small(&format!("{base}/stat"))?)?;
        if state == b'R' {
            self.hot.insert(tid);
        } else {
            self.hot.remove(&tid);
        }
        let sys = if matches!(state, b'S' | b'D') {
            self.read_small(&format!("{base}/syscall"))
                .map_or(Sys::Unknown, parse_syscall)
        } else if state == b'R' {
            Sys::Running
        } else {
            Sys::Unknown
        };
        let switches = if read_switches {
            self.read_small(&format!("{base}/schedstat"))
                .and_then(parse_schedstat)
        } else {
            None
        };
        let comm = match self.comms.get(&tid) {
            Some(c) => c.clone(),
            None => {
                let c = self
                    .read_small(&format!("{base}/comm"))
                    .map(|s| s.trim_end().to_string())
                    .unwrap_or_default();
                self.comms.insert(tid, c.clone());
                c
            }
        };
        let fd = match sys {
            Sys::In { nr, arg0 } if syscalls::class(nr) == Class::FdRead => self.fd_info(arg0),
            _ => None,
        };
        Some(ThreadState {
            tid,
            comm,
            state,
            utime,
            stime,
            switches,
            sys,
            fd,
            hot: false,
        })
    }

    /// What descriptor `fd` is, with its O_NONBLOCK flag for a socket.
    pub fn fd_info(&mut self, fd: u64) -> Option<FdInfo> {
        let link = fs::read_link(format!("/proc/{}/fd/{fd}", self.pid)).ok()?;
        let kind = FdKind::of_link(&link.to_string_lossy());
        let nonblock = if kind == FdKind::Socket {
            self.read_small(&format!("/proc/{}/fdinfo/{fd}", self.pid))
                .and_then(parse_fdinfo_nonblock)
        } else {
            None
        };
        Some(FdInfo { fd, kind, nonblock })
    }

    /// Counts descriptors by kind (at most [`FD_SCAN_MAX`] resolved, the
    /// rest scaled), and checks O_NONBLOCK on up to 64 sockets.
    fn fd_counts(&mut self) -> FdCounts {
        let mut c = FdCounts::default();
        let Ok(rd) = fs::read_dir(PathBuf::from(format!("/proc/{}/fd", self.pid))) else {
            return c;
        };
        let fds: Vec<u64> = rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        c.total = fds.len() as u64;
        let step = fds.len().div_ceil(FD_SCAN_MAX).max(1);
        let mut sockets = Vec::new();
        let mut resolved = 0u64;
        for fd in fds.iter().step_by(step) {
            let Ok(link) = fs::read_link(format!("/proc/{}/fd/{fd}", self.pid)) else {
                continue;
            };
            resolved += 1;
            match FdKind::of_link(&link.to_string_lossy()) {
                FdKind::Socket => {
                    c.sockets += 1;
                    sockets.push(*fd);
                }
                FdKind::Pipe => c.pipes += 1,
                FdKind::File => c.files += 1,
                FdKind::Anon => c.anon += 1,
                FdKind::Other => {}
            }
        }
        if resolved > 0 && resolved < c.total {
            let scale = |n: u64| (n as f64 * c.total as f64 / resolved as f64).round() as u64;
            c.sockets = scale(c.sockets);
            c.pipes = scale(c.pipes);
            c.files = scale(c.files);
            c.anon = scale(c.anon);
        }
        let every = sockets.len().div_ceil(64).max(1);
        for fd in sockets.into_iter().step_by(every) {
            let nb = self
                .read_small(&format!("/proc/{}/fdinfo/{fd}", self.pid))
                .and_then(parse_fdinfo_nonblock);
            if let Some(nb) = nb {
                c.sockets_checked += 1;
                if !nb {
                    c.sockets_blocking += 1;
                }
            }
        }
        c
    }
}

fn map_err(pid: i32, e: procfs::ProcError) -> LookError {
    match e {
        procfs::ProcError::NotFound(_) => LookError::Gone(pid),
        procfs::ProcError::PermissionDenied(_) => LookError::Denied {
            pid,
            msg: "permission denied (another user's process? run as that user or root)".into(),
        },
        other => {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                LookError::Gone(pid)
            } else {
                LookError::Denied {
                    pid,
                    msg: other.to_string(),
                }
            }
        }
    }
}

fn io_err(pid: i32, e: std::io::Error) -> LookError {
    if e.kind() == std::io::ErrorKind::NotFound {
        LookError::Gone(pid)
    } else {
        LookError::Denied {
            pid,
            msg: e.to_string(),
        }
    }
}

/// (state, utime, stime) from a `stat` line. The command name is between
/// the first `(` and the last `)` and may hold spaces or parentheses.
pub fn parse_task_stat(s: &str) -> Option<(u8, u64, u64)> {
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split_ascii_whitespace();
    let state = f.next()?.as_bytes()[0];
    // After the state: ppid pgrp session tty_nr tpgid flags minflt cminflt
    // majflt cmajflt utime stime (fields 4..15 of stat).
    let mut f = f.skip(10);
    let utime = f.next()?.parse().ok()?;
    let stime = f.next()?.parse().ok()?;
    Some((state, utime, stime))
}

/// `/proc/.../syscall`: `running`, `-1 sp pc` (blocked outside a syscall),
/// or `nr a0 a1 a2 a3 a4 a5 sp pc` in hex.
pub fn parse_syscall(s: &str) -> Sys {
    let s = s.trim();
    if s == "running" {
        return Sys::Running;
    }
    let mut f = s.split_ascii_whitespace();
    let Some(nr) = f.next().and_then(|n| n.parse::<i64>().ok()) else {
        return Sys::Unknown;
    };
    if nr < 0 {
        return Sys::NotInSyscall;
    }
    let arg0 = f
        .next()
        .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    Sys::In { nr, arg0 }
}

/// Timeslices run (the third field of `schedstat`).
pub fn parse_schedstat(s: &str) -> Option<u64> {
    s.split_ascii_whitespace().nth(2)?.parse().ok()
}

/// O_NONBLOCK from `fdinfo`'s `flags:` line (octal).
pub fn parse_fdinfo_nonblock(s: &str) -> Option<bool> {
    let line = s.lines().find(|l| l.starts_with("flags:"))?;
    let v = u64::from_str_radix(line["flags:".len()..].trim(), 8).ok()?;
    Some(v & libc::O_NONBLOCK as u64 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_stat_with_a_paren_in_the_name() {
        let s = "42 (a) b) R 1 42 42 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 1 0";
        assert_eq!(parse_task_stat(s), Some((b'R', 17, 5)));
        assert_eq!(parse_task_stat("garbage"), None);
    }

    #[test]
    fn syscall_lines() {
        assert_eq!(parse_syscall("running\n"), Sys::Running);
        assert_eq!(parse_syscall("-1 0x7ffd 0x7f00"), Sys::NotInSyscall);
        assert_eq!(
            parse_syscall("0 0x10 0x7f 0x1000 0x0 0x0 0x0 0x7ffd 0x7f00"),
            Sys::In { nr: 0, arg0: 16 }
        );
        assert_eq!(parse_syscall(""), Sys::Unknown);
    }

    #[test]
    fn fdinfo_flags_are_octal() {
        assert_eq!(
            parse_fdinfo_nonblock("pos:\t0\nflags:\t04002\nmnt_id:\t9\n"),
            Some(true)
        );
        assert_eq!(parse_fdinfo_nonblock("flags:\t02\n"), Some(false));
        assert_eq!(parse_fdinfo_nonblock("pos: 0\n"), None);
    }

    #[test]
    fn schedstat_third_field() {
        assert_eq!(parse_schedstat("123 456 789\n"), Some(789));
        assert_eq!(parse_schedstat("1 2"), None);
    }

    #[test]
    fn a_look_at_ourselves_finds_this_thread() {
        let mut c = Collector::new(std::process::id() as i32, Duration::from_secs(1)).unwrap();
        let t = c.tick().unwrap();
        assert!(t.threads >= 1);
        let me = nix::unistd::gettid().as_raw();
        let mine = t.scanned.iter().find(|s| s.tid == me).expect("own tid");
        assert_eq!(mine.state, b'R', "the scanning thread is running");
        assert!(t.rss_bytes > 0);
    }

    #[test]
    fn a_missing_process_is_gone() {
        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        assert!(matches!(
            Collector::new(i32::MAX, Duration::from_secs(1)),
            Err(LookError::Gone(_))
        ));
    }
}
