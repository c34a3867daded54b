//! The `audit` table: one row per admin or marketer action, role refusal,
//! operator command and retention purge. Rows are only inserted here; what
//! goes into them (capped JSON, no secrets) is decided by `src/audit.rs`.

use super::Store;
use anyhow::{Context, Result};

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    /// Epoch milliseconds.
    pub at: i64,
    /// A Slack user id, `cli:<os user>` or `system`.
    pub actor: String,
    pub action: String,
    /// JSON text.
    pub args: String,
    pub outcome: String,
}

/// A row to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    pub at: i64,
    pub actor: String,
    pub action: String,
    /// JSON text, already capped and free of secrets.
    pub args: String,
    pub outcome: String,
}

const INSERT: &str =
    "INSERT INTO audit (at, actor, action, args, outcome) VALUES ($1, $2, $3, $4, $5)";

/// Inserts `a` with `e`: the pool, or a transaction (so an action and its
/// audit row commit together).
async fn insert<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(e: E, a: &NewAudit) -> Result<()> {
    sqlx::query(INSERT)
        .bind(a.at)
        .bind(&a.actor)
        .bind(&a.action)
        .bind(&a.args)
        .bind(&a.outcome)
        .execute(e)
        .await
        .context("writing an audit row")?;
    Ok(())
}

/// Inserts `a` inside `tx`, so an action and its audit row commit together.
pub(super) async fn insert_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    a: &NewAudit,
) -> Result<()> {
    insert(&mut **tx, a).await
}

impl Store {
    /// Writes one audit row.
    pub async fn record_audit(&self, a: &NewAudit) -> Result<()> {
        insert(self.pool(), a).await
    }

    /// Audit rows at or after `since_ms`, oldest first, at most `limit`
    /// (the newest `limit` when there are more).
    pub async fn audit_since(&self, since_ms: i64, limit: i64) -> Result<Vec<AuditRow>> {
        let mut rows = sqlx::query_as::<_, AuditRow>(
            "SELECT id, at, actor, action, args, outcome FROM audit
             WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(since_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("reading the audit log")?;
        rows.reverse();
        Ok(rows)
    }
}
