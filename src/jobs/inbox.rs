//! The inbox worker: claims committed Slack events with a lease (as prompts
//! are claimed), hands each to the event handlers, and records the outcome.
//! A failure is retried with backoff; after `[bot] max_event_attempts` the row is
//! parked, listed by `fieldnotes status`, and the rep is told and gets
//! their text back. Work is bounded: at most `BATCH` rows claimed and
//! `IN_FLIGHT` handled at once per worker.

use super::backoff;
use crate::slack::router;
use crate::slack::Bot;
use anyhow::Result;
use futures::StreamExt;
use slack_morphism::prelude::SlackPushEventCallback;
use std::sync::Arc;
use tracing::{info, warn, Instrument};

/// Most rows claimed per step.
const BATCH: i64 = 64;
/// Events handled at once per worker.
const IN_FLIGHT: usize = 8;

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InboxOutcome {
    pub claimed: usize,
    pub done: usize,
    pub retried: usize,
    pub parked: usize,
}

enum Handled {
    Done(i64),
    Retry,
    Parked,
}

/// Claims and handles one batch.
pub async fn run_once(state: &Arc<Bot>) -> Result<InboxOutcome> {
    let cfg = state.config();
    let lease = cfg.bot.lease.as_millis() as i64;
    let max_attempts = i64::from(cfg.bot.max_event_attempts);
    let rows = state
        .store
        .claim_inbox(&state.worker_id, state.now_ms(), lease, BATCH)
        .await?;
    let mut out = InboxOutcome {
        claimed: rows.len(),
        ..Default::default()
    };
    if rows.is_empty() {
        return Ok(out);
    }
    let results: Vec<Handled> = futures::stream::iter(rows)
        .map(|row| {
            let state = state.clone();
            // Handled under its event id, the request id its Socket Mode
            // delivery had.
            let span = tracing::info_span!("slack_event", request_id = %row.event_id);
            async move {
                let ev = serde_json::from_str::<SlackPushEventCallback>(&row.payload);
                let r = match &ev {
                    Ok(ev) => router::on_push_event(&state, ev.clone(), row.received_at).await,
                    Err(e) => Err(anyhow::anyhow!("unreadable payload: {e}")),
                };
                match r {
                    Ok(()) => Handled::Done(row.id),
                    Err(e) => {
                        let msg = format!("{e:#}");
                        let last = row.attempts >= max_attempts || ev.is_err();
                        let retry_at =
                            (!last).then(|| state.now_ms() + backoff(row.attempts).as_millis() as i64);
                        warn!(event_id = %row.event_id, attempt = row.attempts, parked = last, error = %msg, "handling an event failed");
                        if let Err(e) = state
                            .store
                            .inbox_failed(row.id, &state.worker_id, &msg, retry_at)
                            .await
                        {
                            warn!(error = %format!("{e:#}"), "recording an event failure failed; its lease will run out and it is retried");
                        }
                        if last {
                            if let Ok(ev) = ev {
                                router::on_event_parked(&state, &ev).await;
                            }
                            Handled::Parked
                        } else {
                            Handled::Retry
                        }
                    }
                }
            }
            .instrument(span)
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let mut done = Vec::new();
    for r in results {
        match r {
            Handled::Done(id) => done.push(id),
            Handled::Retry => out.retried += 1,
            Handled::Parked => out.parked += 1,
        }
    }
    out.done = done.len();
    state
        .store
        .inbox_done(&done, &state.worker_id, state.now_ms())
        .await?;
    if out.parked > 0 {
        info!(
            parked = out.parked,
            "events parked after {max_attempts} attempts; see `fieldnotes status`"
        );
    }
    Ok(out)
}
