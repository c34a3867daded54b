//! App Home's Slack side: [`publish`] reads a person's home tab
//! (`features::home::gather`, in their Slack timezone), renders it
//! (`views::home::home_view`) and sends it with `views.publish`.

use super::views::home::home_view;
use crate::features::home::gather;
use crate::slack::Bot;
use anyhow::{Context, Result};

/// Gathers a person's home tab and publishes it (`views.publish`).
pub async fn publish(state: &Bot, user: &str) -> Result<()> {
    let cfg = state.config();
    let now = state.clock.now();
    let tz = super::people::person_tz(state, user).await;
    let data = gather(&state.store, &cfg, user, tz, now).await?;
    let view = home_view(&cfg, &data);
    state
        .slack
        .publish_home(user, view)
        .await
        .context("publishing App Home")?;
    Ok(())
}
