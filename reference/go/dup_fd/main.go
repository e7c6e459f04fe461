// Reference program for scenario `dup_fd` (seed 000: Swarm's 20,000-30,000
// threads, one per long-lived connection).
//
// The incident. Swarm kept a TCP connection to each of tens of thousands of
// Docker daemons and read heartbeats from them. Its custom Dial set
// TCP_USER_TIMEOUT with
//
//	f, _ := conn.(*net.TCPConn).File()
//	syscall.SetsockoptInt(int(f.Fd()), syscall.IPPROTO_TCP, 0x12, msecs)
//
// File() dup()s the socket; (*os.File).Fd() then puts the dup into blocking
// mode (Go 1.19: os/file_unix.go Fd -> pfd.SetBlocking), and O_NONBLOCK is
// a flag of the open file description the dup shares with the connection's
// own fd. The connection's reads, still made by the net package, now block
// in read(2) inside syscall.Syscall: sysmon's retake hands each reader's P
// off and a new M runs the rest, so threads ~= connections, until the
// runtime's 10,000-thread limit kills the process ("runtime: program
// exceeds 10000-thread limit", "fatal error: thread exhaustion"). Swarm's
// authors had raised the limit to 50,000 (debug.SetMaxThreads) thinking
// their load needed the threads.
//
// The workload (issue 5): a heartbeat server in a child process (this
// program re-executed with SCHEDLAB_DUPFD_SERVER=1, so the runner measures
// only the client) listens on 127.0.0.1:0, and writes a 16-byte heartbeat
// (send time, sequence) to each accepted connection every interval_ms. The
// client raises RLIMIT_NOFILE, opens `conns` connections, one reader
// goroutine per connection reading heartbeats in a loop, and records how
// late each heartbeat is seen (receive time - send time). Variants:
//   - bug: Swarm's exact path above; each *os.File is kept in a slice so
//     its finalizer never closes it, when RLIMIT_NOFILE can hold two fds
//     per connection; otherwise (hard limit 20,000 here, conns 10,000) the
//     dup is closed right after the setsockopt, with a note event and
//     dup_kept=0: O_NONBLOCK is a flag of the shared open file description,
//     so the connection's fd stays blocking either way;
//   - fixed: the same option through SyscallConn().Control, no mode change;
//   - bug_50k: bug after debug.SetMaxThreads(50000) (Swarm's workaround);
//     it runs until the machine's limits stop it (pid_max, the cgroup's
//     pids.max, memory).
//
// Phases: load_start (dialling starts), connected (all conns open),
// load_stop. --duration counts from load_start. At the end, pprof's
// goroutine profile (debug=1) is an event of kind goroutine_dump: in bug
// the readers are grouped in syscall.Syscall <- syscall.read <-
// internal/poll.(*FD).Read, in fixed parked in the netpoller.
//
// The fatal error prints "runtime: program exceeds 10000-thread limit" and
// "fatal error: thread exhaustion" first, then every goroutine's stack
// (about 16 MB at 10,000 readers): Go 1.19 prints runtime throws at
// traceback level 2 whatever GOTRACEBACK says (runtime1.go gotraceback), so
// the two telling lines are at the head of stderr, not in its tail.
//
// What the runner should see (Go 1.19): bug: threads ~= conns + the floor
// (>= 0.9 x conns), reached while dialling (time_to_plateau_s ~ connect_s);
// fixed: threads <= procs + ~5 at every conns; bug with conns above 10,000
// (minus the floor): the process dies with exit status 2 and the fatal
// error on stderr, which is the expected outcome, not a harness failure.
// Heartbeat lateness stays small on Go in both variants (a blocked thread
// wakes as soon as its data arrives): the cost of the bug is threads and
// memory, not latency (tokio's version of the mistake stalls instead).
//
// Summary metrics: conns, conns_open (dialling stops when --duration
// ends), connect_s, threads_plateau and time_to_plateau_s
// (/proc/self/status Threads sampled every 100 ms; plateau = max, time to
// the first sample >= 0.95 x max, from load_start), threads_created
// (threadcreate profile count), heartbeats, heartbeat_conns (connections
// that got at least one), heartbeat_late_p50_ms, heartbeat_late_p99_ms,
// heartbeat_late_max_ms, rss_start_bytes_self, rss_end_bytes_self,
// rss_per_extra_thread_bytes (RSS growth / threads above the start, when
// >= 100; includes the connections' memory: compare with fixed), dup_kept (1/0), go_max_threads, nofile_limit,
// pid_max, threads_max_sys, cgroup_pids_max (when the cgroup has a number).
// Sample counters: threads, conns_open, heartbeats.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"schedlab/reference/internal/metrics"
)

var spec = metrics.Spec{
	Name:       "dup_fd",
	About:      "C long-lived loopback connections reading heartbeats; bug = conn.File()+f.Fd() to set TCP_USER_TIMEOUT (Swarm, seed 000).",
	ProcsParam: "procs",
	Params: []metrics.Param{
		{Key: "variant", Kind: metrics.Word, Words: []string{"bug", "fixed", "bug_50k"}, Default: "bug", Help: "File()+Fd() (Swarm), SyscallConn().Control, or bug with SetMaxThreads(50000)"},
		{Key: "conns", Kind: metrics.Int, Min: 1, Max: 200000, Default: "100", Help: "connections (one reader goroutine each)"},
		{Key: "procs", Kind: metrics.Int, Min: 1, Max: 256, Default: "2", Help: "GOMAXPROCS"},
		{Key: "interval_ms", Kind: metrics.Int, Min: 1, Max: 60000, Default: "1000", Help: "heartbeat period of the server, per connection"},
	},
}

const (
	envServer      = "SCHEDLAB_DUPFD_SERVER"
	envInterval    = "SCHEDLAB_DUPFD_INTERVAL_MS"
	tcpUserTimeout = 0x12 // TCP_USER_TIMEOUT, as Swarm defined it
	userTimeoutMs  = 30000
	heartbeatBytes = 16
	threadsPeriod  = 100 * time.Millisecond
)

func main() {
	if os.Getenv(envServer) == "1" {
		serve()
		return
	}
	metrics.Run(spec, run)
}

// ---- the server (child process, not measured) ----

// serve listens on 127.0.0.1:0, prints the port, and writes a heartbeat to
// every accepted connection every interval, until its stdin closes (the
// client died or finished).
func serve() {
	interval, err := strconv.Atoi(os.Getenv(envInterval))
	if err != nil || interval < 1 {
		fmt.Fprintln(os.Stderr, "dup_fd server: bad", envInterval)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "dup_fd server:", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", ln.Addr().(*net.TCPAddr).Port)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			fmt.Fprintln(os.Stderr, "dup_fd server: accept:", err)
			os.Exit(1)
		}
		go heartbeat(c, time.Duration(interval)*time.Millisecond)
	}
}

func heartbeat(c net.Conn, every time.Duration) {
	defer c.Close()
	t := time.NewTicker(every)
	defer t.Stop()
	var msg [heartbeatBytes]byte
	for seq := uint64(0); ; seq++ {
		<-t.C
		binary.LittleEndian.PutUint64(msg[0:], uint64(time.Now().UnixNano()))
		binary.LittleEndian.PutUint64(msg[8:], seq)
		if _, err := c.Write(msg[:]); err != nil {
			return
		}
	}
}

// startServer runs this program as the server and returns its address and
// the pipe whose closing stops it.
func startServer(interval int) (string, *exec.Cmd, io.WriteCloser, error) {
	cmd := exec.Command("/proc/self/exe")
	env := []string{envServer + "=1", envInterval + "=" + strconv.Itoa(interval)}
	for _, kv := range os.Environ() {
		// Not the metrics fd; not GODEBUG either: the server shares our
		// stderr, and its SCHED lines would mix with ours.
		if !strings.HasPrefix(kv, metrics.EnvMetricsFD+"=") && !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return "", nil, nil, fmt.Errorf("server did not report its port: %v", err)
	}
	return "127.0.0.1:" + strings.TrimSpace(line), cmd, stdin, nil
}

// ---- the client (measured) ----

type lateness struct {
	mu    sync.Mutex
	h     *metrics.Histogram
	conns map[int]bool
}

func (l *lateness) record(conn int, late time.Duration) {
	us := late.Microseconds()
	if us < 0 {
		us = 0
	}
	l.mu.Lock()
	l.h.Record(uint64(us))
	l.conns[conn] = true
	l.mu.Unlock()
}

func run(ctx *metrics.Ctx) error {
	variant, conns, interval := ctx.Word("variant"), ctx.Int("conns"), ctx.Int("interval_ms")
	// The thread-limit knob (gmp.max_threads: the kit has called
	// SetMaxThreads) unless the variant is Swarm's workaround.
	maxThreads := ctx.Int("gmp.max_threads")
	if variant == "bug_50k" {
		// A sweep whose grid has the knob passes its default to every
		// point, bug_50k's too: only another value contradicts it.
		if maxThreads != metrics.DefaultMaxThreads {
			return metrics.Usagef("--set variant=bug_50k sets the thread limit (50,000) itself: use variant=bug with gmp.max_threads")
		}
		maxThreads = 50000
		debug.SetMaxThreads(maxThreads)
	}
	keepDups := variant != "fixed" && fdBudget() >= uint64(2*conns+256)
	want := uint64(conns + 256)
	if keepDups {
		want += uint64(conns) // the dups too
	}
	nofile := raiseNofile(ctx, want)
	recordLimits(ctx, variant, conns, maxThreads, nofile)
	if variant != "fixed" && !keepDups {
		ctx.Event("note", fmt.Sprintf("RLIMIT_NOFILE (hard %d) cannot hold %d connections and their dups: each dup is closed right after the setsockopt; O_NONBLOCK was cleared on the open file description the connection shares, so the bug stays", fdBudget(), conns))
	}
	ctx.Metric("dup_kept", b2f(keepDups))

	addr, server, stopServer, err := startServer(interval)
	if err != nil {
		return fmt.Errorf("starting the heartbeat server: %w", err)
	}
	defer func() { _ = stopServer.Close(); _ = server.Wait() }()

	threads := startThreadSampler(ctx)
	late := &lateness{h: metrics.NewHistogram(), conns: map[int]bool{}}
	beats := ctx.Counter("heartbeats")
	open := ctx.Counter("conns_open")
	var keep []*os.File // Swarm's dups, kept so no finalizer closes them

	rss0 := selfStatus("VmRSS:") * 1024
	threads0 := selfStatus("Threads:")
	ctx.Phase("load_start")
	start := time.Now()
	threads.markStart(start)
	deadline := start.Add(ctx.Duration)
	opened := 0
	for i := 0; i < conns; i++ {
		if time.Now().After(deadline) {
			ctx.Event("note", fmt.Sprintf("--duration ended while dialling: %d of %d connections open", i, conns))
			break
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			if lim := dialLimit(err); lim != "" {
				ctx.Limit(fmt.Sprintf("%s (after %d of %d connections)", lim, i, conns))
			}
			return fmt.Errorf("dial %d of %d: %w", i+1, conns, err)
		}
		f, err := setUserTimeout(variant, c.(*net.TCPConn))
		if err != nil {
			if lim := metrics.FdLimit(err); lim != "" {
				ctx.Limit(fmt.Sprintf("%s (after %d of %d connections)", lim, i, conns))
			}
			return err
		}
		if f != nil && keepDups {
			keep = append(keep, f)
		} else if f != nil {
			_ = f.Close()
		}
		open.Add(1)
		opened++
		go readHeartbeats(i, c, late, beats)
	}
	connectS := time.Since(start).Seconds()
	ctx.Phase("connected")
	ctx.Event("note", fmt.Sprintf("%d connections open in %.2f s", opened, connectS))
	if rest := ctx.Duration - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	ctx.Phase("load_stop")
	plateau, toPlateau := threads.stop()

	ctx.Metric("conns", float64(conns))
	ctx.Metric("conns_open", float64(opened))
	ctx.Metric("connect_s", connectS)
	ctx.Metric("threads_plateau", float64(plateau))
	ctx.Metric("time_to_plateau_s", toPlateau.Seconds())
	ctx.Metric("threads_created", float64(pprof.Lookup("threadcreate").Count()))
	rss1 := selfStatus("VmRSS:") * 1024
	ctx.Metric("rss_start_bytes_self", float64(rss0))
	ctx.Metric("rss_end_bytes_self", float64(rss1))
	if extra := plateau - threads0; extra >= 100 {
		// all of the growth charged to the threads (it also holds the
		// connections' and goroutines' memory: compare with fixed)
		ctx.Metric("rss_per_extra_thread_bytes", float64(rss1-rss0)/float64(extra))
	}
	late.mu.Lock()
	ctx.Metric("heartbeats", float64(late.h.Len()))
	ctx.Metric("heartbeat_conns", float64(len(late.conns)))
	for _, q := range []struct {
		name string
		q    float64
	}{{"heartbeat_late_p50_ms", 0.5}, {"heartbeat_late_p99_ms", 0.99}, {"heartbeat_late_max_ms", 1}} {
		if v, ok := late.h.Quantile(q.q); ok {
			ctx.Metric(q.name, v/1e3)
		}
	}
	late.mu.Unlock()
	ctx.GoroutineDump() // bug: N readers in syscall.Syscall(read); fixed: N parked in netpollblock
	runtime.KeepAlive(keep)
	return nil
}

// setUserTimeout sets TCP_USER_TIMEOUT the variant's way. bug/bug_50k
// return the dup (Swarm's f) for the caller to keep.
func setUserTimeout(variant string, c *net.TCPConn) (*os.File, error) {
	if variant == "fixed" {
		rc, err := c.SyscallConn()
		if err != nil {
			return nil, err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, userTimeoutMs)
		}); err != nil {
			return nil, err
		}
		return nil, serr
	}
	f, err := c.File() // dup(2) of the socket
	if err != nil {
		return nil, err
	}
	// f.Fd() clears O_NONBLOCK on the open file description both fds share.
	if err := syscall.SetsockoptInt(int(f.Fd()), syscall.IPPROTO_TCP, tcpUserTimeout, userTimeoutMs); err != nil {
		return nil, fmt.Errorf("setsockopt TCP_USER_TIMEOUT: %w", err)
	}
	return f, nil
}

// readHeartbeats is one connection's reader: a plain net.Conn read loop.
func readHeartbeats(id int, c net.Conn, late *lateness, beats *metrics.Counter) {
	var msg [heartbeatBytes]byte
	for {
		if _, err := io.ReadFull(c, msg[:]); err != nil {
			return
		}
		sent := int64(binary.LittleEndian.Uint64(msg[0:]))
		late.record(id, time.Duration(time.Now().UnixNano()-sent))
		beats.Add(1)
	}
}

// fdBudget is the most open files this process can have: the hard
// RLIMIT_NOFILE, or fs.nr_open when the hard limit can be raised.
func fdBudget() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if nr := uint64(readInt("/proc/sys/fs/nr_open")); nr > rl.Max {
		probe := syscall.Rlimit{Cur: rl.Cur, Max: rl.Max + 1}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &probe) == nil { // CAP_SYS_RESOURCE
			return nr
		}
	}
	return rl.Max
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// raiseNofile raises RLIMIT_NOFILE to at least want: the soft limit up to
// the hard one, then the hard one too when the process may (CAP_SYS_RESOURCE,
// up to fs.nr_open). A shortfall is a system limit: event + exit 3.
func raiseNofile(ctx *metrics.Ctx, want uint64) uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) // only with CAP_SYS_RESOURCE
	}
	got, err := metrics.RaiseNofile(want)
	if err != nil || got < want {
		ctx.Limit(fmt.Sprintf("open files: need %d (RLIMIT_NOFILE) for the connections and their dups, the limit is %d and cannot be raised (ulimit -Hn, fs.nr_open)", want, got))
	}
	return got
}

// recordLimits puts the system's thread limits in the summary and says
// ahead of time which one this point will hit.
func recordLimits(ctx *metrics.Ctx, variant string, conns, maxThreads int, nofile uint64) {
	pidMax := readInt("/proc/sys/kernel/pid_max")
	thrMax := readInt("/proc/sys/kernel/threads-max")
	cg := cgroupPidsMax()
	ctx.Metric("go_max_threads", float64(maxThreads))
	ctx.Metric("nofile_limit", float64(nofile))
	ctx.Metric("pid_max", float64(pidMax))
	ctx.Metric("threads_max_sys", float64(thrMax))
	if cg > 0 {
		ctx.Metric("cgroup_pids_max", float64(cg))
	}
	text := fmt.Sprintf("limits: Go max threads %d, RLIMIT_NOFILE %d, kernel.pid_max %d, kernel.threads-max %d, cgroup pids.max %s",
		maxThreads, nofile, pidMax, thrMax, cgText(cg))
	ctx.Event("note", text)
	if variant == "fixed" {
		return
	}
	switch {
	case conns >= maxThreads-8:
		ctx.Event("note", fmt.Sprintf("expected outcome: %d blocking readers need more than the %d-thread limit: Go will die with \"runtime: program exceeds %d-thread limit\" / \"fatal error: thread exhaustion\"", conns, maxThreads, maxThreads))
	case pidMax > 0 && conns >= pidMax-1000:
		ctx.Event("note", fmt.Sprintf("expected outcome: %d threads come near kernel.pid_max %d (shared by every process): clone will fail and Go dies with \"failed to create new OS thread\"", conns, pidMax))
	case cg > 0 && conns >= cg-64:
		ctx.Event("note", fmt.Sprintf("expected outcome: %d threads exceed the cgroup's pids.max %d: clone will fail and Go dies with \"failed to create new OS thread\"", conns, cg))
	}
}

// dialLimit names the system limit behind a failed dial, or "".
func dialLimit(err error) string {
	if lim := metrics.FdLimit(err); lim != "" {
		return lim
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
		return "ephemeral ports: no local port left for 127.0.0.1 (net.ipv4.ip_local_port_range = " + strings.Join(strings.Fields(string(b)), "-") + ")"
	}
	return ""
}

// cgroupPidsMax is pids.max of this process's cgroup (v2), or 0 for "max"
// or unknown.
func cgroupPidsMax() int {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		dir := strings.TrimSuffix(f[2], "/")
		switch {
		case f[1] == "pids": // v1
			return readInt("/sys/fs/cgroup/pids" + dir + "/pids.max")
		case f[0] == "0" && f[1] == "": // v2
			if n := readInt("/sys/fs/cgroup" + dir + "/pids.max"); n > 0 {
				return n
			}
		}
	}
	return 0
}

func cgText(cg int) string {
	if cg > 0 {
		return strconv.Itoa(cg)
	}
	return "max/unknown"
}

func readInt(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

// selfStatus reads a numeric field of /proc/self/status (kB for sizes).
func selfStatus(field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(strings.TrimPrefix(line, field))
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

// threadSampler reads Threads every 100 ms into the `threads` counter and
// remembers the series for the plateau.
type threadSampler struct {
	counter *metrics.Counter
	quit    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	start   time.Time
	series  []sampleAt
	stopped int32
}

type sampleAt struct {
	at time.Time
	n  int
}

func startThreadSampler(ctx *metrics.Ctx) *threadSampler {
	s := &threadSampler{counter: ctx.Counter("threads"), quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *threadSampler) markStart(t time.Time) {
	s.mu.Lock()
	s.start = t
	s.series = s.series[:0]
	s.mu.Unlock()
}

func (s *threadSampler) loop() {
	defer close(s.done)
	t := time.NewTicker(threadsPeriod)
	defer t.Stop()
	for {
		n := selfStatus("Threads:")
		s.counter.Set(int64(n))
		s.mu.Lock()
		s.series = append(s.series, sampleAt{time.Now(), n})
		s.mu.Unlock()
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}

// stop ends sampling and returns the plateau (max) and the time from the
// start mark to the first sample at >= 95% of it.
func (s *threadSampler) stop() (int, time.Duration) {
	if atomic.CompareAndSwapInt32(&s.stopped, 0, 1) {
		close(s.quit)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	max := 0
	for _, x := range s.series {
		if x.n > max {
			max = x.n
		}
	}
	for _, x := range s.series {
		if float64(x.n) >= 0.95*float64(max) {
			return max, x.at.Sub(s.start)
		}
	}
	return max, 0
}
