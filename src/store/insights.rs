//! Insights: saved in one transaction with their tags and the prompt they
//! answer, so nothing is half-written; read back for digests and exports.

use super::bulk::{keep_prepared, placeholders, Insert, IN_CHUNK};
use super::{to_json, Store};
use crate::domain::{Answer, FieldValue, Insight, NewInsight, Sentiment, Source, SourceMessage};
use anyhow::{Context, Result};

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
    /// What it asked (its message is rewritten around it).
    pub question: String,
}

/// What a retention purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Notes deleted longer ago than `retention.deleted_notes`.
    pub deleted_notes: u64,
    /// Notes shared longer ago than `retention.notes`.
    pub old_notes: u64,
    /// Slack event ids and handled inbox rows.
    pub events: u64,
}

/// Prompt counts for a digest week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct WeekPromptStats {
    pub sent: i64,
    pub answered: i64,
    pub failed: i64,
}

pub(super) const COLUMNS: &str =
    "id, user_id, source, prompt_id, checkin, text, answers, tags, auto_tags, created_at,
     fields, sentiment, edited_at, channel_id, message_ts, author_id, permalink";

/// An insight as stored (`COLUMNS`).
#[derive(sqlx::FromRow)]
pub(super) struct InsightRow {
    id: i64,
    user_id: String,
    source: String,
    prompt_id: Option<i64>,
    checkin: Option<String>,
    text: String,
    /// JSON text, as are `tags`, `auto_tags` and `fields`.
    answers: String,
    tags: String,
    auto_tags: String,
    created_at: i64,
    fields: String,
    sentiment: Option<String>,
    edited_at: Option<i64>,
    channel_id: Option<String>,
    message_ts: Option<String>,
    author_id: Option<String>,
    permalink: Option<String>,
}

impl TryFrom<InsightRow> for Insight {
    type Error = anyhow::Error;

    fn try_from(r: InsightRow) -> Result<Insight> {
        Ok(Insight {
            id: r.id,
            user_id: r.user_id,
            source: Source::parse(&r.source)
                .with_context(|| format!("unknown insight source {}", r.source))?,
            prompt_id: r.prompt_id,
            checkin: r.checkin,
            text: r.text,
            answers: serde_json::from_str(&r.answers).context("decoding answers")?,
            tags: serde_json::from_str(&r.tags).context("decoding tags")?,
            auto_tags: serde_json::from_str(&r.auto_tags).context("decoding auto tags")?,
            created_at_ms: r.created_at,
            fields: serde_json::from_str(&r.fields).context("decoding fields")?,
            sentiment: r.sentiment.as_deref().and_then(Sentiment::parse),
            edited_at_ms: r.edited_at,
            message: match (r.channel_id, r.message_ts) {
                (Some(channel_id), Some(ts)) => Some(SourceMessage {
                    channel_id,
                    ts,
                    author_id: r.author_id,
                    permalink: r.permalink,
                }),
                _ => None,
            },
        })
    }
}

/// A prompt a new insight answered, as `RETURNING` gives it.
#[derive(sqlx::FromRow)]
struct AnsweredRow {
    id: i64,
    status: String,
    channel_id: Option<String>,
    message_ts: Option<String>,
    question: String,
}

impl From<AnsweredRow> for AnsweredPrompt {
    fn from(r: AnsweredRow) -> AnsweredPrompt {
        AnsweredPrompt {
            id: r.id,
            sent: r.status == "sent",
            channel_id: r.channel_id,
            message_ts: r.message_ts,
            question: r.question,
        }
    }
}

/// A note's confirmation message, if it has one.
#[derive(sqlx::FromRow)]
struct AckRow {
    ack_channel: Option<String>,
    ack_ts: Option<String>,
}

/// What an edit changes: everything the rep can touch, with the tags and
/// sentiment recomputed from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsightEdit {
    pub text: String,
    pub answers: Vec<Answer>,
    pub tags: Vec<String>,
    pub auto_tags: Vec<String>,
    pub fields: Vec<FieldValue>,
    pub sentiment: Option<Sentiment>,
}

/// The result of an edit or delete, which only the note's owner may make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedChange {
    Done(Box<Insight>),
    /// No such note, or it was deleted.
    NotFound,
    /// Someone else's note: nothing changed.
    NotOwner,
}

/// Where a note's confirmation message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckMessage {
    pub channel: String,
    pub ts: String,
}

const TAGS: Insert = Insert::new(
    "INSERT INTO insight_tags (insight_id, tag, origin)",
    3,
    "ON CONFLICT DO NOTHING",
);

const FIELDS: Insert = Insert::new(
    "INSERT INTO insight_fields (insight_id, field, value)",
    3,
    "ON CONFLICT DO NOTHING",
);

async fn write_tags_and_fields(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    tags: &[String],
    auto_tags: &[String],
    fields: &[FieldValue],
) -> Result<()> {
    let tagged: Vec<(&str, &str)> = tags
        .iter()
        .map(|t| (t.as_str(), "manual"))
        .chain(auto_tags.iter().map(|t| (t.as_str(), "auto")))
        .collect();
    TAGS.execute(tx, &tagged, |b, &(tag, origin)| {
        b.bind(id).bind(tag).bind(origin);
    })
    .await
    .context("tagging an insight")?;
    FIELDS
        .execute(tx, fields, |b, f| {
            b.bind(id).bind(&f.field).bind(&f.value);
        })
        .await
        .context("storing an insight's fields")?;
    Ok(())
}

/// Notes purged per transaction by `Store::purge`.
const PURGE_BATCH: usize = IN_CHUNK;

impl Store {
    /// Saves an insight with its tags, and marks the prompt it answers. A
    /// note shared another way (a command, a shortcut) answers the person's
    /// open prompts, so they get no prompt or reminder for what they already
    /// said. A repeat of the same `dedupe_key` (a Slack retry) returns the
    /// first insight's id with `new = false`.
    pub async fn save_insight(&self, n: &NewInsight) -> Result<SavedInsight> {
        let mut tx = self.begin_write().await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO insights (user_id, source, prompt_id, checkin, text, answers, tags, auto_tags, dedupe_key, created_at, updated_at,
                                   fields, sentiment, channel_id, message_ts, author_id, permalink,
                                   follow_up_of, loop_action_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15, $16, $17, $18)
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
        .bind(to_json(&n.fields))
        .bind(n.sentiment.map(|s| s.as_str()))
        .bind(n.message.as_ref().map(|m| m.channel_id.as_str()))
        .bind(n.message.as_ref().map(|m| m.ts.as_str()))
        .bind(n.message.as_ref().and_then(|m| m.author_id.as_deref()))
        .bind(n.message.as_ref().and_then(|m| m.permalink.as_deref()))
        .bind(n.follow_up.map(|f| f.0))
        .bind(n.follow_up.map(|f| f.1))
        .fetch_optional(&mut *tx)
        .await
        .context("inserting an insight")?;
        let Some(id) = inserted else {
            tx.rollback().await.ok();
            let key = n.dedupe_key.as_deref().unwrap_or_default();
            let id: i64 = sqlx::query_scalar("SELECT id FROM insights WHERE dedupe_key = $1")
                .bind(key)
                .fetch_one(self.pool())
                .await
                .context("finding the insight a retry repeats")?;
            return Ok(SavedInsight {
                id,
                new: false,
                answered: Vec::new(),
            });
        };
        write_tags_and_fields(&mut tx, id, &n.tags, &n.auto_tags, &n.fields).await?;
        let answered_rows = if n.follow_up.is_some() {
            // A follow-up answers a marketer, not a check-in.
            Vec::new()
        } else if let Some(p) = n.prompt_id {
            sqlx::query_as::<_, AnsweredRow>(
                "UPDATE prompts SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL
                 RETURNING id, status, channel_id, message_ts, question",
            )
            .bind(n.created_at_ms)
            .bind(p)
            .fetch_all(&mut *tx)
            .await
            .context("marking the prompt answered")?
        } else {
            sqlx::query_as::<_, AnsweredRow>(
                "UPDATE prompts SET answered_at = $1
                 WHERE user_id = $2 AND answered_at IS NULL AND status IN ('queued', 'sending', 'sent')
                   AND (closes_at IS NULL OR closes_at > $1)
                 RETURNING id, status, channel_id, message_ts, question",
            )
            .bind(n.created_at_ms)
            .bind(&n.user_id)
            .fetch_all(&mut *tx)
            .await
            .context("counting the note towards open prompts")?
        };
        let answered: Vec<AnsweredPrompt> = answered_rows
            .into_iter()
            .map(AnsweredPrompt::from)
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
        crate::metrics::note_saved(n.source.as_str(), answered.len());
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
        let rows = sqlx::query_as::<_, InsightRow>(sqlx::AssertSqlSafe(sql))
            .bind(q.from_ms.unwrap_or(i64::MIN))
            .bind(q.to_ms.unwrap_or(i64::MAX))
            .bind(q.user_id.clone().unwrap_or_default())
            .fetch_all(self.pool())
            .await
            .context("reading insights")?;
        rows.into_iter().map(Insight::try_from).collect()
    }

    pub async fn insight(&self, id: i64) -> Result<Option<Insight>> {
        let sql = format!("SELECT {COLUMNS} FROM insights WHERE id = $1 AND deleted_at IS NULL");
        let row = sqlx::query_as::<_, InsightRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("reading an insight")?;
        row.map(Insight::try_from).transpose()
    }

    /// The note saved from a Slack message, if any (deleted ones too).
    pub async fn insight_by_message(&self, channel: &str, ts: &str) -> Result<Option<Insight>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM insights WHERE channel_id = $1 AND message_ts = $2 AND deleted_at IS NULL
             ORDER BY id LIMIT 1"
        );
        let row = sqlx::query_as::<_, InsightRow>(sqlx::AssertSqlSafe(sql))
            .bind(channel)
            .bind(ts)
            .fetch_optional(self.pool())
            .await
            .context("finding the note saved from a message")?;
        row.map(Insight::try_from).transpose()
    }

    /// A person's latest notes, newest first.
    pub async fn recent_insights(&self, user: &str, limit: i64) -> Result<Vec<Insight>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM insights WHERE user_id = $1 AND deleted_at IS NULL
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query_as::<_, InsightRow>(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("reading recent notes")?;
        rows.into_iter().map(Insight::try_from).collect()
    }

    /// Replaces a note's content, if `user` owns it; all or nothing.
    pub async fn edit_insight(
        &self,
        id: i64,
        user: &str,
        e: &InsightEdit,
        now_ms: i64,
    ) -> Result<OwnedChange> {
        let mut tx = self.begin_write().await?;
        let owner: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM insights WHERE id = $1 AND deleted_at IS NULL")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .context("reading the note to edit")?;
        match owner {
            None => return Ok(OwnedChange::NotFound),
            Some(owner) if owner != user => return Ok(OwnedChange::NotOwner),
            Some(_) => {}
        }
        sqlx::query(
            "UPDATE insights SET text = $1, answers = $2, tags = $3, auto_tags = $4, fields = $5,
                    sentiment = $6, edited_at = $7, updated_at = $7 WHERE id = $8",
        )
        .bind(&e.text)
        .bind(to_json(&e.answers))
        .bind(to_json(&e.tags))
        .bind(to_json(&e.auto_tags))
        .bind(to_json(&e.fields))
        .bind(e.sentiment.map(|s| s.as_str()))
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("editing a note")?;
        for table in ["insight_tags", "insight_fields"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE insight_id = $1"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await
            .context("clearing a note's tags")?;
        }
        write_tags_and_fields(&mut tx, id, &e.tags, &e.auto_tags, &e.fields).await?;
        let sql = format!("SELECT {COLUMNS} FROM insights WHERE id = $1");
        let row = sqlx::query_as::<_, InsightRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .context("reading the edited note")?;
        let ins = Insight::try_from(row)?;
        tx.commit().await.context("committing the edit")?;
        Ok(OwnedChange::Done(Box::new(ins)))
    }

    /// Soft-deletes a note, if `user` owns it. Retention purges it later.
    pub async fn delete_insight(&self, id: i64, user: &str, now_ms: i64) -> Result<OwnedChange> {
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {COLUMNS} FROM insights WHERE id = $1 AND deleted_at IS NULL");
        let row = sqlx::query_as::<_, InsightRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .context("reading the note to delete")?;
        let Some(row) = row else {
            return Ok(OwnedChange::NotFound);
        };
        let ins = Insight::try_from(row)?;
        if ins.user_id != user {
            return Ok(OwnedChange::NotOwner);
        }
        // The Slack origin is free again: the same message can be saved anew.
        sqlx::query(
            "UPDATE insights SET deleted_at = $1, updated_at = $1,
                    dedupe_key = CASE WHEN dedupe_key IS NULL THEN NULL ELSE dedupe_key || ':deleted' END
             WHERE id = $2",
        )
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await
            .context("deleting a note")?;
        tx.commit().await.context("committing the delete")?;
        Ok(OwnedChange::Done(Box::new(ins)))
    }

    /// Rewrites the automatic tags and sentiment (after a taxonomy change).
    pub async fn retag_insight(
        &self,
        id: i64,
        auto_tags: &[String],
        sentiment: Option<Sentiment>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE insights SET auto_tags = $1, sentiment = $2 WHERE id = $3")
            .bind(to_json(&auto_tags))
            .bind(sentiment.map(|s| s.as_str()))
            .bind(id)
            .execute(&mut *tx)
            .await
            .context("retagging a note")?;
        sqlx::query("DELETE FROM insight_tags WHERE insight_id = $1 AND origin = 'auto'")
            .bind(id)
            .execute(&mut *tx)
            .await
            .context("clearing a note's automatic tags")?;
        write_tags_and_fields(&mut tx, id, &[], auto_tags, &[]).await?;
        tx.commit().await.context("committing a retag")?;
        Ok(())
    }

    /// Records the permalink of the message a note was saved from.
    pub async fn set_permalink(&self, id: i64, permalink: &str) -> Result<()> {
        sqlx::query("UPDATE insights SET permalink = $1 WHERE id = $2")
            .bind(permalink)
            .bind(id)
            .execute(self.pool())
            .await
            .context("storing a permalink")?;
        Ok(())
    }

    /// Records where a note's confirmation message is.
    pub async fn set_ack(&self, id: i64, ack: &AckMessage) -> Result<()> {
        sqlx::query("UPDATE insights SET ack_channel = $1, ack_ts = $2 WHERE id = $3")
            .bind(&ack.channel)
            .bind(&ack.ts)
            .bind(id)
            .execute(self.pool())
            .await
            .context("storing a confirmation message")?;
        Ok(())
    }

    /// Where a note's confirmation message is, if it has one.
    pub async fn ack_message(&self, id: i64) -> Result<Option<AckMessage>> {
        let r =
            sqlx::query_as::<_, AckRow>("SELECT ack_channel, ack_ts FROM insights WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await
                .context("reading a confirmation message")?;
        Ok(r.and_then(|r| match (r.ack_channel, r.ack_ts) {
            (Some(channel), Some(ts)) => Some(AckMessage { channel, ts }),
            _ => None,
        }))
    }

    /// Retention: purges notes deleted before `deleted_before_ms`, notes
    /// shared before `notes_before_ms` (deleted or not; `None` keeps them),
    /// each with its tags and fields, and Slack event ids and handled inbox
    /// rows received before `events_before_ms`. Notes go `PURGE_BATCH` per
    /// transaction, so SQLite's other writers (and the acks waiting on
    /// them) get their turn in between: the first sweep over a year of
    /// 1,000,000 notes held the write lock for 1.4 s in one transaction.
    pub async fn purge(
        &self,
        deleted_before_ms: i64,
        notes_before_ms: Option<i64>,
        events_before_ms: i64,
    ) -> Result<Purged> {
        let mut out = Purged::default();
        // Old notes first, so a note both old and deleted counts as old.
        let old = "created_at < $1";
        let deleted = "deleted_at IS NOT NULL AND deleted_at < $1";
        for (cond, before, count) in [
            (old, notes_before_ms, &mut out.old_notes),
            (deleted, Some(deleted_before_ms), &mut out.deleted_notes),
        ] {
            let Some(before) = before else { continue };
            loop {
                let mut tx = self.begin_write().await?;
                let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT id FROM insights WHERE {cond} LIMIT {PURGE_BATCH}"
                )))
                .bind(before)
                .fetch_all(&mut *tx)
                .await
                .context("finding notes to purge")?;
                if ids.is_empty() {
                    break;
                }
                // At most `PURGE_BATCH` (= `IN_CHUNK`) ids, bound; only the
                // full batch's statements are kept prepared.
                let list = placeholders(1, ids.len());
                let keep = keep_prepared(ids.len(), PURGE_BATCH);
                for table in ["insight_tags", "insight_fields"] {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE insight_id IN ({list})"
                    )))
                    .persistent(keep);
                    for id in &ids {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *tx)
                        .await
                        .context("purging notes' tags and fields")?;
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM insights WHERE id IN ({list})"
                )))
                .persistent(keep);
                for id in &ids {
                    q = q.bind(*id);
                }
                *count += q
                    .execute(&mut *tx)
                    .await
                    .context("purging notes")?
                    .rows_affected();
                tx.commit().await.context("committing the purge")?;
                if ids.len() < PURGE_BATCH {
                    break;
                }
                self.yield_to_writers().await;
            }
        }
        let mut tx = self.begin_write().await?;
        out.events = sqlx::query("DELETE FROM slack_events WHERE received_at < $1")
            .bind(events_before_ms)
            .execute(&mut *tx)
            .await
            .context("purging old event ids")?
            .rows_affected()
            + sqlx::query("DELETE FROM inbox WHERE status = 'done' AND received_at < $1")
                .bind(events_before_ms)
                .execute(&mut *tx)
                .await
                .context("purging handled inbox rows")?
                .rows_affected();
        tx.commit().await.context("committing the purge")?;
        Ok(out)
    }

    /// Prompts sent in [from, to), how many of those were answered, and how
    /// many failed for good.
    pub async fn week_prompt_stats(&self, from_ms: i64, to_ms: i64) -> Result<WeekPromptStats> {
        let stats = sqlx::query_as::<_, WeekPromptStats>(
            "SELECT
               COALESCE(SUM(CASE WHEN status = 'sent' AND sent_at >= $1 AND sent_at < $2 THEN 1 ELSE 0 END), 0) AS sent,
               COALESCE(SUM(CASE WHEN status = 'sent' AND sent_at >= $1 AND sent_at < $2 AND answered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS answered,
               COALESCE(SUM(CASE WHEN status = 'failed' AND created_at >= $1 AND created_at < $2 THEN 1 ELSE 0 END), 0) AS failed
             FROM prompts",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(self.pool())
        .await
        .context("counting the week's prompts")?;
        Ok(stats)
    }
}
