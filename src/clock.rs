//! Injected time. Jobs and handlers ask a [`Clock`] for "now", so tests and the
//! demo can run four weeks of check-ins in seconds.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; shared by clones.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }

    pub fn advance(&self, d: Duration) {
        let mut g = self.0.lock().expect("clock lock");
        *g += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// Shared handle to whichever clock the app runs on.
pub type SharedClock = Arc<dyn Clock>;

/// Exponential backoff for transient failures: 2 s, 4 s, … capped at 5 min.
pub fn backoff(attempt: i64) -> std::time::Duration {
    std::time::Duration::from_secs((1u64 << attempt.clamp(1, 9) as u32).min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = ManualClock::new(start);
        let c2 = c.clone();
        assert_eq!(c.now(), start);
        c2.advance(Duration::hours(2));
        assert_eq!(c.now(), start + Duration::hours(2));
    }
}
