package metrics

// A log-linear latency histogram in whole microseconds, bucket for bucket
// the same as scenario-kit/src/hist.rs so both columns quantise alike:
// values 0..63 exact, then 32 buckets per octave up to 2^40 us (error under
// about 3%), min and max kept exactly. A quantile is the middle of the
// bucket holding rank ceil(q*n), clamped to [min, max], so p50 <= p99 <= max.

import (
	"math"
	"math/bits"
)

const (
	histLinear   = 64
	histFirstExp = 6
	histSubBits  = 5
	histSub      = 1 << histSubBits
	histMaxExp   = 40
	histBuckets  = histLinear + (histMaxExp-histFirstExp)*histSub
)

// Histogram counts values in microseconds. The zero value is not ready:
// use NewHistogram.
type Histogram struct {
	buckets []uint64
	n       uint64
	min     uint64
	max     uint64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{buckets: make([]uint64, histBuckets), min: math.MaxUint64}
}

// Record adds one value (us).
func (h *Histogram) Record(us uint64) {
	h.buckets[bucketOf(us)]++
	h.n++
	if us < h.min {
		h.min = us
	}
	if us > h.max {
		h.max = us
	}
}

// Len is the number of values recorded.
func (h *Histogram) Len() uint64 { return h.n }

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.buckets {
		h.buckets[i] += c
	}
	h.n += o.n
	if o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
}

// Quantile returns the value at q (0..1); ok is false when empty.
func (h *Histogram) Quantile(q float64) (v float64, ok bool) {
	if h.n == 0 {
		return 0, false
	}
	q = math.Max(0, math.Min(1, q))
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.buckets {
		seen += c
		if seen >= rank {
			lo, width := bucketBounds(i)
			mid := float64(lo) + (float64(width)-1)/2
			return math.Max(float64(h.min), math.Min(float64(h.max), mid)), true
		}
	}
	return float64(h.max), true
}

// Stats is ProbeStats of the protocol: n, p50, p99, max (zeros when empty).
func (h *Histogram) Stats() ProbeStats {
	if h.n == 0 {
		return ProbeStats{}
	}
	p50, _ := h.Quantile(0.50)
	p99, _ := h.Quantile(0.99)
	return ProbeStats{N: h.n, P50us: p50, P99us: p99, MaxUs: float64(h.max)}
}

func bucketOf(us uint64) int {
	if us < histLinear {
		return int(us)
	}
	e := 63 - bits.LeadingZeros64(us)
	if e >= histMaxExp {
		return histBuckets - 1
	}
	sub := (us >> uint(e-histSubBits)) - histSub
	return histLinear + (e-histFirstExp)*histSub + int(sub)
}

func bucketBounds(i int) (lo, width uint64) {
	if i < histLinear {
		return uint64(i), 1
	}
	e := (i-histLinear)/histSub + histFirstExp
	sub := uint64((i - histLinear) % histSub)
	width = 1 << uint(e-histSubBits)
	return (histSub + sub) * width, width
}
