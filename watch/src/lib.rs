//! `schedlab watch`: name the known M:N scheduler failure in a live
//! process, from outside, on Linux.
//!
//! The lab's scenarios measured five failures from their production
//! incidents; each leaves a signature a `/proc` reader can see without the
//! program's cooperation:
//!
//! | signature   | what /proc shows                                           | scenario    |
//! |-------------|------------------------------------------------------------|-------------|
//! | dup_fd      | threads blocked in read(2)/recvfrom on sockets, O_NONBLOCK cleared | dup_fd |
//! | sender_leak | RSS / threads / goroutines (pprof) rising in a straight line | sender_leak |
//! | ffi_cap     | more threads in state R (and busy) than the runtime's cap    | ffi_cap     |
//! | syscalls    | threads blocked in slow syscalls (sleep, file I/O), then idle but alive | syscalls |
//! | timer_stw   | one thread spinning through sched_yield, every other thread stopped | timer_stw |
//!
//! Data flow, one module each:
//!
//! ```text
//! sample   /proc reads -> Tick         (bounded cost; read only)
//! figures  Tick, Tick  -> Figures      (rates, counts, scaled estimates)
//! runtime  exe, environ, thread names -> Go / gmp / tokio / unknown, cap
//! stacks   --stacks: PCs (ptrace for running threads) -> symbols
//! pprof    --pprof: goroutine?debug=1, polled -> totals and sites
//! signatures  Figures[] + the above -> Findings, best first
//! watch    the loop, the target's life, Ctrl-C
//! output / rundir / cli   text, --out run directory, the command line
//! corpus   the lab's own binaries as the test corpus: the confusion matrix
//! ```
//!
//! The thresholds, and the scenario figures that put them where they are,
//! are in this crate's README.

pub mod cli;
pub mod corpus;
pub mod cost;
pub mod figures;
pub mod output;
pub mod pprof;
pub mod rundir;
pub mod runtime;
pub mod sample;
pub mod signatures;
pub mod stacks;
pub mod syscalls;
pub mod watch;
