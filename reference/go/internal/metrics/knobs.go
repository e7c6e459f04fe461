package metrics

// The scheduler knobs every scenario accepts (scenario-kit/src/knobs.rs is
// the list and its documentation; the keys, kinds and defaults here are the
// same). The go column mirrors the two the Go runtime has a switch for:
//
//	gmp.asyncpreempt=off -> GODEBUG=asyncpreemptoff=1: the runtime reads
//	                        GODEBUG once, at start, so Run re-executes the
//	                        program with it (with GOMAXPROCS, in one exec);
//	gmp.max_threads=n    -> runtime/debug.SetMaxThreads(n), called by Run
//	                        before the body (Go's default is 10,000, the
//	                        knob's default).
//
// The others are model-only (gmp has the switch, Go does not): a point
// that sets one off its default writes hello and an event of kind skip
// saying why, and exits 4 without a summary; the runner files it skipped.
// hello carries a knob only when --set gave it.

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// SkipExitCode is the exit status of a point that did not run because Go
// has no switch for a knob it sets.
const SkipExitCode = 4

var onOff = []string{"on", "off"}

// knobParams are the knobs, as params, in scenario-kit's order.
var knobParams = []Param{
	{Key: "gmp.asyncpreempt", Kind: Word, Words: onOff, Default: "on", Help: "asynchronous preemption; off: GODEBUG=asyncpreemptoff=1"},
	{Key: "gmp.max_threads", Kind: Int, Min: 3, Max: 1000000, Default: strconv.Itoa(DefaultMaxThreads), Help: "thread limit: runtime/debug.SetMaxThreads"},
	{Key: "gmp.sysmon", Kind: Word, Words: onOff, Default: "on", Help: "sysmon (model-only: off is skipped here)"},
	{Key: "gmp.handoff", Kind: Word, Words: onOff, Default: "on", Help: "syscall hand-off (model-only: off is skipped here)"},
	{Key: "gmp.retake_exception", Kind: Word, Words: onOff, Default: "on", Help: "retake's lone-syscaller exception (model-only: off is skipped here)"},
	{Key: "gmp.sysmon_delay_us", Kind: Int, Min: 0, Max: 1000000, Default: "0", Help: "fixed sysmon delay (model-only: non-zero is skipped here)"},
	{Key: "gmp.netpoll", Kind: Word, Words: onOff, Default: "on", Help: "network poller for sockets (model-only: off is skipped here)"},
}

// DefaultMaxThreads is gmp.max_threads' default: Go's own thread limit
// (runtime/debug.SetMaxThreads, 10,000 unless a program changes it).
const DefaultMaxThreads = 10000

// mirrored knobs: the go column applies them.
var mirrored = map[string]bool{"gmp.asyncpreempt": true, "gmp.max_threads": true}

// withKnobs is spec with the knobs after its own params.
func withKnobs(spec Spec) Spec {
	params := append([]Param(nil), spec.Params...)
	for _, k := range knobParams {
		if _, dup := findParam(spec, k.Key); dup {
			panic("scenario " + spec.Name + " declares " + k.Key + ", a key of the kit's knobs")
		}
		params = append(params, k)
	}
	spec.Params = params
	return spec
}

func isKnob(key string) bool {
	for _, k := range knobParams {
		if k.Key == key {
			return true
		}
	}
	return false
}

// changedKnobs lists "key=value" for each knob off its default, in order.
func changedKnobs(cfg Config) (mirroredSet, modelOnly []string) {
	for _, k := range knobParams {
		def, _ := parseValue(k, k.Default)
		if v := cfg.Params[k.Key]; v != def {
			kv := fmt.Sprintf("%s=%v", k.Key, v)
			if mirrored[k.Key] {
				mirroredSet = append(mirroredSet, kv)
			} else {
				modelOnly = append(modelOnly, kv)
			}
		}
	}
	return mirroredSet, modelOnly
}

// skipReason says why the go column cannot run cfg, or "".
func skipReason(cfg Config) string {
	_, modelOnly := changedKnobs(cfg)
	if len(modelOnly) == 0 {
		return ""
	}
	what := "a knob"
	if len(modelOnly) > 1 {
		what = "knobs"
	}
	return fmt.Sprintf("%s: %s of the Go scheduler's design that go has no switch for (model-only); not run",
		strings.Join(modelOnly, ", "), what)
}

// godebugWanted is GODEBUG as cfg wants it, given the current value.
func godebugWanted(cfg Config, current string) string {
	if cfg.Params["gmp.asyncpreempt"] != "off" {
		return current
	}
	pairs := []string{}
	for _, p := range strings.Split(current, ",") {
		if p != "" && !strings.HasPrefix(p, "asyncpreemptoff=") {
			pairs = append(pairs, p)
		}
	}
	return strings.Join(append(pairs, "asyncpreemptoff=1"), ",")
}

// applyCalls makes the start-up calls the knobs ask for.
func applyCalls(cfg Config) {
	if n := int(cfg.Params["gmp.max_threads"].(float64)); n != DefaultMaxThreads {
		debug.SetMaxThreads(n)
	}
}

// helloParams are cfg's params without the knobs --set did not give.
func helloParams(cfg Config) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range cfg.Params {
		if !isKnob(k) || cfg.Given[k] {
			out[k] = v
		}
	}
	return out
}

// setEnv returns env with key=value (replacing any previous key=).
func setEnv(env []string, key, value string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// skip writes the skip event and exits (after hello).
func (c *Ctx) skip(why string) {
	fmt.Fprintf(os.Stderr, "%s: skipped: %s\n", c.spec.Name, why)
	c.Event("skip", why)
	os.Exit(SkipExitCode)
}
