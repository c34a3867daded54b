//! Pure scheduling: from a check-in's cadence, timezone and "now" to the
//! occurrences that are due. All DST and calendar logic lives here.

pub mod crontab;

pub use crontab::{Crontab, CrontabError, Occurrence};
