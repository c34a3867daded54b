//! `spawn_app`: the real bot wired to the Slack emulator (port 0) and a fresh
//! database: a new SQLite file, or a new PostgreSQL database per test.
//! PostgreSQL tests fail, never skip, when the server is unreachable.

#![allow(dead_code)]

pub mod binary;

use chrono::{DateTime, TimeZone, Utc};
use fieldnotes::app::{AppOptions, Application};
use fieldnotes::clock::ManualClock;
use fieldnotes::config::{Config, Secrets};
use secrecy::SecretString;
use slack_emulator::{Emulator, EmulatorConfig, User};
use sqlx::Connection;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    SocketMode,
    Http,
}

pub const CONFIG: &str = r#"
[bot]
tick = "100ms"

[roles]
marketers = ["U0MKT0001"]

[digest]
timezone = "America/New_York"

[[tag]]
id = "competitor:acme"
label = "Competitor: Acme"
category = "competitor"
keywords = ["acme"]

[[tag]]
id = "objection:price"
label = "Objection: price"
category = "objection"
keywords = ["too expensive", "pricing"]

[[tag]]
id = "stage:negotiation"
label = "Funnel: negotiation"
keywords = ["procurement"]

[[checkin]]
name = "pulse"
cadence = "0 16 * * FRI"
timezone = "America/New_York"
prompt = "What did you hear from buyers this week?"
audience = { channels = ["C0SALES01"], users = ["U0REPXTRA"], exclude = ["U0REPSKIP"] }
questions = [
  { id = "heard", label = "What did a buyer say?" },
  { id = "stalled", label = "Where is a deal stalling?", required = false, tags = ["stage:negotiation"] },
]
"#;

/// The reps the test workspace has, with their timezones.
pub const REPS: &[(&str, &str)] = &[
    ("U0REP0001", "America/New_York"),
    ("U0REP0002", "Europe/London"),
    ("U0REP0003", "Asia/Kolkata"),
    ("U0REPXTRA", "Australia/Sydney"),
];

pub struct TestApp {
    pub app: Option<Application>,
    pub emu: Emulator,
    pub clock: ManualClock,
    pub config: Config,
    pub db: Db,
    pub database_url: String,
    pg_admin: Option<(String, String)>,
    /// The test's own connection to the app's database, to wait on rows.
    _dir: tempfile::TempDir,
}

/// A test that panics before `stop()` still drops its PostgreSQL database.
impl Drop for TestApp {
    fn drop(&mut self) {
        drop_database_now(self.pg_admin.take());
    }
}

/// Drops a test database from a destructor: on its own thread and
/// runtime, since a destructor can't await (and may run inside one).
pub fn drop_database_now(pg: Option<(String, String)>) {
    let Some((admin, name)) = pg else { return };
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
        });
    })
    .join();
}

pub fn pg_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Friday 2026-11-27 15:00 in New York, an hour before the check-in.
pub fn friday_afternoon() -> DateTime<Utc> {
    chrono_tz::America::New_York
        .with_ymd_and_hms(2026, 11, 27, 15, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// A fresh database URL for `db`.
pub async fn fresh_database(db: Db, dir: &Path) -> (String, Option<(String, String)>) {
    match db {
        Db::Sqlite => (fieldnotes::store::sqlite_url(&dir.join("test.db")), None),
        Db::Postgres => {
            let admin = pg_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin} for these tests (set TEST_POSTGRES_URL): {e}"));
            let name = format!("fieldnotes_test_{}", uuid_like());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("creating a test database");
            conn.close().await.ok();
            let mut url = url::Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
            url.set_path(&name);
            (url.to_string(), Some((admin, name)))
        }
    }
}

fn uuid_like() -> String {
    format!("{:016x}", rand::random::<u64>())
}

pub fn test_config() -> Config {
    Config::parse(Path::new("tests/common/CONFIG"), CONFIG).unwrap_or_else(|e| panic!("{e}"))
}

pub async fn spawn_app(db: Db, mode: Mode) -> TestApp {
    spawn_app_with(db, mode, CONFIG, false).await
}

/// The app with this config text, written to a real file in the test's
/// directory (`watch`: hot reload on).
pub async fn spawn_app_with(db: Db, mode: Mode, config_text: &str, watch: bool) -> TestApp {
    spawn_app_on(db, mode, config_text, watch, EmulatorConfig::for_tests()).await
}

/// `spawn_app_with` against an emulator with this config (Slack's retry
/// delays, rate limits, ...).
pub async fn spawn_app_on(
    db: Db,
    mode: Mode,
    config_text: &str,
    watch: bool,
    emu_config: EmulatorConfig,
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("fieldnotes=debug,slack_emulator=debug,info")
            .try_init();
    }
    let dir = tempfile::tempdir().unwrap();
    let (database_url, pg_admin) = fresh_database(db, dir.path()).await;
    let emu = Emulator::start(emu_config).await.unwrap();
    for (id, tz) in REPS {
        emu.add_user(User::new(id, &id.to_lowercase(), tz));
    }
    let mut bot = User::new("U0OTHERBOT", "standup.bot", "UTC");
    bot.is_bot = true;
    emu.add_user(bot);
    let mut gone = User::new("U0REPGONE", "left.company", "UTC");
    gone.deleted = true;
    emu.add_user(gone);
    emu.add_user(User::new("U0REPSKIP", "excluded.rep", "UTC"));
    emu.add_user(User::new("U0MKT0001", "marketer", "America/New_York"));
    emu.add_user(User::new("U0LEAD001", "lead", "Europe/London"));
    emu.add_channel(
        "C0SALES01",
        "sales",
        &[
            "U0REP0001",
            "U0REP0002",
            "U0REP0003",
            "U0OTHERBOT",
            "U0REPGONE",
            "U0REPSKIP",
        ],
    );

    let config_path = dir.path().join("fieldnotes.toml");
    std::fs::write(&config_path, config_text).unwrap();
    let config = Config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
    let clock = ManualClock::new(friday_afternoon());
    let secrets = Secrets {
        bot_token: Some(SecretString::from(emu.config().bot_token.clone())),
        app_token: (mode == Mode::SocketMode)
            .then(|| SecretString::from(emu.config().app_token.clone())),
        signing_secrets: vec![SecretString::from(emu.config().signing_secret.clone())],
        database_url: Some(database_url.clone()),
        slack_api_url: emu.api_url(),
    };
    let app = Application::build(AppOptions {
        config: config.clone(),
        secrets,
        clock: Arc::new(clock.clone()),
        http: (mode == Mode::Http).then(|| "127.0.0.1:0".parse().unwrap()),
        run_jobs: true,
        watch_config: watch,
    })
    .await
    .expect("the app starts");
    match mode {
        Mode::SocketMode => emu
            .wait_for_socket_connection(Duration::from_secs(10))
            .await
            .unwrap(),
        Mode::Http => {
            emu.deliver_via_http(&format!("http://{}/slack/events", app.http_addr().unwrap()))
        }
    }
    TestApp {
        app: Some(app),
        emu,
        clock,
        config,
        db,
        database_url,
        pg_admin,
        _dir: dir,
    }
}

impl TestApp {
    pub fn app(&self) -> &Application {
        self.app.as_ref().unwrap()
    }

    /// Every stored (not deleted) insight, oldest first.
    pub async fn insights(&self) -> Vec<fieldnotes::domain::Insight> {
        self.app()
            .state()
            .store
            .insights(&fieldnotes::store::InsightQuery::default())
            .await
            .unwrap()
    }

    /// The test's simulated "now".
    pub fn now(&self) -> DateTime<Utc> {
        use fieldnotes::clock::Clock;
        self.clock.now()
    }

    /// Bot messages with the prompt button, in post order.
    pub fn prompts(&self) -> Vec<slack_emulator::Message> {
        self.emu
            .messages()
            .into_iter()
            .filter(|m| {
                m.bot_id.is_some()
                    && m.blocks
                        .to_string()
                        .contains(fieldnotes::slack::views::OPEN_FORM_ACTION)
            })
            .collect()
    }

    /// The config file the app runs on.
    pub fn config_path(&self) -> std::path::PathBuf {
        self._dir.path().join("fieldnotes.toml")
    }

    /// Waits for the planner's first tick on `checkin` (its cursor starts at
    /// "now"), so a later clock move makes the next occurrence due.
    pub async fn wait_planner_started(&self, checkin: &str) {
        let store = &self.app().state().store;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.scheduler_cursor(checkin).await.unwrap().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "the planner never ran"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Moves the simulated clock and waits until the jobs have done
    /// everything due by then (see [`TestApp::settle_jobs`]).
    pub async fn advance_to(&self, t: DateTime<Utc>) {
        self.clock.set(t);
        self.settle_jobs().await;
    }

    /// The positive signal before asserting what the jobs did by "now":
    /// steps the planner once (so every run due by now exists and, unless
    /// the background planner holds it, is fanned out), then waits until
    /// no run, prompt, reminder or window close due by now is left undone,
    /// and the work they started after that (confirmations, App Home) has
    /// finished. Until the clock moves again nothing more is due, so a
    /// "nothing more was sent" check after this tests something.
    pub async fn settle_jobs(&self) {
        let state = self.app().state();
        fieldnotes::jobs::planner::run_once(state)
            .await
            .expect("a planner step");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = state
                .store
                .due_work(self.now().timestamp_millis())
                .await
                .expect("counting due work");
            if left == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{left} runs, prompts, reminders or window closes due by now are still undone"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        state.background.idle().await;
    }

    /// The positive signal before a "nothing happened" check: every
    /// committed Slack event has been handled, and the work they and any
    /// interaction started after the ack has finished.
    pub async fn settle(&self) {
        self.wait_inbox_drained().await;
        // `idle` waits until the set is empty, work queued by that work
        // (an App Home refresh after a delete) included.
        self.app().state().background.idle().await;
    }

    /// Waits until every committed Slack event has been handled.
    pub async fn wait_inbox_drained(&self) {
        let store = &self.app().state().store;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let n = store.inbox_backlog().await.unwrap();
            if n == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{n} events still in the inbox"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `method` has been called `n` times.
    pub async fn wait_calls(&self, method: &str, n: usize) {
        let m = method.to_string();
        let ok = self
            .emu
            .wait_until(Duration::from_secs(20), move |e| e.calls_to(&m).len() >= n);
        ok.await.unwrap_or_else(|_| {
            panic!(
                "expected {n} calls to {method}, got {}",
                self.emu.calls_to(method).len()
            )
        });
    }

    /// Queues a one-off run of `pulse` now (what `fieldnotes checkin run` does).
    pub async fn queue_run(&self, question: Option<&str>) {
        fieldnotes::features::runs::queue_checkin(
            &self.app().state().store,
            &self.config,
            "pulse",
            question,
            self.now(),
            None,
        )
        .await
        .unwrap();
    }

    /// The text of a slash command's ephemeral reply.
    pub async fn command(&self, user: &str, text: &str) -> String {
        let d = self
            .emu
            .slash_command(user, "/fieldnotes", text, "C0SALES01")
            .await
            .unwrap();
        d.response.map(|r| r.to_string()).unwrap_or_default()
    }

    pub async fn wait_for_prompts(&self, n: usize) {
        // Count posts, not messages: an answered prompt loses its button.
        let ok = self.emu.wait_until(Duration::from_secs(20), |e| {
            e.calls_to("chat.postMessage").len() >= n
        });
        ok.await.unwrap_or_else(|_| {
            panic!(
                "expected {n} prompts, got {}",
                self.emu.calls_to("chat.postMessage").len()
            )
        });
    }

    /// Shuts the app down and drops the PostgreSQL database.
    /// Fails the test if the bot sent any Web API argument Slack's
    /// reference does not list for the method (checked after cleanup).
    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
        teardown(&self.emu, self.pg_admin.take()).await;
    }
}

/// Stops the emulator, drops the test's PostgreSQL database (if any), and
/// fails the test if the bot sent any Web API argument Slack's reference
/// does not list for the method (checked after cleanup).
pub async fn teardown(emu: &Emulator, pg: Option<(String, String)>) {
    let unexpected = emu.unexpected_args();
    emu.shutdown();
    if let Some((admin, name)) = pg {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
    assert!(
        unexpected.is_empty(),
        "the bot sent arguments Slack's reference does not list: {unexpected:?}"
    );
}

/// DM replies streamed in the background: `n` messages round-robin over
/// `dms` (user, channel), `concurrency` at a time, each saying
/// "`label` i: …". Returns the task (every text with its delivery) and a
/// count of those acked so far, to time a fault against.
#[allow(dead_code)] // not every test binary streams replies
pub fn reply_burst(
    emu: &Emulator,
    dms: Vec<(String, String)>,
    n: usize,
    label: &'static str,
    concurrency: usize,
) -> (
    tokio::task::JoinHandle<Vec<(String, slack_emulator::Delivery)>>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    use futures::StreamExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let acked = Arc::new(AtomicUsize::new(0));
    let (emu, counter) = (emu.clone(), acked.clone());
    let task = tokio::spawn(async move {
        futures::stream::iter(0..n)
            .map(|i| {
                let (user, dm) = dms[i % dms.len()].clone();
                let (emu, counter) = (emu.clone(), counter.clone());
                async move {
                    let text = format!("{label} {i}: Acme came up again on pricing");
                    let d = emu.user_message(&user, &dm, &text, None).await.unwrap();
                    if d.acked {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    (text, d)
                }
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await
    });
    (task, acked)
}

/// Waits until at least `min` of a [`reply_burst`] are acked.
#[allow(dead_code)]
pub async fn wait_acked(acked: &std::sync::atomic::AtomicUsize, min: usize, within: Duration) {
    let t0 = std::time::Instant::now();
    while acked.load(std::sync::atomic::Ordering::SeqCst) < min {
        assert!(t0.elapsed() < within, "no acks came");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
