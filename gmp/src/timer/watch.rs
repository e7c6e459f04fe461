//! The watchdog's view of timers (model-only): where the last
//! `Modifying` owner of a timer was ([`Site`]), and what each M spins on
//! with `osyield` ([`MTimerState`], [`Spin`]). Written by the timer code,
//! read by watchdog.rs to print the diagnosis of seed 004.

use std::panic::Location;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};

use crate::runtime2::*;
use crate::stubs::getm;

use super::{RTimer, Timers};

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
pub(super) fn osyield(t: &Arc<RTimer>, pp: Option<&P>, why: Spin) {
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
pub(super) fn spin_done() {
    if let Some(m) = getm() {
        let st = &m.tstate;
        if st.spinning.load(Relaxed) != 0 {
            st.spinning.store(0, Release);
            st.reported.store(0, Relaxed);
            *st.spin_timer.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

/// What the watchdog reads of a timer.
impl RTimer {
    /// Remembers who just set the timer Modifying (diagnosis), under the
    /// Go 1.14.1 ordering only: the record explains seed 004's hang, a
    /// goroutine preempted while its timer is Modifying, which the Go 1.19
    /// ordering rules out (`acquirem` holds `m.locks` over the window, so
    /// no safepoint in it yields). Skipping it there keeps six stores off
    /// every `modtimer`/`deltimer` (Go's own cost has none of them).
    #[inline]
    pub(super) fn note_modifier(
        &self,
        ord: Timers,
        m: Option<&'static M>,
        site: Site,
        loc: Option<&'static Location<'static>>,
    ) {
        if ord != Timers::Go1_14_1 {
            return;
        }
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
