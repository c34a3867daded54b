//! Closing the loop (issue 13): the actions marketers take on reps' notes
//! (`loop_actions`), the DMs the loop sends (`direct_messages`, leased and
//! sent once like the prompts), and what App Home and the digest read of
//! them. Soft-deleted notes never show.

use super::digest::{scope_sql, DigestScope};
use super::Store;
use anyhow::{Context, Result};

/// One action to record: a marketer on one note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLoopAction {
    pub insight_id: i64,
    pub rep_id: String,
    pub actor: String,
    /// `acting`, `thanks` or `ask`.
    pub kind: String,
    pub text: String,
    pub digest: Option<String>,
    pub anonymous: bool,
    /// Unique per press and note: a double click or a retry repeats it.
    pub dedupe_key: String,
}

/// A recorded action.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoopActionRow {
    pub id: i64,
    pub insight_id: i64,
    pub rep_id: String,
    pub actor: String,
    pub kind: String,
    pub text: String,
    pub digest: Option<String>,
    pub anonymous: i64,
    pub revealed_at: Option<i64>,
    pub dm_id: Option<i64>,
    pub created_at: i64,
}

impl LoopActionRow {
    /// Whether the marketer may see who the rep is.
    pub fn rep_known(&self) -> bool {
        self.anonymous == 0 || self.revealed_at.is_some()
    }
}

const ACTION_COLUMNS: &str =
    "id, insight_id, rep_id, actor, kind, text, digest, anonymous, revealed_at, dm_id, created_at";

/// A DM to queue: the key makes it one message whatever repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDm {
    pub dedupe_key: String,
    pub user_id: String,
    /// `relay`, `follow_up`, `reveal`, `outcome`.
    pub purpose: String,
    /// JSON `{"text": ..., "blocks": [...]}`.
    pub payload: String,
}

/// A queued DM, claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DmRow {
    pub id: i64,
    pub user_id: String,
    pub purpose: String,
    pub payload: String,
    pub uncertain: i64,
    pub attempts: i64,
    pub channel_id: Option<String>,
}

/// What a press recorded: the new actions (the others were recorded
/// before, by an earlier click or a retry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub new: Vec<LoopActionRow>,
    pub repeated: usize,
}

/// An action with the note it answers, for App Home and the digest.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoopActionNote {
    pub id: i64,
    pub insight_id: i64,
    pub rep_id: String,
    pub actor: String,
    pub kind: String,
    pub text: String,
    pub anonymous: i64,
    pub revealed_at: Option<i64>,
    pub created_at: i64,
    /// The note's text.
    pub note: String,
    pub note_created_at: i64,
    /// How many follow-up notes answer it.
    pub follow_ups: i64,
}

/// Reps who heard back before a period, and whether they shared in it,
/// against reps who shared before it and didn't hear back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct LoopRetention {
    pub heard_back: i64,
    pub heard_back_shared: i64,
    pub not_heard: i64,
    pub not_heard_shared: i64,
}

impl Store {
    /// Records a press: each action once (by its key), then for the new
    /// ones one DM per rep, built by `dm` from that rep's new actions, and
    /// links the actions to it. One transaction, so an action is never
    /// recorded without the DM that relays it.
    pub async fn record_loop_actions(
        &self,
        actions: &[NewLoopAction],
        dm: impl Fn(&str, &[LoopActionRow]) -> NewDm,
        now_ms: i64,
    ) -> Result<Recorded> {
        let mut tx = self.begin_write().await?;
        let mut out = Recorded::default();
        for a in actions {
            let sql = format!(
                "INSERT INTO loop_actions (insight_id, rep_id, actor, kind, text, digest, anonymous, dedupe_key, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (dedupe_key) DO NOTHING RETURNING {ACTION_COLUMNS}"
            );
            let row = sqlx::query_as::<_, LoopActionRow>(sqlx::AssertSqlSafe(sql))
                .bind(a.insight_id)
                .bind(&a.rep_id)
                .bind(&a.actor)
                .bind(&a.kind)
                .bind(&a.text)
                .bind(&a.digest)
                .bind(i64::from(a.anonymous))
                .bind(&a.dedupe_key)
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await
                .context("recording a loop action")?;
            match row {
                Some(r) => out.new.push(r),
                None => out.repeated += 1,
            }
        }
        let mut reps: Vec<&str> = out.new.iter().map(|a| a.rep_id.as_str()).collect();
        reps.sort_unstable();
        reps.dedup();
        let mut linked = Vec::new();
        for rep in reps {
            let mine: Vec<LoopActionRow> = out
                .new
                .iter()
                .filter(|a| a.rep_id == rep)
                .cloned()
                .collect();
            let m = dm(rep, &mine);
            let id = insert_dm(&mut tx, &m, now_ms).await?;
            for a in &mine {
                sqlx::query("UPDATE loop_actions SET dm_id = $1 WHERE id = $2")
                    .bind(id)
                    .bind(a.id)
                    .execute(&mut *tx)
                    .await
                    .context("linking a loop action to its DM")?;
                linked.push((a.id, id));
            }
        }
        tx.commit().await.context("committing loop actions")?;
        for a in &mut out.new {
            a.dm_id = linked.iter().find(|(x, _)| *x == a.id).map(|(_, d)| *d);
        }
        Ok(out)
    }

    pub async fn loop_action(&self, id: i64) -> Result<Option<LoopActionRow>> {
        let sql = format!("SELECT {ACTION_COLUMNS} FROM loop_actions WHERE id = $1");
        sqlx::query_as::<_, LoopActionRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("reading a loop action")
    }

    /// The actions a DM relayed, oldest first.
    pub async fn loop_actions_of_dm(&self, dm_id: i64) -> Result<Vec<LoopActionRow>> {
        let sql = format!("SELECT {ACTION_COLUMNS} FROM loop_actions WHERE dm_id = $1 ORDER BY id");
        sqlx::query_as::<_, LoopActionRow>(sqlx::AssertSqlSafe(sql))
            .bind(dm_id)
            .fetch_all(self.pool())
            .await
            .context("reading a DM's loop actions")
    }

    /// The relay DM sent as message `ts` in `channel`, if that is one.
    pub async fn relay_dm_at(&self, channel: &str, ts: &str) -> Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT id FROM direct_messages
             WHERE channel_id = $1 AND message_ts = $2 AND purpose = 'relay'",
        )
        .bind(channel)
        .bind(ts)
        .fetch_optional(self.pool())
        .await
        .context("finding a relay DM")
    }

    /// The rep tells the marketer who they are: every action of the DM.
    /// False when it was already revealed.
    pub async fn reveal_loop_actions(&self, dm_id: i64, now_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE loop_actions SET revealed_at = $1 WHERE dm_id = $2 AND revealed_at IS NULL",
        )
        .bind(now_ms)
        .bind(dm_id)
        .execute(self.pool())
        .await
        .context("revealing a rep")?;
        Ok(r.rows_affected() > 0)
    }

    /// Queues a DM once; false when its key was queued before.
    pub async fn queue_dm(&self, m: &NewDm, now_ms: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let id = insert_dm_once(&mut tx, m, now_ms).await?;
        tx.commit().await.context("committing a DM")?;
        Ok(id.is_some())
    }

    /// Leases up to `limit` due DMs (queued, or left by a worker whose
    /// lease ran out), oldest first.
    pub async fn claim_dms(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<DmRow>> {
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM direct_messages
             WHERE status = 'queued' AND due_at <= $1 AND lease_until < $1 LIMIT 1",
        )
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await
        .context("looking for due DMs")?;
        if due.is_none() {
            return Ok(vec![]);
        }
        let lock = self.skip_locked();
        let sql = format!(
            "UPDATE direct_messages SET lease_owner = $1, lease_until = $2
             WHERE id IN (SELECT id FROM direct_messages
                          WHERE status = 'queued' AND due_at <= $3 AND lease_until < $3
                          ORDER BY due_at, id LIMIT $4 {lock})
               AND lease_until < $3
             RETURNING id, user_id, purpose, payload, uncertain, attempts, channel_id"
        );
        let mut rows = sqlx::query_as::<_, DmRow>(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("claiming DMs")?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    /// Marks a DM in flight (its channel known): a worker that dies now
    /// leaves it uncertain, and the next looks in the DM before sending.
    /// False when this worker no longer holds it.
    pub async fn dm_in_flight(&self, id: i64, owner: &str, channel: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE direct_messages SET uncertain = 1, attempts = attempts + 1, channel_id = $1
             WHERE id = $2 AND lease_owner = $3 AND status = 'queued'",
        )
        .bind(channel)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await
        .context("marking a DM in flight")?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn dm_sent(&self, id: i64, channel: &str, ts: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE direct_messages SET status = 'sent', uncertain = 0, channel_id = $1, message_ts = $2,
                    sent_at = $3, last_error = NULL, lease_until = 0
             WHERE id = $4",
        )
        .bind(channel)
        .bind(ts)
        .bind(now_ms)
        .bind(id)
        .execute(self.pool())
        .await
        .context("recording a sent DM")?;
        Ok(())
    }

    /// A DM that didn't go out: `failed` for good, or queued again at
    /// `retry_at` (not uncertain when Slack said no).
    pub async fn dm_error(
        &self,
        id: i64,
        failed: bool,
        uncertain: bool,
        retry_at: i64,
        error: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE direct_messages SET status = CASE WHEN $1 = 1 THEN 'failed' ELSE status END,
                    uncertain = $2, last_error = $3, due_at = $4, lease_until = 0
             WHERE id = $5",
        )
        .bind(i64::from(failed))
        .bind(i64::from(uncertain))
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(self.pool())
        .await
        .context("recording a DM's error")?;
        Ok(())
    }

    /// (status, count) of the loop's DMs, for tests and `status`.
    pub async fn dm_counts(&self) -> Result<Vec<(String, i64)>> {
        sqlx::query_as(
            "SELECT status, COUNT(*) FROM direct_messages GROUP BY status ORDER BY status",
        )
        .fetch_all(self.pool())
        .await
        .context("counting DMs")
    }

    /// What marketing did with `rep`'s notes, newest first.
    pub async fn loop_actions_for_rep(&self, rep: &str, limit: i64) -> Result<Vec<LoopActionNote>> {
        let sql = format!(
            "{NOTE_SELECT} WHERE a.rep_id = $1 AND i.deleted_at IS NULL
             ORDER BY a.created_at DESC, a.id DESC LIMIT $2"
        );
        sqlx::query_as::<_, LoopActionNote>(sqlx::AssertSqlSafe(sql))
            .bind(rep)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("reading what marketing did with a rep's notes")
    }

    /// Actions taken in [from, to) on notes in `scope`, oldest first.
    pub async fn loop_actions_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        scope: &DigestScope,
    ) -> Result<Vec<LoopActionNote>> {
        let s = scope_sql(scope, 3);
        let sql = format!(
            "{NOTE_SELECT} WHERE a.created_at >= $1 AND a.created_at < $2 AND i.deleted_at IS NULL{}
             ORDER BY a.created_at, a.id",
            s.sql
        );
        let mut q = sqlx::query_as::<_, LoopActionNote>(sqlx::AssertSqlSafe(sql))
            .bind(from_ms)
            .bind(to_ms);
        for b in &s.binds {
            q = q.bind(b.clone());
        }
        q.fetch_all(self.pool())
            .await
            .context("reading the period's loop actions")
    }

    /// Of the reps who shared a note in scope in [since, from): those who
    /// heard back on one (an action in [since, from)) and those who
    /// didn't, each with how many shared again in [from, to).
    pub async fn loop_retention(
        &self,
        since_ms: i64,
        from_ms: i64,
        to_ms: i64,
        scope: &DigestScope,
    ) -> Result<LoopRetention> {
        let s = scope_sql(scope, 4);
        let sql = format!(
            "WITH earlier AS (
                 SELECT DISTINCT i.user_id FROM insights i
                 WHERE i.created_at >= $1 AND i.created_at < $2 AND i.deleted_at IS NULL
                   AND i.source <> 'follow_up'{s}),
             heard AS (
                 SELECT DISTINCT a.rep_id FROM loop_actions a
                 WHERE a.created_at >= $1 AND a.created_at < $2),
             later AS (
                 SELECT DISTINCT i.user_id FROM insights i
                 WHERE i.created_at >= $2 AND i.created_at < $3 AND i.deleted_at IS NULL
                   AND i.source <> 'follow_up'{s}),
             reps AS (
                 SELECT e.user_id,
                        CASE WHEN h.rep_id IS NULL THEN 0 ELSE 1 END AS heard,
                        CASE WHEN l.user_id IS NULL THEN 0 ELSE 1 END AS shared
                 FROM earlier e
                 LEFT JOIN heard h ON h.rep_id = e.user_id
                 LEFT JOIN later l ON l.user_id = e.user_id)
             SELECT CAST(COALESCE(SUM(heard), 0) AS BIGINT) AS heard_back,
                    CAST(COALESCE(SUM(heard * shared), 0) AS BIGINT) AS heard_back_shared,
                    CAST(COALESCE(SUM(1 - heard), 0) AS BIGINT) AS not_heard,
                    CAST(COALESCE(SUM((1 - heard) * shared), 0) AS BIGINT) AS not_heard_shared
             FROM reps",
            s = s.sql
        );
        let mut q = sqlx::query_as::<_, LoopRetention>(sqlx::AssertSqlSafe(sql))
            .bind(since_ms)
            .bind(from_ms)
            .bind(to_ms);
        for b in &s.binds {
            q = q.bind(b.clone());
        }
        q.fetch_one(self.pool())
            .await
            .context("counting reps who heard back")
    }

    /// The follow-up notes answering `note`, oldest first: (id, text).
    pub async fn follow_ups(&self, note: i64) -> Result<Vec<(i64, String)>> {
        sqlx::query_as(
            "SELECT id, text FROM insights WHERE follow_up_of = $1 AND deleted_at IS NULL ORDER BY id",
        )
        .bind(note)
        .fetch_all(self.pool())
        .await
        .context("reading a note's follow-ups")
    }
}

/// An action joined to its note, with how many follow-ups answer it.
const NOTE_SELECT: &str = "SELECT a.id, a.insight_id, a.rep_id, a.actor, a.kind, a.text, a.anonymous,
        a.revealed_at, a.created_at, i.text AS note, i.created_at AS note_created_at,
        (SELECT COUNT(*) FROM insights f WHERE f.loop_action_id = a.id AND f.deleted_at IS NULL) AS follow_ups
     FROM loop_actions a JOIN insights i ON i.id = a.insight_id";

async fn insert_dm_once(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    m: &NewDm,
    now_ms: i64,
) -> Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO direct_messages (dedupe_key, user_id, purpose, payload, due_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(&m.dedupe_key)
    .bind(&m.user_id)
    .bind(&m.purpose)
    .bind(&m.payload)
    .bind(now_ms)
    .fetch_optional(&mut **tx)
    .await
    .context("queueing a DM")
}

/// Inserts a DM, or finds the one its key already queued.
pub(super) async fn insert_dm(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    m: &NewDm,
    now_ms: i64,
) -> Result<i64> {
    if let Some(id) = insert_dm_once(tx, m, now_ms).await? {
        return Ok(id);
    }
    sqlx::query_scalar("SELECT id FROM direct_messages WHERE dedupe_key = $1")
        .bind(&m.dedupe_key)
        .fetch_one(&mut **tx)
        .await
        .context("finding a queued DM")
}
