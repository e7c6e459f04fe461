//! A run directory, `results/<run-id>/`, as files:
//!
//! ```text
//! run.json                      RunMeta
//! <scenario>/<point-file>.jsonl merged lines (metrics::MergedLine), one clock
//! <scenario>/points.json        Vec<PointResult>: every point × runtime × repeat
//! summary.csv                   the same rows flattened (param.* and metric.* columns)
//! medians.csv                   a row per point × runtime: medians of the repeats
//! verdicts.json                 Vec<VerdictRow>
//! fidelity.json                 Vec<FidelityRow>
//! plots/<scenario>/<plot>.png|.svg
//! report.html, report.md
//! ```
//!
//! Every file is written atomically (temp file + rename).

use crate::metrics::{Outcome, Params};
use crate::sweep::{ProfileName, Sweep};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const RUN_META: &str = "run.json";
pub const POINTS: &str = "points.json";
pub const SUMMARY_CSV: &str = "summary.csv";
pub const MEDIANS_CSV: &str = "medians.csv";
pub const VERDICTS: &str = "verdicts.json";
pub const FIDELITY: &str = "fidelity.json";
pub const REPORT_HTML: &str = "report.html";
pub const REPORT_MD: &str = "report.md";

/// The trace file of one point run, `<point_id>.<runtime>.r<repeat>.jsonl`
/// (repeats count from 1), in the scenario's folder. The analysis finds a
/// run's points by these names ([`parse_jsonl_name`]), so every writer of
/// a run directory (the runner, `schedlab watch --out`) uses this one.
pub fn jsonl_name(point_id: &str, runtime: &str, repeat: u32) -> String {
    format!("{point_id}.{runtime}.r{repeat}.jsonl")
}

/// [`jsonl_name`]'s parts back, read from the right (a point id may hold
/// dots: `rate-0.5`); `None` for a name not in that form.
pub fn parse_jsonl_name(name: &str) -> Option<(String, String, u32)> {
    let stem = name.strip_suffix(".jsonl")?;
    let (rest, rep) = stem.rsplit_once('.')?;
    let repeat = rep.strip_prefix('r')?.parse().ok()?;
    let (point_id, runtime) = rest.rsplit_once('.')?;
    Some((point_id.to_string(), runtime.to_string(), repeat))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Being written, or its runner died (`schedlab report` then marks it
    /// interrupted).
    #[default]
    Running,
    Complete,
    /// Stopped by Ctrl-C: finished points are kept.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunMeta {
    pub run_id: String,
    pub status: RunStatus,
    /// Seconds since the Unix epoch.
    pub started_unix: f64,
    #[serde(default)]
    pub finished_unix: Option<f64>,
    pub quick: bool,
    /// hostname, kernel, cores, memory, rustc, tokio, go (or why absent),
    /// git commit, pid_max, threads-max, ulimit -n, ulimit -u, ...
    pub host: BTreeMap<String, String>,
    /// The sweeps exactly as run (after --quick/--set/--repeats/--duration).
    pub sweeps: Vec<Sweep>,
    /// Runtimes skipped for the whole run and why (e.g. go: no toolchain).
    #[serde(default)]
    pub skipped_runtimes: BTreeMap<String, String>,
    /// The sampler's own CPU: seconds used and as a fraction of one core.
    #[serde(default)]
    pub sampler_cpu_s: f64,
    #[serde(default)]
    pub sampler_cpu_frac: f64,
    /// The profile that ran (`full`, `default`, `quick`); absent in runs
    /// made before profiles had names (then `quick` says which).
    #[serde(default)]
    pub profile: Option<ProfileName>,
    /// `K/N` when this run is shard K of N (`--shard`): it holds only the
    /// points of that shard.
    #[serde(default)]
    pub shard: Option<String>,
    /// For a run made by `schedlab merge`: the run ids of its shards.
    #[serde(default)]
    pub merged_from: Vec<String>,
    /// Point runs of the plan not run because the run was interrupted (the
    /// first 1,000 of them also have a `skipped` row in points.json).
    #[serde(default)]
    pub not_run: u64,
}

impl RunMeta {
    /// The profile's name (`full`, `default`, `quick`): the recorded one,
    /// else, for runs made before profiles had names, `quick` or `full`.
    pub fn profile_name(&self) -> &'static str {
        self.profile
            .map(|p| p.as_str())
            .unwrap_or(if self.quick { "quick" } else { "full" })
    }
}

/// One point × runtime × repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    pub scenario: String,
    /// Axis values joined, e.g. `procs-2_mode-raw`; the same for every
    /// runtime and repeat of the point.
    pub point_id: String,
    pub runtime: String,
    pub repeat: u32,
    pub params: Params,
    pub outcome: Outcome,
    /// Why skipped, which limit was hit, or the crash status in words.
    #[serde(default)]
    pub outcome_detail: String,
    /// File name of the merged `.jsonl`, relative to the scenario folder.
    pub jsonl: String,
    /// Runner-derived (threads_peak, threads_median, threads_end,
    /// r_threads_max, r_threads_median, cores_mean, cores_max,
    /// rss_peak_bytes, threads_at_<phase>, wall_s) merged with the
    /// scenario's own summary metrics.
    pub metrics: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    Reproduced,
    NotReproduced,
    Fixed,
    NotFixed,
    /// No matching point had the metrics needed (not run, crashed, skipped).
    NoData,
}

impl VerdictStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictStatus::Reproduced => "reproduced",
            VerdictStatus::NotReproduced => "not reproduced",
            VerdictStatus::Fixed => "fixed",
            VerdictStatus::NotFixed => "not fixed",
            VerdictStatus::NoData => "no data",
        }
    }
}

/// One verdict for one runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRow {
    pub scenario: String,
    pub id: String,
    pub claim: String,
    pub runtime: String,
    pub status: VerdictStatus,
    pub points_matched: u32,
    pub points_held: u32,
    /// Per failing or undecidable point, one line saying why.
    #[serde(default)]
    pub details: Vec<String>,
}

/// gmp against go for one metric at one point (medians over repeats).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FidelityRow {
    pub scenario: String,
    pub point_id: String,
    pub metric: String,
    pub gmp: Option<f64>,
    pub go: Option<f64>,
    /// As written in the sweep, e.g. `1` or `25%`.
    pub tolerance: String,
    /// None when either side is missing.
    pub within: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_name_prefers_the_recorded_profile() {
        let m = |profile, quick| RunMeta {
            profile,
            quick,
            ..RunMeta::default()
        };
        // The runs index printed "full" for a default run: it read `quick`
        // only.
        assert_eq!(
            m(Some(ProfileName::Default), false).profile_name(),
            "default"
        );
        assert_eq!(m(Some(ProfileName::Full), false).profile_name(), "full");
        assert_eq!(m(Some(ProfileName::Quick), true).profile_name(), "quick");
        // Runs from before profiles had names.
        assert_eq!(m(None, true).profile_name(), "quick");
        assert_eq!(m(None, false).profile_name(), "full");
    }
}
