//! Timers: Go 1.19's `runtime/time.go`, function by function, with the one
//! ordering of Go 1.14.1 that wedged the world (golang/go#38023, seed 004).
//!
//! # The model
//!
//! A runtime timer ([`RTimer`]) is Go's `timer`: `pp` (which P's heap holds
//! it), `when`, `period`, `nextwhen`, `f` and a `status` word. Each P owns a
//! 4-ary min-heap of timers ([`PTimers`], Go's `p.timers` under
//! `p.timersLock`), with `timer0When` and `timerModifiedEarliest` cached in
//! atomics so `checkTimers` can decide without the lock that nothing is
//! due. The status word is the whole protocol; whoever CASes a timer into
//! `Modifying`, `Running`, `Removing` or `Moving` owns it until it CASes it
//! out again, and everybody else waits with `osyield` (sched_yield(2) on the
//! M's thread) in a retry loop — exactly where Go has those loops:
//!
//! ```text
//! addtimer:      NoStatus -> Waiting
//! deltimer:      Waiting/ModifiedXX -> Modifying -> Deleted; Running/Moving/Modifying: osyield, retry
//! modtimer:      Waiting/ModifiedXX/Deleted -> Modifying -> ModifiedXX
//!                NoStatus/Removed -> Modifying -> (into this P's heap) -> Waiting
//!                Running/Removing/Moving/Modifying: osyield, retry
//! cleantimers:   (head) Deleted -> Removing -> Removed; ModifiedXX -> Moving -> Waiting
//! adjusttimers:  Deleted -> Removing -> Removed; ModifiedXX -> Moving -> Waiting; Modifying: osyield, look again
//! runtimer:      Waiting -> Running -> NoStatus (or Waiting for a period); Modifying: osyield, look again
//! ```
//!
//! # The two orderings ([`Timers`])
//!
//! `modtimer` for a timer that already ran (`Removed`/`NoStatus`, the
//! `wasRemoved` path every `t.Reset` after `<-t.C` takes):
//!
//! ```text
//! Go 1.14.1                                    Go 1.19 (355f53f + e8be350)
//! CAS Removed -> Modifying                     acquirem (m.locks++: no preemption)
//! add_initialized_timer:  <- safepoint         CAS Removed -> Modifying
//!   lock; clean_timers; do_add_timer; unlock   lock <- safepoint, ignored (m.locks > 0)
//!   wake_net_poller:  <- SAFEPOINT: the G      do_add_timer; unlock
//!      may be preempted here, its timer in     CAS Modifying -> Waiting
//!      this P's heap and still Modifying       releasem
//! CAS Modifying -> Waiting                     wake_net_poller <- safepoint: timer Waiting
//! ```
//!
//! A safepoint is [`crate::safepoint`]: the model of the stack check in a
//! Go function prologue. If the G has a preemption request it is
//! descheduled there (`gopreempt_m`: `dropg`, global run queue) and its M
//! goes into `schedule` -> `find_runnable` -> [`check_timers`], which finds
//! the `Modifying` timer at the head of its own heap and spins in
//! [`run_timer`] (or [`adjust_timers`]) with `osyield`, on g0, with no
//! current G: `preempt_one` skips it and it never gets back to
//! `find_runnable`'s `gcwaiting` check. Only the preempted G could finish
//! the modification, and it waits on the global run queue. With a
//! stop-the-world under way the world never stops (stw.rs); without one
//! (procs 1) it is a livelock with one core spinning. The watchdog
//! (watchdog.rs) reads the diagnosis out of the fields below: each timer
//! remembers the G that last set it `Modifying`, from which call site, and
//! where that G was preempted; each M says what it is spinning on
//! ([`MTimerState`]).
//!
//! # Invariants
//!
//! * A timer is in at most one heap, and `t.pp` names it, exactly when its
//!   status is Waiting, Running, Deleted, Removing, ModifiedXX or Moving, or
//!   Modifying after `do_add_timer` / from a heap state.
//! * `when` changes only while the changer owns the timer (Modifying on the
//!   wasRemoved path before it is in a heap, Moving, Running) and under the
//!   heap's lock when the timer is in a heap, so the heap order holds.
//! * `timer0_when` = `when` of the heap's head (0 if empty);
//!   `timer_modified_earliest` <= `nextwhen` of every ModifiedEarlier timer
//!   in the heap, or 0.
//! * `f` never changes after creation (Go lets modtimer change it; gmp's API
//!   never does); the argument of a sleep timer (its G) is set by the G
//!   itself before the timer is armed.
//!
//! # What differs from Go
//!
//! * Heap elements are `Arc<RTimer>` (Go's GC keeps a timer alive while a
//!   heap holds it; the Arc does the same). No `moveTimers` (no
//!   `procresize`), no `timerpMask` (a P "has timers" when `num_timers > 0`),
//!   no race-detector contexts.
//! * Go 1.14.1's other differences (an `adjustTimers` counter instead of
//!   `timerModifiedEarliest`) are not modeled: only `modtimer`'s ordering and
//!   `acquirem` differ between the two modes, which is the whole of the two
//!   fixes.

use std::panic::Location;
use std::sync::atomic::{
    AtomicI32, AtomicI64, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, Ordering::*,
};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::chan::Chan;
use crate::panic::throw;
use crate::runtime2::*;
use crate::stubs::{getm, need_g};

/// Which `modtimer` ordering the runtime uses (Builder `.timers(..)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Timers {
    /// Go 1.19: status set before `wake_net_poller` (355f53f) and no
    /// preemption while a timer is `Modifying` (e8be350).
    #[default]
    Go1_19,
    /// Go 1.14.1: `wake_net_poller` (a safepoint) between adding the timer
    /// to the heap and CASing it `Modifying -> Waiting`; no `acquirem`.
    Go1_14_1,
}

impl Timers {
    /// The sweep's name: `go1.19` or `go1.14.1`.
    pub fn name(self) -> &'static str {
        match self {
            Timers::Go1_19 => "go1.19",
            Timers::Go1_14_1 => "go1.14.1",
        }
    }

    /// Parses `go1.19` / `go1.14.1`.
    pub fn parse(s: &str) -> Option<Timers> {
        [Timers::Go1_19, Timers::Go1_14_1]
            .into_iter()
            .find(|t| t.name() == s)
    }
}

// Values for the timer status field (time.go).
pub(crate) const TIMER_NO_STATUS: u32 = 0;
pub(crate) const TIMER_WAITING: u32 = 1;
pub(crate) const TIMER_RUNNING: u32 = 2;
pub(crate) const TIMER_DELETED: u32 = 3;
pub(crate) const TIMER_REMOVING: u32 = 4;
pub(crate) const TIMER_REMOVED: u32 = 5;
pub(crate) const TIMER_MODIFYING: u32 = 6;
pub(crate) const TIMER_MODIFIED_EARLIER: u32 = 7;
pub(crate) const TIMER_MODIFIED_LATER: u32 = 8;
pub(crate) const TIMER_MOVING: u32 = 9;

/// Go's names of the status values.
pub(crate) fn status_name(s: u32) -> &'static str {
    match s {
        TIMER_NO_STATUS => "NoStatus",
        TIMER_WAITING => "Waiting",
        TIMER_RUNNING => "Running",
        TIMER_DELETED => "Deleted",
        TIMER_REMOVING => "Removing",
        TIMER_REMOVED => "Removed",
        TIMER_MODIFYING => "Modifying",
        TIMER_MODIFIED_EARLIER => "ModifiedEarlier",
        TIMER_MODIFIED_LATER => "ModifiedLater",
        TIMER_MOVING => "Moving",
        _ => "?",
    }
}

/// Go's `maxWhen`.
const MAX_WHEN: i64 = i64::MAX;

/// Where the last `Modifying` owner of a timer was (diagnosis only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Site {
    None = 0,
    ModTimerRemoved,
    ModTimerInHeap,
    ModTimerDeleted,
    DelTimer,
    AddInitializedTimer,
    WakeNetPoller,
    LockTimers,
}

impl Site {
    fn from_u8(v: u8) -> Site {
        use Site::*;
        [
            None,
            ModTimerRemoved,
            ModTimerInHeap,
            ModTimerDeleted,
            DelTimer,
            AddInitializedTimer,
            WakeNetPoller,
            LockTimers,
        ]
        .get(v as usize)
        .copied()
        .unwrap_or(None)
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Site::None => "?",
            Site::ModTimerRemoved => "mod_timer (timer had run: the wasRemoved path)",
            Site::ModTimerInHeap => "mod_timer (timer in a heap)",
            Site::ModTimerDeleted => "mod_timer (timer was stopped)",
            Site::DelTimer => "del_timer",
            Site::AddInitializedTimer => "mod_timer -> add_initialized_timer",
            Site::WakeNetPoller => "mod_timer -> wake_netpoller",
            Site::LockTimers => "mod_timer -> lock(timersLock)",
        }
    }
}

/// What a timer does when it fires (Go's `f` + `arg`).
pub(crate) enum TimerFn {
    /// `goroutineReady`: the sleep timer of a G (`gp.timer`).
    GoroutineReady(AtomicPtr<G>),
    /// `sendTime`: a non-blocking send of the time on the timer's channel.
    SendTime(Chan<Instant>),
    /// `netpollReadDeadline`, `netpollWriteDeadline` or `netpollDeadline`
    /// on a pollDesc: the timers `pd.rt` and `pd.wt` (netpoll.rs). Which of
    /// the three, and the pollDesc, are the arg (`modtimer` may change the
    /// function; the timer's `seq` goes with it).
    NetpollDeadline(crate::netpoll::DeadlineArg),
}

/// Go's `timer` (time.go).
pub(crate) struct RTimer {
    pp: AtomicPtr<P>,
    pub(crate) when: AtomicI64,
    period: AtomicI64,
    nextwhen: AtomicI64,
    pub(crate) status: AtomicU32,
    f: TimerFn,
    /// Go's `seq`: passed to `f` (the pollDesc sequence number of a
    /// deadline timer; 0 for the others).
    seq: AtomicU64,
    // Diagnosis (model-only): who last set the timer Modifying, from where,
    // and where it was preempted while it was Modifying.
    pub(crate) modifier: AtomicPtr<G>,
    pub(crate) modifier_goid: AtomicU64,
    pub(crate) modifier_m: AtomicI64,
    modifier_site: AtomicU8,
    modifier_loc: AtomicPtr<Location<'static>>,
    preempted_at: AtomicU8,
    pub(crate) fires: AtomicU64,
}

impl RTimer {
    pub(crate) fn new(f: TimerFn) -> RTimer {
        RTimer {
            pp: AtomicPtr::new(std::ptr::null_mut()),
            when: AtomicI64::new(0),
            period: AtomicI64::new(0),
            nextwhen: AtomicI64::new(0),
            status: AtomicU32::new(TIMER_NO_STATUS),
            f,
            seq: AtomicU64::new(0),
            modifier: AtomicPtr::new(std::ptr::null_mut()),
            modifier_goid: AtomicU64::new(0),
            modifier_m: AtomicI64::new(-1),
            modifier_site: AtomicU8::new(0),
            modifier_loc: AtomicPtr::new(std::ptr::null_mut()),
            preempted_at: AtomicU8::new(0),
            fires: AtomicU64::new(0),
        }
    }

    fn cas(&self, old: u32, new: u32) -> bool {
        self.status
            .compare_exchange(old, new, AcqRel, Acquire)
            .is_ok()
    }

    /// Remembers who just set the timer Modifying (diagnosis).
    fn note_modifier(
        &self,
        m: Option<&'static M>,
        site: Site,
        loc: Option<&'static Location<'static>>,
    ) {
        let gp = m.and_then(|m| load(&m.curg));
        self.modifier.store(p_of(gp), Relaxed);
        self.modifier_goid
            .store(gp.map_or(0, |g| g.goid.load(Relaxed)), Relaxed);
        self.modifier_m.store(m.map_or(-1, |m| m.id), Relaxed);
        self.modifier_site.store(site as u8, Relaxed);
        self.modifier_loc.store(
            loc.map_or(std::ptr::null_mut(), |l| l as *const _ as *mut _),
            Relaxed,
        );
        self.preempted_at.store(Site::None as u8, Relaxed);
    }

    /// Sets a deadline timer's `f`, `arg` and `seq` (Go: `t.f = f; t.arg =
    /// arg; t.seq = seq`): by `modtimer` while the timer is Modifying, or by
    /// `poll_set_deadline` before the first `resettimer` (the timer is in
    /// no heap, or Deleted, and so does not run).
    pub(crate) fn set_deadline_fn(&self, call: crate::netpoll::DeadlineCall) {
        match &self.f {
            TimerFn::NetpollDeadline(arg) => arg.set(call.f, call.pd),
            _ => throw("modtimer: a deadline function for a non-deadline timer"),
        }
        self.seq.store(call.seq, Release);
    }

    /// The address printed for this timer (Go prints `0x...`).
    pub(crate) fn addr(&self) -> usize {
        self as *const RTimer as usize
    }

    pub(crate) fn modifier_site(&self) -> Site {
        Site::from_u8(self.modifier_site.load(Relaxed))
    }

    pub(crate) fn preempted_at(&self) -> Site {
        Site::from_u8(self.preempted_at.load(Relaxed))
    }

    pub(crate) fn modifier_loc(&self) -> Option<&'static Location<'static>> {
        let p = self.modifier_loc.load(Relaxed);
        // SAFETY: only ever holds null or a `&'static Location`.
        unsafe { p.as_ref() }
    }
}

/// Models `runtime.badTimer` (time.go): a timer in a status it cannot
/// have here means the state machine is broken; a fatal error, as in Go.
fn bad_timer() -> ! {
    throw("timer data corruption")
}

/// A P's timers (Go: `p.timersLock`, `p.timers`, `p.timer0When`,
/// `p.timerModifiedEarliest`, `p.numTimers`, `p.deletedTimers`).
#[derive(Default)]
pub(crate) struct PTimers {
    lock: Mutex<Vec<Arc<RTimer>>>,
    timer0_when: AtomicI64,
    timer_modified_earliest: AtomicI64,
    num_timers: AtomicU32,
    deleted_timers: AtomicI32,
}

type Heap<'a> = MutexGuard<'a, Vec<Arc<RTimer>>>;

/// `lock(&pp.timersLock)`: the P's timer heap, locked (a poisoned lock is
/// taken as it is, like Go's runtime mutex, which cannot be poisoned).
fn lock_timers(pp: &P) -> Heap<'_> {
    pp.timers.lock.lock().unwrap_or_else(|e| e.into_inner())
}

/// The sleep timer of a G (Go: `gp.timer`), created by its first sleep.
#[derive(Default)]
pub(crate) struct GTimer(OnceLock<Arc<RTimer>>);

/// What an M is doing with timers, for the watchdog (model-only). Written
/// only by the M itself.
#[derive(Default)]
pub(crate) struct MTimerState {
    /// 0: nothing; otherwise a [`Spin`] value.
    pub(crate) spinning: AtomicU8,
    pub(crate) spin_timer: Mutex<Option<Arc<RTimer>>>,
    pub(crate) spin_p: AtomicI64,
    pub(crate) spins: AtomicU64,
    pub(crate) spin_since: AtomicI64,
    /// The watchdog already reported this spin (livelock report).
    pub(crate) reported: AtomicU8,
}

/// Where an M spins with `osyield`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Spin {
    AdjustTimers = 1,
    RunTimer = 2,
    DelTimer = 3,
    ModTimer = 4,
    ClearDeletedTimers = 5,
}

impl Spin {
    pub(crate) fn from_u8(v: u8) -> Option<Spin> {
        match v {
            1 => Some(Spin::AdjustTimers),
            2 => Some(Spin::RunTimer),
            3 => Some(Spin::DelTimer),
            4 => Some(Spin::ModTimer),
            5 => Some(Spin::ClearDeletedTimers),
            _ => None,
        }
    }
    pub(crate) fn name(self) -> &'static str {
        match self {
            Spin::AdjustTimers => "adjust_timers",
            Spin::RunTimer => "run_timer",
            Spin::DelTimer => "del_timer",
            Spin::ModTimer => "mod_timer",
            Spin::ClearDeletedTimers => "clear_deleted_timers",
        }
    }
}

/// Models `runtime.osyield` (os_linux.go): sched_yield(2) on this thread.
/// Also tells the watchdog what this M is spinning on.
fn osyield(t: &Arc<RTimer>, pp: Option<&P>, why: Spin) {
    if let Some(m) = getm() {
        let st = &m.tstate;
        if st.spinning.load(Relaxed) == 0 {
            *st.spin_timer.lock().unwrap_or_else(|e| e.into_inner()) = Some(t.clone());
            st.spin_p.store(pp.map_or(-1, |p| p.id as i64), Relaxed);
            st.spin_since.store(m.sched.nanotime(), Relaxed);
            st.spins.store(0, Relaxed);
            st.spinning.store(why as u8, Release);
        }
        st.spins.fetch_add(1, Relaxed);
    }
    // SAFETY: sched_yield has no preconditions.
    unsafe { libc::sched_yield() };
}

/// Ends an `osyield` spin of the current M, if any.
fn spin_done() {
    if let Some(m) = getm() {
        let st = &m.tstate;
        if st.spinning.load(Relaxed) != 0 {
            st.spinning.store(0, Release);
            st.reported.store(0, Relaxed);
            *st.spin_timer.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

/// `acquirem` under the Go 1.19 ordering (e8be350); nothing under 1.14.1.
fn acquirem(m: Option<&'static M>, ord: Timers) -> Option<&'static M> {
    if ord != Timers::Go1_19 {
        return None;
    }
    let m = m?;
    m.locks_inc();
    Some(m)
}

/// Models `runtime.releasem`: a pending preemption request is honored at
/// the next safepoint (gmp's safepoint reads `gp.preempt` itself).
fn releasem(mp: Option<&'static M>) {
    if let Some(m) = mp {
        m.locks_dec();
    }
}

/// A call prologue inside the timer code: [`crate::safepoint`], recording
/// in the timer where its modifier was preempted if it is about to be.
fn safepoint_in(t: &RTimer, site: Site) {
    let Some(m) = getm() else { return };
    let Some(gp) = load(&m.curg) else { return };
    if gp.preempt.load(Relaxed)
        && m.locks.load(Relaxed) == 0
        && t.status.load(Relaxed) == TIMER_MODIFYING
    {
        t.preempted_at.store(site as u8, Relaxed);
    }
    crate::proc::safepoint();
}

fn timers_mode() -> Timers {
    crate::stubs::cur_sched().cfg.timers
}

/// The current M's P (the caller runs Go code or is on g0 with a P).
fn cur_p(what: &str) -> &'static P {
    match getm().and_then(|m| load(&m.p)) {
        Some(pp) => pp,
        None => throw(&format!("{what}: no p")),
    }
}

// ---------------------------------------------------------------------------
// The heap (4-ary, by `when`)

/// Models `runtime.siftupTimer` (time.go).
fn siftup_timer(t: &mut [Arc<RTimer>], mut i: usize) -> usize {
    if i >= t.len() {
        bad_timer();
    }
    let when = t[i].when.load(Relaxed);
    if when <= 0 {
        bad_timer();
    }
    while i > 0 {
        let p = (i - 1) / 4; // parent
        if when >= t[p].when.load(Relaxed) {
            break;
        }
        t.swap(i, p);
        i = p;
    }
    i
}

/// Models `runtime.siftdownTimer` (time.go).
fn siftdown_timer(t: &mut [Arc<RTimer>], mut i: usize) {
    let n = t.len();
    if i >= n {
        bad_timer();
    }
    let when = t[i].when.load(Relaxed);
    if when <= 0 {
        bad_timer();
    }
    loop {
        let mut c = i * 4 + 1; // left child
        let mut c3 = c + 2; // mid child
        if c >= n {
            break;
        }
        let mut w = t[c].when.load(Relaxed);
        if c + 1 < n && t[c + 1].when.load(Relaxed) < w {
            w = t[c + 1].when.load(Relaxed);
            c += 1;
        }
        if c3 < n {
            let mut w3 = t[c3].when.load(Relaxed);
            if c3 + 1 < n && t[c3 + 1].when.load(Relaxed) < w3 {
                w3 = t[c3 + 1].when.load(Relaxed);
                c3 += 1;
            }
            if w3 < w {
                w = w3;
                c = c3;
            }
        }
        if w >= when {
            break;
        }
        t.swap(i, c);
        i = c;
    }
}

/// Models `runtime.updateTimer0When` (time.go).
fn update_timer0_when(pp: &P, h: &[Arc<RTimer>]) {
    let w = h.first().map_or(0, |t| t.when.load(Relaxed));
    pp.timers.timer0_when.store(w, Release);
}

/// Models `runtime.updateTimerModifiedEarliest` (time.go).
fn update_timer_modified_earliest(pp: &P, nextwhen: i64) {
    let a = &pp.timers.timer_modified_earliest;
    loop {
        let old = a.load(Acquire);
        if old != 0 && old < nextwhen {
            return;
        }
        if a.compare_exchange(old, nextwhen, AcqRel, Acquire).is_ok() {
            return;
        }
    }
}

/// Models `runtime.doaddtimer` (time.go): adds t to pp's heap (locked).
fn do_add_timer(pp: &'static P, h: &mut Vec<Arc<RTimer>>, t: Arc<RTimer>) {
    // Timers rely on the network poller, so make sure the poller has started.
    crate::stubs::cur_sched()
        .netpoll_inited
        .store(true, Release);
    if !t.pp.load(Relaxed).is_null() {
        throw("doaddtimer: P already set in timer");
    }
    store(&t.pp, Some(pp));
    let i = h.len();
    h.push(t);
    let i = siftup_timer(h, i);
    if i == 0 {
        update_timer0_when(pp, h);
    }
    pp.timers.num_timers.fetch_add(1, AcqRel);
}

/// Models `runtime.dodeltimer` (time.go): removes timer i (locked);
/// returns the smallest changed index.
fn do_del_timer(pp: &P, h: &mut Vec<Arc<RTimer>>, i: usize) -> usize {
    if !std::ptr::eq(h[i].pp.load(Relaxed), pp) {
        throw("dodeltimer: wrong P");
    }
    store(&h[i].pp, None);
    let last = h.len() - 1;
    h.swap_remove(i);
    let mut smallest_changed = i;
    if i != last {
        // Moving to i may have moved the last timer to a new parent, so
        // sift up to preserve the heap guarantee.
        smallest_changed = siftup_timer(h, i);
        siftdown_timer(h, i);
    }
    if i == 0 {
        update_timer0_when(pp, h);
    }
    if pp.timers.num_timers.fetch_sub(1, AcqRel) == 1 {
        // If there are no timers, then clearly none are modified.
        pp.timers.timer_modified_earliest.store(0, Release);
    }
    smallest_changed
}

/// Models `runtime.dodeltimer0` (time.go): removes the head (locked).
fn do_del_timer0(pp: &P, h: &mut Vec<Arc<RTimer>>) -> Arc<RTimer> {
    if !std::ptr::eq(h[0].pp.load(Relaxed), pp) {
        throw("dodeltimer0: wrong P");
    }
    store(&h[0].pp, None);
    let t = h.swap_remove(0);
    if !h.is_empty() {
        siftdown_timer(h, 0);
    }
    update_timer0_when(pp, h);
    if pp.timers.num_timers.fetch_sub(1, AcqRel) == 1 {
        pp.timers.timer_modified_earliest.store(0, Release);
    }
    t
}

// ---------------------------------------------------------------------------
// addtimer, deltimer, modtimer, resettimer

/// Models `runtime.addtimer` (time.go): a new timer into the current P's
/// heap. Go 1.14.1: `addInitializedTimer`, no `acquirem`.
pub(crate) fn add_timer(t: Arc<RTimer>) {
    let when = t.when.load(Relaxed);
    if when <= 0 {
        throw("timer when must be positive");
    }
    if t.status.load(Relaxed) != TIMER_NO_STATUS {
        throw("addtimer called with initialized timer");
    }
    t.status.store(TIMER_WAITING, Release);
    // Disable preemption while using pp to avoid changing another P's heap.
    let mp = acquirem(getm(), timers_mode());
    let pp = cur_p("addtimer");
    {
        let mut h = lock_timers(pp);
        clean_timers(pp, &mut h);
        do_add_timer(pp, &mut h, t);
    }
    crate::proc::wake_net_poller(crate::stubs::cur_sched(), when);
    releasem(mp);
}

/// Models `runtime.deltimer` (time.go): marks t deleted (the P whose heap
/// holds it removes it later). Reports whether t was stopped before it ran.
pub(crate) fn del_timer(t: &Arc<RTimer>) -> bool {
    crate::proc::safepoint();
    let m = getm();
    let ord = m.map_or_else(timers_mode, |m| m.sched.cfg.timers);
    let mut spun = false;
    let r = loop {
        let s = t.status.load(Acquire);
        match s {
            TIMER_WAITING | TIMER_MODIFIED_LATER | TIMER_MODIFIED_EARLIER => {
                // Prevent preemption while the timer is in timerModifying.
                // This could lead to a self-deadlock. See #38070.
                let mp = acquirem(m, ord);
                if t.cas(s, TIMER_MODIFYING) {
                    t.note_modifier(m, Site::DelTimer, None);
                    // Must fetch t.pp before changing status, as
                    // cleantimers in another goroutine can clear t.pp of a
                    // timerDeleted timer.
                    let tpp = load(&t.pp);
                    if !t.cas(TIMER_MODIFYING, TIMER_DELETED) {
                        bad_timer();
                    }
                    releasem(mp);
                    if let Some(tpp) = tpp {
                        tpp.timers.deleted_timers.fetch_add(1, AcqRel);
                    }
                    break true;
                }
                releasem(mp);
            }
            TIMER_DELETED | TIMER_REMOVING | TIMER_REMOVED | TIMER_NO_STATUS => break false,
            // The timer is being run or moved by a different P, or modified
            // simultaneously: wait for it to complete.
            TIMER_RUNNING | TIMER_MOVING | TIMER_MODIFYING => {
                spun = true;
                osyield(t, None, Spin::DelTimer)
            }
            _ => bad_timer(),
        }
    };
    if spun {
        spin_done();
    }
    r
}

/// Models `runtime.modtimer` (time.go), with the ordering of the runtime's
/// [`Timers`] mode. Reports whether the timer was pending (not yet run).
/// `f` is Go's `f, arg, seq` for a pollDesc timer (None: keep the timer's);
/// `loc` is the user's call site (diagnosis).
pub(crate) fn mod_timer(
    t: &Arc<RTimer>,
    when: i64,
    period: i64,
    f: Option<crate::netpoll::DeadlineCall>,
    loc: Option<&'static Location<'static>>,
) -> bool {
    if when <= 0 {
        throw("timer when must be positive");
    }
    if period < 0 {
        throw("timer period must be non-negative");
    }
    // The prologue of modtimer (timer not yet Modifying).
    crate::proc::safepoint();
    let m = getm();
    let ord = m.map_or_else(timers_mode, |m| m.sched.cfg.timers);
    let mut spun = false;
    let was_removed;
    let pending;
    let mut mp;
    loop {
        let s = t.status.load(Acquire);
        match s {
            TIMER_WAITING | TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER => {
                mp = acquirem(m, ord);
                if t.cas(s, TIMER_MODIFYING) {
                    t.note_modifier(m, Site::ModTimerInHeap, loc);
                    (was_removed, pending) = (false, true);
                    break;
                }
                releasem(mp);
            }
            TIMER_NO_STATUS | TIMER_REMOVED => {
                mp = acquirem(m, ord);
                // Timer was already run and t is no longer in a heap. Act
                // like addtimer.
                if t.cas(s, TIMER_MODIFYING) {
                    t.note_modifier(m, Site::ModTimerRemoved, loc);
                    (was_removed, pending) = (true, false);
                    break;
                }
                releasem(mp);
            }
            TIMER_DELETED => {
                mp = acquirem(m, ord);
                if t.cas(s, TIMER_MODIFYING) {
                    t.note_modifier(m, Site::ModTimerDeleted, loc);
                    if let Some(tpp) = load(&t.pp) {
                        tpp.timers.deleted_timers.fetch_sub(1, AcqRel);
                    }
                    (was_removed, pending) = (false, false);
                    break;
                }
                releasem(mp);
            }
            // The timer is being run or moved by a different P, or another
            // modtimer is under way: wait for it to complete.
            TIMER_RUNNING | TIMER_REMOVING | TIMER_MOVING | TIMER_MODIFYING => {
                spun = true;
                osyield(t, None, Spin::ModTimer)
            }
            _ => bad_timer(),
        }
    }
    if spun {
        spin_done();
    }
    t.period.store(period, Relaxed);
    if let Some(call) = f {
        t.set_deadline_fn(call);
    }

    if was_removed {
        t.when.store(when, Relaxed);
        match ord {
            Timers::Go1_19 => {
                safepoint_in(t, Site::LockTimers); // ignored: m.locks > 0
                let pp = cur_p("modtimer");
                {
                    let mut h = lock_timers(pp);
                    do_add_timer(pp, &mut h, t.clone());
                }
                if !t.cas(TIMER_MODIFYING, TIMER_WAITING) {
                    bad_timer();
                }
                releasem(mp.take());
                safepoint_in(t, Site::WakeNetPoller);
                crate::proc::wake_net_poller(crate::stubs::cur_sched(), when);
            }
            Timers::Go1_14_1 => {
                add_initialized_timer(t);
                if !t.cas(TIMER_MODIFYING, TIMER_WAITING) {
                    bad_timer();
                }
            }
        }
    } else {
        // The timer is in some other P's heap, so we can't change the when
        // field. If we did, the other P's heap would be out of order. So
        // we put the new when value in the nextwhen field, and let the
        // other P set the when field when it is prepared to resort the heap.
        t.nextwhen.store(when, Relaxed);
        let new_status = if when < t.when.load(Relaxed) {
            TIMER_MODIFIED_EARLIER
        } else {
            TIMER_MODIFIED_LATER
        };
        let tpp = load(&t.pp);
        if new_status == TIMER_MODIFIED_EARLIER
            && let Some(tpp) = tpp
        {
            update_timer_modified_earliest(tpp, when);
        }
        // Set the new status of the timer.
        if !t.cas(TIMER_MODIFYING, new_status) {
            bad_timer();
        }
        releasem(mp.take());
        // If the new status is earlier, wake up the poller.
        if new_status == TIMER_MODIFIED_EARLIER {
            safepoint_in(t, Site::WakeNetPoller);
            crate::proc::wake_net_poller(crate::stubs::cur_sched(), when);
        }
    }
    pending
}

/// Models Go 1.14.1's `runtime.addInitializedTimer` (time.go) as
/// `modtimer` calls it for a removed timer: the prologue is a safepoint
/// (the timer is Modifying, in no heap), then lock, `cleantimers`,
/// `doaddtimer`, unlock, and `wakeNetPoller`, whose prologue is the
/// safepoint of seed 004: the timer is now in this P's heap, still
/// Modifying, and `modtimer` sets it Waiting only after this returns.
fn add_initialized_timer(t: &Arc<RTimer>) {
    safepoint_in(t, Site::AddInitializedTimer);
    let when = t.when.load(Relaxed);
    let pp = cur_p("addInitializedTimer");
    {
        let mut h = lock_timers(pp);
        clean_timers(pp, &mut h);
        do_add_timer(pp, &mut h, t.clone());
    }
    safepoint_in(t, Site::WakeNetPoller);
    crate::proc::wake_net_poller(crate::stubs::cur_sched(), when);
}

/// Models `runtime.resettimer` (time.go): `modtimer` with the timer's own
/// period and function.
pub(crate) fn reset_timer(
    t: &Arc<RTimer>,
    when: i64,
    loc: Option<&'static Location<'static>>,
) -> bool {
    mod_timer(t, when, t.period.load(Relaxed), None, loc)
}

// ---------------------------------------------------------------------------
// cleantimers, adjusttimers, runtimer, runOneTimer, clearDeletedTimers

/// Models `runtime.cleantimers` (time.go): cleans up the head of the heap
/// (locked).
fn clean_timers(pp: &'static P, h: &mut Vec<Arc<RTimer>>) {
    loop {
        let Some(t) = h.first().cloned() else { return };
        // This loop can theoretically run for a while, and because it is
        // holding timersLock it cannot be preempted (Go returns early on
        // gp.preemptStop, which gmp does not have).
        if !std::ptr::eq(t.pp.load(Relaxed), pp) {
            throw("cleantimers: bad p");
        }
        match t.status.load(Acquire) {
            s @ TIMER_DELETED => {
                if !t.cas(s, TIMER_REMOVING) {
                    continue;
                }
                do_del_timer0(pp, h);
                if !t.cas(TIMER_REMOVING, TIMER_REMOVED) {
                    bad_timer();
                }
                pp.timers.deleted_timers.fetch_sub(1, AcqRel);
            }
            s @ (TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER) => {
                if !t.cas(s, TIMER_MOVING) {
                    continue;
                }
                // Now we can change the when field.
                t.when.store(t.nextwhen.load(Relaxed), Relaxed);
                // Move t to the right position.
                let t = do_del_timer0(pp, h);
                do_add_timer(pp, h, t.clone());
                if !t.cas(TIMER_MOVING, TIMER_WAITING) {
                    bad_timer();
                }
            }
            // Head of timers does not need adjustment.
            _ => return,
        }
    }
}

/// Models `runtime.adjusttimers` (time.go): moves timers modified earlier
/// or later to their place and removes deleted ones (locked). A Modifying
/// timer makes it `osyield` and look again — for ever if its modifier never
/// runs again (seed 004's spin).
pub(crate) fn adjust_timers(pp: &'static P, h: &mut Vec<Arc<RTimer>>, now: i64) {
    // If we haven't yet reached the time of the first timerModifiedEarlier
    // timer, don't do anything.
    let first = pp.timers.timer_modified_earliest.load(Acquire);
    if first == 0 || first > now {
        return;
    }
    // We are going to clear all timerModifiedEarlier timers.
    pp.timers.timer_modified_earliest.store(0, Release);
    let mut moved = Vec::new();
    let mut i = 0usize;
    while i < h.len() {
        let t = h[i].clone();
        if !std::ptr::eq(t.pp.load(Relaxed), pp) {
            throw("adjusttimers: bad p");
        }
        match t.status.load(Acquire) {
            s @ TIMER_DELETED => {
                if t.cas(s, TIMER_REMOVING) {
                    let changed = do_del_timer(pp, h, i);
                    if !t.cas(TIMER_REMOVING, TIMER_REMOVED) {
                        bad_timer();
                    }
                    pp.timers.deleted_timers.fetch_sub(1, AcqRel);
                    // Go back to the earliest changed heap entry.
                    i = changed;
                    continue;
                }
            }
            s @ (TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER) => {
                if t.cas(s, TIMER_MOVING) {
                    // Now we can change the when field.
                    t.when.store(t.nextwhen.load(Relaxed), Relaxed);
                    // Take t off the heap, and hold onto it.
                    let changed = do_del_timer(pp, h, i);
                    moved.push(t);
                    i = changed;
                    continue;
                }
            }
            TIMER_NO_STATUS | TIMER_RUNNING | TIMER_REMOVING | TIMER_REMOVED | TIMER_MOVING => {
                bad_timer()
            }
            TIMER_WAITING => {}
            TIMER_MODIFYING => {
                // Check again after modification is complete.
                osyield(&t, Some(pp), Spin::AdjustTimers);
                continue;
            }
            _ => bad_timer(),
        }
        i += 1;
    }
    // addAdjustedTimers
    for t in moved {
        do_add_timer(pp, h, t.clone());
        if !t.cas(TIMER_MOVING, TIMER_WAITING) {
            bad_timer();
        }
    }
}

/// Models `runtime.runtimer` (time.go): examines the head of the heap
/// (locked). Returns 0 if it ran a timer, -1 if there are no more timers,
/// or the time when the head should run. A Modifying head makes it
/// `osyield` and look again.
pub(crate) fn run_timer<'a>(pp: &'static P, mut h: Heap<'a>, now: i64) -> (Heap<'a>, i64) {
    loop {
        let t = h[0].clone();
        if !std::ptr::eq(t.pp.load(Relaxed), pp) {
            throw("runtimer: bad p");
        }
        match t.status.load(Acquire) {
            s @ TIMER_WAITING => {
                let when = t.when.load(Relaxed);
                if when > now {
                    // Not ready to run.
                    return (h, when);
                }
                if !t.cas(s, TIMER_RUNNING) {
                    continue;
                }
                // Note that run_one_timer may temporarily unlock the heap.
                let h = run_one_timer(pp, h, t, now);
                return (h, 0);
            }
            s @ TIMER_DELETED => {
                if !t.cas(s, TIMER_REMOVING) {
                    continue;
                }
                do_del_timer0(pp, &mut h);
                if !t.cas(TIMER_REMOVING, TIMER_REMOVED) {
                    bad_timer();
                }
                pp.timers.deleted_timers.fetch_sub(1, AcqRel);
                if h.is_empty() {
                    return (h, -1);
                }
            }
            s @ (TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER) => {
                if !t.cas(s, TIMER_MOVING) {
                    continue;
                }
                t.when.store(t.nextwhen.load(Relaxed), Relaxed);
                let t = do_del_timer0(pp, &mut h);
                do_add_timer(pp, &mut h, t.clone());
                if !t.cas(TIMER_MOVING, TIMER_WAITING) {
                    bad_timer();
                }
            }
            // Wait for modification to complete.
            TIMER_MODIFYING => osyield(&t, Some(pp), Spin::RunTimer),
            // Should not see a new or inactive timer on the heap, and these
            // should only be set when timers are locked, and we didn't do it.
            _ => bad_timer(),
        }
    }
}

/// Models `runtime.runOneTimer` (time.go): runs t (status Running, at the
/// head, heap locked); the heap is unlocked while `f` runs.
pub(crate) fn run_one_timer<'a>(
    pp: &'static P,
    mut h: Heap<'a>,
    t: Arc<RTimer>,
    now: i64,
) -> Heap<'a> {
    // f, arg and seq are read while the timer is Running: a modtimer
    // waits for that to end before it changes them.
    let seq = t.seq.load(Acquire);
    let deadline = match &t.f {
        TimerFn::NetpollDeadline(arg) => Some(arg.load()),
        _ => None,
    };
    let period = t.period.load(Relaxed);
    if period > 0 {
        // Leave in heap but adjust next time to fire.
        let delta = t.when.load(Relaxed) - now;
        let mut when = t
            .when
            .load(Relaxed)
            .saturating_add(period.saturating_mul(1 + -delta / period));
        if when < 0 {
            when = MAX_WHEN;
        }
        t.when.store(when, Relaxed);
        siftdown_timer(&mut h, 0);
        if !t.cas(TIMER_RUNNING, TIMER_WAITING) {
            bad_timer();
        }
        update_timer0_when(pp, &h);
    } else {
        // Remove from heap.
        do_del_timer0(pp, &mut h);
        if !t.cas(TIMER_RUNNING, TIMER_NO_STATUS) {
            bad_timer();
        }
    }
    drop(h);
    t.fires.fetch_add(1, Relaxed);
    match &t.f {
        // goroutineReady
        TimerFn::GoroutineReady(g) => match load(g) {
            Some(gp) => crate::proc::goready(GRef(gp)),
            None => throw("goroutineReady: no g"),
        },
        // sendTime: a non-blocking send of the current time.
        TimerFn::SendTime(c) => {
            let _ = c.try_send(Instant::now());
        }
        // netpollReadDeadline / netpollWriteDeadline / netpollDeadline
        TimerFn::NetpollDeadline(_) => {
            if let Some((pd, f)) = deadline {
                crate::netpoll::netpoll_deadline(pd, f, seq);
            }
        }
    }
    lock_timers(pp)
}

/// Models `runtime.clearDeletedTimers` (time.go): removes every deleted
/// timer from pp's heap (locked).
fn clear_deleted_timers(pp: &'static P, h: &mut Vec<Arc<RTimer>>) {
    // We are going to clear all timerModifiedEarlier timers.
    pp.timers.timer_modified_earliest.store(0, Release);
    let mut cdel = 0i32;
    let old = std::mem::take(h);
    for t in old {
        loop {
            match t.status.load(Acquire) {
                TIMER_WAITING => {
                    h.push(t.clone());
                    let i = h.len() - 1;
                    siftup_timer(h, i);
                    break;
                }
                s @ (TIMER_MODIFIED_EARLIER | TIMER_MODIFIED_LATER) => {
                    if t.cas(s, TIMER_MOVING) {
                        t.when.store(t.nextwhen.load(Relaxed), Relaxed);
                        h.push(t.clone());
                        let i = h.len() - 1;
                        siftup_timer(h, i);
                        if !t.cas(TIMER_MOVING, TIMER_WAITING) {
                            bad_timer();
                        }
                        break;
                    }
                }
                s @ TIMER_DELETED => {
                    if t.cas(s, TIMER_REMOVING) {
                        store(&t.pp, None);
                        cdel += 1;
                        if !t.cas(TIMER_REMOVING, TIMER_REMOVED) {
                            bad_timer();
                        }
                        break;
                    }
                }
                // Loop until modification complete.
                TIMER_MODIFYING => osyield(&t, Some(pp), Spin::ClearDeletedTimers),
                _ => bad_timer(),
            }
        }
    }
    pp.timers.deleted_timers.fetch_sub(cdel, AcqRel);
    pp.timers.num_timers.fetch_sub(cdel as u32, AcqRel);
    update_timer0_when(pp, h);
}

/// Models `runtime.nobarrierWakeTime` (time.go): when pp's first timer
/// (or first modified-earlier timer) is due, 0 if none.
pub(crate) fn wake_time(pp: &P) -> i64 {
    let next = pp.timers.timer0_when.load(Acquire);
    let next_adj = pp.timers.timer_modified_earliest.load(Acquire);
    if next == 0 || (next_adj != 0 && next_adj < next) {
        next_adj
    } else {
        next
    }
}

/// Models `runtime.checkTimers` (proc.go): runs the timers of pp that are
/// due. Called from `find_runnable` (own P) and `steal_work` (other Ps).
/// Returns (now, pollUntil, ran).
pub(crate) fn check_timers(pp: &'static P, now: i64) -> (i64, i64, bool) {
    // If it's not yet time for the first timer, or the first adjusted
    // timer, then there is nothing to do.
    let next = wake_time(pp);
    if next == 0 {
        // No timers to run or adjust.
        return (now, 0, false);
    }
    let sched = crate::stubs::cur_sched();
    let now = if now == 0 { sched.nanotime() } else { now };
    let mine = getm()
        .and_then(|m| load(&m.p))
        .is_some_and(|x| std::ptr::eq(x, pp));
    if now < next {
        // Next timer is not ready to run, but keep going if we would clear
        // deleted timers.
        if !mine
            || pp.timers.deleted_timers.load(Acquire)
                <= (pp.timers.num_timers.load(Acquire) / 4) as i32
        {
            return (now, next, false);
        }
    }
    let mut h = lock_timers(pp);
    let mut poll_until = 0;
    let mut ran = false;
    if !h.is_empty() {
        adjust_timers(pp, &mut h, now);
        while !h.is_empty() {
            // Note that run_timer may temporarily unlock the heap.
            let (h2, tw) = run_timer(pp, h, now);
            h = h2;
            if tw != 0 {
                if tw > 0 {
                    poll_until = tw;
                }
                break;
            }
            ran = true;
        }
    }
    spin_done();
    // If this is the local P, and there are a lot of deleted timers, clear
    // them out.
    if mine && pp.timers.deleted_timers.load(Acquire) > (h.len() / 4) as i32 {
        clear_deleted_timers(pp, &mut h);
        spin_done();
    }
    drop(h);
    (now, poll_until, ran)
}

/// Models `runtime.checkTimersNoP` (proc.go).
pub(crate) fn check_timers_nop(allp: &[P], poll_until: i64) -> i64 {
    let mut pu = poll_until;
    for p2 in allp {
        let w = wake_time(p2);
        if w != 0 && (pu == 0 || w < pu) {
            pu = w;
        }
    }
    pu
}

/// Models `runtime.timeSleepUntil` (proc.go): earliest timer of all Ps, or
/// i64::MAX.
pub(crate) fn time_sleep_until(allp: &[P]) -> i64 {
    let w = check_timers_nop(allp, 0);
    if w == 0 { i64::MAX } else { w }
}

/// Whether pp has timers (Go: `timerpMask`).
pub(crate) fn has_timers(pp: &P) -> bool {
    pp.timers.num_timers.load(Acquire) != 0
}

/// Number of timers in pp's heap (schedtrace's `timerslen`).
#[allow(dead_code)]
pub(crate) fn num_timers(pp: &P) -> u32 {
    pp.timers.num_timers.load(Acquire)
}

// ---------------------------------------------------------------------------
// time.Sleep and time.Timer

/// Go's `when(d)` (time/sleep.go): nanotime() + d, saturating.
fn when_after(sched: &Sched, d: Duration) -> i64 {
    let ns = d.as_nanos().min(i64::MAX as u128) as i64;
    let w = sched.nanotime().saturating_add(ns);
    if w <= 0 { MAX_WHEN } else { w }
}

/// Models `runtime.timeSleep` (time.go): parks the G; `resetForSleep` arms
/// its timer (`gp.timer`) from the M once the G is off its stack, so a
/// short timer cannot fire before the G has parked.
pub(crate) fn time_sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    let (m, gp) = need_g("sleep");
    let t = gp
        .timer
        .0
        .get_or_init(|| Arc::new(RTimer::new(TimerFn::GoroutineReady(AtomicPtr::default()))))
        .clone();
    if let TimerFn::GoroutineReady(arg) = &t.f {
        store(arg, Some(gp));
    }
    t.nextwhen.store(when_after(m.sched, d), Relaxed);
    crate::proc::gopark(WaitReason::Sleep, move |_| {
        // resetForSleep
        let when = t.nextwhen.load(Relaxed);
        reset_timer(&t, when, None);
        true
    });
}

/// A single-shot timer, Go's `time.Timer`: after its duration the current
/// time is sent (without blocking) on its channel of capacity 1.
///
/// Create, reset and stop it from a goroutine (the timer goes into the heap
/// of the P the goroutine runs on, as in Go).
pub struct Timer {
    t: Arc<RTimer>,
    c: Chan<Instant>,
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Timer({:#x}, {})",
            self.t.addr(),
            status_name(self.t.status.load(Relaxed))
        )
    }
}

impl Timer {
    /// `time.NewTimer(d)` (models `startTimer` -> `addtimer`).
    pub fn new(d: Duration) -> Timer {
        let (m, _) = need_g("Timer::new");
        let c = crate::chan::chan::<Instant>(1);
        let t = Arc::new(RTimer::new(TimerFn::SendTime(c.clone())));
        t.when.store(when_after(m.sched, d), Relaxed);
        add_timer(t.clone());
        Timer { t, c }
    }

    /// `t.Reset(d)` (models `resetTimer` -> `resettimer` -> `modtimer`):
    /// returns true if the timer was still pending.
    #[track_caller]
    pub fn reset(&self, d: Duration) -> bool {
        let loc = Location::caller();
        let (m, _) = need_g("Timer::reset");
        let when = when_after(m.sched, d);
        reset_timer(&self.t, when, Some(loc))
    }

    /// `t.Stop()` (models `stopTimer` -> `deltimer`): true if the call
    /// stopped the timer before it fired.
    pub fn stop(&self) -> bool {
        need_g("Timer::stop");
        del_timer(&self.t)
    }

    /// `t.C`: the channel the time is sent on.
    pub fn c(&self) -> &Chan<Instant> {
        &self.c
    }

    /// `<-t.C`: parks until the timer fires (or has fired).
    pub fn recv(&self) -> Instant {
        match self.c.recv() {
            Some(t) => t,
            None => throw("timer channel closed"),
        }
    }

    /// How many times the runtime ran this timer (model-only).
    pub fn fires(&self) -> u64 {
        self.t.fires.load(Relaxed)
    }
}

// ---------------------------------------------------------------------------
// Unit tests of the state machine (no runtime: heaps are driven directly).

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A P of a runtime that is built but never started (no threads).
    fn leak_p() -> &'static P {
        let rt = crate::Runtime::builder().procs(1).build().expect("build");
        let sched = rt.sched;
        std::mem::forget(rt);
        &sched.allp[0]
    }

    fn timer(when: i64) -> Arc<RTimer> {
        let t = Arc::new(RTimer::new(TimerFn::GoroutineReady(AtomicPtr::default())));
        t.when.store(when, Relaxed);
        t
    }

    fn heap_ok(h: &[Arc<RTimer>]) -> bool {
        (1..h.len()).all(|i| h[(i - 1) / 4].when.load(Relaxed) <= h[i].when.load(Relaxed))
    }

    #[test]
    fn heap_is_ordered_and_timer0_tracks_the_head() {
        let pp = leak_p();
        let mut h = lock_timers(pp);
        for w in [50, 10, 40, 30, 20, 60, 5, 70, 15] {
            do_add_timer(pp, &mut h, timer(w));
            assert!(heap_ok(&h));
        }
        assert_eq!(pp.timers.timer0_when.load(Relaxed), 5);
        let mut out = Vec::new();
        while !h.is_empty() {
            out.push(do_del_timer0(pp, &mut h).when.load(Relaxed));
            assert!(heap_ok(&h));
        }
        assert_eq!(out, vec![5, 10, 15, 20, 30, 40, 50, 60, 70]);
        assert_eq!(pp.timers.timer0_when.load(Relaxed), 0);
        assert_eq!(pp.timers.num_timers.load(Relaxed), 0);
    }

    #[test]
    fn del_marks_deleted_and_clean_removes_it() {
        let pp = leak_p();
        let t = timer(100);
        t.status.store(TIMER_WAITING, Relaxed);
        lock_timers(pp).push(t.clone());
        store(&t.pp, Some(pp));
        pp.timers.num_timers.store(1, Relaxed);
        assert!(del_timer_raw(&t));
        assert_eq!(t.status.load(Relaxed), TIMER_DELETED);
        assert_eq!(pp.timers.deleted_timers.load(Relaxed), 1);
        assert!(!del_timer_raw(&t), "a second stop finds it already deleted");
        let mut h = lock_timers(pp);
        clean_timers(pp, &mut h);
        assert!(h.is_empty());
        assert_eq!(t.status.load(Relaxed), TIMER_REMOVED);
        assert_eq!(pp.timers.deleted_timers.load(Relaxed), 0);
        assert!(t.pp.load(Relaxed).is_null());
    }

    /// deltimer without a runtime (no safepoint, Go 1.19 ordering without
    /// an M: acquirem is a no-op off an M).
    fn del_timer_raw(t: &Arc<RTimer>) -> bool {
        loop {
            let s = t.status.load(Acquire);
            match s {
                TIMER_WAITING | TIMER_MODIFIED_LATER | TIMER_MODIFIED_EARLIER => {
                    if t.cas(s, TIMER_MODIFYING) {
                        let tpp = load(&t.pp);
                        assert!(t.cas(TIMER_MODIFYING, TIMER_DELETED));
                        if let Some(p) = tpp {
                            p.timers.deleted_timers.fetch_add(1, AcqRel);
                        }
                        return true;
                    }
                }
                _ => return false,
            }
        }
    }

    /// The in-heap branch of modtimer, without a runtime.
    fn mod_in_heap(t: &Arc<RTimer>, when: i64) {
        let s = t.status.load(Acquire);
        assert!(t.cas(s, TIMER_MODIFYING));
        t.nextwhen.store(when, Relaxed);
        let new = if when < t.when.load(Relaxed) {
            TIMER_MODIFIED_EARLIER
        } else {
            TIMER_MODIFIED_LATER
        };
        if new == TIMER_MODIFIED_EARLIER {
            update_timer_modified_earliest(load(&t.pp).unwrap(), when);
        }
        assert!(t.cas(TIMER_MODIFYING, new));
    }

    #[test]
    fn mod_sets_modified_earlier_or_later_and_adjust_moves_them() {
        let pp = leak_p();
        let a = timer(100);
        let b = timer(200);
        {
            let mut h = lock_timers(pp);
            for t in [&a, &b] {
                t.status.store(TIMER_WAITING, Relaxed);
                do_add_timer(pp, &mut h, (*t).clone());
            }
        }
        mod_in_heap(&b, 50);
        assert_eq!(b.status.load(Relaxed), TIMER_MODIFIED_EARLIER);
        assert_eq!(pp.timers.timer_modified_earliest.load(Relaxed), 50);
        assert_eq!(wake_time(pp), 50, "nobarrierWakeTime sees the earlier time");
        mod_in_heap(&a, 300);
        assert_eq!(a.status.load(Relaxed), TIMER_MODIFIED_LATER);
        let mut h = lock_timers(pp);
        // Not yet time for the earliest modification: nothing moves.
        adjust_timers(pp, &mut h, 40);
        assert_eq!(b.status.load(Relaxed), TIMER_MODIFIED_EARLIER);
        adjust_timers(pp, &mut h, 60);
        assert_eq!(a.status.load(Relaxed), TIMER_WAITING);
        assert_eq!(b.status.load(Relaxed), TIMER_WAITING);
        assert_eq!(b.when.load(Relaxed), 50);
        assert_eq!(a.when.load(Relaxed), 300);
        assert!(Arc::ptr_eq(&h[0], &b), "b moved to the head");
        assert_eq!(pp.timers.timer0_when.load(Relaxed), 50);
        assert_eq!(pp.timers.timer_modified_earliest.load(Relaxed), 0);
        drop(h);
        let _ = lock_timers(pp).drain(..).count();
        pp.timers.num_timers.store(0, Relaxed);
    }

    #[test]
    fn run_timer_leaves_a_future_timer_and_runs_a_due_one() {
        let pp = leak_p();
        let c = crate::chan::chan::<Instant>(1);
        let t = Arc::new(RTimer::new(TimerFn::SendTime(c.clone())));
        t.when.store(100, Relaxed);
        t.status.store(TIMER_WAITING, Relaxed);
        {
            let mut h = lock_timers(pp);
            do_add_timer(pp, &mut h, t.clone());
        }
        let h = lock_timers(pp);
        let (h, tw) = run_timer(pp, h, 50);
        assert_eq!(tw, 100, "not due: returns its when");
        assert_eq!(t.status.load(Relaxed), TIMER_WAITING);
        assert_eq!(c.len(), 0);
        drop(h);
        // Due: Waiting -> Running -> NoStatus, off the heap, f ran (sendTime).
        let h = lock_timers(pp);
        let (h, tw) = run_timer(pp, h, 150);
        assert_eq!(tw, 0);
        assert!(h.is_empty());
        assert_eq!(t.status.load(Relaxed), TIMER_NO_STATUS);
        assert_eq!(t.fires.load(Relaxed), 1);
        assert_eq!(c.len(), 1, "the time was sent on the channel");
    }

    #[test]
    fn run_timer_removes_a_deleted_head() {
        let pp = leak_p();
        let t = timer(10);
        t.status.store(TIMER_WAITING, Relaxed);
        {
            let mut h = lock_timers(pp);
            do_add_timer(pp, &mut h, t.clone());
        }
        assert!(del_timer_raw(&t));
        let h = lock_timers(pp);
        let (h, tw) = run_timer(pp, h, 20);
        assert_eq!(tw, -1);
        assert!(h.is_empty());
        assert_eq!(t.status.load(Relaxed), TIMER_REMOVED);
        assert_eq!(t.fires.load(Relaxed), 0);
    }

    #[test]
    fn status_names_are_gos() {
        let names: Vec<_> = (0..10).map(status_name).collect();
        assert_eq!(
            names,
            [
                "NoStatus",
                "Waiting",
                "Running",
                "Deleted",
                "Removing",
                "Removed",
                "Modifying",
                "ModifiedEarlier",
                "ModifiedLater",
                "Moving"
            ]
        );
        assert_eq!(Timers::parse("go1.14.1"), Some(Timers::Go1_14_1));
        assert_eq!(Timers::parse("go1.19"), Some(Timers::Go1_19));
        assert_eq!(Timers::parse("go1.20"), None);
    }
}
