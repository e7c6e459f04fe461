//! The scheduler knobs: switches of the Go scheduler's design rules that
//! every scenario accepts as parameters, so one sweep shows what a single
//! decision does (issue 15).
//!
//! This table is the contract: the scenario kit turns it into parameters of
//! every scenario (scenario-kit/src/knobs.rs) and into `GMP_DEBUG` variables
//! for gmp (gmp/src/debug.rs), the Go reference kit mirrors the same keys
//! (reference/go/internal/metrics/knobs.go), the runner lets `--set` add a
//! knob as an axis to any sweep ([`add_axis`]), and the report's "design
//! decisions" section names what each one switches off.
//!
//! | knob                   | values    | default | go column                        |
//! |------------------------|-----------|---------|----------------------------------|
//! | `gmp.asyncpreempt`     | on, off   | on      | `GODEBUG=asyncpreemptoff=1`      |
//! | `gmp.max_threads`      | 3 .. 10^6 | 10000   | `runtime/debug.SetMaxThreads(n)` |
//! | `gmp.sysmon`           | on, off   | on      | model-only: skipped              |
//! | `gmp.handoff`          | on, off   | on      | model-only: skipped              |
//! | `gmp.retake_exception` | on, off   | on      | model-only: skipped              |
//! | `gmp.sysmon_delay_us`  | 0 .. 10^6 | 0       | model-only: skipped              |
//! | `gmp.netpoll`          | on, off   | on      | model-only: skipped              |
//!
//! A point that sets a knob its runtime has no switch for (a model-only
//! knob on go; any knob on tokio or threads) does not run: the scenario
//! writes `hello`, an `event` of kind `skip` saying why, and exits 4; the
//! runner files the point as outcome `skipped`.

use crate::metrics::Value;
use crate::sweep::Sweep;

/// What values a knob takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnobKind {
    /// `on` or `off`.
    OnOff,
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
}

/// How the go column mirrors a knob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoMirror {
    /// An environment setting of the Go runtime, read at start.
    Godebug(&'static str),
    /// A call the reference kit makes before the body.
    Call(&'static str),
    /// No Go switch: the go column skips the point.
    ModelOnly,
}

/// One knob.
#[derive(Debug, Clone, Copy)]
pub struct Knob {
    /// The parameter's key: `gmp.<name>`.
    pub key: &'static str,
    pub kind: KnobKind,
    pub default: &'static str,
    /// One line for `--help`.
    pub help: &'static str,
    /// The `GMP_DEBUG` variable (gmp/src/debug.rs).
    pub gmp_debug: &'static str,
    pub go: GoMirror,
    /// The rule of Go's scheduler it switches off (file: function).
    pub go_code: &'static str,
}

impl Knob {
    /// The default as a parameter value.
    pub fn default_value(&self) -> Value {
        match self.kind {
            KnobKind::OnOff => Value::Str(self.default.to_string()),
            KnobKind::Int { .. } => {
                Value::Num(self.default.parse().expect("a knob's default is a number"))
            }
        }
    }

    /// The `GMP_DEBUG` variable for a value: `asyncpreemptoff=1`,
    /// `handoff=0`, `maxthreads=50`. Go's own `asyncpreemptoff` says "off";
    /// gmp's model-only names say "on".
    pub fn gmp_debug_var(&self, v: &Value) -> String {
        let n = match v {
            Value::Str(w) => {
                let off = w.as_str() == "off";
                let inverted = self.gmp_debug == "asyncpreemptoff";
                u8::from(off == inverted).to_string()
            }
            Value::Num(_) => v.to_string(),
        };
        format!("{}={n}", self.gmp_debug)
    }
}

/// Every knob, in the order `--help` lists them.
pub const KNOBS: &[Knob] = &[
    Knob {
        key: "gmp.asyncpreempt",
        kind: KnobKind::OnOff,
        default: "on",
        help: "asynchronous preemption; off: a loop without calls holds its P (Go: GODEBUG=asyncpreemptoff=1)",
        gmp_debug: "asyncpreemptoff",
        go: GoMirror::Godebug("GODEBUG=asyncpreemptoff=1"),
        go_code: "proc.go: preemptone's preemptM (the SIGURG that stops a loop without calls)",
    },
    Knob {
        key: "gmp.max_threads",
        kind: KnobKind::Int {
            min: 3,
            max: 1_000_000,
        },
        default: "10000",
        help: "thread limit; exceeding it is fatal (Go: runtime/debug.SetMaxThreads)",
        gmp_debug: "maxthreads",
        go: GoMirror::Call("debug.SetMaxThreads(n)"),
        go_code: "proc.go: checkmcount's sched.maxmcount",
    },
    Knob {
        key: "gmp.sysmon",
        kind: KnobKind::OnOff,
        default: "on",
        help: "the sysmon thread; off: no retake, no preemption (model-only, Go has no switch)",
        gmp_debug: "sysmon",
        go: GoMirror::ModelOnly,
        go_code: "proc.go: runtime.main's newm(sysmon, nil, -1)",
    },
    Knob {
        key: "gmp.handoff",
        kind: KnobKind::OnOff,
        default: "on",
        help: "syscall hand-off; off: every wrapped syscall behaves as a raw one (model-only)",
        gmp_debug: "handoff",
        go: GoMirror::ModelOnly,
        go_code: "proc.go: entersyscall/exitsyscall around syscall.Syscall and cgocall",
    },
    Knob {
        key: "gmp.retake_exception",
        kind: KnobKind::OnOff,
        default: "on",
        help: "retake spares a P in a syscall with no other work for 10 ms; off: retaken at once (model-only)",
        gmp_debug: "retakeexception",
        go: GoMirror::ModelOnly,
        go_code: "proc.go: retake's `runqempty && nmspinning+npidle > 0 && syscallwhen+10ms > now`",
    },
    Knob {
        key: "gmp.sysmon_delay_us",
        kind: KnobKind::Int {
            min: 0,
            max: 1_000_000,
        },
        default: "0",
        help: "sysmon's sleep fixed at N us; 0: Go's 20 us doubling to 10 ms (model-only)",
        gmp_debug: "sysmondelay",
        go: GoMirror::ModelOnly,
        go_code: "proc.go: sysmon's delay back-off before usleep(delay)",
    },
    Knob {
        key: "gmp.netpoll",
        kind: KnobKind::OnOff,
        default: "on",
        help: "network poller for sockets; off: each waiting read blocks a thread (model-only)",
        gmp_debug: "netpoll",
        go: GoMirror::ModelOnly,
        go_code: "netpoll.go: runtime_pollOpen from internal/poll's FD.Init",
    },
];

/// The knob named `key`, if it is one.
pub fn knob(key: &str) -> Option<&'static Knob> {
    KNOBS.iter().find(|k| k.key == key)
}

/// Whether `axis` is a knob whose value in `params` is its default: such
/// an axis is left out of the point id (sweep.rs `point_id`), so a sweep
/// that adds a knob axis keeps the ids of its points at the default, and
/// their gmp/go pairs.
pub fn at_default(axis: &str, params: &crate::metrics::Params) -> bool {
    match (knob(axis), params.get(axis)) {
        (Some(k), Some(v)) => *v == k.default_value(),
        _ => false,
    }
}

/// `params` with every knob it lacks at its default: a point that has no
/// knob axis runs with the knob at its default, so a predicate naming a
/// knob judges it like a point that has the axis at the default.
pub fn with_defaults(params: &crate::metrics::Params) -> crate::metrics::Params {
    let mut p = params.clone();
    for k in KNOBS {
        p.entry(k.key.to_string())
            .or_insert_with(|| k.default_value());
    }
    p
}

/// Whether `params` set the knob `key` off its default. A sweep whose grid
/// has a knob passes its default to every point, so the key being present
/// says nothing; only another value changes the scheduler.
pub fn changed(key: &str, params: &crate::metrics::Params) -> bool {
    knob(key).is_some_and(|k| params.get(key).is_some_and(|v| *v != k.default_value()))
}

/// Whether a point belongs to a view of a sweep — a verdict, a fidelity
/// row, a plot — whose `where` is `filter`: a point with a knob off its
/// default belongs only to views whose filter names that knob. So the
/// claims, comparisons and plots a sweep had before a knob axis was added
/// keep judging Go's design, and a view about a knob says so by naming it.
pub fn in_view(filter: Option<&str>, params: &crate::metrics::Params) -> bool {
    let off: Vec<&str> = KNOBS
        .iter()
        .filter(|k| changed(k.key, params))
        .map(|k| k.key)
        .collect();
    if off.is_empty() {
        return true;
    }
    let names = filter
        .and_then(|f| crate::predicate::Predicate::parse(f).ok())
        .map(|p| p.names())
        .unwrap_or_default();
    off.iter().all(|k| names.iter().any(|n| n == k))
}

/// `--set <knob>=v` on a sweep that does not have the knob as an axis: adds
/// it as the last axis of the grid (with the knob's default as a
/// placeholder value, which `apply_set` then replaces), so any scenario can
/// be run with a knob without editing its sweep. Does nothing for an axis
/// the sweep has, or for a name that is not a knob.
pub fn add_axis(sweep: &mut Sweep, axis: &str) {
    let Some(k) = knob(axis) else { return };
    if sweep.axis_names().iter().any(|n| n == axis) {
        return;
    }
    sweep.grid.push((axis.to_string(), vec![k.default_value()]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_gmp_dotted_and_defaults_parse() {
        for k in KNOBS {
            assert!(k.key.starts_with("gmp."), "{}", k.key);
            let d = k.default_value();
            if let (KnobKind::Int { min, max }, Value::Num(n)) = (k.kind, &d) {
                assert!((min as f64..=max as f64).contains(n), "{}", k.key);
            }
        }
        assert_eq!(
            KNOBS.iter().filter(|k| k.go != GoMirror::ModelOnly).count(),
            2
        );
    }

    #[test]
    fn gmp_debug_vars() {
        let off = Value::Str("off".into());
        assert_eq!(
            knob("gmp.asyncpreempt").unwrap().gmp_debug_var(&off),
            "asyncpreemptoff=1"
        );
        assert_eq!(
            knob("gmp.handoff").unwrap().gmp_debug_var(&off),
            "handoff=0"
        );
        assert_eq!(
            knob("gmp.max_threads")
                .unwrap()
                .gmp_debug_var(&Value::Num(50.0)),
            "maxthreads=50"
        );
    }

    #[test]
    fn set_adds_a_knob_axis_once_and_nothing_else() {
        let text = "scenario: s\nincident: i\nruntimes: [gmp]\nduration: 1s\ngrid:\n  procs: [1]\n";
        let mut s: Sweep = serde_saphyr::from_str(text).unwrap();
        add_axis(&mut s, "gmp.netpoll");
        add_axis(&mut s, "gmp.netpoll");
        add_axis(&mut s, "procs");
        add_axis(&mut s, "not_a_knob");
        assert_eq!(s.axis_names(), ["procs", "gmp.netpoll"]);
        s.apply_set("gmp.netpoll", vec![Value::Str("off".into())])
            .unwrap();
        let pts = s.expand(&["gmp".to_string()]).unwrap();
        assert_eq!(pts.len(), 1);
        assert_eq!(pts[0].point_id, "procs-1_gmp.netpoll-off");
    }

    #[test]
    fn a_point_with_a_knob_off_is_only_in_views_that_name_it() {
        let p = |pairs: &[(&str, &str)]| -> crate::metrics::Params {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::Str(v.to_string())))
                .collect()
        };
        let default = p(&[("mode", "raw"), ("gmp.handoff", "on")]);
        let off = p(&[("mode", "raw"), ("gmp.handoff", "off")]);
        let two_off = p(&[("gmp.handoff", "off"), ("gmp.netpoll", "off")]);
        assert!(in_view(None, &default));
        assert!(in_view(Some("mode == 'raw'"), &default));
        assert!(!in_view(None, &off));
        assert!(!in_view(Some("mode == 'raw'"), &off));
        assert!(in_view(Some("gmp.handoff == 'off'"), &off));
        assert!(in_view(Some("gmp.handoff != 'on' && mode == 'raw'"), &off));
        assert!(!in_view(Some("gmp.handoff == 'off'"), &two_off));
        let d = with_defaults(&p(&[("mode", "raw"), ("gmp.handoff", "off")]));
        assert_eq!(d["gmp.handoff"], Value::Str("off".into()));
        assert_eq!(d["gmp.max_threads"], Value::Num(10000.0));
        assert_eq!(d.len(), 1 + KNOBS.len());
    }

    #[test]
    fn a_knob_at_its_default_is_not_in_the_point_id() {
        let text = "scenario: s\nincident: i\nruntimes: [gmp, go]\nduration: 1s\ngrid:\n  procs: [1]\n  gmp.handoff: ['on', 'off']\n  gmp.sysmon_delay_us: [0, 10000]\n";
        let s: Sweep = serde_saphyr::from_str(text).unwrap();
        let ids: Vec<String> = s
            .expand(&["gmp".to_string()])
            .unwrap()
            .into_iter()
            .map(|p| p.point_id)
            .collect();
        assert_eq!(
            ids,
            [
                "procs-1",
                "procs-1_gmp.sysmon_delay_us-10000",
                "procs-1_gmp.handoff-off",
                "procs-1_gmp.handoff-off_gmp.sysmon_delay_us-10000"
            ]
        );
    }
}
