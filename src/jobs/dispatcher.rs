//! The dispatcher: claims due prompts with a lease and DMs them, paced to
//! stay inside Slack's limits, retrying what Slack asks us to retry.

use super::{backoff, pacer::Pacer};
use crate::app::AppState;
use crate::domain::PromptJob;
use crate::slack::{views, SlackCallError};
use anyhow::Result;
use futures::StreamExt;
use std::sync::Arc;
use tracing::{info, warn};

/// What one dispatcher step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchOutcome {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

const LEASE_MS: i64 = 120_000;
const BATCH: i64 = 50;
const IN_FLIGHT: usize = 8;

pub struct Dispatcher {
    pacer: Arc<Pacer>,
}

enum Sent {
    Ok,
    Retry,
    Failed,
}

impl Dispatcher {
    pub fn new(state: &AppState) -> Self {
        let per_min = state.config().bot.workspace_messages_per_minute;
        Self {
            pacer: Arc::new(Pacer::new(per_min, (per_min / 6).max(1))),
        }
    }

    /// Claims one batch and sends it.
    pub async fn run_once(&self, state: &Arc<AppState>) -> Result<DispatchOutcome> {
        let now_ms = state.now_ms();
        let jobs = state
            .store
            .claim_prompts(&state.worker_id, now_ms, LEASE_MS, BATCH)
            .await?;
        let mut out = DispatchOutcome {
            claimed: jobs.len(),
            ..Default::default()
        };
        let results: Vec<Sent> = futures::stream::iter(jobs)
            .map(|job| {
                let state = state.clone();
                let pacer = self.pacer.clone();
                async move { send_one(&state, &pacer, job).await }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for r in results {
            match r {
                Sent::Ok => out.sent += 1,
                Sent::Retry => out.retried += 1,
                Sent::Failed => out.failed += 1,
            }
        }
        Ok(out)
    }
}

#[tracing::instrument(skip_all, fields(prompt = job.id, user = %job.user_id, checkin = %job.checkin))]
async fn send_one(state: &AppState, pacer: &Pacer, job: PromptJob) -> Sent {
    pacer.acquire().await;
    let cfg = state.config();
    let (text, blocks) = views::prompt_message(&job.question, job.id, &cfg.bot.name);
    // Posting to the user id lands in the bot's DM with them, so no
    // conversations.open round trip (Tier 3) is needed per person.
    let result = state.slack.post_message(&job.user_id, &text, blocks).await;
    let now_ms = state.now_ms();
    let store = &state.store;
    let outcome = match result {
        Ok(posted) => match store
            .mark_prompt_sent(
                job.id,
                &state.worker_id,
                &posted.channel,
                &posted.ts,
                now_ms,
            )
            .await
        {
            Ok(true) => {
                info!("prompt sent");
                return Sent::Ok;
            }
            Ok(false) => {
                warn!("lease lost before the prompt was marked sent");
                return Sent::Retry;
            }
            Err(e) => {
                warn!(error = %format!("{e:#}"), "prompt sent but not recorded");
                return Sent::Retry;
            }
        },
        Err(e) => e,
    };
    let last = job.attempts >= cfg.bot.max_send_attempts as i64;
    let retry_at = match &outcome {
        SlackCallError::RateLimited(d) => Some(now_ms + d.as_millis() as i64),
        SlackCallError::Transient(_) if !last => {
            Some(now_ms + backoff(job.attempts).as_millis() as i64)
        }
        _ => None,
    };
    warn!(error = %outcome, attempt = job.attempts, retry = retry_at.is_some(), "prompt not delivered");
    if let Err(e) = store
        .mark_prompt_error(job.id, &state.worker_id, &outcome.to_string(), retry_at)
        .await
    {
        warn!(error = %format!("{e:#}"), "recording the delivery error failed");
    }
    if retry_at.is_some() {
        Sent::Retry
    } else {
        Sent::Failed
    }
}
