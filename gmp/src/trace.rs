//! Introspection: what Go cannot give.
//!
//! * [`stats`]: counts of goroutines, Ms and Ps by state (Go exposes some of
//!   these through `GODEBUG=schedtrace`, none through an API).
//! * [`goroutine_dump`]: goroutines grouped by state/wait reason and spawn
//!   site, like `/debug/pprof/goroutine?debug=1` (which groups by stack).
//! * [`thread_create_profile`]: every M creation with the decision that
//!   caused it; Go's `threadcreate` profile has only empty stacks
//!   (golang/go#6104).
//! * [`schedtrace`]: Go's `SCHED` line (proc.go: schedtrace), printed by
//!   sysmon every `schedtrace` ms.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::*;

use crate::runq::runqlen;
use crate::runtime2::*;

/// A snapshot of the scheduler's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Live user goroutines (Go: `runtime.NumGoroutine`).
    pub goroutines: u64,
    /// Runtime goroutines (forcegc, bgsweep, bgscavenge, runfinq models).
    pub system_goroutines: u64,
    /// Ms alive (Go: `mcount()`), including m0, sysmon and the template thread.
    pub ms: u64,
    /// Ms parked on the idle list.
    pub ms_idle: u64,
    /// Ms whose goroutine is in a syscall or ffi call.
    pub ms_syscall: u64,
    /// Spinning Ms (`sched.nmspinning`).
    pub ms_spinning: u64,
    /// Ms locked to a goroutine.
    pub ms_locked: u64,
    /// Ms with a goroutine running Go code (holding a P).
    pub ms_running: u64,
    pub ps_idle: u64,
    pub ps_running: u64,
    pub ps_syscall: u64,
    /// OS threads created so far (sysmon, template thread and Ms; not m0).
    pub threads_created: u64,
    /// OS threads that exited (locked goroutines that exited).
    pub threads_exited: u64,
    /// Ps retaken by sysmon from syscalls.
    pub retakes: u64,
    /// `handoffp` calls (syscall retakes, blocking syscalls, locked Ms).
    pub handoffs: u64,
    /// `preemptone` requests and SIGURG signals sent/received.
    pub preempt_requests: u64,
    pub signals_sent: u64,
    pub signals_received: u64,
    /// Syscall/ffi entries and slow exits (`exitsyscall0`).
    pub syscalls: u64,
    pub exitsyscall_slow: u64,
    /// Goroutines created so far.
    pub spawned: u64,
    /// Length of the global run queue.
    pub global_runq: u64,
    pub procs: u64,
}

impl Stats {
    /// The counters as (name, value) pairs for the metrics protocol.
    pub fn counters(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("goroutines", self.goroutines as f64),
            ("ms", self.ms as f64),
            ("ms_idle", self.ms_idle as f64),
            ("ms_syscall", self.ms_syscall as f64),
            ("ms_spinning", self.ms_spinning as f64),
            ("ms_locked", self.ms_locked as f64),
            ("ms_running", self.ms_running as f64),
            ("ps_idle", self.ps_idle as f64),
            ("ps_running", self.ps_running as f64),
            ("ps_syscall", self.ps_syscall as f64),
            ("threads_created", self.threads_created as f64),
            ("threads_exited", self.threads_exited as f64),
            ("retakes", self.retakes as f64),
            ("handoffs", self.handoffs as f64),
            ("preempt_requests", self.preempt_requests as f64),
            ("signals_sent", self.signals_sent as f64),
            ("syscalls", self.syscalls as f64),
            ("global_runq", self.global_runq as f64),
        ]
    }
}

pub(crate) fn stats(sched: &'static Sched) -> Stats {
    let c = &sched.counters;
    let mut s = Stats {
        threads_created: c.threads_created.load(Relaxed),
        threads_exited: c.threads_exited.load(Relaxed),
        retakes: c.retakes.load(Relaxed),
        handoffs: c.handoffs.load(Relaxed),
        preempt_requests: c.preempt_requests.load(Relaxed),
        signals_sent: c.signals_sent.load(Relaxed),
        signals_received: crate::sysmon::SIGURG_RECEIVED.load(Relaxed),
        syscalls: sched.allp.iter().map(|pp| pp.syscalls.load(Relaxed)).sum(),
        exitsyscall_slow: c.exitsyscall_slow.load(Relaxed),
        spawned: c.spawned.load(Relaxed),
        global_runq: sched.runqsize.load(Relaxed) as u64,
        ms_spinning: sched.nmspinning.load(Relaxed) as u64,
        ms_idle: sched.nmidle.load(Relaxed) as u64,
        ps_idle: sched.npidle.load(Relaxed) as u64,
        procs: sched.allp.len() as u64,
        ..Stats::default()
    };
    // Go's gcount(): allglen - gFree.n - ngsys, without walking allgs.
    let allglen = sched.allgs.lock().unwrap_or_else(|e| e.into_inner()).len() as i64;
    let ngsys = sched.ngsys.load(Relaxed).max(0);
    let ngdead = sched.ngdead.load(Relaxed).max(0);
    s.system_goroutines = ngsys as u64;
    s.goroutines = (allglen - ngdead - ngsys).max(0) as u64;
    {
        let allm = sched.allm.lock().unwrap_or_else(|e| e.into_inner());
        for m in allm.iter() {
            if m.exited.load(Relaxed) {
                continue;
            }
            s.ms += 1;
            if load(&m.lockedg).is_some() {
                s.ms_locked += 1;
            }
            if let Some(g) = load(&m.curg) {
                match g.readgstatus() {
                    G_SYSCALL => s.ms_syscall += 1,
                    G_RUNNING => s.ms_running += 1,
                    _ => {}
                }
            }
        }
    }
    for pp in sched.allp {
        match pp.status.load(Relaxed) {
            P_RUNNING => s.ps_running += 1,
            P_SYSCALL => s.ps_syscall += 1,
            _ => {}
        }
    }
    s
}

fn state_name(g: &G) -> String {
    match g.readgstatus() {
        G_RUNNABLE => "runnable".into(),
        G_RUNNING => "running".into(),
        G_SYSCALL => "syscall".into(),
        G_WAITING => WaitReason::from_u8(g.waitreason.load(Relaxed))
            .as_str()
            .to_string(),
        G_IDLE => "idle".into(),
        _ => "dead".into(),
    }
}

pub(crate) fn goroutine_dump(sched: &'static Sched) -> String {
    let mut groups: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut total = 0u64;
    {
        let allgs = sched.allgs.lock().unwrap_or_else(|e| e.into_inner());
        for g in allgs.iter() {
            if g.readgstatus() == G_DEAD || g.system.load(Relaxed) {
                continue;
            }
            total += 1;
            *groups.entry((state_name(g), g.site_str())).or_default() += 1;
        }
    }
    let mut v: Vec<_> = groups.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = format!("goroutine profile: total {total}\n");
    for ((state, site), n) in v {
        let _ = writeln!(out, "{n} @ {state}, created at {site}");
    }
    out
}

/// One OS thread creation and why it happened.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadCreate {
    /// The M's id (Go's `m.id`; m0 is 0).
    pub m_id: i64,
    /// Time since the runtime was built.
    pub at: std::time::Duration,
    /// The decision that created it, e.g. "wakep for new work" or
    /// "sysmon retook P0 from G7 in syscall ...".
    pub cause: String,
}

pub(crate) fn thread_create_profile(sched: &'static Sched) -> Vec<ThreadCreate> {
    sched
        .thread_creates
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|r| ThreadCreate {
            m_id: r.m_id,
            at: std::time::Duration::from_nanos((r.at_ns - 1).max(0) as u64),
            cause: r.cause.clone(),
        })
        .collect()
}

/// Models `runtime.schedtrace` (proc.go): prints Go's SCHED line to stderr.
pub(crate) fn schedtrace(sched: &'static Sched, detailed: bool) {
    let now_ms = (sched.nanotime() - 1) / 1_000_000;
    let mut out = String::new();
    let mcount = {
        let l = sched.lock();
        l.mnext - l.nmfreed
    };
    let _ = write!(
        out,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} runqueue={}",
        now_ms,
        sched.gomaxprocs(),
        sched.npidle.load(Relaxed),
        mcount,
        sched.nmspinning.load(Relaxed),
        sched.nmidle.load(Relaxed),
        sched.runqsize.load(Relaxed)
    );
    if detailed {
        let _ = writeln!(
            out,
            " gcwaiting=0 nmidlelocked={} stopwait=0 sysmonwait={}",
            sched.lock().nmidlelocked,
            sched.sysmonwait.load(Relaxed)
        );
        for pp in sched.allp {
            let _ = writeln!(
                out,
                "  P{}: status={} schedtick={} syscalltick={} m={} runqsize={} gfreecnt={} timerslen={}",
                pp.id,
                pp.status.load(Relaxed),
                pp.schedtick.load(Relaxed),
                pp.syscalltick.load(Relaxed),
                load(&pp.m).map_or(-1, |m| m.id),
                runqlen(pp),
                pp.gfree.lock().map(|f| f.len()).unwrap_or(0),
                i32::from(crate::timer::has_timers(pp))
            );
        }
        let allm = sched.allm.lock().unwrap_or_else(|e| e.into_inner());
        for m in allm.iter() {
            let _ = writeln!(
                out,
                "  M{}: p={} curg={} spinning={} blocked={} lockedg={}",
                m.id,
                load(&m.p).map_or(-1, |p| p.id as i64),
                load(&m.curg).map_or(-1, |g| g.goid.load(Relaxed) as i64),
                m.spinning.load(Relaxed),
                m.polling.load(Relaxed),
                load(&m.lockedg).map_or(-1, |g| g.goid.load(Relaxed) as i64),
            );
        }
    } else {
        out.push(' ');
        let lens: Vec<String> = sched.allp.iter().map(|p| runqlen(p).to_string()).collect();
        let _ = writeln!(out, "[{}]", lens.join(" "));
    }
    eprint!("{out}");
}
