//! One-off runs of a check-in for its whole audience: `fieldnotes checkin
//! run` and `/fieldnotes ask`. A run is a row (unique on check-in and
//! occurrence); a running bot's planner fans it out when it is due.

use crate::config::questions::rotate;
use crate::config::Config;
use crate::store::Store;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

/// Queues a one-off run of a check-in for its whole audience (what
/// `fieldnotes checkin run NAME` and `/fieldnotes ask` do), at `at` or now;
/// a running bot's planner picks it up when it is due. Returns the run's
/// occurrence key.
pub async fn queue_checkin(
    store: &Store,
    cfg: &Config,
    name: &str,
    question: Option<&str>,
    now: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Result<String> {
    let when = at.unwrap_or(now).max(now);
    let key = format!(
        "manual-{}-{:04x}",
        when.format("%Y%m%dT%H%M%S%.3f"),
        rand::random::<u16>()
    );
    queue_run(store, cfg, name, question, now, when, &key).await?;
    Ok(key)
}

/// `/fieldnotes ask`: like [`queue_checkin`], keyed by the Slack trigger so
/// that a replayed or retried request queues nothing more. Returns the
/// run's key and whether this call created it.
pub async fn queue_ask(
    store: &Store,
    cfg: &Config,
    name: &str,
    question: &str,
    now: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
    trigger_id: &str,
) -> Result<(String, bool)> {
    let when = at.unwrap_or(now).max(now);
    let key = format!("ask-{trigger_id}");
    let created = queue_run(store, cfg, name, Some(question), now, when, &key).await?;
    Ok((key, created))
}

async fn queue_run(
    store: &Store,
    cfg: &Config,
    name: &str,
    question: Option<&str>,
    now: DateTime<Utc>,
    when: DateTime<Utc>,
    key: &str,
) -> Result<bool> {
    let c = cfg.checkin(name).with_context(|| {
        let names: Vec<&str> = cfg.checkins.iter().map(|c| c.name.as_str()).collect();
        format!(
            "no check-in named `{name}` in {} (there is: {})",
            cfg.path.display(),
            names.join(", ")
        )
    })?;
    let id = store
        .create_run(
            &c.name,
            key,
            "manual",
            question,
            when.timestamp_millis(),
            now.timestamp_millis(),
            |seq| {
                let day = when.with_timezone(&cfg.timezone).date_naive();
                rotate(&cfg.checkin_questions(c, day), c.ask, seq)
            },
        )
        .await?;
    Ok(id.is_some())
}
