//! Ctrl-C, SIGTERM and SIGHUP: the first one sets a flag; nothing else
//! happens in the handler but async-signal-safe calls.
//!
//! The supervision loop polls [`interrupted`] every few milliseconds, kills
//! the current point's process group, and the run ends as `interrupted`
//! with every finished point kept, its analysis and its report. Scenario
//! processes live in their own process groups, so a terminal's Ctrl-C
//! reaches only the runner and the runner decides what happens to them.
//!
//! * **SIGHUP** (the terminal was closed) is handled like SIGTERM, and the
//!   handler also points fds 0, 1 and 2 at `/dev/null` (`open` and `dup2`
//!   are async-signal-safe): the terminal is gone, and a write to it would
//!   fail (EIO) and abort the run before its report is written.
//! * **A second SIGINT or SIGTERM** means "now": the handler calls
//!   `_exit(130)`. The point's processes are then killed by the sentinel
//!   (`sentinel.rs`), finished points are in their `.jsonl` files, and
//!   `schedlab report` marks the run, left `running`, as interrupted. A
//!   second SIGHUP does not force (a closing terminal may send two).

use std::sync::atomic::{AtomicU32, Ordering};

/// Signals received (SIGINT, SIGTERM, SIGHUP).
static RECEIVED: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    let before = RECEIVED.fetch_add(1, Ordering::SeqCst);
    if sig == libc::SIGHUP {
        // SAFETY: open and dup2 are async-signal-safe; the path is a
        // static C string; a failure leaves the fds as they were.
        unsafe {
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if fd >= 0 {
                for target in 0..3 {
                    libc::dup2(fd, target);
                }
                if fd > 2 {
                    libc::close(fd);
                }
            }
        }
    } else if before >= 1 {
        // SAFETY: _exit is async-signal-safe and ends the process at once.
        unsafe { libc::_exit(130) };
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP.
pub fn install() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only touches an atomic and calls
        // async-signal-safe functions; it takes no lock and allocates nothing.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

pub fn interrupted() -> bool {
    RECEIVED.load(Ordering::SeqCst) > 0
}
