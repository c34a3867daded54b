//! Message metadata, conversations.history, the failures that lose an
//! answer after Slack acted, and Slack's tiers for the new methods.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use slack_emulator::{Emulator, EmulatorConfig, Failure, RateLimits};
use slack_morphism::prelude::*;

/// POSTs a JSON body with the bot token: (HTTP status, body).
async fn call(emu: &Emulator, method: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/{method}", emu.api_url()))
        .bearer_auth(&emu.config().bot_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// POSTs a form body with the bot token.
async fn call_form(emu: &Emulator, method: &str, form: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .post(format!("{}/{method}", emu.api_url()))
        .bearer_auth(&emu.config().bot_token)
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn post(emu: &Emulator, channel: &str, text: &str) -> String {
    let (_, r) = call(
        emu,
        "chat.postMessage",
        json!({"channel": channel, "text": text}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    r["ts"].as_str().unwrap().to_string()
}

async fn history(emu: &Emulator, args: Value) -> Value {
    let (status, r) = call(emu, "conversations.history", args).await;
    assert_eq!(status, 200);
    r
}

fn texts(r: &Value) -> Vec<String> {
    r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn metadata_on_post_message_and_update() {
    let emu = start().await;
    let md = json!({"event_type": "checkin_prompt", "event_payload": {"run": "r1", "n": 3}});

    // JSON body: metadata as an object.
    let (_, r) = call(
        &emu,
        "chat.postMessage",
        json!({"channel": ALICE, "text": "json", "metadata": md}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let dm = r["channel"].as_str().unwrap().to_string();
    let ts = r["ts"].as_str().unwrap().to_string();
    assert_eq!(emu.messages_in(&dm)[0].metadata, Some(md.clone()));

    // Form body: metadata as a JSON-encoded string.
    let r = call_form(
        &emu,
        "chat.postMessage",
        &[
            ("channel", SALES),
            ("text", "form"),
            ("metadata", &md.to_string()),
        ],
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(emu.messages_in(SALES)[0].metadata, Some(md.clone()));

    // Malformed metadata is refused and nothing is posted.
    for bad in [
        json!({"event_payload": {}}),
        json!({"event_type": "", "event_payload": {}}),
        json!({"event_type": 7, "event_payload": {}}),
        json!({"event_type": "x"}),
        json!({"event_type": "x", "event_payload": "not an object"}),
        json!({"event_type": "x", "event_payload": [1]}),
        json!({}),
        json!("not json at all"),
        json!([1, 2]),
    ] {
        let (_, r) = call(
            &emu,
            "chat.postMessage",
            json!({"channel": BOB, "text": "bad", "metadata": bad}),
        )
        .await;
        assert_eq!(r["error"], "invalid_metadata_format", "{bad}");
    }
    let r = call_form(
        &emu,
        "chat.postMessage",
        &[("channel", BOB), ("text", "bad"), ("metadata", "{oops")],
    )
    .await;
    assert_eq!(r["error"], "invalid_metadata_format");
    assert!(emu
        .dm_channel(BOB)
        .is_none_or(|c| emu.messages_in(&c).is_empty()));

    // chat.update without metadata keeps it.
    let (_, r) = call(
        &emu,
        "chat.update",
        json!({"channel": dm, "ts": ts, "text": "edited"}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let m = &emu.messages_in(&dm)[0];
    assert_eq!((m.text.as_str(), m.metadata.clone()), ("edited", Some(md)));

    // ... replaces it when given ...
    let md2 = json!({"event_type": "checkin_answered", "event_payload": {"run": "r1"}});
    let r = call_form(
        &emu,
        "chat.update",
        &[
            ("channel", &dm),
            ("ts", &ts),
            ("metadata", &md2.to_string()),
        ],
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(emu.messages_in(&dm)[0].metadata, Some(md2.clone()));

    // ... refuses a malformed one ...
    let (_, r) = call(
        &emu,
        "chat.update",
        json!({"channel": dm, "ts": ts, "metadata": {"event_type": "x"}}),
    )
    .await;
    assert_eq!(r["error"], "invalid_metadata_format");
    assert_eq!(emu.messages_in(&dm)[0].metadata, Some(md2));

    // ... and removes it with `{}`.
    let (_, r) = call(
        &emu,
        "chat.update",
        json!({"channel": dm, "ts": ts, "metadata": {}}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(emu.messages_in(&dm)[0].metadata, None);
}

#[tokio::test]
async fn history_pages_newest_first_and_hides_replies_and_ephemerals() {
    let emu = start().await;
    // The bot's DM, opened by posting to the user id.
    let mut ts = vec![];
    for i in 0..5 {
        ts.push(post(&emu, ALICE, &format!("m{i}")).await);
    }
    let dm = emu.dm_channel(ALICE).unwrap();
    // A thread reply (not at top level) and an ephemeral (never in history).
    let (_, r) = call(
        &emu,
        "chat.postMessage",
        json!({"channel": dm, "text": "reply", "thread_ts": ts[1]}),
    )
    .await;
    assert_eq!(r["ok"], true);
    let (_, r) = call(
        &emu,
        "chat.postEphemeral",
        json!({"channel": SALES, "user": ALICE, "text": "psst"}),
    )
    .await;
    assert_eq!(r["ok"], true);

    let all = history(&emu, json!({"channel": dm})).await;
    assert_eq!(all["ok"], true);
    assert_eq!(texts(&all), ["m4", "m3", "m2", "m1", "m0"]);
    assert_eq!(all["has_more"], false);
    assert_eq!(all["pin_count"], 0);
    assert_eq!(all["response_metadata"]["next_cursor"], "");
    let m = &all["messages"][0];
    assert_eq!(m["type"], "message");
    assert_eq!(m["bot_id"], emu.config().bot_id);
    assert_eq!(m["user"], emu.config().bot_user_id);
    assert_eq!(m["ts"], ts[4]);
    // The parent of a thread says so.
    assert_eq!(all["messages"][3]["reply_count"], 1);
    assert_eq!(all["messages"][3]["thread_ts"], ts[1]);
    assert!(all["messages"][0].get("reply_count").is_none());

    // Ephemeral messages stay out of a channel's history.
    let sales = history(&emu, json!({"channel": SALES})).await;
    assert_eq!(sales["messages"], json!([]));

    // Pages of 2, with a message posted between pages: no repeats, no gaps.
    let p1 = history(&emu, json!({"channel": dm, "limit": 2})).await;
    assert_eq!(texts(&p1), ["m4", "m3"]);
    assert_eq!(p1["has_more"], true);
    let c1 = p1["response_metadata"]["next_cursor"].as_str().unwrap();
    assert!(!c1.is_empty());
    post(&emu, ALICE, "late").await;
    let p2 = history(&emu, json!({"channel": dm, "limit": 2, "cursor": c1})).await;
    assert_eq!(texts(&p2), ["m2", "m1"]);
    let c2 = p2["response_metadata"]["next_cursor"].as_str().unwrap();
    let p3 = history(&emu, json!({"channel": dm, "limit": 2, "cursor": c2})).await;
    assert_eq!(texts(&p3), ["m0"]);
    assert_eq!(p3["has_more"], false);
    assert_eq!(p3["response_metadata"]["next_cursor"], "");

    // oldest / latest, exclusive unless `inclusive`.
    let r = history(
        &emu,
        json!({"channel": dm, "oldest": ts[1], "latest": ts[3]}),
    )
    .await;
    assert_eq!(texts(&r), ["m2"]);
    let r = history(
        &emu,
        json!({"channel": dm, "oldest": ts[1], "latest": ts[3], "inclusive": true}),
    )
    .await;
    assert_eq!(texts(&r), ["m3", "m2", "m1"]);
    assert_eq!(r["latest"], ts[3]);
    let r = call_form(
        &emu,
        "conversations.history",
        &[("channel", &dm), ("oldest", &ts[3]), ("inclusive", "1")],
    )
    .await;
    assert_eq!(texts(&r), ["late", "m4", "m3"]);

    // Errors.
    for (args, code) in [
        (json!({}), "channel_not_found"),
        (json!({"channel": "C0NOPE"}), "channel_not_found"),
        (
            json!({"channel": dm, "cursor": "garbage"}),
            "invalid_cursor",
        ),
        (
            json!({"channel": dm, "oldest": "yesterday"}),
            "invalid_ts_oldest",
        ),
        (
            json!({"channel": dm, "latest": "1.2.3"}),
            "invalid_ts_latest",
        ),
    ] {
        let r = history(&emu, args.clone()).await;
        assert_eq!(r["error"], code, "{args}");
    }
    emu.add_channel("C0OTHER01", "other", &[ALICE]);
    let r = history(&emu, json!({"channel": "C0OTHER01"})).await;
    assert_eq!(r["error"], "not_in_channel");
}

#[tokio::test]
async fn history_returns_metadata_only_when_asked_and_parses_in_slack_morphism() {
    let emu = start().await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let s = client.open_session(&token);
    let open = s
        .conversations_open(&SlackApiConversationsOpenRequest::new().with_users(vec![BOB.into()]))
        .await
        .unwrap();
    let dm = open.channel.id;
    let md = SlackMessageMetadata::new("checkin_prompt".into())
        .with_event_payload([("run".to_string(), "r7".to_string())].into());
    s.chat_post_message(&SlackApiChatPostMessageRequest::new(
        dm.clone(),
        SlackMessageContent::new()
            .with_text("prompt".into())
            .with_metadata(md.clone()),
    ))
    .await
    .unwrap();

    let plain = s
        .conversations_history(&SlackApiConversationsHistoryRequest::new().with_channel(dm.clone()))
        .await
        .unwrap();
    assert_eq!(plain.messages.len(), 1);
    assert_eq!(plain.messages[0].content.text.as_deref(), Some("prompt"));
    assert_eq!(plain.messages[0].content.metadata, None);
    assert_eq!(plain.has_more, Some(false));

    let full = s
        .conversations_history(
            &SlackApiConversationsHistoryRequest::new()
                .with_channel(dm.clone())
                .with_include_all_metadata(true),
        )
        .await
        .unwrap();
    assert_eq!(full.messages[0].content.metadata, Some(md));
    assert_eq!(
        full.messages[0]
            .sender
            .bot_id
            .as_ref()
            .map(|b| b.0.as_str()),
        Some(emu.config().bot_id.as_str())
    );
}

#[tokio::test]
async fn history_limit_is_capped_at_999() {
    let emu = start().await;
    let bot = emu.config().bot_user_id.clone();
    emu.add_channel("C0BIG0001", "big", &[&bot]);
    let http = reqwest::Client::new();
    let url = format!("{}/chat.postMessage", emu.api_url());
    let token = emu.config().bot_token.clone();
    let mut tasks = vec![];
    for chunk in 0..10 {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..101 {
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"channel": "C0BIG0001", "text": format!("{chunk}-{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = history(&emu, json!({"channel": "C0BIG0001", "limit": 5000})).await;
    assert_eq!(r["messages"].as_array().unwrap().len(), 999);
    assert_eq!(r["has_more"], true);
    let c = r["response_metadata"]["next_cursor"].as_str().unwrap();
    let r2 = history(
        &emu,
        json!({"channel": "C0BIG0001", "limit": 5000, "cursor": c}),
    )
    .await;
    assert_eq!(r2["messages"].as_array().unwrap().len(), 11);
    let default = history(&emu, json!({"channel": "C0BIG0001"})).await;
    assert_eq!(default["messages"].as_array().unwrap().len(), 100);
    // Newest first all the way down.
    let tss: Vec<&str> = r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["ts"].as_str().unwrap())
        .collect();
    assert!(tss.windows(2).all(|w| w[0] > w[1]));
}

#[tokio::test]
async fn apply_then_status_posts_but_loses_the_answer() {
    let emu = start().await;
    emu.fail_next("chat.postMessage", 1, Failure::ApplyThenStatus(500));
    let (status, r) = call(
        &emu,
        "chat.postMessage",
        json!({"channel": ALICE, "text": "hi"}),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(r["ok"], false);
    // Slack acted: the message is there, and the call is on record as a 500.
    let dm = emu.dm_channel(ALICE).unwrap();
    assert_eq!(emu.messages_in(&dm).len(), 1);
    assert_eq!(emu.calls_to("chat.postMessage")[0].status, 500);
    // A blind retry duplicates, which is what the emulator's counts show.
    post(&emu, ALICE, "hi").await;
    assert_eq!(emu.bot_message_counts_by_dm_user()[ALICE], 2);
    assert_eq!(emu.bot_message_counts_by_dm_user()[BOB], 0);
    assert_eq!(emu.call_count("chat.postMessage"), 2);
}

#[tokio::test]
async fn apply_then_delay_posts_before_a_short_timeout_gives_up() {
    let emu = start().await;
    emu.fail_next(
        "chat.postMessage",
        1,
        Failure::ApplyThenDelay(Duration::from_millis(600)),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let e = http
        .post(format!("{}/chat.postMessage", emu.api_url()))
        .bearer_auth(&emu.config().bot_token)
        .json(&json!({"channel": ALICE, "text": "slow"}))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    // Posted and recorded although the client never heard back.
    let dm = emu.dm_channel(ALICE).unwrap();
    assert_eq!(emu.messages_in(&dm).len(), 1);
    assert_eq!(emu.call_count("chat.postMessage"), 1);
    assert_eq!(emu.calls_to("chat.postMessage")[0].status, 200);

    // A patient client gets the normal answer, late.
    emu.fail_next(
        "chat.postMessage",
        1,
        Failure::ApplyThenDelay(Duration::from_millis(200)),
    );
    let t = std::time::Instant::now();
    let (status, r) = call(
        &emu,
        "chat.postMessage",
        json!({"channel": ALICE, "text": "late"}),
    )
    .await;
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!((status, r["ok"].clone()), (200, json!(true)));
    // The failure is used up: the next call is prompt.
    let t = std::time::Instant::now();
    post(&emu, ALICE, "prompt").await;
    assert!(t.elapsed() < Duration::from_millis(200));
    assert_eq!(emu.bot_message_counts_by_dm_user()[ALICE], 3);
}

#[tokio::test]
async fn tiers_for_history_and_user_groups() {
    let limits = RateLimits::slack();
    assert_eq!(limits.per_method_per_min["conversations.history"], 50);
    assert_eq!(limits.per_method_per_min["usergroups.users.list"], 20);
    assert_eq!(limits.per_method_per_min["users.list"], 20);
    assert_eq!(limits.per_method_per_min["apps.connections.open"], 1);

    // Bursts are one second's worth: a single call for Tier 2 and Tier 3.
    assert_eq!(limits.burst_for(50.0), 1);
    assert_eq!(limits.burst_for(20.0), 1);

    let mut cfg = EmulatorConfig::for_tests();
    cfg.rate_limits = limits;
    let emu = Emulator::start(cfg).await.unwrap();
    emu.add_user(slack_emulator::User::new(ALICE, "alice", "UTC"));
    emu.add_usergroup("S0GROUP001", "group", &[ALICE]);
    let (_, r) = call(&emu, "conversations.open", json!({"users": ALICE})).await;
    let dm = r["channel"]["id"].as_str().unwrap().to_string();
    for _ in 0..1 {
        let (status, _) = call(&emu, "conversations.history", json!({"channel": dm})).await;
        assert_eq!(status, 200);
    }
    let (status, r) = call(&emu, "conversations.history", json!({"channel": dm})).await;
    assert_eq!((status, r["error"].clone()), (429, json!("ratelimited")));
    for _ in 0..1 {
        let (status, _) = call(
            &emu,
            "usergroups.users.list",
            json!({"usergroup": "S0GROUP001"}),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, _) = call(
        &emu,
        "usergroups.users.list",
        json!({"usergroup": "S0GROUP001"}),
    )
    .await;
    assert_eq!(status, 429);

    // An apply-then failure hit by a 429 waits for a call that is applied.
    emu.fail_next("conversations.history", 1, Failure::ApplyThenStatus(502));
    let (status, _) = call(&emu, "conversations.history", json!({"channel": dm})).await;
    assert_eq!(status, 429);
    assert_eq!(emu.rate_limited_count(), 3);
    tokio::time::sleep(Duration::from_millis(1300)).await; // Tier 3: a token per 1.2 s
    let (status, _) = call(&emu, "conversations.history", json!({"channel": dm})).await;
    assert_eq!(status, 502);
}

/// conversations.replies: the parent first, then its replies oldest first,
/// in pages; metadata only with `include_all_metadata`; a reply's ts is
/// not a thread, and a channel the bot isn't in is refused.
#[tokio::test]
async fn replies_list_a_thread_with_metadata_when_asked() {
    let emu = start().await;
    let parent = post(&emu, ALICE, "parent").await;
    let dm = emu.dm_channel(ALICE).unwrap();
    let mut replies = vec![];
    for i in 0..3 {
        let (_, r) = call(
            &emu,
            "chat.postMessage",
            json!({"channel": dm, "text": format!("r{i}"), "thread_ts": parent,
                   "metadata": {"event_type": "mark", "event_payload": {"n": i.to_string()}}}),
        )
        .await;
        assert_eq!(r["ok"], true, "{r}");
        replies.push(r["ts"].as_str().unwrap().to_string());
    }
    let (_, all) = call(
        &emu,
        "conversations.replies",
        json!({"channel": dm, "ts": parent, "include_all_metadata": true}),
    )
    .await;
    assert_eq!(all["ok"], true, "{all}");
    assert_eq!(texts(&all), ["parent", "r0", "r1", "r2"]);
    assert_eq!(all["messages"][2]["metadata"]["event_payload"]["n"], "1");
    let (_, plain) = call(
        &emu,
        "conversations.replies",
        json!({"channel": dm, "ts": parent}),
    )
    .await;
    assert!(plain["messages"][2].get("metadata").is_none());
    // Two a page, following the cursor.
    let (_, p1) = call(
        &emu,
        "conversations.replies",
        json!({"channel": dm, "ts": parent, "limit": 2}),
    )
    .await;
    assert_eq!(texts(&p1), ["parent", "r0"]);
    let cursor = p1["response_metadata"]["next_cursor"].as_str().unwrap();
    let (_, p2) = call(
        &emu,
        "conversations.replies",
        json!({"channel": dm, "ts": parent, "limit": 2, "cursor": cursor}),
    )
    .await;
    assert_eq!(texts(&p2), ["r1", "r2"]);
    assert_eq!(p2["response_metadata"]["next_cursor"], "");
    // A reply is not a thread's parent.
    let (_, r) = call(
        &emu,
        "conversations.replies",
        json!({"channel": dm, "ts": replies[0]}),
    )
    .await;
    assert_eq!(r["error"], "thread_not_found");
    emu.add_channel("C0NOTBOT1", "no-bot", &[ALICE]);
    let (_, r) = call(
        &emu,
        "conversations.replies",
        json!({"channel": "C0NOTBOT1", "ts": parent}),
    )
    .await;
    assert_eq!(r["error"], "not_in_channel");
}
