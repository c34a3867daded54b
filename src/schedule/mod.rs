//! Pure scheduling: from a check-in's cadence, timezone and "now" to the
//! occurrences that are due, the work calendar that decides who is off, and
//! each person's plan for a run. All DST and calendar logic lives here. No
//! I/O: this module uses `config` and `domain`, never `jobs`, `slack`, `app`
//! or `store`.

pub mod calendar;
pub mod crontab;
pub mod plan;

pub use calendar::{DayOff, WorkCalendar};
pub use crontab::{Crontab, CrontabError, Occurrence};
