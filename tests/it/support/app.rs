//! `TestApp`: the real bot in-process, wired to the Slack emulator (port 0)
//! and a fresh database, on a manual clock. By default its jobs loop runs
//! in the background; a `stepped()` app runs none, and the test drives the
//! workers itself with `run_until_idle` / `advance_to`. Logs stay quiet
//! unless `TEST_LOG` is set.

use super::db::{Db, TestDatabase};
use super::fixtures::{seed_workspace, ConfigFixture};
use super::wait::Deadline;
use chrono::{DateTime, TimeZone, Utc};
use fieldnotes::app::{AppOptions, Application};
use fieldnotes::clock::ManualClock;
use fieldnotes::config::{Config, Secrets};
use fieldnotes::jobs::Jobs;
use secrecy::SecretString;
use slack_emulator::{Emulator, EmulatorConfig};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    SocketMode,
    Http,
}

/// Friday 2026-11-27 15:00 in New York, an hour before the check-in: where
/// every test app's clock starts.
pub fn friday_afternoon() -> DateTime<Utc> {
    fieldnotes::tz::Tz::named("America/New_York")
        .unwrap()
        .with_ymd_and_hms(2026, 11, 27, 15, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// The bot's HTTP front door reads request bodies under one process-wide
/// limit (`slack::http`'s pre-auth semaphore), which every in-process app
/// of this test binary shares. A test that floods it (hundreds of
/// deliveries at once) takes it alone, so another test's single request is
/// never refused for want of a slot; other HTTP-mode apps share it.
fn http_front_door() -> Arc<RwLock<()>> {
    static LOCK: OnceLock<Arc<RwLock<()>>> = OnceLock::new();
    LOCK.get_or_init(Arc::default).clone()
}

enum FrontDoor {
    Shared(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
    Alone(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

/// How to build a [`TestApp`]: `TestApp::builder(db, mode)…spawn()`.
pub struct Builder {
    db: Db,
    mode: Mode,
    config: String,
    watch: bool,
    emulator: EmulatorConfig,
    stepped: bool,
    floods_http: bool,
}

impl Builder {
    /// The config file's text (default: [`ConfigFixture::shared`]).
    pub fn config(mut self, text: impl Into<String>) -> Self {
        self.config = text.into();
        self
    }

    /// Hot reload on: the app watches its config file.
    pub fn watch(mut self) -> Self {
        self.watch = true;
        self
    }

    /// The emulator's config (Slack's retry delays, rate limits, ...).
    pub fn emulator(mut self, c: EmulatorConfig) -> Self {
        self.emulator = c;
        self
    }

    /// No jobs loop: the planner, sender, window closer and inbox worker
    /// run only when the test steps them (`run_until_idle`, `advance_to`,
    /// `settle`).
    pub fn stepped(mut self) -> Self {
        self.stepped = true;
        self
    }

    /// This test floods the HTTP front door: it runs alone among the
    /// binary's HTTP-mode apps (see `http_front_door`).
    pub fn floods_http(mut self) -> Self {
        self.floods_http = true;
        self
    }

    pub async fn spawn(self) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("fieldnotes=debug,slack_emulator=debug,info")
                .try_init();
        }
        let front_door = match (self.mode, self.floods_http) {
            (_, true) => Some(FrontDoor::Alone(http_front_door().write_owned().await)),
            (Mode::Http, false) => Some(FrontDoor::Shared(http_front_door().read_owned().await)),
            (Mode::SocketMode, false) => None,
        };
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::create(self.db, dir.path()).await;
        let emu = Emulator::start(self.emulator).await.unwrap();
        seed_workspace(&emu);

        let config_path = dir.path().join("fieldnotes.toml");
        std::fs::write(&config_path, &self.config).unwrap();
        let config = Config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
        let clock = ManualClock::new(friday_afternoon());
        let secrets = Secrets {
            bot_token: Some(SecretString::from(emu.config().bot_token.clone())),
            app_token: (self.mode == Mode::SocketMode)
                .then(|| SecretString::from(emu.config().app_token.clone())),
            signing_secrets: vec![SecretString::from(emu.config().signing_secret.clone())],
            database_url: Some(database.url.clone()),
            slack_api_url: emu.api_url(),
        };
        let app = Application::build(AppOptions {
            config: config.clone(),
            secrets,
            clock: Arc::new(clock.clone()),
            http: (self.mode == Mode::Http).then(|| "127.0.0.1:0".parse().unwrap()),
            run_jobs: !self.stepped,
            watch_config: self.watch,
        })
        .await
        .expect("the app starts");
        match self.mode {
            Mode::SocketMode => emu
                .wait_for_socket_connection(Duration::from_secs(10))
                .await
                .unwrap(),
            Mode::Http => {
                emu.deliver_via_http(&format!("http://{}/slack/events", app.http_addr().unwrap()))
            }
        }
        let jobs = self.stepped.then(|| Jobs::new(app.state()));
        TestApp {
            jobs,
            app: Some(app),
            emu,
            clock,
            config,
            database_url: database.url.clone(),
            database: Some(database),
            _front_door: front_door,
            dir,
        }
    }
}

/// Ticks per `run_until_idle` step at most.
const MAX_TICKS: usize = 10_000;

pub struct TestApp {
    pub app: Option<Application>,
    pub emu: Emulator,
    pub clock: ManualClock,
    pub config: Config,
    pub database_url: String,
    /// Dropped with the test app (a PostgreSQL database is dropped then,
    /// also when the test panics).
    database: Option<TestDatabase>,
    /// The stepped app's jobs, ticked by `run_until_idle` (None: the jobs
    /// loop runs).
    jobs: Option<Jobs>,
    _front_door: Option<FrontDoor>,
    dir: tempfile::TempDir,
}

/// The shared base config, background jobs.
pub async fn spawn_app(db: Db, mode: Mode) -> TestApp {
    TestApp::builder(db, mode).spawn().await
}

impl TestApp {
    pub fn builder(db: Db, mode: Mode) -> Builder {
        Builder {
            db,
            mode,
            config: ConfigFixture::shared().toml(),
            watch: false,
            emulator: EmulatorConfig::for_tests(),
            stepped: false,
            floods_http: false,
        }
    }

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
        self.dir.path().join("fieldnotes.toml")
    }

    /// Runs the real binary on the app's config and database, as operator
    /// `ops-test` and without a Slack token: (success, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_fieldnotes"))
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("USER", "ops-test")
            .env_remove("SLACK_BOT_TOKEN")
            .kill_on_drop(true)
            .output()
            .await
            .expect("running fieldnotes");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// [`TestApp::cli`] that must succeed: its stdout.
    pub async fn cli_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.cli(args).await;
        assert!(ok, "{args:?}: {err}");
        out
    }

    /// Waits for the planner's first tick on `checkin` (its cursor starts at
    /// "now"), so a later clock move makes the next occurrence due. A
    /// stepped app takes that tick now.
    pub async fn wait_planner_started(&self, checkin: &str) {
        let state = self.app().state();
        if self.jobs.is_some() {
            fieldnotes::jobs::planner::run_once(state)
                .await
                .expect("a planner step");
        }
        let d = Deadline::after(Duration::from_secs(10));
        while state
            .store
            .scheduler_cursor(checkin)
            .await
            .unwrap()
            .is_none()
        {
            d.wait(|| "the planner never ran".into()).await;
        }
    }

    /// Moves the simulated clock to `t`, then [`TestApp::run_until_idle`].
    pub async fn advance_to(&self, t: DateTime<Utc>) {
        self.clock.set(t);
        self.run_until_idle().await;
    }

    /// The positive signal before asserting what the jobs did by "now":
    /// the planner takes a step (so every run due by now exists and,
    /// unless the background planner holds it, is fanned out); then, until
    /// no run, prompt, reminder or window close due by now is left undone,
    /// a stepped app steps its sender, window closer and inbox worker
    /// (the background loop does that by itself); then the work they
    /// started after that (confirmations, App Home) finishes. Until the
    /// clock moves again nothing more is due, so a "nothing more was sent"
    /// check after this tests something.
    pub async fn run_until_idle(&self) {
        let state = self.app().state();
        let d = Deadline::after(Duration::from_secs(20)).every(Duration::from_millis(10));
        // A stepped app ticks its jobs (the run loop's own step) until a
        // tick finds nothing to do; otherwise the planner takes one step
        // and the background loop does the rest.
        let step = || async {
            match &self.jobs {
                Some(jobs) => {
                    jobs.run_until_idle(state, MAX_TICKS).await;
                }
                None => {
                    fieldnotes::jobs::planner::run_once(state)
                        .await
                        .expect("a planner step");
                }
            }
        };
        step().await;
        loop {
            let left = state
                .store
                .due_work(self.now().timestamp_millis())
                .await
                .expect("counting due work");
            if left == 0 {
                break;
            }
            d.wait(|| {
                format!(
                    "{left} runs, prompts, reminders or window closes due by now are still undone"
                )
            })
            .await;
            if self.jobs.is_some() {
                // A run whose planning failed is due again.
                step().await;
            }
        }
        state.background.idle().await;
    }

    /// A stepped app's inbox worker, until it finds nothing to claim.
    async fn step_inbox(&self) {
        if self.jobs.is_some() {
            let state = self.app().state();
            while fieldnotes::jobs::inbox::run_once(state)
                .await
                .expect("an inbox step")
                .claimed
                > 0
            {}
        }
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

    /// Waits until every committed Slack event has been handled (a stepped
    /// app handles them now).
    pub async fn wait_inbox_drained(&self) {
        let store = &self.app().state().store;
        let d = Deadline::after(Duration::from_secs(20));
        loop {
            self.step_inbox().await;
            let n = store.inbox_backlog().await.unwrap();
            if n == 0 {
                return;
            }
            d.wait(|| format!("{n} events still in the inbox")).await;
        }
    }

    /// Waits until the event Slack delivered in `d` is recorded as handled
    /// (`done` in the inbox), then until the work it started has finished:
    /// the positive signal that this very event was acted on, before
    /// checking what it did not do.
    pub async fn wait_handled(&self, d: &slack_emulator::Delivery) {
        let id = d.event_id.clone().expect("an Events API delivery");
        assert!(d.acked, "Slack got no ack for {id}");
        let store = &self.app().state().store;
        let deadline = Deadline::after(Duration::from_secs(20));
        loop {
            self.step_inbox().await;
            let status = store.inbox_status(&id).await.unwrap();
            if status.as_deref() == Some("done") {
                break;
            }
            deadline
                .wait(|| format!("event {id} is {status:?}, not done"))
                .await;
        }
        self.app().state().background.idle().await;
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
        teardown(&self.emu, self.database.take()).await;
    }
}

/// Stops the emulator, drops the test's database, and fails the test if
/// the bot sent any Web API argument Slack's reference does not list for
/// the method (checked after cleanup).
pub async fn teardown(emu: &Emulator, db: Option<TestDatabase>) {
    let unexpected = emu.unexpected_args();
    emu.shutdown();
    if let Some(db) = db {
        db.drop_now().await;
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
pub async fn wait_acked(acked: &std::sync::atomic::AtomicUsize, min: usize, within: Duration) {
    let d = Deadline::after(within).every(Duration::from_millis(2));
    while acked.load(std::sync::atomic::Ordering::SeqCst) < min {
        d.wait(|| "no acks came".into()).await;
    }
}
