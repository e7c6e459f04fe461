//! What the scenario binaries' integration tests share: running a scenario
//! binary and collecting what it wrote, and judging its sweep.yaml.
//!
//! Every `scenarios/<name>/tests/*.rs` runs its binary end to end and
//! checks the protocol lines (see `schedlab_protocol::metrics`), the
//! command-line errors, and the verdict predicates of its `sweep.yaml`.
//! The mechanics are the same for all of them and live here; the
//! assertions, which are each scenario's own claims, stay in the test
//! files.
//!
//! Invariants the helpers keep, so that a test built on them can fail only
//! for a reason it states:
//! * a line that is not a protocol line panics with the line itself: the
//!   binary broke the protocol, which no test should tolerate;
//! * [`run`] reads the metrics while the child runs (a reader thread), so a
//!   chatty child never blocks on a full pipe, and it records the thread
//!   count from `/proc` at two kinds of moment: when a `phase` line is read
//!   (the process is then in that phase: [`Run::threads_at_phase`]) and
//!   every 2 ms until exit ([`Run::threads_peak`]). Both are samples, not
//!   exact figures: a test bounds them generously;
//! * [`run`] does not judge the exit status: [`Run::assert_success`] does,
//!   so a test of a failing point can look at the status itself;
//! * [`judge`] evaluates the verdicts exactly as the runner does: a verdict
//!   whose `filter` does not hold at the point is left out, and a predicate
//!   that does not parse or evaluate panics (the sweep file is wrong).

use schedlab_protocol::metrics::{Line, Value};
use schedlab_protocol::predicate::{MapContext, Predicate};
use schedlab_protocol::sweep::Sweep;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// Where the scenario writes its metrics lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsTo {
    /// stdout (SCHEDLAB_METRICS_FD unset); stderr is collected as text.
    Stdout,
    /// fd 2 (SCHEDLAB_METRICS_FD=2, which every child has open: the fd
    /// path without a pipe helper); stdout is collected as text.
    Stderr,
}

/// What one run of a scenario binary left behind.
#[derive(Debug)]
pub struct Run {
    /// The protocol lines, in the order written.
    pub lines: Vec<Line>,
    /// The other stream (stderr with [`MetricsTo::Stdout`], stdout with
    /// [`MetricsTo::Stderr`]).
    pub other: String,
    pub status: ExitStatus,
    /// The most threads `/proc/<pid>/status` showed, polled every 2 ms
    /// while the child ran (0 if it was never readable).
    pub threads_peak: u64,
    /// The thread count read when each phase line arrived (first
    /// occurrence; missing if /proc was no longer readable).
    pub threads_at_phase: BTreeMap<String, u64>,
}

impl Run {
    /// Panics, naming `what`, the status and the other stream, unless the
    /// binary exited 0.
    pub fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what}: {}: {}",
            self.status,
            self.other
        );
    }

    /// The summary's metrics (the last line; panics if it is not one).
    pub fn summary(&self) -> &BTreeMap<String, f64> {
        summary(&self.lines)
    }

    /// The phase names, in order.
    pub fn phases(&self) -> Vec<&str> {
        phases(&self.lines)
    }
}

/// The command line every scenario binary takes: `--runtime R --duration D`
/// and one `--set` per `key=value` in `sets`.
pub fn args(runtime: &str, duration: &str, sets: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["--runtime", runtime, "--duration", duration]
        .map(String::from)
        .to_vec();
    for s in sets {
        v.push("--set".into());
        v.push((*s).into());
    }
    v
}

/// Runs `bin` with `args` (stdin closed), metrics to `metrics`, and
/// collects its lines, other output, status and thread counts.
pub fn run<S: AsRef<std::ffi::OsStr>>(bin: &str, args: &[S], metrics: MetricsTo) -> Run {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match metrics {
        MetricsTo::Stdout => cmd.env_remove(schedlab_protocol::metrics::ENV_METRICS_FD),
        MetricsTo::Stderr => cmd.env(schedlab_protocol::metrics::ENV_METRICS_FD, "2"),
    };
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    let pid = child.id();
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (metrics_pipe, other_pipe): (Box<dyn Read + Send>, Box<dyn Read + Send>) = match metrics {
        MetricsTo::Stdout => (Box::new(out), Box::new(err)),
        MetricsTo::Stderr => (Box::new(err), Box::new(out)),
    };
    let lines = std::thread::spawn(move || read_lines(metrics_pipe, pid));
    let other = std::thread::spawn(move || {
        let mut s = String::new();
        BufReader::new(other_pipe)
            .read_to_string(&mut s)
            .map(|_| s)
            .unwrap_or_else(|e| format!("<unreadable: {e}>"))
    });
    let mut threads_peak = 0;
    while child.try_wait().expect("wait for the child").is_none() {
        threads_peak = threads_peak.max(threads_of(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = child.wait().expect("wait for the child");
    let (lines, threads_at_phase) = lines.join().expect("metrics reader");
    Run {
        lines,
        other: other.join().expect("output reader"),
        status,
        threads_peak,
        threads_at_phase,
    }
}

/// Reads protocol lines until EOF, noting `pid`'s thread count at each
/// phase line.
fn read_lines(pipe: impl Read, pid: u32) -> (Vec<Line>, BTreeMap<String, u64>) {
    let mut lines = Vec::new();
    let mut at_phase = BTreeMap::new();
    for text in BufReader::new(pipe).lines() {
        let line = parse_line(&text.expect("metrics pipe"));
        if let Line::Phase { name, .. } = &line
            && let Some(n) = threads_of(pid)
        {
            at_phase.entry(name.clone()).or_insert(n);
        }
        lines.push(line);
    }
    (lines, at_phase)
}

/// One protocol line; panics with the text if it is not one.
pub fn parse_line(text: &str) -> Line {
    serde_json::from_str(text.trim_end()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The thread count of a live process, from `/proc/<pid>/status`.
pub fn threads_of(pid: u32) -> Option<u64> {
    crate::selfstat::status_field(Some(pid), "Threads:")
}

/// The summary's metrics: the last line, which must be a summary.
pub fn summary(lines: &[Line]) -> &BTreeMap<String, f64> {
    match lines.last() {
        Some(Line::Summary { metrics, .. }) => metrics,
        other => panic!("last line is not a summary: {other:?}"),
    }
}

/// The hello's params: the first line, which must be a hello.
pub fn hello_params(lines: &[Line]) -> &BTreeMap<String, Value> {
    match lines.first() {
        Some(Line::Hello { params, .. }) => params,
        other => panic!("first line is not hello: {other:?}"),
    }
}

/// The phase names, in order.
pub fn phases(lines: &[Line]) -> Vec<&str> {
    lines
        .iter()
        .filter_map(|l| match l {
            Line::Phase { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect()
}

/// The text of the first event of `kind`.
pub fn event<'a>(lines: &'a [Line], kind: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| match l {
        Line::Event { kind: k, text, .. } if k == kind => Some(text.as_str()),
        _ => None,
    })
}

/// Runs `bin` with `args` and asserts a user mistake's handling: exit code
/// 2, a message on stderr containing `want`, and no panic.
pub fn assert_usage_error(bin: &str, args: &[&str], want: &str) {
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

/// `bin --help`: asserts exit 0 and returns what it printed on stdout.
pub fn help_text(bin: &str) -> String {
    let out = Command::new(bin)
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    assert!(out.status.success(), "--help: {}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `sweep.yaml` in a scenario's directory (pass
/// `env!("CARGO_MANIFEST_DIR")`); panics if it does not load.
pub fn load_sweep(scenario_dir: &str) -> Sweep {
    let path = Path::new(scenario_dir).join("sweep.yaml");
    Sweep::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A params map from pairs.
pub fn params(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// A metrics map from pairs.
pub fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// A predicate context for one point measured once: its params, runtime
/// and metrics, each metric also as `min.<name>` and `max.<name>` (over one
/// repeat they equal the value, which is what the runner computes).
pub fn point_context(
    runtime: &str,
    params: &BTreeMap<String, Value>,
    metrics: &BTreeMap<String, f64>,
) -> MapContext {
    let extremes: BTreeMap<String, f64> = metrics
        .iter()
        .flat_map(|(k, v)| [(format!("min.{k}"), *v), (format!("max.{k}"), *v)])
        .collect();
    MapContext::new()
        .with_params(params)
        .with_runtime(runtime)
        .with_metrics(metrics)
        .with_metrics(&extremes)
}

/// A parameter value as a predicate value.
fn knob_value_of(v: &Value) -> Option<schedlab_protocol::predicate::Val> {
    use schedlab_protocol::predicate::Val;
    Some(match v {
        Value::Num(n) => Val::Num(*n),
        Value::Str(s) => Val::Str(s.clone()),
    })
}

/// A predicate value as a parameter value (knobs are numbers or words).
fn knob_value(v: &schedlab_protocol::predicate::Val) -> Option<Value> {
    use schedlab_protocol::predicate::Val;
    match v {
        Val::Num(n) => Some(Value::Num(*n)),
        Val::Str(s) => Some(Value::Str(s.clone())),
        Val::Bool(_) => None,
    }
}

/// The verdicts of `sweep` whose filter holds in `ctx`, each with its id
/// and whether its `expect` holds, in the file's order. As in the runner,
/// a point with a scheduler knob off its default is judged only by the
/// verdicts whose filter names that knob (`knobs::in_view`).
pub fn judge(sweep: &Sweep, ctx: &MapContext) -> Vec<(String, bool)> {
    // a point without a knob's axis runs with the knob at its default
    let mut ctx = ctx.clone();
    for k in schedlab_protocol::knobs::KNOBS {
        if let Some(v) = knob_value_of(&k.default_value()) {
            ctx.vars.entry(k.key.to_string()).or_insert(v);
        }
    }
    let ctx = &ctx;
    let holds = |src: &str| {
        Predicate::parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .eval(ctx)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
    };
    let params: schedlab_protocol::metrics::Params = ctx
        .vars
        .iter()
        .filter(|(k, _)| schedlab_protocol::knobs::knob(k).is_some())
        .filter_map(|(k, v)| Some((k.clone(), knob_value(v)?)))
        .collect();
    sweep
        .verdicts
        .iter()
        .filter(|v| schedlab_protocol::knobs::in_view(v.filter.as_deref(), &params))
        .filter(|v| v.filter.as_deref().is_none_or(holds))
        .map(|v| (v.id.clone(), holds(&v.expect)))
        .collect()
}
