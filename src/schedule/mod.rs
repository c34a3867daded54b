//! Pure scheduling: from a check-in's cadence, timezone and "now" to the
//! occurrences that are due, and the work calendar that decides who is off.
//! All DST and calendar logic lives here.

pub mod calendar;
pub mod crontab;

pub use calendar::{DayOff, WorkCalendar};
pub use crontab::{Crontab, CrontabError, Occurrence};
