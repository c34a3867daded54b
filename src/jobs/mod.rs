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

/// Retention: purges notes deleted longer ago than `retention.deleted_notes`,
/// notes shared longer ago than `retention.notes` (when set), and Slack
/// event ids older than `retention.slack_events`. A pass that removed
/// notes is audited as actor `system`.
pub async fn purge(state: &AppState) -> anyhow::Result<crate::store::Purged> {
    let r = state.config().retention;
    let now = state.now_ms();
    let p = retention_purge(&state.store, r, now).await?;
    if p.deleted_notes + p.old_notes + p.events > 0 {
        info!(
            deleted_notes = p.deleted_notes,
            old_notes = p.old_notes,
            events = p.events,
            "retention purged notes and old event ids"
        );
    }
    if p.deleted_notes + p.old_notes > 0 {
        audit_retention(&state.store, &crate::audit::Actor::System, r, p, now).await;
    }
    Ok(p)
}

/// One retention pass at `now_ms`: the hourly job and `fieldnotes purge`.
pub async fn retention_purge(
    store: &crate::store::Store,
    r: crate::config::Retention,
    now_ms: i64,
) -> anyhow::Result<crate::store::Purged> {
    let before =
        |d: Duration| now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    store
        .purge(
            before(r.deleted_notes),
            r.notes.map(before),
            before(r.slack_events),
        )
        .await
}

/// Records a retention pass in the audit log.
pub async fn audit_retention(
    store: &crate::store::Store,
    actor: &crate::audit::Actor,
    r: crate::config::Retention,
    p: crate::store::Purged,
    now_ms: i64,
) {
    let keep = crate::config::human_duration;
    crate::audit::record(
        store,
        now_ms,
        actor,
        "retention",
        serde_json::json!({
            "notes": r.notes.map(keep),
            "deleted_notes": keep(r.deleted_notes),
            "slack_events": keep(r.slack_events),
        }),
        &format!(
            "ok: {} old notes, {} deleted notes, {} event ids",
            p.old_notes, p.deleted_notes, p.events
        ),
    )
    .await;
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
