//! Socket Mode: slack-morphism's listener, with our handlers as callbacks.
//! The ack goes out when a callback returns, so callbacks only open modals
//! and save rows; anything slow is spawned.

use super::handlers;
use crate::app::AppState;
use crate::inbox::InboxError;
use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::prelude::*;
use std::sync::Arc;
use tracing::warn;

pub type SocketListener = SlackClientSocketModeListener<SlackClientHyperHttpsConnector>;

/// How often the listener pings Slack. slack-morphism reconnects when no
/// pong has come for more than `PING_INTERVAL_SECS * PING_FAILURES`
/// seconds (checked at each ping), which is the only way to notice a
/// server that went silent but left the TCP connection open: no close
/// frame, no error, just nothing. Its defaults (15 s × 5) take 75–90 s,
/// longer than Slack keeps retrying an unacked envelope in our tests'
/// scaled timings and long enough in production for every event in that
/// spell to arrive minutes late; 5 s × 2 notices within about 15 s. The
/// pongs are read between envelopes, so a backlog that keeps the reader
/// busy for over 10 s also reconnects: harmless, since what it had not
/// acked is redelivered and the inbox deduplicates.
const PING_INTERVAL_SECS: u64 = 5;
const PING_FAILURES: u64 = 2;

async fn app_state(states: &SlackClientEventsUserState) -> Arc<AppState> {
    states
        .read()
        .await
        .get_user_state::<Arc<AppState>>()
        .expect("app state registered on the listener")
        .clone()
}

async fn on_interaction(
    ev: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackInteractionResponse> {
    let state = app_state(&states).await;
    match handlers::on_interaction(&state, ev).await {
        Ok(r) => Ok(r),
        Err(e) => {
            // Ack anyway: a redelivered click would only fail again.
            warn!(error = %format!("{e:#}"), "interaction failed");
            Ok(SlackInteractionResponse::Empty)
        }
    }
}

async fn on_command(
    ev: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let state = app_state(&states).await;
    Ok(handlers::on_command(&state, ev).await.unwrap_or_else(|e| {
        warn!(error = %format!("{e:#}"), "command failed");
        SlackCommandEventResponse::new(
            SlackMessageContent::new()
                .with_text("Sorry, something went wrong on our side. Please try again.".into()),
        )
        .with_response_type(SlackMessageResponseType::Ephemeral)
    }))
}

async fn on_push(
    ev: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let state = app_state(&states).await;
    // Acked (by returning Ok) only once committed to the inbox; an error
    // leaves the envelope unacked, so Slack redelivers it.
    let payload = serde_json::to_string(&ev)?;
    state.inbox.commit(&ev.event_id.0, payload).await?;
    Ok(())
}

fn on_error(
    err: Box<dyn std::error::Error + Send + Sync + 'static>,
    _client: Arc<SlackHyperClient>,
    _states: SlackClientEventsUserState,
) -> HttpStatusCode {
    if let Some(e) = err.downcast_ref::<InboxError>() {
        // No ack: Slack redelivers the envelope.
        warn!(error = %e, "event not committed; leaving it unacked for Slack to redeliver");
        return HttpStatusCode::SERVICE_UNAVAILABLE;
    }
    warn!(error = %err, "Socket Mode listener error");
    HttpStatusCode::OK
}

/// Connects to Slack over Socket Mode and starts serving events.
pub async fn start(
    state: Arc<AppState>,
    app_token: &SecretString,
) -> anyhow::Result<SocketListener> {
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_command_events(on_command)
        .with_interaction_events(on_interaction)
        .with_push_events(on_push);
    let env = Arc::new(
        SlackClientEventsListenerEnvironment::new(state.slack.hyper())
            .with_error_handler(on_error)
            .with_user_state(state.clone()),
    );
    let config = SlackClientSocketModeConfig::new()
        .with_max_connections_count(1)
        .with_ping_interval_in_seconds(PING_INTERVAL_SECS)
        .with_ping_failure_threshold_times(PING_FAILURES);
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    let token = SlackApiToken::new(app_token.expose_secret().to_string().into());
    listener
        .listen_for(&token)
        .await
        .context("opening a Socket Mode connection (apps.connections.open)")?;
    listener.start().await;
    Ok(listener)
}
