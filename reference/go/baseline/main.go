// Reference program for scenario `baseline` (seed 002, first experiment):
// real Go idling for --duration with only the 1 ms latency probe awake.
// The runner counts its threads from /proc: Go's thread floor.
//
// What to expect (Go 1.19, Linux): the main M, sysmon's M (never gives up
// its thread, runs without a P), and the Ms started to run the goroutines
// the runtime makes at start-up (GC background workers, bgsweep,
// bgscavenge, the finalizer goroutine) while main is locked to its thread
// during init: 3 or 4 threads at GOMAXPROCS=1, about 4 at 2, 5 at 4.
// GOMAXPROCS comes from --set procs: the kit re-executes the program with
// GOMAXPROCS in the environment so the runtime starts with it (calling
// runtime.GOMAXPROCS from main would be too late: the start-up Ms exist).
package main

import (
	"time"

	"schedlab/reference/internal/metrics"
)

var spec = metrics.Spec{
	Name:       "baseline",
	About:      "Idles for --duration with only the latency probe awake: Go's thread floor (seed 002).",
	ProcsParam: "procs",
	Params: []metrics.Param{
		{Key: "procs", Kind: metrics.Int, Min: 1, Max: 256, Default: "1", Help: "GOMAXPROCS"},
	},
}

func main() {
	metrics.Run(spec, func(ctx *metrics.Ctx) error {
		ctx.Phase("load_start")
		time.Sleep(ctx.Duration)
		ctx.Phase("load_stop")
		return nil
	})
}
