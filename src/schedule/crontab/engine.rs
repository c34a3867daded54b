//! The one representation of a schedule: the parsed crontab translated once
//! into the `cron` crate's dialect. Every scheduled wall-clock time comes
//! from these `cron::Schedule`s, and `describe` reads its field sets back
//! from them.
//!
//! What the translation takes care of (checked against cron 0.17's source):
//!
//! * `cron` wants 6 or 7 fields with seconds first: seconds are `0`.
//! * Its day-of-week numbers run 1–7 with Sunday = 1 (`0` is an error), so
//!   days are handed over as names (`MON,FRI`), never as numbers.
//! * Its steps differ from crontab's at the edges (it rejects a step larger
//!   than the field's maximum, such as `*/90`), so every field is handed
//!   over as the explicit list of values crontab selects, or `*`.
//! * It ANDs day-of-month and day-of-week. Crontab ORs them when both are
//!   restricted (Vixie rule), so that case becomes two schedules, one per
//!   day field, whose times are merged in order without repeats.
//!
//! The engine runs in `Utc`, which has no DST, so it answers pure calendar
//! questions about wall-clock times; zones are applied by `occurrences`.

use super::parse::{CrontabError, Fields, DOW_NAMES};
use chrono::{NaiveDateTime, Timelike, Utc};
use cron::{Schedule, ScheduleIterator, TimeUnitSpec};
use std::iter::Peekable;
use std::str::FromStr;

/// A crontab as the `cron` crate iterates it.
#[derive(Debug, Clone)]
pub(super) struct Engine {
    /// When crontab ANDs the day fields (at most one is restricted; a field
    /// starting with `*` counts as unrestricted): the whole schedule. Under
    /// the OR rule: the day-of-month restriction, with day-of-week `*`.
    main: Schedule,
    /// Under the OR rule only (both day fields restricted, a day matches
    /// when EITHER does): day-of-month `*`, the day-of-week restriction.
    by_week_day: Option<Schedule>,
}

impl Engine {
    /// Translates parsed crontab fields for the `cron` crate.
    pub fn new(f: &Fields) -> Result<Engine, CrontabError> {
        let m = list(&f.minutes, 60, |v| v.to_string());
        let h = list(&f.hours, 24, |v| v.to_string());
        let dom = list(&f.doms, 31, |v| v.to_string());
        let mon = list(&f.months, 12, |v| v.to_string());
        let dow = list(&f.dows, 7, |v| DOW_NAMES[v as usize].to_string());
        if f.days_either() {
            Ok(Engine {
                main: schedule(format!("0 {m} {h} {dom} {mon} *"))?,
                by_week_day: Some(schedule(format!("0 {m} {h} * {mon} {dow}"))?),
            })
        } else {
            Ok(Engine {
                main: schedule(format!("0 {m} {h} {dom} {mon} {dow}"))?,
                by_week_day: None,
            })
        }
    }

    /// The scheduled wall-clock times strictly after `after`, in order. The
    /// engine covers years up to 2100; after that the iterator ends.
    pub fn local_times_after(&self, after: NaiveDateTime) -> LocalTimes<'_> {
        // Schedules fire at second 0; dropping sub-second precision keeps
        // "strictly after" exact (the engine starts one second later).
        // (Setting the nanosecond to 0 cannot fail.)
        let after = after.with_nanosecond(0).unwrap_or(after).and_utc();
        LocalTimes {
            first: self.main.after(&after).peekable(),
            second: self
                .by_week_day
                .as_ref()
                .map(|s| s.after(&after).peekable()),
        }
    }

    /// Whether crontab's OR rule for the day fields applies.
    pub fn days_either(&self) -> bool {
        self.by_week_day.is_some()
    }

    pub fn minutes(&self) -> Vec<u32> {
        self.main.minutes().iter().collect()
    }

    pub fn hours(&self) -> Vec<u32> {
        self.main.hours().iter().collect()
    }

    pub fn months(&self) -> Vec<u32> {
        self.main.months().iter().collect()
    }

    /// The days of the month the day-of-month field selects.
    pub fn doms(&self) -> Vec<u32> {
        self.main.days_of_month().iter().collect()
    }

    /// The days the day-of-week field selects, in crontab's numbering
    /// (Sunday = 0), sorted.
    pub fn dows(&self) -> Vec<u32> {
        let s = self.by_week_day.as_ref().unwrap_or(&self.main);
        // The engine's Sunday = 1 … Saturday = 7, already in order.
        s.days_of_week().iter().map(|v| v - 1).collect()
    }
}

/// `*` when every value of the field is selected, else the explicit list.
fn list(values: &[u32], field_size: usize, label: impl Fn(u32) -> String) -> String {
    if values.len() == field_size {
        "*".to_string()
    } else {
        values
            .iter()
            .map(|v| label(*v))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn schedule(source: String) -> Result<Schedule, CrontabError> {
    Schedule::from_str(&source).map_err(|e| CrontabError::Engine {
        message: e.to_string(),
        expr: source,
    })
}

/// Iterator returned by [`Engine::local_times_after`]: the one schedule's
/// times, or the two schedules' times merged in order, a day both select
/// yielded once.
pub(super) struct LocalTimes<'a> {
    first: Peekable<ScheduleIterator<'a, Utc>>,
    second: Option<Peekable<ScheduleIterator<'a, Utc>>>,
}

impl Iterator for LocalTimes<'_> {
    type Item = NaiveDateTime;

    fn next(&mut self) -> Option<NaiveDateTime> {
        let Some(second) = &mut self.second else {
            return self.first.next().map(|t| t.naive_utc());
        };
        let next = match (self.first.peek().copied(), second.peek().copied()) {
            (Some(a), Some(b)) if a == b => {
                second.next();
                self.first.next()
            }
            (Some(a), Some(b)) if a < b => self.first.next(),
            (Some(_), None) => self.first.next(),
            (_, _) => second.next(),
        };
        next.map(|t| t.naive_utc())
    }
}
