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
//! -bench`) whose main goroutine serves criterion's `iter_custom` requests
//! (benches/common).

use criterion::{Criterion, criterion_group, criterion_main};
use gmp::net::{TcpListener, TcpStream};

mod common;
use common::{Bench, Body, bench_in_gmp, no_teardown, timed};

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
    let bench = Bench {
        group: None,
        name: "netpoll_wake",
        procs: 1,
        one_cpu: false,
    };
    bench_in_gmp(c, bench, || {
        let (c1, c2) = tcp_pair();
        gmp::go(move || echo_conn(c2));
        let mut buf = [0u8; 1];
        let body: Body = Box::new(move |iters| {
            timed(iters, |_| {
                c1.write(&buf).expect("write");
                read_full(&c1, &mut buf).expect("read echo");
            })
        });
        // Dropping the body closes c1; the echo goroutine then ends.
        (body, no_teardown())
    });
}

criterion_group!(benches, netpoll_wake);
criterion_main!(benches);
