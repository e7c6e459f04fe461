//! The netpoller and gmp::net (issue 3), each case in its own child process
//! (thread counts must not include other cases' threads; Ms never exit).
//! Loopback only. No assertion is on wall time except "a deadline does not
//! fire early" and "a blocked read is still blocked after its deadline",
//! which are the rules themselves; every wait has a generous cap and fails
//! with a message rather than hanging.

mod common;

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use gmp::net::{TcpListener, TcpStream};

/// Sleeps (as a goroutine) until `cond` holds or `cap` passes; returns
/// whether it held.
/// `n` connected pairs (client, server side) through one listener.
fn pairs(n: usize) -> Result<Vec<(TcpStream, TcpStream)>, String> {
    let ln = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let addr = ln.local_addr().map_err(|e| e.to_string())?;
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let acc = accepted.clone();
    gmp::go(move || {
        for _ in 0..n {
            match ln.accept() {
                Ok((s, _)) => acc.lock().unwrap().push(s),
                Err(e) => panic!("accept: {e}"),
            }
        }
    });
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        clients.push(TcpStream::connect(addr).map_err(|e| format!("connect #{i}: {e}"))?);
    }
    if !wait_until(Duration::from_secs(20), || {
        accepted.lock().unwrap().len() == n
    }) {
        return Err(format!(
            "accepted only {} of {n}",
            accepted.lock().unwrap().len()
        ));
    }
    let servers = std::mem::take(&mut *accepted.lock().unwrap());
    // accept order = connect order on loopback with one connector; pair by
    // address to be sure.
    let mut out = Vec::new();
    for c in clients {
        let la = c.local_addr().map_err(|e| e.to_string())?;
        let s = servers
            .iter()
            .find(|s| s.peer_addr().ok() == Some(la))
            .ok_or("no server side for a client")?
            .clone();
        out.push((c, s));
    }
    Ok(out)
}

fn read_exact(s: &TcpStream, n: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        let k = s.read(&mut buf[got..])?;
        if k == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        got += k;
    }
    Ok(buf)
}

fn o_nonblock(s: &TcpStream) -> bool {
    s.syscall_conn(|fd| {
        // SAFETY: fcntl(F_GETFL) on the stream's fd, under its reference.
        let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        fl & libc::O_NONBLOCK != 0
    })
    .unwrap_or(false)
}

/// accept / connect / write / read: an echo round trip of 64 KiB (larger
/// than one segment, so reads and writes loop).
fn round_trip() -> Result<(), String> {
    rt(2).block_on(|| {
        let ln = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let addr = ln.local_addr().map_err(|e| e.to_string())?;
        gmp::go(move || {
            let (s, _) = ln.accept().expect("accept");
            let mut buf = [0u8; 4096];
            loop {
                let n = s.read(&mut buf).expect("server read");
                if n == 0 {
                    break;
                }
                s.write(&buf[..n]).expect("server write");
            }
        });
        let c = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        let msg: Vec<u8> = (0..65536u32).map(|i| (i * 7 % 251) as u8).collect();
        let c2 = c.clone();
        let m2 = msg.clone();
        gmp::go(move || {
            c2.write(&m2).expect("client write");
        });
        let back = read_exact(&c, msg.len()).map_err(|e| format!("read back: {e}"))?;
        println!("  echoed {} bytes", back.len());
        ensure(back == msg, || "echo differs".into())?;
        ensure(o_nonblock(&c), || "socket is not nonblocking".into())?;
        c.close().map_err(|e| e.to_string())
    })
}

/// A reader with no data parks on the poller ("IO wait", no thread held) and
/// the poller readies it when data arrives.
fn parked_reader_woken_by_data() -> Result<(), String> {
    rt(2).block_on(|| {
        let (c, s) = pairs(1)?.pop().ok_or("no pair")?;
        let got = Arc::new(Mutex::new(None));
        let g2 = got.clone();
        gmp::go(move || {
            let r = read_exact(&s, 5);
            *g2.lock().unwrap() = Some(r.map_err(|e| e.to_string()));
        });
        wait_parked("IO wait", 1)?;
        let dump = gmp::goroutine_dump();
        ensure(got.lock().unwrap().is_none(), || {
            "reader returned before any data was sent".into()
        })?;
        ensure(dump.contains("@ IO wait"), || {
            format!("reader not parked in IO wait:\n{dump}")
        })?;
        c.write(b"hello").map_err(|e| e.to_string())?;
        ensure(
            wait_until(Duration::from_secs(10), || got.lock().unwrap().is_some()),
            || "parked reader never woke after data arrived".into(),
        )?;
        let r = got.lock().unwrap().take().ok_or("no result")?;
        println!("  reader got {r:?}");
        ensure(r == Ok(b"hello".to_vec()), || format!("reader got {r:?}"))
    })
}

/// A read deadline fires: the parked read returns TimedOut (not before the
/// deadline); reads keep failing while it is expired; after clearing it a
/// read works again.
fn read_deadline_fires_and_resets() -> Result<(), String> {
    rt(2).block_on(|| {
        let (c, s) = pairs(1)?.pop().ok_or("no pair")?;
        let t0 = Instant::now();
        s.set_read_deadline(Some(t0 + Duration::from_millis(50)))
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 16];
        let r = s.read(&mut buf);
        let took = t0.elapsed();
        println!("  read returned {r:?} after {took:?}");
        match r {
            Err(e) if e.kind() == ErrorKind::TimedOut => {}
            other => return Err(format!("expected TimedOut, got {other:?}")),
        }
        ensure(took >= Duration::from_millis(50), || {
            format!("deadline fired early: {took:?}")
        })?;
        // Still expired: fails at once, without parking.
        let r2 = s.read(&mut buf);
        ensure(
            matches!(&r2, Err(e) if e.kind() == ErrorKind::TimedOut),
            || format!("second read: {r2:?}"),
        )?;
        s.set_read_deadline(None).map_err(|e| e.to_string())?;
        c.write(b"after").map_err(|e| e.to_string())?;
        let back = read_exact(&s, 5).map_err(|e| format!("read after reset: {e}"))?;
        ensure(back == b"after", || format!("got {back:?}"))?;
        // A write deadline in the past fails a write at once.
        c.set_write_deadline(Some(Instant::now() - Duration::from_millis(1)))
            .map_err(|e| e.to_string())?;
        let w = c.write(b"x");
        ensure(
            matches!(&w, Err(e) if e.kind() == ErrorKind::TimedOut),
            || format!("write with expired deadline: {w:?}"),
        )
    })
}

/// Close wakes a reader parked on the poller with an error, and returns
/// (the reader drops the last reference).
fn close_wakes_parked_reader() -> Result<(), String> {
    rt(2).block_on(|| {
        let (_c, s) = pairs(1)?.pop().ok_or("no pair")?;
        let got = Arc::new(Mutex::new(None));
        let g2 = got.clone();
        let s2 = s.clone();
        gmp::go(move || {
            let mut buf = [0u8; 8];
            let r = s2.read(&mut buf);
            *g2.lock().unwrap() = Some(r.map_err(|e| e.to_string()));
        });
        wait_parked("IO wait", 1)?;
        ensure(got.lock().unwrap().is_none(), || {
            "reader returned early".into()
        })?;
        s.close().map_err(|e| format!("close: {e}"))?;
        ensure(
            wait_until(Duration::from_secs(10), || got.lock().unwrap().is_some()),
            || "close did not wake the parked reader".into(),
        )?;
        let r = got.lock().unwrap().take().ok_or("no result")?;
        println!("  reader got {r:?}");
        ensure(
            r == Err("use of closed network connection".to_string()),
            || format!("reader got {r:?}"),
        )?;
        let again = s.close();
        ensure(again.is_err(), || "second close succeeded".into())
    })
}

/// Parks one reader on each of `pairs` (server side); returns the count of
/// reads that returned and their errors.
fn park_readers(
    pairs: &[(TcpStream, TcpStream)],
    reads_each: usize,
) -> (Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    let returned = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::new()));
    for (_, s) in pairs {
        let (s, ret, errs) = (s.clone(), returned.clone(), errors.clone());
        gmp::go(move || {
            let mut buf = [0u8; 1];
            for _ in 0..reads_each {
                match s.read(&mut buf) {
                    Ok(_) => {
                        ret.fetch_add(1, AcqRel);
                    }
                    Err(e) => {
                        errs.lock().unwrap().push(e.to_string());
                        ret.fetch_add(1, AcqRel);
                        return;
                    }
                }
            }
        });
    }
    (returned, errors)
}

/// 1,000 loopback connections, each with a reader parked on the poller, use
/// at most procs + 4 threads: m0, sysmon, one M per P and a couple of spare
/// Ms (an M parked in netpoll, one left idle by a hand-off). Go 1.19 runs the
/// same at procs + 3 (5 threads at procs 2).
fn thousand_parked_readers_few_threads() -> Result<(), String> {
    const N: usize = 1000;
    const PROCS: usize = 2;
    rt(PROCS).block_on(|| {
        let ps = pairs(N)?;
        let (returned, _) = park_readers(&ps, 1);
        let parked = wait_until(Duration::from_secs(20), || {
            gmp::goroutine_dump().contains(&format!("{N} @ IO wait"))
        });
        let t = threads();
        println!("  {N} readers parked: {parked}; threads {t}");
        ensure(parked, || {
            format!("readers not all parked:\n{}", gmp::goroutine_dump())
        })?;
        ensure(returned.load(Acquire) == 0, || "a reader returned".into())?;
        ensure(t <= PROCS + 4, || {
            format!("{t} threads for {N} parked readers (bound {})", PROCS + 4)
        })?;
        // And they all wake: one byte each.
        for (c, _) in &ps {
            c.write(b"x").map_err(|e| e.to_string())?;
        }
        ensure(
            wait_until(Duration::from_secs(20), || returned.load(Acquire) == N),
            || format!("only {} of {N} readers woke", returned.load(Acquire)),
        )?;
        let t2 = threads();
        println!("  all woke; threads {t2}");
        ensure(t2 <= PROCS + 4, || {
            format!("{t2} threads after the wake-ups")
        })
    })
}

/// The Swarm incident (seed 000) by mechanism: readers parked on N = 64
/// connections; `file()` + `fd()` on each server-side stream clears
/// O_NONBLOCK on the shared open file description; one byte per connection
/// wakes each reader from the poller, and its next read blocks in read(2)
/// inside a syscall: sysmon retakes the P, a new M runs the next reader,
/// threads grow by about one per reader (>= 0.9 N). A read deadline no
/// longer fires (the read is still blocked well after it), close waits for
/// the blocked read, and data releases everything.
fn file_fd_blocks_one_thread_per_reader() -> Result<(), String> {
    const N: usize = 64;
    rt(2).block_on(|| {
        let ps = pairs(N)?;
        let (returned, errors) = park_readers(&ps, 2);
        ensure(
            wait_until(Duration::from_secs(20), || {
                gmp::goroutine_dump().contains(&format!("{N} @ IO wait"))
            }),
            || format!("readers not parked:\n{}", gmp::goroutine_dump()),
        )?;
        let t0 = threads();
        for (_, s) in &ps {
            let f = s.file().map_err(|e| format!("file: {e}"))?;
            ensure(o_nonblock(s), || "file() changed the socket's mode".into())?;
            let _fd = f.fd();
            f.close().map_err(|e| format!("file close: {e}"))?;
            ensure(!o_nonblock(s), || {
                "fd() did not clear O_NONBLOCK on the socket".into()
            })?;
        }
        println!("  {N} readers parked, threads {t0}; file()+fd() done");
        // Wake each reader from the poller; its second read blocks in read(2).
        for (c, _) in &ps {
            c.write(b"1").map_err(|e| e.to_string())?;
        }
        let grew = wait_until(Duration::from_secs(30), || {
            returned.load(Acquire) >= N && threads() >= t0 + N * 9 / 10
        });
        let t1 = threads();
        let s = gmp::stats();
        println!(
            "  after one byte each: threads {t1} (+{}), retakes {}, ms_syscall {}",
            t1 - t0.min(t1),
            s.retakes,
            s.ms_syscall
        );
        ensure(grew, || {
            format!(
                "threads {t1} did not grow by >= 0.9*{N} over {t0} (returned {})",
                returned.load(Acquire)
            )
        })?;
        // A read deadline on a blocked stream no longer fires.
        let (c0, s0) = &ps[0];
        s0.set_read_deadline(Some(Instant::now() + Duration::from_millis(50)))
            .map_err(|e| e.to_string())?;
        gmp::sleep(Duration::from_millis(300));
        ensure(returned.load(Acquire) == N, || {
            format!(
                "a blocked read returned after the deadline ({} returned, errors {:?})",
                returned.load(Acquire),
                errors.lock().unwrap()
            )
        })?;
        // Close waits for the blocked read (fdMutex reference).
        let closed = Arc::new(AtomicBool::new(false));
        let (cl, s1) = (closed.clone(), ps[1].1.clone());
        gmp::go(move || {
            let _ = s1.close();
            cl.store(true, Release);
        });
        gmp::sleep(Duration::from_millis(100));
        ensure(!closed.load(Acquire), || {
            "close returned while a read was blocked in read(2)".into()
        })?;
        // Data releases every blocked reader (and the close).
        c0.write(b"2").map_err(|e| e.to_string())?;
        for (c, _) in &ps[1..] {
            c.write(b"2").map_err(|e| e.to_string())?;
        }
        ensure(
            wait_until(Duration::from_secs(20), || {
                returned.load(Acquire) == 2 * N && closed.load(Acquire)
            }),
            || {
                format!(
                    "not released: returned {} closed {}",
                    returned.load(Acquire),
                    closed.load(Acquire)
                )
            },
        )?;
        let errs = errors.lock().unwrap().clone();
        ensure(errs.is_empty(), || format!("reader errors: {errs:?}"))
    })
}

/// The fix: `syscall_conn` sets TCP_USER_TIMEOUT (read back with
/// getsockopt) and leaves O_NONBLOCK set, so readers stay parked on the
/// poller (no thread each) and deadlines still fire.
fn syscall_conn_keeps_nonblocking() -> Result<(), String> {
    const N: usize = 64;
    const PROCS: usize = 2;
    rt(PROCS).block_on(|| {
        let ps = pairs(N)?;
        for (_, s) in &ps {
            let r = s
                .syscall_conn(|fd| {
                    let v: libc::c_int = 5000;
                    // SAFETY: setsockopt with a c_int option value.
                    unsafe {
                        libc::setsockopt(
                            fd,
                            libc::IPPROTO_TCP,
                            libc::TCP_USER_TIMEOUT,
                            (&v as *const libc::c_int).cast(),
                            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                        )
                    }
                })
                .map_err(|e| e.to_string())?;
            ensure(r == 0, || "setsockopt failed".into())?;
            let got = s
                .syscall_conn(|fd| {
                    let mut v: libc::c_int = 0;
                    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                    // SAFETY: getsockopt into a c_int with its size.
                    unsafe {
                        libc::getsockopt(
                            fd,
                            libc::IPPROTO_TCP,
                            libc::TCP_USER_TIMEOUT,
                            (&mut v as *mut libc::c_int).cast(),
                            &mut len,
                        )
                    };
                    v
                })
                .map_err(|e| e.to_string())?;
            ensure(got == 5000, || format!("TCP_USER_TIMEOUT reads back {got}"))?;
            ensure(o_nonblock(s), || "syscall_conn cleared O_NONBLOCK".into())?;
        }
        let (returned, errors) = park_readers(&ps, 2);
        for (c, _) in &ps {
            c.write(b"1").map_err(|e| e.to_string())?;
        }
        ensure(
            wait_until(Duration::from_secs(20), || {
                returned.load(Acquire) == N
                    && gmp::goroutine_dump().contains(&format!("{N} @ IO wait"))
            }),
            || format!("readers did not re-park:\n{}", gmp::goroutine_dump()),
        )?;
        let t = threads();
        println!("  {N} readers re-parked after a byte each; threads {t}");
        ensure(t <= PROCS + 4, || {
            format!("{t} threads (bound {})", PROCS + 4)
        })?;
        // The deadline still works on a fixed stream.
        ps[0]
            .1
            .set_read_deadline(Some(Instant::now() + Duration::from_millis(30)))
            .map_err(|e| e.to_string())?;
        ensure(
            wait_until(Duration::from_secs(10), || returned.load(Acquire) == N + 1),
            || "read deadline did not fire".into(),
        )?;
        let errs = errors.lock().unwrap().clone();
        println!("  deadline error: {errs:?}");
        ensure(errs == vec!["i/o timeout".to_string()], || {
            format!("errors {errs:?}")
        })
    })
}

/// sysmon polls the network when nobody did for 10 ms: at procs 1 with a
/// goroutine busy for 400 ms (preempted by sysmon every 10 ms, then found
/// again on the global queue before `findRunnable` would poll), a parked
/// reader is woken by sysmon's `netpoll(0)` while the busy goroutine still
/// runs, not after it.
fn sysmon_polls_while_ps_busy() -> Result<(), String> {
    rt(1).block_on(|| {
        let (c, s) = pairs(1)?.pop().ok_or("no pair")?;
        let busy_done = Arc::new(AtomicBool::new(false));
        let woke_while_busy = Arc::new(Mutex::new(None));
        let (w2, b2) = (woke_while_busy.clone(), busy_done.clone());
        gmp::go(move || {
            let r = read_exact(&s, 1);
            *w2.lock().unwrap() = Some((r.is_ok(), !b2.load(Acquire)));
        });
        wait_parked("IO wait", 1)?;
        let b3 = busy_done.clone();
        gmp::go(move || {
            spin_for(Duration::from_millis(400));
            b3.store(true, Release);
        });
        c.write(b"x").map_err(|e| e.to_string())?;
        ensure(
            wait_until(Duration::from_secs(20), || {
                woke_while_busy.lock().unwrap().is_some() && busy_done.load(Acquire)
            }),
            || "reader or busy goroutine never finished".into(),
        )?;
        let r = woke_while_busy.lock().unwrap().take();
        println!("  (read ok, woke while the other goroutine was busy) = {r:?}");
        ensure(r == Some((true, true)), || {
            format!("reader did not wake during the busy loop: {r:?}")
        })
    })
}

/// A read deadline is a runtime timer on the P's heap (Go's `pd.rt`), so
/// it fires from `checkTimers` in `schedule` with no poll at all. procs 1,
/// no sysmon, and a goroutine looping `gosched` keeps a run queue non-empty,
/// so `findRunnable` never reaches `netpoll`: the parked read still times
/// out while that loop runs (a deadline that only the poller fired would
/// wait for the loop's 5 s cap).
fn deadline_fires_from_check_timers_without_polling() -> Result<(), String> {
    let rt = gmp::Runtime::builder()
        .procs(1)
        .sysmon(false)
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(|| {
        let (_c, s) = pairs(1)?.pop().ok_or("no pair")?;
        let stop = Arc::new(AtomicBool::new(false));
        let loop_ended_by_stop = Arc::new(Mutex::new(None));
        let (st, ended) = (stop.clone(), loop_ended_by_stop.clone());
        gmp::go(move || {
            let t0 = Instant::now();
            while !st.load(Acquire) && t0.elapsed() < Duration::from_secs(5) {
                gmp::gosched();
            }
            *ended.lock().unwrap() = Some(st.load(Acquire));
        });
        s.set_read_deadline(Some(Instant::now() + Duration::from_millis(20)))
            .map_err(|e| e.to_string())?;
        let r = read_exact(&s, 1);
        stop.store(true, Release);
        ensure(
            wait_until(Duration::from_secs(10), || {
                loop_ended_by_stop.lock().unwrap().is_some()
            }),
            || "the gosched loop never ended".into(),
        )?;
        let by_stop = loop_ended_by_stop.lock().unwrap().take();
        println!("  read: {r:?}; loop ended by the reader's stop: {by_stop:?}");
        ensure(
            matches!(&r, Err(e) if e.kind() == ErrorKind::TimedOut),
            || format!("read did not time out: {r:?}"),
        )?;
        ensure(by_stop == Some(true), || {
            "the deadline fired only after the gosched loop gave up (5 s)".into()
        })
    })
}

/// A writer whose socket buffer is full parks on the poller ("IO wait") and
/// is woken by writability when the peer reads (the pollDesc's wg side).
fn parked_writer_woken_when_peer_reads() -> Result<(), String> {
    const LEN: usize = 16 << 20; // far more than loopback socket buffers
    rt(2).block_on(|| {
        let (c, s) = pairs(1)?.pop().ok_or("no pair")?;
        let done = Arc::new(Mutex::new(None));
        let d2 = done.clone();
        gmp::go(move || {
            let data = vec![7u8; LEN];
            let r = c.write(&data);
            *d2.lock().unwrap() = Some(r.map_err(|e| e.to_string()));
        });
        wait_parked("IO wait", 1)?;
        let dump = gmp::goroutine_dump();
        ensure(done.lock().unwrap().is_none(), || {
            "16 MiB write finished with nobody reading".into()
        })?;
        ensure(dump.contains("@ IO wait"), || {
            format!("writer not parked in IO wait:\n{dump}")
        })?;
        let back = read_exact(&s, LEN).map_err(|e| format!("read: {e}"))?;
        ensure(
            wait_until(Duration::from_secs(10), || done.lock().unwrap().is_some()),
            || "writer never finished".into(),
        )?;
        let r = done.lock().unwrap().take().ok_or("no result")?;
        println!("  write returned {r:?}");
        ensure(r == Ok(LEN), || format!("write returned {r:?}"))?;
        ensure(back.iter().all(|&b| b == 7), || "corrupted data".into())
    })
}

/// netpollBreak: an M blocked in netpoll with no timeout (a reader parked,
/// no timer) must be interrupted when a timer is added elsewhere, or the
/// timer never fires (then this case hangs and the harness fails it).
/// Main parks reading; G2 spins 30 ms on the other P, sleeps 10 ms, then
/// writes the byte main waits for.
fn netpoll_break_interrupts_blocked_poller() -> Result<(), String> {
    rt(2).block_on(|| {
        let (c, s) = pairs(1)?.pop().ok_or("no pair")?;
        let slept = Arc::new(AtomicBool::new(false));
        let sl = slept.clone();
        gmp::go(move || {
            spin_for(Duration::from_millis(30));
            gmp::sleep(Duration::from_millis(10));
            sl.store(true, Release);
            c.write(b"z").expect("write");
        });
        let got = read_exact(&s, 1).map_err(|e| format!("read: {e}"))?;
        ensure(got == b"z" && slept.load(Acquire), || {
            format!("got {got:?}, slept {}", slept.load(Acquire))
        })
    })
}

const CASES: &[Case] = &[
    Case::new("round_trip", round_trip),
    Case::new("parked_reader_woken_by_data", parked_reader_woken_by_data),
    Case::new(
        "read_deadline_fires_and_resets",
        read_deadline_fires_and_resets,
    ),
    Case::new("close_wakes_parked_reader", close_wakes_parked_reader),
    Case::new(
        "thousand_parked_readers_few_threads",
        thousand_parked_readers_few_threads,
    ),
    Case::new(
        "file_fd_blocks_one_thread_per_reader",
        file_fd_blocks_one_thread_per_reader,
    ),
    Case::new(
        "syscall_conn_keeps_nonblocking",
        syscall_conn_keeps_nonblocking,
    ),
    Case::new("sysmon_polls_while_ps_busy", sysmon_polls_while_ps_busy),
    Case::new(
        "deadline_fires_from_check_timers_without_polling",
        deadline_fires_from_check_timers_without_polling,
    ),
    Case::new(
        "parked_writer_woken_when_peer_reads",
        parked_writer_woken_when_peer_reads,
    ),
    Case::new(
        "netpoll_break_interrupts_blocked_poller",
        netpoll_break_interrupts_blocked_poller,
    )
    .timeout(Duration::from_secs(30)),
];

fn main() {
    common::main(CASES);
}
