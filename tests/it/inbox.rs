//! The durable inbox: every Events API delivery Slack got a 200 (or an
//! ack) for is stored, exactly once, however many arrive at once and
//! whether or not the database is there.

use crate::support::db::allow_connections;
use crate::support::{ConfigFixture, Db, Mode, TestApp};
use fieldnotes::domain::Source;
use slack_emulator::EmulatorConfig;
use std::collections::HashSet;
use std::time::Duration;

const REPLIERS: &[&str] = &["U0REP0001", "U0REP0002", "U0REP0003", "U0REPXTRA"];

/// Every stored reply gets a confirmation message, paced under the
/// workspace's chat.postMessage limit: a workspace allowing 6,000 a minute
/// keeps a 400-reply burst short.
fn config() -> String {
    ConfigFixture::shared().fast_confirmations().toml()
}

/// Prompts every rep, so each has a DM with the bot; returns the DMs.
async fn open_dms(t: &TestApp) -> Vec<(String, String)> {
    t.queue_run(None).await;
    t.wait_for_prompts(REPLIERS.len()).await;
    REPLIERS
        .iter()
        .map(|r| (r.to_string(), t.emu.dm_channel(r).expect("a DM")))
        .collect()
}

/// Sends `n` DM replies at once (round robin over the reps); returns the
/// texts Slack saw acked and how many deliveries it needed in all.
async fn burst(
    t: &TestApp,
    dms: &[(String, String)],
    n: usize,
    tag: &str,
) -> (HashSet<String>, u32) {
    let sends = (0..n).map(|i| {
        let (user, dm) = &dms[i % dms.len()];
        let text = format!("{tag} {i}: Acme came up again on pricing");
        let emu = t.emu.clone();
        let (user, dm) = (user.clone(), dm.clone());
        async move { (emu.user_message(&user, &dm, &text, None).await, text) }
    });
    let results = futures::future::join_all(sends).await;
    let mut acked = HashSet::new();
    let mut attempts = 0;
    for (d, text) in results {
        let d = d.expect("delivered");
        attempts += d.attempts;
        if d.acked {
            acked.insert(text);
        }
    }
    (acked, attempts)
}

/// Every acked reply is one note; none twice. (A delivery Slack gave up on
/// may still have been committed: stored is a superset of acked.)
async fn assert_exactly_once(t: &TestApp, acked: &HashSet<String>, tag: &str) {
    t.wait_inbox_drained().await;
    let notes: Vec<_> = t
        .insights()
        .await
        .into_iter()
        .filter(|i| i.source == Source::Reply && i.text.starts_with(tag))
        .collect();
    let distinct: HashSet<String> = notes.iter().map(|i| i.text.clone()).collect();
    assert_eq!(distinct.len(), notes.len(), "no reply is stored twice");
    let lost: Vec<_> = acked.difference(&distinct).collect();
    assert!(lost.is_empty(), "acked but not stored: {lost:?}");
}

async fn burst_is_stored_exactly_once(db: Db, mode: Mode) {
    // Hundreds of deliveries at once: over HTTP, alone at the front door.
    let mut b = TestApp::builder(db, mode).config(config());
    if mode == Mode::Http {
        b = b.floods_http();
    }
    let t = b.spawn().await;
    let dms = open_dms(&t).await;
    // Far more at once than the pool has connections (4 SQLite, 8 PostgreSQL).
    let n = 400;
    let (acked, _) = burst(&t, &dms, n, "burst").await;
    assert!(!acked.is_empty());
    assert_exactly_once(&t, &acked, "burst").await;
    // Slack's retry of a delivery whose row is already in the inbox: one note.
    let d = t
        .emu
        .user_message(
            REPLIERS[0],
            &dms[0].1,
            "again: Globex pitched a pilot",
            None,
        )
        .await
        .unwrap();
    let r = t.emu.redeliver(&d).await.unwrap();
    assert!(d.acked && r.acked);
    let once = HashSet::from(["again: Globex pitched a pilot".to_string()]);
    assert_exactly_once(&t, &once, "again:").await;
    let again = t
        .insights()
        .await
        .into_iter()
        .filter(|i| i.text.starts_with("again:"))
        .count();
    assert_eq!(again, 1, "the retry stored nothing more");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_burst_is_stored_exactly_once_sqlite() {
    burst_is_stored_exactly_once(Db::Sqlite, Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_burst_is_stored_exactly_once_postgres() {
    burst_is_stored_exactly_once(Db::Postgres, Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_burst_is_stored_exactly_once_sqlite() {
    burst_is_stored_exactly_once(Db::Sqlite, Mode::SocketMode).await;
}

/// PostgreSQL refuses this database's connections for 30 s during a burst:
/// deliveries in the outage get 503 (no X-Slack-No-Retry), Slack's retries
/// succeed after it, and nothing acked is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_loses_nothing_acked() {
    let mut emu = EmulatorConfig::for_tests();
    // Slack's retries: at once, ~1 min, ~5 min; scaled to span the outage.
    emu.http_retry_delays = vec![
        Duration::from_secs(1),
        Duration::from_secs(12),
        Duration::from_secs(40),
    ];
    let t = TestApp::builder(Db::Postgres, Mode::Http)
        .config(config())
        .emulator(emu)
        .floods_http()
        .spawn()
        .await;
    let dms = open_dms(&t).await;
    allow_connections(&t.database_url, false).await;
    let restore = {
        let url = t.database_url.clone();
        tokio::spawn(async move {
            // Real time on purpose: the scenario is PostgreSQL refusing
            // connections for 30 s while Slack keeps delivering and retrying.
            tokio::time::sleep(Duration::from_secs(30)).await;
            allow_connections(&url, true).await;
        })
    };
    let (acked, attempts) = burst(&t, &dms, 50, "outage").await;
    restore.await.unwrap();
    assert!(
        attempts > 50,
        "deliveries during the outage were refused and retried ({attempts} attempts)"
    );
    assert_eq!(
        acked.len(),
        50,
        "Slack's retries after the outage all got through"
    );
    assert_exactly_once(&t, &acked, "outage").await;
    t.stop().await;
}
