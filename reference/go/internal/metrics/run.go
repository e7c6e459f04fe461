package metrics

// Run and Ctx: the life of a reference program (doc.go), and what its body
// may do: phases, events, summary metrics, counters, a goroutine dump, and
// reporting a system limit.

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// LimitExitCode is the exit status of a program that stopped at a system limit.
const LimitExitCode = 3

// Ctx is what the body gets.
type Ctx struct {
	Config
	spec     Spec
	em       *Emitter
	counters *counters

	mu      sync.Mutex
	metrics map[string]float64
}

// Int is an Int param's value.
func (c *Ctx) Int(key string) int { return int(c.num(key)) }

// Float is a Float param's value.
func (c *Ctx) Float(key string) float64 { return c.num(key) }

// Bool is a Bool param's value.
func (c *Ctx) Bool(key string) bool { return c.num(key) != 0 }

// Word is a Word param's value.
func (c *Ctx) Word(key string) string {
	s, ok := c.Params[key].(string)
	if !ok {
		panic("param " + key + " is not a declared word param")
	}
	return s
}

func (c *Ctx) num(key string) float64 {
	n, ok := c.Params[key].(float64)
	if !ok {
		panic("param " + key + " is not a declared numeric param")
	}
	return n
}

// Phase writes a phase line (load_start, load_stop, ...).
func (c *Ctx) Phase(name string) { c.em.Phase(name) }

// Event writes an event line.
func (c *Ctx) Event(kind, text string) { c.em.Event(kind, text) }

// Metric adds a metric to the summary line.
func (c *Ctx) Metric(name string, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.metrics[name] = v
}

// Counter returns the named counter every sample line carries from now on.
func (c *Ctx) Counter(name string) *Counter { return c.counters.get(name) }

// GoroutineDump writes pprof's goroutine profile at debug=1 (grouped by
// stack, with counts) as an event of kind goroutine_dump.
func (c *Ctx) GoroutineDump() {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	c.Event("goroutine_dump", b.String())
}

// Limit reports a system limit (event kind limit) and exits 3.
func (c *Ctx) Limit(what string) {
	fmt.Fprintf(os.Stderr, "%s: system limit: %s\n", c.spec.Name, what)
	c.Event("limit", what)
	os.Exit(LimitExitCode)
}

// FdLimit names the limit behind a failed open/socket/accept, or "".
func FdLimit(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return ""
	}
	switch errno {
	case syscall.EMFILE:
		var rl syscall.Rlimit
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
		return fmt.Sprintf("open files: per-process limit reached (EMFILE): ulimit -n (RLIMIT_NOFILE) = %d", rl.Cur)
	case syscall.ENFILE:
		return "open files: system-wide limit reached (ENFILE): fs.file-max"
	case syscall.ENOMEM, syscall.ENOBUFS:
		return "memory: kernel out of buffers (" + errno.Error() + ")"
	}
	return ""
}

// RaiseNofile raises the soft RLIMIT_NOFILE towards want (capped at the
// hard limit) and returns the soft limit in force.
func RaiseNofile(want uint64) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if want > rl.Max {
		want = rl.Max
	}
	if rl.Cur < want {
		rl.Cur = want
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	return rl.Cur, err
}

// Run runs a reference program and never returns (doc.go).
func Run(spec Spec, body func(*Ctx) error) {
	origin := time.Now()
	spec = withKnobs(spec)
	cfg, err := Parse(spec, os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		exitUsage(spec, err)
	}
	if err := execWithStartEnv(spec, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: re-executing with GOMAXPROCS/GODEBUG: %v\n", spec.Name, err)
		os.Exit(1)
	}
	em, err := EmitterFromEnv(origin)
	if err != nil {
		exitUsage(spec, usageError{err.Error()})
	}
	ctx := &Ctx{Config: cfg, spec: spec, em: em, counters: &counters{}, metrics: map[string]float64{}}
	em.hello(spec.Name, cfg.Runtime, helloParams(cfg))
	if why := skipReason(cfg); why != "" {
		ctx.skip(why)
	}
	applyCalls(cfg)
	p := newProbe(em, ctx.counters, cfg.SampleEvery)
	go p.loop()
	err = body(ctx)
	total := p.finish()
	if err != nil {
		if IsUsage(err) {
			exitUsage(spec, err)
		}
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", spec.Name, err)
		ctx.Event("error", err.Error())
		os.Exit(1)
	}
	ctx.Metric("probe_n", float64(total.N))
	ctx.Metric("probe_p50_us", total.P50us)
	ctx.Metric("probe_p99_us", total.P99us)
	ctx.Metric("probe_max_us", total.MaxUs)
	ctx.mu.Lock()
	em.summary(ctx.metrics)
	ctx.mu.Unlock()
	os.Exit(0)
}

// execWithStartEnv replaces the process with itself under
// GOMAXPROCS=<procs> (when the Spec names a ProcsParam) and the GODEBUG
// the knobs want (knobs.go), unless the environment already says so.
// Returns only on error or when nothing needs doing.
func execWithStartEnv(spec Spec, cfg Config) error {
	env := os.Environ()
	changed := false
	if spec.ProcsParam != "" {
		n, ok := cfg.Params[spec.ProcsParam].(float64)
		if !ok {
			panic("ProcsParam " + spec.ProcsParam + " is not a declared numeric param")
		}
		if want := strconv.Itoa(int(n)); os.Getenv("GOMAXPROCS") != want {
			env = setEnv(env, "GOMAXPROCS", want)
			changed = true
		}
	}
	current := os.Getenv("GODEBUG")
	if want := godebugWanted(cfg, current); want != current {
		env = setEnv(env, "GODEBUG", want)
		changed = true
	}
	if !changed {
		return nil
	}
	return syscall.Exec("/proc/self/exe", os.Args, env)
}

func exitUsage(spec Spec, err error) {
	fmt.Fprintf(os.Stderr, "%s: error: %v\n", spec.Name, err)
	fmt.Fprintf(os.Stderr, "Run `%s --help` for the command line and the parameters.\n", spec.Name)
	os.Exit(2)
}
