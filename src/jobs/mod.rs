//! Background work as rows: the planner turns due occurrences into runs and
//! runs into queued prompts; the dispatcher claims prompts with a lease and
//! sends them. Each exposes `run_once` so tests and the demo can step it.

pub mod dispatcher;
pub mod pacer;
pub mod planner;

use crate::app::AppState;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::warn;

/// Runs planner and dispatcher every `tick` until `stop` flips, restarting a
/// step that fails (it is logged and retried next tick).
pub async fn run_loop(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let dispatcher = dispatcher::Dispatcher::new(&state);
    loop {
        if let Err(e) = planner::run_once(&state).await {
            warn!(error = %format!("{e:#}"), "planner step failed");
        }
        loop {
            match dispatcher.run_once(&state).await {
                Ok(o) if o.claimed > 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    warn!(error = %format!("{e:#}"), "dispatcher step failed");
                    break;
                }
            }
        }
        let tick = state.config().bot.tick;
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Exponential backoff for transient failures: 2 s, 4 s, … capped at 5 min.
pub fn backoff(attempt: i64) -> Duration {
    Duration::from_secs((1u64 << attempt.clamp(1, 9) as u32).min(300))
}
