//! Crontab cadences for scheduled Fieldnotes prompts, with correct DST handling.
//!
//! # Why this module exists
//!
//! Team leads write cadences in standard 5-field crontab syntax
//! (`minute hour day-of-month month day-of-week`, e.g. `0 16 * * MON-FRI`).
//! The `cron` crate (0.17) that does the date arithmetic speaks a different
//! dialect, and using it directly gives wrong answers without any error:
//!
//! * it wants 6 or 7 fields with seconds first, and rejects 5-field crontab;
//! * its day-of-week numbers run 1–7 with **Sunday = 1**, so crontab's `1`
//!   (Monday) would silently mean Sunday, and crontab's `0` is an error;
//! * it ANDs day-of-month and day-of-week, whereas crontab ORs them when both
//!   are restricted (`0 9 1 * MON` = "the 1st of the month, and every Monday");
//! * on DST changes it skips times that fall in the spring-forward gap and
//!   yields times in the repeated fall-back hour twice.
//!
//! So this module parses crontab itself (giving errors a team lead can act on:
//! which field, which value), validates every value, and hands the `cron` crate
//! a fully explicit 6-field expression: seconds `0`, numeric lists for minute,
//! hour, day-of-month and month, and day **names** for day-of-week so the
//! numbering difference cannot bite. For the OR rule it keeps two schedules
//! (day-of-month only, day-of-week only) and takes the earlier result. The
//! `cron` crate is only ever asked pure calendar questions (it is run in
//! `Utc`, which has no DST); time zones are applied here.
//!
//! # Crontab details
//!
//! * Supported: `*`, lists, ranges, steps (`*/15`, `1-5/2`, and `5/15`
//!   meaning `5-max/15`), month names `JAN`–`DEC`, day names `SUN`–`SAT`
//!   (case-insensitive, also in ranges like `MON-FRI`), day-of-week `0`–`7`
//!   with both `0` and `7` meaning Sunday, and the macros `@yearly`,
//!   `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`.
//!   `@reboot` is rejected.
//! * Day-of-month/day-of-week: as in Vixie cron/cronie, a field counts as
//!   unrestricted when it starts with `*` (so `*` and `*/2`). If both fields
//!   are restricted a day matches when EITHER matches; otherwise both must.
//! * The underlying engine covers years up to 2100; after that there is no
//!   next occurrence (`None`).
//!
//! # DST rules (see [`Crontab::next_after`])
//!
//! We iterate the scheduled WALL-CLOCK times in order, so each scheduled local
//! time is considered exactly once, and map each to an instant in the zone:
//!
//! * normal time: fires at that instant;
//! * ambiguous time (fall-back overlap): fires ONCE, at the earlier instant
//!   (the first 01:30). Nothing fires during the repeated hour's second pass;
//! * non-existent time (spring-forward gap): fires ONCE at the gap end, the
//!   first valid minute after the gap (02:30 in New York fires at 03:00 EDT).
//!   All scheduled times inside one gap collapse into a single firing at the
//!   gap end. If the wall-clock time at the gap end itself (e.g. 03:00) is
//!   scheduled, that real time is the firing and the gap times are dropped;
//!   otherwise the firing is identified by the FIRST gap time (e.g. for
//!   `15,45 * * * *` 02:15 fires at 03:00 and 02:45 is dropped).
//!
//! Hence the returned occurrences are strictly increasing in `at` and never
//! repeat a `local`, so `local` (plus the schedule) is a safe idempotency key.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use cron::Schedule;

/// What is wrong with a crontab expression, worded for the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrontabError {
    #[error(
        "the schedule is empty; expected 5 fields: minute hour day-of-month month day-of-week (for example \"0 9 * * MON-FRI\")"
    )]
    Empty,
    #[error(
        "expected 5 fields (minute hour day-of-month month day-of-week) but found {found}{}",
        field_count_hint(*found)
    )]
    WrongFieldCount { found: usize },
    #[error(
        "@reboot is not supported: a scheduled prompt needs a time, not \"when the bot starts\""
    )]
    Reboot,
    #[error(
        "unknown macro \"{0}\"; supported macros are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly (on their own, without other fields)"
    )]
    UnknownMacro(String),
    #[error("{field} field \"{text}\" has an empty entry (check for doubled or trailing commas)")]
    EmptyEntry { field: &'static str, text: String },
    #[error("{field} value {value} is out of range {min}–{max}")]
    OutOfRange {
        field: &'static str,
        value: String,
        min: u32,
        max: u32,
    },
    #[error("{field} value \"{value}\" is not {expected}")]
    InvalidValue {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{field} range \"{text}\" runs backwards (its start is after its end)")]
    BackwardsRange { field: &'static str, text: String },
    #[error("{field} step in \"{text}\" must be a whole number of at least 1")]
    InvalidStep { field: &'static str, text: String },
    #[error(
        "the schedule \"{0}\" can never fire: none of the selected months has that day of the month"
    )]
    NeverFires(String),
    #[error("internal error translating \"{expr}\" for the cron engine: {message}")]
    Engine { expr: String, message: String },
}

fn field_count_hint(found: usize) -> &'static str {
    if found > 5 {
        " (seconds and year fields are not supported; use standard 5-field crontab)"
    } else {
        ""
    }
}

/// One firing of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Occurrence {
    /// The scheduled wall-clock time; the identity of the occurrence.
    pub local: NaiveDateTime,
    /// When it actually fires. Differs from `local` in the zone only for
    /// times in a spring-forward gap (shifted to the gap end).
    pub at: DateTime<Utc>,
}

/// A parsed standard 5-field crontab cadence.
#[derive(Debug, Clone)]
pub struct Crontab {
    expr: String,
    minutes: u64,
    hours: u64,
    doms: u64,
    months: u64,
    /// Bits 0..=6, Sunday = 0.
    dows: u64,
    /// Day-of-month field starts with `*` (crontab's "unrestricted").
    dom_star: bool,
    /// Day-of-week field starts with `*`.
    dow_star: bool,
    /// One schedule (AND) or two (dom-only, dow-only; OR).
    schedules: Vec<Schedule>,
}

impl PartialEq for Crontab {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}
impl Eq for Crontab {}

impl fmt::Display for Crontab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

impl FromStr for Crontab {
    type Err = CrontabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Crontab::parse(s)
    }
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names and the value of the first name.
    names: &'static [&'static str],
    first_name_value: u32,
    expected: &'static str,
}

const DOW_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    first_name_value: 0,
    expected: "a number",
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    first_name_value: 0,
    expected: "a number",
};
const DOM: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    first_name_value: 0,
    expected: "a number",
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTH_NAMES,
    first_name_value: 1,
    expected: "a number or a month name (JAN–DEC)",
};
const DOW: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &DOW_NAMES,
    first_name_value: 0,
    expected: "a number or a day name (SUN–SAT)",
};

fn parse_value(spec: &FieldSpec, text: &str) -> Result<u32, CrontabError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let out_of_range = || CrontabError::OutOfRange {
            field: spec.name,
            value: text.to_string(),
            min: spec.min,
            max: spec.max,
        };
        let v: u32 = text.parse().map_err(|_| out_of_range())?;
        if v < spec.min || v > spec.max {
            return Err(out_of_range());
        }
        return Ok(v);
    }
    if let Some(i) = spec.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(spec.first_name_value + i as u32);
    }
    Err(CrontabError::InvalidValue {
        field: spec.name,
        value: text.to_string(),
        expected: spec.expected,
    })
}

/// Parses one field into a bit mask (bit n = value n is selected).
fn parse_field(spec: &FieldSpec, text: &str) -> Result<u64, CrontabError> {
    let mut mask = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(CrontabError::EmptyEntry {
                field: spec.name,
                text: text.to_string(),
            });
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => {
                let bad_step = || CrontabError::InvalidStep {
                    field: spec.name,
                    text: item.to_string(),
                };
                if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad_step());
                }
                let step: u32 = step.parse().map_err(|_| bad_step())?;
                if step == 0 {
                    return Err(bad_step());
                }
                (base, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if base == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = base.split_once('-') {
            if a.is_empty() || b.is_empty() {
                return Err(CrontabError::InvalidValue {
                    field: spec.name,
                    value: item.to_string(),
                    expected: spec.expected,
                });
            }
            let (lo, hi) = (parse_value(spec, a)?, parse_value(spec, b)?);
            if lo > hi {
                return Err(CrontabError::BackwardsRange {
                    field: spec.name,
                    text: item.to_string(),
                });
            }
            (lo, hi)
        } else {
            let v = parse_value(spec, base)?;
            // `5/15` means `5-max/15` (Quartz/cronie extension).
            if step.is_some() {
                (v, spec.max)
            } else {
                (v, v)
            }
        };
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            mask |= 1 << v;
            v += step;
        }
    }
    Ok(mask)
}

fn full_mask(min: u32, max: u32) -> u64 {
    (min..=max).fold(0, |m, v| m | (1 << v))
}

fn bits(mask: u64) -> impl Iterator<Item = u32> {
    (0..64).filter(move |b| mask & (1 << b) != 0)
}

/// Renders a mask for the `cron` crate: `*` when full, else an explicit list.
fn render_numbers(mask: u64, min: u32, max: u32) -> String {
    if mask == full_mask(min, max) {
        "*".to_string()
    } else {
        bits(mask)
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn render_dows(mask: u64) -> String {
    if mask == full_mask(0, 6) {
        "*".to_string()
    } else {
        bits(mask)
            .map(|b| DOW_NAMES[b as usize])
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn expand_macro(expr: &str) -> Result<&'static str, CrontabError> {
    match expr.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => Ok("0 0 1 1 *"),
        "@monthly" => Ok("0 0 1 * *"),
        "@weekly" => Ok("0 0 * * 0"),
        "@daily" | "@midnight" => Ok("0 0 * * *"),
        "@hourly" => Ok("0 * * * *"),
        "@reboot" => Err(CrontabError::Reboot),
        _ => Err(CrontabError::UnknownMacro(expr.to_string())),
    }
}

const DAYS_IN_MONTH_MAX: [u32; 13] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

impl Crontab {
    /// Parses a standard 5-field crontab expression or a macro (`@daily`, …).
    pub fn parse(expr: &str) -> Result<Crontab, CrontabError> {
        let expr = expr.trim();
        if expr.is_empty() {
            return Err(CrontabError::Empty);
        }
        let body = if expr.starts_with('@') {
            expand_macro(expr)?
        } else {
            expr
        };
        let fields: Vec<&str> = body.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CrontabError::WrongFieldCount {
                found: fields.len(),
            });
        }
        let minutes = parse_field(&MINUTE, fields[0])?;
        let hours = parse_field(&HOUR, fields[1])?;
        let doms = parse_field(&DOM, fields[2])?;
        let months = parse_field(&MONTH, fields[3])?;
        let mut dows = parse_field(&DOW, fields[4])?;
        if dows & (1 << 7) != 0 {
            dows = (dows & !(1 << 7)) | 1;
        }
        let dom_star = fields[2].starts_with('*');
        let dow_star = fields[4].starts_with('*');

        // Reject day-of-month/month combinations that can never happen (30 FEB)
        // when day-of-month alone decides the day; the engine would otherwise
        // search until 2100 and find nothing.
        let dom_decides = dow_star || dows == 0;
        if dom_decides
            && !bits(months).any(|m| bits(doms).any(|d| d <= DAYS_IN_MONTH_MAX[m as usize]))
        {
            return Err(CrontabError::NeverFires(expr.to_string()));
        }

        let m = render_numbers(minutes, 0, 59);
        let h = render_numbers(hours, 0, 23);
        let dom = render_numbers(doms, 1, 31);
        let mon = render_numbers(months, 1, 12);
        let dow = render_dows(dows);
        let sources = if !dom_star && !dow_star {
            vec![
                format!("0 {m} {h} {dom} {mon} *"),
                format!("0 {m} {h} * {mon} {dow}"),
            ]
        } else {
            vec![format!("0 {m} {h} {dom} {mon} {dow}")]
        };
        let schedules = sources
            .iter()
            .map(|s| {
                Schedule::from_str(s).map_err(|e| CrontabError::Engine {
                    expr: s.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Crontab {
            expr: expr.to_string(),
            minutes,
            hours,
            doms,
            months,
            dows,
            dom_star,
            dow_star,
            schedules,
        })
    }

    /// The expression as written (trimmed).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The next scheduled wall-clock time strictly after `after`: pure
    /// calendar math, no time zone. `None` past the engine's year 2100.
    pub fn next_local_after(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        // Our schedules fire at second 0; dropping sub-second precision keeps
        // "strictly after" exact (the engine starts one second later).
        let after = after.with_nanosecond(0)?.and_utc();
        self.schedules
            .iter()
            .filter_map(|s| s.after(&after).next())
            .min()
            .map(|d| d.naive_utc())
    }

    /// The first occurrence whose firing instant is strictly after `after`,
    /// following the module's DST rules.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<Occurrence> {
        self.occurrences_after(tz, after).next()
    }

    /// Occurrences with `from < at <= to`, in order.
    pub fn occurrences_between(
        &self,
        tz: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Occurrence> {
        self.occurrences_after(tz, from)
            .take_while(|o| o.at <= to)
            .collect()
    }

    /// The next `n` occurrences firing strictly after `after`.
    pub fn upcoming(&self, tz: Tz, after: DateTime<Utc>, n: usize) -> Vec<Occurrence> {
        self.occurrences_after(tz, after).take(n).collect()
    }

    /// When the occurrence whose wall-clock identity is `local` fires in
    /// `tz`, following the module's DST rules; `None` when it does not fire
    /// on its own there (it is not a scheduled time, or it falls in a
    /// spring-forward gap and is folded into another occurrence). This is
    /// how a `local_time` check-in finds each person's send time.
    pub fn fire_instant(&self, tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        // Start well before any instant this wall-clock time could map to.
        let start = (local - Duration::days(2)).and_utc();
        self.occurrences_after(tz, start)
            .take_while(|o| o.local <= local)
            .find(|o| o.local == local)
            .map(|o| o.at)
    }

    /// Lazy iterator over the occurrences firing strictly after `after`.
    pub fn occurrences_after(&self, tz: Tz, after: DateTime<Utc>) -> Occurrences<'_> {
        // Start the wall-clock walk early enough that no scheduled time firing
        // after `after` is missed: use the smallest UTC offset around `after`
        // (a local time L fires at roughly L - offset), plus an hour of slack.
        let offset_at = |t: DateTime<Utc>| {
            i64::from(
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
            )
        };
        let min_offset = [after - Duration::days(2), after, after + Duration::days(2)]
            .into_iter()
            .map(offset_at)
            .min()
            .unwrap_or(0);
        let cursor = after.naive_utc() + Duration::seconds(min_offset) - Duration::hours(1);
        Occurrences {
            crontab: self,
            tz,
            after,
            cursor: Some(cursor),
            peeked: None,
            last_at: None,
        }
    }

    /// A short human description for `check-config`, e.g. "at 16:00 on Mon–Fri".
    /// Best effort: unusual combinations fall back to quoting the expression.
    pub fn describe(&self) -> String {
        let Some(time) = self.describe_time() else {
            return format!("on crontab schedule \"{}\"", self.expr);
        };
        let mut out = time.text;
        match self.describe_days() {
            Some(days) => {
                out.push(' ');
                out.push_str(&days);
            }
            None if time.needs_every_day => out.push_str(" every day"),
            None => {}
        }
        if self.months != full_mask(1, 12) && !self.single_date() {
            out.push_str(" in ");
            out.push_str(&join_runs(
                &bits(self.months).collect::<Vec<_>>(),
                |m| MONTH_TITLES[m as usize - 1].to_string(),
                |a, b| b == a + 1,
            ));
        }
        out
    }

    fn single_date(&self) -> bool {
        self.dows == full_mask(0, 6) && self.doms.count_ones() == 1 && self.months.count_ones() == 1
    }

    fn describe_time(&self) -> Option<TimeText> {
        let all_minutes = self.minutes == full_mask(0, 59);
        let all_hours = self.hours == full_mask(0, 23);
        let mins: Vec<u32> = bits(self.minutes).collect();
        let hours: Vec<u32> = bits(self.hours).collect();
        let periodic = |text: String| {
            Some(TimeText {
                text,
                needs_every_day: false,
            })
        };
        // Regular step from :00 that divides the hour evenly.
        let step = (mins.len() > 1 && mins[0] == 0 && 60 % mins.len() == 0)
            .then(|| 60 / mins.len() as u32)
            .filter(|s| mins.iter().enumerate().all(|(i, m)| *m == i as u32 * s));
        let contiguous_hours = hours.windows(2).all(|w| w[1] == w[0] + 1);
        if all_minutes && all_hours {
            return periodic("every minute".into());
        }
        if all_hours {
            if let Some(s) = step {
                return periodic(format!("every {s} minutes"));
            }
            if mins == [0] {
                return periodic("every hour".into());
            }
            if mins.len() <= 4 {
                let list: Vec<String> = mins.iter().map(|m| format!(":{m:02}")).collect();
                return periodic(format!("every hour at {}", join_words(&list)));
            }
            return None;
        }
        if mins.len() * hours.len() <= 6 {
            let list: Vec<String> = hours
                .iter()
                .flat_map(|h| mins.iter().map(move |m| format!("{h:02}:{m:02}")))
                .collect();
            return Some(TimeText {
                text: format!("at {}", join_words(&list)),
                needs_every_day: true,
            });
        }
        if contiguous_hours {
            let (first, last) = (hours[0], hours[hours.len() - 1]);
            let last_min = mins[mins.len() - 1];
            let what = if all_minutes {
                "every minute".to_string()
            } else if let Some(s) = step {
                format!("every {s} minutes")
            } else if mins == [0] {
                "every hour".to_string()
            } else {
                return None;
            };
            return periodic(format!(
                "{what} from {first:02}:{:02} to {last:02}:{last_min:02}",
                mins[0]
            ));
        }
        None
    }

    fn describe_days(&self) -> Option<String> {
        let all_doms = self.doms == full_mask(1, 31);
        let all_dows = self.dows == full_mask(0, 6);
        let dom_text = || {
            let d: Vec<u32> = bits(self.doms).collect();
            let s = join_runs(&d, |v| v.to_string(), |a, b| b == a + 1);
            if d.len() == 1 {
                format!("day {s} of the month")
            } else {
                format!("days {s} of the month")
            }
        };
        let dow_text = || {
            // Monday-first order, Sunday = 7.
            let mut d: Vec<u32> = bits(self.dows)
                .map(|b| if b == 0 { 7 } else { b })
                .collect();
            d.sort_unstable();
            join_runs(
                &d,
                |v| DOW_TITLES[(v % 7) as usize].to_string(),
                |a, b| b == a + 1,
            )
        };
        if self.single_date() {
            let day = bits(self.doms).next()?;
            let month = bits(self.months).next()?;
            return Some(format!("on {day} {}", MONTH_TITLES[month as usize - 1]));
        }
        match (all_doms, all_dows) {
            (true, true) => None,
            (true, false) => Some(format!("on {}", dow_text())),
            (false, true) => Some(format!("on {}", dom_text())),
            (false, false) if !self.dom_star && !self.dow_star => {
                Some(format!("on {} and on {}", dom_text(), dow_text()))
            }
            (false, false) => Some(format!("on {} when it is {}", dom_text(), dow_text())),
        }
    }
}

struct TimeText {
    text: String,
    /// "at 09:00" reads better as "at 09:00 every day".
    needs_every_day: bool,
}

const DOW_TITLES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTH_TITLES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Joins sorted values, collapsing runs of 3 or more into "a–b".
fn join_runs(
    values: &[u32],
    label: impl Fn(u32) -> String,
    next: impl Fn(u32, u32) -> bool,
) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && next(values[j], values[j + 1]) {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}–{}", label(values[i]), label(values[j])));
        } else {
            parts.extend(values[i..=j].iter().map(|v| label(*v)));
        }
        i = j + 1;
    }
    join_words(&parts)
}

/// How one scheduled wall-clock time maps onto the time line.
#[derive(Debug, Clone, Copy)]
enum Resolved {
    /// Exists (if ambiguous: the earlier instant).
    Real(DateTime<Utc>),
    /// Falls in a spring-forward gap; the instant is the gap end.
    Gap(DateTime<Utc>),
}

fn resolve(tz: Tz, local: NaiveDateTime) -> Option<Resolved> {
    if let Some(dt) = tz.from_local_datetime(&local).earliest() {
        return Some(Resolved::Real(dt.with_timezone(&Utc)));
    }
    // Walk to the first valid minute after the gap (real gaps are at most a
    // day long; give up beyond two days).
    let start = local.with_second(0)?.with_nanosecond(0)?;
    // Checked: at the edge of chrono's range (a typed `+262142-12-31`) the
    // walk would overflow, and that must be "no such time", not a panic.
    (1..=2 * 24 * 60).find_map(|i| {
        tz.from_local_datetime(&start.checked_add_signed(Duration::minutes(i))?)
            .earliest()
            .map(|dt| Resolved::Gap(dt.with_timezone(&Utc)))
    })
}

/// The instant a wall-clock time means in `tz`: the earlier one when it
/// happens twice, the end of the gap when it does not exist.
pub fn wall_clock_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    resolve(tz, local).map(|r| match r {
        Resolved::Real(at) | Resolved::Gap(at) => at,
    })
}

/// Iterator returned by [`Crontab::occurrences_after`].
pub struct Occurrences<'a> {
    crontab: &'a Crontab,
    tz: Tz,
    after: DateTime<Utc>,
    /// Last wall-clock time handed to the engine; `None` when exhausted.
    cursor: Option<NaiveDateTime>,
    peeked: Option<(NaiveDateTime, Resolved)>,
    last_at: Option<DateTime<Utc>>,
}

impl Occurrences<'_> {
    fn pull(&mut self) -> Option<(NaiveDateTime, Resolved)> {
        if let Some(p) = self.peeked.take() {
            return Some(p);
        }
        loop {
            let local = self.crontab.next_local_after(self.cursor?);
            self.cursor = local;
            let local = local?;
            if let Some(r) = resolve(self.tz, local) {
                return Some((local, r));
            }
        }
    }

    fn peek(&mut self) -> Option<(NaiveDateTime, Resolved)> {
        if self.peeked.is_none() {
            self.peeked = self.pull();
        }
        self.peeked
    }
}

impl Iterator for Occurrences<'_> {
    type Item = Occurrence;

    fn next(&mut self) -> Option<Occurrence> {
        loop {
            let (local, resolved) = self.pull()?;
            let occ = match resolved {
                Resolved::Real(at) => Occurrence { local, at },
                Resolved::Gap(gap_end) => {
                    // Collapse every scheduled time in this gap into one
                    // firing; a real scheduled time at the gap end wins.
                    let mut identity = local;
                    while let Some((next_local, next)) = self.peek() {
                        match next {
                            Resolved::Gap(g) if g == gap_end => {
                                self.peeked = None;
                            }
                            Resolved::Real(at) if at == gap_end => {
                                self.peeked = None;
                                identity = next_local;
                                break;
                            }
                            _ => break,
                        }
                    }
                    Occurrence {
                        local: identity,
                        at: gap_end,
                    }
                }
            };
            // Defensive: the mapping is monotone, but never emit a firing
            // that is not strictly later than the previous one.
            if self.last_at.is_some_and(|last| occ.at <= last) {
                continue;
            }
            self.last_at = Some(occ.at);
            if occ.at > self.after {
                return Some(occ);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate, Weekday};
    use std::collections::{BTreeMap, HashSet};

    fn ndt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        ndt(s).and_utc()
    }
    fn local_seq(expr: &str, start: &str, n: usize) -> Vec<NaiveDateTime> {
        let c = Crontab::parse(expr).unwrap();
        let mut out = Vec::new();
        let mut t = ndt(start);
        for _ in 0..n {
            t = c.next_local_after(t).unwrap();
            out.push(t);
        }
        out
    }

    /// Reference matcher straight from crontab(5), used to brute-force check
    /// the translation to the cron engine.
    fn reference_matches(c: &Crontab, t: NaiveDateTime) -> bool {
        let has = |mask: u64, v: u32| mask & (1 << v) != 0;
        let dom = has(c.doms, t.day());
        let dow = has(c.dows, t.weekday().num_days_from_sunday());
        let day = if !c.dom_star && !c.dow_star {
            dom || dow
        } else {
            dom && dow
        };
        t.second() == 0
            && has(c.minutes, t.minute())
            && has(c.hours, t.hour())
            && has(c.months, t.month())
            && day
    }

    #[test]
    fn engine_agrees_with_reference_matcher() {
        let exprs = [
            "* * * * *",
            "*/15 * * * *",
            "1-5/2 * * * *",
            "5/20 3 * * *",
            "0 9 * * MON-FRI",
            "0 9 * * 1-5",
            "30 8 1 * MON",
            "0 9 1,15 * 0",
            "0 9 */10 * 7",
            "0 9 1 * */2",
            "0 9 */2 * *",
            "0 12 * JAN,jul *",
            "0 12 31 * *",
            "0 0 29 2 *",
            "0 0 29 2 MON",
            "15 10 * FEB-APR/2 sat,Sun",
            "0 0-23/6 13 * FRI",
        ];
        for expr in exprs {
            let c = Crontab::parse(expr).unwrap();
            let start = ndt("2026-01-01 00:00");
            let end = start + Duration::days(if c.minutes.count_ones() > 4 { 20 } else { 800 });
            let mut expected = Vec::new();
            let mut t = start + Duration::minutes(1);
            while t <= end {
                if c.hours & (1 << t.hour()) == 0 {
                    // No minute of this hour can match: jump to the next hour.
                    t += Duration::minutes(60 - i64::from(t.minute()));
                    continue;
                }
                if reference_matches(&c, t) {
                    expected.push(t);
                }
                t += Duration::minutes(1);
            }
            let mut got = Vec::new();
            let mut t = start;
            while let Some(n) = c.next_local_after(t) {
                if n > end {
                    break;
                }
                got.push(n);
                t = n;
            }
            assert_eq!(got, expected, "{expr}");
            assert!(!got.is_empty(), "{expr}");
        }
    }

    #[test]
    fn parses_valid_forms() {
        // (expr, start, expected next local times)
        let table: &[(&str, &str, &[&str])] = &[
            (
                "*/15 * * * *",
                "2026-05-05 10:07",
                &[
                    "2026-05-05 10:15",
                    "2026-05-05 10:30",
                    "2026-05-05 10:45",
                    "2026-05-05 11:00",
                ],
            ),
            (
                "1-5/2 * * * *",
                "2026-05-05 10:00",
                &[
                    "2026-05-05 10:01",
                    "2026-05-05 10:03",
                    "2026-05-05 10:05",
                    "2026-05-05 11:01",
                ],
            ),
            (
                "0,30 9 * * *",
                "2026-05-05 09:00",
                &["2026-05-05 09:30", "2026-05-06 09:00"],
            ),
            (
                "0 16 * * MON-FRI",
                "2026-05-08 16:00",
                &["2026-05-11 16:00", "2026-05-12 16:00"],
            ),
            (
                "0 16 * * mon-fri",
                "2026-05-08 16:00",
                &["2026-05-11 16:00"],
            ),
            ("0 9 * feb *", "2026-05-05 09:00", &["2027-02-01 09:00"]),
            (
                "0 9 1 JAN-MAR/2 *",
                "2026-01-01 09:00",
                &["2026-03-01 09:00", "2027-01-01 09:00"],
            ),
            ("  0 9 * * *  ", "2026-05-05 09:00", &["2026-05-06 09:00"]),
            (
                "@yearly",
                "2026-05-05 00:00",
                &["2027-01-01 00:00", "2028-01-01 00:00"],
            ),
            ("@annually", "2026-05-05 00:00", &["2027-01-01 00:00"]),
            (
                "@monthly",
                "2026-05-05 00:00",
                &["2026-06-01 00:00", "2026-07-01 00:00"],
            ),
            // 2026-05-05 is a Tuesday; @weekly is Sunday midnight.
            (
                "@weekly",
                "2026-05-05 00:00",
                &["2026-05-10 00:00", "2026-05-17 00:00"],
            ),
            ("@daily", "2026-05-05 00:00", &["2026-05-06 00:00"]),
            ("@midnight", "2026-05-05 00:00", &["2026-05-06 00:00"]),
            ("@DAILY", "2026-05-05 00:00", &["2026-05-06 00:00"]),
            (
                "@hourly",
                "2026-05-05 10:00",
                &["2026-05-05 11:00", "2026-05-05 12:00"],
            ),
            ("0 0 29 2 *", "2026-01-01 00:00", &["2028-02-29 00:00"]),
        ];
        for (expr, start, expected) in table {
            let expected: Vec<_> = expected.iter().map(|s| ndt(s)).collect();
            assert_eq!(local_seq(expr, start, expected.len()), expected, "{expr}");
        }
        assert_eq!(Crontab::parse("  @daily ").unwrap().expr(), "@daily");
        assert_eq!(
            "0 9 * * *".parse::<Crontab>().unwrap().to_string(),
            "0 9 * * *"
        );
    }

    #[test]
    fn next_local_after_is_strict_and_ignores_subseconds() {
        let c = Crontab::parse("0 9 * * *").unwrap();
        let at_nine = ndt("2026-05-05 09:00");
        assert_eq!(c.next_local_after(at_nine), Some(ndt("2026-05-06 09:00")));
        let just_before = at_nine - Duration::milliseconds(1);
        assert_eq!(c.next_local_after(just_before), Some(at_nine));
        let just_after = at_nine + Duration::milliseconds(500);
        assert_eq!(
            c.next_local_after(just_after),
            Some(ndt("2026-05-06 09:00"))
        );
        // The engine stops at 2100.
        assert_eq!(c.next_local_after(ndt("2100-12-31 10:00")), None);
    }

    #[test]
    fn day_of_week_numbers_follow_crontab() {
        // (expr, weekdays expected, in order of the week starting Monday)
        let table: &[(&str, &[Weekday])] = &[
            ("0 9 * * 0", &[Weekday::Sun]),
            ("0 9 * * 7", &[Weekday::Sun]),
            ("0 9 * * SUN", &[Weekday::Sun]),
            ("0 9 * * 1", &[Weekday::Mon]),
            ("0 9 * * 6", &[Weekday::Sat]),
            (
                "0 9 * * MON-FRI",
                &[
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ],
            ),
            (
                "0 9 * * 1-5",
                &[
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ],
            ),
            ("0 9 * * 5-7", &[Weekday::Fri, Weekday::Sat, Weekday::Sun]),
            ("0 9 * * 0,6", &[Weekday::Sat, Weekday::Sun]),
            ("0 9 * * sat,SUN", &[Weekday::Sat, Weekday::Sun]),
            (
                "0 9 * * */2",
                &[Weekday::Sun, Weekday::Tue, Weekday::Thu, Weekday::Sat],
            ),
            (
                "0 9 * * 0-7",
                &[
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                    Weekday::Sat,
                    Weekday::Sun,
                ],
            ),
        ];
        for (expr, days) in table {
            // Four weeks starting Monday 2026-05-04.
            let got = local_seq(expr, "2026-05-03 23:59", days.len() * 4);
            let expected: HashSet<Weekday> = days.iter().copied().collect();
            for t in &got {
                assert!(
                    expected.contains(&t.weekday()),
                    "{expr}: {t} is a {}",
                    t.weekday()
                );
                assert_eq!(t.time(), ndt("2026-01-01 09:00").time());
            }
            let distinct: HashSet<_> = got.iter().map(|t| t.date()).collect();
            assert_eq!(distinct.len(), got.len(), "{expr}");
            assert!(
                *got.last().unwrap() < ndt("2026-06-01 00:00"),
                "{expr}: {got:?}"
            );
        }
    }

    #[test]
    fn dom_and_dow_are_ored_when_both_restricted() {
        let c = Crontab::parse("0 9 1 * MON").unwrap();
        let mut t = ndt("2025-12-31 00:00");
        let mut dates = Vec::new();
        while let Some(n) = c.next_local_after(t) {
            if n.year() > 2026 {
                break;
            }
            dates.push(n.date());
            t = n;
        }
        let mut expected = Vec::new();
        let mut d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        while d.year() == 2026 {
            if d.day() == 1 || d.weekday() == Weekday::Mon {
                expected.push(d);
            }
            d = d.succ_opt().unwrap();
        }
        assert_eq!(dates, expected);
        // 2026-01-01 is a Thursday, 2026-01-05 a Monday.
        assert!(dates.contains(&NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()));
        assert!(dates.contains(&NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()));
        // `*`-prefixed day-of-month counts as unrestricted: AND (Vixie cron).
        let and = local_seq("0 9 */2 * MON", "2026-01-01 00:00", 10);
        assert!(and
            .iter()
            .all(|t| t.weekday() == Weekday::Mon && t.day() % 2 == 1));
        // Only one restricted: just that one.
        let only_dom = local_seq("0 9 1 * *", "2026-01-01 00:00", 5);
        assert!(only_dom.iter().all(|t| t.day() == 1));
    }

    #[test]
    fn rejects_bad_expressions_with_clear_messages() {
        let table: &[(&str, &str)] = &[
            ("", "the schedule is empty"),
            ("   ", "the schedule is empty"),
            (
                "* * * *",
                "expected 5 fields (minute hour day-of-month month day-of-week) but found 4",
            ),
            (
                "0 * * * * *",
                "expected 5 fields (minute hour day-of-month month day-of-week) but found 6 (seconds and year fields are not supported",
            ),
            ("0 0 9 * * * 2026", "but found 7"),
            ("60 * * * *", "minute value 60 is out of range 0–59"),
            ("0 24 * * *", "hour value 24 is out of range 0–23"),
            ("0 0 32 * *", "day-of-month value 32 is out of range 1–31"),
            ("0 0 0 * *", "day-of-month value 0 is out of range 1–31"),
            ("0 0 * 13 *", "month value 13 is out of range 1–12"),
            ("0 0 * 0 *", "month value 0 is out of range 1–12"),
            ("0 0 * * 8", "day-of-week value 8 is out of range 0–7"),
            ("0 0 * * 1-8", "day-of-week value 8 is out of range 0–7"),
            (
                "0 0 * * 99999999999999",
                "day-of-week value 99999999999999 is out of range 0–7",
            ),
            (
                "0 0 * * MUN",
                "day-of-week value \"MUN\" is not a number or a day name (SUN–SAT)",
            ),
            (
                "0 0 * * Monday",
                "day-of-week value \"Monday\" is not a number or a day name (SUN–SAT)",
            ),
            (
                "0 0 * JANUARY *",
                "month value \"JANUARY\" is not a number or a month name (JAN–DEC)",
            ),
            (
                "0 0 * * JAN",
                "day-of-week value \"JAN\" is not a number or a day name",
            ),
            ("0 0 MON * *", "day-of-month value \"MON\" is not a number"),
            ("x 0 * * *", "minute value \"x\" is not a number"),
            ("-5 0 * * *", "minute value \"-5\" is not a number"),
            ("0 0 ? * *", "day-of-month value \"?\" is not a number"),
            ("0 0 L * *", "day-of-month value \"L\" is not a number"),
            ("1,,2 0 * * *", "minute field \"1,,2\" has an empty entry"),
            ("1, 0 * * *", "minute field \"1,\" has an empty entry"),
            ("30-10 0 * * *", "minute range \"30-10\" runs backwards"),
            (
                "0 0 * * FRI-MON",
                "day-of-week range \"FRI-MON\" runs backwards",
            ),
            (
                "*/0 * * * *",
                "minute step in \"*/0\" must be a whole number of at least 1",
            ),
            ("*/ * * * *", "minute step in \"*/\" must be a whole number"),
            (
                "*/x * * * *",
                "minute step in \"*/x\" must be a whole number",
            ),
            ("0 0 30 2 *", "can never fire"),
            ("0 0 31 4,6,9,11 *", "can never fire"),
            ("@reboot", "@reboot is not supported"),
            ("@REBOOT", "@reboot is not supported"),
            ("@fortnightly", "unknown macro \"@fortnightly\""),
            ("@daily 0", "unknown macro"),
        ];
        for (expr, msg) in table {
            let err = Crontab::parse(expr).expect_err(expr).to_string();
            assert!(err.contains(msg), "{expr:?}: got {err:?}, want {msg:?}");
        }
        // Feb 30 with a weekday is fine (ORed: fires on the weekday).
        assert!(Crontab::parse("0 0 30 2 MON").is_ok());
    }

    #[test]
    fn describes() {
        let table: &[(&str, &str)] = &[
            ("0 16 * * MON-FRI", "at 16:00 on Mon–Fri"),
            ("0 16 * * 1-5", "at 16:00 on Mon–Fri"),
            ("30 9 * * *", "at 09:30 every day"),
            ("0 9,17 * * *", "at 09:00 and 17:00 every day"),
            ("0 9 * * 0,6", "at 09:00 on Sat and Sun"),
            ("0 9 * * 1,3,5", "at 09:00 on Mon, Wed and Fri"),
            ("* * * * *", "every minute"),
            ("*/15 * * * *", "every 15 minutes"),
            ("*/30 * * * *", "every 30 minutes"),
            ("@hourly", "every hour"),
            ("5 * * * *", "every hour at :05"),
            (
                "*/15 9-17 * * MON-FRI",
                "every 15 minutes from 09:00 to 17:45 on Mon–Fri",
            ),
            ("0 9 1 * *", "at 09:00 on day 1 of the month"),
            ("0 9 1,15 * *", "at 09:00 on days 1 and 15 of the month"),
            ("0 9 1 * MON", "at 09:00 on day 1 of the month and on Mon"),
            ("0 9 * JAN,JUL *", "at 09:00 every day in Jan and Jul"),
            ("0 9 * * MON", "at 09:00 on Mon"),
            ("@yearly", "at 00:00 on 1 Jan"),
            ("@weekly", "at 00:00 on Sun"),
            ("@monthly", "at 00:00 on day 1 of the month"),
            (
                "1,7,13,29,44 1-3,7 * * *",
                "on crontab schedule \"1,7,13,29,44 1-3,7 * * *\"",
            ),
        ];
        for (expr, want) in table {
            assert_eq!(Crontab::parse(expr).unwrap().describe(), *want, "{expr}");
        }
    }

    // ---------------------------------------------------------------- DST

    const NY: Tz = chrono_tz::America::New_York;
    const LONDON: Tz = chrono_tz::Europe::London;
    const SYDNEY: Tz = chrono_tz::Australia::Sydney;
    const KOLKATA: Tz = chrono_tz::Asia::Kolkata;

    struct Change {
        tz: Tz,
        date: &'static str,
        /// A wall-clock time inside the gap (spring) or the repeated hour (fall).
        inside: &'static str,
        /// Expected UTC instant of that time's single firing.
        fires_at_utc: &'static str,
        spring: bool,
    }

    const CHANGES: &[Change] = &[
        // New York: gap 02:00–03:00 (03:00 EDT = 07:00Z); overlap 01:00–02:00 (01:30 EDT = 05:30Z).
        Change {
            tz: NY,
            date: "2026-03-08",
            inside: "02:30",
            fires_at_utc: "2026-03-08 07:00",
            spring: true,
        },
        Change {
            tz: NY,
            date: "2026-11-01",
            inside: "01:30",
            fires_at_utc: "2026-11-01 05:30",
            spring: false,
        },
        Change {
            tz: NY,
            date: "2027-03-14",
            inside: "02:30",
            fires_at_utc: "2027-03-14 07:00",
            spring: true,
        },
        Change {
            tz: NY,
            date: "2027-11-07",
            inside: "01:30",
            fires_at_utc: "2027-11-07 05:30",
            spring: false,
        },
        // London: gap 01:00–02:00 (02:00 BST = 01:00Z); overlap 01:00–02:00 (01:30 BST = 00:30Z).
        Change {
            tz: LONDON,
            date: "2026-03-29",
            inside: "01:30",
            fires_at_utc: "2026-03-29 01:00",
            spring: true,
        },
        Change {
            tz: LONDON,
            date: "2026-10-25",
            inside: "01:30",
            fires_at_utc: "2026-10-25 00:30",
            spring: false,
        },
        Change {
            tz: LONDON,
            date: "2027-03-28",
            inside: "01:30",
            fires_at_utc: "2027-03-28 01:00",
            spring: true,
        },
        Change {
            tz: LONDON,
            date: "2027-10-31",
            inside: "01:30",
            fires_at_utc: "2027-10-31 00:30",
            spring: false,
        },
        // Sydney: back 03:00→02:00 (02:30 AEDT = 15:30Z previous day);
        // forward 02:00→03:00 (03:00 AEDT = 16:00Z previous day).
        Change {
            tz: SYDNEY,
            date: "2026-04-05",
            inside: "02:30",
            fires_at_utc: "2026-04-04 15:30",
            spring: false,
        },
        Change {
            tz: SYDNEY,
            date: "2026-10-04",
            inside: "02:30",
            fires_at_utc: "2026-10-03 16:00",
            spring: true,
        },
        Change {
            tz: SYDNEY,
            date: "2027-04-04",
            inside: "02:30",
            fires_at_utc: "2027-04-03 15:30",
            spring: false,
        },
        Change {
            tz: SYDNEY,
            date: "2027-10-03",
            inside: "02:30",
            fires_at_utc: "2027-10-02 16:00",
            spring: true,
        },
    ];

    /// `"02:30"` -> `30 2 * * *`.
    fn daily(time: &str) -> Crontab {
        let (h, m) = time.split_once(':').unwrap();
        let (h, m): (u32, u32) = (h.parse().unwrap(), m.parse().unwrap());
        Crontab::parse(&format!("{m} {h} * * *")).unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// All occurrences whose scheduled local date is within ±`days` of `day`.
    fn around(c: &Crontab, tz: Tz, day: NaiveDate, days: i64) -> Vec<Occurrence> {
        let from_local = (day - Duration::days(days)).and_hms_opt(0, 0, 0).unwrap();
        let to_local = (day + Duration::days(days + 1))
            .and_hms_opt(0, 0, 0)
            .unwrap();
        // Generous UTC window, then filter by local date.
        let from = from_local.and_utc() - Duration::days(1);
        let to = to_local.and_utc() + Duration::days(1);
        c.occurrences_between(tz, from, to)
            .into_iter()
            .filter(|o| o.local >= from_local && o.local < to_local)
            .collect()
    }

    /// Invariants every occurrence sequence must satisfy.
    fn check_invariants(c: &Crontab, tz: Tz, occ: &[Occurrence]) {
        let mut locals = HashSet::new();
        for w in occ.windows(2) {
            assert!(
                w[0].at < w[1].at,
                "{}: not strictly increasing: {w:?}",
                c.expr()
            );
            assert!(
                w[0].local < w[1].local,
                "{}: locals out of order: {w:?}",
                c.expr()
            );
        }
        for o in occ {
            assert!(
                locals.insert(o.local),
                "{}: duplicate local {}",
                c.expr(),
                o.local
            );
            match tz.from_local_datetime(&o.local) {
                chrono::LocalResult::Single(dt) => assert_eq!(dt, o.at),
                chrono::LocalResult::Ambiguous(a, b) => assert_eq!(a.min(b), o.at),
                chrono::LocalResult::None => {
                    // Gap time: fires at the gap end, which lies after it.
                    let shown = o.at.with_timezone(&tz).naive_local();
                    assert!(
                        shown > o.local && shown - o.local <= Duration::hours(2),
                        "{o:?}"
                    );
                }
            }
        }
        // next_after agrees with the sequence at (a sample of) its boundaries.
        let stride = occ.len() / 100 + 1;
        for w in occ.windows(2).step_by(stride) {
            assert_eq!(c.next_after(tz, w[0].at), Some(w[1]), "{}", c.expr());
            assert_eq!(c.next_after(tz, w[1].at - Duration::seconds(1)), Some(w[1]));
        }
    }

    #[test]
    fn daily_time_inside_the_change_fires_exactly_once() {
        for ch in CHANGES {
            let (h, _) = ch.inside.split_once(':').unwrap();
            let c = daily(ch.inside);
            let day = date(ch.date);
            let occ = around(&c, ch.tz, day, 3);
            check_invariants(&c, ch.tz, &occ);
            let that_day: Vec<_> = occ.iter().filter(|o| o.local.date() == day).collect();
            assert_eq!(that_day.len(), 1, "{} {}: {that_day:?}", ch.tz, ch.date);
            assert_eq!(
                that_day[0].local,
                ndt(&format!("{} {}", ch.date, ch.inside))
            );
            assert_eq!(
                that_day[0].at,
                utc(ch.fires_at_utc),
                "{} {}",
                ch.tz,
                ch.date
            );
            if ch.spring {
                // Gap end: the next valid minute, on the hour after the gap.
                let shown = that_day[0].at.with_timezone(&ch.tz);
                assert_eq!(
                    (shown.hour(), shown.minute()),
                    (h.parse::<u32>().unwrap() + 1, 0)
                );
            }
            // One firing per local date, none skipped.
            let dates: Vec<_> = occ.iter().map(|o| o.local.date()).collect();
            let expected: Vec<_> = (-3..=3).map(|d| day + Duration::days(d)).collect();
            assert_eq!(dates, expected, "{} {}", ch.tz, ch.date);
        }
    }

    #[test]
    fn daily_times_outside_the_change_fire_once_per_day() {
        let times = [
            "00:00", "00:59", "01:59", "03:00", "03:30", "09:00", "12:15", "16:00", "23:59",
        ];
        for ch in CHANGES {
            let day = date(ch.date);
            for time in times {
                let local = ndt(&format!("{} {time}", ch.date));
                let inside_change = !matches!(
                    ch.tz.from_local_datetime(&local),
                    chrono::LocalResult::Single(_)
                );
                let c = daily(time);
                let occ = around(&c, ch.tz, day, 3);
                check_invariants(&c, ch.tz, &occ);
                let dates: Vec<_> = occ.iter().map(|o| o.local.date()).collect();
                let expected: Vec<_> = (-3..=3).map(|d| day + Duration::days(d)).collect();
                assert_eq!(dates, expected, "{} {} {time}", ch.tz, ch.date);
                for o in &occ {
                    if o.local.date() != day || !inside_change {
                        assert_eq!(o.at.with_timezone(&ch.tz).naive_local(), o.local, "{o:?}");
                    }
                }
            }
        }
    }

    /// Expected number of firings on a change day for sub-daily schedules.
    #[test]
    fn subdaily_schedules_across_changes() {
        // (expr, firings on a spring day, firings on a fall day) for 1-hour shifts.
        let table: &[(&str, usize, usize)] = &[
            // Gap times collapse into the real gap-end time.
            ("0 * * * *", 23, 24),
            ("*/30 * * * *", 46, 48),
            ("*/15 * * * *", 92, 96),
            ("* * * * *", 1380, 1440),
            // Gap-end not scheduled: the gap times collapse into one firing.
            ("15,45 * * * *", 47, 48),
            ("30 * * * *", 24, 24),
            ("0 1-3 * * *", 2, 3),
        ];
        for ch in CHANGES {
            let day = date(ch.date);
            for (expr, spring_n, fall_n) in table {
                let c = Crontab::parse(expr).unwrap();
                let occ = around(&c, ch.tz, day, 1);
                check_invariants(&c, ch.tz, &occ);
                let instants: HashSet<_> = occ.iter().map(|o| o.at).collect();
                assert_eq!(instants.len(), occ.len());
                let n = occ.iter().filter(|o| o.local.date() == day).count();
                // `0 1-3` in London spring: 01:00 gap collapses into 02:00; in
                // NY/Sydney spring: 02:00 collapses into 03:00. Both give 2.
                let want = if ch.spring { *spring_n } else { *fall_n };
                assert_eq!(n, want, "{expr} in {} on {}", ch.tz, ch.date);
                // Neighbouring days are normal.
                for d in [day - Duration::days(1), day + Duration::days(1)] {
                    let n = occ.iter().filter(|o| o.local.date() == d).count();
                    assert_eq!(n, if *spring_n == 2 { 3 } else { *fall_n }, "{expr} {d}");
                }
            }
        }
    }

    #[test]
    fn gap_rule_identity() {
        // NY 2026-03-08: 02:00–03:00 does not exist.
        let gap_end = utc("2026-03-08 07:00");
        let fire = |expr: &str| {
            Crontab::parse(expr).unwrap().occurrences_between(
                NY,
                utc("2026-03-08 06:00"),
                utc("2026-03-08 08:00"),
            )
        };
        // A real 03:00 exists: it fires, 02:00 and 02:30 are dropped.
        let occ = fire("*/30 * * * *");
        let at_gap: Vec<_> = occ.iter().filter(|o| o.at == gap_end).collect();
        assert_eq!(at_gap.len(), 1);
        assert_eq!(at_gap[0].local, ndt("2026-03-08 03:00"));
        assert_eq!(
            occ.iter().map(|o| o.local).collect::<Vec<_>>(),
            vec![
                // 01:00 EST is 06:00Z: `from` is exclusive; 04:00 EDT is 08:00Z: `to` is inclusive.
                ndt("2026-03-08 01:30"),
                ndt("2026-03-08 03:00"),
                ndt("2026-03-08 03:30"),
                ndt("2026-03-08 04:00"),
            ]
        );
        // No real 03:00: the first gap time (02:15) fires at 03:00, 02:45 dropped.
        let occ = fire("15,45 * * * *");
        assert_eq!(
            occ.iter().map(|o| (o.local, o.at)).collect::<Vec<_>>(),
            vec![
                (ndt("2026-03-08 01:15"), utc("2026-03-08 06:15")),
                (ndt("2026-03-08 01:45"), utc("2026-03-08 06:45")),
                (ndt("2026-03-08 02:15"), gap_end),
                (ndt("2026-03-08 03:15"), utc("2026-03-08 07:15")),
                (ndt("2026-03-08 03:45"), utc("2026-03-08 07:45")),
            ]
        );
        // Asking from just before / at the gap end.
        let c = Crontab::parse("15,45 * * * *").unwrap();
        let o = c.next_after(NY, gap_end - Duration::seconds(1)).unwrap();
        assert_eq!((o.local, o.at), (ndt("2026-03-08 02:15"), gap_end));
        let o = c.next_after(NY, gap_end).unwrap();
        assert_eq!(o.local, ndt("2026-03-08 03:15"));
    }

    #[test]
    fn fall_back_fires_first_pass_only() {
        // NY 2026-11-01: 01:00–02:00 happens twice (EDT 05:00Z–06:00Z, EST 06:00Z–07:00Z).
        let c = Crontab::parse("*/30 * * * *").unwrap();
        let occ = c.occurrences_between(NY, utc("2026-11-01 04:00"), utc("2026-11-01 08:00"));
        assert_eq!(
            occ.iter().map(|o| (o.local, o.at)).collect::<Vec<_>>(),
            vec![
                (ndt("2026-11-01 00:30"), utc("2026-11-01 04:30")),
                (ndt("2026-11-01 01:00"), utc("2026-11-01 05:00")),
                (ndt("2026-11-01 01:30"), utc("2026-11-01 05:30")),
                (ndt("2026-11-01 02:00"), utc("2026-11-01 07:00")),
                (ndt("2026-11-01 02:30"), utc("2026-11-01 07:30")),
                (ndt("2026-11-01 03:00"), utc("2026-11-01 08:00")),
            ]
        );
        // Asking during the second pass does not re-fire 01:30.
        let o = c.next_after(NY, utc("2026-11-01 06:10")).unwrap();
        assert_eq!(o.local, ndt("2026-11-01 02:00"));
    }

    #[test]
    fn kolkata_is_exactly_daily() {
        let dates: Vec<&str> = CHANGES.iter().map(|c| c.date).collect();
        for time in ["09:00", "02:30", "01:30", "00:00"] {
            let c = daily(time);
            for d in &dates {
                let occ = around(&c, KOLKATA, date(d), 4);
                check_invariants(&c, KOLKATA, &occ);
                assert_eq!(occ.len(), 9);
                for w in occ.windows(2) {
                    assert_eq!(w[1].at - w[0].at, Duration::days(1));
                }
                for o in &occ {
                    assert_eq!(o.at.naive_utc() + Duration::minutes(330), o.local);
                }
            }
        }
    }

    #[test]
    fn between_upcoming_and_next_after_agree() {
        let exprs = [
            "*/30 * * * *",
            "0 * * * *",
            "30 2 * * *",
            "0 9 1 * MON",
            "15,45 1-3 * * *",
        ];
        for ch in CHANGES {
            for expr in exprs {
                let c = Crontab::parse(expr).unwrap();
                let from = ndt(&format!("{} 00:00", ch.date)).and_utc() - Duration::days(2);
                let to = from + Duration::days(4);
                let between = c.occurrences_between(ch.tz, from, to);
                check_invariants(&c, ch.tz, &between);
                assert!(between.iter().all(|o| o.at > from && o.at <= to));
                let upcoming = c.upcoming(ch.tz, from, between.len());
                assert_eq!(upcoming, between, "{expr} {}", ch.date);
                let mut t = from;
                let mut stepped = Vec::new();
                while let Some(o) = c.next_after(ch.tz, t) {
                    if o.at > to {
                        break;
                    }
                    stepped.push(o);
                    t = o.at;
                }
                assert_eq!(stepped, between, "{expr} {}", ch.date);
                // `to` is inclusive, `from` exclusive.
                if let Some(first) = between.first() {
                    let again = c.occurrences_between(ch.tz, first.at, first.at);
                    assert!(again.is_empty());
                    let incl =
                        c.occurrences_between(ch.tz, first.at - Duration::seconds(1), first.at);
                    assert_eq!(incl, vec![*first]);
                }
            }
        }
    }

    #[test]
    fn long_runs_never_repeat_a_local() {
        // A full year of half-hourly firings in every zone.
        for tz in [NY, LONDON, SYDNEY, KOLKATA] {
            let c = Crontab::parse("*/30 * * * *").unwrap();
            let occ = c.occurrences_between(tz, utc("2026-01-01 00:00"), utc("2027-01-01 00:00"));
            let mut seen = BTreeMap::new();
            for w in occ.windows(2) {
                assert!(w[0].at < w[1].at);
            }
            for o in &occ {
                assert!(seen.insert(o.local, o.at).is_none(), "{tz}: {o:?}");
            }
            // 365 days × 48 half-hours of real time, minus the 2 firings lost
            // in the repeated hour of the year's fall-back (gap times still
            // fire, at the gap end).
            let expected = 365 * 48 - if tz == KOLKATA { 0 } else { 2 };
            assert_eq!(occ.len(), expected, "{tz}");
        }
    }

    /// `local_time` check-ins resolve one wall-clock time in each person's
    /// zone: on spring-forward days a missing time fires once at the gap's
    /// end, on fall-back days a repeated time fires once (the first pass).
    #[test]
    fn fire_instant_across_2026_and_2027_dst_changes() {
        let utc = |s: &str| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
                .unwrap()
                .and_utc()
        };
        // (zone, cadence, local wall-clock, expected UTC instant)
        let cases: &[(Tz, &str, &str, Option<&str>)] = &[
            // New York: 2026-03-08 and 2027-03-14 spring forward at 02:00.
            (
                chrono_tz::America::New_York,
                "30 2 * * *",
                "2026-03-08 02:30",
                Some("2026-03-08 07:00"),
            ),
            (
                chrono_tz::America::New_York,
                "30 2 * * *",
                "2027-03-14 02:30",
                Some("2027-03-14 07:00"),
            ),
            (
                chrono_tz::America::New_York,
                "30 2 * * *",
                "2026-03-09 02:30",
                Some("2026-03-09 06:30"),
            ),
            // Two times in the same gap fire once, as the first of them.
            (
                chrono_tz::America::New_York,
                "0,30 2 * * *",
                "2026-03-08 02:00",
                Some("2026-03-08 07:00"),
            ),
            (
                chrono_tz::America::New_York,
                "0,30 2 * * *",
                "2026-03-08 02:30",
                None,
            ),
            // A real scheduled time at the gap end absorbs the gap's times.
            (
                chrono_tz::America::New_York,
                "0,30 2,3 * * *",
                "2026-03-08 02:00",
                None,
            ),
            (
                chrono_tz::America::New_York,
                "0,30 2,3 * * *",
                "2026-03-08 02:30",
                None,
            ),
            (
                chrono_tz::America::New_York,
                "0,30 2,3 * * *",
                "2026-03-08 03:00",
                Some("2026-03-08 07:00"),
            ),
            (
                chrono_tz::America::New_York,
                "0,30 2,3 * * *",
                "2026-03-08 03:30",
                Some("2026-03-08 07:30"),
            ),
            // Fall back 2026-11-01 and 2027-11-07: 01:30 happens twice, fires at the first.
            (
                chrono_tz::America::New_York,
                "30 1 * * *",
                "2026-11-01 01:30",
                Some("2026-11-01 05:30"),
            ),
            (
                chrono_tz::America::New_York,
                "30 1 * * *",
                "2027-11-07 01:30",
                Some("2027-11-07 05:30"),
            ),
            // London: 2026-03-29 / 2027-03-28 01:00 -> 02:00; 2026-10-25 / 2027-10-31 02:00 -> 01:00.
            (
                chrono_tz::Europe::London,
                "30 1 * * *",
                "2026-03-29 01:30",
                Some("2026-03-29 01:00"),
            ),
            (
                chrono_tz::Europe::London,
                "30 1 * * *",
                "2027-03-28 01:30",
                Some("2027-03-28 01:00"),
            ),
            (
                chrono_tz::Europe::London,
                "30 1 * * *",
                "2026-10-25 01:30",
                Some("2026-10-25 00:30"),
            ),
            (
                chrono_tz::Europe::London,
                "30 1 * * *",
                "2027-10-31 01:30",
                Some("2027-10-31 00:30"),
            ),
            // Sydney: DST ends 2026-04-05 / 2027-04-04 (03:00 -> 02:00), starts 2026-10-04 / 2027-10-03 (02:00 -> 03:00).
            (
                chrono_tz::Australia::Sydney,
                "30 2 * * *",
                "2026-04-05 02:30",
                Some("2026-04-04 15:30"),
            ),
            (
                chrono_tz::Australia::Sydney,
                "30 2 * * *",
                "2027-04-04 02:30",
                Some("2027-04-03 15:30"),
            ),
            (
                chrono_tz::Australia::Sydney,
                "30 2 * * *",
                "2026-10-04 02:30",
                Some("2026-10-03 16:00"),
            ),
            (
                chrono_tz::Australia::Sydney,
                "30 2 * * *",
                "2027-10-03 02:30",
                Some("2027-10-02 16:00"),
            ),
            // Kolkata has no DST: every time exists once, at +05:30.
            (
                chrono_tz::Asia::Kolkata,
                "30 2 * * *",
                "2026-03-08 02:30",
                Some("2026-03-07 21:00"),
            ),
            (
                chrono_tz::Asia::Kolkata,
                "30 1 * * *",
                "2027-11-07 01:30",
                Some("2027-11-06 20:00"),
            ),
            // Not a scheduled time at all.
            (
                chrono_tz::Asia::Kolkata,
                "30 1 * * *",
                "2027-11-07 01:31",
                None,
            ),
        ];
        for (tz, expr, local, want) in cases {
            let c = Crontab::parse(expr).unwrap();
            let got = c.fire_instant(*tz, ndt(local));
            assert_eq!(got, want.map(utc), "{tz} `{expr}` at {local}");
        }
    }
}
