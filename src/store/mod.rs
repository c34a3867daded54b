//! The only place with SQL. One API over SQLite (the default, a file) and
//! PostgreSQL (`DATABASE_URL`), through sqlx's `Any` driver with portable SQL:
//! `$n` placeholders, epoch-millisecond BIGINTs, JSON text for lists.

mod audit;
mod bulk;
mod digest;
mod digest_runs;
mod events;
mod home;
mod inbox;
mod initiatives;
mod insights;
mod loops;
mod people;
mod privacy;
mod prompts;
mod rollups;
mod search;
mod status;

pub use audit::{AuditRow, NewAudit};
pub use digest::{
    BucketCount, BucketPrompts, BucketTotals, DigestScope, EvidenceRow, NoteLink, SourceRatings,
    TagPair, BASELINE_WINDOW, CURRENT_WINDOW, FREE_NOTES,
};
pub use digest_runs::{DigestPostRow, DigestRunRow, NewDigestPost};
pub use home::{QueuedPrompt, WeekCounts};
pub use inbox::{InboxConn, InboxGauges, InboxRow, ParkedEvent};
pub use initiatives::{EndOutcome, InitiativeRecord};
pub use insights::{
    AckMessage, AnsweredPrompt, InsightEdit, InsightQuery, OwnedChange, Purged, SavedInsight,
    WeekPromptStats,
};
pub use loops::{
    DmRow, LoopActionNote, LoopActionRow, LoopRetention, NewDm, NewLoopAction, Recorded,
};
pub use people::PersonRow;
pub use privacy::{
    event_author_is, mentions, DmExportRow, EventRow, LoopRow, NoteFieldRow, NoteRow, NoteTagRow,
    PauseRow, PersonData, ProfileRow, PromptRow, ReminderRow, UserPurge, ERASED,
};
pub use prompts::*;
pub use rollups::WindowCounts;
pub use search::{facet, SearchHit, SearchSpec};
pub use status::{skip_class, DeliveryError, OccurrenceStatus};

use anyhow::{Context, Result};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Builds a SQLite URL for a file path, creating the file if missing.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!(
                "DATABASE_URL must start with sqlite: or postgres: (got {})",
                redact(url)
            );
        };
        let opts = AnyConnectOptions::from_str(url)
            .with_context(|| format!("parsing database URL {}", redact(url)))?;
        let mut pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        pool = match backend {
            // One more than before the inbox writer kept a connection of its
            // own (`InboxConn`): the jobs and handlers still have four.
            Backend::Sqlite => pool.max_connections(5).after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    // The backstop checkpoint: a connection whose commit
                    // leaves the WAL this long (in pages, 32 MiB) copies it
                    // into the database file itself, and the WAL starts
                    // over. The inbox writer checkpoints in the background
                    // long before that (`inbox.rs`), so its commits don't
                    // stop to copy and fsync every 1,000 pages (the
                    // default). Durability is unchanged: WAL, synchronous =
                    // NORMAL.
                    conn.execute("PRAGMA wal_autocheckpoint = 8192").await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool.max_connections(8),
        };
        let pool = pool
            .connect_with(opts)
            .await
            .with_context(|| format!("connecting to {}", redact(url)))?;
        Ok(Store { pool, backend })
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<()> {
        let m = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        m.run(&self.pool)
            .await
            .context("running database migrations")
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .context("pinging the database")?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so a reader
    /// never has to upgrade its lock mid-transaction).
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        tx.context("starting a transaction")
    }

    /// Between write transactions committed one after another (a fan-out's
    /// prompts, the retention sweep): on SQLite, a pause that lets other
    /// writers in. Its waiting writers poll, sleeping 1, 2, 5 … 25 ms at
    /// first, so a loop that begins again at once wins every race and holds
    /// the acks' writes off until it ends (BENCHMARKS.md, load).
    async fn yield_to_writers(&self) {
        if self.backend == Backend::Sqlite {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// Hides a password in a database URL.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn to_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("serialising plain data")
}
