//! `note`: one-shot sleep/wakeup, Go's `runtime.note` (lock_futex.go).
//!
//! An M parks on its own note (`mPark` = `notesleep` + `noteclear`) and is
//! woken by whoever hands it a P (`startm`, `startlockedm`) with
//! `notewakeup`. Go implements notes with a futex; gmp with a mutex and a
//! condition variable, which has the same contract: a wakeup that happens
//! before the sleep is not lost, and `notetsleep` reports whether it was
//! woken (true) or timed out (false).
//!
//! Under `cfg(loom)` the same code is built on loom's primitives:
//! `tests/loom.rs` includes this file to model-check the M park/unpark and
//! P hand-off protocols with the real `Note`.

#[cfg(loom)]
use loom::sync::{Condvar, Mutex};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub(crate) struct Note {
    key: Mutex<bool>,
    cv: Condvar,
}

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

    /// Models `runtime.notetsleep` (lock_futex.go): true if woken, false on
    /// timeout.
    #[cfg(not(loom))]
    pub(crate) fn tsleep(&self, d: Duration) -> bool {
        let deadline = std::time::Instant::now() + d;
        let mut k = self.key.lock().unwrap_or_else(|e| e.into_inner());
        while !*k {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            k = self
                .cv
                .wait_timeout(k, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Under loom there is no time: a timed sleep is a plain sleep.
    #[cfg(loom)]
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
