//! Property tests (proptest) for the duration and date parsers: no input
//! panics, everything accepted is within bounds, and round trips hold.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use fieldnotes::commands::{parse_pause, MAX_PAUSE_DAYS};
use fieldnotes::config::{human_duration, parse_date, parse_duration, MAX_DURATION};
use proptest::prelude::*;

const UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("m", 60),
    ("h", 3600),
    ("d", 86400),
    ("w", 604800),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// `N<unit>` means N units, up to the ten-year cap, and `human_duration`
    /// writes what `parse_duration` reads back.
    #[test]
    fn durations_round_trip(unit in 0usize..UNITS.len(), frac in 0.0f64..=1.0) {
        let (u, secs) = UNITS[unit];
        let max = MAX_DURATION.as_secs() / secs;
        let n = (max as f64 * frac) as u64;
        let d = parse_duration(&format!("{n}{u}")).unwrap();
        prop_assert_eq!(d.as_secs(), n * secs);
        prop_assert_eq!(parse_duration(&human_duration(d)).unwrap(), d);
        // One unit past the cap is refused, not wrapped.
        let over = format!("{}{u}", max + 1);
        prop_assert!(parse_duration(&over).unwrap_err().contains("too long"));
    }

    #[test]
    fn any_duration_text_is_safe(s in ".{0,40}", n in any::<u64>(), u in "(ms|s|m|h|d|w|x|)") {
        for text in [s.clone(), format!("{n}{u}")] {
            if let Ok(d) = parse_duration(&text) {
                prop_assert!(d <= MAX_DURATION);
            }
        }
    }

    /// Every calendar date chrono knows reads back as itself.
    #[test]
    fn dates_round_trip(days in -100_000i32..3_000_000) {
        let d = NaiveDate::from_num_days_from_ce_opt(days).unwrap();
        if (0..=9999).contains(&d.year()) {
            prop_assert_eq!(parse_date(&d.format("%Y-%m-%d").to_string()).unwrap(), d);
        }
    }

    /// `pause until DATE` for any date: refused outside (now, now + 366 d],
    /// and otherwise ends at the start of that day in the person's zone.
    #[test]
    fn pause_until_any_date(y in prop_oneof![2025i32..2029, -300_000i32..300_000, 262_140i32..262_144], m in 0u32..14, d in 0u32..33, zone in 0usize..4, plus in any::<bool>()) {
        let tz = fieldnotes::tz::Tz::named(["UTC", "America/New_York", "Pacific/Kiritimati", "America/Santiago"][zone]).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap();
        // chrono also reads a signed year (`+262142`): its very last days,
        // in a zone behind UTC, once overflowed.
        let sign = if plus && y >= 0 { "+" } else { "" };
        let text = format!("until {sign}{y:04}-{m:02}-{d:02}");
        let near = NaiveDate::from_ymd_opt(y, m, d)
            .is_some_and(|date| date > now.date_naive() + Duration::days(1) && date < now.date_naive() + Duration::days(MAX_PAUSE_DAYS - 1));
        let r = parse_pause(&text, now, tz);
        // Every valid date comfortably inside the window is accepted.
        prop_assert!(!near || r.is_ok(), "{} refused: {:?}", text, r);
        if let Ok(until) = r {
            prop_assert!(until > now && until - now <= Duration::days(MAX_PAUSE_DAYS));
            let local = until.with_timezone(&tz).date_naive();
            prop_assert_eq!((local.year(), local.month(), local.day()), (y, m, d));
        }
    }

    /// `ask at DATE TIME` at any date, signed years included: no panic.
    #[test]
    fn ask_at_any_time(y in prop_oneof![2026i32..2028, 262_140i32..262_144, -262_144i32..-262_140], m in 1u32..13, d in 1u32..32, h in 0u32..24, zone in 0usize..4) {
        let tz = fieldnotes::tz::Tz::named(["UTC", "America/New_York", "Pacific/Kiritimati", "Pacific/Niue"][zone]).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap();
        let sign = if y >= 0 { "+" } else { "" };
        let text = format!("at {sign}{y:04}-{m:02}-{d:02} {h:02}:30 Anything new?");
        if let Ok(a) = fieldnotes::commands::parse_ask(&text, &["pulse"], now, tz) {
            prop_assert!(a.at.is_some_and(|at| at > now && at - now <= Duration::days(30)));
        }
    }

    /// `pause N<unit>` is exactly that long, or refused.
    #[test]
    fn pause_lengths(n in any::<u64>(), unit in 0usize..UNITS.len()) {
        let (u, secs) = UNITS[unit];
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap();
        if let Ok(until) = parse_pause(&format!("{n}{u}"), now, fieldnotes::tz::UTC) {
            prop_assert_eq!((until - now).num_seconds() as u64, n * secs);
        }
    }
}
