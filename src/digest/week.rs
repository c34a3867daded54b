//! ISO weeks (`2026-W48`) and their bounds in a timezone.

use crate::tz::Tz;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use std::fmt;
use std::str::FromStr;

/// An ISO-8601 week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoWeek {
    pub year: i32,
    pub week: u32,
}

impl IsoWeek {
    /// The week containing `t` in `tz`.
    pub fn containing(t: DateTime<Utc>, tz: Tz) -> IsoWeek {
        let w = t.with_timezone(&tz).date_naive().iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    pub fn monday(&self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, chrono::Weekday::Mon)
            .expect("validated week")
    }

    pub fn previous(&self) -> IsoWeek {
        let d = self.monday() - chrono::Duration::days(7);
        let w = d.iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    /// First and last local date (Monday..Sunday).
    pub fn local_dates(&self) -> (NaiveDate, NaiveDate) {
        let m = self.monday();
        (m, m + chrono::Duration::days(6))
    }

    /// [start, end) in UTC epoch milliseconds for the week in `tz`.
    pub fn bounds_ms(&self, tz: Tz) -> (i64, i64) {
        let start = self.monday();
        let end = start + chrono::Duration::days(7);
        let at = |d: NaiveDate| {
            let naive = d.and_hms_opt(0, 0, 0).expect("midnight");
            tz.from_local_datetime(&naive)
                .earliest()
                .unwrap_or_else(|| tz.from_utc_datetime(&naive))
                .with_timezone(&Utc)
                .timestamp_millis()
        };
        (at(start), at(end))
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not an ISO week like 2026-W48");
        let (y, w) = s.trim().split_once("-W").ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let week: u32 = w.parse().map_err(|_| bad())?;
        NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)
            .ok_or_else(|| format!("{year} has no week {week}"))?;
        Ok(IsoWeek { year, week })
    }
}
