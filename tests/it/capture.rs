//! Every capture path, replayed in Slack's documented payload shapes through
//! the emulator (Socket Mode and HTTP), on SQLite and PostgreSQL: the
//! check-in form with typed fields and type-ahead, a plain DM reply (and one
//! in the prompt's thread), `/fieldnotes note`, the message shortcut, the
//! global shortcut; edits and deletes by the owner only; retries that never
//! double a note; App Home for reps and marketers.

use crate::support::wait::{until, Deadline};
use crate::support::{tag, ConfigFixture, Db, Mode, TestApp};
use fieldnotes::domain::{FieldValue, Insight, Sentiment, Source};
use fieldnotes::slack::views::{DELETE_NOTE, EDIT_NOTE, OPEN_FORM_ACTION};
use serde_json::json;
use slack_emulator::FieldAnswer;
use std::collections::HashMap;
use std::time::Duration;

const REP: &str = "U0REP0001";
const OTHER: &str = "U0REP0002";

/// The shared test config plus typed fields, a question pool asked 3 at a
/// time, and 150 accounts (more than a static select may hold).
fn fixture() -> ConfigFixture {
    let mut c = ConfigFixture::shared()
        .ask(3)
        .questions(&[
            r#"{ id = "heard", label = "What did a buyer say?", always = true }"#,
            r#"{ id = "competitors", type = "multi_select", field = "competitor", label = "Which competitors came up?", required = false }"#,
            r#"{ id = "stalled", label = "Where is a deal stalling?", required = false, tags = ["stage:negotiation"] }"#,
            r#"{ id = "account", type = "single_select", field = "account", label = "Which account?", required = false }"#,
            r#"{ id = "asset", type = "asset", label = "Which asset helped or flopped?", required = false }"#,
            r#"{ id = "quality", type = "rating", field = "lead_quality", label = "Lead quality", required = false }"#,
            r#"{ id = "mood", type = "single_select", options = ["Better", "Same", "Worse"], label = "Pipeline vs last week?", required = false }"#,
        ])
        .tag(
            tag("competitor:globex", "Competitor: Globex")
                .category("competitor")
                .keywords(&["globex"])
                .aliases(&["GlobexOne"]),
        )
        .tag(
            tag("asset:case-study", "Asset: case study")
                .category("asset")
                .keywords(&["case study"]),
        )
        .tag(
            tag("asset:roi", "Asset: ROI calculator")
                .category("asset")
                .keywords(&["roi calculator"]),
        );
    for i in 0..150 {
        c = c.tag(
            tag(&format!("account:a{i:03}"), &format!("Account {i:03}"))
                .category("account")
                .aliases(&[&format!("Acct{i:03} Holdings")]),
        );
    }
    c
}

async fn app(db: Db, mode: Mode) -> TestApp {
    TestApp::builder(db, mode)
        .config(fixture().toml())
        .spawn()
        .await
}

async fn wait(what: &str, f: impl FnMut() -> bool) {
    until(what, Duration::from_secs(15), f).await;
}

async fn wait_insight<F: Fn(&[Insight]) -> bool>(t: &TestApp, what: &str, f: F) -> Vec<Insight> {
    let d = Deadline::after(Duration::from_secs(15)).every(Duration::from_millis(50));
    loop {
        let all = t.insights().await;
        if f(&all) {
            return all;
        }
        d.wait(|| format!("waiting for {what}: {all:#?}")).await;
    }
}

/// Sends the check-in to everyone and returns the rep's prompt message.
async fn prompt_for(t: &TestApp, user: &str) -> (String, String) {
    t.queue_run(None).await;
    t.emu
        .wait_until(Duration::from_secs(20), |e| {
            e.dm_channel(user).is_some_and(|dm| {
                e.messages_in(&dm)
                    .iter()
                    .any(|m| m.blocks.to_string().contains(OPEN_FORM_ACTION))
            })
        })
        .await
        .expect("the prompt arrives");
    let dm = t.emu.dm_channel(user).unwrap();
    let m = t
        .emu
        .messages_in(&dm)
        .into_iter()
        .rfind(|m| m.blocks.to_string().contains(OPEN_FORM_ACTION))
        .unwrap();
    (dm, m.ts)
}

fn text(s: &str) -> FieldAnswer {
    FieldAnswer::Text(s.into())
}

fn all_calls_ok(t: &TestApp) {
    for c in t.emu.calls() {
        assert_eq!(
            c.response["ok"], true,
            "{} failed: {}",
            c.method, c.response
        );
    }
}

/// (a) A scheduled prompt opens the form with k of the pool; typed answers,
/// an asset verdict, a rating and a type-ahead account become fields.
async fn prompt_form_with_typed_fields(db: Db, mode: Mode) {
    let t = app(db, mode).await;
    let (dm, ts) = prompt_for(&t, REP).await;
    t.emu
        .click_button(REP, &dm, &ts, OPEN_FORM_ACTION)
        .await
        .unwrap();
    let modal = t.emu.open_modal_for(REP).expect("the form opens");
    let v = &modal.view;
    let blocks = v["blocks"].as_array().unwrap();
    let asked: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b["block_id"].as_str())
        .filter_map(|b| b.strip_prefix("q:"))
        .filter(|b| !b.contains(':'))
        .collect();
    // First run: "heard" always, then the first two of the rotating pool.
    assert_eq!(asked, vec!["heard", "competitors", "stalled"], "{v}");
    assert!(v["title"]["text"].as_str().unwrap().chars().count() <= 24);

    let answers = HashMap::from([
        (
            "q:heard".to_string(),
            text("They love it but GlobexOne is cheaper, sadly."),
        ),
        (
            "q:competitors".to_string(),
            FieldAnswer::Multi(vec!["competitor:acme".into()]),
        ),
        (
            "q:stalled".to_string(),
            text("Procurement wants a discount"),
        ),
    ]);
    let values = t.emu.fill_modal_values(v, &answers);
    let d = t.emu.submit_view(REP, &modal.id, values).await.unwrap();
    assert!(d.acked);
    assert!(
        t.emu.open_modal_for(REP).is_none(),
        "the form closes on success"
    );
    let all = t.insights().await;
    assert_eq!(all.len(), 1);
    let i = &all[0];
    assert_eq!(i.source, Source::Checkin);
    assert!(i.prompt_id.is_some());
    assert_eq!(
        i.fields,
        vec![FieldValue::new("competitor", "competitor:acme")]
    );
    assert_eq!(
        i.tags,
        vec!["competitor:acme"],
        "picked values are the rep's tags"
    );
    assert!(
        i.auto_tags.contains(&"competitor:globex".to_string()),
        "alias: {:?}",
        i.auto_tags
    );
    assert!(i.auto_tags.contains(&"stage:negotiation".to_string()));
    assert!(i.sentiment.is_some());
    // The prompt now thanks them and offers Edit / Delete.
    t.emu
        .wait_until(Duration::from_secs(10), |e| {
            e.messages_in(&dm)
                .iter()
                .any(|m| m.ts == ts && m.blocks.to_string().contains(EDIT_NOTE))
        })
        .await
        .expect("the prompt offers Edit and Delete");

    // Second run: the rotation moves on to the rest of the pool.
    t.clock.advance(chrono::Duration::minutes(1));
    let (dm, ts2) = prompt_for(&t, REP).await;
    assert_ne!(ts, ts2);
    t.emu
        .click_button(REP, &dm, &ts2, OPEN_FORM_ACTION)
        .await
        .unwrap();
    let modal = t.emu.open_modal_for(REP).unwrap();
    let v = modal.view.clone();
    let ids: Vec<String> = v["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["block_id"].as_str().map(String::from))
        .collect();
    for want in [
        "q:heard",
        "q:account",
        "q:asset",
        "q:asset:verdict",
        "q:asset:why",
    ] {
        assert!(ids.iter().any(|i| i == want), "{want} in {ids:?}");
    }
    let account = v["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "q:account")
        .unwrap();
    assert_eq!(
        account["element"]["type"], "external_select",
        "150 accounts: type-ahead"
    );
    // Type-ahead served by the bot on block_suggestion, by label or alias.
    let opts = t
        .emu
        .block_suggestion(REP, &modal.id, "q:account", "acct042")
        .await
        .unwrap();
    assert_eq!(opts.len(), 1, "{opts:?}");
    assert_eq!(opts[0]["value"], "account:a042");
    let many = t
        .emu
        .block_suggestion(REP, &modal.id, "q:account", "Account")
        .await
        .unwrap();
    assert_eq!(many.len(), 100, "at most 100 suggestions");
    let answers = HashMap::from([
        ("q:heard".to_string(), text("The case study landed badly")),
        (
            "q:account".to_string(),
            FieldAnswer::Select("account:a042".into()),
        ),
        (
            "q:asset".to_string(),
            FieldAnswer::Select("asset:case-study".into()),
        ),
        (
            "q:asset:verdict".to_string(),
            FieldAnswer::Select("flopped".into()),
        ),
        ("q:asset:why".to_string(), text("too long for a CFO")),
    ]);
    let values = t.emu.fill_modal_values(&v, &answers);
    t.emu.submit_view(REP, &modal.id, values).await.unwrap();
    let all = t.insights().await;
    assert_eq!(all.len(), 2);
    let i = &all[1];
    for f in [
        FieldValue::new("account", "account:a042"),
        FieldValue::new("asset", "asset:case-study"),
        FieldValue::new("asset_flopped", "asset:case-study"),
    ] {
        assert!(i.fields.contains(&f), "{f:?} in {:?}", i.fields);
    }
    assert!(
        i.text.contains("didn't work. too long for a CFO"),
        "{}",
        i.text
    );
    all_calls_ok(&t);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_form_sqlite_socket() {
    prompt_form_with_typed_fields(Db::Sqlite, Mode::SocketMode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_form_postgres_http() {
    prompt_form_with_typed_fields(Db::Postgres, Mode::Http).await;
}

/// (b) A plain DM reply, and one in the prompt's thread, become notes linked
/// to the prompt, acknowledged in a thread with "Add tags"; a Slack retry of
/// the same event never doubles it; "Add tags" edits it (owner only).
async fn dm_replies(db: Db, mode: Mode) {
    let t = app(db, mode).await;
    let (dm, ts) = prompt_for(&t, REP).await;
    let d = t
        .emu
        .user_message(
            REP,
            &dm,
            "Acme came in 20% under us, they hate our pricing",
            None,
        )
        .await
        .unwrap();
    assert!(d.acked);
    let all = wait_insight(&t, "the reply note", |a| a.len() == 1).await;
    let i = &all[0];
    assert_eq!(i.source, Source::Reply);
    assert_eq!(i.user_id, REP);
    assert!(i.prompt_id.is_some(), "linked to the open prompt");
    let p = t
        .app()
        .state()
        .store
        .prompt(i.prompt_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(p.answered);
    assert_eq!(p.message_ts.as_deref(), Some(ts.as_str()));
    assert_eq!(i.auto_tags, vec!["competitor:acme", "objection:price"]);
    assert_eq!(i.sentiment, Some(Sentiment::Negative));
    assert_eq!(i.message.as_ref().unwrap().channel_id, dm);

    // Slack retries the same event (same event_id, X-Slack-Retry-Num / retry_attempt).
    let again = t.emu.redeliver(&d).await.unwrap();
    assert!(again.acked);
    // Acked only once its event id is in the inbox, which says it is done.
    t.wait_handled(&again).await;
    t.settle().await;
    assert_eq!(
        t.insights().await.len(),
        1,
        "a retry never creates a second note"
    );

    // The ack is a threaded reply with Add tags and Delete.
    let user_ts = d_ts(&t, &dm, "Acme came in 20%");
    wait("the ack in the thread", || {
        t.emu.messages_in(&dm).iter().any(|m| {
            m.thread_ts.as_deref() == Some(user_ts.as_str())
                && m.blocks.to_string().contains("Add tags")
        })
    })
    .await;
    let ack = t
        .emu
        .messages_in(&dm)
        .into_iter()
        .find(|m| m.thread_ts.as_deref() == Some(user_ts.as_str()) && m.bot_id.is_some())
        .unwrap();
    assert_eq!(
        t.emu
            .messages_in(&dm)
            .iter()
            .filter(|m| m.thread_ts.as_deref() == Some(user_ts.as_str()) && m.bot_id.is_some())
            .count(),
        1,
        "one acknowledgement"
    );

    // "Add tags" opens the note pre-filled; saving it edits the note.
    t.emu
        .click_button(REP, &dm, &ack.ts, EDIT_NOTE)
        .await
        .unwrap();
    let modal = t.emu.open_modal_for(REP).expect("the edit form opens");
    assert!(
        modal.view.to_string().contains("Acme came in 20% under us"),
        "pre-filled"
    );
    t.clock.advance(chrono::Duration::minutes(5));
    let answers = HashMap::from([
        (
            "q:note".to_string(),
            text("Acme came in 20% under us, they hate our pricing. CFO involved."),
        ),
        (
            "q:competitor".to_string(),
            FieldAnswer::Multi(vec!["competitor:acme".into()]),
        ),
        (
            "q:lead_quality".to_string(),
            FieldAnswer::Select("2".into()),
        ),
    ]);
    let values = t.emu.fill_modal_values(&modal.view, &answers);
    t.emu.submit_view(REP, &modal.id, values).await.unwrap();
    let all = t.insights().await;
    assert_eq!(all.len(), 1);
    let e = &all[0];
    assert!(e.text.ends_with("CFO involved."));
    assert_eq!(
        e.edited_at_ms,
        Some(t.now().timestamp_millis()),
        "edits keep their time"
    );
    assert_eq!(e.created_at_ms, i.created_at_ms);
    assert!(e.fields.contains(&FieldValue::new("lead_quality", "2")));
    assert!(e
        .fields
        .contains(&FieldValue::new("competitor", "competitor:acme")));
    wait("the ack updated", || {
        t.emu
            .messages_in(&dm)
            .iter()
            .any(|m| m.ts == ack.ts && m.edited && m.blocks.to_string().contains("edited"))
    })
    .await;

    // A reply in the thread of a later prompt links to that prompt.
    t.clock.advance(chrono::Duration::minutes(1));
    let (_, ts2) = prompt_for(&t, REP).await;
    t.emu
        .user_message(REP, &dm, "Globex pitched a pilot", Some(&ts2))
        .await
        .unwrap();
    let all = wait_insight(&t, "the thread reply", |a| a.len() == 2).await;
    let p2 = t
        .app()
        .state()
        .store
        .prompt(all[1].prompt_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p2.message_ts.as_deref(), Some(ts2.as_str()));

    // Someone else forging "Delete" on the rep's note changes nothing.
    let forged = json!({
        "type": "block_actions",
        "user": {"id": OTHER, "username": "u0rep0002", "name": "u0rep0002", "team_id": t.emu.config().team_id},
        "api_app_id": t.emu.config().app_id,
        "token": "x",
        "container": {"type": "message", "message_ts": ack.ts, "channel_id": dm, "is_ephemeral": false},
        "trigger_id": t.emu.mint_trigger_id(OTHER),
        "team": {"id": t.emu.config().team_id, "domain": "emulator"},
        "channel": {"id": dm, "name": "directmessage"},
        "actions": [{"type": "button", "action_id": DELETE_NOTE, "block_id": "x", "value": e.id.to_string(),
                     "text": {"type": "plain_text", "text": "Delete"}, "action_ts": "1.2"}]
    });
    assert!(t.emu.send_interaction(forged.clone()).await.unwrap().acked);
    // The positive signal: the forger is told why, in their own DM.
    wait("the delete refusal", || {
        t.emu.dm_channel(OTHER).is_some_and(|d| {
            t.emu.messages_in(&d).iter().any(|m| {
                m.text
                    .contains("Only the person who shared a note can delete it")
            })
        })
    })
    .await;
    t.settle().await;
    assert_eq!(
        t.insights().await.len(),
        2,
        "not the owner: nothing deleted"
    );
    // ...and forging "Edit" opens nothing; they are told why, in their own DM.
    let mut forged_edit = forged.clone();
    forged_edit["actions"][0]["action_id"] = json!(EDIT_NOTE);
    forged_edit["trigger_id"] = json!(t.emu.mint_trigger_id(OTHER));
    assert!(t.emu.send_interaction(forged_edit).await.unwrap().acked);
    wait("the refusal", || {
        t.emu.dm_channel(OTHER).is_some_and(|d| {
            t.emu.messages_in(&d).iter().any(|m| {
                m.text
                    .contains("Only the person who shared a note can edit it")
            })
        })
    })
    .await;
    assert!(
        t.emu.open_modal_for(OTHER).is_none(),
        "no form for someone else's note"
    );
    assert_eq!(t.insights().await[0].text, e.text, "unchanged");

    // The owner deletes it; the ack says so and loses its buttons.
    t.emu
        .click_button(REP, &dm, &ack.ts, DELETE_NOTE)
        .await
        .unwrap();
    let all = wait_insight(&t, "the delete", |a| a.len() == 1).await;
    assert_ne!(all[0].id, e.id);
    wait("the ack marks the note deleted", || {
        t.emu.messages_in(&dm).iter().any(|m| {
            m.ts == ack.ts
                && m.text.contains("deleted")
                && !m.blocks.to_string().contains(DELETE_NOTE)
        })
    })
    .await;
    all_calls_ok(&t);
    t.stop().await;
}

fn d_ts(t: &TestApp, dm: &str, starts: &str) -> String {
    t.emu
        .messages_in(dm)
        .into_iter()
        .find(|m| m.bot_id.is_none() && m.text.starts_with(starts))
        .unwrap()
        .ts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_replies_sqlite_http() {
    dm_replies(Db::Sqlite, Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_replies_postgres_socket() {
    dm_replies(Db::Postgres, Mode::SocketMode).await;
}

/// (c) `/fieldnotes note <text>` saves at once with auto tags; without text
/// it opens the form. (e) The global shortcut opens the same form. (d) The
/// message shortcut saves any message with its author, channel and
/// permalink, then opens it pre-filled.
async fn commands_and_shortcuts(db: Db, mode: Mode) {
    let t = app(db, mode).await;
    let reply = t
        .command(
            REP,
            "note Initech? no, Acme is too expensive for them #pricing",
        )
        .await;
    assert!(reply.contains("Saved"), "{reply}");
    assert!(
        reply.contains(DELETE_NOTE),
        "the confirmation has Edit / Delete: {reply}"
    );
    let all = t.insights().await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].source, Source::Command);
    assert_eq!(all[0].auto_tags, vec!["competitor:acme", "objection:price"]);

    // Without text: the form.
    let reply = t.command(REP, "note").await;
    assert!(!reply.contains("warning"), "{reply}");
    let modal = t
        .emu
        .open_modal_for(REP)
        .expect("`note` alone opens the form");
    let answers = HashMap::from([
        (
            "q:note".to_string(),
            text("Heard Globex is hiring reps in EMEA"),
        ),
        (
            "q:competitor".to_string(),
            FieldAnswer::Multi(vec!["competitor:globex".into()]),
        ),
    ]);
    let values = t.emu.fill_modal_values(&modal.view, &answers);
    t.emu.submit_view(REP, &modal.id, values).await.unwrap();
    let all = t.insights().await;
    assert_eq!(all[1].source, Source::Command);
    assert_eq!(
        all[1].fields,
        vec![FieldValue::new("competitor", "competitor:globex")]
    );
    // A note from a form with no prompt gets its confirmation by DM.
    // (posted after the ack, so the DM may not exist yet).
    wait("the DM confirmation", || {
        t.emu.dm_channel(REP).is_some_and(|dm| {
            t.emu
                .messages_in(&dm)
                .iter()
                .any(|m| m.text.contains(&format!("#{}", all[1].id)))
        })
    })
    .await;

    // (e) The global shortcut.
    t.emu
        .global_shortcut(OTHER, "fieldnotes_new_note")
        .await
        .unwrap();
    let modal = t
        .emu
        .open_modal_for(OTHER)
        .expect("the global shortcut opens the form");
    let values = t.emu.fill_modal_values(
        &modal.view,
        &HashMap::from([("q:note".to_string(), text("A prospect asked about SOC 2"))]),
    );
    t.emu.submit_view(OTHER, &modal.id, values).await.unwrap();
    let all = t.insights().await;
    assert_eq!(all[2].source, Source::GlobalShortcut);
    assert_eq!(all[2].user_id, OTHER);

    // (d) The message shortcut on a colleague's message in a channel.
    // Counted before the message is posted, so the check below can fail.
    let before = t.insights().await.len();
    let posted = t
        .emu
        .user_message(
            OTHER,
            "C0SALES01",
            "Customer loved the ROI calculator, it sold the CFO",
            None,
        )
        .await
        .unwrap();
    assert!(posted.acked);
    let msg = t
        .emu
        .messages_in("C0SALES01")
        .into_iter()
        .find(|m| m.text.starts_with("Customer loved"))
        .unwrap();
    // Positive signals that the channel message was handled: the inbox
    // drained, and a DM sent after it, which is a note, got stored.
    t.settle().await;
    let rep_dm = t.emu.dm_channel(REP).expect("the rep's DM with the bot");
    let later = "After the channel message: Acme asked for a discount";
    assert!(
        t.emu
            .user_message(REP, &rep_dm, later, None)
            .await
            .unwrap()
            .acked
    );
    let all = wait_insight(&t, "the later DM note", |a| {
        a.iter().any(|i| i.text == later)
    })
    .await;
    assert_eq!(all.len(), before + 1, "channel messages are not notes");
    assert!(
        !all.iter().any(|i| i.text.starts_with("Customer loved")),
        "channel messages are not notes: {all:#?}"
    );
    t.emu
        .message_shortcut(REP, "fieldnotes_save_message", "C0SALES01", &msg.ts)
        .await
        .unwrap();
    let modal = t
        .emu
        .open_modal_for(REP)
        .expect("the shortcut opens the note pre-filled");
    assert!(modal
        .view
        .to_string()
        .contains("ROI calculator, it sold the CFO"));
    let all = wait_insight(&t, "the permalink", |a| {
        a.iter().any(|i| {
            i.source == Source::Shortcut
                && i.message.as_ref().is_some_and(|m| m.permalink.is_some())
        })
    })
    .await;
    let s = all.iter().find(|i| i.source == Source::Shortcut).unwrap();
    assert_eq!(s.user_id, REP, "the rep who saved it owns the note");
    let m = s.message.as_ref().unwrap();
    assert_eq!(m.author_id.as_deref(), Some(OTHER));
    assert_eq!(m.channel_id, "C0SALES01");
    assert_eq!(m.ts, msg.ts);
    assert!(
        m.permalink
            .as_deref()
            .unwrap()
            .contains("/archives/C0SALES01/p"),
        "{m:?}"
    );
    assert_eq!(s.sentiment, Some(Sentiment::Positive), "\"loved\"");
    // Fields and tags on the pre-filled form.
    let answers = HashMap::from([
        (
            "q:note".to_string(),
            text("Customer loved the ROI calculator, it sold the CFO"),
        ),
        (
            "q:asset".to_string(),
            FieldAnswer::Select("asset:roi".into()),
        ),
        (
            "q:asset:verdict".to_string(),
            FieldAnswer::Select("worked".into()),
        ),
    ]);
    let values = t.emu.fill_modal_values(&modal.view, &answers);
    t.emu.submit_view(REP, &modal.id, values).await.unwrap();
    let all = t.insights().await;
    let s = all.iter().find(|i| i.source == Source::Shortcut).unwrap();
    assert!(s
        .fields
        .contains(&FieldValue::new("asset_worked", "asset:roi")));
    assert_eq!(
        all.iter().filter(|i| i.source == Source::Shortcut).count(),
        1
    );
    // Saving the same message again does not double it.
    assert!(t.emu.open_modal_for(REP).is_none(), "the form closed");
    t.emu
        .message_shortcut(REP, "fieldnotes_save_message", "C0SALES01", &msg.ts)
        .await
        .unwrap();
    // The positive signal: the shortcut was handled, and opened the note
    // it found.
    wait("the form on the saved note", || {
        t.emu
            .open_modal_for(REP)
            .is_some_and(|v| v.view.to_string().contains("ROI calculator"))
    })
    .await;
    t.settle().await;
    assert_eq!(
        t.insights()
            .await
            .iter()
            .filter(|i| i.source == Source::Shortcut)
            .count(),
        1
    );
    all_calls_ok(&t);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_shortcuts_sqlite_socket() {
    commands_and_shortcuts(Db::Sqlite, Mode::SocketMode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_shortcuts_postgres_http() {
    commands_and_shortcuts(Db::Postgres, Mode::Http).await;
}

/// A database failure during an edit answers `response_action: errors` and
/// keeps the text in the form; nothing is half-written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_edit_keeps_the_text() {
    let t = app(Db::Sqlite, Mode::SocketMode).await;
    let reply = t.command(REP, "note Acme again").await;
    assert!(reply.contains("Saved"));
    let id = t.insights().await[0].id;
    // Open the edit form from App Home's note menu.
    t.emu.app_home_opened(REP).await.unwrap();
    wait("the home view", || {
        t.emu
            .home_view(REP)
            .is_some_and(|v| v.view.to_string().contains("Acme again"))
    })
    .await;
    let home = t.emu.home_view(REP).unwrap();
    t.emu
        .select_overflow_in_view(REP, &home.id, "fieldnotes_note_menu", &format!("edit:{id}"))
        .await
        .unwrap();
    let modal = t.emu.open_modal_for(REP).expect("edit from App Home");
    let values = t.emu.fill_modal_values(
        &modal.view,
        &HashMap::from([(
            "q:note".to_string(),
            text("Acme again, now with a discount"),
        )]),
    );
    let state = t.app().state().clone();
    state.store.close().await;
    let d = t.emu.submit_view(REP, &modal.id, values).await.unwrap();
    let resp = d.response.expect("an errors response");
    assert_eq!(resp["response_action"], "errors", "{resp}");
    let still = t.emu.open_modal_for(REP).expect("the form stays open");
    assert!(still.view.to_string().contains("now with a discount"));
    t.stop().await;
}

/// App Home: a rep's last notes with Edit / Delete, and a marketer's week
/// with "Preview digest".
async fn app_home(db: Db) {
    let t = app(db, Mode::SocketMode).await;
    for i in 0..12 {
        t.command(REP, &format!("note Heard #{i} about Acme pricing"))
            .await;
    }
    t.emu.app_home_opened(REP).await.unwrap();
    wait("the rep's home", || {
        t.emu
            .home_view(REP)
            .is_some_and(|v| v.view.to_string().contains("#11"))
    })
    .await;
    let home = t.emu.home_view(REP).unwrap();
    let s = home.view.to_string();
    assert!(s.contains("fieldnotes_note_menu"));
    assert!(!s.contains("Heard #1 about"), "only the last 10 notes: {s}");
    assert!(home.view["blocks"].as_array().unwrap().len() <= 100);
    assert!(
        !s.contains("Preview digest"),
        "reps don't get the marketer view"
    );
    let newest = t.insights().await.last().unwrap().id;
    t.emu
        .select_overflow_in_view(
            REP,
            &home.id,
            "fieldnotes_note_menu",
            &format!("delete:{newest}"),
        )
        .await
        .unwrap();
    let confirm = t.emu.open_modal_for(REP).expect("Delete asks first");
    assert!(confirm.view.to_string().contains("Delete note #"));
    assert_eq!(
        t.insights().await.len(),
        12,
        "nothing deleted before the rep confirms"
    );
    t.emu
        .submit_view(REP, &confirm.id, json!({}))
        .await
        .unwrap();
    wait_insight(&t, "the delete from App Home", |a| a.len() == 11).await;
    wait("the home refreshed", || {
        t.emu
            .home_view(REP)
            .is_some_and(|v| !v.view.to_string().contains("Heard #11 about"))
    })
    .await;

    // A marketer sees the week and previews the digest.
    t.emu.app_home_opened("U0MKT0001").await.unwrap();
    wait("the marketer's home", || {
        t.emu
            .home_view("U0MKT0001")
            .is_some_and(|v| v.view.to_string().contains("Preview digest"))
    })
    .await;
    let mh = t.emu.home_view("U0MKT0001").unwrap();
    t.emu
        .click_view_button("U0MKT0001", &mh.id, "fieldnotes_preview_digest")
        .await
        .unwrap();
    wait("the digest preview", || {
        t.emu
            .open_modal_for("U0MKT0001")
            .is_some_and(|v| v.view.to_string().contains("Acme pricing"))
    })
    .await;
    all_calls_ok(&t);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_home_sqlite() {
    app_home(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_home_postgres() {
    app_home(Db::Postgres).await;
}

/// Retention purges deleted notes; `retag` re-applies a changed taxonomy.
async fn retention_and_retag(db: Db) {
    let t = app(db, Mode::SocketMode).await;
    t.command(REP, "note Initech is everywhere").await;
    t.command(REP, "note delete me").await;
    let state = t.app().state().clone();
    let all = t.insights().await;
    let (keep, gone) = (all[0].id, all[1].id);
    assert!(
        all[0].auto_tags.is_empty(),
        "Initech is not in the taxonomy yet"
    );
    state
        .store
        .delete_insight(gone, REP, t.now().timestamp_millis())
        .await
        .unwrap();
    // 31 days on, retention purges it for good.
    t.clock.advance(chrono::Duration::days(31));
    // The jobs loop's hourly purge may get there first: one of the two
    // purges removes it, and it is gone.
    let p = fieldnotes::jobs::purge(&state).await.unwrap();
    assert!(p.deleted_notes <= 1);
    assert!(state.store.insight(gone).await.unwrap().is_none());
    assert!(state.store.insight(keep).await.unwrap().is_some());

    // The taxonomy gains Initech; retag applies it to stored notes.
    let text = fixture()
        .tag_before(
            "competitor:globex",
            tag("competitor:initech", "Competitor: Initech")
                .category("competitor")
                .keywords(&["initech"]),
        )
        .toml();
    let cfg = fieldnotes::config::Config::parse(std::path::Path::new("t.toml"), &text).unwrap();
    let dry = fieldnotes::features::retag::retag(&state.store, &cfg, true)
        .await
        .unwrap();
    assert_eq!(dry.changed, 1);
    assert!(
        state
            .store
            .insight(keep)
            .await
            .unwrap()
            .unwrap()
            .auto_tags
            .is_empty(),
        "dry run writes nothing"
    );
    let r = fieldnotes::features::retag::retag(&state.store, &cfg, false)
        .await
        .unwrap();
    assert_eq!((r.changed, r.added), (1, 1));
    assert_eq!(
        state.store.insight(keep).await.unwrap().unwrap().auto_tags,
        vec!["competitor:initech"]
    );
    let again = fieldnotes::features::retag::retag(&state.store, &cfg, false)
        .await
        .unwrap();
    assert_eq!(again.changed, 0, "retag is idempotent");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_retag_sqlite() {
    retention_and_retag(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_retag_postgres() {
    retention_and_retag(Db::Postgres).await;
}

/// Editing a DM message edits its note (a `message_changed` that is only a
/// thread reply landing under it does not); deleting the message deletes
/// the note; the same message can then be saved anew.
async fn dm_edits_follow_the_message(db: Db, mode: Mode) {
    let t = app(db, mode).await;
    let (dm, _) = prompt_for(&t, REP).await;
    t.emu
        .user_message(REP, &dm, "Acme is discounting hard", None)
        .await
        .unwrap();
    let all = wait_insight(&t, "the reply", |a| a.len() == 1).await;
    let ts = all[0].message.as_ref().unwrap().ts.clone();
    let changed = |text: &str, edited: bool| {
        let mut message = json!({"type": "message", "user": REP, "text": text, "ts": ts, "team": t.emu.config().team_id});
        if edited {
            message["edited"] = json!({"user": REP, "ts": "1795000000.000100"});
        }
        json!({
            "type": "message", "subtype": "message_changed", "hidden": true,
            "channel": dm, "channel_type": "im", "ts": "1795000000.000200",
            "message": message,
            "previous_message": {"type": "message", "user": REP, "text": "Acme is discounting hard", "ts": ts}
        })
    };
    // A reply landing in its thread: Slack sends message_changed, not an edit.
    let landed = t
        .emu
        .send_event(changed("Acme is discounting hard", false))
        .await
        .unwrap();
    let other = t
        .emu
        .send_event(changed("Acme is discounting hard (other)", false))
        .await
        .unwrap();
    t.wait_handled(&landed).await;
    t.wait_handled(&other).await;
    let i = &t.insights().await[0];
    assert_eq!(i.text, "Acme is discounting hard");
    assert!(i.edited_at_ms.is_none());
    // A "thanks!" under the acknowledgement is not a note.
    let thanks = t
        .emu
        .user_message(REP, &dm, "thanks! :pray:", Some(&ts))
        .await
        .unwrap();
    t.wait_handled(&thanks).await;
    assert_eq!(t.insights().await.len(), 1, "pleasantries are not notes");
    // A real edit.
    t.emu
        .send_event(changed("Acme is discounting hard, 30% off", true))
        .await
        .unwrap();
    let all = wait_insight(&t, "the edit", |a| a[0].text.ends_with("30% off")).await;
    assert!(all[0].edited_at_ms.is_some());
    assert_eq!(all[0].auto_tags, vec!["competitor:acme"]);
    // Deleting the message deletes the note.
    t.emu
        .send_event(json!({
            "type": "message", "subtype": "message_deleted", "hidden": true,
            "channel": dm, "channel_type": "im", "ts": "1795000000.000300", "deleted_ts": ts,
            "previous_message": {"type": "message", "user": REP, "text": "Acme is discounting hard, 30% off", "ts": ts}
        }))
        .await
        .unwrap();
    wait_insight(&t, "the delete", |a| a.is_empty()).await;

    // A deleted note's message can be saved again with the shortcut.
    t.emu
        .user_message(OTHER, "C0SALES01", "Globex lost a big deal", None)
        .await
        .unwrap();
    let m = t.emu.messages_in("C0SALES01").pop().unwrap();
    t.emu
        .message_shortcut(REP, "fieldnotes_save_message", "C0SALES01", &m.ts)
        .await
        .unwrap();
    let all = wait_insight(&t, "the shortcut note", |a| a.len() == 1).await;
    let state = t.app().state().clone();
    state
        .store
        .delete_insight(all[0].id, REP, t.now().timestamp_millis())
        .await
        .unwrap();
    if let Some(v) = t.emu.open_modal_for(REP) {
        t.emu.close_view(REP, &v.id).await.unwrap();
    }
    t.emu
        .message_shortcut(REP, "fieldnotes_save_message", "C0SALES01", &m.ts)
        .await
        .unwrap();
    let again = wait_insight(&t, "saved anew", |a| a.len() == 1).await;
    assert_ne!(again[0].id, all[0].id);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_edits_sqlite_socket() {
    dm_edits_follow_the_message(Db::Sqlite, Mode::SocketMode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_edits_postgres_http() {
    dm_edits_follow_the_message(Db::Postgres, Mode::Http).await;
}
