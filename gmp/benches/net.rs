//! The netpoller micro-benchmark (criterion), paired with Go 1.19's
//! `BenchmarkNetpollWake` in reference/go/bench (`bench/go-ratio` pairs
//! `netpoll_wake` with it):
//!
//! | bench         | one op                                                            |
//! |---------------|-------------------------------------------------------------------|
//! | netpoll_wake  | write 1 byte on one end of a 127.0.0.1 TCP pair, read the echo     |
//! |               | back; the echo goroutine and the reader park in the netpoller     |
//! |               | between messages (2 netpoll wake-ups per op)                      |
//!
//! Set-up as in sched.rs: one procs-1 runtime (like `GOMAXPROCS=1 go test
//! -bench`) whose main goroutine serves criterion's `iter_custom` requests,
//! waiting for the next request inside `gmp::syscall`.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gmp::net::{TcpListener, TcpStream};

fn read_full(s: &TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        let n = s.read(&mut buf[got..])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    Ok(())
}

/// Both ends of one 127.0.0.1 TCP connection (Go's `tcpPair`).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let ln = TcpListener::bind("127.0.0.1:0").expect("listen on 127.0.0.1");
    let addr = ln.local_addr().expect("local_addr");
    let accepted = gmp::chan::<TcpStream>(1);
    let a2 = accepted.clone();
    gmp::go(move || {
        let (c, _) = ln.accept().expect("accept");
        a2.send(c);
    });
    let c1 = TcpStream::connect(addr).expect("connect");
    let c2 = accepted.recv().expect("accepted connection");
    (c1, c2)
}

/// Go's `echoConn`: reads one byte, writes it back, until an error.
fn echo_conn(c: TcpStream) {
    let mut buf = [0u8; 1];
    while read_full(&c, &mut buf).is_ok() {
        if c.write(&buf).is_err() {
            return;
        }
    }
}

fn netpoll_wake(c: &mut Criterion) {
    let (req_tx, req_rx) = mpsc::channel::<u64>();
    let (resp_tx, resp_rx) = mpsc::channel::<Duration>();
    let main = std::thread::spawn(move || {
        let rt = gmp::Runtime::builder()
            .procs(1)
            .build()
            .expect("gmp runtime");
        rt.block_on(move || {
            let (c1, c2) = tcp_pair();
            gmp::go(move || echo_conn(c2));
            let mut buf = [0u8; 1];
            while let Ok(iters) = gmp::syscall(|| req_rx.recv()) {
                let t0 = Instant::now();
                for _ in 0..iters {
                    c1.write(&buf).expect("write");
                    read_full(&c1, &mut buf).expect("read echo");
                }
                if resp_tx.send(t0.elapsed()).is_err() {
                    break;
                }
            }
            let _ = c1.close();
        });
    });
    c.bench_function("netpoll_wake", |b| {
        b.iter_custom(|iters| {
            req_tx.send(iters).expect("bench goroutine gone");
            resp_rx.recv().expect("bench goroutine gone")
        })
    });
    drop(req_tx);
    main.join().expect("bench runtime thread panicked");
}

criterion_group!(benches, netpoll_wake);
criterion_main!(benches);
