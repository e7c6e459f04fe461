//! `gmp-modelcheck`: an exhaustive model check of Go's timer /
//! stop-the-world protocol, the mechanism of seed 004 (golang/go#38023).
//!
//! # The hang, in one paragraph
//!
//! In Go 1.14.1, `time.Timer.Reset` on a fired timer runs `modtimer`, which
//! sets the timer `timerModifying`, adds it to the current P's heap, then
//! calls `wakeNetPoller` and only afterwards sets it `timerWaiting`. The
//! prologue of `wakeNetPoller` is a preemption point: if a preemption
//! request is pending, the goroutine is descheduled (`gosched`: `dropg`,
//! global run queue) while its timer is still `Modifying`, and the M goes
//! into `schedule` -> `checkTimers`, finds that timer in its own heap and
//! spins on it with `osyield`. The M now has no current G, so when the GC
//! stops the world, `preemptone` skips it; the M never gets back to the top
//! of `schedule` where it would see `gcwaiting`; the goroutine that would
//! finish the modification sits on the run queue of a world that is
//! stopping. Nobody moves again: one core at 100 %, the world never stops.
//!
//! # What this crate does
//!
//! [`model`] writes the protocol as small state machines with program
//! counters (G10's `modtimer`, the scheduler of each M, the GC goroutine's
//! `stop_the_world` loop, sysmon); [`explore`] enumerates every reachable
//! state by breadth-first search and decides, for each state where a
//! stop-the-world is under way, whether any interleaving can still stop the
//! world. [`check`] returns a [`Report`] with the number of states and, if
//! some state is stuck, the shortest counterexample as numbered steps.
//! With `--cfg loom` the crate also carries a loom version of the same
//! protocol with real atomics and threads (`loom_model`, tested by
//! `tests/loom.rs`).
//!
//! # Invariants of the check
//!
//! * Exhaustive within the bound of [`Config`]: two Ps, one timer that G10
//!   resets `resets` times, `gc_cycles` stop-the-worlds. Nothing is
//!   sampled.
//! * "Stuck" means *no* continuation reaches "world stopped"; this needs no
//!   fairness assumption, so a stuck state is a real hang of the modelled
//!   protocol, not an artefact of an unfair scheduler.
//! * The result is deterministic: same config, same states, same
//!   counterexample.

pub mod explore;
pub mod model;

#[cfg(loom)]
pub mod loom_model;

use std::fmt;

pub use model::{Config, Ordering};

/// The result of one model check.
#[derive(Clone, Debug)]
pub struct Report {
    /// What was checked.
    pub config: Config,
    /// Reachable states explored.
    pub states: usize,
    /// Transitions between them.
    pub transitions: usize,
    /// Reachable states from which the ongoing stop-the-world can never
    /// complete.
    pub stuck_states: usize,
    /// Reachable terminal states other than "all done" (model deadlocks).
    pub deadlocks: usize,
    /// The shortest counterexample, one numbered step a line, if any state
    /// is stuck.
    pub livelock: Option<Vec<String>>,
}

/// Checks the default bound ([`Config::new`]) for `ordering`.
pub fn check(ordering: Ordering) -> Report {
    check_config(Config::new(ordering))
}

/// Checks one configuration exhaustively.
pub fn check_config(config: Config) -> Report {
    let model = model::Model::new(config);
    let graph = explore::explore(&model);
    let analysis = explore::analyse(&model, &graph);
    Report {
        config,
        states: graph.states.len(),
        transitions: analysis.transitions,
        stuck_states: analysis.stuck.len(),
        deadlocks: analysis.deadlocks.len(),
        livelock: explore::counterexample(&graph, &analysis),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(f, "ordering {}: {}", c.ordering, c.ordering.describe())?;
        writeln!(
            f,
            "bound: 2 Ps, 1 timer reset {} time(s) by G10, {} stop-the-world cycle(s), sysmon {}, GC {} yield its P between cycles",
            c.resets,
            c.gc_cycles,
            if c.sysmon { "on" } else { "off" },
            if c.gc_yields { "may" } else { "does not" },
        )?;
        writeln!(
            f,
            "explored {} states, {} transitions (all interleavings)",
            self.states, self.transitions
        )?;
        if self.deadlocks > 0 {
            writeln!(
                f,
                "MODEL DEADLOCKS: {} terminal states that are not 'all done'",
                self.deadlocks
            )?;
        }
        match &self.livelock {
            Some(lines) => {
                writeln!(
                    f,
                    "LIVELOCK: stop_the_world can never complete from {} reachable states; shortest counterexample:",
                    self.stuck_states
                )?;
                for l in lines {
                    writeln!(f, "  {l}")?;
                }
                Ok(())
            }
            None => writeln!(
                f,
                "no livelock within the bound: every stop_the_world can complete from each of the {} states",
                self.states
            ),
        }
    }
}
