//! Small text helpers shared by plots, HTML and Markdown: escaping, number
//! and time formatting, metric names in words with their units.
//!
//! Invariants:
//! * Every string from a run directory that reaches HTML goes through
//!   [`html`]; every one that reaches a Markdown table cell goes through
//!   [`md_cell`].
//! * Number formatting never panics on NaN or infinities: they print as
//!   "NaN" / "inf" (the tables show what was stored, plots skip them).

use schedlab_protocol::util::UtcTime;

/// Escapes text for HTML element content and attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Makes text safe inside a Markdown table cell and readable as plain
/// text: one line, pipes escaped, and a `<` that could open an HTML tag
/// (`<x`, `</`, `<!`) backslash-escaped; `&&`, `>=`, `< 10` stay as they
/// are (no entities).
pub fn md_cell(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    let mut out = String::with_capacity(one_line.len());
    let mut chars = one_line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\|"),
            '<' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                out.push_str("\\<")
            }
            _ => out.push(c),
        }
    }
    out
}

/// A number for humans: integers without a fraction, others with about
/// three significant digits, large values with a k/M/G suffix.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = v.abs();
    if a >= 1e9 {
        return format!("{}G", trim(v / 1e9, 3));
    }
    if a >= 1e6 {
        return format!("{}M", trim(v / 1e6, 3));
    }
    if a >= 1e4 {
        return format!("{}k", trim(v / 1e3, 3));
    }
    if a != 0.0 && a < 1e-3 {
        return format!("{v:.2e}");
    }
    trim(v, 3)
}

/// `v` with `sig` significant digits, trailing zeros dropped.
fn trim(v: f64, sig: i32) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = (sig - 1 - mag).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(unix_s: f64) -> String {
    if !unix_s.is_finite() || unix_s < 0.0 {
        return "—".into();
    }
    let t = UtcTime::from_unix(unix_s);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Lower-case ASCII letters, digits and `-`, at most `max` characters.
pub fn slug(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= max {
            break;
        }
    }
    let t = out.trim_end_matches('-');
    if t.is_empty() {
        "plot".into()
    } else {
        t.to_string()
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary; the second
/// value is how many bytes were cut.
pub fn cap(s: &str, max: usize) -> (&str, usize) {
    if s.len() <= max {
        return (s, 0);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], s.len() - end)
}

/// A metric in words, without its unit: `threads` -> "OS threads",
/// `probe_p99_us` -> "probe p99 lateness", `rss_peak_bytes` -> "rss peak".
pub fn metric_words(name: &str) -> String {
    match name {
        "threads" => return "OS threads".into(),
        "r_threads" => return "threads in state R (runnable)".into(),
        "cores" => return "CPU cores used".into(),
        "rss_bytes" => return "RSS".into(),
        "probe_p99_us" => return "probe p99 lateness".into(),
        "probe_p50_us" => return "probe p50 lateness".into(),
        "probe_max_us" => return "probe max lateness".into(),
        _ => {}
    }
    let base = ["_bytes", "_us", "_ms", "_s"]
        .iter()
        .find_map(|u| name.strip_suffix(u))
        .unwrap_or(name);
    base.replace('_', " ")
}

/// The unit a metric is shown in for values up to `max` (in the metric's
/// own unit), and the factor its stored values are multiplied by:
/// durations in s from 1 s up, ms from 10 ms, else µs (a 3 s stall reads
/// "3 s", not "3M µs"); RSS always in MiB, other
/// byte counts in KiB below 1 MiB; counts without a unit.
pub fn display_unit(name: &str, max: f64) -> (&'static str, f64) {
    let max = if max.is_finite() { max.abs() } else { 0.0 };
    let time = |in_us: f64| {
        let us = max * in_us;
        if us >= 1e6 {
            ("s", in_us / 1e6)
        } else if us >= 1e4 {
            ("ms", in_us / 1e3)
        } else {
            ("µs", in_us)
        }
    };
    if name.ends_with("_us") {
        time(1.0)
    } else if name.ends_with("_ms") {
        time(1e3)
    } else if name.ends_with("_s") {
        if max >= 1.0 || max == 0.0 {
            ("s", 1.0)
        } else {
            time(1e6)
        }
    } else if name.ends_with("_bytes") {
        if name.starts_with("rss") || max >= 1_048_576.0 {
            ("MiB", 1.0 / 1_048_576.0)
        } else {
            ("KiB", 1.0 / 1024.0)
        }
    } else if name == "cores" || name.starts_with("cores_") {
        ("cores", 1.0)
    } else {
        ("", 1.0)
    }
}

/// Said of the plots whose `where` matches no point the run's profile
/// planned (drawn by a fuller profile), listed instead of drawn empty.
pub const NOT_IN_PROFILE: &str = "Full profile only (no point of this profile matches)";

/// An axis title: words, then the unit and the scale in parentheses,
/// "probe p99 lateness (ms, log scale)".
/// A unit the sweep's own label wrote ("lateness p99 (ms)") gives way to
/// the unit the values are drawn in, so an axis never says "(ms) (s)".
pub fn axis_title(words: &str, unit: &str, log: bool) -> String {
    const UNITS: [&str; 9] = ["us", "µs", "ms", "s", "bytes", "B", "KiB", "MiB", "cores"];
    let words = match words
        .trim_end()
        .strip_suffix(')')
        .and_then(|w| w.rsplit_once(" ("))
    {
        Some((head, u)) if !unit.is_empty() && UNITS.contains(&u) => head,
        _ => words,
    };
    let paren: Vec<&str> = [unit, if log { "log scale" } else { "" }]
        .into_iter()
        .filter(|s| !s.is_empty() && !words.contains(&format!("({s})")))
        .collect();
    if paren.is_empty() {
        words.to_string()
    } else {
        format!("{words} ({})", paren.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(html("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
        assert_eq!(md_cell("a|b\n<i>"), "a\\|b \\<i>");
        assert_eq!(
            md_cell("runtime == 'go' && conns >= 10 && c < 5"),
            "runtime == 'go' && conns >= 10 && c < 5"
        );
    }

    #[test]
    fn formats_numbers_and_dates() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(0.12345), "0.123");
        assert_eq!(num(12_500.0), "12.5k");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(1.5e-7), "1.50e-7");
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000.0), "2023-11-14 22:13:20 UTC");
    }

    fn metric_axis(name: &str, max: f64) -> (String, f64) {
        let (unit, f) = display_unit(name, max);
        (axis_title(&metric_words(name), unit, false), f)
    }

    #[test]
    fn names_metrics_with_units_that_fit_their_values() {
        assert_eq!(
            metric_axis("probe_p99_us", 900.0).0,
            "probe p99 lateness (µs)"
        );
        assert_eq!(
            metric_axis("probe_p99_us", 3e6),
            ("probe p99 lateness (s)".into(), 1e-6)
        );
        assert_eq!(
            metric_axis("probe_p99_us", 50_000.0).0,
            "probe p99 lateness (ms)"
        );
        assert_eq!(metric_axis("wall_s", 2.0).0, "wall (s)");
        assert_eq!(
            metric_axis("rss_peak_bytes", 1000.0),
            ("rss peak (MiB)".into(), 1.0 / 1_048_576.0)
        );
        assert_eq!(
            metric_axis("bytes_per_leaked_bytes", 4000.0).0,
            "bytes per leaked (KiB)"
        );
        assert_eq!(metric_axis("threads_median", 3.0).0, "threads median");
        assert_eq!(axis_title("OS threads", "", true), "OS threads (log scale)");
        assert_eq!(
            axis_title("heartbeat lateness p99 (ms)", "s", true),
            "heartbeat lateness p99 (s, log scale)"
        );
        assert_eq!(axis_title("threads (peak)", "", false), "threads (peak)");
        assert_eq!(
            axis_title("lateness", "ms", true),
            "lateness (ms, log scale)"
        );
    }

    #[test]
    fn caps_on_char_boundaries() {
        assert_eq!(cap("héllo", 2), ("h", 5));
        assert_eq!(
            slug("Thread floor by GOMAXPROCS!", 40),
            "thread-floor-by-gomaxprocs"
        );
    }
}
