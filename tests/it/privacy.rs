//! Privacy, on SQLite and PostgreSQL: `fieldnotes export --user` hands a
//! person everything held about them; `fieldnotes purge --user` erases it
//! from every table (found from the schema itself, so a new table or column
//! that holds user ids is noticed) and leaves everyone else's data alone;
//! `[retention] notes` purges old notes; every step is in the audit log
//! that `fieldnotes audit` lists.

use crate::support::wait::until;
use crate::support::{ConfigFixture, Db, Mode, TestApp};
use fieldnotes::domain::{FieldValue, NewInsight, Source};
use fieldnotes::store::{NewDm, NewLoopAction};
use serde_json::Value;
use sqlx::AnyPool;
use std::collections::BTreeMap;
use std::time::Duration;

const REP: &str = "U0REP0001";
const OTHER: &str = "U0REP0002";

/// Every column that may hold a Slack user id, and what covers it: purge
/// and export read these. A new one fails `every_user_column_is_known`:
/// cover it in `store/privacy.rs`, then list it here.
const USER_COLUMNS: &[(&str, &str)] = &[
    ("audit", "actor"),
    ("direct_messages", "user_id"),
    ("initiatives", "added_by_user"),
    ("initiatives", "ended_by_user"),
    ("insights", "author_id"),
    ("insights", "user_id"),
    ("loop_actions", "actor"),
    ("loop_actions", "rep_id"),
    ("pauses", "user_id"),
    ("people", "user_id"),
    ("prompts", "user_id"),
    ("reminders", "user_id"),
];

/// The shared config with every role filled, a reminder a day after each
/// prompt, and notes kept for 365 days.
fn config() -> String {
    ConfigFixture::shared()
        .admins(&["U0ADMIN01"])
        .leads(&["U0LEAD001"])
        .reminders(&["1d"])
        .retention_notes("365d")
        .toml()
}

async fn wait_for(what: &str, f: impl FnMut() -> bool) {
    until(what, Duration::from_secs(20), f).await;
}

async fn pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPool::connect(url)
        .await
        .expect("connecting to the test database")
}

/// Every (table, column) of the app's schema.
async fn columns(pool: &AnyPool, db: Db) -> Vec<(String, String)> {
    let sql = match db {
        Db::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'
             ORDER BY 1, 2"
        }
        Db::Postgres => {
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'
             ORDER BY 1, 2"
        }
    };
    let cols: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(pool).await.unwrap();
    assert!(cols.len() > 50, "the schema was read: {cols:?}");
    cols
}

/// For each (table, column): rows whose value, as text, contains `needle`.
/// Every column of every table, so data in a table nobody thought of shows.
async fn scan(pool: &AnyPool, db: Db, needle: &str) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for (t, c) in columns(pool, db).await {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {t} WHERE CAST({c} AS TEXT) LIKE $1"
        )))
        .bind(format!("%{needle}%"))
        .fetch_one(pool)
        .await
        .unwrap();
        if n > 0 {
            out.insert((t, c), n);
        }
    }
    out
}

async fn count(pool: &AnyPool, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(bind)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// OTHER's own notes (not saved from REP's messages): (id, text).
async fn other_notes(pool: &AnyPool) -> Vec<(i64, String)> {
    sqlx::query_as(
        "SELECT id, text FROM insights WHERE user_id = $1 AND (author_id IS NULL OR author_id <> $2) ORDER BY id",
    )
    .bind(OTHER)
    .bind(REP)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Runs the real binary against the test's database and config.
async fn fieldnotes(t: &TestApp, args: &[&str]) -> String {
    t.cli_ok(args).await
}

/// Gives REP (and OTHER, whose data must survive) something in every
/// table: prompts with reminders, a pause, a profile, notes from a command,
/// a DM reply and typed fields, a channel message OTHER saved as a note,
/// raw events in the inbox, and audit rows.
async fn fill(t: &TestApp) {
    let state = t.app().state().clone();
    t.queue_run(None).await;
    wait_for("the prompts", || {
        [REP, OTHER].iter().all(|u| {
            t.emu
                .dm_channel(u)
                .is_some_and(|dm| t.emu.messages_in(&dm).iter().any(|m| m.bot_id.is_some()))
        })
    })
    .await;
    for u in [REP, OTHER] {
        let r = t
            .command(u, &format!("note {u} heard Acme is too expensive"))
            .await;
        assert!(r.contains("Saved"), "{r}");
    }
    let r = t.command(REP, "pause 2w").await;
    assert!(r.contains("Paused until"), "{r}");
    let r = t.command(OTHER, "pause 1w").await;
    assert!(r.contains("Paused until"), "{r}");
    // A refused ask: an audit row with REP as the actor.
    let r = t.command(REP, "ask Anything new?").await;
    assert!(r.contains("Only marketers, leads or admins"), "{r}");
    // A DM reply, through the inbox.
    let dm = t.emu.dm_channel(REP).unwrap();
    t.emu
        .user_message(REP, &dm, "Initech asked about Acme pricing again", None)
        .await
        .unwrap();
    // A channel message of REP's, saved by OTHER.
    t.emu
        .user_message(REP, "C0SALES01", "Procurement wants a 3-year deal", None)
        .await
        .unwrap();
    let m = t
        .emu
        .messages_in("C0SALES01")
        .into_iter()
        .find(|m| m.text.contains("3-year deal"))
        .unwrap();
    t.emu
        .message_shortcut(OTHER, "fieldnotes_save_message", "C0SALES01", &m.ts)
        .await
        .unwrap();
    // Typed fields and tags for both.
    for u in [REP, OTHER] {
        state
            .store
            .save_insight(&NewInsight {
                user_id: u.into(),
                source: Source::Command,
                text: format!("{u}: the buyer is comparing us with Acme"),
                tags: vec!["stage:negotiation".into()],
                auto_tags: vec!["competitor:acme".into()],
                fields: vec![FieldValue::new("competitor", "competitor:acme")],
                created_at_ms: t.now().timestamp_millis(),
                dedupe_key: Some(format!("typed:{u}")),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    t.wait_inbox_drained().await;
    let notes = t.insights().await;
    // Closing the loop: a marketer acts on REP's note (a DM to REP), and
    // REP, once a marketer too, thanked OTHER (a DM to OTHER naming REP).
    let note_of = |u: &str| {
        notes
            .iter()
            .find(|n| n.user_id == u && n.text.contains("too expensive"))
            .unwrap()
            .id
    };
    for (actor, rep, kind, text) in [
        ("U0ADMIN01", REP, "acting", "Adding it to the pricing FAQ"),
        (REP, OTHER, "thanks", ""),
    ] {
        let action = NewLoopAction {
            insight_id: note_of(rep),
            rep_id: rep.into(),
            actor: actor.into(),
            kind: kind.into(),
            text: text.into(),
            digest: Some("weekly:2026-W48".into()),
            anonymous: false,
            dedupe_key: format!("{kind}:{actor}:{}", note_of(rep)),
        };
        let rec = state
            .store
            .record_loop_actions(
                &[action],
                |to, new| NewDm {
                    dedupe_key: format!("relay:{}", new[0].id),
                    user_id: to.into(),
                    purpose: "relay".into(),
                    payload:
                        serde_json::json!({"text": format!("<@{actor}> from marketing: {kind}")})
                            .to_string(),
                },
                t.now().timestamp_millis(),
            )
            .await
            .unwrap();
        assert_eq!(rec.new.len(), 1);
    }
    // An initiative REP added in Slack (when they were a marketer).
    let added = state
        .store
        .add_initiative(
            &fieldnotes::config::Initiative {
                id: "webinar".into(),
                name: "Spring webinar".into(),
                kind: fieldnotes::config::InitiativeKind::Campaign,
                start: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
                end: None,
                checkins: vec!["pulse".into()],
                keywords: vec![],
                from_config: false,
                ended_at: None,
            },
            REP,
            t.now().timestamp_millis(),
        )
        .await
        .unwrap();
    assert!(added);
    assert_eq!(
        notes.iter().filter(|n| n.user_id == REP).count(),
        3,
        "{notes:#?}"
    );
    assert!(notes
        .iter()
        .any(|n| n.user_id == OTHER && n.text.contains("3-year deal")));
    state.background.idle().await;
}

async fn export_and_purge(db: Db) {
    let mut t = TestApp::builder(db, Mode::SocketMode)
        .config(config())
        .spawn()
        .await;
    t.emu
        .add_user(slack_emulator::User::new("U0ADMIN01", "admin", "UTC"));
    fill(&t).await;
    // Stop the bot, so nothing it does later muddies the counts.
    t.app.take().unwrap().shutdown().await;
    let pool = pool(&t.database_url).await;

    // The schema's user columns are the ones purge and export cover.
    let cols = columns(&pool, db).await;
    let user_like: Vec<(&str, &str)> = cols
        .iter()
        .filter(|(_, c)| {
            ["user", "author", "actor", "rep_id"]
                .iter()
                .any(|k| c.contains(k))
        })
        .map(|(t, c)| (t.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        user_like, USER_COLUMNS,
        "a column that may hold user ids was added or removed: make `purge --user` and `export --user` (src/store/privacy.rs) cover it, then update USER_COLUMNS"
    );

    // Positive first: REP is in every table that holds people.
    let before = scan(&pool, db, REP).await;
    let tables: std::collections::BTreeSet<&str> = before.keys().map(|(t, _)| t.as_str()).collect();
    for table in [
        "audit",
        "direct_messages",
        "inbox",
        "initiatives",
        "insights",
        "loop_actions",
        "pauses",
        "people",
        "prompts",
        "reminders",
    ] {
        assert!(
            tables.contains(table),
            "{REP} not in {table} before the purge: {before:?}"
        );
    }
    let rep_tags = count(
        &pool,
        "SELECT COUNT(*) FROM insight_tags WHERE insight_id IN (SELECT id FROM insights WHERE user_id = $1 OR author_id = $1)",
        REP,
    )
    .await;
    let rep_fields = count(
        &pool,
        "SELECT COUNT(*) FROM insight_fields WHERE insight_id IN (SELECT id FROM insights WHERE user_id = $1 OR author_id = $1)",
        REP,
    )
    .await;
    assert!(
        rep_tags >= 2 && rep_fields >= 1,
        "tags {rep_tags}, fields {rep_fields}"
    );
    let other_before = scan(&pool, db, OTHER).await;
    let other_notes_before = other_notes(&pool).await;
    assert_eq!(other_notes_before.len(), 2, "{other_notes_before:?}");
    let other_tags_sql = "SELECT COUNT(*) FROM insight_tags WHERE insight_id IN (SELECT id FROM insights WHERE user_id = $1 AND (author_id IS NULL OR author_id <> 'U0REP0001'))";
    let other_tags = count(&pool, other_tags_sql, OTHER).await;
    assert!(other_tags >= 2);

    // Export: one JSON document with everything about REP, nobody else.
    let doc = fieldnotes(&t, &["export", "--user", REP]).await;
    let v: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(v["user_id"], REP);
    assert!(
        !doc.contains(OTHER),
        "another person leaked into the export: {doc}"
    );
    assert_eq!(v["profile"]["tz"], "America/New_York", "{doc}");
    assert!(v["pause"]["paused_until"].is_string(), "{doc}");
    let prompts = v["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1, "{doc}");
    assert_eq!(
        prompts[0]["reminders"].as_array().unwrap().len(),
        1,
        "{doc}"
    );
    let notes = v["notes"].as_array().unwrap();
    let texts: Vec<&str> = notes.iter().map(|n| n["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("Initech asked")),
        "{texts:?}"
    );
    let typed = notes
        .iter()
        .find(|n| n["text"].as_str().unwrap().contains("comparing us"))
        .unwrap();
    assert_eq!(typed["fields"][0]["value"], "competitor:acme");
    assert_eq!(typed["tags"], serde_json::json!(["stage:negotiation"]));
    assert_eq!(typed["auto_tags"], serde_json::json!(["competitor:acme"]));
    assert_eq!(
        v["saved_by_others"][0]["text"],
        "Procurement wants a 3-year deal"
    );
    assert!(!v["slack_events"].as_array().unwrap().is_empty(), "{doc}");
    assert_eq!(v["audit"][0]["action"], "ask");
    assert_eq!(v["heard_back"][0]["kind"], "acting", "{doc}");
    assert_eq!(
        v["heard_back"][0]["text"], "Adding it to the pricing FAQ",
        "{doc}"
    );
    assert_eq!(v["loop_actions"][0]["kind"], "thanks", "{doc}");
    assert_eq!(v["direct_messages"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(v["direct_messages"][0]["purpose"], "relay", "{doc}");

    // Purge: counts per table, then nothing of REP anywhere.
    let report = fieldnotes(&t, &["purge", "--user", REP]).await;
    assert!(report.contains(&format!("Erased {REP}")), "{report}");
    let counts: BTreeMap<String, u64> = report
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter_map(|l| {
            let (name, n) = l.trim().rsplit_once(' ')?;
            Some((name.trim().to_string(), n.parse().ok()?))
        })
        .collect();
    for (table, n) in [
        ("insights", 4),
        ("prompts", 1),
        ("reminders", 1),
        ("pauses", 1),
        ("people", 1),
        ("loop_actions", 1),
        ("loop_actions (redacted)", 1),
        ("direct_messages", 1),
        ("direct_messages (redacted)", 1),
        ("initiatives (redacted)", 1),
    ] {
        assert_eq!(counts.get(table), Some(&n), "{table} in {report}");
    }
    assert_eq!(
        counts.get("insight_tags").copied(),
        Some(rep_tags as u64),
        "{report}"
    );
    assert_eq!(
        counts.get("insight_fields").copied(),
        Some(rep_fields as u64),
        "{report}"
    );
    assert!(counts["inbox"] >= 2, "{report}");
    let after = scan(&pool, db, REP).await;
    assert!(after.is_empty(), "{REP} is still held: {after:?}");
    let orphans = count(
        &pool,
        "SELECT COUNT(*) FROM insight_tags WHERE insight_id NOT IN (SELECT id FROM insights) AND tag <> $1",
        "",
    )
    .await
        + count(
            &pool,
            "SELECT COUNT(*) FROM insight_fields WHERE insight_id NOT IN (SELECT id FROM insights) AND field <> $1",
            "",
        )
        .await;
    assert_eq!(orphans, 0, "tags or fields of erased notes remain");

    // Everyone else's data is as it was (but for the note OTHER saved from
    // REP's message, which held REP's words: gone with them).
    let other_after = scan(&pool, db, OTHER).await;
    let without_notes = |m: &BTreeMap<(String, String), i64>| {
        let mut m = m.clone();
        m.retain(|(t, _), _| t != "insights");
        m
    };
    assert_eq!(without_notes(&other_after), without_notes(&other_before));
    assert_eq!(
        other_notes(&pool).await,
        other_notes_before,
        "OTHER's own notes are untouched"
    );
    assert_eq!(count(&pool, other_tags_sql, OTHER).await, other_tags);

    // The audit log: the export and the purge, by the operator; the
    // refusal's actor is erased; the purge's row doesn't name REP.
    let audit: Value = serde_json::from_str(
        &fieldnotes(&t, &["audit", "--since", "2026-01-01", "--format", "json"]).await,
    )
    .unwrap();
    let rows = audit.as_array().unwrap();
    let find = |action: &str| {
        rows.iter()
            .find(|r| r["action"] == action)
            .unwrap_or_else(|| panic!("no {action} row in {audit:#}"))
    };
    assert_eq!(find("ask")["actor"], "erased");
    assert!(find("ask")["outcome"]
        .as_str()
        .unwrap()
        .starts_with("refused"));
    assert_eq!(find("export_user")["actor"], "cli:ops-test");
    assert_eq!(find("export_user")["args"]["user"], "erased");
    let purge = find("purge_user");
    assert_eq!(purge["actor"], "cli:ops-test");
    assert!(
        purge["outcome"].as_str().unwrap().contains("insights 4"),
        "{purge}"
    );
    let text = fieldnotes(&t, &["audit", "--since", "2026-01-01"]).await;
    assert!(
        text.contains("cli:ops-test") && text.contains("purge_user"),
        "{text}"
    );

    // Purging again finds nothing.
    let again = fieldnotes(&t, &["purge", "--user", REP]).await;
    assert!(again.contains(&format!("Erased {REP}: 0 rows")), "{again}");
    pool.close().await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_purge_sqlite() {
    export_and_purge(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_purge_postgres() {
    export_and_purge(Db::Postgres).await;
}

/// `[retention] notes = "365d"`: notes older than that go (with their tags
/// and fields), newer ones stay, and the purge is audited as `system`.
async fn retention_of_notes(db: Db) {
    let t = TestApp::builder(db, Mode::SocketMode)
        .config(config())
        .spawn()
        .await;
    let state = t.app().state().clone();
    let now = t.now().timestamp_millis();
    let day = 86_400_000;
    let mut ids = Vec::new();
    for (age, key) in [(400, "old"), (364, "recent"), (1, "new")] {
        let s = state
            .store
            .save_insight(&NewInsight {
                user_id: REP.into(),
                source: Source::Command,
                text: format!("{key} note about Acme"),
                auto_tags: vec!["competitor:acme".into()],
                fields: vec![FieldValue::new("competitor", "competitor:acme")],
                created_at_ms: now - age * day,
                dedupe_key: Some(key.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        ids.push(s.id);
    }
    // The jobs loop purges at start and hourly; either pass may take it.
    fieldnotes::jobs::purge(&state).await.unwrap();
    assert!(
        state.store.insight(ids[0]).await.unwrap().is_none(),
        "400 days old: purged"
    );
    for id in &ids[1..] {
        assert!(state.store.insight(*id).await.unwrap().is_some(), "kept");
    }
    let pool = pool(&t.database_url).await;
    let left = count(
        &pool,
        "SELECT COUNT(*) FROM insight_fields WHERE field = $1",
        "competitor",
    )
    .await;
    assert_eq!(left, 2, "the old note's fields went with it");
    let rows = state.store.audit_since(0, 100).await.unwrap();
    let r = rows
        .iter()
        .find(|r| r.action == "retention")
        .unwrap_or_else(|| panic!("no retention row: {rows:?}"));
    assert_eq!(r.actor, "system");
    assert!(r.outcome.contains("1 old notes"), "{r:?}");
    assert!(r.args.contains("\"notes\":\"365d\""), "{r:?}");
    pool.close().await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_of_notes_sqlite() {
    retention_of_notes(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_of_notes_postgres() {
    retention_of_notes(Db::Postgres).await;
}
