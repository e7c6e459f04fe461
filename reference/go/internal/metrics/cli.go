package metrics

// The command line, the same as the Rust binaries' (scenario-kit/src/cli.rs):
//
//	<name> --runtime go --duration <N>ms [--set key=value]... [--sample-ms N]
//
// A reference program speaks only the go runtime. Every --set key must be
// declared in the Spec with a Kind; values are checked before anything runs.
// Every user mistake returns a usageError (exit 2); -h/--help returns
// flag.ErrHelp (exit 0 after the usage text).

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Kind says what values a --set key takes.
type Kind int

const (
	// Int is a whole number in [Min, Max].
	Int Kind = iota
	// Float is a finite number in [Min, Max].
	Float
	// Word is one of Words.
	Word
	// Bool is true/false (also 1/0, yes/no).
	Bool
)

// Param is one --set key.
type Param struct {
	Key      string
	Kind     Kind
	Min, Max float64
	Words    []string
	Default  string
	Help     string
}

// Spec describes a reference program.
type Spec struct {
	Name  string
	About string
	// ProcsParam, when set, names the Int param that is GOMAXPROCS: Run
	// re-executes the program with GOMAXPROCS in the environment (see doc.go).
	ProcsParam string
	Params     []Param
}

// Config is the checked command line.
type Config struct {
	Runtime     string
	Duration    time.Duration
	SampleEvery time.Duration
	// Params holds every declared key: float64 for numbers and bools
	// (1/0), string for words.
	Params map[string]interface{}
	// Given holds the keys --set gave (the others have their default).
	Given map[string]bool
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, a ...interface{}) error {
	return usageError{fmt.Sprintf(format, a...)}
}

// Usagef is a user mistake a body finds (a combination of params the
// command line cannot express): Run prints it and exits 2.
func Usagef(format string, a ...interface{}) error {
	return usagef(format, a...)
}

// IsUsage reports whether err is a user mistake on the command line.
func IsUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

type setFlag []string

func (s *setFlag) String() string     { return strings.Join(*s, ",") }
func (s *setFlag) Set(v string) error { *s = append(*s, v); return nil }

// Parse checks args (without the program name) against spec.
func Parse(spec Spec, args []string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet(spec.Name, flag.ContinueOnError)
	fs.SetOutput(out)
	runtime := fs.String("runtime", "", "which runtime runs the workload (only go here)")
	duration := fs.String("duration", "5s", "how long the workload runs: 5000ms, 5s, 2m, 1.5s")
	sampleMs := fs.Int("sample-ms", 100, "period of the sample metrics lines, in ms")
	var sets setFlag
	fs.Var(&sets, "set", "a scenario parameter KEY=VALUE, repeatable")
	fs.Usage = func() { usage(spec, fs, out) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return Config{}, usagef("unexpected argument %q", fs.Arg(0))
	}
	switch *runtime {
	case "go":
	case "":
		return Config{}, usagef("--runtime is required (this reference program runs only --runtime go)")
	case "gmp", "tokio", "threads":
		return Config{}, usagef("--runtime %s: this is the Go reference program; the %s column is the Rust binary scenarios/%s (runtimes here: go)", *runtime, *runtime, spec.Name)
	default:
		return Config{}, usagef("--runtime %s: unknown runtime (valid: go)", *runtime)
	}
	d, err := parseDuration(*duration)
	if err != nil {
		return Config{}, usagef("--duration %s: %v", *duration, err)
	}
	if *sampleMs < 1 || *sampleMs > 60000 {
		return Config{}, usagef("--sample-ms %d: out of range 1..=60000", *sampleMs)
	}
	params, given, err := paramsOf(spec, sets)
	if err != nil {
		return Config{}, err
	}
	return Config{Runtime: *runtime, Duration: d, SampleEvery: time.Duration(*sampleMs) * time.Millisecond, Params: params, Given: given}, nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, errors.New("missing unit: write 5s or 5000ms")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("expected a number with a unit, like 5s or 5000ms")
	}
	if d < 0 {
		return 0, errors.New("negative")
	}
	return d, nil
}

func paramsOf(spec Spec, sets []string) (map[string]interface{}, map[string]bool, error) {
	params := map[string]interface{}{}
	given := map[string]bool{}
	for _, p := range spec.Params {
		v, err := parseValue(p, p.Default)
		if err != nil {
			panic(fmt.Sprintf("default of %s in the Spec is invalid: %v", p.Key, err))
		}
		params[p.Key] = v
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, nil, usagef("--set %s: expected KEY=VALUE", s)
		}
		p, found := findParam(spec, k)
		if !found {
			return nil, nil, usagef("--set %s: unknown key for %s (valid keys: %s)", k, spec.Name, keyList(spec))
		}
		parsed, err := parseValue(p, v)
		if err != nil {
			return nil, nil, usagef("--set %s=%s: %v", k, v, err)
		}
		params[k] = parsed
		given[k] = true
	}
	return params, given, nil
}

func findParam(spec Spec, key string) (Param, bool) {
	for _, p := range spec.Params {
		if p.Key == key {
			return p, true
		}
	}
	return Param{}, false
}

func keyList(spec Spec) string {
	if len(spec.Params) == 0 {
		return "none"
	}
	keys := make([]string, len(spec.Params))
	for i, p := range spec.Params {
		keys[i] = p.Key
	}
	return strings.Join(keys, ", ")
}

func parseValue(p Param, v string) (interface{}, error) {
	switch p.Kind {
	case Int:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expected an integer in %v..=%v", p.Min, p.Max)
		}
		if float64(n) < p.Min || float64(n) > p.Max {
			return nil, fmt.Errorf("out of range %v..=%v", p.Min, p.Max)
		}
		return float64(n), nil
	case Float:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("expected a number in %v..=%v", p.Min, p.Max)
		}
		if n != n || n < p.Min || n > p.Max {
			return nil, fmt.Errorf("out of range %v..=%v", p.Min, p.Max)
		}
		return n, nil
	case Word:
		for _, w := range p.Words {
			if w == v {
				return v, nil
			}
		}
		return nil, fmt.Errorf("expected one of %s", strings.Join(p.Words, ", "))
	case Bool:
		switch v {
		case "true", "1", "yes":
			return 1.0, nil
		case "false", "0", "no":
			return 0.0, nil
		}
		return nil, errors.New("expected true or false")
	}
	return nil, fmt.Errorf("unknown kind %d", p.Kind)
}

func usage(spec Spec, fs *flag.FlagSet, out io.Writer) {
	fmt.Fprintf(out, "%s\n\nUsage: %s --runtime go [--duration D] [--set KEY=VALUE]... [--sample-ms N]\n\nOptions:\n", spec.About, spec.Name)
	fs.PrintDefaults()
	fmt.Fprintf(out, "\nParameters (--set KEY=VALUE):\n")
	if len(spec.Params) == 0 {
		fmt.Fprintf(out, "  (none)\n")
	}
	for _, p := range spec.Params {
		var kind string
		switch p.Kind {
		case Int:
			kind = fmt.Sprintf("integer %v..=%v", p.Min, p.Max)
		case Float:
			kind = fmt.Sprintf("number %v..=%v", p.Min, p.Max)
		case Word:
			kind = strings.Join(p.Words, "|")
		case Bool:
			kind = "true|false"
		}
		fmt.Fprintf(out, "  %-12s %s [%s, default %s]\n", p.Key, p.Help, kind, p.Default)
	}
	fmt.Fprintf(out, "\nRuntimes: go\n\nMetrics (JSON lines) go to the fd in %s, or to stdout when unset.\n", EnvMetricsFD)
}
