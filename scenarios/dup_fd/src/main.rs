//! Scenario `dup_fd` (seed 000): Swarm's 20,000–30,000 threads, one per
//! long-lived connection, and what the same mistake does to tokio.
//!
//! # The incident
//!
//! Swarm kept a TCP connection to each of tens of thousands of Docker
//! daemons and read heartbeats from them. Its custom `Dial` set
//! `TCP_USER_TIMEOUT` with
//!
//! ```go
//! f, _ := conn.(*net.TCPConn).File()
//! syscall.SetsockoptInt(int(f.Fd()), syscall.IPPROTO_TCP, 0x12, msecs)
//! ```
//!
//! `File()` dup()s the socket and `Fd()` puts the dup into blocking mode;
//! `O_NONBLOCK` is a flag of the *open file description*, which the dup
//! shares with the connection's own fd. So every read the net package then
//! made on the connection blocked in read(2) inside a syscall: sysmon handed
//! each reader's P to a new M, threads ~= connections, until Go's
//! 10,000-thread limit ("thread exhaustion"). Swarm's authors had raised
//! that limit to 50,000, believing the load needed the threads. The fix:
//! set the option on the connection's own fd (`SyscallConn().Control`),
//! with no mode change.
//!
//! # The workload (issue 5)
//!
//! * A heartbeat server in a child process — this binary re-executed with
//!   `SCHEDLAB_DUPFD_SERVER=1`, so the runner measures only the client —
//!   listens on 127.0.0.1:0 and writes a 16-byte heartbeat (send time in ns
//!   since the Unix epoch, sequence number; little-endian, the Go
//!   reference's format) to each accepted connection at once and then every
//!   `interval_ms` (1,000). It exits when its stdin closes (the client ended
//!   or died). The greeting differs from the Go reference's server (whose
//!   first heartbeat comes one interval after accept): it makes tokio's
//!   stall start while dialling instead of one interval later; Go's readers
//!   block in read(2) at once either way.
//! * The client raises RLIMIT_NOFILE (and records `pid_max`,
//!   `threads-max`, the cgroup's `pids.max`; a point that cannot get the
//!   fds it needs stops with a `limit` event naming the limit), opens
//!   `conns` connections, applies the variant to each, and runs one reader
//!   task per connection that reads heartbeats in a loop and records how
//!   late each one is seen (receive time − send time).
//! * `variant=bug`: Swarm's path, translated: `fcntl(F_DUPFD_CLOEXEC)` (Go's
//!   `File()`), clear `O_NONBLOCK` on the dup (Go's `Fd()`), setsockopt on
//!   the dup. The dup is kept open for the run when RLIMIT_NOFILE can hold
//!   two fds per connection, closed at once otherwise (`dup_kept` says
//!   which): the flag lives on the shared description, so the bug is the
//!   same either way. `variant=fixed`: setsockopt on the stream's own fd.
//!
//! # Per runtime
//!
//! * tokio (this file): the mistake gives tokio no new thread — it has no
//!   sysmon to notice a worker stuck in a syscall — so instead of a thread
//!   explosion the runtime stalls. A reader's first `read` comes after the
//!   readiness event (the greeting); its next `read`, with readiness still
//!   set, is a blocking read(2) *on a worker thread* that returns only with
//!   the next heartbeat, and then the loop blocks again: each worker ends up
//!   owned by one connection, for good. With `conns >= procs` every worker
//!   is taken within milliseconds; the probe, the timers and every other
//!   connection wait. The body keeps its clock on the main thread
//!   (`block_on`'s, not a worker: `std::thread::sleep`, never the runtime's
//!   timer) and dials with blocking std connects handed to tokio
//!   (`from_std`), so it never needs the runtime it stalls. Before
//!   `load_start` it lets the runtime idle 20 ms so the probe task has been
//!   polled once (a stall before the probe's first poll would be invisible
//!   to it). At `load_stop` it stops the readers' recording, counts the
//!   heartbeats still queued unread in the kernel (`recv(MSG_PEEK)`: each
//!   with the lateness it has by then, a lower bound), then shuts every
//!   connection down, the never-read ones first and the ones holding a
//!   worker last: the stuck reads return 0, the workers come back, the body
//!   returns at once, and the probe's next (and last) wake-up records the
//!   whole stall. The server is reaped only after the runtime is gone.
//! * go: `reference/go/dup_fd` (same params and summary names).
//! * gmp ([`gmp_column`]): Swarm's code on the model's net package:
//!   `TcpStream::file()` + `File::fd()` (bug), `syscall_conn` (fixed), one
//!   goroutine per reader. As in Go, each blocked `read(2)` holds an M in
//!   `gmp::syscall`; sysmon hands its P to another M: threads ~= conns, up
//!   to `max_threads` (10,000, Go's default; `bug_50k` raises it to 50,000,
//!   Swarm's workaround), past which gmp dies of "thread exhaustion" (exit
//!   status 2) like Go. It shares the server, the limits, the lateness and
//!   thread counts, the unread count and the shutdown order with tokio.
//!
//! # Measures
//!
//! Summary (the Go reference's names): `conns`, `conns_open`, `connect_s`,
//! `go_max_threads` and `threads_created` (gmp),
//! `threads_plateau` and `time_to_plateau_s` (/proc/self/status Threads
//! sampled every 100 ms by the main thread; plateau = max, time from
//! `load_start` to the first sample >= 0.95 × max), `heartbeats`,
//! `heartbeat_conns` (connections that got at least one),
//! `heartbeat_late_p50_ms` / `_p99_ms` / `_max_ms`, `rss_end_bytes_self`,
//! `dup_kept`, `nofile_limit`, `pid_max`, `threads_max_sys`,
//! `cgroup_pids_max`, and `heartbeats_unread` (counted at `load_stop`, see
//! above; the Go reference has no such count: its readers never fall
//! behind); the probe's `probe_p99_us` from the kit. Phases: `load_start`
//! (dialling starts), `connected`, `load_stop`.
//! Sample counters: `threads`, `conns_open`, `heartbeats`.

use scenario_kit::hist::Histogram;
use scenario_kit::tokio;
use scenario_kit::{Counter, Ctx, Kind, ParamSpec, Runtime, Spec};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SPEC: Spec = Spec {
    name: "dup_fd",
    about: "C long-lived loopback connections reading heartbeats; bug = dup the socket and clear \
            O_NONBLOCK on the dup to set TCP_USER_TIMEOUT (Swarm, seed 000).",
    runtimes: &[Runtime::Gmp, Runtime::Tokio],
    params: &[
        ParamSpec {
            key: "variant",
            kind: Kind::Word(&["bug", "fixed", "bug_50k"]),
            default: "bug",
            help: "bug: Swarm's File()+Fd() (tokio: dup + clear O_NONBLOCK on the dup); fixed: the option on the stream's own fd; bug_50k (gmp): bug with max_threads 50,000",
        },
        ParamSpec {
            key: "conns",
            kind: Kind::Int {
                min: 1,
                max: 200_000,
            },
            default: "100",
            help: "connections (one reader task each)",
        },
        ParamSpec {
            key: "procs",
            kind: Kind::Int { min: 1, max: 256 },
            default: "2",
            help: "worker threads (GOMAXPROCS for gmp and go)",
        },
        ParamSpec {
            key: "interval_ms",
            kind: Kind::Int {
                min: 1,
                max: 60_000,
            },
            default: "1000",
            help: "heartbeat period of the server, per connection",
        },
    ],
};

/// Set (to "1") in the server child's environment.
const ENV_SERVER: &str = "SCHEDLAB_DUPFD_SERVER";
const ENV_INTERVAL: &str = "SCHEDLAB_DUPFD_INTERVAL_MS";
/// The metrics fd is the client's alone: the server must not inherit it.
const ENV_METRICS_FD: &str = "SCHEDLAB_METRICS_FD";
/// TCP_USER_TIMEOUT, as Swarm defined it (`const tcpUserTimeout = 0x12`).
const TCP_USER_TIMEOUT: libc::c_int = 0x12;
const USER_TIMEOUT_MS: libc::c_int = 30_000;
const HEARTBEAT_BYTES: usize = 16;
/// How long the runtime runs idle before `load_start` (see `settle`).
const SETTLE: Duration = Duration::from_millis(20);
/// Period of the main thread's thread-count samples.
const THREADS_EVERY: Duration = Duration::from_millis(100);

fn main() {
    if std::env::var_os(ENV_SERVER).is_some_and(|v| v == "1") {
        server::serve();
    }
    scenario_kit::run(SPEC, |ctx: Ctx| match ctx.runtime {
        Runtime::Tokio => tokio_column::run(&ctx),
        Runtime::Gmp => gmp_column::run(&ctx),
        _ => unreachable!("the kit refuses runtimes outside SPEC"),
    })
}

// ------------------------------------------------------------ the point

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Bug,
    Fixed,
}

#[derive(Debug, Clone, Copy)]
struct Point {
    variant: Variant,
    conns: usize,
    procs: usize,
    interval: Duration,
    /// gmp's `max_threads` (Go's `debug.SetMaxThreads`).
    max_threads: usize,
}

impl Point {
    /// The point's params; `bug_50k` is `bug` with Go's thread limit
    /// raised to 50,000 (Swarm's workaround), for gmp only.
    fn of(ctx: &Ctx) -> anyhow::Result<Point> {
        let p = &ctx.params;
        let word = p.word("variant");
        // A sweep whose grid has the knob passes its default to every
        // point, bug_50k's too: only another value contradicts it.
        if word == "bug_50k" && p.knob_changed("gmp.max_threads") {
            return Err(anyhow::Error::new(scenario_kit::Usage(
                "--set variant=bug_50k sets the thread limit (50,000) itself: use variant=bug \
                 with gmp.max_threads"
                    .to_string(),
            )));
        }
        if word == "bug_50k" && ctx.runtime != Runtime::Gmp {
            return Err(anyhow::Error::new(scenario_kit::Usage(
                "--set variant=bug_50k: only for gmp (and go): tokio has no thread limit to raise; \
                 use bug or fixed"
                    .to_string(),
            )));
        }
        Ok(Point {
            variant: if word == "fixed" {
                Variant::Fixed
            } else {
                Variant::Bug
            },
            conns: p.usize("conns"),
            procs: p.usize("procs"),
            interval: Duration::from_millis(p.int("interval_ms") as u64),
            // The thread-limit knob (gmp.max_threads, Go's SetMaxThreads)
            // unless the variant is Swarm's workaround, which sets it.
            max_threads: if word == "bug_50k" {
                50_000
            } else {
                p.usize("gmp.max_threads")
            },
        })
    }
}

// ------------------------------------------------------------ system limits

/// The limits this point runs under, recorded in the summary and a note.
struct Limits {
    /// Whether the bug's dups stay open (two fds per connection fit).
    keep_dups: bool,
}

impl Limits {
    /// Raises RLIMIT_NOFILE for the connections (and the dups when they
    /// fit), records every limit, and stops the point with a `limit`
    /// event when the fds cannot be had.
    fn prepare(ctx: &Ctx, p: &Point) -> Limits {
        let base = p.conns as u64 + 256;
        let keep_dups = p.variant == Variant::Bug
            && scenario_kit::limits::raise_hard_nofile(base + p.conns as u64);
        let want = if keep_dups {
            base + p.conns as u64
        } else {
            base
        };
        scenario_kit::limits::raise_hard_nofile(want);
        let got = scenario_kit::limits::raise_nofile(want).unwrap_or(0);
        let (pid_max, thr_max, cg) = (
            read_num("/proc/sys/kernel/pid_max"),
            read_num("/proc/sys/kernel/threads-max"),
            cgroup_pids_max(),
        );
        ctx.metric("nofile_limit", got as f64);
        ctx.metric("pid_max", pid_max as f64);
        ctx.metric("threads_max_sys", thr_max as f64);
        if let Some(cg) = cg {
            ctx.metric("cgroup_pids_max", cg as f64);
        }
        ctx.metric("dup_kept", if keep_dups { 1.0 } else { 0.0 });
        ctx.event(
            "note",
            format!(
                "limits: RLIMIT_NOFILE {got}, kernel.pid_max {pid_max}, kernel.threads-max {thr_max}, \
                 cgroup pids.max {}",
                cg.map_or("max/unknown".to_string(), |n| n.to_string())
            ),
        );
        if got < want {
            ctx.limit(&format!(
                "open files: need {want} (RLIMIT_NOFILE) for {} connections, the limit is {got} \
                 and cannot be raised (ulimit -Hn, fs.nr_open)",
                p.conns
            ));
        }
        if p.variant == Variant::Bug && !keep_dups {
            ctx.event(
                "note",
                "RLIMIT_NOFILE cannot hold every connection and its dup: each dup is closed right \
                 after the setsockopt; O_NONBLOCK stays cleared on the shared open file description",
            );
        }
        Limits { keep_dups }
    }
}

fn read_num(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// pids.max of this process's cgroup (v2), `None` for "max" or unknown.
fn cgroup_pids_max() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let dir = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = dir.trim_end_matches('/');
    Some(read_num(&format!("/sys/fs/cgroup{dir}/pids.max"))).filter(|n| *n > 0)
}

/// The limit behind a failed connect, if it was one.
fn connect_limit(err: &io::Error) -> Option<String> {
    if let Some(l) = scenario_kit::limits::fd_limit(err) {
        return Some(l);
    }
    (err.raw_os_error() == Some(libc::EADDRNOTAVAIL)).then(|| {
        format!(
            "ephemeral ports: no local port left for 127.0.0.1 (net.ipv4.ip_local_port_range = {})",
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("-")
        )
    })
}

// ------------------------------------------------------------ the server

/// The heartbeat server, as the client sees it: a child process and the
/// pipe whose closing stops it.
struct Server {
    addr: SocketAddr,
    child: std::process::Child,
}

impl Server {
    /// Re-executes this binary as the server and reads the port it
    /// listens on.
    fn start(interval: Duration) -> anyhow::Result<Server> {
        use std::io::BufRead;
        let mut child = std::process::Command::new("/proc/self/exe")
            .env(ENV_SERVER, "1")
            .env(ENV_INTERVAL, interval.as_millis().to_string())
            .env_remove(ENV_METRICS_FD)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        io::BufReader::new(stdout).read_line(&mut line)?;
        let port: u16 = line.trim().parse().map_err(|_| {
            let _ = child.kill();
            anyhow::anyhow!("the heartbeat server did not report its port (got {line:?})")
        })?;
        Ok(Server {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
        })
    }
}

impl Drop for Server {
    /// Closing its stdin ends the server; then reap it.
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

mod server {
    //! The server process: a current-thread tokio runtime, one task per
    //! accepted connection writing a heartbeat at once and every interval.
    use super::*;
    use tokio::io::AsyncWriteExt;

    pub fn serve() -> ! {
        let interval = std::env::var(ENV_INTERVAL)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|ms| *ms >= 1);
        let Some(ms) = interval else {
            eprintln!("dup_fd server: {ENV_INTERVAL} must be a number of ms >= 1");
            std::process::exit(2)
        };
        exit_when_stdin_closes();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match rt.map(|rt| rt.block_on(accept_loop(Duration::from_millis(ms)))) {
            Ok(Ok(())) => std::process::exit(0),
            Ok(Err(e)) | Err(e) => {
                eprintln!("dup_fd server: {e}");
                std::process::exit(1)
            }
        }
    }

    /// The client holds our stdin: EOF means it is gone.
    fn exit_when_stdin_closes() {
        std::thread::spawn(|| {
            let _ = io::copy(&mut io::stdin(), &mut io::sink());
            std::process::exit(0)
        });
    }

    async fn accept_loop(every: Duration) -> io::Result<()> {
        let ln = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        deepen_backlog(&ln);
        println!("{}", ln.local_addr()?.port());
        use std::io::Write;
        io::stdout().flush()?;
        loop {
            match ln.accept().await {
                Ok((c, _)) => {
                    tokio::spawn(heartbeat(c, every));
                }
                Err(e) if scenario_kit::limits::fd_limit(&e).is_some() => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Raises the accept backlog (tokio's is 1,024) to 4,096 (capped by
    /// net.core.somaxconn): a full accept queue drops SYNs and costs the
    /// client a 1 s retransmit per connection while it dials thousands.
    fn deepen_backlog(ln: &tokio::net::TcpListener) {
        use std::os::fd::AsRawFd;
        // SAFETY: listen() on our own listening socket only updates its
        // backlog; no memory is involved.
        unsafe { libc::listen(ln.as_raw_fd(), 4096) };
    }

    async fn heartbeat(mut c: tokio::net::TcpStream, every: Duration) {
        let mut tick = tokio::time::interval(every); // first tick at once: the greeting
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for seq in 0u64.. {
            tick.tick().await;
            let mut msg = [0u8; HEARTBEAT_BYTES];
            msg[..8].copy_from_slice(&unix_ns().to_le_bytes());
            msg[8..].copy_from_slice(&seq.to_le_bytes());
            if c.write_all(&msg).await.is_err() {
                return;
            }
        }
    }
}

/// Wall-clock ns since the Unix epoch (the two processes' shared clock).
fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

// ------------------------------------------------------------ Swarm's mistake

mod swarm {
    //! `TCP_USER_TIMEOUT` set the variant's way on a connection's fd, for
    //! runtimes without Go's `File()`/`Fd()` (tokio): the same syscalls.
    use super::*;

    /// bug: dup (Go's `File()`: `dupCloseOnExec`), clear `O_NONBLOCK` on the
    /// dup (Go's `Fd()`: `SetBlocking`, which clears it on the open file
    /// description `fd` shares), setsockopt on the dup; returns the dup.
    /// fixed: setsockopt on `fd` itself, no mode change.
    pub fn set_user_timeout(variant: Variant, fd: RawFd) -> io::Result<Option<OwnedFd>> {
        match variant {
            Variant::Fixed => setsockopt_user_timeout(fd).map(|()| None),
            Variant::Bug => {
                let dup = dup_cloexec(fd)?;
                set_blocking(dup.as_raw_fd(), true)?;
                setsockopt_user_timeout(dup.as_raw_fd())?;
                Ok(Some(dup))
            }
        }
    }

    fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
        // SAFETY: F_DUPFD_CLOEXEC on an fd the caller owns (open) returns a
        // new fd or -1; no memory is involved.
        let n = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `n` is a fresh fd that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(n) })
    }

    /// Sets or clears `O_NONBLOCK` on `fd`'s open file description.
    pub fn set_blocking(fd: RawFd, blocking: bool) -> io::Result<()> {
        // SAFETY: F_GETFL/F_SETFL read and write the flags of an open fd;
        // no memory is involved.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            if fl < 0 {
                return Err(io::Error::last_os_error());
            }
            let fl = if blocking {
                fl & !libc::O_NONBLOCK
            } else {
                fl | libc::O_NONBLOCK
            };
            if libc::fcntl(fd, libc::F_SETFL, fl) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    pub fn setsockopt_user_timeout(fd: RawFd) -> io::Result<()> {
        let ms: libc::c_int = USER_TIMEOUT_MS;
        // SAFETY: `ms` outlives the call and its size is passed with it.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                TCP_USER_TIMEOUT,
                (&ms as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

// ------------------------------------------------------------ measures

/// Heartbeat lateness (seen − sent) over every connection.
///
/// Readers record what they read until [`Lateness::stop`]; then the
/// heartbeats still queued in the kernel (sent, never read) are counted by
/// [`Lateness::count_unread`] with the lateness they have by then, a lower
/// bound. So a heartbeat that a stalled runtime never read is not missing
/// from the figure: it is its worst part.
struct Lateness {
    hist: Mutex<Histogram>,
    seen: Vec<AtomicBool>,
    stopped: AtomicBool,
    beats: Counter,
    unread: std::sync::atomic::AtomicU64,
}

impl Lateness {
    fn new(ctx: &Ctx, conns: usize) -> Arc<Lateness> {
        Arc::new(Lateness {
            hist: Mutex::new(Histogram::new()),
            seen: (0..conns).map(|_| AtomicBool::new(false)).collect(),
            stopped: AtomicBool::new(false),
            beats: ctx.counter("heartbeats"),
            unread: Default::default(),
        })
    }

    /// A reader read one heartbeat of connection `conn`.
    fn read(&self, conn: usize, msg: &[u8]) {
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        self.record(msg);
        self.seen[conn].store(true, Ordering::Relaxed);
        self.beats.add(1);
    }

    fn record(&self, msg: &[u8]) {
        let mut sent = [0u8; 8];
        sent.copy_from_slice(&msg[..8]);
        let late_us = unix_ns().saturating_sub(u64::from_le_bytes(sent)) / 1000;
        self.hist
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(late_us);
    }

    /// Whether connection `conn`'s reader read at least one heartbeat.
    fn was_read(&self, conn: usize) -> bool {
        self.seen[conn].load(Ordering::Relaxed)
    }

    /// From now on, readers' heartbeats are not recorded.
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// Records the heartbeats queued unread on `fd` (MSG_PEEK: left in
    /// place), the oldest first, up to `buf.len() / 16` of them.
    fn count_unread(&self, fd: RawFd, buf: &mut [u8]) {
        // SAFETY: recv writes at most buf.len() bytes into buf, which we
        // own mutably for the call.
        let n = unsafe {
            libc::recv(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            return;
        }
        for msg in buf[..n as usize].chunks_exact(HEARTBEAT_BYTES) {
            self.record(msg);
            self.unread.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn summarize(&self, ctx: &Ctx) {
        let h = self.hist.lock().unwrap_or_else(|p| p.into_inner());
        let unread = self.unread.load(Ordering::Relaxed);
        ctx.metric("heartbeats", (h.len() - unread) as f64);
        ctx.metric("heartbeats_unread", unread as f64);
        let conns = self.seen.iter().filter(|s| s.load(Ordering::Relaxed));
        ctx.metric("heartbeat_conns", conns.count() as f64);
        for (name, q) in [
            ("heartbeat_late_p50_ms", 0.5),
            ("heartbeat_late_p99_ms", 0.99),
            ("heartbeat_late_max_ms", 1.0),
        ] {
            if let Some(us) = h.quantile(q) {
                ctx.metric(name, us / 1e3);
            }
        }
    }
}

/// The process's thread count, sampled by whoever holds the clock (the
/// main thread here: no thread or task of its own).
struct ThreadSampler {
    counter: Counter,
    start: Instant,
    last: Option<Instant>,
    series: Vec<(Instant, u64)>,
}

impl ThreadSampler {
    fn new(ctx: &Ctx) -> ThreadSampler {
        ThreadSampler {
            counter: ctx.counter("threads"),
            start: Instant::now(),
            last: None,
            series: Vec::new(),
        }
    }

    fn mark_start(&mut self) {
        self.start = Instant::now();
        self.series.clear();
        self.sample();
    }

    /// Takes a sample if [`THREADS_EVERY`] has passed since the last.
    fn sample(&mut self) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now - t < THREADS_EVERY) {
            return;
        }
        self.last = Some(now);
        let n = os_threads();
        self.counter.set(n as i64);
        self.series.push((now, n));
    }

    /// Sleeps until `deadline` with `sleep` (the column's own: a std
    /// sleep on tokio's main thread, `gmp::sleep` in a goroutine),
    /// sampling on the way.
    fn hold_until(&mut self, deadline: Instant, sleep: impl Fn(Duration)) {
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            sleep(left.min(THREADS_EVERY));
            self.sample();
        }
    }

    /// threads_plateau (max) and time_to_plateau_s (first sample at
    /// >= 95 % of it, from `load_start`).
    fn summarize(&self, ctx: &Ctx) {
        let max = self.series.iter().map(|s| s.1).max().unwrap_or(0);
        let reached = self
            .series
            .iter()
            .find(|s| s.1 as f64 >= 0.95 * max as f64)
            .map_or(0.0, |s| (s.0 - self.start).as_secs_f64());
        ctx.metric("threads_plateau", max as f64);
        ctx.metric("time_to_plateau_s", reached);
    }
}

fn os_threads() -> u64 {
    scenario_kit::selfstat::threads()
}

/// Dials the server with a blocking std connect (never needs a runtime);
/// a system limit stops the point naming it.
fn dial(ctx: &Ctx, addr: SocketAddr, i: usize, of: usize) -> anyhow::Result<std::net::TcpStream> {
    match std::net::TcpStream::connect(addr) {
        Ok(s) => {
            s.set_nonblocking(true)?;
            Ok(s)
        }
        Err(e) => match connect_limit(&e) {
            Some(what) => ctx.limit(&format!("{what} (after {i} of {of} connections)")),
            None => Err(anyhow::Error::new(e).context(format!("connect {} of {of}", i + 1))),
        },
    }
}

// ------------------------------------------------------------ gmp

mod gmp_column {
    //! The gmp column: Swarm's code on the model's net package
    //! (`gmp::net`, gmp/src/net.rs: Go's net, internal/poll and os). `bug`
    //! is `conn.File()` + `f.Fd()` exactly: gmp's `File::fd` clears
    //! O_NONBLOCK on the shared description, each reader's `read(2)` then
    //! blocks inside `gmp::syscall`, sysmon retakes its P and hands it to
    //! another M. `fixed` is `syscall_conn` (`SyscallConn().Control`).
    //! Everything else is the tokio column's: the server, the limits, the
    //! lateness and thread counts, the unread count and the shutdown order.
    use super::*;
    use scenario_kit::gmp;
    use scenario_kit::gmp::net::{File, TcpStream};
    use std::io::Read;

    pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
        let p = Point::of(ctx)?;
        let limits = Limits::prepare(ctx, &p);
        ctx.metric("go_max_threads", p.max_threads as f64);
        let server =
            Server::start(p.interval).map_err(|e| e.context("starting the heartbeat server"))?;
        let addr = server.addr;
        let builder = scenario_kit::gmp::Runtime::builder()
            .procs(p.procs)
            .max_threads(p.max_threads);
        let result = ctx.gmp(builder, move |ctx| client(&ctx, p, limits, addr));
        drop(server);
        result
    }

    fn client(ctx: &Ctx, p: Point, limits: Limits, addr: SocketAddr) -> anyhow::Result<()> {
        let late = Lateness::new(ctx, p.conns);
        let open = ctx.counter("conns_open");
        let mut threads = ThreadSampler::new(ctx);
        let (mut fds, mut dups): (Vec<RawFd>, Vec<File>) = (Vec::new(), Vec::new());
        ctx.phase("load_start");
        threads.mark_start();
        let deadline = Instant::now() + ctx.duration;
        for i in 0..p.conns {
            if Instant::now() > deadline {
                let text = format!("--duration ended while dialling: {i} of {} open", p.conns);
                ctx.event("note", text);
                break;
            }
            let c = dial(ctx, addr, i, p.conns)?;
            if let Some(f) = set_user_timeout(ctx, &p, &c, i)? {
                if limits.keep_dups {
                    dups.push(f);
                } else {
                    let _ = f.close();
                }
            }
            fds.push(c.syscall_conn(|fd| fd)?);
            open.add(1);
            let late = late.clone();
            gmp::go(move || read_heartbeats(i, &c, &late));
            threads.sample();
        }
        let connect_s = threads.start.elapsed().as_secs_f64();
        ctx.phase("connected");
        threads.hold_until(deadline, gmp::sleep);
        ctx.phase("load_stop");
        late.stop();
        let mut buf = vec![0u8; 64 * 1024];
        for fd in &fds {
            late.count_unread(*fd, &mut buf);
        }
        ctx.metric("conns", p.conns as f64);
        ctx.metric("conns_open", fds.len() as f64);
        ctx.metric("connect_s", connect_s);
        threads.summarize(ctx);
        ctx.metric("threads_created", gmp::stats().threads_created as f64);
        ctx.metric(
            "rss_end_bytes_self",
            (scenario_kit::selfstat::status_field(None, "VmRSS:").unwrap_or(0) * 1024) as f64,
        );
        late.summarize(ctx);
        for f in dups {
            let _ = f.close();
        }
        tokio_column::close_all(&fds, &late); // blocked reads return 0
        Ok(())
    }

    /// `net.Dial("tcp", addr)`; a system limit stops the point naming it.
    fn dial(ctx: &Ctx, addr: SocketAddr, i: usize, of: usize) -> anyhow::Result<TcpStream> {
        TcpStream::connect(addr).map_err(|e| match connect_limit(&e) {
            Some(what) => ctx.limit(&format!("{what} (after {i} of {of} connections)")),
            None => anyhow::Error::new(e).context(format!("connect {} of {of}", i + 1)),
        })
    }

    /// Swarm's `Dial` (bug) or its fix; returns Swarm's `f` under bug.
    fn set_user_timeout(
        ctx: &Ctx,
        p: &Point,
        c: &TcpStream,
        i: usize,
    ) -> anyhow::Result<Option<File>> {
        let limit = |e: io::Error| match scenario_kit::limits::fd_limit(&e) {
            Some(what) => ctx.limit(&format!("{what} (after {i} of {} connections)", p.conns)),
            None => anyhow::Error::new(e).context("setting TCP_USER_TIMEOUT"),
        };
        match p.variant {
            Variant::Fixed => {
                c.syscall_conn(swarm::setsockopt_user_timeout)
                    .map_err(limit)?
                    .map_err(limit)?;
                Ok(None)
            }
            Variant::Bug => {
                let f = c.file().map_err(limit)?; // conn.File(): a dup
                swarm::setsockopt_user_timeout(f.fd()).map_err(limit)?; // f.Fd(): blocking
                Ok(Some(f))
            }
        }
    }

    /// One connection's reader: a plain `io.ReadFull` loop.
    fn read_heartbeats(id: usize, c: &TcpStream, late: &Lateness) {
        let mut msg = [0u8; HEARTBEAT_BYTES];
        let mut r = c;
        while r.read_exact(&mut msg).is_ok() {
            late.read(id, &msg);
        }
    }
}

// ------------------------------------------------------------ tokio

mod tokio_column {
    //! The tokio column: one reader task per connection on `procs`
    //! workers; see the top comment for why `bug` stalls it.
    use super::*;
    use tokio::io::AsyncReadExt;

    pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
        let p = Point::of(ctx)?;
        let limits = Limits::prepare(ctx, &p);
        let server =
            Server::start(p.interval).map_err(|e| e.context("starting the heartbeat server"))?;
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(p.procs);
        let addr = server.addr;
        let result = ctx.tokio(&mut builder, move |ctx| async move {
            client(&ctx, p, limits, addr).await
        });
        drop(server); // after the runtime: reaping it must not extend a stall's tail
        result
    }

    async fn client(ctx: &Ctx, p: Point, limits: Limits, addr: SocketAddr) -> anyhow::Result<()> {
        let late = Lateness::new(ctx, p.conns);
        let open = ctx.counter("conns_open");
        let mut threads = ThreadSampler::new(ctx);
        let (mut fds, mut dups) = (Vec::new(), Vec::new());
        settle().await;
        ctx.phase("load_start");
        threads.mark_start();
        let deadline = Instant::now() + ctx.duration;
        for i in 0..p.conns {
            if Instant::now() > deadline {
                ctx.event(
                    "note",
                    format!("--duration ended while dialling: {i} of {} open", p.conns),
                );
                break;
            }
            let stream = tokio::net::TcpStream::from_std(dial(ctx, addr, i, p.conns)?)?;
            let dup = swarm::set_user_timeout(p.variant, stream.as_raw_fd())
                .map_err(|e| fd_error(ctx, e, i, p.conns))?;
            if limits.keep_dups {
                dups.extend(dup);
            }
            fds.push(stream.as_raw_fd());
            open.add(1);
            tokio::spawn(read_heartbeats(i, stream, late.clone()));
            threads.sample();
        }
        let connect_s = threads.start.elapsed().as_secs_f64();
        ctx.phase("connected");
        threads.hold_until(deadline, std::thread::sleep);
        ctx.phase("load_stop");
        count_unread(&late, &fds);
        record(ctx, &p, fds.len(), connect_s, &threads, &late);
        drop(dups);
        // Last: frees the stuck workers (bug), whose reads return 0; the
        // body returns at once, so the probe's first wake-up after the
        // stall is also its last (no tail of healthy samples after it).
        close_all(&fds, &late);
        Ok(())
    }

    /// Lets the probe task (spawned by the kit just before this body) be
    /// polled and start its 1 ms grid: a stall that began before its first
    /// poll would be invisible to it (its deadlines start at that poll).
    async fn settle() {
        tokio::time::sleep(SETTLE).await;
    }

    /// One connection's reader: a plain read loop, as any tokio code has.
    async fn read_heartbeats(id: usize, mut c: tokio::net::TcpStream, late: Arc<Lateness>) {
        let mut msg = [0u8; HEARTBEAT_BYTES];
        while c.read_exact(&mut msg).await.is_ok() {
            late.read(id, &msg);
        }
    }

    /// Stops the readers' recording and counts what they never read.
    fn count_unread(late: &Lateness, fds: &[RawFd]) {
        late.stop();
        let mut buf = vec![0u8; 64 * 1024];
        for fd in fds {
            late.count_unread(*fd, &mut buf);
        }
    }

    /// Ends every reader: shutdown makes their reads return 0 (EOF).
    /// Connections never read go first; those read at least once go last:
    /// under `bug` these are exactly the readers holding a worker in
    /// read(2) (any reader that read once blocks on its next read), so the
    /// runtime stays stalled until the very end and the body returns right
    /// after freeing it.
    pub fn close_all(fds: &[RawFd], late: &Lateness) {
        let (read, never): (Vec<_>, Vec<_>) =
            fds.iter().enumerate().partition(|(i, _)| late.was_read(*i));
        for (_, fd) in never.into_iter().chain(read) {
            shutdown(*fd);
        }
    }

    fn shutdown(fd: RawFd) {
        // SAFETY: shutdown touches no memory. The number is a socket a
        // stream still owns, or (if its reader already ended and closed it)
        // reused by another of our sockets, all of which are being shut
        // down now anyway.
        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
    }

    fn fd_error(ctx: &Ctx, e: io::Error, i: usize, of: usize) -> anyhow::Error {
        if let Some(what) = scenario_kit::limits::fd_limit(&e) {
            ctx.limit(&format!("{what} (after {i} of {of} connections)"));
        }
        anyhow::Error::new(e).context("setting TCP_USER_TIMEOUT")
    }

    fn record(
        ctx: &Ctx,
        p: &Point,
        opened: usize,
        connect_s: f64,
        threads: &ThreadSampler,
        late: &Lateness,
    ) {
        ctx.metric("conns", p.conns as f64);
        ctx.metric("conns_open", opened as f64);
        ctx.metric("connect_s", connect_s);
        threads.summarize(ctx);
        ctx.metric(
            "rss_end_bytes_self",
            (scenario_kit::selfstat::status_field(None, "VmRSS:").unwrap_or(0) * 1024) as f64,
        );
        late.summarize(ctx);
    }
}
