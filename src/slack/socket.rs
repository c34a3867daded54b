//! Socket Mode: slack-morphism's listener, with our handlers as callbacks.
//! The ack goes out when a callback returns, so callbacks only open modals
//! and save rows; anything slow is spawned. Each envelope runs in its own
//! request span (`delivery`), and `Connection` follows the link for
//! `/readyz`.

use super::{delivery, router};
use crate::inbox::InboxError;
use crate::slack::Bot;
use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use tracing::warn;

pub type SocketListener = SlackClientSocketModeListener<ListenerConnector>;

/// The listener's own Web API client's connector (see `Watched`).
pub type ListenerConnector = SlackClientHyperConnector<Watched>;
type ListenerClient = SlackClient<ListenerConnector>;

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

async fn app_state(states: &SlackClientEventsUserState) -> Arc<Bot> {
    states
        .read()
        .await
        .get_user_state::<Arc<Bot>>()
        .expect("app state registered on the listener")
        .clone()
}

async fn on_interaction(
    ev: SlackInteractionEvent,
    _client: Arc<ListenerClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackInteractionResponse> {
    let state = app_state(&states).await;
    delivery::socket_mode(&delivery::request_id(), async {
        match router::on_interaction(&state, ev).await {
            Ok(r) => Ok(r),
            Err(e) => {
                // Ack anyway: a redelivered click would only fail again.
                warn!(error = %format!("{e:#}"), "interaction failed");
                Ok(SlackInteractionResponse::Empty)
            }
        }
    })
    .await
}

async fn on_command(
    ev: SlackCommandEvent,
    _client: Arc<ListenerClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let state = app_state(&states).await;
    delivery::socket_mode(&delivery::request_id(), async {
        Ok(router::on_command(&state, ev).await.unwrap_or_else(|e| {
            warn!(error = %format!("{e:#}"), "command failed");
            SlackCommandEventResponse::new(
                SlackMessageContent::new()
                    .with_text("Sorry, something went wrong on our side. Please try again.".into()),
            )
            .with_response_type(SlackMessageResponseType::Ephemeral)
        }))
    })
    .await
}

async fn on_push(
    ev: SlackPushEventCallback,
    _client: Arc<ListenerClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let state = app_state(&states).await;
    let id = ev.event_id.0.clone();
    delivery::socket_mode(&id, async {
        // Acked (by returning Ok) only once committed to the inbox; an error
        // leaves the envelope unacked, so Slack redelivers it.
        let payload = serde_json::to_string(&ev)?;
        state.inbox.commit(&id, payload).await?;
        UserCallbackResult::Ok(())
    })
    .await
}

/// Slack's `hello` opens every connection, the first and each reconnect.
/// (Generic because slack-morphism doesn't export the hello event's type.)
async fn on_hello<Hello: Send>(
    _ev: Hello,
    _client: Arc<ListenerClient>,
    states: SlackClientEventsUserState,
) {
    let state = app_state(&states).await;
    if !state.socket_mode.is_up() {
        tracing::info!("Socket Mode connection is up");
    }
    state.socket_mode.set(true);
}

fn on_error(
    err: Box<dyn std::error::Error + Send + Sync + 'static>,
    _client: Arc<ListenerClient>,
    states: SlackClientEventsUserState,
) -> HttpStatusCode {
    if let Some(SlackClientError::SocketModeProtocolError(_)) = err.downcast_ref() {
        // The WebSocket failed: slack-morphism reconnects, and the next
        // `hello` says when it is back.
        if let Ok(s) = states.try_read() {
            if let Some(state) = s.get_user_state::<Arc<Bot>>() {
                state.socket_mode.set(false);
            }
        }
    }
    if let Some(e) = err.downcast_ref::<InboxError>() {
        // No ack: Slack redelivers the envelope.
        warn!(error = %e, "event not committed; leaving it unacked for Slack to redeliver");
        return HttpStatusCode::SERVICE_UNAVAILABLE;
    }
    warn!(error = %err, "Socket Mode listener error");
    HttpStatusCode::OK
}

/// Connects to Slack over Socket Mode and starts serving events.
pub async fn start(state: Arc<Bot>, app_token: &SecretString) -> anyhow::Result<SocketListener> {
    state.socket_mode.set(false);
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_hello_events(on_hello)
        .with_command_events(on_command)
        .with_interaction_events(on_interaction)
        .with_push_events(on_push);
    // A client of its own, used by slack-morphism only to open the
    // connection (apps.connections.open), so its connector sees every
    // (re)connect.
    let watched = Watched {
        inner: super::client::https_connector(),
        link: state.socket_mode.clone(),
    };
    let client = Arc::new(SlackClient::new(
        SlackClientHyperConnector::with_connector(watched)
            .with_slack_api_url(&super::client::api_base(&state.secrets.slack_api_url)),
    ));
    let env = Arc::new(
        SlackClientEventsListenerEnvironment::new(client)
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

/// The Socket Mode link as the listener reports it: down from each
/// (re)connect attempt (`Watched`) and when the WebSocket fails, up at
/// Slack's `hello`. "Not used" when the bot runs without Socket Mode.
#[derive(Debug, Clone, Default)]
pub struct Connection(Arc<AtomicU8>);

const NOT_USED: u8 = 0;
const DOWN: u8 = 1;
const UP: u8 = 2;

impl Connection {
    pub fn set(&self, up: bool) {
        self.0.store(if up { UP } else { DOWN }, Ordering::Relaxed);
    }

    /// None when Socket Mode is not used.
    pub fn state(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            NOT_USED => None,
            s => Some(s == UP),
        }
    }

    pub fn is_up(&self) -> bool {
        self.state() == Some(true)
    }
}

/// The TCP connector under the listener's Web API client. slack-morphism
/// calls `apps.connections.open` with that client before every connection
/// it opens (the first, and after a `disconnect`, a close, a failed ping or
/// a WebSocket error), and a new TCP connection is opened for it (the last
/// one sat idle past the pool's timeout, or the server is gone): the link
/// is down from then until Slack's `hello` on the new WebSocket.
#[derive(Clone)]
pub struct Watched {
    inner: super::client::HttpsConnector,
    link: Connection,
}

impl tower_service::Service<axum::http::Uri> for Watched {
    type Response =
        <super::client::HttpsConnector as tower_service::Service<axum::http::Uri>>::Response;
    type Error = <super::client::HttpsConnector as tower_service::Service<axum::http::Uri>>::Error;
    type Future =
        <super::client::HttpsConnector as tower_service::Service<axum::http::Uri>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, dst: axum::http::Uri) -> Self::Future {
        self.link.set(false);
        self.inner.call(dst)
    }
}
