//! HTTP mode's front door: signatures are checked on the raw bytes before
//! anything else, forged or stale requests change nothing, url_verification
//! and slash commands work, and a Slack retry of an event is acted on once.

mod common;

use common::{spawn_app, Db, Mode};
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
    fieldnotes::jobs::planner::queue_checkin(
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
