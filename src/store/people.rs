//! The people directory (Slack profiles cached for a day, shared by every
//! worker), personal pauses, and worker heartbeats.

use super::bulk::{keep_prepared, placeholders, Insert, IN_CHUNK};
use super::privacy::ProfileRow;
use super::Store;
pub use crate::domain::PersonRow;
use anyhow::{Context, Result};
use std::collections::HashMap;

impl From<ProfileRow> for PersonRow {
    fn from(r: ProfileRow) -> PersonRow {
        PersonRow {
            user_id: r.user_id,
            name: r.name,
            tz: r.tz,
            is_bot: r.is_bot != 0,
            deleted: r.deleted != 0,
            dm_channel: r.dm_channel,
            fetched_at_ms: r.fetched_at,
        }
    }
}

/// A pause in force.
#[derive(sqlx::FromRow)]
struct PausedRow {
    user_id: String,
    paused_until: i64,
}

const PEOPLE: Insert = Insert::new(
    "INSERT INTO people (user_id, name, tz, is_bot, deleted, fetched_at)",
    6,
    "ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, tz = excluded.tz,
     is_bot = excluded.is_bot, deleted = excluded.deleted, fetched_at = excluded.fetched_at",
);

impl Store {
    /// Cached profiles for `ids` (missing ones are absent from the map).
    pub async fn people(&self, ids: &[String]) -> Result<HashMap<String, PersonRow>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT user_id, name, tz, is_bot, deleted, dm_channel, fetched_at FROM people WHERE user_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query_as::<_, ProfileRow>(sqlx::AssertSqlSafe(sql))
                .persistent(keep_prepared(chunk.len(), IN_CHUNK));
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(self.pool()).await.context("reading people")? {
                let p = PersonRow::from(r);
                out.insert(p.user_id.clone(), p);
            }
        }
        Ok(out)
    }

    /// Stores fresh profiles (keeping a known DM channel).
    pub async fn upsert_people(&self, people: &[PersonRow]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        PEOPLE
            .execute(&mut tx, people, |b, p| {
                b.bind(&p.user_id)
                    .bind(&p.name)
                    .bind(&p.tz)
                    .bind(p.is_bot as i64)
                    .bind(p.deleted as i64)
                    .bind(p.fetched_at_ms);
            })
            .await
            .context("saving people")?;
        tx.commit().await.context("committing people")?;
        Ok(())
    }

    /// Remembers the bot's DM channel with a person.
    pub async fn set_dm_channel(&self, user: &str, channel: &str) -> Result<()> {
        sqlx::query("UPDATE people SET dm_channel = $1 WHERE user_id = $2")
            .bind(channel)
            .bind(user)
            .execute(self.pool())
            .await
            .context("saving a DM channel")?;
        Ok(())
    }

    /// Pauses a person until `until_ms` (replacing any pause).
    pub async fn set_pause(
        &self,
        user: &str,
        until_ms: i64,
        now_ms: i64,
        source: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pauses (user_id, paused_until, set_at, source) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET paused_until = excluded.paused_until,
                set_at = excluded.set_at, source = excluded.source",
        )
        .bind(user)
        .bind(until_ms)
        .bind(now_ms)
        .bind(source)
        .execute(self.pool())
        .await
        .context("saving a pause")?;
        Ok(())
    }

    /// Ends a person's pause; true if they were paused.
    pub async fn clear_pause(&self, user: &str, now_ms: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM pauses WHERE user_id = $1 AND paused_until > $2")
            .bind(user)
            .bind(now_ms)
            .execute(self.pool())
            .await
            .context("ending a pause")?;
        Ok(r.rows_affected() > 0)
    }

    /// When a person's pause ends, if they are paused at `now_ms`.
    pub async fn paused_until(&self, user: &str, now_ms: i64) -> Result<Option<i64>> {
        let until: Option<i64> = sqlx::query_scalar(
            "SELECT paused_until FROM pauses WHERE user_id = $1 AND paused_until > $2",
        )
        .bind(user)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await
        .context("reading a pause")?;
        Ok(until)
    }

    /// Everyone paused at `now_ms`, with when their pause ends.
    pub async fn pauses(&self, now_ms: i64) -> Result<HashMap<String, i64>> {
        let rows = sqlx::query_as::<_, PausedRow>(
            "SELECT user_id, paused_until FROM pauses WHERE paused_until > $1",
        )
        .bind(now_ms)
        .fetch_all(self.pool())
        .await
        .context("reading pauses")?;
        Ok(rows
            .into_iter()
            .map(|r| (r.user_id, r.paused_until))
            .collect())
    }

    /// Records that this worker is alive, and returns how many workers have
    /// been seen since `live_since_ms` (at least 1): Slack's limits are per
    /// app, so each worker paces itself to its share.
    pub async fn heartbeat(&self, worker: &str, now_ms: i64, live_since_ms: i64) -> Result<i64> {
        sqlx::query(
            "INSERT INTO workers (worker_id, seen_at) VALUES ($1, $2)
             ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(worker)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .context("recording a heartbeat")?;
        sqlx::query("DELETE FROM workers WHERE seen_at < $1")
            .bind(live_since_ms - 3_600_000)
            .execute(self.pool())
            .await
            .context("forgetting old workers")?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workers WHERE seen_at >= $1")
            .bind(live_since_ms)
            .fetch_one(self.pool())
            .await
            .context("counting workers")?;
        Ok(n.max(1))
    }

    /// Forgets this worker (a clean shutdown), so the others take its share.
    pub async fn forget_worker(&self, worker: &str) -> Result<()> {
        sqlx::query("DELETE FROM workers WHERE worker_id = $1")
            .bind(worker)
            .execute(self.pool())
            .await
            .context("forgetting a worker")?;
        Ok(())
    }

    /// Prompts sent to a person that are still open and unanswered.
    pub async fn open_prompt_count(&self, user: &str, now_ms: i64) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM prompts WHERE user_id = $1 AND status = 'sent' AND answered_at IS NULL
               AND closed_at IS NULL AND (closes_at IS NULL OR closes_at > $2)",
        )
        .bind(user)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await
        .context("counting open prompts")?;
        Ok(n)
    }
}
