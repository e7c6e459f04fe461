//! Bad input: exit code 2, a message that says where and what, never a
//! panic. And the commands that only read.

mod common;
use common::*;

const OK: &str = r#"scenario: good
incident: "fine"
runtimes: [tokio, gmp]
duration: 200ms
grid:
  mode: [idle]
  procs: [1, 2]
quick:
  grid: { mode: [idle], procs: [1] }
verdicts:
  - id: idle_ok
    claim: "idle ends with its summary"
    expect: "fixture_value == 42"
    holds: reproduced
"#;

#[test]
fn bad_yaml_gives_file_line_column() {
    let lab = Lab::new("badyaml");
    lab.scenario("good", OK);
    lab.scenario(
        "bad",
        &OK.replace("scenario: good", "scenario: bad")
            .replace("duration: 200ms", "duration: 200ms\nrepeets: 2"),
    );
    let o = lab.run(&["run", "bad"]);
    assert_user_error(
        &o,
        &["scenarios/bad/sweep.yaml:5:1: unknown field `repeets`"],
    );
    // `list` shows the good one and reports the bad one.
    let o = lab.run(&["list"]);
    assert_user_error(&o, &["sweep.yaml:5:1"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("good"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_predicate_gives_file_line_column() {
    let lab = Lab::new("badpred");
    lab.scenario(
        "bp",
        &OK.replace("scenario: good", "scenario: bp")
            .replace("fixture_value == 42", "fixture_value = 42"),
    );
    let o = lab.run(&["run", "bp"]);
    // Line 13 is `    expect: "fixture_value = 42"`; the `=` is its 15th
    // character, the predicate starts at column 14 -> 14 + 15 - 1 = 28.
    assert_user_error(
        &o,
        &[
            "scenarios/bp/sweep.yaml:13:28: verdicts[0].expect",
            "expected `==`",
        ],
    );
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let lab = Lab::new("unknown");
    lab.scenario("good", OK);
    lab.scenario("other", &OK.replace("scenario: good", "scenario: other"));
    assert_user_error(
        &lab.run(&["run", "nope"]),
        &["unknown scenario `nope`", "good, other"],
    );
    assert_user_error(
        &lab.run(&["run", "good", "--runtime", "java"]),
        &["unknown runtime `java`", "gmp, tokio, go, threads"],
    );
    assert_user_error(
        &lab.run(&["run", "good", "--runtime", "go"]),
        &["no runtime `go`", "tokio, gmp"],
    );
    assert_user_error(
        &lab.run(&["run", "good", "--set", "cpus=1,2"]),
        &["unknown axis `cpus`", "mode, procs"],
    );
    assert_user_error(
        &lab.run(&["run", "good", "--duration", "soon"]),
        &["--duration"],
    );
    // Nothing was run for any of these.
    assert!(!lab.dir.join("results").exists());
}

#[test]
fn missing_binary_names_the_build_command() {
    let lab = Lab::new("nobin");
    lab.scenario("good", OK);
    std::fs::remove_file(lab.dir.join("bin/good")).unwrap();
    assert_user_error(&lab.run(&["run", "good"]), &["cargo build", "-p good"]);
}

#[test]
fn help_everywhere() {
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["run-all", "--help"],
        vec!["report", "--help"],
        vec!["list", "--help"],
        vec!["compare", "--help"],
        vec!["merge", "--help"],
    ] {
        let o = std::process::Command::new(SCHEDLAB)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    // run-all's --out says what run-all writes, not run's folder.
    let o = std::process::Command::new(SCHEDLAB)
        .args(["run-all", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("results/<time>-all") && help.contains("a folder per scenario"),
        "{help}"
    );
    let o = std::process::Command::new(FIXTURE)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn quick_set_and_report_on_a_stored_run() {
    let lab = Lab::new("quickset");
    lab.scenario("good", OK);
    let o = lab.run(&[
        "run",
        "good",
        "--quick",
        "--runtime",
        "tokio",
        "--set",
        "procs=3,4",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains("idle_ok") && out.contains("reproduced"),
        "verdict table: {out}"
    );
    // The run went under results/; `report` without a dir finds it.
    let runs: Vec<_> = std::fs::read_dir(lab.dir.join("results"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    assert_eq!(runs.len(), 1);
    // Beside it, the index of all runs links to its report.
    let index = std::fs::read_to_string(lab.dir.join("results/index.html")).unwrap();
    let name = runs[0].file_name().into_string().unwrap();
    assert!(index.contains(&format!("{name}/report.html")), "{index}");
    let run = runs[0].path();
    let ids: Vec<String> = points(&run, "good")
        .iter()
        .map(|p| p["point_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec!["mode-idle_procs-3", "mode-idle_procs-4"]);
    let meta = read_json(&run.join("run.json"));
    assert_eq!(meta["quick"], true);
    assert_eq!(meta["sweeps"][0]["runtimes"], serde_json::json!(["tokio"]));
    // Recompute from the stored files only.
    std::fs::remove_file(run.join("summary.csv")).unwrap();
    std::fs::remove_file(run.join("medians.csv")).unwrap();
    std::fs::remove_file(run.join("verdicts.json")).unwrap();
    let o = lab.run(&["report"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let csv = std::fs::read_to_string(run.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2, "header, 2 rows:\n{csv}");
    let med = std::fs::read_to_string(run.join("medians.csv")).unwrap();
    assert_eq!(med.lines().count(), 1 + 2, "header, 2 medians:\n{med}");
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("good,mode-idle_procs-3,tokio,1,ok,"),
        "{csv}"
    );
    let v = read_json(&run.join("verdicts.json"));
    assert_eq!(v[0]["status"], "reproduced", "{v}");
}

#[test]
fn run_all_runs_every_scenario_into_one_run() {
    let lab = Lab::new("runall");
    lab.scenario("good", OK);
    lab.scenario(
        "second",
        "scenario: second\nincident: \"another one\"\nruntimes: [threads]\nduration: 100ms\ngrid: { mode: [exit3] }\n",
    );
    let o = lab.run(&["list"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        listed.contains("good") && listed.contains("tokio,gmp") && listed.contains("another one"),
        "{listed}"
    );
    let head: Vec<&str> = listed.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(head, ["SCENARIO", "RUNTIMES", "GO", "INCIDENT"], "{listed}");
    // --json: the same scenarios, machine-readable.
    let o = lab.run(&["list", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("list --json is JSON");
    let rows = v.as_array().expect("an array");
    assert_eq!(rows.len(), 2, "{v}");
    let second = rows.iter().find(|r| r["name"] == "second").expect("second");
    assert_eq!(second["runtimes"], serde_json::json!(["threads"]));
    assert_eq!(second["incident"], "another one");
    assert_eq!(second["go_reference"], false);

    let run = lab.out("all");
    let o = lab.run(&["run-all", "--quick", "--out", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // good: quick grid has 1 point × 2 runtimes; second: 1 point that crashes.
    assert_eq!(points(&run, "good").len(), 2);
    let second = points(&run, "second");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["outcome"], "crash");
    let meta = read_json(&run.join("run.json"));
    assert_eq!(meta["sweeps"].as_array().unwrap().len(), 2);
}

#[test]
fn check_exits_3_when_a_verdict_does_not_hold_and_0_when_all_do() {
    let lab = Lab::new("check");
    lab.scenario("good", OK);
    let o = lab.run(&["run", "good", "--quick", "--runtime", "tokio", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    lab.scenario(
        "wrong",
        &OK.replace("scenario: good", "scenario: wrong")
            .replace("fixture_value == 42", "fixture_value == 41"),
    );
    let o = lab.run(&["run", "wrong", "--quick", "--runtime", "tokio", "--check"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        stderr(&o).contains("wrong idle_ok on tokio: not reproduced"),
        "{}",
        text(&o)
    );
    // Without --check the same run is a success: verdicts are results.
    let o = lab.run(&["run", "wrong", "--quick", "--runtime", "tokio"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn report_on_a_folder_that_is_not_a_run_names_what_is_missing() {
    let lab = Lab::new("notarun");
    let dir = lab.out("plain");
    std::fs::create_dir_all(&dir).unwrap();
    let o = lab.run(&["report", dir.to_str().unwrap()]);
    assert_user_error(
        &o,
        &[
            "not a run directory",
            "run.json is missing",
            "one folder per scenario",
        ],
    );
    // A path that does not exist: the same, no panic.
    let o = lab.run(&["report", lab.out("nowhere").to_str().unwrap()]);
    assert_user_error(&o, &["nowhere: not a run directory", "run.json is missing"]);
}

#[test]
fn report_on_a_run_json_alone_says_the_scenario_folders_are_missing() {
    let lab = Lab::new("runjsonalone");
    lab.scenario("good", OK);
    let run = lab.out("run");
    let o = lab.run(&[
        "run",
        "good",
        "--quick",
        "--runtime",
        "tokio",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The whole run directory: no note.
    let o = lab.run(&["report", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!stderr(&o).contains("no scenario folder"), "{}", text(&o));
    // run.json copied without its scenario folder: still a report, and a
    // note naming what is missing.
    let alone = lab.out("alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(run.join("run.json"), alone.join("run.json")).unwrap();
    let o = lab.run(&["report", alone.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("run.json but no scenario folder (good/)") && !e.contains("panicked"),
        "{}",
        text(&o)
    );
}
