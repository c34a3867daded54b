//! The durable inbox's front door: deliveries from both transports are
//! handed to one writer task that commits whatever has queued up in one
//! transaction (group commit), then answers each caller. A caller acks
//! Slack only after its answer says the row is committed; a full queue, a
//! database error or a slow commit answers "unavailable", so the transport
//! answers 503 (HTTP) or withholds the ack (Socket Mode) and Slack retries.

use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

/// Deliveries waiting for the writer, at most; past this, 503.
const QUEUE: usize = 8192;
/// Most rows in one commit.
const BATCH: usize = 2048;
/// A delivery not committed within this is answered "unavailable" (well
/// inside Slack's 3 s).
const COMMIT_DEADLINE: Duration = Duration::from_millis(2000);

/// Why a delivery could not be made durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboxError {
    #[error("the inbox is full; Slack will retry")]
    Busy,
    #[error("the inbox could not be written: {0}")]
    Unavailable(String),
    #[error("the inbox did not commit in time; Slack will retry")]
    Timeout,
}

struct Pending {
    event_id: String,
    payload: String,
    done: oneshot::Sender<Result<(), String>>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Inbox {
    tx: mpsc::Sender<Pending>,
    /// Woken after each commit, so workers pick rows up at once.
    pub committed: Arc<Notify>,
}

/// The writer half, run by `Inbox::spawn_writer`.
pub struct InboxWriter {
    rx: mpsc::Receiver<Pending>,
    committed: Arc<Notify>,
}

impl Inbox {
    pub fn new() -> (Inbox, InboxWriter) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let committed = Arc::new(Notify::new());
        (
            Inbox {
                tx,
                committed: committed.clone(),
            },
            InboxWriter { rx, committed },
        )
    }

    /// Commits one delivery; Ok only once it is durable.
    pub async fn commit(&self, event_id: &str, payload: String) -> Result<(), InboxError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .try_send(Pending {
                event_id: event_id.to_string(),
                payload,
                done,
            })
            .map_err(|_| InboxError::Busy)?;
        match tokio::time::timeout(COMMIT_DEADLINE, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(InboxError::Unavailable(e)),
            Ok(Err(_)) => Err(InboxError::Unavailable("the inbox writer stopped".into())),
            Err(_) => Err(InboxError::Timeout),
        }
    }
}

impl InboxWriter {
    /// Runs the writer until every `Inbox` handle is dropped or the task is
    /// aborted. `now_ms` stamps rows.
    pub fn spawn(
        mut self,
        store: Store,
        now_ms: impl Fn() -> i64 + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
            while let Some(first) = self.rx.recv().await {
                batch.push(first);
                while batch.len() < BATCH {
                    match self.rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                // A caller that gave up (timed out) has closed its channel:
                // its row is still written, and a Slack retry is a no-op.
                let rows: Vec<(String, String)> = batch
                    .iter()
                    .map(|p| (p.event_id.clone(), p.payload.clone()))
                    .collect();
                let r = store
                    .inbox_insert(&rows, now_ms())
                    .await
                    .map_err(|e| format!("{e:#}"));
                if let Err(e) = &r {
                    tracing::warn!(error = %e, rows = rows.len(), "inbox commit failed; Slack will retry these deliveries");
                }
                for p in batch.drain(..) {
                    let _ = p.done.send(r.clone());
                }
                if r.is_ok() {
                    self.committed.notify_waiters();
                    self.committed.notify_one();
                }
            }
        })
    }
}
