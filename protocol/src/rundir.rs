//! Reading a run directory's structured results back: run.json, every
//! scenario's points.json, verdicts.json and fidelity.json
//! ([`crate::results`] has the layout).
//!
//! For programs that look at finished runs (`schedlab compare`, `schedlab
//! merge`) rather than produce them. They read these JSON files, never
//! summary.csv, whose columns are for people and spreadsheets and may
//! change.
//!
//! Invariants: [`RunDir::open`] fails only when run.json is missing or
//! unreadable (then the path is not a run directory); a scenario without a
//! points.json, or a run not yet analysed (no verdicts.json or
//! fidelity.json), reads as empty lists and says so in
//! [`RunDir::missing`], so a caller can tell "no verdict" from "not
//! analysed".

use crate::results::{
    FIDELITY, FidelityRow, POINTS, PointResult, RUN_META, RunMeta, VERDICTS, VerdictRow,
};
use std::path::{Path, PathBuf};

/// A run directory, read.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
    pub meta: RunMeta,
    /// Every scenario's points.json, in the order of `meta.sweeps`.
    pub points: Vec<PointResult>,
    pub verdicts: Vec<VerdictRow>,
    pub fidelity: Vec<FidelityRow>,
    /// Files that were absent or unreadable (relative names), e.g.
    /// `verdicts.json` for a run that was never analysed.
    pub missing: Vec<String>,
}

impl RunDir {
    pub fn open(path: &Path) -> Result<RunDir, String> {
        let meta: RunMeta = read(&path.join(RUN_META))
            .map_err(|e| format!("{}: not a run directory ({e})", path.display()))?;
        let mut missing = Vec::new();
        let mut points = Vec::new();
        for s in &meta.sweeps {
            let rel = format!("{}/{POINTS}", s.scenario);
            match read::<Vec<PointResult>>(&path.join(&rel)) {
                Ok(p) => points.extend(p),
                Err(_) => missing.push(rel),
            }
        }
        let verdicts: Vec<VerdictRow> = read_list(path, VERDICTS, &mut missing);
        let fidelity: Vec<FidelityRow> = read_list(path, FIDELITY, &mut missing);
        Ok(RunDir {
            path: path.to_path_buf(),
            meta,
            points,
            verdicts,
            fidelity,
            missing,
        })
    }

    /// Whether the analysis files are there (verdicts and fidelity).
    pub fn analysed(&self) -> bool {
        !self.missing.iter().any(|m| m == VERDICTS || m == FIDELITY)
    }
}

/// A JSON list, or an empty one with `rel` noted as missing.
fn read_list<T: serde::de::DeserializeOwned>(
    dir: &Path,
    rel: &str,
    missing: &mut Vec<String>,
) -> Vec<T> {
    read(&dir.join(rel)).unwrap_or_else(|_| {
        missing.push(rel.to_string());
        Vec::new()
    })
}

fn read<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T, String> {
    let b = std::fs::read(p).map_err(|e| e.to_string())?;
    serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", p.display()))
}
