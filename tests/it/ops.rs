//! Operating the bot over real HTTP: `/healthz` is alive whatever the
//! database does, `/readyz` follows the database and the Socket Mode link
//! without leaking error text, `/metrics` counts what happened, and Socket
//! Mode serves all three on `--admin`.

use crate::support::db::allow_connections;
use crate::support::http::{get, wait_for_status};
use crate::support::wait::Deadline;
use crate::support::{spawn_app, Db, Mode};
use slack_emulator::Failure;
use std::net::SocketAddr;
use std::time::Duration;

/// Nothing but the fixed text: no error message, driver or host name.
fn assert_no_internals(body: &str) {
    for leak in [
        "error",
        "Error",
        "pool",
        "sqlx",
        "postgres",
        "connect",
        "127.0.0.1",
    ] {
        assert!(!body.contains(leak), "{body:?} leaks {leak:?}");
    }
}

/// The value of the sample `series` (name and labels, exactly as
/// rendered) in a Prometheus text body.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// PostgreSQL refuses this test database's connections for a few
/// seconds: `/readyz` goes 503 and back to 200, `/healthz` stays alive,
/// and neither body says anything internal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_a_database_outage_and_healthz_stays_alive() {
    let t = spawn_app(Db::Postgres, Mode::Http).await;
    let base = format!("http://{}", t.app().http_addr().unwrap());
    let (s, body) = get(&format!("{base}/healthz")).await;
    assert_eq!((s, body.as_str()), (200, "alive\n"));
    let body = wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(10)).await;
    assert_eq!(body, "ready\n");

    let allow = |on: bool| allow_connections(&t.database_url, on);
    allow(false).await;
    let down = wait_for_status(&format!("{base}/readyz"), 503, Duration::from_secs(20)).await;
    let (s, alive) = get(&format!("{base}/healthz")).await;
    allow(true).await;
    assert_eq!(down, "not ready: database\n");
    assert_no_internals(&down);
    assert_eq!(
        (s, alive.as_str()),
        (200, "alive\n"),
        "alive during the outage"
    );
    let up = wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(30)).await;
    assert_eq!(up, "ready\n");
    t.stop().await;
}

/// After a run's prompts go out and a rep saves a note, `/metrics` has
/// every metric, with counts that add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_prompts_notes_slack_calls_and_acks() {
    let t = spawn_app(Db::Sqlite, Mode::Http).await;
    let url = format!("http://{}/metrics", t.app().http_addr().unwrap());
    t.queue_run(None).await;
    // U0REP0001..3 from the channel, plus U0REPXTRA.
    t.wait_for_prompts(4).await;
    // The prompt's "answered" edit is refused once with a 429 (retried).
    t.emu.fail_next("chat.update", 1, Failure::Status(429));
    let reply = t.command("U0REP0001", "note Acme came up on pricing").await;
    assert!(reply.contains("Saved"), "{reply}");
    t.wait_calls("chat.update", 2).await;

    let (status, text) = get(&url).await;
    assert_eq!(status, 200);
    for name in fieldnotes::metrics::NAMES
        .iter()
        .filter(|n| **n != fieldnotes::metrics::SOCKET_CONNECTED)
    {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
    }
    assert!(
        !text.contains(fieldnotes::metrics::SOCKET_CONNECTED),
        "HTTP mode"
    );
    // Counters are the process's, shared with this binary's other tests: at least ours.
    let at_least = |series: &str, n: f64| {
        let v = sample(&text, series).unwrap_or_else(|| panic!("no {series}:\n{text}"));
        assert!(v >= n, "{series} = {v}, expected at least {n}");
    };
    at_least("fieldnotes_prompts_sent_total{kind=\"prompt\"}", 4.0);
    at_least("fieldnotes_notes_saved_total{source=\"command\"}", 1.0);
    at_least("fieldnotes_prompts_answered_total", 1.0);
    at_least(
        "fieldnotes_slack_api_calls_total{method=\"auth.test\",status=\"ok\"}",
        1.0,
    );
    at_least(
        "fieldnotes_slack_api_calls_total{method=\"chat.postMessage\",status=\"ok\"}",
        4.0,
    );
    at_least(
        "fieldnotes_slack_api_calls_total{method=\"chat.update\",status=\"ratelimited\"}",
        1.0,
    );
    at_least(
        "fieldnotes_slack_api_calls_total{method=\"chat.update\",status=\"ok\"}",
        1.0,
    );
    at_least(
        "fieldnotes_slack_ack_seconds_count{transport=\"http\"}",
        1.0,
    );
    at_least(
        "fieldnotes_slack_ack_seconds_bucket{transport=\"http\",le=\"+Inf\"}",
        1.0,
    );
    at_least("fieldnotes_job_lag_seconds_count{job=\"send\"}", 4.0);
    // This bot's own gauges.
    let depth = sample(&text, "fieldnotes_inbox_depth").expect("inbox depth");
    assert!(depth >= 0.0);
    let age = sample(&text, "fieldnotes_inbox_oldest_age_seconds").expect("inbox age");
    assert!(age >= 0.0);
    assert_eq!(sample(&text, "fieldnotes_inbox_parked"), Some(0.0));
    t.stop().await;
}

/// The inbox gauges count what waits and what was given up on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_gauges_show_depth_and_parked_events() {
    let t = spawn_app(Db::Sqlite, Mode::Http).await;
    let url = format!("http://{}/metrics", t.app().http_addr().unwrap());
    let state = t.app().state();
    // Two unreadable events the workers can't take until the clock reaches them.
    let later = state.now_ms() + 600_000;
    let rows = [
        ("EvGAUGE001".to_string(), "{}".to_string()),
        ("EvGAUGE002".to_string(), "{}".to_string()),
    ];
    state.store.inbox_insert(&rows, later).await.unwrap();
    let g = state.store.inbox_gauges().await.unwrap();
    assert_eq!(
        (g.pending, g.oldest_pending_ms, g.parked),
        (2, Some(later), 0)
    );
    let (_, text) = get(&url).await;
    assert_eq!(sample(&text, "fieldnotes_inbox_depth"), Some(2.0), "{text}");
    assert_eq!(
        sample(&text, "fieldnotes_inbox_oldest_age_seconds"),
        Some(0.0)
    );
    assert_eq!(sample(&text, "fieldnotes_inbox_parked"), Some(0.0));
    // Their time comes; unreadable, they are parked at once.
    t.clock.set(t.now() + chrono::Duration::minutes(15));
    let d = Deadline::after(Duration::from_secs(20)).every(Duration::from_millis(50));
    loop {
        let (_, text) = get(&url).await;
        if sample(&text, "fieldnotes_inbox_parked") == Some(2.0) {
            assert_eq!(sample(&text, "fieldnotes_inbox_depth"), Some(0.0));
            break;
        }
        d.wait(|| format!("never parked:\n{text}")).await;
    }
    t.stop().await;
}

/// Socket Mode serves the endpoints on `--admin` only; `/readyz` is ready
/// once Slack's hello arrives and not when the connection is gone, and
/// Socket Mode acks are timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_serves_them_on_admin() {
    let mut t = spawn_app(Db::Sqlite, Mode::SocketMode).await;
    assert!(t.app().http_addr().is_none());
    let admin: SocketAddr = t
        .app
        .as_mut()
        .unwrap()
        .serve_admin("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{admin}");
    let (s, body) = get(&format!("{base}/healthz")).await;
    assert_eq!((s, body.as_str()), (200, "alive\n"));
    let ready = wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(10)).await;
    assert_eq!(ready, "ready\n");
    let (s, _) = get(&format!("{base}/slack/events")).await;
    assert_eq!(s, 404, "the admin listener serves no Slack requests");

    let reply = t.command("U0REP0002", "note Globex asked for SSO").await;
    assert!(reply.contains("Saved"), "{reply}");
    let (s, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(s, 200);
    assert_eq!(
        sample(&text, "fieldnotes_socket_mode_connected"),
        Some(1.0),
        "{text}"
    );
    let acks = sample(
        &text,
        "fieldnotes_slack_ack_seconds_count{transport=\"socket_mode\"}",
    );
    assert!(acks.unwrap_or(0.0) >= 1.0, "{text}");

    // Slack goes away: the WebSocket closes and reconnecting fails.
    t.emu.shutdown();
    let down = wait_for_status(&format!("{base}/readyz"), 503, Duration::from_secs(20)).await;
    assert_eq!(down, "not ready: slack\n");
    let (_, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(
        sample(&text, "fieldnotes_socket_mode_connected"),
        Some(0.0),
        "{text}"
    );
    let (s, _) = get(&format!("{base}/healthz")).await;
    assert_eq!(s, 200);
    t.stop().await;
}
