//! Filling a database with a year of synthetic notes (the digest and
//! load benchmarks share it): `notes` notes from `reps` reps spread evenly
//! over `weeks` weeks ending at `end`, 1–4 tags each from the config's
//! taxonomy (skewed: a few common, most rare), typed fields where a
//! check-in sets them, a 1–5 lead quality on a fifth, an asset verdict
//! with a reason on a tenth, realistic text, and a prompt row for each
//! check-in note. Rows go in with multi-row INSERTs in large
//! transactions, then `ANALYZE`. Reps are `U00000000`, `U00000001`, ….
#![allow(dead_code)]

use fieldnotes::config::Config;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{AnyConnection, Connection, Executor};

/// How much to seed.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub notes: usize,
    pub reps: usize,
    pub weeks: u32,
}

/// A seeded rep's user id.
pub fn rep_id(i: usize) -> String {
    format!("U{i:08}")
}

const TEXTS: &[&str] = &[
    "The CFO at {acct} asked how we compare to {comp}; they think {comp} is cheaper but clunky to roll out.",
    "{comp} came up again on the {acct} call: bundling analytics for free this quarter.",
    "Procurement at {acct} wants a bigger discount before signing; our price is too expensive next to {comp}.",
    "{acct} is consolidating vendors after layoffs and wants one tool instead of three.",
    "The security review at {acct} needs SOC 2 Type II and a GDPR DPA before legal reads the contract.",
    "Great referral lead: {acct} is qualified, has budget and a strong fit.",
    "The webinar recording helped the ops lead at {acct} sell it internally.",
    "We should publish a head-to-head page against {comp}; {acct} asked for one.",
];

/// Fills the database: notes, their tags and fields, and prompts.
pub async fn seed(url: &str, cfg: &Config, a: Spec, start: i64, end: i64) {
    let mut c = AnyConnection::connect(url).await.unwrap();
    let sqlite = url.starts_with("sqlite");
    if sqlite {
        c.execute("PRAGMA journal_mode = WAL").await.unwrap();
        c.execute("PRAGMA synchronous = OFF").await.unwrap();
    }
    let by_cat = |cat: &str| -> Vec<String> {
        cfg.tags
            .iter()
            .filter(|t| t.category.as_deref() == Some(cat))
            .map(|t| t.id.clone())
            .collect()
    };
    let competitors = by_cat("competitor");
    let objections = by_cat("objection");
    let stages = by_cat("funnel_stage");
    let personas = by_cat("persona");
    let accounts = by_cat("account");
    let sources = by_cat("lead_source");
    let assets = by_cat("asset");
    let others: Vec<String> = cfg
        .tags
        .iter()
        .filter(|t| matches!(t.category.as_deref(), Some("market") | Some("idea") | None))
        .map(|t| t.id.clone())
        .collect();
    let mut rng = StdRng::seed_from_u64(12);
    // Skewed picks: index k is taken with weight 1/(k+1).
    fn skewed<'a>(rng: &mut StdRng, xs: &'a [String]) -> Option<&'a String> {
        if xs.is_empty() {
            return None;
        }
        let total: f64 = (1..=xs.len()).map(|k| 1.0 / k as f64).sum();
        let mut r = rng.random::<f64>() * total;
        for (k, x) in xs.iter().enumerate() {
            r -= 1.0 / (k + 1) as f64;
            if r <= 0.0 {
                return Some(x);
            }
        }
        xs.last()
    }
    const BATCH: usize = 500;
    let step = (end - start) / a.notes as i64;
    let mut id: i64 = 0;
    let mut prompt_id: i64 = 0;
    c.execute(
        "INSERT INTO checkin_runs (id, checkin, occurrence, source, scheduled_at, status, created_at)
         VALUES (1, 'weekly-pulse', 'bench', 'schedule', 0, 'done', 0)",
    )
    .await
    .unwrap();
    while (id as usize) < a.notes {
        let mut notes = Vec::with_capacity(BATCH);
        let mut tags = Vec::new();
        let mut fields = Vec::new();
        let mut prompts = Vec::new();
        for _ in 0..BATCH.min(a.notes - id as usize) {
            id += 1;
            let user = rep_id(rng.random_range(0..a.reps));
            let at = start + id * step + rng.random_range(0..step.max(1));
            let comp = skewed(&mut rng, &competitors).cloned().unwrap_or_default();
            let acct = skewed(&mut rng, &accounts).cloned().unwrap_or_default();
            let text = TEXTS[rng.random_range(0..TEXTS.len())]
                .replace("{comp}", comp.trim_start_matches("competitor:"))
                .replace("{acct}", acct.trim_start_matches("account:"));
            let mut t: Vec<(String, &str)> = Vec::new();
            let mut f: Vec<(&str, String)> = Vec::new();
            let n = rng.random_range(1..=4);
            for k in 0..n {
                let (cat, list) = match (k + rng.random_range(0..7)) % 7 {
                    0 => ("competitor", &competitors),
                    1 => ("objection", &objections),
                    2 => ("funnel_stage", &stages),
                    3 => ("persona", &personas),
                    4 => ("account", &accounts),
                    5 => ("lead_source", &sources),
                    _ => ("", &others),
                };
                if let Some(tag) = skewed(&mut rng, list) {
                    let origin = if rng.random_bool(0.5) {
                        "manual"
                    } else {
                        "auto"
                    };
                    if !t.iter().any(|(x, _)| x == tag) {
                        t.push((tag.clone(), origin));
                        if !cat.is_empty() && origin == "manual" {
                            f.push((cat, tag.clone()));
                        }
                    }
                }
            }
            if rng.random_bool(0.2) {
                f.push(("lead_quality", rng.random_range(1..=5).to_string()));
            }
            let mut answers = "[]".to_string();
            if rng.random_bool(0.1) {
                if let Some(asset) = skewed(&mut rng, &assets) {
                    let worked = rng.random_bool(0.6);
                    f.push(("asset", asset.clone()));
                    f.push((
                        if worked {
                            "asset_worked"
                        } else {
                            "asset_flopped"
                        },
                        asset.clone(),
                    ));
                    t.push((asset.clone(), "manual"));
                    let label = cfg.tag(asset).map(|x| x.label.clone()).unwrap_or_default();
                    answers = serde_json::json!([{"question_id": "asset", "question": "Which asset?",
                        "text": format!("{label} {}: the buyer said it {}", if worked {"worked"} else {"didn't work"}, if worked {"answered their questions"} else {"was too generic"})}])
                    .to_string();
                }
            }
            let checkin = rng.random_bool(0.7);
            let pid = if checkin {
                prompt_id += 1;
                prompts.push((prompt_id, user.clone(), at - 3_600_000, at));
                Some(prompt_id)
            } else {
                None
            };
            notes.push((id, user, text, at, answers, pid));
            tags.extend(t.into_iter().map(|(tag, o)| (id, tag, o)));
            fields.extend(f.into_iter().map(|(k, v)| (id, k, v)));
        }
        let mut tx = c.begin().await.unwrap();
        if !prompts.is_empty() {
            let mut sql = String::from(
                "INSERT INTO prompts (id, run_id, checkin, user_id, occurrence, question, status, due_at, created_at, sent_at, answered_at) VALUES ",
            );
            for (i, (pid, user, sent, answered)) in prompts.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "({pid}, 1, 'weekly-pulse', '{user}', 'o{pid}', 'q', 'sent', {sent}, {sent}, {sent}, {answered})"
                ));
            }
            tx.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        }
        let mut sql = String::from(
            "INSERT INTO insights (id, user_id, source, prompt_id, checkin, text, answers, tags, auto_tags, created_at, updated_at) VALUES ",
        );
        for (i, (id, user, text, at, answers, pid)) in notes.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            let (source, pid, checkin) = match pid {
                Some(p) => ("checkin", p.to_string(), "'weekly-pulse'"),
                None => ("command", "NULL".to_string(), "NULL"),
            };
            sql.push_str(&format!(
                "({id}, '{user}', '{source}', {pid}, {checkin}, '{}', '{}', '[]', '[]', {at}, {at})",
                text.replace('\'', "''"),
                answers.replace('\'', "''")
            ));
        }
        tx.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        for chunk in tags.chunks(2000) {
            let mut sql =
                String::from("INSERT INTO insight_tags (insight_id, tag, origin) VALUES ");
            for (i, (id, tag, o)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("({id}, '{tag}', '{o}')"));
            }
            tx.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        }
        for chunk in fields.chunks(2000) {
            let mut sql =
                String::from("INSERT INTO insight_fields (insight_id, field, value) VALUES ");
            for (i, (id, k, v)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("({id}, '{k}', '{v}')"));
            }
            sql.push_str(" ON CONFLICT DO NOTHING");
            tx.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    if !sqlite {
        // The ids above were given explicitly: move PostgreSQL's sequences
        // past them, or the bot's next insert would collide.
        for (table, seq) in [
            ("insights", "insights_id_seq"),
            ("prompts", "prompts_id_seq"),
            ("checkin_runs", "checkin_runs_id_seq"),
        ] {
            c.execute(sqlx::AssertSqlSafe(format!(
                "SELECT setval('{seq}', (SELECT MAX(id) FROM {table}))"
            )))
            .await
            .unwrap();
        }
    }
    c.execute("ANALYZE").await.unwrap();
    c.close().await.unwrap();
}
