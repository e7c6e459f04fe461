package main

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestGoMinorMatchesRuntimeVersion(t *testing.T) {
	if !strings.HasPrefix(runtime.Version(), "go1.") {
		t.Skipf("unusual version %q", runtime.Version())
	}
	m := goMinor()
	if m < 1 || !strings.HasPrefix(runtime.Version(), "go1."+strconv.Itoa(m)) {
		t.Fatalf("goMinor() = %d for %s", m, runtime.Version())
	}
}
