//! Background work as rows: the planner turns due occurrences into runs and
//! runs into queued prompts; the dispatcher claims prompts and reminders with
//! a lease and sends them, and closes answer windows; the inbox worker
//! handles committed Slack events. `tick` is one pass of all of them, the
//! step the run loop, the demo and the tests share.

pub mod dispatcher;
pub mod dms;
pub mod inbox;
pub mod initiatives;
pub mod planner;

use crate::slack::Bot;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// This worker's jobs: the dispatcher (its pacer and held leases) and when
/// retention last ran.
pub struct Jobs {
    pub dispatcher: dispatcher::Dispatcher,
    last_purge: Mutex<Option<i64>>,
}

/// What one `tick` did. A step that failed is logged and counts as idle;
/// the next tick tries again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickOutcome {
    pub planned: planner::PlanOutcome,
    pub sent: dispatcher::DispatchOutcome,
    pub closed: usize,
    pub events: inbox::InboxOutcome,
    pub purged: Option<crate::store::Purged>,
    pub digests: crate::slack::digest::DigestOutcome,
    /// The loop's DMs (relays and notices).
    pub dms: dms::DmOutcome,
    /// Initiatives whose final debrief was queued.
    pub debriefs: usize,
}

impl TickOutcome {
    /// Whether the tick found nothing to do: no run created or planned, no
    /// row claimed, no window closed, no event handled.
    pub fn idle(&self) -> bool {
        self.planned.runs_created == 0
            && self.planned.runs_planned == 0
            && self.sent.claimed == 0
            && self.closed == 0
            && self.events.claimed == 0
            && self.digests.created == 0
            && self.digests.claimed == 0
            && self.dms.claimed == 0
            && self.debriefs == 0
    }
}

impl Jobs {
    pub fn new(bot: &Bot) -> Jobs {
        Jobs {
            dispatcher: dispatcher::Dispatcher::new(bot),
            last_purge: Mutex::new(None),
        }
    }

    /// One pass of every job, in order: heartbeat, plan due runs, send one
    /// paced batch, close answer windows, handle one batch of events,
    /// retention when an hour has passed since the last, and one due
    /// digest.
    pub async fn tick(&self, bot: &Arc<Bot>) -> TickOutcome {
        let mut out = self.tick_checkins(bot).await;
        out.digests = digests_once(bot).await;
        out
    }

    /// `tick` without the digests, which the run loop posts on their own
    /// (a digest's posts are spaced a second apart per channel, and must
    /// not hold up check-ins).
    async fn tick_checkins(&self, bot: &Arc<Bot>) -> TickOutcome {
        let mut out = TickOutcome::default();
        if let Err(e) = self.dispatcher.heartbeat(bot).await {
            warn!(error = %format!("{e:#}"), "heartbeat failed");
        }
        if let Err(e) = bot.refresh_initiatives().await {
            warn!(error = %format!("{e:#}"), "reading initiatives failed");
        }
        match initiatives::debrief_once(bot).await {
            Ok(n) => out.debriefs = n,
            Err(e) => warn!(error = %format!("{e:#}"), "queueing initiative debriefs failed"),
        }
        match planner::run_once(bot).await {
            Ok(o) => out.planned = o,
            Err(e) => warn!(error = %format!("{e:#}"), "planner step failed"),
        }
        match self.dispatcher.run_once(bot).await {
            Ok(o) => out.sent = o,
            Err(e) => warn!(error = %format!("{e:#}"), "dispatcher step failed"),
        }
        match self.dispatcher.close_windows(bot).await {
            Ok(n) => out.closed = n,
            Err(e) => warn!(error = %format!("{e:#}"), "closing answer windows failed"),
        }
        match inbox::run_once(bot).await {
            Ok(o) => out.events = o,
            Err(e) => warn!(error = %format!("{e:#}"), "inbox step failed"),
        }
        match dms::run_once(bot).await {
            Ok(o) => out.dms = o,
            Err(e) => warn!(error = %format!("{e:#}"), "loop DM step failed"),
        }
        out.purged = self.purge_when_due(bot).await;
        out
    }

    /// Ticks until a tick finds nothing to do (at most `max` ticks), and
    /// returns how many ran: how the demo and the tests drive the jobs
    /// without the run loop.
    pub async fn run_until_idle(&self, bot: &Arc<Bot>, max: usize) -> usize {
        for n in 1..=max {
            if self.tick(bot).await.idle() {
                return n;
            }
        }
        max
    }

    async fn purge_when_due(&self, bot: &Bot) -> Option<crate::store::Purged> {
        let now = bot.now_ms();
        let last = *self.last_purge.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| now - t < PURGE_EVERY_MS) {
            return None;
        }
        match purge(bot).await {
            Ok(p) => {
                *self.last_purge.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
                Some(p)
            }
            Err(e) => {
                warn!(error = %format!("{e:#}"), "retention purge failed");
                None
            }
        }
    }
}

/// Runs `tick` (but the digests) every `bot.tick`, and beside it the
/// sender (continuously, paced: a batch that claimed rows is followed at
/// once by the next), the inbox worker (woken by each commit), the lease
/// keepalive and the digest poster, until `stop` flips.
pub async fn run_loop(state: Arc<Bot>, stop: watch::Receiver<bool>) {
    let jobs = Arc::new(Jobs::new(&state));
    let ticker = {
        let state = state.clone();
        let jobs = jobs.clone();
        let mut stop = stop.clone();
        async move {
            loop {
                jobs.tick_checkins(&state).await;
                if sleep_or_stop(&state, &mut stop).await {
                    return;
                }
            }
        }
    };
    let digests = {
        let state = state.clone();
        let mut stop = stop.clone();
        async move {
            loop {
                if *stop.borrow() {
                    return;
                }
                if digests_once(&state).await.claimed > 0 {
                    continue;
                }
                if sleep_or_stop(&state, &mut stop).await {
                    return;
                }
            }
        }
    };
    let sender = {
        let state = state.clone();
        let jobs = jobs.clone();
        let mut stop = stop.clone();
        async move {
            loop {
                if *stop.borrow() {
                    return;
                }
                match jobs.dispatcher.run_once(&state).await {
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
        let jobs = jobs.clone();
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
                if let Err(e) = jobs.dispatcher.keep_leases(&state).await {
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
    tokio::join!(ticker, sender, keepalive, events, digests);
}

/// One digest pass (`slack::digest::run_once`), its failure logged.
async fn digests_once(bot: &Bot) -> crate::slack::digest::DigestOutcome {
    match crate::slack::digest::run_once(bot).await {
        Ok(o) => o,
        Err(e) => {
            warn!(error = %format!("{e:#}"), "digest step failed");
            Default::default()
        }
    }
}

/// How often retention runs.
const PURGE_EVERY_MS: i64 = 3_600_000;

/// Retention: purges notes deleted longer ago than `retention.deleted_notes`,
/// notes shared longer ago than `retention.notes` (when set), and Slack
/// event ids older than `retention.slack_events`. A pass that removed
/// notes is audited as actor `system`.
pub async fn purge(state: &Bot) -> anyhow::Result<crate::store::Purged> {
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
async fn sleep_or_stop(state: &Bot, stop: &mut watch::Receiver<bool>) -> bool {
    let tick = state.config().bot.tick;
    tokio::select! {
        _ = tokio::time::sleep(tick) => {}
        _ = stop.changed() => {}
    }
    *stop.borrow()
}

pub use crate::clock::backoff;
