package bench

// The benchmarks (see doc.go for what one op is and how each pairs with a
// gmp criterion bench). Every helper goroutine a benchmark starts is
// stopped before it returns, so benchmarks do not disturb each other.

import (
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func BenchmarkSpawnJoin(b *testing.B) {
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
		wg.Wait()
	}
}

func BenchmarkChanPingPong(b *testing.B) {
	ping, pong := make(chan int), make(chan int)
	go echo(ping, pong)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ping <- i
		<-pong
	}
	b.StopTimer()
	close(ping)
}

// echo sends back what it receives until in is closed.
func echo(in <-chan int, out chan<- int) {
	for v := range in {
		out <- v
	}
}

func BenchmarkChanBuffered(b *testing.B) {
	ch := make(chan int, 128)
	for i := 0; i < b.N; i++ {
		ch <- i
		<-ch
	}
}

func BenchmarkGosched(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var stop int32
	done := make(chan struct{})
	go func() {
		for atomic.LoadInt32(&stop) == 0 {
			runtime.Gosched()
		}
		close(done)
	}()
	runtime.Gosched() // let it start
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.Gosched()
	}
	b.StopTimer()
	atomic.StoreInt32(&stop, 1)
	<-done
}

func BenchmarkSelect2(b *testing.B) {
	in, quit, out := make(chan int), make(chan int), make(chan int)
	go selectEcho(in, quit, out)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in <- i
		<-out
	}
	b.StopTimer()
	close(quit)
}

// selectEcho is the usual worker loop: a select over its input and a quit
// channel, sending back what it receives until quit is closed.
func selectEcho(in, quit <-chan int, out chan<- int) {
	for {
		select {
		case v := <-in:
			out <- v
		case <-quit:
			return
		}
	}
}

// wakeN is how many goroutines BenchmarkWakeAll10k wakes and
// BenchmarkJoin10k joins.
const wakeN = 10000

func BenchmarkWakeAll10k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := make(chan struct{})
		var parked, done sync.WaitGroup
		parked.Add(wakeN)
		done.Add(wakeN)
		for j := 0; j < wakeN; j++ {
			go func() {
				parked.Done()
				<-c
				done.Done()
			}()
		}
		parked.Wait()
		b.StartTimer()
		close(c)
		done.Wait()
	}
}

func BenchmarkJoin10k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		wg.Add(wakeN)
		for j := 0; j < wakeN; j++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
}

func BenchmarkSyscallGetpid(b *testing.B) {
	for i := 0; i < b.N; i++ {
		syscall.Syscall(syscall.SYS_GETPID, 0, 0, 0)
	}
}

func BenchmarkRawSyscallGetpid(b *testing.B) {
	for i := 0; i < b.N; i++ {
		syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
	}
}

func BenchmarkTimerReset(b *testing.B) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for i := 0; i < b.N; i++ {
		t.Reset(time.Hour)
	}
}

// BenchmarkTimerFire times a timer that is already due when the receiver
// parks: findRunnable's checkTimers runs it (runtimer, sendTime) at once.
func BenchmarkTimerFire(b *testing.B) { benchTimerWait(b, time.Nanosecond) }

// BenchmarkTimerSleep1us times a 1 us sleep: when the timer is not yet due
// at findRunnable's last look, the M blocks in netpoll, and netpoll rounds
// any delay under 1 ms up to epoll_wait's 1 ms.
func BenchmarkTimerSleep1us(b *testing.B) { benchTimerWait(b, time.Microsecond) }

func benchTimerWait(b *testing.B, d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.Reset(d)
		<-t.C
	}
}

func BenchmarkNetpollWake(b *testing.B) {
	c1, c2, err := tcpPair()
	if err != nil {
		b.Skip("loopback TCP pair:", err)
	}
	defer c1.Close()
	defer c2.Close()
	go echoConn(c2)
	buf := make([]byte, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c1.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c1, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// tcpPair returns both ends of one 127.0.0.1 TCP connection.
func tcpPair() (net.Conn, net.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			c = nil
		}
		accepted <- c
	}()
	c1, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	c2 := <-accepted
	if c2 == nil {
		c1.Close()
		return nil, nil, io.ErrUnexpectedEOF
	}
	for _, c := range []net.Conn{c1, c2} {
		_ = c.(*net.TCPConn).SetNoDelay(true)
	}
	return c1, c2, nil
}

// echoConn writes back every byte it reads until the connection closes.
func echoConn(c net.Conn) {
	buf := make([]byte, 1)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

func BenchmarkSTW(b *testing.B) {
	b.Run("procs=1", func(b *testing.B) { benchSTW(b, 1, false) })
	b.Run("procs=2", func(b *testing.B) { benchSTW(b, 2, false) })
	b.Run("procs=2_busy", func(b *testing.B) { benchSTW(b, 2, true) })
	b.Run("procs=2_1cpu", func(b *testing.B) { oneCPU(b); benchSTW(b, 2, false) })
}

// oneCPU skips a benchmark unless the process runs on one CPU (bench/go-ratio
// starts a second `go test` with its affinity set to one CPU, as gmp's bench
// pins its runtime's threads). runtime.NumCPU counts the CPUs of the
// affinity mask at start-up.
func oneCPU(b *testing.B) {
	if runtime.NumCPU() != 1 {
		b.Skip("needs a process pinned to one CPU (e.g. taskset -c 0)")
	}
}

// benchSTW times runtime.ReadMemStats (stopTheWorld, a small read,
// startTheWorld) at GOMAXPROCS procs, with a goroutine spinning on another
// P when busy.
func benchSTW(b *testing.B, procs int, busy bool) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	var stop int32
	done := make(chan struct{})
	if busy {
		started := make(chan struct{})
		go func() {
			close(started)
			var x uint64
			for atomic.LoadInt32(&stop) == 0 {
				x++
			}
			close(done)
		}()
		<-started
	} else {
		close(done)
	}
	var ms runtime.MemStats
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.ReadMemStats(&ms)
	}
	b.StopTimer()
	atomic.StoreInt32(&stop, 1)
	<-done
}
