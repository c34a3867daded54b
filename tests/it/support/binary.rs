//! The real `fieldnotes` binary as child processes against the in-process
//! Slack emulator and a fresh database: a `World` of reps in one channel,
//! `Bot` process guards (SIGKILLed when dropped) and the emulator's count of
//! DMs per person, for tests of exactly-once delivery across crashes.

use super::db::{Db, TestDatabase};
use super::fixtures::ConfigFixture;
use super::process::{fieldnotes, KillOnDrop};
use super::wait::Deadline;
use slack_emulator::{Emulator, EmulatorConfig, RateLimits, User};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A bot process, SIGKILLed when dropped, so a failing test leaves none
/// behind.
pub type Bot = KillOnDrop;

/// SIGKILLs `bot` (no shutdown code runs) and reaps it.
pub fn kill(bot: Bot) {
    bot.kill();
}

/// A one-off check-in for everyone in `C0FANOUT`, with 2 s leases.
pub fn config(rate_per_min: u32) -> String {
    ConfigFixture::fanout(rate_per_min, "2s").toml()
}

pub struct World {
    pub emu: Emulator,
    pub dir: tempfile::TempDir,
    /// The test's own way into the database.
    pub database_url: String,
    /// The `DATABASE_URL` the bot processes get (another route to the same
    /// database, say through a proxy the test can cut).
    pub bot_database_url: String,
    /// Dropped with the world, also when the test panics.
    database: Option<TestDatabase>,
    pub people: Vec<String>,
}

/// `people` reps in one channel, against an emulator with these limits.
pub async fn world_with(db: Db, rate_per_min: u32, people: usize, limits: RateLimits) -> World {
    world_on(
        db,
        people,
        EmulatorConfig {
            rate_limits: limits,
            ..EmulatorConfig::for_tests()
        },
        &config(rate_per_min),
    )
    .await
}

/// `people` reps (`U0FAN0000`, … in four zones) in channel `C0FANOUT`,
/// against an emulator with this config, and the bot's config file.
pub async fn world_on(
    db: Db,
    people: usize,
    emu_config: EmulatorConfig,
    config_text: &str,
) -> World {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(db, dir.path()).await;
    let emu = Emulator::start(emu_config).await.unwrap();
    let zones = [
        "America/New_York",
        "Europe/London",
        "Asia/Kolkata",
        "Australia/Sydney",
    ];
    let people: Vec<String> = (0..people).map(|i| format!("U0FAN{i:04}")).collect();
    for (i, id) in people.iter().enumerate() {
        emu.add_user(User::new(id, &id.to_lowercase(), zones[i % zones.len()]));
    }
    let refs: Vec<&str> = people.iter().map(String::as_str).collect();
    emu.add_channel("C0FANOUT", "fanout", &refs);
    std::fs::write(dir.path().join("fieldnotes.toml"), config_text).unwrap();
    World {
        emu,
        dir,
        bot_database_url: database.url.clone(),
        database_url: database.url.clone(),
        database: Some(database),
        people,
    }
}

impl World {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = fieldnotes();
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("FIELDNOTES_CONFIG", self.config_path())
            .env("SLACK_BOT_TOKEN", &self.emu.config().bot_token)
            .env("SLACK_API_URL", self.emu.api_url())
            .env("DATABASE_URL", &self.bot_database_url)
            .env("RUST_LOG", "fieldnotes=info")
            .current_dir(self.dir.path());
        c
    }

    /// The bots' config file.
    pub fn config_path(&self) -> std::path::PathBuf {
        self.dir.path().join("fieldnotes.toml")
    }

    pub fn queue_run(&self) {
        let out = self.command(&["checkin", "run", "pulse"]).output().unwrap();
        assert!(
            out.status.success(),
            "checkin run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// This bot's log file (stderr).
    pub fn log_path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    pub fn start_bot(&self, name: &str) -> Bot {
        self.start_bot_with(name, &["run"])
    }

    /// The bot serving Slack's HTTP deliveries at `addr`, with the
    /// emulator's signing secret.
    pub fn start_bot_http(&self, name: &str, addr: std::net::SocketAddr) -> Bot {
        let mut c = self.command(&["run", "--http", &addr.to_string()]);
        c.env("SLACK_SIGNING_SECRET", &self.emu.config().signing_secret);
        let log = std::fs::File::create(self.log_path(name)).unwrap();
        KillOnDrop::spawn(c.stdout(Stdio::null()).stderr(log))
    }

    pub fn start_bot_with(&self, name: &str, args: &[&str]) -> Bot {
        let log = std::fs::File::create(self.log_path(name)).unwrap();
        KillOnDrop::spawn(self.command(args).stdout(Stdio::null()).stderr(log))
    }

    /// Bot messages per person's DM.
    pub fn counts(&self) -> HashMap<String, usize> {
        let mut by_channel: HashMap<String, usize> = HashMap::new();
        for m in self.emu.messages() {
            if m.bot_id.is_some() && m.ephemeral_for.is_none() {
                *by_channel.entry(m.channel).or_default() += 1;
            }
        }
        self.people
            .iter()
            .map(|p| {
                let n = self
                    .emu
                    .dm_channel(p)
                    .and_then(|c| by_channel.get(&c).copied())
                    .unwrap_or(0);
                (p.clone(), n)
            })
            .collect()
    }

    /// The last `n` lines of every bot process's log, newest first.
    pub fn log_tails(&self, n: usize) -> String {
        let mut logs = String::new();
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        names.sort();
        for p in names {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            if let Ok(t) = std::fs::read_to_string(&p) {
                let tail: Vec<&str> = t.lines().rev().take(n).collect();
                logs.push_str(&format!(
                    "--- {name} (last lines, newest first)\n{}\n",
                    tail.join("\n")
                ));
            }
        }
        logs
    }

    pub fn delivered(&self) -> usize {
        self.counts().values().filter(|n| **n > 0).count()
    }

    pub async fn wait_delivered(&self, n: usize, timeout: Duration) {
        let d = Deadline::after(timeout);
        while self.delivered() < n {
            d.wait(|| {
                format!(
                    "only {} of {n} people got their prompt\n{}",
                    self.delivered(),
                    self.log_tails(30)
                )
            })
            .await;
        }
    }

    pub fn assert_each_exactly_once(&self) {
        let counts = self.counts();
        let dups: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        let lost: Vec<_> = counts.iter().filter(|(_, n)| **n == 0).collect();
        assert!(dups.is_empty(), "duplicates: {dups:?}");
        assert!(lost.is_empty(), "lost: {lost:?}");
        assert_eq!(counts.len(), self.people.len());
    }

    /// Waits until every person's prompt row is recorded `sent`. From then
    /// on no worker can claim one again (only queued rows and expired
    /// `sending` leases are claimed), so no re-send can start: the positive
    /// signal before counting DMs, in place of waiting out the leases.
    pub async fn wait_all_recorded_sent(&self, timeout: Duration) {
        let store = fieldnotes::store::Store::connect(&self.database_url)
            .await
            .unwrap();
        let d = Deadline::after(timeout).every(Duration::from_millis(50));
        loop {
            let rows = store.prompt_status_summary().await.unwrap();
            if matches!(&rows[..], [(s, n, _)] if s == "sent" && *n == self.people.len() as i64) {
                break;
            }
            d.wait(|| {
                format!(
                    "not every prompt was recorded sent: {rows:?} ({} people have a DM)\n{}",
                    self.delivered(),
                    self.log_tails(40)
                )
            })
            .await;
        }
        store.close().await;
    }

    pub async fn prompt_rows(&self) -> Vec<(String, i64, i64)> {
        let store = fieldnotes::store::Store::connect(&self.database_url)
            .await
            .unwrap();
        let rows = store.prompt_status_summary().await.unwrap();
        store.close().await;
        rows
    }

    /// Also fails the test if the bot sent any Web API argument Slack's
    /// reference does not list for the method.
    pub async fn finish(mut self) {
        super::app::teardown(&self.emu, self.database.take()).await;
    }
}

/// A loopback address nobody listens on yet (the bot binds it; a restart
/// binds it again).
pub fn free_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Waits until the bot at `addr` answers `GET /healthz`.
pub async fn wait_healthy(addr: std::net::SocketAddr) {
    let url = format!("http://{addr}/healthz");
    let d = Deadline::after(Duration::from_secs(15)).every(Duration::from_millis(50));
    loop {
        if let Ok(r) = reqwest::get(&url).await {
            if r.status().is_success() {
                return;
            }
        }
        d.wait(|| format!("the bot at {addr} never became healthy"))
            .await;
    }
}
