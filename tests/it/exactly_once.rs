//! Exactly-once delivery across crashes and replicas, with real processes:
//! the `fieldnotes` binary runs against the in-process Slack emulator (with
//! Slack's rate limits) and a real database, is killed with SIGKILL in the
//! middle of a fan-out, and the emulator counts every DM.

use crate::support::binary::*;
use crate::support::process::KillOnDrop;
use crate::support::wait::until;
use crate::support::Db;
use slack_emulator::RateLimits;
use std::process::Stdio;
use std::time::Duration;

const PEOPLE: usize = 300;

async fn world(db: Db, rate_per_min: u32) -> World {
    world_of(db, rate_per_min, PEOPLE).await
}

async fn world_of(db: Db, rate_per_min: u32, people: usize) -> World {
    world_with(db, rate_per_min, people, RateLimits::slack()).await
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
    // Every row recorded sent: nothing can be claimed (and re-sent) again.
    // Killing the bot then ends anything still on the wire.
    w.wait_all_recorded_sent(Duration::from_secs(30)).await;
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
    w.wait_all_recorded_sent(Duration::from_secs(30)).await;
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
    let log = w.log_path("hup");
    let child = KillOnDrop::spawn(
        w.command(&["run"])
            .env("RUST_LOG", "fieldnotes=info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait_for = |needle: &'static str| {
        let read = &read;
        async move {
            until(
                &format!("`{needle}` in the log"),
                Duration::from_secs(10),
                || read().contains(needle),
            )
            .await;
        }
    };
    wait_for("sending prompts only").await;
    child.signal("-HUP");
    wait_for("why=\"SIGHUP\"").await;
    assert!(read().contains("config reloaded"), "{}", read());

    // A bad edit: logged with file, line and key; the bot keeps running.
    let path = w.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = text.replace("0 3 1 1 *", "0 3 1 13 *");
    let line = 1 + bad
        .lines()
        .position(|l| l.starts_with("cadence = \"0 3 1 13 *\""))
        .expect("the cadence line");
    std::fs::write(&path, bad).unwrap();
    wait_for("config edit rejected").await;
    let l = read();
    assert!(l.contains("key=checkin.pulse.cadence"), "{l}");
    assert!(l.contains(&format!("line={line}")), "line {line}: {l}");
    assert!(l.contains("month value 13 is out of range"), "{l}");
    kill(child);
    w.finish().await;
}

/// Signed DM replies are bursting in over HTTP when the bot is SIGKILLed.
/// After a restart every reply that got a 200 is a note, none twice, and
/// Slack's later retries of the refused ones are stored once too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_then_restart_loses_no_acked_event() {
    use crate::support::wait::Deadline;
    use crate::support::{reply_burst, wait_acked};
    use std::collections::HashSet;

    // Every reply gets a confirmation in its DM: a workspace that allows
    // 6,000 messages a minute keeps the test short (Slack's 1/s per DM
    // still holds).
    let limits = RateLimits {
        post_message_workspace_per_min: 6000,
        ..RateLimits::slack()
    };
    let w = world_with(Db::Sqlite, 6000, 20, limits).await;
    let addr = free_addr();
    w.emu
        .deliver_via_http(&format!("http://{addr}/slack/events"));
    w.queue_run();
    let a = w.start_bot_http("a", addr);
    w.wait_delivered(w.people.len(), Duration::from_secs(60))
        .await;
    let dms: Vec<(String, String)> = w
        .people
        .iter()
        .map(|p| (p.clone(), w.emu.dm_channel(p).expect("a DM")))
        .collect();

    let n = 600;
    let (burst, acked_so_far) = reply_burst(&w.emu, dms, n, "kill", 32);
    wait_acked(&acked_so_far, 150, Duration::from_secs(60)).await;
    kill(a);
    let results = burst.await.unwrap();
    let acked: HashSet<String> = results
        .iter()
        .filter(|(_, d)| d.acked)
        .map(|(t, _)| t.clone())
        .collect();
    let refused: Vec<_> = results.iter().filter(|(_, d)| !d.acked).collect();
    assert!(
        !refused.is_empty() && acked.len() >= 150,
        "the kill landed mid-burst ({} acked, {} refused)",
        acked.len(),
        refused.len()
    );

    let b = w.start_bot_http("b", addr);
    wait_healthy(addr).await;
    // Slack retries what it got no 200 for (a minute later, in real life).
    for (_, d) in &refused {
        let r = w.emu.redeliver(d).await.unwrap();
        assert!(r.acked, "a retry after the restart is acked");
    }
    let store = fieldnotes::store::Store::connect(&w.database_url)
        .await
        .unwrap();
    let d = Deadline::after(Duration::from_secs(120)).every(Duration::from_millis(50));
    let notes = loop {
        let backlog = store.inbox_backlog().await.unwrap();
        let notes: Vec<String> = store
            .insights(&fieldnotes::store::InsightQuery::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.text.starts_with("kill "))
            .map(|i| i.text)
            .collect();
        if backlog == 0 && notes.len() >= n {
            break notes;
        }
        d.wait(|| {
            let log = std::fs::read_to_string(w.log_path("b")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            format!(
                "{backlog} events still in the inbox, {} notes\n--- b.log, newest first\n{}",
                notes.len(),
                tail.join("\n")
            )
        })
        .await;
    };
    kill(b);
    store.close().await;
    let distinct: HashSet<String> = notes.iter().cloned().collect();
    assert_eq!(distinct.len(), notes.len(), "no reply is stored twice");
    assert_eq!(distinct.len(), n, "every reply is stored");
    let lost: Vec<_> = acked.difference(&distinct).collect();
    assert!(lost.is_empty(), "acked but not stored: {lost:?}");
    w.finish().await;
}

/// A 429 storm: the bot is configured ten times faster than the workspace
/// lets it post. Every prompt still goes out exactly once, and each 429's
/// `Retry-After` (at least 1 s) is honoured by every sender: after the
/// calls already on the wire land, nothing is posted until it runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_delivers_every_prompt_and_honours_the_pauses() {
    let limits = RateLimits {
        post_message_workspace_per_min: 120,
        ..RateLimits::slack()
    };
    let w = world_with(Db::Sqlite, 1200, 40, limits).await;
    w.queue_run();
    let a = w.start_bot("a");
    w.wait_delivered(w.people.len(), Duration::from_secs(90))
        .await;
    // Every row recorded sent: nothing can be claimed (and re-sent) again,
    // so the counts below are final.
    w.wait_all_recorded_sent(Duration::from_secs(30)).await;
    kill(a);
    w.assert_each_exactly_once();

    let posts = w.emu.calls_to("chat.postMessage");
    let limited: Vec<_> = posts.iter().filter(|c| c.status == 429).collect();
    assert!(
        !limited.is_empty(),
        "the bot's rate is over the workspace's: Slack said 429"
    );
    // A call on the wire when the 429 came back may still land just after
    // it; none may start inside the rest of the pause.
    let on_the_wire = Duration::from_millis(500);
    let pause = Duration::from_secs(1);
    for l in &limited {
        let inside: Vec<_> = posts
            .iter()
            .filter(|c| c.at > l.at + on_the_wire && c.at < l.at + pause)
            .collect();
        assert!(
            inside.is_empty(),
            "{} call(s) during a Retry-After pause",
            inside.len()
        );
    }
    // The pause is shared, not one row's: far fewer 429s than prompts.
    assert!(
        limited.len() < w.people.len() / 2,
        "{} 429s for {} prompts",
        limited.len(),
        w.people.len()
    );
    w.finish().await;
}
