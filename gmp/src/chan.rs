//! Channels: Go 1.19's `runtime/chan.go`, function by function.
//!
//! # The model
//!
//! An [`Hchan`] is Go's `hchan`: a lock, a ring buffer of `dataqsiz` slots
//! (`qcount` of them full, read at `recvx`, written at `sendx`), a `closed`
//! flag, and two wait queues (`recvq`, `sendq`) of [`Sudog`]s — one per
//! goroutine parked on the channel. The element type is erased exactly as
//! Go erases it: the channel knows `elemsize` and moves elements with a
//! byte copy (Go's `typedmemmove`), which *is* a Rust move as long as the
//! source is then treated as moved-from. Only dropping needs the type; the
//! channel keeps a `drop` function pointer for values still buffered when
//! the last handle goes (Go leaves that to the GC).
//!
//! [`Chan<T>`] is the typed handle (Go's `chan T` value: a pointer to the
//! hchan; cloning it copies the pointer, an `Arc` here). Its methods are
//! the compiler-generated calls: `c <- v` is [`chansend`], `v, ok := <-c`
//! is [`chanrecv`], `close(c)` is [`closechan`], and `select` with a
//! `default` and one case is `selectnbsend` / `selectnbrecv`
//! ([`Chan::try_send`], [`Chan::try_recv`]). Multi-case `select` is in
//! `select.rs` (Go's `select.go`).
//!
//! # Invariants (Go's, restated for Rust memory)
//!
//! * Every field that changes is changed only with `lock` held. Fields that
//!   Go reads racily without the lock (`qcount`, `closed`, `recvq.first`,
//!   `sendq.first` in the non-blocking fast paths and `len`) are atomics,
//!   so those racy reads are defined behaviour (`Acquire` where Go's fast
//!   paths depend on the order of two reads, `Relaxed` elsewhere); the lock
//!   orders everything else.
//! * **A sudog is owned by its goroutine while it waits.** `chansend` and
//!   `chanrecv` take theirs from the P's cache ([`acquire_sudog`], Go's
//!   `acquireSudog`: sudogs are heap objects reused through a per-P and a
//!   central free list, so the waiters of one channel sit close together in
//!   memory, not one per stack page) and give it back after they woke
//!   ([`release_sudog`]); a select's sudogs live in `selectgo`'s frame. A
//!   sudog is valid while it is linked in a wait queue, because its
//!   goroutine cannot leave the channel function before it was dequeued: it
//!   is parked (its stack is kept intact while parked — the coroutine is
//!   suspended, not unwound), and it is readied only by the goroutine that
//!   dequeued its sudog. A select's
//!   goroutine may be readied while some of its sudogs are still queued on
//!   other channels; it then takes every one of those channels' locks
//!   before unlinking them (`selectgo` pass 3), so anyone who finds such a
//!   sudog under a channel lock still sees valid memory.
//! * The `elem` of a sudog points into the parked goroutine's frame: the
//!   value it sends (a `ManuallyDrop<T>`) or the slot it receives into (a
//!   `MaybeUninit<T>`). The waker copies through it with the channel lock
//!   held or, after unlocking, while the goroutine is still parked (Go's
//!   `send`/`recv` write `sg.success` and `gp.param` after `unlockf`), and
//!   never touches the sudog after `goready`.
//! * Ownership of values: a value is in exactly one place — the sender's
//!   frame, a buffer slot (counted by `qcount`), or the receiver's slot. A
//!   sender woken with `success == false` (by `closechan`) still owns its
//!   value and drops it before panicking "send on closed channel"; a
//!   receiver woken with `success == false` got nothing (Go's zero value +
//!   false is `None`). Values left buffered are dropped with the hchan.
//!
//! # What differs from Go
//!
//! * No nil channels (a Rust `Chan` always points at an hchan): the
//!   `chan send (nil chan)` / `chan receive (nil chan)` parks are not
//!   reachable. No `<-c` that discards the value: `recv` always returns it
//!   (Go's `ep == nil` branches are therefore gone).
//! * No stack copying, so no `activeStackChans` / `parkingOnChan`; no race
//!   detector, no block profile (`releasetime`).
//! * `try_send` on a closed channel panics, like Go's
//!   `select { case c <- v: default: }`.
//! * The channel lock is Go's futex lock (`lock_futex.go`) modelled here,
//!   without the `m.locks++` that keeps Go from preempting a lock holder
//!   (gmp preempts only at safepoints, and none is reached under a lock).

use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering::*};

use crate::runtime2::{G, GRef, P, Sched, WaitReason, load};
use crate::{gopark, goready};

// ---------------------------------------------------------------------------
// The channel lock: Go's runtime.mutex on Linux (lock_futex.go).

const MUTEX_UNLOCKED: u32 = 0;
const MUTEX_LOCKED: u32 = 1;
const MUTEX_SLEEPING: u32 = 2;
const ACTIVE_SPIN: u32 = 4;
const ACTIVE_SPIN_CNT: u32 = 30;
const PASSIVE_SPIN: u32 = 1;

/// Go's `runtime.mutex` with the futex implementation.
pub(crate) struct Lock {
    key: AtomicU32,
}

impl Lock {
    const fn new() -> Lock {
        Lock {
            key: AtomicU32::new(MUTEX_UNLOCKED),
        }
    }

    /// Models `runtime.lock2` (lock_futex.go): one swap uncontended; then
    /// spin, yield, and sleep on the futex marked `mutex_sleeping`.
    #[inline]
    pub(crate) fn lock(&self) {
        let v = self.key.swap(MUTEX_LOCKED, Acquire);
        if v != MUTEX_UNLOCKED {
            self.lock_slow(v);
        }
    }

    #[cold]
    fn lock_slow(&self, mut wait: u32) {
        loop {
            for _ in 0..ACTIVE_SPIN {
                if self.try_grab(wait) {
                    return;
                }
                for _ in 0..ACTIVE_SPIN_CNT {
                    std::hint::spin_loop(); // Go's procyield (PAUSE)
                }
            }
            for _ in 0..PASSIVE_SPIN {
                if self.try_grab(wait) {
                    return;
                }
                std::thread::yield_now(); // Go's osyield
            }
            if self.key.swap(MUTEX_SLEEPING, Acquire) == MUTEX_UNLOCKED {
                return;
            }
            wait = MUTEX_SLEEPING;
            futexsleep(&self.key, MUTEX_SLEEPING);
        }
    }

    /// `for l.key == mutex_unlocked { if cas(key, unlocked, wait) ... }`
    #[inline]
    fn try_grab(&self, wait: u32) -> bool {
        while self.key.load(Relaxed) == MUTEX_UNLOCKED {
            if self
                .key
                .compare_exchange(MUTEX_UNLOCKED, wait, Acquire, Relaxed)
                .is_ok()
            {
                return true;
            }
        }
        false
    }

    /// Models `runtime.unlock2` (lock_futex.go).
    #[inline]
    pub(crate) fn unlock(&self) {
        // SAFETY: `self` is a live lock held by the caller.
        unsafe { Lock::unlock_raw(self) }
    }

    /// `unlock2` through a raw pointer, for park commits (Go's
    /// `chanparkcommit`/`selparkcommit`): once the key is released, the
    /// goroutine parked on the channel may be readied, run, and drop the
    /// last handle, so the hchan may be freed before the futex wake-up
    /// below. That wake-up only passes the address to the kernel (a
    /// spurious wake-up of a reused address is tolerated by every futex
    /// user, an unmapped one returns EFAULT), as in Go and std's mutex.
    ///
    /// # Safety
    /// `l` points at a live lock held by the caller.
    #[inline]
    pub(crate) unsafe fn unlock_raw(l: *const Lock) {
        // SAFETY: (caller) the lock is live until this swap releases it.
        let key = unsafe { &(*l).key } as *const AtomicU32;
        // SAFETY: as above.
        let v = unsafe { (*key).swap(MUTEX_UNLOCKED, Release) };
        if v == MUTEX_UNLOCKED {
            crate::panic::throw("unlock of unlocked lock");
        }
        if v == MUTEX_SLEEPING {
            futexwakeup(key);
        }
    }
}

/// Models `runtime.futexsleep` (os_linux.go): sleep while `*key == val`.
fn futexsleep(key: &AtomicU32, val: u32) {
    // SAFETY: FUTEX_WAIT on a live, aligned u32; no timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            key.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            val,
            ptr::null::<libc::timespec>(),
        );
    }
}

/// Models `runtime.futexwakeup` (os_linux.go): wake one sleeper.
fn futexwakeup(key: *const AtomicU32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key (see unlock_raw).
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            key as *const u32,
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

// ---------------------------------------------------------------------------
// sudog and waitq (runtime2.go, chan.go)

/// Go's `sudog`: a goroutine waiting on a channel. Lives on the waiting
/// goroutine's stack (see the top comment). Accessed only through raw
/// pointers once linked. `Copy` so that `selectgo` can keep its sudogs in
/// a stack array; a linked sudog is never copied.
#[derive(Clone, Copy)]
pub(crate) struct Sudog {
    pub(crate) g: GRef,
    pub(crate) next: *mut Sudog,
    pub(crate) prev: *mut Sudog,
    /// Data element: the value to send, or the slot to receive into.
    pub(crate) elem: *mut u8,
    pub(crate) is_select: bool,
    /// true if woken because a value was delivered, false if by closechan.
    pub(crate) success: bool,
    /// Go's `g.selectDone`: for a select's sudogs, the flag the wakers race
    /// on (lives in the select's frame); null otherwise.
    pub(crate) select_done: *const AtomicU32,
}

impl Sudog {
    pub(crate) fn new(g: GRef, elem: *mut u8) -> Sudog {
        Sudog {
            g,
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            elem,
            is_select: false,
            success: false,
            select_done: ptr::null(),
        }
    }
}

/// `cap(pp.sudogcache)` in Go: a P keeps at most this
/// many free sudogs, and moves half to the central cache when full.
const SUDOG_CACHE: u32 = 128;

/// Models `runtime.acquireSudog` (proc.go): a sudog for `g`, waiting with
/// `elem`, from the P's cache; an empty cache takes half its size from the
/// central one, and only if that is empty too is a sudog allocated. Sudogs
/// are never freed (Go's caches keep them likewise). Called by a running
/// goroutine on `pp`, its P: nothing else touches `pp`'s cache meanwhile
/// (no safepoint in here).
fn acquire_sudog(pp: &P, g: GRef, elem: *mut u8) -> *mut Sudog {
    let mut s = pp.sudogcache.load(Relaxed);
    if s.is_null() {
        // First, try to grab a batch from central cache.
        let mut central =
            g.0.sched
                .sudogcache
                .lock()
                .unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        while n < SUDOG_CACHE / 2 {
            let Some(a) = central.pop() else { break };
            let x = a as *mut Sudog;
            // SAFETY: a free sudog of the central cache, ours now (lock held).
            unsafe { (*x).next = s };
            s = x;
            n += 1;
        }
        drop(central);
        if s.is_null() {
            // If the central cache is empty, allocate a new one.
            return Box::into_raw(Box::new(Sudog::new(g, elem)));
        }
        pp.nsudogcache.store(n, Relaxed);
    }
    // SAFETY: s heads pp's free list, which only this goroutine's M uses
    // (see above); a free sudog is linked in no wait queue.
    unsafe {
        pp.sudogcache.store((*s).next, Relaxed);
        s.write(Sudog::new(g, elem));
    }
    pp.nsudogcache
        .store(pp.nsudogcache.load(Relaxed) - 1, Relaxed);
    s
}

/// Models `runtime.releaseSudog` (proc.go): gives `s` back to the cache of
/// `pp`, the P of the goroutine that acquired it and has woken up (it may
/// be another P than the one it came from); a full cache moves half of
/// itself to the central cache first.
fn release_sudog(pp: &P, sched: &Sched, s: *mut Sudog) {
    let n = pp.nsudogcache.load(Relaxed);
    if n == SUDOG_CACHE {
        // Transfer half of local cache to the central cache.
        let mut central = sched.sudogcache.lock().unwrap_or_else(|e| e.into_inner());
        let mut head = pp.sudogcache.load(Relaxed);
        for _ in 0..SUDOG_CACHE / 2 {
            central.push(head as usize);
            // SAFETY: pp's free list holds n >= SUDOG_CACHE / 2 live sudogs.
            head = unsafe { (*head).next };
        }
        pp.sudogcache.store(head, Relaxed);
        pp.nsudogcache.store(n - SUDOG_CACHE / 2, Relaxed);
    }
    // SAFETY: (caller) s is ours: dequeued by its waker, which no longer
    // touches it, and linked nowhere.
    unsafe {
        (*s).elem = ptr::null_mut();
        (*s).next = pp.sudogcache.load(Relaxed);
    }
    pp.sudogcache.store(s, Relaxed);
    pp.nsudogcache
        .store(pp.nsudogcache.load(Relaxed) + 1, Relaxed);
}

/// The P of the running goroutine `gp` (its M holds one).
fn cur_p(gp: &G) -> &'static P {
    match load(&gp.m).and_then(|m| load(&m.p)) {
        Some(pp) => pp,
        None => crate::panic::throw("acquireSudog: goroutine without a P"),
    }
}

/// Go's `waitq`: a doubly linked list of sudogs. Changed only under the
/// channel lock; `first` is also read racily by the fast paths.
pub(crate) struct WaitQ {
    first: AtomicPtr<Sudog>,
    last: AtomicPtr<Sudog>,
}

impl WaitQ {
    const fn new() -> WaitQ {
        WaitQ {
            first: AtomicPtr::new(ptr::null_mut()),
            last: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Racy read for the fast paths; Acquire keeps it ordered before the
    /// `closed` check that follows (Go's comment in chanrecv).
    fn is_empty(&self) -> bool {
        self.first.load(Acquire).is_null()
    }

    /// Models `waitq.enqueue` (chan.go). Channel lock held.
    ///
    /// # Safety
    /// `sgp` is a live, unlinked sudog that stays valid while queued.
    pub(crate) unsafe fn enqueue(&self, sgp: *mut Sudog) {
        // SAFETY: (caller) sgp is live and exclusively ours; queued sudogs
        // are live (top comment) and the lock is held.
        unsafe {
            (*sgp).next = ptr::null_mut();
            let x = self.last.load(Relaxed);
            if x.is_null() {
                (*sgp).prev = ptr::null_mut();
                self.first.store(sgp, Relaxed);
                self.last.store(sgp, Relaxed);
                return;
            }
            (*sgp).prev = x;
            (*x).next = sgp;
            self.last.store(sgp, Relaxed);
        }
    }

    /// Models `waitq.dequeue` (chan.go): the first sudog whose goroutine
    /// can still be woken — a select's sudog is skipped (and unlinked) when
    /// another case of that select already won the `selectDone` race.
    /// Channel lock held.
    pub(crate) fn dequeue(&self) -> *mut Sudog {
        loop {
            let sgp = self.first.load(Relaxed);
            if sgp.is_null() {
                return sgp;
            }
            // SAFETY: queued sudogs are live while the lock is held (top
            // comment); so is a select's selectDone flag, in its frame.
            unsafe {
                let y = (*sgp).next;
                if y.is_null() {
                    self.first.store(ptr::null_mut(), Relaxed);
                    self.last.store(ptr::null_mut(), Relaxed);
                } else {
                    (*y).prev = ptr::null_mut();
                    self.first.store(y, Relaxed);
                    (*sgp).next = ptr::null_mut();
                }
                if (*sgp).is_select
                    && (*(*sgp).select_done)
                        .compare_exchange(0, 1, AcqRel, Relaxed)
                        .is_err()
                {
                    continue;
                }
            }
            return sgp;
        }
    }

    /// Models `waitq.dequeueSudoG` (select.go): unlinks `sgp` if it is
    /// still queued (a waker's `dequeue` may already have unlinked it).
    /// Channel lock held.
    ///
    /// # Safety
    /// `sgp` is live, and either queued here or already unlinked.
    pub(crate) unsafe fn dequeue_sudog(&self, sgp: *mut Sudog) {
        // SAFETY: (caller) sgp and its neighbours are live; lock held.
        unsafe {
            let x = (*sgp).prev;
            let y = (*sgp).next;
            if !x.is_null() {
                if !y.is_null() {
                    (*x).next = y;
                    (*y).prev = x;
                    (*sgp).next = ptr::null_mut();
                    (*sgp).prev = ptr::null_mut();
                    return;
                }
                (*x).next = ptr::null_mut();
                self.last.store(x, Relaxed);
                (*sgp).prev = ptr::null_mut();
                return;
            }
            if !y.is_null() {
                (*y).prev = ptr::null_mut();
                self.first.store(y, Relaxed);
                (*sgp).next = ptr::null_mut();
                return;
            }
            // x == y == nil: sgp is the only element, or already removed.
            if self.first.load(Relaxed) == sgp {
                self.first.store(ptr::null_mut(), Relaxed);
                self.last.store(ptr::null_mut(), Relaxed);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// hchan

/// Go's `hchan` with the element type erased to its size (and its drop).
pub(crate) struct Hchan {
    /// total data in the queue
    qcount: AtomicUsize,
    /// size of the circular queue
    dataqsiz: usize,
    /// points to an array of dataqsiz elements
    buf: *mut u8,
    elemsize: usize,
    closed: AtomicU32,
    /// send index
    sendx: AtomicUsize,
    /// receive index
    recvx: AtomicUsize,
    /// list of recv waiters
    pub(crate) recvq: WaitQ,
    /// list of send waiters
    pub(crate) sendq: WaitQ,
    pub(crate) lock: Lock,
    /// Drops the element at a pointer (Go's GC does this for Go).
    elem_drop: unsafe fn(*mut u8),
    buf_layout: Layout,
}

// SAFETY: an Hchan is only created by `makechan::<T>` for `T: Send`; the
// elements it holds move between threads, which `T: Send` permits. All
// mutation happens under `lock` or through atomics.
unsafe impl Send for Hchan {}
// SAFETY: as above; shared access is synchronized by `lock`.
unsafe impl Sync for Hchan {}

impl Drop for Hchan {
    /// The last handle is gone: drop what is still buffered, free the
    /// buffer. (No goroutine can be parked on it: a parked goroutine holds
    /// a handle.)
    fn drop(&mut self) {
        let n = self.qcount.load(Relaxed);
        let mut i = self.recvx.load(Relaxed);
        for _ in 0..n {
            // SAFETY: the n slots from recvx on hold initialized values that
            // nobody else can reach any more.
            unsafe { (self.elem_drop)(self.chanbuf(i)) };
            i += 1;
            if i == self.dataqsiz {
                i = 0;
            }
        }
        if self.buf_layout.size() != 0 {
            // SAFETY: allocated in makechan with this layout.
            unsafe { std::alloc::dealloc(self.buf, self.buf_layout) };
        }
    }
}

/// Copies one `N`-byte element as `MaybeUninit` bytes (padding inside an
/// element may be uninitialized; `MaybeUninit` carries it as is).
///
/// # Safety
/// `src` and `dst` are valid for `N` bytes (any alignment).
#[inline(always)]
unsafe fn copy_word<const N: usize>(dst: *mut u8, src: *const u8) {
    // SAFETY: (caller).
    unsafe {
        (dst as *mut MaybeUninit<[u8; N]>)
            .write_unaligned((src as *const MaybeUninit<[u8; N]>).read_unaligned())
    }
}

unsafe fn drop_elem<T>(p: *mut u8) {
    // SAFETY: (caller) p points at an initialized T nobody else owns.
    unsafe { ptr::drop_in_place(p as *mut T) }
}

/// Models `runtime.makechan` (chan.go).
pub(crate) fn makechan<T: Send>(size: usize) -> Hchan {
    let Ok(layout) = Layout::array::<T>(size) else {
        panic!("makechan: size out of range");
    };
    let buf = if layout.size() == 0 {
        // Queue or element size is zero (Go: c.buf = c.raceaddr()): any
        // aligned non-null address works, nothing is read or written.
        layout.align() as *mut u8
    } else {
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc(layout) };
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        p
    };
    Hchan {
        qcount: AtomicUsize::new(0),
        dataqsiz: size,
        buf,
        elemsize: std::mem::size_of::<T>(),
        closed: AtomicU32::new(0),
        sendx: AtomicUsize::new(0),
        recvx: AtomicUsize::new(0),
        recvq: WaitQ::new(),
        sendq: WaitQ::new(),
        lock: Lock::new(),
        elem_drop: drop_elem::<T>,
        buf_layout: layout,
    }
}

impl Hchan {
    /// Models `chanbuf(c, i)`: pointer to the i'th slot in the buffer.
    #[inline]
    pub(crate) fn chanbuf(&self, i: usize) -> *mut u8 {
        self.buf.wrapping_add(i * self.elemsize)
    }

    /// Go's `typedmemmove(c.elemtype, dst, src)`: moves one element.
    ///
    /// # Safety
    /// `src` holds an element the caller gives up; `dst` is an element-sized
    /// slot whose previous content (if any) was already moved out.
    /// Small sizes are copied inline (a word-sized element would otherwise
    /// cost a call to `memcpy`, as the size is only known at run time).
    #[inline]
    pub(crate) unsafe fn typedmemmove(&self, dst: *mut u8, src: *const u8) {
        // SAFETY: (caller) both point at distinct element-sized slots; the
        // fixed-size copies are unaligned, so any element alignment works.
        unsafe {
            match self.elemsize {
                0 => {}
                1 => copy_word::<1>(dst, src),
                2 => copy_word::<2>(dst, src),
                4 => copy_word::<4>(dst, src),
                8 => copy_word::<8>(dst, src),
                16 => copy_word::<16>(dst, src),
                n => ptr::copy_nonoverlapping(src, dst, n),
            }
        }
    }

    /// Acquire: a reader that sees `closed` also sees every element sent
    /// before the close (the chanrecv fast path relies on it).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Acquire) != 0
    }

    pub(crate) fn qcount(&self) -> usize {
        self.qcount.load(Relaxed)
    }

    pub(crate) fn dataqsiz(&self) -> usize {
        self.dataqsiz
    }

    /// Models `full(c)` (chan.go): would a send block? Racy by design.
    fn full(&self) -> bool {
        if self.dataqsiz == 0 {
            return self.recvq.is_empty();
        }
        self.qcount.load(Acquire) == self.dataqsiz
    }

    /// Models `empty(c)` (chan.go): would a receive block? Racy by design.
    fn empty(&self) -> bool {
        if self.dataqsiz == 0 {
            return self.sendq.is_empty();
        }
        self.qcount.load(Acquire) == 0
    }

    /// The buffered-send step of chansend/selectgo (`bufsend`): copies the
    /// element into the slot at sendx. Lock held, `qcount < dataqsiz`.
    ///
    /// # Safety
    /// `ep` holds an element the caller gives up.
    pub(crate) unsafe fn buf_send(&self, ep: *const u8) {
        let sendx = self.sendx.load(Relaxed);
        // SAFETY: the slot at sendx is free (qcount < dataqsiz); (caller) ep.
        unsafe { self.typedmemmove(self.chanbuf(sendx), ep) };
        let next = if sendx + 1 == self.dataqsiz {
            0
        } else {
            sendx + 1
        };
        self.sendx.store(next, Relaxed);
        self.qcount.store(self.qcount.load(Relaxed) + 1, Relaxed);
    }

    /// The buffered-receive step of chanrecv/selectgo (`bufrecv`): moves
    /// the element at recvx into `ep`. Lock held, `qcount > 0`.
    ///
    /// # Safety
    /// `ep` is an element-sized slot with nothing to drop in it.
    pub(crate) unsafe fn buf_recv(&self, ep: *mut u8) {
        let recvx = self.recvx.load(Relaxed);
        // SAFETY: the slot at recvx is full (qcount > 0); (caller) ep.
        unsafe { self.typedmemmove(ep, self.chanbuf(recvx)) };
        let next = if recvx + 1 == self.dataqsiz {
            0
        } else {
            recvx + 1
        };
        self.recvx.store(next, Relaxed);
        self.qcount.store(self.qcount.load(Relaxed) - 1, Relaxed);
    }
}

/// The prologue safepoint of Go's chansend1/chanrecv2 for the goroutine
/// `getg` just returned (saves a second lookup of the current M).
#[inline]
pub(crate) fn preempt_check(gp: &G) {
    if gp.preempt.load(Relaxed) {
        crate::safepoint();
    }
}

/// The current goroutine, for a blocking channel operation (checked before
/// taking the lock, so misuse outside a goroutine panics cleanly).
#[inline]
pub(crate) fn getg(what: &str) -> &'static G {
    crate::stubs::need_g(what).1
}

// ---------------------------------------------------------------------------
// chansend, chanrecv, send, recv, closechan

/// Outcome of [`chansend`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SendResult {
    /// The element was delivered (Go: returns true).
    Sent,
    /// Non-blocking and it would have blocked (Go: returns false).
    WouldBlock,
    /// The channel is closed (Go panics inside chansend; gmp returns so the
    /// caller can drop the element it still owns, then panics).
    Closed,
}

/// Models `runtime.chansend` (chan.go). `ep` points at the element; it is
/// consumed iff the result is `Sent`.
///
/// # Safety
/// `ep` points at an initialized element of the channel's type that stays
/// put until this returns; `gp` is the current goroutine when `block`.
pub(crate) unsafe fn chansend(
    c: &Hchan,
    ep: *const u8,
    block: bool,
    gp: Option<&'static G>,
) -> SendResult {
    // Fast path: check for failed non-blocking operation without acquiring
    // the lock (the two racy reads are ordered as Go explains).
    if !block && !c.is_closed() && c.full() {
        return SendResult::WouldBlock;
    }

    c.lock.lock();

    if c.is_closed() {
        c.lock.unlock();
        return SendResult::Closed;
    }

    let sg = c.recvq.dequeue();
    if !sg.is_null() {
        // Found a waiting receiver. We pass the value we want to send
        // directly to the receiver, bypassing the channel buffer (if any).
        // SAFETY: sg was just dequeued under the lock (live, its G parked);
        // (caller) ep.
        unsafe { send(c, sg, ep, || c.lock.unlock()) };
        return SendResult::Sent;
    }

    if c.qcount.load(Relaxed) < c.dataqsiz {
        // Space is available in the channel buffer. Enqueue the element.
        // SAFETY: (caller) ep.
        unsafe { c.buf_send(ep) };
        c.lock.unlock();
        return SendResult::Sent;
    }

    if !block {
        c.lock.unlock();
        return SendResult::WouldBlock;
    }

    // Block on the channel. Some receiver will complete our operation for us.
    let Some(gp) = gp else {
        c.lock.unlock();
        crate::panic::throw("chansend: blocking without a goroutine");
    };
    let sgp = acquire_sudog(cur_p(gp), GRef(gp), ep as *mut u8);
    gp.param.store(0, Relaxed);
    // SAFETY: the sudog is ours until we release it below, after a waker
    // dequeued it (we are parked until then).
    unsafe { c.sendq.enqueue(sgp) };
    let lockp: *const Lock = &c.lock;
    gopark(WaitReason::ChanSend, move |_| chanparkcommit(lockp));
    // Someone woke us up.
    // SAFETY: whoever dequeued our sudog finished with it before goready,
    // which happens-before our resumption.
    let closed = !unsafe { (*sgp).success };
    gp.param.store(0, Relaxed);
    release_sudog(cur_p(gp), gp.sched, sgp);
    if closed {
        if !c.is_closed() {
            crate::panic::throw("chansend: spurious wakeup");
        }
        return SendResult::Closed;
    }
    SendResult::Sent
}

/// Models `runtime.chanparkcommit` (chan.go): runs on the M after the G is
/// off its stack; unlocking makes the G readiable, so nothing after the
/// unlock may touch it or the channel.
fn chanparkcommit(lockp: *const Lock) -> bool {
    // SAFETY: the lock is held (taken by the parking G) and live until this
    // unlock releases it (see unlock_raw).
    unsafe { Lock::unlock_raw(lockp) };
    true
}

/// Models `runtime.send` (chan.go): hands `ep`'s element to the parked
/// receiver `sg` (Go's `sendDirect`: the value is copied into the slot on
/// the receiver's stack), runs `unlockf`, then readies the receiver.
///
/// # Safety
/// `sg` was dequeued from `c.recvq` under the lock; `ep` holds an element
/// the caller gives up; `unlockf` releases the lock(s) held.
pub(crate) unsafe fn send(c: &Hchan, sg: *mut Sudog, ep: *const u8, unlockf: impl FnOnce()) {
    // SAFETY: (caller) sg is live and exclusively ours (dequeued); its G
    // stays parked, so its elem slot stays valid, until goready below.
    unsafe {
        if !(*sg).elem.is_null() {
            c.typedmemmove((*sg).elem, ep); // sendDirect
            (*sg).elem = ptr::null_mut();
        }
        let gp = (*sg).g;
        unlockf();
        gp.0.param.store(sg as usize, Relaxed);
        (*sg).success = true;
        goready(gp);
    }
}

/// Models `runtime.chanrecv` (chan.go): receives into `ep`. Returns
/// (selected, received): (false, _) = non-blocking and would block;
/// (true, false) = closed and empty, nothing written; (true, true) = an
/// element was written to `ep`.
///
/// # Safety
/// `ep` is an element-sized slot with nothing to drop in it, that stays
/// put until this returns; `gp` is the current goroutine when `block`.
pub(crate) unsafe fn chanrecv(
    c: &Hchan,
    ep: *mut u8,
    block: bool,
    gp: Option<&'static G>,
) -> (bool, bool) {
    // Fast path: check for failed non-blocking operation without acquiring
    // the lock.
    if !block && c.empty() {
        if !c.is_closed() {
            return (false, false);
        }
        // The channel is irreversibly closed. Re-check whether the channel
        // has any pending data to receive, which could have arrived between
        // the empty and closed checks above.
        if c.empty() {
            return (true, false);
        }
    }

    c.lock.lock();

    if c.is_closed() {
        if c.qcount.load(Relaxed) == 0 {
            c.lock.unlock();
            return (true, false);
        }
        // The channel has been closed, but the channel's buffer has data.
    } else {
        // Just found waiting sender with not closed.
        let sg = c.sendq.dequeue();
        if !sg.is_null() {
            // SAFETY: sg dequeued under the lock; (caller) ep.
            unsafe { recv(c, sg, ep, || c.lock.unlock()) };
            return (true, true);
        }
    }

    if c.qcount.load(Relaxed) > 0 {
        // Receive directly from queue.
        // SAFETY: (caller) ep.
        unsafe { c.buf_recv(ep) };
        c.lock.unlock();
        return (true, true);
    }

    if !block {
        c.lock.unlock();
        return (false, false);
    }

    // no sender available: block on this channel.
    let Some(gp) = gp else {
        c.lock.unlock();
        crate::panic::throw("chanrecv: blocking without a goroutine");
    };
    let sgp = acquire_sudog(cur_p(gp), GRef(gp), ep);
    gp.param.store(0, Relaxed);
    // SAFETY: as in chansend.
    unsafe { c.recvq.enqueue(sgp) };
    let lockp: *const Lock = &c.lock;
    gopark(WaitReason::ChanReceive, move |_| chanparkcommit(lockp));
    // someone woke us up
    // SAFETY: as in chansend.
    let success = unsafe { (*sgp).success };
    gp.param.store(0, Relaxed);
    release_sudog(cur_p(gp), gp.sched, sgp);
    (true, success)
}

/// Models `runtime.recv` (chan.go): takes an element from the parked
/// sender `sg`. Unbuffered: copy straight from the sender's stack
/// (`recvDirect`). Full buffer: take the head of the queue and put the
/// sender's element at its tail. Then `unlockf` and ready the sender.
///
/// # Safety
/// `sg` was dequeued from `c.sendq` under the lock; `ep` is an empty
/// element-sized slot; `unlockf` releases the lock(s) held.
pub(crate) unsafe fn recv(c: &Hchan, sg: *mut Sudog, ep: *mut u8, unlockf: impl FnOnce()) {
    // SAFETY: (caller) sg is live and ours, its G parked until goready; a
    // parked sender exists with dataqsiz > 0 only when the buffer is full.
    unsafe {
        if c.dataqsiz == 0 {
            c.typedmemmove(ep, (*sg).elem); // recvDirect
        } else {
            let recvx = c.recvx.load(Relaxed);
            let qp = c.chanbuf(recvx);
            // copy data from queue to receiver
            c.typedmemmove(ep, qp);
            // copy data from sender to queue
            c.typedmemmove(qp, (*sg).elem);
            let next = if recvx + 1 == c.dataqsiz {
                0
            } else {
                recvx + 1
            };
            c.recvx.store(next, Relaxed);
            c.sendx.store(next, Relaxed); // c.sendx = (c.sendx+1) % c.dataqsiz
        }
        (*sg).elem = ptr::null_mut();
        let gp = (*sg).g;
        unlockf();
        gp.0.param.store(sg as usize, Relaxed);
        (*sg).success = true;
        goready(gp);
    }
}

/// Models `runtime.closechan` (chan.go): marks the channel closed, then
/// wakes every parked receiver (they get nothing: `None`) and every parked
/// sender (they keep their element and panic). Goroutines are readied only
/// after the lock is dropped, as in Go.
pub(crate) fn closechan(c: &Hchan) {
    c.lock.lock();
    if c.is_closed() {
        c.lock.unlock();
        panic!("close of closed channel");
    }
    c.closed.store(1, Release);

    let mut glist: Vec<GRef> = Vec::new();
    // release all readers, then all writers (they will panic)
    for q in [&c.recvq, &c.sendq] {
        loop {
            let sg = q.dequeue();
            if sg.is_null() {
                break;
            }
            // SAFETY: dequeued under the lock: live, its G parked until the
            // goready below (after which we never touch it).
            unsafe {
                (*sg).elem = ptr::null_mut();
                let gp = (*sg).g;
                gp.0.param.store(sg as usize, Relaxed);
                (*sg).success = false;
                glist.push(gp);
            }
        }
    }
    c.lock.unlock();

    // Ready all Gs now that we've dropped the channel lock.
    for gp in glist {
        goready(gp);
    }
}

// ---------------------------------------------------------------------------
// The typed API

/// Creates a channel of `T` with a buffer of `cap` elements (0:
/// unbuffered), Go's `make(chan T, cap)` (models `runtime.makechan`).
pub fn chan<T: Send>(cap: usize) -> Chan<T> {
    Chan {
        c: Arc::new(makechan::<T>(cap)),
        _t: PhantomData,
    }
}

/// A channel handle, Go's `chan T`. Clones refer to the same channel.
///
/// Blocking operations (`send`, `recv`, and `select!` without `default`)
/// must be called from a goroutine; `try_*`, `close`, `len` and `cap` work
/// from any thread.
pub struct Chan<T: Send> {
    c: Arc<Hchan>,
    // Invariant in T, and Send + Sync whenever T: Send (the hchan moves
    // values between threads, never shares them).
    _t: PhantomData<fn(T) -> T>,
}

impl<T: Send> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan {
            c: self.c.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Send> std::fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Chan({:p}, len {}, cap {}{})",
            Arc::as_ptr(&self.c),
            self.len(),
            self.cap(),
            if self.c.is_closed() { ", closed" } else { "" }
        )
    }
}

/// A non-blocking operation found the channel not ready (the `default`
/// case of a one-case `select`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WouldBlock;

impl std::fmt::Display for WouldBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("channel operation would block")
    }
}

impl std::error::Error for WouldBlock {}

impl<T: Send> Chan<T> {
    pub(crate) fn hchan(&self) -> &Hchan {
        &self.c
    }

    /// `c <- v` (models `runtime.chansend1`): blocks until a receiver takes
    /// `v` or there is room in the buffer; a parked receiver gets `v`
    /// directly. Panics "send on closed channel" if the channel is or gets
    /// closed (the unsent `v` is dropped first).
    pub fn send(&self, v: T) {
        let gp = getg("send");
        preempt_check(gp);
        let v = ManuallyDrop::new(v);
        // SAFETY: `v` is initialized and stays in this frame until chansend
        // returns; it is consumed iff the result is Sent.
        let r = unsafe { chansend(&self.c, ptr::addr_of!(*v) as *const u8, true, Some(gp)) };
        if r != SendResult::Sent {
            drop(ManuallyDrop::into_inner(v));
            panic!("send on closed channel");
        }
    }

    /// `v, ok := <-c` (models `runtime.chanrecv2`): blocks until a value
    /// arrives (`Some`) or the channel is closed and drained (`None`, Go's
    /// zero value and false).
    pub fn recv(&self) -> Option<T> {
        let gp = getg("recv");
        preempt_check(gp);
        let mut slot = MaybeUninit::<T>::uninit();
        // SAFETY: slot is empty and stays in this frame until chanrecv
        // returns; it is initialized iff received.
        let (_, received) =
            unsafe { chanrecv(&self.c, slot.as_mut_ptr() as *mut u8, true, Some(gp)) };
        // SAFETY: chanrecv wrote an element iff received.
        received.then(|| unsafe { slot.assume_init() })
    }

    /// `select { case c <- v: ... default: ... }` (models
    /// `runtime.selectnbsend`): sends if that needs no waiting, else gives
    /// `v` back. Panics "send on closed channel" on a closed channel, as Go.
    pub fn try_send(&self, v: T) -> Result<(), T> {
        crate::safepoint();
        let v = ManuallyDrop::new(v);
        // SAFETY: as in send.
        match unsafe { chansend(&self.c, ptr::addr_of!(*v) as *const u8, false, None) } {
            SendResult::Sent => Ok(()),
            SendResult::WouldBlock => Err(ManuallyDrop::into_inner(v)),
            SendResult::Closed => {
                drop(ManuallyDrop::into_inner(v));
                panic!("send on closed channel");
            }
        }
    }

    /// `select { case v, ok := <-c: ... default: ... }` (models
    /// `runtime.selectnbrecv`): `Ok(Some(v))` a value, `Ok(None)` closed and
    /// drained, `Err(WouldBlock)` nothing ready.
    pub fn try_recv(&self) -> Result<Option<T>, WouldBlock> {
        crate::safepoint();
        let mut slot = MaybeUninit::<T>::uninit();
        // SAFETY: as in recv.
        let (selected, received) =
            unsafe { chanrecv(&self.c, slot.as_mut_ptr() as *mut u8, false, None) };
        if !selected {
            return Err(WouldBlock);
        }
        // SAFETY: as in recv.
        Ok(received.then(|| unsafe { slot.assume_init() }))
    }

    /// `close(c)` (models `runtime.closechan`): receivers get the buffered
    /// values, then `None`; parked senders panic. Panics "close of closed
    /// channel" if already closed.
    pub fn close(&self) {
        closechan(&self.c);
    }

    /// `len(c)` (models `runtime.chanlen`): elements buffered now.
    pub fn len(&self) -> usize {
        self.c.qcount()
    }

    /// Whether no element is buffered (`len(c) == 0`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `cap(c)` (models `runtime.chancap`): the buffer size.
    pub fn cap(&self) -> usize {
        self.c.dataqsiz()
    }
}
