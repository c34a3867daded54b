//! The Web API answered to slack-morphism's client: every response must parse
//! into slack-morphism's types, and errors must be Slack's.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use slack_emulator::{Failure, RateLimits};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

fn api_error(e: SlackClientError) -> String {
    match e {
        SlackClientError::ApiError(a) => a.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_method_parses_in_slack_morphism() {
    let emu = start().await;
    emu.add_usergroup("S0SALES001", "sales-team", &[ALICE, BOB]);
    let client = client(&emu);
    let s_token = bot_token(&emu);
    let s = client.open_session(&s_token);

    let auth = s.auth_test().await.unwrap();
    assert_eq!(auth.user_id.0, "U0BOT00001");
    assert_eq!(auth.bot_id.unwrap().0, "B0BOT00001");

    let u = s
        .users_info(&SlackApiUsersInfoRequest::new(ALICE.into()))
        .await
        .unwrap()
        .user;
    assert_eq!(u.tz.as_deref(), Some("America/New_York"));
    assert!(u.tz_offset == Some(-18000) || u.tz_offset == Some(-14400));
    assert!(u.tz_label.unwrap().starts_with("Eastern"));
    assert_eq!(u.flags.is_bot, Some(false));
    assert_eq!(u.profile.unwrap().real_name.as_deref(), Some("Alice"));

    let page1 = s
        .users_list(&SlackApiUsersListRequest::new().with_limit(2))
        .await
        .unwrap();
    assert_eq!(page1.members.len(), 2);
    let cursor = page1.response_metadata.unwrap().next_cursor.unwrap();
    let page2 = s
        .users_list(
            &SlackApiUsersListRequest::new()
                .with_limit(2)
                .with_cursor(cursor),
        )
        .await
        .unwrap();
    assert_eq!(page2.members.len(), 1);
    assert!(page2.response_metadata.unwrap().next_cursor.is_none());

    let open = s
        .conversations_open(&SlackApiConversationsOpenRequest::new().with_users(vec![ALICE.into()]))
        .await
        .unwrap();
    let dm = open.channel.id.clone();
    assert!(dm.0.starts_with('D'));
    assert_eq!(emu.dm_channel(ALICE), Some(dm.0.clone()));
    let again = s
        .conversations_open(&SlackApiConversationsOpenRequest::new().with_users(vec![ALICE.into()]))
        .await
        .unwrap();
    assert_eq!(again.channel.id, dm);
    assert_eq!(again.already_open, Some(true));

    let members = s
        .conversations_members(
            &SlackApiConversationsMembersRequest::new()
                .with_channel(SALES.into())
                .with_limit(2),
        )
        .await
        .unwrap();
    assert_eq!(members.members.len(), 2);
    assert!(members.response_metadata.unwrap().next_cursor.is_some());

    let info = s
        .conversations_info(&SlackApiConversationsInfoRequest::new(SALES.into()))
        .await
        .unwrap();
    assert_eq!(info.channel.name.as_deref(), Some("sales"));

    let blocks: Vec<SlackBlock> = serde_json::from_value(json!([
        {"type":"section","text":{"type":"mrkdwn","text":"Log a note?"}},
        {"type":"actions","block_id":"act","elements":[
            {"type":"button","action_id":"log_note","text":{"type":"plain_text","text":"Log"},"value":"v1"}
        ]}
    ]))
    .unwrap();
    let posted = s
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            ALICE.into(),
            SlackMessageContent::new()
                .with_text("hi".into())
                .with_blocks(blocks),
        ))
        .await
        .unwrap();
    assert_eq!(posted.channel, dm);
    assert_eq!(posted.message.content.text.as_deref(), Some("hi"));
    let ts = posted.ts.clone();
    let in_thread = s
        .chat_post_message(
            &SlackApiChatPostMessageRequest::new(
                dm.clone(),
                SlackMessageContent::new().with_text("reply".into()),
            )
            .with_thread_ts(ts.clone()),
        )
        .await
        .unwrap();
    assert!(in_thread.ts.0 > ts.0, "ts must increase");
    assert_eq!(emu.messages_in(&dm.0).len(), 2);
    assert_eq!(
        emu.messages_in(&dm.0)[1].thread_ts.as_deref(),
        Some(ts.0.as_str())
    );

    let upd = s
        .chat_update(&SlackApiChatUpdateRequest::new(
            dm.clone(),
            SlackMessageContent::new().with_text("edited".into()),
            ts.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(upd.ts, ts);
    assert!(emu.messages_in(&dm.0)[0].edited);
    assert_eq!(emu.messages_in(&dm.0)[0].text, "edited");

    s.chat_post_ephemeral(&SlackApiChatPostEphemeralRequest::new(
        SALES.into(),
        BOB.into(),
        SlackMessageContent::new().with_text("psst".into()),
    ))
    .await
    .unwrap();
    assert_eq!(
        emu.messages_in(SALES)[0].ephemeral_for.as_deref(),
        Some(BOB)
    );

    let link = s
        .chat_get_permalink(&SlackApiChatGetPermalinkRequest::new(
            dm.clone(),
            ts.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(
        link.permalink.as_str(),
        format!(
            "https://fieldnotes-demo.slack.com/archives/{}/p{}",
            dm.0,
            ts.0.replace('.', "")
        )
    );

    let groups = s
        .usergroups_users_list(&SlackApiUserGroupsUsersListRequest::new(
            "S0SALES001".into(),
        ))
        .await
        .unwrap();
    assert_eq!(groups.users.len(), 2);

    // views.open / update / push / publish
    let modal: SlackView = serde_json::from_value(json!({
        "type":"modal","callback_id":"note","title":{"type":"plain_text","text":"New note"},
        "submit":{"type":"plain_text","text":"Save"},
        "blocks":[{"type":"input","block_id":"b1","label":{"type":"plain_text","text":"What did you hear?"},
                   "element":{"type":"plain_text_input","action_id":"a1"}}]
    }))
    .unwrap();
    let trigger = emu.mint_trigger_id(ALICE);
    let opened = s
        .views_open(&SlackApiViewsOpenRequest::new(
            trigger.clone().into(),
            modal.clone(),
        ))
        .await
        .unwrap();
    let view_id = opened.view.state_params.id.clone();
    assert!(view_id.0.starts_with('V'));
    assert_eq!(emu.open_modal_for(ALICE).unwrap().id, view_id.0);
    let reused = s
        .views_open(&SlackApiViewsOpenRequest::new(
            trigger.into(),
            modal.clone(),
        ))
        .await
        .unwrap_err();
    assert_eq!(api_error(reused), "exchanged_trigger_id");

    let hash = opened.view.state_params.hash.clone();
    let updated = s
        .views_update(
            &SlackApiViewsUpdateRequest::new(modal.clone())
                .with_view_id(view_id.clone())
                .with_hash(hash.clone()),
        )
        .await
        .unwrap();
    assert_eq!(updated.view.state_params.id, view_id);
    let stale = s
        .views_update(
            &SlackApiViewsUpdateRequest::new(modal.clone())
                .with_view_id(view_id.clone())
                .with_hash(hash),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(stale), "hash_conflict");

    let pushed = s
        .views_push(&SlackApiViewsPushRequest::new(
            emu.mint_trigger_id(ALICE).into(),
            modal.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(pushed.view.state_params.root_view_id, Some(view_id.clone()));
    assert_eq!(
        emu.open_modal_for(ALICE).unwrap().id,
        pushed.view.state_params.id.0
    );

    let home: SlackView = serde_json::from_value(json!({
        "type":"home","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"Your notes"}}]
    }))
    .unwrap();
    let published = s
        .views_publish(&SlackApiViewsPublishRequest::new(ALICE.into(), home))
        .await
        .unwrap();
    assert_eq!(
        emu.home_view(ALICE).unwrap().id,
        published.view.state_params.id.0
    );

    s.chat_delete(&SlackApiChatDeleteRequest::new(dm.clone(), ts.clone()))
        .await
        .unwrap();
    assert_eq!(emu.messages_in(&dm.0).len(), 1);

    let app_token = app_token(&emu);
    let app = client.open_session(&app_token);
    let conn = app
        .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
        .await
        .unwrap();
    assert!(conn.url.0.as_str().starts_with("ws://127.0.0.1:"));

    assert!(emu.calls_to("chat.postMessage").len() == 2);
    assert!(emu.calls().iter().all(|c| c.token.is_some()));
    // slack-morphism's requests send only what Slack's reference lists.
    emu.assert_no_unexpected_args();
}

#[tokio::test]
async fn slack_errors() {
    let emu = start().await;
    let client = client(&emu);
    let s_token = bot_token(&emu);
    let s = client.open_session(&s_token);
    let e = s
        .users_info(&SlackApiUsersInfoRequest::new("U0NOBODY00".into()))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "user_not_found");
    let e = s
        .conversations_open(
            &SlackApiConversationsOpenRequest::new().with_users(vec!["U0NOBODY00".into()]),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "user_not_found");
    let e = s
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            "C0NOPE0000".into(),
            SlackMessageContent::new().with_text("x".into()),
        ))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "channel_not_found");
    let e = s
        .chat_update(&SlackApiChatUpdateRequest::new(
            SALES.into(),
            SlackMessageContent::new().with_text("x".into()),
            "1.000001".into(),
        ))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "message_not_found");
    let long = "x".repeat(40_001);
    let e = s
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            SALES.into(),
            SlackMessageContent::new().with_text(long),
        ))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "msg_too_long");

    // invalid blocks carry readable errors
    let blocks: Vec<SlackBlock> = serde_json::from_value(json!([
        {"type":"section","text":{"type":"mrkdwn","text":"a".repeat(3001)}}
    ]))
    .unwrap();
    match s
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            SALES.into(),
            SlackMessageContent::new().with_blocks(blocks),
        ))
        .await
        .unwrap_err()
    {
        SlackClientError::ApiError(a) => {
            assert_eq!(a.code, "invalid_blocks");
            assert!(a.errors.unwrap()[0].contains("/blocks/0/text/text"));
        }
        other => panic!("{other:?}"),
    }

    // views need a valid, fresh trigger
    let modal: SlackView = serde_json::from_value(json!({
        "type":"modal","title":{"type":"plain_text","text":"T"},"blocks":[]
    }))
    .unwrap();
    let e = s
        .views_open(&SlackApiViewsOpenRequest::new(
            "123.456.abc".into(),
            modal.clone(),
        ))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "invalid_trigger_id");

    let mut cfg = slack_emulator::EmulatorConfig::for_tests();
    cfg.trigger_ttl = Duration::from_millis(50);
    let emu2 = slack_emulator::Emulator::start(cfg).await.unwrap();
    emu2.add_user(slack_emulator::User::new(ALICE, "alice", "UTC"));
    let c2 = common::client(&emu2);
    let s2_token = bot_token(&emu2);
    let s2 = c2.open_session(&s2_token);
    let t = emu2.mint_trigger_id(ALICE);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let e = s2
        .views_open(&SlackApiViewsOpenRequest::new(t.into(), modal.clone()))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "expired_trigger_id");

    // a view breaking a limit: invalid_arguments with response_metadata.messages
    let bad: SlackView = serde_json::from_value(json!({
        "type":"modal","title":{"type":"plain_text","text":"A title that is far too long"},"blocks":[]
    }))
    .unwrap();
    let e = s
        .views_open(&SlackApiViewsOpenRequest::new(
            emu.mint_trigger_id(ALICE).into(),
            bad,
        ))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "invalid_arguments");
    let last = emu.calls_to("views.open").pop().unwrap();
    assert!(last.response["response_metadata"]["messages"][0]
        .as_str()
        .unwrap()
        .contains("/view/title"));

    // token rules
    let app_token = app_token(&emu);
    let app = client.open_session(&app_token);
    let e = app
        .users_info(&SlackApiUsersInfoRequest::new(ALICE.into()))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "not_allowed_token_type");
    let e = s
        .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
        .await
        .unwrap_err();
    assert_eq!(api_error(e), "not_allowed_token_type");
    let bad_token = SlackApiToken::new("xoxb-wrong".into());
    let bad = client.open_session(&bad_token);
    assert_eq!(
        api_error(bad.auth_test().await.unwrap_err()),
        "invalid_auth"
    );
}

#[tokio::test]
async fn raw_http_forms_and_auth() {
    let emu = start().await;
    let http = reqwest::Client::new();
    let base = emu.api_url();
    let r: serde_json::Value = http
        .post(format!("{base}/auth.test"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"ok": false, "error": "not_authed"}));
    let r: serde_json::Value = http
        .get(format!(
            "{base}/users.info?user={ALICE}&token=xoxb-emulator-token"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["user"]["id"], ALICE);
    // form-encoded with blocks as a JSON string
    let r: serde_json::Value = http
        .post(format!("{base}/chat.postMessage"))
        .bearer_auth("xoxb-emulator-token")
        .form(&[
            ("channel", SALES),
            (
                "blocks",
                r#"[{"type":"section","text":{"type":"mrkdwn","text":"hey"}}]"#,
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(emu.messages_in(SALES)[0].blocks[0]["text"]["text"], "hey");
    let r: serde_json::Value = http
        .post(format!("{base}/bogus.method"))
        .bearer_auth("xoxb-emulator-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["error"], "unknown_method");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let mut cfg = slack_emulator::EmulatorConfig::for_tests();
    cfg.rate_limits = RateLimits::slack();
    let emu = slack_emulator::Emulator::start(cfg).await.unwrap();
    emu.add_user(slack_emulator::User::new(ALICE, "alice", "UTC"));
    let http = reqwest::Client::new();
    let url = format!("{}/chat.postMessage", emu.api_url());
    let mut statuses = vec![];
    for _ in 0..4 {
        let r = http
            .post(&url)
            .bearer_auth("xoxb-emulator-token")
            .json(&json!({"channel": ALICE, "text": "hi"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status().as_u16() == 429 {
            assert_eq!(r.headers()["retry-after"], "1");
            let b: serde_json::Value = r.json().await.unwrap();
            assert_eq!(b, json!({"ok": false, "error": "ratelimited"}));
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 429]);
    assert_eq!(emu.rate_limited_count(), 1);

    // slack-morphism sees a RateLimitError with retry_after
    let client = client(&emu);
    let s_token = bot_token(&emu);
    let s = client.open_session(&s_token);
    let e = s
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            ALICE.into(),
            SlackMessageContent::new().with_text("x".into()),
        ))
        .await
        .unwrap_err();
    match e {
        SlackClientError::RateLimitError(r) => {
            assert_eq!(r.retry_after, Some(Duration::from_secs(1)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn fault_injection() {
    let emu = start().await;
    let client = client(&emu);
    let s_token = bot_token(&emu);
    let s = client.open_session(&s_token);
    emu.fail_next("users.info", 1, Failure::Status(500));
    emu.fail_next("users.info", 1, Failure::slack_error("fatal_error"));
    emu.fail_next("users.info", 1, Failure::Delay(Duration::from_millis(100)));
    let req = SlackApiUsersInfoRequest::new(ALICE.into());
    assert!(matches!(
        s.users_info(&req).await.unwrap_err(),
        SlackClientError::HttpError(_)
    ));
    assert_eq!(
        api_error(s.users_info(&req).await.unwrap_err()),
        "fatal_error"
    );
    let t = std::time::Instant::now();
    s.users_info(&req).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(100));
    s.users_info(&req).await.unwrap();
    let statuses: Vec<u16> = emu
        .calls_to("users.info")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![500, 200, 200, 200]);
}

#[tokio::test]
async fn blocks_over_12000_characters_of_text_are_msg_blocks_too_long() {
    let emu = start().await;
    let http = reqwest::Client::new();
    let post = |method: &'static str, body: serde_json::Value| {
        let req = http
            .post(format!("{}/{method}", emu.api_url()))
            .bearer_auth("xoxb-emulator-token")
            .json(&body);
        async move {
            req.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let section =
        |n: usize| json!({"type": "section", "text": {"type": "mrkdwn", "text": "s".repeat(n)}});
    // Each block is within its own limit (section text 3000); together 12,000.
    let at_limit = json!([section(3000), section(3000), section(3000), section(3000)]);
    let r = post(
        "chat.postMessage",
        json!({"channel": SALES, "blocks": at_limit, "text": "x"}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let ts = r["ts"].as_str().unwrap().to_string();

    // One more character anywhere (here a context element) is too much.
    let mut over = at_limit.as_array().unwrap().clone();
    over.push(json!({"type": "context", "elements": [{"type": "plain_text", "text": "!"}]}));
    let r = post(
        "chat.postMessage",
        json!({"channel": SALES, "blocks": over, "text": "x"}),
    )
    .await;
    assert_eq!(r, json!({"ok": false, "error": "msg_blocks_too_long"}));
    // Headers, fields and rich text count alike.
    let mixed = json!([
        {"type": "header", "text": {"type": "plain_text", "text": "h".repeat(150)}},
        {"type": "section", "fields": (0..5).map(|_| json!({"type": "mrkdwn", "text": "f".repeat(2000)})).collect::<Vec<_>>()},
        {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "text", "text": "r".repeat(1851)}]}]},
    ]);
    let r = post(
        "chat.postMessage",
        json!({"channel": SALES, "blocks": mixed, "text": "x"}),
    )
    .await;
    assert_eq!(r["error"], "msg_blocks_too_long", "{r}");
    // A block over its own limit is still invalid_blocks.
    let r = post(
        "chat.postMessage",
        json!({"channel": SALES, "blocks": [section(3001)]}),
    )
    .await;
    assert_eq!(r["error"], "invalid_blocks");
    assert_eq!(emu.messages_in(SALES).len(), 1);

    // chat.update refuses the same, and keeps the message as it was.
    let r = post(
        "chat.update",
        json!({"channel": SALES, "ts": ts, "blocks": over}),
    )
    .await;
    assert_eq!(r["error"], "msg_blocks_too_long", "{r}");
    assert!(!emu.messages_in(SALES)[0].edited);
    // Message text is limited on its own (40,000), not by the blocks' budget.
    let r = post(
        "chat.update",
        json!({"channel": SALES, "ts": ts, "text": "t".repeat(40_000)}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let r = post(
        "chat.update",
        json!({"channel": SALES, "ts": ts, "text": "t".repeat(40_001)}),
    )
    .await;
    assert_eq!(r["error"], "msg_too_long");
}
