//! The whole check-in loop, end to end: a due check-in DMs its audience, a
//! rep clicks "Add field notes", fills the modal and submits; the insight is
//! stored with manual and automatic tags apart; `checkin run` queues another
//! round; export and digest see it all. Run in Socket Mode and HTTP mode, on
//! SQLite and PostgreSQL. The app is stepped: its workers run only when the
//! test moves the clock or asks them to catch up.

use crate::support::{Db, Mode, TestApp};
use chrono::Duration as CDuration;
use fieldnotes::digest::IsoWeek;
use fieldnotes::domain::Source;
use fieldnotes::export::{self, ExportFormat};
use fieldnotes::slack::views::OPEN_FORM_ACTION;
use slack_emulator::FieldAnswer;
use std::collections::HashMap;
use std::time::Duration;

async fn whole_loop(db: Db, mode: Mode) {
    let t = TestApp::builder(db, mode).stepped().spawn().await;
    let state = t.app().state().clone();
    let store = &state.store;

    // The planner's first tick starts the schedule from "now" (15:00).
    t.wait_planner_started("pulse").await;
    t.run_until_idle().await;
    assert!(t.prompts().is_empty(), "nothing is due before 16:00");

    // 16:00 New York on Friday: the check-in is due (and once `advance_to`
    // returns, everything due is sent).
    t.advance_to(t.now() + CDuration::minutes(61)).await;
    t.wait_for_prompts(4).await;
    let prompts = t.prompts();
    assert_eq!(
        prompts.len(),
        4,
        "channel members + listed user, minus bot, deactivated and excluded"
    );
    let mut prompted: Vec<String> = prompts
        .iter()
        .map(|m| {
            [
                "U0REP0001",
                "U0REP0002",
                "U0REP0003",
                "U0REPXTRA",
                "U0OTHERBOT",
                "U0REPGONE",
                "U0REPSKIP",
            ]
            .into_iter()
            .find(|u| t.emu.dm_channel(u).as_deref() == Some(m.channel.as_str()))
            .expect("prompt went to a DM")
            .to_string()
        })
        .collect();
    prompted.sort();
    assert_eq!(
        prompted,
        vec!["U0REP0001", "U0REP0002", "U0REP0003", "U0REPXTRA"]
    );

    // A rep answers through the button and the modal.
    let rep = "U0REP0002";
    let dm = t.emu.dm_channel(rep).unwrap();
    let prompt = prompts.iter().find(|m| m.channel == dm).unwrap();
    t.emu
        .click_button(rep, &dm, &prompt.ts, OPEN_FORM_ACTION)
        .await
        .unwrap();
    let modal = t
        .emu
        .open_modal_for(rep)
        .expect("the bot opened the note modal");
    let labels = modal.view.to_string();
    assert!(
        labels.contains("What did a buyer say?") && labels.contains("Where is a deal stalling?")
    );
    let answers = HashMap::from([
        (
            "q:heard".to_string(),
            FieldAnswer::Text("ACME is cheaper and the CFO said we're too expensive.".into()),
        ),
        (
            "q:stalled".to_string(),
            FieldAnswer::Text("Stuck with their lawyers.".into()),
        ),
        (
            "tags".to_string(),
            FieldAnswer::Multi(vec!["competitor:acme".into()]),
        ),
    ]);
    let values = t.emu.fill_modal_values(&modal.view, &answers);
    let d = t
        .emu
        .submit_view(rep, &modal.id, values.clone())
        .await
        .unwrap();
    assert!(d.acked, "view_submission acked");
    assert!(
        t.emu.open_modal_for(rep).is_none(),
        "an empty ack closes the modal"
    );

    let insights = t.insights().await;
    assert_eq!(insights.len(), 1);
    let i = &insights[0];
    assert_eq!(i.user_id, rep);
    assert_eq!(i.source, Source::Checkin);
    assert_eq!(i.checkin.as_deref(), Some("pulse"));
    assert_eq!(i.answers.len(), 2);
    assert_eq!(i.answers[0].question_id, "heard");
    assert_eq!(i.answers[0].question, "What did a buyer say?");
    assert_eq!(i.tags, vec!["competitor:acme"], "the rep's own tags");
    assert_eq!(
        i.auto_tags,
        vec!["competitor:acme", "objection:price", "stage:negotiation"],
        "keyword and question tags, kept apart"
    );
    assert_eq!(i.created_at_ms, t.now().timestamp_millis());
    let p = store
        .prompt(i.prompt_id.expect("linked to its prompt"))
        .await
        .unwrap()
        .unwrap();
    assert!(p.answered);
    assert_eq!(p.user_id, rep);

    // The prompt message is updated to say thanks.
    t.emu
        .wait_until(Duration::from_secs(10), |e| {
            e.messages_in(&dm)
                .iter()
                .any(|m| m.ts == prompt.ts && m.edited)
        })
        .await
        .expect("the answered prompt is updated");

    // `fieldnotes checkin run pulse` from the CLI's code path: sent within seconds.
    fieldnotes::features::runs::queue_checkin(
        store,
        &t.config,
        "pulse",
        Some("One-off: what is Acme doing this week?"),
        t.now(),
        None,
    )
    .await
    .unwrap();
    t.run_until_idle().await;
    t.wait_for_prompts(8).await;
    let posts = t.emu.calls_to("chat.postMessage");
    assert_eq!(
        posts.len(),
        8,
        "each of the 4 people once more, nobody twice"
    );
    assert!(posts[4..]
        .iter()
        .all(|c| c.params.to_string().contains("One-off")));

    // Export and digest see the answer and the prompts.
    let mut buf = Vec::new();
    export::write(&t.insights().await, ExportFormat::Ndjson, &mut buf).unwrap();
    let line: serde_json::Value =
        serde_json::from_slice(buf.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["user_id"], rep);
    assert_eq!(line["tags"][0], "competitor:acme");
    let week = IsoWeek::containing(t.now(), t.config.timezone);
    let digest = fieldnotes::digest::gather(store, &t.config, week)
        .await
        .unwrap();
    assert_eq!(digest.prompts_sent, 8);
    assert_eq!(digest.prompts_answered, 1);
    assert_eq!(digest.insights, 1);
    let acme = digest
        .tags
        .iter()
        .find(|c| c.tag == "competitor:acme")
        .unwrap();
    assert_eq!((acme.count, acme.manual), (1, 1));
    assert!(fieldnotes::digest::to_markdown(&digest).contains("ACME is cheaper"));

    // No Web API call was refused for its shape or its Block Kit.
    for c in t.emu.calls() {
        assert_eq!(
            c.response["ok"], true,
            "{} failed: {}",
            c.method, c.response
        );
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_loop_socket_mode_sqlite() {
    whole_loop(Db::Sqlite, Mode::SocketMode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_loop_socket_mode_postgres() {
    whole_loop(Db::Postgres, Mode::SocketMode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_loop_http_sqlite() {
    whole_loop(Db::Sqlite, Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_loop_http_postgres() {
    whole_loop(Db::Postgres, Mode::Http).await;
}
