//! Loom models of two scheduler protocols, with gmp's real `Note`
//! (src/note.rs, built on loom's primitives under `cfg(loom)`):
//!
//! 1. **M park/unpark** (`stopm` / `startm`, proc/idle.rs): an M puts itself on
//!    the idle list under `sched.lock` and sleeps on its note; `startm` takes
//!    it off the list under the lock, stores `nextp`, then wakes the note.
//!    Checked: no lost wake-up (loom reports a deadlock if the M sleeps for
//!    ever), the woken M always finds its P in `nextp`, a P has one owner.
//! 2. **P hand-off from a syscall** (`exitsyscall` / `exitsyscallfast` /
//!    `exitsyscall0` against sysmon's `retake` -> `handoffp` -> `startm`):
//!    the returning M and sysmon race for a P in `_Psyscall` with a CAS.
//!    Checked: the P is never owned twice (`acquirep`'s checks), the
//!    goroutine runs exactly once, and at the end the P is either owned or
//!    idle, never lost.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p gmp --release --test loom`.
//! The models mirror the functions of proc/, syscall.rs and sysmon.rs line by
//! line but on small index-based structures (loom cannot drive the real
//! threads and coroutines).

#![cfg(loom)]

#[path = "../src/note.rs"]
#[allow(dead_code)]
mod note;

use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::*};
use loom::sync::{Arc, Mutex};
use note::Note;

const NIL: usize = usize::MAX;
const P_IDLE: u32 = 0;
const P_RUNNING: u32 = 1;
const P_SYSCALL: u32 = 2;

struct M {
    park: Note,
    nextp: AtomicUsize,
    p: AtomicUsize,
    oldp: AtomicUsize,
}

struct P {
    status: AtomicU32,
    m: AtomicUsize,
}

struct Locked {
    midle: Vec<usize>,
    pidle: Vec<usize>,
    runq: Vec<&'static str>,
}

struct World {
    lock: Mutex<Locked>,
    ms: Vec<M>,
    ps: Vec<P>,
    npidle: AtomicU32,
    nmspinning: AtomicU32,
    ran: AtomicUsize,
    shutdown: AtomicBool,
}

impl World {
    fn new(nm: usize, np: usize) -> Arc<World> {
        Arc::new(World {
            lock: Mutex::new(Locked {
                midle: Vec::new(),
                pidle: Vec::new(),
                runq: Vec::new(),
            }),
            ms: (0..nm)
                .map(|_| M {
                    park: Note::new(),
                    nextp: AtomicUsize::new(NIL),
                    p: AtomicUsize::new(NIL),
                    oldp: AtomicUsize::new(NIL),
                })
                .collect(),
            ps: (0..np)
                .map(|_| P {
                    status: AtomicU32::new(P_IDLE),
                    m: AtomicUsize::new(NIL),
                })
                .collect(),
            npidle: AtomicU32::new(0),
            nmspinning: AtomicU32::new(0),
            ran: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
        })
    }

    /// `acquirep` + `wirep`: the P must be idle and unowned.
    fn acquirep(&self, m: usize, p: usize) {
        assert_eq!(self.ms[m].p.load(Acquire), NIL, "wirep: already in go");
        assert_eq!(self.ps[p].m.load(Acquire), NIL, "wirep: P{p} owned");
        assert_eq!(
            self.ps[p].status.load(Acquire),
            P_IDLE,
            "wirep: P{p} not idle"
        );
        self.ms[m].p.store(p, Release);
        self.ps[p].m.store(m, Release);
        self.ps[p].status.store(P_RUNNING, Release);
    }

    /// `releasep`.
    fn releasep(&self, m: usize) -> usize {
        let p = self.ms[m].p.load(Acquire);
        assert_ne!(p, NIL);
        assert_eq!(self.ps[p].m.load(Acquire), m);
        assert_eq!(self.ps[p].status.load(Acquire), P_RUNNING);
        self.ms[m].p.store(NIL, Release);
        self.ps[p].m.store(NIL, Release);
        self.ps[p].status.store(P_IDLE, Release);
        p
    }

    fn pidleput(&self, l: &mut Locked, p: usize) {
        l.pidle.push(p);
        self.npidle.fetch_add(1, AcqRel);
    }

    fn pidleget(&self, l: &mut Locked) -> Option<usize> {
        let p = l.pidle.pop()?;
        self.npidle.fetch_sub(1, AcqRel);
        Some(p)
    }

    /// `stopm`: false if asked to leave instead of being given a P.
    fn stopm(&self, m: usize) -> bool {
        {
            let mut l = self.lock.lock().unwrap();
            if self.shutdown.load(Acquire) {
                return false;
            }
            l.midle.push(m);
        }
        self.ms[m].park.sleep();
        self.ms[m].park.clear();
        let p = self.ms[m].nextp.swap(NIL, AcqRel);
        if p == NIL {
            assert!(self.shutdown.load(Acquire), "stopm: woken without a P");
            return false;
        }
        self.acquirep(m, p);
        true
    }

    /// `startm(p, spinning)`; returns false when no M was idle (Go: newm).
    fn startm(&self, p: usize, spinning: bool) -> bool {
        let mut l = self.lock.lock().unwrap();
        match l.midle.pop() {
            Some(nmp) => {
                drop(l);
                assert_eq!(self.ms[nmp].nextp.load(Acquire), NIL, "startm: m has p");
                self.ms[nmp].nextp.store(p, Release);
                self.ms[nmp].park.wakeup();
                true
            }
            None => {
                // Model of newm: the new thread would own p; give it back to
                // the idle list so the end state stays checkable.
                if spinning {
                    self.nmspinning.fetch_sub(1, AcqRel);
                }
                self.pidleput(&mut l, p);
                false
            }
        }
    }

    /// `handoffp` for a P without local work.
    fn handoffp(&self, p: usize) {
        if !self.lock.lock().unwrap().runq.is_empty() {
            self.startm(p, false);
            return;
        }
        if self.nmspinning.load(Acquire) + self.npidle.load(Acquire) == 0
            && self
                .nmspinning
                .compare_exchange(0, 1, AcqRel, Acquire)
                .is_ok()
        {
            self.startm(p, true);
            return;
        }
        let mut l = self.lock.lock().unwrap();
        self.pidleput(&mut l, p);
    }

    /// Wakes every M still parked, asking it to leave, like `Runtime`'s
    /// `Drop` (so that loom's executions terminate).
    fn release_parked(&self) {
        self.shutdown.store(true, Release);
        let idle = std::mem::take(&mut self.lock.lock().unwrap().midle);
        for m in idle {
            self.ms[m].park.wakeup();
        }
    }

    /// At the end every P is owned by exactly one M or idle on the list.
    fn check_ps(&self) {
        let l = self.lock.lock().unwrap();
        for (i, p) in self.ps.iter().enumerate() {
            let on_list = l.pidle.iter().filter(|&&x| x == i).count();
            let owner = p.m.load(Acquire);
            let owned = usize::from(owner != NIL);
            assert_eq!(
                on_list + owned,
                1,
                "P{i}: on idle list {on_list}x, owned by {owner}"
            );
            if owned == 1 {
                assert_eq!(self.ms[owner].p.load(Acquire), i);
            }
        }
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

/// stopm against startm: the M either is found on the idle list and woken
/// with a P, or startm found no idle M (and would create one).
#[test]
fn loom_m_park_unpark() {
    model(|| {
        let w = World::new(1, 1);
        let w1 = w.clone();
        let parker = loom::thread::spawn(move || {
            if w1.stopm(0) {
                // The M runs with its P, then gives it back (findRunnable
                // finding nothing).
                let p = w1.releasep(0);
                let mut l = w1.lock.lock().unwrap();
                w1.pidleput(&mut l, p);
            }
        });
        // If no M was idle yet, startm's model of newm puts the P back on
        // the idle list.
        let _found = w.startm(0, false);
        w.release_parked();
        parker.join().unwrap();
        w.check_ps();
    });
}

/// The returning M (exitsyscall) races sysmon (retake) for P0 in _Psyscall;
/// M1 is an idle M that handoffp may start.
#[test]
fn loom_syscall_p_handoff() {
    model(|| {
        let w = World::new(3, 1);
        // M0 entered a syscall on P0 (entersyscall): P0 _Psyscall, no M.
        w.ms[0].oldp.store(0, Release);
        w.ps[0].status.store(P_SYSCALL, Release);

        // M1: an idle M (stopm), maybe started by handoffp; if it gets a P
        // it runs findRunnable: the global queue, else gives the P back.
        let w1 = w.clone();
        let idle_m = loom::thread::spawn(move || {
            if w1.stopm(1) {
                let g = w1.lock.lock().unwrap().runq.pop();
                if g.is_some() {
                    w1.ran.fetch_add(1, AcqRel);
                }
                w1.nmspinning.store(0, Release);
                let p = w1.releasep(1);
                let mut l = w1.lock.lock().unwrap();
                w1.pidleput(&mut l, p);
            }
        });

        // sysmon: retake -> handoffp.
        let w2 = w.clone();
        let sysmon = loom::thread::spawn(move || {
            let s = w2.ps[0].status.load(Acquire);
            if s == P_SYSCALL
                && w2.ps[0]
                    .status
                    .compare_exchange(s, P_IDLE, AcqRel, Acquire)
                    .is_ok()
            {
                w2.handoffp(0);
            }
        });

        // M0: exitsyscall.
        let oldp = w.ms[0].oldp.swap(NIL, AcqRel);
        let fast = if w.ps[oldp].status.load(Acquire) == P_SYSCALL
            && w.ps[oldp]
                .status
                .compare_exchange(P_SYSCALL, P_IDLE, AcqRel, Acquire)
                .is_ok()
        {
            w.acquirep(0, oldp);
            true
        } else if w.npidle.load(Acquire) != 0 {
            // exitsyscallfast_pidle
            let p = {
                let mut l = w.lock.lock().unwrap();
                w.pidleget(&mut l)
            };
            match p {
                Some(p) => {
                    w.acquirep(0, p);
                    true
                }
                None => false,
            }
        } else {
            false
        };
        if fast {
            // The goroutine runs on; later the M gives the P back.
            w.ran.fetch_add(1, AcqRel);
            let p = w.releasep(0);
            let mut l = w.lock.lock().unwrap();
            w.pidleput(&mut l, p);
        } else {
            // exitsyscall0: an idle P, else the global queue and stopm.
            let p = {
                let mut l = w.lock.lock().unwrap();
                let p = w.pidleget(&mut l);
                if p.is_none() {
                    l.runq.push("G");
                }
                p
            };
            if let Some(p) = p {
                w.acquirep(0, p);
                w.ran.fetch_add(1, AcqRel);
                let p = w.releasep(0);
                let mut l = w.lock.lock().unwrap();
                w.pidleput(&mut l, p);
            }
        }
        sysmon.join().unwrap();
        // Let every parked M leave; a G left in the global queue would be
        // run by the next M to schedule: count it.
        w.release_parked();
        idle_m.join().unwrap();
        let left = w.lock.lock().unwrap().runq.len();
        assert_eq!(
            w.ran.load(Acquire) + left,
            1,
            "the goroutine must run exactly once"
        );
        w.check_ps();
    });
}
