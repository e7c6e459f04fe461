//! The sampler against a fixture with a known number of threads, a known
//! number of them busy.

mod common;
use common::*;

#[test]
fn counts_threads_exactly_and_sees_the_busy_ones_runnable() {
    let lab = Lab::new("sampler");
    // 6 extra threads, 2 spinning, for 1.5 s.
    lab.scenario(
        "th",
        "scenario: th\nincident: i\nruntimes: [threads]\nduration: 1500ms\ngrid: { mode: [threads], threads: [6], busy: [2] }\n",
    );
    let (run, _) = lab.run_ok("th");
    let pts = points(&run, "th");
    let p = find(&pts, "mode-threads_threads-6_busy-2", 1);
    assert_eq!(p["outcome"], "ok", "{p}");
    let m = &p["metrics"];
    // Exactly 6 + the main thread: the fixture starts nothing else, and the
    // sampler reads /proc/<pid>/status Threads, an exact count.
    assert_eq!(m["threads_peak"], 7.0, "{m}");
    // The 2 spinning threads are in state R (running or runnable) whenever
    // they are looked at; over 1.5 s at least one scan sees both. (The
    // sleeping ones may also be caught in R when they wake, hence >=.)
    assert!(m["r_threads_max"].as_f64().unwrap() >= 2.0, "{m}");
    assert!(m["threads_at_load_start"].as_f64().unwrap() >= 1.0, "{m}");
    assert!(
        m["cores_max"].as_f64().unwrap() > 0.0,
        "2 spinning threads use CPU: {m}"
    );
    // The scenario's own summary is merged in.
    assert_eq!(m["fixture_busy"], 2.0, "{m}");
}
