//! Shared helpers for gmp's integration tests: a tiny harness that runs each
//! case in a fresh child process (the thread counts a rule is about must not
//! include threads of other cases, and a runtime's Ms never exit), readers
//! of /proc for thread counts and states, runtime builders, and waits on a
//! condition (never a fixed "let it settle" sleep: under load a fixed sleep
//! is either too short or wasted).

#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Acquire};
use std::time::{Duration, Instant};

/// How a case's child process must end.
pub enum Expect {
    /// exit status 0
    Success,
    /// exit status `code` and stderr containing every string
    Fails {
        code: i32,
        stderr: &'static [&'static str],
    },
}

pub struct Case {
    pub name: &'static str,
    pub ignored: bool,
    /// Only run as a sub-process by another case, never selected.
    pub helper: bool,
    pub run: fn() -> Result<(), String>,
    pub expect: Expect,
    pub timeout: Duration,
}

impl Case {
    pub const fn new(name: &'static str, run: fn() -> Result<(), String>) -> Case {
        Case {
            name,
            ignored: false,
            helper: false,
            run,
            expect: Expect::Success,
            timeout: Duration::from_secs(60),
        }
    }
    pub const fn ignored(mut self) -> Case {
        self.ignored = true;
        self
    }
    pub const fn helper(mut self) -> Case {
        self.helper = true;
        self
    }
    pub const fn fails(mut self, code: i32, stderr: &'static [&'static str]) -> Case {
        self.expect = Expect::Fails { code, stderr };
        self
    }
    pub const fn timeout(mut self, d: Duration) -> Case {
        self.timeout = d;
        self
    }
}

const CHILD_ENV: &str = "GMP_TEST_CHILD";

/// The harness `main`: in the parent, runs every selected case in a child
/// process (sequentially: several rules are about CPU scheduling); in a
/// child, runs the one case named by the env var.
pub fn main(cases: &[Case]) {
    if let Ok(name) = std::env::var(CHILD_ENV) {
        let Some(c) = cases.iter().find(|c| c.name == name) else {
            eprintln!("no such case {name}");
            std::process::exit(3);
        };
        match (c.run)() {
            Ok(()) => std::process::exit(0),
            Err(e) => {
                eprintln!("FAIL: {e}");
                std::process::exit(1);
            }
        }
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for c in cases.iter().filter(|c| !c.helper) {
            println!("{}: test", c.name);
        }
        return;
    }
    let only_ignored = args.iter().any(|a| a == "--ignored");
    let include_ignored = args.iter().any(|a| a == "--include-ignored");
    let exact = args.iter().any(|a| a == "--exact");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<&Case> = cases
        .iter()
        .filter(|c| !c.helper)
        .filter(|c| {
            if only_ignored {
                c.ignored
            } else {
                include_ignored || !c.ignored
            }
        })
        .filter(|c| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        c.name == f.as_str()
                    } else {
                        c.name.contains(f.as_str())
                    }
                })
        })
        .collect();
    println!(
        "\nrunning {} tests (one child process each)",
        selected.len()
    );
    let exe = std::env::current_exe().expect("current_exe");
    let mut failed = Vec::new();
    for c in &selected {
        let t0 = Instant::now();
        let res = run_child(&exe, c);
        match res {
            Ok(()) => println!(
                "test {} ... ok ({:.2}s)",
                c.name,
                t0.elapsed().as_secs_f64()
            ),
            Err(e) => {
                println!(
                    "test {} ... FAILED ({:.2}s)\n{e}",
                    c.name,
                    t0.elapsed().as_secs_f64()
                );
                failed.push(c.name);
            }
        }
    }
    let skipped = cases.len() - selected.len();
    if failed.is_empty() {
        println!(
            "\ntest result: ok. {} passed; 0 failed; {skipped} ignored or filtered out\n",
            selected.len()
        );
    } else {
        println!(
            "\ntest result: FAILED. {} passed; {} failed: {failed:?}\n",
            selected.len() - failed.len(),
            failed.len()
        );
        std::process::exit(101);
    }
}

fn run_child(exe: &std::path::Path, c: &Case) -> Result<(), String> {
    let mut child = Command::new(exe)
        .env(CHILD_ENV, c.name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + c.timeout;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err_t.join().unwrap_or_default();
            return Err(format!(
                "timed out after {:?} (a hang)\nstderr:\n{stderr}",
                c.timeout
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    let code = status.code().unwrap_or(-1);
    let show = || format!("exit code {code}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    match &c.expect {
        Expect::Success if code == 0 => {
            if !stdout.is_empty() {
                print!("{stdout}");
            }
            Ok(())
        }
        Expect::Success => Err(show()),
        Expect::Fails {
            code: want,
            stderr: needles,
        } => {
            if code != *want {
                return Err(format!("wanted exit code {want}; {}", show()));
            }
            for n in *needles {
                if !stderr.contains(n) {
                    return Err(format!("stderr lacks {n:?}; {}", show()));
                }
            }
            Ok(())
        }
    }
}

/// Threads of this process (/proc/self/status `Threads:`).
pub fn threads() -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Thread ids of this process.
pub fn tids() -> Vec<i32> {
    let mut v: Vec<i32> = std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Number of this process's threads in state R (runnable), not counting
/// `exclude` (the sampling thread itself).
pub fn r_threads(exclude: i32) -> usize {
    let mut n = 0;
    for tid in tids() {
        if tid == exclude {
            continue;
        }
        let Ok(s) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
            continue;
        };
        if let Some(rest) = s.rsplit_once(')').map(|x| x.1)
            && rest.trim_start().starts_with('R')
        {
            n += 1;
        }
    }
    n
}

pub fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Samples `r_threads` on a plain (non-gmp) thread every `every` until
/// `stop` is set; returns all samples.
pub fn sample_r_threads(
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    every: Duration,
) -> std::thread::JoinHandle<Vec<usize>> {
    std::thread::spawn(move || {
        let me = gettid();
        let mut v = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Acquire) {
            v.push(r_threads(me));
            std::thread::sleep(every);
        }
        v
    })
}

pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

/// Busy work that calls `gmp::safepoint()` like a Go loop's prologue check.
pub fn spin_for(d: Duration) -> u64 {
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed() < d {
        for _ in 0..1000 {
            n = std::hint::black_box(n.wrapping_add(1));
        }
        gmp::safepoint();
    }
    n
}

/// A runtime with `procs` Ps and every other setting at its default.
pub fn rt(procs: usize) -> gmp::Runtime {
    gmp::Runtime::builder()
        .procs(procs)
        .build()
        .expect("build runtime")
}

/// A runtime with `procs` Ps and the given timer ordering.
pub fn rt_timers(procs: usize, timers: gmp::Timers) -> gmp::Runtime {
    gmp::Runtime::builder()
        .procs(procs)
        .timers(timers)
        .build()
        .expect("build runtime")
}

/// Polls `cond` every millisecond (a `gmp::sleep`, so the caller parks
/// between polls) until it holds or `cap` has passed; whether it held.
pub fn wait_until(cap: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while !cond() {
        if t0.elapsed() > cap {
            return false;
        }
        gmp::sleep(Duration::from_millis(1));
    }
    true
}

/// Parks (`gmp::sleep(every)`) until `flag` is set. `every` is how often
/// the caller wakes: a rule about sysmon's clock may need few wake-ups.
pub fn wait_flag(flag: &AtomicBool, every: Duration) {
    while !flag.load(Acquire) {
        gmp::sleep(every);
    }
}

/// How many user goroutines the dump shows parked with wait reason `state`
/// (`chan send`, `sleep`, `IO wait`, ...).
pub fn parked_in(state: &str) -> u64 {
    let needle = format!(" @ {state}, ");
    gmp::goroutine_dump()
        .lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| l.split(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Waits (10 s at most) until at least `n` goroutines are parked in
/// `state`; the error shows the dump.
pub fn wait_parked(state: &str, n: u64) -> Result<(), String> {
    if wait_until(Duration::from_secs(10), || parked_in(state) >= n) {
        return Ok(());
    }
    Err(format!(
        "only {} of {n} goroutines parked in {state:?}:\n{}",
        parked_in(state),
        gmp::goroutine_dump()
    ))
}

/// Waits until the runtime's start-up is over, for a rule that counts
/// threads or scheduler events from here on: the Ms that `runtime.main`'s
/// start-up made (and the runtime goroutines it started) are done, so no
/// thread is created, no M is locked or in a syscall, and only the caller
/// runs Go code, for three polls in a row. Panics (failing the case) after
/// 10 s: a runtime that never gets quiet is a bug, not a slow machine.
pub fn settle() {
    let t0 = Instant::now();
    let mut last = usize::MAX;
    let mut quiet = 0;
    while quiet < 3 {
        let s = gmp::stats();
        let n = threads();
        let still = n == last && s.ms_locked == 0 && s.ms_syscall == 0 && s.ms_running <= 1;
        quiet = if still { quiet + 1 } else { 0 };
        last = n;
        if t0.elapsed() > Duration::from_secs(10) {
            panic!("the runtime did not settle in 10 s: {n} threads, {s:?}");
        }
        gmp::sleep(Duration::from_millis(1));
    }
}
