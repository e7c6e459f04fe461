//! `schedlab merge DIR... [--out DIR]`: shard run directories joined into
//! one run directory, analysed and reported as if one host had run it all.
//!
//! ```text
//! host 1: schedlab run-all --shard 1/3 --out r1 ┐
//! host 2: schedlab run-all --shard 2/3 --out r2 ├─ copy back ─ schedlab merge r1 r2 r3
//! host 3: schedlab run-all --shard 3/3 --out r3 ┘               └─ results/<stamp>-merged
//! ```
//!
//! Invariants:
//! * Every input ran the same plan: the same sweeps, as run (profile,
//!   --set, --repeats, --duration and --runtime applied). Otherwise exit 2
//!   naming the first difference: points of different plans do not add up.
//! * Shards are disjoint by construction (`run.rs`: a point belongs to one
//!   shard); a point file present in two inputs, or one shard given twice,
//!   is exit 2. A shard that is missing is a warning: the merged run has
//!   what the given shards have, and its verdicts judge those points.
//! * The merged directory is a run directory like any other: `.jsonl` files
//!   hard-linked (or copied) under the same names, every input's
//!   points.json rows (the analysis rebuilds the rest from the files), a
//!   run.json whose `merged_from` lists the inputs' run ids and whose host
//!   facts are the first input's plus `shard_hosts` (which host ran which
//!   shard). Then the same analysis and report as `schedlab report`, so
//!   merging N shards gives the verdicts, fidelity rows and points of one
//!   run of the same plan (tested in `tests/shard.rs`).

use crate::fsutil::{lock_run_dir, unix_now, utc_stamp, write_json};
use crate::run::{read_meta, user};
use anyhow::{Context, Result};
use schedlab_protocol::results::{POINTS, PointResult, RUN_META, RunMeta, RunStatus};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `schedlab merge`.
pub fn merge(root: Option<&Path>, dirs: &[PathBuf], out: Option<&Path>) -> Result<i32> {
    if dirs.len() < 2 {
        return Err(user("merge: give at least two run directories"));
    }
    let metas: Vec<RunMeta> = dirs.iter().map(|d| read_meta(d)).collect::<Result<_>>()?;
    check_same_plan(dirs, &metas)?;
    check_shards(dirs, &metas)?;
    let out = match out {
        Some(o) => o.to_path_buf(),
        None => {
            let root = root.ok_or_else(|| {
                user("merge: no --out and no lab root to put results/<stamp>-merged in")
            })?;
            root.join("results")
                .join(format!("{}-merged", utc_stamp(unix_now())))
        }
    };
    if out.exists()
        && std::fs::read_dir(&out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(user(format!(
            "--out {}: exists and is not empty",
            out.display()
        )));
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let _lock = lock_run_dir(&out).map_err(user)?;

    for sweep in &metas[0].sweeps {
        let dest = out.join(&sweep.scenario);
        std::fs::create_dir_all(&dest)?;
        let mut rows: Vec<PointResult> = Vec::new();
        let mut from: BTreeMap<String, &Path> = BTreeMap::new();
        for d in dirs {
            let src = d.join(&sweep.scenario);
            let prior: Vec<PointResult> = std::fs::read(src.join(POINTS))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            rows.extend(prior);
            for e in std::fs::read_dir(&src).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || !name.ends_with(".jsonl") {
                    continue;
                }
                if let Some(first) = from.insert(name.clone(), d) {
                    return Err(user(format!(
                        "{}/{name} is in both {} and {}: these are not shards of one run",
                        sweep.scenario,
                        first.display(),
                        d.display()
                    )));
                }
                link_or_copy(&e.path(), &dest.join(&name))?;
            }
        }
        write_json(&dest.join(POINTS), &rows)?;
    }
    let meta = merged_meta(&out, dirs, &metas);
    write_json(&out.join(RUN_META), &meta)?;
    println!(
        "merged {} run directories into {}",
        dirs.len(),
        out.display()
    );
    crate::run::report_into(&out, &meta)
}

/// The inputs must have run the same sweeps.
fn check_same_plan(dirs: &[PathBuf], metas: &[RunMeta]) -> Result<()> {
    let first = &metas[0];
    for (d, m) in dirs.iter().zip(metas).skip(1) {
        if m.sweeps.len() != first.sweeps.len() {
            return Err(user(format!(
                "{} ran {} scenario(s), {} ran {}: not shards of one plan",
                dirs[0].display(),
                first.sweeps.len(),
                d.display(),
                m.sweeps.len()
            )));
        }
        for (a, b) in first.sweeps.iter().zip(&m.sweeps) {
            if a != b {
                return Err(user(format!(
                    "{} and {} ran scenario {} with different sweeps (profile, --set, --repeats, \
                     --duration, --runtime or sweep.yaml differ): not shards of one plan",
                    dirs[0].display(),
                    d.display(),
                    a.scenario
                )));
            }
        }
    }
    Ok(())
}

/// Shards given twice are refused; missing ones are named.
fn check_shards(dirs: &[PathBuf], metas: &[RunMeta]) -> Result<()> {
    let mut seen: BTreeMap<String, &Path> = BTreeMap::new();
    let mut n_of: BTreeSet<String> = BTreeSet::new();
    for (d, m) in dirs.iter().zip(metas) {
        let Some(s) = &m.shard else { continue };
        if let Some(other) = seen.insert(s.clone(), d) {
            return Err(user(format!(
                "shard {s} is given twice: {} and {}",
                other.display(),
                d.display()
            )));
        }
        if let Some((_, n)) = s.split_once('/') {
            n_of.insert(n.to_string());
        }
    }
    if n_of.len() > 1 {
        return Err(user(format!(
            "the inputs split the plan differently (shards of {} and of {})",
            n_of.first().map(String::as_str).unwrap_or(""),
            n_of.last().map(String::as_str).unwrap_or("")
        )));
    }
    if let Some(n) = n_of.first().and_then(|n| n.parse::<u32>().ok()) {
        let absent: Vec<String> = (1..=n)
            .map(|k| format!("{k}/{n}"))
            .filter(|k| !seen.contains_key(k))
            .collect();
        if !absent.is_empty() {
            eprintln!(
                "schedlab: warning: shard(s) {} missing: their points are not in the merged run",
                absent.join(", ")
            );
        }
    }
    Ok(())
}

fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

fn merged_meta(out: &Path, dirs: &[PathBuf], metas: &[RunMeta]) -> RunMeta {
    let first = &metas[0];
    let mut host = first.host.clone();
    let shard_hosts: Vec<String> = dirs
        .iter()
        .zip(metas)
        .map(|(d, m)| {
            format!(
                "{} on {}",
                m.shard.clone().unwrap_or_else(|| d.display().to_string()),
                m.host.get("hostname").map(String::as_str).unwrap_or("?")
            )
        })
        .collect();
    host.insert("shard_hosts".into(), shard_hosts.join(", "));
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    for m in metas {
        for (rt, why) in &m.skipped_runtimes {
            skipped.entry(rt.clone()).or_insert_with(|| why.clone());
        }
    }
    let cpu: f64 = metas.iter().map(|m| m.sampler_cpu_s).sum();
    RunMeta {
        run_id: out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        status: if metas.iter().all(|m| m.status == RunStatus::Complete) {
            RunStatus::Complete
        } else {
            RunStatus::Interrupted
        },
        started_unix: metas
            .iter()
            .map(|m| m.started_unix)
            .fold(f64::INFINITY, f64::min),
        finished_unix: metas
            .iter()
            .map(|m| m.finished_unix)
            .try_fold(0.0f64, |acc, f| f.map(|f| acc.max(f))),
        quick: first.quick,
        host,
        sweeps: first.sweeps.clone(),
        skipped_runtimes: skipped,
        sampler_cpu_s: cpu,
        sampler_cpu_frac: metas.iter().map(|m| m.sampler_cpu_frac).sum::<f64>()
            / metas.len() as f64,
        profile: first.profile,
        shard: None,
        merged_from: metas.iter().map(|m| m.run_id.clone()).collect(),
        not_run: metas.iter().map(|m| m.not_run).sum(),
    }
}
