package pprofserve

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// The default mux the package registers on answers the goroutine profile.
func TestGoroutineProfileIsServed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(ln, nil) //nolint:errcheck
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(string(b), "goroutine profile: total ") {
		t.Fatalf("not a goroutine profile: %.60q", b)
	}
}
