//! The default profile of every scenario (what `make run-all` runs) keeps
//! every verdict and every fidelity comparison of its full profile: each
//! (verdict, runtime) the full grid judges matches at least one point of
//! the default grid, and each fidelity spec at least one point gmp and go
//! share. (The quick profile is not: it leaves out what takes long, such
//! as dup_fd's 10,000 connections and sender_leak's flood.)

use schedlab_protocol::predicate::{MapContext, Predicate};
use schedlab_protocol::sweep::{PointSpec, ProfileName, Sweep};
use std::path::Path;

fn holds(filter: &Option<String>, p: &PointSpec, runtime: Option<&str>) -> bool {
    let Some(src) = filter else { return true };
    let pred = Predicate::parse(src).expect("validated at load");
    let mut ctx = MapContext::new().with_params(&p.params);
    if let Some(r) = runtime {
        ctx = ctx.with_runtime(r);
    }
    pred.eval(&ctx).unwrap_or(false)
}

/// What a profile can judge: (verdict id, runtime) pairs and fidelity
/// specs (by index) with at least one point.
fn judged(sweep: &Sweep, profile: ProfileName) -> (Vec<(String, String)>, Vec<usize>) {
    let mut s = sweep.clone();
    s.apply_profile(profile).expect("profile exists");
    let points = s.expand(&s.runtimes).expect("expands");
    let mut verdicts = Vec::new();
    for v in &s.verdicts {
        for rt in &s.runtimes {
            if points
                .iter()
                .any(|p| &p.runtime == rt && holds(&v.filter, p, Some(rt)))
            {
                verdicts.push((v.id.clone(), rt.clone()));
            }
        }
    }
    let shared: Vec<&PointSpec> = points
        .iter()
        .filter(|p| {
            p.runtime == "gmp"
                && points
                    .iter()
                    .any(|q| q.runtime == "go" && q.point_id == p.point_id)
        })
        .collect();
    let fidelity = (0..s.fidelity.len())
        .filter(|i| {
            shared
                .iter()
                .any(|p| holds(&s.fidelity[*i].filter, p, None))
        })
        .collect();
    (verdicts, fidelity)
}

#[test]
fn default_profiles_keep_every_verdict_and_fidelity_row() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut checked = 0;
    for e in std::fs::read_dir(root.join("scenarios")).unwrap().flatten() {
        let path = e.path().join("sweep.yaml");
        if !path.is_file() {
            continue;
        }
        let sweep = Sweep::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let (full_v, full_f) = judged(&sweep, ProfileName::Full);
        let (def_v, def_f) = judged(&sweep, ProfileName::Default);
        for v in &full_v {
            assert!(
                def_v.contains(v),
                "{}: the default profile has no point for verdict {} on {}",
                sweep.scenario,
                v.0,
                v.1
            );
        }
        for f in &full_f {
            assert!(
                def_f.contains(f),
                "{}: the default profile has no shared point for fidelity[{f}] ({})",
                sweep.scenario,
                sweep.fidelity[*f].metric
            );
        }
        assert!(!full_v.is_empty(), "{}: no verdict at all?", sweep.scenario);
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} scenarios found");
}
