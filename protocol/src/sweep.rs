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
//!     caption: "Go and gmp idle with 3 threads at procs 1, one more per P"
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
//!
//! # Loading, validating, expanding
//!
//! [`Sweep::load`] reads the file, deserializes it with serde-saphyr (which
//! knows the line and column of every syntax error, unknown field, wrong
//! type), then validates what serde cannot: runtimes are among
//! [`KNOWN_RUNTIMES`], durations parse, tolerances are numbers or `N%`,
//! and every predicate (skip, plots' and verdicts' `where`, `expect`,
//! fidelity's `where`) parses. A predicate error is reported at
//! `file:line:column` of the offending character: a second, lenient pass
//! over the same text reads those fields as `Spanned<String>` to learn
//! where each value starts; when the value cannot be mapped character for
//! character (a block scalar, escapes) the message gives the value's
//! position, the field path and the column inside the predicate.
//!
//! After loading, the runner shapes the sweep for one run:
//! [`Sweep::apply_quick`] (`--quick`), [`Sweep::apply_set`] (`--set
//! axis=v1,v2`, replacing that axis wherever it appears), then
//! [`Sweep::expand`] turns it into [`PointSpec`]s.
//!
//! Expansion invariants:
//! * the axes of runtime `r` are `grid` with every axis named in
//!   `per_runtime[r]` replaced in place, and new ones appended in the order
//!   written;
//! * points are the cartesian product in that axis order, the last axis
//!   varying fastest, runtimes in the order given to `expand`;
//! * a point for which any `skip` predicate holds (params + `runtime`) is
//!   dropped; a skip predicate naming something the point lacks does not
//!   hold (the point is run);
//! * `point_id` is `axis-value` joined with `_` in axis order, values
//!   reduced to `[A-Za-z0-9.]` ([`point_id`]); the same params give the
//!   same id for every runtime, which is how gmp and go are paired.

use crate::metrics::{Params, Value};
use crate::predicate::{MapContext, Predicate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

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
    /// The runner's /proc sampling period for this scenario, in ms (default
    /// 5; `--sample-ms` overrides). For a scenario whose race the observer
    /// perturbs on a small machine (timer_stw: a 5 ms sampler suppresses
    /// the hang it reproduces), a gentler period keeps the measurement
    /// honest.
    #[serde(default)]
    pub sample_ms: Option<u64>,
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
    /// A short name for the figure, drawn on it.
    pub title: String,
    /// What the reader should see in the figure, printed under it (a
    /// sentence, not the title again). Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
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
    /// params. `min.<metric>` and `max.<metric>` over the same repeats are
    /// there too, for claims about every run or any run (`max.hung == 0`:
    /// never hung; `max.hung == 1`: hung at least once).
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

// ---------------------------------------------------------------- loading

/// The runtimes a scenario may name.
pub const KNOWN_RUNTIMES: [&str; 4] = ["gmp", "tokio", "go", "threads"];

/// Why a sweep could not be loaded or shaped. The message is complete and
/// meant for the user as is (it starts with `file:line:column:` when the
/// place is known).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    Io(String),
    /// Bad YAML, an unknown field, a wrong type.
    #[error("{0}")]
    Yaml(String),
    /// Valid YAML, invalid content (runtime, duration, predicate ...).
    #[error("{0}")]
    Invalid(String),
    /// `--set` named an axis the sweep does not have.
    #[error("unknown axis `{axis}` for scenario {scenario}; valid axes: {}", valid.join(", "))]
    UnknownAxis {
        scenario: String,
        axis: String,
        valid: Vec<String>,
    },
}

impl Sweep {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Sweep, SweepError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SweepError::Io(format!("{}: cannot read: {e}", path.display())))?;
        Sweep::from_yaml(&text, &path.display().to_string())
    }

    /// Parses and validates YAML text; `file` names it in messages.
    pub fn from_yaml(text: &str, file: &str) -> Result<Sweep, SweepError> {
        let sweep: Sweep = serde_saphyr::from_str(text).map_err(|e| yaml_error(&e, file))?;
        sweep.validate(text, file)?;
        Ok(sweep)
    }

    /// The `duration` as a [`Duration`] (validated at load).
    pub fn duration(&self) -> Duration {
        parse_duration(&self.duration).unwrap_or(Duration::from_secs(5))
    }

    /// The `grace`, if given (validated at load).
    pub fn grace(&self) -> Option<Duration> {
        self.grace.as_deref().and_then(|g| parse_duration(g).ok())
    }

    fn validate(&self, text: &str, file: &str) -> Result<(), SweepError> {
        let spans = Spans::read(text);
        let at = |path: &str, span: Option<Loc>| -> String {
            match span {
                Some(l) => format!("{file}:{}:{}: {path}", l.line, l.col),
                None => format!("{file}: {path}"),
            }
        };
        for (i, r) in self.runtimes.iter().enumerate() {
            if !KNOWN_RUNTIMES.contains(&r.as_str()) {
                return Err(SweepError::Invalid(format!(
                    "{}: unknown runtime `{r}`, expected one of {}",
                    at(&format!("runtimes[{i}]"), spans.runtimes.get(i).copied()),
                    KNOWN_RUNTIMES.join(", ")
                )));
            }
        }
        for (r, _) in &self.per_runtime {
            if !KNOWN_RUNTIMES.contains(&r.as_str()) {
                return Err(SweepError::Invalid(format!(
                    "{}: unknown runtime `{r}`, expected one of {}",
                    at("per_runtime", None),
                    KNOWN_RUNTIMES.join(", ")
                )));
            }
        }
        let durations = [
            ("duration", Some(&self.duration), spans.duration),
            ("grace", self.grace.as_ref(), spans.grace),
            (
                "quick.duration",
                self.quick.as_ref().and_then(|q| q.duration.as_ref()),
                spans.quick_duration,
            ),
        ];
        for (path, value, span) in durations {
            if let Some(v) = value
                && let Err(e) = parse_duration(v)
            {
                return Err(SweepError::Invalid(format!("{}: {e}", at(path, span))));
            }
        }
        for (name, values) in self
            .grid
            .iter()
            .chain(self.per_runtime.iter().flat_map(|(_, a)| a.iter()))
        {
            if values.is_empty() {
                return Err(SweepError::Invalid(format!(
                    "{}: expected at least one value",
                    at(&format!("axis {name}"), None)
                )));
            }
        }
        for (i, f) in self.fidelity.iter().enumerate() {
            if let Err(e) = Tolerance::parse(&f.tolerance) {
                return Err(SweepError::Invalid(format!(
                    "{}: {e}",
                    at(&format!("fidelity[{i}].tolerance"), None)
                )));
            }
        }
        let mut ids: Vec<&str> = self.verdicts.iter().map(|v| v.id.as_str()).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(SweepError::Invalid(format!(
                "{file}: verdicts: id `{}` is used twice",
                w[0]
            )));
        }
        for (path, src) in self.predicates() {
            if let Err(e) = Predicate::parse(src) {
                let loc = spans.predicates.get(&path).copied();
                return Err(SweepError::Invalid(predicate_error(
                    text, file, &path, src, loc, &e,
                )));
            }
        }
        Ok(())
    }

    /// Every predicate with its field path (`verdicts[0].expect`).
    pub fn predicates(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        for (i, s) in self.skip.iter().enumerate() {
            out.push((format!("skip[{i}]"), s.as_str()));
        }
        if let Some(q) = &self.quick {
            for (i, s) in q.skip.iter().enumerate() {
                out.push((format!("quick.skip[{i}]"), s.as_str()));
            }
        }
        for (i, p) in self.plots.iter().enumerate() {
            if let Some(w) = &p.filter {
                out.push((format!("plots[{i}].where"), w.as_str()));
            }
        }
        for (i, v) in self.verdicts.iter().enumerate() {
            if let Some(w) = &v.filter {
                out.push((format!("verdicts[{i}].where"), w.as_str()));
            }
            out.push((format!("verdicts[{i}].expect"), v.expect.as_str()));
        }
        for (i, f) in self.fidelity.iter().enumerate() {
            if let Some(w) = &f.filter {
                out.push((format!("fidelity[{i}].where"), w.as_str()));
            }
        }
        out
    }
}

/// `file:line:column: message`, then serde-saphyr's snippet of the place.
fn yaml_error(e: &serde_saphyr::Error, file: &str) -> SweepError {
    let plain_opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off, };
    let mut message = e.without_snippet().render_with_options(plain_opts);
    let location = e.location().filter(|l| l.line() > 0);
    if let Some(l) = location {
        // The plain rendering ends with " at line L, column C": we say it first.
        let suffix = format!(" at line {}, column {}", l.line(), l.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
        let full_opts = serde_saphyr::render_options! { source_name: Some(file), };
        let full = e.render_with_options(full_opts);
        let snippet: Vec<&str> = full.lines().skip(1).collect();
        let mut out = format!("{file}:{}:{}: {message}", l.line(), l.column());
        if !snippet.is_empty() {
            out.push('\n');
            out.push_str(&snippet.join("\n"));
        }
        SweepError::Yaml(out)
    } else {
        SweepError::Yaml(format!("{file}: {message}"))
    }
}

/// Places a predicate's parse error in the file when its characters can be
/// mapped one for one onto a single source line.
fn predicate_error(
    text: &str,
    file: &str,
    path: &str,
    src: &str,
    loc: Option<Loc>,
    e: &crate::predicate::ParseError,
) -> String {
    let what = format!("{path}: in predicate `{src}`: expected",);
    let msg = e
        .message
        .strip_prefix("expected")
        .map(|m| format!("{what}{m}"))
        .unwrap_or(format!("{path}: in predicate `{src}`: {}", e.message));
    let Some(loc) = loc else {
        return format!("{file}: {msg} (column {} of the predicate)", e.column);
    };
    if let Some(col) = content_column(text, loc, src) {
        return format!("{file}:{}:{}: {msg}", loc.line, col + e.column - 1);
    }
    format!(
        "{file}:{}:{}: {msg} (column {} of the predicate)",
        loc.line, loc.col, e.column
    )
}

/// The column where `src` starts on line `loc.line`, when the value there
/// is a plain or quoted scalar spelling `src` exactly.
fn content_column(text: &str, loc: Loc, src: &str) -> Option<usize> {
    if src.contains('\n') {
        return None;
    }
    let line: Vec<char> = text
        .lines()
        .nth(loc.line.checked_sub(1)?)?
        .chars()
        .collect();
    let mut start = loc.col.checked_sub(1)?;
    if matches!(line.get(start), Some('"') | Some('\'')) {
        start += 1;
    }
    let tail = line.get(start..)?;
    let want: Vec<char> = src.chars().collect();
    (tail.len() >= want.len() && tail[..want.len()] == want[..]).then_some(start + 1)
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Loc {
    line: usize,
    col: usize,
}

/// Where values start in the file: a lenient second pass (see the top).
#[derive(Default)]
struct Spans {
    runtimes: Vec<Loc>,
    duration: Option<Loc>,
    grace: Option<Loc>,
    quick_duration: Option<Loc>,
    predicates: BTreeMap<String, Loc>,
}

mod shadow {
    use serde::Deserialize;
    use serde_saphyr::Spanned;

    pub type S = Spanned<String>;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Sweep {
        pub runtimes: Vec<S>,
        pub duration: Option<S>,
        pub grace: Option<S>,
        pub skip: Vec<S>,
        pub quick: Option<Quick>,
        pub plots: Vec<Where>,
        pub verdicts: Vec<Verdict>,
        pub fidelity: Vec<Where>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Quick {
        pub duration: Option<S>,
        pub skip: Vec<S>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Where {
        #[serde(rename = "where")]
        pub filter: Option<S>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Verdict {
        #[serde(rename = "where")]
        pub filter: Option<S>,
        pub expect: Option<S>,
    }
}

impl Spans {
    fn read(text: &str) -> Spans {
        let Ok(sh) = serde_saphyr::from_str::<shadow::Sweep>(text) else {
            return Spans::default();
        };
        let loc = |s: &shadow::S| Loc {
            line: s.referenced.line() as usize,
            col: s.referenced.column() as usize,
        };
        let mut out = Spans {
            runtimes: sh.runtimes.iter().map(loc).collect(),
            duration: sh.duration.as_ref().map(loc),
            grace: sh.grace.as_ref().map(loc),
            quick_duration: sh.quick.as_ref().and_then(|q| q.duration.as_ref()).map(loc),
            predicates: BTreeMap::new(),
        };
        let mut put = |path: String, s: Option<&shadow::S>| {
            if let Some(s) = s {
                out.predicates.insert(path, loc(s));
            }
        };
        for (i, s) in sh.skip.iter().enumerate() {
            put(format!("skip[{i}]"), Some(s));
        }
        if let Some(q) = &sh.quick {
            for (i, s) in q.skip.iter().enumerate() {
                put(format!("quick.skip[{i}]"), Some(s));
            }
        }
        for (i, p) in sh.plots.iter().enumerate() {
            put(format!("plots[{i}].where"), p.filter.as_ref());
        }
        for (i, v) in sh.verdicts.iter().enumerate() {
            put(format!("verdicts[{i}].where"), v.filter.as_ref());
            put(format!("verdicts[{i}].expect"), v.expect.as_ref());
        }
        for (i, f) in sh.fidelity.iter().enumerate() {
            put(format!("fidelity[{i}].where"), f.filter.as_ref());
        }
        out
    }
}

/// Parses `500ms`, `5s`, `1.5s`, `2m`, `1h`, `1m30s`, `250us`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || format!("expected a duration like 500ms, 5s, 2m or 1m30s, found `{s}`");
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let unit_len = rest[num_len..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len() - num_len);
        let (num, unit) = (&rest[..num_len], rest[num_len..num_len + unit_len].trim());
        let n: f64 = num.parse().map_err(|_| bad())?;
        let secs = match unit {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * secs;
        rest = &rest[num_len + unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// A fidelity tolerance: absolute, or relative to the go value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    Abs(f64),
    Percent(f64),
}

impl Tolerance {
    pub fn parse(v: &Value) -> Result<Tolerance, String> {
        let t = match v {
            Value::Num(n) => Tolerance::Abs(*n),
            Value::Str(s) => {
                let s = s.trim();
                match s.strip_suffix('%').map(|p| p.trim().parse::<f64>()) {
                    Some(Ok(p)) => Tolerance::Percent(p),
                    _ => match s.parse::<f64>() {
                        Ok(n) => Tolerance::Abs(n),
                        Err(_) => {
                            return Err(format!(
                                "expected a number or a percentage like \"25%\", found `{s}`"
                            ));
                        }
                    },
                }
            }
        };
        match t {
            Tolerance::Abs(x) | Tolerance::Percent(x) if x.is_finite() && x >= 0.0 => Ok(t),
            _ => Err(format!("expected a tolerance >= 0, found `{v}`")),
        }
    }

    /// Whether `gmp` is within tolerance of the reference `go`.
    pub fn within(self, gmp: f64, go: f64) -> bool {
        let d = (gmp - go).abs();
        match self {
            Tolerance::Abs(t) => d <= t,
            Tolerance::Percent(p) => d <= p / 100.0 * go.abs(),
        }
    }
}

// ---------------------------------------------------------------- shaping

/// One point to run for one runtime (repeats are the runner's business).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointSpec {
    pub runtime: String,
    pub point_id: String,
    pub params: Params,
    /// Axis names in this runtime's order (how `point_id` was built).
    pub axes: Vec<String>,
}

/// A `--set` value: a number when it reads as one, else a word.
pub fn parse_value(s: &str) -> Value {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Value::Num(n),
        _ => Value::Str(s.trim().to_string()),
    }
}

/// `procs-2_mode-raw`: axis-value pairs in axis order, values reduced to
/// `[A-Za-z0-9.]`. No axes: `default`.
pub fn point_id(axes: &[String], params: &Params) -> String {
    let parts: Vec<String> = axes
        .iter()
        .filter_map(|a| params.get(a).map(|v| (a, v)))
        .map(|(a, v)| {
            let clean: String = v
                .to_string()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            format!("{a}-{clean}")
        })
        .collect();
    if parts.is_empty() {
        "default".to_string()
    } else {
        parts.join("_")
    }
}

impl Sweep {
    /// Applies the `quick` profile: every field it sets replaces the full
    /// profile's. The result has no `quick` (it is what runs).
    pub fn apply_quick(&mut self) {
        let Some(q) = self.quick.take() else { return };
        if let Some(d) = q.duration {
            self.duration = d;
        }
        if let Some(r) = q.repeats {
            self.repeats = r;
        }
        if let Some(g) = q.grid {
            self.grid = g;
        }
        if !q.per_runtime.is_empty() {
            self.per_runtime = q.per_runtime;
        }
        if !q.skip.is_empty() {
            self.skip = q.skip;
        }
    }

    /// Every axis name, grid first, then per-runtime additions.
    pub fn axis_names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.grid.iter().map(|(n, _)| n.clone()).collect();
        for (_, axes) in &self.per_runtime {
            for (n, _) in axes {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        }
        out
    }

    /// `--set axis=v1,v2`: replaces the axis's values everywhere it appears.
    pub fn apply_set(&mut self, axis: &str, values: Vec<Value>) -> Result<(), SweepError> {
        if !self.axis_names().iter().any(|n| n == axis) {
            return Err(SweepError::UnknownAxis {
                scenario: self.scenario.clone(),
                axis: axis.to_string(),
                valid: self.axis_names(),
            });
        }
        if values.is_empty() {
            return Err(SweepError::Invalid(format!(
                "--set {axis}=: expected at least one value"
            )));
        }
        let all = self
            .grid
            .iter_mut()
            .chain(self.per_runtime.iter_mut().flat_map(|(_, a)| a.iter_mut()));
        for (name, vals) in all {
            if name == axis {
                *vals = values.clone();
            }
        }
        Ok(())
    }

    /// The axes of one runtime: `grid` with `per_runtime[runtime]` replacing
    /// axes in place and appending new ones.
    pub fn axes_for(&self, runtime: &str) -> Axes {
        let mut axes = self.grid.clone();
        if let Some((_, extra)) = self.per_runtime.iter().find(|(r, _)| r == runtime) {
            for (name, vals) in extra {
                match axes.iter_mut().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = vals.clone(),
                    None => axes.push((name.clone(), vals.clone())),
                }
            }
        }
        axes
    }

    /// Expands the grid for `runtimes` (in that order), dropping skipped
    /// points. Predicates were validated at load; one that does not parse
    /// (a sweep built in code) is an error.
    pub fn expand(&self, runtimes: &[String]) -> Result<Vec<PointSpec>, SweepError> {
        let skips = self
            .skip
            .iter()
            .map(|s| {
                Predicate::parse(s).map_err(|e| SweepError::Invalid(format!("skip `{s}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::new();
        for runtime in runtimes {
            let axes = self.axes_for(runtime);
            let names: Vec<String> = axes.iter().map(|(n, _)| n.clone()).collect();
            for params in cartesian(&axes) {
                let ctx = MapContext::new().with_params(&params).with_runtime(runtime);
                if skips.iter().any(|p| p.eval(&ctx).unwrap_or(false)) {
                    continue;
                }
                out.push(PointSpec {
                    runtime: runtime.clone(),
                    point_id: point_id(&names, &params),
                    params,
                    axes: names.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// The cartesian product of the axes, the last axis varying fastest.
fn cartesian(axes: &Axes) -> Vec<Params> {
    let mut out = vec![Params::new()];
    for (name, values) in axes {
        out = out
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.insert(name.clone(), v.clone());
                    q
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"scenario: demo
incident: "a demo"
runtimes: [gmp, tokio, go]
duration: 5s
grace: 2s
repeats: 3
grid:
  procs: [1, 2]
  mode: [raw, "spawn_blocking"]
per_runtime:
  tokio: { mode: [direct], extra: [7] }
skip: ["runtime == 'go' && procs == 2 && mode == 'raw'"]
quick:
  duration: 500ms
  repeats: 1
  grid: { procs: [2], mode: [raw] }
verdicts:
  - id: v1
    claim: "a claim"
    where: "runtime == 'go'"
    expect: "threads_median >= 3"
    holds: reproduced
fidelity:
  - metric: threads_median
    tolerance: "25%"
"#;

    fn load(text: &str) -> Result<Sweep, SweepError> {
        Sweep::from_yaml(text, "s.yaml")
    }

    fn err(text: &str) -> String {
        match load(text) {
            Ok(s) => panic!("loaded: {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn loads_a_full_sweep_in_written_order() {
        let s = load(GOOD).unwrap();
        assert_eq!(s.grid[0].0, "procs");
        assert_eq!(
            s.grid[1].1,
            vec![
                Value::Str("raw".into()),
                Value::Str("spawn_blocking".into())
            ]
        );
        assert_eq!(s.duration(), Duration::from_secs(5));
        assert_eq!(s.grace(), Some(Duration::from_secs(2)));
        assert_eq!(s.per_runtime[0].0, "tokio");
        assert_eq!(s.repeats, 3);
    }

    #[test]
    fn unknown_field_reports_line_and_column() {
        let e = err(&GOOD.replace("repeats: 3\n", "repeats: 3\nrepeets: 4\n"));
        assert!(e.starts_with("s.yaml:7:1: unknown field `repeets`"), "{e}");
        assert!(e.contains("expected one of"), "{e}");
    }

    #[test]
    fn syntax_error_reports_line_and_column() {
        let e = err(&GOOD.replace("procs: [1, 2]", "procs: [1, 2}"));
        assert!(e.starts_with("s.yaml:8:"), "{e}");
        let e = err(&GOOD.replace("repeats: 3", "repeats: many"));
        assert!(e.starts_with("s.yaml:6:10:"), "{e}");
    }

    #[test]
    fn bad_predicate_points_at_the_character() {
        // `expect: "threads_median >= "`: the quote is at column 13, the
        // predicate starts at 14, and the error (end of input) is at
        // predicate column 19 -> file column 14 + 19 - 1 = 32.
        let e = err(&GOOD.replace("\"threads_median >= 3\"", "\"threads_median >= \""));
        assert!(e.starts_with("s.yaml:21:32: verdicts[0].expect"), "{e}");
        assert!(e.contains("expected a number"), "{e}");
        // A plain (unquoted) scalar.
        let e = err(&GOOD.replace("\"threads_median >= 3\"", "threads_median = 3"));
        assert!(e.starts_with("s.yaml:21:28: verdicts[0].expect"), "{e}");
    }

    #[test]
    fn bad_predicate_in_block_scalar_gives_column_inside() {
        let e = err(&GOOD.replace(
            "expect: \"threads_median >= 3\"",
            "expect: |\n      threads_median >=\n      (3",
        ));
        assert!(e.contains("verdicts[0].expect"), "{e}");
        assert!(e.contains("of the predicate"), "{e}");
        assert!(e.starts_with("s.yaml:22:7:"), "{e}");
    }

    #[test]
    fn unknown_runtime_and_bad_duration_are_located() {
        let e = err(&GOOD.replace("[gmp, tokio, go]", "[gmp, tokoi, go]"));
        assert!(
            e.starts_with("s.yaml:3:17: runtimes[1]: unknown runtime `tokoi`"),
            "{e}"
        );
        assert!(e.contains("gmp, tokio, go, threads"), "{e}");
        let e = err(&GOOD.replace("duration: 5s", "duration: 5 parsecs"));
        assert!(e.starts_with("s.yaml:4:11: duration"), "{e}");
        let e = err(&GOOD.replace("tolerance: \"25%\"", "tolerance: lots"));
        assert!(e.contains("fidelity[0].tolerance"), "{e}");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn expansion_is_cartesian_in_axis_order_with_per_runtime_and_skip() {
        let s = load(GOOD).unwrap();
        let pts = s
            .expand(&["gmp".into(), "tokio".into(), "go".into()])
            .unwrap();
        let ids: Vec<String> = pts
            .iter()
            .map(|p| format!("{}:{}", p.runtime, p.point_id))
            .collect();
        assert_eq!(
            ids,
            vec![
                "gmp:procs-1_mode-raw",
                "gmp:procs-1_mode-spawnblocking",
                "gmp:procs-2_mode-raw",
                "gmp:procs-2_mode-spawnblocking",
                "tokio:procs-1_mode-direct_extra-7",
                "tokio:procs-2_mode-direct_extra-7",
                "go:procs-1_mode-raw",
                "go:procs-1_mode-spawnblocking",
                "go:procs-2_mode-spawnblocking",
            ]
        );
        assert_eq!(pts[4].params.get("extra"), Some(&Value::Num(7.0)));
    }

    #[test]
    fn quick_and_set_shape_the_grid() {
        let mut s = load(GOOD).unwrap();
        s.apply_quick();
        assert_eq!(s.duration(), Duration::from_millis(500));
        assert_eq!(s.repeats, 1);
        assert!(s.quick.is_none());
        assert_eq!(s.expand(&["gmp".into()]).unwrap().len(), 1);
        s.apply_set("procs", vec![parse_value("1"), parse_value("4")])
            .unwrap();
        let pts = s.expand(&["gmp".into()]).unwrap();
        assert_eq!(
            pts.iter().map(|p| p.point_id.as_str()).collect::<Vec<_>>(),
            vec!["procs-1_mode-raw", "procs-4_mode-raw"]
        );
        // `extra` exists only for tokio but is a valid axis.
        s.apply_set("extra", vec![parse_value("8")]).unwrap();
        match s.apply_set("prcs", vec![parse_value("1")]) {
            Err(SweepError::UnknownAxis { valid, .. }) => {
                assert_eq!(valid, vec!["procs", "mode", "extra"])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn point_ids_are_sanitized_and_stable() {
        let mut p = Params::new();
        p.insert("mode".into(), Value::Str("spawn_blocking/x".into()));
        p.insert("rate".into(), Value::Num(0.5));
        assert_eq!(
            point_id(&["rate".into(), "mode".into()], &p),
            "rate-0.5_mode-spawnblockingx"
        );
        assert_eq!(point_id(&[], &p), "default");
    }

    #[test]
    fn tolerances() {
        assert!(
            Tolerance::parse(&Value::Str("25%".into()))
                .unwrap()
                .within(5.0, 4.0)
        );
        assert!(
            !Tolerance::parse(&Value::Str("10%".into()))
                .unwrap()
                .within(5.0, 4.0)
        );
        assert!(Tolerance::parse(&Value::Num(1.0)).unwrap().within(4.0, 3.0));
        assert!(Tolerance::parse(&Value::Num(-1.0)).is_err());
    }
}
