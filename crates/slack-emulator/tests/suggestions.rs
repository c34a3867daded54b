//! Type-ahead menus: `Emulator::block_suggestion` sends Slack's
//! `block_suggestion` payload for an external select, over Socket Mode and
//! signed HTTP, reads the options from the app's answer (the ack payload, or
//! the HTTP response body), refuses what Slack would refuse, and a later
//! submission reports the picked option with the text the app gave it.

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

const CATALOG: &[(&str, &str)] = &[
    ("pricing", "Pricing"),
    ("pricing_page", "Pricing page"),
    ("acme", "Competitor: Acme"),
    ("churn", "Churn risk"),
    ("onboarding", "Onboarding"),
];

fn plain(t: &str) -> Value {
    json!({"type": "plain_text", "text": t})
}

fn option(value: &str, text: &str) -> Value {
    json!({"text": plain(text), "value": value})
}

/// What the fake app answers a block_suggestion with, for the typed value.
fn answer(value: &str) -> (StatusCode, Option<Value>) {
    let q = value.to_lowercase();
    match q.as_str() {
        "everything" => {
            let all: Vec<Value> = (0..101)
                .map(|i| option(&format!("v{i}"), &format!("Tag {i}")))
                .collect();
            (StatusCode::OK, Some(json!({ "options": all })))
        }
        "longtext" => (
            StatusCode::OK,
            Some(json!({"options": [option("long", &"x".repeat(76))]})),
        ),
        "grp" => (
            StatusCode::OK,
            Some(json!({"option_groups": [
                {"label": plain("Deals"), "options": [option("pricing", "Pricing"), option("churn", "Churn risk")]},
                {"label": plain("Market"), "options": [option("acme", "Competitor: Acme")]}
            ]})),
        ),
        "boom" => (StatusCode::INTERNAL_SERVER_ERROR, None),
        "silent" => (StatusCode::OK, None),
        _ => {
            let hits: Vec<Value> = CATALOG
                .iter()
                .filter(|(_, t)| t.to_lowercase().contains(&q))
                .map(|(v, t)| option(v, t))
                .collect();
            (StatusCode::OK, Some(json!({ "options": hits })))
        }
    }
}

fn note_modal() -> Value {
    json!({
        "type": "modal", "callback_id": "note",
        "title": plain("Field notes"), "submit": plain("Save"),
        "blocks": [
            {"type": "input", "block_id": "topic", "label": plain("Topic"),
             "element": {"type": "external_select", "action_id": "pick", "placeholder": plain("Search topics")}},
            {"type": "input", "block_id": "tags", "optional": true, "label": plain("Tags"),
             "element": {"type": "multi_external_select", "action_id": "t", "min_query_length": 0}},
            {"type": "input", "block_id": "region", "optional": true, "label": plain("Region"),
             "element": {"type": "external_select", "action_id": "r", "min_query_length": 1,
                         "initial_option": option("emea", "EMEA")}},
            {"type": "input", "block_id": "what", "optional": true, "label": plain("What?"),
             "element": {"type": "plain_text_input", "action_id": "text"}}
        ]
    })
}

async fn open_note_modal(emu: &Emulator) -> String {
    let c = client(emu);
    let t = bot_token(emu);
    let view: SlackView = serde_json::from_value(note_modal()).unwrap();
    let opened = c
        .open_session(&t)
        .views_open(&SlackApiViewsOpenRequest::new(
            emu.mint_trigger_id(ALICE).into(),
            view,
        ))
        .await
        .unwrap();
    opened.view.state_params.id.0
}

fn texts_and_values(options: &[Value]) -> Vec<(String, String)> {
    options
        .iter()
        .map(|o| {
            (
                o["text"]["text"].as_str().unwrap().to_string(),
                o["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(t: &str, v: &str) -> (String, String) {
    (t.to_string(), v.to_string())
}

// ---------------------------------------------------------------- Socket Mode

#[derive(Clone)]
struct Bot {
    seen: Arc<Mutex<Vec<String>>>,
    submitted: Arc<Mutex<Vec<Value>>>,
}

async fn on_interaction(
    ev: SlackInteractionEvent,
    _c: Arc<SlackHyperClient>,
    st: SlackClientEventsUserState,
) -> UserCallbackResult<SlackInteractionResponse> {
    let b = st.read().await.get_user_state::<Bot>().unwrap().clone();
    match ev {
        SlackInteractionEvent::BlockSuggestion(s) => {
            let view_id = match &s.container {
                SlackInteractionActionContainer::View(v) => v.view_id.0.clone(),
                other => format!("{other:?}"),
            };
            b.seen.lock().unwrap().push(format!(
                "suggest:{}:{}:{}:{view_id}:{}",
                s.block_id.0, s.action_id.0, s.value, s.user.id.0
            ));
            let (_, body) = answer(&s.value);
            let resp: SlackBlockSuggestionResponse = serde_json::from_value(body.unwrap())?;
            Ok(resp.into())
        }
        SlackInteractionEvent::ViewSubmission(v) => {
            let state = serde_json::to_value(v.view.state_params.state.unwrap())?;
            b.submitted.lock().unwrap().push(state);
            Ok(SlackInteractionResponse::Empty)
        }
        other => Err(format!("unexpected {other:?}").into()),
    }
}

async fn connect(
    emu: &Emulator,
) -> (
    SlackClientSocketModeListener<SlackClientHyperHttpsConnector>,
    Bot,
) {
    let b = Bot {
        seen: Arc::new(Mutex::new(vec![])),
        submitted: Arc::new(Mutex::new(vec![])),
    };
    let env =
        Arc::new(SlackClientEventsListenerEnvironment::new(client(emu)).with_user_state(b.clone()));
    let callbacks = SlackSocketModeListenerCallbacks::new().with_interaction_events(on_interaction);
    let listener = SlackClientSocketModeListener::new(
        &SlackClientSocketModeConfig::new().with_max_connections_count(1),
        env,
        callbacks,
    );
    listener.listen_for(&app_token(emu)).await.unwrap();
    listener.start().await;
    emu.wait_for_socket_connection(Duration::from_secs(5))
        .await
        .unwrap();
    (listener, b)
}

#[tokio::test]
async fn type_ahead_over_socket_mode_then_submit() {
    let emu = start().await;
    let (listener, b) = connect(&emu).await;
    let view_id = open_note_modal(&emu).await;

    // fewer characters than min_query_length (3 by default): nothing is sent
    let e = emu
        .block_suggestion(ALICE, &view_id, "topic", "pr")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("min_query_length of 3"), "{e:#}");
    assert!(b.seen.lock().unwrap().is_empty());

    // the app filters; its ack payload carries the options
    let got = emu
        .block_suggestion(ALICE, &view_id, "topic", "pri")
        .await
        .unwrap();
    assert_eq!(
        texts_and_values(&got),
        [
            pair("Pricing", "pricing"),
            pair("Pricing page", "pricing_page")
        ]
    );
    assert_eq!(
        b.seen.lock().unwrap().last().unwrap(),
        &format!("suggest:topic:pick:pri:{view_id}:{ALICE}")
    );

    // min_query_length 0: an empty query is sent (the menu just opened)
    let all = emu
        .block_suggestion(ALICE, &view_id, "tags", "")
        .await
        .unwrap();
    assert_eq!(all.len(), CATALOG.len());

    // more than 100 options: Slack would not show them
    let e = emu
        .block_suggestion(ALICE, &view_id, "tags", "everything")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no more than 100"), "{e:#}");

    // not an external select, or no such block
    assert!(emu
        .block_suggestion(ALICE, &view_id, "what", "abc")
        .await
        .is_err());
    assert!(emu
        .block_suggestion(ALICE, &view_id, "nope", "abc")
        .await
        .is_err());
    // someone else's view
    assert!(emu
        .block_suggestion(BOB, &view_id, "topic", "pri")
        .await
        .is_err());

    // picking suggested options: Slack's selected_option(s) with their text;
    // the unanswered region reports its initial_option
    let modal = emu.open_modal_for(ALICE).unwrap();
    let mut answers = HashMap::new();
    answers.insert(
        "topic".to_string(),
        FieldAnswer::Select("pricing_page".into()),
    );
    answers.insert(
        "tags".to_string(),
        FieldAnswer::Multi(vec!["churn".into(), "acme".into()]),
    );
    let values = emu.fill_modal_values(&modal.view, &answers);
    assert_eq!(
        values["topic"]["pick"],
        json!({"type": "external_select",
               "selected_option": {"text": {"type": "plain_text", "text": "Pricing page"}, "value": "pricing_page"}})
    );
    assert_eq!(
        values["tags"]["t"]["selected_options"],
        json!([
            option("churn", "Churn risk"),
            option("acme", "Competitor: Acme")
        ])
    );
    assert_eq!(
        values["region"]["r"]["selected_option"],
        option("emea", "EMEA")
    );

    let d = emu.submit_view(ALICE, &view_id, values).await.unwrap();
    assert!(d.acked);
    assert!(emu.open_modal_for(ALICE).is_none());
    let state = b.submitted.lock().unwrap().last().unwrap().clone();
    let v = &state["values"];
    assert_eq!(
        v["topic"]["pick"]["selected_option"]["text"]["text"],
        "Pricing page"
    );
    assert_eq!(
        v["topic"]["pick"]["selected_option"]["value"],
        "pricing_page"
    );
    assert_eq!(
        v["tags"]["t"]["selected_options"][1]["text"]["text"],
        "Competitor: Acme"
    );
    assert_eq!(v["region"]["r"]["selected_option"]["value"], "emea");

    // a closed modal cannot be typed into
    assert!(emu
        .block_suggestion(ALICE, &view_id, "topic", "pri")
        .await
        .is_err());
    listener.shutdown().await;
}

#[tokio::test]
async fn suggestions_accumulate_and_unsuggested_values_fall_back() {
    let emu = start().await;
    let (listener, _b) = connect(&emu).await;
    let view_id = open_note_modal(&emu).await;
    // two searches in the same multi-select: both answers stay pickable
    emu.block_suggestion(ALICE, &view_id, "tags", "chu")
        .await
        .unwrap();
    emu.block_suggestion(ALICE, &view_id, "tags", "onb")
        .await
        .unwrap();
    let modal = emu.open_modal_for(ALICE).unwrap();
    let mut answers = HashMap::new();
    answers.insert(
        "tags".to_string(),
        FieldAnswer::Multi(vec!["churn".into(), "onboarding".into()]),
    );
    // never suggested: the value stands in for the text
    answers.insert("topic".to_string(), FieldAnswer::Select("mystery".into()));
    // the initial option's text is known without a search
    answers.insert("region".to_string(), FieldAnswer::Select("emea".into()));
    let values = emu.fill_modal_values(&modal.view, &answers);
    let tags = &values["tags"]["t"]["selected_options"];
    assert_eq!(tags[0]["text"]["text"], "Churn risk");
    assert_eq!(tags[1]["text"]["text"], "Onboarding");
    assert_eq!(
        values["topic"]["pick"]["selected_option"]["text"]["text"],
        "mystery"
    );
    assert_eq!(
        values["region"]["r"]["selected_option"]["text"]["text"],
        "EMEA"
    );
    // an explicit empty multi answer stays empty (no initial options there)
    answers.insert("tags".to_string(), FieldAnswer::Multi(vec![]));
    let values = emu.fill_modal_values(&modal.view, &answers);
    assert_eq!(values["tags"]["t"]["selected_options"], json!([]));
    listener.shutdown().await;
}

// ----------------------------------------------------------------------- HTTP

#[derive(Clone, Default)]
struct Recorder {
    requests: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn interactive(State(r): State<Recorder>, h: HeaderMap, body: Bytes) -> Response {
    r.requests.lock().unwrap().push((h, body.clone()));
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
    let p: Value = serde_json::from_str(&form["payload"]).unwrap();
    if p["type"] == "block_suggestion" {
        return match answer(p["value"].as_str().unwrap()) {
            (status, Some(body)) => (status, axum::Json(body)).into_response(),
            (status, None) => status.into_response(),
        };
    }
    StatusCode::OK.into_response()
}

async fn bot_server(rec: Recorder) -> String {
    let app = Router::new()
        .route("/slack/interactive", post(interactive))
        .with_state(rec);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}/slack/interactive")
}

fn last_payload(emu: &Emulator, rec: &Recorder) -> Value {
    let (h, body) = rec.requests.lock().unwrap().last().unwrap().clone();
    let ts: i64 = h["x-slack-request-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = h["x-slack-signature"].to_str().unwrap();
    assert!(slack_emulator::verify(
        &emu.config().signing_secret,
        ts,
        &body,
        sig
    ));
    assert_eq!(
        h["content-type"].to_str().unwrap(),
        "application/x-www-form-urlencoded"
    );
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
    serde_json::from_str(&form["payload"]).unwrap()
}

#[tokio::test]
async fn type_ahead_over_http_then_submit() {
    let emu = start().await;
    let rec = Recorder::default();
    let url = bot_server(rec.clone()).await;
    let view_id = open_note_modal(&emu).await;
    emu.deliver_via_http(&url);

    let got = emu
        .block_suggestion(ALICE, &view_id, "topic", "Acm")
        .await
        .unwrap();
    assert_eq!(texts_and_values(&got), [pair("Competitor: Acme", "acme")]);

    // Slack's documented payload shape, signed, and slack-morphism parses it
    let p = last_payload(&emu, &rec);
    let cfg = emu.config();
    assert_eq!(p["type"], "block_suggestion");
    assert_eq!(
        p["user"],
        json!({"id": ALICE, "username": "alice", "name": "alice", "team_id": cfg.team_id})
    );
    assert_eq!(p["container"], json!({"type": "view", "view_id": view_id}));
    assert_eq!(p["api_app_id"], cfg.app_id.as_str());
    assert!(p["token"].is_string());
    assert_eq!(p["action_id"], "pick");
    assert_eq!(p["block_id"], "topic");
    assert_eq!(p["value"], "Acm");
    assert_eq!(
        p["team"],
        json!({"id": cfg.team_id, "domain": cfg.team_domain})
    );
    assert_eq!(p["enterprise"], Value::Null);
    assert_eq!(p["is_enterprise_install"], false);
    assert_eq!(p["view"]["id"], view_id.as_str());
    assert_eq!(p["view"]["callback_id"], "note");
    assert_eq!(p["view"]["blocks"][0]["element"]["type"], "external_select");
    match serde_json::from_value::<SlackInteractionEvent>(p).unwrap() {
        SlackInteractionEvent::BlockSuggestion(s) => {
            assert_eq!(s.value, "Acm");
            assert!(s.view.is_some());
        }
        other => panic!("{other:?}"),
    }

    // option_groups come back flattened
    let grouped = emu
        .block_suggestion(ALICE, &view_id, "tags", "grp")
        .await
        .unwrap();
    assert_eq!(
        texts_and_values(&grouped),
        [
            pair("Pricing", "pricing"),
            pair("Churn risk", "churn"),
            pair("Competitor: Acme", "acme")
        ]
    );

    // answers Slack could not show
    let e = emu
        .block_suggestion(ALICE, &view_id, "tags", "everything")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no more than 100"), "{e:#}");
    let e = emu
        .block_suggestion(ALICE, &view_id, "tags", "longtext")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/options/0/text/text"), "{e:#}");
    let e = emu
        .block_suggestion(ALICE, &view_id, "tags", "boom")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 500"), "{e:#}");
    let e = emu
        .block_suggestion(ALICE, &view_id, "tags", "silent")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("without a body"), "{e:#}");
    let before = rec.requests.lock().unwrap().len();
    assert!(emu
        .block_suggestion(ALICE, &view_id, "topic", "ac")
        .await
        .is_err());
    assert_eq!(rec.requests.lock().unwrap().len(), before, "nothing sent");

    // submit: the picked option carries the text the app gave it
    let modal = emu.open_modal_for(ALICE).unwrap();
    let mut answers = HashMap::new();
    answers.insert("topic".to_string(), FieldAnswer::Select("acme".into()));
    answers.insert(
        "tags".to_string(),
        FieldAnswer::Multi(vec!["pricing".into(), "churn".into()]),
    );
    let values = emu.fill_modal_values(&modal.view, &answers);
    let d = emu.submit_view(ALICE, &view_id, values).await.unwrap();
    assert!(d.acked);
    let p = last_payload(&emu, &rec);
    assert_eq!(p["type"], "view_submission");
    match serde_json::from_value::<SlackInteractionEvent>(p).unwrap() {
        SlackInteractionEvent::ViewSubmission(v) => {
            let values = v.view.state_params.state.unwrap().values;
            let topic = values[&"topic".into()][&"pick".into()]
                .selected_option
                .clone()
                .unwrap();
            assert_eq!(topic.value, "acme");
            assert_eq!(topic.text.text, "Competitor: Acme");
            let tags = values[&"tags".into()][&"t".into()]
                .selected_options
                .clone()
                .unwrap();
            let texts: Vec<&str> = tags.iter().map(|o| o.text.text.as_str()).collect();
            assert_eq!(texts, ["Pricing", "Churn risk"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn type_ahead_in_the_home_tab_and_a_stacked_modal() {
    let emu = start().await;
    let rec = Recorder::default();
    let url = bot_server(rec.clone()).await;
    emu.deliver_via_http(&url);
    let c = client(&emu);
    let t = bot_token(&emu);
    let s = c.open_session(&t);

    let home: SlackView = serde_json::from_value(json!({"type": "home", "blocks": [
        {"type": "section", "block_id": "find", "text": {"type": "mrkdwn", "text": "Find a note"},
         "accessory": {"type": "external_select", "action_id": "q", "min_query_length": 1}}
    ]}))
    .unwrap();
    let published = s
        .views_publish(&SlackApiViewsPublishRequest::new(ALICE.into(), home))
        .await
        .unwrap();
    let home_id = published.view.state_params.id.0;
    let got = emu
        .block_suggestion(ALICE, &home_id, "find", "o")
        .await
        .unwrap();
    assert_eq!(
        texts_and_values(&got),
        [
            pair("Competitor: Acme", "acme"),
            pair("Onboarding", "onboarding")
        ]
    );
    let p = last_payload(&emu, &rec);
    assert_eq!(p["container"]["view_id"], home_id.as_str());
    assert_eq!(p["view"]["type"], "home");

    // only the topmost modal takes typing
    let bottom = open_note_modal(&emu).await;
    let pushed: SlackView = serde_json::from_value(note_modal()).unwrap();
    s.views_push(&SlackApiViewsPushRequest::new(
        emu.mint_trigger_id(ALICE).into(),
        pushed,
    ))
    .await
    .unwrap();
    let top = emu.open_modal_for(ALICE).unwrap().id;
    assert_ne!(top, bottom);
    let e = emu
        .block_suggestion(ALICE, &bottom, "topic", "pri")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("topmost"), "{e:#}");
    assert_eq!(
        emu.block_suggestion(ALICE, &top, "topic", "pri")
            .await
            .unwrap()
            .len(),
        2
    );
}
