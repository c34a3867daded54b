//! One bounded, tracked set for the work that runs after Slack's ack
//! (confirmations, App Home refreshes, permalinks, the digest preview).
//!
//! Handlers must ack within 3 s, so slow follow-ups run in the background,
//! but never as a bare `tokio::spawn`: every such task goes through here.
//! At most `limit` tasks run at once; when they are all busy (a burst of
//! notes whose confirmations wait on Slack's pacing, say), a new one waits
//! its turn in a backlog of at most `backlog` tasks, still after the ack.
//! Only when the backlog is full too does the work run in the caller
//! (itself bounded: one HTTP request or one inbox row), so memory stays
//! bounded whatever the burst. The load benchmark (`benches/load.rs`)
//! found the earlier rule, "wait 250 ms for a slot, then run in the
//! caller", putting Slack-paced `chat.update`s inside slash-command acks,
//! which then missed Slack's 3 s. Shutdown waits for the running and the
//! waiting tasks before the database pool closes (as mini-redis's
//! `shutdown.rs` waits for its connection handlers).
//!
//! Built on tokio-util's `TaskTracker` (tracking and waiting) and two tokio
//! `Semaphore`s (the bounds), rather than a hand-rolled counter.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

/// Cheap to clone; clones share one set.
#[derive(Clone)]
pub struct Background {
    tracker: TaskTracker,
    /// Running tasks: `limit`.
    slots: Arc<Semaphore>,
    /// Running and waiting tasks: `limit` + `backlog`.
    places: Arc<Semaphore>,
    limit: usize,
}

/// Where a task ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// In the background, after the caller returned.
    Spawned,
    /// In the background once a running task finishes (the set was busy).
    Queued,
    /// In the caller, because the set was full.
    Inline,
}

impl Background {
    /// A set of at most `limit` concurrent tasks (at least 1), and as many
    /// as `backlog` more waiting for a turn.
    pub fn new(limit: usize, backlog: usize) -> Background {
        let limit = limit.max(1);
        Background {
            tracker: TaskTracker::new(),
            slots: Arc::new(Semaphore::new(limit)),
            places: Arc::new(Semaphore::new(limit + backlog)),
            limit,
        }
    }

    /// Runs `fut` in the set: now, or after a running task finishes; in the
    /// caller only when the backlog is full as well.
    pub async fn run<F>(&self, what: &'static str, fut: F) -> Ran
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Ok(place) = self.places.clone().try_acquire_owned() else {
            tracing::warn!(
                what,
                limit = self.limit,
                "background set and backlog full; running in the caller"
            );
            fut.await;
            return Ran::Inline;
        };
        let slot = self.slots.clone().try_acquire_owned().ok();
        let ran = if slot.is_some() {
            Ran::Spawned
        } else {
            Ran::Queued
        };
        let slots = self.slots.clone();
        self.tracker.spawn(async move {
            let _place = place;
            // The semaphore is never closed.
            let Some(_slot) = (match slot {
                Some(s) => Some(s),
                None => slots.acquire_owned().await.ok(),
            }) else {
                return;
            };
            fut.await;
        });
        ran
    }

    /// Tasks running or waiting for a turn now.
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

    /// A task that runs until `gate` gets a permit.
    fn blocked(gate: &Arc<Semaphore>) -> impl Future<Output = ()> + Send + 'static {
        let g = gate.clone();
        async move {
            let _ = g.acquire().await;
        }
    }

    #[tokio::test]
    async fn runs_in_the_background_and_drains() {
        let bg = Background::new(4, 4);
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
    async fn a_busy_set_queues_work_after_the_caller() {
        let bg = Background::new(1, 2);
        let gate = Arc::new(Semaphore::new(0));
        assert_eq!(bg.run("blocked", blocked(&gate)).await, Ran::Spawned);
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let d = done.clone();
            let ran = bg
                .run("queued", async move {
                    d.fetch_add(1, Ordering::SeqCst);
                })
                .await;
            assert_eq!(ran, Ran::Queued);
        }
        // Both wait behind the running one: nothing ran in the caller.
        assert_eq!(done.load(Ordering::SeqCst), 0);
        assert_eq!(bg.len(), 3);
        gate.add_permits(1);
        bg.idle().await;
        assert_eq!(done.load(Ordering::SeqCst), 2);
        assert!(bg.is_empty());
    }

    #[tokio::test]
    async fn a_full_set_and_backlog_run_work_in_the_caller() {
        let bg = Background::new(2, 0);
        let gate = Arc::new(Semaphore::new(0));
        for _ in 0..2 {
            assert_eq!(bg.run("blocked", blocked(&gate)).await, Ran::Spawned);
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
        let bg = Background::new(1, 1);
        bg.run("stuck", std::future::pending()).await;
        assert_eq!(bg.drain(Duration::from_millis(20)).await, 1);
    }
}
