//! Exactly-once delivery across crashes and replicas, with real processes:
//! the `fieldnotes` binary runs against the in-process Slack emulator (with
//! Slack's rate limits) and a real database, is killed with SIGKILL in the
//! middle of a fan-out, and the emulator counts every DM.

mod common;

use common::{fresh_database, Db};
use slack_emulator::{Emulator, EmulatorConfig, RateLimits, User};
use sqlx::Connection;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PEOPLE: usize = 300;

fn config(rate_per_min: u32) -> String {
    format!(
        r#"
[bot]
tick = "100ms"
lease = "2s"
workspace_messages_per_minute = {rate_per_min}

[digest]
timezone = "America/New_York"

[[checkin]]
name = "pulse"
cadence = "0 3 1 1 *"
timezone = "America/New_York"
prompt = "What did you hear from buyers this week?"
audience = {{ channels = ["C0FANOUT"] }}
questions = [{{ id = "heard", label = "What did a buyer say?" }}]
"#
    )
}

struct World {
    emu: Emulator,
    dir: tempfile::TempDir,
    database_url: String,
    pg: Option<(String, String)>,
    people: Vec<String>,
}

async fn world(db: Db, rate_per_min: u32) -> World {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, pg) = fresh_database(db, dir.path()).await;
    let emu = Emulator::start(EmulatorConfig {
        rate_limits: RateLimits::slack(),
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    let zones = [
        "America/New_York",
        "Europe/London",
        "Asia/Kolkata",
        "Australia/Sydney",
    ];
    let people: Vec<String> = (0..PEOPLE).map(|i| format!("U0FAN{i:04}")).collect();
    for (i, id) in people.iter().enumerate() {
        emu.add_user(User::new(id, &id.to_lowercase(), zones[i % zones.len()]));
    }
    let refs: Vec<&str> = people.iter().map(String::as_str).collect();
    emu.add_channel("C0FANOUT", "fanout", &refs);
    std::fs::write(dir.path().join("fieldnotes.toml"), config(rate_per_min)).unwrap();
    World {
        emu,
        dir,
        database_url,
        pg,
        people,
    }
}

impl World {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fieldnotes"));
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("FIELDNOTES_CONFIG", self.dir.path().join("fieldnotes.toml"))
            .env("SLACK_BOT_TOKEN", &self.emu.config().bot_token)
            .env("SLACK_API_URL", self.emu.api_url())
            .env("DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "fieldnotes=info")
            .current_dir(self.dir.path());
        c
    }

    fn queue_run(&self) {
        let out = self.command(&["checkin", "run", "pulse"]).output().unwrap();
        assert!(
            out.status.success(),
            "checkin run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start_bot(&self, name: &str) -> Child {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        self.command(&["run"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    /// Bot messages per person's DM.
    fn counts(&self) -> HashMap<String, usize> {
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

    fn delivered(&self) -> usize {
        self.counts().values().filter(|n| **n > 0).count()
    }

    async fn wait_delivered(&self, n: usize, timeout: Duration) {
        let t0 = Instant::now();
        while self.delivered() < n {
            if t0.elapsed() > timeout {
                let mut logs = String::new();
                for name in ["a", "b", "c"] {
                    let p = self.dir.path().join(format!("{name}.log"));
                    if let Ok(t) = std::fs::read_to_string(&p) {
                        let tail: Vec<&str> = t.lines().rev().take(30).collect();
                        logs.push_str(&format!(
                            "--- {name}.log (last lines, newest first)\n{}\n",
                            tail.join("\n")
                        ));
                    }
                }
                panic!(
                    "only {} of {n} people got their prompt\n{logs}",
                    self.delivered(),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn assert_each_exactly_once(&self) {
        let counts = self.counts();
        let dups: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        let lost: Vec<_> = counts.iter().filter(|(_, n)| **n == 0).collect();
        assert!(dups.is_empty(), "duplicates: {dups:?}");
        assert!(lost.is_empty(), "lost: {lost:?}");
        assert_eq!(counts.len(), PEOPLE);
    }

    async fn prompt_rows(&self) -> Vec<(String, i64, i64)> {
        let store = fieldnotes::store::Store::connect(&self.database_url)
            .await
            .unwrap();
        let rows = store.prompt_status_summary().await.unwrap();
        store.close().await;
        rows
    }

    async fn finish(mut self) {
        self.emu.shutdown();
        if let Some((admin, name)) = self.pg.take() {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
        }
    }
}

fn kill(mut c: Child) {
    // Child::kill is SIGKILL on Unix: no shutdown code runs.
    c.kill().unwrap();
    c.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_fan_out_then_restart_sends_the_rest_once_sqlite() {
    let w = world(Db::Sqlite, 240).await;
    w.queue_run();
    let a = w.start_bot("a");
    w.wait_delivered(15, Duration::from_secs(60)).await;
    kill(a);
    let before = w.delivered();
    assert!(
        before < PEOPLE,
        "the kill landed mid-fan-out ({before} sent)"
    );
    let b = w.start_bot("b");
    w.wait_delivered(PEOPLE, Duration::from_secs(90)).await;
    // Leases are 2 s: give any stray re-send time to show up.
    tokio::time::sleep(Duration::from_secs(4)).await;
    kill(b);
    w.assert_each_exactly_once();
    let rows = w.prompt_rows().await;
    // Both processes sent part of the run.
    assert_eq!(rows, vec![("sent".to_string(), PEOPLE as i64, 2)]);
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgres_one_killed_deliver_each_prompt_once() {
    let w = world(Db::Postgres, 240).await;
    w.queue_run();
    let a = w.start_bot("a");
    let b = w.start_bot("b");
    let c = w.start_bot("c");
    w.wait_delivered(15, Duration::from_secs(60)).await;
    kill(b);
    assert!(w.delivered() < PEOPLE, "the kill landed mid-fan-out");
    w.wait_delivered(PEOPLE, Duration::from_secs(90)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    kill(a);
    kill(c);
    w.assert_each_exactly_once();
    let rows = w.prompt_rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (status, n, workers) = &rows[0];
    assert_eq!((status.as_str(), *n), ("sent", PEOPLE as i64));
    assert!(
        *workers >= 2,
        "the work was shared: {workers} worker(s) sent"
    );
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_file_edits_reload_a_running_bot() {
    let w = world(Db::Sqlite, 240).await;
    let log = w.dir.path().join("hup.log");
    let child = w
        .command(&["run"])
        .env("RUST_LOG", "fieldnotes=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait_for = |needle: &'static str| {
        let read = &read;
        async move {
            for _ in 0..100 {
                if read().contains(needle) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no `{needle}` in the log:\n{}", read());
        }
    };
    wait_for("sending prompts only").await;
    let status = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("why=\"SIGHUP\"").await;
    assert!(read().contains("config reloaded"), "{}", read());

    // A bad edit: logged with file, line and key; the bot keeps running.
    let path = w.dir.path().join("fieldnotes.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("0 3 1 1 *", "0 3 1 13 *")).unwrap();
    wait_for("config edit rejected").await;
    let l = read();
    assert!(l.contains("key=checkin.pulse.cadence"), "{l}");
    assert!(l.contains("line=12"), "{l}");
    assert!(l.contains("month value 13 is out of range"), "{l}");
    kill(child);
    w.finish().await;
}
