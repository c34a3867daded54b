//! `/fieldnotes ask`: a marketer, lead or admin sends a one-off question to
//! a check-in's audience, now or later. Role-checked and audited; keyed by
//! the Slack trigger, so a retry or a replay queues nothing more.

use super::error::UserError;
use crate::audit::{self, Actor};
use crate::context::Context;
use crate::roles::Permission;
use crate::tz::Tz;
use chrono::{DateTime, Utc};
use serde_json::json;

/// What was asked, as typed after `ask`.
pub struct Ask<'a> {
    pub user: &'a str,
    pub text: &'a str,
    /// The Slack trigger of the command: the request's identity.
    pub trigger_id: &'a str,
    /// The asker's zone, for `at 15:00`.
    pub tz: Tz,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Queued {
        checkin: String,
        at: Option<DateTime<Utc>>,
        question: String,
    },
    /// The same trigger was already queued: nothing more was sent.
    AlreadyQueued {
        checkin: String,
        at: Option<DateTime<Utc>>,
    },
}

/// Why nothing was queued, as the asker should hear it.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// Not in a role that may ask: the refusal names the roles that may.
    #[error("{0}")]
    Refused(String),
    #[error("There is no check-in in the config whose audience could get a question.")]
    NoCheckins,
    /// Not a question the parser accepts: the reason.
    #[error("{0}")]
    Invalid(String),
    /// The database refused: the question, to send again.
    #[error("We couldn't queue that just now, so here it is to send again:\n>{question}")]
    NotSaved {
        question: String,
        #[source]
        cause: anyhow::Error,
    },
}

impl UserError for AskError {
    fn internal(&self) -> Option<&anyhow::Error> {
        match self {
            AskError::NotSaved { cause, .. } => Some(cause),
            _ => None,
        }
    }

    fn icon(&self) -> &'static str {
        match self {
            AskError::Refused(_) => "",
            _ => ":warning:",
        }
    }
}

pub async fn ask(ctx: &Context, a: Ask<'_>) -> Result<Asked, AskError> {
    let (store, cfg, now) = (&ctx.store, &*ctx.config(), ctx.now());
    let actor = Actor::Slack(a.user.to_string());
    let now_ms = now.timestamp_millis();
    let asked = json!({ "text": a.text });
    if let Err(refusal) =
        audit::require(store, cfg, now_ms, a.user, Permission::Ask, "ask", asked).await
    {
        return Err(AskError::Refused(refusal));
    }
    if cfg.checkins.is_empty() {
        return Err(AskError::NoCheckins);
    }
    let names: Vec<&str> = cfg.checkins.iter().map(|c| c.name.as_str()).collect();
    let parsed = match crate::commands::parse_ask(a.text, &names, now, a.tz) {
        Ok(p) => p,
        Err(why) => return Err(AskError::Invalid(why)),
    };
    let checkin = parsed.checkin.unwrap_or_else(|| names[0].to_string());
    let queued = crate::features::runs::queue_ask(
        store,
        cfg,
        &checkin,
        &parsed.question,
        now,
        parsed.at,
        a.trigger_id,
    )
    .await;
    let args = json!({
        "checkin": checkin,
        "question": parsed.question,
        "at": parsed.at.map(|t| t.to_rfc3339()),
    });
    match queued {
        Ok((key, false)) => {
            tracing::info!(user = a.user, checkin, run = %key, "one-off question already queued");
            Ok(Asked::AlreadyQueued {
                checkin,
                at: parsed.at,
            })
        }
        Ok((key, true)) => {
            tracing::info!(user = a.user, checkin, run = %key, "one-off question queued");
            audit::record(
                store,
                now_ms,
                &actor,
                "ask",
                args,
                &format!("ok: run {key}"),
            )
            .await;
            Ok(Asked::Queued {
                checkin,
                at: parsed.at,
                question: parsed.question,
            })
        }
        Err(e) => {
            // The cause goes to the log where the error is shown; the audit
            // row says what happened.
            audit::record(store, now_ms, &actor, "ask", args, "failed: not queued").await;
            Err(AskError::NotSaved {
                question: parsed.question,
                cause: e.context("queueing a one-off question"),
            })
        }
    }
}
