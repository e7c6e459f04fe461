// Package pprofserve serves net/http/pprof on the address in
// SCHEDLAB_PPROF_ADDR (e.g. 127.0.0.1:6060) when that variable is set,
// and does nothing otherwise. A reference program imports it for its side
// effect so that `schedlab watch --pprof` can be checked against a real Go
// process; programs whose thread or memory figures are compared to gmp's
// do not import it unless they must.
package pprofserve

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on the default mux
	"os"
)

// Env names the address variable.
const Env = "SCHEDLAB_PPROF_ADDR"

func init() {
	addr := os.Getenv(Env)
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pprofserve: %s=%s: %v\n", Env, addr, err)
		return
	}
	go http.Serve(ln, nil) //nolint:errcheck // ends with the process
}
