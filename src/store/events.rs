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
