//! Closing the loop (issue 13), through the emulator in Slack's payload
//! shapes, on SQLite and PostgreSQL: a digest quote's **Acting on it**, the
//! rep's relayed DM, their reply in its thread stored as a follow-up on
//! the same note, the marketer told, double clicks and retries recorded
//! once, the rep's App Home and the next digest's "You said, we did", and
//! the week after, participation against loop closures; the anonymous relay with its form and reveal; and every refusal
//! (a rep pressing, forged values, someone else's answer form, a forged
//! form submission) changing nothing.

use crate::digest::{all_calls_ok, marketing_app, seed, send_time, NAMES};
use crate::support::wait::until;
use crate::support::{Db, TestApp};
use fieldnotes::digest::render::blocks::{LOOP_ACTING, LOOP_ASK, LOOP_THANKS};
use fieldnotes::domain::Source;
use fieldnotes::features::loops::{REPLY_FORM, REVEAL};
use serde_json::{json, Value};
use slack_emulator::{FieldAnswer, Message};
use std::collections::HashMap;
use std::time::Duration;

const MKT: &str = "U0MKT0001";
const CHANNEL: &str = "C0MARKETNG";
/// Reps of the seed who are members of the emulator's workspace.
const MEMBERS: [&str; 3] = ["U0REP0001", "U0REP0002", "U0REP0003"];

async fn wait(what: &str, f: impl FnMut() -> bool) {
    until(what, Duration::from_secs(15), f).await;
}

/// Every (message ts, button value) of the loop buttons in the channel.
fn loop_buttons(t: &TestApp, action: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    for m in t.emu.messages_in(CHANNEL) {
        for b in m.blocks.as_array().into_iter().flatten() {
            for e in b["elements"].as_array().into_iter().flatten() {
                if e["action_id"] == action {
                    out.push((m.ts.clone(), e["value"].as_str().unwrap().to_string()));
                }
            }
        }
    }
    out
}

/// A quote's button (one note) whose rep is in the workspace: (ts, value,
/// note id, rep).
async fn quote_button(t: &TestApp, action: &str, skip: usize) -> (String, String, i64, String) {
    let store = &t.app().state().store;
    let mut seen = 0;
    for (ts, value) in loop_buttons(t, action) {
        let ids = value.split_once('|').unwrap().1;
        if ids.contains(',') {
            continue;
        }
        let id: i64 = ids.parse().unwrap();
        let rep = store.insight(id).await.unwrap().unwrap().user_id;
        if MEMBERS.contains(&rep.as_str()) {
            if seen == skip {
                return (ts, value, id, rep);
            }
            seen += 1;
        }
    }
    panic!("no quote button by a workspace member");
}

/// Everything `user` was shown: ephemerals to them anywhere, and their DM.
fn shown_to(t: &TestApp, user: &str) -> Vec<Message> {
    let dm = t.emu.dm_channel(user);
    t.emu
        .messages()
        .into_iter()
        .filter(|m| m.ephemeral_for.as_deref() == Some(user) || Some(&m.channel) == dm.as_ref())
        .collect()
}

fn text_of(m: &Message) -> String {
    format!("{} {}", m.text, m.blocks)
}

async fn told(t: &TestApp, user: &str, needle: &str) {
    wait(&format!("{user} told {needle:?}"), || {
        shown_to(t, user)
            .iter()
            .any(|m| text_of(m).contains(needle))
    })
    .await;
}

/// The bot's top-level messages in `user`'s DM, oldest first.
fn dms(t: &TestApp, user: &str) -> Vec<Message> {
    let Some(dm) = t.emu.dm_channel(user) else {
        return vec![];
    };
    t.emu
        .messages_in(&dm)
        .into_iter()
        .filter(|m| m.thread_ts.is_none() && m.bot_id.is_some() && m.ephemeral_for.is_none())
        .collect()
}

/// The relay DMs a rep got (the loop's messages carry its form button).
fn relays(t: &TestApp, rep: &str) -> Vec<Message> {
    dms(t, rep)
        .into_iter()
        .filter(|m| m.blocks.to_string().contains(REPLY_FORM))
        .collect()
}

async fn digest_posted(db: Db, attribution: &str) -> TestApp {
    let t = marketing_app(db, attribution, r#"channels = ["C0MARKETNG"]"#).await;
    seed(&t.app().state().store).await;
    t.advance_to(send_time()).await;
    assert!(
        !loop_buttons(&t, LOOP_ACTING).is_empty(),
        "the digest carries the loop buttons"
    );
    t
}

/// Submits the topmost modal of `user` with `text` in the loop's text box.
async fn submit_text(t: &TestApp, user: &str, text: &str) -> slack_emulator::Delivery {
    let modal = t.emu.open_modal_for(user).expect("a form");
    let values = t.emu.fill_modal_values(
        &modal.view,
        &HashMap::from([("loop_text".to_string(), FieldAnswer::Text(text.into()))]),
    );
    t.emu.submit_view(user, &modal.id, values).await.unwrap()
}

async fn full_loop(db: Db) {
    let t = digest_posted(db, "named").await;
    let store = &t.app().state().store;
    let (ts, value, note, rep) = quote_button(&t, LOOP_ACTING, 0).await;

    // Acting on it: the form, then the rep's DM with the marketer's name,
    // their text and the note.
    t.emu
        .click_button_valued(MKT, CHANNEL, &ts, LOOP_ACTING, &value)
        .await
        .unwrap();
    let d = submit_text(&t, MKT, "We're adding a pricing FAQ to the deck").await;
    assert!(d.acked);
    assert!(t.emu.open_modal_for(MKT).is_none(), "the form closes");
    told(&t, MKT, "Done: the rep who shared it will be told").await;
    t.run_until_idle().await;
    let relay = relays(&t, &rep);
    assert_eq!(relay.len(), 1, "one DM to the rep");
    let body = text_of(&relay[0]);
    assert!(
        body.contains(&format!("<@{MKT}> from marketing is acting on")),
        "{body}"
    );
    assert!(body.contains("pricing FAQ"), "{body}");
    assert!(body.contains(&format!("note #{note}")), "{body}");
    assert!(!body.contains(REVEAL), "a named digest: nothing to reveal");

    // Thanks, double-clicked, and the click retried by Slack: one action,
    // one more DM.
    let (ts2, value2, note2, rep2) = quote_button(&t, LOOP_THANKS, 0).await;
    assert_eq!(note2, note);
    let first = t
        .emu
        .click_button_valued(MKT, CHANNEL, &ts2, LOOP_THANKS, &value2)
        .await
        .unwrap();
    t.emu
        .click_button_valued(MKT, CHANNEL, &ts2, LOOP_THANKS, &value2)
        .await
        .unwrap();
    t.emu.redeliver(&first).await.unwrap();
    told(&t, MKT, "You already did that for this note").await;
    t.run_until_idle().await;
    let actions = store.loop_actions_for_rep(&rep2, 50).await.unwrap();
    let kinds: Vec<&str> = actions.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["thanks", "acting"],
        "one row each, newest first"
    );
    assert_eq!(actions[1].text, "We're adding a pricing FAQ to the deck");
    assert_eq!(relays(&t, &rep).len(), 2, "acting and thanks, once each");

    // The rep answers in the relay's thread: a follow-up on the same note,
    // tagged like any note, and the marketer is told.
    let dm = t.emu.dm_channel(&rep).unwrap();
    let reply = t
        .emu
        .user_message(
            &rep,
            &dm,
            "Thanks! The price objection came from their CFO, and Globex was cheaper.",
            Some(&relay[0].ts),
        )
        .await
        .unwrap();
    t.wait_handled(&reply).await;
    let ups = store.follow_ups(note).await.unwrap();
    assert_eq!(ups.len(), 1, "{ups:?}");
    let up = store.insight(ups[0].0).await.unwrap().unwrap();
    assert_eq!(up.source, Source::FollowUp);
    assert_eq!(up.user_id, rep);
    let tags = up.all_tags();
    for tag in ["objection:price", "persona:cfo", "competitor:globex"] {
        assert!(tags.contains(&tag.to_string()), "{tag} in {tags:?}");
    }
    // Slack retrying the event saves nothing more.
    t.emu.redeliver(&reply).await.unwrap();
    t.settle().await;
    assert_eq!(store.follow_ups(note).await.unwrap().len(), 1);
    t.run_until_idle().await;
    told(&t, MKT, "Globex was cheaper").await;
    let notice: Vec<String> = shown_to(&t, MKT)
        .iter()
        .map(text_of)
        .filter(|s| s.contains("Globex was cheaper"))
        .collect();
    assert_eq!(notice.len(), 1, "told once: {notice:?}");
    assert!(
        notice[0].contains(&format!("<@{rep}> replied")),
        "{}",
        notice[0]
    );
    // The rep's thread reply is confirmed in the thread, like any note.
    wait("the follow-up's confirmation", || {
        t.emu
            .messages_in(&dm)
            .iter()
            .any(|m| m.thread_ts.as_deref() == Some(relay[0].ts.as_str()) && m.bot_id.is_some())
    })
    .await;

    // "You said, we did" on the rep's App Home: the marketer, what they
    // will do, and the note it answers.
    let opened = t.emu.app_home_opened(&rep).await.unwrap();
    t.wait_handled(&opened).await;
    wait("the rep's App Home lists the loop", || {
        t.emu.home_view(&rep).is_some_and(|v| {
            let s = v.view.to_string();
            s.contains("You said, we did") && s.contains("pricing FAQ")
        })
    })
    .await;
    let home = t.emu.home_view(&rep).unwrap().view.to_string();
    assert!(home.contains(&format!("<@{MKT}>")), "{home}");

    // The rep shares again this week; the next digest has "You said, we
    // did": the action, with the note it answers and its follow-up.
    let r = t
        .command(&rep, "note Initech asked for the pricing FAQ again")
        .await;
    assert!(r.contains("Saved"), "{r}");
    let posted = t.emu.messages_in(CHANNEL).len();
    t.advance_to(send_time() + chrono::Duration::days(7)).await;
    let next: String = t.emu.messages_in(CHANNEL)[posted..]
        .iter()
        .map(text_of)
        .collect();
    assert!(next.contains("You said, we did"), "{next}");
    assert!(
        next.contains("We're adding a pricing FAQ to the deck"),
        "{next}"
    );
    assert!(next.contains("1 answer from the rep"), "{next}");

    // And the week after, participation against loop closures: the rep
    // who heard back shared again.
    let r = t
        .command(&rep, "note Globex dropped their price by 10%")
        .await;
    assert!(r.contains("Saved"), "{r}");
    let posted = t.emu.messages_in(CHANNEL).len();
    t.advance_to(send_time() + chrono::Duration::days(14)).await;
    let later: String = t.emu.messages_in(CHANNEL)[posted..]
        .iter()
        .map(text_of)
        .collect();
    assert!(
        later.contains("1 heard back from marketing and 1 of them (100%) shared again"),
        "{later}"
    );

    all_calls_ok(&t.emu);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_loop_sqlite() {
    full_loop(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_loop_postgres() {
    full_loop(Db::Postgres).await;
}

async fn anonymous_relay(db: Db) {
    let t = digest_posted(db, "anonymous").await;
    let store = &t.app().state().store;
    let (ts, value, note, rep) = quote_button(&t, LOOP_ASK, 0).await;

    // A question is required; the form says so and stays open.
    t.emu
        .click_button_valued(MKT, CHANNEL, &ts, LOOP_ASK, &value)
        .await
        .unwrap();
    let d = submit_text(&t, MKT, "  ").await;
    let errors = d.response.clone().unwrap_or_default().to_string();
    assert!(errors.contains("Write the question"), "{errors}");
    assert!(t.emu.open_modal_for(MKT).is_some(), "still open");
    submit_text(
        &t,
        MKT,
        "Which deal was this, and who else was in the room?",
    )
    .await;
    told(&t, MKT, "you won't see who they are").await;
    t.run_until_idle().await;
    let relay = relays(&t, &rep);
    assert_eq!(relay.len(), 1);
    let body = text_of(&relay[0]);
    assert!(
        body.contains("has a question") && body.contains("Which deal"),
        "{body}"
    );
    assert!(body.contains(REVEAL), "the rep may reveal themselves");

    // The rep answers in the form.
    t.emu
        .click_button(&rep, &relay[0].channel, &relay[0].ts, REPLY_FORM)
        .await
        .unwrap();
    submit_text(&t, &rep, "Northwind; their CFO joined the last call.").await;
    t.settle().await;
    assert_eq!(store.follow_ups(note).await.unwrap().len(), 1);
    t.run_until_idle().await;
    told(&t, MKT, "their CFO joined").await;
    let name = NAMES[rep[5..].parse::<usize>().unwrap() - 1];
    let seen: String = shown_to(&t, MKT).iter().map(text_of).collect();
    assert!(
        seen.contains("The rep who shared it answered your question"),
        "{seen}"
    );
    assert!(
        !seen.contains(&rep) && !seen.contains(name),
        "the rep stays anonymous"
    );

    // The rep chooses to say who they are.
    t.emu
        .click_button(&rep, &relay[0].channel, &relay[0].ts, REVEAL)
        .await
        .unwrap();
    told(&t, &rep, "marketing now knows it was you").await;
    t.run_until_idle().await;
    told(
        &t,
        MKT,
        &format!("<@{rep}> is the rep who shared note #{note}"),
    )
    .await;
    all_calls_ok(&t.emu);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_relay_sqlite() {
    anonymous_relay(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_relay_postgres() {
    anonymous_relay(Db::Postgres).await;
}

/// A block_actions payload as Slack shapes it, with any value.
fn forged_click(t: &TestApp, user: &str, channel: &str, action: &str, value: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": user.to_lowercase(), "name": user.to_lowercase(), "team_id": t.emu.config().team_id},
        "api_app_id": t.emu.config().app_id,
        "token": "x",
        "container": {"type": "message", "message_ts": "1.000001", "channel_id": channel, "is_ephemeral": false},
        "trigger_id": t.emu.mint_trigger_id(user),
        "team": {"id": t.emu.config().team_id, "domain": "emulator"},
        "channel": {"id": channel, "name": "marketing"},
        "actions": [{"type": "button", "action_id": action, "block_id": "x", "value": value,
                     "text": {"type": "plain_text", "text": "x"}, "action_ts": "1.2"}]
    })
}

async fn refusals(db: Db) {
    let t = digest_posted(db, "named").await;
    let store = &t.app().state().store;
    let (ts, value, note, rep) = quote_button(&t, LOOP_ACTING, 0).await;
    let other = MEMBERS.iter().find(|r| **r != rep).unwrap();

    // A rep pressing a marketer's button: refused, no form.
    t.emu
        .click_button_valued(other, CHANNEL, &ts, LOOP_ACTING, &value)
        .await
        .unwrap();
    told(
        &t,
        other,
        "Only marketers, leads or admins can use the digest's loop buttons",
    )
    .await;
    assert!(t.emu.open_modal_for(other).is_none());

    // Forged values from a marketer: each named, nothing done.
    for (v, said) in [
        ("weekly|999999".to_string(), "Note #999999 doesn't exist"),
        (format!("nope|{note}"), "There is no digest called `nope`"),
        (
            "weekly|abc".to_string(),
            "That button is out of date or broken",
        ),
    ] {
        let d = t
            .emu
            .send_interaction(forged_click(&t, MKT, CHANNEL, LOOP_THANKS, &v))
            .await
            .unwrap();
        assert!(d.acked);
        told(&t, MKT, said).await;
    }

    // A forged form submission by a rep: refused in the form.
    let forged_submit = json!({
        "type": "view_submission",
        "user": {"id": other, "username": "rep", "name": "rep", "team_id": t.emu.config().team_id},
        "api_app_id": t.emu.config().app_id,
        "token": "x",
        "trigger_id": t.emu.mint_trigger_id(other),
        "team": {"id": t.emu.config().team_id, "domain": "emulator"},
        "view": {
            "id": "V0FORGED1", "team_id": t.emu.config().team_id, "type": "modal",
            "callback_id": "loop_press",
            "private_metadata": json!({"kind": "acting", "target": value}).to_string(),
            "title": {"type": "plain_text", "text": "Acting on it"},
            "blocks": [],
            "state": {"values": {"loop_text": {"value": {"type": "plain_text_input", "value": "forged"}}}},
            "hash": "1", "root_view_id": "V0FORGED1", "app_id": t.emu.config().app_id,
            "bot_id": t.emu.config().bot_id
        }
    });
    let d = t.emu.send_interaction(forged_submit).await.unwrap();
    let resp = d.response.clone().unwrap_or_default().to_string();
    assert!(resp.contains("Only marketers"), "{resp}");

    // A real action, then someone else opening its answer form or
    // revealing: refused.
    t.emu
        .click_button_valued(MKT, CHANNEL, &ts, LOOP_THANKS, &value)
        .await
        .unwrap();
    t.run_until_idle().await;
    let action = store.loop_actions_for_rep(&rep, 5).await.unwrap()[0].id;
    for button in [REPLY_FORM, REVEAL] {
        let rep_dm = t.emu.dm_channel(&rep).unwrap();
        let d = t
            .emu
            .send_interaction(forged_click(
                &t,
                other,
                &rep_dm,
                button,
                &action.to_string(),
            ))
            .await
            .unwrap();
        assert!(d.acked);
    }
    wait("the answer refusal", || {
        t.emu.views().iter().filter(|v| v.user == *other).any(|v| {
            v.view
                .to_string()
                .contains("Only the rep who shared that note")
        })
    })
    .await;
    t.settle().await;

    // Nothing but the one real action happened.
    let mut all = vec![];
    for r in MEMBERS {
        all.extend(store.loop_actions_for_rep(r, 50).await.unwrap());
    }
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].kind, "thanks");
    assert_eq!(all[0].revealed_at, None);
    assert!(store.follow_ups(note).await.unwrap().is_empty());
    assert_eq!(relays(&t, other).len(), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_changes_nothing_sqlite() {
    refusals(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_changes_nothing_postgres() {
    refusals(Db::Postgres).await;
}
