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
//! So the cadence goes through three steps, each in its own file:
//!
//! * `parse`: crontab text to the values each field selects, with errors a
//!   team lead can act on (which field, which value);
//! * `engine`: those values translated ONCE into `cron::Schedule`s (one, or
//!   two for the OR rule). This is the schedule's one representation: every
//!   wall-clock time, and `describe`'s text, comes from it;
//! * `occurrences`: the DST rule, which maps each scheduled wall-clock time
//!   to the instant it fires in a zone.
//!
//! `describe` words a cadence for people.
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

mod describe;
mod engine;
mod occurrences;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;

use engine::Engine;
pub use occurrences::{wall_clock_instant, Occurrence, Occurrences};
pub use parse::CrontabError;

/// A parsed standard 5-field crontab cadence.
#[derive(Debug, Clone)]
pub struct Crontab {
    /// As written (trimmed); its identity and its `Display`.
    expr: String,
    /// What every occurrence comes from.
    engine: Engine,
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

impl Crontab {
    /// Parses a standard 5-field crontab expression or a macro (`@daily`, …).
    pub fn parse(expr: &str) -> Result<Crontab, CrontabError> {
        let expr = expr.trim();
        let fields = parse::fields(expr)?;
        Ok(Crontab {
            expr: expr.to_string(),
            engine: Engine::new(&fields)?,
        })
    }

    /// The expression as written (trimmed).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The next scheduled wall-clock time strictly after `after`: pure
    /// calendar math, no time zone. `None` past the engine's year 2100.
    pub fn next_local_after(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        self.engine.local_times_after(after).next()
    }
}
