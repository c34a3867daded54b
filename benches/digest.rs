//! Digest benchmark (issue 12): build and render one weekly digest over a
//! year of notes, against the bare SQL that counts the same numbers.
//!
//! ```sh
//! cargo bench --bench digest -- [--db sqlite|postgres] [--notes N] \
//!     [--reps N] [--weeks N] [--runs R]
//! ```
//!
//! Setup (not timed): a fresh database (a SQLite file in a tempdir, or a new
//! PostgreSQL database dropped afterwards) with the real migrations, filled
//! with `--notes` (1,000,000) notes from `--reps` (1,000) reps spread evenly
//! over `--weeks` (52) weeks ending with the digest's week, each with 1–4
//! tags from the shipped taxonomy (skewed: a few common, most rare),
//! typed fields where a check-in would set them (competitor, objection,
//! stage, persona, account, lead source, a 1–5 lead quality on a fifth of
//! them, an asset verdict with a reason on a tenth), realistic text, and a
//! prompt row for each check-in note. Rows go in with multi-row INSERTs in
//! large transactions, then `ANALYZE`.
//!
//! Timed, `--runs` times each, alternating so drift hits all alike:
//! - **weekly digest**: `digest::gather` for the shipped config's weekly
//!   digest (all of the SQL aggregates, the evidence ids, the candidate
//!   notes and their names) and the pure builder, then rendering it as
//!   Markdown, Slack Block Kit, JSON and HTML (with its SVG charts), as the
//!   weekly schedule runs it: the 8 baseline weeks' counts were kept by
//!   last week's build (`store::rollups`), and the digest's own week is
//!   counted.
//! - **first digest**: the same with nothing kept, as on a new install or
//!   after every period's notes changed (a retag of the whole history).
//! - **bare SQL**: hand-written queries for the same numbers and nothing
//!   else: mentions and distinct reps of every tag and field value per
//!   week over the 9 weeks, distinct reps over the baseline, notes and reps
//!   per week, prompts per week.
//!
//! Prints each run, then the medians [min–max] and the ratios of the
//! medians to the bare SQL's, and a Markdown row for BENCHMARKS.md.

mod common;

use common::seed;
use fieldnotes::config::Config;
use fieldnotes::digest::{self, Format, Period};
use fieldnotes::store::Store;
use sqlx::{AnyConnection, Connection, Executor};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Args {
    db: String,
    notes: usize,
    reps: usize,
    weeks: u32,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        db: "sqlite".into(),
        notes: 1_000_000,
        reps: 1_000,
        weeks: 52,
        runs: 5,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let next = v.get(i + 1).cloned().unwrap_or_default();
        match v[i].as_str() {
            "--db" => a.db = next,
            "--notes" => a.notes = next.parse().expect("--notes N"),
            "--reps" => a.reps = next.parse().expect("--reps N"),
            "--weeks" => a.weeks = next.parse().expect("--weeks N"),
            "--runs" => a.runs = next.parse().expect("--runs N"),
            "--bench" => {
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    sqlx::any::install_default_drivers();
    let cfg = Config::load(Path::new("config/fieldnotes.toml")).unwrap_or_else(|e| panic!("{e}"));
    let def = cfg
        .digests
        .first()
        .expect("the shipped config has a digest")
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let (url, pg_name) = match a.db.as_str() {
        "sqlite" => (
            fieldnotes::store::sqlite_url(&dir.path().join("bench.db")),
            None,
        ),
        "postgres" => {
            let name = format!("fieldnotes_bench_digest_{}", std::process::id());
            let admin = "postgres://postgres@127.0.0.1:5432/postgres";
            let mut c = AnyConnection::connect(admin)
                .await
                .expect("PostgreSQL is running");
            c.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .unwrap();
            (
                format!("postgres://postgres@127.0.0.1:5432/{name}"),
                Some(name),
            )
        }
        other => panic!("--db sqlite|postgres, not {other}"),
    };
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();

    // The digest's week: the last complete one before "now", and the
    // year of notes ends with it.
    let period = Period::last_complete(def.period, chrono::Utc::now(), def.timezone);
    let (_, end) = period.bounds_ms(def.timezone);
    let span = a.weeks as i64 * 7 * 86_400_000;
    let start = end - span;
    let seeded = Instant::now();
    seed::seed(
        &url,
        &cfg,
        seed::Spec {
            notes: a.notes,
            reps: a.reps,
            weeks: a.weeks,
        },
        start,
        end,
    )
    .await;
    println!(
        "seeded {} notes from {} reps over {} weeks into {} in {:.1}s",
        a.notes,
        a.reps,
        a.weeks,
        a.db,
        seeded.elapsed().as_secs_f64()
    );

    let mut tp = period.baseline(digest::BASELINE_PERIODS);
    tp.push(period);
    let mut bounds: Vec<i64> = tp.iter().map(|p| p.bounds_ms(def.timezone).0).collect();
    bounds.push(end);

    let mut weekly = Vec::new();
    let mut cold = Vec::new();
    let mut bare = Vec::new();
    let mut sizes = (0, 0);
    let mut d = None;
    // One untimed warm-up of each (caches, prepared statements).
    forget_rollups(&url, None).await;
    build(&store, &cfg, &def, period).await;
    bare_sql(&url, &bounds).await;
    for run in 1..=a.runs {
        // The weekly build: the 8 baseline weeks were counted and kept by
        // last week's digest; this week is counted (and kept).
        forget_rollups(&url, Some(bounds[bounds.len() - 2])).await;
        let t = Instant::now();
        let (digest, s) = build(&store, &cfg, &def, period).await;
        let took = t.elapsed();
        sizes = s;
        weekly.push(took);
        // The first build (nothing kept: a new install, or every period's
        // notes changed).
        forget_rollups(&url, None).await;
        let t = Instant::now();
        build(&store, &cfg, &def, period).await;
        let took_cold = t.elapsed();
        cold.push(took_cold);
        let t = Instant::now();
        let rows = bare_sql(&url, &bounds).await;
        let took_bare = t.elapsed();
        bare.push(took_bare);
        println!(
            "run {run}: weekly digest {:.0} ms (notes {}, trends {}), first digest {:.0} ms, bare SQL {:.0} ms ({rows} rows)",
            ms(took),
            digest.participation.notes.now,
            digest.trends.len(),
            ms(took_cold),
            ms(took_bare)
        );
        d = Some(digest);
    }
    let d = d.expect("at least one run");
    let (wm, cm, bm) = (
        median(weekly.clone()),
        median(cold.clone()),
        median(bare.clone()),
    );
    let range = |v: &[Duration]| {
        format!(
            "{:.0}–{:.0}",
            ms(*v.iter().min().unwrap()),
            ms(*v.iter().max().unwrap())
        )
    };
    let ratio = |x: Duration| x.as_secs_f64() / bm.as_secs_f64();
    println!(
        "\n{}: weekly digest {:.0} ms [{}] (ratio {:.2}), first digest {:.0} ms [{}] (ratio {:.2}), bare SQL {:.0} ms [{}]; {} KB rendered, {} Slack messages; week {} had {} notes",
        a.db,
        ms(wm),
        range(&weekly),
        ratio(wm),
        ms(cm),
        range(&cold),
        ratio(cm),
        ms(bm),
        range(&bare),
        sizes.0 / 1024,
        sizes.1,
        period,
        d.participation.notes.now,
    );
    println!(
        "| {} | {} | {:.0} ms [{}] | {:.0} ms [{}] | {:.0} ms [{}] | {:.2} | {:.2} |",
        a.db,
        a.notes,
        ms(wm),
        range(&weekly),
        ms(cm),
        range(&cold),
        ms(bm),
        range(&bare),
        ratio(wm),
        ratio(cm)
    );
    store.close().await;
    if let Some(name) = pg_name {
        let mut c = AnyConnection::connect("postgres://postgres@127.0.0.1:5432/postgres")
            .await
            .unwrap();
        c.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .await
        .unwrap();
    }
}

/// Gathers, builds and renders the digest in every format: its model, the
/// rendered bytes and the number of Slack messages.
async fn build(
    store: &Store,
    cfg: &Config,
    def: &fieldnotes::config::DigestDef,
    period: Period,
) -> (digest::Digest, (usize, usize)) {
    let d = digest::gather(store, cfg, def, period).await.unwrap();
    let md = digest::to_markdown(&d);
    let slack = digest::render::blocks::messages(&d);
    let json = digest::to_json(&d);
    let html = digest::render(&d, Format::Html);
    let sizes = (md.len() + json.len() + html.len(), slack.len());
    (d, sizes)
}

/// Forgets the kept counts of the period starting at `from`, or of every
/// period (`store::rollups`).
async fn forget_rollups(url: &str, from: Option<i64>) {
    let mut c = AnyConnection::connect(url).await.unwrap();
    let filter = from
        .map(|f| format!(" WHERE from_ms = {f}"))
        .unwrap_or_default();
    c.execute(sqlx::AssertSqlSafe(format!(
        "DELETE FROM digest_rollup_items WHERE rollup_id IN (SELECT id FROM digest_rollups{filter})"
    )))
    .await
    .unwrap();
    c.execute(sqlx::AssertSqlSafe(format!(
        "DELETE FROM digest_rollups{filter}"
    )))
    .await
    .unwrap();
    c.close().await.unwrap();
}

/// The same numbers, counted by hand: what a digest can't do faster than.
async fn bare_sql(url: &str, bounds: &[i64]) -> usize {
    let mut c = AnyConnection::connect(url).await.unwrap();
    let (from, to) = (bounds[0], *bounds.last().unwrap());
    let mut case = String::from("CASE");
    for (k, b) in bounds.iter().enumerate().skip(1).take(bounds.len() - 2) {
        case.push_str(&format!(" WHEN i.created_at < {b} THEN {}", k - 1));
    }
    case.push_str(&format!(" ELSE {} END", bounds.len() - 2));
    let current = bounds.len() - 2;
    let queries = [
        format!(
            "WITH m AS (
               SELECT {case} AS b, 'tag:' || t.tag AS key, i.id AS id, i.user_id AS user_id
                 FROM insights i JOIN insight_tags t ON t.insight_id = i.id
                WHERE i.deleted_at IS NULL AND i.created_at >= {from} AND i.created_at < {to}
               UNION ALL
               SELECT {case}, 'field:' || f.field || '=' || f.value, i.id, i.user_id
                 FROM insights i JOIN insight_fields f ON f.insight_id = i.id
                WHERE i.deleted_at IS NULL AND i.created_at >= {from} AND i.created_at < {to}
                  AND f.field <> 'lead_quality')
             SELECT CAST(b AS BIGINT), key, CAST(COUNT(DISTINCT id) AS BIGINT), CAST(COUNT(DISTINCT user_id) AS BIGINT) FROM m GROUP BY b, key
             UNION ALL
             SELECT CAST(-1 AS BIGINT), key, CAST(COUNT(DISTINCT id) AS BIGINT), CAST(COUNT(DISTINCT user_id) AS BIGINT) FROM m WHERE b < {current} GROUP BY key"
        ),
        format!(
            "SELECT CAST({case} AS BIGINT), CAST(COUNT(*) AS BIGINT), CAST(COUNT(DISTINCT i.user_id) AS BIGINT), CAST(0 AS BIGINT)
               FROM insights i WHERE i.deleted_at IS NULL AND i.created_at >= {from} AND i.created_at < {to} GROUP BY 1"
        ),
        format!(
            "SELECT CAST({} AS BIGINT), CAST(COUNT(*) AS BIGINT),
                    CAST(SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), CAST(0 AS BIGINT)
               FROM prompts p WHERE status = 'sent' AND sent_at >= {from} AND sent_at < {to} GROUP BY 1",
            case.replace("i.created_at", "p.sent_at")
        ),
    ];
    let mut rows = 0;
    for q in queries {
        rows += sqlx::query(sqlx::AssertSqlSafe(q))
            .fetch_all(&mut c)
            .await
            .unwrap()
            .len();
    }
    c.close().await.unwrap();
    rows
}
