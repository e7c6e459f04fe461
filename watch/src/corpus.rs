//! The lab's own binaries as the test corpus of `watch`.
//!
//! Every buggy variant of the five scenarios must be named as its own
//! failure within 10 s, on gmp and on go, and on tokio where tokio shows a
//! symptom; every fixed variant and the baseline must be "no known
//! failure". [`CASES`] lists them; [`run`] watches each one launched fresh
//! and prints the confusion matrix (true failure × named).
//!
//! Each case runs its scenario longer than the watch (`--duration` above
//! `--for`), so what is watched is the failure itself, not an exit.
//! timer_stw's buggy case raises the model's own watchdog limit so the
//! process stays hung (its watchdog would otherwise end it 3 s after the
//! hang), and uses procs 4 with 8 timer goroutines: the full profile's
//! fastest hang (median 0.06 s, at most 0.25 s in 20 runs).

use crate::signatures::Signature;
use crate::watch::{self, Options, Target};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

/// One launched program and the label it should get.
#[derive(Debug, Clone)]
pub struct Case {
    pub expect: Signature,
    pub scenario: &'static str,
    pub runtime: &'static str,
    pub params: &'static [&'static str],
    /// In `make test`'s quick slice.
    pub quick: bool,
    /// Watch with `--pprof` too (the Go program serves it on a free port).
    pub pprof: bool,
}

const fn case(
    expect: Signature,
    scenario: &'static str,
    runtime: &'static str,
    params: &'static [&'static str],
    quick: bool,
) -> Case {
    Case {
        expect,
        scenario,
        runtime,
        params,
        quick,
        pprof: false,
    }
}

/// A Go case watched with `--pprof` as well.
const fn with_pprof(c: Case) -> Case {
    Case { pprof: true, ..c }
}

use Signature as S;

/// The corpus. Variant names are each scenario's own (`--help`).
pub const CASES: &[Case] = &[
    case(S::None, "baseline", "gmp", &["procs=2"], true),
    case(S::None, "baseline", "tokio", &["procs=2"], false),
    case(S::None, "baseline", "go", &["procs=2"], false),
    case(S::DupFd, "dup_fd", "gmp", &["variant=bug"], true),
    case(S::DupFd, "dup_fd", "go", &["variant=bug"], false),
    case(S::DupFd, "dup_fd", "tokio", &["variant=bug"], false),
    case(S::None, "dup_fd", "gmp", &["variant=fixed"], false),
    case(S::None, "dup_fd", "go", &["variant=fixed"], false),
    case(S::None, "dup_fd", "tokio", &["variant=fixed"], false),
    case(S::Leak, "sender_leak", "gmp", &["variant=leak"], true),
    case(S::Leak, "sender_leak", "go", &["variant=leak"], false),
    with_pprof(case(S::Leak, "sender_leak", "go", &["variant=leak"], false)),
    case(S::Leak, "sender_leak", "tokio", &["variant=leak"], false),
    case(S::Leak, "sender_leak", "threads", &["variant=leak"], false),
    case(
        S::None,
        "sender_leak",
        "gmp",
        &["variant=fixed_flag"],
        false,
    ),
    case(S::None, "sender_leak", "go", &["variant=fixed_flag"], false),
    case(
        S::None,
        "sender_leak",
        "tokio",
        &["variant=fixed_done"],
        false,
    ),
    case(
        S::FfiCap,
        "ffi_cap",
        "gmp",
        &["mode=ffi", "procs=1", "n=5"],
        true,
    ),
    case(
        S::FfiCap,
        "ffi_cap",
        "go",
        &["mode=ffi", "procs=1", "n=5"],
        false,
    ),
    case(
        S::FfiCap,
        "ffi_cap",
        "tokio",
        &["mode=spawn_blocking", "procs=1", "n=5"],
        false,
    ),
    case(
        S::None,
        "ffi_cap",
        "gmp",
        &["mode=locked", "procs=1", "n=5"],
        false,
    ),
    case(
        S::None,
        "ffi_cap",
        "go",
        &["mode=locked", "procs=1", "n=5"],
        false,
    ),
    case(
        S::Syscalls,
        "syscalls",
        "gmp",
        &["mode=wrapped", "d_us=1000", "k=6", "procs=1"],
        true,
    ),
    case(
        S::Syscalls,
        "syscalls",
        "go",
        &["mode=wrapped", "d_us=1000", "k=6", "procs=1"],
        false,
    ),
    case(
        S::Syscalls,
        "syscalls",
        "tokio",
        &["mode=spawn_blocking", "d_us=1000", "k=6", "procs=1"],
        false,
    ),
    case(
        S::None,
        "syscalls",
        "gmp",
        &["mode=wrapped", "d_us=0", "k=6", "procs=1"],
        false,
    ),
    case(
        S::None,
        "syscalls",
        "go",
        &["mode=wrapped", "d_us=0", "k=6", "procs=1"],
        false,
    ),
    case(
        S::StuckStw,
        "timer_stw",
        "gmp",
        &[
            "timers=go1.14.1",
            "procs=4",
            "timer_goroutines=8",
            "stall_limit_ms=600000",
        ],
        true,
    ),
    case(
        S::None,
        "timer_stw",
        "gmp",
        &["timers=go1.19", "procs=4", "timer_goroutines=8"],
        false,
    ),
    case(
        S::None,
        "timer_stw",
        "go",
        &["procs=4", "timer_goroutines=8"],
        false,
    ),
];

/// How long each case is watched, and how long its scenario runs.
pub const WATCH_FOR: Duration = Duration::from_secs(10);
pub const RUN_FOR: Duration = Duration::from_secs(14);

/// One case's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub case: Case,
    /// What watch named, or why the case could not run.
    pub named: Result<Signature, String>,
    pub evidence: String,
}

/// The command line that launches a case, given the binary.
pub fn command(bin: &std::path::Path, c: &Case) -> Vec<String> {
    let mut v = vec![
        bin.display().to_string(),
        "--runtime".into(),
        c.runtime.into(),
        "--duration".into(),
        format!("{}ms", RUN_FOR.as_millis()),
    ];
    for p in c.params {
        v.push("--set".into());
        v.push((*p).into());
    }
    v
}

/// Watches every case (the quick slice only, when `quick`); `resolve`
/// finds a scenario's binary for a runtime (or says why it cannot);
/// `progress` hears of each case as it ends.
pub fn run(
    quick: bool,
    only: Option<&str>,
    resolve: &dyn Fn(&str, &str) -> Result<PathBuf, String>,
    progress: &mut dyn FnMut(usize, usize, &Outcome),
) -> Vec<Outcome> {
    let cases = select(quick, only);
    let mut out = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let o = run_case(c, resolve);
        progress(i + 1, cases.len(), &o);
        out.push(o);
        if watch::interrupted() {
            break;
        }
    }
    out
}

/// The cases to run: all, the quick slice, and/or one scenario's.
pub fn select(quick: bool, only: Option<&str>) -> Vec<&'static Case> {
    CASES
        .iter()
        .filter(|c| !quick || c.quick)
        .filter(|c| only.is_none_or(|o| c.scenario == o))
        .collect()
}

fn run_case(c: &Case, resolve: &dyn Fn(&str, &str) -> Result<PathBuf, String>) -> Outcome {
    let bin = match resolve(c.scenario, c.runtime) {
        Ok(b) => b,
        Err(e) => {
            return Outcome {
                case: c.clone(),
                named: Err(e),
                evidence: String::new(),
            };
        }
    };
    let mut opts = Options {
        target: Target::Command(command(&bin, c)),
        duration: WATCH_FOR,
        every: Duration::from_secs(1),
        stacks: false,
        pprof: None,
        quiet_child: true,
        child_env: Vec::new(),
    };
    if c.pprof {
        // A port the kernel just gave us and we let go of.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or(0, |a| a.port());
        let addr = format!("127.0.0.1:{port}");
        opts.child_env
            .push(("SCHEDLAB_PPROF_ADDR".into(), addr.clone()));
        opts.pprof = Some(format!("http://{addr}"));
    }
    match watch::watch(&opts, |_, _| {}) {
        Ok(r) => Outcome {
            case: c.clone(),
            named: Ok(r.verdict.signature),
            evidence: r.verdict.evidence.join("; "),
        },
        Err(e) => Outcome {
            case: c.clone(),
            named: Err(e.to_string()),
            evidence: String::new(),
        },
    }
}

/// The matrix: rows true failure, columns named, then the per-case lines.
pub fn matrix(outcomes: &[Outcome]) -> String {
    let labels: Vec<Signature> = Signature::ALL.to_vec();
    let mut s = String::new();
    let w = 12;
    let _ = write!(s, "{:<w$}", "true \\ named");
    for l in &labels {
        let _ = write!(s, "{:>w$}", l.id());
    }
    let _ = writeln!(s, "{:>w$}", "not run");
    for row in &labels {
        let mine: Vec<&Outcome> = outcomes.iter().filter(|o| o.case.expect == *row).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = write!(s, "{:<w$}", row.id());
        for col in &labels {
            let n = mine.iter().filter(|o| o.named.as_ref() == Ok(col)).count();
            let _ = write!(s, "{:>w$}", n);
        }
        let n = mine.iter().filter(|o| o.named.is_err()).count();
        let _ = writeln!(s, "{:>w$}", n);
    }
    let right = outcomes
        .iter()
        .filter(|o| o.named.as_ref() == Ok(&o.case.expect))
        .count();
    let ran = outcomes.iter().filter(|o| o.named.is_ok()).count();
    let _ = writeln!(
        s,
        "\n{right} of {ran} cases named correctly ({} not run)",
        outcomes.len() - ran
    );
    s
}

/// One line per case.
pub fn case_line(o: &Outcome) -> String {
    let what = format!(
        "{} {} {}{}",
        o.case.scenario,
        o.case.runtime,
        o.case.params.join(" "),
        if o.case.pprof { " --pprof" } else { "" }
    );
    match &o.named {
        Ok(n) if *n == o.case.expect => format!("ok    {what:<70} -> {}", n.id()),
        Ok(n) => format!(
            "MISS  {what:<70} -> {} (expected {}): {}",
            n.id(),
            o.case.expect.id(),
            o.evidence
        ),
        Err(e) => format!("SKIP  {what:<70} -> not run: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_buggy_scenario_has_a_case_and_a_quick_one() {
        for s in [S::DupFd, S::Leak, S::FfiCap, S::Syscalls, S::StuckStw] {
            assert!(CASES.iter().any(|c| c.expect == s && c.quick), "{s:?}");
            assert!(
                CASES.iter().any(|c| c.expect == s && c.runtime == "go") || s == S::StuckStw,
                "{s:?} has no go case"
            );
        }
        assert!(CASES.iter().any(|c| c.expect == S::None && c.quick));
    }

    #[test]
    fn the_matrix_counts_rows_and_misses() {
        let o = |expect, named: Result<Signature, String>| Outcome {
            case: Case {
                expect,
                ..CASES[0].clone()
            },
            named,
            evidence: String::new(),
        };
        let m = matrix(&[
            o(S::DupFd, Ok(S::DupFd)),
            o(S::DupFd, Ok(S::None)),
            o(S::None, Err("no go".into())),
        ]);
        assert!(
            m.contains("1 of 2 cases named correctly (1 not run)"),
            "{m}"
        );
        let row = m.lines().find(|l| l.starts_with("dup_fd")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        // dup_fd row: timer_stw 0, dup_fd 1, ffi_cap 0, syscalls 0, leak 0, none 1, not run 0
        assert_eq!(cells[1..], ["0", "1", "0", "0", "0", "1", "0"]);
    }
}
