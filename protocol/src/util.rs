//! Small computations that the runner and the report must do identically.
//!
//! Both programs read the same run directory ([`crate::results`]): the
//! runner computes the medians it judges verdicts and fidelity on, and
//! stamps the run with its start time; the report draws the same medians
//! and prints the same times. If each crate kept its own copy, a fix in
//! one (say, how an even count is split) would make the report show a
//! median the verdict was not judged on. They live here, in the contract
//! crate both already depend on, so there is one definition.
//!
//! Invariants:
//! * [`median`] never filters: NaN and infinities take part, ordered by
//!   [`f64::total_cmp`] (a caller that wants only finite values filters
//!   first, as the report's plots do);
//! * [`UtcTime::from_unix`] is the proleptic Gregorian calendar in UTC,
//!   whole seconds (the fraction is dropped), for any `i64` day count;
//! * [`parse_duration`] is the one duration grammar of the lab: sweep.yaml,
//!   `schedlab --duration` and every scenario binary's `--duration` accept
//!   exactly the same strings, and none of them can overflow a
//!   [`std::time::Duration`] (at most [`MAX_DURATION`]).

use std::time::Duration;

/// The longest duration anything in the lab accepts: one point running
/// longer than a day is a typo, and the bound keeps every deadline
/// (`Instant + duration + grace`) far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Parses `500ms`, `5s`, `1.5s`, `2m`, `1h`, `1m30s`, `250us` (also `µs`,
/// `min`). A bare number is refused (which unit?), and so is anything over
/// [`MAX_DURATION`]. Every message says what was wrong and what is valid.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let like = "like 500ms, 5s, 2m or 1m30s";
    if t.is_empty() {
        return Err(format!("expected a duration {like}, found nothing"));
    }
    let mut total = 0.0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let unit_len = rest[num_len..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len() - num_len);
        let (num, unit) = (&rest[..num_len], rest[num_len..num_len + unit_len].trim());
        let n: f64 = num
            .parse()
            .map_err(|_| format!("expected a duration {like}, found `{s}`"))?;
        let secs = match unit {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("`{s}`: missing unit: write 5s or 5000ms")),
            u => {
                return Err(format!(
                    "`{s}`: unknown unit `{u}`: use us, ms, s, m or h ({like})"
                ));
            }
        };
        total += n * secs;
        rest = &rest[num_len + unit_len..];
    }
    // Compare as f64 first: `Duration::from_secs_f64` panics past u64
    // seconds (a NaN cannot arise: the numbers are digits and dots).
    if total.is_nan() || total > MAX_DURATION.as_secs_f64() {
        return Err(format!(
            "`{s}`: out of range: at most {}h",
            MAX_DURATION.as_secs() / 3600
        ));
    }
    Ok(Duration::from_secs_f64(total))
}

/// The median of `values` (mean of the two middle ones for an even count),
/// or `None` when there are none. Sorts a copy by [`f64::total_cmp`].
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Least-squares line of `y` on `x`: `(slope, r2)`, or `None` with fewer
/// than two points or no spread in `x` (r2 is 0 when `y` is flat).
pub fn least_squares(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let (x, y) = (&x[..n], &y[..n]);
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    if sxx == 0.0 {
        return None;
    }
    let r2 = if syy == 0.0 {
        0.0
    } else {
        sxy * sxy / (sxx * syy)
    };
    Some((sxy / sxx, r2))
}

/// A Unix time as calendar fields, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcTime {
    /// The calendar fields of `unix_s` seconds since 1970-01-01 00:00 UTC
    /// (truncated to whole seconds).
    pub fn from_unix(unix_s: f64) -> UtcTime {
        let secs = unix_s as i64;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        let rem = rem as u32; // 0 .. 86_399
        UtcTime {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's days-to-civil algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        // NaN is not filtered: total_cmp sorts it last
        assert_eq!(median(&[1.0, f64::NAN, 2.0]), Some(2.0));
    }

    #[test]
    fn least_squares_slope_and_fit() {
        assert_eq!(least_squares(&[1.0], &[1.0]), None);
        assert_eq!(least_squares(&[2.0, 2.0], &[1.0, 5.0]), None);
        assert_eq!(
            least_squares(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]),
            Some((2.0, 1.0))
        );
        assert_eq!(
            least_squares(&[0.0, 1.0, 2.0], &[4.0, 4.0, 4.0]),
            Some((0.0, 0.0))
        );
        // y = 0, 2, 1: slope 0.5, r2 0.25
        let (s, r2) = least_squares(&[0.0, 1.0, 2.0], &[0.0, 2.0, 1.0]).unwrap();
        assert!(
            (s - 0.5).abs() < 1e-12 && (r2 - 0.25).abs() < 1e-12,
            "{s} {r2}"
        );
    }

    #[test]
    fn durations_parse_with_units_and_stay_in_range() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration(" 2 min "), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("24h"), Ok(MAX_DURATION));
        assert!(parse_duration("5").unwrap_err().contains("missing unit"));
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        for bad in ["", "s", "ms", "1..2s", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn huge_durations_are_refused_not_a_panic() {
        for huge in [
            "99999999999999999999s",
            "25h",
            "9999999999999999h",
            "1440m1s",
        ] {
            let e = parse_duration(huge).unwrap_err();
            assert!(e.contains("out of range"), "{huge}: {e}");
        }
        assert!(parse_duration("1e400s").is_err());
    }

    #[test]
    fn civil_dates_of_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn utc_fields_of_known_instants() {
        let t = UtcTime::from_unix(1_709_210_096.0);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2024, 2, 29, 12, 34, 56)
        );
        assert_eq!(UtcTime::from_unix(0.0).second, 0);
    }
}
