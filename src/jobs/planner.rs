//! The planner: due occurrences become runs (one per check-in occurrence,
//! unique), and runs become queued prompts (one per person, unique).

use crate::app::AppState;
use crate::config::CheckIn;
use crate::domain::PendingRun;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use tracing::{info, warn};

/// What one planner step did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PlanOutcome {
    pub runs_created: usize,
    pub runs_planned: usize,
    pub prompts_queued: u64,
}

/// Lease on a run while its audience is resolved.
const RUN_LEASE_MS: i64 = 60_000;

/// Creates runs for occurrences that fell due since the last step, then fans
/// out every pending run (scheduled or queued by `checkin run`).
pub async fn run_once(state: &AppState) -> Result<PlanOutcome> {
    let cfg = state.config();
    let now = state.clock.now();
    let now_ms = now.timestamp_millis();
    let mut out = PlanOutcome::default();
    for c in &cfg.checkins {
        if c.paused {
            // A paused check-in's missed occurrences are skipped, not
            // saved up for a burst when it is resumed.
            state
                .store
                .advance_scheduler_cursor(&c.name, now_ms)
                .await?;
            continue;
        }
        let Some(from_ms) = state.store.scheduler_cursor(&c.name).await? else {
            // First sight of this check-in: start from now, never backfill.
            state
                .store
                .advance_scheduler_cursor(&c.name, now_ms)
                .await?;
            continue;
        };
        let from =
            chrono::DateTime::from_timestamp_millis(from_ms).context("cursor out of range")?;
        for o in c.cadence.occurrences_between(c.timezone, from, now) {
            let key = o.local.format("%Y-%m-%dT%H:%M").to_string();
            if state
                .store
                .create_run(
                    &c.name,
                    &key,
                    "schedule",
                    None,
                    o.at.timestamp_millis(),
                    now_ms,
                )
                .await?
                .is_some()
            {
                info!(checkin = %c.name, occurrence = %key, "check-in due");
                out.runs_created += 1;
            }
        }
        state
            .store
            .advance_scheduler_cursor(&c.name, now_ms)
            .await?;
    }
    for run in state
        .store
        .claim_pending_runs(&state.worker_id, now_ms, RUN_LEASE_MS)
        .await?
    {
        let Some(c) = cfg.checkin(&run.checkin) else {
            warn!(checkin = %run.checkin, "run for a check-in no longer in the config: cancelled");
            state.store.cancel_run(run.id).await?;
            continue;
        };
        // One failing audience (say, a channel the bot can't read) must not
        // hold up the others; its lease expires and it is retried.
        match fan_out(state, c, &run, now_ms).await {
            Ok(n) => {
                out.prompts_queued += n;
                out.runs_planned += 1;
            }
            Err(e) => {
                warn!(checkin = %c.name, occurrence = %run.occurrence, error = %format!("{e:#}"), "fanning out a run failed; will retry")
            }
        }
    }
    Ok(out)
}

/// Queues a one-off run of a check-in for its whole audience (what
/// `fieldnotes checkin run NAME` does); a running bot's planner picks it up
/// on its next tick. Returns the run's occurrence key.
pub async fn queue_checkin(
    store: &crate::store::Store,
    cfg: &crate::config::Config,
    name: &str,
    question: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let c = cfg.checkin(name).with_context(|| {
        let names: Vec<&str> = cfg.checkins.iter().map(|c| c.name.as_str()).collect();
        format!(
            "no check-in named `{name}` in {} (there is: {})",
            cfg.path.display(),
            names.join(", ")
        )
    })?;
    let key = format!("manual-{}", now.format("%Y%m%dT%H%M%S%.3f"));
    let ms = now.timestamp_millis();
    store
        .create_run(&c.name, &key, "manual", question, ms, ms)
        .await?;
    Ok(key)
}

async fn fan_out(state: &AppState, c: &CheckIn, run: &PendingRun, now_ms: i64) -> Result<u64> {
    let people = resolve_audience(state, c).await?;
    let question = run.question.clone().unwrap_or_else(|| c.prompt.clone());
    let added = state
        .store
        .enqueue_prompts(run, &people, &question, now_ms, now_ms)
        .await?;
    info!(checkin = %c.name, occurrence = %run.occurrence, audience = people.len(), queued = added, "run planned");
    Ok(added)
}

/// Users, channel members and user-group members, minus exclusions, bots
/// and deactivated accounts. Looked up fresh each run, so joiners and
/// leavers are picked up without a restart.
pub async fn resolve_audience(state: &AppState, c: &CheckIn) -> Result<Vec<String>> {
    let a = &c.audience;
    let mut ids: BTreeSet<String> = a.users.iter().cloned().collect();
    for ch in &a.channels {
        ids.extend(
            state
                .slack
                .channel_members(ch)
                .await
                .with_context(|| format!("listing members of {ch}"))?,
        );
    }
    for g in &a.usergroups {
        ids.extend(
            state
                .slack
                .usergroup_members(g)
                .await
                .with_context(|| format!("listing user group {g}"))?,
        );
    }
    for x in &a.exclude {
        ids.remove(x);
    }
    let mut people = Vec::with_capacity(ids.len());
    for id in ids {
        if id == state.bot_user_id {
            continue;
        }
        let info = state
            .person(&id)
            .await
            .with_context(|| format!("looking up {id}"))?;
        if info.is_bot || info.deleted {
            continue;
        }
        people.push(id);
    }
    Ok(people)
}
