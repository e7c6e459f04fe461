//! `GMP_DEBUG`: gmp's `GODEBUG` (runtime1.go: `dbgvars`, `parsedebugvars`).
//!
//! Go reads `GODEBUG` once, when the runtime starts; gmp reads `GMP_DEBUG`
//! when a [`crate::Builder`] builds a runtime, and a variable it sets wins
//! over the builder's setting, as `GODEBUG` wins over a program's defaults.
//! The syntax is Go's: `key=value` pairs separated by commas.
//!
//! | variable            | Go                                   | switches off (or sets)                         |
//! |---------------------|--------------------------------------|------------------------------------------------|
//! | `schedtrace=ms`     | `GODEBUG=schedtrace=ms`              | (prints Go's SCHED line every ms)              |
//! | `scheddetail=1`     | `GODEBUG=scheddetail=1`              | (detailed schedtrace)                          |
//! | `asyncpreemptoff=1` | `GODEBUG=asyncpreemptoff=1`          | `preemptone`'s `preemptM` signal (proc.go)     |
//! | `maxthreads=n`      | `runtime/debug.SetMaxThreads(n)`     | (the thread limit, `sched.maxmcount`)          |
//! | `sysmon=0`          | none (model-only)                    | `runtime.main`'s `newm(sysmon, ..)` (proc.go)  |
//! | `handoff=0`         | none (model-only)                    | `entersyscall`/`exitsyscall` around syscalls   |
//! | `retakeexception=0` | none (model-only)                    | `retake`'s "no other work to do" `continue`    |
//! | `sysmondelay=us`    | none (model-only)                    | sysmon's 20 us .. 10 ms back-off (0: Go's)     |
//! | `netpoll=0`         | none (model-only)                    | `runtime_pollOpen` for sockets (netpoll.go)    |
//!
//! Each knob's effect is documented on its [`crate::Builder`] method. An
//! unknown key or a value that is not a whole number is an error
//! ([`crate::Error::Env`]), never silently ignored: a typo in a knob would
//! otherwise measure the default and call it the knob.

use crate::Error;

/// The `GMP_DEBUG` variables that were set (None: not in `GMP_DEBUG`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct DebugVars {
    pub(crate) schedtrace_ms: Option<u64>,
    pub(crate) scheddetail: Option<bool>,
    pub(crate) asyncpreemptoff: Option<bool>,
    pub(crate) maxthreads: Option<u64>,
    pub(crate) sysmon: Option<bool>,
    pub(crate) handoff: Option<bool>,
    pub(crate) retake_exception: Option<bool>,
    pub(crate) sysmon_delay_us: Option<u64>,
    pub(crate) netpoll: Option<bool>,
}

/// The keys `GMP_DEBUG` accepts, for the error message.
pub(crate) const KEYS: &str = "schedtrace=ms, scheddetail=1, asyncpreemptoff=1, maxthreads=n, \
     sysmon=0, handoff=0, retakeexception=0, sysmondelay=us, netpoll=0";

/// Reads `GMP_DEBUG` from the environment (models `parsedebugvars`).
pub(crate) fn from_env() -> Result<DebugVars, Error> {
    match std::env::var("GMP_DEBUG") {
        Ok(v) => parse(&v),
        Err(_) => Ok(DebugVars::default()),
    }
}

/// Parses a `GMP_DEBUG` value: `key=n` pairs separated by commas.
pub(crate) fn parse(v: &str) -> Result<DebugVars, Error> {
    let bad = || Error::Env(v.to_string());
    let mut d = DebugVars::default();
    for kv in v.split(',').filter(|s| !s.is_empty()) {
        let (k, val) = kv.split_once('=').ok_or_else(bad)?;
        let n: u64 = val.parse().map_err(|_| bad())?;
        let on = n != 0;
        match k {
            "schedtrace" => d.schedtrace_ms = Some(n),
            "scheddetail" => d.scheddetail = Some(on),
            "asyncpreemptoff" => d.asyncpreemptoff = Some(on),
            "maxthreads" => d.maxthreads = Some(n),
            "sysmon" => d.sysmon = Some(on),
            "handoff" => d.handoff = Some(on),
            "retakeexception" => d.retake_exception = Some(on),
            "sysmondelay" => d.sysmon_delay_us = Some(n),
            "netpoll" => d.netpoll = Some(on),
            _ => return Err(bad()),
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_read_and_unknown_ones_refused() {
        let d = parse(
            "schedtrace=5,asyncpreemptoff=1,maxthreads=50,sysmon=0,handoff=0,\
             retakeexception=0,sysmondelay=10000,netpoll=0",
        )
        .unwrap();
        assert_eq!(d.schedtrace_ms, Some(5));
        assert_eq!(d.asyncpreemptoff, Some(true));
        assert_eq!(d.maxthreads, Some(50));
        assert_eq!(d.sysmon, Some(false));
        assert_eq!(d.handoff, Some(false));
        assert_eq!(d.retake_exception, Some(false));
        assert_eq!(d.sysmon_delay_us, Some(10_000));
        assert_eq!(d.netpoll, Some(false));
        assert_eq!(d.scheddetail, None);
        assert_eq!(parse("").unwrap(), DebugVars::default());
        assert!(parse("asyncpreempt=1").is_err());
        assert!(parse("netpoll=off").is_err());
        assert!(parse("netpoll").is_err());
    }
}
