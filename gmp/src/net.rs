//! `gmp::net`: TCP over the netpoller, the way Go's net and internal/poll
//! packages do it (net/fd_unix.go, net/tcpsock.go, internal/poll/fd_unix.go,
//! fd_mutex.go, fd_poll_runtime.go, os/file_unix.go).
//!
//! # Layers (as in Go)
//!
//! * [`TcpListener`] / [`TcpStream`] (Go's `TCPListener` / `TCPConn` over a
//!   `netFD`) own an `Fd` (Go's `poll.FD`): the socket, its reference-counting
//!   read/write lock (`fdMutex`), its pollDesc (netpoll.rs), `isBlocking` and
//!   the close semaphore `csema`.
//! * Every socket is created nonblocking (`SOCK_NONBLOCK | SOCK_CLOEXEC`) and
//!   registered with the poller once (`pollDesc.init` -> `runtime_pollOpen`).
//! * `Fd::read` is Go's `FD.Read` loop: `readLock`, `prepareRead`, then
//!   `read(2)` inside [`crate::syscall`] (Go's `ignoringEINTRIO(syscall.Read)`
//!   runs between `entersyscall` and `exitsyscall`); on EAGAIN the G parks on
//!   the pollDesc (`waitRead` -> `runtime_pollWait` -> `netpollblock`) and
//!   retries when the poller readies it. Write, accept and connect are the
//!   same loop with `waitWrite` / `waitRead`.
//! * `close` is Go's `FD.Close`: `increfAndClose` (later lockers fail),
//!   `evict` (`runtime_pollUnblock`: parked Gs wake with "use of closed
//!   network connection"), `decref`; the last reference's `destroy`
//!   deregisters the fd, closes it and releases `csema`; unless the FD was
//!   put in blocking mode, `Close` waits on `csema` for that last reference.
//!
//! # `file()` + `fd()`: the Docker Swarm incident (seed 000)
//!
//! [`TcpStream::file`] is Go 1.19's `conn.File()` -> `netFD.dup`: a
//! `F_DUPFD_CLOEXEC` dup, then `os.NewFile`, which sees a nonblocking fd,
//! registers the dup with the poller and keeps it nonblocking (1.19 no longer
//! calls `SetNonblock(false)` in `dup`). [`File::fd`] is `os.(*File).Fd()`:
//! for a nonblocking file it calls `pfd.SetBlocking()`, which clears
//! `O_NONBLOCK` — a flag of the open file description that the dup shares
//! with the socket. Nothing else changes: the stream's read loop is the same,
//! but `read(2)` no longer returns EAGAIN, so the G never parks on the poller;
//! it stays in the syscall, sysmon retakes its P after a tick and hands it to
//! another M (a new thread if none is idle): one thread per blocked reader.
//! Deadlines still fire in the poller but nobody is parked there to wake, and
//! `close` waits on `csema` until the blocked `read(2)` returns (the stream's
//! own FD was never marked blocking). [`TcpStream::syscall_conn`] is
//! `SyscallConn().Control`: the fd under a reference, no mode change.
//!
//! # The `netpoll` knob off (model-only)
//!
//! With `Builder::netpoll(false)` (`GMP_DEBUG=netpoll=0`) `Fd::new` does not
//! register a socket with the poller (no `runtime_pollOpen`: `FD.Init` with
//! `pollable` false) and puts it in blocking mode, so the read loop above
//! blocks in `read(2)` inside the syscall — dup_fd's bug for every socket,
//! by design. A wait the loop cannot avoid (a connect in progress) blocks
//! the thread in `poll(2)`, also inside a syscall. Deadlines are refused, as
//! Go refuses them on an unpollable fd.
//!
//! # Simplifications
//!
//! Loopback-oriented: no DNS (addresses via `ToSocketAddrs`, numeric in
//! practice), no keep-alive defaults, no `Dialer`/`ListenConfig`. `fdMutex`
//! is a mutex-protected state with FIFO wait lists instead of Go's packed
//! state word and semaphores (same contract: refs, one reader, one writer,
//! close wakes waiters). Dropping the last handle of a stream closes it
//! without waiting (Go's finalizer would call `Close`).

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::netpoll::{
    self, DeadlineMode, Mode, POLL_ERR_CLOSING, POLL_ERR_NOT_POLLABLE, POLL_ERR_TIMEOUT,
    POLL_NO_ERROR, PollDesc,
};
use crate::proc::{gopark, goready};
use crate::runtime2::{GRef, Sched, WaitReason};
use crate::stubs::cur_sched;

/// Go's `maxRW`: reads and writes are capped at 1 GiB per syscall.
const MAX_RW: usize = 1 << 30;

// ---------------------------------------------------------------------------
// Errors (internal/poll/fd.go)

/// Go's `errClosing(isFile)`: `ErrNetClosing` / `ErrFileClosing`.
fn err_closing(is_file: bool) -> io::Error {
    if is_file {
        io::Error::other("use of closed file")
    } else {
        io::Error::other("use of closed network connection")
    }
}

/// Go's `ErrDeadlineExceeded` ("i/o timeout").
fn err_deadline() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "i/o timeout")
}

/// Models `internal/poll.convertErr` (fd_poll_runtime.go).
fn convert_err(res: i32, is_file: bool) -> io::Result<()> {
    match res {
        POLL_NO_ERROR => Ok(()),
        POLL_ERR_CLOSING => Err(err_closing(is_file)),
        POLL_ERR_TIMEOUT => Err(err_deadline()),
        POLL_ERR_NOT_POLLABLE => Err(io::Error::other("not pollable")),
        _ => crate::panic::throw("unreachable: convertErr"),
    }
}

fn errno() -> io::Error {
    io::Error::last_os_error()
}

/// Runs one system call between `entersyscall` and `exitsyscall` (Go's
/// `syscall.Syscall`) and returns its result or the errno it set, read
/// inside the call: `exitsyscall` may make system calls of its own and
/// resume the goroutine on another thread (errno is per thread).
fn sys(f: impl FnOnce() -> i64) -> io::Result<i64> {
    crate::syscall::syscall(|| {
        let r = f();
        if r < 0 { Err(errno()) } else { Ok(r) }
    })
}

fn is_errno(e: &io::Error, n: i32) -> bool {
    e.raw_os_error() == Some(n)
}

// ---------------------------------------------------------------------------
// fdMutex and the close semaphore

struct FdMuState {
    closed: bool,
    refs: u32,
    rlocked: bool,
    wlocked: bool,
    rwait: VecDeque<GRef>,
    wwait: VecDeque<GRef>,
}

/// Models `internal/poll.fdMutex` (fd_mutex.go): a reference count, a
/// closed flag, and read / write locks whose waiters park (Go:
/// `runtime_Semacquire`) and are all woken by `increfAndClose`.
struct FdMutex {
    st: Mutex<FdMuState>,
}

impl FdMutex {
    fn new() -> FdMutex {
        FdMutex {
            st: Mutex::new(FdMuState {
                closed: false,
                refs: 0,
                rlocked: false,
                wlocked: false,
                rwait: VecDeque::new(),
                wwait: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FdMuState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Models `fdMutex.incref`: false if closed.
    fn incref(&self) -> bool {
        let mut s = self.lock();
        if s.closed {
            return false;
        }
        s.refs += 1;
        true
    }

    /// Models `fdMutex.increfAndClose`: marks closed and wakes every lock
    /// waiter (they see `closed` and fail). False if already closed.
    fn incref_and_close(&self) -> bool {
        let waiters: Vec<GRef> = {
            let mut s = self.lock();
            if s.closed {
                return false;
            }
            s.closed = true;
            s.refs += 1;
            let mut v: Vec<GRef> = s.rwait.drain(..).collect();
            v.extend(s.wwait.drain(..));
            v
        };
        for g in waiters {
            goready(g);
        }
        true
    }

    /// Models `fdMutex.decref`: true if this was the last reference of a
    /// closed fd (the caller destroys it).
    fn decref(&self) -> bool {
        let mut s = self.lock();
        if s.refs == 0 {
            crate::panic::throw("inconsistent poll.fdMutex");
        }
        s.refs -= 1;
        s.closed && s.refs == 0
    }

    /// Models `fdMutex.rwlock`: takes the read (or write) lock plus a
    /// reference, parking while another reader (writer) holds it. False if
    /// the fd is (or gets) closed.
    fn rwlock(&self, read: bool) -> bool {
        loop {
            let mut s = self.lock();
            if s.closed {
                return false;
            }
            let locked = if read { s.rlocked } else { s.wlocked };
            if !locked {
                if read {
                    s.rlocked = true;
                } else {
                    s.wlocked = true;
                }
                s.refs += 1;
                return true;
            }
            gopark(WaitReason::Semacquire, move |g| {
                if read {
                    s.rwait.push_back(g);
                } else {
                    s.wwait.push_back(g);
                }
                drop(s);
                true
            });
        }
    }

    /// Models `fdMutex.rwunlock`: releases the lock and the reference, wakes
    /// one waiter; true if the fd is closed and this was the last reference.
    fn rwunlock(&self, read: bool) -> bool {
        let (last, next) = {
            let mut s = self.lock();
            if read {
                s.rlocked = false;
            } else {
                s.wlocked = false;
            }
            if s.refs == 0 {
                crate::panic::throw("inconsistent poll.fdMutex");
            }
            s.refs -= 1;
            let next = if read {
                s.rwait.pop_front()
            } else {
                s.wwait.pop_front()
            };
            (s.closed && s.refs == 0, next)
        };
        if let Some(g) = next {
            goready(g);
        }
        last
    }
}

/// A binary semaphore for goroutines: Go's `runtime_Semacquire` /
/// `runtime_Semrelease` on `fd.csema`.
struct Sema {
    st: Mutex<(u32, VecDeque<GRef>)>,
}

impl Sema {
    fn new() -> Sema {
        Sema {
            st: Mutex::new((0, VecDeque::new())),
        }
    }

    /// Models `runtime_Semacquire`: parks until released.
    fn acquire(&self) {
        let mut s = self.st.lock().unwrap_or_else(|e| e.into_inner());
        if s.0 > 0 {
            s.0 -= 1;
            return;
        }
        gopark(WaitReason::Semacquire, move |g| {
            s.1.push_back(g);
            drop(s);
            true
        });
    }

    /// Models `runtime_Semrelease`.
    fn release(&self) {
        let w = {
            let mut s = self.st.lock().unwrap_or_else(|e| e.into_inner());
            let w = s.1.pop_front();
            if w.is_none() {
                s.0 += 1;
            }
            w
        };
        if let Some(g) = w {
            goready(g);
        }
    }
}

// ---------------------------------------------------------------------------
// poll.FD

/// Models `internal/poll.FD` (fd_unix.go) with its `pollDesc`.
struct Fd {
    sched: &'static Sched,
    fdmu: FdMutex,
    /// The fd number; -1 once destroyed.
    sysfd: AtomicI32,
    /// The runtime pollDesc, None if the fd is not pollable.
    pd: Option<&'static PollDesc>,
    /// Go's `isBlocking` (set by `SetBlocking`, or for unpollable fds).
    is_blocking: AtomicU32,
    is_file: bool,
    csema: Sema,
}

impl Fd {
    /// Models `poll.FD.Init` (fd_unix.go) -> `pollDesc.init`
    /// (`runtime_pollOpen`).
    fn new(sched: &'static Sched, sysfd: RawFd, is_file: bool, pollable: bool) -> io::Result<Fd> {
        let pollable = pollable && netpoll_knob_allows(sched, sysfd)?;
        let mut fd = Fd {
            sched,
            fdmu: FdMutex::new(),
            sysfd: AtomicI32::new(sysfd),
            pd: None,
            is_blocking: AtomicU32::new(0),
            is_file,
            csema: Sema::new(),
        };
        if !pollable {
            fd.is_blocking.store(1, Release);
            return Ok(fd);
        }
        match netpoll::poll_open(sched, sysfd) {
            Ok(pd) => fd.pd = Some(pd),
            Err(e) => {
                // If we could not initialize the runtime poller, assume we
                // are using blocking mode.
                fd.is_blocking.store(1, Release);
                // Don't leak the fd: the caller only gets the error.
                fd.sysfd.store(-1, Release);
                let _ = sys_close(sysfd);
                return Err(e);
            }
        }
        Ok(fd)
    }

    fn raw(&self) -> RawFd {
        self.sysfd.load(Acquire)
    }

    /// Models `FD.incref` (fd_mutex.go).
    fn incref(&self) -> io::Result<()> {
        if self.fdmu.incref() {
            Ok(())
        } else {
            Err(err_closing(self.is_file))
        }
    }

    /// Models `FD.decref` (fd_mutex.go): destroys the fd after the last
    /// reference of a closed fd.
    fn decref(&self) -> io::Result<()> {
        if self.fdmu.decref() {
            return self.destroy();
        }
        Ok(())
    }

    /// Models `FD.readLock` / `FD.writeLock` (fd_mutex.go).
    fn rw_lock(&self, read: bool) -> io::Result<RwGuard<'_>> {
        if self.fdmu.rwlock(read) {
            Ok(RwGuard { fd: self, read })
        } else {
            Err(err_closing(self.is_file))
        }
    }

    /// Models `FD.destroy` (fd_unix.go): deregister, close, release csema.
    fn destroy(&self) -> io::Result<()> {
        if let Some(pd) = self.pd {
            netpoll::poll_close(self.sched, pd);
        }
        let fd = self.sysfd.swap(-1, AcqRel);
        let r = if fd >= 0 { sys_close(fd) } else { Ok(()) };
        self.csema.release();
        r
    }

    /// Models `FD.Close` (fd_unix.go); `wait == false` is the finalizer's
    /// close (no waiting for other references).
    fn close(&self, wait: bool) -> io::Result<()> {
        if !self.fdmu.incref_and_close() {
            return Err(err_closing(self.is_file));
        }
        // Unblock any I/O (pd.evict -> runtime_pollUnblock).
        if let Some(pd) = self.pd {
            netpoll::poll_unblock(self.sched, pd);
        }
        let r = self.decref();
        // Wait until the descriptor is closed, unless the FD was set to
        // blocking mode (then current I/O may block for ever).
        if wait && self.is_blocking.load(Acquire) == 0 {
            self.csema.acquire();
        }
        r
    }

    /// Models `pollDesc.prepare` -> `runtime_pollReset`.
    fn prepare(&self, mode: Mode) -> io::Result<()> {
        match self.pd {
            None => Ok(()),
            Some(pd) => convert_err(netpoll::poll_reset(pd, mode), self.is_file),
        }
    }

    /// Models `pollDesc.wait` -> `runtime_pollWait`. With the netpoll knob
    /// off the thread waits in `poll(2)` instead (inside a syscall).
    fn wait(&self, mode: Mode) -> io::Result<()> {
        match self.pd {
            None if !self.sched.cfg.netpoll => poll_blocking(self.raw(), mode),
            None => Err(io::Error::other("waiting for unsupported file type")),
            Some(pd) => convert_err(netpoll::poll_wait(self.sched, pd, mode), self.is_file),
        }
    }

    /// Models `FD.Read` (fd_unix.go).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let _l = self.rw_lock(true)?;
        if buf.is_empty() {
            return Ok(0);
        }
        self.prepare(Mode::Read)?;
        let len = buf.len().min(MAX_RW);
        loop {
            match ignoring_eintr_io(|| sys_read(self.raw(), &mut buf[..len])) {
                Ok(n) => return Ok(n),
                Err(e) if is_errno(&e, libc::EAGAIN) && self.pd.is_some() => {
                    self.wait(Mode::Read)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Models `FD.Write` (fd_unix.go).
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let _l = self.rw_lock(false)?;
        self.prepare(Mode::Write)?;
        let mut nn = 0;
        loop {
            let max = buf.len().min(nn + MAX_RW);
            let r = ignoring_eintr_io(|| sys_write(self.raw(), &buf[nn..max]));
            let n = *r.as_ref().unwrap_or(&0);
            nn += n;
            if nn == buf.len() {
                return r.map(|_| nn);
            }
            match r {
                Err(e) if is_errno(&e, libc::EAGAIN) && self.pd.is_some() => {
                    self.wait(Mode::Write)?;
                }
                Err(e) => return Err(e),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
            }
        }
    }

    /// Models `FD.Accept` (fd_unix.go) + `accept` (sock_cloexec.go).
    fn accept(&self) -> io::Result<RawFd> {
        let _l = self.rw_lock(true)?;
        self.prepare(Mode::Read)?;
        loop {
            let r = sys(|| {
                // SAFETY: accept4 on our socket with null address arguments.
                unsafe {
                    libc::accept4(
                        self.raw(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    ) as i64
                }
            });
            let e = match r {
                Ok(fd) => return Ok(fd as RawFd),
                Err(e) => e,
            };
            if is_errno(&e, libc::EINTR) || is_errno(&e, libc::ECONNABORTED) {
                continue;
            }
            if is_errno(&e, libc::EAGAIN) && self.pd.is_some() {
                self.wait(Mode::Read)?;
                continue;
            }
            return Err(e);
        }
    }

    /// Models `setDeadlineImpl` (fd_poll_runtime.go).
    fn set_deadline(&self, t: Option<Instant>, mode: DeadlineMode) -> io::Result<()> {
        let d: i64 = match t {
            None => 0,
            Some(t) => {
                let now = Instant::now();
                if t <= now {
                    -1 // don't confuse deadline right now with no deadline
                } else {
                    (t - now).as_nanos().min(i64::MAX as u128) as i64
                }
            }
        };
        self.incref()?;
        let r = match self.pd {
            None => Err(io::Error::other("file type does not support deadline")),
            Some(pd) => {
                netpoll::poll_set_deadline(self.sched, pd, d, mode);
                Ok(())
            }
        };
        self.decref()?;
        r
    }

    /// Models `FD.SetBlocking` (fd_unix.go): marks the FD blocking and
    /// clears `O_NONBLOCK` — on the open file description, which dups share.
    fn set_blocking(&self) -> io::Result<()> {
        self.incref()?;
        self.is_blocking.store(1, Release);
        let r = set_nonblock(self.raw(), false);
        self.decref()?;
        r
    }

    /// Models `FD.Dup` (fd_unix.go) -> `DupCloseOnExec`.
    fn dup(&self) -> io::Result<RawFd> {
        self.incref()?;
        let r = sys(|| {
            // SAFETY: fcntl(F_DUPFD_CLOEXEC) on an fd we hold a reference to.
            unsafe { libc::fcntl(self.raw(), libc::F_DUPFD_CLOEXEC, 0) as i64 }
        })
        .map(|fd| fd as RawFd);
        self.decref()?;
        r
    }

    /// `rawConn.Control` (net/rawconn.go): f(fd) under a reference.
    fn control<R>(&self, f: impl FnOnce(RawFd) -> R) -> io::Result<R> {
        self.incref()?;
        let r = f(self.raw());
        self.decref()?;
        Ok(r)
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // The finalizer's close: a no-op if already closed.
        let _ = self.close(false);
    }
}

/// `readUnlock` / `writeUnlock`: destroys the fd if it was the last
/// reference of a closed fd.
struct RwGuard<'a> {
    fd: &'a Fd,
    read: bool,
}

impl Drop for RwGuard<'_> {
    fn drop(&mut self) {
        if self.fd.fdmu.rwunlock(self.read) {
            let _ = self.fd.destroy();
        }
    }
}

// ---------------------------------------------------------------------------
// System calls (syscall package: each one between entersyscall/exitsyscall)

/// Models `ignoringEINTRIO` (fd_unix.go).
fn ignoring_eintr_io(mut f: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match f() {
            Err(e) if is_errno(&e, libc::EINTR) => continue,
            r => return r,
        }
    }
}

/// `syscall.Read`: read(2) inside `entersyscall` / `exitsyscall`. On a
/// blocking fd this is where the goroutine (and its thread) stays.
fn sys_read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    sys(|| {
        // SAFETY: buf is valid for len bytes for the duration of the call.
        unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) as i64 }
    })
    .map(|n| n as usize)
}

/// `syscall.Write`.
fn sys_write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    sys(|| {
        // SAFETY: buf is valid for len bytes for the duration of the call.
        unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) as i64 }
    })
    .map(|n| n as usize)
}

/// `syscall.Close`.
fn sys_close(fd: RawFd) -> io::Result<()> {
    // SAFETY: closing an fd this module owns, exactly once (sysfd is
    // swapped to -1 first).
    sys(|| unsafe { libc::close(fd) as i64 }).map(|_| ())
}

/// `syscall.SetNonblock`: F_GETFL / F_SETFL.
fn set_nonblock(fd: RawFd, nonblocking: bool) -> io::Result<()> {
    crate::syscall::syscall(|| {
        // SAFETY: fcntl on a valid fd with integer arguments.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(errno());
        }
        let new = if nonblocking {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        // SAFETY: as above.
        if new != flags && unsafe { libc::fcntl(fd, libc::F_SETFL, new) } < 0 {
            return Err(errno());
        }
        Ok(())
    })
}

/// The netpoll knob (model-only): with it on, a pollable fd is registered
/// as in Go (true). Off, the fd is not registered and is put in blocking
/// mode, so its reads and writes block their thread (false); the fd is
/// closed if that fails, as `Fd::new` closes it when registration fails.
fn netpoll_knob_allows(sched: &Sched, fd: RawFd) -> io::Result<bool> {
    if sched.cfg.netpoll {
        return Ok(true);
    }
    if let Err(e) = set_nonblock(fd, false) {
        let _ = sys_close(fd);
        return Err(e);
    }
    Ok(false)
}

/// Waits in `poll(2)` for fd to be ready for `mode`, inside a syscall (the
/// netpoll knob off: the thread, not the goroutine, waits).
fn poll_blocking(fd: RawFd, mode: Mode) -> io::Result<()> {
    let events = match mode {
        Mode::Read => libc::POLLIN,
        Mode::Write => libc::POLLOUT,
    };
    loop {
        let mut p = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        match sys(|| unsafe { libc::poll(&mut p, 1, -1) as i64 }) {
            Err(e) if is_errno(&e, libc::EINTR) => continue,
            r => return r.map(|_| ()),
        }
    }
}

/// `unix.IsNonblock`.
fn is_nonblock(fd: RawFd) -> io::Result<bool> {
    // SAFETY: fcntl(F_GETFL) on an fd.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        Err(errno())
    } else {
        Ok(flags & libc::O_NONBLOCK != 0)
    }
}

fn setsockopt_int(fd: RawFd, level: i32, opt: i32, v: i32) -> io::Result<()> {
    sys(|| {
        // SAFETY: v lives for the call; the size matches.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                opt,
                (&v as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            ) as i64
        }
    })
    .map(|_| ())
}

fn getsockopt_int(fd: RawFd, level: i32, opt: i32) -> io::Result<i32> {
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    sys(|| {
        // SAFETY: v and len live for the call; len is v's size.
        unsafe { libc::getsockopt(fd, level, opt, (&mut v as *mut i32).cast(), &mut len) as i64 }
    })
    .map(|_| v)
}

/// `sysSocket` (sock_cloexec.go): a nonblocking, close-on-exec socket
/// (Go uses RawSyscall for socket(2)).
fn sys_socket(family: i32) -> io::Result<RawFd> {
    // SAFETY: socket(2) with constant arguments.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::IPPROTO_TCP,
        )
    };
    if fd < 0 { Err(errno()) } else { Ok(fd) }
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is large and aligned enough for any
            // sockaddr type.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn from_sockaddr(ss: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match ss.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((ss as *const libc::sockaddr_storage).cast()) };
            Ok(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((ss as *const libc::sockaddr_storage).cast()) };
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        f => Err(io::Error::other(format!("unsupported address family {f}"))),
    }
}

fn sock_name(fd: RawFd, peer: bool) -> io::Result<SocketAddr> {
    let mut ss = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: ss/len describe a writable sockaddr_storage.
    let r = unsafe {
        if peer {
            libc::getpeername(fd, ss.as_mut_ptr().cast(), &mut len)
        } else {
            libc::getsockname(fd, ss.as_mut_ptr().cast(), &mut len)
        }
    };
    if r < 0 {
        return Err(errno());
    }
    // SAFETY: zero-initialized and filled by the kernel.
    from_sockaddr(unsafe { ss.assume_init_ref() })
}

fn family(addr: &SocketAddr) -> i32 {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}

/// Go's `listenerBacklog` (/proc/sys/net/core/somaxconn, capped at 65535).
fn listener_backlog() -> i32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|&n| n > 0)
        .map_or(libc::SOMAXCONN, |n| n.min(65535))
}

/// Closes a raw fd that never got an `Fd` (error paths).
fn close_raw(fd: RawFd) {
    let _ = sys_close(fd);
}

fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let v: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if v.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no addresses to connect or bind to",
        ));
    }
    Ok(v)
}

/// Net calls need a runtime (the poller lives in it) and a goroutine that
/// can park.
fn need_runtime(what: &str) -> &'static Sched {
    if crate::stubs::getm().is_none() {
        panic!("gmp::net::{what} called outside a gmp goroutine (use Runtime::block_on)");
    }
    cur_sched()
}

// ---------------------------------------------------------------------------
// Public types

/// A TCP listener (Go's `*net.TCPListener`).
pub struct TcpListener {
    fd: Fd,
}

impl TcpListener {
    /// Models `net.Listen("tcp", addr)` -> `socket` (sock_posix.go) ->
    /// `netFD.listenStream`: nonblocking socket, `SO_REUSEADDR`, bind,
    /// listen(somaxconn), registered with the poller.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let sched = need_runtime("TcpListener::bind");
        let mut last = None;
        for a in resolve(addr)? {
            match Self::bind_one(sched, &a) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("bind failed")))
    }

    fn bind_one(sched: &'static Sched, a: &SocketAddr) -> io::Result<TcpListener> {
        let s = sys_socket(family(a))?;
        let setup = || -> io::Result<()> {
            setsockopt_int(s, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
            let (ss, len) = sockaddr(a);
            sys(|| {
                // SAFETY: ss/len describe a valid sockaddr.
                unsafe { libc::bind(s, (&ss as *const libc::sockaddr_storage).cast(), len) as i64 }
            })?;
            let backlog = listener_backlog();
            // SAFETY: listen(2) on our socket.
            sys(|| unsafe { libc::listen(s, backlog) as i64 })?;
            Ok(())
        };
        if let Err(e) = setup() {
            close_raw(s);
            return Err(e);
        }
        Ok(TcpListener {
            fd: Fd::new(sched, s, false, true)?,
        })
    }

    /// Models `(*TCPListener).Accept` -> `netFD.accept`: parks on the
    /// pollDesc until a connection is pending.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let d = self.fd.accept()?;
        let fd = Fd::new(self.fd.sched, d, false, true)?;
        let s = TcpStream::from_fd(fd);
        let peer = s.peer_addr()?;
        Ok((s, peer))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sock_name(self.fd.raw(), false)
    }

    /// Models `(*TCPListener).Close`.
    pub fn close(&self) -> io::Result<()> {
        self.fd.close(true)
    }
}

/// A TCP connection (Go's `*net.TCPConn`). Clones share the connection, as
/// copies of a Go `net.Conn` do: one goroutine may read while another writes
/// or closes.
#[derive(Clone)]
pub struct TcpStream {
    fd: Arc<Fd>,
}

impl TcpStream {
    /// Models `newTCPConn` (tcpsock.go): sets TCP_NODELAY like Go.
    fn from_fd(fd: Fd) -> TcpStream {
        let _ = setsockopt_int(fd.raw(), libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
        TcpStream { fd: Arc::new(fd) }
    }

    /// Models `net.Dial("tcp", addr)` -> `netFD.connect` (fd_unix.go):
    /// nonblocking connect, register, park for writability, SO_ERROR.
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let sched = need_runtime("TcpStream::connect");
        let mut last = None;
        for a in resolve(addr)? {
            match Self::connect_one(sched, &a) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("connect failed")))
    }

    fn connect_one(sched: &'static Sched, a: &SocketAddr) -> io::Result<TcpStream> {
        let s = sys_socket(family(a))?;
        let (ss, len) = sockaddr(a);
        let r = sys(|| {
            // SAFETY: ss/len describe a valid sockaddr.
            unsafe { libc::connect(s, (&ss as *const libc::sockaddr_storage).cast(), len) as i64 }
        });
        let in_progress = if let Err(e) = r {
            if is_errno(&e, libc::EINPROGRESS)
                || is_errno(&e, libc::EALREADY)
                || is_errno(&e, libc::EINTR)
            {
                true
            } else if is_errno(&e, libc::EISCONN) {
                false
            } else {
                close_raw(s);
                return Err(e);
            }
        } else {
            false
        };
        let fd = Fd::new(sched, s, false, true)?;
        if in_progress {
            loop {
                // Performing multiple connect system calls on a nonblocking
                // socket is undefined; wait for writability, then SO_ERROR.
                fd.wait(Mode::Write)?;
                let nerr = getsockopt_int(fd.raw(), libc::SOL_SOCKET, libc::SO_ERROR)?;
                match nerr {
                    libc::EINPROGRESS | libc::EALREADY | libc::EINTR => continue,
                    0 | libc::EISCONN => {
                        if nerr == 0 && sock_name(fd.raw(), true).is_err() {
                            continue;
                        }
                        break;
                    }
                    e => return Err(io::Error::from_raw_os_error(e)),
                }
            }
        }
        Ok(TcpStream::from_fd(fd))
    }

    /// Models `(*conn).Read` -> `FD.Read`.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.read(buf)
    }

    /// Models `(*conn).Write` -> `FD.Write` (writes all of buf or fails).
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd.write(buf)
    }

    /// Models `(*conn).SetReadDeadline`: None clears it; a past instant
    /// makes pending and future reads fail with `TimedOut` at once.
    pub fn set_read_deadline(&self, t: Option<Instant>) -> io::Result<()> {
        self.fd.set_deadline(t, DeadlineMode::Read)
    }

    /// Models `(*conn).SetWriteDeadline`.
    pub fn set_write_deadline(&self, t: Option<Instant>) -> io::Result<()> {
        self.fd.set_deadline(t, DeadlineMode::Write)
    }

    /// Models `(*conn).SetDeadline` (read and write).
    pub fn set_deadline(&self, t: Option<Instant>) -> io::Result<()> {
        self.fd.set_deadline(t, DeadlineMode::Both)
    }

    /// Models `(*conn).Close` -> `FD.Close`: parked readers and writers
    /// wake with an error; waits until no operation uses the fd any more
    /// (a read blocked in read(2) on a socket put in blocking mode keeps it
    /// waiting until that read returns).
    pub fn close(&self) -> io::Result<()> {
        self.fd.close(true)
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sock_name(self.fd.raw(), false)
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sock_name(self.fd.raw(), true)
    }

    /// Models Go 1.19's `(*conn).File` -> `netFD.dup` -> `os.NewFile`: a
    /// close-on-exec dup of the socket, registered with the poller and left
    /// nonblocking. See [`File::fd`] for what then breaks.
    pub fn file(&self) -> io::Result<File> {
        let ns = self.fd.dup()?;
        new_file(self.fd.sched, ns)
    }

    /// Models `(*conn).SyscallConn().Control(f)` (net/rawconn.go): runs f
    /// with the socket's fd, which stays nonblocking — the correct way to
    /// set a socket option such as TCP_USER_TIMEOUT.
    pub fn syscall_conn<R>(&self, f: impl FnOnce(RawFd) -> R) -> io::Result<R> {
        self.fd.control(f)
    }
}

impl io::Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.read(buf)
    }
}

impl io::Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.read(buf)
    }
}

impl io::Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.fd.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.fd.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An `os.File` made from a socket by [`TcpStream::file`].
pub struct File {
    fd: Fd,
    /// Go's `file.nonblock`: the fd was registered with the poller and is
    /// in nonblocking mode.
    nonblock: bool,
}

/// Models `os.NewFile` -> `newFile(fd, name, kindNonBlock)` (Go 1.19,
/// os/file_unix.go): a nonblocking fd is registered with the poller
/// (`pfd.Init("file", true)`) and kept nonblocking.
fn new_file(sched: &'static Sched, fd: RawFd) -> io::Result<File> {
    let pollable = is_nonblock(fd).unwrap_or(false);
    match Fd::new(sched, fd, true, pollable) {
        Ok(f) => {
            let nonblock = pollable && set_nonblock(fd, true).is_ok();
            Ok(File { fd: f, nonblock })
        }
        // An error here is a failure to register with netpoll (Fd::new
        // closed the dup); Go would return a blocking File instead.
        Err(e) => Err(e),
    }
}

impl File {
    /// Models Go 1.19's `os.(*File).Fd`: "If we put the file descriptor into
    /// nonblocking mode, then set it to blocking mode before we return it"
    /// (`pfd.SetBlocking()`). `O_NONBLOCK` is a flag of the open file
    /// description, shared with the socket this file was dup'ed from: from
    /// now on that socket's reads and writes block in the kernel.
    pub fn fd(&self) -> RawFd {
        if self.nonblock {
            let _ = self.fd.set_blocking();
        }
        self.fd.raw()
    }

    /// Models `os.(*File).Close`: closes the dup (the socket stays open, and
    /// stays in blocking mode if `fd()` was called).
    pub fn close(self) -> io::Result<()> {
        self.fd.close(true)
    }
}
