//! The binary itself: `--help` everywhere, and config errors that name the
//! file, line and key.

use crate::support::process::{fieldnotes, output_within, KillOnDrop};
use crate::support::wait::Deadline;
use std::time::Duration;

/// Runs the binary on the shipped config with `env`; its stdout, after
/// asserting it succeeded.
fn run_ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = fieldnotes();
    cmd.args(["--config", "config/fieldnotes.toml"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn every_command_has_help() {
    for args in [
        vec![],
        vec!["run"],
        vec!["demo"],
        vec!["migrate"],
        vec!["check-config"],
        vec!["checkin", "run"],
        vec!["digest"],
        vec!["export"],
        vec!["status"],
        vec!["schedule", "preview"],
        vec!["retag"],
        vec!["purge"],
        vec!["audit"],
        vec!["search"],
        vec!["healthcheck"],
    ] {
        let mut a = args.clone();
        a.push("--help");
        let out = fieldnotes().args(&a).output().unwrap();
        assert!(out.status.success(), "{a:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{a:?}"
        );
    }
}

#[test]
fn check_config_describes_the_shipped_config() {
    let out = fieldnotes()
        .args(["--config", "config/fieldnotes.toml", "check-config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Check-in `weekly-pulse`"));
    assert!(text.contains("next: Thu"));
}

#[test]
fn bad_config_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let shipped = std::fs::read_to_string("config/fieldnotes.toml").unwrap();
    let line = shipped
        .lines()
        .position(|l| l.starts_with("cadence = \"0 16"))
        .unwrap()
        + 1;
    std::fs::write(
        &path,
        shipped.replace("cadence = \"0 16 * * THU\"", "cadence = \"0 25 * * THU\""),
    )
    .unwrap();
    let out = fieldnotes()
        .env("FIELDNOTES_CONFIG", &path)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:{line}: key `checkin.weekly-pulse.cadence`",
            path.display()
        )),
        "{err}"
    );
    assert!(err.contains("invalid cron expression"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_preview_and_status_through_the_binary() {
    use slack_emulator::{Emulator, EmulatorConfig, User};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("preview.db");
    let db_url = fieldnotes::store::sqlite_url(&db);
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.unwrap();
    for (id, tz) in [
        ("U0REP0001", "America/New_York"),
        ("U0REP0003", "Asia/Kolkata"),
        ("U0REP0004", "Europe/London"),
    ] {
        emu.add_user(User::new(id, &id.to_lowercase(), tz));
    }
    emu.add_channel(
        "C0SALESTEAM",
        "sales",
        &["U0REP0001", "U0REP0003", "U0REP0004"],
    );
    // Someone on a long pause.
    let store = fieldnotes::store::Store::connect(&db_url).await.unwrap();
    store.migrate().await.unwrap();
    let far = chrono::Utc::now() + chrono::Duration::days(200);
    store
        .set_pause("U0REP0004", far.timestamp_millis(), 0, "command")
        .await
        .unwrap();
    store.close().await;

    let (token, api) = (emu.config().bot_token.clone(), emu.api_url());
    let run = move |args: &[&str]| {
        run_ok(
            args,
            &[
                ("DATABASE_URL", &db_url),
                ("SLACK_BOT_TOKEN", &token),
                ("SLACK_API_URL", &api),
                ("RUST_LOG", "warn"),
            ],
        )
    };
    let text = tokio::task::spawn_blocking(move || {
        let preview = run(&[
            "schedule",
            "preview",
            "--checkin",
            "weekly-pulse",
            "--next",
            "2",
        ]);
        run(&[
            "checkin",
            "run",
            "weekly-pulse",
            "--question",
            "Which competitor came up?",
        ]);
        let status = run(&["status"]);
        (preview, status)
    })
    .await
    .unwrap();
    let (preview, status) = text;
    assert!(preview.contains("3 people"), "{preview}");
    // Each person at 16:00 on Thursdays in their own timezone, with UTC.
    for tz in ["America/New_York", "Asia/Kolkata"] {
        let lines: Vec<&str> = preview
            .lines()
            .filter(|l| l.contains(&format!("16:00 {tz}")))
            .collect();
        assert_eq!(lines.len(), 2, "{tz}: {preview}");
        assert!(
            lines.iter().all(|l| l.contains("UTC") && l.contains("Thu")),
            "{preview}"
        );
    }
    assert!(preview.contains("region in"), "{preview}");
    assert!(preview.contains("reminders Fri 16:00"), "{preview}");
    let paused: Vec<&str> = preview
        .lines()
        .filter(|l| l.contains("Europe/London"))
        .collect();
    assert_eq!(paused.len(), 2, "{preview}");
    assert!(
        paused.iter().all(|l| l.contains("skip (paused: until")),
        "{preview}"
    );

    assert!(status.contains("Check-in `weekly-pulse`"), "{status}");
    assert!(status.contains("one-off: Which competitor"), "{status}");
    assert!(status.contains("(pending)"), "{status}");
    emu.assert_no_unexpected_args();
    emu.shutdown();
}

/// `fieldnotes retag` and `purge` through the binary on a SQLite file:
/// a taxonomy change reaches stored notes; deleted ones go after retention.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retag_and_purge_through_the_binary() {
    use fieldnotes::domain::{NewInsight, Source};
    use fieldnotes::store::{sqlite_url, Store};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    let url = sqlite_url(&db);
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    // Inside the shipped `retention.notes` (365d); deleted past `deleted_notes` (30d).
    let day = 86_400_000;
    let created = chrono::Utc::now().timestamp_millis() - 40 * day;
    for (i, text) in ["Initech is everywhere", "old note"].iter().enumerate() {
        store
            .save_insight(&NewInsight {
                user_id: "U1".into(),
                source: Source::Command,
                text: text.to_string(),
                created_at_ms: created,
                dedupe_key: Some(format!("t{i}")),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    store
        .delete_insight(2, "U1", created + 9 * day)
        .await
        .unwrap();
    store.close().await;

    let run = |args: &[&str]| run_ok(args, &[("DATABASE_URL", &url)]);
    let dry = run(&["retag", "--dry-run"]);
    assert!(
        dry.contains("Would retag 1 of 1 insights (1 tags added"),
        "{dry}"
    );
    let done = run(&["retag"]);
    assert!(done.contains("Retagged 1 of 1"), "{done}");
    assert!(run(&["retag"]).contains("Retagged 0 of 1"), "idempotent");
    let purged = run(&["purge"]);
    assert!(
        purged.contains("Purged 1 deleted notes, 0 notes older than 365d"),
        "{purged}"
    );
    let audit = run(&["audit", "--since", "2026-01-01"]);
    assert!(
        audit.contains("retention") && audit.contains("ok: 0 old notes, 1 deleted notes"),
        "{audit}"
    );

    let store = Store::connect(&url).await.unwrap();
    let n = store.insight(1).await.unwrap().unwrap();
    assert_eq!(n.auto_tags, vec!["competitor:initech"]);
    assert!(n.sentiment.is_some());
    store.close().await;
}

/// `run --log-format json` logs one JSON object per line; a Slack
/// delivery's lines carry its request id; `--admin` serves the health
/// endpoints beside `--http`, and `fieldnotes healthcheck` probes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_logs_json_with_request_ids_and_serves_admin() {
    use serde_json::Value;
    use slack_emulator::{Emulator, EmulatorConfig, User};
    use std::io::BufRead;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let db_url = fieldnotes::store::sqlite_url(&dir.path().join("run.db"));
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.unwrap();
    emu.add_user(User::new("U0REP0001", "rep", "America/New_York"));
    emu.add_channel("C0SALESTEAM", "sales", &["U0REP0001"]);
    let secret = emu.config().signing_secret.clone();
    let token = emu.config().bot_token.clone();
    let mut child = fieldnotes()
        .args(["--config", "config/fieldnotes.toml", "--log-format", "json"])
        .args(["run", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db_url)
        .env("SLACK_BOT_TOKEN", &token)
        .env("SLACK_SIGNING_SECRET", &secret)
        .env("SLACK_API_URL", emu.api_url())
        .env("RUST_LOG", "fieldnotes=info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // Killed when the test ends, whichever way.
    let _bot = KillOnDrop(Some(child));
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(stderr).lines() {
                let Ok(l) = l else { return };
                lines.lock().unwrap().push(l);
            }
        });
    }
    // The first logged line whose message is `message`, as JSON.
    let wait_for = |message: &'static str| {
        let lines = lines.clone();
        async move {
            let d = Deadline::after(Duration::from_secs(30));
            loop {
                let found = lines.lock().unwrap().iter().find_map(|l| {
                    let v: Value = serde_json::from_str(l).ok()?;
                    (v["fields"]["message"] == message).then_some(v)
                });
                if let Some(v) = found {
                    return v;
                }
                d.wait(|| format!("no {message:?} in:\n{}", lines.lock().unwrap().join("\n")))
                    .await;
            }
        }
    };
    let http = wait_for("serving Slack requests at POST /slack/events").await;
    let http = http["fields"]["bound"].as_str().unwrap().to_string();
    let admin = wait_for("serving GET /healthz, /readyz and /metrics").await;
    let admin = admin["fields"]["bound"].as_str().unwrap().to_string();

    emu.deliver_via_http(&format!("http://{http}/slack/events"));
    let d = emu
        .slash_command(
            "U0REP0001",
            "/fieldnotes",
            "note Acme pushed on pricing",
            "C0SALESTEAM",
        )
        .await
        .unwrap();
    assert!(d.acked);
    let saved = wait_for("note saved from /fieldnotes note").await;
    let spans = saved["spans"].as_array().expect("the line's spans");
    let delivery = spans
        .iter()
        .find(|s| s["name"] == "slack")
        .unwrap_or_else(|| panic!("no delivery span: {saved}"));
    assert_eq!(delivery["transport"], "http");
    let id = delivery["request_id"].as_str().unwrap();
    assert_eq!(id.len(), 16, "{saved}");

    let probe = move |path: &str| {
        fieldnotes()
            .args(["healthcheck", &format!("http://{admin}{path}")])
            .output()
            .unwrap()
    };
    let (alive, ready) = tokio::task::spawn_blocking(move || (probe("/healthz"), probe("/readyz")))
        .await
        .unwrap();
    assert!(alive.status.success(), "{alive:?}");
    assert_eq!(String::from_utf8_lossy(&alive.stdout), "alive\n");
    assert!(ready.status.success(), "{ready:?}");
    let refused = fieldnotes()
        .args([
            "healthcheck",
            "--timeout",
            "2",
            "http://127.0.0.1:1/healthz",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());

    let all = lines.lock().unwrap().clone();
    for l in &all {
        assert!(serde_json::from_str::<Value>(l).is_ok(), "not JSON: {l}");
        assert!(
            !l.contains(&token) && !l.contains(&secret),
            "a secret in: {l}"
        );
    }
    emu.shutdown();
}

/// D1: a signing secret of only separators and blanks is no secret, so
/// HTTP mode refuses to start rather than accept `HMAC("")`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_mode_refuses_to_start_without_a_real_signing_secret() {
    use slack_emulator::{Emulator, EmulatorConfig};
    let dir = tempfile::tempdir().unwrap();
    let db_url = fieldnotes::store::sqlite_url(&dir.path().join("run.db"));
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.unwrap();
    for secret in [",", " , ", "", "  "] {
        // Were it to start anyway, it would run until killed: bounded.
        let out = output_within(
            fieldnotes()
                .args(["--config", "config/fieldnotes.toml"])
                .args(["run", "--http", "127.0.0.1:0"])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("DATABASE_URL", &db_url)
                .env("SLACK_BOT_TOKEN", &emu.config().bot_token)
                .env("SLACK_SIGNING_SECRET", secret)
                .env("SLACK_API_URL", emu.api_url()),
            Duration::from_secs(30),
        );
        assert!(!out.status.success(), "started with secret {secret:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("SLACK_SIGNING_SECRET"), "{err}");
    }
    emu.shutdown();
}
