//! The design-decision knobs: switches of the Go scheduler's rules that
//! every scenario accepts, so one sweep shows what a single decision does.
//!
//! ```text
//! syscalls --runtime gmp --set mode=wrapped --set d_us=1000 --set gmp.handoff=off
//! ```
//!
//! [`with_knobs`] appends [`KNOBS`] to a scenario's own parameters when
//! [`crate::run`] starts, so `--help`, `--set` checking and the spec every
//! other tool reads (the runner's axis checks) see them like any parameter:
//! a sweep makes one an axis (`gmp.asyncpreempt: [on, off]`) and verdicts,
//! plots, compare and fidelity name it like `procs`.
//!
//! The knobs themselves (keys, values, defaults, what each switches off,
//! the Go mirror) are a contract of the protocol crate:
//! [`schedlab_protocol::knobs::KNOBS`].
//!
//! How a value reaches each column:
//!
//! * **gmp**: the knobs become `GMP_DEBUG` variables (gmp's `GODEBUG`, read
//!   when a runtime is built: gmp/src/debug.rs) and the binary re-executes
//!   itself once with them in its environment, before it writes `hello`
//!   (same pid, same fds). So every runtime the scenario builds, whichever
//!   way it builds it, has them; the Go reference programs do the same with
//!   `GODEBUG` (reference/go/internal/metrics/knobs.go).
//! * **go**: the reference kit mirrors `gmp.asyncpreempt` and
//!   `gmp.max_threads`; a model-only knob at a value other than its default
//!   makes the program say why and stop without running (a skip).
//! * **tokio, threads**: they have none of these switches, so any knob off
//!   its default skips the point the same way.
//!
//! A skipped point writes `hello`, one `event` of kind `skip` whose text
//! says why, and exits with [`SKIP_EXIT_CODE`] without a summary; the
//! runner files it as outcome `skipped` with that text.
//!
//! `hello` carries a knob only when the command line gave it (`--set`):
//! the points of a sweep without knob axes keep exactly their own params.

use crate::cli::{Kind, ParamSpec, Params, Runtime, Spec};
use schedlab_protocol::knobs::KnobKind;
pub use schedlab_protocol::knobs::{GoMirror, KNOBS, Knob, knob};
use schedlab_protocol::metrics::Value;
use std::ffi::OsString;

/// Exit status of a point that did not run because its runtime has no
/// switch for a knob it was given (after an `event` of kind `skip`).
pub const SKIP_EXIT_CODE: i32 = 4;

/// A knob as a scenario parameter.
pub fn param_spec(k: &'static Knob) -> ParamSpec {
    ParamSpec {
        key: k.key,
        kind: match k.kind {
            KnobKind::OnOff => Kind::Word(&["on", "off"]),
            KnobKind::Int { min, max } => Kind::Int { min, max },
        },
        default: k.default,
        help: k.help,
    }
}

/// Whether `key` is a knob's.
pub fn is_knob(key: &str) -> bool {
    knob(key).is_some()
}

/// `spec` with the knobs after its own parameters. Called once per process
/// by [`crate::run`] (the list is leaked: it lives as long as the spec). A
/// scenario declaring a knob's key itself is a bug and panics.
pub fn with_knobs(spec: Spec) -> Spec {
    let mut params = spec.params.to_vec();
    for k in KNOBS {
        assert!(
            !params.iter().any(|p| p.key == k.key),
            "scenario {} declares {}, a key of the kit's knobs",
            spec.name,
            k.key
        );
        params.push(param_spec(k));
    }
    Spec {
        params: Box::leak(params.into_boxed_slice()),
        ..spec
    }
}

/// The `hello` line's params: every scenario param, and the knobs the
/// command line gave.
pub fn hello_params(params: &Params) -> schedlab_protocol::metrics::Params {
    let mut p = params.to_protocol();
    p.retain(|k, _| !is_knob(k) || params.is_given(k));
    p
}

/// The knobs whose value differs from their default, with that value.
pub fn changed(params: &Params) -> Vec<(&'static Knob, Value)> {
    KNOBS
        .iter()
        .filter_map(|k| {
            let v = params.get(k.key).clone();
            (v != k.default_value()).then_some((k, v))
        })
        .collect()
}

/// `current` (a `GMP_DEBUG` value, maybe empty) with each knob variable
/// set: an existing key gets the knob's value, a new one is appended.
pub fn merge_gmp_debug(current: &str, vars: &[String]) -> String {
    let mut pairs: Vec<String> = current
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    for var in vars {
        let key = var.split('=').next().unwrap_or_default();
        match pairs.iter_mut().find(|p| p.split('=').next() == Some(key)) {
            Some(p) => *p = var.clone(),
            None => pairs.push(var.clone()),
        }
    }
    pairs.join(",")
}

/// What the kit must do with the knobs before the body runs.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing: no knob is off its default, or the environment has them.
    Run,
    /// Re-execute with `GMP_DEBUG` set to this value (the gmp column).
    Reexec(String),
    /// Do not run: this runtime has no switch for a knob given (the text).
    Skip(String),
}

/// Decides what `runtime` does with the knobs set in `params`, given the
/// current `GMP_DEBUG` (None: unset).
pub fn plan(runtime: Runtime, params: &Params, gmp_debug: Option<&str>) -> Plan {
    let changed = changed(params);
    if changed.is_empty() {
        return Plan::Run;
    }
    match runtime {
        Runtime::Gmp => {
            let vars: Vec<String> = changed.iter().map(|(k, v)| k.gmp_debug_var(v)).collect();
            let current = gmp_debug.unwrap_or("");
            let want = merge_gmp_debug(current, &vars);
            if want == current {
                Plan::Run
            } else {
                Plan::Reexec(want)
            }
        }
        rt => {
            let given: Vec<String> = changed
                .iter()
                .map(|(k, v)| format!("{}={v}", k.key))
                .collect();
            Plan::Skip(format!(
                "{}: {} of the Go scheduler's design that {rt} has no switch for; not run",
                given.join(", "),
                if given.len() == 1 { "a knob" } else { "knobs" }
            ))
        }
    }
}

/// Replaces this process with itself under `GMP_DEBUG=value` (same pid,
/// same arguments, same fds). Returns only on failure.
pub fn reexec_with_gmp_debug(value: &str) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| OsString::from("scenario"));
    std::process::Command::new("/proc/self/exe")
        .arg0(arg0)
        .args(args)
        .env("GMP_DEBUG", value)
        .exec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli;

    const SPEC: Spec = Spec {
        name: "demo",
        about: "a test scenario",
        runtimes: &[Runtime::Gmp, Runtime::Tokio],
        params: &[ParamSpec {
            key: "procs",
            kind: Kind::Int { min: 1, max: 8 },
            default: "1",
            help: "Ps",
        }],
    };

    fn params(sets: &[&str]) -> Params {
        let spec = with_knobs(SPEC);
        let mut args = vec!["demo", "--runtime", "gmp"];
        for s in sets {
            args.extend(["--set", s]);
        }
        cli::parse(&spec, args).expect("parses").params
    }

    #[test]
    fn every_knob_is_a_param_of_every_spec() {
        let spec = with_knobs(SPEC);
        assert_eq!(spec.params.len(), 1 + KNOBS.len());
        for k in KNOBS {
            assert!(spec.params.iter().any(|p| p.key == k.key));
        }
        let p = params(&["gmp.asyncpreempt=off", "gmp.max_threads=50"]);
        assert_eq!(p.word("gmp.asyncpreempt"), "off");
        assert_eq!(p.int("gmp.max_threads"), 50);
    }

    #[test]
    fn defaults_change_nothing() {
        let p = params(&["gmp.asyncpreempt=on", "gmp.sysmon_delay_us=0"]);
        assert!(changed(&p).is_empty());
        assert_eq!(plan(Runtime::Gmp, &p, None), Plan::Run);
        assert_eq!(plan(Runtime::Tokio, &p, None), Plan::Run);
    }

    #[test]
    fn gmp_reexecs_once_with_the_gmp_debug_variables() {
        let p = params(&[
            "gmp.asyncpreempt=off",
            "gmp.handoff=off",
            "gmp.max_threads=50",
            "gmp.sysmon_delay_us=10000",
        ]);
        let want = "asyncpreemptoff=1,maxthreads=50,handoff=0,sysmondelay=10000";
        assert_eq!(plan(Runtime::Gmp, &p, None), Plan::Reexec(want.into()));
        // after the re-exec the environment has them: run
        assert_eq!(plan(Runtime::Gmp, &p, Some(want)), Plan::Run);
        // a user's own GMP_DEBUG is kept
        assert_eq!(
            plan(Runtime::Gmp, &p, Some("schedtrace=1000,maxthreads=7")),
            Plan::Reexec(format!(
                "schedtrace=1000,maxthreads=50,{}",
                "asyncpreemptoff=1,handoff=0,sysmondelay=10000"
            ))
        );
    }

    #[test]
    fn runtimes_without_the_switch_skip_saying_why() {
        let p = params(&["gmp.netpoll=off"]);
        match plan(Runtime::Tokio, &p, None) {
            Plan::Skip(why) => assert!(
                why.starts_with("gmp.netpoll=off: a knob")
                    && why.contains("tokio has no switch for"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gmp_debug_vars_are_gmps() {
        for k in KNOBS {
            let v = match k.kind {
                KnobKind::OnOff => Value::Str("off".into()),
                KnobKind::Int { .. } => Value::Num(50.0),
            };
            let var = k.gmp_debug_var(&v);
            gmp::check_gmp_debug(&var).unwrap_or_else(|e| panic!("{}: {e}", k.key));
        }
        assert!(gmp::check_gmp_debug("netpol=0").is_err());
    }
}
