//! A scenario binary's self-description: `<binary> --describe` prints a
//! [`ScenarioSpec`] as one JSON object on stdout and exits 0.
//!
//! ```json
//! {"name": "baseline", "about": "...", "runtimes": ["gmp", "tokio"],
//!  "params": [{"key": "procs", "kind": {"type": "int", "min": 1, "max": 256},
//!              "default": "1", "help": "GOMAXPROCS / worker threads"}]}
//! ```
//!
//! The runner asks for it before a run and checks every value of every
//! axis with [`ParamKind::parse`], the same function the scenario binary
//! uses on its own `--set` (scenario-kit calls it), so a value the binary
//! would refuse (`procs=0`, `procs=abc`) is refused once, with exit 2,
//! before anything runs, instead of by each of N spawned processes.
//!
//! Invariants: keys are whatever the scenario declares (dots allowed,
//! `gmp.asyncpreempt`); a value is checked as the text the runner would
//! pass on the command line (`Value`'s `Display`), so the check and the
//! binary see the same string.

use crate::metrics::Value;
use serde::{Deserialize, Serialize};

/// What a scenario binary accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSpec {
    pub name: String,
    pub about: String,
    /// Runtimes the binary implements (`go` is the reference program's).
    pub runtimes: Vec<String>,
    pub params: Vec<ParamDesc>,
}

/// One `--set` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamDesc {
    pub key: String,
    pub kind: ParamKind,
    pub default: String,
    pub help: String,
}

/// What values a key takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A finite number in `min..=max`.
    Float { min: f64, max: f64 },
    /// One of these words.
    Word { words: Vec<String> },
    /// `true`/`false`, `1`/`0`, `yes`/`no`.
    Bool,
}

impl ParamKind {
    /// Parses a `--set` value of this kind: the value grammar the scenario
    /// binaries and the runner share.
    pub fn parse(&self, v: &str) -> Result<Value, String> {
        match self {
            ParamKind::Int { min, max } => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| format!("expected an integer in {min}..={max}"))?;
                if !(*min..=*max).contains(&n) {
                    return Err(format!("out of range {min}..={max}"));
                }
                Ok(Value::Num(n as f64))
            }
            ParamKind::Float { min, max } => {
                let n: f64 = v
                    .parse()
                    .map_err(|_| format!("expected a number in {min}..={max}"))?;
                if !n.is_finite() || n < *min || n > *max {
                    return Err(format!("out of range {min}..={max}"));
                }
                Ok(Value::Num(n))
            }
            ParamKind::Word { words } => match words.iter().find(|w| *w == v) {
                Some(_) => Ok(Value::Str(v.to_string())),
                None => Err(format!("expected one of {}", words.join(", "))),
            },
            ParamKind::Bool => match v {
                "true" | "1" | "yes" => Ok(Value::Num(1.0)),
                "false" | "0" | "no" => Ok(Value::Num(0.0)),
                _ => Err("expected true or false".to_string()),
            },
        }
    }
}

impl ScenarioSpec {
    /// Checks one axis value as the binary would (`--set key=value`).
    pub fn check(&self, key: &str, value: &Value) -> Result<(), String> {
        let Some(p) = self.params.iter().find(|p| p.key == key) else {
            let keys: Vec<&str> = self.params.iter().map(|p| p.key.as_str()).collect();
            return Err(format!(
                "`{key}` is not a parameter of scenario {} (its parameters: {})",
                self.name,
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            ));
        };
        p.kind
            .parse(&value.to_string())
            .map(|_| ())
            .map_err(|e| format!("{key}={value}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ScenarioSpec {
        ScenarioSpec {
            name: "demo".into(),
            about: "a".into(),
            runtimes: vec!["gmp".into()],
            params: vec![
                ParamDesc {
                    key: "procs".into(),
                    kind: ParamKind::Int { min: 1, max: 64 },
                    default: "1".into(),
                    help: "Ps".into(),
                },
                ParamDesc {
                    key: "gmp.asyncpreempt".into(),
                    kind: ParamKind::Bool,
                    default: "true".into(),
                    help: "knob".into(),
                },
            ],
        }
    }

    #[test]
    fn values_are_checked_as_the_binary_parses_them() {
        let s = spec();
        assert!(s.check("procs", &Value::Num(2.0)).is_ok());
        for bad in [Value::Num(0.0), Value::Num(-1.0), Value::Num(2.5)] {
            assert!(s.check("procs", &bad).is_err(), "{bad}");
        }
        let e = s.check("procs", &Value::Str("abc".into())).unwrap_err();
        assert_eq!(e, "procs=abc: expected an integer in 1..=64");
        assert!(s.check("gmp.asyncpreempt", &Value::Num(0.0)).is_ok());
        let e = s.check("cpus", &Value::Num(1.0)).unwrap_err();
        assert!(e.contains("procs, gmp.asyncpreempt"), "{e}");
    }

    #[test]
    fn the_json_round_trips() {
        let s = spec();
        let j = serde_json::to_string(&s).unwrap();
        assert!(
            j.contains(r#""kind":{"type":"int","min":1,"max":64}"#),
            "{j}"
        );
        assert_eq!(serde_json::from_str::<ScenarioSpec>(&j).unwrap(), s);
    }
}
