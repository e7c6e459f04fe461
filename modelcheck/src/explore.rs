//! Exhaustive exploration and the non-progress check.
//!
//! # Algorithm
//!
//! 1. Breadth-first search from the initial state over every enabled
//!    transition of every actor (all interleavings), with a visited set.
//!    Each state keeps the index of the state it was first reached from and
//!    the label of that step, so the path back to the initial state is a
//!    shortest one (BFS discovers states in order of distance).
//! 2. The goal is "the world is stopped": every state whose GC goroutine
//!    is at [`GcPc::WorldStopped`]. A backward search over the reversed
//!    edges from the goal states marks every state that *can* still reach
//!    a stopped world by some interleaving.
//! 3. A state where a stop-the-world is under way (`gcwaiting` set, not yet
//!    stopped) and which is not marked is *stuck*: no scheduling decision,
//!    however favourable, stops the world from there. That is the property
//!    "stop_the_world can never complete"; it needs no fairness assumption,
//!    and it covers both a deadlock (no enabled step) and a livelock (steps
//!    that go round a cycle forever, here the `osyield` spin and the 100 us
//!    re-preempt rounds).
//! 4. The counterexample is the BFS path to the stuck state of smallest
//!    depth, extended inside the stuck region to the nearest state where
//!    every enabled step is a spin (it leads back to the same state), and
//!    then those spins, printed once.
//!
//! Terminal states (no enabled step) are also counted: the only legal one is
//! "everything finished and idle"; any other would be a deadlock of the
//! model itself and is reported.

use std::collections::{HashMap, VecDeque};

use crate::model::{GcPc, MState, Model, State, Transition};

/// The reachable graph.
pub struct Graph {
    /// States, in BFS order.
    pub states: Vec<State>,
    /// For each state: (parent index, label of the step from the parent).
    pub parent: Vec<Option<(u32, String)>>,
    /// Outgoing edges: (target index, label).
    pub edges: Vec<Vec<(u32, String)>>,
}

/// Explores every reachable state of `model`.
pub fn explore(model: &Model) -> Graph {
    let init = model.initial();
    let mut index: HashMap<State, u32> = HashMap::new();
    let mut g = Graph {
        states: vec![init.clone()],
        parent: vec![None],
        edges: Vec::new(),
    };
    index.insert(init, 0);
    let mut queue = VecDeque::from([0u32]);
    while let Some(at) = queue.pop_front() {
        let succ = model.successors(&g.states[at as usize]);
        let mut out = Vec::with_capacity(succ.len());
        for Transition { label, next, .. } in succ {
            let to = match index.get(&next) {
                Some(&to) => to,
                None => {
                    let to = g.states.len() as u32;
                    index.insert(next.clone(), to);
                    g.states.push(next);
                    g.parent.push(Some((at, label.clone())));
                    queue.push_back(to);
                    to
                }
            };
            out.push((to, label));
        }
        if g.edges.len() <= at as usize {
            g.edges.resize(at as usize + 1, Vec::new());
        }
        g.edges[at as usize] = out;
    }
    g.edges.resize(g.states.len(), Vec::new());
    g
}

/// The outcome of the non-progress check on a graph.
pub struct Analysis {
    /// Per state: can it still reach a stopped world?
    pub can_stop: Vec<bool>,
    /// Reachable states with a stop-the-world under way that cannot finish.
    pub stuck: Vec<u32>,
    /// Terminal states other than "everything finished".
    pub deadlocks: Vec<u32>,
    /// Number of transitions.
    pub transitions: usize,
}

/// Marks the states that can reach "world stopped" and finds the stuck ones.
pub fn analyse(model: &Model, g: &Graph) -> Analysis {
    let n = g.states.len();
    let mut reverse: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut transitions = 0;
    for (from, out) in g.edges.iter().enumerate() {
        for (to, _) in out {
            reverse[*to as usize].push(from as u32);
            transitions += 1;
        }
    }
    let mut can_stop = vec![false; n];
    let mut queue = VecDeque::new();
    for (i, s) in g.states.iter().enumerate() {
        if s.gc.pc == GcPc::WorldStopped {
            can_stop[i] = true;
            queue.push_back(i as u32);
        }
    }
    while let Some(at) = queue.pop_front() {
        for &from in &reverse[at as usize] {
            if !can_stop[from as usize] {
                can_stop[from as usize] = true;
                queue.push_back(from);
            }
        }
    }
    let stuck = (0..n)
        .filter(|&i| g.states[i].gc.pc.stw_in_progress() && !can_stop[i])
        .map(|i| i as u32)
        .collect();
    let deadlocks = (0..n)
        .filter(|&i| g.edges[i].is_empty() && !finished(model, &g.states[i]))
        .map(|i| i as u32)
        .collect();
    Analysis {
        can_stop,
        stuck,
        deadlocks,
        transitions,
    }
}

/// Everything done: GC finished, G10 returned, every M parked.
fn finished(model: &Model, s: &State) -> bool {
    s.gc.pc == GcPc::Done && model.g10_done(s) && s.ms.iter().all(|m| *m == MState::Idle)
}

/// The labels of the BFS path from the initial state to `target`.
fn path_to(g: &Graph, target: u32) -> Vec<String> {
    let mut steps = Vec::new();
    let mut at = target;
    while let Some((p, label)) = &g.parent[at as usize] {
        steps.push(label.clone());
        at = *p;
    }
    steps.reverse();
    steps
}

/// Whether every step out of `i` comes back to `i` (a pure spin state).
fn is_spin_state(g: &Graph, i: u32) -> bool {
    let out = &g.edges[i as usize];
    !out.is_empty() && out.iter().all(|(to, _)| *to == i)
}

/// From `start`, the shortest path (labels) to a pure spin state, if any.
fn path_to_spin(g: &Graph, start: u32) -> Option<(Vec<String>, u32)> {
    let mut seen: HashMap<u32, Option<(u32, String)>> = HashMap::from([(start, None)]);
    let mut queue = VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        if is_spin_state(g, at) {
            let mut steps = Vec::new();
            let mut cur = at;
            while let Some(Some((p, label))) = seen.get(&cur) {
                steps.push(label.clone());
                cur = *p;
            }
            steps.reverse();
            return Some((steps, at));
        }
        for (to, label) in &g.edges[at as usize] {
            if !seen.contains_key(to) {
                seen.insert(*to, Some((at, label.clone())));
                queue.push_back(*to);
            }
        }
    }
    None
}

/// The printed counterexample: numbered steps ending in the spin.
pub fn counterexample(g: &Graph, a: &Analysis) -> Option<Vec<String>> {
    let &first = a.stuck.iter().min()?;
    let mut steps = path_to(g, first);
    let stuck_from = steps.len();
    let mut lines = Vec::new();
    let tail = path_to_spin(g, first);
    let spins: Vec<String> = match &tail {
        Some((more, spin)) => {
            steps.extend(more.iter().cloned());
            g.edges[*spin as usize]
                .iter()
                .map(|(_, l)| l.clone())
                .collect()
        }
        None => Vec::new(),
    };
    for (k, s) in steps.iter().enumerate() {
        lines.push(format!("{}. {s}", k + 1));
    }
    for s in &spins {
        lines.push(format!(
            "{}. {s}   [back to the same state]",
            lines.len() + 1
        ));
    }
    lines.push(format!(
        "... the world never stops: from step {stuck_from} on, no interleaving reaches \"world stopped\" ({} reachable states are stuck like this){}",
        a.stuck.len(),
        if spins.is_empty() {
            ""
        } else {
            "; every enabled step above spins in place"
        }
    ));
    Some(lines)
}
