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

/// Makes text safe inside a Markdown table cell (one line, no pipes, no
/// raw HTML).
pub fn md_cell(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    one_line
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
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

/// A metric's axis label and the factor its stored values are multiplied
/// by for display (bytes are shown in MiB).
pub fn metric_axis(name: &str) -> (String, f64) {
    let words = match name {
        "threads" => return ("OS threads".into(), 1.0),
        "r_threads" => return ("threads in state R (runnable)".into(), 1.0),
        "cores" => return ("CPU cores used".into(), 1.0),
        "rss_bytes" => return ("RSS (MiB)".into(), 1.0 / 1_048_576.0),
        "probe_p99_us" => return ("probe p99 lateness (µs)".into(), 1.0),
        _ => name.replace('_', " "),
    };
    if let Some(base) = name.strip_suffix("_bytes") {
        return (
            format!("{} (MiB)", base.replace('_', " ")),
            1.0 / 1_048_576.0,
        );
    }
    let unit = if name.ends_with("_us") {
        " (µs)"
    } else if name.ends_with("_ms") {
        " (ms)"
    } else if name.ends_with("_s") {
        " (s)"
    } else if name.starts_with("threads") || name.starts_with("r_threads") {
        " (threads)"
    } else if name.starts_with("cores") {
        " (cores)"
    } else {
        ""
    };
    let trimmed = match unit {
        " (µs)" | " (ms)" | " (s)" => words
            .rsplit_once(' ')
            .map_or(words.clone(), |(w, _)| w.to_string()),
        _ => words,
    };
    (format!("{trimmed}{unit}"), 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(html("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
        assert_eq!(md_cell("a|b\n<i>"), "a\\|b &lt;i&gt;");
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

    #[test]
    fn names_metrics_with_units() {
        assert_eq!(metric_axis("probe_p99_us").0, "probe p99 lateness (µs)");
        assert_eq!(metric_axis("wall_s").0, "wall (s)");
        assert_eq!(
            metric_axis("rss_peak_bytes"),
            ("rss peak (MiB)".into(), 1.0 / 1_048_576.0)
        );
        assert_eq!(metric_axis("threads_median").0, "threads median (threads)");
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
