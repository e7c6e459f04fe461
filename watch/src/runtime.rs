//! Which runtime the target runs, and its cap on running threads.
//!
//! * **Go**: the executable has a `.go.buildinfo` section (every Go binary
//!   since 1.13; since 1.18 its version string is inline after a 32-byte
//!   header) or, stripped of sections, the symbols `runtime.main` and
//!   `runtime.schedule`. Its cap is `GOMAXPROCS` from the process's initial
//!   environment, else the CPUs it may run on (Go 1.19 counts the affinity
//!   mask and ignores cgroup quotas).
//! * **tokio**: threads named `tokio-runtime-w…` (the default name, cut to
//!   15 bytes by the kernel) or `tokio-rt-worker` (tokio 1.4x and later).
//! * **gmp**: this lab's model names its threads `gmp-m<N>` and
//!   `gmp-sysmon`.
//! * Anything else is `unknown`; its cap is the CPU count (affinity, then a
//!   cgroup v2 `cpu.max` quota), the most threads that can run at once.
//!
//! The cap is what "more threads running than the runtime allows" is
//! measured against; when it only comes from the CPU count the verdict says
//! so.

use object::{Object, ObjectSection, ObjectSymbol};
use serde::Serialize;
use std::fs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Go,
    Gmp,
    Tokio,
    Unknown,
}

impl Kind {
    /// Runtimes that multiplex many tasks on few threads and expect their
    /// sockets non-blocking: for them a thread blocked in a socket read is
    /// a bug, not a design.
    pub fn is_event_loop(self) -> bool {
        matches!(self, Kind::Go | Kind::Gmp | Kind::Tokio)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Go => "go",
            Kind::Gmp => "gmp",
            Kind::Tokio => "tokio",
            Kind::Unknown => "unknown",
        }
    }
}

/// What was learnt about the target's runtime.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeInfo {
    pub kind: Kind,
    /// e.g. `go1.19.8`.
    pub version: Option<String>,
    pub exe: String,
    /// Most threads the runtime lets run code at once.
    pub cap: u64,
    /// Where `cap` came from, in words.
    pub cap_source: String,
    /// CPUs the process may use (affinity, then quota).
    pub cpus: u64,
    /// CPUs in its affinity mask (Go's default GOMAXPROCS).
    pub affinity: u64,
}

/// Looks at `pid`'s executable, environment and thread names.
pub fn detect(pid: i32, thread_names: &[String]) -> RuntimeInfo {
    let exe = fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "?".into());
    let go = go_version(pid);
    let mut info = RuntimeInfo {
        kind: if go.is_some() {
            Kind::Go
        } else {
            Kind::Unknown
        },
        version: go.flatten(),
        exe,
        cap: 1,
        cap_source: String::new(),
        cpus: 1,
        affinity: 1,
    };
    let cpus = cpus_of(pid);
    info.cpus = cpus.effective();
    info.affinity = cpus.affinity;
    info.refine(pid, thread_names);
    info
}

/// The lab's gmp and tokio scenarios take their processor count as
/// `--set procs=N` (GOMAXPROCS, or worker_threads): the cap the model or
/// the runtime was given, which nothing else outside shows.
fn lab_procs(pid: i32) -> Option<u64> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    args.windows(2)
        .filter(|w| w[0] == "--set")
        .find_map(|w| w[1].strip_prefix("procs=")?.parse().ok())
        .filter(|&n: &u64| n > 0)
}

/// GOMAXPROCS in `pid`'s environment, when set to a number.
fn gomaxprocs(pid: i32) -> Option<u64> {
    environ(pid)
        .into_iter()
        .find_map(|(k, v)| (k == "GOMAXPROCS").then_some(v))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&n| n > 0)
}

impl RuntimeInfo {
    /// Names the runtime from thread names, when the executable did not
    /// (a program names its threads as it starts them, after the first
    /// look). Returns whether it is known now.
    pub fn refine(&mut self, pid: i32, thread_names: &[String]) -> bool {
        if self.kind == Kind::Unknown {
            if thread_names
                .iter()
                .any(|n| n.starts_with("tokio-runtime-w") || n.starts_with("tokio-rt-worker"))
            {
                self.kind = Kind::Tokio;
            } else if thread_names
                .iter()
                .any(|n| n == "gmp-sysmon" || n.starts_with("gmp-m"))
            {
                self.kind = Kind::Gmp;
            }
        }
        if self.kind == Kind::Go {
            // Read again each time: a program may re-exec itself with
            // GOMAXPROCS set (the lab's Go programs do).
            match gomaxprocs(pid) {
                Some(n) => {
                    self.cap = n;
                    self.cap_source = format!("GOMAXPROCS={n} from the environment");
                }
                None => {
                    self.cap = self.affinity;
                    self.cap_source =
                        format!("GOMAXPROCS unset: the {} CPUs it may run on", self.affinity);
                }
            }
        } else if let Some(n) = lab_procs(pid).filter(|_| self.kind != Kind::Unknown) {
            self.cap = n;
            self.cap_source = format!("procs={n} on its command line (a lab scenario)");
        } else {
            self.cap = self.cpus;
            self.cap_source = format!(
                "the CPU count ({}): {} cap is not visible from outside",
                self.cpus,
                match self.kind {
                    Kind::Tokio => "tokio's",
                    Kind::Gmp => "gmp's",
                    _ => "an unknown runtime's",
                }
            );
        }
        self.kind != Kind::Unknown
    }
}

/// The process's initial environment (what it was started with).
pub fn environ(pid: i32) -> Vec<(String, String)> {
    let Ok(raw) = fs::read(format!("/proc/{pid}/environ")) else {
        return Vec::new();
    };
    raw.split(|&b| b == 0)
        .filter_map(|kv| {
            let s = String::from_utf8_lossy(kv);
            let (k, v) = s.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// `Some(version)` when the executable is a Go program (`Some(None)` when
/// the version cannot be read), `None` when it is not.
fn go_version(pid: i32) -> Option<Option<String>> {
    let data = fs::read(format!("/proc/{pid}/exe")).ok()?;
    go_version_of(&data)
}

/// The Go detection on an executable's bytes (see the module doc).
pub fn go_version_of(data: &[u8]) -> Option<Option<String>> {
    let file = object::File::parse(data).ok()?;
    if let Some(sec) = file.section_by_name(".go.buildinfo") {
        return Some(sec.data().ok().and_then(buildinfo_version));
    }
    let mut main = false;
    let mut schedule = false;
    for s in file.symbols() {
        match s.name() {
            Ok("runtime.main") => main = true,
            Ok("runtime.schedule") => schedule = true,
            _ => {}
        }
        if main && schedule {
            return Some(None);
        }
    }
    None
}

/// The version string of a `.go.buildinfo` section: a 14-byte magic
/// `\xff Go buildinf:`, pointer size, flags; with flag bit 1 (Go 1.18+) the
/// version follows at offset 32 as a varint length and bytes.
pub fn buildinfo_version(sec: &[u8]) -> Option<String> {
    const MAGIC: &[u8] = b"\xff Go buildinf:";
    if !sec.starts_with(MAGIC) || sec.len() < 33 {
        return None;
    }
    let flags = sec[15];
    if flags & 2 == 0 {
        return None;
    }
    let (len, n) = uvarint(&sec[32..])?;
    let start = 32 + n;
    let bytes = sec.get(start..start + len as usize)?;
    String::from_utf8(bytes.to_vec()).ok()
}

fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        x |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((x, i + 1));
        }
    }
    None
}

#[derive(Debug, Clone, Copy)]
pub struct Cpus {
    pub affinity: u64,
    /// cgroup v2 quota in CPUs, rounded up.
    pub quota: Option<u64>,
}

impl Cpus {
    pub fn effective(self) -> u64 {
        self.quota
            .map_or(self.affinity, |q| q.min(self.affinity))
            .max(1)
    }
}

/// The CPUs `pid` may run on, and its cgroup's quota.
pub fn cpus_of(pid: i32) -> Cpus {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let affinity = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|l| count_cpu_list(l.trim()))
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64));
    Cpus {
        affinity,
        quota: cgroup_quota(pid),
    }
}

/// `0-3,8,10-11` -> 7.
pub fn count_cpu_list(s: &str) -> u64 {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => u64::from(p.parse::<u64>().is_ok()),
        })
        .sum()
}

fn cgroup_quota(pid: i32) -> Option<u64> {
    let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = cg.lines().find_map(|l| l.strip_prefix("0::"))?;
    let max = fs::read_to_string(format!("/sys/fs/cgroup{}/cpu.max", path.trim())).ok()?;
    parse_cpu_max(&max)
}

/// cgroup v2 `cpu.max`: `max 100000` (no quota) or `QUOTA PERIOD`.
pub fn parse_cpu_max(s: &str) -> Option<u64> {
    let mut f = s.split_ascii_whitespace();
    let quota: f64 = f.next()?.parse().ok()?;
    let period: f64 = f.next()?.parse().ok()?;
    (period > 0.0).then(|| (quota / period).ceil().max(1.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-3,8,10-11"), 7);
        assert_eq!(count_cpu_list("0"), 1);
        assert_eq!(count_cpu_list(""), 0);
    }

    #[test]
    fn cpu_max() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(2));
        assert_eq!(parse_cpu_max("50000 100000"), Some(1));
    }

    #[test]
    fn buildinfo_inline_version() {
        let mut sec = b"\xff Go buildinf:".to_vec();
        sec.push(8); // pointer size
        sec.push(2); // flags: inline strings
        sec.resize(32, 0);
        sec.push(9);
        sec.extend_from_slice(b"go1.19.13");
        assert_eq!(buildinfo_version(&sec).as_deref(), Some("go1.19.13"));
        sec[15] = 0;
        assert_eq!(buildinfo_version(&sec), None);
        assert_eq!(buildinfo_version(b"not go"), None);
    }

    #[test]
    fn thread_names_name_tokio_and_gmp() {
        let me = std::process::id() as i32;
        for (name, kind) in [
            ("tokio-rt-worker", Kind::Tokio),
            ("tokio-runtime-w", Kind::Tokio),
            ("gmp-sysmon", Kind::Gmp),
            ("gmp-m3", Kind::Gmp),
            ("worker-1", Kind::Unknown),
        ] {
            let mut i = detect(me, &[]);
            i.refine(me, &[name.to_string()]);
            assert_eq!(i.kind, kind, "{name}");
            assert!(i.cap_source.contains("CPU count"), "{}", i.cap_source);
        }
    }

    #[test]
    fn this_test_binary_is_not_go() {
        let me = fs::read("/proc/self/exe").unwrap();
        assert_eq!(go_version_of(&me), None);
        let info = detect(std::process::id() as i32, &[]);
        assert_eq!(info.kind, Kind::Unknown);
        assert!(info.cap >= 1);
    }
}
