//! Role checks and audit rows for what people do in Slack. `require`
//! either lets the action go ahead or writes the refusal to the audit log
//! and returns the message that names the roles needed; nothing else
//! changes. Handlers call it first thing in a gated branch.

use super::views;
use crate::app::AppState;
use crate::audit::{self, Actor};
use crate::roles::Permission;
use anyhow::{Context, Result};
use serde_json::Value;

/// `Ok` when `user` holds `p`; else the refusal (audited as `action`, with
/// `args`), for the caller to show. See [`audit::require`].
pub async fn require(
    state: &AppState,
    user: &str,
    p: Permission,
    action: &str,
    args: Value,
) -> Result<(), String> {
    let cfg = state.config();
    audit::require(&state.store, &cfg, state.now_ms(), user, p, action, args).await
}

/// Records what a Slack user did, and how it ended.
pub async fn record(state: &AppState, user: &str, action: &str, args: Value, outcome: &str) {
    audit::record(
        &state.store,
        state.now_ms(),
        &Actor::Slack(user.to_string()),
        action,
        args,
        outcome,
    )
    .await;
}

/// Shows a refusal for a button with no channel (App Home) in a modal,
/// opened on the click's trigger.
pub async fn show_refusal(state: &AppState, trigger: &str, refusal: &str) -> Result<()> {
    state
        .slack
        .open_view(trigger, views::notice_modal("Not available", refusal))
        .await
        .context("showing a refusal")?;
    Ok(())
}
