//! Check-in runs and the prompt outbox. Every prompt is a row with a unique
//! (check-in, person, occurrence) key before it is a Slack message; workers
//! claim rows with a lease, so restarts and replicas never double-send.

use super::{Backend, Store};
use crate::domain::{PendingRun, Prompt, PromptJob};
use anyhow::{Context, Result};
use sqlx::Row;

impl Store {
    /// Where the planner has looked up to, per check-in.
    pub async fn scheduler_cursor(&self, checkin: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT checked_until FROM scheduler_cursors WHERE checkin = $1")
            .bind(checkin)
            .fetch_optional(self.pool())
            .await
            .context("reading the scheduler cursor")?;
        Ok(row.map(|r| r.get::<i64, _>(0)))
    }

    /// Moves the cursor forward (never back, even with several planners).
    pub async fn advance_scheduler_cursor(&self, checkin: &str, until_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO scheduler_cursors (checkin, checked_until) VALUES ($1, $2)
             ON CONFLICT (checkin) DO UPDATE SET checked_until = excluded.checked_until
             WHERE scheduler_cursors.checked_until < excluded.checked_until",
        )
        .bind(checkin)
        .bind(until_ms)
        .execute(self.pool())
        .await
        .context("advancing the scheduler cursor")?;
        Ok(())
    }

    /// Creates a run for one occurrence of a check-in; `None` if it exists.
    pub async fn create_run(
        &self,
        checkin: &str,
        occurrence: &str,
        source: &str,
        question: Option<&str>,
        scheduled_at_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO checkin_runs (checkin, occurrence, source, question, scheduled_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (checkin, occurrence) DO NOTHING RETURNING id",
        )
        .bind(checkin)
        .bind(occurrence)
        .bind(source)
        .bind(question)
        .bind(scheduled_at_ms)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await
        .context("creating a check-in run")?;
        Ok(row.map(|r| r.get::<i64, _>(0)))
    }

    /// Claims runs that still need their audience fanned out.
    pub async fn claim_pending_runs(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<PendingRun>> {
        let lock = self.skip_locked();
        let sql = format!(
            "UPDATE checkin_runs SET status = 'planning', lease_owner = $1, lease_until = $2
             WHERE id IN (SELECT id FROM checkin_runs
                          WHERE scheduled_at <= $3 AND (status = 'pending' OR (status = 'planning' AND lease_until < $3))
                          ORDER BY id LIMIT 20 {lock})
             RETURNING id, checkin, occurrence, question"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .fetch_all(self.pool())
            .await
            .context("claiming pending check-in runs")?;
        Ok(rows
            .into_iter()
            .map(|r| PendingRun {
                id: r.get(0),
                checkin: r.get(1),
                occurrence: r.get(2),
                question: r.get(3),
            })
            .collect())
    }

    /// Gives up on a run (its check-in left the config).
    pub async fn cancel_run(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE checkin_runs SET status = 'cancelled' WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .context("cancelling a run")?;
        Ok(())
    }

    /// Queues one prompt per user for a run and marks the run planned, in one
    /// transaction. Returns how many prompts were new.
    pub async fn enqueue_prompts(
        &self,
        run: &PendingRun,
        users: &[String],
        question: &str,
        due_at_ms: i64,
        now_ms: i64,
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for user in users {
            let r = sqlx::query(
                "INSERT INTO prompts (run_id, checkin, user_id, occurrence, question, due_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (checkin, user_id, occurrence) DO NOTHING",
            )
            .bind(run.id)
            .bind(&run.checkin)
            .bind(user)
            .bind(&run.occurrence)
            .bind(question)
            .bind(due_at_ms)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .context("queueing a prompt")?;
            added += r.rows_affected();
        }
        sqlx::query("UPDATE checkin_runs SET status = 'planned', planned_at = $1, audience_size = $2 WHERE id = $3")
            .bind(now_ms)
            .bind(users.len() as i64)
            .bind(run.id)
            .execute(&mut *tx)
            .await
            .context("marking a run planned")?;
        tx.commit().await.context("committing queued prompts")?;
        Ok(added)
    }

    /// Claims up to `limit` due prompts for sending, with a lease. Expired
    /// leases (a worker that died) are claimed again.
    pub async fn claim_prompts(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<PromptJob>> {
        let lock = self.skip_locked();
        let sql = format!(
            "UPDATE prompts SET status = 'sending', lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM prompts
                          WHERE (status = 'queued' AND due_at <= $3) OR (status = 'sending' AND lease_until < $3)
                          ORDER BY due_at, id LIMIT $4 {lock})
             RETURNING id, checkin, user_id, occurrence, attempts, question"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("claiming prompts")?;
        let mut jobs: Vec<PromptJob> = rows
            .into_iter()
            .map(|r| PromptJob {
                id: r.get(0),
                checkin: r.get(1),
                user_id: r.get(2),
                occurrence: r.get(3),
                attempts: r.get(4),
                question: r.get(5),
            })
            .collect();
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Records a delivered prompt, if this worker still holds its lease.
    pub async fn mark_prompt_sent(
        &self,
        id: i64,
        owner: &str,
        channel: &str,
        ts: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE prompts SET status = 'sent', channel_id = $1, message_ts = $2, sent_at = $3, last_error = NULL
             WHERE id = $4 AND status = 'sending' AND lease_owner = $5",
        )
        .bind(channel)
        .bind(ts)
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await
        .context("marking a prompt sent")?;
        Ok(r.rows_affected() == 1)
    }

    /// Puts a prompt back in the queue after a retryable failure, or marks it
    /// failed for good when `retry_at_ms` is `None`.
    pub async fn mark_prompt_error(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at_ms: Option<i64>,
    ) -> Result<()> {
        let (status, due) = match retry_at_ms {
            Some(t) => ("queued", t),
            None => ("failed", 0),
        };
        sqlx::query(
            "UPDATE prompts SET status = $1, due_at = CASE WHEN $2 > 0 THEN $2 ELSE due_at END, last_error = $3, lease_until = 0
             WHERE id = $4 AND status = 'sending' AND lease_owner = $5",
        )
        .bind(status)
        .bind(due)
        .bind(error)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await
        .context("recording a prompt error")?;
        Ok(())
    }

    pub async fn prompt(&self, id: i64) -> Result<Option<Prompt>> {
        let row = sqlx::query(
            "SELECT id, checkin, user_id, occurrence, status, channel_id, message_ts, answered_at, question FROM prompts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .context("reading a prompt")?;
        Ok(row.map(|r| Prompt {
            id: r.get(0),
            checkin: r.get(1),
            user_id: r.get(2),
            occurrence: r.get(3),
            status: r.get(4),
            channel_id: r.get(5),
            message_ts: r.get(6),
            answered: r.get::<Option<i64>, _>(7).is_some(),
            question: r.get(8),
        }))
    }

    /// Whether any work is still queued or in flight.
    pub async fn outstanding_work(&self) -> Result<i64> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM prompts WHERE status IN ('queued', 'sending'))
                  + (SELECT COUNT(*) FROM checkin_runs WHERE status IN ('pending', 'planning'))",
        )
        .fetch_one(self.pool())
        .await
        .context("counting outstanding work")?;
        Ok(r.get(0))
    }

    fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }
}
