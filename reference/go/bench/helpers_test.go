package bench

// Checks of the benchmarks' helpers: a benchmark built on a broken echo
// would time nothing.

import (
	"io"
	"testing"
)

func TestEchoConnSendsBackEachByte(t *testing.T) {
	c1, c2, err := tcpPair()
	if err != nil {
		t.Skip("loopback TCP pair:", err)
	}
	defer c1.Close()
	go echoConn(c2)
	for _, want := range []byte("schedlab") {
		if _, err := c1.Write([]byte{want}); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 1)
		if _, err := io.ReadFull(c1, got); err != nil {
			t.Fatal(err)
		}
		if got[0] != want {
			t.Fatalf("echoed %q, sent %q", got[0], want)
		}
	}
	c2.Close()
}

func TestEchoReturnsValuesInOrder(t *testing.T) {
	in, out := make(chan int), make(chan int)
	go echo(in, out)
	for i := 0; i < 100; i++ {
		in <- i
		if v := <-out; v != i {
			t.Fatalf("got %d, sent %d", v, i)
		}
	}
	close(in)
}
