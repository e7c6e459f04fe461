//! System limits: naming the one a scenario hit, and raising the ones it
//! may raise.
//!
//! Contract (ARCHITECTURE.md, "Scenario command line"): a scenario that
//! hits a system limit writes an `event` of kind `limit` whose text names
//! the limit, then exits non-zero
//! ([`LIMIT_EXIT_CODE`]); the runner records the point's outcome as `limit`.
//! [`Ctx::limit`](crate::Ctx::limit) does both. This module only turns an
//! OS error into the name of the limit behind it, so every scenario words it
//! the same way and the report can group them.
//!
//! The mapping is by errno and by what was being done, because the same
//! errno means different things: EAGAIN from `clone` (a thread) is
//! RLIMIT_NPROC / threads-max / pid_max, EAGAIN from a non-blocking read is
//! just "try again".

use std::io;

/// Exit status of a process that stopped at a system limit.
pub const LIMIT_EXIT_CODE: i32 = 3;

/// The limit behind a failed thread creation, if it was one.
pub fn thread_limit(err: &io::Error) -> Option<String> {
    match err.raw_os_error()? {
        libc::EAGAIN => Some(format!(
            "threads: cannot create a thread (EAGAIN): ulimit -u (RLIMIT_NPROC) = {}, \
             kernel.threads-max = {}, kernel.pid_max = {}",
            rlimit_text(libc::RLIMIT_NPROC),
            read_proc("/proc/sys/kernel/threads-max"),
            read_proc("/proc/sys/kernel/pid_max")
        )),
        libc::ENOMEM => Some(format!(
            "memory: cannot map a thread stack (ENOMEM): vm.max_map_count = {}",
            read_proc("/proc/sys/vm/max_map_count")
        )),
        _ => None,
    }
}

/// The limit behind a failed open/socket/accept/dup, if it was one.
pub fn fd_limit(err: &io::Error) -> Option<String> {
    match err.raw_os_error()? {
        libc::EMFILE => Some(format!(
            "open files: per-process limit reached (EMFILE): ulimit -n (RLIMIT_NOFILE) = {}",
            rlimit_text(libc::RLIMIT_NOFILE)
        )),
        libc::ENFILE => Some(format!(
            "open files: system-wide limit reached (ENFILE): fs.file-max = {}",
            read_proc("/proc/sys/fs/file-max")
        )),
        libc::ENOMEM | libc::ENOBUFS => Some(format!("memory: kernel out of buffers ({err})")),
        _ => None,
    }
}

/// Raises the soft RLIMIT_NOFILE towards `want` (capped at the hard
/// limit); returns the soft limit now in force.
pub fn raise_nofile(want: u64) -> io::Result<u64> {
    let mut rl = getrlimit(libc::RLIMIT_NOFILE)?;
    let target = want.min(rl.rlim_max);
    if rl.rlim_cur < target {
        rl.rlim_cur = target;
        // SAFETY: rl is a valid, initialised rlimit struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(getrlimit(libc::RLIMIT_NOFILE)?.rlim_cur)
}

/// Tries to raise the hard RLIMIT_NOFILE to at least `want` (needs
/// CAP_SYS_RESOURCE, up to fs.nr_open); true when the hard limit now allows
/// `want`. The soft limit is left as it is ([`raise_nofile`] raises it).
pub fn raise_hard_nofile(want: u64) -> bool {
    let Ok(rl) = getrlimit(libc::RLIMIT_NOFILE) else {
        return false;
    };
    if rl.rlim_max >= want {
        return true;
    }
    let raised = libc::rlimit {
        rlim_cur: rl.rlim_cur,
        rlim_max: want,
    };
    // SAFETY: setrlimit reads the struct we own; failure (EPERM) is fine.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 }
}

fn getrlimit(res: libc::__rlimit_resource_t) -> io::Result<libc::rlimit> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and nothing else.
    if unsafe { libc::getrlimit(res, &mut rl) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rl)
}

fn rlimit_text(res: libc::__rlimit_resource_t) -> String {
    match getrlimit(res) {
        Ok(rl) if rl.rlim_cur == libc::RLIM_INFINITY => "unlimited".to_string(),
        Ok(rl) => rl.rlim_cur.to_string(),
        Err(e) => format!("unknown ({e})"),
    }
}

fn read_proc(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_map_to_named_limits() {
        let e = io::Error::from_raw_os_error(libc::EMFILE);
        assert!(fd_limit(&e).unwrap().contains("RLIMIT_NOFILE"));
        let e = io::Error::from_raw_os_error(libc::EAGAIN);
        assert!(thread_limit(&e).unwrap().contains("pid_max"));
        assert!(fd_limit(&e).is_none(), "EAGAIN on an fd op is not a limit");
        assert!(thread_limit(&io::Error::other("x")).is_none());
    }

    #[test]
    fn nofile_can_be_raised_up_to_the_hard_limit() {
        let hard = getrlimit(libc::RLIMIT_NOFILE).unwrap().rlim_max;
        let now = raise_nofile(1024).unwrap();
        assert!(now >= 1024.min(hard));
        assert!(now <= hard);
    }

    #[test]
    fn hard_nofile_within_the_hard_limit_needs_no_privilege() {
        let hard = getrlimit(libc::RLIMIT_NOFILE).unwrap().rlim_max;
        assert!(raise_hard_nofile(hard), "the hard limit allows itself");
        assert!(raise_hard_nofile(1), "and anything below it");
        assert_eq!(getrlimit(libc::RLIMIT_NOFILE).unwrap().rlim_max, hard);
    }
}
