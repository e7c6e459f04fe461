//! File helpers of the runner: atomic writes (from the protocol crate, which
//! owns the run-directory invariant) plus JSON and time stamps (the
//! calendar arithmetic is `schedlab_protocol::util`, shared with the report).

use anyhow::Result;
use schedlab_protocol::util::UtcTime;
use std::path::Path;

pub use schedlab_protocol::atomic::{AtomicFile, write_atomic};

/// The lock file of a run directory (a dot file: readers of `*.jsonl` and
/// of scenario folders skip it).
pub const LOCK: &str = ".lock";

/// An exclusive lock on a run directory, held while a runner (or `merge`,
/// or `report` fixing the status) writes it: two runners on one `--out`
/// would mix their files. `flock` is released by the kernel when the
/// holder dies, even by SIGKILL, so a stale lock cannot exist.
pub struct RunLock(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

/// Takes the lock or says who holds it.
pub fn lock_run_dir(dir: &Path) -> std::result::Result<RunLock, String> {
    use nix::fcntl::{Flock, FlockArg};
    let path = dir.join(LOCK);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
        Ok(mut l) => {
            use std::io::{Seek, Write};
            let _ = l.set_len(0);
            let _ = l.rewind();
            let _ = writeln!(l, "{}", std::process::id());
            Ok(RunLock(l))
        }
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            Err(format!(
                "{}: another schedlab (pid {}) is writing this run directory",
                dir.display(),
                holder.trim()
            ))
        }
        Err((_, e)) => Err(format!("{}: cannot lock: {e}", path.display())),
    }
}

/// Serializes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    Ok(write_atomic(path, &bytes)?)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `20261123-160512` (UTC) for a Unix time.
pub fn utc_stamp(unix: f64) -> String {
    let t = UtcTime::from_unix(unix);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamp_formats_known_instants() {
        assert_eq!(utc_stamp(0.0), "19700101-000000");
        assert_eq!(utc_stamp(1_709_210_096.0), "20240229-123456");
    }
}
