//! `schedlab compare RUN_A RUN_B`: verdicts flipped, fidelity rows won or
//! lost, outcome and metric changes; `--check` exits 3 on a regression.

mod common;
use common::*;

const PLAN: &str = r#"scenario: cmp
incident: "compare"
runtimes: [gmp, go]
duration: 50ms
repeats: 2
grid:
  mode: [idle]
  procs: [1, 2]
verdicts:
  - id: says_42
    claim: "the fixture says 42"
    expect: "fixture_value == 42"
    holds: reproduced
fidelity:
  - metric: fixture_value
    tolerance: 0
"#;

fn run(lab: &Lab, go: &std::path::Path, out: &str, value: Option<&str>) {
    run_with(lab, go, out, value, &[]);
}

fn run_with(lab: &Lab, go: &std::path::Path, out: &str, value: Option<&str>, more: &[&str]) {
    let dir = lab.out(out);
    let mut args = vec!["run", "cmp", "--out", dir.to_str().unwrap()];
    args.extend_from_slice(more);
    let mut c = lab.cmd(&args);
    c.env("GO", go);
    if let Some(v) = value {
        // Both columns are the fixture: both say `v`.
        c.env("SCHEDLAB_FIXTURE_VALUE", v);
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn compare_names_what_changed_and_check_fails_on_a_regression() {
    let lab = Lab::new("compare");
    lab.scenario("cmp", PLAN);
    let go = lab.fake_go("cmp");
    run(&lab, &go, "a", None);
    run(&lab, &go, "b", Some("41"));
    let (a, b) = (lab.out("a"), lab.out("b"));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());

    let o = lab.run(&["compare", a, b, "--min-change", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = stdout(&o);
    assert!(t.contains("verdicts: 2 regressed, 0 improved"), "{t}");
    let line = |needles: &[&str]| t.lines().any(|l| needles.iter().all(|n| l.contains(n)));
    for rt in ["gmp", "go"] {
        assert!(
            line(&[
                "REGRESSED",
                "says_42",
                rt,
                "reproduced (2/2) -> not reproduced (0/2)"
            ]),
            "{t}"
        );
    }
    // Fidelity rows: both sides moved to 41, so gmp vs go still agree.
    assert!(
        t.contains("fidelity: 0 won, 0 lost (2/2 -> 2/2 within tolerance)"),
        "{t}"
    );
    assert!(
        line(&["mode-idle_procs-2", "fixture_value", "42", "41", "-2.4%"]),
        "{t}"
    );
    // Below the default threshold (10%) the 2.4% move is not listed.
    let o = lab.run(&["compare", a, b]);
    assert!(!stdout(&o).contains("fixture_value"), "{}", text(&o));

    let o = lab.run(&["compare", a, b, "--check"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 verdict(s) regressed"));
    let o = lab.run(&["compare", b, a, "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("0 regressed, 2 improved"),
        "{}",
        text(&o)
    );
    let o = lab.run(&["compare", a, a, "--check"]);
    assert!(stdout(&o).contains("0 regressed, 0 improved, 0 changed otherwise, 2 unchanged"));

    let o = lab.run(&["compare", a, b, "--format", "markdown"]);
    assert!(
        stdout(&o).contains("| REGRESSED | cmp | says_42 | gmp |"),
        "{}",
        text(&o)
    );
    let html = lab.out("cmp.html");
    let o = lab.run(&["compare", a, b, "--out", html.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!doctype html>"), "{page}");
    assert!(
        page.contains("<tr class=\"bad\"><td>REGRESSED</td>"),
        "{page}"
    );
    assert!(page.contains("-&gt;"), "escaped: {page}");
}

#[test]
fn a_point_run_once_has_no_spread_so_its_moves_are_only_counted() {
    let lab = Lab::new("compare-once");
    lab.scenario("cmp", PLAN);
    let go = lab.fake_go("cmp");
    run_with(&lab, &go, "a", None, &["--repeats", "1"]);
    run_with(&lab, &go, "b", Some("30"), &["--repeats", "1"]);
    let (a, b) = (lab.out("a"), lab.out("b"));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let o = lab.run(&["compare", a, b]);
    let t = stdout(&o);
    assert!(
        t.contains("more moved >= 10% where one side has a single run"),
        "{t}"
    );
    assert!(!t.contains("fixture_value"), "{t}");
    let o = lab.run(&["compare", a, b, "--include-single"]);
    let t = stdout(&o);
    assert!(
        t.lines().any(|l| l.contains("fixture_value")
            && l.contains("42 (1 run)")
            && l.contains("-28.6%")),
        "{t}"
    );
}

#[test]
fn compare_needs_two_analysed_runs() {
    let lab = Lab::new("compare-bad");
    let o = lab.run(&["compare", "/nonexistent/a", "/nonexistent/b"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a run directory"));
}
