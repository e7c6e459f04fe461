//! `scenarios/<name>/sweep.yaml`: what to run and how to judge it.
//!
//! ```yaml
//! scenario: baseline
//! incident: "hello world has 3+ threads (seed 002)"
//! runtimes: [gmp, tokio, go]
//! duration: 5s              # load + tail as the scenario splits it
//! grace: 5s                 # extra time before the runner kills the point
//! repeats: 3
//! grid:                     # cartesian product, in this order
//!   procs: [1, 2]
//! per_runtime:              # axes whose values differ per runtime
//!   tokio: { mode: [direct, spawn_blocking] }
//! skip: ["runtime == 'tokio' && w == 1"]   # points not worth running
//! quick:                    # the small profile for --quick and tests
//!   duration: 2s
//!   repeats: 1
//!   grid: { procs: [1, 2] }
//! plots:
//!   - kind: sweep
//!     title: "Thread floor by GOMAXPROCS"
//!     x: procs
//!     y: threads_median
//!     series: [runtime]
//!   - kind: timeseries
//!     title: "Threads over time"
//!     y: [threads, r_threads, cores, probe_p99_us]
//!     where: "procs == 2"
//! verdicts:
//!   - id: go_floor
//!     claim: "real Go starts 3 threads at GOMAXPROCS=1"
//!     where: "runtime == 'go' && procs == 1"
//!     expect: "threads_median == 3"
//!     holds: reproduced
//! fidelity:
//!   - metric: threads_median
//!     tolerance: 1          # absolute; or "25%"
//! ```
//!
//! Unknown fields are rejected. Loading errors carry file:line:column.

use crate::metrics::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An ordered `name → values` map (YAML mappings keep their order here, so
/// the grid expands and plots label in the order the author wrote).
pub type Axes = Vec<(String, Vec<Value>)>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    pub scenario: String,
    /// The incident in a few words, for `schedlab list`.
    pub incident: String,
    /// Runtimes this scenario has: any of `gmp`, `tokio`, `go`, `threads`.
    pub runtimes: Vec<String>,
    /// Humantime-like: `500ms`, `5s`, `2m`.
    pub duration: String,
    #[serde(default)]
    pub grace: Option<String>,
    #[serde(default = "one")]
    pub repeats: u32,
    #[serde(with = "ordered_axes")]
    pub grid: Axes,
    /// runtime → axes replacing (or adding to) `grid` for that runtime.
    #[serde(default, with = "ordered_per_runtime")]
    pub per_runtime: Vec<(String, Axes)>,
    /// Predicates: a point for which any holds is not run.
    #[serde(default)]
    pub skip: Vec<String>,
    #[serde(default)]
    pub quick: Option<Profile>,
    #[serde(default)]
    pub plots: Vec<PlotSpec>,
    #[serde(default)]
    pub verdicts: Vec<VerdictSpec>,
    #[serde(default)]
    pub fidelity: Vec<FidelitySpec>,
    /// Free text the report prints under the scenario's heading when a
    /// runtime is absent on purpose (e.g. "tokio has no stop-the-world").
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

/// Overrides for `--quick`: whatever is set replaces the full profile's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub repeats: Option<u32>,
    #[serde(default, with = "ordered_axes_opt")]
    pub grid: Option<Axes>,
    #[serde(default, with = "ordered_per_runtime")]
    pub per_runtime: Vec<(String, Axes)>,
    #[serde(default)]
    pub skip: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlotKind {
    /// y against x over the points, one line per series, min–max whiskers
    /// over repeats.
    Sweep,
    /// Metrics over time for the points matching `where`, phases shaded.
    Timeseries,
    /// Cumulative distribution of a metric over repeats, one line per series.
    Cdf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    pub kind: PlotKind,
    pub title: String,
    /// sweep: an axis or metric name. timeseries: unused (time).
    #[serde(default)]
    pub x: Option<String>,
    /// sweep/cdf: one metric; timeseries: one or more of `threads`,
    /// `r_threads`, `cores`, `rss_bytes`, `probe_p99_us`, or a counter name.
    pub y: OneOrMany,
    /// Names (params or `runtime`) whose values together name a series.
    #[serde(default)]
    pub series: Vec<String>,
    /// Which points to draw (a predicate); all when absent.
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
    #[serde(default)]
    pub log_x: bool,
    #[serde(default)]
    pub log_y: bool,
    #[serde(default)]
    pub x_label: Option<String>,
    #[serde(default)]
    pub y_label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn names(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// What it means when a verdict's `expect` holds at every matching point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holds {
    /// The failure shows: true → "reproduced", false → "not reproduced".
    Reproduced,
    /// The fix works: true → "fixed", false → "not fixed".
    Fixed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictSpec {
    pub id: String,
    /// One sentence a reader understands without the code.
    pub claim: String,
    /// Which points × runtimes it judges (a predicate over params and
    /// `runtime`).
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
    /// The predicate over a point's summary (medians over repeats) and
    /// params.
    pub expect: String,
    pub holds: Holds,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FidelitySpec {
    pub metric: String,
    /// A number (absolute) or a string like `"25%"` (relative to go).
    pub tolerance: Value,
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
}

// Serde helpers keeping YAML mapping order.
mod ordered_axes {
    use super::*;
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(axes: &Axes, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(axes.len()))?;
        for (k, v) in axes {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Axes, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Axes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of axis name to a list of values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Axes, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Vec<Value>>()? {
                    out.push((k, v));
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

mod ordered_axes_opt {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(axes: &Option<Axes>, s: S) -> Result<S::Ok, S::Error> {
        match axes {
            Some(a) => super::ordered_axes::serialize(a, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Axes>, D::Error> {
        super::ordered_axes::deserialize(d).map(Some)
    }
}

mod ordered_per_runtime {
    use super::*;
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    struct AxesSer<'a>(&'a Axes);
    impl Serialize for AxesSer<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::ordered_axes::serialize(self.0, s)
        }
    }
    struct AxesDe(Axes);
    impl<'de> Deserialize<'de> for AxesDe {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::ordered_axes::deserialize(d).map(AxesDe)
        }
    }

    pub fn serialize<S: Serializer>(v: &[(String, Axes)], s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(v.len()))?;
        for (k, a) in v {
            m.serialize_entry(k, &AxesSer(a))?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Axes)>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(String, Axes)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of runtime name to axes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, AxesDe>()? {
                    out.push((k, v.0));
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}
