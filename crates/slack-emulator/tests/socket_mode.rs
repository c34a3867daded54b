//! slack-morphism's Socket Mode listener against the emulator: every
//! envelope must parse into slack-morphism's models, and acks (with their
//! response payloads) must come back to the emulator.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use slack_emulator::{Emulator, FieldAnswer};
use slack_morphism::prelude::*;
use tokio_tungstenite::tungstenite::Message as WsMsg;

#[derive(Clone)]
struct Bot {
    seen: Arc<Mutex<Vec<String>>>,
    token: SlackApiToken,
}

fn bot(states: &SlackClientEventsUserStateStorage) -> Bot {
    states.get_user_state::<Bot>().unwrap().clone()
}

async fn on_push(
    ev: SlackPushEventCallback,
    _c: Arc<SlackHyperClient>,
    st: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let b = bot(&*st.read().await);
    let s = match &ev.event {
        SlackEventCallbackBody::Message(m) => format!(
            "message:{}:{}",
            m.content
                .as_ref()
                .and_then(|c| c.text.clone())
                .unwrap_or_default(),
            m.origin
                .channel_type
                .as_ref()
                .map(|t| t.0.clone())
                .unwrap_or_default()
        ),
        SlackEventCallbackBody::AppHomeOpened(h) => format!("home:{}", h.user.0),
        other => format!("unknown:{other:?}"),
    };
    b.seen
        .lock()
        .unwrap()
        .push(format!("{s}:{}", ev.event_id.0));
    Ok(())
}

async fn on_interaction(
    ev: SlackInteractionEvent,
    c: Arc<SlackHyperClient>,
    st: SlackClientEventsUserState,
) -> UserCallbackResult<SlackInteractionResponse> {
    let b = bot(&*st.read().await);
    match ev {
        SlackInteractionEvent::BlockActions(a) => {
            let action = a.actions.unwrap()[0].action_id.0.clone();
            b.seen.lock().unwrap().push(format!("action:{action}"));
            let view: SlackView = serde_json::from_value(json!({
                "type":"modal","callback_id":"note","title":{"type":"plain_text","text":"New note"},
                "submit":{"type":"plain_text","text":"Save"},
                "blocks":[
                  {"type":"input","block_id":"what","label":{"type":"plain_text","text":"What did you hear?"},
                   "element":{"type":"plain_text_input","action_id":"text"}},
                  {"type":"input","block_id":"topic","label":{"type":"plain_text","text":"Topic"},
                   "element":{"type":"static_select","action_id":"pick","options":[
                     {"text":{"type":"plain_text","text":"Pricing"},"value":"pricing"},
                     {"text":{"type":"plain_text","text":"Competitors"},"value":"competitors"}]}}
                ]
            }))?;
            c.open_session(&b.token)
                .views_open(&SlackApiViewsOpenRequest::new(a.trigger_id, view))
                .await?;
            Ok(SlackInteractionResponse::Empty)
        }
        SlackInteractionEvent::ViewSubmission(v) => {
            let values = v.view.state_params.state.unwrap().values;
            let text = values[&"what".into()][&"text".into()]
                .value
                .clone()
                .unwrap_or_default();
            let topic = values[&"topic".into()][&"pick".into()]
                .selected_option
                .clone()
                .unwrap()
                .value;
            b.seen
                .lock()
                .unwrap()
                .push(format!("submit:{text}:{topic}"));
            if text.len() < 5 {
                let mut errors = HashMap::new();
                errors.insert("what".to_string(), "Tell me a bit more".to_string());
                return Ok(SlackViewSubmissionResponse::Errors(
                    SlackViewSubmissionErrorsResponse::new(errors),
                )
                .into());
            }
            Ok(SlackInteractionResponse::Empty)
        }
        SlackInteractionEvent::Shortcut(s) => {
            b.seen
                .lock()
                .unwrap()
                .push(format!("shortcut:{}", s.callback_id.0));
            Ok(SlackInteractionResponse::Empty)
        }
        SlackInteractionEvent::MessageAction(m) => {
            b.seen
                .lock()
                .unwrap()
                .push(format!("message_action:{}", m.callback_id.0));
            Ok(SlackInteractionResponse::Empty)
        }
        other => Err(format!("unexpected {other:?}").into()),
    }
}

async fn on_command(
    ev: SlackCommandEvent,
    _c: Arc<SlackHyperClient>,
    st: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let b = bot(&*st.read().await);
    b.seen.lock().unwrap().push(format!(
        "command:{}:{}",
        ev.command.0,
        ev.text.unwrap_or_default()
    ));
    Ok(SlackCommandEventResponse::new(
        SlackMessageContent::new().with_text("Noted!".into()),
    ))
}

async fn connect(
    emu: &Emulator,
) -> (
    SlackClientSocketModeListener<SlackClientHyperHttpsConnector>,
    Bot,
) {
    connect_with(
        emu,
        SlackClientSocketModeConfig::new().with_max_connections_count(1),
    )
    .await
}

async fn connect_with(
    emu: &Emulator,
    config: SlackClientSocketModeConfig,
) -> (
    SlackClientSocketModeListener<SlackClientHyperHttpsConnector>,
    Bot,
) {
    let client = client(emu);
    let b = Bot {
        seen: Arc::new(Mutex::new(vec![])),
        token: bot_token(emu),
    };
    let env =
        Arc::new(SlackClientEventsListenerEnvironment::new(client).with_user_state(b.clone()));
    let callbacks = SlackSocketModeListenerCallbacks::new()
        // the hello type is not re-exported; a non-capturing closure names it
        .with_hello_events(|ev, _c, st| async move {
            let b = bot(&*st.read().await);
            b.seen
                .lock()
                .unwrap()
                .push(format!("hello:{}", ev.connection_info.app_id.0));
        })
        .with_push_events(on_push)
        .with_interaction_events(on_interaction)
        .with_command_events(on_command);
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    listener.listen_for(&app_token(emu)).await.unwrap();
    listener.start().await;
    emu.wait_for_socket_connection(Duration::from_secs(5))
        .await
        .unwrap();
    (listener, b)
}

fn seen(b: &Bot) -> Vec<String> {
    b.seen.lock().unwrap().clone()
}

#[tokio::test]
async fn slack_morphism_listener_receives_and_acks_everything() {
    let emu = start().await;
    let (listener, b) = connect(&emu).await;

    // events_api
    let d = emu
        .user_message(ALICE, SALES, "heard about pricing", None)
        .await
        .unwrap();
    assert!(d.acked, "{d:?}");
    assert_eq!(d.attempts, 1);
    let env: Value = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(env["type"], "events_api");
    let event_id = env["payload"]["event_id"].as_str().unwrap().to_string();
    assert!(event_id.starts_with("Ev"));
    let first = seen(&b);
    assert!(first.contains(&"hello:A0FIELDNT".to_string()), "{first:?}");
    assert!(first.contains(&format!("message:heard about pricing:channel:{event_id}")));

    // a bot message with a button, then a click: block_actions -> bot opens a modal
    let c = client(&emu);
    let t = bot_token(&emu);
    let s = c.open_session(&t);
    let blocks: Vec<SlackBlock> = serde_json::from_value(json!([
        {"type":"section","text":{"type":"mrkdwn","text":"Anything to log?"}},
        {"type":"actions","elements":[{"type":"button","action_id":"log_note","text":{"type":"plain_text","text":"Log a note"},"value":"x"}]}
    ]))
    .unwrap();
    let posted = s
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            ALICE.into(),
            SlackMessageContent::new()
                .with_text("Anything to log?".into())
                .with_blocks(blocks),
        ))
        .await
        .unwrap();
    let d = emu
        .click_button(ALICE, &posted.channel.0, &posted.ts.0, "log_note")
        .await
        .unwrap();
    assert!(d.acked);
    assert!(d.response.is_none());
    let modal = emu.open_modal_for(ALICE).expect("bot opened a modal");
    assert_eq!(modal.view["callback_id"], "note");

    // view_submission with a too-short answer: errors come back through the ack
    let mut answers = HashMap::new();
    answers.insert("what".to_string(), FieldAnswer::Text("meh".into()));
    answers.insert("topic".to_string(), FieldAnswer::Select("pricing".into()));
    let values = emu.fill_modal_values(&modal.view, &answers);
    assert_eq!(
        values["topic"]["pick"]["selected_option"]["text"]["text"],
        "Pricing"
    );
    let d = emu.submit_view(ALICE, &modal.id, values).await.unwrap();
    assert!(d.acked);
    let resp = d.response.unwrap();
    assert_eq!(resp["response_action"], "errors");
    assert_eq!(resp["errors"]["what"], "Tell me a bit more");
    let still = emu
        .open_modal_for(ALICE)
        .expect("errors keep the modal open");
    assert_eq!(still.errors.unwrap()["what"], "Tell me a bit more");

    // a good answer closes it
    answers.insert(
        "what".to_string(),
        FieldAnswer::Text("they want annual billing".into()),
    );
    let values = emu.fill_modal_values(&modal.view, &answers);
    let d = emu.submit_view(ALICE, &modal.id, values).await.unwrap();
    assert!(d.acked && d.response.is_none());
    assert!(emu.open_modal_for(ALICE).is_none());

    // slash command: the ack payload is the reply, shown ephemerally
    let d = emu
        .slash_command(ALICE, "/fieldnote", "pricing is hot", SALES)
        .await
        .unwrap();
    assert!(d.acked);
    assert_eq!(d.response.as_ref().unwrap()["text"], "Noted!");
    let reply = emu.messages_in(SALES).pop().unwrap();
    assert_eq!(reply.text, "Noted!");
    assert_eq!(reply.ephemeral_for.as_deref(), Some(ALICE));

    // shortcuts and App Home parse too
    assert!(emu.global_shortcut(ALICE, "new_note").await.unwrap().acked);
    assert!(
        emu.message_shortcut(ALICE, "note_from_message", &posted.channel.0, &posted.ts.0)
            .await
            .unwrap()
            .acked
    );
    assert!(emu.app_home_opened(ALICE).await.unwrap().acked);

    let all = seen(&b);
    assert!(all.contains(&"action:log_note".to_string()), "{all:?}");
    assert!(all.contains(&"submit:meh:pricing".to_string()));
    assert!(all.contains(&"submit:they want annual billing:pricing".to_string()));
    assert!(all.contains(&"command:/fieldnote:pricing is hot".to_string()));
    assert!(all.contains(&"shortcut:new_note".to_string()));
    assert!(all.contains(&"message_action:note_from_message".to_string()));
    assert!(all.iter().any(|s| s.starts_with(&format!("home:{ALICE}"))));
    assert!(!all.iter().any(|s| s.starts_with("unknown")), "{all:?}");

    // a DM message is channel_type im; a redelivery keeps the event_id
    let dm = emu.dm_channel(ALICE).unwrap();
    let d = emu.user_message(ALICE, &dm, "in a dm", None).await.unwrap();
    let again = emu.redeliver(&d).await.unwrap();
    let env: Value = serde_json::from_slice(&again.body).unwrap();
    assert_eq!(env["retry_attempt"], 1);
    assert_eq!(env["retry_reason"], "timeout");
    let ids: Vec<String> = seen(&b)
        .into_iter()
        .filter(|s| s.starts_with("message:in a dm:im:"))
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);

    // refresh: slack-morphism reconnects and keeps receiving
    emu.request_socket_refresh().await;
    let d = emu
        .user_message(BOB, SALES, "after refresh", None)
        .await
        .unwrap();
    assert!(d.acked);

    listener.shutdown().await;
}

async fn raw_socket(
    emu: &Emulator,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let r: Value = reqwest::Client::new()
        .post(format!("{}/apps.connections.open", emu.api_url()))
        .bearer_auth(&emu.config().app_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (ws, _) = tokio_tungstenite::connect_async(r["url"].as_str().unwrap())
        .await
        .unwrap();
    ws
}

async fn next_json(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        match ws.next().await.unwrap().unwrap() {
            WsMsg::Text(t) => return serde_json::from_str(&t).unwrap(),
            WsMsg::Close(_) => return Value::Null,
            _ => continue,
        }
    }
}

/// Acks a redelivered envelope and checks the delivery ended acked on
/// Slack's second attempt.
async fn ack_redelivery(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    second: &Value,
    task: tokio::task::JoinHandle<anyhow::Result<slack_emulator::Delivery>>,
) {
    ack(ws, second).await;
    let d = task.await.unwrap().unwrap();
    assert!(d.acked);
    assert_eq!(d.attempts, 2);
}

/// Acks `env` on `ws`, as a client does.
async fn ack(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    env: &Value,
) {
    ws.send(WsMsg::Text(
        json!({"envelope_id": env["envelope_id"]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn unacked_events_are_redelivered_with_retry_attempt() {
    let emu = start().await;
    let mut ws = raw_socket(&emu).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["num_connections"], 1);
    assert_eq!(hello["connection_info"]["app_id"], "A0FIELDNT");

    let e2 = emu.clone();
    let task = tokio::spawn(async move {
        e2.send_event(json!({"type":"team_join","user":{"id":"U1"}}))
            .await
    });
    let first = next_json(&mut ws).await;
    assert_eq!(first["retry_attempt"], 0);
    assert_eq!(first["accepts_response_payload"], false);
    // don't ack: the emulator redelivers after ack_timeout
    let second = next_json(&mut ws).await;
    assert_eq!(second["retry_attempt"], 1);
    assert_eq!(second["retry_reason"], "timeout");
    assert_eq!(second["payload"]["event_id"], first["payload"]["event_id"]);
    ack_redelivery(&mut ws, &second, task).await;
}

#[tokio::test]
async fn eleventh_connection_is_refused() {
    let emu = start().await;
    let mut conns = vec![];
    for _ in 0..10 {
        let mut ws = raw_socket(&emu).await;
        assert_eq!(next_json(&mut ws).await["type"], "hello");
        conns.push(ws);
    }
    assert_eq!(emu.socket_connection_count(), 10);
    let mut ws = raw_socket(&emu).await;
    let m = next_json(&mut ws).await;
    assert_eq!(m["type"], "disconnect");
    assert_eq!(m["reason"], "too_many_websockets");
    assert_eq!(emu.socket_connection_count(), 10);
}

/// A dropped TCP connection: the client's next read fails (no close
/// frame), and the envelope it never acked comes again on its next
/// connection.
#[tokio::test]
async fn a_cut_connection_ends_without_a_close_frame_and_its_envelope_comes_again() {
    let emu = start().await;
    let mut ws = raw_socket(&emu).await;
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    let e2 = emu.clone();
    let task = tokio::spawn(async move {
        e2.send_event(json!({"type":"team_join","user":{"id":"U1"}}))
            .await
    });
    let first = next_json(&mut ws).await;
    assert_eq!(first["retry_attempt"], 0);
    emu.cut_socket_connections();
    match ws.next().await {
        None | Some(Err(_)) => {}
        Some(Ok(m)) => panic!("expected the connection to end without a frame, got {m:?}"),
    }
    emu.wait_until(Duration::from_secs(5), |e| e.socket_connection_count() == 0)
        .await
        .unwrap();

    let mut again = raw_socket(&emu).await;
    assert_eq!(next_json(&mut again).await["type"], "hello");
    assert_eq!(emu.socket_connections_opened(), 2);
    let second = next_json(&mut again).await;
    assert_eq!(second["retry_attempt"], 1);
    assert_eq!(second["payload"]["event_id"], first["payload"]["event_id"]);
    ack_redelivery(&mut again, &second, task).await;
}

/// A silent server: it answers no ping and hears no ack, but keeps the
/// TCP connection open; new envelopes go to the client's next connection,
/// and the one acked into the silence comes again there.
#[tokio::test]
async fn a_silent_server_answers_no_ping_and_hears_no_ack() {
    let emu = start().await;
    let mut ws = raw_socket(&emu).await;
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    // Before the silence a ping is answered.
    ws.send(WsMsg::Ping(vec![1u8].into())).await.unwrap();
    match ws.next().await.unwrap().unwrap() {
        WsMsg::Pong(_) => {}
        other => panic!("expected a pong, got {other:?}"),
    }
    let e2 = emu.clone();
    let task = tokio::spawn(async move {
        e2.send_event(json!({"type":"team_join","user":{"id":"U1"}}))
            .await
    });
    let first = next_json(&mut ws).await;
    emu.silence_socket_connections();
    assert_eq!(emu.socket_connection_count(), 0, "out of the rotation");
    // The ack and a ping go into the silence.
    ack(&mut ws, &first).await;
    ws.send(WsMsg::Ping(vec![2u8].into())).await.unwrap();

    let mut again = raw_socket(&emu).await;
    assert_eq!(next_json(&mut again).await["type"], "hello");
    let second = next_json(&mut again).await;
    assert_eq!(second["retry_attempt"], 1, "the ack was not heard");
    assert_eq!(second["payload"]["event_id"], first["payload"]["event_id"]);
    // The redelivery came after the ack timeout, long after the ping: no
    // pong (nor anything else) came back on the silent connection, and it
    // is still open.
    let nothing = tokio::time::timeout(Duration::from_millis(100), ws.next()).await;
    assert!(nothing.is_err(), "the silent server sent {nothing:?}");
    ack_redelivery(&mut again, &second, task).await;
    // Cutting it ends the held connection.
    emu.cut_socket_connections();
    match ws.next().await {
        None | Some(Err(_)) => {}
        Some(Ok(m)) => panic!("expected the connection to end, got {m:?}"),
    }
}

/// slack-morphism's listener reconnects after a cut connection, and, with
/// a short ping interval, notices a silent server by its missing pongs.
#[tokio::test]
async fn slack_morphism_reconnects_after_a_cut_and_a_silent_server() {
    let emu = start().await;
    let config = SlackClientSocketModeConfig::new()
        .with_max_connections_count(1)
        .with_ping_interval_in_seconds(1)
        .with_ping_failure_threshold_times(1);
    let (listener, b) = connect_with(&emu, config).await;

    emu.cut_socket_connections();
    emu.wait_until(Duration::from_secs(10), |e| {
        e.socket_connections_opened() == 2 && e.socket_connection_count() == 1
    })
    .await
    .expect("reconnected after the cut");
    let d = emu
        .user_message(ALICE, SALES, "after the cut", None)
        .await
        .unwrap();
    assert!(d.acked);

    emu.silence_socket_connections();
    emu.wait_until(Duration::from_secs(20), |e| {
        e.socket_connections_opened() == 3 && e.socket_connection_count() == 1
    })
    .await
    .expect("reconnected after the silence");
    let d = emu
        .user_message(BOB, SALES, "after the silence", None)
        .await
        .unwrap();
    assert!(d.acked);
    let all = seen(&b);
    assert!(all.iter().any(|s| s.starts_with("message:after the cut:")));
    assert!(all
        .iter()
        .any(|s| s.starts_with("message:after the silence:")));
    listener.shutdown().await;
}
