//! `schedlab-fixture`: a scenario binary whose behaviour is known exactly,
//! for the runner's tests (supervision, sampling, Ctrl-C).
//!
//! It speaks the scenario command line of the brief
//! (`--runtime R --duration Nms [--set k=v]...`) and the metrics protocol
//! (`hello` first, `summary` last, on the fd in `SCHEDLAB_METRICS_FD`), so
//! a test can symlink it as `<bin-dir>/<scenario>` and drive it with a
//! sweep.yaml like any scenario. What it does is chosen by `--set mode=`:
//!
//! | mode        | behaviour                                                     |
//! |-------------|---------------------------------------------------------------|
//! | `idle`      | phases load_start/load_stop around a sleep of the duration, summary, exit 0 |
//! | `hang`      | never ends (SIGTERM ends it unless `--set ignore_term=1`)      |
//! | `crash`     | `abort()`: ends by SIGABRT                                    |
//! | `exit3`     | exits with code 3 after writing to stderr                     |
//! | `threads`   | starts `threads` extra threads, `busy` of them spinning, for the duration; summary |
//! | `fork_hang` | forks a grandchild that sleeps forever, then hangs itself     |
//! | `limit`     | writes an `event` of kind `limit`, exits 1                    |
//!
//! `--describe` prints the fixture's parameters (the keys above, `procs`,
//! and free integer axes `a0`..`a19` for grid-size tests) as the runner
//! reads them. `SCHEDLAB_FIXTURE_VALUE` replaces the 42 of `idle`'s
//! `fixture_value` (two runs that differ, for `compare`).
//!
//! Invariants the tests rely on: in `threads` mode the process has exactly
//! `threads + 1` threads once they are started (Rust's std starts no
//! helper thread; the metrics are written by the main thread), and `busy`
//! of them are always runnable. When `SCHEDLAB_FIXTURE_PIDDIR` is set, the
//! fixture writes one empty file per process it owns, named by its pid
//! (`<pid>.leader`, `<pid>.grandchild`), so a test can check afterwards
//! that none of them is alive.

use schedlab_protocol::metrics::{ENV_METRICS_FD, Line, PROTOCOL_VERSION, Params};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

struct Args {
    runtime: String,
    duration: Duration,
    set: BTreeMap<String, String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: schedlab-fixture --runtime <gmp|tokio|go|threads> --duration <N>ms [--set key=value]...\n\
         keys: mode=idle|hang|crash|exit3|threads|fork_hang|limit, threads=N, busy=M, ignore_term=0|1"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        runtime: String::new(),
        duration: Duration::from_millis(1000),
        set: BTreeMap::new(),
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!(
                    "schedlab-fixture: a test scenario for the schedlab runner (see its source)"
                );
                std::process::exit(0)
            }
            "--describe" => {
                println!("{}", describe());
                std::process::exit(0)
            }
            "--runtime" => a.runtime = it.next().unwrap_or_else(|| usage()),
            "--duration" => {
                let v = it.next().unwrap_or_else(|| usage());
                let ms: u64 = v.trim_end_matches("ms").parse().unwrap_or_else(|_| usage());
                a.duration = Duration::from_millis(ms);
            }
            "--sample-ms" => {
                it.next();
            }
            "--set" => {
                let kv = it.next().unwrap_or_else(|| usage());
                let (k, v) = kv.split_once('=').unwrap_or_else(|| usage());
                a.set.insert(k.to_string(), v.to_string());
            }
            _ => usage(),
        }
    }
    if a.runtime.is_empty() {
        usage()
    }
    a
}

/// `--describe`: what the runner checks sweep values against.
fn describe() -> String {
    use schedlab_protocol::spec::{ParamDesc, ParamKind, ScenarioSpec};
    let int = |key: &str, min, max, help: &str| ParamDesc {
        key: key.into(),
        kind: ParamKind::Int { min, max },
        default: min.to_string(),
        help: help.into(),
    };
    let mut params = vec![
        ParamDesc {
            key: "mode".into(),
            kind: ParamKind::Word {
                words: [
                    "idle",
                    "hang",
                    "crash",
                    "exit3",
                    "threads",
                    "fork_hang",
                    "limit",
                ]
                .map(String::from)
                .to_vec(),
            },
            default: "idle".into(),
            help: "what the fixture does".into(),
        },
        int("threads", 0, 100_000, "extra threads (mode threads)"),
        int("busy", 0, 100_000, "spinning threads (mode threads)"),
        int("procs", 1, 256, "accepted, unused"),
        ParamDesc {
            key: "ignore_term".into(),
            kind: ParamKind::Bool,
            default: "false".into(),
            help: "ignore SIGTERM".into(),
        },
    ];
    params.extend((0..20).map(|i| int(&format!("a{i}"), 0, 9, "a free axis")));
    let spec = ScenarioSpec {
        name: "fixture".into(),
        about: "a test scenario for the schedlab runner".into(),
        runtimes: ["gmp", "tokio", "threads"].map(String::from).to_vec(),
        params,
    };
    serde_json::to_string(&spec).expect("a spec serializes")
}

/// The metrics sink: the fd the runner gave, else stdout.
fn metrics_out() -> Box<dyn Write> {
    match std::env::var(ENV_METRICS_FD)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    {
        // SAFETY: the runner opened this fd for us (the write end of its
        // metrics pipe) and nothing else in this process owns it.
        Some(fd) => Box::new(unsafe { std::fs::File::from_raw_fd(fd) }),
        None => Box::new(std::io::stdout()),
    }
}

struct Emitter {
    out: Box<dyn Write>,
    t0: Instant,
}

impl Emitter {
    fn ms(&self) -> f64 {
        self.t0.elapsed().as_secs_f64() * 1000.0
    }

    fn line(&mut self, l: &Line) {
        let _ = writeln!(
            self.out,
            "{}",
            serde_json::to_string(l).expect("lines serialize")
        );
        let _ = self.out.flush();
    }

    fn phase(&mut self, name: &str) {
        let l = Line::Phase {
            t_ms: self.ms(),
            name: name.into(),
        };
        self.line(&l);
    }

    fn event(&mut self, kind: &str, text: &str) {
        let l = Line::Event {
            t_ms: self.ms(),
            kind: kind.into(),
            text: text.into(),
        };
        self.line(&l);
    }

    fn summary(&mut self, metrics: &[(&str, f64)]) {
        let metrics = metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let l = Line::Summary {
            t_ms: self.ms(),
            metrics,
        };
        self.line(&l);
    }
}

fn note_pid(role: &str) {
    if let Ok(dir) = std::env::var("SCHEDLAB_FIXTURE_PIDDIR") {
        let _ = std::fs::write(format!("{dir}/{}.{role}", std::process::id()), b"");
    }
}

fn num(set: &BTreeMap<String, String>, key: &str, default: usize) -> usize {
    set.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn hang() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

fn run_threads(em: &mut Emitter, n: usize, busy: usize, duration: Duration) {
    let mut handles = Vec::new();
    for i in 0..n {
        // Small stacks so that 10,000 threads (the sampler's worst case)
        // fit anywhere; idle ones wake rarely so they stay out of R.
        let h = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                while !STOP.load(Ordering::Relaxed) {
                    if i < busy {
                        std::hint::spin_loop();
                    } else {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                em.event(
                    "limit",
                    &format!("threads: spawning thread {} failed: {e}", i + 1),
                );
                std::process::exit(1);
            }
        }
    }
    em.phase("load_start");
    std::thread::sleep(duration);
    em.phase("load_stop");
    em.summary(&[("fixture_threads", n as f64), ("fixture_busy", busy as f64)]);
    STOP.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
}

fn main() {
    let a = parse_args();
    let mode = a.set.get("mode").cloned().unwrap_or_else(|| "idle".into());
    if num(&a.set, "ignore_term", 0) == 1 {
        // SAFETY: setting a signal disposition to SIG_IGN has no handler to
        // be unsafe in; it only makes the test's SIGKILL escalation visible.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
        }
    }
    note_pid("leader");
    let mut em = Emitter {
        out: metrics_out(),
        t0: Instant::now(),
    };
    let params: Params = a
        .set
        .iter()
        .map(|(k, v)| (k.clone(), schedlab_protocol::sweep::parse_value(v)))
        .collect();
    em.line(&Line::Hello {
        v: PROTOCOL_VERSION,
        scenario: "fixture".into(),
        runtime: a.runtime.clone(),
        params,
        pid: std::process::id(),
    });
    match mode.as_str() {
        "idle" => {
            em.phase("load_start");
            std::thread::sleep(a.duration);
            em.phase("load_stop");
            let value = std::env::var("SCHEDLAB_FIXTURE_VALUE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(42.0);
            em.summary(&[("fixture_value", value), ("probe_p99_us", 100.0)]);
        }
        "hang" => hang(),
        "crash" => {
            eprintln!("fixture: about to abort");
            std::process::abort()
        }
        "exit3" => {
            eprintln!("fixture: exiting with code 3");
            std::process::exit(3)
        }
        "threads" => run_threads(
            &mut em,
            num(&a.set, "threads", 4),
            num(&a.set, "busy", 1),
            a.duration,
        ),
        "fork_hang" => {
            // SAFETY: fork in a single-threaded process (no thread was
            // started yet); the child only calls async-signal-safe
            // functions (getpid via note_pid's write, sleep) before hanging.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                note_pid("grandchild");
                hang();
            }
            em.event("note", &format!("forked grandchild {pid}"));
            hang()
        }
        "limit" => {
            em.event(
                "limit",
                "threads: pthread_create failed: Resource temporarily unavailable (fixture)",
            );
            eprintln!("fixture: hit a limit");
            std::process::exit(1)
        }
        other => {
            eprintln!("fixture: unknown mode {other}");
            std::process::exit(2)
        }
    }
}
