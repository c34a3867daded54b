//! Pure scheduling: from a cadence, a timezone and "now" to the
//! occurrences that are due, and the work calendar that decides who is
//! off. All DST and calendar logic lives here. No I/O, and below `config`
//! (which holds these types): a person's plan for a run, which needs the
//! config, is the top-level `plan` module.

pub mod calendar;
pub mod crontab;

pub use calendar::{DayOff, WorkCalendar};
pub use crontab::{Crontab, CrontabError, Occurrence};
