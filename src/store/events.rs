//! Slack delivery de-duplication: an event is recorded by id before it is acted on.

use super::Store;
use anyhow::{Context, Result};

impl Store {
    /// Records a Slack event id; returns false when it was seen before
    /// (a retry), so the caller must not act on it again.
    pub async fn record_event(&self, event_id: &str, now_ms: i64) -> Result<bool> {
        let r = sqlx::query("INSERT INTO slack_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING")
            .bind(event_id)
            .bind(now_ms)
            .execute(self.pool())
            .await
            .context("recording a Slack event id")?;
        Ok(r.rows_affected() == 1)
    }
}

impl Store {
    /// Records this worker's new 429 pauses (keeping the later end when
    /// one is already known) and returns every pause still in force at
    /// `now_ms`, so each worker adopts the others'.
    pub async fn share_rate_pauses(
        &self,
        mine: &[(String, i64)],
        now_ms: i64,
    ) -> Result<Vec<(String, i64)>> {
        for (method, until) in mine {
            sqlx::query(
                "INSERT INTO rate_pauses (method, until_ms) VALUES ($1, $2) \
                 ON CONFLICT (method) DO UPDATE SET until_ms = \
                 CASE WHEN rate_pauses.until_ms > excluded.until_ms THEN rate_pauses.until_ms ELSE excluded.until_ms END",
            )
            .bind(method)
            .bind(*until)
            .execute(self.pool())
            .await
            .context("recording a rate-limit pause")?;
        }
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT method, until_ms FROM rate_pauses WHERE until_ms > $1")
                .bind(now_ms)
                .fetch_all(self.pool())
                .await
                .context("reading rate-limit pauses")?;
        Ok(rows)
    }
}
