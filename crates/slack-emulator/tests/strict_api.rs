//! The emulator is as strict as Slack: exact URLs, Slack's reference for
//! methods and required arguments, and a record of arguments a method does
//! not take.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use slack_emulator::{Emulator, EmulatorConfig, RateLimits, User};

const TOKEN: &str = "xoxb-emulator-token";

fn root(emu: &Emulator) -> String {
    format!("http://{}", emu.addr())
}

async fn post_json(emu: &Emulator, method: &str, body: Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/{method}", emu.api_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn post_form(emu: &Emulator, method: &str, form: &[(&str, &str)]) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}/{method}", emu.api_url()))
        .bearer_auth(TOKEN)
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn only_exact_api_urls_are_served() {
    let emu = start().await;
    let api = emu.api_url();
    assert_eq!(api, format!("http://{}/api", emu.addr()));
    assert!(!api.ends_with('/'));
    let http = reqwest::Client::new();

    let r = http
        .post(format!("{api}/auth.test"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");

    let base = root(&emu);
    for path in [
        "/api//auth.test",
        "/api///auth.test",
        "/api/auth.test/",
        "/api/",
        "/api",
        "/api/auth",
        "/api/auth.test1",
        "/api/auth..test",
        "/api/.auth.test",
        "/api/auth.test.",
        "/api/auth/test",
        "/api/auth%2Ftest",
        "/api/auth.test/extra",
        "//api/auth.test",
        "/auth.test",
        "/API/auth.test",
    ] {
        for get in [false, true] {
            let req = if get {
                http.get(format!("{base}{path}"))
            } else {
                http.post(format!("{base}{path}"))
            };
            let r = req.bearer_auth(TOKEN).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path} (get: {get})");
        }
    }
    // A 404 is not a call.
    assert_eq!(emu.calls().len(), 1);
}

#[tokio::test]
async fn unknown_methods_are_slacks_unknown_method() {
    let emu = start().await;
    // Shaped like a method, but Slack has none by that name.
    let (status, r) = post_json(&emu, "bogus.method", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r, json!({"ok": false, "error": "unknown_method"}));
    // In the reference, but not implemented by the emulator.
    let (_, r) = post_json(
        &emu,
        "reactions.add",
        json!({"channel": SALES, "name": "x", "timestamp": "1.000001"}),
    )
    .await;
    assert_eq!(r, json!({"ok": false, "error": "unknown_method"}));
    // Without a token too: the method is checked first.
    let r: Value = reqwest::Client::new()
        .post(format!("{}/bogus.method", emu.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["error"], "unknown_method");
}

#[tokio::test]
async fn missing_required_arguments_get_slacks_errors() {
    let emu = start().await;

    let (_, r) = post_json(&emu, "chat.postMessage", json!({"text": "hi"})).await;
    assert_eq!(r, json!({"ok": false, "error": "channel_not_found"}));
    let (_, r) = post_json(
        &emu,
        "chat.postMessage",
        json!({"channel": "", "text": "hi"}),
    )
    .await;
    assert_eq!(r, json!({"ok": false, "error": "channel_not_found"}));
    let r = post_form(&emu, "chat.postMessage", &[("channel", ""), ("text", "hi")]).await;
    assert_eq!(r["error"], "channel_not_found");
    assert!(emu.messages().is_empty());

    let (_, r) = post_json(&emu, "users.info", json!({})).await;
    assert_eq!(r, json!({"ok": false, "error": "user_not_found"}));
    let (_, r) = post_json(&emu, "users.info", json!({"user": null})).await;
    assert_eq!(r["error"], "user_not_found");

    let home = json!({"type": "home", "blocks": []});
    let (_, r) = post_json(&emu, "views.publish", json!({"view": home})).await;
    assert_eq!(
        r,
        json!({
            "ok": false,
            "error": "invalid_arguments",
            "response_metadata": {"messages": ["[ERROR] missing required field: user_id"]}
        })
    );
    assert!(emu.home_view(ALICE).is_none());
    let (_, r) = post_json(&emu, "views.publish", json!({"user_id": ALICE})).await;
    assert_eq!(
        r["response_metadata"]["messages"],
        json!(["[ERROR] missing required field: view"])
    );

    let (_, r) = post_json(&emu, "chat.update", json!({"channel": SALES, "text": "x"})).await;
    assert_eq!(r["error"], "message_not_found");
    let (_, r) = post_json(&emu, "chat.getPermalink", json!({"channel": SALES})).await;
    assert_eq!(r["error"], "message_not_found");
    let (_, r) = post_json(
        &emu,
        "chat.postEphemeral",
        json!({"channel": SALES, "text": "x"}),
    )
    .await;
    assert_eq!(r["error"], "user_not_found");
    let (_, r) = post_json(&emu, "conversations.history", json!({})).await;
    assert_eq!(r["error"], "channel_not_found");
    let (_, r) = post_json(&emu, "usergroups.users.list", json!({})).await;
    assert_eq!(r["error"], "invalid_arguments");
    let (_, r) = post_json(&emu, "views.open", json!({"trigger_id": "1.2.3"})).await;
    assert_eq!(
        r["response_metadata"]["messages"],
        json!(["[ERROR] missing required field: view"])
    );
    // users.list documents missing_argument, but requires nothing.
    let (_, r) = post_json(&emu, "users.list", json!({})).await;
    assert_eq!(r["ok"], true);

    // Authentication comes first.
    let r: Value = reqwest::Client::new()
        .post(format!("{}/chat.postMessage", emu.api_url()))
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["error"], "not_authed");
    // The token may come as a parameter; it is never a missing argument.
    let r: Value = reqwest::Client::new()
        .get(format!(
            "{}/users.info?user={ALICE}&token={TOKEN}",
            emu.api_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["ok"], true, "{r}");
    emu.assert_no_unexpected_args();
}

#[tokio::test]
async fn unexpected_arguments_are_recorded() {
    let emu = start().await;
    // team_id (sent by Slack's SDKs) and token are always allowed.
    let r = post_form(&emu, "auth.test", &[("team_id", "T0FIELDNT")]).await;
    assert_eq!(r["ok"], true);
    let (_, r) = post_json(
        &emu,
        "chat.postMessage",
        json!({"channel": SALES, "text": "hi", "team_id": "T0FIELDNT",
               "metadata": {"event_type": "x", "event_payload": {"nested": 1}}}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(emu.unexpected_args().is_empty());
    emu.assert_no_unexpected_args();

    // Slack ignores an argument the method does not take; the emulator
    // answers alike but records it.
    let r = post_form(&emu, "auth.test", &[("bogus", "1")]).await;
    assert_eq!(r["ok"], true);
    let (_, r) = post_json(
        &emu,
        "chat.postMessage",
        json!({"channel": SALES, "text": "hi", "thread": "1.000001", "bogus": 2}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    // Query and body alike, and again (recorded once).
    let r: Value = reqwest::Client::new()
        .post(format!("{}/auth.test?bogus=3", emu.api_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["ok"], true);
    // Even a refused call is checked.
    let (_, r) = post_json(&emu, "users.info", json!({"usr": ALICE})).await;
    assert_eq!(r["error"], "user_not_found");

    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(m, a)| (m.to_string(), a.to_string()))
            .collect()
    };
    assert_eq!(
        emu.unexpected_args(),
        pairs(&[
            ("auth.test", "bogus"),
            ("chat.postMessage", "bogus"),
            ("chat.postMessage", "thread"),
            ("users.info", "usr"),
        ])
    );
    let calls = emu.calls_to("chat.postMessage");
    assert!(calls[0].unexpected_args.is_empty());
    assert_eq!(calls[1].unexpected_args, ["bogus", "thread"]);

    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        emu.assert_no_unexpected_args()
    }))
    .expect_err("assert_no_unexpected_args must panic");
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("the bot sent arguments Slack's reference does not list")
            && msg.contains("auth.test: bogus")
            && msg.contains("chat.postMessage: thread")
            && msg.contains("users.info: usr"),
        "{msg}"
    );
}

#[tokio::test]
#[should_panic(expected = "auth.test: bogus")]
async fn assert_no_unexpected_args_panics() {
    let emu = start().await;
    post_form(&emu, "auth.test", &[("bogus", "1")]).await;
    emu.assert_no_unexpected_args();
}

#[tokio::test]
async fn response_urls_are_exempt() {
    let emu = start().await;
    // Not a Web API method: no reference, nothing recorded (a 404 for an
    // unknown response_url id, but no unexpected argument either).
    let r = reqwest::Client::new()
        .post(format!("{}/response/nope", root(&emu)))
        .json(&json!({"text": "x", "replace_original": true, "whatever": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(emu.unexpected_args().is_empty());
}

#[tokio::test]
async fn default_bursts_are_one_seconds_worth() {
    let emu = Emulator::start(EmulatorConfig {
        rate_limits: RateLimits::slack(),
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    let people: Vec<String> = (0..11).map(|i| format!("U0PERSON{i:02}")).collect();
    emu.add_users(people.iter().map(|id| User::new(id, id, "UTC")));

    // users.list is Tier 2 (20/min): one call at once, then every 3 s.
    let (s, _) = post_json(&emu, "users.list", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let r = reqwest::Client::new()
        .post(format!("{}/users.list", emu.api_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "3");

    // chat.postMessage's workspace cap (600/min): 10 posts at once to
    // distinct conversations, then 429.
    let mut statuses = vec![];
    for p in &people {
        let (s, r) = post_json(
            &emu,
            "chat.postMessage",
            json!({"channel": p, "text": "hi"}),
        )
        .await;
        if s == StatusCode::OK {
            assert_eq!(r["ok"], true, "{r}");
        }
        statuses.push(s.as_u16());
    }
    let mut want = vec![200; 10];
    want.push(429);
    assert_eq!(statuses, want);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (s, _) = post_json(
        &emu,
        "chat.postMessage",
        json!({"channel": people[10], "text": "hi"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(emu.rate_limited_count(), 2);
}
