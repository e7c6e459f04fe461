//! Fatal errors, after Go's `runtime/panic.go`: `throw` (a broken runtime
//! invariant) and `fatal` (a fatal error the program caused: thread
//! exhaustion, stack overflow, an unrecovered goroutine panic). Both print
//! and exit with status 2 at once, without unwinding, as Go does.
//!
//! A leaf: it imports nothing from the crate, so every module (run queues,
//! stacks, the data structures of runtime2) can check its invariants
//! without depending on the scheduler.

/// Models `runtime.throw` (panic.go): fatal error, exit status 2.
pub(crate) fn throw(msg: &str) -> ! {
    fatal(&format!("fatal error: {msg}"))
}

/// Prints `msg` and exits the process with status 2, without unwinding or
/// running destructors (Go's `exit(2)` after a fatal error).
pub(crate) fn fatal(msg: &str) -> ! {
    eprintln!("{msg}");
    // SAFETY: _exit has no preconditions; it ends the process at once.
    unsafe { libc::_exit(2) }
}

pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}
