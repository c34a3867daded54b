//! Capture throughput: how fast notes are tagged, scored and stored.
//!
//! `cargo bench --bench capture -- [--notes N] [--vocab N] [--db sqlite|postgres]`
//!
//! 1. Builds the tagger over the shipped taxonomy plus `--vocab` extra
//!    account tags, each with an alias (a big account list).
//! 2. Auto-tags and scores `--notes` notes in the reps' own words (the
//!    demo's phrase generator), one at a time as the handlers do.
//! 3. Answers type-ahead queries over that account vocabulary.
//! 4. Saves the notes one transaction each (tags, fields, the open-prompt
//!    update), as a burst of replies and commands would.
//!
//! Prints wall times, rates and the process's peak RSS.

mod common;

use common::status_mb;
use fieldnotes::capture;
use fieldnotes::config::Config;
use fieldnotes::domain::{FieldValue, NewInsight, Source};
use fieldnotes::store::{sqlite_url, Store};
use fieldnotes::tagging::Tagger;
use rand::{rngs::StdRng, SeedableRng};
use sqlx::Connection;
use std::path::Path;
use std::time::Instant;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let notes: usize = arg("--notes", "20000").parse()?;
    let vocab: usize = arg("--vocab", "2000").parse()?;
    let db = arg("--db", "sqlite");

    let mut text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml"),
    )?;
    for i in 0..vocab {
        text.push_str(&format!(
            "\n[[tag]]\nid = \"account:b{i}\"\nlabel = \"Account {i:05}\"\ncategory = \"account\"\nkeywords = [\"acct{i:05}\"]\naliases = [\"Holding {i:05} Group\"]\n"
        ));
    }
    let cfg = Config::parse(Path::new("bench.toml"), &text).map_err(|e| anyhow::anyhow!("{e}"))?;

    let t = Instant::now();
    let tagger = Tagger::new(&cfg.tags);
    let build = t.elapsed();

    let mut rng = StdRng::seed_from_u64(7);
    let texts: Vec<String> = (0..notes)
        .map(|i| {
            let mut s = fieldnotes::demo::script::heard(&mut rng, (i % 4) as u32);
            if i % 5 == 0 {
                s.push_str(&format!(
                    " Holding {:05} Group asked for a pilot.",
                    i % vocab.max(1)
                ));
            }
            s
        })
        .collect();

    let t = Instant::now();
    let mut tagged = 0usize;
    for s in &texts {
        tagged += capture::auto_tags(&tagger, &cfg, s, &[], None).len();
    }
    let tag_time = t.elapsed();

    let t = Instant::now();
    let mut positive = 0usize;
    for s in &texts {
        if capture::tone(s) == fieldnotes::domain::Sentiment::Positive {
            positive += 1;
        }
    }
    let tone_time = t.elapsed();

    let queries = 1000usize;
    let t = Instant::now();
    let mut hits = 0usize;
    for i in 0..queries {
        hits += fieldnotes::slack::views::suggestions(
            &cfg,
            "account",
            &format!("holding {:04}", i % 1000),
            None,
        )
        .len();
    }
    let suggest_time = t.elapsed();

    let dir = tempfile::tempdir()?;
    let (url, admin) = match db.as_str() {
        "postgres" => {
            let admin = std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("fieldnotes_bench_{:08x}", rand::random::<u32>());
            let mut c = sqlx::PgConnection::connect(&admin).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await?;
            let base = admin.rsplit_once('/').map(|x| x.0).unwrap_or(&admin);
            (format!("{base}/{name}"), Some((admin, name)))
        }
        _ => (sqlite_url(&dir.path().join("bench.db")), None),
    };
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let t = Instant::now();
    for (i, s) in texts.iter().enumerate() {
        let auto = capture::auto_tags(&tagger, &cfg, s, &[], None);
        let n = NewInsight {
            user_id: format!("U{:04}", i % 200),
            source: if i % 2 == 0 {
                Source::Reply
            } else {
                Source::Command
            },
            text: s.clone(),
            fields: vec![FieldValue::new("lead_quality", ((i % 5) + 1).to_string())],
            auto_tags: auto,
            sentiment: Some(capture::tone(s)),
            created_at_ms: 1_795_000_000_000 + i as i64,
            dedupe_key: Some(format!("bench:{i}")),
            ..Default::default()
        };
        store.save_insight(&n).await?;
    }
    let save_time = t.elapsed();
    store.close().await;
    if let Some((admin, name)) = admin {
        let mut c = sqlx::PgConnection::connect(&admin).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await?;
    }

    let rate = |n: usize, d: std::time::Duration| n as f64 / d.as_secs_f64();
    println!(
        "taxonomy: {} tags ({} account tags with aliases)",
        cfg.tags.len(),
        vocab
    );
    println!("tagger build: {:.1} ms", build.as_secs_f64() * 1e3);
    println!(
        "auto-tag {notes} notes: {:.0} ms ({:.0} notes/s, {} tags found)",
        tag_time.as_secs_f64() * 1e3,
        rate(notes, tag_time),
        tagged
    );
    println!(
        "sentiment {notes} notes: {:.0} ms ({:.0} notes/s, {} positive)",
        tone_time.as_secs_f64() * 1e3,
        rate(notes, tone_time),
        positive
    );
    println!(
        "type-ahead {queries} queries over {vocab} accounts: {:.1} ms ({:.2} ms/query, {} options)",
        suggest_time.as_secs_f64() * 1e3,
        suggest_time.as_secs_f64() * 1e3 / queries as f64,
        hits
    );
    println!(
        "save {notes} notes on {db}: {:.1} s ({:.0} notes/s)",
        save_time.as_secs_f64(),
        rate(notes, save_time)
    );
    println!("peak RSS: {:.1} MB", status_mb("VmHWM:"));
    Ok(())
}
