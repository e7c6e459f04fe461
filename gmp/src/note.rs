//! `note`: one-shot sleep/wakeup, Go's `runtime.note` (lock_futex.go).
//!
//! An M parks on its own note (`mPark` = `notesleep` + `noteclear`) and is
//! woken by whoever hands it a P (`startm`, `startlockedm`) with
//! `notewakeup`. As in Go on Linux, a note is one 32-bit key and a futex:
//! `notewakeup` swaps the key to 1 and `FUTEX_WAKE`s one sleeper;
//! `notesleep` / `notetsleep` `FUTEX_WAIT` while the key is 0. A wakeup that
//! happens before the sleep is not lost (the key stays 1 until
//! `noteclear`), and `notetsleep` reports whether it was woken (true) or
//! timed out (false).
//!
//! What differs from Go: a second `notewakeup` before `noteclear` is
//! harmless here (Go throws "notewakeup - double wakeup"); gmp's shutdown
//! wakes every M's note without knowing which ones sleep.
//!
//! Under `cfg(loom)` the same contract is built on loom's mutex and
//! condition variable (loom cannot model a futex): `tests/loom.rs` includes
//! this file to model-check the M park/unpark and P hand-off protocols.

#[cfg(loom)]
use loom::sync::{Condvar, Mutex};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU32, Ordering::*};
use std::time::Duration;

#[cfg(not(loom))]
pub(crate) struct Note {
    key: AtomicU32,
}

#[cfg(not(loom))]
impl Note {
    pub(crate) fn new() -> Note {
        Note {
            key: AtomicU32::new(0),
        }
    }

    /// Models `runtime.notewakeup` (lock_futex.go).
    pub(crate) fn wakeup(&self) {
        if self.key.swap(1, AcqRel) == 0 {
            futexwakeup(&self.key, 1);
        }
    }

    /// Models `runtime.notesleep` (lock_futex.go): blocks until woken.
    pub(crate) fn sleep(&self) {
        while self.key.load(Acquire) == 0 {
            futexsleep(&self.key, 0, None);
        }
    }

    /// Models `runtime.notetsleep` (lock_futex.go, `notetsleep_internal`):
    /// true if woken, false on timeout.
    pub(crate) fn tsleep(&self, d: Duration) -> bool {
        if self.key.load(Acquire) != 0 {
            return true;
        }
        let deadline = std::time::Instant::now() + d;
        loop {
            let now = std::time::Instant::now();
            if now >= deadline {
                break;
            }
            futexsleep(&self.key, 0, Some(deadline - now));
            if self.key.load(Acquire) != 0 {
                break;
            }
        }
        self.key.load(Acquire) != 0
    }

    /// Models `runtime.noteclear` (lock_futex.go).
    pub(crate) fn clear(&self) {
        self.key.store(0, Release);
    }
}

/// Models `runtime.futexsleep` (os_linux.go): if `*addr == val`, sleeps
/// until a `futexwakeup`, a timeout or a spurious wakeup (the callers
/// loop).
#[cfg(not(loom))]
fn futexsleep(addr: &AtomicU32, val: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: FUTEX_WAIT reads the u32 at `addr` (a live AtomicU32 we
    // borrow for the call) and the optional timespec on our stack; it
    // writes nothing. EAGAIN/EINTR/ETIMEDOUT are all "look again".
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            val,
            tsp,
        );
    }
}

/// Models `runtime.futexwakeup` (os_linux.go): wakes up to `cnt` threads
/// sleeping on `addr`.
#[cfg(not(loom))]
fn futexwakeup(addr: &AtomicU32, cnt: i32) {
    // SAFETY: FUTEX_WAKE only uses `addr` as a key (the AtomicU32 is live
    // for the call); it reads and writes no user memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            cnt,
        );
    }
}

#[cfg(loom)]
pub(crate) struct Note {
    key: Mutex<bool>,
    cv: Condvar,
}

#[cfg(loom)]
impl Note {
    pub(crate) fn new() -> Note {
        Note {
            key: Mutex::new(false),
            cv: Condvar::new(),
        }
    }

    /// Models `runtime.notewakeup` (lock_futex.go).
    pub(crate) fn wakeup(&self) {
        let mut k = self.key.lock().unwrap_or_else(|e| e.into_inner());
        *k = true;
        self.cv.notify_all();
    }

    /// Models `runtime.notesleep` (lock_futex.go): blocks until woken.
    pub(crate) fn sleep(&self) {
        let mut k = self.key.lock().unwrap_or_else(|e| e.into_inner());
        while !*k {
            k = self.cv.wait(k).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Under loom there is no time: a timed sleep is a plain sleep.
    pub(crate) fn tsleep(&self, _d: Duration) -> bool {
        self.sleep();
        true
    }

    /// Models `runtime.noteclear` (lock_futex.go).
    pub(crate) fn clear(&self) {
        *self.key.lock().unwrap_or_else(|e| e.into_inner()) = false;
    }
}

impl Default for Note {
    fn default() -> Self {
        Note::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_wakeup_before_the_sleep_is_not_lost() {
        let n = Note::new();
        n.wakeup();
        n.sleep();
        assert!(n.tsleep(Duration::from_millis(1)));
        n.clear();
        assert!(!n.tsleep(Duration::from_millis(1)), "cleared note woke");
    }

    #[test]
    fn tsleep_times_out_then_a_wakeup_from_another_thread_ends_sleep() {
        let n = Arc::new(Note::new());
        let t0 = std::time::Instant::now();
        assert!(!n.tsleep(Duration::from_millis(20)));
        assert!(t0.elapsed() >= Duration::from_millis(20), "woke early");
        let n2 = n.clone();
        let h = std::thread::spawn(move || n2.sleep());
        std::thread::sleep(Duration::from_millis(10));
        n.wakeup();
        h.join().unwrap();
    }
}
