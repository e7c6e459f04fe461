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
//! Error policy: every mistake the user can make (unknown runtime, unknown
//! key, a value of the wrong kind, a duration without a unit) is a
//! [`Usage`] error: one message naming what was wrong and what is valid,
//! exit code 2, never a panic. `--help` prints the keys with their defaults
//! and exits 0. Asking a [`Params`] for a key the spec does not declare is
//! a bug in the scenario, not a user error, and panics with the key's name.

use clap::{CommandFactory, FromArgMatches, Parser};
use schedlab_protocol::metrics::{Params as ProtoParams, Value};
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
    match p.kind {
        Kind::Int { min, max } => {
            let n: i64 = v
                .parse()
                .map_err(|_| format!("expected an integer in {min}..={max}"))?;
            if !(min..=max).contains(&n) {
                return Err(format!("out of range {min}..={max}"));
            }
            Ok(Value::Num(n as f64))
        }
        Kind::Float { min, max } => {
            let n: f64 = v
                .parse()
                .map_err(|_| format!("expected a number in {min}..={max}"))?;
            if !n.is_finite() || n < min || n > max {
                return Err(format!("out of range {min}..={max}"));
            }
            Ok(Value::Num(n))
        }
        Kind::Word(words) => match words.iter().find(|w| **w == v) {
            Some(_) => Ok(Value::Str(v.to_string())),
            None => Err(format!("expected one of {}", words.join(", "))),
        },
        Kind::Bool => match v {
            "true" | "1" | "yes" => Ok(Value::Num(1.0)),
            "false" | "0" | "no" => Ok(Value::Num(0.0)),
            _ => Err("expected true or false".to_string()),
        },
    }
}

/// `5000ms`, `5s`, `1.5s`, `2m`, `250us`. A bare number is refused (which
/// unit?).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| "expected a number with a unit, like 5s or 5000ms".to_string())?;
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "" => return Err("missing unit: write 5s or 5000ms".to_string()),
        u => return Err(format!("unknown unit {u:?}: use us, ms, s, m or h")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| "out of range".to_string())
}

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
        assert!(usage(&["--runtime", "tokio", "--duration", "10"]).contains("--duration 10"));
    }
}
