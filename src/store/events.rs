//! Slack's 429 pauses shared between workers.

use super::Store;
use anyhow::{Context, Result};

/// A pause in force.
#[derive(sqlx::FromRow)]
struct RatePause {
    method: String,
    until_ms: i64,
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
        let rows = sqlx::query_as::<_, RatePause>(
            "SELECT method, until_ms FROM rate_pauses WHERE until_ms > $1",
        )
        .bind(now_ms)
        .fetch_all(self.pool())
        .await
        .context("reading rate-limit pauses")?;
        Ok(rows.into_iter().map(|r| (r.method, r.until_ms)).collect())
    }
}
