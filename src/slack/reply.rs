//! The one place a feature's error becomes Slack text: what the person can
//! fix is shown as is; our fault is logged here with its cause and context,
//! and the person sees the feature's short apology, never the cause.

use crate::features::UserError;
use slack_morphism::prelude::*;
use std::collections::HashMap;
use tracing::warn;

/// What the person sees when a handler failed in a way no feature named.
pub const APOLOGY: &str = "Sorry, something went wrong on our side. Please try again.";

/// Logs `e`'s cause when it was our fault (and nothing when it was the
/// input): for an error with no one to tell (an App Home click, whose
/// refreshed page shows the outcome).
pub fn log(e: &dyn UserError) {
    if let Some(cause) = e.internal() {
        warn!(error = %format!("{cause:#}"), shown = %e, "a request failed on our side");
    }
}

/// The text to show for `e`; logs its cause when it was our fault.
pub fn text(e: &dyn UserError) -> String {
    log(e);
    match e.icon() {
        "" => e.to_string(),
        icon => format!("{icon} {e}"),
    }
}

/// A form submission's answer that keeps the modal open, with `e` shown
/// beside `block` (the person's text stays in the form).
pub fn form_errors(block: String, e: &dyn UserError) -> SlackInteractionResponse {
    log(e);
    errors(block, &e.to_string())
}

/// `response_action: errors` with `msg` on `block`.
pub fn errors(block: String, msg: &str) -> SlackInteractionResponse {
    let mut errs = HashMap::new();
    errs.insert(block, msg.to_string());
    SlackInteractionResponse::ViewSubmission(SlackViewSubmissionResponse::Errors(
        SlackViewSubmissionErrorsResponse::new(errs),
    ))
}

/// A slash command's reply, seen only by who typed it.
pub fn ephemeral(text: String) -> SlackCommandEventResponse {
    SlackCommandEventResponse::new(SlackMessageContent::new().with_text(text))
        .with_response_type(SlackMessageResponseType::Ephemeral)
}
