// Package bench holds the Go 1.19 side of schedlab's micro-benchmarks: the
// same operations as the gmp criterion benches, so `make bench` can print
// one table gmp ns/op, Go ns/op and their ratio (issues 3 and 7).
//
// Run: cd reference/go && go test ./bench -run '^$' -bench . -count 5
// (add -cpu 1,2 to vary GOMAXPROCS; Go appends "-N" to a benchmark's name
// when GOMAXPROCS is N > 1: strip it when pairing).
//
// Pairing (Go benchmark -> criterion bench id in Rust; what one op is):
//
//	BenchmarkSpawnJoin           spawn_join            start a goroutine that only marks a WaitGroup done, wait for it
//	BenchmarkChanPingPong        chan_ping_pong        unbuffered round trip: send to B, B receives and sends back, receive (2 hand-offs, 2 park/ready pairs)
//	BenchmarkChanBuffered        chan_buffered         one send then one receive on a buffered channel by one goroutine (fast paths, no parking)
//	BenchmarkGosched             gosched               runtime.Gosched at GOMAXPROCS 1 with one other goroutine looping on Gosched (2 switches per op)
//	BenchmarkSelect2             Select2               unbuffered round trip to a worker whose loop is select { case v := <-in: out <- v; case <-quit: return }
//	BenchmarkWakeAll10k          WakeAll10k            close a channel 10,000 parked receivers wait on, then wait until all ran (their spawning and parking is untimed)
//	BenchmarkJoin10k             Join10k               start 10,000 goroutines that only call wg.Done, then wg.Wait
//	BenchmarkSyscallGetpid       syscall_getpid        syscall.Syscall(SYS_GETPID): entersyscall + getpid + exitsyscall
//	BenchmarkRawSyscallGetpid    raw_syscall_getpid    syscall.RawSyscall(SYS_GETPID): the bare system call
//	BenchmarkTimerReset          timer_reset           Reset(1h) of a pending timer (modtimer on the P's heap; never fires)
//	BenchmarkTimerFire           timer_fire            Reset(1ns) then receive on t.C: modtimer + the park of the receiver + checkTimers
//	                                                   running the due timer (runtimer, sendTime) + the ready of the receiver
//	BenchmarkTimerSleep1us       timer_sleep_1us       Reset(1us) then receive: when the timer is not due at findRunnable's last
//	                                                   look, the M waits in epoll_wait, whose timeout is whole ms (netpoll rounds a
//	                                                   1 us delay up to 1 ms), so one op is ~1 us or ~1.06 ms and the mean is
//	                                                   the share of the slow ones: a faster scheduler path reaches the poll
//	                                                   sooner, finds the timer not yet due more often, and is slower here.
//	                                                   bench/go-ratio shows this pair but does not hold it to the target.
//	BenchmarkNetpollWake         netpoll_wake          1-byte round trip over a 127.0.0.1 TCP pair, both ends parked in the netpoller between messages (2 netpoll wake-ups)
//	BenchmarkSTW/procs=1         stw/procs=1           runtime.ReadMemStats at GOMAXPROCS 1: stopTheWorld + a small stats read + startTheWorld
//	BenchmarkSTW/procs=2         stw/procs=2           the same at GOMAXPROCS 2, the other P idle
//	BenchmarkSTW/procs=2_busy    stw/procs=2_busy      the same at GOMAXPROCS 2 with a goroutine spinning on the other P (STW must preempt it:
//	                                                   a SIGURG async preemption; very noisy on a shared 2-core box)
//	BenchmarkSTW/procs=2_1cpu    stw/procs=2_1cpu      procs=2 with the whole process on one CPU (skipped unless runtime.NumCPU()
//	                                                   is 1: bench/go-ratio runs it in a second `go test` pinned to one CPU)
//
// Why the _1cpu pair: at GOMAXPROCS 2 each stop wakes the M that
// startTheWorld's wakep started, and waits for it to reach gcstopm: two
// cross-CPU futex wake-ups per op, whose latency on a 2-vCPU VM is 5-8 us
// each and varies by tens of percent from one run to the next (this
// benchmark has measured 11.3 to 20.3 us on the same machine). On one CPU
// the wake-ups become context switches and ns/op is the runtime's own
// cost. bench/go-ratio shows the unpinned procs=2 pairs but holds only the
// pinned one to the target. There is no pinned busy pair: with the
// spinning goroutine's thread and the stopper's on one CPU, ns/op is how
// soon the kernel's scheduler lets the stopper run again (tens of us), not
// the stop.
//
// Why ReadMemStats for stop-the-world: runtime.GC() is a whole collection
// (mark, sweep, two STWs), far from the latency of one stop; ReadMemStats
// is the lightest public call whose body is stopTheWorld("read mem
// stats") ... startTheWorld(), and what it does inside (flushallmcaches:
// one pass over the Ps, and summing ~68 size classes) costs well under a
// microsecond on a small heap, so ns/op is dominated by stopping and
// restarting the world. debug.SetGCPercent does not stop the world in Go
// 1.19, and runtime.GOMAXPROCS(n) does (stopTheWorldGC) but also resizes
// the Ps, so it measures procresize too. The gmp bench to pair with this
// one should stop and start the world with a comparably small body.
package bench
