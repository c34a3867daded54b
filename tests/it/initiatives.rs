//! Initiatives (issue 13), on SQLite and PostgreSQL, through the emulator
//! in Slack's payload shapes and the real binary: `/fieldnotes initiative`
//! refusals and bad arguments changing nothing; one from the config and
//! one added in Slack sharing the check-in's rotation with its own
//! questions; a rep rating one in the form; a note linked by keyword; the
//! debrief week by week with Wilson intervals (one bad week a wide
//! interval, not a verdict) and the verdict once enough ratings are in,
//! as JSON, Markdown and HTML; the `initiative:` search filter; the digest
//! section; and ending it: the final debrief in the digest's channel and
//! the outcome to every rep who rated it, once.

use crate::digest::{all_calls_ok, BOT};
use crate::support::{Db, Mode, TestApp};
use chrono::TimeZone;
use fieldnotes::domain::{Answer, FieldValue, NewInsight, Source};
use fieldnotes::slack::views::OPEN_FORM_ACTION;
use serde_json::Value;
use slack_emulator::FieldAnswer;
use std::collections::{BTreeMap, HashMap};

const NY: &str = "America/New_York";
const REP: &str = "U0REP0001";
const MKT: &str = "U0MKT0001";
const LEAD: &str = "U0LEAD001";
const WEBINAR: &str = "initiative:webinar";

fn config() -> String {
    format!(
        r#"
[bot]
tick = "100ms"
lease = "2s"
timezone = "{NY}"
workspace_messages_per_minute = 6000

[roles]
marketers = ["{MKT}"]
leads = ["{LEAD}"]

[[digest]]
name = "weekly"
title = "Weekly field digest"
cadence = "0 9 * * MON"
timezone = "{NY}"
channels = ["C0MARKETNG"]
attribution = "named"

[[tag]]
id = "idea:bundle"
label = "Idea: bundle"
category = "idea"
keywords = ["bundle"]

[[checkin]]
name = "pulse"
cadence = "0 16 * * FRI"
timezone = "{NY}"
prompt = "What did you hear from buyers this week?"
audience = {{ channels = ["C0SALES01"] }}
ask = 2
questions = [
  {{ id = "heard", label = "What did a buyer say?" }},
  {{ id = "stalled", label = "Where is a deal stalling?", required = false }},
]

[[initiative]]
id = "roi-calc"
name = "ROI calculator"
kind = "asset"
start = "2026-11-01"
checkins = ["pulse"]
keywords = ["roi calc"]

[initiatives]
min_ratings = 6
"#
    )
}

fn ms(y: i32, m: u32, d: u32) -> i64 {
    fieldnotes::tz::Tz::named("America/New_York")
        .unwrap()
        .with_ymd_and_hms(y, m, d, 11, 0, 0)
        .unwrap()
        .timestamp_millis()
}

/// A rating saved as the form would save it.
async fn rate(t: &TestApp, user: &str, at: i64, rating: &str, why: &str, key: &str) {
    let said = match rating {
        "worked" => "worked",
        "didnt" => "didn't work",
        _ => "not used",
    };
    t.app()
        .state()
        .store
        .save_insight(&NewInsight {
            user_id: user.into(),
            source: Source::Checkin,
            text: format!("Spring webinar: {said}. {why}"),
            answers: vec![Answer {
                question_id: WEBINAR.into(),
                question: "Spring webinar: how did it go?".into(),
                text: format!("Spring webinar: {said}. {why}"),
            }],
            tags: vec![WEBINAR.into()],
            fields: vec![FieldValue::new(
                "initiative_rating",
                format!("webinar:{rating}"),
            )],
            created_at_ms: at,
            dedupe_key: Some(key.into()),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// The question ids (`q:` blocks) of the form REP's newest prompt opens.
async fn next_form(t: &TestApp) -> (String, Value, Vec<String>) {
    let bot = t.app().state().clone();
    t.clock.advance(chrono::Duration::minutes(1));
    fieldnotes::features::runs::queue_checkin(
        &bot.store,
        &bot.config(),
        "pulse",
        None,
        t.now(),
        None,
    )
    .await
    .unwrap();
    t.run_until_idle().await;
    let dm = t.emu.dm_channel(REP).expect("REP's DM");
    let m = t
        .emu
        .messages_in(&dm)
        .into_iter()
        .rfind(|m| m.blocks.to_string().contains(OPEN_FORM_ACTION))
        .expect("a prompt");
    t.emu
        .click_button(REP, &dm, &m.ts, OPEN_FORM_ACTION)
        .await
        .unwrap();
    let modal = t.emu.open_modal_for(REP).expect("the form opens");
    let asked: Vec<String> = modal.view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["block_id"].as_str())
        .filter_map(|b| b.strip_prefix("q:"))
        .filter(|b| !b.ends_with(":why"))
        .map(String::from)
        .collect();
    (modal.id.clone(), modal.view.clone(), asked)
}

async fn lifecycle(db: Db) {
    let t = TestApp::builder(db, Mode::SocketMode)
        .config(config())
        .stepped()
        .spawn()
        .await;
    t.emu.add_channel("C0MARKETNG", "marketing", &[MKT, BOT]);
    let store = &t.app().state().store;
    t.run_until_idle().await;
    let ids = |recs: Vec<fieldnotes::store::InitiativeRecord>| -> Vec<String> {
        recs.into_iter().map(|r| r.initiative.id).collect()
    };
    assert_eq!(
        ids(store.initiative_records().await.unwrap()),
        vec!["roi-calc"],
        "the file's initiative is synced in"
    );

    // Refusals and bad arguments: a clear message, nothing changed.
    let add = r#"initiative add webinar name="Spring webinar" kind=campaign start=2026-11-09 checkins=pulse keywords=webinar"#;
    let r = t.command(REP, add).await;
    assert!(r.contains("Only marketers, leads or admins"), "{r}");
    for (cmd, needle) in [
        (
            r#"initiative add Bad! name="x" kind=campaign"#,
            "can't be an id",
        ),
        (
            r#"initiative add webinar name="Spring webinar" kind=banner"#,
            "`kind=banner`",
        ),
        (
            r#"initiative add webinar name="Spring webinar" kind=campaign checkins=nope"#,
            "no check-in `nope`",
        ),
        (
            r#"initiative add webinar name="Spring webinar" kind=campaign start=2026-13-01"#,
            "`start`",
        ),
        (r#"initiative add webinar kind=campaign"#, "Give it a `name"),
        (
            r#"initiative add webinar name="Spring webinar kind=campaign"#,
            "quote is not closed",
        ),
        (
            r#"initiative add roi-calc name="Again" kind=asset"#,
            "already an initiative `roi-calc`",
        ),
        ("initiative end nope", "no initiative `nope`"),
        ("initiative frobnicate", "not an initiative command"),
    ] {
        let r = t.command(MKT, cmd).await;
        assert!(r.contains(needle), "{cmd}: {r}");
        assert!(r.contains("changed"), "{cmd}: {r}");
    }
    assert_eq!(
        ids(store.initiative_records().await.unwrap()),
        vec!["roi-calc"]
    );

    // A marketer adds one; the check-in's rotation takes it in.
    let r = t.command(MKT, add).await;
    assert!(r.contains("Added *Spring webinar*"), "{r}");
    let list = t.command(LEAD, "initiative list").await;
    assert!(
        list.contains("`webinar`") && list.contains("`roi-calc`"),
        "{list}"
    );

    // `ask = 2`: "heard" every time, and one slot that stalled, the ROI
    // calculator and the webinar take in turn.
    let mut turns: BTreeMap<String, usize> = BTreeMap::new();
    let mut rated = false;
    for run in 0..3 {
        let (id, view, asked) = next_form(&t).await;
        assert_eq!(asked.len(), 2, "run {run}: {asked:?}");
        assert_eq!(asked[0], "heard");
        *turns.entry(asked[1].clone()).or_default() += 1;
        let mut answers = HashMap::from([(
            "q:heard".to_string(),
            FieldAnswer::Text(format!("Run {run}: buyers asked about pricing")),
        )]);
        if asked[1] == WEBINAR {
            answers.insert(format!("q:{WEBINAR}"), FieldAnswer::Select("worked".into()));
            answers.insert(
                format!("q:{WEBINAR}:why"),
                FieldAnswer::Text("The CFO <b>forwarded</b> the recording to procurement".into()),
            );
            rated = true;
        }
        let values = t.emu.fill_modal_values(&view, &answers);
        let d = t.emu.submit_view(REP, &id, values).await.unwrap();
        assert!(d.acked);
        assert!(t.emu.open_modal_for(REP).is_none(), "run {run}: saved");
    }
    assert!(rated);
    assert_eq!(
        turns,
        BTreeMap::from([
            ("initiative:roi-calc".to_string(), 1),
            (WEBINAR.to_string(), 1),
            ("stalled".to_string(), 1)
        ])
    );
    let mine = t.insights().await;
    let rating = mine
        .iter()
        .find(|n| n.field("initiative_rating").any(|v| v == "webinar:worked"))
        .expect("the form's rating is stored");
    assert!(rating.tags.contains(&WEBINAR.to_string()));

    // More ratings over three weeks: 4 worked in the first, 1 didn't in
    // the second (the bad week), 3 more worked in this one; a keyword
    // links a note; an idea about it.
    for (i, (user, d)) in [
        ("U0REP0002", 10),
        ("U0REP0003", 10),
        ("U0REPXTRA", 11),
        ("U0REP0002", 12),
    ]
    .into_iter()
    .enumerate()
    {
        rate(
            &t,
            user,
            ms(2026, 11, d),
            "worked",
            "Two demos booked from it",
            &format!("w1-{i}"),
        )
        .await;
    }
    rate(
        &t,
        "U0REP0003",
        ms(2026, 11, 17),
        "didnt",
        "Nobody in my accounts watched it",
        "w2",
    )
    .await;
    for (i, user) in ["U0REP0002", "U0REP0003", "U0REPXTRA"]
        .into_iter()
        .enumerate()
    {
        rate(
            &t,
            user,
            ms(2026, 11, 24),
            "worked",
            "Prospects quoted it back to me",
            &format!("w3-{i}"),
        )
        .await;
    }
    let r = t
        .command(
            "U0REP0002",
            "note The webinar should come as a bundle with the ROI deck",
        )
        .await;
    assert!(r.contains("Saved"), "{r}");
    let linked = t.insights().await;
    let idea = linked
        .iter()
        .find(|n| n.text.contains("as a bundle"))
        .unwrap();
    assert!(
        idea.all_tags().contains(&WEBINAR.to_string()),
        "{:?}",
        idea.all_tags()
    );

    // The debrief: JSON, with a week-by-week Wilson interval.
    let json: Value = serde_json::from_str(
        &t.cli_ok(&["initiative", "report", "webinar", "--format", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(json["total"]["worked"], 8, "{json:#}");
    assert_eq!(json["total"]["didnt"], 1, "{json:#}");
    assert_eq!(json["raters"], 4, "{json:#}");
    let low = json["total"]["low"].as_f64().unwrap();
    let high = json["total"]["high"].as_f64().unwrap();
    assert!(
        (low - 0.565).abs() < 0.01 && (high - 0.980).abs() < 0.01,
        "{low} {high}"
    );
    assert_eq!(json["verdict"]["kind"], "worked", "{json:#}");
    let weeks = json["periods"].as_array().unwrap();
    // Every week from the start up to today (the binary's today is the
    // wall clock's: later weeks are there, unrated).
    assert_eq!(
        weeks
            .iter()
            .take(3)
            .map(|w| w["key"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["2026-W46", "2026-W47", "2026-W48"]
    );
    assert!(weeks[3..]
        .iter()
        .all(|w| w["worked"] == 0 && w["didnt"] == 0 && w["low"].is_null()));
    let bad = &weeks[1];
    assert_eq!(
        (bad["worked"].as_u64(), bad["didnt"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(bad["low"], 0.0);
    assert!(
        bad["high"].as_f64().unwrap() > 0.75,
        "one bad week is a wide interval: {bad}"
    );
    // Newest reasons first: REP's, from the form, this week.
    let best = &json["quotes_for"][0];
    assert!(
        best["text"].as_str().unwrap().contains("forwarded"),
        "{json:#}"
    );
    assert_eq!(best["rating"], "worked", "{json:#}");
    assert!(
        json["quotes_against"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Nobody"),
        "{json:#}"
    );
    assert!(
        json["ideas"].to_string().contains("as a bundle"),
        "{json:#}"
    );
    // With fewer ratings than `min_ratings`, no verdict: ROI calculator.
    let roi: Value = serde_json::from_str(
        &t.cli_ok(&["initiative", "report", "roi-calc", "--format", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(roi["verdict"]["kind"], "too_early", "{roi:#}");
    let md = t.cli_ok(&["initiative", "report", "webinar"]).await;
    assert!(md.contains("# Debrief: Spring webinar"), "{md}");
    assert!(
        md.contains("| 2026-W47 | 2026-11-16 | 0 | 1 | 0 | 0% | 0%–"),
        "{md}"
    );
    let html = t
        .cli_ok(&["initiative", "report", "webinar", "--format", "html"])
        .await;
    assert!(html.contains("Debrief: Spring webinar") && html.contains("95% interval"));
    assert!(
        html.contains("&lt;b&gt;forwarded") && !html.contains("<b>forwarded"),
        "a rep's words are in the page, escaped"
    );
    let (failed, _, err) = t.cli(&["initiative", "report", "nope"]).await;
    assert!(!failed && err.contains("no initiative `nope`"), "{err}");

    // Search by initiative, and a bad one named.
    let found = t
        .cli_ok(&["search", "initiative:webinar", "--format", "ndjson"])
        .await;
    assert!(found.lines().count() >= 9, "{found}");
    assert!(found.contains("as a bundle"), "{found}");
    let (failed, _, err) = t.cli(&["search", "initiative:nope"]).await;
    assert!(!failed && err.contains("initiative:nope"), "{err}");

    // The digest shows it.
    let digest = t.cli_ok(&["digest", "--period", "2026-W48"]).await;
    assert!(
        digest.contains("Initiatives: how reps rate them"),
        "{digest}"
    );
    assert!(digest.contains("Spring webinar"), "{digest}");

    // Ending it: the debrief to the digest's channel, the outcome to each
    // rater, once.
    let r = t.command(LEAD, "initiative end webinar").await;
    assert!(r.contains("Ended *Spring webinar*"), "{r}");
    let r = t.command(MKT, "initiative end webinar").await;
    assert!(
        r.contains("already ended") && r.contains("Nothing was changed"),
        "{r}"
    );
    t.run_until_idle().await;
    t.run_until_idle().await;
    let posts: Vec<String> = t
        .emu
        .messages_in("C0MARKETNG")
        .iter()
        .map(|m| format!("{} {}", m.text, m.blocks))
        .filter(|s| s.contains("Debrief: Spring webinar"))
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].contains("It worked"), "{}", posts[0]);
    for rep in ["U0REP0001", "U0REP0002", "U0REP0003", "U0REPXTRA"] {
        let dm = t.emu.dm_channel(rep).unwrap();
        let told = t
            .emu
            .messages_in(&dm)
            .iter()
            .filter(|m| m.blocks.to_string().contains("Spring webinar* has ended"))
            .count();
        assert_eq!(told, 1, "{rep} hears the outcome once");
    }
    // Check-ins stop asking about it.
    let cfg = t.app().state().config();
    let today = t
        .now()
        .with_timezone(&fieldnotes::tz::Tz::named("America/New_York").unwrap())
        .date_naive();
    let asks: Vec<String> = cfg
        .checkin_questions(cfg.checkin("pulse").unwrap(), today)
        .into_iter()
        .map(|q| q.id)
        .collect();
    assert!(
        asks.contains(&"initiative:roi-calc".to_string()),
        "{asks:?}"
    );
    assert!(!asks.contains(&WEBINAR.to_string()), "{asks:?}");
    all_calls_ok(&t.emu);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_sqlite() {
    lifecycle(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_postgres() {
    lifecycle(Db::Postgres).await;
}
