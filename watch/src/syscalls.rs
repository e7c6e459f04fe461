//! Syscall numbers, by what a diagnosis needs to know about them.
//!
//! `/proc/PID/task/TID/syscall` gives a blocked thread's syscall as a number
//! for this architecture. The signatures ask three questions of it: is it a
//! read on a descriptor (then the descriptor is its first argument), is it a
//! "slow" call a scheduler would see as a blocked thread (sleep, file I/O),
//! or is it an idle wait (futex, epoll) that any parked thread sits in.

/// What a syscall is, for the signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// read/recv on a descriptor: the first argument is the fd.
    FdRead,
    /// A call that blocks its thread for real time outside the runtime's
    /// control: sleeps, file I/O, open, fsync.
    Slow,
    /// Where a parked thread waits: futex, epoll, poll, select.
    Idle,
    /// `sched_yield`: a spin that gives the CPU back between tries.
    Yield,
    Other,
}

/// (number, name, class) for the calls the signatures name.
#[cfg(target_arch = "x86_64")]
const TABLE: &[(i64, &str, Class)] = &[
    (0, "read", Class::FdRead),
    (17, "pread64", Class::FdRead),
    (19, "readv", Class::FdRead),
    (45, "recvfrom", Class::FdRead),
    (47, "recvmsg", Class::FdRead),
    (299, "recvmmsg", Class::FdRead),
    (1, "write", Class::Slow),
    (2, "open", Class::Slow),
    (257, "openat", Class::Slow),
    (35, "nanosleep", Class::Slow),
    (230, "clock_nanosleep", Class::Slow),
    (74, "fsync", Class::Slow),
    (75, "fdatasync", Class::Slow),
    (4, "stat", Class::Slow),
    (262, "newfstatat", Class::Slow),
    (73, "flock", Class::Slow),
    (202, "futex", Class::Idle),
    (232, "epoll_wait", Class::Idle),
    (281, "epoll_pwait", Class::Idle),
    (7, "poll", Class::Idle),
    (271, "ppoll", Class::Idle),
    (23, "select", Class::Idle),
    (270, "pselect6", Class::Idle),
    (61, "wait4", Class::Idle),
    (34, "pause", Class::Idle),
    (130, "rt_sigsuspend", Class::Idle),
    (128, "rt_sigtimedwait", Class::Idle),
    (24, "sched_yield", Class::Yield),
];

#[cfg(target_arch = "aarch64")]
const TABLE: &[(i64, &str, Class)] = &[
    (63, "read", Class::FdRead),
    (67, "pread64", Class::FdRead),
    (65, "readv", Class::FdRead),
    (207, "recvfrom", Class::FdRead),
    (212, "recvmsg", Class::FdRead),
    (243, "recvmmsg", Class::FdRead),
    (64, "write", Class::Slow),
    (56, "openat", Class::Slow),
    (101, "nanosleep", Class::Slow),
    (115, "clock_nanosleep", Class::Slow),
    (82, "fsync", Class::Slow),
    (83, "fdatasync", Class::Slow),
    (79, "newfstatat", Class::Slow),
    (32, "flock", Class::Slow),
    (98, "futex", Class::Idle),
    (22, "epoll_pwait", Class::Idle),
    (73, "ppoll", Class::Idle),
    (72, "pselect6", Class::Idle),
    (260, "wait4", Class::Idle),
    (133, "rt_sigsuspend", Class::Idle),
    (137, "rt_sigtimedwait", Class::Idle),
    (124, "sched_yield", Class::Yield),
];

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const TABLE: &[(i64, &str, Class)] = &[];

/// The class of syscall `nr` on this architecture.
pub fn class(nr: i64) -> Class {
    TABLE
        .iter()
        .find(|(n, _, _)| *n == nr)
        .map_or(Class::Other, |(_, _, c)| *c)
}

/// A readable name for syscall `nr` (`syscall 123` when not in the table).
pub fn name(nr: i64) -> String {
    TABLE
        .iter()
        .find(|(n, _, _)| *n == nr)
        .map_or_else(|| format!("syscall {nr}"), |(_, s, _)| (*s).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_is_listed_once() {
        for (i, (n, name, _)) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..].iter().all(|(m, _, _)| m != n),
                "{name} ({n}) listed twice"
            );
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_calls_the_signatures_name() {
        assert_eq!(class(0), Class::FdRead);
        assert_eq!(class(45), Class::FdRead);
        assert_eq!(class(230), Class::Slow);
        assert_eq!(class(202), Class::Idle);
        assert_eq!(class(24), Class::Yield);
        assert_eq!(class(9999), Class::Other);
        assert_eq!(name(0), "read");
        assert_eq!(name(9999), "syscall 9999");
    }
}
