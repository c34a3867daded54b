//! Pausing and resuming check-ins, from `/fieldnotes pause|resume` and App
//! Home's buttons alike: one implementation for both.

use super::error::UserError;
use crate::context::Context;
use crate::tz::Tz;
use chrono::{DateTime, Utc};

/// Where a pause was asked for (stored with it, for `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Command,
    Home,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Command => "command",
            Via::Home => "home",
        }
    }
}

/// Why a pause didn't take, as the person should hear it.
#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    /// What was typed is not a pause: the reason.
    #[error("{0}")]
    Invalid(String),
    /// The database refused; nothing changed.
    #[error("We couldn't save your pause just now; please try again in a moment.")]
    NotSaved(#[source] anyhow::Error),
    #[error("We couldn't resume just now; please try again in a moment.")]
    NotResumed(#[source] anyhow::Error),
}

impl UserError for PauseError {
    fn internal(&self) -> Option<&anyhow::Error> {
        match self {
            PauseError::NotSaved(e) | PauseError::NotResumed(e) => Some(e),
            PauseError::Invalid(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    Resumed,
    WasNotPaused,
}

/// Pauses `user` for what `text` says (`2w`, `until 2027-01-05`), read in
/// their zone `tz`, from now.
pub async fn pause(
    ctx: &Context,
    user: &str,
    text: &str,
    tz: Tz,
    via: Via,
) -> Result<DateTime<Utc>, PauseError> {
    let (store, now) = (&ctx.store, ctx.now());
    let until = crate::commands::parse_pause(text, now, tz).map_err(PauseError::Invalid)?;
    match store
        .set_pause(
            user,
            until.timestamp_millis(),
            now.timestamp_millis(),
            via.as_str(),
        )
        .await
    {
        Ok(()) => {
            tracing::info!(user, %until, via = via.as_str(), "paused");
            Ok(until)
        }
        Err(e) => Err(PauseError::NotSaved(e.context("saving a pause"))),
    }
}

/// Ends `user`'s pause.
pub async fn resume(ctx: &Context, user: &str) -> Result<Resumed, PauseError> {
    match ctx.store.clear_pause(user, ctx.now_ms()).await {
        Ok(true) => {
            tracing::info!(user, "resumed");
            Ok(Resumed::Resumed)
        }
        Ok(false) => Ok(Resumed::WasNotPaused),
        Err(e) => Err(PauseError::NotResumed(e.context("ending a pause"))),
    }
}
