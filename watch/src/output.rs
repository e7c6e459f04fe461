//! The human verdict: what was named, how sure, on what evidence, and the
//! lab command that reproduces it.

use crate::signatures::{self, Confidence, Finding, Signature};
use crate::watch::{Ended, Report};
use std::fmt::Write;

fn conf(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

fn finding(out: &mut String, label: &str, f: &Finding) {
    let _ = writeln!(
        out,
        "{label}: {} [confidence {}]: {}",
        f.id,
        conf(f.confidence),
        f.title
    );
    for e in &f.evidence {
        let _ = writeln!(out, "  - {e}");
    }
    if f.signature != Signature::None {
        let _ = writeln!(out, "  why: {}", f.why);
    }
    if let Some(r) = f.reproduce {
        let _ = writeln!(out, "  reproduce: {r}");
    }
}

/// The report as text.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let cmd: String = r.cmdline.chars().take(100).collect();
    let _ = writeln!(out, "schedlab watch: pid {} `{cmd}`", r.pid);
    let _ = writeln!(
        out,
        "  runtime: {}{}; cap {} ({})",
        r.runtime.kind.as_str(),
        r.runtime
            .version
            .as_ref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        r.runtime.cap,
        r.runtime.cap_source
    );
    let ended = match &r.ended {
        Ended::Done => "still running".to_string(),
        Ended::Exited { status: Some(s) } => format!("it EXITED while watched ({s})"),
        Ended::Exited { status: None } => "it EXITED while watched".to_string(),
        Ended::Interrupted => "interrupted (Ctrl-C): the verdict is on what was seen".to_string(),
    };
    let _ = writeln!(
        out,
        "  watched {:.1} s, {} samples every {}; {ended}",
        r.watched_s,
        r.samples,
        secs(r.every_s)
    );
    if !r.syscalls_readable {
        let _ = writeln!(
            out,
            "  note: per-thread syscalls were not readable (needs the right to ptrace-read the process: \
             the same user, or root); the dup_fd and syscalls signatures could not be checked"
        );
    }
    out.push('\n');
    finding(&mut out, "verdict", &r.verdict);
    for f in r.findings.iter().skip(1) {
        if f.signature == Signature::None {
            continue;
        }
        out.push('\n');
        finding(&mut out, "also", f);
    }
    if r.verdict.signature != Signature::None {
        let seen = signatures::seen(&signatures::Window {
            figs: &r.figures,
            rt: &r.runtime,
            pprof: None,
            stacks: None,
            syscalls_readable: r.syscalls_readable,
        });
        out.push('\n');
        for s in seen {
            let _ = writeln!(out, "seen: {s}");
        }
    }
    if let Some(st) = &r.stacks {
        let _ = write!(out, "--stacks: {} threads sampled", st.by_tid.len());
        if let Some((med, p90, max)) = st.pause_percentiles_us() {
            let _ = write!(
                out,
                "; {} ptrace stops, each thread paused median {med:.0} us, p90 {p90:.0} us, max {max:.0} us",
                st.pauses_us.len()
            );
        }
        out.push('\n');
    }
    if let Some(p) = &r.pprof {
        let _ = write!(out, "--pprof: {} answers from {}", p.t_s.len(), p.url);
        if let Some(t) = p.silent_since_s {
            let _ = write!(out, "; SILENT since {t:.1} s");
        }
        if let Some(e) = &p.last_error {
            let _ = write!(out, "; last error: {e}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "watcher: {:.1}% of one core", r.watcher_cores * 100.0);
    out
}

fn secs(s: f64) -> String {
    if s >= 1.0 && s.fract() == 0.0 {
        format!("{s:.0} s")
    } else if s >= 1.0 {
        format!("{s} s")
    } else {
        format!("{:.0} ms", s * 1000.0)
    }
}
