//! Digest delivery as rows: one `digest_runs` row per digest and period
//! (unique), leased by one worker at a time like check-in runs, and one
//! `digest_posts` row per message it will post (per recipient: the
//! summary, its thread replies, the chart), written before the first
//! Slack call so a restart resumes where the last worker stopped.

use super::Store;
use anyhow::{Context, Result};

/// A digest run as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DigestRunRow {
    pub id: i64,
    pub digest: String,
    pub period: String,
    pub scheduled_at: i64,
    pub status: String,
    pub attempts: i64,
    pub notes: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const RUN_COLUMNS: &str =
    "id, digest, period, scheduled_at, status, attempts, notes, last_error, created_at, finished_at";

/// One message (or the chart) a run posts to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DigestPostRow {
    pub id: i64,
    pub run_id: i64,
    pub recipient: String,
    pub seq: i64,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub uncertain: i64,
    pub attempts: i64,
    pub channel_id: Option<String>,
    pub message_ts: Option<String>,
    pub file_id: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

const POST_COLUMNS: &str = "id, run_id, recipient, seq, kind, payload, status, uncertain, attempts,
     channel_id, message_ts, file_id, last_error, sent_at";

/// A post to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDigestPost {
    pub recipient: String,
    pub seq: i64,
    pub kind: String,
    pub payload: String,
}

impl Store {
    /// Creates the run for `digest` and `period` unless one exists; returns
    /// its id either way, and whether it is new.
    pub async fn create_digest_run(
        &self,
        digest: &str,
        period: &str,
        scheduled_at: i64,
        now_ms: i64,
    ) -> Result<(i64, bool)> {
        let new: Option<i64> = sqlx::query_scalar(
            "INSERT INTO digest_runs (digest, period, scheduled_at, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (digest, period) DO NOTHING RETURNING id",
        )
        .bind(digest)
        .bind(period)
        .bind(scheduled_at)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await
        .context("creating a digest run")?;
        if let Some(id) = new {
            return Ok((id, true));
        }
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM digest_runs WHERE digest = $1 AND period = $2")
                .bind(digest)
                .bind(period)
                .fetch_one(self.pool())
                .await
                .context("finding a digest run")?;
        Ok((id, false))
    }

    pub async fn digest_run(&self, digest: &str, period: &str) -> Result<Option<DigestRunRow>> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM digest_runs WHERE digest = $1 AND period = $2");
        sqlx::query_as::<_, DigestRunRow>(sqlx::AssertSqlSafe(sql))
            .bind(digest)
            .bind(period)
            .fetch_optional(self.pool())
            .await
            .context("reading a digest run")
    }

    /// The most recent runs, newest first (for `fieldnotes status`).
    pub async fn recent_digest_runs(&self, limit: i64) -> Result<Vec<DigestRunRow>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM digest_runs ORDER BY scheduled_at DESC, id DESC LIMIT $1"
        );
        sqlx::query_as::<_, DigestRunRow>(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("reading digest runs")
    }

    /// Leases one run that is due and unfinished (pending, or posting and
    /// left by a worker whose lease ran out), oldest first.
    pub async fn claim_digest_run(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<DigestRunRow>> {
        // Most ticks find nothing due: a read says so without taking
        // SQLite's write lock.
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM digest_runs
             WHERE status IN ('pending', 'posting') AND lease_until < $1 AND scheduled_at <= $1
             LIMIT 1",
        )
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await
        .context("looking for a due digest run")?;
        if due.is_none() {
            return Ok(None);
        }
        let lock = self.skip_locked();
        let sql = format!(
            "UPDATE digest_runs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM digest_runs
                          WHERE status IN ('pending', 'posting') AND lease_until < $3 AND scheduled_at <= $3
                          ORDER BY scheduled_at, id LIMIT 1 {lock})
               AND lease_until < $3
             RETURNING {RUN_COLUMNS}"
        );
        sqlx::query_as::<_, DigestRunRow>(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .fetch_optional(self.pool())
            .await
            .context("claiming a digest run")
    }

    /// Extends this worker's lease on a run; false if it lost it.
    pub async fn renew_digest_lease(&self, id: i64, owner: &str, until_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE digest_runs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3",
        )
        .bind(until_ms)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await
        .context("renewing a digest lease")?;
        Ok(r.rows_affected() == 1)
    }

    /// Writes the run's posts (kept as they are if a crashed worker already
    /// wrote them) and moves it to `posting`.
    pub async fn queue_digest_posts(
        &self,
        run_id: i64,
        owner: &str,
        notes: i64,
        posts: &[NewDigestPost],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for p in posts {
            sqlx::query(
                "INSERT INTO digest_posts (run_id, recipient, seq, kind, payload)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, recipient, seq) DO NOTHING",
            )
            .bind(run_id)
            .bind(&p.recipient)
            .bind(p.seq)
            .bind(&p.kind)
            .bind(&p.payload)
            .execute(&mut *tx)
            .await
            .context("queueing a digest post")?;
        }
        let r = sqlx::query(
            "UPDATE digest_runs SET status = 'posting', notes = $1
             WHERE id = $2 AND lease_owner = $3 AND status IN ('pending', 'posting')",
        )
        .bind(notes)
        .bind(run_id)
        .bind(owner)
        .execute(&mut *tx)
        .await
        .context("marking a digest run as posting")?;
        if r.rows_affected() != 1 {
            anyhow::bail!("lost the lease on digest run {run_id}");
        }
        tx.commit().await.context("committing a digest's posts")?;
        Ok(())
    }

    /// Ends a run: `done`, `empty` or `failed`.
    pub async fn finish_digest_run(
        &self,
        id: i64,
        status: &str,
        notes: Option<i64>,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE digest_runs SET status = $1, notes = COALESCE($2, notes), last_error = $3,
                    finished_at = $4, lease_owner = NULL, lease_until = 0
             WHERE id = $5",
        )
        .bind(status)
        .bind(notes)
        .bind(error)
        .bind(now_ms)
        .bind(id)
        .execute(self.pool())
        .await
        .context("finishing a digest run")?;
        Ok(())
    }

    /// Lets another attempt take a run after `retry_at` (a transient
    /// failure), keeping what it has posted.
    pub async fn release_digest_run(&self, id: i64, retry_at: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE digest_runs SET lease_owner = NULL, lease_until = $1, last_error = $2 WHERE id = $3",
        )
        .bind(retry_at)
        .bind(error)
        .bind(id)
        .execute(self.pool())
        .await
        .context("releasing a digest run")?;
        Ok(())
    }

    /// A run's posts, in the order they go out: by recipient (in the order
    /// they were queued), then by sequence.
    pub async fn digest_posts(&self, run_id: i64) -> Result<Vec<DigestPostRow>> {
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM digest_posts p WHERE run_id = $1
             ORDER BY (SELECT MIN(q.id) FROM digest_posts q WHERE q.run_id = p.run_id AND q.recipient = p.recipient), seq"
        );
        sqlx::query_as::<_, DigestPostRow>(sqlx::AssertSqlSafe(sql))
            .bind(run_id)
            .fetch_all(self.pool())
            .await
            .context("reading a digest's posts")
    }

    /// Marks a post as in flight: if the worker dies now, the next one
    /// looks for it in Slack before posting it again.
    pub async fn digest_post_in_flight(
        &self,
        id: i64,
        channel: &str,
        file_id: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE digest_posts SET uncertain = 1, attempts = attempts + 1, channel_id = $1,
                    file_id = COALESCE($2, file_id)
             WHERE id = $3",
        )
        .bind(channel)
        .bind(file_id)
        .bind(id)
        .execute(self.pool())
        .await
        .context("marking a digest post in flight")?;
        Ok(())
    }

    pub async fn digest_post_sent(
        &self,
        id: i64,
        channel: &str,
        ts: Option<&str>,
        file_id: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE digest_posts SET status = 'sent', uncertain = 0, channel_id = $1, message_ts = $2,
                    file_id = COALESCE($3, file_id), sent_at = $4, last_error = NULL
             WHERE id = $5",
        )
        .bind(channel)
        .bind(ts)
        .bind(file_id)
        .bind(now_ms)
        .bind(id)
        .execute(self.pool())
        .await
        .context("recording a digest post")?;
        Ok(())
    }

    /// A post that didn't go out: `failed` for good, or still `queued`
    /// (not uncertain: Slack said no) for another attempt.
    pub async fn digest_post_error(&self, id: i64, failed: bool, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE digest_posts SET status = CASE WHEN $1 = 1 THEN 'failed' ELSE status END,
                    uncertain = 0, last_error = $2
             WHERE id = $3",
        )
        .bind(i64::from(failed))
        .bind(error)
        .bind(id)
        .execute(self.pool())
        .await
        .context("recording a digest post's error")?;
        Ok(())
    }
}
