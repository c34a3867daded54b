//! Insights: saved in one transaction with their tags and the prompt they
//! answer, so nothing is half-written; read back for digests and exports.

use super::{to_json, Store};
use crate::domain::{Insight, NewInsight, Source};
use anyhow::{Context, Result};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Which insights to read.
#[derive(Debug, Clone, Default)]
pub struct InsightQuery {
    /// Inclusive lower bound on created_at (epoch ms).
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on created_at (epoch ms).
    pub to_ms: Option<i64>,
    pub user_id: Option<String>,
}

/// What saving an insight did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedInsight {
    pub id: i64,
    /// False when this was a retry of an insight already saved.
    pub new: bool,
    /// Prompts this insight answered (to edit their messages to a thank-you).
    pub answered: Vec<AnsweredPrompt>,
}

/// A prompt an insight answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweredPrompt {
    pub id: i64,
    /// Whether its message is in the DM (else it was still queued and now
    /// will not be sent).
    pub sent: bool,
    pub channel_id: Option<String>,
    pub message_ts: Option<String>,
}

/// Prompt counts for a digest week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeekPromptStats {
    pub sent: i64,
    pub answered: i64,
    pub failed: i64,
}

const COLUMNS: &str =
    "id, user_id, source, prompt_id, checkin, text, answers, tags, auto_tags, created_at";

fn insight_from_row(r: &AnyRow) -> Result<Insight> {
    let source: String = r.get(2);
    Ok(Insight {
        id: r.get(0),
        user_id: r.get(1),
        source: Source::parse(&source)
            .with_context(|| format!("unknown insight source {source}"))?,
        prompt_id: r.get(3),
        checkin: r.get(4),
        text: r.get(5),
        answers: serde_json::from_str(&r.get::<String, _>(6)).context("decoding answers")?,
        tags: serde_json::from_str(&r.get::<String, _>(7)).context("decoding tags")?,
        auto_tags: serde_json::from_str(&r.get::<String, _>(8)).context("decoding auto tags")?,
        created_at_ms: r.get(9),
    })
}

impl Store {
    /// Saves an insight with its tags, and marks the prompt it answers. A
    /// note shared another way (a command, a shortcut) answers the person's
    /// open prompts, so they get no prompt or reminder for what they already
    /// said. A repeat of the same `dedupe_key` (a Slack retry) returns the
    /// first insight's id with `new = false`.
    pub async fn save_insight(&self, n: &NewInsight) -> Result<SavedInsight> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO insights (user_id, source, prompt_id, checkin, text, answers, tags, auto_tags, dedupe_key, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(&n.user_id)
        .bind(n.source.as_str())
        .bind(n.prompt_id)
        .bind(&n.checkin)
        .bind(&n.text)
        .bind(to_json(&n.answers))
        .bind(to_json(&n.tags))
        .bind(to_json(&n.auto_tags))
        .bind(&n.dedupe_key)
        .bind(n.created_at_ms)
        .fetch_optional(&mut *tx)
        .await
        .context("inserting an insight")?;
        let Some(row) = inserted else {
            tx.rollback().await.ok();
            let key = n.dedupe_key.as_deref().unwrap_or_default();
            let r = sqlx::query("SELECT id FROM insights WHERE dedupe_key = $1")
                .bind(key)
                .fetch_one(self.pool())
                .await
                .context("finding the insight a retry repeats")?;
            return Ok(SavedInsight {
                id: r.get(0),
                new: false,
                answered: Vec::new(),
            });
        };
        let id: i64 = row.get(0);
        for (tags, origin) in [(&n.tags, "manual"), (&n.auto_tags, "auto")] {
            for tag in tags {
                sqlx::query("INSERT INTO insight_tags (insight_id, tag, origin) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(tag)
                    .bind(origin)
                    .execute(&mut *tx)
                    .await
                    .context("tagging an insight")?;
            }
        }
        let answered_rows = if let Some(p) = n.prompt_id {
            sqlx::query(
                "UPDATE prompts SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL
                 RETURNING id, status, channel_id, message_ts",
            )
            .bind(n.created_at_ms)
            .bind(p)
            .fetch_all(&mut *tx)
            .await
            .context("marking the prompt answered")?
        } else {
            sqlx::query(
                "UPDATE prompts SET answered_at = $1
                 WHERE user_id = $2 AND answered_at IS NULL AND status IN ('queued', 'sending', 'sent')
                   AND (closes_at IS NULL OR closes_at > $1)
                 RETURNING id, status, channel_id, message_ts",
            )
            .bind(n.created_at_ms)
            .bind(&n.user_id)
            .fetch_all(&mut *tx)
            .await
            .context("counting the note towards open prompts")?
        };
        let answered: Vec<AnsweredPrompt> = answered_rows
            .iter()
            .map(|r| AnsweredPrompt {
                id: r.get(0),
                sent: r.get::<String, _>(1) == "sent",
                channel_id: r.get(2),
                message_ts: r.get(3),
            })
            .collect();
        if n.prompt_id.is_none() && answered.len() == 1 {
            sqlx::query("UPDATE insights SET prompt_id = $1 WHERE id = $2")
                .bind(answered[0].id)
                .bind(id)
                .execute(&mut *tx)
                .await
                .context("linking the note to its prompt")?;
        }
        tx.commit().await.context("committing the insight")?;
        Ok(SavedInsight {
            id,
            new: true,
            answered,
        })
    }

    /// Insights matching `q`, oldest first; soft-deleted ones are left out.
    pub async fn insights(&self, q: &InsightQuery) -> Result<Vec<Insight>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM insights WHERE deleted_at IS NULL
             AND created_at >= $1 AND created_at < $2 AND ($3 = '' OR user_id = $3)
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(q.from_ms.unwrap_or(i64::MIN))
            .bind(q.to_ms.unwrap_or(i64::MAX))
            .bind(q.user_id.clone().unwrap_or_default())
            .fetch_all(self.pool())
            .await
            .context("reading insights")?;
        rows.iter().map(insight_from_row).collect()
    }

    pub async fn insight(&self, id: i64) -> Result<Option<Insight>> {
        let sql = format!("SELECT {COLUMNS} FROM insights WHERE id = $1 AND deleted_at IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("reading an insight")?;
        row.as_ref().map(insight_from_row).transpose()
    }

    /// Prompts sent in [from, to), how many of those were answered, and how
    /// many failed for good.
    pub async fn week_prompt_stats(&self, from_ms: i64, to_ms: i64) -> Result<WeekPromptStats> {
        let r = sqlx::query(
            "SELECT
               COALESCE(SUM(CASE WHEN status = 'sent' AND sent_at >= $1 AND sent_at < $2 THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN status = 'sent' AND sent_at >= $1 AND sent_at < $2 AND answered_at IS NOT NULL THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN status = 'failed' AND created_at >= $1 AND created_at < $2 THEN 1 ELSE 0 END), 0)
             FROM prompts",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(self.pool())
        .await
        .context("counting the week's prompts")?;
        Ok(WeekPromptStats {
            sent: r.get(0),
            answered: r.get(1),
            failed: r.get(2),
        })
    }
}
