//! The protocol: Go's `modtimer` on a removed timer, `schedule` ->
//! `checkTimers`, and `stopTheWorldWithSema`, as small state machines.
//!
//! # What is modelled
//!
//! Two Ps (`P0`, `P1`), each with its own M (`M0`, `M1`), and two
//! goroutines:
//!
//! * `G10` (the goroutine of seed 004) starts running on `M0`/`P0` and calls
//!   `t.Reset(1us)` on a timer that has already fired (status `Removed`, in
//!   no heap). Go 1.14.1's `resettimer` is `modtimer`, and for a removed
//!   timer `modtimer` takes the `wasRemoved` path. Its steps are listed by
//!   [`Ordering::program`]; the call prologues are *safepoints*: the stack
//!   check sees `stackguard0 == stackPreempt` when a preemption was
//!   requested and goes `morestack -> newstack -> gopreempt_m ->
//!   goschedImpl`, which `dropg`s (the M's `curg` becomes none), puts the G
//!   on the global run queue and calls `schedule`. Runtime code is never
//!   preempted asynchronously (Go 1.14 `isAsyncSafePoint` refuses
//!   `runtime.*`), so the prologues are the only places G10 can stop.
//!   With `m.locks > 0` (`acquirem`) `newstack` ignores the request and the
//!   G keeps running; the request stays pending (`gp.preempt`), and
//!   `releasem` re-arms it, so the next prologue after `releasem` honours it.
//!   When G10 returns from `modtimer` it blocks on `<-t.C` (`gopark`) and
//!   leaves the model.
//! * `GC` (the goroutine looping `runtime.GC()`) starts running on
//!   `M1`/`P1` and performs `gc_cycles` stop-the-world/start-the-world
//!   cycles, as `stopTheWorldWithSema` does it: `gcwaiting = 1`,
//!   `stopwait = gomaxprocs`, `preemptall` (`preemptone` skips a P whose M
//!   has no `curg`: an M inside `schedule`), its own P to `_Pgcstop`, idle
//!   Ps to `_Pgcstop`, then wait on the stop note in 100 us rounds,
//!   re-running `preemptall` after each timeout. Between cycles it may give
//!   up its P once (`gcWaitOnMark` parks it in real Go), which lets the
//!   other M pick up whatever is on the global run queue.
//! * An M without a `curg` runs `schedule`: at `top` it checks `gcwaiting`
//!   (`gcstopm`: P to `_Pgcstop`, `stopwait--`, M parks), then
//!   `checkTimers` on its own P: a timer in the heap that is `Modifying`
//!   makes `adjusttimers`/`runtimer` `osyield` and look again, forever if
//!   nobody finishes the modification; a `Waiting` timer fires. Then
//!   `findrunnable` (gcwaiting again, the global run queue, or the P goes
//!   idle and the M sleeps). An idle M/P pair is restarted (`wakep`,
//!   `startm`) when the global run queue is not empty or its P has a timer.
//! * `sysmon` (optional): `retake` may ask a running G10 to stop
//!   (`preemptone`) at any moment; it stands for "G10 ran for more than
//!   10 ms", or any earlier preemption request (a `forEachP`, an earlier
//!   `preemptall`) that G10 has not honoured yet.
//!
//! # What is abstracted
//!
//! * Time: the timer is always due (the seed resets it to 1 us); the 100 us
//!   stop-note timeout is a transition that may happen whenever `stopwait >
//!   0`. No fairness is assumed; the property checked does not need it.
//! * Each step is atomic. `preemptall` over the two Ps is one step (it is a
//!   loop over `allp` without locks in Go; splitting it adds interleavings
//!   but no new outcome for two Ps, since the only effect is per-P).
//! * One global run queue, no local run queues, no work or timer stealing,
//!   no netpoller (the `wakeNetPoller` body is a no-op here: only its
//!   prologue matters), no `_Psyscall`.
//! * M_i only ever holds P_i (the pairing is fixed); this loses nothing with
//!   two Ps and two Ms, it only renames.
//! * The timer's heap is reduced to "which P's heap holds it, if any".
//!
//! # Invariants the transitions keep
//!
//! * `ms[i]` is [`MState::Idle`] exactly when `ps[i]` is not `Running`,
//!   except for the M running the GC goroutine, which goes on running on
//!   its own `_Pgcstop` P while it waits for the others (as in Go).
//! * The timer is in a heap exactly when it is `Waiting`, or `Modifying`
//!   after `doaddtimer` (checked in `tests/model.rs` over every state).
//! * A G is in exactly one place: some `ms[i] == RunG(g)`, or the run queue,
//!   or parked in `<-t.C` / finished.
//! * `stopwait` counts the Ps not yet in `_Pgcstop` while `gcwaiting`.

use std::fmt;

/// Number of Ps (and Ms) in the model.
pub const NPROCS: usize = 2;

/// Which `modtimer` ordering G10 runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ordering {
    /// Go 1.14.1: add to the heap, `wakeNetPoller` (a safepoint), then CAS
    /// `Modifying -> Waiting`; no `acquirem`.
    Go1_14_1,
    /// Go 1.19: `acquirem`, add to the heap, CAS `Modifying -> Waiting`,
    /// `releasem`, then `wakeNetPoller` (golang/go 355f53f and e8be350).
    Go1_19,
    /// Mutation: only 355f53f ("set status before wake"), no `acquirem`.
    StatusBeforeWakeOnly,
    /// Mutation: only e8be350 (`acquirem` while Modifying), status still
    /// set after the wake.
    AcquireMOnly,
}

impl Ordering {
    /// Every ordering the checker knows.
    pub const ALL: [Ordering; 4] = [
        Ordering::Go1_14_1,
        Ordering::Go1_19,
        Ordering::StatusBeforeWakeOnly,
        Ordering::AcquireMOnly,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Ordering::Go1_14_1 => "go1.14.1",
            Ordering::Go1_19 => "go1.19",
            Ordering::StatusBeforeWakeOnly => "status-before-wake-only",
            Ordering::AcquireMOnly => "acquirem-only",
        }
    }

    /// A one-line description for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Ordering::Go1_14_1 => {
                "Go 1.14.1: add to heap, wake_netpoller (safepoint), then CAS Modifying -> Waiting; no acquirem"
            }
            Ordering::Go1_19 => {
                "Go 1.19: acquirem; add to heap; CAS Modifying -> Waiting; releasem; then wake_netpoller (355f53f + e8be350)"
            }
            Ordering::StatusBeforeWakeOnly => {
                "mutation: CAS Modifying -> Waiting before wake_netpoller (355f53f) but no acquirem"
            }
            Ordering::AcquireMOnly => {
                "mutation: acquirem around the Modifying window (e8be350) but wake_netpoller still before the CAS"
            }
        }
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Option<Ordering> {
        Ordering::ALL.into_iter().find(|o| o.name() == s)
    }

    /// Whether the status is set to Waiting before `wakeNetPoller` (355f53f).
    pub fn status_before_wake(self) -> bool {
        matches!(self, Ordering::Go1_19 | Ordering::StatusBeforeWakeOnly)
    }

    /// Whether preemption is disabled while Modifying (e8be350).
    pub fn acquirem(self) -> bool {
        matches!(self, Ordering::Go1_19 | Ordering::AcquireMOnly)
    }

    /// G10's program: `modtimer` for a `Removed` timer in this ordering.
    pub fn program(self) -> Vec<Step> {
        let mut p = Vec::new();
        if self.acquirem() {
            p.push(Step::AcquireM);
        }
        p.push(Step::CasModifying);
        p.push(Step::SafepointLock);
        p.push(Step::AddToHeap);
        if self.status_before_wake() {
            p.push(Step::CasWaiting);
            if self.acquirem() {
                p.push(Step::ReleaseM);
            }
            p.push(Step::SafepointWake);
        } else {
            p.push(Step::SafepointWake);
            p.push(Step::CasWaiting);
            if self.acquirem() {
                p.push(Step::ReleaseM);
            }
        }
        p.push(Step::Park);
        p
    }
}

impl fmt::Display for Ordering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One step of G10's `modtimer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `mp = acquirem()`: `m.locks++`, preemption disabled.
    AcquireM,
    /// `atomic.Cas(&t.status, timerRemoved, timerModifying)`.
    CasModifying,
    /// Prologue of the call that adds the timer (`addInitializedTimer` in
    /// 1.14.1, `lock(&pp.timersLock)` in 1.19): a safepoint, but the timer
    /// is in no heap yet.
    SafepointLock,
    /// `lock; cleantimers; doaddtimer; unlock`: the timer is now in this
    /// P's heap (`m.locks > 0` throughout, so no safepoint inside).
    AddToHeap,
    /// Prologue of `wakeNetPoller`: a safepoint.
    SafepointWake,
    /// `atomic.Cas(&t.status, timerModifying, timerWaiting)`.
    CasWaiting,
    /// `releasem(mp)`.
    ReleaseM,
    /// `modtimer` returns; G10 blocks on `<-t.C` (`gopark`).
    Park,
}

/// Go's `timer.status` values that this path can reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerStatus {
    /// `timerRemoved`: ran, in no heap.
    Removed,
    /// `timerModifying`: being modified; nobody else may touch it.
    Modifying,
    /// `timerWaiting`: in a heap, waiting to fire.
    Waiting,
    /// `timerNoStatus`: fired again after the reset (runtimer finished it).
    NoStatus,
}

/// A goroutine of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GId {
    /// The goroutine resetting the timer (goid 10 in the seed's core file).
    G10,
    /// The goroutine looping `runtime.GC()`.
    Gc,
}

impl fmt::Display for GId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GId::G10 => "G10",
            GId::Gc => "GC",
        })
    }
}

/// What an M is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MState {
    /// Running a goroutine: `m.curg == g`.
    RunG(GId),
    /// In `schedule`, at `top` (curg is none).
    Top,
    /// In `schedule` -> `checkTimers` (curg is none).
    CheckTimers,
    /// In `findrunnable` (curg is none).
    FindRunnable,
    /// Parked (`stopm`, or `gcstopm`); holds no P.
    Idle,
}

/// A P's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PStatus {
    /// `_Prunning`: owned by its M.
    Running,
    /// `_Pidle`: on the idle list.
    Idle,
    /// `_Pgcstop`: stopped for the world stop.
    GcStop,
}

/// Where the GC goroutine is in its loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GcPc {
    /// About to call `stopTheWorldWithSema`.
    StartCycle,
    /// `gcwaiting` is set; `preemptall` next.
    PreemptAll,
    /// Stop its own P and take the idle Ps next.
    StopPs,
    /// Waiting on the stop note in 100 us rounds.
    Wait,
    /// The world is stopped (the goal of every cycle).
    WorldStopped,
    /// Between two `runtime.GC()` calls.
    BetweenCycles,
    /// Finished its cycles.
    Done,
}

impl GcPc {
    /// Whether a stop-the-world is under way (gcwaiting set, not stopped).
    pub fn stw_in_progress(self) -> bool {
        matches!(self, GcPc::PreemptAll | GcPc::StopPs | GcPc::Wait)
    }
}

/// Knobs of the model (the bound of the exhaustive search).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// G10's `modtimer` ordering.
    pub ordering: Ordering,
    /// Whether sysmon may ask a running G10 to stop at any moment.
    pub sysmon: bool,
    /// How many stop-the-world cycles the GC goroutine performs.
    pub gc_cycles: u8,
    /// Whether the GC goroutine may give up its P once between cycles.
    pub gc_yields: bool,
    /// How many times G10 goes round `<-t.C; t.Reset(1us)`.
    pub resets: u8,
}

impl Config {
    /// The default bound: sysmon on, three GC cycles, GC may yield, three
    /// resets of the timer by G10.
    pub fn new(ordering: Ordering) -> Config {
        Config {
            ordering,
            sysmon: true,
            gc_cycles: 3,
            gc_yields: true,
            resets: 3,
        }
    }
}

/// G10's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct G10State {
    /// Index into [`Ordering::program`]; `program.len()` when finished.
    pub pc: u8,
    /// `gp.preempt`: a preemption request is pending.
    pub preempt: bool,
    /// `m.locks > 0` because of `acquirem` (travels with G10: it cannot be
    /// descheduled while set).
    pub locks: bool,
    /// Which `t.Reset` this is (0-based).
    pub round: u8,
    /// Blocked in `<-t.C` (parked, in no run queue).
    pub parked: bool,
    /// `t.C` (capacity 1) holds a value: the timer fired before G10 read.
    pub chan_full: bool,
}

/// The GC goroutine's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GcState {
    /// Program counter.
    pub pc: GcPc,
    /// Cycles completed.
    pub cycle: u8,
    /// Whether it already gave up its P in this gap between cycles.
    pub yielded: bool,
}

/// One global state of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// The timer's status.
    pub timer: TimerStatus,
    /// Which P's heap holds the timer.
    pub heap: Option<u8>,
    /// G10.
    pub g10: G10State,
    /// The GC goroutine.
    pub gc: GcState,
    /// The Ms.
    pub ms: [MState; NPROCS],
    /// The Ps.
    pub ps: [PStatus; NPROCS],
    /// `sched.gcwaiting`.
    pub gcwaiting: bool,
    /// `sched.stopwait`.
    pub stopwait: u8,
    /// The global run queue, head first.
    pub runq: Vec<GId>,
}

/// Who took a step (used to recognise spins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// An M (in the scheduler, or running a G).
    M(u8),
    /// sysmon.
    Sysmon,
}

/// A labelled transition.
#[derive(Clone, Debug)]
pub struct Transition {
    /// Who moved.
    pub actor: Actor,
    /// What happened, in Go's terms.
    pub label: String,
    /// The state after the step.
    pub next: State,
}

/// The protocol with its knobs.
#[derive(Clone, Debug)]
pub struct Model {
    /// The knobs.
    pub config: Config,
    program: Vec<Step>,
}

impl Model {
    /// Builds the model for a configuration.
    pub fn new(config: Config) -> Model {
        Model {
            config,
            program: config.ordering.program(),
        }
    }

    /// G10 running on M0/P0 about to reset its fired timer; GC on M1/P1
    /// about to start its first cycle.
    pub fn initial(&self) -> State {
        State {
            timer: TimerStatus::Removed,
            heap: None,
            g10: G10State {
                pc: 0,
                preempt: false,
                locks: false,
                round: 0,
                parked: false,
                chan_full: false,
            },
            gc: GcState {
                pc: GcPc::StartCycle,
                cycle: 0,
                yielded: false,
            },
            ms: [MState::RunG(GId::G10), MState::RunG(GId::Gc)],
            ps: [PStatus::Running; NPROCS],
            gcwaiting: false,
            stopwait: 0,
            runq: Vec::new(),
        }
    }

    /// Whether G10 has finished its last reset (it then blocks on `<-t.C`
    /// for good and leaves the model).
    pub fn g10_done(&self, s: &State) -> bool {
        usize::from(s.g10.pc) >= self.program.len() && !s.g10.parked
    }

    /// Every enabled transition from `s`.
    pub fn successors(&self, s: &State) -> Vec<Transition> {
        let mut out = Vec::new();
        for i in 0..NPROCS {
            match s.ms[i] {
                MState::RunG(GId::G10) => self.step_g10(s, i, &mut out),
                MState::RunG(GId::Gc) => self.step_gc(s, i, &mut out),
                MState::Top => step_top(s, i, &mut out),
                MState::CheckTimers => step_check_timers(s, i, &mut out),
                MState::FindRunnable => step_find_runnable(s, i, &mut out),
                MState::Idle => step_wakep(s, i, &mut out),
            }
        }
        if self.config.sysmon {
            self.step_sysmon(s, &mut out);
        }
        out
    }

    /// `sysmon` -> `retake` -> `preemptone` on the P running G10.
    fn step_sysmon(&self, s: &State, out: &mut Vec<Transition>) {
        if s.g10.preempt || self.g10_done(s) {
            return;
        }
        let Some(i) = s.ms.iter().position(|m| *m == MState::RunG(GId::G10)) else {
            return;
        };
        let mut n = s.clone();
        n.g10.preempt = true;
        out.push(Transition {
            actor: Actor::Sysmon,
            label: format!(
                "sysmon: retake: G10 has run > 10 ms on P{i} -> preempt_one(P{i}): G10.preempt = true (stackguard0 = stackPreempt)"
            ),
            next: n,
        });
    }

    /// One step of G10's `modtimer` on M_i.
    fn step_g10(&self, s: &State, i: usize, out: &mut Vec<Transition>) {
        let pc = usize::from(s.g10.pc);
        let Some(&step) = self.program.get(pc) else {
            return;
        };
        let mut n = s.clone();
        n.g10.pc += 1;
        let who = format!("G10 on P{i}");
        let label = match step {
            Step::AcquireM => {
                n.g10.locks = true;
                format!("{who}: mod_timer: acquirem (m.locks++: preemption disabled)")
            }
            Step::CasModifying => {
                debug_assert!(matches!(
                    s.timer,
                    TimerStatus::Removed | TimerStatus::NoStatus
                ));
                n.timer = TimerStatus::Modifying;
                format!(
                    "{who}: t.Reset #{} -> mod_timer: CAS timer {:?} -> Modifying (wasRemoved)",
                    s.g10.round + 1,
                    s.timer
                )
            }
            Step::SafepointLock | Step::SafepointWake => {
                return out.push(self.safepoint(s, n, i, step));
            }
            Step::AddToHeap => {
                n.heap = Some(i as u8);
                if self.config.ordering.status_before_wake() {
                    format!(
                        "{who}: mod_timer: lock(timersLock); do_add_timer: timer (Modifying) in P{i}'s heap; unlock"
                    )
                } else {
                    format!(
                        "{who}: add_initialized_timer: lock(timersLock); clean_timers; do_add_timer: timer (Modifying) in P{i}'s heap; unlock"
                    )
                }
            }
            Step::CasWaiting => {
                debug_assert_eq!(s.timer, TimerStatus::Modifying);
                n.timer = TimerStatus::Waiting;
                format!("{who}: mod_timer: CAS timer Modifying -> Waiting")
            }
            Step::ReleaseM => {
                n.g10.locks = false;
                let pending = if s.g10.preempt {
                    " (preempt pending: stackguard0 = stackPreempt again)"
                } else {
                    ""
                };
                format!("{who}: mod_timer: releasem (m.locks--){pending}")
            }
            Step::Park => return out.push(self.receive(s, n, i)),
        };
        out.push(Transition {
            actor: Actor::M(i as u8),
            label,
            next: n,
        });
    }

    /// A call prologue: the stack check, and `newstack`'s preemption path.
    fn safepoint(&self, s: &State, mut n: State, i: usize, step: Step) -> Transition {
        let func = match (step, self.config.ordering.status_before_wake()) {
            (Step::SafepointWake, _) => "wake_netpoller",
            (_, false) => "add_initialized_timer",
            (_, true) => "lock(timersLock)",
        };
        let where_ = if s.timer == TimerStatus::Modifying {
            "timer Modifying"
        } else {
            "timer Waiting"
        };
        let label = if s.g10.preempt && !s.g10.locks {
            n.ms[i] = MState::Top;
            n.runq.push(GId::G10);
            format!(
                "G10 on P{i}: {func} prologue ({where_}): preempted (morestack -> newstack -> gopreempt_m -> gosched): dropg, M{i}.curg = none; G10 -> global runq"
            )
        } else if s.g10.preempt {
            format!(
                "G10 on P{i}: {func} prologue ({where_}): preemption requested but m.locks > 0 (acquirem): newstack lets G10 go on"
            )
        } else {
            format!("G10 on P{i}: {func} prologue ({where_}): no preemption request")
        };
        Transition {
            actor: Actor::M(i as u8),
            label,
            next: n,
        }
    }

    /// After `modtimer` returns: `<-t.C`, then the next reset or the end.
    fn receive(&self, s: &State, mut n: State, i: usize) -> Transition {
        let who = format!("G10 on P{i}");
        let last = s.g10.round + 1 >= self.config.resets;
        let label = if last {
            n.ms[i] = MState::Top;
            n.g10.chan_full = false;
            format!(
                "{who}: mod_timer returns; last reset done, G10 leaves the model (gopark) -> M{i} schedule"
            )
        } else if s.g10.chan_full {
            n.g10 = G10State {
                pc: 0,
                round: s.g10.round + 1,
                chan_full: false,
                ..s.g10
            };
            format!("{who}: mod_timer returns; <-t.C receives at once (timer already fired)")
        } else {
            n.g10.parked = true;
            n.ms[i] = MState::Top;
            format!("{who}: mod_timer returns; G10 blocks on <-t.C (gopark) -> M{i} schedule")
        };
        Transition {
            actor: Actor::M(i as u8),
            label,
            next: n,
        }
    }

    /// One step of the GC goroutine on M_i.
    fn step_gc(&self, s: &State, i: usize, out: &mut Vec<Transition>) {
        let who = format!("GC on P{i}");
        let mut n = s.clone();
        let label = match s.gc.pc {
            GcPc::StartCycle => {
                n.gcwaiting = true;
                n.stopwait = NPROCS as u8;
                n.gc.pc = GcPc::PreemptAll;
                format!(
                    "{who}: stop_the_world (cycle {}): lock(sched); stopwait = {NPROCS}; gcwaiting = 1",
                    s.gc.cycle + 1
                )
            }
            GcPc::PreemptAll => {
                let what = preempt_all(&mut n, i);
                n.gc.pc = GcPc::StopPs;
                format!("{who}: stop_the_world: preempt_all: {what}")
            }
            GcPc::StopPs => {
                let what = stop_ps(&mut n, i);
                n.gc.pc = GcPc::Wait;
                format!("{who}: stop_the_world: {what}")
            }
            GcPc::Wait if s.stopwait == 0 => {
                n.gc.pc = GcPc::WorldStopped;
                format!(
                    "{who}: stop_the_world: stop note woken, stopwait = 0: the world is stopped"
                )
            }
            GcPc::Wait => {
                let what = preempt_all(&mut n, i);
                format!(
                    "{who}: stop_the_world: notetsleep(stopnote, 100us) timed out (stopwait = {}); preempt_all: {what}",
                    s.stopwait
                )
            }
            GcPc::WorldStopped => {
                start_the_world(&mut n, i);
                n.gc.cycle += 1;
                n.gc.pc = GcPc::BetweenCycles;
                n.gc.yielded = false;
                format!(
                    "{who}: start_the_world: gcwaiting = 0; stopped Ps -> _Pidle, P{i} -> _Prunning"
                )
            }
            GcPc::BetweenCycles => return self.gc_between_cycles(s, i, out),
            GcPc::Done => return,
        };
        out.push(Transition {
            actor: Actor::M(i as u8),
            label,
            next: n,
        });
    }

    /// After a cycle: call `runtime.GC()` again, give up the P once, or
    /// finish.
    fn gc_between_cycles(&self, s: &State, i: usize, out: &mut Vec<Transition>) {
        let who = format!("GC on P{i}");
        let actor = Actor::M(i as u8);
        if s.gc.cycle >= self.config.gc_cycles {
            let mut n = s.clone();
            n.gc.pc = GcPc::Done;
            n.ms[i] = MState::Top;
            out.push(Transition {
                actor,
                label: format!(
                    "{who}: last runtime.GC() returned; GC goroutine exits -> M{i} schedule"
                ),
                next: n,
            });
            return;
        }
        let mut n = s.clone();
        n.gc.pc = GcPc::StartCycle;
        out.push(Transition {
            actor,
            label: format!("{who}: calls runtime.GC() again"),
            next: n,
        });
        if self.config.gc_yields && !s.gc.yielded {
            let mut n = s.clone();
            n.gc.yielded = true;
            n.ms[i] = MState::Top;
            n.runq.push(GId::Gc);
            out.push(Transition {
                actor,
                label: format!(
                    "{who}: parks/yields between cycles: GC -> global runq, M{i} schedule"
                ),
                next: n,
            });
        }
    }
}

/// `preemptall`: `preemptone` on every running P but the caller's.
fn preempt_all(n: &mut State, me: usize) -> String {
    let mut parts = Vec::new();
    for j in 0..NPROCS {
        if j == me || n.ps[j] != PStatus::Running {
            continue;
        }
        match n.ms[j] {
            MState::RunG(GId::G10) => {
                n.g10.preempt = true;
                parts.push(format!(
                    "preempt_one(P{j}): M{j}.curg = G10 -> G10.preempt = true"
                ));
            }
            MState::RunG(GId::Gc) => unreachable!("the GC goroutine is the caller of preempt_all"),
            _ => parts.push(format!(
                "preempt_one(P{j}) skipped: M{j}.curg is none (M{j} is in schedule)"
            )),
        }
    }
    if parts.is_empty() {
        "no other running P".to_string()
    } else {
        parts.join("; ")
    }
}

/// Own P and idle Ps to `_Pgcstop`.
fn stop_ps(n: &mut State, me: usize) -> String {
    n.ps[me] = PStatus::GcStop;
    n.stopwait -= 1;
    let mut text = format!("P{me} -> _Pgcstop");
    for j in 0..NPROCS {
        if n.ps[j] == PStatus::Idle {
            n.ps[j] = PStatus::GcStop;
            n.stopwait -= 1;
            text.push_str(&format!("; idle P{j} -> _Pgcstop"));
        }
    }
    text.push_str(&format!("; stopwait = {}", n.stopwait));
    text
}

/// `startTheWorldWithSema`: the caller's P runs again, the others go idle
/// (their Ms are parked and come back through `wakep`).
fn start_the_world(n: &mut State, me: usize) {
    n.gcwaiting = false;
    for j in 0..NPROCS {
        n.ps[j] = if j == me {
            PStatus::Running
        } else {
            PStatus::Idle
        };
    }
}

/// `gcstopm`: release the P to `_Pgcstop` and park the M.
fn gcstopm(n: &mut State, i: usize) -> String {
    n.ps[i] = PStatus::GcStop;
    n.ms[i] = MState::Idle;
    n.stopwait -= 1;
    let wake = if n.stopwait == 0 {
        "; notewakeup(stopnote)"
    } else {
        ""
    };
    format!(
        "gcwaiting -> gcstopm: P{i} -> _Pgcstop, stopwait = {}{wake}",
        n.stopwait
    )
}

/// `schedule`, at `top`.
fn step_top(s: &State, i: usize, out: &mut Vec<Transition>) {
    let mut n = s.clone();
    let label = if s.gcwaiting {
        let what = gcstopm(&mut n, i);
        format!("M{i} on P{i}: schedule: {what}")
    } else {
        n.ms[i] = MState::CheckTimers;
        format!("M{i} on P{i}: schedule: gcwaiting == 0 -> check_timers")
    };
    out.push(Transition {
        actor: Actor::M(i as u8),
        label,
        next: n,
    });
}

/// `checkTimers` -> `adjusttimers` / `runtimer` on P_i.
fn step_check_timers(s: &State, i: usize, out: &mut Vec<Transition>) {
    let mut n = s.clone();
    let label = if s.heap == Some(i as u8) {
        match s.timer {
            TimerStatus::Modifying => {
                format!(
                    "M{i} on P{i}: schedule -> check_timers -> adjust_timers: timer Modifying -> osyield, look again"
                )
            }
            _ => {
                n.timer = TimerStatus::NoStatus;
                n.heap = None;
                n.ms[i] = MState::FindRunnable;
                let send = if s.g10.parked {
                    n.g10 = G10State {
                        pc: 0,
                        round: s.g10.round + 1,
                        parked: false,
                        preempt: false,
                        ..s.g10
                    };
                    n.runq.push(GId::G10);
                    "send on t.C readies G10 -> global runq"
                } else {
                    n.g10.chan_full = true;
                    "send on t.C buffered"
                };
                format!(
                    "M{i} on P{i}: check_timers -> run_timer: timer fires (Waiting -> Running -> NoStatus), off the heap; {send}"
                )
            }
        }
    } else {
        n.ms[i] = MState::FindRunnable;
        format!("M{i} on P{i}: check_timers: no timer in P{i}'s heap -> findrunnable")
    };
    out.push(Transition {
        actor: Actor::M(i as u8),
        label,
        next: n,
    });
}

/// `findrunnable`: gcwaiting, the global run queue, or stop.
fn step_find_runnable(s: &State, i: usize, out: &mut Vec<Transition>) {
    let mut n = s.clone();
    let label = if s.gcwaiting {
        let what = gcstopm(&mut n, i);
        format!("M{i} on P{i}: findrunnable: {what}")
    } else if !s.runq.is_empty() {
        let g = n.runq.remove(0);
        n.ms[i] = MState::RunG(g);
        if g == GId::G10 {
            n.g10.preempt = false;
        }
        format!("M{i} on P{i}: findrunnable: globrunqget -> execute {g} (preempt cleared)")
    } else {
        n.ps[i] = PStatus::Idle;
        n.ms[i] = MState::Idle;
        format!("M{i} on P{i}: findrunnable: nothing to run -> P{i} -> _Pidle, stopm")
    };
    out.push(Transition {
        actor: Actor::M(i as u8),
        label,
        next: n,
    });
}

/// `wakep`/`startm`: an idle M takes its idle P when there is work.
fn step_wakep(s: &State, i: usize, out: &mut Vec<Transition>) {
    let has_work = !s.runq.is_empty() || s.heap == Some(i as u8);
    if s.gcwaiting || s.ps[i] != PStatus::Idle || !has_work {
        return;
    }
    let mut n = s.clone();
    n.ps[i] = PStatus::Running;
    n.ms[i] = MState::Top;
    out.push(Transition {
        actor: Actor::M(i as u8),
        label: format!("wakep: M{i} acquires idle P{i} -> schedule"),
        next: n,
    });
}
