//! The durable inbox's front door: deliveries from both transports are
//! handed to one writer task that commits whatever has queued up as one
//! multi-row INSERT (group commit), then answers each caller. Memory stays
//! bounded: at most `QUEUE` deliveries wait, plus the batches being
//! committed, and nothing is spawned per delivery. A caller acks
//! Slack only after its answer says the row is committed; a full queue, a
//! database error or a slow commit answers "unavailable", so the transport
//! answers 503 (HTTP) or withholds the ack (Socket Mode) and Slack retries.

use crate::store::{InboxConn, Store};
use futures::stream::{FuturesUnordered, StreamExt};
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
    ///
    /// Each wake-up takes everything queued (up to `BATCH`) as one commit.
    /// SQLite has one writer at a time, so its commits run one after the
    /// other; PostgreSQL takes two at once (`Store::inbox_writers`), each
    /// on its own connection, so one commit's WAL flush overlaps the next
    /// batch's insert. On SQLite the WAL is checkpointed in the background
    /// every `CHECKPOINT_EVERY` rows, so that copying pages into the
    /// database file (and its fsync) is off the commit path.
    pub fn spawn(
        mut self,
        store: Store,
        now_ms: impl Fn() -> i64 + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            // One connection per commit that may run at once.
            let mut idle: Vec<InboxConn> = (0..store.inbox_writers().max(1))
                .map(|_| store.inbox_conn())
                .collect();
            let mut commits = FuturesUnordered::new();
            // Grown by the first burst, not reserved up front: 2,048
            // pending deliveries are 115 kB that an idle bot never uses.
            let mut batch: Vec<Pending> = Vec::new();
            let mut since_checkpoint = 0usize;
            let mut checkpoint: Option<JoinHandle<()>> = None;
            let mut open = true;
            // Whether an idle `InboxConn` may still hold a connection.
            let mut holding = false;
            while open || !commits.is_empty() {
                tokio::select! {
                    // Finished commits first: their callers are waiting.
                    biased;
                    Some((conn, rows, r)) = commits.next(), if !commits.is_empty() => {
                        idle.push(conn);
                        holding = true;
                        let r: Result<(), String> = r;
                        if r.is_ok() {
                            self.committed.notify_waiters();
                            self.committed.notify_one();
                            since_checkpoint += rows;
                            if since_checkpoint >= CHECKPOINT_EVERY
                                && checkpoint.as_ref().is_none_or(|h| h.is_finished())
                            {
                                since_checkpoint = 0;
                                let store = store.clone();
                                checkpoint = Some(tokio::spawn(async move {
                                    if let Err(e) = store.inbox_checkpoint().await {
                                        tracing::debug!(error = %format!("{e:#}"), "background checkpoint failed");
                                    }
                                }));
                            }
                        }
                    }
                    n = self.rx.recv_many(&mut batch, BATCH), if open && !idle.is_empty() => {
                        if n == 0 {
                            open = false;
                            continue;
                        }
                        let conn = idle.pop().expect("an idle connection");
                        commits.push(commit(conn, std::mem::take(&mut batch), now_ms()));
                        batch.reserve(BATCH);
                    }
                    // Nothing for a while: hand the connections back, so an
                    // idle writer holds none (and the pool can close). Not
                    // after every commit: under load the queue is often
                    // empty for a moment, and a connection taken afresh
                    // starts with a cold page cache.
                    _ = tokio::time::sleep(HOLD_IDLE), if holding && commits.is_empty() => {
                        for conn in &mut idle {
                            conn.release();
                        }
                        holding = false;
                    }
                }
            }
        })
    }
}

/// The writer hands its connections back after this long with nothing to
/// commit.
const HOLD_IDLE: Duration = Duration::from_millis(100);

/// Rows copied from the WAL into the database file in the background after
/// this many committed rows (SQLite; about as many WAL pages again, well
/// under the `wal_autocheckpoint` that would make a commit do it itself).
const CHECKPOINT_EVERY: usize = 2048;

/// Commits one batch on `conn` and answers its callers; returns the
/// connection, how many rows, and the result.
async fn commit(
    mut conn: InboxConn,
    batch: Vec<Pending>,
    now_ms: i64,
) -> (InboxConn, usize, Result<(), String>) {
    let mut rows = Vec::with_capacity(batch.len());
    let mut waiting = Vec::with_capacity(batch.len());
    for p in batch {
        rows.push((p.event_id, p.payload));
        waiting.push(p.done);
    }
    let r = conn
        .insert(&rows, now_ms)
        .await
        .map_err(|e| format!("{e:#}"));
    if let Err(e) = &r {
        tracing::warn!(error = %e, rows = rows.len(), "inbox commit failed; Slack will retry these deliveries");
    }
    drop(rows);
    // A caller that gave up (timed out) has closed its channel: its row is
    // still written, and a Slack retry is a no-op.
    let n = waiting.len();
    for done in waiting {
        let _ = done.send(r.clone());
    }
    (conn, n, r)
}
