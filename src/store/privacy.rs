//! One person's data: everything held about them, read for
//! `fieldnotes export --user`, and erased in one transaction for
//! `fieldnotes purge --user`.
//!
//! Where a person appears: `insights` (`user_id`, the note's owner, and
//! `author_id`, the author of a message someone saved), with its
//! `insight_tags` and `insight_fields`; `prompts` and `reminders`
//! (`user_id`); `pauses` and `people` (`user_id`); `inbox` (raw Slack
//! events, in their JSON); `audit` (`actor`, and ids in `args`);
//! `loop_actions` (`rep_id`, whose note it answers, and `actor`, the
//! marketer, with ids in its `text` and `dedupe_key`); `direct_messages`
//! (`user_id`, and ids in the `payload` of DMs to others); `initiatives`
//! (`added_by_user`, `ended_by_user`). No other
//! table holds a user id (`tests/privacy.rs` checks every table and column
//! of the schema, so a new one is noticed).

use super::audit::{insert_in, AuditRow, NewAudit};
use super::Store;
use anyhow::{Context, Result};

/// What erasing one person removed, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserPurge {
    pub insight_tags: u64,
    pub insight_fields: u64,
    /// Their notes, and notes others saved from their messages.
    pub insights: u64,
    pub reminders: u64,
    pub prompts: u64,
    pub pauses: u64,
    pub people: u64,
    /// Raw Slack events that mention them.
    pub inbox: u64,
    /// Audit rows their id was taken out of (the rows stay).
    pub audit_redacted: u64,
    /// Marketers' actions on their notes.
    pub loop_actions: u64,
    /// Actions they took as a marketer, or that name them: their id taken
    /// out (the action stays with the rep it answered).
    pub loop_actions_redacted: u64,
    /// DMs to them.
    pub direct_messages: u64,
    /// DMs to others that named them: their id taken out.
    pub direct_messages_redacted: u64,
    /// Initiatives they added or ended: their id taken out.
    pub initiatives_redacted: u64,
}

impl UserPurge {
    /// (table, rows) in a fixed order, for reports.
    pub fn tables(&self) -> [(&'static str, u64); 14] {
        [
            ("insights", self.insights),
            ("insight_fields", self.insight_fields),
            ("insight_tags", self.insight_tags),
            ("prompts", self.prompts),
            ("reminders", self.reminders),
            ("pauses", self.pauses),
            ("people", self.people),
            ("inbox", self.inbox),
            ("loop_actions", self.loop_actions),
            ("loop_actions (redacted)", self.loop_actions_redacted),
            ("direct_messages", self.direct_messages),
            ("direct_messages (redacted)", self.direct_messages_redacted),
            ("initiatives (redacted)", self.initiatives_redacted),
            ("audit (redacted)", self.audit_redacted),
        ]
    }
}

/// A cached Slack profile, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProfileRow {
    pub user_id: String,
    pub name: String,
    pub tz: Option<String>,
    pub is_bot: i64,
    pub deleted: i64,
    pub dm_channel: Option<String>,
    pub fetched_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PauseRow {
    pub paused_until: i64,
    pub set_at: i64,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PromptRow {
    pub id: i64,
    pub checkin: String,
    pub occurrence: String,
    pub question: String,
    pub status: String,
    pub due_at: i64,
    pub local_due: Option<String>,
    pub sent_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub closes_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub skip_reason: Option<String>,
    pub channel_id: Option<String>,
    pub message_ts: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReminderRow {
    pub id: i64,
    pub prompt_id: i64,
    pub seq: i64,
    pub status: String,
    pub due_at: i64,
    pub sent_at: Option<i64>,
    pub skip_reason: Option<String>,
}

/// A note as stored, deleted ones included (they are held until retention).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NoteRow {
    pub id: i64,
    pub user_id: String,
    pub source: String,
    pub prompt_id: Option<i64>,
    pub checkin: Option<String>,
    pub text: String,
    /// JSON text.
    pub answers: String,
    pub sentiment: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub channel_id: Option<String>,
    pub message_ts: Option<String>,
    pub author_id: Option<String>,
    pub permalink: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NoteTagRow {
    pub insight_id: i64,
    pub tag: String,
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NoteFieldRow {
    pub insight_id: i64,
    pub field: String,
    pub value: String,
}

/// A marketer's action on a note, without the other person's id (the
/// marketer's on their notes, the rep's on the ones they acted on).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoopRow {
    pub id: i64,
    pub insight_id: i64,
    pub kind: String,
    pub text: String,
    pub digest: Option<String>,
    pub anonymous: i64,
    pub revealed_at: Option<i64>,
    pub created_at: i64,
}

/// A DM the bot sent, or will send, to the person.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DmExportRow {
    pub id: i64,
    pub purpose: String,
    /// JSON text.
    pub payload: String,
    pub status: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub channel_id: Option<String>,
    pub message_ts: Option<String>,
}

/// A raw Slack event that mentions the person.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub event_id: String,
    pub payload: String,
    pub status: String,
    pub received_at: i64,
}

/// Everything held about one person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonData {
    pub profile: Option<ProfileRow>,
    pub pause: Option<PauseRow>,
    pub prompts: Vec<PromptRow>,
    pub reminders: Vec<ReminderRow>,
    /// Their notes and notes others saved from their messages.
    pub notes: Vec<NoteRow>,
    pub tags: Vec<NoteTagRow>,
    pub fields: Vec<NoteFieldRow>,
    pub events: Vec<EventRow>,
    /// What they did as an admin or marketer, and their refusals.
    pub audit: Vec<AuditRow>,
    /// What marketing did with their notes.
    pub heard_back: Vec<LoopRow>,
    /// What they did, as a marketer, with others' notes.
    pub loop_taken: Vec<LoopRow>,
    /// The loop's DMs to them.
    pub direct_messages: Vec<DmExportRow>,
}

/// A row that may name the person in a text column.
#[derive(sqlx::FromRow)]
struct Named {
    id: i64,
    text: String,
}

/// An inbox row that may mention the person.
#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    payload: String,
}

const LOOP_COLUMNS: &str = "id, insight_id, kind, text, digest, anonymous, revealed_at, created_at";
const NOTES_OF: &str = "SELECT id FROM insights WHERE user_id = $1 OR author_id = $1";
const PROMPTS_OF: &str = "SELECT id FROM prompts WHERE user_id = $1";

/// Whether `hay` names the Slack id `id` as a whole token (so `U12` is not
/// found in `U123`).
pub fn mentions(hay: &str, id: &str) -> bool {
    !id.is_empty() && token_positions(hay, id).next().is_some()
}

/// Runs `sql` with `$1` bound to `user` inside `tx`; the rows it touched.
async fn bound(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    sql: String,
    user: &str,
    what: &'static str,
) -> Result<u64> {
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user)
        .execute(&mut **tx)
        .await
        .context(what)?
        .rows_affected())
}

/// Whether a stored Slack event (an inbox payload) was written by `user`.
pub fn authored_by(payload: &str, user: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(payload).is_ok_and(|v| event_author_is(&v, user))
}

/// Whether a parsed Slack event callback was written by `user`.
pub fn event_author_is(v: &serde_json::Value, user: &str) -> bool {
    let ev = &v["event"];
    [
        &ev["user"],
        &ev["message"]["user"],
        &ev["previous_message"]["user"],
    ]
    .iter()
    .any(|u| u.as_str() == Some(user))
}

/// `hay` with every whole-token `id` replaced by `with`.
pub fn replace_id(hay: &str, id: &str, with: &str) -> String {
    let mut out = String::with_capacity(hay.len());
    let mut last = 0;
    for at in token_positions(hay, id).collect::<Vec<_>>() {
        out.push_str(&hay[last..at]);
        out.push_str(with);
        last = at + id.len();
    }
    out.push_str(&hay[last..]);
    out
}

fn token_positions<'a>(hay: &'a str, id: &'a str) -> impl Iterator<Item = usize> + 'a {
    let b = hay.as_bytes();
    hay.match_indices(id).map(|(i, _)| i).filter(move |&i| {
        let before = i.checked_sub(1).map(|j| b[j]);
        let after = b.get(i + id.len()).copied();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// `%id%` for a LIKE prefilter (Slack ids hold no `%` or `_`).
/// Rows of `table` whose `column` names `user` as a whole token.
async fn named(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    table: &str,
    column: &str,
    user: &str,
) -> Result<Vec<Named>> {
    let rows = sqlx::query_as::<_, Named>(sqlx::AssertSqlSafe(format!(
        "SELECT id, {column} AS text FROM {table} WHERE {column} LIKE $1"
    )))
    .bind(like(user))
    .fetch_all(&mut **tx)
    .await
    .with_context(|| format!("finding {table} rows that name them"))?;
    Ok(rows
        .into_iter()
        .filter(|r| mentions(&r.text, user))
        .collect())
}

fn like(id: &str) -> String {
    format!("%{id}%")
}

impl Store {
    /// Everything held about `user`, for `fieldnotes export --user`.
    pub async fn person_data(&self, user: &str) -> Result<PersonData> {
        let pool = self.pool();
        let profile = sqlx::query_as::<_, ProfileRow>(
            "SELECT user_id, name, tz, is_bot, deleted, dm_channel, fetched_at FROM people WHERE user_id = $1",
        )
        .bind(user)
        .fetch_optional(pool)
        .await
        .context("reading a person's profile")?;
        let pause = sqlx::query_as::<_, PauseRow>(
            "SELECT paused_until, set_at, source FROM pauses WHERE user_id = $1",
        )
        .bind(user)
        .fetch_optional(pool)
        .await
        .context("reading a person's pause")?;
        let prompts = sqlx::query_as::<_, PromptRow>(
            "SELECT id, checkin, occurrence, question, status, due_at, local_due, sent_at, answered_at,
                    closes_at, closed_at, skip_reason, channel_id, message_ts
             FROM prompts WHERE user_id = $1 ORDER BY due_at, id",
        )
        .bind(user)
        .fetch_all(pool)
        .await
        .context("reading a person's prompts")?;
        let reminders = sqlx::query_as::<_, ReminderRow>(sqlx::AssertSqlSafe(format!(
            "SELECT id, prompt_id, seq, status, due_at, sent_at, skip_reason FROM reminders
             WHERE user_id = $1 OR prompt_id IN ({PROMPTS_OF}) ORDER BY prompt_id, seq"
        )))
        .bind(user)
        .fetch_all(pool)
        .await
        .context("reading a person's reminders")?;
        let notes = sqlx::query_as::<_, NoteRow>(
            "SELECT id, user_id, source, prompt_id, checkin, text, answers, sentiment, created_at,
                    updated_at, edited_at, deleted_at, channel_id, message_ts, author_id, permalink
             FROM insights WHERE user_id = $1 OR author_id = $1 ORDER BY created_at, id",
        )
        .bind(user)
        .fetch_all(pool)
        .await
        .context("reading a person's notes")?;
        let tags = sqlx::query_as::<_, NoteTagRow>(sqlx::AssertSqlSafe(format!(
            "SELECT insight_id, tag, origin FROM insight_tags WHERE insight_id IN ({NOTES_OF})
             ORDER BY insight_id, origin, tag"
        )))
        .bind(user)
        .fetch_all(pool)
        .await
        .context("reading a person's note tags")?;
        let fields = sqlx::query_as::<_, NoteFieldRow>(sqlx::AssertSqlSafe(format!(
            "SELECT insight_id, field, value FROM insight_fields WHERE insight_id IN ({NOTES_OF})
             ORDER BY insight_id, field, value"
        )))
        .bind(user)
        .fetch_all(pool)
        .await
        .context("reading a person's note fields")?;
        let events = sqlx::query_as::<_, EventRow>(
            "SELECT id, event_id, payload, status, received_at FROM inbox WHERE payload LIKE $1 ORDER BY id",
        )
        .bind(like(user))
        .fetch_all(pool)
        .await
        .context("reading a person's Slack events")?
        .into_iter()
        .filter(|e| mentions(&e.payload, user))
        .collect();
        let audit = sqlx::query_as::<_, AuditRow>(
            "SELECT id, at, actor, action, args, outcome FROM audit WHERE actor = $1 ORDER BY at, id",
        )
        .bind(user)
        .fetch_all(pool)
        .await
        .context("reading a person's audit rows")?;
        let heard_back = sqlx::query_as::<_, LoopRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {LOOP_COLUMNS} FROM loop_actions WHERE rep_id = $1 ORDER BY created_at, id"
        )))
        .bind(user)
        .fetch_all(pool)
        .await
        .context("reading actions on a person's notes")?;
        let loop_taken = sqlx::query_as::<_, LoopRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {LOOP_COLUMNS} FROM loop_actions WHERE actor = $1 ORDER BY created_at, id"
        )))
        .bind(user)
        .fetch_all(pool)
        .await
        .context("reading a person's loop actions")?;
        let direct_messages = sqlx::query_as::<_, DmExportRow>(
            "SELECT id, purpose, payload, status, created_at, sent_at, channel_id, message_ts
             FROM direct_messages WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user)
        .fetch_all(pool)
        .await
        .context("reading a person's DMs")?;
        Ok(PersonData {
            heard_back,
            loop_taken,
            direct_messages,
            profile,
            pause,
            prompts,
            reminders,
            notes,
            tags,
            fields,
            events,
            audit,
        })
    }

    /// Erases `user` everywhere, in one transaction: their notes (and notes
    /// saved from their messages) with tags and fields, prompts, reminders,
    /// pause, profile, the raw Slack events that mention them; their id is
    /// replaced by `erased` in the audit log. `audit` builds the row that
    /// records the purge from what it removed, written in the same
    /// transaction.
    pub async fn purge_user(
        &self,
        user: &str,
        audit: impl FnOnce(&UserPurge) -> NewAudit,
    ) -> Result<UserPurge> {
        anyhow::ensure!(!user.is_empty(), "no user id to purge");
        let mut tx = self.begin_write().await?;
        let insight_tags = bound(
            &mut tx,
            format!("DELETE FROM insight_tags WHERE insight_id IN ({NOTES_OF})"),
            user,
            "erasing note tags",
        )
        .await?;
        let insight_fields = bound(
            &mut tx,
            format!("DELETE FROM insight_fields WHERE insight_id IN ({NOTES_OF})"),
            user,
            "erasing note fields",
        )
        .await?;
        // Actions on their notes go with the notes (the trigger would take
        // them too; here they are counted), and so do the loop's DMs to
        // them.
        let loop_actions = bound(
            &mut tx,
            format!("DELETE FROM loop_actions WHERE rep_id = $1 OR insight_id IN ({NOTES_OF})"),
            user,
            "erasing actions on their notes",
        )
        .await?;
        bound(
            &mut tx,
            "UPDATE loop_actions SET dm_id = NULL
             WHERE dm_id IN (SELECT id FROM direct_messages WHERE user_id = $1)"
                .into(),
            user,
            "unlinking actions from erased DMs",
        )
        .await?;
        let direct_messages = bound(
            &mut tx,
            "DELETE FROM direct_messages WHERE user_id = $1".into(),
            user,
            "erasing DMs to them",
        )
        .await?;
        // Actions they took stay with the rep they answered, without their
        // id; the key only guarded against a retry, long past.
        let mut loop_actions_redacted = bound(
            &mut tx,
            format!(
                "UPDATE loop_actions SET actor = '{ERASED}', dedupe_key = '{ERASED}:' || CAST(id AS TEXT)
                 WHERE actor = $1"
            ),
            user,
            "taking their id out of their loop actions",
        )
        .await?;
        for Named { id, text } in named(&mut tx, "loop_actions", "text", user).await? {
            sqlx::query("UPDATE loop_actions SET text = $1 WHERE id = $2")
                .bind(replace_id(&text, user, ERASED))
                .bind(id)
                .execute(&mut *tx)
                .await
                .context("taking their id out of a loop action")?;
            loop_actions_redacted += 1;
        }
        let mut direct_messages_redacted = 0;
        for Named { id, text } in named(&mut tx, "direct_messages", "payload", user).await? {
            sqlx::query("UPDATE direct_messages SET payload = $1 WHERE id = $2")
                .bind(replace_id(&text, user, ERASED))
                .bind(id)
                .execute(&mut *tx)
                .await
                .context("taking their id out of a DM")?;
            direct_messages_redacted += 1;
        }
        let mut initiatives_redacted = 0;
        for col in ["added_by_user", "ended_by_user"] {
            initiatives_redacted += bound(
                &mut tx,
                format!("UPDATE initiatives SET {col} = '{ERASED}' WHERE {col} = $1"),
                user,
                "taking their id out of initiatives",
            )
            .await?;
        }
        let insights = bound(
            &mut tx,
            "DELETE FROM insights WHERE user_id = $1 OR author_id = $1".into(),
            user,
            "erasing notes",
        )
        .await?;
        let reminders = bound(
            &mut tx,
            format!("DELETE FROM reminders WHERE user_id = $1 OR prompt_id IN ({PROMPTS_OF})"),
            user,
            "erasing reminders",
        )
        .await?;
        // Someone else's note never links to this person's prompt, but the
        // foreign key must hold whatever happened.
        bound(
            &mut tx,
            format!("UPDATE insights SET prompt_id = NULL WHERE prompt_id IN ({PROMPTS_OF})"),
            user,
            "unlinking notes from erased prompts",
        )
        .await?;
        let prompts = bound(
            &mut tx,
            "DELETE FROM prompts WHERE user_id = $1".into(),
            user,
            "erasing prompts",
        )
        .await?;
        let pauses = bound(
            &mut tx,
            "DELETE FROM pauses WHERE user_id = $1".into(),
            user,
            "erasing a pause",
        )
        .await?;
        let people = bound(
            &mut tx,
            "DELETE FROM people WHERE user_id = $1".into(),
            user,
            "erasing a profile",
        )
        .await?;
        let mut n = UserPurge {
            insight_tags,
            insight_fields,
            insights,
            reminders,
            prompts,
            pauses,
            people,
            loop_actions,
            loop_actions_redacted,
            direct_messages,
            direct_messages_redacted,
            initiatives_redacted,
            ..UserPurge::default()
        };

        let candidates =
            sqlx::query_as::<_, Candidate>("SELECT id, payload FROM inbox WHERE payload LIKE $1")
                .bind(like(user))
                .fetch_all(&mut *tx)
                .await
                .context("finding Slack events that mention them")?;
        for Candidate { id, payload } in candidates {
            if !mentions(&payload, user) {
                continue;
            }
            // The row stays, so its event id still dedupes a Slack retry.
            // Their own event loses its content (and is not acted on);
            // someone else's keeps its content, with their id erased, and
            // is still handled if it was pending.
            let q = if authored_by(&payload, user) {
                sqlx::query("UPDATE inbox SET payload = '{}', status = 'done' WHERE id = $1")
                    .bind(id)
            } else {
                sqlx::query("UPDATE inbox SET payload = $2 WHERE id = $1")
                    .bind(id)
                    .bind(replace_id(&payload, user, ERASED))
            };
            n.inbox += q
                .execute(&mut *tx)
                .await
                .context("erasing a Slack event")?
                .rows_affected();
        }

        let rows = sqlx::query_as::<_, AuditRow>(
            "SELECT id, at, actor, action, args, outcome FROM audit
             WHERE actor = $1 OR args LIKE $2 OR outcome LIKE $2",
        )
        .bind(user)
        .bind(like(user))
        .fetch_all(&mut *tx)
        .await
        .context("finding audit rows that name them")?;
        for AuditRow {
            id,
            actor,
            args,
            outcome,
            ..
        } in rows
        {
            let (a, g, o) = (
                replace_id(&actor, user, ERASED),
                replace_id(&args, user, ERASED),
                replace_id(&outcome, user, ERASED),
            );
            if a == actor && g == args && o == outcome {
                continue;
            }
            n.audit_redacted +=
                sqlx::query("UPDATE audit SET actor = $1, args = $2, outcome = $3 WHERE id = $4")
                    .bind(a)
                    .bind(g)
                    .bind(o)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .context("taking their id out of the audit log")?
                    .rows_affected();
        }
        let row = audit(&n);
        anyhow::ensure!(
            !mentions(&row.args, user) && !mentions(&row.outcome, user),
            "the purge's own audit row must not name the person"
        );
        insert_in(&mut tx, &row).await?;
        tx.commit().await.context("committing the purge")?;
        Ok(n)
    }
}

/// What an erased person's id becomes in the audit log.
pub const ERASED: &str = "erased";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_matched_as_whole_tokens() {
        assert!(mentions(r#"{"user":"U123"}"#, "U123"));
        assert!(mentions("<@U123> said", "U123"));
        assert!(!mentions(r#"{"user":"U1234"}"#, "U123"));
        assert!(!mentions(r#"{"user":"XU123"}"#, "U123"));
        assert!(!mentions("anything", ""));
        assert_eq!(
            replace_id(r#"{"a":"U123","b":"U1234","c":"<@U123>"}"#, "U123", ERASED),
            r#"{"a":"erased","b":"U1234","c":"<@erased>"}"#
        );
    }
}
