//! Pausing and resuming check-ins, from `/fieldnotes pause|resume` and App
//! Home's buttons alike: one implementation for both.

use crate::store::Store;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paused {
    /// Paused until then.
    Until(DateTime<Utc>),
    /// What was typed is not a pause: the reason, for the person.
    Invalid(String),
    /// The database refused; nothing changed.
    NotSaved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    Resumed,
    WasNotPaused,
    NotSaved,
}

/// Pauses `user` for what `text` says (`2w`, `until 2027-01-05`), read in
/// their zone `tz`, from `now`.
pub async fn pause(
    store: &Store,
    user: &str,
    text: &str,
    tz: Tz,
    now: DateTime<Utc>,
    via: Via,
) -> Paused {
    let until = match crate::commands::parse_pause(text, now, tz) {
        Ok(u) => u,
        Err(why) => return Paused::Invalid(why),
    };
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
            Paused::Until(until)
        }
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), user, "saving a pause failed");
            Paused::NotSaved
        }
    }
}

/// Ends `user`'s pause.
pub async fn resume(store: &Store, user: &str, now: DateTime<Utc>) -> Resumed {
    match store.clear_pause(user, now.timestamp_millis()).await {
        Ok(true) => {
            tracing::info!(user, "resumed");
            Resumed::Resumed
        }
        Ok(false) => Resumed::WasNotPaused,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), user, "ending a pause failed");
            Resumed::NotSaved
        }
    }
}
