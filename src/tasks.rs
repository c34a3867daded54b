//! One bounded, tracked set for the work that runs after Slack's ack
//! (confirmations, App Home refreshes, permalinks, the digest preview).
//!
//! Handlers must ack within 3 s, so slow follow-ups run in the background,
//! but never as a bare `tokio::spawn`: every such task goes through here.
//! The set holds at most `limit` tasks; when it is full a new one waits a
//! moment for a slot and, failing that, runs in the caller (which is itself
//! bounded: one HTTP request or one inbox row), so a burst slows the ack
//! down instead of piling up tasks without bound. Shutdown waits for the
//! set to drain before the database pool closes (as mini-redis's
//! `shutdown.rs` waits for its connection handlers).
//!
//! Built on tokio-util's `TaskTracker` (tracking and waiting) and a tokio
//! `Semaphore` (the bound), rather than a hand-rolled counter.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

/// How long a caller waits for a free slot before doing the work itself.
const SLOT_WAIT: Duration = Duration::from_millis(250);

/// Cheap to clone; clones share one set.
#[derive(Clone)]
pub struct Background {
    tracker: TaskTracker,
    slots: Arc<Semaphore>,
    limit: usize,
}

/// Where a task ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// In the background, after the caller returned.
    Spawned,
    /// In the caller, because the set was full.
    Inline,
}

impl Background {
    /// A set of at most `limit` concurrent tasks (at least 1).
    pub fn new(limit: usize) -> Background {
        let limit = limit.max(1);
        Background {
            tracker: TaskTracker::new(),
            slots: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// Runs `fut` in the set, or in the caller when the set stays full.
    pub async fn run<F>(&self, what: &'static str, fut: F) -> Ran
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => tokio::time::timeout(SLOT_WAIT, self.slots.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok),
        };
        match permit {
            Some(permit) => {
                self.tracker.spawn(async move {
                    fut.await;
                    drop(permit);
                });
                Ran::Spawned
            }
            None => {
                tracing::debug!(
                    what,
                    limit = self.limit,
                    "background set full; running in the caller"
                );
                fut.await;
                Ran::Inline
            }
        }
    }

    /// Tasks running now.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }

    /// The most tasks that run at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Waits until no task runs (the set stays open: for tests and the
    /// demo, which step the bot and then read what it did).
    pub async fn idle(&self) {
        while !self.tracker.is_empty() {
            // `wait` only returns on a closed tracker; close, wait, reopen.
            self.tracker.close();
            self.tracker.wait().await;
            self.tracker.reopen();
        }
    }

    /// Shutdown: waits up to `limit` for running tasks to finish. Returns
    /// how many were still running when it gave up (0 when drained).
    pub async fn drain(&self, limit: Duration) -> usize {
        self.tracker.close();
        match tokio::time::timeout(limit, self.tracker.wait()).await {
            Ok(()) => 0,
            Err(_) => self.tracker.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn runs_in_the_background_and_drains() {
        let bg = Background::new(4);
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let d = done.clone();
            let ran = bg
                .run("test", async move {
                    tokio::task::yield_now().await;
                    d.fetch_add(1, Ordering::SeqCst);
                })
                .await;
            assert_eq!(ran, Ran::Spawned);
        }
        assert_eq!(bg.drain(Duration::from_secs(5)).await, 0);
        assert_eq!(done.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_full_set_runs_work_in_the_caller() {
        let bg = Background::new(2);
        let gate = Arc::new(Semaphore::new(0));
        for _ in 0..2 {
            let g = gate.clone();
            let blocked = async move {
                let _ = g.acquire().await;
            };
            assert_eq!(bg.run("blocked", blocked).await, Ran::Spawned);
        }
        assert_eq!(bg.len(), 2);
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let ran = bg
            .run("third", async move {
                d.fetch_add(1, Ordering::SeqCst);
            })
            .await;
        assert_eq!(ran, Ran::Inline);
        // It ran before `run` returned, and the set never grew past 2.
        assert_eq!(done.load(Ordering::SeqCst), 1);
        assert_eq!(bg.len(), 2);
        gate.add_permits(2);
        bg.idle().await;
        assert!(bg.is_empty());
    }

    #[tokio::test]
    async fn drain_reports_what_did_not_finish() {
        let bg = Background::new(1);
        bg.run("stuck", std::future::pending()).await;
        assert_eq!(bg.drain(Duration::from_millis(20)).await, 1);
    }
}
