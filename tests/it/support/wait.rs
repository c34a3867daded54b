//! Waiting on a positive signal: polls with a deadline, so no test sleeps
//! for a fixed time and hopes. A poll interval is the only `sleep` here.

use std::time::{Duration, Instant};

/// How often a poll looks again.
pub const POLL: Duration = Duration::from_millis(20);

/// A poll loop's deadline: `check` fails the test once it has passed, with
/// the message given; `wait` checks, then sleeps one poll interval.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    every: Duration,
}

impl Deadline {
    pub fn after(within: Duration) -> Self {
        Deadline {
            at: Instant::now() + within,
            every: POLL,
        }
    }

    /// Polls every `every` instead of [`POLL`].
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every;
        self
    }

    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Fails the test with `why()` if the deadline has passed.
    pub fn check(&self, why: impl FnOnce() -> String) {
        if self.passed() {
            panic!("timed out: {}", why());
        }
    }

    /// [`Deadline::check`], then one poll interval.
    pub async fn wait(&self, why: impl FnOnce() -> String) {
        self.check(why);
        tokio::time::sleep(self.every).await;
    }
}

/// Polls `f` until it holds; fails the test naming `what` after `within`.
pub async fn until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let d = Deadline::after(within);
    while !f() {
        d.wait(|| format!("waiting {within:?} for {what}")).await;
    }
}
