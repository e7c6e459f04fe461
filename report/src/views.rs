//! The profiles users know from pprof, grouped and counted like its
//! `debug=1` output, from the `event` lines of a trace:
//!
//! * **goroutine dump** (`goroutine_dump`): gmp prints one line per group,
//!   `9994 @ chan send, created at src/main.rs:509`; Go prints pprof's
//!   `debug=1` text, one block per distinct stack (`1995 @ 0x… 0x…` then
//!   `#\t0x…\tmain.spawnSender.func1+0x36\t/…/main.go:218` frames). Both
//!   become rows of (count, state, where): for Go, where = the frame the
//!   goroutine is blocked in and the first `main.` frame that led there
//!   (Go's debug=1 has no wait reason, so its state is "—").
//! * **thread-creation profile** (`threadcreate`, gmp only): one line per
//!   M, `M12 at 0.103 s: sysmon retook P0 from G7 in syscall (seen 21 us
//!   ago)`. Rows group Ms by their cause with the numbers taken out (`P#`,
//!   `G#`), with the count, the first and last time, and one cause as it
//!   was written. This is what Go's threadcreate profile cannot say
//!   (golang/go#6104: its stacks are those of the thread's creator, usually
//!   empty).

/// One row of a grouped profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub count: u64,
    pub state: String,
    pub site: String,
}

/// A goroutine dump's groups, largest first, and the total it states.
pub fn goroutine_groups(text: &str) -> (Option<u64>, Vec<Group>) {
    let total = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("goroutine profile: total "))
        .and_then(|n| n.trim().parse().ok());
    let mut groups: Vec<Group> = Vec::new();
    let mut lines = text.lines().skip(1).peekable();
    while let Some(line) = lines.next() {
        let Some((n, rest)) = line.split_once(" @ ") else {
            continue;
        };
        let Ok(count) = n.trim().parse::<u64>() else {
            continue;
        };
        if rest.trim_start().starts_with("0x") {
            // Go: the frames follow as `#\t0xPC\tfunc+off\tfile:line`.
            let mut frames: Vec<(String, String)> = Vec::new();
            while let Some(f) = lines.peek() {
                let Some(body) = f.strip_prefix('#') else {
                    break;
                };
                let parts: Vec<&str> = body.split('\t').filter(|p| !p.is_empty()).collect();
                if parts.len() >= 3 {
                    let func = parts[1].split("+0x").next().unwrap_or(parts[1]);
                    frames.push((func.to_string(), parts[parts.len() - 1].to_string()));
                }
                lines.next();
            }
            groups.push(Group {
                count,
                state: "—".into(),
                site: go_site(&frames),
            });
        } else {
            let (state, site) = match rest.split_once(", ") {
                Some((s, w)) => (s.to_string(), w.to_string()),
                None => (rest.to_string(), String::new()),
            };
            groups.push(Group { count, state, site });
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    (total, groups)
}

/// Where a Go goroutine is: its top frame and the first `main.` frame.
fn go_site(frames: &[(String, String)]) -> String {
    let base = |file: &str| file.rsplit('/').next().unwrap_or(file).trim().to_string();
    let Some((top, top_file)) = frames.first() else {
        return "(no frames)".into();
    };
    match frames.iter().find(|(f, _)| f.starts_with("main.")) {
        Some((f, file)) if f != top => format!("in {top}, from {f} ({})", base(file)),
        _ => format!("in {top} ({})", base(top_file)),
    }
}

/// One row of the thread-creation profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CauseGroup {
    pub count: u64,
    /// The cause with its numbers replaced by `#`.
    pub cause: String,
    pub first_s: f64,
    pub last_s: f64,
    /// The first M's cause as written.
    pub example: String,
}

/// Groups a `threadcreate` event's M lines by cause, largest first.
pub fn threadcreate_groups(text: &str) -> Vec<CauseGroup> {
    let mut out: Vec<CauseGroup> = Vec::new();
    for line in text.lines() {
        let Some((head, cause)) = line.split_once(": ") else {
            continue;
        };
        let Some(at) = head
            .split_once(" at ")
            .and_then(|(m, t)| m.starts_with('M').then_some(t))
            .and_then(|t| t.trim().trim_end_matches('s').trim().parse::<f64>().ok())
        else {
            continue;
        };
        let key = without_numbers(cause);
        match out.iter_mut().find(|g| g.cause == key) {
            Some(g) => {
                g.count += 1;
                g.first_s = g.first_s.min(at);
                g.last_s = g.last_s.max(at);
            }
            None => out.push(CauseGroup {
                count: 1,
                cause: key,
                first_s: at,
                last_s: at,
                example: cause.to_string(),
            }),
        }
    }
    out.sort_by_key(|g| std::cmp::Reverse(g.count));
    out
}

/// `sysmon retook P0 from G7 (seen 21 us ago)` -> `sysmon retook P# from
/// G# (seen # us ago)`.
pub fn without_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_num = false;
    for c in s.chars() {
        if c.is_ascii_digit() || (in_num && c == '.') {
            if !in_num {
                out.push('#');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmp_and_go_dumps_group_alike() {
        let gmp = "goroutine profile: total 1996\n1994 @ chan send, created at scenarios/sender_leak/src/main.rs:509\n1 @ running, created at scenario-kit/src/rt_gmp.rs:56\n";
        let (total, g) = goroutine_groups(gmp);
        assert_eq!(total, Some(1996));
        assert_eq!(g[0].count, 1994);
        assert_eq!(g[0].state, "chan send");
        assert_eq!(
            g[0].site,
            "created at scenarios/sender_leak/src/main.rs:509"
        );
        let go = "goroutine profile: total 102\n1 @ 0x1 0x2\n#\t0x1\truntime/pprof.writeGoroutine+0x4c\t/usr/lib/go/src/runtime/pprof/pprof.go:683\n\n100 @ 0x49da47 0x49c185\n#\t0x49da46\tsyscall.Syscall+0x26\t\t\t/usr/lib/go-1.19/src/syscall/syscall_linux.go:68\n#\t0x4df4e4\tnet.(*conn).Read+0x44\t\t\t/usr/lib/go-1.19/src/net/net.go:183\n#\t0x52352a\tmain.reader+0x8a\t\t\t/x/reference/go/dup_fd/main.go:140\n\n";
        let (total, g) = goroutine_groups(go);
        assert_eq!(total, Some(102));
        assert_eq!(g[0].count, 100, "largest first");
        assert_eq!(
            g[0].site,
            "in syscall.Syscall, from main.reader (main.go:140)"
        );
    }

    #[test]
    fn threads_group_by_cause_without_their_numbers() {
        let t = "threadcreate profile: total 3\nM1 at 0.000 s: sysmon\nM2 at 0.1 s: sysmon retook P0 from G7 in syscall (seen 21 us ago)\nM3 at 0.25 s: sysmon retook P1 from G9 in syscall (seen 30 us ago)\n";
        let g = threadcreate_groups(t);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].count, 2);
        assert_eq!(
            g[0].cause,
            "sysmon retook P# from G# in syscall (seen # us ago)"
        );
        assert_eq!((g[0].first_s, g[0].last_s), (0.1, 0.25));
        assert_eq!(
            g[0].example,
            "sysmon retook P0 from G7 in syscall (seen 21 us ago)"
        );
    }
}
