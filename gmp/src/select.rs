//! `select`: Go 1.19's `runtime/select.go`.
//!
//! [`selectgo`] is Go's, pass for pass:
//!
//! 1. **Orders.** `pollorder` is a uniformly random permutation of the
//!    cases (Go's inside-out Fisher–Yates with `fastrandn`), which is what
//!    makes `select` fair among ready cases. `lockorder` is the cases
//!    sorted by channel address (Go heap-sorts `pollorder` by address to
//!    keep a constant stack; gmp sorts stably, which gives the same order
//!    of channels and likewise keeps duplicate channels in poll order).
//! 2. **Pass 1.** With every channel locked (in `lockorder`, each channel
//!    once: `sellock`), look for a case that can proceed, in `pollorder`:
//!    a parked partner, buffer data/room, or a closed channel.
//! 3. **Non-blocking** (a `default` arm): nothing ready -> unlock, -1.
//! 4. **Pass 2.** Enqueue a sudog on every channel (in lock order: the
//!    array of sudogs plays Go's `gp.waiting` list linked by `waitlink`),
//!    park with `selparkcommit`, which unlocks the channels.
//! 5. **Wake-up.** The first waker wins the CAS on the select's
//!    `selectDone` flag (in `waitq.dequeue`), completes its case on our
//!    sudog and readies us with `gp.param` = that sudog (`closechan` also
//!    sets `param`, with `success = false`). Wakers that lose the CAS skip
//!    our sudog.
//! 6. **Pass 3.** Relock everything, find the case whose sudog is
//!    `gp.param`, unlink the others (`dequeueSudoG`).
//!
//! Invariants: the sudogs and `selectDone` live in `selectgo`'s frame (an
//! array in it, or a `Vec` it owns beyond 8 cases: [`CaseBuf`]), valid
//! while any is queued, because `selectgo`
//! returns only after pass 3 unlinked them all under their channels'
//! locks. `selparkcommit` reads only the lock list, which stays valid
//! because the woken goroutine cannot pass `sellock` (and so cannot return)
//! before the commit released the last lock.
//!
//! The typed layer: a case is a [`RecvCase`] or a [`SendCase`] (each owns
//! its value slot); [`select`] runs `selectgo` over `&mut dyn SelectCase`
//! and tells the winning case what happened; the [`crate::select!`] macro
//! is sugar over that.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering::*};

use crate::chan::{Chan, Hchan, Lock, Sudog, recv, send};
use crate::runtime2::{GRef, WaitReason};
use crate::{gopark, proc};

/// Go's `scase`: a channel and a data element pointer, plus the direction
/// (Go orders sends before receives instead).
#[derive(Clone, Copy)]
#[doc(hidden)]
pub struct Scase {
    c: *const Hchan,
    elem: *mut u8,
    is_send: bool,
}

/// What `selectgo` keeps per case: the orders, the lock list, the sudogs.
/// Go's compiler gives `selectgo` arrays on the caller's stack, sized for
/// the select; here they are inline for up to `N` cases (every select the
/// macro writes by hand) and on the heap beyond, so a select allocates
/// nothing.
struct CaseBuf<T: Copy, const N: usize> {
    inline: [T; N],
    heap: Vec<T>,
    len: usize,
}

/// Inline capacity of a [`CaseBuf`].
const INLINE_CASES: usize = 8;

impl<T: Copy, const N: usize> CaseBuf<T, N> {
    /// `len` elements, each `fill`.
    fn new(len: usize, fill: T) -> Self {
        CaseBuf {
            inline: [fill; N],
            heap: if len > N { vec![fill; len] } else { Vec::new() },
            len,
        }
    }
}

impl<T: Copy, const N: usize> std::ops::Deref for CaseBuf<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        if self.len > N {
            &self.heap
        } else {
            &self.inline[..self.len]
        }
    }
}

impl<T: Copy, const N: usize> std::ops::DerefMut for CaseBuf<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        if self.len > N {
            &mut self.heap
        } else {
            &mut self.inline[..self.len]
        }
    }
}

/// Models `runtime.fastrandn` (stubs.go): uniform in [0, n).
fn fastrandn(n: u32) -> u32 {
    ((crate::stubs::fastrand() as u64 * n as u64) >> 32) as u32
}

/// Models `runtime.sellock` (select.go): locks each distinct channel once,
/// in address order.
fn sellock(lockchans: &[*const Hchan]) {
    let mut prev: *const Hchan = ptr::null();
    for &c in lockchans {
        if c != prev {
            prev = c;
            // SAFETY: the cases borrow their channels for the whole select.
            unsafe { (*c).lock.lock() };
        }
    }
}

/// Models `runtime.selunlock` (select.go): unlocks in reverse order.
fn selunlock(lockchans: &[*const Hchan]) {
    for i in (0..lockchans.len()).rev() {
        let c = lockchans[i];
        if i > 0 && c == lockchans[i - 1] {
            continue; // will unlock it on the next iteration
        }
        // SAFETY: locked by sellock; the channel is borrowed by its case.
        unsafe { Lock::unlock_raw(&(*c).lock) };
    }
}

/// Models `runtime.selparkcommit` (select.go): runs on the M once the G is
/// off its stack and unlocks every channel, each once, after its last
/// sudog. Reads `lockchans` (in the parked frame) only before the final
/// unlock: until then the G, even if already readied, blocks in `sellock`.
///
/// # Safety
/// `lockchans` points at the select's lock list, all channels locked.
unsafe fn selparkcommit(lockchans: *const [*const Hchan]) -> bool {
    let n = lockchans.len();
    let at = |i: usize| {
        // SAFETY: (caller) i < n and the list is valid until the last
        // unlock; entry i + 1 is read before channel i is unlocked.
        unsafe { lockchans.cast::<*const Hchan>().add(i).read() }
    };
    for i in 0..n {
        let c = at(i);
        let last_of_c = i + 1 == n || at(i + 1) != c;
        if last_of_c {
            // SAFETY: locked by sellock and live (borrowed by a case whose
            // select cannot return before relocking it).
            unsafe { Lock::unlock_raw(&(*c).lock) };
        }
    }
    true
}

/// Models `runtime.block` (select.go): `select {}` parks forever.
fn block() -> ! {
    gopark(WaitReason::SelectNoCases, |_| true);
    crate::panic::throw("select (no cases): goroutine resumed");
}

/// Models `runtime.selectgo` (select.go). Returns the index of the case
/// that fired, or -1 for `default` (only when `!block`), and for a receive
/// whether a value was received (false: closed). Panics "send on closed
/// channel" when the chosen case is a send on a closed channel.
///
/// # Safety
/// Every case's channel is live for the call; a send case's `elem` holds
/// an element given up iff that case is returned; a receive case's `elem`
/// is an empty slot, written iff that case is returned with true. All
/// `elem`s stay put until this returns.
pub(crate) unsafe fn selectgo(scases: &[Scase], block_: bool) -> (isize, bool) {
    let ncases = scases.len();
    if ncases == 0 && block_ {
        block();
    }
    let gp = if block_ {
        let gp = crate::chan::getg("select");
        crate::chan::preempt_check(gp);
        Some(gp)
    } else {
        proc::safepoint();
        None
    };

    // generate permuted order
    let mut pollorder = CaseBuf::<usize, INLINE_CASES>::new(ncases, 0);
    for i in 0..ncases {
        let j = fastrandn(i as u32 + 1) as usize;
        pollorder[i] = pollorder[j];
        pollorder[j] = i;
    }
    // sort the cases by hchan address to get the locking order.
    let mut lockorder = CaseBuf::<usize, INLINE_CASES>::new(ncases, 0);
    lockorder.copy_from_slice(&pollorder);
    lockorder.sort_by_key(|&i| scases[i].c as usize);
    let mut lockchans = CaseBuf::<*const Hchan, INLINE_CASES>::new(ncases, ptr::null());
    for (k, &i) in lockorder.iter().enumerate() {
        lockchans[k] = scases[i].c;
    }

    // lock all the channels involved in the select
    sellock(&lockchans);

    // pass 1 - look for something already waiting
    for &casi in pollorder.iter() {
        let cas = scases[casi];
        // SAFETY: (caller) the channel is live; we hold its lock.
        let c = unsafe { &*cas.c };
        if !cas.is_send {
            let sg = c.sendq.dequeue();
            if !sg.is_null() {
                // can receive from sleeping sender (sg)
                // SAFETY: sg dequeued under the lock; (caller) elem.
                unsafe { recv(c, sg, cas.elem, || selunlock(&lockchans)) };
                return (casi as isize, true);
            }
            if c.qcount() > 0 {
                // bufrecv: can receive from buffer
                // SAFETY: lock held, qcount > 0; (caller) elem.
                unsafe { c.buf_recv(cas.elem) };
                selunlock(&lockchans);
                return (casi as isize, true);
            }
            if c.is_closed() {
                // rclose: read at end of closed channel
                selunlock(&lockchans);
                return (casi as isize, false);
            }
        } else {
            if c.is_closed() {
                // sclose: send on closed channel
                selunlock(&lockchans);
                panic!("send on closed channel");
            }
            let sg = c.recvq.dequeue();
            if !sg.is_null() {
                // can send to a sleeping receiver (sg)
                // SAFETY: sg dequeued under the lock; (caller) elem.
                unsafe { send(c, sg, cas.elem, || selunlock(&lockchans)) };
                return (casi as isize, false);
            }
            if c.qcount() < c.dataqsiz() {
                // bufsend: can send to buffer
                // SAFETY: lock held, room in the buffer; (caller) elem.
                unsafe { c.buf_send(cas.elem) };
                selunlock(&lockchans);
                return (casi as isize, false);
            }
        }
    }

    let Some(gp) = gp else {
        selunlock(&lockchans);
        return (-1, false);
    };

    // pass 2 - enqueue on all chans
    let select_done = AtomicU32::new(0);
    let mut sgs =
        CaseBuf::<Sudog, INLINE_CASES>::new(ncases, Sudog::new(GRef(gp), ptr::null_mut()));
    for (k, &casi) in lockorder.iter().enumerate() {
        let sg = &mut sgs[k];
        sg.elem = scases[casi].elem;
        sg.is_select = true;
        sg.select_done = &select_done;
    }
    let base: *mut Sudog = sgs.as_mut_ptr();
    for (k, &casi) in lockorder.iter().enumerate() {
        // SAFETY: k < sgs.len(); sgs is never resized, so the sudogs stay
        // put; they live until pass 3 unlinked them (see the top comment).
        unsafe {
            let sg = base.add(k);
            let c = &*scases[casi].c;
            if scases[casi].is_send {
                c.sendq.enqueue(sg);
            } else {
                c.recvq.enqueue(sg);
            }
        }
    }

    // wait for someone to wake us up
    gp.param.store(0, Relaxed);
    let lockp: *const [*const Hchan] = &lockchans[..];
    // SAFETY: all channels are locked; see selparkcommit.
    gopark(WaitReason::Select, move |_| unsafe { selparkcommit(lockp) });

    sellock(&lockchans);

    let winner = gp.param.load(Relaxed) as *mut Sudog;
    gp.param.store(0, Relaxed);

    // pass 3 - dequeue from unsuccessful chans, record the successful case.
    let mut chosen: Option<(usize, bool)> = None;
    for (k, &casi) in lockorder.iter().enumerate() {
        // SAFETY: k < sgs.len(); lock held on every channel.
        unsafe {
            let sg = base.add(k);
            if sg == winner {
                // sg has already been dequeued by the G that woke us up.
                chosen = Some((casi, (*sg).success));
            } else {
                let c = &*scases[casi].c;
                if scases[casi].is_send {
                    c.sendq.dequeue_sudog(sg);
                } else {
                    c.recvq.dequeue_sudog(sg);
                }
            }
        }
    }
    drop(sgs);

    let Some((casi, success)) = chosen else {
        selunlock(&lockchans);
        crate::panic::throw("selectgo: bad wakeup");
    };
    selunlock(&lockchans);
    if scases[casi].is_send {
        if !success {
            panic!("send on closed channel"); // sclose
        }
        return (casi as isize, false);
    }
    (casi as isize, success)
}

// ---------------------------------------------------------------------------
// The typed layer

mod sealed {
    pub trait Sealed {}
}

/// One case of a [`select`]: a [`RecvCase`] or a [`SendCase`].
pub trait SelectCase: sealed::Sealed {
    #[doc(hidden)]
    fn scase(&mut self) -> Scase;
    /// Called on the case that fired (`recv_ok`: a value was received).
    #[doc(hidden)]
    fn fire(&mut self, recv_ok: bool);
    /// Whether this case was the one chosen.
    fn fired(&self) -> bool;
}

/// `case v, ok := <-c` in a select.
pub struct RecvCase<'a, T: Send> {
    c: &'a Chan<T>,
    slot: MaybeUninit<T>,
    result: Option<Option<T>>,
}

impl<'a, T: Send> RecvCase<'a, T> {
    pub fn new(c: &'a Chan<T>) -> Self {
        RecvCase {
            c,
            slot: MaybeUninit::uninit(),
            result: None,
        }
    }

    /// The received value: `Some(v)`, or `None` if the channel was closed
    /// (Go's `ok == false`). Panics if this case did not fire.
    pub fn take(&mut self) -> Option<T> {
        self.result
            .take()
            .expect("gmp::RecvCase::take: this case did not fire")
    }
}

impl<T: Send> sealed::Sealed for RecvCase<'_, T> {}

impl<T: Send> SelectCase for RecvCase<'_, T> {
    fn scase(&mut self) -> Scase {
        Scase {
            c: self.c.hchan(),
            elem: self.slot.as_mut_ptr() as *mut u8,
            is_send: false,
        }
    }
    fn fire(&mut self, recv_ok: bool) {
        // SAFETY: selectgo wrote an element into slot iff recv_ok.
        self.result = Some(recv_ok.then(|| unsafe { self.slot.assume_init_read() }));
    }
    fn fired(&self) -> bool {
        self.result.is_some()
    }
}

/// `case c <- v` in a select. If another case fires, `v` is dropped with
/// the case.
pub struct SendCase<'a, T: Send> {
    c: &'a Chan<T>,
    v: MaybeUninit<T>,
    /// `v` is initialized (not sent).
    has_v: bool,
    fired: bool,
}

impl<'a, T: Send> SendCase<'a, T> {
    pub fn new(c: &'a Chan<T>, v: T) -> Self {
        SendCase {
            c,
            v: MaybeUninit::new(v),
            has_v: true,
            fired: false,
        }
    }

    /// Unit: a send case has no result (for the `select!` macro).
    pub fn take(&mut self) {}
}

impl<T: Send> Drop for SendCase<'_, T> {
    fn drop(&mut self) {
        if self.has_v {
            // SAFETY: has_v says v is initialized and still ours.
            unsafe { self.v.assume_init_drop() };
        }
    }
}

impl<T: Send> sealed::Sealed for SendCase<'_, T> {}

impl<T: Send> SelectCase for SendCase<'_, T> {
    fn scase(&mut self) -> Scase {
        Scase {
            c: self.c.hchan(),
            elem: self.v.as_mut_ptr() as *mut u8,
            is_send: true,
        }
    }
    fn fire(&mut self, _recv_ok: bool) {
        // selectgo moved the element out.
        self.has_v = false;
        self.fired = true;
    }
    fn fired(&self) -> bool {
        self.fired
    }
}

/// Go's `select` statement over `cases` (models `runtime.selectgo`):
/// waits until one case can proceed and performs it; with `default` true
/// it does not wait and returns `None` when no case is ready. Returns the
/// index of the case that fired (which [`SelectCase::fired`] also says).
/// Among ready cases the choice is uniformly random. Panics "send on
/// closed channel" if the chosen case sends on a closed channel. With no
/// cases and no default it blocks forever (`select {}`).
pub fn select(cases: &mut [&mut dyn SelectCase], default: bool) -> Option<usize> {
    let fill = Scase {
        c: ptr::null(),
        elem: ptr::null_mut(),
        is_send: false,
    };
    let mut scases = CaseBuf::<Scase, INLINE_CASES>::new(cases.len(), fill);
    for (k, c) in cases.iter_mut().enumerate() {
        scases[k] = c.scase();
    }
    // SAFETY: the cases borrow their channels and own their elements for
    // this call; a send case's element is given up iff it fires (then
    // `fire` records that it moved), a receive slot is written iff it fires
    // with ok.
    let (casi, recv_ok) = unsafe { selectgo(&scases, !default) };
    if casi < 0 {
        return None;
    }
    let i = casi as usize;
    cases[i].fire(recv_ok);
    Some(i)
}

/// Go's `select` statement.
///
/// ```ignore
/// gmp::select! {
///     recv(c1) -> v => println!("got {v:?}"),   // v: Option<T> (None: closed)
///     send(c2, 42) => println!("sent"),
///     default => println!("nothing ready"),      // optional
/// }
/// ```
///
/// Channel and value expressions are evaluated once, in source order,
/// before the select; the value of a send case that does not fire is
/// dropped. Arms are separated by commas (optional after a `{ block }`).
/// Semantics are `runtime.selectgo`'s, see [`select`](fn@crate::select).
#[macro_export]
macro_rules! select {
    ($($t:tt)*) => {
        $crate::__gmp_select!(@parse () () $($t)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __gmp_select {
    // ---- arm heads
    (@parse $arms:tt $def:tt recv($c:expr) -> $v:pat => $($rest:tt)*) => {
        $crate::__gmp_select!(@body $arms $def
            (($crate::RecvCase::new(&$c)) ($v)) $($rest)*)
    };
    (@parse $arms:tt $def:tt send($c:expr, $val:expr) => $($rest:tt)*) => {
        $crate::__gmp_select!(@body $arms $def
            (($crate::SendCase::new(&$c, $val)) (_)) $($rest)*)
    };
    (@parse $arms:tt $def:tt default => $($rest:tt)*) => {
        $crate::__gmp_select!(@body $arms $def (default) $($rest)*)
    };
    // ---- arm bodies (a fresh `__case` identifier per arm: each expansion
    // of these rules has its own hygiene context)
    (@body $arms:tt () (default) $body:block , $($rest:tt)*) => {
        $crate::__gmp_select!(@parse $arms ($body) $($rest)*)
    };
    (@body $arms:tt () (default) $body:block $($rest:tt)*) => {
        $crate::__gmp_select!(@parse $arms ($body) $($rest)*)
    };
    (@body $arms:tt () (default) $body:expr , $($rest:tt)*) => {
        $crate::__gmp_select!(@parse $arms ({ $body }) $($rest)*)
    };
    (@body $arms:tt () (default) $body:expr) => {
        $crate::__gmp_select!(@parse $arms ({ $body }))
    };
    (@body $arms:tt ($($d:tt)+) (default) $($rest:tt)*) => {
        compile_error!("gmp::select!: more than one default arm")
    };
    (@body ($($arms:tt)*) $def:tt ($ctor:tt $bind:tt) $body:block , $($rest:tt)*) => {
        $crate::__gmp_select!(@parse ($($arms)* (__case $ctor $bind $body)) $def $($rest)*)
    };
    (@body ($($arms:tt)*) $def:tt ($ctor:tt $bind:tt) $body:block $($rest:tt)*) => {
        $crate::__gmp_select!(@parse ($($arms)* (__case $ctor $bind $body)) $def $($rest)*)
    };
    (@body ($($arms:tt)*) $def:tt ($ctor:tt $bind:tt) $body:expr , $($rest:tt)*) => {
        $crate::__gmp_select!(@parse ($($arms)* (__case $ctor $bind { $body })) $def $($rest)*)
    };
    (@body ($($arms:tt)*) $def:tt ($ctor:tt $bind:tt) $body:expr) => {
        $crate::__gmp_select!(@parse ($($arms)* (__case $ctor $bind { $body })) $def)
    };
    // ---- all arms parsed
    (@parse ($( ($case:ident ($ctor:expr) ($bind:pat) $body:block) )*) ($($def:tt)*)) => {{
        $( let mut $case = $ctor; )*
        let _ = $crate::select(
            &mut [$( &mut $case as &mut dyn $crate::SelectCase ),*],
            $crate::__gmp_select!(@has_default $($def)*),
        );
        $(
            if $crate::SelectCase::fired(&$case) {
                #[allow(clippy::let_unit_value, unused_variables)]
                let $bind = $case.take();
                $body
            } else
        )* {
            $crate::__gmp_select!(@default $($def)*)
        }
    }};
    (@parse $($t:tt)*) => {
        compile_error!(concat!(
            "gmp::select!: expected `recv(chan) -> pattern => body`, ",
            "`send(chan, value) => body` or `default => body`, got: ",
            stringify!($($t)*)
        ))
    };
    (@has_default) => { false };
    (@has_default $($t:tt)+) => { true };
    (@default) => { unreachable!("gmp::select!: no case fired") };
    (@default $b:block) => { $b };
}
