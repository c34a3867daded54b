//! Search benchmark (issue 13): `fieldnotes search` over a year of notes.
//!
//! ```sh
//! cargo bench --bench search -- [--db sqlite|postgres] [--notes N] [--queries Q] [--rounds R]
//! ```
//!
//! Setup (not timed): a fresh database (a SQLite file in a tempdir, or a new
//! PostgreSQL database dropped afterwards) with the real migrations, filled
//! with `--notes` (1,000,000) notes from 1,000 reps over the 52 weeks before
//! now, through the same triggers that index a note the bot saves. Each
//! note has 12–40 words drawn from a 3,000-word vocabulary with a Zipf
//! distribution whose first 50 ranks are English stopwords ("the", "a",
//! "to", …), as in real text (so "pricing", the first content word, is in
//! about 6% of notes, and most words in a handful), names a competitor and an account, and carries 1–4 tags from
//! the shipped taxonomy (skewed), a capture source and, for 70%, the
//! check-in. Then `ANALYZE`.
//!
//! Timed: `--rounds` (5) rounds of `--queries` (400) queries each, through
//! `features::search::run` (parse, the index match, the page's notes,
//! names and snippets), after 50 untimed ones. Every query is the typical
//! one, two filters and a word, in four shapes, with the word a content
//! word drawn by the same Zipf law (so common words come up often):
//! `competitor:X since:30d WORD`, `stage:X source:reply WORD`,
//! `rep:U… competitor:X WORD` and `tag:objection:X since:90d WORD`. Prints
//! each round's p50, p99 and max, and the medians over rounds.

use chrono::Utc;
use fieldnotes::config::Config;
use fieldnotes::features::search::{run, SearchRequest};
use fieldnotes::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{AnyConnection, Connection, Executor};
use std::path::Path;
use std::time::{Duration, Instant};

const REPS: usize = 1000;
const VOCAB: usize = 3000;

/// The most frequent words of English text, which nobody searches for:
/// the vocabulary's first ranks, as in real notes.
const STOPWORDS: &[&str] = &[
    "the", "a", "to", "and", "of", "in", "is", "it", "that", "for", "on", "was", "with", "they",
    "we", "at", "be", "this", "have", "from", "or", "by", "but", "not", "are", "said", "their",
    "our", "an", "as", "about", "if", "will", "would", "there", "so", "up", "out", "what", "all",
    "were", "when", "can", "more", "no", "just", "them", "some", "into", "than",
];

/// The content words, most frequent first; the tail is made-up words.
const HEAD: &[&str] = &[
    "pricing",
    "budget",
    "security",
    "integration",
    "renewal",
    "discount",
    "procurement",
    "timeline",
    "demo",
    "onboarding",
    "support",
    "migration",
    "contract",
    "legal",
    "champion",
    "competitor",
    "analytics",
    "dashboard",
    "rollout",
    "pilot",
    "expansion",
    "churn",
    "quota",
    "forecast",
    "pipeline",
    "webinar",
    "case",
    "study",
    "calculator",
    "roi",
    "approval",
    "cfo",
    "ops",
    "engineering",
    "training",
    "adoption",
    "latency",
    "compliance",
    "soc2",
    "gdpr",
    "salesforce",
    "hubspot",
    "slack",
    "api",
    "workflow",
    "automation",
    "reporting",
    "seats",
    "license",
    "tier",
    "enterprise",
    "startup",
    "feedback",
    "roadmap",
    "feature",
    "bug",
    "outage",
    "sla",
    "uptime",
    "mobile",
    "sso",
    "okta",
    "audit",
    "export",
    "import",
    "template",
];

struct Args {
    db: String,
    notes: usize,
    queries: usize,
    rounds: usize,
}

fn args() -> Args {
    let mut a = Args {
        db: "sqlite".into(),
        notes: 1_000_000,
        queries: 400,
        rounds: 5,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let next = v.get(i + 1).cloned().unwrap_or_default();
        match v[i].as_str() {
            "--db" => a.db = next,
            "--notes" => a.notes = next.parse().expect("--notes N"),
            "--queries" => a.queries = next.parse().expect("--queries N"),
            "--rounds" => a.rounds = next.parse().expect("--rounds N"),
            "--bench" => {
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

/// The vocabulary: the stopwords, the head's content words, then made-up
/// words (`w0116`, `w0117`, …).
fn vocab() -> Vec<String> {
    let named = STOPWORDS.len() + HEAD.len();
    STOPWORDS
        .iter()
        .chain(HEAD)
        .map(|w| w.to_string())
        .chain((named..VOCAB).map(|k| format!("w{k:04}")))
        .collect()
}

/// A Zipf(1) pick from `0..n`, by inverting the harmonic CDF.
fn zipf(rng: &mut StdRng, n: usize) -> usize {
    let h = (n as f64).ln() + 0.5772;
    let u = rng.random::<f64>() * h;
    ((u - 0.5772).exp().floor() as usize).min(n - 1)
}

fn skewed<'a>(rng: &mut StdRng, xs: &'a [String]) -> &'a String {
    &xs[zipf(rng, xs.len())]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    sqlx::any::install_default_drivers();
    let cfg = Config::load(Path::new("config/fieldnotes.toml")).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let (url, pg_name) = match a.db.as_str() {
        "sqlite" => (
            fieldnotes::store::sqlite_url(&dir.path().join("bench.db")),
            None,
        ),
        "postgres" => {
            let name = format!("fieldnotes_bench_search_{}", std::process::id());
            let mut c = AnyConnection::connect("postgres://postgres@127.0.0.1:5432/postgres")
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
    let words = vocab();
    let tags_of = |prefix: &str| -> Vec<String> {
        cfg.tags
            .iter()
            .filter(|t| t.id.starts_with(prefix))
            .map(|t| t.id.clone())
            .collect()
    };
    let all_tags: Vec<String> = cfg.tags.iter().map(|t| t.id.clone()).collect();
    let competitors = tags_of("competitor:");
    let accounts = tags_of("account:");
    let stages = tags_of("stage:");
    let objections = tags_of("objection:");

    let t = Instant::now();
    seed(&url, &a, &words, &all_tags, &competitors, &accounts).await;
    println!(
        "seeded {} notes into {} in {:.1}s",
        a.notes,
        a.db,
        t.elapsed().as_secs_f64()
    );

    let mut rng = StdRng::seed_from_u64(7);
    let query = |rng: &mut StdRng| -> String {
        // A content word: the ranks after the stopwords, by the same law.
        let word = &words[STOPWORDS.len() + zipf(rng, VOCAB - STOPWORDS.len())];
        match rng.random_range(0..4) {
            0 => format!("{} since:30d {word}", skewed(rng, &competitors)),
            1 => format!("{} source:reply {word}", skewed(rng, &stages)),
            2 => format!(
                "rep:U{:08} {} {word}",
                rng.random_range(0..REPS),
                skewed(rng, &competitors)
            ),
            _ => format!("tag:{} since:90d {word}", skewed(rng, &objections)),
        }
    };
    let now = Utc::now();
    for _ in 0..50 {
        let q = query(&mut rng);
        search(&store, &cfg, &q, now).await;
    }
    let (mut p50s, mut p99s, mut maxes) = (Vec::new(), Vec::new(), Vec::new());
    let mut found = 0usize;
    for round in 1..=a.rounds {
        let mut took = Vec::with_capacity(a.queries);
        let mut index = Vec::with_capacity(a.queries);
        for _ in 0..a.queries {
            let q = query(&mut rng);
            let t = Instant::now();
            found += search(&store, &cfg, &q, now).await;
            took.push(t.elapsed());
            // The index match alone, for the breakdown.
            let spec = spec_of(&cfg, &q, now);
            let t = Instant::now();
            store.search(&spec, 11, 0).await.unwrap();
            index.push(t.elapsed());
        }
        index.sort();
        println!(
            "round {round}: index match alone p50 {:.2} ms, p99 {:.2} ms",
            ms(percentile(&index, 0.5)),
            ms(percentile(&index, 0.99))
        );
        took.sort();
        let (p50, p99, max) = (
            percentile(&took, 0.5),
            percentile(&took, 0.99),
            *took.last().unwrap(),
        );
        println!(
            "round {round}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(p50),
            ms(p99),
            ms(max)
        );
        p50s.push(ms(p50));
        p99s.push(ms(p99));
        maxes.push(ms(max));
    }
    println!(
        "\n{}: {} notes, {} queries x {} rounds ({:.1} results a query): p50 {:.2} ms [{:.2}–{:.2}], p99 {:.2} ms [{:.2}–{:.2}], max {:.2} ms",
        a.db,
        a.notes,
        a.queries,
        a.rounds,
        found as f64 / (a.queries * a.rounds) as f64,
        median(p50s.clone()),
        p50s.iter().copied().fold(f64::MAX, f64::min),
        p50s.iter().copied().fold(0.0, f64::max),
        median(p99s.clone()),
        p99s.iter().copied().fold(f64::MAX, f64::min),
        p99s.iter().copied().fold(0.0, f64::max),
        median(maxes),
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

/// A query's spec, with `rep:U…` as its user id (the bench's only kind).
fn spec_of(cfg: &Config, q: &str, now: chrono::DateTime<Utc>) -> fieldnotes::store::SearchSpec {
    let parsed = fieldnotes::search::parse(q, cfg, now).unwrap();
    let mut spec = parsed.spec;
    for r in parsed.reps {
        if let fieldnotes::search::RepRef::Id(id) = r {
            spec.users.push(id);
        }
    }
    spec
}

/// One search; how many results it returned.
async fn search(store: &Store, cfg: &Config, q: &str, now: chrono::DateTime<Utc>) -> usize {
    run(
        store,
        cfg,
        &SearchRequest {
            query: q,
            page: 0,
            searcher: None,
        },
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("{q}: {e}"))
    .hits
    .len()
}

async fn seed(
    url: &str,
    a: &Args,
    words: &[String],
    all_tags: &[String],
    competitors: &[String],
    accounts: &[String],
) {
    let mut c = AnyConnection::connect(url).await.unwrap();
    if url.starts_with("sqlite") {
        c.execute("PRAGMA journal_mode = WAL").await.unwrap();
        c.execute("PRAGMA synchronous = OFF").await.unwrap();
    }
    let mut rng = StdRng::seed_from_u64(12);
    let end = Utc::now().timestamp_millis();
    let start = end - 52 * 7 * 86_400_000;
    let step = (end - start) / a.notes as i64;
    const BATCH: usize = 500;
    const SOURCES: [&str; 4] = ["checkin", "reply", "command", "shortcut"];
    let mut id = 0usize;
    while id < a.notes {
        let mut tx = c.begin().await.unwrap();
        let mut sql = String::from(
            "INSERT INTO insights (id, user_id, source, checkin, text, answers, tags, auto_tags, fields, created_at, updated_at) VALUES ",
        );
        for k in 0..BATCH.min(a.notes - id) {
            id += 1;
            let user = format!("U{:08}", rng.random_range(0..REPS));
            let at = start + id as i64 * step + rng.random_range(0..step.max(1));
            let comp = skewed(&mut rng, competitors);
            let acct = skewed(&mut rng, accounts);
            let n = rng.random_range(12..=40);
            let mut text: Vec<&str> = (0..n)
                .map(|_| words[zipf(&mut rng, VOCAB)].as_str())
                .collect();
            let c_name = comp.trim_start_matches("competitor:");
            let a_name = acct.trim_start_matches("account:");
            text.insert(rng.random_range(0..text.len()), c_name);
            text.insert(rng.random_range(0..text.len()), a_name);
            let mut tags = vec![comp.clone(), acct.clone()];
            for _ in 0..rng.random_range(0..=2) {
                tags.push(skewed(&mut rng, all_tags).clone());
            }
            tags.sort();
            tags.dedup();
            let auto: Vec<&String> = tags.iter().skip(2).collect();
            let picked: Vec<&String> = tags.iter().take(2).collect();
            let source = SOURCES[rng.random_range(0..SOURCES.len())];
            let checkin = if rng.random_bool(0.7) {
                "'weekly-pulse'"
            } else {
                "NULL"
            };
            if k > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({id}, '{user}', '{source}', {checkin}, '{}', '[]', '{}', '{}', '{}', {at}, {at})",
                text.join(" "),
                serde_json::to_string(&picked).unwrap(),
                serde_json::to_string(&auto).unwrap(),
                serde_json::json!([{"field": "competitor", "value": comp}]),
            ));
        }
        tx.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        tx.commit().await.unwrap();
    }
    if !url.starts_with("sqlite") {
        c.execute("SELECT setval('insights_id_seq', (SELECT MAX(id) FROM insights))")
            .await
            .unwrap();
    }
    c.execute("ANALYZE").await.unwrap();
    c.close().await.unwrap();
}
