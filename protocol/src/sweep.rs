//! `scenarios/<name>/sweep.yaml`: what to run and how to judge it.
//!
//! ```yaml
//! scenario: baseline
//! incident: "hello world has 3+ threads (seed 002)"
//! runtimes: [gmp, tokio, go]
//! duration: 5s              # load + tail as the scenario splits it
//! grace: 5s                 # extra time before the runner kills the point
//! go_schedtrace: false      # optional (default true): go column without GODEBUG=schedtrace
//! repeats: 3
//! grid:                     # cartesian product, in this order
//!   procs: [1, 2]
//! per_runtime:              # axes whose values differ per runtime
//!   tokio: { mode: [direct, spawn_blocking] }
//! skip: ["runtime == 'tokio' && w == 1"]   # points not worth running
//! default:                  # what runs without --full: the everyday profile
//!   duration: 2s
//!   repeats: 2
//! quick:                    # the small profile for --quick and tests
//!   duration: 2s
//!   repeats: 1
//!   grid: { procs: [2] }
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
//! # Profiles: full, default, quick
//!
//! The top level of the file is the **full** profile: every point at its
//! full length and repeat count (`schedlab run --full`, the figures the
//! scenario READMEs quote). Two optional sections are *overrides* of it:
//!
//! * `default:` is what `schedlab run` / `make run-all` run when neither
//!   `--full` nor `--quick` is given. It exists so that the whole lab runs
//!   in minutes, not an hour: fewer repeats, shorter points, a coarser
//!   grid, but still every point that a verdict or a fidelity row judges.
//!   A sweep without `default:` runs its full profile by default.
//! * `quick:` is the small profile of `--quick` (make test asserts every
//!   verdict on it). `--quick` on a sweep without one is an error for
//!   `schedlab run` and a note for `run-all` (which then runs the default).
//!
//! A profile may set `duration`, `repeats`, `grid`, `per_runtime` and
//! `skip`. Scalars and `skip` replace the full profile's. `grid` and
//! `per_runtime` are merged **axis by axis**: an axis the profile names gets
//! the profile's values, every other axis keeps the full profile's values
//! and place (so an axis added to the top-level grid is in every profile
//! unless one narrows it); a profile cannot add an axis. Each profile is
//! validated as it will run (names, duplicate ids, repeats >= 1).
//!
//! # Names
//!
//! Names become paths: `scenario` is a folder and a binary name, an axis
//! name is part of every point id and so of file names. `scenario` is
//! `[A-Za-z0-9][A-Za-z0-9_-]*`; an axis is a predicate identifier
//! `[A-Za-z_][A-Za-z0-9_.]*` (dots allowed: `gmp.asyncpreempt`), at most 64
//! characters. Anything else (`../x`, a slash, a space) is refused at load
//! with file:line:column, so nothing a sweep says can write outside the
//! run directory or run a binary outside the bin dir.
//!
//! # Loading, validating, expanding
//!
//! [`Sweep::load`] reads the file, deserializes it with serde-saphyr (which
//! knows the line and column of every syntax error, unknown field, wrong
//! type), then validates what serde cannot: runtimes are among
//! [`KNOWN_RUNTIMES`] (at least one), durations parse ([`parse_duration`],
//! the lab's one grammar), `repeats` >= 1, names are safe, no two points
//! share an id, tolerances are numbers or `N%`, and every predicate (skip,
//! plots' and verdicts' `where`, `expect`, fidelity's `where`) parses. A
//! predicate error is reported at `file:line:column` of the offending
//! character: a second, lenient pass over the same text reads those fields
//! as `Spanned<String>` to learn where each value starts; when the value
//! cannot be mapped character for character (a block scalar, escapes) the
//! message gives the value's position, the field path and the column inside
//! the predicate. Other content errors are placed by finding the offending
//! key or value in the text after its section's key.
//!
//! After loading, the runner shapes the sweep for one run:
//! [`Sweep::apply_profile`] (`--full`, default, `--quick`),
//! [`Sweep::apply_set`] (`--set axis=v1,v2`, replacing that axis wherever
//! it appears), then [`Sweep::points`] walks it as [`PointSpec`]s, lazily:
//! a grid is never held in memory, so its size costs only the time to walk
//! it, and [`Sweep::runs_bound`] says how big it is without walking.
//!
//! Expansion invariants:
//! * the axes of runtime `r` are `grid` with every axis named in
//!   `per_runtime[r]` replaced in place, and new ones appended in the order
//!   written;
//! * points are the cartesian product in that axis order, the last axis
//!   varying fastest, runtimes in the order given to `points`;
//! * a point for which any `skip` predicate holds (params + `runtime`) is
//!   dropped; a skip predicate naming something the point lacks does not
//!   hold (the point is run);
//! * `point_id` is `axis-value` joined with `_` in axis order, values
//!   reduced to `[A-Za-z0-9.]` ([`point_id`]); the same params give the
//!   same id for every runtime, which is how gmp and go are paired;
//! * ids are injective within a runtime: axis names are fixed per runtime
//!   and contain no `-`, reduced values contain no `_` or `-`, so two
//!   points share an id only if some axis has two values that reduce alike
//!   (`1` and `-1`, or `1` listed twice), and that is refused at load and
//!   by `--set`.

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
    /// Overrides for the everyday run (no `--full`): see "Profiles".
    #[serde(default)]
    pub default: Option<Profile>,
    /// Overrides for `--quick`: see "Profiles".
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
    /// Whether the go column runs with `GODEBUG=schedtrace` (the report's
    /// scheduler trace). `false` for a scenario whose Go program can die of
    /// thread exhaustion: Go 1.19's `startpanic_m` calls `schedtrace(true)`,
    /// which takes `sched.lock`, and `checkmcount` throws with `sched.lock`
    /// held, so with schedtrace on the crash deadlocks instead of exiting.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub go_schedtrace: bool,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Overrides of the full profile (`default:` or `quick:`): scalars and
/// `skip` replace, `grid` and `per_runtime` merge axis by axis.
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
        let invalid = |path: &str, span: Option<Loc>, msg: String| {
            SweepError::Invalid(format!("{}: {msg}", at(path, span)))
        };
        if let Err(e) = check_scenario_name(&self.scenario) {
            return Err(invalid("scenario", locate(text, &["scenario:"]), e));
        }
        if self.runtimes.is_empty() {
            return Err(invalid(
                "runtimes",
                locate(text, &["runtimes:"]),
                format!("expected at least one of {}", KNOWN_RUNTIMES.join(", ")),
            ));
        }
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
                    at("per_runtime", locate(text, &["per_runtime:", r])),
                    KNOWN_RUNTIMES.join(", ")
                )));
            }
        }
        let durations = [
            ("duration", Some(&self.duration), spans.duration),
            ("grace", self.grace.as_ref(), spans.grace),
            (
                "default.duration",
                self.default.as_ref().and_then(|q| q.duration.as_ref()),
                locate(text, &["default:", "duration:"]),
            ),
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
        let repeats = [
            ("repeats", Some(self.repeats), vec!["repeats:"]),
            (
                "default.repeats",
                self.default.as_ref().and_then(|q| q.repeats),
                vec!["default:", "repeats:"],
            ),
            (
                "quick.repeats",
                self.quick.as_ref().and_then(|q| q.repeats),
                vec!["quick:", "repeats:"],
            ),
        ];
        for (path, value, keys) in repeats {
            if value == Some(0) {
                return Err(invalid(
                    path,
                    locate(text, &keys),
                    "expected at least 1 (a point with no repeat measures nothing)".into(),
                ));
            }
        }
        // Every axis name, where it is written.
        let mut sections: Vec<(String, Vec<String>, &Axes)> =
            vec![("grid".into(), vec!["grid:".into()], &self.grid)];
        for (r, a) in &self.per_runtime {
            sections.push((
                format!("per_runtime.{r}"),
                vec!["per_runtime:".into(), r.clone()],
                a,
            ));
        }
        for (pname, prof) in [("default", &self.default), ("quick", &self.quick)] {
            let Some(prof) = prof else { continue };
            if let Some(g) = &prof.grid {
                sections.push((
                    format!("{pname}.grid"),
                    vec![format!("{pname}:"), "grid".into()],
                    g,
                ));
            }
            for (r, a) in &prof.per_runtime {
                sections.push((
                    format!("{pname}.per_runtime.{r}"),
                    vec![format!("{pname}:"), "per_runtime".into(), r.clone()],
                    a,
                ));
            }
        }
        let full_axes = self.axis_names();
        for (path, keys, axes) in &sections {
            for (name, values) in axes.iter() {
                let mut here: Vec<&str> = keys.iter().map(String::as_str).collect();
                here.push(name);
                if let Err(e) = check_axis_name(name) {
                    return Err(invalid(path, locate(text, &here), e));
                }
                if values.is_empty() {
                    return Err(invalid(
                        &format!("{path}.{name}"),
                        locate(text, &here),
                        "expected at least one value".into(),
                    ));
                }
                if path.contains('.')
                    && !path.starts_with("per_runtime")
                    && !full_axes.contains(name)
                {
                    return Err(invalid(
                        &format!("{path}.{name}"),
                        locate(text, &here),
                        format!(
                            "a profile cannot add an axis; the axes are: {}",
                            full_axes.join(", ")
                        ),
                    ));
                }
                if let Err(e) = check_axis_values(name, values) {
                    return Err(invalid(&format!("{path}.{name}"), locate(text, &here), e));
                }
            }
        }
        for (pname, prof) in [("default", &self.default), ("quick", &self.quick)] {
            if let Some(p) = prof
                && p.per_runtime
                    .iter()
                    .any(|(r, _)| !KNOWN_RUNTIMES.contains(&r.as_str()))
            {
                return Err(invalid(
                    &format!("{pname}.per_runtime"),
                    locate(text, &[&format!("{pname}:"), "per_runtime"]),
                    format!(
                        "unknown runtime, expected one of {}",
                        KNOWN_RUNTIMES.join(", ")
                    ),
                ));
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
        for (name, prof) in [("default", &self.default), ("quick", &self.quick)] {
            if let Some(q) = prof {
                for (i, s) in q.skip.iter().enumerate() {
                    out.push((format!("{name}.skip[{i}]"), s.as_str()));
                }
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
        pub default: Option<Quick>,
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
        for (name, prof) in [("default", &sh.default), ("quick", &sh.quick)] {
            if let Some(q) = prof {
                for (i, s) in q.skip.iter().enumerate() {
                    put(format!("{name}.skip[{i}]"), Some(s));
                }
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

/// The lab's duration grammar (one definition, in [`crate::util`]).
pub use crate::util::{MAX_DURATION, parse_duration};

/// The longest axis name.
pub const MAX_AXIS_NAME: usize = 64;

/// A scenario name is a folder and a binary name: `[A-Za-z0-9][A-Za-z0-9_-]*`.
pub fn check_scenario_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= MAX_AXIS_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "scenario name `{name}` is not allowed: use letters, digits, `_` and `-` \
             (it names a folder and a binary)"
        ))
    }
}

/// An axis name is a predicate identifier: `[A-Za-z_][A-Za-z0-9_.]*`.
pub fn check_axis_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= MAX_AXIS_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "axis name `{name}` is not allowed: use letters, digits, `_` and `.`, \
             starting with a letter, at most {MAX_AXIS_NAME} characters (it is part of file names)"
        ))
    }
}

/// A value as it appears in a point id: reduced to `[A-Za-z0-9.]`.
pub fn id_value(v: &Value) -> String {
    v.to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect()
}

/// Two values of one axis that would give two points the same id.
pub fn check_axis_values(axis: &str, values: &[Value]) -> Result<(), String> {
    for (i, a) in values.iter().enumerate() {
        for b in &values[..i] {
            if a == b {
                return Err(format!("axis {axis} lists the value {a} twice"));
            }
            if id_value(a) == id_value(b) {
                return Err(format!(
                    "axis {axis}: values `{b}` and `{a}` would give two points the same id \
                     `{axis}-{}` (ids keep only letters, digits and `.`); make them differ there",
                    id_value(a)
                ));
            }
        }
    }
    Ok(())
}

/// Where `keys` are, in sequence: the first at the start of a line (a
/// top-level key), each next one the first occurrence after the previous.
/// For messages about a value the lenient pass does not locate.
fn locate(text: &str, keys: &[&str]) -> Option<Loc> {
    let (first, rest) = keys.split_first()?;
    let mut pos = if text.starts_with(first) {
        0
    } else {
        text.find(&format!("\n{first}"))? + 1
    };
    for k in rest {
        pos = pos + 1 + text.get(pos + 1..)?.find(k)?;
    }
    let line = text[..pos].matches('\n').count() + 1;
    let col = text[..pos]
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.chars().count())
        + 1;
    Some(Loc { line, col })
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
/// A scheduler knob at its default is left out ([`crate::knobs`]), so
/// adding a knob axis to a sweep keeps the ids (and the gmp/go pairing) of
/// its default points.
pub fn point_id(axes: &[String], params: &Params) -> String {
    let parts: Vec<String> = axes
        .iter()
        .filter(|a| !crate::knobs::at_default(a, params))
        .filter_map(|a| params.get(a).map(|v| (a, v)))
        .map(|(a, v)| format!("{a}-{}", id_value(v)))
        .collect();
    if parts.is_empty() {
        "default".to_string()
    } else {
        parts.join("_")
    }
}

impl Sweep {
    /// Applies the `quick` profile if there is one (see [`Sweep::apply_profile`]).
    pub fn apply_quick(&mut self) {
        let _ = self.apply_profile(ProfileName::Quick);
    }

    /// Shapes the sweep for one profile: `Full` keeps the top level,
    /// `Default` applies `default:` when present, `Quick` applies `quick:`
    /// (an error when absent: the sweep is unchanged but for the profiles,
    /// so a caller may run it anyway). Either way the result has no
    /// profiles left: it is what runs.
    pub fn apply_profile(&mut self, which: ProfileName) -> Result<(), SweepError> {
        let default = self.default.take();
        let quick = self.quick.take();
        let chosen = match which {
            ProfileName::Full => None,
            ProfileName::Default => default,
            ProfileName::Quick => match quick {
                Some(q) => Some(q),
                None => {
                    return Err(SweepError::Invalid(format!(
                        "scenario {} has no quick profile (no `quick:` in its sweep.yaml)",
                        self.scenario
                    )));
                }
            },
        };
        let Some(q) = chosen else { return Ok(()) };
        if let Some(d) = q.duration {
            self.duration = d;
        }
        if let Some(r) = q.repeats {
            self.repeats = r;
        }
        if let Some(g) = q.grid {
            merge_axes(&mut self.grid, g);
        }
        for (rt, axes) in q.per_runtime {
            match self.per_runtime.iter_mut().find(|(r, _)| *r == rt) {
                Some((_, mine)) => merge_axes(mine, axes),
                None => self.per_runtime.push((rt, axes)),
            }
        }
        if !q.skip.is_empty() {
            self.skip = q.skip;
        }
        Ok(())
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
        check_axis_values(axis, &values).map_err(|e| SweepError::Invalid(format!("--set {e}")))?;
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

    /// Every point for `runtimes` (in that order), skipped points dropped,
    /// collected. For a grid of any size use [`Sweep::points`].
    pub fn expand(&self, runtimes: &[String]) -> Result<Vec<PointSpec>, SweepError> {
        Ok(self.points(runtimes)?.collect())
    }

    /// Walks the grid for `runtimes` (in that order), dropping skipped
    /// points, one point at a time. Predicates were validated at load; one
    /// that does not parse (a sweep built in code) is an error.
    pub fn points<'a>(&'a self, runtimes: &'a [String]) -> Result<Points<'a>, SweepError> {
        let skips = self
            .skip
            .iter()
            .map(|s| {
                Predicate::parse(s).map_err(|e| SweepError::Invalid(format!("skip `{s}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Points {
            sweep: self,
            runtimes,
            next_runtime: 0,
            current: None,
            skips,
        })
    }

    /// How many point runs `runtimes` × grid × repeats make at most (skip
    /// predicates can only lower it), without walking the grid. Saturates.
    pub fn runs_bound(&self, runtimes: &[String]) -> u128 {
        runtimes
            .iter()
            .map(|r| {
                self.axes_for(r)
                    .iter()
                    .fold(1u128, |n, (_, v)| n.saturating_mul(v.len() as u128))
            })
            .fold(0u128, |a, n| a.saturating_add(n))
            .saturating_mul(self.repeats as u128)
    }
}

/// Which profile of a sweep runs (see "Profiles" at the top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileName {
    Full,
    Default,
    Quick,
}

impl ProfileName {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Full => "full",
            ProfileName::Default => "default",
            ProfileName::Quick => "quick",
        }
    }
}

/// Axis-by-axis merge of a profile's axes into the full profile's.
fn merge_axes(into: &mut Axes, from: Axes) {
    for (name, vals) in from {
        match into.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = vals,
            None => into.push((name, vals)),
        }
    }
}

/// The runtime being walked: its index, its axes, their names, the next
/// index per axis (`None` when its product is exhausted).
type Walk = (usize, Axes, Vec<String>, Option<Vec<usize>>);

/// The points of a sweep, walked lazily ([`Sweep::points`]).
pub struct Points<'a> {
    sweep: &'a Sweep,
    runtimes: &'a [String],
    next_runtime: usize,
    current: Option<Walk>,
    skips: Vec<Predicate>,
}

impl Iterator for Points<'_> {
    type Item = PointSpec;

    fn next(&mut self) -> Option<PointSpec> {
        loop {
            if self.current.is_none() {
                let rt = self.runtimes.get(self.next_runtime)?;
                let axes = self.sweep.axes_for(rt);
                let names = axes.iter().map(|(n, _)| n.clone()).collect();
                let start = (!axes.iter().any(|(_, v)| v.is_empty())).then(|| vec![0; axes.len()]);
                self.current = Some((self.next_runtime, axes, names, start));
                self.next_runtime += 1;
            }
            let (rt, axes, names, idx) = self.current.as_mut().expect("set above");
            let Some(ix) = idx.as_mut() else {
                self.current = None;
                continue;
            };
            let params: Params = axes
                .iter()
                .zip(ix.iter())
                .map(|((n, v), i)| (n.clone(), v[*i].clone()))
                .collect();
            // Advance: the last axis fastest; past the end, this runtime is done.
            let mut k = axes.len();
            let mut exhausted = true;
            while k > 0 {
                k -= 1;
                ix[k] += 1;
                if ix[k] < axes[k].1.len() {
                    exhausted = false;
                    break;
                }
                ix[k] = 0;
            }
            if exhausted {
                *idx = None;
            }
            let runtime = &self.runtimes[*rt];
            let ctx = MapContext::new().with_params(&params).with_runtime(runtime);
            if self.skips.iter().any(|p| p.eval(&ctx).unwrap_or(false)) {
                continue;
            }
            return Some(PointSpec {
                runtime: runtime.clone(),
                point_id: point_id(names, &params),
                params,
                axes: names.clone(),
            });
        }
    }
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
    fn names_that_would_be_paths_are_refused_with_their_place() {
        let e = err(&GOOD.replace("  procs: [1, 2]", "  ../../../x/pwn: [1, 2]"));
        assert!(
            e.starts_with("s.yaml:8:3: grid: axis name `../../../x/pwn`"),
            "{e}"
        );
        let e = err(&GOOD.replace("scenario: demo", "scenario: ../../.."));
        assert!(
            e.starts_with("s.yaml:1:1: scenario: scenario name `../../..`"),
            "{e}"
        );
        let e = err(&GOOD.replace("extra: [7]", "\"a b\": [7]"));
        assert!(e.contains("per_runtime.tokio: axis name `a b`"), "{e}");
        // Dotted knob names (gmp.asyncpreempt) are fine.
        let s = load(&GOOD.replace("extra: [7]", "gmp.asyncpreempt: [0, 1]")).unwrap();
        assert_eq!(s.axes_for("tokio")[2].0, "gmp.asyncpreempt");
        assert!(check_scenario_name("timer_stw").is_ok());
        assert!(check_scenario_name("..").is_err());
        assert!(check_axis_name("a/b").is_err());
        assert!(check_axis_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn zero_repeats_and_no_runtimes_are_refused() {
        let e = err(&GOOD.replace("repeats: 3", "repeats: 0"));
        assert!(
            e.starts_with("s.yaml:6:1: repeats: expected at least 1"),
            "{e}"
        );
        let e = err(&GOOD.replace("  repeats: 1\n", "  repeats: 0\n"));
        assert!(
            e.starts_with("s.yaml:15:3: quick.repeats: expected at least 1"),
            "{e}"
        );
        let e = err(&GOOD.replace("[gmp, tokio, go]", "[]"));
        assert!(
            e.starts_with("s.yaml:3:1: runtimes: expected at least one"),
            "{e}"
        );
    }

    #[test]
    fn two_points_with_one_id_are_refused() {
        let e = err(&GOOD.replace("procs: [1, 2]", "procs: [1, 1]"));
        assert!(
            e.contains("s.yaml:8:3: grid.procs: axis procs lists the value 1 twice"),
            "{e}"
        );
        let e = err(&GOOD.replace("procs: [1, 2]", "procs: [1, -1]"));
        assert!(
            e.contains("values `1` and `-1` would give two points the same id `procs-1`"),
            "{e}"
        );
        let mut s = load(GOOD).unwrap();
        for vals in [["1", "-1"], ["1", "1"], ["1", "1.0"], ["a_b", "ab"]] {
            let v = vals.iter().map(|x| parse_value(x)).collect();
            assert!(s.apply_set("procs", v).is_err(), "{vals:?}");
        }
        s.apply_set("procs", vec![parse_value("1"), parse_value("2")])
            .unwrap();
    }

    #[test]
    fn profiles_merge_axis_by_axis_and_the_default_is_chosen_unless_full() {
        let text = GOOD.replace(
            "quick:\n",
            "default:\n  repeats: 2\n  grid: { mode: [raw] }\nquick:\n",
        );
        let s = load(&text).unwrap();
        let mut d = s.clone();
        d.apply_profile(ProfileName::Default).unwrap();
        assert_eq!((d.repeats, d.duration.as_str()), (2, "5s"));
        // `procs` keeps the full profile's values, `mode` is narrowed.
        assert_eq!(
            d.grid[0],
            ("procs".into(), vec![Value::Num(1.0), Value::Num(2.0)])
        );
        assert_eq!(d.grid[1], ("mode".into(), vec![Value::Str("raw".into())]));
        assert!(d.default.is_none() && d.quick.is_none());
        let mut f = s.clone();
        f.apply_profile(ProfileName::Full).unwrap();
        assert_eq!(f.repeats, 3);
        assert_eq!(f.grid, load(GOOD).unwrap().grid);
        // No quick profile: an error that names the scenario.
        let mut nq = load(&GOOD[..GOOD.find("quick:").unwrap()]).unwrap();
        let e = nq
            .apply_profile(ProfileName::Quick)
            .unwrap_err()
            .to_string();
        assert!(e.contains("demo has no quick profile"), "{e}");
        // A profile cannot add an axis.
        let e = err(&GOOD.replace("grid: { procs: [2], mode: [raw] }", "grid: { cpus: [2] }"));
        assert!(
            e.contains("quick.grid.cpus") && e.contains("cannot add an axis"),
            "{e}"
        );
    }

    #[test]
    fn a_huge_grid_is_walked_lazily_and_counted_without_walking() {
        let axes: String = (0..20)
            .map(|i| format!("  a{i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"))
            .collect();
        let text = format!(
            "scenario: big\nincident: i\nruntimes: [gmp, go]\nduration: 1s\nrepeats: 2\ngrid:\n{axes}"
        );
        let s = load(&text).unwrap();
        let rts = vec!["gmp".to_string(), "go".to_string()];
        assert_eq!(s.runs_bound(&rts), 2 * 2 * 10u128.pow(20));
        let first: Vec<String> = s
            .points(&rts)
            .unwrap()
            .take(3)
            .map(|p| p.point_id)
            .collect();
        assert!(first[2].ends_with("a18-0_a19-2"), "{first:?}");
        assert_eq!(load(GOOD).unwrap().runs_bound(&rts), 3 * (4 + 4));
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
