//! The digest marketers read, end to end on SQLite and PostgreSQL: a fixed
//! data set gives the golden Markdown and JSON (validated against
//! `docs/digest.schema.json`); the scheduled post reaches the channel as a
//! summary with its sections and a PNG chart in the thread, through the
//! emulator's strict Block Kit and file-upload checks; 500 notes stay
//! inside every limit; an anonymous digest names nobody and masks emails
//! and phone numbers; an empty period posts nothing; and a worker SIGKILLed
//! mid-post leaves a digest that the next one finishes without repeats.

use crate::support::binary::{kill, world_on};
use crate::support::process::KillOnDrop;
use crate::support::wait::Deadline;
use crate::support::{Db, Mode, TestApp};
use chrono::{DateTime, Duration as CDuration, TimeZone, Utc};
use fieldnotes::digest::{self, Format, Period};
use fieldnotes::domain::{Answer, FieldValue, NewInsight, PersonRow, Source, SourceMessage};
use fieldnotes::store::Store;
use fieldnotes::tz::Tz;
use serde_json::Value;
use slack_emulator::{EmulatorConfig, Failure, User};
use std::process::Stdio;
use std::time::Duration;

const NY: &str = "America/New_York";
/// The emulator's bot user: a member of the marketing channel, as the
/// README says to make it (Slack shares files only where the bot is).
pub(crate) const BOT: &str = "U0BOT00001";

/// A config with a taxonomy covering every digest section and one digest
/// (`attribution`, `recipients` as TOML) sent Mondays at 09:00 New York.
pub(crate) fn config(attribution: &str, recipients: &str) -> String {
    format!(
        r#"
[bot]
tick = "100ms"
lease = "2s"
timezone = "{NY}"
workspace_messages_per_minute = 6000

[roles]
marketers = ["U0MKT0001"]

[[digest]]
name = "weekly"
title = "Weekly field digest"
cadence = "0 9 * * MON"
timezone = "{NY}"
{recipients}
attribution = "{attribution}"

{TAGS}

[[checkin]]
name = "pulse"
cadence = "0 16 * * FRI"
timezone = "{NY}"
prompt = "What did you hear from buyers this week?"
audience = {{ channels = ["C0SALES01"] }}
questions = [{{ id = "heard", label = "What did a buyer say?" }}]
"#
    )
}

const TAGS: &str = r#"
[[tag]]
id = "competitor:acme"
label = "Competitor: Acme"
category = "competitor"
keywords = ["acme"]

[[tag]]
id = "competitor:globex"
label = "Competitor: Globex"
category = "competitor"
keywords = ["globex"]

[[tag]]
id = "objection:price"
label = "Objection: price"
category = "objection"
keywords = ["price"]

[[tag]]
id = "objection:security"
label = "Objection: security review"
category = "objection"
keywords = ["soc 2"]

[[tag]]
id = "stage:negotiation"
label = "Stage: negotiation"
category = "funnel_stage"
keywords = ["procurement"]

[[tag]]
id = "persona:cfo"
label = "Persona: CFO"
category = "persona"
keywords = ["cfo"]

[[tag]]
id = "account:contoso"
label = "Account: Contoso"
category = "account"
keywords = ["contoso"]

[[tag]]
id = "account:northwind"
label = "Account: Northwind"
category = "account"
keywords = ["northwind"]

[[tag]]
id = "asset:webinar"
label = "Asset: webinar"
category = "asset"

[[tag]]
id = "asset:case-study"
label = "Asset: case study"
category = "asset"

[[tag]]
id = "source:referral"
label = "Lead source: referral"
category = "lead_source"

[[tag]]
id = "source:paid-search"
label = "Lead source: paid search"
category = "lead_source"

[[tag]]
id = "idea:content"
label = "Idea: content or campaign"
category = "idea"
keywords = ["we should"]

[[tag]]
id = "market:shift"
label = "Market shift"
category = "market"
keywords = ["consolidation"]
"#;

pub(crate) fn ny() -> Tz {
    NY.parse().unwrap()
}

/// The week the fixed data set reports on.
pub(crate) fn w48() -> Period {
    Period::parse(fieldnotes::config::PeriodSpec::Week, "2026-W48").unwrap()
}

/// Wednesday noon (New York) of the week `weeks_back` before 2026-W48,
/// plus `minutes`.
pub(crate) fn at(weeks_back: i64, minutes: i64) -> i64 {
    let wed = ny().with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    (wed - CDuration::weeks(weeks_back) + CDuration::minutes(minutes))
        .with_timezone(&Utc)
        .timestamp_millis()
}

/// The Monday 09:01 after 2026-W48 in New York: just after the digest's send.
pub(crate) fn send_time() -> DateTime<Utc> {
    ny().with_ymd_and_hms(2026, 11, 30, 9, 1, 0)
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) struct Note<'a> {
    rep: u32,
    when: i64,
    text: &'a str,
    tags: &'a [&'a str],
    fields: &'a [(&'a str, &'a str)],
    answers: &'a [(&'a str, &'a str)],
    permalink: bool,
}

pub(crate) fn note<'a>(rep: u32, when: i64, text: &'a str, tags: &'a [&'a str]) -> Note<'a> {
    Note {
        rep,
        when,
        text,
        tags,
        fields: &[],
        answers: &[],
        permalink: false,
    }
}

pub(crate) async fn save(store: &Store, n: &Note<'_>, key: &str) -> i64 {
    let user = format!("U0REP{:04}", n.rep);
    let message = n.permalink.then(|| SourceMessage {
        channel_id: "C0SALES01".into(),
        ts: format!("{}.000100", n.when / 1000),
        author_id: Some(user.clone()),
        permalink: Some(format!(
            "https://example.slack.com/archives/C0SALES01/p{}000100",
            n.when / 1000
        )),
    });
    store
        .save_insight(&NewInsight {
            user_id: user,
            source: if n.permalink {
                Source::Shortcut
            } else {
                Source::Checkin
            },
            prompt_id: None,
            checkin: (!n.permalink).then(|| "pulse".to_string()),
            answers: n
                .answers
                .iter()
                .map(|(q, t)| Answer {
                    question_id: q.to_string(),
                    question: q.to_string(),
                    text: t.to_string(),
                })
                .collect(),
            text: n.text.into(),
            tags: n.tags.iter().map(|t| t.to_string()).collect(),
            auto_tags: vec![],
            fields: n
                .fields
                .iter()
                .map(|(f, v)| FieldValue::new(*f, *v))
                .collect(),
            sentiment: None,
            message,
            created_at_ms: n.when,
            dedupe_key: Some(key.into()),
            follow_up: None,
        })
        .await
        .unwrap()
        .id
}

pub(crate) const NAMES: [&str; 8] = [
    "Dana Reyes",
    "Sam Okafor",
    "Priya Natarajan",
    "Lee Morgan",
    "Ana Souza",
    "Tom Becker",
    "Mei Chen",
    "Omar Haddad",
];

/// The fixed data set: eight baseline weeks (2026-W40 to W47) of steady
/// notes, then 2026-W48, where Globex rises (6 notes from 4 reps against
/// 1 a week), content ideas appear for the first time (3 reps), a webinar
/// works, a case study flops, and referral leads rate well.
pub(crate) async fn seed(store: &Store) {
    let people: Vec<PersonRow> = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| PersonRow {
            user_id: format!("U0REP{:04}", i + 1),
            name: n.to_string(),
            tz: Some(NY.into()),
            is_bot: false,
            deleted: false,
            dm_channel: None,
            fetched_at_ms: at(0, 0),
        })
        .collect();
    store.upsert_people(&people).await.unwrap();
    let mut k = 0;
    for w in (1..=8).rev() {
        let base = [
            note(
                1 + (w % 3) as u32,
                at(w, 0),
                "Acme keeps coming up in late-stage deals at Contoso.",
                &["competitor:acme", "account:contoso"],
            ),
            note(
                2,
                at(w, 10),
                "Acme is discounting hard again this quarter.",
                &["competitor:acme"],
            ),
            note(
                3,
                at(w, 20),
                "Price pushback from the CFO, they want 15% off.",
                &["objection:price", "persona:cfo"],
            ),
            note(
                4,
                at(w, 30),
                "Procurement at Northwind is slow; the redlines take weeks.",
                &["stage:negotiation", "account:northwind"],
            ),
            note(
                5,
                at(w, 40),
                "Globex was mentioned once in passing by the buyer.",
                &["competitor:globex"],
            ),
            note(
                1,
                at(w, 50),
                "Nothing new on the pipeline this week, steady calls.",
                &[],
            ),
            note(
                2,
                at(w, 60),
                "The buyer asked for a security review pack up front.",
                &["objection:security"],
            ),
            note(
                3,
                at(w, 70),
                "Good discovery call, they liked the integrations story.",
                &[],
            ),
            note(
                4,
                at(w, 80),
                "Another demo booked from the referral program.",
                &["source:referral"],
            ),
            note(
                5,
                at(w, 90),
                "Quiet week, two follow-ups pending with prospects.",
                &[],
            ),
        ];
        for n in &base {
            k += 1;
            save(store, n, &format!("base-{k}")).await;
        }
        if w == 1 {
            let rated = Note {
                fields: &[("lead_quality", "3")],
                ..note(
                    6,
                    at(1, 95),
                    "Referral lead was okay, a bit early in their search.",
                    &["source:referral"],
                )
            };
            save(store, &rated, "base-rated").await;
        }
    }
    let week = [
        Note { permalink: true, ..note(1, at(0, 0), "Globex offered Contoso a free migration; the CFO is tempted. Call me on +1 (415) 555-0134 or jane.doe@contoso.com.", &["competitor:globex", "account:contoso", "persona:cfo"]) },
        note(2, at(0, 5), "Globex demoed an AI assistant at Northwind and the buyer loved it.", &["competitor:globex", "account:northwind"]),
        note(3, at(0, 10), "Lost a deal to Globex on price; they undercut us by 30%.", &["competitor:globex", "objection:price"]),
        note(4, at(0, 15), "Globex is bundling analytics for free this quarter, per the buyer.", &["competitor:globex"]),
        note(1, at(0, 20), "Globex came up again, second time this week, on <@U0REP0002>'s account too.", &["competitor:globex"]),
        note(2, at(0, 25), "Globex pitched consolidation onto one platform to the ops lead.", &["competitor:globex", "market:shift"]),
        note(5, at(0, 30), "We should publish a head-to-head page against Globex.", &["idea:content"]),
        note(6, at(0, 35), "We should run a webinar on rollout time for IT leads.", &["idea:content"]),
        note(7, at(0, 40), "We should make a short video on the Salesforce sync.", &["idea:content"]),
        note(8, at(0, 45), "Acme still shows up in every late-stage deal at Contoso.", &["competitor:acme", "account:contoso"]),
        note(3, at(0, 50), "Procurement at Northwind wants a bigger discount before signing.", &["stage:negotiation", "account:northwind", "objection:price"]),
        Note {
            fields: &[("asset", "asset:webinar"), ("asset_worked", "asset:webinar")],
            answers: &[("asset", "Asset: webinar: worked. The ops lead shared the recording with their whole team.")],
            ..note(4, at(0, 55), "Asset: webinar: worked. The ops lead shared the recording with their whole team.", &["asset:webinar"])
        },
        Note {
            fields: &[("asset", "asset:webinar"), ("asset_worked", "asset:webinar")],
            answers: &[("asset", "Asset: webinar: worked. It answered the security questions before they were asked.")],
            ..note(6, at(0, 60), "Asset: webinar: worked. It answered the security questions before they were asked.", &["asset:webinar"])
        },
        Note {
            fields: &[("asset", "asset:case-study"), ("asset_flopped", "asset:case-study")],
            answers: &[("asset", "Asset: case study: didn't work. Too generic, they wanted numbers from their industry.")],
            ..note(7, at(0, 65), "Asset: case study: didn't work. Too generic, they wanted numbers from their industry.", &["asset:case-study"])
        },
        Note { fields: &[("lead_quality", "5")], ..note(8, at(0, 70), "Referral lead from a partner, qualified and ready to buy.", &["source:referral"]) },
        Note { fields: &[("lead_quality", "4")], ..note(5, at(0, 75), "Another referral lead with budget and a clear timeline.", &["source:referral"]) },
        Note { fields: &[("lead_quality", "2")], ..note(6, at(0, 80), "Paid search lead was a student doing research.", &["source:paid-search"]) },
    ];
    for (i, n) in week.iter().enumerate() {
        save(store, n, &format!("w48-{i}")).await;
    }
}

fn golden(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `text` with the golden file (`UPDATE_GOLDEN=1` rewrites it).
fn assert_golden(name: &str, text: &str) {
    let path = golden(name);
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to write it)",
            path.display()
        )
    });
    if want != text {
        let first = want
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(text.lines().count()));
        panic!(
            "{} differs from the golden file at line {}:\n want: {:?}\n  got: {:?}",
            name,
            first + 1,
            want.lines().nth(first),
            text.lines().nth(first)
        );
    }
}

fn validate_schema(json: &str) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(golden("../../docs/digest.schema.json")).unwrap(),
    )
    .unwrap();
    let doc: Value = serde_json::from_str(json).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "the digest JSON breaks its schema: {errors:#?}"
    );
}

async fn golden_files(db: Db) {
    let t = marketing_app(db, "named", r#"channels = ["C0MARKETNG"]"#).await;
    let store = &t.app().state().store;
    seed(store).await;
    let def = &t.config.digests[0];
    let d = digest::gather(store, &t.config, def, w48()).await.unwrap();

    // The statistics the data set was built for.
    let dir = |key: &str| d.trends.iter().find(|x| x.key == key).map(|x| x.direction);
    assert_eq!(
        dir("tag:competitor:globex"),
        Some(digest::Direction::Rising),
        "{:#?}",
        d.trends
    );
    assert_eq!(dir("tag:idea:content"), Some(digest::Direction::New));
    assert_eq!(dir("tag:competitor:acme"), None, "steady at 2 a week");
    let globex = d
        .trends
        .iter()
        .find(|x| x.key == "tag:competitor:globex")
        .unwrap();
    assert_eq!(
        (globex.mentions, globex.reps, globex.baseline_mentions),
        (6, 4, 8)
    );
    assert!(
        globex
            .summary
            .starts_with("6 mentions (avg 1.0/wk), 4 reps"),
        "{}",
        globex.summary
    );
    assert!(
        !globex.summary.contains('%'),
        "no percentage on a baseline under 5"
    );
    assert_eq!(d.participation.notes.now, 17.0);
    assert_eq!(d.participation.notes.previous, 11.0);

    let md = digest::to_markdown(&d);
    let json = digest::to_json(&d);
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        assert_golden("digest-w48.md", &md);
        assert_golden("digest-w48.json", &json);
    }
    assert!(md.contains("Dana Reyes"), "names, not ids");
    assert!(!md.contains("<@U0REP"), "no raw mentions");
    assert!(!json.contains("<@U"), "no raw mentions anywhere");
    assert!(md.contains("[phone removed]") && md.contains("[email removed]"));
    assert!(!md.contains("555-0134") && !md.contains("jane.doe@"));
    assert_golden("digest-w48.md", &md);
    validate_schema(&json);
    assert_golden("digest-w48.json", &json);

    // The HTML report parses, and holds a chart per rising or new item
    // plus participation and assets.
    let html = digest::render(&d, Format::Html);
    let doc = scraper::Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    let svgs = doc
        .select(&scraper::Selector::parse("svg[role=img]").unwrap())
        .count();
    assert_eq!(
        svgs,
        d.trends.len() + 2,
        "a chart per trend, participation, assets"
    );
    assert!(html.contains("Competitor: Globex") && !html.contains("555-0134"));

    let csv = digest::render(&d, Format::Csv);
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let n = rows
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[0] == "trends")
        .count();
    assert!(n >= 7, "the trends table is in the CSV");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_markdown_and_json_sqlite() {
    golden_files(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_markdown_and_json_postgres() {
    golden_files(Db::Postgres).await;
}

/// The stepped app with the digest config (`attribution`, recipients as
/// TOML), and the marketing channel with the marketer and the bot in it.
pub(crate) async fn marketing_app(db: Db, attribution: &str, recipients: &str) -> TestApp {
    let t = TestApp::builder(db, Mode::SocketMode)
        .config(config(attribution, recipients))
        .stepped()
        .spawn()
        .await;
    t.emu
        .add_channel("C0MARKETNG", "marketing", &["U0MKT0001", BOT]);
    t
}

/// Every Web API call passed the emulator's checks (and every upload of
/// a file's bytes was taken: the upload URL answers plain text).
pub(crate) fn all_calls_ok(emu: &slack_emulator::Emulator) {
    for c in emu.calls() {
        if c.method == "upload_url" {
            assert!(
                c.response.as_str().is_some_and(|r| r.starts_with("OK")),
                "{}",
                c.response
            );
        } else {
            assert_eq!(
                c.response["ok"], true,
                "{} failed: {}",
                c.method, c.response
            );
        }
    }
}

/// Every block-text character of a posted message (what Slack's aggregate
/// limit counts).
fn block_chars(v: &Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match (k.as_str(), v) {
                ("text", Value::String(s)) => s.chars().count(),
                _ => block_chars(v),
            })
            .sum(),
        Value::Array(a) => a.iter().map(block_chars).sum(),
        _ => 0,
    }
}

async fn scheduled_post(db: Db) {
    let t = marketing_app(
        db,
        "named",
        r#"channels = ["C0MARKETNG"]
users = ["U0MKT0001"]"#,
    )
    .await;
    let store = &t.app().state().store;
    seed(store).await;
    t.advance_to(send_time()).await;
    let run = store
        .digest_run("weekly", "2026-W48")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "done", "{run:?}");

    // One message in the channel; the sections and the chart in its thread.
    let channel = t.emu.messages_in("C0MARKETNG");
    let top: Vec<_> = channel.iter().filter(|m| m.thread_ts.is_none()).collect();
    assert_eq!(top.len(), 1, "a summary, not a wall of messages");
    let summary = top[0];
    let replies: Vec<_> = channel
        .iter()
        .filter(|m| m.thread_ts.as_deref() == Some(summary.ts.as_str()))
        .collect();
    // One reply per section with something to show (all eleven here),
    // then the chart.
    let sections = replies.iter().filter(|m| m.files.is_none()).count();
    assert_eq!(sections, 11, "a reply per section");
    let text =
        serde_json::to_string(&channel.iter().map(|m| &m.blocks).collect::<Vec<_>>()).unwrap();
    assert!(text.contains("Rising: Competitor: Globex"));
    assert!(text.contains("New: Idea: content or campaign"));
    assert!(text.contains("Dana Reyes"));
    for m in &channel {
        let blocks = m.blocks.as_array().map(|b| b.len()).unwrap_or(0);
        assert!(blocks <= 50);
        assert!(block_chars(&m.blocks) <= 10_000);
    }
    // The chart: uploaded and shared in the thread, as a PNG.
    let files = t.emu.uploaded_files();
    let chart = files
        .iter()
        .find(|f| f.channel_id.as_deref() == Some("C0MARKETNG"))
        .expect("a chart in the channel");
    assert!(chart.completed);
    assert_eq!(chart.thread_ts.as_deref(), Some(summary.ts.as_str()));
    assert!(
        chart
            .bytes
            .as_deref()
            .is_some_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n")),
        "a PNG"
    );
    assert!(chart.alt_txt.as_deref().is_some_and(|a| !a.is_empty()));

    // The marketer listed by id gets it in their DM too.
    let dm = t
        .emu
        .dm_channel("U0MKT0001")
        .expect("a DM with the marketer");
    assert!(t
        .emu
        .messages_in(&dm)
        .iter()
        .any(|m| m.thread_ts.is_none() && m.text.contains("Weekly field digest")));

    // Every call passed the emulator's checks, and nothing goes out again.
    all_calls_ok(&t.emu);
    let posts = t.emu.call_count("chat.postMessage");
    t.advance_to(send_time() + CDuration::hours(2)).await;
    assert_eq!(t.emu.call_count("chat.postMessage"), posts, "posted once");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_post_with_chart_sqlite() {
    scheduled_post(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_post_with_chart_postgres() {
    scheduled_post(Db::Postgres).await;
}

/// 500 notes with long texts and every tag: the Block Kit still fits.
async fn five_hundred_notes(db: Db) {
    let t = marketing_app(db, "named", r#"channels = ["C0MARKETNG"]"#).await;
    let store = &t.app().state().store;
    let tags = [
        "competitor:acme",
        "competitor:globex",
        "objection:price",
        "objection:security",
        "stage:negotiation",
        "persona:cfo",
        "account:contoso",
        "account:northwind",
        "idea:content",
        "market:shift",
        "source:referral",
    ];
    let long = "They said the rollout plan, the security review and the price all matter, and they want a reference call with a customer of their size before the board meets; ".repeat(6);
    for i in 0..500u32 {
        let picked: Vec<&str> = tags
            .iter()
            .enumerate()
            .filter(|(j, _)| (i as usize + j).is_multiple_of(3))
            .map(|(_, t)| *t)
            .collect();
        let text = format!("Note {i} from the field & <more>: {long}");
        let n = Note {
            fields: if i % 5 == 0 { &[("asset", "asset:webinar"), ("asset_worked", "asset:webinar")] } else { &[] },
            answers: &[("asset", "Asset: webinar: worked. A long reason that goes on and on about why the webinar landed with the buying committee")],
            ..note(1 + i % 40, at(0, i as i64), &text, &picked)
        };
        save(store, &n, &format!("n{i}")).await;
    }
    for i in 0..40 {
        t.emu.add_user(User::new(
            &format!("U0REP{:04}", i + 1),
            &format!("rep{i}"),
            NY,
        ));
    }
    t.advance_to(send_time()).await;
    let run = store
        .digest_run("weekly", "2026-W48")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "done", "{run:?}");
    let msgs = t.emu.messages_in("C0MARKETNG");
    assert!(msgs.len() >= 2);
    for m in &msgs {
        assert!(m.blocks.as_array().map(|b| b.len()).unwrap_or(0) <= 50);
        assert!(block_chars(&m.blocks) <= 10_000);
    }
    all_calls_ok(&t.emu);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_note_digest_fits_block_kit_sqlite() {
    five_hundred_notes(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_note_digest_fits_block_kit_postgres() {
    five_hundred_notes(Db::Postgres).await;
}

/// An anonymous digest names nobody, in Slack, Markdown, HTML and JSON, and
/// masks contact details.
async fn anonymous(db: Db) {
    let t = marketing_app(db, "anonymous", r#"channels = ["C0MARKETNG"]"#).await;
    let store = &t.app().state().store;
    seed(store).await;
    t.advance_to(send_time()).await;
    let run = store
        .digest_run("weekly", "2026-W48")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "done");
    let posted = serde_json::to_string(
        &t.emu
            .messages_in("C0MARKETNG")
            .iter()
            .map(|m| (&m.text, &m.blocks))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let d = digest::gather(store, &t.config, &t.config.digests[0], w48())
        .await
        .unwrap();
    assert!(!d.quotes.is_empty());
    assert!(d.quotes.iter().all(|q| q.rep.is_none()));
    for out in [
        posted,
        digest::to_markdown(&d),
        digest::render(&d, Format::Html),
        digest::to_json(&d),
        digest::render(&d, Format::Csv),
    ] {
        for (i, name) in NAMES.iter().enumerate() {
            assert!(!out.contains(name), "{name} appears in an anonymous digest");
            assert!(!out.contains(&format!("U0REP{:04}", i + 1)));
        }
        assert!(!out.contains("555-0134") && !out.contains("jane.doe"));
    }
    assert!(digest::to_markdown(&d).contains("[email removed]"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_and_redacted_sqlite() {
    anonymous(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_and_redacted_postgres() {
    anonymous(Db::Postgres).await;
}

/// A period with no notes: the run ends `empty` and nothing is posted,
/// while a period with notes right after is posted.
async fn empty_period(db: Db) {
    let t = marketing_app(db, "named", r#"channels = ["C0MARKETNG"]"#).await;
    let store = &t.app().state().store;
    t.advance_to(send_time()).await;
    let run = store
        .digest_run("weekly", "2026-W48")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "empty", "the run was decided: {run:?}");
    assert!(t.emu.messages_in("C0MARKETNG").is_empty(), "nothing posted");
    assert_eq!(t.emu.call_count("files.getUploadURLExternal"), 0);
    // The next week has a note, and is posted: the poster was not stuck.
    save(
        store,
        &note(
            1,
            at(-1, 0),
            "Acme came up at Contoso again this week.",
            &["competitor:acme"],
        ),
        "next",
    )
    .await;
    t.advance_to(send_time() + CDuration::weeks(1)).await;
    let run = store
        .digest_run("weekly", "2026-W49")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "done", "{run:?}");
    assert_eq!(
        t.emu
            .messages_in("C0MARKETNG")
            .iter()
            .filter(|m| m.thread_ts.is_none())
            .count(),
        1
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_period_posts_nothing_sqlite() {
    empty_period(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_period_posts_nothing_postgres() {
    empty_period(Db::Postgres).await;
}

/// `fieldnotes digest --post` is SIGKILLed while Slack holds its third
/// post's answer (the post went out; the worker never heard). A second
/// `--post` finds it by its metadata mark and finishes the rest: every
/// post exactly once.
async fn sigkill_mid_post(db: Db) {
    let world = world_on(
        db,
        0,
        EmulatorConfig::for_tests(),
        &config("named", r#"channels = ["C0MARKETNG"]"#),
    )
    .await;
    world.emu.add_channel("C0MARKETNG", "marketing", &[BOT]);
    for (i, name) in NAMES.iter().enumerate() {
        world
            .emu
            .add_user(User::new(&format!("U0REP{:04}", i + 1), name, NY));
    }
    {
        let store = Store::connect(&world.database_url).await.unwrap();
        store.migrate().await.unwrap();
        seed(&store).await;
        store.close().await;
    }
    let args = ["digest", "weekly", "--period", "2026-W48", "--post"];
    let first = KillOnDrop::spawn(
        world
            .command(&args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(world.log_path("first")).unwrap()),
    );
    // The summary and the first reply go out; then (posts into one channel
    // are a second apart, time enough to arm it) the next is applied and
    // its answer held: the worker can't know it went out.
    let wait_for = |n: usize| {
        let world = &world;
        async move {
            let deadline = Deadline::after(Duration::from_secs(60));
            while world.emu.messages_in("C0MARKETNG").len() < n {
                assert!(
                    !deadline.passed(),
                    "{} posts never arrived: {}",
                    n,
                    world.log_tails(40)
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(2).await;
    world.emu.fail_next(
        "chat.postMessage",
        1,
        Failure::ApplyThenDelay(Duration::from_secs(600)),
    );
    wait_for(3).await;
    kill(first);
    let out = world.command(&args).output().unwrap();
    assert!(
        out.status.success(),
        "the second --post finished: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("weekly 2026-W48: posted"));
    let msgs = world.emu.messages_in("C0MARKETNG");
    let mut marks: Vec<String> = msgs
        .iter()
        .filter_map(|m| m.metadata.as_ref())
        .map(|md| md["event_payload"]["prompt_id"].to_string())
        .collect();
    let n = marks.len();
    marks.sort();
    marks.dedup();
    assert_eq!(marks.len(), n, "no post went out twice: {marks:?}");
    let store = Store::connect(&world.database_url).await.unwrap();
    let run = store
        .digest_run("weekly", "2026-W48")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "done");
    let posts = store.digest_posts(run.id).await.unwrap();
    assert!(posts.iter().all(|p| p.status == "sent"), "{posts:?}");
    let messages = posts.iter().filter(|p| p.kind != "chart").count();
    assert_eq!(n, messages, "each message once, all of them");
    assert_eq!(
        world
            .emu
            .uploaded_files()
            .iter()
            .filter(|f| f.completed)
            .count(),
        1,
        "one chart"
    );
    // Asking again reports what was sent and posts nothing.
    let again = world.command(&args).output().unwrap();
    assert!(again.status.success());
    assert_eq!(world.emu.messages_in("C0MARKETNG").len(), msgs.len());
    // `fieldnotes status` lists the run.
    let status = world.command(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        status.contains("weekly 2026-W48: posted, 17 notes"),
        "{status}"
    );
    store.close().await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_post_exactly_once_sqlite() {
    sigkill_mid_post(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_post_exactly_once_postgres() {
    sigkill_mid_post(Db::Postgres).await;
}

/// The counts of `key` in bucket `b` (mentions, reps).
fn counted(w: &fieldnotes::store::WindowCounts, b: i64, key: &str) -> (i64, i64) {
    w.items
        .iter()
        .find(|i| i.bucket == b && i.key == key)
        .map(|i| (i.mentions, i.reps))
        .unwrap_or_default()
}

/// The window's rows in a fixed order, to compare two countings.
fn rows(w: &fieldnotes::store::WindowCounts) -> Vec<String> {
    let mut v: Vec<String> = w
        .items
        .iter()
        .map(|i| format!("{} {} {} {}", i.bucket, i.key, i.mentions, i.reps))
        .chain(
            w.totals
                .iter()
                .map(|t| format!("{} # {} {}", t.bucket, t.notes, t.reps)),
        )
        .collect();
    v.sort();
    v
}

/// Closed weeks are counted once and kept; a note added to one, edited,
/// retagged, deleted or purged with its rep makes that week (and only it)
/// count again, whichever path wrote it; the current, unfinished week is
/// never kept; and a digest from kept counts is the digest counted afresh.
async fn kept_counts(db: Db) {
    let t = marketing_app(db, "named", r#"channels = ["C0MARKETNG"]"#).await;
    let store = &t.app().state().store;
    seed(store).await;
    let def = &t.config.digests[0];
    let tz = def.timezone;
    let mut periods = w48().baseline(digest::BASELINE_PERIODS);
    periods.push(w48());
    let mut bounds: Vec<i64> = periods.iter().map(|p| p.bounds_ms(tz).0).collect();
    bounds.push(w48().bounds_ms(tz).1);
    let scope = digest::scope(def);
    let now = send_time().timestamp_millis();
    let globex = "tag:competitor:globex";

    let first = store.digest_counts(&bounds, &scope, now).await.unwrap();
    assert_eq!((first.kept, first.counted), (0, 9));
    let again = store.digest_counts(&bounds, &scope, now).await.unwrap();
    assert_eq!((again.kept, again.counted), (9, 0));
    assert_eq!(rows(&again), rows(&first));
    // One rep mentioned Globex each baseline week: one rep over the
    // baseline, 8 mentions; four reps this week.
    assert_eq!(
        counted(&again, fieldnotes::store::BASELINE_WINDOW, globex),
        (8, 1)
    );
    assert_eq!(
        counted(&again, fieldnotes::store::CURRENT_WINDOW, globex),
        (6, 4)
    );
    assert_eq!(counted(&again, 3, globex), (1, 1));

    // A note saved into a closed week (an import): that week is counted
    // again, and now has two reps behind Globex over the baseline.
    let late = note(
        7,
        at(5, 200),
        "Globex came up at a trade show.",
        &["competitor:globex"],
    );
    let id = save(store, &late, "late-1").await;
    let w = store.digest_counts(&bounds, &scope, now).await.unwrap();
    assert_eq!((w.kept, w.counted), (8, 1));
    assert_eq!(counted(&w, 3, globex), (2, 2));
    assert_eq!(
        counted(&w, fieldnotes::store::BASELINE_WINDOW, globex),
        (9, 2)
    );

    // Edited to another competitor.
    let edit = fieldnotes::store::InsightEdit {
        text: "Acme came up at a trade show.".into(),
        answers: vec![],
        tags: vec!["competitor:acme".into()],
        auto_tags: vec![],
        fields: vec![],
        sentiment: None,
    };
    let done = store
        .edit_insight(id, "U0REP0007", &edit, now)
        .await
        .unwrap();
    assert!(matches!(done, fieldnotes::store::OwnedChange::Done(_)));
    let w = store.digest_counts(&bounds, &scope, now).await.unwrap();
    assert_eq!((w.kept, w.counted), (8, 1));
    assert_eq!(counted(&w, 3, globex), (1, 1));
    assert_eq!(counted(&w, 3, "tag:competitor:acme"), (3, 3));

    // Retagged (automatic tags after a taxonomy change).
    store
        .retag_insight(id, &["market:shift".to_string()], None)
        .await
        .unwrap();
    let w = store.digest_counts(&bounds, &scope, now).await.unwrap();
    assert_eq!((w.kept, w.counted), (8, 1));
    assert_eq!(counted(&w, 3, "tag:market:shift"), (1, 1));

    // Deleted: back to what the seed had.
    store.delete_insight(id, "U0REP0007", now).await.unwrap();
    let w = store.digest_counts(&bounds, &scope, now).await.unwrap();
    assert_eq!((w.kept, w.counted), (8, 1));
    assert_eq!(rows(&w), rows(&first));

    // A rep's data purged: every week they shared in is counted again.
    store
        .purge_user("U0REP0005", |_| fieldnotes::store::NewAudit {
            at: now,
            actor: "test".into(),
            action: "forget".into(),
            args: "{}".into(),
            outcome: "ok".into(),
        })
        .await
        .unwrap();
    let w = store.digest_counts(&bounds, &scope, now).await.unwrap();
    assert_eq!((w.kept, w.counted), (0, 9), "rep 5 shared every week");
    assert_eq!(
        counted(&w, fieldnotes::store::BASELINE_WINDOW, globex),
        (0, 0)
    );
    assert_eq!(
        counted(&w, 8, globex),
        (6, 4),
        "rep 5's W48 note was an idea"
    );

    // Before the week is over, its counts are not kept.
    let open = w48().bounds_ms(tz).1 - 1;
    let other = fieldnotes::store::DigestScope {
        checkins: vec!["pulse".into(), "notes".into()],
        tags: vec![],
    };
    let w = store.digest_counts(&bounds, &other, open).await.unwrap();
    assert_eq!((w.kept, w.counted), (0, 9));
    let w2 = store.digest_counts(&bounds, &other, open).await.unwrap();
    assert_eq!((w2.kept, w2.counted), (8, 1));
    assert_eq!(rows(&w2), rows(&w));

    // The digest from kept counts is the digest counted afresh: the same
    // digest with a scope that covers the same notes (every note is a
    // pulse answer or a free note) but is kept apart.
    let kept = digest::gather(store, &t.config, def, w48()).await.unwrap();
    let mut same = def.clone();
    same.checkins = vec!["notes".into(), "pulse".into(), "pulse".into()];
    let fresh = digest::gather(store, &t.config, &same, w48())
        .await
        .unwrap();
    let w = store
        .digest_counts(&bounds, &digest::scope(&same), now)
        .await
        .unwrap();
    assert_eq!((w.kept, w.counted), (9, 0), "counted by that gather");
    assert_eq!(digest::to_json(&kept), digest::to_json(&fresh));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_counts_follow_every_change_sqlite() {
    kept_counts(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_counts_follow_every_change_postgres() {
    kept_counts(Db::Postgres).await;
}
