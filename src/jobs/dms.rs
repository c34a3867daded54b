//! The loop's DMs (`direct_messages`: relays to reps, notices to
//! marketers): claimed with a lease and sent once, like the prompts. A row
//! is marked in flight before its Slack call; one left uncertain by a
//! worker that died mid-call is first looked for in the DM (by the
//! metadata mark every such message carries) before it is sent again.
//! Paced by the client's shared chat.postMessage bucket and the bot's
//! per-channel spacing, so the loop never adds to a 429.

use crate::slack::digest::{channel_for, PostError};
use crate::slack::{Bot, MessageMark};
use crate::store::DmRow;
use anyhow::Result;
use serde_json::Value;
use slack_morphism::prelude::SlackBlock;
use tracing::{info, warn};

/// DMs claimed at once.
const BATCH: i64 = 20;
/// Attempts before a DM is given up on.
const MAX_ATTEMPTS: i64 = 8;

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DmOutcome {
    pub claimed: usize,
    pub sent: usize,
    pub recovered: usize,
    pub retried: usize,
    pub failed: usize,
}

fn mark(row: &DmRow) -> MessageMark {
    MessageMark {
        kind: "dm".into(),
        prompt_id: row.id,
        seq: 0,
    }
}

/// Claims due DMs and sends them, in order.
pub async fn run_once(bot: &Bot) -> Result<DmOutcome> {
    let lease = i64::try_from(bot.config().bot.lease.as_millis()).unwrap_or(i64::MAX);
    let rows = bot
        .store
        .claim_dms(&bot.worker_id, bot.now_ms(), lease, BATCH)
        .await?;
    let mut out = DmOutcome {
        claimed: rows.len(),
        ..Default::default()
    };
    for row in rows {
        match send(bot, &row).await {
            Ok(true) => out.sent += 1,
            Ok(false) => out.recovered += 1,
            Err(PostError::Refused(code)) => {
                let failed = row.attempts + 1 >= MAX_ATTEMPTS || !retryable(&code);
                warn!(dm = row.id, code, failed, "a loop DM was refused");
                let retry = bot.now_ms() + backoff_ms(row.attempts);
                bot.store
                    .dm_error(row.id, failed, false, retry, &code)
                    .await?;
                if failed {
                    out.failed += 1;
                } else {
                    out.retried += 1;
                }
            }
            Err(PostError::Transient(e)) => {
                warn!(dm = row.id, error = %format!("{e:#}"), "a loop DM will be retried");
                let retry = bot.now_ms() + backoff_ms(row.attempts);
                // It may have reached Slack: look before sending again.
                bot.store
                    .dm_error(row.id, false, true, retry, &format!("{e:#}"))
                    .await?;
                out.retried += 1;
            }
        }
    }
    Ok(out)
}

/// Errors that may pass (the rest, like `user_not_found`, never will).
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

fn backoff_ms(attempts: i64) -> i64 {
    i64::try_from(super::backoff(attempts + 1).as_millis()).unwrap_or(i64::MAX)
}

/// Sends one DM: true when sent now, false when an earlier attempt was
/// found in Slack.
async fn send(bot: &Bot, row: &DmRow) -> Result<bool, PostError> {
    let channel = match &row.channel_id {
        Some(c) => c.clone(),
        None => channel_for(bot, &row.user_id).await?,
    };
    if row.uncertain != 0 {
        if let Some(ts) = bot.slack.find_marked(&channel, &mark(row), 2).await? {
            info!(
                dm = row.id,
                "a loop DM from an earlier attempt was found in Slack"
            );
            bot.store
                .dm_sent(row.id, &channel, &ts, bot.now_ms())
                .await
                .map_err(PostError::Transient)?;
            return Ok(false);
        }
    }
    let payload: Value = serde_json::from_str(&row.payload)
        .map_err(|e| PostError::Refused(format!("bad stored payload: {e}")))?;
    let text = payload["text"].as_str().unwrap_or_default().to_string();
    let blocks: Vec<SlackBlock> = serde_json::from_value(payload["blocks"].clone())
        .map_err(|e| PostError::Refused(format!("bad stored blocks: {e}")))?;
    bot.space_channel(&channel).await;
    if !bot
        .store
        .dm_in_flight(row.id, &bot.worker_id, &channel)
        .await
        .map_err(PostError::Transient)?
    {
        // Another worker took it over (our lease ran out): theirs now.
        return Ok(false);
    }
    let posted = bot
        .slack
        .post_message_marked(&channel, None, &text, blocks, &mark(row))
        .await?;
    bot.store
        .dm_sent(row.id, &posted.channel, &posted.ts, bot.now_ms())
        .await
        .map_err(PostError::Transient)?;
    Ok(true)
}
