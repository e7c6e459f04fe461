package main

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// nonblocking reports whether the connection's own fd has O_NONBLOCK.
func nonblocking(t *testing.T, c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		flags, ferr = int(r), errnoErr(e)
	}); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
	return flags&syscall.O_NONBLOCK != 0
}

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func dialLocal(t *testing.T) (*net.TCPConn, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback:", err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c.(*net.TCPConn), func() { c.Close(); s.Close(); ln.Close() }
}

// The mechanism of seed 000: File()+Fd() turns the connection's own fd
// blocking; SyscallConn().Control does not.
func TestBugPathMakesTheConnectionBlockingAndFixedDoesNot(t *testing.T) {
	for _, v := range []struct {
		variant      string
		wantBlocking bool
	}{{"bug", true}, {"fixed", false}} {
		c, done := dialLocal(t)
		if !nonblocking(t, c) {
			t.Fatalf("%s: a fresh net.Conn should be non-blocking", v.variant)
		}
		f, err := setUserTimeout(v.variant, c)
		if err != nil {
			t.Fatalf("%s: %v", v.variant, err)
		}
		if got := !nonblocking(t, c); got != v.wantBlocking {
			t.Errorf("%s: connection blocking = %v, want %v", v.variant, got, v.wantBlocking)
		}
		ms, err := syscall.GetsockoptInt(int(fdOf(t, c)), syscall.IPPROTO_TCP, tcpUserTimeout)
		if err != nil || ms != userTimeoutMs {
			t.Errorf("%s: TCP_USER_TIMEOUT = %d (%v), want %d", v.variant, ms, err, userTimeoutMs)
		}
		if f != nil {
			f.Close()
		}
		done()
	}
}

func fdOf(t *testing.T, c *net.TCPConn) uintptr {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	_ = rc.Control(func(x uintptr) { fd = x })
	return fd
}

func TestPlateauIsTheMaxAndTheFirstSampleNearIt(t *testing.T) {
	s := &threadSampler{quit: make(chan struct{}), done: make(chan struct{})}
	close(s.done)
	t0 := time.Unix(0, 0)
	s.start = t0
	for i, n := range []int{3, 50, 96, 99, 100, 97} {
		s.series = append(s.series, sampleAt{t0.Add(time.Duration(i) * time.Second), n})
	}
	max, at := s.stop()
	if max != 100 || at != 2*time.Second {
		t.Fatalf("plateau %d at %v, want 100 at 2s (96 >= 0.95 x 100)", max, at)
	}
}
