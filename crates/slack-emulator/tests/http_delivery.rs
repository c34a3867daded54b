//! Signed HTTP delivery to a bot URL: signatures, body shapes slack-morphism
//! parses, retries with X-Slack-Retry-Num, X-Slack-No-Retry, url_verification.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use common::*;
use serde_json::{json, Value};
use slack_emulator::{Emulator, FieldAnswer};
use slack_morphism::prelude::*;

#[derive(Clone, Default)]
struct Recorder {
    requests: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    fail_first: Arc<Mutex<u32>>,
}

fn header(h: &HeaderMap, k: &str) -> Option<String> {
    h.get(k).map(|v| v.to_str().unwrap().to_string())
}

async fn events(State(r): State<Recorder>, h: HeaderMap, body: Bytes) -> Response {
    r.requests.lock().unwrap().push((h, body.clone()));
    let v: Value = serde_json::from_slice(&body).unwrap();
    if v["type"] == "url_verification" {
        return v["challenge"].as_str().unwrap().to_string().into_response();
    }
    let mut f = r.fail_first.lock().unwrap();
    if *f > 0 {
        *f -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    StatusCode::OK.into_response()
}

async fn no_retry(State(r): State<Recorder>, h: HeaderMap, body: Bytes) -> Response {
    r.requests.lock().unwrap().push((h, body));
    (StatusCode::SERVICE_UNAVAILABLE, [("X-Slack-No-Retry", "1")]).into_response()
}

async fn slow(State(r): State<Recorder>, h: HeaderMap, body: Bytes) -> Response {
    r.requests.lock().unwrap().push((h, body));
    tokio::time::sleep(Duration::from_millis(400)).await;
    StatusCode::OK.into_response()
}

async fn interactive(State(r): State<Recorder>, h: HeaderMap, body: Bytes) -> Response {
    r.requests.lock().unwrap().push((h, body.clone()));
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
    let p: Value = serde_json::from_str(&form["payload"]).unwrap();
    if p["type"] == "view_submission" {
        return axum::Json(json!({"response_action":"errors","errors":{"what":"Too short"}}))
            .into_response();
    }
    StatusCode::OK.into_response()
}

async fn commands(State(r): State<Recorder>, h: HeaderMap, body: Bytes) -> Response {
    r.requests.lock().unwrap().push((h, body));
    axum::Json(json!({"response_type":"in_channel","text":"Logged."})).into_response()
}

async fn bot_server(rec: Recorder) -> String {
    let app = Router::new()
        .route("/slack/events", post(events))
        .route("/slack/no-retry", post(no_retry))
        .route("/slack/slow", post(slow))
        .route("/slack/interactive", post(interactive))
        .route("/slack/commands", post(commands))
        .with_state(rec);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}/slack")
}

fn check_signature(emu: &Emulator, h: &HeaderMap, body: &[u8]) {
    let ts: i64 = header(h, "x-slack-request-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 300);
    let sig = header(h, "x-slack-signature").unwrap();
    assert!(slack_emulator::verify(
        &emu.config().signing_secret,
        ts,
        body,
        &sig
    ));
    assert_eq!(sig, emu.sign(ts, body));
}

#[tokio::test]
async fn events_are_signed_parse_and_retry_with_same_event_id() {
    let emu = start().await;
    let rec = Recorder::default();
    let base = bot_server(rec.clone()).await;
    assert!(emu.verify_url(&format!("{base}/events")).await.unwrap());

    emu.deliver_via_http(&format!("{base}/events"));
    *rec.fail_first.lock().unwrap() = 2;
    let d = emu
        .user_message(ALICE, SALES, "hi there", None)
        .await
        .unwrap();
    assert!(d.acked);
    assert_eq!(d.attempts, 3);
    assert_eq!(d.status, Some(200));
    let reqs = rec.requests.lock().unwrap().clone();
    let events: Vec<_> = reqs[1..].to_vec();
    assert_eq!(events.len(), 3);
    for (i, (h, body)) in events.iter().enumerate() {
        check_signature(&emu, h, body);
        assert_eq!(header(h, "content-type").unwrap(), "application/json");
        let retry = header(h, "x-slack-retry-num");
        if i == 0 {
            assert!(retry.is_none());
        } else {
            assert_eq!(retry.unwrap(), i.to_string());
            assert_eq!(header(h, "x-slack-retry-reason").unwrap(), "http_error");
        }
        let ev: SlackPushEvent = serde_json::from_slice(body).unwrap();
        match ev {
            SlackPushEvent::EventCallback(cb) => {
                assert_eq!(cb.event_id.0, d.envelope_id_or_event_id);
                assert!(matches!(cb.event, SlackEventCallbackBody::Message(_)));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(events[0].1, events[2].1, "retries resend the same bytes");

    // redeliver as a Slack retry
    let again = emu.redeliver(&d).await.unwrap();
    let (h, _) = rec.requests.lock().unwrap().last().unwrap().clone();
    assert_eq!(header(&h, "x-slack-retry-num").unwrap(), "3");
    assert!(again.acked);
}

#[tokio::test]
async fn no_retry_header_and_timeouts() {
    let emu = start().await; // ack_timeout 1 s in for_tests
    let rec = Recorder::default();
    let base = bot_server(rec.clone()).await;
    emu.deliver_via_http(&format!("{base}/no-retry"));
    let d = emu
        .send_event(json!({"type":"team_join","user":{"id":"U9"}}))
        .await
        .unwrap();
    assert!(!d.acked);
    assert_eq!(d.attempts, 1);
    assert_eq!(d.status, Some(503));

    let mut cfg = slack_emulator::EmulatorConfig::for_tests();
    cfg.ack_timeout = Duration::from_millis(150);
    let emu = Emulator::start(cfg).await.unwrap();
    emu.deliver_via_http(&format!("{base}/slow"));
    let before = rec.requests.lock().unwrap().len();
    let d = emu
        .send_event(json!({"type":"team_join","user":{"id":"U9"}}))
        .await
        .unwrap();
    assert!(!d.acked);
    assert_eq!(d.attempts, 4, "Slack tries 4 times in all");
    let reqs = rec.requests.lock().unwrap()[before..].to_vec();
    assert_eq!(
        header(&reqs[3].0, "x-slack-retry-reason").unwrap(),
        "http_timeout"
    );
    assert_eq!(header(&reqs[3].0, "x-slack-retry-num").unwrap(), "3");
}

#[tokio::test]
async fn interactions_and_commands_over_http() {
    let emu = start().await;
    let rec = Recorder::default();
    let base = bot_server(rec.clone()).await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let s = client.open_session(&token);

    // a modal opened by the "bot" (here: the test) for Alice
    let view: SlackView = serde_json::from_value(json!({
        "type":"modal","title":{"type":"plain_text","text":"Note"},"submit":{"type":"plain_text","text":"Save"},
        "blocks":[{"type":"input","block_id":"what","label":{"type":"plain_text","text":"What?"},
                   "element":{"type":"plain_text_input","action_id":"text"}},
                  {"type":"input","block_id":"tags","optional":true,"label":{"type":"plain_text","text":"Tags"},
                   "element":{"type":"multi_static_select","action_id":"t","options":[
                     {"text":{"type":"plain_text","text":"Pricing"},"value":"pricing"},
                     {"text":{"type":"plain_text","text":"Churn"},"value":"churn"}]}}]
    }))
    .unwrap();
    let opened = s
        .views_open(&SlackApiViewsOpenRequest::new(
            emu.mint_trigger_id(ALICE).into(),
            view,
        ))
        .await
        .unwrap();
    let view_id = opened.view.state_params.id.0.clone();

    emu.deliver_via_http(&format!("{base}/interactive"));
    let modal = emu.open_modal_for(ALICE).unwrap();
    let mut answers = HashMap::new();
    answers.insert("what".to_string(), FieldAnswer::Text("x".into()));
    answers.insert(
        "tags".to_string(),
        FieldAnswer::Multi(vec!["pricing".into(), "churn".into()]),
    );
    let values = emu.fill_modal_values(&modal.view, &answers);
    // a required field left empty is refused like the Slack client would
    assert!(emu
        .submit_view(
            ALICE,
            &view_id,
            emu.fill_modal_values(&modal.view, &HashMap::new())
        )
        .await
        .is_err());
    let d = emu.submit_view(ALICE, &view_id, values).await.unwrap();
    assert_eq!(d.response.unwrap()["response_action"], "errors");
    assert!(emu.open_modal_for(ALICE).is_some());
    let (h, body) = rec.requests.lock().unwrap().last().unwrap().clone();
    check_signature(&emu, &h, &body);
    assert_eq!(
        header(&h, "content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
    let ev: SlackInteractionEvent = serde_json::from_str(&form["payload"]).unwrap();
    match ev {
        SlackInteractionEvent::ViewSubmission(v) => {
            let values = v.view.state_params.state.unwrap().values;
            let tags = values[&"tags".into()][&"t".into()]
                .selected_options
                .clone()
                .unwrap();
            assert_eq!(tags.len(), 2);
        }
        other => panic!("{other:?}"),
    }

    // slash command: form fields slack-morphism parses; in_channel reply posted
    emu.deliver_via_http(&format!("{base}/commands"));
    let d = emu
        .slash_command(BOB, "/fieldnote", "competitor X", SALES)
        .await
        .unwrap();
    assert!(d.acked);
    let (h, body) = rec.requests.lock().unwrap().last().unwrap().clone();
    check_signature(&emu, &h, &body);
    let fields: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
    let cmd: SlackCommandEvent = serde_json::from_value(json!(fields)).unwrap();
    assert_eq!(cmd.command.0, "/fieldnote");
    assert_eq!(cmd.text.as_deref(), Some("competitor X"));
    let reply = emu.messages_in(SALES).pop().unwrap();
    assert_eq!(reply.text, "Logged.");
    assert_eq!(reply.ephemeral_for, None);

    // the response_url works with slack-morphism's respond_to_event
    let url: url::Url = fields["response_url"].parse().unwrap();
    client
        .respond_to_event(
            &url.into(),
            &SlackApiPostWebhookMessageRequest::new(
                SlackMessageContent::new().with_text("Only you can see this".into()),
            ),
        )
        .await
        .unwrap();
    let eph = emu.messages_in(SALES).pop().unwrap();
    assert_eq!(eph.text, "Only you can see this");
    assert_eq!(eph.ephemeral_for.as_deref(), Some(BOB));
}
