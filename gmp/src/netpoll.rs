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
//! # Who polls, when (proc/schedule.rs / sysmon.rs)
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
//! # Deadlines
//!
//! As in Go, each pollDesc has two runtime timers, `rt` and `wt`, that live
//! on the per-P timer heaps (timer/) like every other timer:
//! `poll_set_deadline` keeps Go's bookkeeping (`rd`/`wd`, one combined
//! read+write timer when `rd == wd`, `rseq`/`wseq` to invalidate a timer
//! already fired or about to) and arms them with `resettimer` / `modtimer`
//! (which call `wakeNetPoller` for an earlier timer) or stops them with
//! `deltimer`. A deadline timer fires where any timer fires (`checkTimers`
//! in `schedule` and `findRunnable`, timer stealing), and its function
//! (`netpollReadDeadline`, `netpollWriteDeadline` or `netpollDeadline`, the
//! timer's arg: [`DeadlineArg`]) runs `netpolldeadlineimpl`, which ignores a
//! stale seq and otherwise marks the deadline expired and readies the
//! parked G. `pd.lock` is a runtime lock as in Go (`m.locks++`): a G that
//! holds it while it modifies a timer is not preempted, in either timer
//! ordering.
//!
//! # Go 1.19 quirk kept
//!
//! `netpollWaiters` is incremented when a G parks on a pollDesc and
//! decremented only by `netpollgoready` (deadline, close), never when I/O
//! readiness wakes the G (Go 1.19's netpoll.go; later releases fixed the
//! count). So after the first I/O wake-up an idle M always becomes the
//! blocking poller instead of stopping, as in Go 1.19.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU8, AtomicU32, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use crate::panic::throw;
use crate::proc::gopark;
use crate::runtime2::{G, GRef, M, Sched, WaitReason};
use crate::stubs::{cur_sched, getm};
use crate::timer::{RTimer, TimerFn, del_timer, mod_timer, reset_timer};

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
    /// Read (or combined read+write) deadline timer.
    rt: Arc<RTimer>,
    /// Write deadline timer.
    wt: Arc<RTimer>,
}

/// `lock(&pd.lock)`: like every runtime lock in Go it holds off preemption
/// (`m.locks++`) until unlocked, which matters here because `modtimer` and
/// `deltimer` are called under it and have safepoints.
struct PdGuard<'a> {
    l: MutexGuard<'a, PdLocked>,
    m: Option<&'static M>,
}

impl std::ops::Deref for PdGuard<'_> {
    type Target = PdLocked;
    fn deref(&self) -> &PdLocked {
        &self.l
    }
}

impl std::ops::DerefMut for PdGuard<'_> {
    fn deref_mut(&mut self) -> &mut PdLocked {
        &mut self.l
    }
}

impl Drop for PdGuard<'_> {
    fn drop(&mut self) {
        if let Some(m) = self.m {
            m.locks_dec();
        }
    }
}

impl PollDesc {
    fn locked(&self) -> PdGuard<'_> {
        let m = getm();
        if let Some(m) = m {
            m.locks_inc();
        }
        PdGuard {
            l: self.lock.lock().unwrap_or_else(|e| e.into_inner()),
            m,
        }
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

/// Which function a pollDesc timer runs (Go's `f`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum DeadlineFn {
    /// `netpollReadDeadline`.
    Read = 1,
    /// `netpollWriteDeadline`.
    Write = 2,
    /// `netpollDeadline`: read and write deadlines are equal, one timer.
    Both = 3,
}

/// Go's `f, arg, seq` of a pollDesc timer, as `poll_set_deadline` hands
/// them to `modtimer` (`pd.makeArg()`: the pollDesc).
#[derive(Clone, Copy)]
pub(crate) struct DeadlineCall {
    pub(crate) f: DeadlineFn,
    pub(crate) pd: &'static PollDesc,
    pub(crate) seq: u64,
}

/// The arg of a pollDesc timer, kept in the timer: the pollDesc and which
/// deadline function (Go keeps `f` in the timer and the pollDesc in
/// `arg`).
pub(crate) struct DeadlineArg {
    pd: AtomicPtr<PollDesc>,
    f: AtomicU8,
}

impl DeadlineArg {
    fn new() -> DeadlineArg {
        DeadlineArg {
            pd: AtomicPtr::new(std::ptr::null_mut()),
            f: AtomicU8::new(0),
        }
    }

    /// Sets the function and the pollDesc (the caller owns the timer: see
    /// `RTimer::set_deadline_fn`).
    pub(crate) fn set(&self, f: DeadlineFn, pd: &'static PollDesc) {
        self.pd
            .store(pd as *const PollDesc as *mut PollDesc, Release);
        self.f.store(f as u8, Release);
    }

    /// The pollDesc and the function, for `runOneTimer`.
    pub(crate) fn load(&self) -> (&'static PollDesc, DeadlineFn) {
        let pd = self.pd.load(Acquire);
        if pd.is_null() {
            throw("runtime: deadline timer without a pollDesc");
        }
        // SAFETY: a non-null pd is a leaked (never freed) PollDesc, stored
        // by `set` from a `&'static PollDesc`.
        let pd: &'static PollDesc = unsafe { &*pd };
        let f = match self.f.load(Acquire) {
            1 => DeadlineFn::Read,
            2 => DeadlineFn::Write,
            3 => DeadlineFn::Both,
            _ => throw("runtime: deadline timer without a function"),
        };
        (pd, f)
    }
}

fn deadline_timer() -> Arc<RTimer> {
    Arc::new(RTimer::new(TimerFn::NetpollDeadline(DeadlineArg::new())))
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
    /// I/O (still `_Gwaiting`).
    pub(crate) fn netpoll(&self, delay: i64) -> Vec<GRef> {
        let inner = self.inner();
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
                Err(std::sync::TryLockError::WouldBlock) => return to_run,
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
        to_run
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

/// Models `runtime.netpolldeadlineimpl` (netpoll.go).
fn netpolldeadlineimpl(pd: &'static PollDesc, seq: u64, read: bool, write: bool) {
    let mut l = pd.locked();
    // Seq arg is seq when the timer was set. If it's stale, ignore the
    // timer event.
    let current = if read { l.rseq } else { l.wseq };
    if seq != current {
        // The descriptor was reused or timers were reset.
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
    let np = &cur_sched().netpoll;
    for g in rg.into_iter().chain(wg) {
        netpollgoready(np, g);
    }
}

/// Models `runtime.netpollDeadline`, `netpollReadDeadline` and
/// `netpollWriteDeadline` (netpoll.go): the functions of the pollDesc
/// timers, called by `runOneTimer` with the timer's seq.
pub(crate) fn netpoll_deadline(pd: &'static PollDesc, f: DeadlineFn, seq: u64) {
    match f {
        DeadlineFn::Both => netpolldeadlineimpl(pd, seq, true, true),
        DeadlineFn::Read => netpolldeadlineimpl(pd, seq, true, false),
        DeadlineFn::Write => netpolldeadlineimpl(pd, seq, false, true),
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
                rt: deadline_timer(),
                wt: deadline_timer(),
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
    let rtf = if combo {
        DeadlineFn::Both
    } else {
        DeadlineFn::Read
    };
    if !l.rt {
        if l.rd > 0 {
            l.rt = true;
            // Copy current seq into the timer arg. Timer func will check
            // the seq against current descriptor seq, if they differ the
            // descriptor was reused or timers were reset.
            pd.rt.set_deadline_fn(DeadlineCall {
                f: rtf,
                pd,
                seq: l.rseq,
            });
            reset_timer(getm(), &pd.rt, l.rd, None);
        }
    } else if l.rd != rd0 || combo != combo0 {
        l.rseq += 1; // invalidate current timers
        if l.rd > 0 {
            let call = DeadlineCall {
                f: rtf,
                pd,
                seq: l.rseq,
            };
            mod_timer(getm(), &pd.rt, l.rd, 0, Some(call), None);
        } else {
            del_timer(&pd.rt);
            l.rt = false;
        }
    }
    if !l.wt {
        if l.wd > 0 && !combo {
            l.wt = true;
            pd.wt.set_deadline_fn(DeadlineCall {
                f: DeadlineFn::Write,
                pd,
                seq: l.wseq,
            });
            reset_timer(getm(), &pd.wt, l.wd, None);
        }
    } else if l.wd != wd0 || combo != combo0 {
        l.wseq += 1; // invalidate current timers
        if l.wd > 0 && !combo {
            let call = DeadlineCall {
                f: DeadlineFn::Write,
                pd,
                seq: l.wseq,
            };
            mod_timer(getm(), &pd.wt, l.wd, 0, Some(call), None);
        } else {
            del_timer(&pd.wt);
            l.wt = false;
        }
    }
    // If we set the new deadline in the past, unblock currently pending IO
    // if any.
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
    drop(l);
    for g in rg.into_iter().chain(wg) {
        netpollgoready(&sched.netpoll, g);
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
    if l.rt {
        del_timer(&pd.rt);
        l.rt = false;
    }
    if l.wt {
        del_timer(&pd.wt);
        l.wt = false;
    }
    drop(l);
    for g in rg.into_iter().chain(wg) {
        netpollgoready(np, g);
    }
}
