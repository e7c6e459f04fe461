//! The network poller: Go's runtime/netpoll.go (pollDesc, the rg/wg
//! semaphores, deadlines) and runtime/netpoll_epoll.go (epoll, netpollBreak),
//! with epoll reached through mio.
//!
//! # The poller
//!
//! One epoll instance per runtime (mio `Poll`), created on first use (Go's
//! `netpollGenericInit`: by the first socket or the first timer). Every fd is
//! registered once, edge-triggered, for read and write (mio registers with
//! `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`, Go's `netpollopen` mask); the
//! token is the address of the fd's [`PollDesc`]. A mio `Waker` (an eventfd)
//! is Go's `netpollBreakRd/Wr` pipe: [`Netpoll::netpoll_break`] interrupts a
//! blocked `netpoll`. `netpollWakeSig` suppresses duplicate breaks until a
//! blocking poll consumed one; because mio's eventfd is edge-triggered where
//! Go's pipe is level-triggered, a non-blocking poll that sees the break
//! re-arms it, so a break is never lost before a blocking poll consumes it
//! (what the level-triggered pipe gives Go).
//!
//! `netpoll(delay)` is Go's: `delay < 0` blocks, `0` polls, `> 0` waits up to
//! `delay` with Go's millisecond rounding (`< 1 ms` -> 1 ms, else truncated).
//! It returns the goroutines made ready (Go's `gList`), still `_Gwaiting`;
//! the caller injects them (`injectglist`) or runs one.
//!
//! # Who polls, when (proc.rs / sysmon.rs)
//!
//! * `findRunnable`, before stealing: `netpoll(0)` if anybody waits on the
//!   poller (`netpollWaiters > 0`) and no M is blocked in it (`lastpoll != 0`).
//! * `findRunnable`, after giving up its P: the M that swaps `sched.lastpoll`
//!   to 0 is *the* poller and blocks in `netpoll(pollUntil - now)` (or for
//!   ever if no timer), only one M at a time; the others `stopm`.
//! * sysmon: `netpoll(0)` when nobody polled for 10 ms
//!   (`lastpoll != 0 && lastpoll + 10ms < now`), injecting what it finds.
//! * `wakeNetPoller` / `netpollBreak`: a new earlier timer (or deadline)
//!   interrupts the blocked poller so it recomputes its delay.
//!
//! # pollDesc and its semaphores
//!
//! `rg` / `wg` hold 0 (nil), `PD_READY` (an I/O notification is pending),
//! `PD_WAIT` (a G is about to park) or the address of the parked G. The
//! transitions are Go's: `netpollblock` CASes 0 -> `PD_WAIT`, parks, and the
//! commit (`netpollblockcommit`) CASes `PD_WAIT` -> G; `netpollunblock`
//! swaps the G out for `PD_READY` (I/O) or 0 (deadline, close). Errors are
//! published in `info` (closing, expired read/write deadline, event error)
//! so `netpollcheckerr` needs no lock. pollDescs are never freed (Go's
//! `pollcache` is type-stable: a late epoll event for a closed fd may still
//! name it); a closed one goes to a free list and is reused.
//!
//! # Deadlines (simplified: see below)
//!
//! `poll_set_deadline` keeps Go's bookkeeping (`rd`/`wd`, the combined
//! read+write timer when `rd == wd`, `rseq`/`wseq` to invalidate stale
//! timers, `netpolldeadlineimpl` with its seq check). Go arms a runtime timer
//! on the P's heap; gmp's timer.rs (the simple sleep-timer heap this crate
//! had when this was written) has only goroutine-wake timers, so the deadline
//! timers live in a heap inside the poller: `netpoll` never sleeps past the
//! earliest deadline and fires the expired ones when it returns, a new
//! earlier deadline calls `wakeNetPoller` as `addtimer` does. Difference from
//! Go: a deadline fires only when some M polls (the idle poller, the
//! `netpoll(0)` in `findRunnable`, or sysmon's 10 ms poll), not from
//! `checkTimers` in `schedule`; with every P busy it can be up to ~10 ms late.
//!
//! # Go 1.19 quirk kept
//!
//! `netpollWaiters` is incremented when a G parks on a pollDesc and
//! decremented only by `netpollgoready` (deadline, close), never when I/O
//! readiness wakes the G (Go 1.19's netpoll.go; later releases fixed the
//! count). So after the first I/O wake-up an idle M always becomes the
//! blocking poller instead of stopping, as in Go 1.19.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicUsize, Ordering::*};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use crate::proc::{cur_sched, gopark, throw};
use crate::runtime2::{G, GRef, Sched, WaitReason};

// Error codes of runtime_pollReset / runtime_pollWait (netpoll.go).
pub(crate) const POLL_NO_ERROR: i32 = 0;
pub(crate) const POLL_ERR_CLOSING: i32 = 1;
pub(crate) const POLL_ERR_TIMEOUT: i32 = 2;
pub(crate) const POLL_ERR_NOT_POLLABLE: i32 = 3;

// States of rg / wg besides nil and a G pointer (netpoll.go).
const PD_READY: usize = 1;
const PD_WAIT: usize = 2;

// pollInfo bits (netpoll.go).
const POLL_CLOSING: u32 = 1 << 0;
const POLL_EVENT_ERR: u32 = 1 << 1;
const POLL_EXPIRED_READ_DEADLINE: u32 = 1 << 2;
const POLL_EXPIRED_WRITE_DEADLINE: u32 = 1 << 3;

/// Token of the break eventfd (pollDesc tokens are addresses, never 0).
const WAKE_TOKEN: Token = Token(0);

/// I/O direction: Go's `mode` argument, 'r' or 'w'.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Read,
    Write,
}

/// The fields of Go's `pollDesc` protected by `pd.lock`.
struct PdLocked {
    closing: bool,
    /// Protects from stale read timers.
    rseq: u64,
    /// Read deadline: a nanotime in the future, -1 when expired, 0 if none.
    rd: i64,
    /// `pd.rt.f != nil`: a read (or combined) deadline timer is armed.
    rt: bool,
    wseq: u64,
    wd: i64,
    wt: bool,
}

/// Models Go's `pollDesc` (netpoll.go): one per registered fd.
pub(crate) struct PollDesc {
    fd: AtomicI32,
    /// Go's `atomicInfo` (pollInfo bits).
    info: AtomicU32,
    /// pdReady, pdWait, G waiting for read, or 0.
    rg: AtomicUsize,
    /// pdReady, pdWait, G waiting for write, or 0.
    wg: AtomicUsize,
    lock: Mutex<PdLocked>,
}

impl PollDesc {
    fn locked(&self) -> std::sync::MutexGuard<'_, PdLocked> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sem(&self, mode: Mode) -> &AtomicUsize {
        match mode {
            Mode::Read => &self.rg,
            Mode::Write => &self.wg,
        }
    }

    /// Models `(*pollDesc).publishInfo` (netpoll.go). pd.lock held.
    fn publish_info(&self, l: &PdLocked) {
        let mut info = 0;
        if l.closing {
            info |= POLL_CLOSING;
        }
        if l.rd < 0 {
            info |= POLL_EXPIRED_READ_DEADLINE;
        }
        if l.wd < 0 {
            info |= POLL_EXPIRED_WRITE_DEADLINE;
        }
        let mut x = self.info.load(Acquire);
        while let Err(y) =
            self.info
                .compare_exchange(x, (x & POLL_EVENT_ERR) | info, AcqRel, Acquire)
        {
            x = y;
        }
    }

    /// Models `(*pollDesc).setEventErr` (netpoll.go).
    fn set_event_err(&self, b: bool) {
        let mut x = self.info.load(Acquire);
        while ((x & POLL_EVENT_ERR) != 0) != b {
            match self
                .info
                .compare_exchange(x, x ^ POLL_EVENT_ERR, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(y) => x = y,
            }
        }
    }

    fn token(&'static self) -> Token {
        Token(self as *const PollDesc as usize)
    }
}

/// A deadline timer (Go: `pd.rt` / `pd.wt` with `netpollReadDeadline`,
/// `netpollWriteDeadline` or the combined `netpollDeadline`).
struct DeadlineTimer {
    when: i64,
    order: u64,
    pd: &'static PollDesc,
    seq: u64,
    read: bool,
    write: bool,
}

impl PartialEq for DeadlineTimer {
    fn eq(&self, o: &Self) -> bool {
        (self.when, self.order) == (o.when, o.order)
    }
}
impl Eq for DeadlineTimer {}
impl PartialOrd for DeadlineTimer {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for DeadlineTimer {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.when, self.order).cmp(&(o.when, o.order))
    }
}

struct PollState {
    poll: Poll,
    events: Events,
}

/// Go's `epfd` + `netpollBreakRd/Wr`, created by `netpollinit`.
struct Inner {
    /// Only one thread at a time is inside epoll_wait through mio (mio's
    /// `poll` takes `&mut`); non-blocking polls skip when it is busy, which
    /// is Go's "a thread is blocked in netpoll already" case.
    state: Mutex<PollState>,
    registry: Registry,
    waker: Waker,
}

/// The runtime's network poller (Go's netpoll globals).
#[derive(Default)]
pub(crate) struct Netpoll {
    inner: OnceLock<Inner>,
    /// Go's `netpollWaiters`.
    waiters: AtomicU32,
    /// Go's `netpollWakeSig`.
    wake_sig: AtomicU32,
    /// Go's `pollcache`: closed pollDescs for reuse.
    cache: Mutex<Vec<&'static PollDesc>>,
    /// Armed deadline timers (see the module comment).
    deadlines: Mutex<BinaryHeap<Reverse<DeadlineTimer>>>,
    /// Earliest armed deadline, 0 if none.
    next_deadline: AtomicI64,
    order: AtomicUsize,
}

impl Netpoll {
    /// Models `runtime.netpollinit` (netpoll_epoll.go), once
    /// (`netpollGenericInit`).
    fn inner(&self) -> &Inner {
        self.inner.get_or_init(|| {
            let poll = Poll::new().unwrap_or_else(|e| {
                throw(&format!("runtime: netpollinit failed (epollcreate: {e})"))
            });
            let registry = poll
                .registry()
                .try_clone()
                .unwrap_or_else(|e| throw(&format!("runtime: netpollinit failed: {e}")));
            let waker = Waker::new(poll.registry(), WAKE_TOKEN)
                .unwrap_or_else(|e| throw(&format!("runtime: netpollinit failed (eventfd: {e})")));
            Inner {
                state: Mutex::new(PollState {
                    poll,
                    events: Events::with_capacity(128),
                }),
                registry,
                waker,
            }
        })
    }

    /// Go's `netpollWaiters`.
    pub(crate) fn waiters(&self) -> u32 {
        self.waiters.load(Acquire)
    }

    /// Models `runtime.netpollBreak` (netpoll_epoll.go): wakes the poller
    /// blocked in `netpoll`, once until it consumed the wake-up.
    pub(crate) fn netpoll_break(&self) {
        if self
            .wake_sig
            .compare_exchange(0, 1, AcqRel, Acquire)
            .is_ok()
            && let Err(e) = self.inner().waker.wake()
        {
            throw(&format!("runtime: netpollBreak write failed with {e}"));
        }
    }

    /// Models `runtime.netpoll` (netpoll_epoll.go): polls for `delay_ns`
    /// (< 0: block, 0: don't block), returns the goroutines made ready by
    /// I/O and by expired deadlines (still `_Gwaiting`).
    pub(crate) fn netpoll(&self, delay_ns: i64) -> Vec<GRef> {
        let inner = self.inner();
        let sched = cur_sched();
        let mut delay = delay_ns;
        let nd = self.next_deadline.load(Acquire);
        if nd != 0 {
            let d = (nd - sched.nanotime()).max(0);
            if delay < 0 || d < delay {
                delay = d;
            }
        }
        let timeout = if delay < 0 {
            None
        } else if delay == 0 {
            Some(Duration::ZERO)
        } else if delay < 1_000_000 {
            Some(Duration::from_millis(1))
        } else if delay < 1_000_000_000_000_000 {
            Some(Duration::from_millis((delay / 1_000_000) as u64))
        } else {
            Some(Duration::from_millis(1_000_000_000))
        };
        let mut to_run = Vec::new();
        let mut st = if delay == 0 {
            match inner.state.try_lock() {
                Ok(g) => g,
                Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                // Another M is inside epoll_wait: it will report the events.
                Err(std::sync::TryLockError::WouldBlock) => {
                    self.run_deadlines(sched, &mut to_run);
                    return to_run;
                }
            }
        } else {
            inner.state.lock().unwrap_or_else(|e| e.into_inner())
        };
        let st = &mut *st;
        loop {
            match st.poll.poll(&mut st.events, timeout) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if delay > 0 {
                        st.events.clear();
                        break;
                    }
                }
                Err(e) => throw(&format!("runtime: netpoll failed: epollwait: {e}")),
            }
        }
        for ev in st.events.iter() {
            if ev.token() == WAKE_TOKEN {
                if delay != 0 {
                    self.wake_sig.store(0, Release);
                } else if let Err(e) = inner.waker.wake() {
                    // A level-triggered pipe would still be readable.
                    throw(&format!("runtime: netpollBreak re-arm failed with {e}"));
                }
                continue;
            }
            let read = ev.is_readable() || ev.is_read_closed() || ev.is_error();
            let write = ev.is_writable() || ev.is_write_closed() || ev.is_error();
            if !read && !write {
                continue;
            }
            // SAFETY: every token but WAKE_TOKEN is the address of a leaked
            // (never freed) PollDesc registered by `poll_open`.
            let pd: &'static PollDesc = unsafe { &*(ev.token().0 as *const PollDesc) };
            let only_err = ev.is_error() && !ev.is_readable() && !ev.is_writable();
            pd.set_event_err(only_err);
            netpollready(&mut to_run, pd, read, write);
        }
        self.run_deadlines(sched, &mut to_run);
        to_run
    }

    /// Arms a deadline timer (Go: `resettimer` / `modtimer` on `pd.rt` or
    /// `pd.wt`) and, like `addtimer`, wakes the poller if it is earlier than
    /// what the poller waits for.
    fn add_deadline(&self, t: DeadlineTimer) -> i64 {
        let when = t.when;
        let mut h = self.deadlines.lock().unwrap_or_else(|e| e.into_inner());
        h.push(Reverse(t));
        self.next_deadline
            .store(h.peek().map_or(0, |e| e.0.when), Release);
        when
    }

    /// Runs the expired deadline timers (Go: `runtimer` calling
    /// `netpollReadDeadline` & co.), collecting the Gs they unblock.
    fn run_deadlines(&self, sched: &Sched, to_run: &mut Vec<GRef>) {
        let nd = self.next_deadline.load(Acquire);
        if nd == 0 || nd > sched.nanotime() {
            return;
        }
        let now = sched.nanotime();
        let mut fired = Vec::new();
        {
            let mut h = self.deadlines.lock().unwrap_or_else(|e| e.into_inner());
            while h.peek().is_some_and(|e| e.0.when <= now) {
                if let Some(Reverse(t)) = h.pop() {
                    fired.push(t);
                }
            }
            self.next_deadline
                .store(h.peek().map_or(0, |e| e.0.when), Release);
        }
        for t in fired {
            netpolldeadlineimpl(self, t.pd, t.seq, t.read, t.write, to_run);
        }
    }

    /// Models `runtime.netpollopen` (netpoll_epoll.go).
    fn netpollopen(&self, fd: RawFd, pd: &'static PollDesc) -> io::Result<()> {
        self.inner().registry.register(
            &mut SourceFd(&fd),
            pd.token(),
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    /// Models `runtime.netpollclose` (netpoll_epoll.go).
    fn netpollclose(&self, fd: RawFd) -> io::Result<()> {
        self.inner().registry.deregister(&mut SourceFd(&fd))
    }
}

/// Models `runtime.netpollready` (netpoll.go).
fn netpollready(to_run: &mut Vec<GRef>, pd: &'static PollDesc, read: bool, write: bool) {
    let rg = if read {
        netpollunblock(pd, Mode::Read, true)
    } else {
        None
    };
    let wg = if write {
        netpollunblock(pd, Mode::Write, true)
    } else {
        None
    };
    to_run.extend(rg);
    to_run.extend(wg);
}

/// Models `runtime.netpollunblock` (netpoll.go): returns the G to wake.
fn netpollunblock(pd: &PollDesc, mode: Mode, ioready: bool) -> Option<GRef> {
    let gpp = pd.sem(mode);
    loop {
        let old = gpp.load(Acquire);
        if old == PD_READY {
            return None;
        }
        if old == 0 && !ioready {
            // Only set pdReady for ioready. runtime_pollWait will check for
            // timeout/cancel before waiting.
            return None;
        }
        let new = if ioready { PD_READY } else { 0 };
        if gpp.compare_exchange(old, new, AcqRel, Acquire).is_ok() {
            if old == PD_WAIT || old == 0 {
                return None;
            }
            // SAFETY: a value other than 0/pdReady/pdWait is the address of
            // a leaked G stored by `netpollblockcommit`.
            let g: &'static G = unsafe { &*(old as *const G) };
            return Some(GRef(g));
        }
    }
}

/// Models `runtime.netpollcheckerr` (netpoll.go).
fn netpollcheckerr(pd: &PollDesc, mode: Mode) -> i32 {
    let info = pd.info.load(Acquire);
    if info & POLL_CLOSING != 0 {
        return POLL_ERR_CLOSING;
    }
    if (mode == Mode::Read && info & POLL_EXPIRED_READ_DEADLINE != 0)
        || (mode == Mode::Write && info & POLL_EXPIRED_WRITE_DEADLINE != 0)
    {
        return POLL_ERR_TIMEOUT;
    }
    // Report an event scanning error only on a read event.
    if mode == Mode::Read && info & POLL_EVENT_ERR != 0 {
        return POLL_ERR_NOT_POLLABLE;
    }
    POLL_NO_ERROR
}

/// Models `runtime.netpollgoready` (netpoll.go).
fn netpollgoready(np: &Netpoll, g: GRef) {
    np.waiters.fetch_sub(1, AcqRel);
    crate::proc::goready(g);
}

/// Models `runtime.netpollblock` (netpoll.go): parks the current G until
/// the fd is ready in `mode` (true) or a deadline/close unblocks it (false).
fn netpollblock(np: &'static Netpoll, pd: &'static PollDesc, mode: Mode, waitio: bool) -> bool {
    let gpp: &'static AtomicUsize = pd.sem(mode);
    // set the gpp semaphore to pdWait
    loop {
        // Consume notification if already ready.
        if gpp.compare_exchange(PD_READY, 0, AcqRel, Acquire).is_ok() {
            return true;
        }
        if gpp.compare_exchange(0, PD_WAIT, AcqRel, Acquire).is_ok() {
            break;
        }
        // Double check that this isn't corrupt; otherwise we'd loop forever.
        let v = gpp.load(Acquire);
        if v != PD_READY && v != 0 {
            throw("runtime: double wait");
        }
    }
    // need to recheck error states after setting gpp to pdWait
    if waitio || netpollcheckerr(pd, mode) == POLL_NO_ERROR {
        gopark(WaitReason::IoWait, move |g| netpollblockcommit(np, g, gpp));
    }
    // be careful to not lose concurrent pdReady notification
    let old = gpp.swap(0, AcqRel);
    if old > PD_WAIT {
        throw("runtime: corrupted polldesc");
    }
    old == PD_READY
}

/// Models `runtime.netpollblockcommit` (netpoll.go): the G is off its stack.
fn netpollblockcommit(np: &Netpoll, g: GRef, gpp: &AtomicUsize) -> bool {
    let gptr = g.0 as *const G as usize;
    let ok = gpp.compare_exchange(PD_WAIT, gptr, AcqRel, Acquire).is_ok();
    if ok {
        // Bump the count of goroutines waiting for the poller.
        np.waiters.fetch_add(1, AcqRel);
    }
    ok
}

/// Models `runtime.netpolldeadlineimpl` (netpoll.go); the Gs it unblocks go
/// to `to_run` (Go readies them from the timer with `netpollgoready`).
fn netpolldeadlineimpl(
    np: &Netpoll,
    pd: &'static PollDesc,
    seq: u64,
    read: bool,
    write: bool,
    to_run: &mut Vec<GRef>,
) {
    let mut l = pd.locked();
    // Seq arg is seq when the timer was set. If it's stale, ignore the event.
    let current = if read { l.rseq } else { l.wseq };
    if seq != current {
        return;
    }
    let mut rg = None;
    if read {
        if l.rd <= 0 || !l.rt {
            throw("runtime: inconsistent read deadline");
        }
        l.rd = -1;
        pd.publish_info(&l);
        rg = netpollunblock(pd, Mode::Read, false);
    }
    let mut wg = None;
    if write {
        if l.wd <= 0 || (!l.wt && !read) {
            throw("runtime: inconsistent write deadline");
        }
        l.wd = -1;
        pd.publish_info(&l);
        wg = netpollunblock(pd, Mode::Write, false);
    }
    drop(l);
    for g in rg.into_iter().chain(wg) {
        np.waiters.fetch_sub(1, AcqRel);
        to_run.push(g);
    }
}

// ---------------------------------------------------------------------------
// The internal/poll <-> runtime interface (poll_runtime_* in netpoll.go)

/// Models `poll_runtime_pollOpen` (netpoll.go): takes a pollDesc from the
/// cache (or a new one), resets it and registers fd with epoll.
pub(crate) fn poll_open(sched: &'static Sched, fd: RawFd) -> io::Result<&'static PollDesc> {
    // poll_runtime_pollServerInit -> netpollGenericInit.
    let np = &sched.netpoll;
    np.inner();
    sched.netpoll_inited.store(true, Release);
    let pd = np
        .cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_else(|| {
            Box::leak(Box::new(PollDesc {
                fd: AtomicI32::new(-1),
                info: AtomicU32::new(0),
                rg: AtomicUsize::new(0),
                wg: AtomicUsize::new(0),
                lock: Mutex::new(PdLocked {
                    closing: false,
                    rseq: 0,
                    rd: 0,
                    rt: false,
                    wseq: 0,
                    wd: 0,
                    wt: false,
                }),
            }))
        });
    {
        let mut l = pd.locked();
        let wg = pd.wg.load(Acquire);
        if wg != 0 && wg != PD_READY {
            throw("runtime: blocked write on free polldesc");
        }
        let rg = pd.rg.load(Acquire);
        if rg != 0 && rg != PD_READY {
            throw("runtime: blocked read on free polldesc");
        }
        pd.fd.store(fd, Release);
        l.closing = false;
        pd.set_event_err(false);
        l.rseq += 1;
        pd.rg.store(0, Release);
        l.rd = 0;
        l.rt = false;
        l.wseq += 1;
        pd.wg.store(0, Release);
        l.wd = 0;
        l.wt = false;
        pd.publish_info(&l);
    }
    if let Err(e) = np.netpollopen(fd, pd) {
        np.cache.lock().unwrap_or_else(|e| e.into_inner()).push(pd);
        return Err(e);
    }
    Ok(pd)
}

/// Models `poll_runtime_pollClose` (netpoll.go): deregisters and frees pd.
pub(crate) fn poll_close(sched: &'static Sched, pd: &'static PollDesc) {
    if !pd.locked().closing {
        throw("runtime: close polldesc w/o unblock");
    }
    let wg = pd.wg.load(Acquire);
    if wg != 0 && wg != PD_READY {
        throw("runtime: blocked write on closing polldesc");
    }
    let rg = pd.rg.load(Acquire);
    if rg != 0 && rg != PD_READY {
        throw("runtime: blocked read on closing polldesc");
    }
    let np = &sched.netpoll;
    let _ = np.netpollclose(pd.fd.load(Acquire));
    np.cache.lock().unwrap_or_else(|e| e.into_inner()).push(pd);
}

/// Models `poll_runtime_pollReset` (netpoll.go).
pub(crate) fn poll_reset(pd: &PollDesc, mode: Mode) -> i32 {
    let errcode = netpollcheckerr(pd, mode);
    if errcode != POLL_NO_ERROR {
        return errcode;
    }
    pd.sem(mode).store(0, Release);
    POLL_NO_ERROR
}

/// Models `poll_runtime_pollWait` (netpoll.go): parks until ready, or
/// returns the error code of a close or an expired deadline.
pub(crate) fn poll_wait(sched: &'static Sched, pd: &'static PollDesc, mode: Mode) -> i32 {
    let errcode = netpollcheckerr(pd, mode);
    if errcode != POLL_NO_ERROR {
        return errcode;
    }
    while !netpollblock(&sched.netpoll, pd, mode, false) {
        let errcode = netpollcheckerr(pd, mode);
        if errcode != POLL_NO_ERROR {
            return errcode;
        }
        // Can happen if timeout has fired and unblocked us, but before we
        // had a chance to run, timeout has been reset. Pretend it has not
        // happened and retry.
    }
    POLL_NO_ERROR
}

/// Which deadline `poll_set_deadline` sets (Go: 'r', 'w', 'r'+'w').
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum DeadlineMode {
    Read,
    Write,
    Both,
}

/// Models `poll_runtime_pollSetDeadline` (netpoll.go). `d` is relative:
/// > 0 a delay in ns, < 0 already expired, 0 no deadline.
pub(crate) fn poll_set_deadline(
    sched: &'static Sched,
    pd: &'static PollDesc,
    d: i64,
    mode: DeadlineMode,
) {
    let np = &sched.netpoll;
    let mut armed = Vec::new();
    let mut l = pd.locked();
    if l.closing {
        return;
    }
    let (rd0, wd0) = (l.rd, l.wd);
    let combo0 = rd0 > 0 && rd0 == wd0;
    let mut d = d;
    if d > 0 {
        d = d.saturating_add(sched.nanotime());
    }
    if mode == DeadlineMode::Read || mode == DeadlineMode::Both {
        l.rd = d;
    }
    if mode == DeadlineMode::Write || mode == DeadlineMode::Both {
        l.wd = d;
    }
    pd.publish_info(&l);
    let combo = l.rd > 0 && l.rd == l.wd;
    let timer = |when, seq, read, write| DeadlineTimer {
        when,
        order: np.order.fetch_add(1, Relaxed) as u64,
        pd,
        seq,
        read,
        write: write && combo,
    };
    if !l.rt {
        if l.rd > 0 {
            l.rt = true;
            armed.push(timer(l.rd, l.rseq, true, true));
        }
    } else if l.rd != rd0 || combo != combo0 {
        l.rseq += 1; // invalidate current timers
        if l.rd > 0 {
            armed.push(timer(l.rd, l.rseq, true, true));
        } else {
            l.rt = false; // deltimer: the stale entry is ignored by seq
        }
    }
    if !l.wt {
        if l.wd > 0 && !combo {
            l.wt = true;
            armed.push(DeadlineTimer {
                when: l.wd,
                order: np.order.fetch_add(1, Relaxed) as u64,
                pd,
                seq: l.wseq,
                read: false,
                write: true,
            });
        }
    } else if l.wd != wd0 || combo != combo0 {
        l.wseq += 1; // invalidate current timers
        if l.wd > 0 && !combo {
            armed.push(DeadlineTimer {
                when: l.wd,
                order: np.order.fetch_add(1, Relaxed) as u64,
                pd,
                seq: l.wseq,
                read: false,
                write: true,
            });
        } else {
            l.wt = false;
        }
    }
    // If we set the new deadline in the past, unblock currently pending IO.
    let rg = if l.rd < 0 {
        netpollunblock(pd, Mode::Read, false)
    } else {
        None
    };
    let wg = if l.wd < 0 {
        netpollunblock(pd, Mode::Write, false)
    } else {
        None
    };
    let whens: Vec<i64> = armed.into_iter().map(|t| np.add_deadline(t)).collect();
    drop(l);
    for when in whens {
        crate::proc::wake_net_poller(sched, when);
    }
    for g in rg.into_iter().chain(wg) {
        netpollgoready(np, g);
    }
}

/// Models `poll_runtime_pollUnblock` (netpoll.go): marks pd closing and
/// wakes its parked readers/writers (they return `POLL_ERR_CLOSING`).
pub(crate) fn poll_unblock(sched: &'static Sched, pd: &'static PollDesc) {
    let np = &sched.netpoll;
    let mut l = pd.locked();
    if l.closing {
        throw("runtime: unblock on closing polldesc");
    }
    l.closing = true;
    l.rseq += 1;
    l.wseq += 1;
    pd.publish_info(&l);
    let rg = netpollunblock(pd, Mode::Read, false);
    let wg = netpollunblock(pd, Mode::Write, false);
    // deltimer(&pd.rt) / deltimer(&pd.wt): stale by seq now.
    l.rt = false;
    l.wt = false;
    drop(l);
    for g in rg.into_iter().chain(wg) {
        netpollgoready(np, g);
    }
}
