//! The command line every scenario binary shares (the runner's side of it
//! is in ARCHITECTURE.md, "Scenario command line"):
//!
//! ```text
//! <name> --runtime <gmp|tokio|go|threads> --duration <N>ms [--set key=value]... [--sample-ms N]
//! ```
//!
//! The runner always passes `--duration` in milliseconds (`5000ms`); humans
//! may write `5s`, `2m`, `500ms` or `1.5s`. `--set` values are strings; each
//! scenario declares its keys in a [`Spec`] with a [`Kind`] and a default,
//! and every value is checked here, before any runtime starts, so a typo
//! never reaches the workload.
//!
//! `--describe` prints the [`Spec`] as JSON
//! ([`schedlab_protocol::spec::ScenarioSpec`]) and exits 0: the runner
//! checks a sweep's values with it before running anything. Durations and
//! values are parsed by the protocol crate's functions
//! ([`schedlab_protocol::util::parse_duration`],
//! [`schedlab_protocol::spec::ParamKind::parse`]), so the runner and every
//! binary accept exactly the same strings.
//!
//! Error policy: every mistake the user can make (unknown runtime, unknown
//! key, a value of the wrong kind, a duration without a unit) is a
//! [`Usage`] error: one message naming what was wrong and what is valid,
//! exit code 2, never a panic. `--help` prints the keys with their defaults
//! and exits 0. Asking a [`Params`] for a key the spec does not declare is
//! a bug in the scenario, not a user error, and panics with the key's name.

use clap::{CommandFactory, FromArgMatches, Parser};
use schedlab_protocol::metrics::{Params as ProtoParams, Value};
use schedlab_protocol::spec::{ParamDesc, ParamKind, ScenarioSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// The runtimes the lab knows. A scenario lists the ones it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    /// The workspace's model of the Go scheduler.
    Gmp,
    /// tokio's multi-thread runtime (or current-thread where a scenario says).
    Tokio,
    /// Real Go: only the reference programs under `reference/go/` speak it.
    Go,
    /// Plain std threads: one OS thread per task.
    Threads,
}

impl Runtime {
    pub const ALL: [Runtime; 4] = [Runtime::Gmp, Runtime::Tokio, Runtime::Go, Runtime::Threads];

    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Gmp => "gmp",
            Runtime::Tokio => "tokio",
            Runtime::Go => "go",
            Runtime::Threads => "threads",
        }
    }

    pub fn parse(s: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Picks the `mode` a word names for a runtime from `table` (runtime,
/// word, mode). A word that is not one of this runtime's modes is a
/// [`Usage`] error listing the runtime's modes:
/// "mode=x is not a gmp mode; gmp has mode=a|b".
pub fn mode_for<M: Copy>(
    rt: Runtime,
    word: &str,
    table: &[(Runtime, &str, M)],
) -> Result<M, Usage> {
    if let Some(&(_, _, m)) = table.iter().find(|(r, w, _)| *r == rt && *w == word) {
        return Ok(m);
    }
    let words: Vec<&str> = table
        .iter()
        .filter(|(r, _, _)| *r == rt)
        .map(|(_, w, _)| *w)
        .collect();
    Err(Usage(if words.is_empty() {
        format!("mode={word}: {rt} has no modes here")
    } else {
        format!(
            "mode={word} is not a {rt} mode; {rt} has mode={}",
            words.join("|")
        )
    }))
}

/// What values a `--set` key takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// Any finite number in `min..=max`.
    Float { min: f64, max: f64 },
    /// One of these words.
    Word(&'static [&'static str]),
    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    Bool,
}

/// One `--set` key a scenario accepts.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub key: &'static str,
    pub kind: Kind,
    /// Used when `--set` does not give the key; must itself be valid.
    pub default: &'static str,
    pub help: &'static str,
}

/// What a scenario binary is: its name, its runtimes and its keys.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The binary's name, as in `scenarios/<name>/`.
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// Runtimes this binary implements (`go` lives in `reference/go/`).
    pub runtimes: &'static [Runtime],
    pub params: &'static [ParamSpec],
}

/// A user mistake on the command line: print, exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The checked command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub runtime: Runtime,
    pub duration: Duration,
    pub sample_every: Duration,
    pub params: Params,
}

/// Checked parameter values, every declared key present (defaults filled).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    values: BTreeMap<&'static str, Value>,
    /// The keys the command line gave (`--set`), defaults not included.
    given: BTreeSet<&'static str>,
}

impl Params {
    /// The value of an integer key.
    pub fn int(&self, key: &str) -> i64 {
        match self.get(key) {
            Value::Num(n) => *n as i64,
            Value::Str(s) => panic!("param {key} is a word ({s}), not an integer"),
        }
    }

    /// The value of an integer key that is non-negative by its spec.
    pub fn usize(&self, key: &str) -> usize {
        usize::try_from(self.int(key)).unwrap_or_else(|_| panic!("param {key} is negative"))
    }

    pub fn float(&self, key: &str) -> f64 {
        self.get(key)
            .as_f64()
            .unwrap_or_else(|| panic!("param {key} is not a number"))
    }

    /// The value of a word key.
    pub fn word(&self, key: &str) -> &str {
        match self.get(key) {
            Value::Str(s) => s,
            Value::Num(_) => panic!("param {key} is a number, not a word"),
        }
    }

    pub fn bool(&self, key: &str) -> bool {
        self.float(key) != 0.0
    }

    /// A key's value as the protocol carries it.
    pub fn get(&self, key: &str) -> &Value {
        self.values
            .get(key)
            .unwrap_or_else(|| panic!("param {key} is not declared in the scenario's Spec"))
    }

    /// Whether `--set` gave `key` (false: its default is in force).
    pub fn is_given(&self, key: &str) -> bool {
        self.given.contains(key)
    }

    /// Whether the scheduler knob `key` is off its default
    /// ([`schedlab_protocol::knobs::changed`]): a sweep grid with the knob
    /// passes the default to every point, so [`Params::is_given`] alone
    /// does not say the point changes anything.
    pub fn knob_changed(&self, key: &str) -> bool {
        schedlab_protocol::knobs::changed(key, &self.to_protocol())
    }

    /// For the `hello` line.
    pub fn to_protocol(&self) -> ProtoParams {
        self.values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

#[derive(Parser, Debug)]
#[command(disable_version_flag = true)]
struct Args {
    /// Which runtime runs the workload.
    #[arg(long, value_name = "RUNTIME")]
    runtime: String,
    /// How long the workload runs: 5000ms, 5s, 2m, 1.5s.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    duration: String,
    /// A scenario parameter, repeatable: --set procs=2 --set mode=raw.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Period of the `sample` metrics lines, in ms.
    #[arg(long = "sample-ms", value_name = "MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    sample_ms: u64,
}

/// Parses `args` (program name first). `Err(Ok(e))` is clap's own error or
/// `--help` (print with `e.exit()`), `Err(Err(u))` is ours (exit 2).
pub fn parse<I, T>(spec: &Spec, args: I) -> Result<Config, Result<clap::Error, Usage>>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    if args.iter().skip(1).any(|a| a == "--describe") {
        println!("{}", describe_json(spec));
        std::process::exit(0);
    }
    let cmd = Args::command()
        .name(spec.name)
        .bin_name(spec.name)
        .about(spec.about)
        .after_help(params_help(spec));
    let matches = cmd.try_get_matches_from(args).map_err(Ok)?;
    let a = Args::from_arg_matches(&matches).map_err(Ok)?;
    check(spec, a).map_err(Err)
}

fn check(spec: &Spec, a: Args) -> Result<Config, Usage> {
    Ok(Config {
        runtime: runtime_of(spec, &a.runtime)?,
        duration: parse_duration(&a.duration)
            .map_err(|e| Usage(format!("--duration {}: {e}", a.duration)))?,
        sample_every: Duration::from_millis(a.sample_ms),
        params: params_of(spec, &a.set)?,
    })
}

fn runtime_of(spec: &Spec, s: &str) -> Result<Runtime, Usage> {
    let names: Vec<&str> = spec.runtimes.iter().map(|r| r.as_str()).collect();
    match Runtime::parse(s) {
        Some(r) if spec.runtimes.contains(&r) => Ok(r),
        Some(Runtime::Go) => Err(Usage(format!(
            "--runtime go: this is the Rust binary; the go column is the reference program \
             reference/go/{} (runtimes here: {})",
            spec.name,
            names.join(", ")
        ))),
        Some(r) => Err(Usage(format!(
            "--runtime {r}: {} has no {r} column (runtimes: {})",
            spec.name,
            names.join(", ")
        ))),
        None => Err(Usage(format!(
            "--runtime {s}: unknown runtime (valid: {})",
            names.join(", ")
        ))),
    }
}

fn params_of(spec: &Spec, sets: &[String]) -> Result<Params, Usage> {
    let mut values = BTreeMap::new();
    let mut given = BTreeSet::new();
    for p in spec.params {
        let v = parse_value(p, p.default)
            .unwrap_or_else(|e| panic!("default of {} in the Spec is invalid: {e}", p.key));
        values.insert(p.key, v);
    }
    for s in sets {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| Usage(format!("--set {s}: expected KEY=VALUE")))?;
        let p = spec
            .params
            .iter()
            .find(|p| p.key == k)
            .ok_or_else(|| unknown_key(spec, k))?;
        let parsed = parse_value(p, v).map_err(|e| Usage(format!("--set {k}={v}: {e}")))?;
        values.insert(p.key, parsed);
        given.insert(p.key);
    }
    Ok(Params { values, given })
}

fn unknown_key(spec: &Spec, k: &str) -> Usage {
    let keys: Vec<&str> = spec.params.iter().map(|p| p.key).collect();
    let valid = if keys.is_empty() {
        "none".to_string()
    } else {
        keys.join(", ")
    };
    Usage(format!(
        "--set {k}: unknown key for {} (valid keys: {valid})",
        spec.name
    ))
}

fn parse_value(p: &ParamSpec, v: &str) -> Result<Value, String> {
    kind_desc(p.kind).parse(v)
}

/// The protocol's description of a [`Kind`].
fn kind_desc(k: Kind) -> ParamKind {
    match k {
        Kind::Int { min, max } => ParamKind::Int { min, max },
        Kind::Float { min, max } => ParamKind::Float { min, max },
        Kind::Word(w) => ParamKind::Word {
            words: w.iter().map(|s| s.to_string()).collect(),
        },
        Kind::Bool => ParamKind::Bool,
    }
}

/// `--describe`: the spec as the runner reads it.
pub fn describe_json(spec: &Spec) -> String {
    let d = ScenarioSpec {
        name: spec.name.into(),
        about: spec.about.into(),
        runtimes: spec.runtimes.iter().map(|r| r.as_str().into()).collect(),
        params: spec
            .params
            .iter()
            .map(|p| ParamDesc {
                key: p.key.into(),
                kind: kind_desc(p.kind),
                default: p.default.into(),
                help: p.help.into(),
            })
            .collect(),
    };
    serde_json::to_string(&d).expect("a spec serializes")
}

/// The lab's duration grammar: `5000ms`, `5s`, `1.5s`, `2m`, `1m30s`,
/// `250us`, at most a day. A bare number is refused (which unit?).
pub use schedlab_protocol::util::parse_duration;

fn params_help(spec: &Spec) -> String {
    let mut s = String::from("Parameters (--set KEY=VALUE):\n");
    if spec.params.is_empty() {
        s.push_str("  (none)\n");
    }
    for p in spec.params {
        let kind = match p.kind {
            Kind::Int { min, max } => format!("integer {min}..={max}"),
            Kind::Float { min, max } => format!("number {min}..={max}"),
            Kind::Word(w) => w.join("|"),
            Kind::Bool => "true|false".to_string(),
        };
        s.push_str(&format!(
            "  {:<12} {} [{kind}, default {}]\n",
            p.key, p.help, p.default
        ));
    }
    let rts: Vec<&str> = spec.runtimes.iter().map(|r| r.as_str()).collect();
    s.push_str(&format!("\nRuntimes: {}\n", rts.join(", ")));
    s.push_str(
        "\nMetrics (JSON lines) go to the fd in SCHEDLAB_METRICS_FD, or to stdout when unset.\n",
    );
    s.push_str("--describe prints these parameters as JSON and exits (the runner reads it).\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_for_picks_the_runtimes_mode_or_lists_them() {
        let table = [
            (Runtime::Gmp, "wrapped", 1),
            (Runtime::Gmp, "raw", 2),
            (Runtime::Tokio, "direct", 3),
        ];
        assert_eq!(mode_for(Runtime::Gmp, "raw", &table), Ok(2));
        assert_eq!(mode_for(Runtime::Tokio, "direct", &table), Ok(3));
        assert_eq!(
            mode_for(Runtime::Tokio, "raw", &table),
            Err(Usage(
                "mode=raw is not a tokio mode; tokio has mode=direct".into()
            ))
        );
        assert_eq!(
            mode_for(Runtime::Gmp, "x", &table),
            Err(Usage(
                "mode=x is not a gmp mode; gmp has mode=wrapped|raw".into()
            ))
        );
        assert!(mode_for(Runtime::Threads, "x", &table).is_err());
    }

    const SPEC: Spec = Spec {
        name: "demo",
        about: "a test scenario",
        runtimes: &[Runtime::Tokio, Runtime::Threads],
        params: &[
            ParamSpec {
                key: "procs",
                kind: Kind::Int { min: 1, max: 64 },
                default: "1",
                help: "Ps",
            },
            ParamSpec {
                key: "mode",
                kind: Kind::Word(&["raw", "wrapped"]),
                default: "raw",
                help: "m",
            },
            ParamSpec {
                key: "frac",
                kind: Kind::Float { min: 0.0, max: 1.0 },
                default: "0.5",
                help: "f",
            },
            ParamSpec {
                key: "tail",
                kind: Kind::Bool,
                default: "false",
                help: "t",
            },
        ],
    };

    fn ok(args: &[&str]) -> Config {
        parse(&SPEC, std::iter::once("demo").chain(args.iter().copied())).expect("parses")
    }

    fn usage(args: &[&str]) -> String {
        match parse(&SPEC, std::iter::once("demo").chain(args.iter().copied())) {
            Err(Err(Usage(m))) => m,
            Err(Ok(e)) => panic!("expected our usage error, got clap's: {e}"),
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }

    #[test]
    fn defaults_fill_every_key() {
        let c = ok(&["--runtime", "tokio", "--duration", "5000ms"]);
        assert_eq!(c.runtime, Runtime::Tokio);
        assert_eq!(c.duration, Duration::from_secs(5));
        assert_eq!(c.sample_every, Duration::from_millis(100));
        assert_eq!(c.params.int("procs"), 1);
        assert_eq!(c.params.word("mode"), "raw");
        assert_eq!(c.params.float("frac"), 0.5);
        assert!(!c.params.bool("tail"));
        assert_eq!(c.params.to_protocol().len(), 4);
    }

    #[test]
    fn set_overrides_and_repeats() {
        let c = ok(&[
            "--runtime",
            "threads",
            "--set",
            "procs=2",
            "--set",
            "mode=wrapped",
            "--set",
            "tail=yes",
            "--sample-ms",
            "7",
        ]);
        assert_eq!(c.params.usize("procs"), 2);
        assert_eq!(c.params.word("mode"), "wrapped");
        assert!(c.params.bool("tail"));
        assert_eq!(c.sample_every, Duration::from_millis(7));
    }

    #[test]
    fn unknown_key_lists_the_valid_ones() {
        let m = usage(&["--runtime", "tokio", "--set", "prcs=2"]);
        assert!(
            m.contains("prcs") && m.contains("procs, mode, frac, tail"),
            "{m}"
        );
    }

    #[test]
    fn bad_values_say_what_was_expected() {
        assert!(usage(&["--runtime", "tokio", "--set", "procs=two"]).contains("integer"));
        assert!(usage(&["--runtime", "tokio", "--set", "procs=0"]).contains("out of range 1..=64"));
        assert!(usage(&["--runtime", "tokio", "--set", "mode=fast"]).contains("raw, wrapped"));
        assert!(usage(&["--runtime", "tokio", "--set", "procs"]).contains("KEY=VALUE"));
        assert!(usage(&["--runtime", "tokio", "--set", "frac=NaN"]).contains("out of range"));
    }

    #[test]
    fn runtimes_outside_the_spec_are_refused_with_the_list() {
        assert!(usage(&["--runtime", "erlang"]).contains("valid: tokio, threads"));
        assert!(usage(&["--runtime", "gmp"]).contains("no gmp column"));
        assert!(usage(&["--runtime", "go"]).contains("reference/go/demo"));
    }

    #[test]
    fn clap_errors_for_missing_runtime_and_bad_sample_ms() {
        for args in [
            &["--duration", "1s"][..],
            &["--runtime", "tokio", "--sample-ms", "0"],
            &["--help"],
        ] {
            match parse(&SPEC, std::iter::once("demo").chain(args.iter().copied())) {
                Err(Ok(_)) => {}
                other => panic!("{args:?}: expected a clap error, got {other:?}"),
            }
        }
    }

    #[test]
    fn describe_is_the_spec_as_the_runner_reads_it() {
        let d: ScenarioSpec = serde_json::from_str(&describe_json(&SPEC)).unwrap();
        assert_eq!(d.name, "demo");
        assert_eq!(d.runtimes, vec!["tokio", "threads"]);
        assert_eq!(d.params[0].kind, ParamKind::Int { min: 1, max: 64 });
        assert!(d.check("procs", &Value::Num(0.0)).is_err());
        assert!(d.check("mode", &Value::Str("wrapped".into())).is_ok());
    }

    #[test]
    fn help_lists_params_with_defaults() {
        let e = parse(&SPEC, ["demo", "--help"]).unwrap_err().unwrap();
        assert_eq!(e.exit_code(), 0);
        let text = e.render().to_string();
        assert!(
            text.contains("procs") && text.contains("default 1") && text.contains("raw|wrapped"),
            "{text}"
        );
    }

    #[test]
    fn durations_need_units() {
        assert_eq!(parse_duration("5000ms"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_duration("5").unwrap_err().contains("missing unit"));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("ms").is_err());
        // One grammar with the runner: compound durations, and a bound
        // instead of a panic.
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(
            usage(&["--runtime", "tokio", "--duration", "99999999999999999999s"])
                .contains("out of range")
        );
        assert!(usage(&["--runtime", "tokio", "--duration", "10"]).contains("--duration 10"));
    }
}
