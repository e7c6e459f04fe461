//! `--stacks`: where each thread is, by program counter and symbol.
//!
//! A blocked thread's PC is free: `/proc/PID/task/TID/syscall` ends with
//! its stack pointer and PC. Only a *running* thread needs ptrace, and it
//! gets the gentlest form of it:
//!
//! ```text
//! PTRACE_SEIZE (no stop) -> PTRACE_INTERRUPT -> waitpid(__WALL) -> GETREGS
//!   -> PEEKDATA [sp] (the return address, when the PC is in a leaf
//!      syscall wrapper such as libc's sched_yield) -> PTRACE_DETACH
//! ```
//!
//! # Invariants
//!
//! * **One sample, then let go.** A thread is stopped only between its
//!   interrupt-stop and the detach that follows; the time is measured, from
//!   the last poll that still saw it running, so as an upper bound
//!   ([`StackReport::pauses_us`]). The sampling thread asks for nice -10
//!   meanwhile (when permitted) so a busy machine does not preempt it with
//!   a target thread waiting stopped. Threads in `D` state are never
//!   interrupted (their stop could come at any later time).
//! * **Always detach.** A thread that does not reach its stop within
//!   [`STOP_WAIT`] is remembered and detached at the next sample or at
//!   [`Stacker::finish`]; and the kernel detaches every tracee when the
//!   tracer exits, so even a killed watcher leaves no thread stopped.
//! * A PC becomes a symbol through `/proc/PID/maps` (which file, at which
//!   offset) and that file's ELF symbol table (`.symtab`, else `.dynsym`),
//!   read once per file with the `object` crate.

use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::time::{Duration, Instant};

/// How long to wait for an interrupted thread to stop.
pub const STOP_WAIT: Duration = Duration::from_millis(100);

/// Words in a symbol that say "the timer / yield spin" of timer_stw.
pub fn is_timer_code(sym: &str) -> bool {
    let s = sym.to_ascii_lowercase();
    [
        "osyield",
        "adjusttimers",
        "adjust_timers",
        "checktimers",
        "check_timers",
        "runtimer",
        "run_timer",
        "modtimer",
        "mod_timer",
        "cleantimers",
        "clean_timers",
        "timer",
    ]
    .iter()
    .any(|w| s.contains(w))
}

/// Why stacks cannot be sampled.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "cannot ptrace pid {pid}: {msg}. --stacks needs the right to trace it: run as the same user with /proc/sys/kernel/yama/ptrace_scope at 0 or 1 (it is {scope}), or as root / with CAP_SYS_PTRACE; or leave --stacks out"
    )]
    NotPermitted {
        pid: i32,
        msg: String,
        scope: String,
    },
    #[error("--stacks supports x86_64 only")]
    Arch,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackSample {
    pub tid: i32,
    pub pc: u64,
    /// `symbol`, or `symbol <- caller` when the PC was in a leaf wrapper
    /// and the return address resolved.
    pub symbol: String,
    /// Whether the thread was stopped for this sample (running) or read
    /// from /proc (blocked).
    pub ptraced: bool,
}

/// What `--stacks` saw over the watch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StackReport {
    /// Per thread, symbol -> times seen.
    pub by_tid: BTreeMap<i32, BTreeMap<String, u64>>,
    /// Each ptrace stop's length, interrupt to detach, in microseconds.
    pub pauses_us: Vec<f64>,
    pub skipped_d_state: u64,
}

impl StackReport {
    /// The symbol a thread was seen in most (timer code first, if ever).
    pub fn symbol_of(&self, tid: i32) -> Option<String> {
        let m = self.by_tid.get(&tid)?;
        m.iter()
            .filter(|(s, _)| is_timer_code(s))
            .max_by_key(|(_, n)| **n)
            .or_else(|| m.iter().max_by_key(|(_, n)| **n))
            .map(|(s, _)| s.clone())
    }

    /// Median, 90th percentile and maximum of the stops, in microseconds.
    pub fn pause_percentiles_us(&self) -> Option<(f64, f64, f64)> {
        if self.pauses_us.is_empty() {
            return None;
        }
        let mut v = self.pauses_us.clone();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Some((at(0.5), at(0.9), v[v.len() - 1]))
    }
}

/// Samples one process's threads.
pub struct Stacker {
    pid: i32,
    syms: Symbolizer,
    pending: Vec<i32>,
    pub report: StackReport,
}

impl Stacker {
    /// Checks that the target can be traced (a seize and detach of its
    /// main thread, which does not stop it).
    pub fn new(pid: i32) -> Result<Stacker, StackError> {
        if !cfg!(target_arch = "x86_64") {
            return Err(StackError::Arch);
        }
        let p = nix::unistd::Pid::from_raw(pid);
        nix::sys::ptrace::seize(p, nix::sys::ptrace::Options::empty()).map_err(|e| {
            StackError::NotPermitted {
                pid,
                msg: e.desc().to_string(),
                scope: fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
                    .map(|s| s.trim().to_string())
                    .unwrap_or_else(|_| "absent".into()),
            }
        })?;
        // A seized, never-interrupted tracee detaches with PTRACE_DETACH
        // only from a stop; without one, the seize ends when we stop
        // tracing: interrupt it once and let it go, as every sample does.
        let mut s = Stacker {
            pid,
            syms: Symbolizer::new(pid),
            pending: Vec::new(),
            report: StackReport::default(),
        };
        s.stop_and_release(pid);
        Ok(s)
    }

    /// One sample of each thread in `threads` (tid, state).
    pub fn sample(&mut self, threads: &[(i32, u8)], stop: &std::sync::atomic::AtomicBool) {
        let _boost = Boost::new();
        self.release_pending();
        self.syms.reload_maps();
        for &(tid, state) in threads {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let s = match state {
                b'R' => self.sample_running(tid),
                b'D' => {
                    self.report.skipped_d_state += 1;
                    None
                }
                _ => self.sample_blocked(tid),
            };
            if let Some(s) = s {
                *self
                    .report
                    .by_tid
                    .entry(s.tid)
                    .or_default()
                    .entry(s.symbol)
                    .or_default() += 1;
            }
        }
    }

    fn sample_blocked(&mut self, tid: i32) -> Option<StackSample> {
        let s = fs::read_to_string(format!("/proc/{}/task/{tid}/syscall", self.pid)).ok()?;
        let mut f = s.split_ascii_whitespace().rev();
        let pc = u64::from_str_radix(f.next()?.trim_start_matches("0x"), 16).ok()?;
        Some(StackSample {
            tid,
            pc,
            symbol: self.syms.name(pc),
            ptraced: false,
        })
    }

    fn sample_running(&mut self, tid: i32) -> Option<StackSample> {
        use nix::sys::ptrace;
        let p = nix::unistd::Pid::from_raw(tid);
        ptrace::seize(p, ptrace::Options::empty()).ok()?;
        let stop = match ptrace::interrupt(p)
            .ok()
            .and_then(|()| wait_stop(p, STOP_WAIT))
        {
            Some(stop) => stop,
            None => {
                self.pending.push(tid);
                return None;
            }
        };
        let regs = getregs(p);
        let ret = regs.and_then(|(_, sp)| ptrace::read(p, sp as ptrace::AddressType).ok());
        release(p, stop);
        // At most this long stopped: from the last poll that saw it run.
        self.report
            .pauses_us
            .push(stop.after.elapsed().as_secs_f64() * 1e6);
        let (pc, _) = regs?;
        let mut symbol = self.syms.name(pc);
        if is_leaf_wrapper(&symbol)
            && let Some(ret) = ret
        {
            let caller = self.syms.name(ret as u64);
            if !caller.starts_with("0x") {
                symbol = format!("{symbol} <- {caller}");
            }
        }
        Some(StackSample {
            tid,
            pc,
            symbol,
            ptraced: true,
        })
    }

    /// Interrupts `tid` and detaches it at its stop (used once, to end the
    /// permission check's seize).
    fn stop_and_release(&mut self, tid: i32) {
        let p = nix::unistd::Pid::from_raw(tid);
        match nix::sys::ptrace::interrupt(p)
            .ok()
            .and_then(|()| wait_stop(p, STOP_WAIT))
        {
            Some(stop) => release(p, stop),
            None => self.pending.push(tid),
        }
    }

    /// Detaches threads whose stop came late.
    fn release_pending(&mut self) {
        self.pending.retain(|&tid| {
            let p = nix::unistd::Pid::from_raw(tid);
            if let Some(stop) = wait_stop(p, Duration::ZERO) {
                release(p, stop);
                false
            } else {
                // Gone, or still not stopped: keep trying while it exists.
                fs::metadata(format!("/proc/{tid}")).is_ok()
            }
        });
    }

    /// Detaches everything still pending (waiting up to `STOP_WAIT` each).
    pub fn finish(&mut self) {
        for tid in std::mem::take(&mut self.pending) {
            let p = nix::unistd::Pid::from_raw(tid);
            if let Some(stop) = wait_stop(p, STOP_WAIT) {
                release(p, stop);
            }
        }
    }
}

impl Drop for Stacker {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A ptrace stop, and the signal to hand back at detach (a signal that
/// arrived between seize and detach must not be swallowed: Go preempts
/// with SIGURG); `after` is the last poll that found the thread still
/// running: the stop began after it.
#[derive(Clone, Copy)]
struct Stop {
    sig: Option<nix::sys::signal::Signal>,
    after: Instant,
}

/// While sampling, this thread asks for a higher priority (nice -10, when
/// permitted: root or CAP_SYS_NICE), so that on a busy machine it is not
/// preempted while a target thread waits stopped for its detach.
struct Boost(Option<libc::c_int>);

impl Boost {
    fn new() -> Boost {
        // SAFETY: getpriority/setpriority on this thread's own tid; errors
        // are returned, not raised.
        unsafe {
            let tid = libc::gettid() as libc::id_t;
            let before = libc::getpriority(libc::PRIO_PROCESS, tid);
            if libc::setpriority(libc::PRIO_PROCESS, tid, -10) == 0 {
                return Boost(Some(before));
            }
        }
        Boost(None)
    }
}

impl Drop for Boost {
    fn drop(&mut self) {
        if let Some(before) = self.0 {
            // SAFETY: as in Boost::new.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, before);
            }
        }
    }
}

/// Waits (polling, without blocking past `limit`) for `p`'s ptrace stop.
fn wait_stop(p: nix::unistd::Pid, limit: Duration) -> Option<Stop> {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let t0 = Instant::now();
    let mut after = t0;
    loop {
        let polled = Instant::now();
        match waitpid(p, Some(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => after = polled,
            Ok(WaitStatus::PtraceEvent(..)) => return Some(Stop { sig: None, after }),
            Ok(WaitStatus::Stopped(_, sig)) => {
                return Some(Stop {
                    sig: Some(sig),
                    after,
                });
            }
            Ok(_) | Err(_) => return None,
        }
        let waited = t0.elapsed();
        if waited >= limit {
            return None;
        }
        // The stop usually comes within microseconds: spin first (a yield
        // would hand this CPU away just as the target stops, and leave it
        // stopped until we run again), then yield, then sleep.
        if waited < Duration::from_micros(300) {
            std::hint::spin_loop();
        } else if waited < Duration::from_millis(2) {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}

/// Lets a stopped tracee go, re-delivering the signal it stopped for.
fn release(p: nix::unistd::Pid, stop: Stop) {
    let _ = nix::sys::ptrace::detach(p, stop.sig);
}

#[cfg(target_arch = "x86_64")]
fn getregs(p: nix::unistd::Pid) -> Option<(u64, u64)> {
    nix::sys::ptrace::getregs(p).ok().map(|r| (r.rip, r.rsp))
}

#[cfg(not(target_arch = "x86_64"))]
fn getregs(_p: nix::unistd::Pid) -> Option<(u64, u64)> {
    None
}

/// libc syscall wrappers that make no stack frame: at any PC inside them
/// `[sp]` is the caller's return address.
fn is_leaf_wrapper(sym: &str) -> bool {
    matches!(
        sym.split(' ').next().unwrap_or(""),
        "sched_yield" | "__sched_yield" | "syscall" | "getpid" | "__GI___sched_yield"
    )
}

struct Mapping {
    start: u64,
    end: u64,
    offset: u64,
    path: String,
}

struct ElfSyms {
    /// (file offset start, file offset end, vaddr) of each segment.
    segments: Vec<(u64, u64, u64)>,
    /// (address, size, name), sorted by address.
    symbols: Vec<(u64, u64, String)>,
}

/// PC -> `symbol+0x12 (file)`, with each file's table read once.
pub struct Symbolizer {
    pid: i32,
    maps: Vec<Mapping>,
    files: HashMap<String, Option<ElfSyms>>,
}

impl Symbolizer {
    pub fn new(pid: i32) -> Symbolizer {
        let mut s = Symbolizer {
            pid,
            maps: Vec::new(),
            files: HashMap::new(),
        };
        s.reload_maps();
        s
    }

    pub fn reload_maps(&mut self) {
        let text = fs::read_to_string(format!("/proc/{}/maps", self.pid)).unwrap_or_default();
        self.maps = text.lines().filter_map(parse_maps_line).collect();
    }

    /// The symbol at `pc`, or `0x…` when unknown.
    pub fn name(&mut self, pc: u64) -> String {
        let Some(m) = self.maps.iter().find(|m| m.start <= pc && pc < m.end) else {
            return format!("{pc:#x}");
        };
        let file_off = pc - m.start + m.offset;
        let path = m.path.clone();
        let file = path.rsplit('/').next().unwrap_or(&path).to_string();
        let pid = self.pid;
        let syms = self
            .files
            .entry(path.clone())
            .or_insert_with(|| load_elf(pid, &path));
        let Some(syms) = syms else {
            return format!("{pc:#x} ({file})");
        };
        let Some(vaddr) = syms
            .segments
            .iter()
            .find(|(a, b, _)| *a <= file_off && file_off < *b)
            .map(|(a, _, v)| file_off - a + v)
        else {
            return format!("{pc:#x} ({file})");
        };
        let i = syms.symbols.partition_point(|(a, _, _)| *a <= vaddr);
        match i.checked_sub(1).map(|i| &syms.symbols[i]) {
            Some((a, size, name)) if *size == 0 || vaddr < a + size => {
                format!("{} ({file})", demangle(name))
            }
            _ => format!("{pc:#x} ({file})"),
        }
    }
}

fn parse_maps_line(l: &str) -> Option<Mapping> {
    let mut f = l.split_ascii_whitespace();
    let (a, b) = f.next()?.split_once('-')?;
    let perms = f.next()?;
    if !perms.contains('x') {
        return None;
    }
    let offset = u64::from_str_radix(f.next()?, 16).ok()?;
    let _dev = f.next()?;
    let _inode = f.next()?;
    let path = f.collect::<Vec<_>>().join(" ");
    if !path.starts_with('/') {
        return None;
    }
    Some(Mapping {
        start: u64::from_str_radix(a, 16).ok()?,
        end: u64::from_str_radix(b, 16).ok()?,
        offset,
        path,
    })
}

fn load_elf(pid: i32, path: &str) -> Option<ElfSyms> {
    // Through the process's root, so a file replaced or deleted since it
    // was mapped still reads as the one mapped when possible.
    let data = fs::read(format!("/proc/{pid}/root{path}"))
        .or_else(|_| fs::read(path))
        .ok()?;
    let file = object::File::parse(&*data).ok()?;
    let segments = file
        .segments()
        .map(|s| {
            let (off, size) = s.file_range();
            (off, off + size, s.address())
        })
        .collect();
    let mut symbols: Vec<(u64, u64, String)> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
        .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?.to_string())))
        .collect();
    symbols.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
    symbols.dedup_by_key(|s| s.0);
    Some(ElfSyms { segments, symbols })
}

/// Rust's legacy mangling (`_ZN3gmp5timer7osyield17h0123456789abcdefE`)
/// to `gmp::timer::osyield`; anything else unchanged.
pub fn demangle(s: &str) -> String {
    let Some(mut rest) = s.strip_prefix("_ZN") else {
        return s.to_string();
    };
    let mut parts = Vec::new();
    while !rest.starts_with('E') {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(n) = rest[..digits].parse::<usize>() else {
            return s.to_string();
        };
        let Some(part) = rest.get(digits..digits + n) else {
            return s.to_string();
        };
        parts.push(part);
        rest = &rest[digits + n..];
    }
    if parts
        .last()
        .is_some_and(|p| p.len() == 17 && p.starts_with('h'))
    {
        parts.pop();
    }
    parts
        .iter()
        .map(|p| {
            p.replace("$LT$", "<")
                .replace("$GT$", ">")
                .replace("..", "::")
        })
        .collect::<Vec<_>>()
        .join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_legacy_rust() {
        assert_eq!(
            demangle("_ZN3gmp5timer7osyield17h0123456789abcdefE"),
            "gmp::timer::osyield"
        );
        assert_eq!(demangle("runtime.osyield.abi0"), "runtime.osyield.abi0");
        assert_eq!(demangle("_ZN3bad"), "_ZN3bad");
    }

    #[test]
    fn timer_words() {
        assert!(is_timer_code("runtime.osyield.abi0 (app)"));
        assert!(is_timer_code("sched_yield <- gmp::timer::osyield"));
        assert!(!is_timer_code("main.busy (app)"));
    }

    #[test]
    fn maps_lines() {
        let m = parse_maps_line("55d0c8a00000-55d0c8b00000 r-xp 00001000 08:01 123 /usr/bin/true")
            .unwrap();
        assert_eq!(m.offset, 0x1000);
        assert_eq!(m.path, "/usr/bin/true");
        assert!(parse_maps_line("7f00-7f01 rw-p 0 00:00 0 [heap]").is_none());
    }

    #[test]
    fn symbolizes_a_function_of_this_binary() {
        let mut s = Symbolizer::new(std::process::id() as i32);
        let pc = symbolizes_a_function_of_this_binary as *const () as u64;
        let name = s.name(pc);
        assert!(
            name.contains("symbolizes_a_function_of_this_binary"),
            "{name}"
        );
    }
}
