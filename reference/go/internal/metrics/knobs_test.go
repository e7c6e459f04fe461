package metrics

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

// knobsChild: when KNOBS_CHILD is set this test binary is a reference
// program (init runs before the testing package parses flags), so the
// test below can run Run end to end, re-exec included.
func init() {
	if os.Getenv("KNOBS_CHILD") != "1" {
		return
	}
	Run(Spec{Name: "knobs_child", About: "test child"}, func(c *Ctx) error {
		off := 0.0
		if strings.Contains(os.Getenv("GODEBUG"), "asyncpreemptoff=1") {
			off = 1
		}
		c.Metric("asyncpreemptoff", off)
		c.Metric("max_threads", float64(debug.SetMaxThreads(10000)))
		return nil
	})
}

// runChild runs this binary as a reference program with sets; returns the
// exit code and the protocol lines (stdout).
func runChild(t *testing.T, sets ...string) (int, []map[string]interface{}) {
	t.Helper()
	args := []string{"--runtime", "go", "--duration", "10ms"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KNOBS_CHILD=1")
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]interface{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]interface{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a protocol line: %q", l)
		}
		lines = append(lines, m)
	}
	return code, lines
}

// The mirrored knobs reach the Go runtime: GODEBUG=asyncpreemptoff=1 in the
// re-executed program's environment, and SetMaxThreads(n) before the body.
func TestMirroredKnobsReachTheGoRuntime(t *testing.T) {
	code, lines := runChild(t, "gmp.asyncpreempt=off", "gmp.max_threads=77")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, lines)
	}
	hello := lines[0]["params"].(map[string]interface{})
	if hello["gmp.asyncpreempt"] != "off" || hello["gmp.netpoll"] != nil {
		t.Fatalf("hello params %v: want the knobs given and no other", hello)
	}
	sum := lines[len(lines)-1]["metrics"].(map[string]interface{})
	if sum["asyncpreemptoff"] != 1.0 || sum["max_threads"] != 77.0 {
		t.Fatalf("summary %v: want asyncpreemptoff 1, max_threads 77", sum)
	}
	// Defaults change nothing.
	code, lines = runChild(t)
	sum = lines[len(lines)-1]["metrics"].(map[string]interface{})
	if code != 0 || sum["asyncpreemptoff"] != 0.0 || sum["max_threads"] != 10000.0 {
		t.Fatalf("defaults: exit %d, summary %v", code, sum)
	}
}

// A model-only knob: hello, a skip event saying why, exit 4, no summary.
func TestModelOnlyKnobsSkipSayingWhy(t *testing.T) {
	code, lines := runChild(t, "gmp.handoff=off")
	if code != SkipExitCode || len(lines) != 2 {
		t.Fatalf("exit %d, lines %v: want 4 and hello + skip", code, lines)
	}
	if lines[1]["kind"] != "skip" || !strings.HasPrefix(lines[1]["text"].(string), "gmp.handoff=off: a knob") {
		t.Fatalf("skip event %v", lines[1])
	}
}

func TestKnobsAreParamsOfEverySpecWithTheKitsDefaults(t *testing.T) {
	s := withKnobs(testSpec)
	if len(s.Params) != len(testSpec.Params)+7 {
		t.Fatalf("%d params", len(s.Params))
	}
	cfg, err := Parse(s, []string{"--runtime", "go", "--set", "gmp.sysmon_delay_us=0"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if m, o := changedKnobs(cfg); len(m)+len(o) != 0 {
		t.Fatalf("defaults reported as changed: %v %v", m, o)
	}
	if _, err := Parse(s, []string{"--runtime", "go", "--set", "gmp.asyncpreempt=maybe"}, &bytes.Buffer{}); !IsUsage(err) {
		t.Fatalf("bad knob value: %v", err)
	}
	if got := godebugWanted(Config{Params: map[string]interface{}{"gmp.asyncpreempt": "off"}}, "x=1,asyncpreemptoff=0"); got != "x=1,asyncpreemptoff=1" {
		t.Fatalf("GODEBUG %q", got)
	}
}
