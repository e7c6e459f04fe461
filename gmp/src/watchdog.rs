//! The hang watchdog: what the author of seed 004 did by hand with dlv and
//! a core file (find the P that is not `_Pgcstop`, its M, what that M is
//! running, the timer it spins on, the goroutine that left that timer
//! `Modifying`), done by the runtime on itself.
//!
//! # When it reports
//!
//! [`check`] runs on sysmon's thread at every sysmon round (no thread of
//! its own: thread counts are what the lab measures). With sysmon off
//! (`Builder::sysmon(false)`), the goroutine stopping the world runs it
//! from its 100 us wait loop instead — it is the one thread that is
//! certainly awake during a stop that does not complete. It reports, once
//! each:
//!
//! * a stop-the-world under way for longer than the limit
//!   (`Builder::stw_watchdog`, default 1 s): the diagnosis names each P not
//!   in `_Pgcstop`, its status, its M, what the M does (running a G, in the
//!   scheduler, spinning with `osyield` in `run_timer` on a timer), the
//!   timer's status and the G that set it `Modifying` (goid, operation,
//!   call site) and where that G is now (run queue, running, waiting) and
//!   where it was preempted;
//! * with no stop under way, an M spinning on one timer for longer than the
//!   limit (the procs-1 form of the same bug: a livelock, one core at
//!   100 %, and no stop-the-world to wedge).
//!
//! The report goes to stderr and to the hook set by
//! [`set_diagnosis_hook`] (the scenario kit turns it into a metrics
//! `event` of kind `diagnosis`), and is kept for [`diagnoses`].
//!
//! # Invariants
//!
//! * Reading only: the watchdog takes `sched.lock` and the `allm`/`allgs`
//!   locks briefly and reads atomics; it never takes a P's timer lock (the
//!   spinning M holds it, as in Go) — the timer comes from the M's own
//!   record of what it spins on ([`crate::timer::MTimerState`]).
//! * Each stop is reported at most once (`stw.reported`), each spin at most
//!   once (`tstate.reported`).

use std::fmt::Write as _;
use std::sync::atomic::Ordering::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::runtime2::*;
use crate::timer::{RTimer, Spin, TIMER_MODIFYING, status_name};

/// What the watchdog found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagnosisKind {
    /// A stop-the-world that did not complete within the limit.
    StwHang,
    /// An M spinning on one timer for longer than the limit, with no
    /// stop-the-world under way.
    TimerLivelock,
}

/// A watchdog report.
#[derive(Clone, Debug)]
pub struct Diagnosis {
    pub kind: DiagnosisKind,
    /// When the stall began (the stop-the-world started, or the M began
    /// spinning).
    pub began: Instant,
    /// How long it had lasted when reported.
    pub stalled_for: Duration,
    /// The report, several lines.
    pub text: String,
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

type Hook = Arc<dyn Fn(&Diagnosis) + Send + Sync>;

static HOOK: Mutex<Option<Hook>> = Mutex::new(None);
static REPORTS: Mutex<Vec<Diagnosis>> = Mutex::new(Vec::new());

/// Sets the function every watchdog report is passed to (besides stderr).
/// It runs on sysmon's thread: it must not call into gmp's scheduler.
pub fn set_diagnosis_hook(f: impl Fn(&Diagnosis) + Send + Sync + 'static) {
    *HOOK.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
}

/// Every report the watchdog made so far in this process.
pub fn diagnoses() -> Vec<Diagnosis> {
    REPORTS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The watchdog's round: called by sysmon (or by the stopper without
/// sysmon) with the current nanotime.
pub(crate) fn check(sched: &'static Sched, now: i64) {
    let limit = sched.cfg.stw_watchdog_ns;
    if limit <= 0 {
        return;
    }
    let stw = &sched.stw;
    let started = stw.started_ns.load(Acquire);
    if started != 0 {
        if now - started >= limit && !stw.reported.swap(true, AcqRel) {
            let text = diagnose_stw(sched, started, now);
            report(sched, DiagnosisKind::StwHang, started, now, text);
        }
        return;
    }
    // The livelock scan walks allm: at most every 10 ms (sysmon may run
    // every 20 us, and there may be thousands of Ms).
    if now - stw.last_scan_ns.load(Relaxed) < 10_000_000 {
        return;
    }
    stw.last_scan_ns.store(now, Relaxed);
    let spinner = sched
        .allm
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .find(|m| {
            let st = &m.tstate;
            st.spinning.load(Acquire) != 0
                && now - st.spin_since.load(Relaxed) >= limit
                && st.reported.load(Relaxed) == 0
        });
    if let Some(m) = spinner {
        let st = &m.tstate;
        let since = st.spin_since.load(Relaxed);
        if st.reported.swap(1, AcqRel) == 0 {
            let mut text = format!(
                "gmp watchdog: livelock: M{} has been spinning on one timer for {} with no stop-the-world under way\n",
                m.id,
                secs(now - since)
            );
            describe_spin(&mut text, sched, m, now, "  ");
            report(sched, DiagnosisKind::TimerLivelock, since, now, text);
        }
    }
}

fn report(sched: &Sched, kind: DiagnosisKind, began_ns: i64, now: i64, text: String) {
    eprint!("{text}");
    let d = Diagnosis {
        kind,
        began: sched.start + Duration::from_nanos(began_ns.max(0) as u64),
        stalled_for: Duration::from_nanos((now - began_ns).max(0) as u64),
        text,
    };
    REPORTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(d.clone());
    let hook = HOOK.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(h) = hook {
        h(&d);
    }
}

fn secs(ns: i64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// Go's names of the P statuses.
fn p_status_name(s: u32) -> &'static str {
    match s {
        P_IDLE => "_Pidle",
        P_RUNNING => "_Prunning",
        P_SYSCALL => "_Psyscall",
        P_GCSTOP => "_Pgcstop",
        _ => "?",
    }
}

/// The report on a stop-the-world that does not complete.
fn diagnose_stw(sched: &'static Sched, started: i64, now: i64) -> String {
    let stw = &sched.stw;
    let reason = *stw.reason.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = format!(
        "gmp watchdog: stop-the-world ({reason:?}, by G{}) not complete after {} (gcwaiting = {}, stopwait = {} of {} Ps; timers {})\n",
        stw.by_goid.load(Relaxed),
        secs(now - started),
        stw.gcwaiting.load(Relaxed),
        stw.stopwait.load(Relaxed),
        sched.gomaxprocs(),
        sched.cfg.timers.name(),
    );
    let ms: Vec<&'static M> = sched.allm.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for pp in sched.allp {
        let st = pp.status.load(Acquire);
        if st == P_GCSTOP {
            let _ = writeln!(s, "  P{}: _Pgcstop (stopped)", pp.id);
            continue;
        }
        let _ = write!(s, "  P{}: {} (NOT stopped)", pp.id, p_status_name(st));
        let m = load(&pp.m).or_else(|| {
            ms.iter()
                .copied()
                .find(|m| load(&m.p).is_some_and(|x| std::ptr::eq(x, pp)))
        });
        match m {
            None => {
                let _ = writeln!(s, ", no M");
            }
            Some(m) => {
                let _ = writeln!(s, ", held by M{} (tid {})", m.id, m.tid.load(Relaxed));
                describe_m(&mut s, sched, m, pp, now);
            }
        }
    }
    s
}

/// What M m (holding pp) is doing.
fn describe_m(s: &mut String, sched: &'static Sched, m: &'static M, pp: &P, now: i64) {
    if m.tstate.spinning.load(Acquire) != 0 {
        describe_spin(s, sched, m, now, "    ");
        if load(&m.curg).is_none() {
            let _ = writeln!(
                s,
                "    M{} has no current G: preempt_one(P{}) skips it, and its osyield loop never returns to find_runnable's gcwaiting check: the world cannot stop",
                m.id, pp.id
            );
        }
        return;
    }
    match load(&m.curg) {
        Some(g) => {
            let _ = writeln!(
                s,
                "    M{} is running G{} (created at {}){}",
                m.id,
                g.goid.load(Relaxed),
                g.site_str(),
                if g.preempt.load(Relaxed) {
                    ", preemption requested, not yet at a safepoint"
                } else {
                    ""
                }
            );
        }
        None => {
            let _ = writeln!(
                s,
                "    M{} is in the scheduler (no current G){}",
                m.id,
                if m.spinning.load(Relaxed) {
                    ", spinning in find_runnable"
                } else {
                    ""
                }
            );
        }
    }
}

/// The spin of M m: where, on which timer, and who left that timer so.
fn describe_spin(s: &mut String, sched: &'static Sched, m: &'static M, now: i64, ind: &str) {
    let st = &m.tstate;
    let why = Spin::from_u8(st.spinning.load(Acquire)).map_or("?", |w| w.name());
    let t: Option<Arc<RTimer>> = st
        .spin_timer
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let Some(t) = t else {
        let _ = writeln!(s, "{ind}M{} spinning in {why}", m.id);
        return;
    };
    let tstatus = t.status.load(Acquire);
    let heap = st.spin_p.load(Relaxed);
    let _ = writeln!(
        s,
        "{ind}M{} spinning in {why}{}: timer {:#x} is {} (osyield x {} over {})",
        m.id,
        if heap >= 0 {
            format!(" on P{heap}'s timer heap")
        } else {
            String::new()
        },
        t.addr(),
        status_name(tstatus),
        st.spins.load(Relaxed),
        secs(now - st.spin_since.load(Relaxed)),
    );
    if sched.cfg.timers != crate::timer::Timers::Go1_14_1 {
        // Not recorded: only the Go 1.14.1 ordering notes the modifier
        // (timer/watch.rs `note_modifier`).
        let _ = writeln!(
            s,
            "{ind}timer {:#x}'s modifier is not recorded (Go 1.19 ordering)",
            t.addr()
        );
        return;
    }
    let goid = t.modifier_goid.load(Relaxed);
    let loc = t
        .modifier_loc()
        .map(|l| format!(", called from {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let who = if goid == 0 {
        format!("g0 of M{}", t.modifier_m.load(Relaxed))
    } else {
        format!("G{goid}")
    };
    let _ = writeln!(
        s,
        "{ind}timer {:#x} was set {} by {who} in {}{loc} (on M{})",
        t.addr(),
        status_name(TIMER_MODIFYING),
        t.modifier_site().describe(),
        t.modifier_m.load(Relaxed),
    );
    let g = load(&t.modifier);
    if let Some(g) = g.filter(|g| g.goid.load(Relaxed) == goid && goid != 0) {
        let pre = t.preempted_at();
        let preempted = if pre != crate::timer::Site::None {
            format!(
                ", preempted in {} while its timer was Modifying",
                pre.describe()
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "{ind}G{goid} (created at {}) is now {}{preempted}",
            g.site_str(),
            where_is(sched, g)
        );
        if tstatus == TIMER_MODIFYING && g.readgstatus() == G_RUNNABLE {
            let _ = writeln!(
                s,
                "{ind}only G{goid} can finish the modification, and no P is free to run it"
            );
        }
    }
}

/// Where goroutine g is now.
fn where_is(sched: &'static Sched, g: &'static G) -> String {
    match g.readgstatus() {
        G_RUNNABLE => {
            if sched.lock().runq.iter().any(|x| std::ptr::eq(*x, g)) {
                return "runnable on the global run queue".to_string();
            }
            for pp in sched.allp {
                if std::ptr::eq(pp.runnext.load(Acquire), g) {
                    return format!("runnable in P{}'s runnext", pp.id);
                }
                let (h, t) = (pp.runqhead.load(Acquire), pp.runqtail.load(Acquire));
                let mut i = h;
                while i != t {
                    if std::ptr::eq(pp.runq[(i % RUNQ_SIZE) as usize].load(Relaxed), g) {
                        return format!("runnable on P{}'s local run queue", pp.id);
                    }
                    i = i.wrapping_add(1);
                }
            }
            "runnable (being handed over)".to_string()
        }
        G_RUNNING => match load(&g.m) {
            Some(m) => format!("running on M{}", m.id),
            None => "running".to_string(),
        },
        G_SYSCALL => "in a syscall".to_string(),
        G_WAITING => format!(
            "waiting ({})",
            WaitReason::from_u8(g.waitreason.load(Relaxed)).as_str()
        ),
        G_DEAD => "dead".to_string(),
        s => format!("in status {s}"),
    }
}
