//! Posting digests to Slack, exactly once. Each `[[digest]]` whose cadence
//! fired gets a run row for the period that just ended (unique per digest
//! and period, so replicas and restarts agree). A worker leases the run,
//! builds the digest (nothing is posted for a period with no notes: the
//! run ends `empty` and the log says why), writes every message it will
//! post as a row, then posts them in order: per recipient the summary, its
//! thread replies, and the chart (a PNG through Slack's external upload).
//! A post is marked in flight before its call; after a crash the next
//! worker looks for the post's metadata mark (or the chart's file) in the
//! thread before posting again, so what went out is never repeated.
//! Messages into one channel are spaced at Slack's 1 a second, and every
//! call waits its method's shared pacer.

use super::{Bot, MessageMark, SlackCallError};
use crate::config::DigestDef;
use crate::digest::{self, Digest, Period};
use crate::store::{DigestPostRow, DigestRunRow, NewDigestPost};
use anyhow::{Context as _, Result};
use base64::Engine as _;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{json, Value};
use slack_morphism::prelude::SlackBlock;
use std::time::Duration;
use tracing::{info, warn};

/// How late a missed cadence occurrence is still sent (a bot that was down
/// at 09:00 Monday sends Monday's digest when it comes back that day).
pub const CATCH_UP: ChronoDuration = ChronoDuration::hours(24);
/// The `seq` of a run's chart post: after every reply.
pub const CHART_SEQ: i64 = 10_000;
/// Attempts at one post before it is given up.
const MAX_POST_ATTEMPTS: i64 = 5;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DigestOutcome {
    /// Runs created because a cadence fired.
    pub created: usize,
    /// Runs claimed and worked on.
    pub claimed: usize,
    /// Messages and charts posted.
    pub posted: usize,
}

/// Creates the run for each digest whose cadence fired in the last
/// `CATCH_UP`, for the period that ended before it.
pub async fn schedule(bot: &Bot) -> Result<usize> {
    let cfg = bot.config();
    let now = bot.now();
    let mut created = 0;
    for def in &cfg.digests {
        let Some(at) = last_fire(def, now) else {
            continue;
        };
        let period = Period::last_complete(def.period, at, def.timezone);
        // Every tick for a day after a send asks again: a read answers it
        // without taking SQLite's write lock.
        if bot
            .store
            .digest_run(&def.name, &period.to_string())
            .await?
            .is_some()
        {
            continue;
        }
        let (_, new) = bot
            .store
            .create_digest_run(
                &def.name,
                &period.to_string(),
                at.timestamp_millis(),
                now.timestamp_millis(),
            )
            .await?;
        if new {
            info!(digest = %def.name, period = %period, "digest due");
            created += 1;
        }
    }
    Ok(created)
}

/// The digest's latest cadence firing at or before `now`, if within
/// `CATCH_UP`.
pub fn last_fire(def: &DigestDef, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    def.cadence
        .occurrences_between(def.timezone, now - CATCH_UP, now)
        .last()
        .map(|o| o.at)
}

/// Schedules, then works one due run (if any) to the end or to its first
/// transient failure.
pub async fn run_once(bot: &Bot) -> Result<DigestOutcome> {
    let mut out = DigestOutcome {
        created: schedule(bot).await?,
        ..Default::default()
    };
    let Some(run) = bot
        .store
        .claim_digest_run(&bot.worker_id, bot.now_ms(), lease_ms(bot))
        .await?
    else {
        return Ok(out);
    };
    out.claimed = 1;
    match work(bot, &run, &mut out).await {
        Ok(()) => {}
        Err(e) => {
            let retry = bot.now_ms() + crate::clock::backoff(run.attempts).as_millis() as i64;
            warn!(digest = %run.digest, period = %run.period, error = %format!("{e:#}"), "digest run will be retried");
            bot.store
                .release_digest_run(run.id, retry, &format!("{e:#}"))
                .await?;
        }
    }
    Ok(out)
}

/// Posts a digest now (`fieldnotes digest --post`): the same run row as the
/// schedule's, so it is never sent twice for a period. Returns the run as
/// it ended.
pub async fn post_now(bot: &Bot, def: &DigestDef, period: Period) -> Result<DigestRunRow> {
    let now = bot.now_ms();
    bot.store
        .create_digest_run(&def.name, &period.to_string(), now, now)
        .await?;
    // A worker that died holding the run keeps it until its lease runs
    // out: wait that long (and a little), then take it over.
    let lease = bot.config().bot.lease;
    let deadline = tokio::time::Instant::now() + lease * 2 + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let run = bot
            .store
            .digest_run(&def.name, &period.to_string())
            .await?
            .context("the digest run vanished")?;
        if !matches!(run.status.as_str(), "pending" | "posting") {
            return Ok(run);
        }
        let mut out = DigestOutcome::default();
        match bot
            .store
            .claim_digest_run(&bot.worker_id, bot.now_ms(), lease_ms(bot))
            .await?
        {
            Some(r) if r.id == run.id => {
                if let Err(e) = work(bot, &r, &mut out).await {
                    bot.store
                        .release_digest_run(r.id, bot.now_ms(), &format!("{e:#}"))
                        .await?;
                    return Err(e);
                }
            }
            Some(other) => {
                // Another due run: let it be taken again at once.
                bot.store
                    .release_digest_run(other.id, bot.now_ms(), "yielded to a manual post")
                    .await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            None => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    bot.store
        .digest_run(&def.name, &period.to_string())
        .await?
        .context("the digest run vanished")
}

/// How long a worker holds a digest run between renewals: the config's
/// lease, renewed before every post.
fn lease_ms(bot: &Bot) -> i64 {
    bot.config().bot.lease.as_millis() as i64
}

async fn work(bot: &Bot, run: &DigestRunRow, out: &mut DigestOutcome) -> Result<()> {
    let cfg = bot.config();
    let Some(def) = cfg.digests.iter().find(|d| d.name == run.digest) else {
        warn!(digest = %run.digest, "digest no longer in the config; its run is dropped");
        bot.store
            .finish_digest_run(
                run.id,
                "failed",
                None,
                Some("digest removed from the config"),
                bot.now_ms(),
            )
            .await?;
        return Ok(());
    };
    if run.status == "pending" {
        let period = Period::parse(def.period, &run.period).map_err(anyhow::Error::msg)?;
        let d = build(bot, def, period).await?;
        if d.is_empty() {
            info!(digest = %def.name, period = %run.period, "no notes in the period: nothing posted");
            bot.store
                .finish_digest_run(run.id, "empty", Some(0), None, bot.now_ms())
                .await?;
            return Ok(());
        }
        let posts = plan_posts(def, &d);
        bot.store
            .queue_digest_posts(
                run.id,
                &bot.worker_id,
                d.participation.notes.now as i64,
                &posts,
            )
            .await?;
    }
    let posts = bot.store.digest_posts(run.id).await?;
    let mut failed = Vec::new();
    let mut thread: Option<(String, String)> = None;
    let mut recipient = String::new();
    for p in posts {
        if p.recipient != recipient {
            recipient = p.recipient.clone();
            thread = None;
        }
        if p.seq == 0 && p.status == "sent" {
            thread = p.channel_id.clone().zip(p.message_ts.clone());
        }
        match p.status.as_str() {
            "sent" => continue,
            "failed" => {
                if p.seq == 0 || thread.is_some() {
                    failed.push(failure(&p, p.last_error.as_deref().unwrap_or("refused")));
                }
                continue;
            }
            _ => {}
        }
        if p.seq > 0 && thread.is_none() {
            // The summary never went out to this recipient: its thread
            // can't either (the summary's failure says why).
            bot.store
                .digest_post_error(p.id, true, "the summary was not posted")
                .await?;
            continue;
        }
        if !bot
            .store
            .renew_digest_lease(run.id, &bot.worker_id, bot.now_ms() + lease_ms(bot))
            .await?
        {
            anyhow::bail!("another worker took over digest run {}", run.id);
        }
        match post(bot, &p, thread.as_ref()).await {
            Ok(Sent { channel, ts }) => {
                out.posted += 1;
                if p.seq == 0 {
                    thread = ts.clone().map(|t| (channel.clone(), t));
                }
            }
            Err(PostError::Refused(code)) => {
                warn!(digest = %run.digest, recipient = %p.recipient, seq = p.seq, error = %code, "Slack refused a digest post");
                let give_up = p.attempts + 1 >= MAX_POST_ATTEMPTS || !retryable(&code);
                bot.store.digest_post_error(p.id, give_up, &code).await?;
                if give_up {
                    failed.push(failure(&p, &code));
                } else {
                    anyhow::bail!("Slack refused a digest post: {code}");
                }
            }
            Err(PostError::Transient(e)) => return Err(e),
        }
    }
    let status = if failed.is_empty() { "done" } else { "failed" };
    let error = (!failed.is_empty()).then(|| format!("not posted: {}", failed.join("; ")));
    bot.store
        .finish_digest_run(run.id, status, None, error.as_deref(), bot.now_ms())
        .await?;
    info!(digest = %run.digest, period = %run.period, status, "digest run finished");
    Ok(())
}

/// "C0MARKETNG summary (and its thread): channel_not_found".
fn failure(p: &DigestPostRow, code: &str) -> String {
    let what = match p.kind.as_str() {
        "summary" => "summary (and its thread)".to_string(),
        "chart" => "chart".to_string(),
        _ => format!("reply {}", p.seq),
    };
    format!("{} {what}: {code}", p.recipient)
}

/// Slack errors worth another try later (rather than failing the post).
fn retryable(code: &str) -> bool {
    matches!(
        code,
        "ratelimited"
            | "internal_error"
            | "fatal_error"
            | "service_unavailable"
            | "request_timeout"
    )
}

/// Builds the period's digest, with reps' names looked up through
/// `users.info` (cached in `people`) where the cache has none.
pub async fn build(bot: &Bot, def: &DigestDef, period: Period) -> Result<Digest> {
    let cfg = bot.config();
    let mut agg = digest::aggregates(&bot.store, &cfg, def, period).await?;
    if def.attribution == crate::config::Attribution::Named {
        let missing = digest::missing_names(&agg);
        if !missing.is_empty() {
            match super::people::directory(bot, &missing).await {
                Ok(dir) => {
                    for (id, p) in dir {
                        if !p.name.trim().is_empty() {
                            agg.names.insert(id, p.name);
                        }
                    }
                }
                Err(e) => warn!(error = %format!("{e:#}"), "looking up reps' names for the digest"),
            }
        }
    }
    Ok(digest::build(def, &cfg.tags, &agg))
}

/// Every post of a digest: per recipient the summary (seq 0), the thread
/// replies (1..) and the chart.
pub fn plan_posts(def: &DigestDef, d: &Digest) -> Vec<NewDigestPost> {
    let messages = digest::render::blocks::messages(d);
    let chart = if def.chart {
        digest::chart::png(d).map(|png| {
            json!({
                "title": format!("{}: {}", d.title, d.period.label),
                "filename": format!("{}-{}.png", d.name, d.period.key),
                "alt": digest::chart::alt_text(d),
                "png": base64::engine::general_purpose::STANDARD.encode(png),
            })
            .to_string()
        })
    } else {
        None
    };
    let mut posts = Vec::new();
    for r in def.recipients() {
        for (i, m) in messages.iter().enumerate() {
            posts.push(NewDigestPost {
                recipient: r.to_string(),
                seq: i as i64,
                kind: if i == 0 { "summary" } else { "reply" }.into(),
                payload: json!({"text": m.text, "blocks": m.blocks}).to_string(),
            });
        }
        if let Some(c) = &chart {
            posts.push(NewDigestPost {
                recipient: r.to_string(),
                seq: CHART_SEQ,
                kind: "chart".into(),
                payload: c.clone(),
            });
        }
    }
    posts
}

struct Sent {
    channel: String,
    ts: Option<String>,
}

pub(crate) enum PostError {
    /// Slack said no (an error code): counted against the post.
    Refused(String),
    /// Slack may or may not have acted, or couldn't be reached: the run is
    /// retried later and the post checked before it is sent again.
    Transient(anyhow::Error),
}

impl From<SlackCallError> for PostError {
    fn from(e: SlackCallError) -> Self {
        match e {
            SlackCallError::Api(code) => PostError::Refused(code),
            other => PostError::Transient(anyhow::Error::new(other)),
        }
    }
}

fn transient(e: anyhow::Error) -> PostError {
    PostError::Transient(e)
}

/// The channel a recipient's posts go to: a channel id as it is, a
/// person's DM (opened and cached) for a user id.
pub(crate) async fn channel_for(bot: &Bot, recipient: &str) -> Result<String, PostError> {
    if !(recipient.starts_with('U') || recipient.starts_with('W')) {
        return Ok(recipient.to_string());
    }
    if let Some(c) = bot
        .store
        .people(&[recipient.to_string()])
        .await
        .map_err(transient)?
        .get(recipient)
        .and_then(|p| p.dm_channel.clone())
    {
        return Ok(c);
    }
    let c = bot.slack.open_dm(recipient).await?;
    bot.store
        .set_dm_channel(recipient, &c)
        .await
        .map_err(transient)?;
    Ok(c)
}

fn mark(p: &DigestPostRow) -> MessageMark {
    MessageMark {
        kind: "digest".into(),
        prompt_id: p.id,
        seq: p.seq,
    }
}

async fn post(
    bot: &Bot,
    p: &DigestPostRow,
    thread: Option<&(String, String)>,
) -> Result<Sent, PostError> {
    let channel = match thread {
        Some((c, _)) => c.clone(),
        None => channel_for(bot, &p.recipient).await?,
    };
    let thread_ts = thread.map(|(_, t)| t.as_str());
    // An earlier attempt may have gone out: look before posting again.
    if p.uncertain != 0 {
        let found = match (p.kind.as_str(), thread_ts) {
            ("chart", Some(t)) => match p.file_id.as_deref() {
                Some(f) => {
                    bot.slack
                        .find_in_thread(&channel, t, None, Some(f), 5)
                        .await?
                }
                None => None,
            },
            (_, Some(t)) => {
                bot.slack
                    .find_in_thread(&channel, t, Some(&mark(p)), None, 5)
                    .await?
            }
            (_, None) => bot.slack.find_marked(&channel, &mark(p), 3).await?,
        };
        if let Some(ts) = found {
            info!(
                post = p.id,
                "a digest post from an earlier attempt was found in Slack"
            );
            let ts = (p.kind != "chart").then_some(ts);
            bot.store
                .digest_post_sent(p.id, &channel, ts.as_deref(), None, bot.now_ms())
                .await
                .map_err(transient)?;
            return Ok(Sent { channel, ts });
        }
    }
    let payload: Value = serde_json::from_str(&p.payload)
        .map_err(|e| PostError::Refused(format!("bad stored payload: {e}")))?;
    if p.kind == "chart" {
        return post_chart(bot, p, &channel, thread_ts, &payload).await;
    }
    let text = payload["text"].as_str().unwrap_or_default().to_string();
    let blocks: Vec<SlackBlock> = serde_json::from_value(payload["blocks"].clone())
        .map_err(|e| PostError::Refused(format!("bad stored blocks: {e}")))?;
    bot.space_channel(&channel).await;
    bot.store
        .digest_post_in_flight(p.id, &channel, None)
        .await
        .map_err(transient)?;
    let posted = bot
        .slack
        .post_message_marked(&channel, thread_ts, &text, blocks, &mark(p))
        .await?;
    bot.store
        .digest_post_sent(p.id, &posted.channel, Some(&posted.ts), None, bot.now_ms())
        .await
        .map_err(transient)?;
    Ok(Sent {
        channel: posted.channel,
        ts: Some(posted.ts),
    })
}

async fn post_chart(
    bot: &Bot,
    p: &DigestPostRow,
    channel: &str,
    thread_ts: Option<&str>,
    payload: &Value,
) -> Result<Sent, PostError> {
    let png = base64::engine::general_purpose::STANDARD
        .decode(payload["png"].as_str().unwrap_or_default())
        .map_err(|e| PostError::Refused(format!("bad stored chart: {e}")))?;
    let filename = payload["filename"].as_str().unwrap_or("digest.png");
    let title = payload["title"].as_str().unwrap_or("Digest chart");
    let alt = payload["alt"].as_str().unwrap_or("Digest chart");
    let (url, file_id) = bot.slack.upload_url(filename, png.len(), alt).await?;
    bot.slack.upload_bytes(&url, png, "image/png").await?;
    bot.store
        .digest_post_in_flight(p.id, channel, Some(&file_id))
        .await
        .map_err(transient)?;
    bot.slack
        .complete_upload(&file_id, title, channel, thread_ts)
        .await?;
    bot.store
        .digest_post_sent(p.id, channel, None, Some(&file_id), bot.now_ms())
        .await
        .map_err(transient)?;
    Ok(Sent {
        channel: channel.to_string(),
        ts: None,
    })
}
