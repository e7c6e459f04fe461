//! File helpers of the runner: atomic writes (from the protocol crate, which
//! owns the run-directory invariant) plus JSON and time stamps (the
//! calendar arithmetic is `schedlab_protocol::util`, shared with the report).

use anyhow::Result;
use schedlab_protocol::util::UtcTime;
use std::path::Path;

pub use schedlab_protocol::atomic::{AtomicFile, write_atomic};

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
