//! RFC 3339 timestamps in UTC, for state files and log lines.

use std::time::{SystemTime, UNIX_EPOCH};

/// `2026-11-22T10:04:05.123456789Z`; whole seconds when `nanos` is false.
pub fn format(t: SystemTime, nanos: bool) -> String {
    let (secs, frac) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            // Before 1970: step back whole seconds and count the fraction forward.
            let d = e.duration();
            let mut secs = -(d.as_secs() as i64);
            let mut frac = d.subsec_nanos();
            if frac > 0 {
                secs -= 1;
                frac = 1_000_000_000 - frac;
            }
            (secs, frac)
        }
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if nanos {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:09}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    }
}

pub fn now(nanos: bool) -> String {
    format(SystemTime::now(), nanos)
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01,
/// computed over 400-year eras (146097 days each).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // shift the epoch to 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn known_instants() {
        assert_eq!(format(UNIX_EPOCH, false), "1970-01-01T00:00:00Z");
        assert_eq!(format(at(951_782_400, 0), false), "2000-02-29T00:00:00Z");
        assert_eq!(format(at(951_868_799, 0), false), "2000-02-29T23:59:59Z");
        assert_eq!(format(at(1_700_000_000, 0), false), "2023-11-14T22:13:20Z");
        assert_eq!(format(at(4_107_542_400, 0), false), "2100-03-01T00:00:00Z");
        assert_eq!(format(at(1_700_000_000, 5), true), "2023-11-14T22:13:20.000000005Z");
    }

    #[test]
    fn before_the_epoch() {
        let t = UNIX_EPOCH - Duration::new(1, 500_000_000);
        assert_eq!(format(t, true), "1969-12-31T23:59:58.500000000Z");
    }

    #[test]
    fn every_day_for_a_few_centuries_is_consecutive() {
        let mut prev = civil_from_days(-1);
        for day in 0..200_000 {
            let cur = civil_from_days(day);
            let next_day = (prev.0, prev.1, prev.2 + 1);
            let next_month = (prev.0, prev.1 + 1, 1);
            let next_year = (prev.0 + 1, 1, 1);
            assert!(
                cur == next_day || cur == next_month || cur == next_year,
                "{prev:?} -> {cur:?}"
            );
            assert!(cur.2 <= 31);
            prev = cur;
        }
    }
}
