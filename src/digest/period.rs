//! The periods a digest covers: ISO weeks (`2026-W48`), calendar months
//! (`2026-11`) or runs of N days tiled from Monday 1970-01-05
//! (`2026-11-16+14d`), each with its bounds in a timezone.

use super::week::IsoWeek;
use crate::config::PeriodSpec;
use crate::tz::Tz;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use std::fmt;

/// One period: local dates [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub spec: PeriodSpec,
    pub start: NaiveDate,
    /// The day after the last day.
    pub end: NaiveDate,
}

/// Monday 1970-01-05: where runs of N days are counted from.
fn epoch_monday() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 5).expect("valid date")
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("valid month")
}

impl Period {
    /// The period that contains local date `d`.
    pub fn containing_date(spec: PeriodSpec, d: NaiveDate) -> Period {
        match spec {
            PeriodSpec::Week => {
                let start = d - Duration::days(d.weekday().num_days_from_monday() as i64);
                Period {
                    spec,
                    start,
                    end: start + Duration::days(7),
                }
            }
            PeriodSpec::Month => Period {
                spec,
                start: month_start(d),
                end: next_month(d),
            },
            PeriodSpec::Days(n) => {
                let n = n.max(1) as i64;
                let since = (d - epoch_monday()).num_days();
                let start = epoch_monday() + Duration::days(since.div_euclid(n) * n);
                Period {
                    spec,
                    start,
                    end: start + Duration::days(n),
                }
            }
        }
    }

    /// The period containing instant `t` in `tz`.
    pub fn containing(spec: PeriodSpec, t: DateTime<Utc>, tz: Tz) -> Period {
        Period::containing_date(spec, t.with_timezone(&tz).date_naive())
    }

    /// The last period that ended at or before `t` in `tz`: what a digest
    /// sent at `t` reports on.
    pub fn last_complete(spec: PeriodSpec, t: DateTime<Utc>, tz: Tz) -> Period {
        Period::containing(spec, t, tz).previous()
    }

    pub fn previous(&self) -> Period {
        Period::containing_date(self.spec, self.start - Duration::days(1))
    }

    /// The `n` periods before this one, oldest first.
    pub fn baseline(&self, n: u32) -> Vec<Period> {
        let mut out = Vec::with_capacity(n as usize);
        let mut p = *self;
        for _ in 0..n {
            p = p.previous();
            out.push(p);
        }
        out.reverse();
        out
    }

    /// Last local date, inclusive.
    pub fn last_day(&self) -> NaiveDate {
        self.end - Duration::days(1)
    }

    /// [start, end) in UTC epoch milliseconds, local midnights in `tz` (the
    /// earliest instant of a midnight a DST change repeats; the first after
    /// one it skips).
    pub fn bounds_ms(&self, tz: Tz) -> (i64, i64) {
        (midnight_ms(self.start, tz), midnight_ms(self.end, tz))
    }

    pub fn kind(&self) -> &'static str {
        match self.spec {
            PeriodSpec::Week => "week",
            PeriodSpec::Month => "month",
            PeriodSpec::Days(_) => "days",
        }
    }

    /// The unit rates are given in: "5 mentions (avg 1.0/wk)".
    pub fn unit(&self) -> &'static str {
        match self.spec {
            PeriodSpec::Week => "wk",
            PeriodSpec::Month => "mo",
            PeriodSpec::Days(_) => "period",
        }
    }

    /// A short axis label: `W48`, `Nov 26`, `16 Nov`.
    pub fn short_label(&self) -> String {
        match self.spec {
            PeriodSpec::Week => format!("W{:02}", self.start.iso_week().week()),
            PeriodSpec::Month => self.start.format("%b %y").to_string(),
            PeriodSpec::Days(_) => self.start.format("%-d %b").to_string(),
        }
    }

    /// What a reader sees: "week 48, 23–29 Nov 2026".
    pub fn label(&self) -> String {
        let last = self.last_day();
        let range = if self.start.year() != last.year() {
            format!(
                "{} – {}",
                self.start.format("%-d %b %Y"),
                last.format("%-d %b %Y")
            )
        } else if self.start.month() != last.month() {
            format!(
                "{} – {}",
                self.start.format("%-d %b"),
                last.format("%-d %b %Y")
            )
        } else {
            format!("{}–{}", self.start.format("%-d"), last.format("%-d %b %Y"))
        };
        match self.spec {
            PeriodSpec::Week => format!("week {}, {range}", self.start.iso_week().week()),
            PeriodSpec::Month => self.start.format("%B %Y").to_string(),
            PeriodSpec::Days(_) => range,
        }
    }

    /// Parses a period for `spec`: `2026-W48` (weeks), `2026-11` (months),
    /// or any date `2026-11-23`, meaning the period that contains it. A
    /// week key for a month digest (or the reverse) is refused, so a typo
    /// can't quietly report on another span.
    pub fn parse(spec: PeriodSpec, s: &str) -> Result<Period, String> {
        let s = s.trim();
        if s.contains("-W") {
            let w: IsoWeek = s.parse()?;
            if spec != PeriodSpec::Week {
                return Err(format!(
                    "`{s}` is a week, but this digest covers {}: give {}",
                    describe(spec),
                    example(spec)
                ));
            }
            return Ok(Period::containing_date(spec, w.monday()));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(Period::containing_date(spec, d));
        }
        if let Some(date) = s
            .split_once('+')
            .and_then(|(d, _)| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        {
            return Ok(Period::containing_date(spec, date));
        }
        if let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d") {
            if spec != PeriodSpec::Month {
                return Err(format!(
                    "`{s}` is a month, but this digest covers {}: give {}",
                    describe(spec),
                    example(spec)
                ));
            }
            return Ok(Period::containing_date(spec, d));
        }
        Err(format!(
            "`{s}` is not a period: give {} (or any date in it, like 2026-11-23)",
            example(spec)
        ))
    }
}

fn describe(spec: PeriodSpec) -> String {
    match spec {
        PeriodSpec::Week => "weeks".into(),
        PeriodSpec::Month => "months".into(),
        PeriodSpec::Days(n) => format!("runs of {n} days"),
    }
}

fn example(spec: PeriodSpec) -> &'static str {
    match spec {
        PeriodSpec::Week => "a week like 2026-W48",
        PeriodSpec::Month => "a month like 2026-11",
        PeriodSpec::Days(_) => "a date like 2026-11-23",
    }
}

fn midnight_ms(d: NaiveDate, tz: Tz) -> i64 {
    let naive = d.and_hms_opt(0, 0, 0).expect("midnight");
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc).timestamp_millis(),
        // A DST gap at midnight: the first instant after it.
        None => (1..=4)
            .find_map(|h| {
                tz.from_local_datetime(&(naive + Duration::hours(h)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc).timestamp_millis())
            .unwrap_or_else(|| tz.from_utc_datetime(&naive).timestamp_millis()),
    }
}

impl fmt::Display for Period {
    /// The period's key: `2026-W48`, `2026-11`, `2026-11-16+14d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.spec {
            PeriodSpec::Week => {
                let w = self.start.iso_week();
                write!(f, "{}-W{:02}", w.year(), w.week())
            }
            PeriodSpec::Month => write!(f, "{}", self.start.format("%Y-%m")),
            PeriodSpec::Days(n) => write!(f, "{}+{n}d", self.start.format("%Y-%m-%d")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weeks_months_and_days() {
        let w = Period::containing_date(PeriodSpec::Week, d("2026-11-26"));
        assert_eq!(w.to_string(), "2026-W48");
        assert_eq!((w.start, w.end), (d("2026-11-23"), d("2026-11-30")));
        assert_eq!(w.label(), "week 48, 23–29 Nov 2026");
        assert_eq!(w.previous().to_string(), "2026-W47");
        let y = Period::containing_date(PeriodSpec::Week, d("2027-01-01"));
        assert_eq!(y.to_string(), "2026-W53");
        assert_eq!(y.label(), "week 53, 28 Dec 2026 – 3 Jan 2027");

        let m = Period::containing_date(PeriodSpec::Month, d("2026-12-31"));
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(m.end, d("2027-01-01"));
        assert_eq!(m.previous().to_string(), "2026-11");
        assert_eq!(m.label(), "December 2026");

        let p = Period::containing_date(PeriodSpec::Days(14), d("2026-11-26"));
        assert_eq!((p.end - p.start).num_days(), 14);
        assert!(p.start <= d("2026-11-26") && d("2026-11-26") < p.end);
        assert_eq!(p.previous().end, p.start);
        assert_eq!((p.start - epoch_monday()).num_days() % 14, 0);
    }

    #[test]
    fn baseline_is_the_eight_before_oldest_first() {
        let w = Period::containing_date(PeriodSpec::Week, d("2026-11-26"));
        let b = w.baseline(8);
        assert_eq!(b.len(), 8);
        assert_eq!(b[0].to_string(), "2026-W40");
        assert_eq!(b[7].to_string(), "2026-W47");
        assert_eq!(b[7].end, w.start);
    }

    #[test]
    fn parse_checks_the_kind() {
        assert_eq!(
            Period::parse(PeriodSpec::Week, "2026-W48").unwrap().start,
            d("2026-11-23")
        );
        assert_eq!(
            Period::parse(PeriodSpec::Week, "2026-11-25").unwrap().start,
            d("2026-11-23")
        );
        assert_eq!(
            Period::parse(PeriodSpec::Month, "2026-11").unwrap().start,
            d("2026-11-01")
        );
        let e = Period::parse(PeriodSpec::Month, "2026-W48").unwrap_err();
        assert!(e.contains("is a week"), "{e}");
        let e = Period::parse(PeriodSpec::Week, "2026-11").unwrap_err();
        assert!(e.contains("is a month"), "{e}");
        assert!(Period::parse(PeriodSpec::Week, "2026-W54").is_err());
        assert!(Period::parse(PeriodSpec::Week, "soon").is_err());
        let p = Period::containing_date(PeriodSpec::Days(14), d("2026-11-26"));
        assert_eq!(
            Period::parse(PeriodSpec::Days(14), &p.to_string()).unwrap(),
            p
        );
    }

    #[test]
    fn bounds_follow_the_timezone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let w = Period::containing_date(PeriodSpec::Week, d("2026-11-02"));
        let (from, to) = w.bounds_ms(tz);
        // 2 Nov 00:00 EST is 05:00 UTC; the week is 168 h.
        assert_eq!(from % 86_400_000, 5 * 3_600_000);
        assert_eq!(to - from, 168 * 3_600_000);
        // The week DST ends in is an hour longer.
        let w = Period::containing_date(PeriodSpec::Week, d("2026-10-26"));
        let (from, to) = w.bounds_ms(tz);
        assert_eq!(to - from, 169 * 3_600_000);
    }

    #[test]
    fn last_complete_is_the_one_before() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // Monday 30 Nov 2026, 09:00 New York.
        let t = tz
            .with_ymd_and_hms(2026, 11, 30, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Period::last_complete(PeriodSpec::Week, t, tz).to_string(),
            "2026-W48"
        );
    }
}
