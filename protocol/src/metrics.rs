//! The metrics protocol: what a scenario process tells the runner.
//!
//! Version 1. One JSON object per line, `"type"` first, written to the file
//! descriptor whose number is in `SCHEDLAB_METRICS_FD` (stdout and stderr
//! stay for humans). Without that variable (a human running the binary by
//! hand) a scenario writes the lines to stdout.
//!
//! Order of lines from a scenario: exactly one `hello` first; then any
//! number of `phase`, `sample` and `event` lines; exactly one `summary` last
//! (a process that dies before it simply has none: the runner records the
//! outcome). `t_ms` is milliseconds since the scenario process started, as a
//! float.
//!
//! In the merged per-point `.jsonl` the runner re-stamps every scenario line
//! with its own clock (ms since it spawned the process) in `t_ms`, keeping
//! the scenario's value in `src_t_ms`, and interleaves its own `proc` lines
//! ([`ProcSample`]) and one final `exit` line ([`ExitLine`]). So every line
//! of a `.jsonl` is on one clock.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped whenever a line changes meaning.
pub const PROTOCOL_VERSION: u32 = 1;

/// Environment variable holding the metrics file descriptor number.
pub const ENV_METRICS_FD: &str = "SCHEDLAB_METRICS_FD";

/// A parameter value: sweep axes are numbers or words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Num(f64),
    Str(String),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(_) => None,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{}", *n as i64),
            Value::Num(n) => write!(f, "{n}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// Parameters of one point, axis name → value.
pub type Params = BTreeMap<String, Value>;

/// Latency probe statistics over an interval, in microseconds of lateness
/// (how late a 1 ms periodic wake-up actually ran).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeStats {
    /// Wake-ups observed in the interval.
    pub n: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// One line a scenario writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// First line: who is speaking.
    Hello {
        v: u32,
        scenario: String,
        runtime: String,
        params: Params,
        pid: u32,
    },
    /// A phase boundary: `load_start`, `load_stop`, `tail_stop`, ...
    Phase { t_ms: f64, name: String },
    /// Periodic: probe latency since the previous sample line and runtime
    /// counters (gmp: goroutines, ms, ms_idle, ps_syscall, threads_created;
    /// tokio: tasks_alive, workers, blocking_threads; go: goroutines).
    Sample {
        t_ms: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        probe: Option<ProbeStats>,
        #[serde(default)]
        counters: BTreeMap<String, f64>,
    },
    /// Free-form: a diagnosis, a goroutine dump, a note. `kind` is a short
    /// word (`diagnosis`, `goroutine_dump`, `threadcreate`, `note`, `limit`,
    /// `skip`). `limit` (then exit 3) and `skip` (then exit 4: the runtime
    /// has no switch for a scheduler knob the point sets; the text says
    /// which) decide the point's outcome.
    Event {
        t_ms: f64,
        kind: String,
        text: String,
    },
    /// Last line: the verdict inputs, metric name → number. The whole-run
    /// probe figures go here as `probe_p50_us`, `probe_p99_us`,
    /// `probe_max_us`.
    Summary {
        t_ms: f64,
        metrics: BTreeMap<String, f64>,
    },
}

/// A `/proc` sample the runner takes of the scenario process.
/// These field names are read by other tools: do not rename them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcSample {
    /// Runner clock: ms since the process was spawned.
    pub t_ms: f64,
    /// `/proc/<pid>/status` Threads.
    pub threads: u64,
    /// Threads in state R in `/proc/<pid>/task/*/stat`; absent when the
    /// per-thread scan was skipped on this sample (it runs at an adaptive
    /// period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r_threads: Option<u64>,
    /// delta(utime+stime)/delta(wall): cores used, over the samples of the
    /// last >= 100 ms (utime/stime tick every 10 ms, so the delta between
    /// two 5 ms samples alone would read 0 or 2 cores).
    pub cores: f64,
    pub rss_bytes: u64,
}

/// How a point's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Exited 0 with a summary line.
    Ok,
    /// Killed at duration + grace. A legitimate result (a deadlock scenario
    /// expects it), not a runner error.
    Timeout,
    /// Non-zero exit or a signal.
    Crash,
    /// The process reported (`event` kind `limit`) or the runner saw that it
    /// hit a system limit (threads, fds, memory).
    Limit,
    /// Not run: the runtime is unavailable (no Go toolchain), the point was
    /// cut by Ctrl-C before it started, or the scenario said `skip` (a knob
    /// its runtime has no switch for).
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Timeout => "timeout",
            Outcome::Crash => "crash",
            Outcome::Limit => "limit",
            Outcome::Skipped => "skipped",
        }
    }
}

/// The runner's last line in a merged `.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitLine {
    pub t_ms: f64,
    pub outcome: Outcome,
    /// Exit code, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Signal number, when a signal ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// The first and the last 4 KiB of stderr, with the number of bytes
    /// between them that were not kept.
    #[serde(default)]
    pub stderr_tail: String,
}

/// Any line of a merged `.jsonl`, for readers (the report, analysis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MergedLine {
    Hello {
        v: u32,
        scenario: String,
        runtime: String,
        params: Params,
        pid: u32,
    },
    Phase {
        t_ms: f64,
        #[serde(default)]
        src_t_ms: Option<f64>,
        name: String,
    },
    Sample {
        t_ms: f64,
        #[serde(default)]
        src_t_ms: Option<f64>,
        #[serde(default)]
        probe: Option<ProbeStats>,
        #[serde(default)]
        counters: BTreeMap<String, f64>,
    },
    Event {
        t_ms: f64,
        #[serde(default)]
        src_t_ms: Option<f64>,
        kind: String,
        text: String,
    },
    Summary {
        t_ms: f64,
        #[serde(default)]
        src_t_ms: Option<f64>,
        metrics: BTreeMap<String, f64>,
    },
    Proc(ProcSample),
    Exit(ExitLine),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_with_type_tag() {
        let l = Line::Phase {
            t_ms: 1.5,
            name: "load_start".into(),
        };
        let s = serde_json::to_string(&l).unwrap();
        assert_eq!(s, r#"{"type":"phase","t_ms":1.5,"name":"load_start"}"#);
        assert_eq!(serde_json::from_str::<Line>(&s).unwrap(), l);
    }

    #[test]
    fn proc_sample_uses_the_documented_field_names() {
        let p = MergedLine::Proc(ProcSample {
            t_ms: 5.0,
            threads: 4,
            r_threads: Some(1),
            cores: 0.5,
            rss_bytes: 1024,
        });
        let v: serde_json::Value = serde_json::to_value(&p).unwrap();
        for k in ["type", "t_ms", "threads", "r_threads", "cores", "rss_bytes"] {
            assert!(v.get(k).is_some(), "missing {k} in {v}");
        }
        assert_eq!(v["type"], "proc");
    }

    #[test]
    fn value_displays_integers_without_fraction() {
        assert_eq!(Value::Num(2.0).to_string(), "2");
        assert_eq!(Value::Num(0.5).to_string(), "0.5");
        assert_eq!(Value::Str("raw".into()).to_string(), "raw");
    }
}
