//! Search over notes for marketers, on SQLite's FTS5 and PostgreSQL's
//! tsvector: words (stemmed) and phrases, each filter alone and combined,
//! pages, deleted and edited notes, malformed filters named, and anonymous
//! attribution; plus `fieldnotes search` on the command line.

use crate::support::db::TestDatabase;
use crate::support::process::fieldnotes;
use crate::support::Db;
use chrono::{Duration as CDuration, TimeZone, Utc};
use fieldnotes::config::Config;
use fieldnotes::domain::{FieldValue, NewInsight, PersonRow, Source, SourceMessage};
use fieldnotes::features::search::{run, Results, SearchError, SearchRequest};
use fieldnotes::store::{InsightEdit, OwnedChange, Store};
use std::path::Path;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

struct N {
    rep: &'static str,
    days_ago: i64,
    source: Source,
    checkin: Option<&'static str>,
    text: &'static str,
    tags: &'static [&'static str],
    auto: &'static [&'static str],
}

const NOTES: &[N] = &[
    N {
        rep: "U0REP0001",
        days_ago: 2,
        source: Source::Checkin,
        checkin: Some("weekly-pulse"),
        text: "Acme undercut our pricing by 30% in the negotiation with Contoso.",
        tags: &["competitor:acme", "stage:negotiation", "account:contoso"],
        auto: &["objection:price"],
    },
    N {
        rep: "U0REP0002",
        days_ago: 3,
        source: Source::Reply,
        checkin: Some("weekly-pulse"),
        text: "The buyer said Acme prices are lower but support is worse.",
        tags: &["competitor:acme"],
        auto: &["objection:price"],
    },
    N {
        rep: "U0REP0002",
        days_ago: 45,
        source: Source::Command,
        checkin: None,
        text: "Acme pricing came up in discovery, old news by now.",
        tags: &["competitor:acme", "stage:discovery"],
        auto: &[],
    },
    N {
        rep: "U0REP0003",
        days_ago: 5,
        source: Source::Shortcut,
        checkin: None,
        text: "Globex demoed an AI assistant; the CFO loved it. Call jane.doe@contoso.com.",
        tags: &["competitor:globex", "persona:cfo"],
        auto: &[],
    },
    N {
        rep: "U0REP0003",
        days_ago: 6,
        source: Source::Reply,
        checkin: Some("weekly-pulse"),
        text: "Security review is stalling the negotiation at Northwind.",
        tags: &["stage:negotiation", "account:northwind"],
        auto: &["objection:security"],
    },
    N {
        rep: "U0REP0001",
        days_ago: 1,
        source: Source::Command,
        checkin: None,
        text: "The webinar recording worked: the ops lead shared it with the team.",
        tags: &["asset:webinar", "persona:ops"],
        auto: &[],
    },
];

async fn seed(store: &Store) -> Vec<i64> {
    let people: Vec<PersonRow> = [
        ("U0REP0001", "Dana Reyes"),
        ("U0REP0002", "Sam Okafor"),
        ("U0REP0003", "Priya Natarajan"),
    ]
    .iter()
    .map(|(id, name)| PersonRow {
        user_id: id.to_string(),
        name: name.to_string(),
        tz: None,
        is_bot: false,
        deleted: false,
        dm_channel: None,
        fetched_at_ms: now().timestamp_millis(),
    })
    .collect();
    store.upsert_people(&people).await.unwrap();
    let mut ids = Vec::new();
    for (i, n) in NOTES.iter().enumerate() {
        let at = (now() - CDuration::days(n.days_ago)).timestamp_millis();
        let message = (n.source == Source::Shortcut).then(|| SourceMessage {
            channel_id: "C0SALES01".into(),
            ts: "1764000000.000100".into(),
            author_id: Some(n.rep.into()),
            permalink: Some(
                "https://example.slack.com/archives/C0SALES01/p1764000000000100".into(),
            ),
        });
        let saved = store
            .save_insight(&NewInsight {
                user_id: n.rep.into(),
                source: n.source,
                prompt_id: None,
                checkin: n.checkin.map(str::to_string),
                answers: vec![],
                text: n.text.into(),
                tags: n.tags.iter().map(|t| t.to_string()).collect(),
                auto_tags: n.auto.iter().map(|t| t.to_string()).collect(),
                fields: vec![FieldValue::new("competitor", n.tags[0])],
                sentiment: None,
                message,
                created_at_ms: at,
                dedupe_key: Some(format!("search-{i}")),
                follow_up: None,
            })
            .await
            .unwrap();
        ids.push(saved.id);
    }
    ids
}

async fn search(store: &Store, cfg: &Config, q: &str) -> Results {
    search_page(store, cfg, q, 0).await
}

async fn search_page(store: &Store, cfg: &Config, q: &str, page: u32) -> Results {
    run(
        store,
        cfg,
        &SearchRequest {
            query: q,
            page,
            searcher: Some("U0REP0003"),
        },
        now(),
    )
    .await
    .unwrap_or_else(|e| panic!("{q}: {e}"))
}

/// The ids found, in order.
fn ids(r: &Results) -> Vec<i64> {
    r.hits.iter().map(|h| h.id).collect()
}

async fn refused(store: &Store, cfg: &Config, q: &str) -> String {
    match run(
        store,
        cfg,
        &SearchRequest {
            query: q,
            page: 0,
            searcher: None,
        },
        now(),
    )
    .await
    {
        Err(e @ (SearchError::Query(_) | SearchError::Rep { .. })) => e.to_string(),
        other => panic!("{q}: expected a refusal, got {other:?}"),
    }
}

async fn filters_words_and_pages(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let tdb = TestDatabase::create(db, dir.path()).await;
    let store = Store::connect(&tdb.url).await.unwrap();
    store.migrate().await.unwrap();
    let cfg = Config::load(Path::new("config/fieldnotes.toml")).unwrap();
    let id = seed(&store).await;

    // Words, stemmed: "price" finds "pricing" and "prices".
    let r = search(&store, &cfg, "price").await;
    let mut found = ids(&r);
    found.sort();
    assert_eq!(found, vec![id[0], id[1], id[2]], "{r:#?}");
    // A phrase.
    assert_eq!(
        ids(&search(&store, &cfg, "\"security review\"").await),
        vec![id[4]]
    );
    assert!(search(&store, &cfg, "\"review security\"")
        .await
        .hits
        .is_empty());
    // Each filter alone.
    let mut acme = ids(&search(&store, &cfg, "competitor:acme").await);
    acme.sort();
    assert_eq!(acme, vec![id[0], id[1], id[2]]);
    assert_eq!(
        ids(&search(&store, &cfg, "stage:negotiation").await),
        vec![id[0], id[4]],
        "newest first without words"
    );
    assert_eq!(
        ids(&search(&store, &cfg, "tag:objection:price").await),
        vec![id[0], id[1]],
        "automatic tags count"
    );
    assert_eq!(
        ids(&search(&store, &cfg, "rep:@\"Sam Okafor\"").await),
        vec![id[1], id[2]]
    );
    assert_eq!(
        ids(&search(&store, &cfg, "rep:<@U0REP0002|sam>").await),
        vec![id[1], id[2]]
    );
    assert_eq!(
        ids(&search(&store, &cfg, "rep:me").await),
        vec![id[3], id[4]]
    );
    assert_eq!(
        ids(&search(&store, &cfg, "since:30d competitor:acme").await),
        vec![id[0], id[1]]
    );
    assert_eq!(
        ids(&search(&store, &cfg, "until:2026-11-01").await),
        vec![id[2]]
    );
    assert_eq!(
        ids(&search(&store, &cfg, "source:reply").await),
        vec![id[1], id[4]]
    );
    assert_eq!(
        ids(&search(&store, &cfg, "source:shortcut").await),
        vec![id[3]]
    );
    assert_eq!(
        ids(&search(&store, &cfg, "checkin:notes").await),
        vec![id[5], id[3], id[2]]
    );
    assert_eq!(
        ids(&search(&store, &cfg, "checkin:weekly-pulse stage:negotiation").await),
        vec![id[0], id[4]]
    );
    // Labels and aliases name tags too; kinds by category.
    assert_eq!(
        ids(&search(&store, &cfg, "funnel_stage:discovery").await),
        vec![id[2]]
    );
    // Two filters and a word: the typical query.
    let r = search(&store, &cfg, "competitor:acme since:30d support").await;
    assert_eq!(ids(&r), vec![id[1]]);
    let h = &r.hits[0];
    assert_eq!(h.rep.as_deref(), Some("Sam Okafor"));
    assert!(h.snippet.contains("support"), "{}", h.snippet);
    assert!(h.tags.contains(&"objection:price".to_string()));
    // The permalink comes with the note.
    let r = search(&store, &cfg, "globex").await;
    assert_eq!(
        r.hits[0].permalink.as_deref(),
        Some("https://example.slack.com/archives/C0SALES01/p1764000000000100")
    );
    assert!(
        r.hits[0].snippet.contains("jane.doe@"),
        "named search shows the text as written"
    );

    // Pages of 10.
    for i in 0..23 {
        store
            .save_insight(&NewInsight {
                user_id: "U0REP0001".into(),
                source: Source::Command,
                text: format!("Pipeline review number {i} with the renewal team."),
                created_at_ms: (now() - CDuration::hours(i)).timestamp_millis(),
                follow_up: None,
                dedupe_key: Some(format!("page-{i}")),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let p1 = search_page(&store, &cfg, "renewal", 0).await;
    let p2 = search_page(&store, &cfg, "renewal", 1).await;
    let p3 = search_page(&store, &cfg, "renewal", 2).await;
    assert_eq!((p1.hits.len(), p1.more), (10, true));
    assert_eq!((p2.hits.len(), p2.more), (10, true));
    assert_eq!((p3.hits.len(), p3.more), (3, false));
    let mut all: Vec<i64> = [ids(&p1), ids(&p2), ids(&p3)].concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 23, "no note twice across pages");

    // Edited notes are found by their new words and tags; deleted ones
    // are gone.
    let edit = InsightEdit {
        text: "Initech now bundles analytics for free.".into(),
        answers: vec![],
        tags: vec!["competitor:initech".into()],
        auto_tags: vec![],
        fields: vec![],
        sentiment: None,
    };
    let done = store
        .edit_insight(id[1], "U0REP0002", &edit, now().timestamp_millis())
        .await
        .unwrap();
    assert!(matches!(done, OwnedChange::Done(_)));
    assert_eq!(
        ids(&search(&store, &cfg, "competitor:initech analytics").await),
        vec![id[1]]
    );
    assert!(!ids(&search(&store, &cfg, "competitor:acme").await).contains(&id[1]));
    store
        .delete_insight(id[0], "U0REP0001", now().timestamp_millis())
        .await
        .unwrap();
    assert_eq!(
        ids(&search(&store, &cfg, "competitor:acme").await),
        vec![id[2]]
    );
    assert!(search(&store, &cfg, "contoso negotiation undercut")
        .await
        .hits
        .is_empty());

    // Malformed filters name the bad part; nothing runs.
    for (q, says) in [
        (
            "competitor:nobody",
            "`competitor:nobody`: no competitor `nobody`; known: acme, globex, initech",
        ),
        (
            "colour:red pricing",
            "`colour:red`: `colour:` is not a filter",
        ),
        (
            "since:yesterdayish",
            "`since:yesterdayish`: takes a duration",
        ),
        ("rep:@Nobody", "`rep:Nobody`: no one by that name"),
        ("tag:nope", "`tag:nope`: no tag `nope` in the taxonomy"),
        (
            "checkin:monthly",
            "`checkin:monthly`: no check-in `monthly`; there are: weekly-pulse",
        ),
        (
            "source:carrier-pigeon",
            "(or a capture source: checkin, reply",
        ),
        ("stage:", "`stage:`: `stage:` needs a value"),
        ("\"unclosed", "a quote is not closed"),
        ("", "type a word or a filter"),
        (
            "since:2026-11-20 until:2026-11-01",
            "`until:`: is not after since:",
        ),
        ("rep:me", "works in Slack"),
    ] {
        let e = refused(&store, &cfg, q).await;
        assert!(e.contains(says), "{q:?}: {e}");
    }
    store.close().await;
    tdb.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_words_and_pages_sqlite() {
    filters_words_and_pages(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_words_and_pages_postgres() {
    filters_words_and_pages(Db::Postgres).await;
}

/// With an anonymous digest, search names no one, masks emails and
/// phone numbers, and refuses `rep:`; the CLI prints the same results as
/// NDJSON and CSV.
async fn anonymous_and_cli(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let tdb = TestDatabase::create(db, dir.path()).await;
    let store = Store::connect(&tdb.url).await.unwrap();
    store.migrate().await.unwrap();
    let shipped = std::fs::read_to_string("config/fieldnotes.toml").unwrap();
    let anon = dir.path().join("anon.toml");
    std::fs::write(
        &anon,
        shipped.replace("attribution = \"named\"", "attribution = \"anonymous\""),
    )
    .unwrap();
    let cfg = Config::load(&anon).unwrap();
    let id = seed(&store).await;

    let r = search(&store, &cfg, "globex").await;
    assert!(r.anonymous);
    assert_eq!(ids(&r), vec![id[3]]);
    assert_eq!(
        (r.hits[0].rep.as_deref(), r.hits[0].rep_id.as_deref()),
        (None, None)
    );
    assert!(
        r.hits[0].snippet.contains("[email removed]"),
        "{}",
        r.hits[0].snippet
    );
    let e = refused(&store, &cfg, "rep:@\"Dana Reyes\" pricing").await;
    assert!(e.contains("reps are anonymous"), "{e}");

    // The command line, on the same database.
    let run_cli = |format: &str| {
        let out = fieldnotes()
            .args([
                "--config",
                anon.to_str().unwrap(),
                "search",
                "competitor:acme",
                "pricing",
                "--format",
                format,
            ])
            .env("DATABASE_URL", &tdb.url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let nd = run_cli("ndjson");
    let lines: Vec<serde_json::Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut got: Vec<i64> = lines.iter().map(|v| v["id"].as_i64().unwrap()).collect();
    got.sort();
    assert_eq!(got, vec![id[0], id[1], id[2]], "pricing and prices");
    assert!(lines
        .iter()
        .all(|v| v["rep"].is_null() && !v.to_string().contains("U0REP")));
    let csv = run_cli("csv");
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rdr.records().count(), 3);
    assert!(rdr.headers().unwrap().iter().any(|h| h == "snippet"));
    let bad = fieldnotes()
        .args(["--config", anon.to_str().unwrap(), "search", "colour:red"])
        .env("DATABASE_URL", &tdb.url)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`colour:red`"));
    // Each search is audited.
    let audit = store.audit_since(0, 10).await.unwrap();
    assert!(audit.iter().filter(|a| a.action == "search").count() >= 3);
    store.close().await;
    tdb.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_anonymous_and_cli_sqlite() {
    anonymous_and_cli(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_anonymous_and_cli_postgres() {
    anonymous_and_cli(Db::Postgres).await;
}

/// `/fieldnotes search` in Slack: refused for a rep, a bad filter named,
/// the best 10 as an ephemeral message with **More results**, whose click
/// replaces it with the next page through the click's `response_url`.
async fn in_slack(db: Db) {
    use crate::support::{ConfigFixture, Mode, TestApp};
    use fieldnotes::slack::search::SEARCH_MORE;
    let t = TestApp::builder(db, Mode::SocketMode)
        .config(ConfigFixture::shared().toml())
        .spawn()
        .await;
    let store = &t.app().state().store;
    for i in 0..15 {
        store
            .save_insight(&NewInsight {
                user_id: "U0REP0002".into(),
                source: Source::Command,
                text: format!("Deal {i}: Acme undercut our pricing again"),
                tags: vec!["competitor:acme".into()],
                created_at_ms: (t.now() - CDuration::hours(i)).timestamp_millis(),
                dedupe_key: Some(format!("slack-search-{i}")),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let r = t.command("U0REP0001", "search pricing").await;
    assert!(r.contains("Only marketers, leads or admins"), "{r}");
    let r = t.command("U0MKT0001", "search colour:red pricing").await;
    assert!(r.contains("`colour:red`"), "{r}");

    let r = t
        .command("U0MKT0001", "search competitor:acme pricing")
        .await;
    assert!(r.contains("Notes 1–10 for"), "{r}");
    let first = t
        .emu
        .messages_in("C0SALES01")
        .into_iter()
        .find(|m| {
            m.ephemeral_for.as_deref() == Some("U0MKT0001")
                && m.blocks.to_string().contains(SEARCH_MORE)
        })
        .expect("the results, with More results");
    let hits = |b: &serde_json::Value| b.to_string().matches("Acme undercut our pricing").count();
    assert_eq!(hits(&first.blocks), 10);
    assert!(
        first.blocks.to_string().contains("Deal 0:"),
        "newest first among equals"
    );
    t.emu
        .click_button("U0MKT0001", "C0SALES01", &first.ts, SEARCH_MORE)
        .await
        .unwrap();
    let ok = t.emu.wait_until(std::time::Duration::from_secs(15), |e| {
        e.messages_in("C0SALES01")
            .iter()
            .any(|m| m.ts == first.ts && m.text.contains("Notes 11–15"))
    });
    ok.await.expect("the next page replaces the message");
    let page2 = t
        .emu
        .messages_in("C0SALES01")
        .into_iter()
        .find(|m| m.ts == first.ts)
        .unwrap();
    assert_eq!(hits(&page2.blocks), 5);
    assert!(
        !page2.blocks.to_string().contains(SEARCH_MORE),
        "the last page"
    );

    // App Home's Search notes: a modal, the first page in place, then More.
    use fieldnotes::slack::search::HOME_SEARCH;
    for user in ["U0MKT0001", "U0REP0001"] {
        let opened = t.emu.app_home_opened(user).await.unwrap();
        t.wait_handled(&opened).await;
    }
    let ok = t.emu.wait_until(std::time::Duration::from_secs(15), |e| {
        e.home_view("U0MKT0001")
            .is_some_and(|v| v.view.to_string().contains(HOME_SEARCH))
    });
    ok.await.expect("a marketer's App Home offers search");
    let home = t.emu.home_view("U0MKT0001").unwrap();
    t.emu
        .click_view_button("U0MKT0001", &home.id, HOME_SEARCH)
        .await
        .unwrap();
    let modal = t.emu.open_modal_for("U0MKT0001").expect("the search modal");
    let values = t.emu.fill_modal_values(
        &modal.view,
        &std::collections::HashMap::from([(
            "search_q".to_string(),
            slack_emulator::FieldAnswer::Text("competitor:acme pricing".into()),
        )]),
    );
    let d = t
        .emu
        .submit_view("U0MKT0001", &modal.id, values)
        .await
        .unwrap();
    assert!(d.acked);
    let shown = t
        .emu
        .open_modal_for("U0MKT0001")
        .expect("still open, with results");
    assert_eq!(hits(&shown.view["blocks"]), 10, "{}", shown.view);
    t.emu
        .click_view_button("U0MKT0001", &shown.id, SEARCH_MORE)
        .await
        .unwrap();
    let ok = t.emu.wait_until(std::time::Duration::from_secs(15), |e| {
        e.open_modal_for("U0MKT0001")
            .is_some_and(|v| v.view.to_string().contains("Notes 11–15"))
    });
    ok.await.expect("the next page in the modal");
    // A rep's App Home offers no search.
    let rep_home = t.emu.home_view("U0REP0001").unwrap();
    assert!(!rep_home.view.to_string().contains(HOME_SEARCH));
    let audit = store.audit_since(0, 50).await.unwrap();
    assert!(audit.iter().filter(|a| a.action == "search").count() >= 5);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_in_slack_sqlite() {
    in_slack(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_in_slack_postgres() {
    in_slack(Db::Postgres).await;
}
