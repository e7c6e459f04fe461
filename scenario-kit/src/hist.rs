//! A log-linear latency histogram in whole microseconds.
//!
//! The probe records one lateness value per wake-up (about 1,000 a second)
//! and the sampler reads quantiles every `--sample-ms`, so the histogram must
//! be cheap to record into, cheap to merge, and bounded in size whatever the
//! values (a starved probe can be seconds late).
//!
//! Layout (like HdrHistogram with 5 significant bits):
//!
//! * values `0..LINEAR` (0..64 us) each have their own bucket: exact;
//! * above, every octave `[2^e, 2^(e+1))` is cut into `SUB` (32) equal
//!   buckets, so a bucket is at most 1/32 of its lower bound wide: any
//!   quantile is within about 3% of the true value;
//! * octaves stop at `2^MAX_EXP` us (about 12.7 days): larger values land
//!   in the last bucket. `max` and `min` are kept exactly beside the buckets.
//!
//! Invariants: `n == buckets.iter().sum()`; when `n > 0`, `min <= max` and
//! both are values that were recorded (not bucket bounds). A quantile is the
//! middle of the bucket holding the rank `ceil(q * n)`, clamped to
//! `[min, max]`, so `p50 <= p99 <= max` always holds and an exact bucket
//! returns the exact value. Merging adds bucket counts, so the merge of two
//! histograms is the histogram of the union of their values.

use schedlab_protocol::metrics::ProbeStats;

/// Values below this are stored exactly.
const LINEAR: u64 = 64;
/// log2(LINEAR): the first octave that is split into sub-buckets.
const FIRST_EXP: u32 = 6;
/// Buckets per octave above LINEAR (2^SUB_BITS).
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Octaves from 2^FIRST_EXP up to 2^MAX_EXP us.
const MAX_EXP: u32 = 40;
const BUCKETS: usize = (LINEAR + (MAX_EXP - FIRST_EXP) as u64 * SUB) as usize;

#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    buckets: Box<[u64]>,
    n: u64,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("n", &self.n)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            buckets: vec![0; BUCKETS].into_boxed_slice(),
            n: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Records one value in microseconds.
    pub fn record(&mut self, us: u64) {
        self.buckets[bucket_of(us)] += 1;
        self.n += 1;
        self.min = self.min.min(us);
        self.max = self.max.max(us);
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn max(&self) -> Option<u64> {
        (self.n > 0).then_some(self.max)
    }

    pub fn min(&self) -> Option<u64> {
        (self.n > 0).then_some(self.min)
    }

    /// Adds every value of `other` to `self`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a += *b;
        }
        self.n += other.n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0..=1) in microseconds, `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, &c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, width) = bucket_bounds(i);
                let mid = lo as f64 + (width as f64 - 1.0) / 2.0;
                return Some(mid.clamp(self.min as f64, self.max as f64));
            }
        }
        Some(self.max as f64)
    }

    /// p50/p99/max in the protocol's shape (all zero when empty).
    pub fn stats(&self) -> ProbeStats {
        ProbeStats {
            n: self.n,
            p50_us: self.quantile(0.50).unwrap_or(0.0),
            p99_us: self.quantile(0.99).unwrap_or(0.0),
            max_us: self.max().unwrap_or(0) as f64,
        }
    }

    /// Empties the histogram and returns what it held.
    pub fn take(&mut self) -> Histogram {
        std::mem::take(self)
    }
}

/// Index of the bucket holding `us`.
fn bucket_of(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let e = 63 - us.leading_zeros();
    if e >= MAX_EXP {
        return BUCKETS - 1;
    }
    // us >> (e - SUB_BITS) is in [SUB, 2*SUB): the top SUB_BITS+1 bits.
    let sub = (us >> (e - SUB_BITS)) - SUB;
    (LINEAR + (e - FIRST_EXP) as u64 * SUB + sub) as usize
}

/// (lowest value, width) of bucket `i`.
fn bucket_bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < LINEAR {
        return (i, 1);
    }
    let e = (i - LINEAR) / SUB + FIRST_EXP as u64;
    let sub = (i - LINEAR) % SUB;
    let width = 1u64 << (e - SUB_BITS as u64);
    ((SUB + sub) * width, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::new();
        for v in 0..LINEAR {
            h.record(v);
        }
        assert_eq!(h.len(), LINEAR);
        // rank ceil(0.5*64) = 32 -> the 32nd smallest value, 31.
        assert_eq!(h.quantile(0.5), Some(31.0));
        assert_eq!(h.quantile(1.0), Some(63.0));
        assert_eq!(h.quantile(0.0), Some(0.0));
    }

    #[test]
    fn every_value_lands_in_a_bucket_that_contains_it() {
        let mut v = 0u64;
        while v < (1u64 << MAX_EXP) {
            let (lo, w) = bucket_bounds(bucket_of(v));
            assert!(lo <= v && v < lo + w, "{v} not in [{lo}, {})", lo + w);
            assert!(w * SUB <= lo.max(LINEAR) * 2, "bucket too wide at {v}");
            v = v * 3 / 2 + 1;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_uniform_run_are_within_bucket_error() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v);
        }
        let p50 = h.quantile(0.5).unwrap();
        let p99 = h.quantile(0.99).unwrap();
        assert!((p50 - 5_000.0).abs() <= 5_000.0 / 32.0, "p50 = {p50}");
        assert!((p99 - 9_900.0).abs() <= 9_900.0 / 32.0, "p99 = {p99}");
        assert_eq!(h.max(), Some(10_000));
        let s = h.stats();
        assert_eq!(s.n, 10_000);
        assert!(s.p50_us <= s.p99_us && s.p99_us <= s.max_us);
    }

    #[test]
    fn one_huge_outlier_shows_in_max_but_not_p50() {
        let mut h = Histogram::new();
        for _ in 0..999 {
            h.record(40);
        }
        h.record(2_000_000);
        assert_eq!(h.quantile(0.5), Some(40.0));
        assert_eq!(h.quantile(0.99), Some(40.0));
        assert_eq!(h.stats().max_us, 2_000_000.0);
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in (0..5_000u64).map(|i| i * 37 % 9_001) {
            if v % 2 == 0 {
                a.record(v)
            } else {
                b.record(v)
            }
            all.record(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(a.quantile(0.99), all.quantile(0.99));
    }

    #[test]
    fn empty_histogram_has_no_quantiles_and_zero_stats() {
        let mut h = Histogram::new();
        assert_eq!(h.quantile(0.5), None);
        assert_eq!(h.stats(), ProbeStats::default());
        h.record(7);
        let taken = h.take();
        assert!(h.is_empty());
        assert_eq!(taken.min(), Some(7));
    }

    #[test]
    fn quantile_never_exceeds_max_in_a_wide_bucket() {
        let mut h = Histogram::new();
        h.record(1_000_001); // bucket is ~32k wide
        assert_eq!(h.quantile(0.99), Some(1_000_001.0));
    }
}
