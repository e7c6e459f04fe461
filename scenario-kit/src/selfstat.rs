//! A process's own `/proc/<pid>/status` and `/proc/self/stat` figures, read
//! from inside.
//!
//! The runner samples the same counters from outside; a scenario reads them
//! itself when it must know them at a precise moment of its own (the
//! thread count at `load_stop`, before and after locked goroutines exit,
//! RSS against a leak count). One reader, so every scenario parses the file
//! the same way.

/// The first number of `field` (e.g. `"Threads:"`, `"VmRSS:"` in kB) in
/// `/proc/<pid>/status`, or in `/proc/self/status` when `pid` is None.
pub fn status_field(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// This process's OS threads (0 if unreadable).
pub fn threads() -> u64 {
    status_field(None, "Threads:").unwrap_or(0)
}

/// CPU time this process has used so far, in seconds (utime + stime from
/// `/proc/self/stat`, in USER_HZ = 100 ticks per second, the Linux ABI
/// value); 0 if unreadable.
pub fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    // Other tests run in this process at the same time, so only bounds
    // that hold whatever they do: a parser that fails reads 0 or None.
    #[test]
    fn reads_threads_and_rss_of_this_process() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv().ok());
        assert!(threads() >= 2, "this test's thread and the one it started");
        assert!(status_field(Some(std::process::id()), "Threads:").unwrap() >= 2);
        tx.send(()).unwrap();
        t.join().unwrap();
        assert!(status_field(None, "VmRSS:").unwrap() > 0);
        assert_eq!(status_field(None, "NoSuchField:"), None);
    }

    #[test]
    fn cpu_seconds_grows_with_work() {
        let before = cpu_seconds();
        let t0 = std::time::Instant::now();
        let mut x = 0u64;
        while t0.elapsed() < std::time::Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let after = cpu_seconds();
        assert!(
            after > before,
            "{before} s -> {after} s after 60 ms of spinning"
        );
    }
}
