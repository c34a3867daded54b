//! HTTP mode's front door: signatures are checked on the raw bytes before
//! anything else, forged or stale requests change nothing, url_verification
//! and slash commands work, and a Slack retry of an event is acted on once.

use crate::support::{spawn_app, Db, Mode};
use std::time::Duration;

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_and_malformed_requests_are_rejected_without_side_effects() {
    let t = spawn_app(Db::Sqlite, Mode::Http).await;
    let url = format!("http://{}/slack/events", t.app().http_addr().unwrap());
    let http = reqwest::Client::new();
    let body = "token=x&team_id=T0FIELDNT&channel_id=C0SALES01&user_id=U0REP0001&command=%2Ffieldnotes&text=note+Acme+is+cheaper&response_url=http%3A%2F%2F127.0.0.1%2Fr&trigger_id=1.2.3";
    let send = |ts: i64, sig: String, body: &'static str, ct: &'static str| {
        http.post(&url)
            .header("content-type", ct)
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", sig)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    // Wrong secret.
    let forged = fieldnotes::slack::signature::sign(
        "not-the-secret",
        &now_secs().to_string(),
        body.as_bytes(),
    );
    assert_eq!(
        send(now_secs(), forged, body, form).await.unwrap().status(),
        401
    );
    // Stale but correctly signed.
    let old = now_secs() - 600;
    assert_eq!(
        send(old, t.emu.sign(old, body.as_bytes()), body, form)
            .await
            .unwrap()
            .status(),
        401
    );
    // Signed for another body (tampered in flight).
    let sig = t
        .emu
        .sign(now_secs(), b"token=x&command=%2Ffieldnotes&text=help");
    assert_eq!(
        send(now_secs(), sig, body, form).await.unwrap().status(),
        401
    );
    // No signature at all.
    assert_eq!(
        http.post(&url)
            .header("content-type", form)
            .body(body)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Signed but malformed.
    let junk = "{not json";
    let r = send(
        now_secs(),
        t.emu.sign(now_secs(), junk.as_bytes()),
        junk,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers().get("x-slack-no-retry").unwrap(), "1");
    assert!(t.insights().await.is_empty(), "nothing was saved");

    // The same request, properly signed, works.
    let r = send(
        now_secs(),
        t.emu.sign(now_secs(), body.as_bytes()),
        body,
        form,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let reply: serde_json::Value = r.json().await.unwrap();
    assert_eq!(reply["response_type"], "ephemeral");
    assert!(
        reply["text"].as_str().unwrap().contains("Saved as note #"),
        "{reply}"
    );
    let saved = t.insights().await;
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].auto_tags, vec!["competitor:acme"]);

    // url_verification echoes the challenge.
    assert!(t.emu.verify_url(&url).await.unwrap());
    // Health.
    let h = http
        .get(format!("http://{}/healthz", t.app().http_addr().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_note_and_event_retries_over_http() {
    let t = spawn_app(Db::Sqlite, Mode::Http).await;
    let d = t
        .emu
        .slash_command(
            "U0REP0003",
            "/fieldnotes",
            "note Procurement wants pricing for 3 years",
            "C0SALES01",
        )
        .await
        .unwrap();
    assert_eq!(d.status, Some(200));
    let state = t.app().state().clone();
    let saved = t.insights().await;
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].user_id, "U0REP0003");
    assert_eq!(
        saved[0].auto_tags,
        vec!["objection:price", "stage:negotiation"]
    );
    // Help for anything else, and a nudge for an empty note.
    let d = t
        .emu
        .slash_command("U0REP0003", "/fieldnotes", "", "C0SALES01")
        .await
        .unwrap();
    assert!(d.response.unwrap().to_string().contains("/fieldnotes note"));

    // An event and Slack's retry of it (same event_id): recorded once.
    let d = t.emu.app_home_opened("U0REP0001").await.unwrap();
    assert_eq!(d.status, Some(200));
    let retry = t.emu.redeliver(&d).await.unwrap();
    assert_eq!(retry.status, Some(200));
    let event_id = d.event_id.clone().unwrap();
    // Positive signal first: the event was handled (App Home published)
    // and the inbox is empty.
    t.wait_calls("views.publish", 1).await;
    t.wait_inbox_drained().await;
    assert_eq!(
        state
            .store
            .inbox_status(&event_id)
            .await
            .unwrap()
            .as_deref(),
        Some("done")
    );
    assert_eq!(
        t.emu.calls_to("views.publish").len(),
        1,
        "the retry (same event_id) was a no-op"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_save_keeps_the_text_in_the_modal() {
    let t = spawn_app(Db::Sqlite, Mode::SocketMode).await;
    let state = t.app().state().clone();
    fieldnotes::features::runs::queue_checkin(
        &state.store,
        &t.config,
        "pulse",
        None,
        // The test's clock, not the machine's: a run due a day before it.
        t.now() - chrono::Duration::days(1),
        None,
    )
    .await
    .unwrap();
    t.wait_for_prompts(1).await;
    let rep = "U0REP0001";
    t.emu
        .wait_until(Duration::from_secs(10), |e| e.dm_channel(rep).is_some())
        .await
        .unwrap();
    let dm = t.emu.dm_channel(rep).unwrap();
    let msg = t.emu.messages_in(&dm).pop().unwrap();
    t.emu
        .click_button(
            rep,
            &dm,
            &msg.ts,
            fieldnotes::slack::views::OPEN_FORM_ACTION,
        )
        .await
        .unwrap();
    let modal = t.emu.open_modal_for(rep).unwrap();
    let answers = std::collections::HashMap::from([(
        "q:heard".to_string(),
        slack_emulator::FieldAnswer::Text("Acme again".into()),
    )]);
    let values = t.emu.fill_modal_values(&modal.view, &answers);
    // The database goes away.
    state.store.close().await;
    let d = t.emu.submit_view(rep, &modal.id, values).await.unwrap();
    let resp = d.response.expect("an errors response");
    assert_eq!(resp["response_action"], "errors", "{resp}");
    assert!(resp["errors"]["q:heard"]
        .as_str()
        .unwrap()
        .contains("Your text is still here"));
    let still_open = t.emu.open_modal_for(rep).expect("the modal stays open");
    assert!(
        still_open.view.to_string().contains("Acme again"),
        "the rep's text is kept in the form"
    );
    t.stop().await;
}

/// Raw HTTP/1.1 to the bot: what a hostile client sends, byte for byte.
async fn raw(addr: std::net::SocketAddr, head: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    // The answer must come from the headers alone: the body never does.
    let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
        .await
        .expect("an answer before any body was sent")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// D3: the headers are read first; a stale, unsigned or oversized request
/// is refused before its body is read, and `Expect: 100-continue` gets no
/// `100 Continue`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_refused_from_their_headers() {
    let t = spawn_app(Db::Sqlite, Mode::Http).await;
    let addr = t.app().http_addr().unwrap();
    let sig = format!("v0={}", "0".repeat(64));
    // Stale timestamp, a 1,000-byte body promised and never sent.
    let r = raw(addr, format!(
        "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slack-Request-Timestamp: {}\r\nX-Slack-Signature: {sig}\r\nContent-Length: 1000\r\n\r\n",
        now_secs() - 3600
    )).await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    // No timestamp at all.
    let r = raw(addr, format!(
        "POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slack-Signature: {sig}\r\nContent-Length: 1000\r\n\r\n"
    )).await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    // 100 MB announced with Expect: 100-continue: 413, and never a 100.
    let r = raw(addr, format!(
        "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slack-Request-Timestamp: {}\r\nX-Slack-Signature: {sig}\r\nExpect: 100-continue\r\nContent-Length: 100000000\r\n\r\n",
        now_secs()
    )).await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    assert!(!r.contains("100 Continue"), "{r}");
    // A signed body over the cap, sent chunked (no Content-Length): cut off
    // at the cap, and nothing stored.
    let big = format!(
        "token=x&user_id=U0REP0001&command=%2Ffieldnotes&text=note+{}&trigger_id=1.2.3",
        "a".repeat(fieldnotes::slack::http::MAX_BODY_BYTES)
    );
    let ts = now_secs();
    let r = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            t.emu.sign(ts, big.as_bytes())
        );
        s.write_all(head.as_bytes()).await.unwrap();
        for c in big.as_bytes().chunks(64 * 1024) {
            let mut chunk = format!("{:x}\r\n", c.len()).into_bytes();
            chunk.extend_from_slice(c);
            chunk.extend_from_slice(b"\r\n");
            if s.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n").await;
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    // The positive signal: a proper request right after is served.
    assert!(t
        .command("U0REP0001", "note Acme again")
        .await
        .contains("Saved"));
    assert_eq!(
        t.insights().await.len(),
        1,
        "only the proper note is stored"
    );
    t.stop().await;
}

/// D2, D6, D8, D9 and verb case: what a signed but hostile slash command
/// does. Every reply is clear, nothing panics, nothing is stored wrongly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_commands_are_refused_cleanly() {
    let t = spawn_app(Db::Sqlite, Mode::Http).await;
    let state = t.app().state().clone();
    let rep = "U0REP0001";
    let now = t.now().timestamp_millis();
    for len in ["20000000w", "30500568904944w", "99999999999999999999w"] {
        let r = t.command(rep, &format!("pause {len}")).await;
        assert!(
            r.contains("366 days") || r.contains("is not a length"),
            "{r}"
        );
    }
    assert!(state.store.pauses(now).await.unwrap().is_empty());
    let r = t.command("U0MKT0001", "ask in 20000000w x").await;
    assert!(r.contains("30 days"), "{r}");
    // Verbs ignore case.
    let r = t.command(rep, "Pause 2w").await;
    assert!(r.contains("Paused until"), "{r}");
    assert_eq!(state.store.pauses(now).await.unwrap().len(), 1);
    let r = t.command(rep, "RESUME").await;
    assert!(r.contains("back on"), "{r}");

    // An unknown check-in is refused by name, and nothing is queued.
    let r = t.command("U0MKT0001", "ask nosuchcheckin hello").await;
    assert!(
        r.contains("`nosuchcheckin`") && r.contains("`pulse`"),
        "{r}"
    );

    // A replayed ask (same trigger) queues one run.
    let d = t
        .emu
        .slash_command(
            "U0MKT0001",
            "/fieldnotes",
            "ask pulse Any pricing pushback?",
            "C0SALES01",
        )
        .await
        .unwrap();
    assert!(d.response.as_ref().unwrap().to_string().contains("Queued"));
    for _ in 0..3 {
        let again = t.emu.redeliver(&d).await.unwrap();
        let text = again.response.unwrap().to_string();
        assert!(text.contains("Already queued"), "{text}");
    }
    let runs = fieldnotes::report::status(&state.store, &t.config, Some("pulse"), 10)
        .await
        .unwrap();
    assert_eq!(runs.matches("Any pricing pushback?").count(), 1, "{runs}");

    // Ids that are not Slack's: refused, nothing stored.
    let fields = |user: String| {
        serde_json::json!({
            "token": "x", "team_id": "T0FIELDNT", "channel_id": "C0SALES01",
            "user_id": user, "user_name": "x", "command": "/fieldnotes",
            "text": "pause 2w", "response_url": "http://127.0.0.1/r", "trigger_id": "1.2.3",
        })
    };
    for user in [String::new(), "U".repeat(500_000)] {
        let d = t.emu.send_command_fields(fields(user)).await.unwrap();
        let text = d.response.unwrap().to_string();
        assert!(text.contains("couldn't read who sent"), "{text}");
    }
    assert!(
        state.store.pauses(now).await.unwrap().is_empty(),
        "no pause for a forged id"
    );
    t.stop().await;
}

/// D9 and D10: a block_actions payload with 2,000 actions does nothing; a
/// form answer past Slack's 3,000 characters is refused in the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_past_slacks_limits_do_nothing() {
    let t = spawn_app(Db::Sqlite, Mode::Http).await;
    let state = t.app().state().clone();
    let rep = "U0REP0001";
    let action = |id: &str| {
        serde_json::json!({
            "type": "button", "action_id": id, "block_id": "b",
            "action_ts": "1.2", "value": "x", "text": {"type": "plain_text", "text": "x"},
        })
    };
    let payload = |actions: Vec<serde_json::Value>| {
        serde_json::json!({
            "type": "block_actions",
            "team": {"id": "T0FIELDNT", "domain": "x"},
            "user": {"id": rep, "username": "rep", "name": "rep", "team_id": "T0FIELDNT"},
            "api_app_id": "A0FIELDNT", "token": "x", "container": {"type": "view", "view_id": "V1"},
            "trigger_id": "1.2.3", "actions": actions,
        })
    };
    let many = (0..2000)
        .map(|_| action(fieldnotes::slack::views::HOME_PAUSE_1W))
        .collect();
    let d = t.emu.send_interaction(payload(many)).await.unwrap();
    assert_eq!(d.status, Some(200));
    // The positive signal: one real click is acted on...
    let d = t
        .emu
        .send_interaction(payload(vec![action(fieldnotes::slack::views::HOME_RESUME)]))
        .await
        .unwrap();
    assert_eq!(d.status, Some(200));
    t.wait_calls("views.publish", 1).await;
    t.app().state().background.idle().await;
    // ...and the 2,000 before it added no publish and no pause.
    assert_eq!(t.emu.calls_to("views.publish").len(), 1);
    assert!(state
        .store
        .pauses(t.now().timestamp_millis())
        .await
        .unwrap()
        .is_empty());

    // A note form answered with 5,000 characters stays open with an error.
    t.emu
        .slash_command(rep, "/fieldnotes", "note", "C0SALES01")
        .await
        .unwrap();
    let modal = t.emu.open_modal_for(rep).expect("the note form opened");
    let block = modal.view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "input" && b["element"]["type"] == "plain_text_input")
        .unwrap()["block_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut values = t.emu.fill_modal_values(
        &modal.view,
        &std::collections::HashMap::from([(
            block.clone(),
            slack_emulator::FieldAnswer::Text("ok".into()),
        )]),
    );
    let action_id = values[&block]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    values[&block][&action_id]["value"] = serde_json::json!("x".repeat(5000));
    // Slack's client enforces max_length (the emulator too), so the
    // payload is sent as given.
    let mut view = modal.view.clone();
    view["state"] = serde_json::json!({ "values": values });
    let d = t
        .emu
        .send_interaction(serde_json::json!({
            "type": "view_submission",
            "team": {"id": "T0FIELDNT", "domain": "x"},
            "user": {"id": rep, "username": "rep", "name": "rep", "team_id": "T0FIELDNT"},
            "api_app_id": "A0FIELDNT", "token": "x", "trigger_id": "1.2.4",
            "view": view,
        }))
        .await
        .unwrap();
    let resp = d.response.expect("an errors response");
    assert_eq!(resp["response_action"], "errors", "{resp}");
    assert!(
        resp["errors"][&block].as_str().unwrap().contains("3,000"),
        "{resp}"
    );
    assert!(t.insights().await.is_empty());
    t.stop().await;
}
