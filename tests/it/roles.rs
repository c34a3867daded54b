//! Roles through the emulator: each gated Slack action refused for someone
//! without the role, with a message naming the roles needed, an audit row,
//! and nothing else changed; then allowed for a role that may.
//!
//! Gated in Slack today: `/fieldnotes ask` and App Home's **Preview
//! digest**. Export, purge and the audit log have no Slack entry point
//! (they are `fieldnotes` commands on the host, audited, not gated), and
//! search and initiatives are not built; their permissions are in the
//! table tested in `src/roles.rs`.

use crate::support::wait::until;
use crate::support::{ConfigFixture, Db, Mode, TestApp};
use fieldnotes::store::AuditRow;
use std::time::Duration;

const REP: &str = "U0REP0001";
const ADMIN: &str = "U0ADMIN01";
const MARKETER: &str = "U0MKT0001";
const LEAD: &str = "U0LEAD001";

/// The shared config with an admin, a marketer and a lead.
fn fixture() -> ConfigFixture {
    ConfigFixture::shared()
        .admins(&[ADMIN])
        .marketers(&[MARKETER])
        .leads(&[LEAD])
}

async fn app(db: Db, mode: Mode) -> TestApp {
    let t = TestApp::builder(db, mode)
        .config(fixture().toml())
        .spawn()
        .await;
    t.emu
        .add_user(slack_emulator::User::new(ADMIN, "admin", "UTC"));
    t
}

async fn wait_for(what: &str, f: impl FnMut() -> bool) {
    until(what, Duration::from_secs(20), f).await;
}

async fn audit(t: &TestApp) -> Vec<AuditRow> {
    t.app().state().store.audit_since(0, 1000).await.unwrap()
}

async fn runs(t: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&t.database_url).await.unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM checkin_runs WHERE source = 'manual'")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    pool.close().await;
    n
}

/// `/fieldnotes ask` from a rep: refused by name of the roles, audited,
/// nothing queued. An admin's goes to the whole audience, once.
async fn ask_refused_for_reps(db: Db, mode: Mode) {
    let t = app(db, mode).await;
    let reply = t.command(REP, "ask pulse Anything new from buyers?").await;
    assert!(
        reply.contains("Only marketers, leads or admins can use `ask`; ask an admin to add you under `[roles]` in `fieldnotes.toml`"),
        "{reply}"
    );
    let rows = audit(&t).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].actor.as_str(), rows[0].action.as_str()),
        (REP, "ask")
    );
    assert_eq!(rows[0].outcome, "refused: needs marketers, leads or admins");
    assert!(
        rows[0].args.contains("Anything new from buyers?"),
        "{rows:?}"
    );
    assert_eq!(runs(&t).await, 0, "a refused ask queues nothing");

    let reply = t
        .command(ADMIN, "ask pulse Which competitor came up?")
        .await;
    assert!(reply.contains("Queued"), "admins can ask: {reply}");
    t.wait_calls("chat.postMessage", 4).await;
    // Everything due by now is done: no later DM can come.
    t.run_until_idle().await;
    assert_eq!(runs(&t).await, 1);
    assert_eq!(
        t.emu.calls_to("chat.postMessage").len(),
        4,
        "one DM per person in the audience, none from the refused ask"
    );
    let ok = audit(&t).await;
    let last = ok.last().unwrap();
    assert_eq!((last.actor.as_str(), last.action.as_str()), (ADMIN, "ask"));
    assert!(last.outcome.starts_with("ok: run "), "{last:?}");
    assert!(last.args.contains("\"checkin\":\"pulse\""), "{last:?}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_refused_for_reps_sqlite_socket() {
    ask_refused_for_reps(Db::Sqlite, Mode::SocketMode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_refused_for_reps_postgres_http() {
    ask_refused_for_reps(Db::Postgres, Mode::Http).await;
}

/// App Home's **Preview digest**: a marketer taken out of `[roles]` while
/// their Home still shows the button is told why in a modal (App Home has no
/// channel for an ephemeral message), and gets no digest; a lead gets it.
async fn digest_preview_refused_without_a_role(db: Db) {
    let t = app(db, Mode::SocketMode).await;
    let state = t.app().state().clone();
    t.command(REP, "note Acme is too expensive").await;

    t.emu.app_home_opened(MARKETER).await.unwrap();
    wait_for("the marketer's home", || {
        t.emu
            .home_view(MARKETER)
            .is_some_and(|v| v.view.to_string().contains("Preview digest"))
    })
    .await;
    // The marketer leaves marketing; their Home still has the button.
    let demoted = fixture().marketers(&[]).toml();
    state.replace_config(fieldnotes::config::Config::parse(&t.config_path(), &demoted).unwrap());
    let home = t.emu.home_view(MARKETER).unwrap();
    t.emu
        .click_view_button(MARKETER, &home.id, "fieldnotes_preview_digest")
        .await
        .unwrap();
    wait_for("the refusal", || t.emu.open_modal_for(MARKETER).is_some()).await;
    let modal = t.emu.open_modal_for(MARKETER).unwrap().view.to_string();
    assert!(
        modal.contains("Only marketers, leads or admins can use the digest preview; ask an admin to add you under `[roles]` in `fieldnotes.toml`"),
        "{modal}"
    );
    assert!(!modal.contains("Acme"), "no digest for them: {modal}");
    state.background.idle().await;
    assert_eq!(t.emu.calls_to("views.update").len(), 0, "nothing was built");
    let rows = audit(&t).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0].actor.as_str(),
            rows[0].action.as_str(),
            rows[0].outcome.as_str()
        ),
        (
            MARKETER,
            "digest_preview",
            "refused: needs marketers, leads or admins"
        )
    );

    // A lead previews it.
    t.emu.app_home_opened(LEAD).await.unwrap();
    wait_for("the lead's home", || {
        t.emu
            .home_view(LEAD)
            .is_some_and(|v| v.view.to_string().contains("Preview digest"))
    })
    .await;
    let home = t.emu.home_view(LEAD).unwrap();
    t.emu
        .click_view_button(LEAD, &home.id, "fieldnotes_preview_digest")
        .await
        .unwrap();
    wait_for("the digest preview", || {
        t.emu
            .open_modal_for(LEAD)
            .is_some_and(|v| v.view.to_string().contains("Acme is too expensive"))
    })
    .await;
    let rows = audit(&t).await;
    let last = rows.last().unwrap();
    assert_eq!(
        (
            last.actor.as_str(),
            last.action.as_str(),
            last.outcome.as_str()
        ),
        (LEAD, "digest_preview", "ok")
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_preview_refused_sqlite() {
    digest_preview_refused_without_a_role(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_preview_refused_postgres() {
    digest_preview_refused_without_a_role(Db::Postgres).await;
}
