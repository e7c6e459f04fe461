// Command spawnparked is the Go twin of gmp's `spawnmany` example: it starts
// n goroutines that each park receiving on one channel, waits until all of
// them have parked, and prints one line of JSON:
//
//	{"n":1000000,"ns_per_goroutine":312.5,"rss_per_goroutine":2764}
//
// ns_per_goroutine is the time from the first `go` until the last goroutine
// parked, over n; rss_per_goroutine is the growth of VmRSS
// (/proc/self/statm) over the same span, over n: a parked goroutine's stack,
// its g and its sudog. bench/go-ratio runs it with GOMAXPROCS=1 beside the
// gmp example and prints the two side by side.
//
// Usage: spawnparked [-n N]   (exit status 2 on a bad flag)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	n := flag.Int("n", 1000000, "goroutines to start and park (at least 1)")
	flag.Parse()
	if *n < 1 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: spawnparked [-n N]   (N >= 1)")
		os.Exit(2)
	}
	r, err := measure(*n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spawnparked:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

// result is the line spawnparked prints.
type result struct {
	N               int     `json:"n"`
	NsPerGoroutine  float64 `json:"ns_per_goroutine"`
	RSSPerGoroutine float64 `json:"rss_per_goroutine"`
}

// measure starts n goroutines that park on one channel and reports the
// time and the resident memory they took.
func measure(n int) (result, error) {
	runtime.GC()
	rss0, err := rssBytes()
	if err != nil {
		return result{}, err
	}
	block := make(chan struct{})
	var parked sync.WaitGroup
	parked.Add(n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			parked.Done()
			<-block
		}()
	}
	parked.Wait()
	// Done runs just before the receive: at GOMAXPROCS=1 one yield lets
	// the goroutines still between the two reach it.
	runtime.Gosched()
	took := time.Since(t0)
	rss1, err := rssBytes()
	if err != nil {
		return result{}, err
	}
	close(block)
	return result{
		N:               n,
		NsPerGoroutine:  float64(took.Nanoseconds()) / float64(n),
		RSSPerGoroutine: float64(rss1-rss0) / float64(n),
	}, nil
}

// rssBytes is the resident set size from /proc/self/statm.
func rssBytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * int64(os.Getpagesize()), nil
}
