//! Audit rows for what people do in Slack, and how a role refusal is shown
//! where there is no channel to answer in (App Home: a modal). The role
//! check itself is `audit::require`, which the gated features call.

use super::views;
use crate::audit::{self, Actor};
use crate::slack::Bot;
use anyhow::{Context, Result};
use serde_json::Value;

/// Records what a Slack user did, and how it ended.
pub async fn record(state: &Bot, user: &str, action: &str, args: Value, outcome: &str) {
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
pub async fn show_refusal(state: &Bot, trigger: &str, refusal: &str) -> Result<()> {
    state
        .slack
        .open_view(trigger, views::notice_modal("Not available", refusal))
        .await
        .context("showing a refusal")?;
    Ok(())
}
