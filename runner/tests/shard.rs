//! `--shard K/N` and `schedlab merge`: N shards merged give the analysis
//! of one run of the same plan (verdicts, fidelity rows, points).

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const PLAN: &str = r#"scenario: sh
incident: "shards"
runtimes: [gmp, go]
duration: 50ms
repeats: 2
grid:
  mode: [idle, exit3]
  procs: [1, 2, 3]
verdicts:
  - id: value
    claim: "idle points say 42"
    where: "mode == 'idle'"
    expect: "fixture_value == 42"
    holds: reproduced
  - id: everywhere
    claim: "every point says 42 (the exit3 ones have no data)"
    expect: "fixture_value == 42"
    holds: reproduced
fidelity:
  - metric: fixture_value
    tolerance: 0
"#;

fn run(lab: &Lab, go: &Path, args: &[&str]) -> std::process::Output {
    let o = lab.cmd(args).env("GO", go).output().unwrap();
    assert!(matches!(o.status.code(), Some(0)), "{args:?}: {}", text(&o));
    o
}

/// What must agree between one run and merged shards: everything but
/// timings.
fn points_key(run: &Path) -> Vec<(String, String, u64, String, Value, Option<f64>)> {
    points(run, "sh")
        .iter()
        .map(|p| {
            (
                p["point_id"].as_str().unwrap().to_string(),
                p["runtime"].as_str().unwrap().to_string(),
                p["repeat"].as_u64().unwrap(),
                p["outcome"].as_str().unwrap().to_string(),
                p["params"].clone(),
                p["metrics"]["fixture_value"].as_f64(),
            )
        })
        .collect()
}

#[test]
fn merging_shards_gives_the_analysis_of_one_run() {
    let lab = Lab::new("shard");
    lab.scenario("sh", PLAN);
    let go = lab.fake_go("sh");
    let whole = lab.out("whole");
    run(&lab, &go, &["run", "sh", "--out", whole.to_str().unwrap()]);

    let mut shards = Vec::new();
    let mut ids_seen: BTreeSet<String> = BTreeSet::new();
    for k in 1..=3 {
        let dir = lab.out(&format!("s{k}"));
        run(
            &lab,
            &go,
            &[
                "run",
                "sh",
                "--shard",
                &format!("{k}/3"),
                "--out",
                dir.to_str().unwrap(),
            ],
        );
        assert_eq!(read_json(&dir.join("run.json"))["shard"], format!("{k}/3"));
        // A point's runtimes and repeats stay in its shard.
        let pts = points(&dir, "sh");
        let ids: BTreeSet<String> = pts
            .iter()
            .map(|p| p["point_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 2, "6 points over 3 shards: {ids:?}");
        assert_eq!(pts.len(), ids.len() * 2 * 2, "both runtimes, both repeats");
        assert!(ids.is_disjoint(&ids_seen), "shards overlap: {ids:?}");
        ids_seen.extend(ids);
        shards.push(dir);
    }
    assert_eq!(ids_seen.len(), 6);

    let merged = lab.out("merged");
    let mut args = vec!["merge".to_string()];
    args.extend(shards.iter().map(|s| s.display().to_string()));
    args.extend(["--out".into(), merged.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&lab, &go, &args);
    assert!(String::from_utf8_lossy(&o.stdout).contains("merged 3 run directories"));

    assert_eq!(
        read_json(&merged.join("verdicts.json")),
        read_json(&whole.join("verdicts.json"))
    );
    let fid = read_json(&merged.join("fidelity.json"));
    assert_eq!(fid.as_array().unwrap().len(), 6, "{fid}");
    assert_eq!(fid, read_json(&whole.join("fidelity.json")));
    assert_eq!(points_key(&merged), points_key(&whole));
    let meta = read_json(&merged.join("run.json"));
    assert_eq!(meta["status"], "complete");
    assert_eq!(meta["merged_from"].as_array().unwrap().len(), 3);
    assert!(merged.join("report.html").is_file());

    // A shard twice, a missing shard, another plan.
    let s = |i: usize| shards[i].to_str().unwrap();
    let o = lab.run(&[
        "merge",
        s(0),
        s(0),
        "--out",
        lab.out("m2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("shard 1/3 is given twice"));
    let o = lab.run(&[
        "merge",
        s(0),
        s(1),
        "--out",
        lab.out("m3").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("shard(s) 3/3 missing"));
    let other = lab.out("other");
    run(
        &lab,
        &go,
        &[
            "run",
            "sh",
            "--set",
            "procs=1",
            "--shard",
            "3/3",
            "--out",
            other.to_str().unwrap(),
        ],
    );
    let o = lab.run(&[
        "merge",
        s(0),
        other.to_str().unwrap(),
        "--out",
        lab.out("m4").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("different sweeps"));
}

#[test]
fn bad_shard_specs_are_refused() {
    let lab = Lab::new("badshard");
    lab.scenario("sh", PLAN);
    for bad in ["0/3", "4/3", "x/3", "3", "1/0"] {
        let o = lab.run(&["run", "sh", "--shard", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("expected K/N"),
            "{bad}: {}",
            text(&o)
        );
    }
}
