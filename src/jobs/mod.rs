//! Background work as rows: the planner turns due occurrences into runs and
//! runs into queued prompts; the dispatcher claims prompts and reminders with
//! a lease and sends them, and closes answer windows. Each exposes
//! `run_once`-style steps so tests and the demo can drive them.

pub mod dispatcher;
pub mod inbox;
pub mod planner;

use crate::app::AppState;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// Runs the planner (every `tick`), the sender (continuously, paced) and
/// the window closer (every `tick`) until `stop` flips. A failing step is
/// logged and retried on the next tick.
pub async fn run_loop(state: Arc<AppState>, stop: watch::Receiver<bool>) {
    let dispatcher = Arc::new(dispatcher::Dispatcher::new(&state));
    let planner = {
        let state = state.clone();
        let dispatcher = dispatcher.clone();
        let mut stop = stop.clone();
        async move {
            let mut last_purge: Option<i64> = None;
            loop {
                if let Err(e) = dispatcher.heartbeat(&state).await {
                    warn!(error = %format!("{e:#}"), "heartbeat failed");
                }
                if let Err(e) = planner::run_once(&state).await {
                    warn!(error = %format!("{e:#}"), "planner step failed");
                }
                if let Err(e) = dispatcher.close_windows(&state).await {
                    warn!(error = %format!("{e:#}"), "closing answer windows failed");
                }
                if last_purge.is_none_or(|t: i64| state.now_ms() - t >= PURGE_EVERY_MS) {
                    match purge(&state).await {
                        Ok(_) => last_purge = Some(state.now_ms()),
                        Err(e) => warn!(error = %format!("{e:#}"), "retention purge failed"),
                    }
                }
                if sleep_or_stop(&state, &mut stop).await {
                    return;
                }
            }
        }
    };
    let sender = {
        let state = state.clone();
        let dispatcher = dispatcher.clone();
        let mut stop = stop.clone();
        async move {
            loop {
                if *stop.borrow() {
                    return;
                }
                match dispatcher.run_once(&state).await {
                    Ok(o) if o.claimed > 0 => continue,
                    Ok(_) => {}
                    Err(e) => warn!(error = %format!("{e:#}"), "dispatcher step failed"),
                }
                if sleep_or_stop(&state, &mut stop).await {
                    return;
                }
            }
        }
    };
    let keepalive = {
        let state = state.clone();
        let dispatcher = dispatcher.clone();
        let mut stop = stop.clone();
        async move {
            loop {
                let every = state.config().bot.lease / 3;
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    return;
                }
                if let Err(e) = dispatcher.keep_leases(&state).await {
                    warn!(error = %format!("{e:#}"), "extending leases failed");
                }
            }
        }
    };
    let events = {
        let state = state.clone();
        let mut stop = stop.clone();
        async move {
            loop {
                if *stop.borrow() {
                    return;
                }
                // Registered before the claim, so a commit in between still wakes us.
                let woken = state.inbox.committed.notified();
                match inbox::run_once(&state).await {
                    Ok(o) if o.claimed > 0 => continue,
                    Ok(_) => {}
                    Err(e) => warn!(error = %format!("{e:#}"), "inbox step failed"),
                }
                let tick = state.config().bot.tick;
                tokio::select! {
                    _ = woken => {}
                    _ = tokio::time::sleep(tick) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    };
    tokio::join!(planner, sender, keepalive, events);
}

/// How often retention runs.
const PURGE_EVERY_MS: i64 = 3_600_000;

/// Retention: purges notes deleted longer ago than `retention.deleted_notes`
/// and Slack event ids older than `retention.slack_events`. Returns (notes,
/// events) removed.
pub async fn purge(state: &AppState) -> anyhow::Result<(u64, u64)> {
    let r = state.config().retention;
    let now = state.now_ms();
    let (notes, events) = state
        .store
        .purge(
            now - r.deleted_notes.as_millis() as i64,
            now - r.slack_events.as_millis() as i64,
        )
        .await?;
    if notes + events > 0 {
        info!(
            notes,
            events, "retention purged deleted notes and old event ids"
        );
    }
    Ok((notes, events))
}

/// Sleeps one tick; true when asked to stop.
async fn sleep_or_stop(state: &AppState, stop: &mut watch::Receiver<bool>) -> bool {
    let tick = state.config().bot.tick;
    tokio::select! {
        _ = tokio::time::sleep(tick) => {}
        _ = stop.changed() => {}
    }
    *stop.borrow()
}

/// Exponential backoff for transient failures: 2 s, 4 s, … capped at 5 min.
pub fn backoff(attempt: i64) -> Duration {
    Duration::from_secs((1u64 << attempt.clamp(1, 9) as u32).min(300))
}
