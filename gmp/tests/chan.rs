//! Channel and select semantics (gmp/src/chan.rs, select.rs: Go's chan.go
//! and select.go). Each case runs in its own child process (common/mod.rs)
//! so that a goroutine panic, which ends the process as in Go, can be
//! observed from the parent.
//!
//! No case asserts on time: where a case waits for goroutines to park, it
//! polls `goroutine_dump` (bounded by a generous 10 s for a loaded 2-core
//! machine) and then checks states, values and counts.

// `len()` itself is under test, so compare it rather than call is_empty().
#![allow(clippy::len_zero)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// Goroutines the dump shows in `state` (e.g. "chan receive").
/// A value that counts its drops, to check that none is dropped twice or
/// leaked.
struct Counted(#[allow(dead_code)] u64, Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, AcqRel);
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Buffered channel: FIFO order, len/cap along the way, non-Copy values.
fn buffered_fifo() -> Result<(), String> {
    rt(1).block_on(|| {
        let c = gmp::chan::<String>(100);
        for i in 0..100 {
            c.send(format!("v{i}"));
        }
        ensure(c.len() == 100, || {
            format!("len {} after 100 sends", c.len())
        })?;
        let got: Vec<String> = (0..100).map(|_| c.recv().unwrap_or_default()).collect();
        let want: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
        ensure(got == want, || format!("order broken: {got:?}"))?;
        // wrap-around: interleave so sendx/recvx cross the end of the ring
        let c = gmp::chan::<u32>(3);
        let mut out = Vec::new();
        for i in 0..10 {
            c.send(i);
            c.send(i + 100);
            out.push(c.recv().unwrap_or(999));
            out.push(c.recv().unwrap_or(999));
        }
        let want: Vec<u32> = (0..10).flat_map(|i| [i, i + 100]).collect();
        ensure(out == want, || format!("wrap-around order broken: {out:?}"))
    })
}

/// len and cap, buffered and unbuffered; zero-sized elements.
fn len_cap() -> Result<(), String> {
    rt(1).block_on(|| {
        let c = gmp::chan::<u8>(5);
        ensure(c.cap() == 5 && c.len() == 0 && c.is_empty(), || {
            format!("new: {c:?}")
        })?;
        for i in 0..3 {
            c.send(i);
        }
        ensure(c.len() == 3 && c.cap() == 5, || format!("after 3: {c:?}"))?;
        c.recv();
        ensure(c.len() == 2, || format!("after recv: {c:?}"))?;
        let u = gmp::chan::<u8>(0);
        ensure(u.cap() == 0 && u.len() == 0, || {
            format!("unbuffered: {u:?}")
        })?;
        let z = gmp::chan::<()>(4);
        for _ in 0..4 {
            z.send(());
        }
        ensure(z.len() == 4 && z.try_send(()).is_err(), || {
            format!("zero-sized: {z:?}")
        })
    })
}

/// Unbuffered: the sender stays blocked until a receiver comes.
fn unbuffered_rendezvous() -> Result<(), String> {
    rt(2).block_on(|| {
        let c = gmp::chan::<u64>(0);
        let sent = Arc::new(AtomicBool::new(false));
        let (c2, s2) = (c.clone(), sent.clone());
        gmp::go(move || {
            c2.send(7);
            s2.store(true, Release);
        });
        wait_parked("chan send", 1)?;
        gmp::sleep(Duration::from_millis(20));
        ensure(!sent.load(Acquire), || {
            "send returned with no receiver".to_string()
        })?;
        let v = c.recv();
        ensure(v == Some(7), || format!("received {v:?}"))?;
        let t0 = Instant::now();
        while !sent.load(Acquire) && t0.elapsed() < Duration::from_secs(10) {
            gmp::sleep(Duration::from_millis(1));
        }
        ensure(sent.load(Acquire), || {
            "sender never resumed after the receive".to_string()
        })
    })
}

/// A send to a parked receiver hands the value over directly (Go's send():
/// copied into the receiver's slot), even on a buffered channel: the
/// buffer never holds it.
fn direct_handoff_to_parked_receiver() -> Result<(), String> {
    rt(1).block_on(|| {
        for cap in [0, 4] {
            let c = gmp::chan::<Box<String>>(cap);
            let got = Arc::new(Mutex::new(None));
            let (c2, g2) = (c.clone(), got.clone());
            gmp::go(move || {
                *g2.lock().unwrap() = Some(c2.recv());
            });
            wait_parked("chan receive", 1)?;
            c.send(Box::new(format!("hello {cap}")));
            // At procs 1 the receiver has not run yet: had the value gone
            // through the buffer, len would be 1 here.
            ensure(c.len() == 0, || {
                format!("cap {cap}: value went to the buffer (len {})", c.len())
            })?;
            wait_parked("chan receive", 0)?;
            let t0 = Instant::now();
            while got.lock().unwrap().is_none() && t0.elapsed() < Duration::from_secs(10) {
                gmp::gosched();
            }
            let v = got.lock().unwrap().take();
            let want = Some(Some(Box::new(format!("hello {cap}"))));
            ensure(v == want, || format!("cap {cap}: receiver got {v:?}"))?;
        }
        Ok(())
    })
}

/// close wakes every parked receiver with None.
fn close_wakes_receivers() -> Result<(), String> {
    rt(2).block_on(|| {
        let c = gmp::chan::<u64>(0);
        let nones = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let (c, n) = (c.clone(), nones.clone());
            gmp::go(move || {
                if c.recv().is_none() {
                    n.fetch_add(1, AcqRel);
                }
            });
        }
        wait_parked("chan receive", 10)?;
        c.close();
        let t0 = Instant::now();
        while nones.load(Acquire) < 10 && t0.elapsed() < Duration::from_secs(10) {
            gmp::sleep(Duration::from_millis(1));
        }
        let n = nones.load(Acquire);
        ensure(n == 10, || format!("{n} of 10 receivers got None"))
    })
}

/// A closed channel still yields its buffered values, then None forever.
fn recv_closed_empty_repeatedly() -> Result<(), String> {
    rt(1).block_on(|| {
        let c = gmp::chan::<u32>(4);
        c.send(1);
        c.send(2);
        c.close();
        let got: Vec<Option<u32>> = (0..5).map(|_| c.recv()).collect();
        ensure(got == [Some(1), Some(2), None, None, None], || {
            format!("got {got:?}")
        })?;
        let t = c.try_recv();
        ensure(t == Ok(None), || format!("try_recv on closed: {t:?}"))?;
        let u = gmp::chan::<u32>(0);
        u.close();
        ensure(u.recv().is_none() && u.recv().is_none(), || {
            "unbuffered closed channel returned a value".to_string()
        })
    })
}

/// Send on a closed channel panics with Go's message and drops the unsent
/// value; so does a sender parked when the channel gets closed.
fn send_on_closed_panics_caught() -> Result<(), String> {
    rt(2).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let c = gmp::chan::<Counted>(0);
        // a sender parked on the channel, then closed under it
        let msg = Arc::new(Mutex::new(String::new()));
        let (c2, d2, m2) = (c.clone(), drops.clone(), msg.clone());
        gmp::go(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                c2.send(Counted(1, d2));
            }));
            *m2.lock().unwrap() = r.err().map(|p| panic_text(&*p)).unwrap_or_default();
        });
        wait_parked("chan send", 1)?;
        c.close();
        let t0 = Instant::now();
        while msg.lock().unwrap().is_empty() && t0.elapsed() < Duration::from_secs(10) {
            gmp::sleep(Duration::from_millis(1));
        }
        let m = msg.lock().unwrap().clone();
        ensure(m == "send on closed channel", || {
            format!("parked sender: panic message {m:?}")
        })?;
        // a send on an already closed channel
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            c.send(Counted(2, drops.clone()));
        }));
        let m = r.err().map(|p| panic_text(&*p)).unwrap_or_default();
        ensure(m == "send on closed channel", || {
            format!("send after close: panic message {m:?}")
        })?;
        let d = drops.load(Acquire);
        ensure(d == 2, || format!("{d} of 2 unsent values dropped"))
    })
}

/// Uncaught, it ends the process like Go: "panic: send on closed channel",
/// exit status 2.
fn send_on_closed_uncaught() -> Result<(), String> {
    rt(1).block_on(|| {
        let c = gmp::chan::<u8>(1);
        c.close();
        let c2 = c.clone();
        gmp::go(move || c2.send(1));
        gmp::sleep(Duration::from_secs(5));
        Err("the goroutine's panic did not end the process".to_string())
    })
}

/// close of a closed channel panics with Go's message.
fn close_of_closed_panics() -> Result<(), String> {
    rt(1).block_on(|| {
        let c = gmp::chan::<u8>(0);
        c.close();
        let r = std::panic::catch_unwind(|| c.close());
        let m = r.err().map(|p| panic_text(&*p)).unwrap_or_default();
        ensure(m == "close of closed channel", || {
            format!("panic message {m:?}")
        })
    })
}

/// try_send / try_recv: the one-case select with default.
fn try_ops() -> Result<(), String> {
    rt(1).block_on(|| {
        let c = gmp::chan::<u8>(1);
        ensure(c.try_recv() == Err(gmp::WouldBlock), || {
            "try_recv on empty".into()
        })?;
        ensure(c.try_send(1).is_ok(), || "try_send with room".into())?;
        ensure(c.try_send(2) == Err(2), || "try_send on full".into())?;
        ensure(c.try_recv() == Ok(Some(1)), || "try_recv with data".into())?;
        let u = gmp::chan::<u8>(0);
        ensure(u.try_send(3) == Err(3), || {
            "try_send unbuffered, nobody waiting".into()
        })?;
        let u2 = u.clone();
        gmp::go(move || {
            let _ = u2.recv();
        });
        wait_parked("chan receive", 1)?;
        ensure(u.try_send(4).is_ok(), || {
            "try_send to a parked receiver".into()
        })
    })
}

/// No value is dropped twice or leaked: buffered leftovers drop with the
/// channel, losing select send cases drop their values.
fn values_dropped_once() -> Result<(), String> {
    rt(1).block_on(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        {
            let c = gmp::chan::<Counted>(8);
            for i in 0..8 {
                c.send(Counted(i, drops.clone()));
            }
            for _ in 0..3 {
                drop(c.recv());
            }
            c.close();
            drop(c.recv());
        }
        let d = drops.load(Acquire);
        ensure(d == 8, || format!("channel of 8: {d} drops"))?;
        drops.store(0, Release);
        let a = gmp::chan::<Counted>(1);
        let b = gmp::chan::<Counted>(0);
        gmp::select! {
            send(a, Counted(1, drops.clone())) => {},
            send(b, Counted(2, drops.clone())) => {},
        }
        let after_select = drops.load(Acquire);
        drop(a);
        let d = drops.load(Acquire);
        ensure(after_select == 1 && d == 2, || {
            format!("select: {after_select} drops after, {d} after the channel went")
        })
    })
}

/// select takes a ready arm; default when none is ready.
fn select_ready_and_default() -> Result<(), String> {
    rt(1).block_on(|| {
        let c1 = gmp::chan::<u32>(1);
        let c2 = gmp::chan::<u32>(1);
        c2.send(5);
        let r = gmp::select! {
            recv(c1) -> v => ("c1", v),
            recv(c2) -> v => ("c2", v),
        };
        ensure(r == ("c2", Some(5)), || format!("picked {r:?}"))?;
        // a send arm with room, against an empty receive arm
        let r = gmp::select! {
            recv(c1) -> _v => "recv",
            send(c2, 6) => "send",
        };
        ensure(r == "send" && c2.len() == 1, || format!("picked {r}"))?;
        // nothing ready: c1 empty, c2 full
        let r = gmp::select! {
            recv(c1) -> _v => "recv",
            send(c2, 7) => "send",
            default => "default",
        };
        ensure(r == "default", || format!("picked {r} with nothing ready"))?;
        // a closed channel is ready (v == None)
        c1.close();
        let r = gmp::select! {
            recv(c1) -> v => v,
            default => Some(99),
        };
        ensure(r.is_none(), || format!("closed arm gave {r:?}"))
    })
}

/// select blocks until the first arm fires, then leaves no sudog behind on
/// the other channels.
fn select_blocks_then_wakes() -> Result<(), String> {
    rt(2).block_on(|| {
        let c1 = gmp::chan::<u32>(0);
        let c2 = gmp::chan::<u32>(0);
        let c3 = gmp::chan::<u32>(0);
        let w = c2.clone();
        gmp::go(move || {
            gmp::sleep(Duration::from_millis(20));
            w.send(42);
        });
        let r = gmp::select! {
            recv(c1) -> v => (1, v),
            recv(c2) -> v => (2, v),
            send(c3, 9) => (3, None),
        };
        ensure(r == (2, Some(42)), || format!("woke with {r:?}"))?;
        // The select's sudogs on c1 and c3 must be gone: a sender on c1
        // and a receiver on c3 now find nobody waiting.
        ensure(c1.try_send(1) == Err(1), || "stale receiver on c1".into())?;
        ensure(c3.try_recv() == Err(gmp::WouldBlock), || {
            "stale sender on c3".into()
        })?;
        // A blocked select woken by a receiver taking its send arm.
        let r3 = c3.clone();
        let got = Arc::new(Mutex::new(None));
        let g2 = got.clone();
        gmp::go(move || {
            gmp::sleep(Duration::from_millis(20));
            *g2.lock().unwrap() = r3.recv();
        });
        let r = gmp::select! {
            recv(c1) -> _v => "c1",
            send(c3, 77) => "c3",
        };
        let t0 = Instant::now();
        while got.lock().unwrap().is_none() && t0.elapsed() < Duration::from_secs(10) {
            gmp::sleep(Duration::from_millis(1));
        }
        let g = *got.lock().unwrap();
        ensure(r == "c3" && g == Some(77), || {
            format!("{r}, receiver got {g:?}")
        })?;
        // And woken by close on a receive arm.
        let k = c1.clone();
        gmp::go(move || {
            gmp::sleep(Duration::from_millis(20));
            k.close();
        });
        let r = gmp::select! {
            recv(c1) -> v => (1, v),
            recv(c2) -> v => (2, v),
        };
        ensure(r == (1, None), || format!("woken by close with {r:?}"))
    })
}

/// A select over more cases than selectgo keeps inline (8): a ready case is
/// found in pass 1, a blocked select is woken on its 11th case, and none of
/// its other sudogs is left on a channel.
fn select_many_cases() -> Result<(), String> {
    rt(2).block_on(|| {
        const N: usize = 12;
        let chans: Vec<gmp::Chan<usize>> = (0..N).map(|_| gmp::chan(0)).collect();
        let ready = gmp::chan::<usize>(1);
        ready.send(99);
        let fired = {
            let mut cases: Vec<gmp::RecvCase<'_, usize>> =
                chans.iter().map(gmp::RecvCase::new).collect();
            cases.push(gmp::RecvCase::new(&ready));
            let mut dyns: Vec<&mut dyn gmp::SelectCase> = cases
                .iter_mut()
                .map(|c| c as &mut dyn gmp::SelectCase)
                .collect();
            let i = gmp::select(&mut dyns, false);
            (i, cases[N].take())
        };
        ensure(fired == (Some(N), Some(99)), || {
            format!("ready case: {fired:?}")
        })?;
        let w = chans[10].clone();
        gmp::go(move || w.send(1010));
        let fired = {
            let mut cases: Vec<gmp::RecvCase<'_, usize>> =
                chans.iter().map(gmp::RecvCase::new).collect();
            let mut dyns: Vec<&mut dyn gmp::SelectCase> = cases
                .iter_mut()
                .map(|c| c as &mut dyn gmp::SelectCase)
                .collect();
            let i = gmp::select(&mut dyns, false);
            (i, cases[10].take())
        };
        ensure(fired == (Some(10), Some(1010)), || {
            format!("woken: {fired:?}")
        })?;
        for (k, c) in chans.iter().enumerate() {
            ensure(c.try_send(k) == Err(k), || {
                format!("stale receiver on case {k}")
            })?;
        }
        Ok(())
    })
}

/// The macro's accepted forms: block bodies without commas, a last arm
/// without a trailing comma, `default` first, a `mut` binding,
/// `select!` with only a default.
fn select_macro_forms() -> Result<(), String> {
    rt(1).block_on(|| {
        let c = gmp::chan::<(u8, String)>(1);
        c.send((1, "one".to_string()));
        let mut hits = Vec::new();
        gmp::select! {
            default => { hits.push("default") }
            recv(c) -> mut v => {
                let (n, s) = v.take().unwrap_or_default();
                hits.push(if n == 1 && s == "one" { "tuple" } else { "bad" })
            }
        }
        let r = gmp::select! {
            send(c, (2, "two".into())) => 2
        };
        hits.push(if r == 2 { "send" } else { "bad" });
        let d = gmp::select! { default => "only-default" };
        hits.push(d);
        ensure(hits == ["tuple", "send", "only-default"], || {
            format!("{hits:?}")
        })
    })
}

/// Two always-ready arms are each chosen between 40% and 60% of 10,000
/// times. Under a fair choice the count is Binomial(10000, 1/2): mean
/// 5000, sd 50, so 4000 is 20 sd away; by Hoeffding,
/// P(outside) <= 2 exp(-2 * 10000 * 0.1^2) = 2 e^-200 ~ 1e-87.
fn select_fairness() -> Result<(), String> {
    rt(1).block_on(|| {
        let a = gmp::chan::<u8>(1);
        let b = gmp::chan::<u8>(1);
        a.send(0);
        b.send(0);
        let (mut na, mut nb) = (0u32, 0u32);
        for _ in 0..10_000 {
            gmp::select! {
                recv(a) -> _v => { na += 1; a.send(0); },
                recv(b) -> _v => { nb += 1; b.send(0); },
            }
        }
        println!("  a chosen {na} times, b {nb} times");
        ensure(
            (4000..=6000).contains(&na) && (4000..=6000).contains(&nb),
            || format!("unfair: a {na}, b {nb}"),
        )
    })
}

/// 8 producers x 10,000 values, 8 consumers: every value arrives exactly
/// once, at procs 1 and 2, unbuffered and buffered.
fn producers_consumers(procs: usize, cap: usize) -> Result<(), String> {
    const P: u64 = 8;
    const N: u64 = 10_000;
    rt(procs).block_on(move || {
        let c = gmp::chan::<u64>(cap);
        let done = gmp::chan::<()>(0);
        let results = gmp::chan::<Vec<u64>>(0);
        for p in 0..P {
            let (c, done) = (c.clone(), done.clone());
            gmp::go(move || {
                for i in 0..N {
                    c.send(p * N + i);
                }
                done.send(());
            });
        }
        for _ in 0..8 {
            let (c, results) = (c.clone(), results.clone());
            gmp::go(move || {
                let mut got = Vec::new();
                while let Some(v) = c.recv() {
                    got.push(v);
                }
                results.send(got);
            });
        }
        for _ in 0..P {
            done.recv();
        }
        c.close();
        let mut seen = vec![0u8; (P * N) as usize];
        let mut total = 0usize;
        for _ in 0..8 {
            let got = results.recv().unwrap_or_default();
            total += got.len();
            for v in got {
                if let Some(s) = seen.get_mut(v as usize) {
                    *s += 1;
                }
            }
        }
        let bad: Vec<usize> = (0..seen.len()).filter(|&i| seen[i] != 1).take(5).collect();
        println!("  procs {procs} cap {cap}: {total} values received");
        ensure(total == (P * N) as usize && bad.is_empty(), || {
            format!("{total} received; first values not seen exactly once: {bad:?}")
        })
    })
}

fn mpmc_procs1_unbuffered() -> Result<(), String> {
    producers_consumers(1, 0)
}
fn mpmc_procs1_buffered() -> Result<(), String> {
    producers_consumers(1, 16)
}
fn mpmc_procs2_unbuffered() -> Result<(), String> {
    producers_consumers(2, 0)
}
fn mpmc_procs2_buffered() -> Result<(), String> {
    producers_consumers(2, 16)
}

/// Selects racing on both ends: 4 producers each send 10,000 values
/// through `select!` over two channels, 4 consumers receive through
/// `select!` over the same two; at procs 2 (the `selectDone` races between
/// wakers) every value arrives exactly once.
fn select_mpmc(cap: usize) -> Result<(), String> {
    const P: u64 = 4;
    const N: u64 = 10_000;
    rt(2).block_on(move || {
        let c1 = gmp::chan::<u64>(cap);
        let c2 = gmp::chan::<u64>(cap);
        let done = gmp::chan::<()>(0);
        let results = gmp::chan::<Vec<u64>>(0);
        for p in 0..P {
            let (c1, c2, done) = (c1.clone(), c2.clone(), done.clone());
            gmp::go(move || {
                for i in 0..N {
                    let v = p * N + i;
                    gmp::select! {
                        send(c1, v) => {},
                        send(c2, v) => {},
                    }
                }
                done.send(());
            });
        }
        for _ in 0..4 {
            let (c1, c2, results) = (c1.clone(), c2.clone(), results.clone());
            gmp::go(move || {
                let mut got = Vec::new();
                let rest = loop {
                    let r = gmp::select! {
                        recv(c1) -> v => v.ok_or(&c2),
                        recv(c2) -> v => v.ok_or(&c1),
                    };
                    match r {
                        Ok(v) => got.push(v),
                        Err(other) => break other,
                    }
                };
                while let Some(v) = rest.recv() {
                    got.push(v);
                }
                results.send(got);
            });
        }
        for _ in 0..P {
            done.recv();
        }
        c1.close();
        c2.close();
        let mut seen = vec![0u8; (P * N) as usize];
        let mut total = 0usize;
        for _ in 0..4 {
            let got = results.recv().unwrap_or_default();
            total += got.len();
            for v in got {
                if let Some(s) = seen.get_mut(v as usize) {
                    *s += 1;
                }
            }
        }
        let bad: Vec<usize> = (0..seen.len()).filter(|&i| seen[i] != 1).take(5).collect();
        println!("  cap {cap}: {total} values received through selects");
        ensure(total == (P * N) as usize && bad.is_empty(), || {
            format!("{total} received; first values not seen exactly once: {bad:?}")
        })
    })
}

fn select_mpmc_unbuffered() -> Result<(), String> {
    select_mpmc(0)
}
fn select_mpmc_buffered() -> Result<(), String> {
    select_mpmc(4)
}

/// The sender_leak shape: 1,000 senders on a full channel whose only
/// receiver has returned stay parked forever, each with its stack: the
/// goroutine count grows by exactly 1,000 and the dump groups them by
/// wait reason and spawn site.
fn sender_leak_shape() -> Result<(), String> {
    rt(2).block_on(|| {
        let base = gmp::stats().goroutines;
        let c = gmp::chan::<Vec<u8>>(1);
        let r = c.clone();
        let receiver_done = gmp::chan::<()>(0);
        let rd = receiver_done.clone();
        gmp::go(move || {
            // the receiver takes one value and returns
            let _ = r.recv();
            rd.send(());
        });
        c.send(vec![0; 16]);
        receiver_done.recv();
        c.send(vec![1; 16]); // fills the buffer
        let line = line!() + 3;
        for i in 0..1000u32 {
            let c = c.clone();
            gmp::go(move || c.send(vec![i as u8; 64]));
        }
        wait_parked("chan send", 1000)?;
        let grown = gmp::stats().goroutines - base;
        let dump = gmp::goroutine_dump();
        let want = format!("1000 @ chan send, created at gmp/tests/chan.rs:{line}");
        println!("  goroutines +{grown}; dump:\n{dump}");
        ensure(grown == 1000, || format!("goroutines grew by {grown}"))?;
        ensure(dump.lines().any(|l| l == want), || {
            format!("dump lacks {want:?}")
        })
    })
}

const CASES: &[Case] = &[
    Case::new("buffered_fifo", buffered_fifo),
    Case::new("len_cap", len_cap),
    Case::new("unbuffered_rendezvous", unbuffered_rendezvous),
    Case::new(
        "direct_handoff_to_parked_receiver",
        direct_handoff_to_parked_receiver,
    ),
    Case::new("close_wakes_receivers", close_wakes_receivers),
    Case::new("recv_closed_empty_repeatedly", recv_closed_empty_repeatedly),
    Case::new("send_on_closed_panics_caught", send_on_closed_panics_caught),
    Case::new("send_on_closed_uncaught", send_on_closed_uncaught)
        .fails(2, &["panic: send on closed channel"]),
    Case::new("close_of_closed_panics", close_of_closed_panics),
    Case::new("try_ops", try_ops),
    Case::new("values_dropped_once", values_dropped_once),
    Case::new("select_ready_and_default", select_ready_and_default),
    Case::new("select_blocks_then_wakes", select_blocks_then_wakes),
    Case::new("select_macro_forms", select_macro_forms),
    Case::new("select_many_cases", select_many_cases),
    Case::new("select_fairness", select_fairness),
    Case::new("mpmc_procs1_unbuffered", mpmc_procs1_unbuffered),
    Case::new("mpmc_procs1_buffered", mpmc_procs1_buffered),
    Case::new("mpmc_procs2_unbuffered", mpmc_procs2_unbuffered),
    Case::new("mpmc_procs2_buffered", mpmc_procs2_buffered),
    Case::new("select_mpmc_unbuffered", select_mpmc_unbuffered),
    Case::new("select_mpmc_buffered", select_mpmc_buffered),
    Case::new("sender_leak_shape", sender_leak_shape),
];

fn main() {
    common::main(CASES);
}
