//! loom checks of the timer / stop-the-world protocol (see
//! `src/loom_model.rs` for the threads and for why a hang appears as
//! "Model exceeded maximum number of branches").
//!
//! Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p gmp-modelcheck --release loom
//! ```
//!
//! Bounds: `preemption_bound = 3` (loom's bounded partial-order reduction:
//! at most three involuntary context switches per execution, enough for
//! the seed's schedule, which needs two: sysmon inside G10's window, and
//! the GC between M0's `gcwaiting` check and its timer spin) and
//! `max_branches = 2_000` (an execution of the fixed protocol needs a few
//! hundred branches; only an execution that never ends reaches 2 000).
#![cfg(loom)]

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use gmp_modelcheck::Ordering;
use gmp_modelcheck::loom_model::{execution, last_spins};

std::thread_local! {
    /// Executions loom ran in this test (per thread: tests run in parallel).
    static EXECUTIONS: Cell<usize> = const { Cell::new(0) };
}

fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.max_branches = 2_000;
    b
}

/// Runs loom over `ordering`; Ok(executions) or Err(panic message).
fn explore(ordering: Ordering) -> Result<usize, String> {
    EXECUTIONS.with(|c| c.set(0));
    let result = catch_unwind(AssertUnwindSafe(|| {
        builder().check(move || {
            EXECUTIONS.with(|c| c.set(c.get() + 1));
            execution(ordering);
        })
    }));
    let n = EXECUTIONS.with(|c| c.get());
    match result {
        Ok(()) => Ok(n),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("after {n} executions: {msg}"))
        }
    }
}

/// Go 1.14.1: some interleaving never terminates. M0 yields forever on the
/// Modifying timer while the GC waits for P0 to stop, so loom cannot finish
/// that execution and stops it at `max_branches`. A deadlock report
/// (every thread blocked) would also be a hang; any other panic (an
/// assertion of the model) would be a bug of the model and fails the test.
#[test]
fn loom_go1_14_1_never_stops_the_world() {
    let err = explore(Ordering::Go1_14_1).expect_err("the 1.14.1 ordering must hang");
    // The execution loom gave up on: M0 was going round its osyield loop
    // on the Modifying timer, and the GC had started waiting for P0. In
    // this model only M0 can run G10, so once M0 spins on G10's timer the
    // timer can never change: the spin count is the evidence that the
    // execution was infinite, not merely long (loom hands most turns to
    // M0, so the GC's own count stays small).
    let spins = last_spins().m0_timer_spins;
    let waits = last_spins().gc_stop_waits;
    eprintln!(
        "loom, go1.14.1: {err}\n  (that execution: M0 yielded {spins} times on the Modifying timer, the GC timed out {waits} times waiting for P0)"
    );
    assert!(
        err.contains("maximum number of branches") || err.contains("deadlock"),
        "unexpected failure: {err}"
    );
    assert!(
        spins > 100 && waits >= 1,
        "not the hang: spins {spins}, waits {waits}"
    );
}

/// Go 1.19: every interleaving within the bound terminates with the world
/// stopped and restarted and the timer no longer Modifying.
#[test]
fn loom_go1_19_explores_to_completion() {
    let n = explore(Ordering::Go1_19).unwrap_or_else(|e| panic!("go1.19: {e}"));
    eprintln!("loom, go1.19: {n} executions, all complete");
    assert!(
        n > 1,
        "loom explored a single execution: the model has no concurrency"
    );
}

/// Each fix alone also terminates under loom (same finding as the
/// explicit-state checker).
#[test]
fn loom_each_fix_alone_terminates() {
    for o in [Ordering::StatusBeforeWakeOnly, Ordering::AcquireMOnly] {
        let n = explore(o).unwrap_or_else(|e| panic!("{o}: {e}"));
        eprintln!("loom, {o}: {n} executions, all complete");
    }
}
