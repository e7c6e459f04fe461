//! Tests of the explicit-state model check.
//!
//! Each test states a property of the *model's answer* that would fail if
//! the model or the checker were wrong: the 1.14.1 ordering must livelock
//! through the seed's mechanism (timer Modifying, a skipped `preempt_one`, a
//! preempted G10), the fixed orderings must not, the printed counterexample
//! must be an execution the model can replay, and the model's own
//! bookkeeping invariants must hold in every reachable state.

use gmp_modelcheck::explore::{analyse, explore};
use gmp_modelcheck::model::{GId, GcPc, MState, Model, NPROCS, PStatus, State, TimerStatus};
use gmp_modelcheck::{Config, Ordering, Report, check, check_config};

fn livelock_text(r: &Report) -> String {
    r.livelock
        .as_ref()
        .unwrap_or_else(|| panic!("expected a livelock, got:\n{r}"))
        .join("\n")
}

#[test]
fn go1_14_1_livelocks_through_the_seed_mechanism() {
    let r = check(Ordering::Go1_14_1);
    let text = livelock_text(&r);
    assert!(r.stuck_states > 0);
    assert_eq!(r.deadlocks, 0, "model deadlock:\n{r}");
    // The three ingredients of seed 004, in the counterexample itself.
    assert!(text.contains("CAS timer Removed -> Modifying"), "{text}");
    assert!(
        text.contains("wake_netpoller prologue (timer Modifying): preempted"),
        "{text}"
    );
    assert!(text.contains("G10 -> global runq"), "{text}");
    assert!(
        text.contains("adjust_timers: timer Modifying -> osyield"),
        "{text}"
    );
    assert!(
        text.contains("preempt_one(P0) skipped: M0.curg is none"),
        "{text}"
    );
    assert!(text.contains("the world never stops"), "{text}");
}

#[test]
fn go1_19_has_no_livelock_within_the_bound() {
    let r = check(Ordering::Go1_19);
    assert!(r.livelock.is_none(), "{r}");
    assert_eq!(r.stuck_states, 0);
    assert_eq!(r.deadlocks, 0, "model deadlock:\n{r}");
    // The search is not vacuous: thousands of states, with both GC cycles
    // and all resets reachable (checked in `the_bound_is_reached`).
    assert!(r.states > 1000, "{r}");
}

/// What each fix gives alone. In Go 1.14.1 the only safepoint at which the
/// Modifying timer is *already in a heap* is the `wakeNetPoller` prologue
/// (the earlier prologue, `addInitializedTimer`/`lock`, comes before
/// `doaddtimer`, and nothing walks a heap the timer is not in). So moving
/// the status update before the wake (355f53f) closes the window, and so
/// does `acquirem` (e8be350), which makes the prologue ignore the request.
/// Go took both: `acquirem` also covers any safepoint a later change might
/// put inside the window.
#[test]
fn each_fix_alone_removes_the_livelock() {
    for o in [Ordering::StatusBeforeWakeOnly, Ordering::AcquireMOnly] {
        let r = check(o);
        assert!(r.livelock.is_none(), "{o}:\n{r}");
        assert_eq!(r.deadlocks, 0, "{o}:\n{r}");
    }
}

/// The livelock needs a preemption request to reach G10 before the world
/// starts stopping. With sysmon off and a single GC cycle the only request
/// comes from that cycle's own `preempt_all`, after `gcwaiting` is set, so
/// the M that later enters `schedule` sees `gcwaiting` and stops: no hang.
/// With two cycles the first one's request is honoured in the window, the
/// world stops and restarts, the M spins, and the second cycle hangs.
#[test]
fn the_gc_alone_is_a_sufficient_preemption_source_from_two_cycles() {
    let mut c = Config::new(Ordering::Go1_14_1);
    c.sysmon = false;
    c.gc_cycles = 1;
    let one = check_config(c);
    assert!(one.livelock.is_none(), "{one}");
    c.gc_cycles = 2;
    let two = check_config(c);
    let text = livelock_text(&two);
    assert!(text.contains("(cycle 2)"), "{text}");
    assert!(
        text.contains("preempt_one(P0): M0.curg = G10 -> G10.preempt = true"),
        "{text}"
    );
}

/// Replays the printed counterexample through the model: every numbered
/// line must be the label of an enabled step of the state reached so far,
/// the lines marked as spins must lead back to the same state, and the
/// final state must be one where a stop-the-world is under way.
#[test]
fn the_counterexample_is_an_execution_of_the_model() {
    for config in [Config::new(Ordering::Go1_14_1), {
        let mut c = Config::new(Ordering::Go1_14_1);
        c.sysmon = false;
        c
    }] {
        let model = Model::new(config);
        let report = check_config(config);
        let lines = report.livelock.clone().expect("livelock");
        let mut state = model.initial();
        for line in &lines[..lines.len() - 1] {
            let (_, body) = line.split_once(". ").expect("numbered line");
            let (label, spin) = match body.strip_suffix("   [back to the same state]") {
                Some(l) => (l, true),
                None => (body, false),
            };
            let next = model
                .successors(&state)
                .into_iter()
                .find(|t| t.label == label)
                .unwrap_or_else(|| panic!("step not enabled: {label}"))
                .next;
            if spin {
                assert_eq!(next, state, "not a spin: {label}");
            }
            state = next;
        }
        assert!(state.gc.pc.stw_in_progress(), "{state:?}");
        assert_eq!(state.timer, TimerStatus::Modifying);
        assert!(state.runq.contains(&GId::G10));
    }
}

/// The state that makes the hang possible (G10 descheduled while its timer
/// is Modifying and in a heap) is reachable with 1.14.1 and unreachable
/// with the fixes: the fixes work by closing that window, not by luck of
/// the schedule.
#[test]
fn only_1_14_1_deschedules_g10_with_a_modifying_timer_in_a_heap() {
    let window = |s: &State| {
        s.timer == TimerStatus::Modifying
            && s.heap.is_some()
            && !s.ms.contains(&MState::RunG(GId::G10))
    };
    for o in Ordering::ALL {
        let g = explore(&Model::new(Config::new(o)));
        let reachable = g.states.iter().any(window);
        assert_eq!(reachable, o == Ordering::Go1_14_1, "{o}");
    }
}

/// Bookkeeping invariants of the model in every reachable state.
#[test]
fn model_invariants_hold_in_every_reachable_state() {
    for o in Ordering::ALL {
        let model = Model::new(Config::new(o));
        let g = explore(&model);
        for s in &g.states {
            check_invariants(&model, s);
        }
    }
}

fn check_invariants(model: &Model, s: &State) {
    // A G is in exactly one place (G10 may also be parked or finished).
    for gid in [GId::G10, GId::Gc] {
        let on_m = s.ms.iter().filter(|m| **m == MState::RunG(gid)).count();
        let queued = s.runq.iter().filter(|g| **g == gid).count();
        let elsewhere = match gid {
            GId::G10 => s.g10.parked || model.g10_done(s),
            GId::Gc => s.gc.pc == GcPc::Done,
        };
        assert_eq!(on_m + queued + usize::from(elsewhere), 1, "{gid} in {s:?}");
    }
    // An M is parked exactly when its P is not running, except the M of the
    // GC goroutine, which keeps running on its stopped P during the STW.
    for i in 0..NPROCS {
        let gc_here = s.ms[i] == MState::RunG(GId::Gc);
        if !gc_here {
            assert_eq!(
                s.ms[i] == MState::Idle,
                s.ps[i] != PStatus::Running,
                "M{i} in {s:?}"
            );
        }
    }
    // stopwait counts the Ps still to stop while gcwaiting.
    if s.gcwaiting {
        let not_stopped = s.ps.iter().filter(|p| **p != PStatus::GcStop).count();
        assert_eq!(usize::from(s.stopwait), not_stopped, "{s:?}");
    }
    // The timer is in a heap exactly when Modifying-after-add or Waiting.
    if s.heap.is_some() {
        assert!(
            matches!(s.timer, TimerStatus::Modifying | TimerStatus::Waiting),
            "{s:?}"
        );
    } else {
        assert_ne!(s.timer, TimerStatus::Waiting, "{s:?}");
    }
}

/// The bound is actually reached: the last GC cycle completes and G10
/// finishes its last reset in some reachable state (so "no livelock" is
/// not the result of an exploration that stopped early).
#[test]
fn the_bound_is_reached() {
    for o in Ordering::ALL {
        let config = Config::new(o);
        let model = Model::new(config);
        let g = explore(&model);
        let a = analyse(&model, &g);
        assert!(g.states.iter().any(|s| s.gc.pc == GcPc::Done), "{o}");
        assert!(
            g.states
                .iter()
                .any(|s| model.g10_done(s) && s.g10.round + 1 == config.resets),
            "{o}"
        );
        assert!(
            a.can_stop[0],
            "{o}: the initial state cannot stop the world"
        );
    }
}

#[test]
fn the_report_text_names_the_result() {
    let bad = check(Ordering::Go1_14_1).to_string();
    assert!(bad.contains("LIVELOCK"), "{bad}");
    assert!(bad.contains("1. G10 on P0"), "{bad}");
    let good = check(Ordering::Go1_19).to_string();
    assert!(good.contains("no livelock within the bound"), "{good}");
    assert!(good.contains("explored"), "{good}");
}

#[test]
fn the_binary_rejects_bad_input_with_exit_2() {
    let bin = env!("CARGO_BIN_EXE_modelcheck");
    for args in [
        &["--ordering", "go1.13"][..],
        &["--gc-cycles", "9"][..],
        &["--resets", "0"][..],
        &["--no-such-flag"][..],
    ] {
        let out = std::process::Command::new(bin).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    let help = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    let both = std::process::Command::new(bin).output().unwrap();
    assert_eq!(both.status.code(), Some(0));
    let text = String::from_utf8_lossy(&both.stdout);
    assert!(
        text.contains("LIVELOCK") && text.contains("no livelock"),
        "{text}"
    );
}
