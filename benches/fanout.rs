//! Fan-out benchmark (issue 3): one check-in run to N people (default
//! 10,000) against the in-process Slack emulator enforcing Slack's documented
//! limits, with the real bot (planner, dispatcher, store) on SQLite or
//! PostgreSQL.
//!
//! ```sh
//! cargo bench --bench fanout -- [--people N] [--db sqlite|postgres] [--rate PER_MIN]
//!     [--cap PER_MIN] [--burst-seconds S]
//! ```
//!
//! `--rate` is the bot's `workspace_messages_per_minute` (default: the
//! workspace cap the emulator enforces). The emulator enforces Slack's
//! limits (`EmulatorConfig::default()`: chat.postMessage 600/min
//! workspace-wide with a burst of one second's worth, 1/s per channel,
//! the tiers); `--cap` changes the workspace cap (e.g. 1200 for 20/s) and
//! `--burst-seconds` the burst every bucket holds.
//!
//! Reports wall time against the minimum Slack's limits allow, duplicates
//! and lost DMs (counted from the emulator's record, not the bot's), 429s,
//! the store's view and peak RSS, and prints a Markdown table row. Exits
//! non-zero on any duplicate or loss. `BENCH_LOG=info` turns logs on.

mod common;

use common::status_mb;
use fieldnotes::app::{AppOptions, Application};
use fieldnotes::clock::SystemClock;
use fieldnotes::config::{Config, Secrets};
use secrecy::SecretString;
use slack_emulator::{Emulator, EmulatorConfig, User};
use sqlx::Connection;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

struct Args {
    people: usize,
    db: String,
    rate: u32,
    cap: u32,
    burst_seconds: f64,
}

fn args(default_cap: u32, default_burst: f64) -> Args {
    let mut a = Args {
        people: 10_000,
        db: "sqlite".into(),
        rate: 0,
        cap: default_cap,
        burst_seconds: default_burst,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let next = v.get(i + 1).cloned().unwrap_or_default();
        match v[i].as_str() {
            "--people" => {
                a.people = next.parse().expect("--people N");
                i += 1;
            }
            "--db" => {
                assert!(
                    next == "sqlite" || next == "postgres",
                    "--db sqlite|postgres"
                );
                a.db = next;
                i += 1;
            }
            "--rate" => {
                a.rate = next.parse().expect("--rate PER_MIN");
                i += 1;
            }
            "--cap" => {
                a.cap = next.parse().expect("--cap PER_MIN");
                i += 1;
            }
            "--burst-seconds" => {
                a.burst_seconds = next.parse().expect("--burst-seconds S");
                i += 1;
            }
            _ => {} // `--bench` and anything else cargo passes
        }
        i += 1;
    }
    if a.rate == 0 {
        a.rate = a.cap;
    }
    assert!(
        a.people > 0 && a.cap > 0 && a.burst_seconds > 0.0,
        "--people, --rate, --cap and --burst-seconds must be > 0"
    );
    a
}

/// The emulator's record of successful chat.postMessage calls (HTTP 200,
/// `ok: true`): how many, and when the first and last were answered.
fn post_successes(emu: &Emulator) -> (usize, Option<SystemTime>, Option<SystemTime>) {
    let ok: Vec<SystemTime> = emu
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.status == 200 && c.response.get("ok") == Some(&serde_json::Value::Bool(true)))
        .map(|c| c.at)
        .collect();
    (ok.len(), ok.iter().min().copied(), ok.iter().max().copied())
}

/// Top-level bot messages in each person's DM, from the emulator's own
/// record: (delivered, duplicated, lost).
fn dm_counts(emu: &Emulator, people: &[String]) -> (usize, usize, usize) {
    let by_user = emu.bot_message_counts_by_dm_user();
    let (mut delivered, mut dups, mut lost) = (0, 0, 0);
    for p in people {
        match by_user.get(p).copied().unwrap_or(0) {
            0 => lost += 1,
            1 => delivered += 1,
            _ => {
                delivered += 1;
                dups += 1
            }
        }
    }
    (delivered, dups, lost)
}

fn secs_between(a: SystemTime, b: SystemTime) -> f64 {
    b.duration_since(a).unwrap_or_default().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    // Slack's documented limits, as the emulator enforces them by default.
    let mut emu_config = EmulatorConfig::default();
    let defaults = emu_config.rate_limits.clone();
    let a = args(
        defaults.post_message_workspace_per_min,
        defaults.burst_seconds,
    );
    emu_config.rate_limits.post_message_workspace_per_min = a.cap;
    emu_config.rate_limits.burst_seconds = a.burst_seconds;
    let limits = emu_config.rate_limits.clone();
    let cap = a.cap;
    let cap_burst = limits.burst_for(cap as f64);
    let emu = Emulator::start(emu_config).await.expect("emulator");
    let zones = [
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Europe/London",
        "Europe/Berlin",
        "Asia/Kolkata",
        "Australia/Sydney",
    ];
    let people: Vec<String> = (1..=a.people).map(|i| format!("U0B{i:06}")).collect();
    emu.add_users(
        people
            .iter()
            .enumerate()
            .map(|(i, id)| User::new(id, &format!("rep.{i:06}"), zones[i % zones.len()])),
    );
    let refs: Vec<&str> = people.iter().map(String::as_str).collect();
    emu.add_channel("C0BENCH", "bench", &refs);

    let dir = tempfile::tempdir().expect("tempdir");
    let (database_url, pg) = match a.db.as_str() {
        "postgres" => {
            let admin = std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("fieldnotes_bench_{:016x}", rand::random::<u64>());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (set TEST_POSTGRES_URL): {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create database");
            conn.close().await.ok();
            let mut url = url::Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
            url.set_path(&name);
            (url.to_string(), Some((admin, name)))
        }
        _ => (
            fieldnotes::store::sqlite_url(&dir.path().join("bench.db")),
            None,
        ),
    };
    let config_path = dir.path().join("fieldnotes.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
[bot]
tick = "200ms"
lease = "30s"
workspace_messages_per_minute = {rate}
timezone = "America/New_York"

[[tag]]
id = "competitor:acme"
label = "Competitor: Acme"
category = "competitor"
keywords = ["acme"]

[[checkin]]
name = "pulse"
cadence = "0 3 1 1 *"
timezone = "America/New_York"
prompt = "What did you hear from buyers this week?"
audience = {{ channels = ["C0BENCH"] }}
questions = [{{ id = "heard", label = "What did a buyer say?" }}]
"#,
            rate = a.rate
        ),
    )
    .expect("config");
    let config = Config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
    let secrets = Secrets {
        bot_token: Some(SecretString::from(emu.config().bot_token.clone())),
        app_token: None,
        signing_secrets: vec![],
        database_url: Some(database_url.clone()),
        slack_api_url: emu.api_url(),
    };
    let app = Application::build(AppOptions {
        config: config.clone(),
        secrets,
        clock: Arc::new(SystemClock),
        http: None,
        run_jobs: true,
        watch_config: false,
    })
    .await
    .expect("the app starts");
    let state = app.state().clone();

    eprintln!(
        "fan-out to {} people on {}; bot: {}/min; emulator (Slack's limits): chat.postMessage {}/min workspace-wide (bucket of {}: {} s), {}/s per channel (burst {})",
        a.people,
        a.db,
        a.rate,
        cap,
        cap_burst,
        a.burst_seconds,
        limits.post_message_per_channel_per_sec,
        limits.post_message_burst
    );
    let rss_before = status_mb("VmRSS:");
    let t0 = Instant::now();
    let t0_sys = SystemTime::now();
    fieldnotes::features::runs::queue_checkin(
        &state.store,
        &config,
        "pulse",
        None,
        chrono::Utc::now(),
        None,
    )
    .await
    .expect("queue the run");
    let budget =
        Duration::from_secs_f64(a.people as f64 / a.rate.min(cap) as f64 * 60.0 * 2.0 + 300.0);
    let mut last_report = Instant::now();
    let mut last_emu_check = Instant::now();
    let mut timed_out = false;
    loop {
        // The store is cheap to poll every 500 ms, and the run is over once
        // every prompt row is settled (sent, skipped or failed). As a
        // fallback the emulator's record is checked every 10 s. What is
        // reported is counted from the emulator's record afterwards.
        let summary = state
            .store
            .prompt_status_summary()
            .await
            .unwrap_or_default();
        let count = |s: &str| -> usize {
            summary
                .iter()
                .filter(|(st, _, _)| st == s)
                .map(|(_, n, _)| *n as usize)
                .sum()
        };
        let total: usize = summary.iter().map(|(_, n, _)| *n as usize).sum();
        let settled = total >= a.people && count("queued") == 0 && count("sending") == 0;
        if settled
            || count("sent") >= a.people
            || last_emu_check.elapsed() > Duration::from_secs(10)
        {
            last_emu_check = Instant::now();
            if settled {
                break;
            }
            // call_count copies nothing; the full record is only copied
            // once it can hold N successes.
            if emu.call_count("chat.postMessage") >= a.people && post_successes(&emu).0 >= a.people
            {
                break;
            }
        }
        if t0.elapsed() > budget {
            timed_out = true;
            break;
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            eprintln!(
                "  {:>6.0} s: {} sent, {} queued, {} sending, {} 429s",
                t0.elapsed().as_secs_f64(),
                count("sent"),
                count("queued"),
                count("sending"),
                emu.rate_limited_count()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The peak before this benchmark copies the emulator's record to
    // inspect it (those copies would inflate it).
    let rss = status_mb("VmHWM:");
    // Let any stray resend show up before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (ok_posts, first, last) = post_successes(&emu);
    let (delivered, dups, lost) = dm_counts(&emu, &people);
    let rejected = emu.rate_limited_count();
    let all_calls = emu.calls().len();
    // Where the time before the first send went: resolving the audience.
    let last_call_s = |method: &str| {
        let calls = emu.calls_to(method);
        let last = calls.iter().map(|c| c.at).max();
        (
            calls.len(),
            last.map(|l| secs_between(t0_sys, l)).unwrap_or(0.0),
        )
    };
    let (members_pages, members_done) = last_call_s("conversations.members");
    let (list_pages, list_done) = last_call_s("users.list");
    let (info_calls, info_done) = last_call_s("users.info");
    // What the in-process emulator keeps (every call and message, as JSON
    // values): a lower bound on its share of the peak RSS.
    let (kept_calls, kept_messages, kept_json_mb) = {
        let calls = emu.calls();
        let msgs = emu.messages();
        let bytes: usize = calls
            .iter()
            .map(|c| c.params.to_string().len() + c.response.to_string().len())
            .sum::<usize>()
            + msgs
                .iter()
                .map(|m| m.text.len() + m.blocks.to_string().len())
                .sum::<usize>();
        (calls.len(), msgs.len(), bytes as f64 / 1e6)
    };
    let summary = state
        .store
        .prompt_status_summary()
        .await
        .unwrap_or_default();

    let wall = last.map(|l| secs_between(t0_sys, l)).unwrap_or(f64::NAN);
    let first_s = first.map(|f| secs_between(t0_sys, f)).unwrap_or(f64::NAN);
    let span = match (first, last) {
        (Some(f), Some(l)) => secs_between(f, l),
        _ => f64::NAN,
    };
    // What Slack's limits allow: the workspace cap sustained, and with the
    // emulator's bucket starting full (its burst at once, then cap/60 per s).
    let n = a.people as f64;
    let cap_f = cap as f64;
    let sustained_min = n / (cap_f / 60.0);
    let burst_min = (n - cap_burst as f64).max(0.0) / (cap_f / 60.0);
    let share_429 = rejected as f64 / all_calls.max(1) as f64 * 100.0;
    let pct = |min: f64| {
        if min > 0.0 && wall.is_finite() && wall > 0.0 {
            format!("{:.1}%", min / wall * 100.0)
        } else {
            "n/a".into()
        }
    };
    eprintln!();
    eprintln!("people                 {}", a.people);
    eprintln!("db                     {}", a.db);
    eprintln!(
        "bot rate               {}/min (Slack's cap {}/min)",
        a.rate, cap
    );
    eprintln!("wall time (t0 → last)  {wall:.1} s");
    eprintln!("t0 → first send        {first_s:.1} s");
    eprintln!("first → last send      {span:.1} s");
    eprintln!(
        "minimum, sustained     {sustained_min:.1} s  ({} of it)",
        pct(sustained_min)
    );
    eprintln!(
        "minimum, with burst    {burst_min:.1} s  ({} of it)",
        pct(burst_min)
    );
    eprintln!("posts accepted         {ok_posts}");
    eprintln!("DMs with a prompt      {delivered}");
    eprintln!("duplicates             {dups}");
    eprintln!("lost                   {lost}");
    eprintln!("429s                   {rejected} of {all_calls} calls ({share_429:.2}%)");
    eprintln!("store (status, rows, workers) {summary:?}");
    eprintln!(
        "audience               conversations.members x{members_pages} (done at {members_done:.1} s), users.list x{list_pages} (done at {list_done:.1} s), users.info x{info_calls} (done at {info_done:.1} s)"
    );
    eprintln!("RSS before the run     {rss_before:.0} MB");
    eprintln!("peak RSS               {rss:.0} MB (whole process, emulator included)");
    eprintln!(
        "emulator keeps         {kept_calls} calls, {kept_messages} messages, {kept_json_mb:.0} MB as serialised JSON"
    );
    if timed_out {
        eprintln!("TIMED OUT after {:.0} s", budget.as_secs_f64());
    }
    println!("| date | DB | N | Slack cap (burst) | bot rate | wall time | t0 → first | first → last | min (sustained) | % | min (with burst) | % | duplicates | lost | 429s (of calls) | peak RSS |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {}/min ({}) | {}/min | {:.1} s | {:.1} s | {:.1} s | {:.0} s | {} | {:.0} s | {} | {} | {} | {} ({:.2}%) | {:.0} MB |",
        chrono::Utc::now().format("%Y-%m-%d"),
        if a.db == "postgres" { "PostgreSQL" } else { "SQLite" },
        a.people,
        cap,
        cap_burst,
        a.rate,
        wall,
        first_s,
        span,
        sustained_min,
        pct(sustained_min),
        burst_min,
        pct(burst_min),
        dups,
        lost,
        rejected,
        share_429,
        rss
    );
    app.shutdown().await;
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
    if dups > 0 || lost > 0 || timed_out {
        eprintln!(
            "FAILED: {dups} duplicate(s), {lost} lost{}",
            if timed_out { ", timed out" } else { "" }
        );
        std::process::exit(1);
    }
}
