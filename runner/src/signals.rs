//! Ctrl-C: SIGINT or SIGTERM to the runner sets one flag; nothing else
//! happens in the handler (an atomic store is async-signal-safe).
//!
//! The supervision loop polls [`interrupted`] every few milliseconds, kills
//! the current point's process group, and the run ends as `interrupted`
//! with every finished point kept. Scenario processes live in their own
//! process groups, so a terminal's Ctrl-C reaches only the runner and the
//! runner decides what happens to them.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGINT and SIGTERM.
pub fn install() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; it touches no lock and allocates nothing.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
