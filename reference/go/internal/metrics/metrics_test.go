package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

var testSpec = Spec{
	Name: "demo",
	Params: []Param{
		{Key: "procs", Kind: Int, Min: 1, Max: 64, Default: "1"},
		{Key: "mode", Kind: Word, Words: []string{"raw", "wrapped"}, Default: "raw"},
		{Key: "tail", Kind: Bool, Default: "false"},
	},
}

func TestHistogramSmallValuesAreExact(t *testing.T) {
	h := NewHistogram()
	for v := uint64(0); v < 64; v++ {
		h.Record(v)
	}
	if q, _ := h.Quantile(0.5); q != 31 {
		t.Fatalf("p50 = %v, want 31", q)
	}
	if q, _ := h.Quantile(1); q != 63 {
		t.Fatalf("p100 = %v, want 63", q)
	}
}

func TestHistogramUniformQuantilesWithinBucketError(t *testing.T) {
	h := NewHistogram()
	for v := uint64(1); v <= 10000; v++ {
		h.Record(v)
	}
	s := h.Stats()
	if math.Abs(s.P50us-5000) > 5000.0/32 || math.Abs(s.P99us-9900) > 9900.0/32 {
		t.Fatalf("stats %+v", s)
	}
	if s.MaxUs != 10000 || s.N != 10000 {
		t.Fatalf("stats %+v", s)
	}
}

func TestHistogramBucketsContainTheirValues(t *testing.T) {
	for v := uint64(0); v < 1<<histMaxExp; v = v*3/2 + 1 {
		lo, w := bucketBounds(bucketOf(v))
		if v < lo || v >= lo+w {
			t.Fatalf("%d not in [%d, %d)", v, lo, lo+w)
		}
	}
}

func TestHistogramMergeEqualsOne(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := uint64(0); i < 5000; i++ {
		v := i * 37 % 9001
		if v%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		all.Record(v)
	}
	a.Merge(b)
	if a.Stats() != all.Stats() {
		t.Fatalf("%+v != %+v", a.Stats(), all.Stats())
	}
}

func TestParseDefaultsAndSets(t *testing.T) {
	c, err := Parse(testSpec, []string{"--runtime", "go", "--duration", "5000ms", "--set", "procs=2", "--set", "tail=yes"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Duration != 5*time.Second || c.SampleEvery != 100*time.Millisecond {
		t.Fatalf("%+v", c)
	}
	if c.Params["procs"] != 2.0 || c.Params["mode"] != "raw" || c.Params["tail"] != 1.0 {
		t.Fatalf("%+v", c.Params)
	}
}

func TestParseErrorsAreUsageErrors(t *testing.T) {
	cases := map[string][]string{
		"valid keys: procs, mode, tail": {"--runtime", "go", "--set", "prcs=2"},
		"out of range":                  {"--runtime", "go", "--set", "procs=0"},
		"raw, wrapped":                  {"--runtime", "go", "--set", "mode=fast"},
		"scenarios/demo":                {"--runtime", "tokio"},
		"unknown runtime":               {"--runtime", "erlang"},
		"missing unit":                  {"--runtime", "go", "--duration", "10"},
		"is required":                   {"--duration", "1s"},
		"KEY=VALUE":                     {"--runtime", "go", "--set", "procs"},
		"--sample-ms 0":                 {"--runtime", "go", "--sample-ms", "0"},
	}
	for want, args := range cases {
		_, err := Parse(testSpec, args, io.Discard)
		if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want a usage error containing %q", args, err, want)
		}
	}
	var out bytes.Buffer
	if _, err := Parse(testSpec, []string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	if !strings.Contains(out.String(), "raw|wrapped") || !strings.Contains(out.String(), "default 1") {
		t.Fatalf("help text: %s", out.String())
	}
}

func TestEmitterLinesAreProtocolJSON(t *testing.T) {
	var buf bytes.Buffer
	em := NewEmitter(&buf, time.Now())
	em.hello("demo", "go", map[string]interface{}{"procs": 2.0, "mode": "raw"})
	em.Phase("load_start")
	em.sample(time.Now(), &ProbeStats{N: 3, P50us: 1, P99us: 2, MaxUs: 3}, map[string]float64{"goroutines": 2, "bad": math.NaN()})
	em.Event("note", "two\nlines")
	em.summary(map[string]float64{"probe_p99_us": 2})
	sc := bufio.NewScanner(&buf)
	var types []string
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, `{"type":"`) {
			t.Fatalf("type is not first: %s", line)
		}
		var m map[string]interface{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		types = append(types, m["type"].(string))
		if m["type"] == "sample" {
			c := m["counters"].(map[string]interface{})
			if _, ok := c["bad"]; ok || c["goroutines"] != 2.0 {
				t.Fatalf("counters %v", c)
			}
		}
	}
	if strings.Join(types, ",") != "hello,phase,sample,event,summary" {
		t.Fatalf("types %v", types)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(b []byte) (int, error) { f.n++; return 0, errors.New("broken pipe") }

func TestEmitterGoesQuietAfterAWriteError(t *testing.T) {
	w := &failWriter{}
	em := NewEmitter(w, time.Now())
	em.Phase("a")
	em.Phase("b")
	if !em.Broken() || w.n != 1 {
		t.Fatalf("broken=%v writes=%d", em.Broken(), w.n)
	}
}

func TestScheduleStaysOnGridAndRestartsAfterStall(t *testing.T) {
	t0 := time.Now()
	s := newSchedule(t0)
	if late := s.woke(t0.Add(probePeriod + 60*time.Microsecond)); late != 60*time.Microsecond {
		t.Fatalf("late %v", late)
	}
	if s.next != t0.Add(2*probePeriod) {
		t.Fatalf("drifted: %v", s.next.Sub(t0))
	}
	woke := t0.Add(2 * time.Second)
	s.woke(woke)
	if s.next != woke.Add(probePeriod) {
		t.Fatalf("grid not restarted")
	}
}

func TestProbeSamplesCarryEveryWakeupOnce(t *testing.T) {
	var buf bytes.Buffer
	em := NewEmitter(&buf, time.Now())
	cs := &counters{}
	cs.get("sends").Set(7)
	p := newProbe(em, cs, 10*time.Millisecond)
	t0 := time.Now()
	for i := 1; i <= 25; i++ {
		p.record(time.Duration(i*10)*time.Microsecond, t0.Add(time.Duration(i)*time.Millisecond))
	}
	close(p.done) // no loop running
	total := p.finish()
	if total.N != 25 || total.MaxUs != 250 {
		t.Fatalf("total %+v", total)
	}
	var n uint64
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var l sampleLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Probe == nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		if l.Counters["sends"] != 7 {
			t.Fatalf("counters %v", l.Counters)
		}
		n += l.Probe.N
	}
	if n != 25 {
		t.Fatalf("samples carry %d wake-ups, want 25", n)
	}
}
