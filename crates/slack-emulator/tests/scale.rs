//! A workspace of 10,000 people: bulk fixtures, a DM to each over HTTP, and
//! the paged reads a fan-out makes (users.list, conversations.members,
//! users.info), with the per-user counts the benchmark relies on.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use slack_emulator::{Emulator, EmulatorConfig, User};

const PEOPLE: usize = 10_000;
const CHANNEL: &str = "C0EVERYONE";

fn id(i: usize) -> String {
    format!("U0S{i:06}")
}

async fn call(http: &reqwest::Client, emu: &Emulator, method: &str, body: Value) -> Value {
    let r = http
        .post(format!("{}/{method}", emu.api_url()))
        .bearer_auth(&emu.config().bot_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{method}");
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_people_each_get_one_dm() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.unwrap();
    let zones = ["America/New_York", "Europe/London", "Asia/Kolkata", "UTC"];
    let t = Instant::now();
    emu.add_users((0..PEOPLE).map(|i| User::new(&id(i), &format!("person{i}"), zones[i % 4])));
    let ids: Vec<String> = (0..PEOPLE).map(id).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    emu.add_channel(CHANNEL, "everyone", &refs);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "setup {:?}",
        t.elapsed()
    );
    emu.deactivate_user(&id(7));
    // Replacing a user keeps one entry, in place.
    emu.add_user(User::new(&id(3), "renamed", "UTC"));
    let users = emu.users();
    assert_eq!(users.len(), PEOPLE + 1);
    assert_eq!(users[4].name, "renamed"); // the bot is first

    let http = reqwest::Client::new();

    // users.list, paged; a limit above 1000 is cut to 1000.
    let mut seen = HashSet::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let r = call(
            &http,
            &emu,
            "users.list",
            json!({"limit": 5000, "cursor": cursor}),
        )
        .await;
        let members = r["members"].as_array().unwrap();
        assert!(members.len() <= 1000);
        for m in members {
            for k in ["tz", "tz_label", "tz_offset", "is_bot", "deleted"] {
                assert!(m.get(k).is_some(), "users.list member lacks {k}: {m}");
            }
            if m["id"] == id(7) {
                assert_eq!(m["deleted"], true);
            }
            if m["id"] == id(2) {
                assert_eq!(m["tz"], "Asia/Kolkata");
                assert_eq!(m["tz_offset"], 19800);
                assert_eq!(m["tz_label"], "India Standard Time");
                assert_eq!(m["is_bot"], false);
            }
            if m["id"] == emu.config().bot_user_id {
                assert_eq!(m["is_bot"], true);
            }
            seen.insert(m["id"].as_str().unwrap().to_string());
        }
        pages += 1;
        cursor = r["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_string();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!((seen.len(), pages), (PEOPLE + 1, 11));

    // conversations.members, paged.
    let mut members = vec![];
    let mut cursor = String::new();
    loop {
        let r = call(
            &http,
            &emu,
            "conversations.members",
            json!({"channel": CHANNEL, "limit": 1000, "cursor": cursor}),
        )
        .await;
        members.extend(
            r["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string()),
        );
        cursor = r["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_string();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(members, ids);

    // One DM to each (to the user id, which opens the IM), plus users.info.
    let t = Instant::now();
    let results: Vec<Value> = futures::stream::iter(ids.clone())
        .map(|u| {
            let (http, emu) = (http.clone(), emu.clone());
            async move {
                if u.ends_with('0') {
                    let r = call(&http, &emu, "users.info", json!({"user": u})).await;
                    assert_eq!(r["user"]["id"], u.as_str());
                }
                call(
                    &http,
                    &emu,
                    "chat.postMessage",
                    json!({"channel": u, "text": "What did you hear this week?",
                           "metadata": {"event_type": "prompt", "event_payload": {"user": u}}}),
                )
                .await
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let elapsed = t.elapsed();
    let ok = results.iter().filter(|r| r["ok"] == true).count();
    // The deactivated user cannot be messaged.
    assert_eq!(ok, PEOPLE - 1);
    assert!(results.iter().any(|r| r["error"] == "user_disabled"));
    eprintln!("{PEOPLE} DMs + {} users.info in {elapsed:?}", PEOPLE / 10);

    let counts = emu.bot_message_counts_by_dm_user();
    assert_eq!(counts.len(), PEOPLE, "humans only");
    assert_eq!(counts[&id(7)], 0);
    assert_eq!(counts.values().filter(|&&n| n == 1).count(), PEOPLE - 1);
    assert_eq!(emu.call_count("chat.postMessage"), PEOPLE);
    assert_eq!(emu.call_count("users.info"), PEOPLE / 10);
    assert_eq!(emu.call_count("users.list"), 11);
    assert_eq!(emu.messages().len(), PEOPLE - 1);

    // Each DM reads back on its own.
    let dm = emu.dm_channel(&id(1234)).unwrap();
    assert_eq!(emu.messages_in(&dm).len(), 1);
    let r = call(
        &http,
        &emu,
        "conversations.history",
        json!({"channel": dm, "include_all_metadata": true}),
    )
    .await;
    assert_eq!(
        r["messages"][0]["metadata"]["event_payload"]["user"],
        id(1234)
    );
}
