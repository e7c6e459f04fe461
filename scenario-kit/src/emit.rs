//! The metrics emitter: `protocol::metrics::Line`s as JSON lines.
//!
//! Where: the file descriptor named by `SCHEDLAB_METRICS_FD` (the runner
//! opens a pipe and passes its write end), or stdout when the variable is
//! unset (a human running the binary by hand).
//!
//! Invariants:
//! * one line is one `write` of a whole `{...}\n` under a mutex, then a
//!   flush: lines from several threads never interleave, and a line the
//!   process wrote before it crashed has reached the pipe;
//! * emitting never fails and never panics: if the reader went away (EPIPE;
//!   Rust ignores SIGPIPE, so it is an error, not a signal) or the fd is
//!   closed (EBADF), the emitter marks itself broken and drops every later
//!   line. The workload must not die because nobody listens;
//! * `t_ms` of every line is measured from [`Clock`]'s origin, which
//!   `scenario_kit::run` sets as its first act, as close to the process's
//!   start as a Rust main can get.
//!
//! A bad `SCHEDLAB_METRICS_FD` (not a number, or not an open fd) is a usage
//! error reported by [`Emitter::from_env`]: exit 2 rather than running a
//! whole point whose metrics would vanish.

use schedlab_protocol::metrics::{ENV_METRICS_FD, Line};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Milliseconds since the scenario started, shared by every line.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

static ORIGIN: OnceLock<Instant> = OnceLock::new();

impl Clock {
    /// The process-wide clock; the first call fixes the origin.
    pub fn process() -> Clock {
        Clock {
            origin: *ORIGIN.get_or_init(Instant::now),
        }
    }

    pub fn origin(&self) -> Instant {
        self.origin
    }

    pub fn now_ms(&self) -> f64 {
        self.ms_at(Instant::now())
    }

    /// Rounded to the microsecond: finer digits are noise in the JSON.
    pub fn ms_at(&self, t: Instant) -> f64 {
        let us = t.saturating_duration_since(self.origin).as_micros();
        us as f64 / 1e3
    }
}

/// A thread-safe sink for metrics lines. Cheap to clone.
#[derive(Clone)]
pub struct Emitter {
    inner: Arc<Inner>,
}

struct Inner {
    out: Mutex<Box<dyn Write + Send>>,
    broken: AtomicBool,
}

impl Emitter {
    /// Writes to `w` (tests, or any sink).
    pub fn to_writer(w: impl Write + Send + 'static) -> Emitter {
        Emitter {
            inner: Arc::new(Inner {
                out: Mutex::new(Box::new(w)),
                broken: AtomicBool::new(false),
            }),
        }
    }

    /// The fd from `SCHEDLAB_METRICS_FD`, else stdout.
    pub fn from_env() -> Result<Emitter, String> {
        match std::env::var(ENV_METRICS_FD) {
            Err(std::env::VarError::NotPresent) => Ok(Emitter::to_writer(io::stdout())),
            Err(e) => Err(format!("{ENV_METRICS_FD}: {e}")),
            Ok(s) => {
                let fd: i32 = s.trim().parse().map_err(|_| {
                    format!("{ENV_METRICS_FD}={s}: expected a file descriptor number")
                })?;
                Ok(Emitter::to_writer(open_fd(fd)?))
            }
        }
    }

    /// Writes one line; never fails (see the module comment).
    pub fn emit(&self, line: &Line) {
        if self.inner.broken.load(Ordering::Relaxed) {
            return;
        }
        let mut text = match serde_json::to_string(line) {
            Ok(t) => t,
            Err(_) => return, // only non-finite floats could do this: drop the line
        };
        text.push('\n');
        let mut out = self.inner.out.lock().unwrap_or_else(|p| p.into_inner());
        if out
            .write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            self.inner.broken.store(true, Ordering::Relaxed);
        }
    }

    /// True once a write failed (reader gone): later lines are dropped.
    pub fn is_broken(&self) -> bool {
        self.inner.broken.load(Ordering::Relaxed)
    }
}

/// Takes ownership of an inherited fd after checking it is open.
fn open_fd(fd: i32) -> Result<File, String> {
    if fd < 0 {
        return Err(format!("{ENV_METRICS_FD}={fd}: not a file descriptor"));
    }
    // SAFETY: F_GETFD only reads the descriptor's flags; any int is a valid
    // argument (a closed fd yields -1/EBADF).
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(format!(
            "{ENV_METRICS_FD}={fd}: fd is not open ({})",
            io::Error::last_os_error()
        ));
    }
    // Keep the fd out of children this scenario may spawn (dup_fd's server).
    // SAFETY: setting FD_CLOEXEC on an fd just checked to be open.
    unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
    // SAFETY: the runner passed this fd for our exclusive use; it is open
    // (checked above) and nothing else in the process owns it, so the File
    // may close it when dropped.
    Ok(unsafe { File::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use schedlab_protocol::metrics::{ProbeStats, Value};
    use std::collections::BTreeMap;

    /// A Write that appends to a shared buffer.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn all_kinds() -> Vec<Line> {
        let params = BTreeMap::from([
            ("procs".to_string(), Value::Num(2.0)),
            ("mode".into(), Value::Str("raw".into())),
        ]);
        vec![
            Line::Hello {
                v: 1,
                scenario: "baseline".into(),
                runtime: "tokio".into(),
                params,
                pid: 42,
            },
            Line::Phase {
                t_ms: 0.25,
                name: "load_start".into(),
            },
            Line::Sample {
                t_ms: 100.0,
                probe: Some(ProbeStats {
                    n: 98,
                    p50_us: 55.0,
                    p99_us: 1200.5,
                    max_us: 3000.0,
                }),
                counters: BTreeMap::from([("workers".to_string(), 2.0)]),
            },
            Line::Event {
                t_ms: 150.0,
                kind: "note".into(),
                text: "two\nlines \"quoted\"".into(),
            },
            Line::Summary {
                t_ms: 2000.0,
                metrics: BTreeMap::from([("probe_p99_us".to_string(), 1200.5)]),
            },
        ]
    }

    #[test]
    fn every_line_parses_back_as_the_same_protocol_line() {
        let buf = Buf::default();
        let e = Emitter::to_writer(buf.clone());
        for l in all_kinds() {
            e.emit(&l);
        }
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let back: Vec<Line> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect(l))
            .collect();
        assert_eq!(back, all_kinds());
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn lines_from_many_threads_never_interleave() {
        let buf = Buf::default();
        let e = Emitter::to_writer(buf.clone());
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let e = e.clone();
                std::thread::spawn(move || {
                    for j in 0..200 {
                        e.emit(&Line::Event {
                            t_ms: j as f64,
                            kind: "note".into(),
                            text: format!("{i}-{j} {}", "x".repeat(300)),
                        });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 800);
        for l in text.lines() {
            serde_json::from_str::<Line>(l).expect(l);
        }
    }

    #[test]
    fn a_closed_pipe_marks_the_emitter_broken_without_panicking() {
        let mut fds = [0; 2];
        // SAFETY: pipe writes two fresh fds into the array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: closing the read end we own; nobody else uses it.
        unsafe { libc::close(fds[0]) };
        let e = Emitter::to_writer(open_fd(fds[1]).unwrap());
        e.emit(&Line::Phase {
            t_ms: 1.0,
            name: "load_start".into(),
        });
        assert!(e.is_broken());
        e.emit(&Line::Phase {
            t_ms: 2.0,
            name: "load_stop".into(),
        }); // dropped quietly
    }

    #[test]
    fn a_bad_fd_is_a_clear_error() {
        assert!(open_fd(-3).unwrap_err().contains("not a file descriptor"));
        assert!(open_fd(987_654).unwrap_err().contains("not open"));
    }

    #[test]
    fn clock_is_monotonic_from_one_origin() {
        let c = Clock::process();
        let a = c.now_ms();
        let b = Clock::process().now_ms();
        assert!(a >= 0.0 && b >= a);
        assert_eq!(c.origin(), Clock::process().origin());
    }
}
