//! A fresh database per test: a new SQLite file, or a new PostgreSQL
//! database that `TestDatabase` drops when it goes out of scope, also when
//! the test panics. PostgreSQL tests fail, never skip, when the server is
//! unreachable.

use sqlx::Connection;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The server's admin URL (`TEST_POSTGRES_URL`, else the local one).
pub fn pg_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A test's database. Dropping it drops a PostgreSQL database
/// (`WITH (FORCE)`, so connections left open or `ALLOW_CONNECTIONS false`
/// don't stop it); a SQLite file goes with the test's directory.
pub struct TestDatabase {
    pub url: String,
    /// (admin URL, database name) while there is one to drop.
    pg: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh database for `db`; a SQLite file goes in `dir`.
    pub async fn create(db: Db, dir: &Path) -> TestDatabase {
        match db {
            Db::Sqlite => TestDatabase {
                url: fieldnotes::store::sqlite_url(&dir.join("test.db")),
                pg: None,
            },
            Db::Postgres => {
                let admin = pg_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin} for these tests (set TEST_POSTGRES_URL): {e}"));
                let name = format!("fieldnotes_test_{:016x}", rand::random::<u64>());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("creating a test database");
                conn.close().await.ok();
                let mut url = url::Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                TestDatabase {
                    url: url.to_string(),
                    pg: Some((admin, name)),
                }
            }
        }
    }

    /// Drops it now, from async code (the end of a test that passed).
    pub async fn drop_now(mut self) {
        if let Some((admin, name)) = self.pg.take() {
            drop_pg(&admin, &name).await;
        }
    }
}

/// A test that panics still drops its PostgreSQL database: on a thread
/// and runtime of its own, since a destructor can't await (and may run
/// inside a runtime).
impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(drop_pg(&admin, &name));
        })
        .join();
    }
}

async fn drop_pg(admin: &str, name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

/// Lets the test refuse (`false`) or allow this PostgreSQL database's new
/// connections; refusing also ends the open ones. What a database outage
/// looks like from the bot.
pub async fn allow_connections(database_url: &str, allow: bool) {
    let name = url::Url::parse(database_url).unwrap().path()[1..].to_string();
    let mut c = sqlx::PgConnection::connect(&pg_admin_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {allow}"
    )))
    .execute(&mut c)
    .await
    .unwrap();
    if !allow {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )))
        .execute(&mut c)
        .await
        .unwrap();
    }
}
