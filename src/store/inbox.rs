//! The durable inbox of Slack events: committed before the ack, claimed by
//! workers with a lease, retried with backoff, parked after max attempts.

use super::Store;
use anyhow::{Context, Result};
use sqlx::Row;

/// A claimed inbox row.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub id: i64,
    pub event_id: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// A row the workers gave up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedEvent {
    pub event_id: String,
    pub attempts: i64,
    pub last_error: String,
    pub received_at: i64,
}

/// Most rows in one multi-row INSERT (4 binds each; SQLite allows 32,766).
const INSERT_CHUNK: usize = 200;

impl Store {
    /// Commits deliveries to the inbox in one transaction; a row whose
    /// event_id is already there (a Slack retry) is a no-op.
    pub async fn inbox_insert(&self, rows: &[(String, String)], now_ms: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut sql =
                String::from("INSERT INTO inbox (event_id, payload, next_at, received_at) VALUES ");
            for i in 0..chunk.len() {
                let b = i * 4;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
            }
            sql.push_str(" ON CONFLICT (event_id) DO NOTHING");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, payload) in chunk {
                q = q.bind(id).bind(payload).bind(now_ms).bind(now_ms);
            }
            q.execute(&mut *tx).await.context("writing the inbox")?;
        }
        tx.commit().await.context("committing the inbox")?;
        Ok(())
    }

    /// Claims up to `limit` due rows (pending and due, or leased by a worker
    /// whose lease ran out).
    pub async fn claim_inbox(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<InboxRow>> {
        let lock = self.skip_locked();
        let sql = format!(
            "UPDATE inbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM inbox
                          WHERE status = 'pending' AND next_at <= $3 AND lease_until < $3
                          ORDER BY id LIMIT $4 {lock})
             RETURNING id, event_id, payload, attempts"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("claiming inbox rows")?;
        let mut out: Vec<InboxRow> = rows
            .into_iter()
            .map(|r| InboxRow {
                id: r.get(0),
                event_id: r.get(1),
                payload: r.get(2),
                attempts: r.get(3),
            })
            .collect();
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    /// Marks claimed rows done (only while this worker still holds them).
    pub async fn inbox_done(&self, ids: &[i64], owner: &str, now_ms: i64) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query(
                "UPDATE inbox SET status = 'done', done_at = $1, lease_owner = NULL, lease_until = 0, last_error = NULL
                 WHERE id = $2 AND lease_owner = $3",
            )
            .bind(now_ms)
            .bind(*id)
            .bind(owner)
            .execute(&mut *tx)
            .await
            .context("marking an inbox row done")?;
        }
        tx.commit().await.context("committing inbox results")?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or parked when None.
    pub async fn inbox_failed(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<()> {
        let (status, next) = match retry_at {
            Some(t) => ("pending", t),
            None => ("parked", 0),
        };
        sqlx::query(
            "UPDATE inbox SET status = $1, next_at = CASE WHEN $2 > 0 THEN $2 ELSE next_at END,
                 last_error = $3, lease_owner = NULL, lease_until = 0
             WHERE id = $4 AND lease_owner = $5",
        )
        .bind(status)
        .bind(next)
        .bind(error)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await
        .context("recording an inbox failure")?;
        Ok(())
    }

    /// Hands back this worker's claimed, unfinished rows (shutdown), without
    /// counting the attempt.
    pub async fn release_inbox(&self, owner: &str) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE inbox SET lease_owner = NULL, lease_until = 0, attempts = attempts - 1
             WHERE lease_owner = $1 AND status = 'pending'",
        )
        .bind(owner)
        .execute(self.pool())
        .await
        .context("releasing inbox rows")?;
        Ok(r.rows_affected())
    }

    /// Rows waiting to be handled (pending, claimed or not).
    pub async fn inbox_backlog(&self) -> Result<i64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .fetch_one(self.pool())
            .await
            .context("counting the inbox")?;
        Ok(n)
    }

    /// The status of an event's inbox row, if it has one.
    pub async fn inbox_status(&self, event_id: &str) -> Result<Option<String>> {
        let s: Option<String> = sqlx::query_scalar("SELECT status FROM inbox WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(self.pool())
            .await
            .context("reading an inbox row")?;
        Ok(s)
    }

    /// Parked rows, newest first.
    pub async fn parked_events(&self, limit: i64) -> Result<Vec<ParkedEvent>> {
        let rows = sqlx::query(
            "SELECT event_id, attempts, COALESCE(last_error, ''), received_at FROM inbox
             WHERE status = 'parked' ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("reading parked events")?;
        Ok(rows
            .into_iter()
            .map(|r| ParkedEvent {
                event_id: r.get(0),
                attempts: r.get(1),
                last_error: r.get(2),
                received_at: r.get(3),
            })
            .collect())
    }
}
