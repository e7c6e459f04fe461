package metrics

// The emitter: protocol lines as JSON, one write(2) per line under a mutex,
// to the fd in SCHEDLAB_METRICS_FD or to stdout. A write error (EPIPE: the
// reader went away; EBADF) marks the emitter broken and every later line
// is dropped: the workload must not die because nobody listens. Go ignores
// SIGPIPE for fds other than 1 and 2; in stdout mode Run ignores SIGPIPE
// (signal.Ignore starts no goroutine and no thread) so `| head` is safe too.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvMetricsFD names the variable holding the metrics fd number.
const EnvMetricsFD = "SCHEDLAB_METRICS_FD"

// ProtocolVersion is protocol/src/metrics.rs's PROTOCOL_VERSION.
const ProtocolVersion = 1

// ProbeStats is the probe's lateness over an interval, in microseconds.
type ProbeStats struct {
	N     uint64  `json:"n"`
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
	MaxUs float64 `json:"max_us"`
}

// The line shapes, fields in the order the Rust side writes them.
type helloLine struct {
	Type     string                 `json:"type"`
	V        int                    `json:"v"`
	Scenario string                 `json:"scenario"`
	Runtime  string                 `json:"runtime"`
	Params   map[string]interface{} `json:"params"`
	Pid      int                    `json:"pid"`
}

type phaseLine struct {
	Type string  `json:"type"`
	TMs  float64 `json:"t_ms"`
	Name string  `json:"name"`
}

type sampleLine struct {
	Type     string             `json:"type"`
	TMs      float64            `json:"t_ms"`
	Probe    *ProbeStats        `json:"probe,omitempty"`
	Counters map[string]float64 `json:"counters"`
}

type eventLine struct {
	Type string  `json:"type"`
	TMs  float64 `json:"t_ms"`
	Kind string  `json:"kind"`
	Text string  `json:"text"`
}

type summaryLine struct {
	Type    string             `json:"type"`
	TMs     float64            `json:"t_ms"`
	Metrics map[string]float64 `json:"metrics"`
}

// Emitter writes protocol lines. Safe for concurrent use.
type Emitter struct {
	mu     sync.Mutex
	w      io.Writer
	broken bool
	origin time.Time
}

// NewEmitter writes to w with t_ms measured from origin.
func NewEmitter(w io.Writer, origin time.Time) *Emitter {
	return &Emitter{w: w, origin: origin}
}

// EmitterFromEnv opens SCHEDLAB_METRICS_FD, or stdout when it is unset.
func EmitterFromEnv(origin time.Time) (*Emitter, error) {
	s, ok := os.LookupEnv(EnvMetricsFD)
	if !ok {
		signal.Ignore(syscall.SIGPIPE)
		return NewEmitter(os.Stdout, origin), nil
	}
	fd, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || fd < 0 {
		return nil, fmt.Errorf("%s=%s: expected a file descriptor number", EnvMetricsFD, s)
	}
	if _, err := fcntlGetfd(fd); err != nil {
		return nil, fmt.Errorf("%s=%d: fd is not open (%v)", EnvMetricsFD, fd, err)
	}
	syscall.CloseOnExec(fd) // keep it out of children the scenario spawns
	return NewEmitter(os.NewFile(uintptr(fd), "metrics"), origin), nil
}

func fcntlGetfd(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// NowMs is ms since the origin, rounded to the microsecond.
func (e *Emitter) NowMs() float64 { return e.msAt(time.Now()) }

func (e *Emitter) msAt(t time.Time) float64 {
	return float64(t.Sub(e.origin).Microseconds()) / 1e3
}

// Broken reports whether a write failed (later lines are dropped).
func (e *Emitter) Broken() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.broken
}

func (e *Emitter) emit(line interface{}) {
	b, err := json.Marshal(line)
	if err != nil {
		return // only NaN/Inf can do this: drop the line
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.broken {
		return
	}
	if _, err := e.w.Write(b); err != nil {
		e.broken = true
	}
}

func (e *Emitter) hello(scenario, runtime string, params map[string]interface{}) {
	e.emit(helloLine{"hello", ProtocolVersion, scenario, runtime, params, os.Getpid()})
}

// Phase writes a phase line.
func (e *Emitter) Phase(name string) { e.emit(phaseLine{"phase", e.NowMs(), name}) }

// Event writes an event line.
func (e *Emitter) Event(kind, text string) { e.emit(eventLine{"event", e.NowMs(), kind, text}) }

func (e *Emitter) sample(at time.Time, probe *ProbeStats, counters map[string]float64) {
	e.emit(sampleLine{"sample", e.msAt(at), probe, finite(counters)})
}

func (e *Emitter) summary(metrics map[string]float64) {
	e.emit(summaryLine{"summary", e.NowMs(), finite(metrics)})
}

// finite drops NaN and Inf, which JSON cannot carry.
func finite(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}
