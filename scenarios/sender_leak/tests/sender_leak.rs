//! The sender_leak binary end to end, one short point per assertion, and
//! its sweep.yaml's verdicts against figures of the shape it measures.
//!
//! No timing assertions. The bounds are counts, and generous:
//! * a leak is judged against the binary's own `expected_leak` (sends that
//!   could not fit in the buffer), so a slow, loaded machine that started
//!   fewer senders than the ideal 1 per ms still has to leak >= 90 % of
//!   the ones it started; the tests also ask for at least 100 expected (a
//!   run of 1.5 s at 1 ms has ~1,500);
//! * "flat" is at most 20 senders in flight at the end (a fixed sender
//!   finishes within microseconds; 20 leaves room for a descheduled one);
//! * the pool bounds the parked senders at exactly its 100 tokens.

use scenario_kit::testing::{self, MetricsTo};
use schedlab_protocol::metrics::{Line, Value};
use std::collections::BTreeMap;

const BIN: &str = env!("CARGO_BIN_EXE_sender_leak");

struct Run {
    lines: Vec<Line>,
    summary: BTreeMap<String, f64>,
}

impl Run {
    fn m(&self, name: &str) -> f64 {
        *self
            .summary
            .get(name)
            .unwrap_or_else(|| panic!("summary has no {name}: {:?}", self.summary))
    }

    fn event(&self, kind: &str) -> Option<&str> {
        testing::event(&self.lines, kind)
    }
}

/// Runs one point (metrics on stdout) and checks the protocol's shape.
fn run(runtime: &str, variant: &str, extra: &[&str]) -> Run {
    let variant_set = format!("variant={variant}");
    let mut sets = vec![variant_set.as_str()];
    sets.extend_from_slice(extra);
    let mut args = testing::args(runtime, "1500ms", &sets);
    args.extend(["--sample-ms".into(), "50".into()]);
    let run = testing::run(BIN, &args, MetricsTo::Stdout);
    run.assert_success(&format!("{runtime} {variant}"));
    let lines = run.lines;
    match lines.first() {
        Some(Line::Hello {
            scenario, params, ..
        }) => {
            assert_eq!(scenario, "sender_leak");
            assert_eq!(params.get("variant"), Some(&Value::Str(variant.into())));
        }
        other => panic!("first line is not hello: {other:?}"),
    }
    let summary = testing::summary(&lines).clone();
    let samples = lines.iter().filter(|l| matches!(l, Line::Sample { .. }));
    assert!(samples.count() >= 1, "at least one sample line");
    Run { lines, summary }
}

fn assert_leaks(r: &Run, what: &str) {
    let expected = r.m("expected_leak");
    assert!(
        expected >= 100.0,
        "{what}: too few sends to judge: {:?}",
        r.summary
    );
    assert!(
        r.m("leaked_senders") >= 0.9 * expected,
        "{what}: {:?}",
        r.summary
    );
    let alive = r.m("goroutines_end") - r.m("goroutines_start");
    assert!(
        alive >= 0.9 * expected,
        "{what}: the runtime's own count: {:?}",
        r.summary
    );
    assert!(r.m("leak_ratio") >= 0.9, "{what}");
}

fn assert_flat(r: &Run, what: &str) {
    assert!(
        r.m("sends") >= 100.0,
        "{what}: too few sends: {:?}",
        r.summary
    );
    assert_eq!(r.m("expected_leak"), 0.0, "{what}");
    assert!(r.m("leaked_senders") <= 20.0, "{what}: {:?}", r.summary);
    let alive = r.m("goroutines_end") - r.m("goroutines_start");
    assert!(
        alive <= 20.0,
        "{what}: the runtime's own count: {:?}",
        r.summary
    );
}

#[test]
fn tokio_leak_grows_and_the_fixes_stay_flat() {
    assert_leaks(&run("tokio", "leak", &[]), "tokio leak");
    assert_flat(&run("tokio", "fixed_flag", &[]), "tokio fixed_flag");
    assert_flat(&run("tokio", "fixed_done", &[]), "tokio fixed_done");
}

#[test]
fn gmp_leak_grows_and_its_dump_names_the_send_site() {
    let r = run("gmp", "leak", &[]);
    assert_leaks(&r, "gmp leak");
    let dump = r.event("goroutine_dump").expect("a goroutine_dump event");
    let line = dump
        .lines()
        .find(|l| l.contains("@ chan send, created at scenarios/sender_leak/src/main.rs:"))
        .unwrap_or_else(|| panic!("no chan send group in the dump:\n{dump}"));
    let n: f64 = line.split(" @").next().unwrap().trim().parse().unwrap();
    assert!(n >= 0.9 * r.m("expected_leak"), "{line} vs {:?}", r.summary);
    assert!(r.m("bytes_per_goroutine") > 0.0);
}

#[test]
fn gmp_fixes_stay_flat() {
    assert_flat(&run("gmp", "fixed_flag", &[]), "gmp fixed_flag");
    assert_flat(&run("gmp", "fixed_done", &[]), "gmp fixed_done");
}

#[test]
fn threads_leak_threads() {
    let r = run("threads", "leak", &[]);
    assert_leaks(&r, "threads leak"); // goroutines_* are OS threads here
    assert_flat(&run("threads", "fixed_flag", &[]), "threads fixed_flag");
}

/// The pool parks exactly its 100 tokens' worth of senders, and the
/// producer then blocks: most ticks start nothing.
#[test]
fn pool_turns_the_leak_into_back_pressure() {
    for rt in ["tokio", "gmp", "threads"] {
        let r = run(rt, "pool", &[]);
        assert!(r.m("leaked_senders") <= 100.0, "{rt}: {:?}", r.summary);
        assert!(r.m("leaked_senders") >= 90.0, "{rt}: {:?}", r.summary);
        assert!(r.m("sends") <= 5.0 + 100.0, "{rt}: {:?}", r.summary);
        let late = r.m("ticks_due") - 105.0;
        assert!(
            r.m("backpressure_ticks") >= 0.9 * late,
            "{rt}: {:?}",
            r.summary
        );
    }
}

#[test]
fn a_small_flood_leaks_every_sender() {
    let r = run("gmp", "flood", &["flood_n=20000"]);
    assert_eq!(r.m("sends"), 20000.0);
    assert!(r.m("leaked_senders") >= 0.9 * r.m("expected_leak"));
    assert!(r.m("flood_s") > 0.0 && r.m("bytes_per_goroutine") > 0.0);
}

#[test]
fn user_mistakes_exit_2_with_a_message() {
    for (args, want) in [
        (
            &["--runtime", "threads", "--set", "variant=flood"][..],
            "not on threads",
        ),
        (
            &["--runtime", "tokio", "--set", "cap=0"],
            "capacity of at least 1",
        ),
        (
            &["--runtime", "tokio", "--set", "variant=drip"],
            "leak, fixed_flag",
        ),
        (&["--runtime", "tokio", "--set", "period=1"], "valid keys"),
        (&["--runtime", "go"], "reference/go/sender_leak"),
    ] {
        testing::assert_usage_error(BIN, args, want);
    }
}

/// The verdicts judge figures of the shape the binary writes: true for a
/// leak and a flat fix, false for the opposite.
#[test]
fn sweep_verdicts_judge_leaks_and_fixes() {
    let sweep = testing::load_sweep(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(sweep.scenario, "sender_leak");
    let judge = |runtime: &str, variant: &str, m: &[(&str, f64)]| -> Vec<(String, bool)> {
        let params = testing::params(&[
            ("variant", Value::Str(variant.into())),
            ("cap", Value::Num(5.0)),
        ]);
        let metrics = testing::metrics(m);
        testing::judge(&sweep, &testing::point_context(runtime, &params, &metrics))
    };
    let leak = |leaked: f64, alive: f64| {
        judge(
            "gmp",
            "leak",
            &[
                ("leaked_senders", leaked),
                ("expected_leak", 1995.0),
                ("goroutines_start", 2.0),
                ("goroutines_end", 2.0 + alive),
            ],
        )
    };
    assert_eq!(leak(1995.0, 1995.0), [("leak_grows".to_string(), true)]);
    assert_eq!(leak(1995.0, 10.0), [("leak_grows".to_string(), false)]);
    let fixed = |leaked: f64| {
        judge(
            "tokio",
            "fixed_done",
            &[
                ("leaked_senders", leaked),
                ("goroutines_start", 2.0),
                ("goroutines_end", 2.0 + leaked),
            ],
        )
    };
    assert_eq!(fixed(0.0), [("fixed_done_flat".to_string(), true)]);
    assert_eq!(fixed(500.0), [("fixed_done_flat".to_string(), false)]);
    let pool = judge(
        "go",
        "pool",
        &[
            ("leaked_senders", 100.0),
            ("backpressure_ticks", 1895.0),
            ("ticks_due", 2000.0),
        ],
    );
    assert_eq!(
        pool,
        [
            ("pool_bounded".to_string(), true),
            ("pool_backpressure".to_string(), true)
        ]
    );
}
