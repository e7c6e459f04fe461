// Package metrics is the Go side of schedlab's scenario kit: the same
// command line, the same metrics protocol and the same latency probe as the
// Rust crate scenario-kit, so a reference program under reference/go/<name>
// is run and read by the runner exactly like the Rust binary <name>.
//
// A reference program's main reads:
//
//	func main() {
//		metrics.Run(spec, func(ctx *metrics.Ctx) error {
//			ctx.Phase("load_start")
//			time.Sleep(ctx.Duration)
//			ctx.Phase("load_stop")
//			return nil
//		})
//	}
//
// Run, in order (the protocol is documented in protocol/src/metrics.rs and
// ARCHITECTURE.md; version 1):
//
//  1. parses the command line
//     `<name> --runtime go --duration <N>ms [--set key=value]... [--sample-ms N]`
//     with package flag (-h/--help prints the keys; every user mistake is a
//     message and exit code 2);
//  2. if the Spec names a ProcsParam and GOMAXPROCS in the environment is
//     not that param's value, re-executes itself (same pid, same fds) with
//     GOMAXPROCS set: the Go runtime sizes itself and starts Ms for its
//     first goroutines before main runs, so calling runtime.GOMAXPROCS(n)
//     from main would leave the threads of a larger start-up behind and
//     measure the wrong floor;
//  3. opens the metrics sink: the fd in SCHEDLAB_METRICS_FD
//     (os.NewFile), or stdout; writes `hello`;
//  4. starts the probe goroutine, runs the body, stops the probe;
//  5. writes `summary` (probe_p50_us, probe_p99_us, probe_max_us, probe_n,
//     plus the body's Metric calls) and exits 0. A body error is an `event`
//     of kind `error` and exit 1; Ctx.Limit an `event` of kind `limit` and
//     exit 3.
//
// The probe (probe.go) is one goroutine that wants to wake every 1 ms on a
// fixed grid (time.Sleep until the next deadline; a wake-up more than 5 ms
// late restarts the grid from now, like tokio's MissedTickBehavior::Delay)
// and records its lateness in a log-linear histogram (hist.go, the same
// buckets as the Rust one). After each wake-up it writes a `sample` line if
// --sample-ms has passed, with the interval's p50/p99/max and the counters
// goroutines (runtime.NumGoroutine), threads_created (the threadcreate
// profile's count: every M the runtime ever made) and gomaxprocs, plus the
// body's own Counters. Sampling rides on the probe so the instrumentation
// adds one goroutine and no thread: Go's thread count stays the runtime's.
//
// Invariants: exactly one hello first, at most one summary last; every line
// is written whole under a mutex with one write(2); a failed write (reader
// gone) silences the emitter instead of killing the program; the package
// uses the standard library only (the lab has no Go module downloads).
package metrics
