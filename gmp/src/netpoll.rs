//! The network poller, as far as the scheduler sees it: one M at a time may
//! block in `netpoll(delay)` (Go: `findRunnable` takes the poller role by
//! swapping `sched.lastpoll` to 0), and `netpollBreak` interrupts it.
//! No file descriptors are polled yet (the I/O issue adds epoll through
//! mio); with no fds, `netpoll(delay)` is "sleep until the next timer or a
//! break", which is exactly what Go's idle M does in an idle program.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::runtime2::GRef;

#[derive(Default)]
pub(crate) struct Netpoll {
    broken: Mutex<bool>,
    cv: Condvar,
}

impl Netpoll {
    /// Models `runtime.netpoll` (netpoll_epoll.go): blocks for `delay_ns`
    /// (< 0: forever, 0: not at all) or until `netpoll_break`. Returns the
    /// goroutines made ready by I/O (none yet).
    pub(crate) fn netpoll(&self, delay_ns: i64) -> Vec<GRef> {
        let mut b = self.broken.lock().unwrap_or_else(|e| e.into_inner());
        if delay_ns == 0 {
            *b = false;
            return Vec::new();
        }
        let deadline = if delay_ns > 0 {
            Some(std::time::Instant::now() + Duration::from_nanos(delay_ns as u64))
        } else {
            None
        };
        while !*b {
            match deadline {
                None => b = self.cv.wait(b).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        break;
                    }
                    b = self
                        .cv
                        .wait_timeout(b, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        *b = false;
        Vec::new()
    }

    /// Models `runtime.netpollBreak` (netpoll_epoll.go).
    pub(crate) fn netpoll_break(&self) {
        let mut b = self.broken.lock().unwrap_or_else(|e| e.into_inner());
        *b = true;
        self.cv.notify_all();
    }
}
