//! The planner: due occurrences become runs (one per check-in occurrence,
//! unique), and runs become one row per person (unique): queued at that
//! person's send time, or skipped with the reason (paused, day off, missed
//! while the bot was down).

use crate::config::questions::rotate;
use crate::config::{CheckIn, Config, Zone};
use crate::domain::PendingRun;
use crate::plan::{occurrence_key, PlanContext};
use crate::slack::Bot;
use crate::store::PlannedPrompt;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use tracing::{info, warn};

use crate::slack::people::resolve_audience;

/// What one planner step did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PlanOutcome {
    pub runs_created: usize,
    pub runs_planned: usize,
    pub prompts_queued: u64,
}

/// How far back a new `local_time` check-in looks, so people in zones
/// behind UTC+14 still get today's occurrence.
const LOCAL_LOOK_BACK_MS: i64 = 27 * 3600 * 1000;
/// At most this many missed occurrences per check-in are considered after
/// downtime (the latest ones).
const MAX_BACKFILL: usize = 50;

/// Creates runs for occurrences that fell due since the last step, then fans
/// out every pending run (scheduled or queued by `checkin run` / `ask`).
pub async fn run_once(state: &Bot) -> Result<PlanOutcome> {
    let cfg = state.config();
    let now = state.clock.now();
    let now_ms = now.timestamp_millis();
    let mut out = PlanOutcome::default();
    for c in &cfg.checkins {
        if c.paused_at(now) {
            // A paused check-in's occurrences are skipped, not saved up for
            // a burst when it is resumed.
            state
                .store
                .advance_scheduler_cursor(&c.name, now_ms)
                .await?;
            continue;
        }
        let cursor = match state.store.scheduler_cursor(&c.name).await? {
            Some(c) => c,
            None => {
                let look_back = match c.zone {
                    Zone::Local => LOCAL_LOOK_BACK_MS,
                    Zone::Fixed(_) => 0,
                };
                state
                    .store
                    .start_scheduler_cursor(&c.name, now_ms, look_back)
                    .await?;
                state
                    .store
                    .scheduler_cursor(&c.name)
                    .await?
                    .context("scheduler cursor vanished")?
            }
        };
        let from = DateTime::from_timestamp_millis(cursor.0).context("cursor out of range")?;
        let mut due: VecDeque<_> = VecDeque::new();
        for o in c
            .cadence
            .occurrences_after(c.planning_zone(), from)
            .take_while(|o| o.at <= now)
        {
            if due.len() == MAX_BACKFILL {
                due.pop_front();
            }
            due.push_back(o);
        }
        for o in due {
            let key = occurrence_key(o.local);
            if state
                .store
                .create_run(
                    &c.name,
                    &key,
                    "schedule",
                    None,
                    o.at.timestamp_millis(),
                    now_ms,
                    |seq| {
                        let day = o.at.with_timezone(&cfg.timezone).date_naive();
                        rotate(&cfg.checkin_questions(c, day), c.ask, seq)
                    },
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
    // Runs are claimed for one `bot.lease`, and kept for as long as this
    // step plans them (`keep_runs_leased`): a worker killed mid-plan hands
    // its runs over within one lease. (A fixed 120 s lease, never renewed,
    // held a run that long after a crash, and could run out under a live
    // planner resolving a large audience.)
    let lease_ms = cfg.bot.lease.as_millis() as i64;
    let runs = state
        .store
        .claim_pending_runs(&state.worker_id, now_ms, lease_ms)
        .await?;
    if runs.is_empty() {
        return Ok(out);
    }
    keep_runs_leased(state, plan_runs(state, &cfg, runs, now, &mut out)).await?;
    Ok(out)
}

/// Runs `work`, renewing the leases of this worker's runs in planning every
/// third of a lease until it ends. (A run whose planning failed is then
/// left to expire, and is retried after one lease.)
async fn keep_runs_leased<T>(state: &Bot, work: impl std::future::Future<Output = T>) -> T {
    let lease = state.config().bot.lease;
    let mut work = std::pin::pin!(work);
    let mut renew = tokio::time::interval(lease / 3);
    renew.tick().await;
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = renew.tick() => {
                let until = state.now_ms() + lease.as_millis() as i64;
                if let Err(e) = state.store.extend_run_leases(&state.worker_id, until).await {
                    warn!(error = %format!("{e:#}"), "extending run leases failed");
                }
            }
        }
    }
}

/// Fans out each claimed run; one failing run doesn't stop the others.
async fn plan_runs(
    state: &Bot,
    cfg: &Config,
    runs: Vec<PendingRun>,
    now: DateTime<Utc>,
    out: &mut PlanOutcome,
) -> Result<()> {
    for run in runs {
        let Some(c) = cfg.checkin(&run.checkin) else {
            warn!(checkin = %run.checkin, "run for a check-in no longer in the config: cancelled");
            state.store.cancel_run(run.id).await?;
            continue;
        };
        // One failing audience (say, a channel the bot can't read) must not
        // hold up the others; its lease expires and it is retried.
        match fan_out(state, cfg, c, &run, now).await {
            Ok(n) => {
                out.prompts_queued += n;
                out.runs_planned += 1;
            }
            Err(e) => {
                warn!(checkin = %c.name, occurrence = %run.occurrence, error = %format!("{e:#}"), "fanning out a run failed; will retry")
            }
        }
    }
    Ok(())
}

async fn fan_out(
    state: &Bot,
    cfg: &Config,
    c: &CheckIn,
    run: &PendingRun,
    now: DateTime<Utc>,
) -> Result<u64> {
    let started = std::time::Instant::now();
    let people = resolve_audience(state, c).await?;
    let resolved_ms = started.elapsed().as_millis() as u64;
    let pauses = state.store.pauses(now.timestamp_millis()).await?;
    let first_seen = state
        .store
        .scheduler_cursor(&c.name)
        .await?
        .map(|c| c.1)
        .unwrap_or(0);
    let ctx = PlanContext {
        cfg,
        checkin: c,
        run,
        now,
        pauses: &pauses,
        first_seen_ms: first_seen,
    };
    let plans: Vec<PlannedPrompt> = people.iter().filter_map(|p| ctx.plan(p)).collect();
    // The profiles aren't needed while the plans are written (seconds, for
    // 10,000 people, in short transactions).
    let audience = people.len();
    drop(people);
    let question = run.question.clone().unwrap_or_else(|| c.prompt.clone());
    let added = state
        .store
        .enqueue_prompts(run, &plans, &question, now.timestamp_millis())
        .await?;
    let skipped = plans.iter().filter(|p| p.skip.is_some()).count();
    let total_ms = started.elapsed().as_millis() as u64;
    info!(checkin = %c.name, occurrence = %run.occurrence, audience, queued = added, skipped, resolved_ms, total_ms, "run planned");
    Ok(added)
}
