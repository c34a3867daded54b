//! Check-in runs, the prompt outbox and reminders. Every prompt is a row
//! with a unique (check-in, person, occurrence) key before it is a Slack
//! message, and every reminder a row with a unique (prompt, number) key;
//! workers claim rows with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
//! a conditional update on SQLite), so restarts and replicas never
//! double-send.

use super::bulk::{keep_prepared, placeholders, Insert, IN_CHUNK};
use super::{to_json, Backend, Store};
pub use crate::domain::PlannedPrompt;
use crate::domain::{PendingRun, Prompt};
use anyhow::{Context, Result};

/// Whether a message is the first prompt or a reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Prompt,
    Reminder(i64),
}

/// A prompt or reminder claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendJob {
    /// The row id (prompts.id or reminders.id, as `kind` says).
    pub row_id: i64,
    pub kind: MessageKind,
    pub prompt_id: i64,
    pub checkin: String,
    pub user_id: String,
    pub attempts: i64,
    /// An earlier attempt may have reached Slack unrecorded: look first.
    pub uncertain: bool,
    pub question: String,
    /// The prompt was already answered (through any path).
    pub answered: bool,
    pub created_at_ms: i64,
    /// When it was due (how late it goes out is `fieldnotes_job_lag_seconds`).
    pub due_at_ms: i64,
    pub closes_at_ms: Option<i64>,
    /// For reminders: the prompt's own delivery status.
    pub prompt_status: String,
}

/// A sent, unanswered prompt whose window has closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosingPrompt {
    pub id: i64,
    pub checkin: String,
    pub user_id: String,
    pub question: String,
    pub channel_id: String,
    pub message_ts: String,
}

impl MessageKind {
    fn table(self) -> &'static str {
        match self {
            MessageKind::Prompt => "prompts",
            MessageKind::Reminder(_) => "reminders",
        }
    }
}

/// A scheduler cursor.
#[derive(sqlx::FromRow)]
struct CursorRow {
    checked_until: i64,
    /// 0 when unknown.
    first_seen: i64,
}

/// A run claimed for planning.
#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    checkin: String,
    occurrence: String,
    question: Option<String>,
    source: String,
    scheduled_at: i64,
    created_at: i64,
}

impl From<RunRow> for PendingRun {
    fn from(r: RunRow) -> PendingRun {
        PendingRun {
            id: r.id,
            checkin: r.checkin,
            occurrence: r.occurrence,
            question: r.question,
            source: r.source,
            scheduled_at_ms: r.scheduled_at,
            created_at_ms: r.created_at,
        }
    }
}

/// A prompt row `enqueue_prompts` wrote (or found already there).
#[derive(sqlx::FromRow)]
struct QueuedRow {
    id: i64,
    user_id: String,
    status: String,
}

/// A prompt claimed for sending.
#[derive(sqlx::FromRow)]
struct ClaimedPrompt {
    id: i64,
    checkin: String,
    user_id: String,
    attempts: i64,
    uncertain: i64,
    question: String,
    answered_at: Option<i64>,
    created_at: i64,
    closes_at: Option<i64>,
    due_at: i64,
}

impl From<ClaimedPrompt> for SendJob {
    fn from(r: ClaimedPrompt) -> SendJob {
        SendJob {
            row_id: r.id,
            kind: MessageKind::Prompt,
            prompt_id: r.id,
            checkin: r.checkin,
            user_id: r.user_id,
            attempts: r.attempts,
            uncertain: r.uncertain != 0,
            question: r.question,
            answered: r.answered_at.is_some(),
            created_at_ms: r.created_at,
            due_at_ms: r.due_at,
            closes_at_ms: r.closes_at,
            prompt_status: "sending".into(),
        }
    }
}

/// A reminder claimed for sending.
#[derive(sqlx::FromRow)]
struct ClaimedReminder {
    id: i64,
    prompt_id: i64,
    seq: i64,
    attempts: i64,
    uncertain: i64,
    created_at: i64,
    due_at: i64,
}

/// What a claimed reminder needs of its prompt.
#[derive(sqlx::FromRow)]
struct ReminderPrompt {
    checkin: String,
    user_id: String,
    question: String,
    answered_at: Option<i64>,
    closes_at: Option<i64>,
    status: String,
}

impl ClaimedReminder {
    fn into_job(self, p: ReminderPrompt) -> SendJob {
        SendJob {
            row_id: self.id,
            kind: MessageKind::Reminder(self.seq),
            prompt_id: self.prompt_id,
            checkin: p.checkin,
            user_id: p.user_id,
            attempts: self.attempts,
            uncertain: self.uncertain != 0,
            question: p.question,
            answered: p.answered_at.is_some(),
            created_at_ms: self.created_at,
            due_at_ms: self.due_at,
            closes_at_ms: p.closes_at,
            prompt_status: p.status,
        }
    }
}

/// A sent prompt claimed to be closed.
#[derive(sqlx::FromRow)]
struct ClosingRow {
    id: i64,
    checkin: String,
    user_id: String,
    question: String,
    channel_id: Option<String>,
    message_ts: Option<String>,
}

impl From<ClosingRow> for ClosingPrompt {
    fn from(r: ClosingRow) -> ClosingPrompt {
        ClosingPrompt {
            id: r.id,
            checkin: r.checkin,
            user_id: r.user_id,
            question: r.question,
            channel_id: r.channel_id.unwrap_or_default(),
            message_ts: r.message_ts.unwrap_or_default(),
        }
    }
}

/// A prompt as `Store::prompt` reads it, with its run's questions.
#[derive(sqlx::FromRow)]
struct PromptLookup {
    id: i64,
    checkin: String,
    user_id: String,
    occurrence: String,
    status: String,
    channel_id: Option<String>,
    message_ts: Option<String>,
    answered_at: Option<i64>,
    question: String,
    closed_at: Option<i64>,
    /// JSON list of question ids.
    questions: Option<String>,
}

impl From<PromptLookup> for Prompt {
    fn from(r: PromptLookup) -> Prompt {
        Prompt {
            id: r.id,
            checkin: r.checkin,
            user_id: r.user_id,
            occurrence: r.occurrence,
            status: r.status,
            channel_id: r.channel_id,
            message_ts: r.message_ts,
            answered: r.answered_at.is_some(),
            question: r.question,
            closed: r.closed_at.is_some(),
            questions: r.questions.and_then(|q| serde_json::from_str(&q).ok()),
        }
    }
}

/// A sent reminder's message.
#[derive(sqlx::FromRow)]
struct MessageRow {
    channel_id: String,
    message_ts: String,
}

const PROMPTS: Insert = Insert::new(
    "INSERT INTO prompts (run_id, checkin, user_id, occurrence, question, due_at, created_at, closes_at, status, skip_reason, local_due)",
    11,
    "ON CONFLICT (checkin, user_id, occurrence) DO NOTHING RETURNING id, user_id, status",
);

/// Prompts queued per transaction by `enqueue_prompts`.
const PROMPTS_PER_COMMIT: usize = 250;

const REMINDERS: Insert = Insert::new(
    "INSERT INTO reminders (prompt_id, seq, user_id, due_at, created_at)",
    5,
    "ON CONFLICT (prompt_id, seq) DO NOTHING",
);

impl Store {
    /// Where the planner has looked up to, per check-in, and when it first
    /// saw the check-in: `(checked_until, first_seen)`.
    pub async fn scheduler_cursor(&self, checkin: &str) -> Result<Option<(i64, i64)>> {
        let row = sqlx::query_as::<_, CursorRow>(
            "SELECT checked_until, COALESCE(first_seen, 0) AS first_seen FROM scheduler_cursors WHERE checkin = $1",
        )
        .bind(checkin)
        .fetch_optional(self.pool())
        .await
        .context("reading the scheduler cursor")?;
        Ok(row.map(|r| (r.checked_until, r.first_seen)))
    }

    /// Moves the cursor forward (never back, even with several planners).
    pub async fn advance_scheduler_cursor(&self, checkin: &str, until_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO scheduler_cursors (checkin, checked_until, first_seen) VALUES ($1, $2, $2)
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

    /// First sight of a check-in: the cursor starts `look_back_ms` before
    /// now (so `local_time` zones behind UTC+14 still get today's run), and
    /// nobody is sent anything due before `now`.
    pub async fn start_scheduler_cursor(
        &self,
        checkin: &str,
        now_ms: i64,
        look_back_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO scheduler_cursors (checkin, checked_until, first_seen) VALUES ($1, $2, $3)
             ON CONFLICT (checkin) DO NOTHING",
        )
        .bind(checkin)
        .bind(now_ms - look_back_ms)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .context("starting the scheduler cursor")?;
        Ok(())
    }

    /// Creates a run for one occurrence of a check-in; `None` if it exists.
    /// `pick` chooses the questions it asks from the number of earlier runs
    /// (the k-of-n rotation).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_run(
        &self,
        checkin: &str,
        occurrence: &str,
        source: &str,
        question: Option<&str>,
        scheduled_at_ms: i64,
        now_ms: i64,
        pick: impl FnOnce(u64) -> Vec<String>,
    ) -> Result<Option<i64>> {
        let earlier: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM checkin_runs WHERE checkin = $1 AND scheduled_at < $2",
        )
        .bind(checkin)
        .bind(scheduled_at_ms)
        .fetch_one(self.pool())
        .await
        .context("counting earlier runs")?;
        let questions = to_json(&pick(earlier.max(0) as u64));
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO checkin_runs (checkin, occurrence, source, question, scheduled_at, created_at, questions)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (checkin, occurrence) DO NOTHING RETURNING id",
        )
        .bind(checkin)
        .bind(occurrence)
        .bind(source)
        .bind(question)
        .bind(scheduled_at_ms)
        .bind(now_ms)
        .bind(questions)
        .fetch_optional(self.pool())
        .await
        .context("creating a check-in run")?;
        Ok(id)
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
             RETURNING id, checkin, occurrence, question, source, scheduled_at, created_at"
        );
        let rows = sqlx::query_as::<_, RunRow>(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .fetch_all(self.pool())
            .await
            .context("claiming pending check-in runs")?;
        Ok(rows.into_iter().map(PendingRun::from).collect())
    }

    /// Renews the leases of the runs `owner` is planning.
    pub async fn extend_run_leases(&self, owner: &str, until_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE checkin_runs SET lease_until = $1 WHERE lease_owner = $2 AND status = 'planning'",
        )
        .bind(until_ms)
        .bind(owner)
        .execute(self.pool())
        .await
        .context("extending run leases")?;
        Ok(())
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

    /// Records one row per person for a run (queued, or skipped with the
    /// reason) with its reminders, `PROMPTS_PER_COMMIT` people per
    /// transaction, then marks the run planned. Returns how many prompts
    /// were queued anew.
    pub async fn enqueue_prompts(
        &self,
        run: &PendingRun,
        plans: &[PlannedPrompt],
        question: &str,
        now_ms: i64,
    ) -> Result<u64> {
        let mut queued = 0u64;
        // Short transactions: SQLite has one writer, and the acks' writes
        // (a note, an event) get their turn between two of them instead of
        // waiting out a 10,000-person fan-out (BENCHMARKS.md, load). Each
        // prompt is unique per check-in, person and occurrence, so a
        // planner that stops half-way and is retried adds only the rest.
        for batch in plans.chunks(PROMPTS_PER_COMMIT) {
            let mut tx = self.begin_write().await?;
            // Multi-row inserts keep a batch to a few round trips.
            for chunk in PROMPTS.chunks(batch) {
                let rows: Vec<QueuedRow> = PROMPTS
                    .query_as(chunk, |b, p| {
                        let status = if p.skip.is_some() {
                            "skipped"
                        } else {
                            "queued"
                        };
                        b.bind(run.id)
                            .bind(&run.checkin)
                            .bind(&p.user_id)
                            .bind(&run.occurrence)
                            .bind(question)
                            .bind(p.due_at_ms)
                            .bind(now_ms)
                            .bind(p.closes_at_ms)
                            .bind(status)
                            .bind(p.skip.as_deref())
                            .bind(&p.local_due);
                    })?
                    .fetch_all(&mut *tx)
                    .await
                    .context("queueing prompts")?;
                let by_user: std::collections::HashMap<&str, &PlannedPrompt> =
                    chunk.iter().map(|p| (p.user_id.as_str(), p)).collect();
                let mut reminders: Vec<(i64, i64, &str, i64)> = Vec::new();
                for r in &rows {
                    if r.status != "queued" {
                        continue;
                    }
                    queued += 1;
                    if let Some(p) = by_user.get(r.user_id.as_str()) {
                        for (seq, due) in p.reminders_ms.iter().enumerate() {
                            reminders.push((r.id, seq as i64 + 1, p.user_id.as_str(), *due));
                        }
                    }
                }
                REMINDERS
                    .execute(&mut tx, &reminders, |b, &(pid, seq, user, due)| {
                        b.bind(pid).bind(seq).bind(user).bind(due).bind(now_ms);
                    })
                    .await
                    .context("queueing reminders")?;
            }
            tx.commit().await.context("committing queued prompts")?;
            if batch.len() == PROMPTS_PER_COMMIT {
                self.yield_to_writers().await;
            }
        }
        sqlx::query("UPDATE checkin_runs SET status = 'planned', planned_at = $1, audience_size = $2 WHERE id = $3")
            .bind(now_ms)
            .bind(plans.len() as i64)
            .bind(run.id)
            .execute(self.pool())
            .await
            .context("marking a run planned")?;
        Ok(queued)
    }

    /// Claims up to `limit` due prompts, then due reminders, with a lease.
    /// Rows whose lease expired (a worker died) are claimed again; those it
    /// had started to post are flagged uncertain (see `start_send`).
    pub async fn claim_sends(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<SendJob>> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let lock = self.skip_locked();
        let sql = format!(
            "UPDATE prompts SET status = 'sending', lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM prompts
                          WHERE status IN ('queued', 'sending')
                            AND ((status = 'queued' AND due_at <= $3) OR (status = 'sending' AND lease_until < $3))
                          ORDER BY due_at, id LIMIT $4 {lock})
             RETURNING id, checkin, user_id, attempts, uncertain, question, answered_at, created_at, closes_at, due_at"
        );
        let rows = sqlx::query_as::<_, ClaimedPrompt>(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("claiming prompts")?;
        let mut jobs: Vec<SendJob> = rows.into_iter().map(SendJob::from).collect();
        let left = limit - jobs.len() as i64;
        if left > 0 {
            let sql = format!(
                "UPDATE reminders SET status = 'sending', lease_owner = $1, lease_until = $2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM reminders
                              WHERE (status = 'queued' AND due_at <= $3) OR (status = 'sending' AND lease_until < $3)
                              ORDER BY due_at, id LIMIT $4 {lock})
                 RETURNING id, prompt_id, seq, attempts, uncertain, created_at, due_at"
            );
            let rows = sqlx::query_as::<_, ClaimedReminder>(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(now_ms + lease_ms)
                .bind(now_ms)
                .bind(left)
                .fetch_all(self.pool())
                .await
                .context("claiming reminders")?;
            for r in rows {
                let p = sqlx::query_as::<_, ReminderPrompt>(
                    "SELECT checkin, user_id, question, answered_at, closes_at, status FROM prompts WHERE id = $1",
                )
                .bind(r.prompt_id)
                .fetch_one(self.pool())
                .await
                .context("reading a reminder's prompt")?;
                jobs.push(r.into_job(p));
            }
        }
        Ok(jobs)
    }

    /// Records a delivered message, if this worker still holds its lease.
    pub async fn mark_sent(
        &self,
        kind: MessageKind,
        id: i64,
        owner: &str,
        channel: &str,
        ts: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET status = 'sent', channel_id = $1, message_ts = $2, sent_at = $3, last_error = NULL, uncertain = 0
             WHERE id = $4 AND status = 'sending' AND lease_owner = $5",
            kind.table()
        );
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(channel)
            .bind(ts)
            .bind(now_ms)
            .bind(id)
            .bind(owner)
            .execute(self.pool())
            .await
            .context("marking a message sent")?;
        Ok(r.rows_affected() == 1)
    }

    /// Right before a message goes out: extends this worker's lease and
    /// flags the row uncertain (from here on Slack may have it, whatever
    /// happens to this process). False if the lease was lost (another worker
    /// took the row over), in which case this worker must not send.
    pub async fn start_send(
        &self,
        kind: MessageKind,
        id: i64,
        owner: &str,
        until_ms: i64,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET lease_until = $1, uncertain = 1 WHERE id = $2 AND status = 'sending' AND lease_owner = $3",
            kind.table()
        );
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(until_ms)
            .bind(id)
            .bind(owner)
            .execute(self.pool())
            .await
            .context("renewing a lease")?;
        Ok(r.rows_affected() == 1)
    }

    /// The bot's DM channel with a person, if any earlier message told us.
    pub async fn known_dm_channel(&self, user: &str) -> Result<Option<String>> {
        let channel: Option<String> = sqlx::query_scalar(
            "SELECT channel_id FROM prompts WHERE user_id = $1 AND channel_id IS NOT NULL
             UNION ALL SELECT dm_channel FROM people WHERE user_id = $1 AND dm_channel IS NOT NULL
             LIMIT 1",
        )
        .bind(user)
        .fetch_optional(self.pool())
        .await
        .context("looking up a DM channel")?;
        Ok(channel)
    }

    /// Puts a message back in the queue after a retryable failure (at
    /// `retry_at_ms`), or marks it failed for good when that is `None`.
    /// `uncertain` says Slack may have acted although the call failed.
    pub async fn mark_send_error(
        &self,
        kind: MessageKind,
        id: i64,
        owner: &str,
        error: &str,
        retry_at_ms: Option<i64>,
        uncertain: bool,
    ) -> Result<()> {
        let (status, due) = match retry_at_ms {
            Some(t) => ("queued", t),
            None => ("failed", 0),
        };
        let sql = format!(
            "UPDATE {} SET status = $1, due_at = CASE WHEN $2 > 0 THEN $2 ELSE due_at END, last_error = $3,
                    lease_until = 0, uncertain = $6
             WHERE id = $4 AND status = 'sending' AND lease_owner = $5",
            kind.table()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status)
            .bind(due)
            .bind(error)
            .bind(id)
            .bind(owner)
            .bind(uncertain as i64)
            .execute(self.pool())
            .await
            .context("recording a delivery error")?;
        Ok(())
    }

    /// Keeps the rows this worker is working on its own (a live worker's
    /// queue is never taken over; a dead worker's leases simply stop being
    /// extended).
    pub async fn extend_leases(
        &self,
        owner: &str,
        rows: &[(MessageKind, i64)],
        until_ms: i64,
    ) -> Result<()> {
        for table in ["prompts", "reminders"] {
            let ids: Vec<i64> = rows
                .iter()
                .filter(|(k, _)| k.table() == table)
                .map(|(_, id)| *id)
                .collect();
            for chunk in ids.chunks(IN_CHUNK) {
                let sql = format!(
                    "UPDATE {table} SET lease_until = $1 WHERE lease_owner = $2 AND status = 'sending' AND id IN ({})",
                    placeholders(3, chunk.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .persistent(keep_prepared(chunk.len(), IN_CHUNK))
                    .bind(until_ms)
                    .bind(owner);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(self.pool()).await.context("extending leases")?;
            }
        }
        Ok(())
    }

    /// Records that a claimed message will not be sent, and why.
    pub async fn mark_skipped(
        &self,
        kind: MessageKind,
        id: i64,
        owner: &str,
        reason: &str,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET status = 'skipped', skip_reason = $1, lease_until = 0
             WHERE id = $2 AND status = 'sending' AND lease_owner = $3",
            kind.table()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(reason)
            .bind(id)
            .bind(owner)
            .execute(self.pool())
            .await
            .context("recording a skipped message")?;
        Ok(())
    }

    /// Hands a claimed reminder back untouched, to try again at `due_at_ms`
    /// (its prompt is still on its way).
    pub async fn defer_reminder(&self, id: i64, owner: &str, due_at_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE reminders SET status = 'queued', due_at = $1, lease_until = 0, attempts = attempts - 1
             WHERE id = $2 AND status = 'sending' AND lease_owner = $3",
        )
        .bind(due_at_ms)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await
        .context("deferring a reminder")?;
        Ok(())
    }

    /// Closes answer windows that have ended. Prompts with nothing to show
    /// (answered, failed, skipped) close at once, prompts never delivered in
    /// time are skipped, and their pending reminders are dropped. Returns the
    /// sent, unanswered prompts (claimed with a lease) whose message must be
    /// edited to say the check-in is closed.
    pub async fn claim_closing(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClosingPrompt>> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE prompts SET status = 'skipped', skip_reason = 'the answer window closed before it could be sent', closed_at = $1
             WHERE status = 'queued' AND closes_at <= $1",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .context("expiring undelivered prompts")?;
        sqlx::query(
            "UPDATE prompts SET closed_at = $1
             WHERE closed_at IS NULL AND closes_at <= $1
               AND (status IN ('failed', 'skipped') OR (status = 'sent' AND answered_at IS NOT NULL))",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .context("closing answered prompts")?;
        sqlx::query(
            "UPDATE reminders SET status = 'skipped', skip_reason = 'the answer window closed'
             WHERE status = 'queued' AND EXISTS
               (SELECT 1 FROM prompts p WHERE p.id = reminders.prompt_id AND p.closes_at <= $1)",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .context("dropping reminders of closed prompts")?;
        tx.commit().await.context("committing closed windows")?;

        let lock = self.skip_locked();
        let sql = format!(
            "UPDATE prompts SET lease_owner = $1, lease_until = $2
             WHERE id IN (SELECT id FROM prompts
                          WHERE status = 'sent' AND closed_at IS NULL AND closes_at <= $3 AND lease_until < $3
                          ORDER BY closes_at, id LIMIT $4 {lock})
             RETURNING id, checkin, user_id, question, channel_id, message_ts"
        );
        let rows = sqlx::query_as::<_, ClosingRow>(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("claiming prompts to close")?;
        Ok(rows.into_iter().map(ClosingPrompt::from).collect())
    }

    /// Records a closed window (its message edited, or given up on).
    pub async fn mark_closed(&self, id: i64, owner: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE prompts SET closed_at = $1, lease_until = 0 WHERE id = $2 AND lease_owner = $3 AND closed_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await
        .context("marking a prompt closed")?;
        Ok(())
    }

    /// Lets a claimed close be retried after `retry_at_ms`.
    pub async fn release_closing(&self, id: i64, owner: &str, retry_at_ms: i64) -> Result<()> {
        sqlx::query("UPDATE prompts SET lease_until = $1 WHERE id = $2 AND lease_owner = $3")
            .bind(retry_at_ms)
            .bind(id)
            .bind(owner)
            .execute(self.pool())
            .await
            .context("releasing a close")?;
        Ok(())
    }

    /// On a clean shutdown: hands back every row this worker still holds, so
    /// another worker need not wait for the lease to run out.
    pub async fn release_leases(&self, owner: &str) -> Result<()> {
        for table in ["prompts", "reminders"] {
            let sql = format!(
                "UPDATE {table} SET lease_until = 0 WHERE lease_owner = $1 AND status = 'sending'"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .execute(self.pool())
                .await
                .context("releasing leases")?;
        }
        sqlx::query("UPDATE checkin_runs SET lease_until = 0 WHERE lease_owner = $1 AND status = 'planning'")
            .bind(owner)
            .execute(self.pool())
            .await
            .context("releasing run leases")?;
        Ok(())
    }

    pub async fn prompt(&self, id: i64) -> Result<Option<Prompt>> {
        let row = sqlx::query_as::<_, PromptLookup>(
            "SELECT id, checkin, user_id, occurrence, status, channel_id, message_ts, answered_at, question, closed_at,
                    (SELECT questions FROM checkin_runs r WHERE r.id = prompts.run_id) AS questions
             FROM prompts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .context("reading a prompt")?;
        Ok(row.map(Prompt::from))
    }

    /// The reminder messages sent for a prompt, as (channel, ts).
    pub async fn sent_reminders(&self, prompt_id: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query_as::<_, MessageRow>(
            "SELECT channel_id, message_ts FROM reminders
             WHERE prompt_id = $1 AND status = 'sent' AND channel_id IS NOT NULL AND message_ts IS NOT NULL
             ORDER BY seq",
        )
        .bind(prompt_id)
        .fetch_all(self.pool())
        .await
        .context("reading a prompt's reminders")?;
        Ok(rows
            .into_iter()
            .map(|r| (r.channel_id, r.message_ts))
            .collect())
    }

    /// The prompt a DM reply answers: the one whose message is the reply's
    /// thread parent, else the person's latest prompt still open.
    pub async fn prompt_for_reply(
        &self,
        user: &str,
        channel: &str,
        thread_ts: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        if let Some(t) = thread_ts {
            let id: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM prompts WHERE user_id = $1 AND channel_id = $2 AND message_ts = $3
                   AND (closes_at IS NULL OR closes_at > $4)
                 UNION ALL
                 SELECT r.prompt_id FROM reminders r JOIN prompts p ON p.id = r.prompt_id
                 WHERE r.user_id = $1 AND r.channel_id = $2 AND r.message_ts = $3
                   AND (p.closes_at IS NULL OR p.closes_at > $4)",
            )
            .bind(user)
            .bind(channel)
            .bind(t)
            .bind(now_ms)
            .fetch_optional(self.pool())
            .await
            .context("finding the prompt a thread reply answers")?;
            if id.is_some() {
                return Ok(id);
            }
        }
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM prompts WHERE user_id = $1 AND status = 'sent' AND closed_at IS NULL
               AND (closes_at IS NULL OR closes_at > $2)
             ORDER BY answered_at IS NOT NULL, sent_at DESC, id DESC LIMIT 1",
        )
        .bind(user)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await
        .context("finding the open prompt a reply answers")?;
        Ok(id)
    }

    /// Work still queued or in flight, due or not: prompts and runs.
    pub async fn outstanding_work(&self) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM prompts WHERE status IN ('queued', 'sending'))
                  + (SELECT COUNT(*) FROM checkin_runs WHERE status IN ('pending', 'planning'))",
        )
        .fetch_one(self.pool())
        .await
        .context("counting outstanding work")?;
        Ok(n)
    }

    /// What the jobs still owe as of `now_ms`: runs to fan out, prompts and
    /// reminders due to send (or being sent), and windows that have closed
    /// on prompts not yet closed. Zero means the jobs are caught up.
    pub async fn due_work(&self, now_ms: i64) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM checkin_runs
                     WHERE scheduled_at <= $1 AND status IN ('pending', 'planning'))
                  + (SELECT COUNT(*) FROM prompts
                     WHERE (status = 'queued' AND due_at <= $1) OR status = 'sending')
                  + (SELECT COUNT(*) FROM reminders
                     WHERE (status = 'queued' AND due_at <= $1) OR status = 'sending')
                  + (SELECT COUNT(*) FROM prompts
                     WHERE closed_at IS NULL AND closes_at <= $1 AND status <> 'sending')
                  + (SELECT COUNT(*) FROM direct_messages WHERE status = 'queued' AND due_at <= $1)",
        )
        .bind(now_ms)
        .fetch_one(self.pool())
        .await
        .context("counting due work")?;
        Ok(n)
    }

    pub(super) fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }
}
