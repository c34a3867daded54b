//! The durable inbox of Slack events: committed before the ack, claimed by
//! workers with a lease, retried with backoff, parked after max attempts.

use super::bulk;
use super::Store;
use anyhow::{Context, Result};

/// The inbox's gauges (`Store::inbox_gauges`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxGauges {
    pub pending: i64,
    /// When the oldest pending row was received (epoch ms).
    pub oldest_pending_ms: Option<i64>,
    pub parked: i64,
}

/// A pooled connection the inbox writer keeps. On SQLite that matters: a
/// connection's page cache is dropped whenever another connection has
/// written since its last transaction, so commits that each took whichever
/// connection was idle would read the inbox's index pages in again every
/// time; the writer's own connection finds them cached.
pub struct InboxConn {
    store: Store,
    conn: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
}

impl InboxConn {
    /// Hands the connection back to the pool (the writer does when it has
    /// nothing queued), so an idle writer never holds one: closing the
    /// store waits for every checked-out connection.
    pub fn release(&mut self) {
        self.conn = None;
    }

    /// As `Store::inbox_insert`, on this connection. After an error the
    /// connection goes back to the pool and the next insert takes another.
    pub async fn insert(&mut self, rows: &[(String, String)], now_ms: i64) -> Result<()> {
        if rows.len() > INSERT_CHUNK {
            return self.store.inbox_insert(rows, now_ms).await;
        }
        if rows.is_empty() {
            return Ok(());
        }
        let conn = match &mut self.conn {
            Some(c) => c,
            None => self.conn.insert(
                self.store
                    .pool()
                    .acquire()
                    .await
                    .context("taking a connection for the inbox")?,
            ),
        };
        let r = insert_chunk(rows, now_ms).execute(&mut **conn).await;
        if r.is_err() {
            self.conn = None;
        }
        r.context("writing the inbox")?;
        Ok(())
    }
}

/// A claimed inbox row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxRow {
    pub id: i64,
    pub event_id: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// When it was committed, by the bot's clock (the ack): what it is
    /// dated by, however long it waited.
    pub received_at: i64,
}

/// A row the workers gave up on.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ParkedEvent {
    pub event_id: String,
    pub attempts: i64,
    pub last_error: String,
    pub received_at: i64,
}

/// Pending or parked rows: how many, and when the oldest arrived.
#[derive(sqlx::FromRow)]
struct StatusCount {
    status: String,
    n: i64,
    oldest: Option<i64>,
}

/// Most rows in one INSERT: 2 binds each plus the shared time (SQLite
/// allows 32,766 binds, PostgreSQL 65,535). The inbox writer's whole batch
/// (`inbox::BATCH`) fits in one statement.
const INSERT_CHUNK: usize = 2048;
/// Statement sizes: 1, 2, 4, … up to `INSERT_CHUNK` rows.
const SIZES: usize = INSERT_CHUNK.trailing_zeros() as usize + 1;

/// `INSERT … SELECT column1, column2, $1, $1 FROM (VALUES ($2, $3), ($4, $5),
/// …) … WHERE column1 IS NOT NULL ON CONFLICT DO NOTHING` for `n` rows: `$1`
/// is the time, shared by every row, and a row left NULL is skipped. (The
/// WHERE also keeps SQLite from reading `ON CONFLICT` as a join.) The
/// VALUES list is `bulk::push_values`'s; the statement is not a
/// `bulk::Insert`, whose sizes follow each batch, because the writer's
/// commits reuse these few (`sized_sql`).
fn insert_sql(n: usize) -> String {
    let mut qb = sqlx::QueryBuilder::<sqlx::Any>::new(
        "INSERT INTO inbox (event_id, payload, next_at, received_at) \
         SELECT column1, column2, $1, $1 FROM (",
    );
    bulk::push_values(&mut qb, n, 2, 2);
    qb.push(") AS v WHERE column1 IS NOT NULL ON CONFLICT (event_id) DO NOTHING");
    qb.into_string()
}

/// The statement for up to `n` rows: the next power of two, so a dozen
/// statements, built once and kept prepared on each connection, serve
/// batches of every size (its spare rows are bound NULL). Preparing a
/// statement per batch instead costs about as much as inserting the rows.
fn sized_sql(n: usize) -> (&'static str, usize) {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| (0..SIZES).map(|k| insert_sql(1 << k)).collect());
    let k = n.max(1).next_power_of_two().trailing_zeros() as usize;
    (all[k].as_str(), 1 << k)
}

/// One INSERT of `rows` (at most `INSERT_CHUNK`), bound.
fn insert_chunk<'q>(
    rows: &'q [(String, String)],
    now_ms: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let (sql, size) = sized_sql(rows.len());
    let mut q = sqlx::query(sql).bind(now_ms);
    for (id, payload) in rows {
        q = q.bind(Some(id.as_str())).bind(Some(payload.as_str()));
    }
    for _ in rows.len()..size {
        q = q.bind(None::<&str>).bind(None::<&str>);
    }
    q
}

impl Store {
    /// Commits deliveries to the inbox in one transaction; a row whose
    /// event_id is already there (a Slack retry) is a no-op. Up to
    /// `INSERT_CHUNK` rows are one statement, which commits on its own (on
    /// SQLite it takes the write lock at once, as `BEGIN IMMEDIATE` does);
    /// more are chunked inside one transaction.
    pub async fn inbox_insert(&self, rows: &[(String, String)], now_ms: i64) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if rows.len() <= INSERT_CHUNK {
            insert_chunk(rows, now_ms)
                .execute(self.pool())
                .await
                .context("writing the inbox")?;
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            insert_chunk(chunk, now_ms)
                .execute(&mut *tx)
                .await
                .context("writing the inbox")?;
        }
        tx.commit().await.context("committing the inbox")?;
        Ok(())
    }

    /// A connection for the inbox writer to keep between commits (taken
    /// from the pool at the first insert, and again after an error).
    pub fn inbox_conn(&self) -> InboxConn {
        InboxConn {
            store: self.clone(),
            conn: None,
        }
    }

    /// How many inbox commits may run at once, each on its own
    /// `InboxConn`: one on SQLite (one writer at a time), two on PostgreSQL
    /// (so one commit's wait for its WAL flush overlaps the next one's
    /// insert; the pool has 8).
    pub fn inbox_writers(&self) -> usize {
        match self.backend {
            super::Backend::Sqlite => 1,
            super::Backend::Postgres => 2,
        }
    }

    /// On SQLite, copies what is committed in the WAL into the database
    /// file without waiting for readers or writers (`PASSIVE`), so that the
    /// inbox writer's own commits seldom have to (see `inbox.rs`). Nothing on
    /// PostgreSQL.
    pub async fn inbox_checkpoint(&self) -> Result<()> {
        if self.backend != super::Backend::Sqlite {
            return Ok(());
        }
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(self.pool())
            .await
            .context("checkpointing the WAL")?;
        Ok(())
    }

    /// Claims up to `limit` due rows (pending and due, or leased by a worker
    /// whose lease ran out).
    pub async fn claim_inbox(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<InboxRow>> {
        let lock = self.skip_locked();
        let sql = format!(
            "UPDATE inbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM inbox
                          WHERE status = 'pending' AND next_at <= $3 AND lease_until < $3
                          ORDER BY id LIMIT $4 {lock})
             RETURNING id, event_id, payload, attempts, received_at"
        );
        let rows = sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("claiming inbox rows")?;
        let mut out = rows;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    /// Marks claimed rows done (only while this worker still holds them).
    pub async fn inbox_done(&self, ids: &[i64], owner: &str, now_ms: i64) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query(
                "UPDATE inbox SET status = 'done', done_at = $1, lease_owner = NULL, lease_until = 0, last_error = NULL
                 WHERE id = $2 AND lease_owner = $3",
            )
            .bind(now_ms)
            .bind(*id)
            .bind(owner)
            .execute(&mut *tx)
            .await
            .context("marking an inbox row done")?;
        }
        tx.commit().await.context("committing inbox results")?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or parked when None.
    pub async fn inbox_failed(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<()> {
        let (status, next) = match retry_at {
            Some(t) => ("pending", t),
            None => ("parked", 0),
        };
        sqlx::query(
            "UPDATE inbox SET status = $1, next_at = CASE WHEN $2 > 0 THEN $2 ELSE next_at END,
                 last_error = $3, lease_owner = NULL, lease_until = 0
             WHERE id = $4 AND lease_owner = $5",
        )
        .bind(status)
        .bind(next)
        .bind(error)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await
        .context("recording an inbox failure")?;
        Ok(())
    }

    /// Hands back this worker's claimed, unfinished rows (shutdown), without
    /// counting the attempt.
    pub async fn release_inbox(&self, owner: &str) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE inbox SET lease_owner = NULL, lease_until = 0, attempts = attempts - 1
             WHERE lease_owner = $1 AND status = 'pending'",
        )
        .bind(owner)
        .execute(self.pool())
        .await
        .context("releasing inbox rows")?;
        Ok(r.rows_affected())
    }

    /// Rows waiting to be handled (pending, claimed or not).
    pub async fn inbox_backlog(&self) -> Result<i64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .fetch_one(self.pool())
            .await
            .context("counting the inbox")?;
        Ok(n)
    }

    /// What `/metrics` shows of the inbox: rows waiting (and when the
    /// oldest arrived) and rows parked.
    pub async fn inbox_gauges(&self) -> Result<InboxGauges> {
        let rows = sqlx::query_as::<_, StatusCount>(
            "SELECT status, COUNT(*) AS n, MIN(received_at) AS oldest FROM inbox
             WHERE status IN ('pending', 'parked') GROUP BY status",
        )
        .fetch_all(self.pool())
        .await
        .context("reading the inbox's gauges")?;
        let mut g = InboxGauges::default();
        for r in rows {
            match r.status.as_str() {
                "pending" => {
                    g.pending = r.n;
                    g.oldest_pending_ms = r.oldest;
                }
                _ => g.parked = r.n,
            }
        }
        Ok(g)
    }

    /// The status of an event's inbox row, if it has one.
    pub async fn inbox_status(&self, event_id: &str) -> Result<Option<String>> {
        let s: Option<String> = sqlx::query_scalar("SELECT status FROM inbox WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(self.pool())
            .await
            .context("reading an inbox row")?;
        Ok(s)
    }

    /// Parked rows, newest first.
    pub async fn parked_events(&self, limit: i64) -> Result<Vec<ParkedEvent>> {
        let rows = sqlx::query_as::<_, ParkedEvent>(
            "SELECT event_id, attempts, COALESCE(last_error, '') AS last_error, received_at FROM inbox
             WHERE status = 'parked' ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("reading parked events")?;
        Ok(rows)
    }
}
