//! What `fieldnotes status` shows: per check-in occurrence, how many prompts
//! are queued, sent, answered, reminded, skipped (and why) and failed; and
//! the delivery errors left after the last retry.

use super::Store;
use anyhow::{Context, Result};
use std::collections::BTreeMap;

/// One check-in occurrence's delivery state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OccurrenceStatus {
    pub run_id: i64,
    pub checkin: String,
    pub occurrence: String,
    /// `schedule` or `manual`.
    pub source: String,
    pub question: Option<String>,
    pub scheduled_at_ms: i64,
    /// pending, planning, planned or cancelled.
    pub run_status: String,
    pub queued: i64,
    pub sent: i64,
    pub answered: i64,
    pub failed: i64,
    /// Reminders delivered, and still to come.
    pub reminded: i64,
    pub reminders_pending: i64,
    /// Skipped prompts by reason class (`paused`, `day off`, `missed`, …).
    pub skipped: BTreeMap<String, i64>,
    /// People who count towards participation: everyone asked, or who
    /// answered; not the paused, people on a day off or missed runs.
    pub eligible: i64,
}

impl OccurrenceStatus {
    /// answered / eligible, when anyone was eligible.
    pub fn participation(&self) -> Option<f64> {
        (self.eligible > 0).then(|| self.answered as f64 / self.eligible as f64)
    }
}

/// A message that could not be delivered after its last retry (or is
/// waiting for its next).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryError {
    pub checkin: String,
    pub occurrence: String,
    pub user_id: String,
    /// "prompt" or "reminder N".
    pub kind: String,
    /// failed (for good) or queued (will retry).
    pub status: String,
    pub attempts: i64,
    pub error: String,
}

/// A check-in run, as `occurrence_status` lists them.
#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    checkin: String,
    occurrence: String,
    source: String,
    question: Option<String>,
    scheduled_at: i64,
    status: String,
}

/// A run's prompts with one status, skip reason and answered flag.
#[derive(sqlx::FromRow)]
struct PromptCount {
    status: String,
    /// '' when not skipped.
    reason: String,
    /// 1 when answered, else 0.
    answered: i64,
    n: i64,
}

/// A run's reminders with one status.
#[derive(sqlx::FromRow)]
struct ReminderCount {
    status: String,
    n: i64,
}

/// Prompts with one status, and the workers that handled them.
#[derive(sqlx::FromRow)]
struct StatusSummary {
    status: String,
    prompts: i64,
    workers: i64,
}

/// The class of a skip reason: the text before its first colon.
pub fn skip_class(reason: &str) -> String {
    reason
        .split(':')
        .next()
        .unwrap_or(reason)
        .trim()
        .to_string()
}

impl Store {
    /// The latest `limit` occurrences (of one check-in, or all), newest first.
    pub async fn occurrence_status(
        &self,
        checkin: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OccurrenceStatus>> {
        let runs = sqlx::query_as::<_, RunRow>(
            "SELECT id, checkin, occurrence, source, question, scheduled_at, status FROM checkin_runs
             WHERE ($1 = '' OR checkin = $1) ORDER BY scheduled_at DESC, id DESC LIMIT $2",
        )
        .bind(checkin.unwrap_or_default())
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("reading runs")?;
        let mut out = Vec::with_capacity(runs.len());
        for r in runs {
            let mut s = OccurrenceStatus {
                run_id: r.id,
                checkin: r.checkin,
                occurrence: r.occurrence,
                source: r.source,
                question: r.question,
                scheduled_at_ms: r.scheduled_at,
                run_status: r.status,
                ..Default::default()
            };
            let rows = sqlx::query_as::<_, PromptCount>(
                "SELECT status, COALESCE(skip_reason, '') AS reason,
                        CASE WHEN answered_at IS NULL THEN 0 ELSE 1 END AS answered, COUNT(*) AS n
                 FROM prompts WHERE run_id = $1 GROUP BY 1, 2, 3",
            )
            .bind(s.run_id)
            .fetch_all(self.pool())
            .await
            .context("counting prompts")?;
            for row in rows {
                let PromptCount {
                    status,
                    reason,
                    answered,
                    n,
                } = row;
                let answered = answered == 1;
                if answered {
                    s.answered += n;
                }
                match status.as_str() {
                    "queued" | "sending" => s.queued += n,
                    "sent" => s.sent += n,
                    "failed" => s.failed += n,
                    _ => {}
                }
                if status == "skipped" {
                    if answered {
                        // Answered through another path before it was sent.
                        s.eligible += n;
                    } else {
                        *s.skipped.entry(skip_class(&reason)).or_default() += n;
                    }
                } else {
                    s.eligible += n;
                }
            }
            let rows = sqlx::query_as::<_, ReminderCount>(
                "SELECT r.status AS status, COUNT(*) AS n FROM reminders r JOIN prompts p ON p.id = r.prompt_id
                 WHERE p.run_id = $1 GROUP BY 1",
            )
            .bind(s.run_id)
            .fetch_all(self.pool())
            .await
            .context("counting reminders")?;
            for row in rows {
                match row.status.as_str() {
                    "sent" => s.reminded += row.n,
                    "queued" | "sending" => s.reminders_pending += row.n,
                    _ => {}
                }
            }
            out.push(s);
        }
        Ok(out)
    }

    /// Messages whose last attempt failed, newest first.
    pub async fn delivery_errors(&self, limit: i64) -> Result<Vec<DeliveryError>> {
        let rows = sqlx::query_as::<_, DeliveryError>(
            "SELECT checkin, occurrence, user_id, 'prompt' AS kind, status, attempts,
                    COALESCE(last_error, '') AS error, created_at FROM prompts
               WHERE last_error IS NOT NULL AND status IN ('failed', 'queued')
             UNION ALL
             SELECT p.checkin, p.occurrence, r.user_id, 'reminder ' || CAST(r.seq AS TEXT), r.status, r.attempts,
                    COALESCE(r.last_error, ''), r.created_at
               FROM reminders r JOIN prompts p ON p.id = r.prompt_id
               WHERE r.last_error IS NOT NULL AND r.status IN ('failed', 'queued')
             ORDER BY 8 DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("reading delivery errors")?;
        Ok(rows)
    }

    /// Prompts by status, with how many distinct workers handled them.
    pub async fn prompt_status_summary(&self) -> Result<Vec<(String, i64, i64)>> {
        let rows = sqlx::query_as::<_, StatusSummary>(
            "SELECT status, COUNT(*) AS prompts, COUNT(DISTINCT lease_owner) AS workers
             FROM prompts GROUP BY status ORDER BY status",
        )
        .fetch_all(self.pool())
        .await
        .context("summarising prompts")?;
        Ok(rows
            .into_iter()
            .map(|r| (r.status, r.prompts, r.workers))
            .collect())
    }
}
