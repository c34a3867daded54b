//! Surviving faults, against the Slack emulator and a real database: the
//! database going away for 30 s in the middle of a fan-out and of form
//! submits, Socket Mode connections refreshed, dropped and gone silent,
//! bursts of 5xx answers from the Web API, SIGKILL at random points of a
//! fan-out, and SIGTERM. After each, every prompt is delivered exactly once
//! and every Slack event handled exactly once.

use crate::support::binary::*;
use crate::support::http::{get, wait_for_status};
use crate::support::wait::{until, Deadline};
use crate::support::{pg_admin_url, reply_burst, wait_acked, ConfigFixture, Db, Mode, TestApp};
use fieldnotes::domain::Source;
use rand::{Rng, SeedableRng};
use slack_emulator::{Emulator, EmulatorConfig, Failure, FieldAnswer, RateLimits};
use sqlx::Connection;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// PostgreSQL behind a TCP proxy the test controls. `cut` is what a bot sees
/// when the server stops: every open connection is dropped and the port
/// refuses new ones (nothing listens on it). `restore` listens on the same
/// port again. Only this test's bot goes through the proxy; the shared
/// cluster and everyone else's tests are untouched.
struct PgProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    inner: Arc<Mutex<ProxyInner>>,
}

#[derive(Default)]
struct ProxyInner {
    accept: Option<JoinHandle<()>>,
    conns: Vec<AbortHandle>,
}

impl PgProxy {
    async fn start(admin_url: &str) -> PgProxy {
        let u = url::Url::parse(admin_url).unwrap();
        let host = u.host_str().unwrap_or("127.0.0.1").to_string();
        let port = u.port().unwrap_or(5432);
        let upstream = tokio::net::lookup_host((host.as_str(), port))
            .await
            .unwrap()
            .next()
            .expect("PostgreSQL's address");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = PgProxy {
            addr: listener.local_addr().unwrap(),
            upstream,
            inner: Arc::default(),
        };
        p.serve(listener);
        p
    }

    /// `database_url` with the proxy as its host.
    fn url(&self, database_url: &str) -> String {
        let mut u = url::Url::parse(database_url).unwrap();
        u.set_host(Some("127.0.0.1")).unwrap();
        u.set_port(Some(self.addr.port())).unwrap();
        u.to_string()
    }

    fn serve(&self, listener: TcpListener) {
        let (inner, upstream) = (self.inner.clone(), self.upstream);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut down, _)) = listener.accept().await else {
                    continue;
                };
                let t = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                let mut i = inner.lock().unwrap();
                i.conns.retain(|c| !c.is_finished());
                i.conns.push(t.abort_handle());
            }
        });
        self.inner.lock().unwrap().accept = Some(accept);
    }

    /// Drops every connection and closes the port.
    async fn cut(&self) {
        let (accept, conns) = {
            let mut i = self.inner.lock().unwrap();
            (i.accept.take(), std::mem::take(&mut i.conns))
        };
        if let Some(a) = accept {
            a.abort();
            let _ = a.await;
        }
        for c in conns {
            c.abort();
        }
    }

    /// Listens on the same port again.
    async fn restore(&self) {
        let d = Deadline::after(Duration::from_secs(5)).every(Duration::from_millis(50));
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) => d.wait(|| format!("rebinding {}: {e}", self.addr)).await,
            }
        };
        self.serve(listener);
    }
}

/// Real time on purpose, where a test wants a moment of a real process's
/// run (see its callers).
async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

async fn pg(w: &World) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(&w.database_url).await.unwrap()
}

async fn count(c: &mut sqlx::PgConnection, sql: &str, arg: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(arg)
        .fetch_one(c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

// ---------------------------------------------------------------------------
// 1. The database goes away for 30 s
// ---------------------------------------------------------------------------

/// PostgreSQL stops for 30 s (through `PgProxy`: connections dropped, the
/// port refusing new ones) while a fan-out is under way and three reps have
/// their check-in forms open. The bot stays up and `/readyz` says "not
/// ready: database" until the database is back, then 200; each rep who
/// presses Save during the outage gets `response_action: errors` within
/// Slack's 3 s, with their text still in the form, and their second Save
/// after it is stored once; every prompt is delivered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30s_database_outage_mid_fan_out_and_mid_submit_loses_nothing() {
    let people = 60;
    let emu_config = EmulatorConfig {
        // Slack's own: an interaction not answered in 3 s is an error.
        ack_timeout: Duration::from_secs(3),
        ..EmulatorConfig::for_tests()
    };
    let mut w = world_on(
        Db::Postgres,
        people,
        emu_config,
        &ConfigFixture::fanout(240, "4s").toml(),
    )
    .await;
    let proxy = PgProxy::start(&pg_admin_url()).await;
    w.bot_database_url = proxy.url(&w.database_url);
    let addr = free_addr();
    w.emu
        .deliver_via_http(&format!("http://{addr}/slack/events"));
    w.queue_run();
    let mut bot = w.start_bot_http("bot", addr);
    wait_healthy(addr).await;

    // Three reps open their forms and type; the database goes before Save.
    w.wait_delivered(4, Duration::from_secs(30)).await;
    let mut forms = vec![];
    for rep in w
        .people
        .iter()
        .filter(|p| w.emu.dm_channel(p).is_some())
        .take(3)
    {
        let dm = w.emu.dm_channel(rep).unwrap();
        let prompt = w.emu.messages_in(&dm).into_iter().next().expect("a prompt");
        let d = w
            .emu
            .click_button(
                rep,
                &dm,
                &prompt.ts,
                fieldnotes::slack::views::OPEN_FORM_ACTION,
            )
            .await
            .unwrap();
        assert!(d.acked);
        let modal = w.emu.open_modal_for(rep).expect("the form opened");
        let text = format!("{rep}: Acme undercut us on price again");
        let answers = HashMap::from([("q:heard".to_string(), FieldAnswer::Text(text.clone()))]);
        let values = w.emu.fill_modal_values(&modal.view, &answers);
        forms.push((rep.clone(), modal.id, values, text));
    }
    proxy.cut().await;
    let outage = Instant::now();
    assert!(
        w.delivered() < people,
        "the outage landed mid-fan-out ({} sent)",
        w.delivered()
    );

    for (rep, view, values, text) in &forms {
        let d = w.emu.submit_view(rep, view, values.clone()).await.unwrap();
        assert!(d.acked, "{rep}'s Save was answered within Slack's 3 s");
        let resp = d.response.expect("an errors response");
        assert_eq!(resp["response_action"], "errors", "{resp}");
        let msg = resp["errors"]["q:heard"].as_str().unwrap_or_default();
        assert!(msg.contains("Your text is still here"), "{resp}");
        let form = w.emu.open_modal_for(rep).expect("the form stays open");
        assert!(
            form.view.to_string().contains(text.as_str()),
            "{rep} keeps their text"
        );
    }
    // A fourth rep clicks "Add field notes" in the outage: the prompt can't
    // be read, but a form (the note form, linked to the prompt) still opens
    // within the trigger's 3 s.
    let fourth = w
        .people
        .iter()
        .filter(|p| w.emu.dm_channel(p).is_some())
        .nth(3)
        .cloned()
        .expect("a fourth rep with a prompt");
    let dm = w.emu.dm_channel(&fourth).unwrap();
    let prompt = w.emu.messages_in(&dm).into_iter().next().expect("a prompt");
    let d = w
        .emu
        .click_button(
            &fourth,
            &dm,
            &prompt.ts,
            fieldnotes::slack::views::OPEN_FORM_ACTION,
        )
        .await
        .unwrap();
    assert!(d.acked, "the click was answered within Slack's 3 s");
    let modal = w
        .emu
        .open_modal_for(&fourth)
        .expect("a form opened in the outage");
    assert!(
        modal.view["private_metadata"]
            .as_str()
            .unwrap_or_default()
            .contains("prompt_id"),
        "{}",
        modal.view
    );
    let readyz = format!("http://{addr}/readyz");
    let body = wait_for_status(&readyz, 503, Duration::from_secs(10)).await;
    assert_eq!(body, "not ready: database\n");
    assert!(bot.is_running(), "the bot is up during the outage");
    // Real time on purpose: the scenario is a 30 s outage of a real
    // PostgreSQL, against a real process with real timeouts.
    tokio::time::sleep_until((outage + Duration::from_secs(30)).into()).await;
    assert!(
        bot.is_running(),
        "the bot is up after 30 s without its database"
    );
    assert_eq!(
        get(&readyz).await.0,
        503,
        "not ready until the database is back"
    );
    proxy.restore().await;
    wait_for_status(&readyz, 200, Duration::from_secs(30)).await;

    // Save again: stored this time.
    for (rep, view, values, _) in &forms {
        let d = w.emu.submit_view(rep, view, values.clone()).await.unwrap();
        assert!(d.acked);
        assert!(d.response.is_none(), "saved: {:?}", d.response);
        assert!(w.emu.open_modal_for(rep).is_none(), "the form closed");
    }
    w.wait_all_recorded_sent(Duration::from_secs(90)).await;
    assert!(bot.is_running());
    kill(bot);
    w.assert_each_exactly_once();

    let store = fieldnotes::store::Store::connect(&w.database_url)
        .await
        .unwrap();
    let notes = store
        .insights(&fieldnotes::store::InsightQuery::default())
        .await
        .unwrap();
    store.close().await;
    for (rep, _, _, text) in &forms {
        let theirs: Vec<_> = notes.iter().filter(|n| &n.user_id == rep).collect();
        assert_eq!(theirs.len(), 1, "{rep}'s note is stored once");
        assert!(
            theirs[0].text.contains(text.as_str()),
            "{:?}",
            theirs[0].text
        );
    }
    w.finish().await;
}

// ---------------------------------------------------------------------------
// 2. Socket Mode: refresh, dropped connection, silent server
// ---------------------------------------------------------------------------

const REPLIERS: &[&str] = &["U0REP0001", "U0REP0002", "U0REP0003", "U0REPXTRA"];

/// Every stored reply gets a confirmation: a workspace allowing 6,000
/// messages a minute keeps a burst short.
fn fast_config() -> String {
    ConfigFixture::shared().fast_confirmations().toml()
}

/// Streams `n` DM replies (8 in flight at a time) to the in-process bot
/// over Socket Mode; injects `fault` once 15 are acked, while others are on
/// the wire. Afterwards the bot has reconnected, Slack got an ack for every
/// reply (redelivering what was not acked around the fault), and each reply
/// is one note.
async fn socket_fault_loses_no_envelope(fault: fn(&Emulator)) {
    let emu_config = EmulatorConfig {
        // Slack's 3 s ack timeout; its retries (at once, ~1 min, ~5 min)
        // scaled down, but long enough to span a reconnect.
        ack_timeout: Duration::from_secs(3),
        http_retry_delays: vec![
            Duration::from_secs(1),
            Duration::from_secs(15),
            Duration::from_secs(30),
        ],
        ..EmulatorConfig::for_tests()
    };
    let t = TestApp::builder(Db::Sqlite, Mode::SocketMode)
        .config(fast_config())
        .emulator(emu_config)
        .spawn()
        .await;
    t.queue_run(None).await;
    t.wait_for_prompts(REPLIERS.len()).await;
    let dms: Vec<(String, String)> = REPLIERS
        .iter()
        .map(|r| (r.to_string(), t.emu.dm_channel(r).expect("a DM")))
        .collect();

    let n = 60;
    let (burst, acked_so_far) = reply_burst(&t.emu, dms, n, "fault", 8);
    wait_acked(&acked_so_far, 15, Duration::from_secs(30)).await;
    let opened = t.emu.socket_connections_opened();
    fault(&t.emu);
    let results = burst.await.unwrap();

    assert!(
        t.emu.socket_connections_opened() > opened,
        "the bot reconnected"
    );
    assert_eq!(
        fieldnotes::ops::readiness(t.app().state()).await,
        Ok(()),
        "ready again: database reachable, Slack connected"
    );
    let unacked: Vec<(&String, u32)> = results
        .iter()
        .filter(|(_, d)| !d.acked)
        .map(|(t, d)| (t, d.attempts))
        .collect();
    assert!(unacked.is_empty(), "never acked: {unacked:?}");
    let redelivered = results.iter().filter(|(_, d)| d.attempts > 1).count();
    assert!(
        redelivered > 0,
        "the fault caught envelopes on the wire, and Slack sent them again"
    );
    t.wait_inbox_drained().await;
    let notes: Vec<String> = t
        .insights()
        .await
        .into_iter()
        .filter(|i| i.source == Source::Reply && i.text.starts_with("fault "))
        .map(|i| i.text)
        .collect();
    let distinct: HashSet<&String> = notes.iter().collect();
    assert_eq!(distinct.len(), notes.len(), "no reply is stored twice");
    assert_eq!(distinct.len(), n, "every reply is stored");
    t.stop().await;
}

/// Slack asks for a refresh (`disconnect`, `refresh_requested`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_refresh_requested_reconnects_and_loses_no_envelope() {
    socket_fault_loses_no_envelope(|emu| {
        let emu = emu.clone();
        tokio::spawn(async move { emu.request_socket_refresh().await });
    })
    .await;
}

/// The TCP connection drops without a close frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_dropped_connection_reconnects_and_loses_no_envelope() {
    socket_fault_loses_no_envelope(Emulator::cut_socket_connections).await;
}

/// The server stops answering pings (and sending, and reading acks) but
/// keeps the connection open: only the missing pongs tell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_silent_server_is_noticed_and_loses_no_envelope() {
    socket_fault_loses_no_envelope(Emulator::silence_socket_connections).await;
}

// ---------------------------------------------------------------------------
// 3. 5xx bursts from the Web API
// ---------------------------------------------------------------------------

/// Bursts of 500/502/503 from the Web API: on the audience lookup before
/// the fan-out, on chat.postMessage twice during it (some after Slack
/// already posted, as when the answer is lost), and on the DM history
/// lookup that checks an uncertain send. Everything is retried, and each
/// person gets exactly one prompt: no duplicate, no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_api_5xx_bursts_are_retried_and_each_prompt_goes_once() {
    let people = 40;
    let w = world_with(Db::Sqlite, 600, people, RateLimits::disabled()).await;
    w.emu
        .fail_next("conversations.members", 2, Failure::Status(503));
    w.queue_run();
    let bot = w.start_bot("bot");
    let server_errors = |w: &World| {
        w.emu
            .calls_to("chat.postMessage")
            .iter()
            .filter(|c| c.status >= 500)
            .count()
    };

    w.wait_delivered(5, Duration::from_secs(30)).await;
    // Every 5xx leaves the send uncertain (Slack may have acted), so each
    // costs a paced DM history check (Tier 3): the bursts are kept short.
    let burst = [
        Failure::Status(500),
        Failure::Status(502),
        Failure::ApplyThenStatus(500),
        Failure::Status(503),
        Failure::ApplyThenStatus(502),
        Failure::Status(500),
    ];
    let second = [
        Failure::Status(503),
        Failure::ApplyThenStatus(503),
        Failure::Status(502),
        Failure::ApplyThenStatus(500),
    ];
    for f in &burst {
        w.emu.fail_next("chat.postMessage", 1, f.clone());
    }
    // The uncertain sends' check of the DM meets a 502 first.
    w.emu
        .fail_next("conversations.history", 1, Failure::Status(502));
    until("the burst to hit", Duration::from_secs(30), || {
        server_errors(&w) >= burst.len()
    })
    .await;
    w.wait_delivered(20, Duration::from_secs(60)).await;
    for f in &second {
        w.emu.fail_next("chat.postMessage", 1, f.clone());
    }
    w.wait_all_recorded_sent(Duration::from_secs(90)).await;
    kill(bot);
    assert_eq!(
        server_errors(&w),
        burst.len() + second.len(),
        "every injected 5xx was answered"
    );
    assert!(
        w.emu
            .calls_to("conversations.history")
            .iter()
            .any(|c| c.status == 200),
        "uncertain sends were checked in the DM"
    );
    w.assert_each_exactly_once();
    w.finish().await;
}

// ---------------------------------------------------------------------------
// 4. SIGKILL at random points, 20 times
// ---------------------------------------------------------------------------

/// The bot is SIGKILLed at a random point of a fan-out 20 times in a row
/// (while starting up, just after one of its posts lands, or anywhere in
/// its first 1.5 s), then a last process runs clean: no duplicate, no loss.
/// The seed is printed; `FAULTS_SEED=<n>` replays its choices (where each
/// kill lands still depends on timing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_20_times_then_each_prompt_goes_once() {
    let seed: u64 = std::env::var("FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("SIGKILL loop seed: {seed} (replay with FAULTS_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let people = 80;
    let w = world_with(Db::Sqlite, 300, people, RateLimits::disabled()).await;
    w.queue_run();
    let t0 = Instant::now();
    for i in 0..20 {
        let bot = w.start_bot(&format!("kill{i:02}"));
        let before = w.delivered();
        // Real time on purpose: the SIGKILL lands at a random moment of a
        // real process's run (seeded, so `FAULTS_SEED` replays it).
        match rng.random_range(0..3) {
            // Early: starting up, migrating, planning the run (claimed for
            // one lease), the first claim and post.
            0 => sleep_ms(rng.random_range(0..60)).await,
            // Right after one of its posts lands, most likely before it is
            // recorded as sent: the next attempt must find it in the DM.
            1 => {
                let posts = w.emu.call_count("chat.postMessage") + rng.random_range(1..=2);
                let t0 = Instant::now();
                while w.emu.call_count("chat.postMessage") < posts
                    && t0.elapsed() < Duration::from_secs(5)
                {
                    tokio::task::yield_now().await;
                }
                std::thread::sleep(Duration::from_micros(rng.random_range(0..3000)));
            }
            // Anywhere in its first 1.5 s.
            _ => sleep_ms(rng.random_range(0..1500)).await,
        }
        kill(bot);
        println!(
            "kill {i:2} at {:>6.2?}: {before:2} -> {:2} people have their prompt",
            t0.elapsed(),
            w.delivered()
        );
    }
    let before = w.delivered();
    assert!(
        before < people,
        "the kills landed mid-fan-out ({before} of {people} sent; seed {seed})"
    );
    let bot = w.start_bot("clean");
    w.wait_all_recorded_sent(Duration::from_secs(120)).await;
    kill(bot);
    // How often a kill fell between a post and its record (timing decides).
    let found = w
        .log_tails(usize::MAX)
        .matches("recorded, not resent")
        .count();
    println!("{found} post(s) left unrecorded by a kill were found in the DM, not resent");
    w.assert_each_exactly_once();
    w.finish().await;
}

// ---------------------------------------------------------------------------
// 5. SIGTERM
// ---------------------------------------------------------------------------

/// SIGTERM in the middle of a fan-out: the bot finishes what it has on the
/// wire (every message Slack has is recorded as sent, none left uncertain),
/// hands back its leases and leaves the worker pool, and exits 0 within
/// `[bot] lease`. A second process then sends the rest, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_fan_out_finishes_releases_leases_and_exits_0_within_the_lease() {
    let people = 40;
    let lease = Duration::from_secs(10);
    let w = world_on(
        Db::Postgres,
        people,
        EmulatorConfig::for_tests(),
        &ConfigFixture::fanout(240, "10s").toml(),
    )
    .await;
    w.queue_run();
    let mut bot = w.start_bot("term");
    w.wait_delivered(8, Duration::from_secs(30)).await;
    let mut db = pg(&w).await;
    let workers: Vec<String> = sqlx::query_scalar("SELECT worker_id FROM workers")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(workers.len(), 1, "{workers:?}");
    let worker = &workers[0];

    bot.signal("-TERM");
    let status = bot
        .exit_within(lease, || format!("SIGTERM was sent\n{}", w.log_tails(20)))
        .await;
    assert!(
        status.success(),
        "exit status {status}\n{}",
        w.log_tails(20)
    );
    let log = std::fs::read_to_string(w.log_path("term")).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    let delivered = w.delivered();
    assert!(delivered < people, "SIGTERM landed mid-fan-out");

    let now_ms = chrono::Utc::now().timestamp_millis();
    for table in ["prompts", "reminders"] {
        let held = count(
            &mut db,
            &format!(
                "SELECT COUNT(*) FROM {table} WHERE lease_owner = $1 AND status = 'sending' AND lease_until > {now_ms}"
            ),
            worker,
        )
        .await;
        assert_eq!(held, 0, "{table} still leased to the stopped worker");
    }
    let runs = count(
        &mut db,
        &format!("SELECT COUNT(*) FROM checkin_runs WHERE lease_owner = $1 AND status = 'planning' AND lease_until > {now_ms}"),
        worker,
    )
    .await;
    assert_eq!(runs, 0, "a run still leased to the stopped worker");
    let registered = count(
        &mut db,
        "SELECT COUNT(*) FROM workers WHERE worker_id = $1",
        worker,
    )
    .await;
    assert_eq!(registered, 0, "the worker left the pool");
    // In-flight sends finished: every DM Slack has is recorded as sent.
    let sent = count(
        &mut db,
        "SELECT COUNT(*) FROM prompts WHERE status = 'sent' AND lease_owner = $1",
        worker,
    )
    .await;
    assert_eq!(sent, delivered as i64, "every posted prompt is recorded");
    let uncertain: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM prompts WHERE uncertain <> 0")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(uncertain, 0, "no send was left in doubt");
    db.close().await.ok();

    let rest = w.start_bot("rest");
    w.wait_all_recorded_sent(Duration::from_secs(60)).await;
    kill(rest);
    w.assert_each_exactly_once();
    w.finish().await;
}
