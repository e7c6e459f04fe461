//! `--pprof URL`: a Go process's own goroutine profile, polled.
//!
//! `net/http/pprof`'s `goroutine?debug=1` groups goroutines by stack:
//!
//! ```text
//! goroutine profile: total 9994
//! 9990 @ 0x43a2b6 0x406cdc 0x4068f8 0x4b1a85 0x46c381
//! #    0x4b1a84    main.sender+0x64    /src/leak/main.go:31
//! ```
//!
//! A group's *site* is its first frame outside `runtime.` and
//! `internal/`: where the program, not the runtime, parked. The series of
//! totals and per-site counts is what the leak rule reads; an endpoint
//! that stops answering while the process burns a core is evidence for a
//! stuck stop-the-world (the HTTP server's goroutines cannot run either).
//!
//! Fetching runs on its own thread with a timeout, so a slow endpoint never
//! delays the `/proc` samples.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What went wrong with the endpoint, in words a user can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PprofError {
    #[error("cannot reach {url}: {msg} (is the process serving net/http/pprof there?)")]
    Unreachable { url: String, msg: String },
    #[error("{url} did not answer within {secs:.1} s")]
    Timeout { url: String, secs: f64 },
    #[error("{url} answered HTTP {status}, not a goroutine profile")]
    Status { url: String, status: u16 },
    #[error(
        "{url} did not return a goroutine profile (it starts {start:?}); give the pprof base, e.g. http://127.0.0.1:6060/debug/pprof/"
    )]
    NotProfile { url: String, start: String },
}

/// One stack group of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub count: u64,
    /// `func (file:line)` of each frame, innermost first.
    pub frames: Vec<String>,
}

impl Group {
    /// The first frame outside the runtime (the whole innermost one if all
    /// are runtime frames).
    pub fn site(&self) -> String {
        self.frames
            .iter()
            .find(|f| !f.starts_with("runtime.") && !f.starts_with("internal/"))
            .or(self.frames.first())
            .cloned()
            .unwrap_or_else(|| "?".into())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub total: u64,
    pub groups: Vec<Group>,
}

/// `http://h:p` -> `http://h:p/debug/pprof/goroutine?debug=1`; a URL that
/// already names the goroutine profile keeps its path and gets `debug=1`.
pub fn profile_url(base: &str) -> String {
    let b = base.trim_end_matches('/');
    if b.contains("/goroutine") {
        if b.contains("debug=") {
            b.to_string()
        } else if b.contains('?') {
            format!("{b}&debug=1")
        } else {
            format!("{b}?debug=1")
        }
    } else if b.ends_with("/debug/pprof") {
        format!("{b}/goroutine?debug=1")
    } else {
        format!("{b}/debug/pprof/goroutine?debug=1")
    }
}

/// Parses a `debug=1` goroutine profile.
pub fn parse(text: &str) -> Option<Profile> {
    let mut lines = text.lines();
    let head = lines.next()?.trim();
    let total = head
        .strip_prefix("goroutine profile: total ")?
        .trim()
        .parse()
        .ok()?;
    let mut groups: Vec<Group> = Vec::new();
    for l in lines {
        let l = l.trim_end();
        if let Some((n, _)) = l.split_once(" @ ")
            && let Ok(count) = n.trim().parse()
        {
            groups.push(Group {
                count,
                frames: Vec::new(),
            });
            continue;
        }
        if let Some(rest) = l.strip_prefix('#') {
            let mut f = rest.split_whitespace();
            let _pc = f.next();
            let (Some(func), Some(loc)) = (f.next(), f.next()) else {
                continue;
            };
            let func = func.rsplit_once("+0x").map_or(func, |(a, _)| a);
            let loc = loc.rsplit('/').next().unwrap_or(loc);
            if let Some(g) = groups.last_mut() {
                g.frames.push(format!("{func} ({loc})"));
            }
        }
    }
    Some(Profile { total, groups })
}

/// One GET of the profile, with a timeout.
pub fn fetch(url: &str, timeout: Duration) -> Result<Profile, PprofError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .into();
    let t0 = Instant::now();
    let resp = agent.get(url).call();
    let mut resp = match resp {
        Ok(r) => r,
        Err(ureq::Error::StatusCode(status)) => {
            return Err(PprofError::Status {
                url: url.into(),
                status,
            });
        }
        Err(ureq::Error::Timeout(_)) => {
            return Err(PprofError::Timeout {
                url: url.into(),
                secs: t0.elapsed().as_secs_f64(),
            });
        }
        Err(e) => {
            return Err(PprofError::Unreachable {
                url: url.into(),
                msg: e.to_string(),
            });
        }
    };
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => PprofError::Timeout {
                url: url.into(),
                secs: t0.elapsed().as_secs_f64(),
            },
            e => PprofError::Unreachable {
                url: url.into(),
                msg: e.to_string(),
            },
        })?;
    parse(&body).ok_or_else(|| PprofError::NotProfile {
        url: url.into(),
        start: body.chars().take(40).collect(),
    })
}

/// The polled series.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PprofSeries {
    pub url: String,
    pub t_s: Vec<f64>,
    pub totals: Vec<f64>,
    /// Site -> count, per answer.
    #[serde(skip)]
    pub sites: Vec<BTreeMap<String, u64>>,
    /// When the endpoint stopped answering (after having answered), and
    /// has not answered since.
    pub silent_since_s: Option<f64>,
    pub last_error: Option<String>,
}

impl PprofSeries {
    pub fn push(&mut self, t_s: f64, r: Result<Profile, PprofError>) {
        match r {
            Ok(p) => {
                self.t_s.push(t_s);
                self.totals.push(p.total as f64);
                let mut sites = BTreeMap::new();
                for g in &p.groups {
                    *sites.entry(g.site()).or_default() += g.count;
                }
                self.sites.push(sites);
                self.silent_since_s = None;
            }
            Err(e) => {
                if !self.t_s.is_empty() && self.silent_since_s.is_none() {
                    self.silent_since_s = Some(t_s);
                }
                self.last_error = Some(e.to_string());
            }
        }
    }

    /// The site that grew most between the first and the last answer, as
    /// `N @ site (+M)`.
    pub fn growing_site(&self) -> Option<String> {
        let (first, last) = (self.sites.first()?, self.sites.last()?);
        let (site, n, d) = last
            .iter()
            .map(|(s, &n)| (s, n, n as i64 - *first.get(s).unwrap_or(&0) as i64))
            .max_by_key(|x| x.2)?;
        (d > 0).then(|| format!("{n} @ {site} (+{d} while watched)"))
    }
}

/// Polls `url` every `every` on a thread of its own; answers arrive on
/// the returned channel as (seconds since `t0`, result).
pub fn spawn_poller(
    url: String,
    every: Duration,
    t0: Instant,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> mpsc::Receiver<(f64, Result<Profile, PprofError>)> {
    let (tx, rx) = mpsc::channel();
    let timeout = every.clamp(Duration::from_millis(500), Duration::from_secs(2));
    std::thread::Builder::new()
        .name("pprof-poll".into())
        .spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let r = fetch(&url, timeout);
                if tx.send((t0.elapsed().as_secs_f64(), r)).is_err() {
                    return;
                }
                let rest = every.saturating_sub(started.elapsed());
                std::thread::sleep(rest);
            }
        })
        .expect("spawning the pprof poller");
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "goroutine profile: total 7\n\
2 @ 0x43a2b6 0x406cdc 0x4b1a85 0x46c381\n\
#\t0x43a2b5\truntime.gopark+0x115\t/usr/lib/go/src/runtime/proc.go:363\n\
#\t0x4b1a84\tmain.sender+0x64\t/src/leak/main.go:31\n\
\n\
1 @ 0x43a2b6 0x46c381\n\
#\t0x4b1b00\tmain.main+0x20\t/src/leak/main.go:50\n";

    #[test]
    fn parses_groups_and_sites() {
        let p = parse(SAMPLE).unwrap();
        assert_eq!(p.total, 7);
        assert_eq!(p.groups.len(), 2);
        assert_eq!(p.groups[0].count, 2);
        assert_eq!(p.groups[0].site(), "main.sender (main.go:31)");
        assert_eq!(parse("<html>hi</html>"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(
            profile_url("http://127.0.0.1:6060"),
            "http://127.0.0.1:6060/debug/pprof/goroutine?debug=1"
        );
        assert_eq!(
            profile_url("http://h:1/debug/pprof/"),
            "http://h:1/debug/pprof/goroutine?debug=1"
        );
        assert_eq!(
            profile_url("http://h:1/debug/pprof/goroutine"),
            "http://h:1/debug/pprof/goroutine?debug=1"
        );
    }

    #[test]
    fn a_growing_site_and_a_silence() {
        let mut s = PprofSeries::default();
        s.push(1.0, Ok(parse(SAMPLE).unwrap()));
        let more = SAMPLE.replace("2 @", "40 @").replace("total 7", "total 45");
        s.push(2.0, Ok(parse(&more).unwrap()));
        assert_eq!(
            s.growing_site().as_deref(),
            Some("40 @ main.sender (main.go:31) (+38 while watched)")
        );
        s.push(
            3.0,
            Err(PprofError::Timeout {
                url: "u".into(),
                secs: 2.0,
            }),
        );
        assert_eq!(s.silent_since_s, Some(3.0));
    }
}
