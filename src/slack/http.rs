//! HTTP mode: one `POST /slack/events` path for Events API callbacks,
//! interactivity and slash commands (as Bolt apps do), plus `ops`'s
//! `GET /healthz`, `/readyz` and `/metrics`. The signature is checked on the
//! raw bytes before anything is parsed.

use super::limits;
use super::router;
use super::signature;
use crate::slack::Bot;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use slack_morphism::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

pub fn router(state: Arc<Bot>) -> Router {
    // Each delivery gets a request id span and its ack latency recorded.
    let observed = axum::middleware::from_fn(super::delivery::http);
    Router::new()
        .route("/slack/events", post(slack_events).layer(observed))
        .with_state(state)
}

fn reject(status: StatusCode, why: &str) -> Response {
    // X-Slack-No-Retry: a forged or malformed request will not get better.
    (status, [("X-Slack-No-Retry", "1")], why.to_string()).into_response()
}

/// The largest body read before its signature is checked. Slack's largest
/// payloads are view submissions: 100 inputs of 3,000 characters, form-
/// and JSON-encoded, stay well under it.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Time allowed for the body to arrive once the headers have: Slack sends
/// it at once, and must have its answer within 3 s anyway.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a body-reading slot before a 503 (which
/// Slack retries): short, so slow senders holding every slot cannot make
/// Slack's own deliveries time out waiting.
const READ_SLOT_WAIT: Duration = Duration::from_millis(500);

/// Bodies being read (not yet authenticated) at once: at most this many
/// times [`MAX_BODY_BYTES`] is buffered for requests nobody has vouched for.
const PRE_AUTH_READS: usize = 64;
static READING: Semaphore = Semaphore::const_new(PRE_AUTH_READS);

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

async fn slack_events(State(state): State<Arc<Bot>>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let headers = std::mem::take(&mut parts.headers);
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    // The headers first: a request that is unsigned, stale or too big is
    // refused before any of its body is read (so `Expect: 100-continue`
    // gets no `100 Continue`, and nothing is buffered for it).
    if let Err(e) = signature::check_headers(
        h("x-slack-request-timestamp"),
        h("x-slack-signature"),
        now_secs(),
    ) {
        // Debug, not warn: anyone can send these, as fast as they like, and
        // a log line each would be the flood. The counter shows them.
        debug!(error = %e, "rejected an unsigned or stale Slack request from its headers");
        crate::metrics::rejected("signature");
        return reject(StatusCode::UNAUTHORIZED, "invalid signature");
    }
    let declared = match headers.get(header::CONTENT_LENGTH) {
        None => None,
        Some(v) => match v.to_str().ok().and_then(|v| v.parse::<u64>().ok()) {
            Some(n) => Some(n),
            None => return reject(StatusCode::BAD_REQUEST, "bad Content-Length"),
        },
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        debug!(
            bytes = declared,
            "refused a request body larger than Slack sends"
        );
        crate::metrics::rejected("too_large");
        return reject(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    }
    // Then the body: bounded in size, in time, and in how many are read
    // at once. Waiting for a slot is a 503, which Slack retries.
    let Ok(Ok(reading)) = tokio::time::timeout(READ_SLOT_WAIT, READING.acquire()).await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
    };
    let body = match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return reject(StatusCode::PAYLOAD_TOO_LARGE, "body too large or cut short"),
        Err(_) => return reject(StatusCode::REQUEST_TIMEOUT, "body read timed out"),
    };
    drop(reading);
    slack_request(state, &headers, body).await
}

// A debug-level span: under the default filter (`fieldnotes=info`) it costs
// nothing per request; event warnings carry the retry number themselves.
#[tracing::instrument(level = "debug", skip_all, fields(retry = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()).unwrap_or("0")))]
async fn slack_request(state: Arc<Bot>, headers: &HeaderMap, body: Bytes) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    if let Err(e) = signature::verify(
        &state.secrets.signing_secrets,
        h("x-slack-request-timestamp"),
        h("x-slack-signature"),
        &body,
        now_secs(),
    ) {
        debug!(error = %e, "rejected an unsigned or forged Slack request");
        crate::metrics::rejected("signature");
        return reject(StatusCode::UNAUTHORIZED, "invalid signature");
    }
    let content_type = h(header::CONTENT_TYPE.as_str()).unwrap_or("");
    let retry = h("x-slack-retry-num").unwrap_or("0");
    dispatch(state, content_type, &body, retry).await
}

/// What the front door reads of a JSON body: the request type, and for an
/// event callback the envelope Slack always sends, checked for shape as
/// slack-morphism's `SlackPushEventCallback` would (required fields and
/// their types) without building it. The event itself is skipped over (the
/// worker parses it from the stored payload; slack-morphism accepts any
/// event, unknown types included), so nothing per request is allocated but
/// the strings that need unescaping.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    challenge: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    team_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    api_app_id: Option<Cow<'a, str>>,
    #[serde(default)]
    event: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    event_time: Option<i64>,
    // Checked for shape only.
    #[serde(default, borrow)]
    #[allow(dead_code)]
    event_context: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    #[allow(dead_code)]
    authed_users: Option<Vec<Cow<'a, str>>>,
    #[serde(default, borrow)]
    #[allow(dead_code)]
    authorizations: Option<Vec<Authorization<'a>>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // checked for shape only
struct Authorization<'a> {
    #[serde(borrow)]
    team_id: Cow<'a, str>,
    #[serde(borrow)]
    user_id: Cow<'a, str>,
    #[serde(default)]
    is_bot: Option<bool>,
}

impl Envelope<'_> {
    /// The event id of a well-formed event callback.
    fn callback_event_id(&self) -> Option<&str> {
        match (
            &self.event_id,
            &self.team_id,
            &self.api_app_id,
            &self.event,
            self.event_time,
        ) {
            (Some(id), Some(_), Some(_), Some(_), Some(_)) if !id.is_empty() => Some(id),
            _ => None,
        }
    }
}

/// A request from Slack, parsed once from its verified body. Events are
/// only checked for shape (their id is what the inbox needs); the worker
/// parses the event itself from the stored payload.
#[derive(Debug)]
pub enum Inbound<'a> {
    UrlVerification { challenge: Cow<'a, str> },
    Event { event_id: Cow<'a, str> },
    AppRateLimited,
    SslCheck,
    Interaction(Box<SlackInteractionEvent>),
    Command(Box<SlackCommandEvent>),
}

/// Why a body was refused (the text of the 400 answer).
pub type Malformed = &'static str;

/// Parses a verified body by its content type, without I/O: the one place
/// HTTP mode reads Slack's payloads, and a fuzz target.
pub fn parse<'a>(content_type: &str, body: &'a [u8]) -> Result<Inbound<'a>, Malformed> {
    if content_type.starts_with("application/json") {
        let env = serde_json::from_slice::<Envelope>(body).map_err(|_| "malformed JSON")?;
        return match env.kind.as_ref() {
            "url_verification" => Ok(Inbound::UrlVerification {
                challenge: env.challenge.clone().unwrap_or_default(),
            }),
            "event_callback" => match (env.callback_event_id().is_some(), env.event_id) {
                (true, Some(event_id)) => Ok(Inbound::Event { event_id }),
                _ => Err("malformed event"),
            },
            "app_rate_limited" => Ok(Inbound::AppRateLimited),
            _ => Err("unknown request type"),
        };
    }
    let form = serde_urlencoded::from_bytes::<HashMap<String, String>>(body)
        .map_err(|_| "malformed form")?;
    if form.get("ssl_check").map(String::as_str) == Some("1") {
        return Ok(Inbound::SslCheck);
    }
    if let Some(payload) = form.get("payload") {
        return serde_json::from_str::<SlackInteractionEvent>(payload)
            .map(|ev| Inbound::Interaction(Box::new(ev)))
            .map_err(|_| "malformed payload");
    }
    if form.contains_key("command") {
        return serde_json::to_value(&form)
            .and_then(serde_json::from_value::<SlackCommandEvent>)
            .map(|ev| Inbound::Command(Box::new(ev)))
            .map_err(|_| "malformed command");
    }
    Err("unknown request")
}

async fn dispatch(state: Arc<Bot>, content_type: &str, body: &[u8], retry: &str) -> Response {
    let inbound = match parse(content_type, body) {
        Ok(i) => i,
        Err(why) => {
            // Not the parser's message: serde quotes the offending value,
            // and a hostile body would write itself into the log.
            warn!(why, bytes = body.len(), "refused a malformed Slack request");
            return reject(StatusCode::BAD_REQUEST, why);
        }
    };
    match inbound {
        Inbound::UrlVerification { challenge } => {
            Json(serde_json::json!({ "challenge": challenge })).into_response()
        }
        Inbound::Event { event_id } => {
            // Acked only once committed to the inbox; a worker acts on it
            // from there. If it can't be committed, 503 without
            // X-Slack-No-Retry, so Slack delivers it again.
            let payload = String::from_utf8_lossy(body).into_owned();
            match state.inbox.commit(&event_id, payload).await {
                Ok(()) => StatusCode::OK.into_response(),
                Err(e) => {
                    warn!(error = %e, event_id = %limits::for_log(&event_id), retry, "event not committed; asking Slack to retry");
                    (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
                }
            }
        }
        Inbound::AppRateLimited => {
            warn!("Slack reports this app is over its event rate limit");
            StatusCode::OK.into_response()
        }
        Inbound::SslCheck => StatusCode::OK.into_response(),
        Inbound::Interaction(ev) => match router::on_interaction(&state, *ev).await {
            Ok(SlackInteractionResponse::Empty) => StatusCode::OK.into_response(),
            Ok(resp) => Json(resp).into_response(),
            Err(e) => {
                warn!(error = %format!("{e:#}"), "interaction failed");
                StatusCode::OK.into_response()
            }
        },
        Inbound::Command(ev) => match router::on_command(&state, *ev).await {
            Ok(resp) => Json(resp).into_response(),
            Err(e) => {
                warn!(error = %format!("{e:#}"), "command failed");
                Json(serde_json::json!({"response_type": "ephemeral", "text": "Sorry, something went wrong on our side. Please try again."})).into_response()
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(body: &str) -> Result<Envelope<'_>, serde_json::Error> {
        serde_json::from_str(body)
    }

    const CALLBACK: &str = r#"{"token":"t","team_id":"T0FIELDNT","context_team_id":"T0FIELDNT",
        "context_enterprise_id":null,"api_app_id":"A0FIELDNT",
        "event":{"user":"U0REP0001","type":"message","ts":"1764400000.000100","text":"Acme \"again\"",
                 "channel":"D0REP0001","event_ts":"1764400000.000100","channel_type":"im"},
        "type":"event_callback","event_id":"Ev0PV52K21","event_time":1764400000,
        "authorizations":[{"enterprise_id":null,"team_id":"T0FIELDNT","user_id":"U0BOT00001","is_bot":true,"is_enterprise_install":false}],
        "is_ext_shared_channel":false,"event_context":"4-eyJldCI6Im1lc3NhZ2UifQ"}"#;

    #[test]
    fn an_event_callback_yields_its_event_id_and_parses_as_slack_morphism_does() {
        let env = envelope(CALLBACK).unwrap();
        assert_eq!(env.kind, "event_callback");
        assert_eq!(env.callback_event_id(), Some("Ev0PV52K21"));
        // What the worker will read from the stored payload.
        let ev: SlackPushEventCallback = serde_json::from_str(CALLBACK).unwrap();
        assert_eq!(ev.event_id.0, "Ev0PV52K21");
    }

    #[test]
    fn a_callback_missing_what_slack_always_sends_is_refused() {
        for field in [
            "\"event_id\":\"Ev0PV52K21\",",
            "\"event_time\":1764400000,",
            "\"api_app_id\":\"A0FIELDNT\",",
        ] {
            let body = CALLBACK.replacen(field, "", 1);
            assert_ne!(body, CALLBACK);
            assert_eq!(
                envelope(&body).unwrap().callback_event_id(),
                None,
                "without {field}"
            );
            assert!(serde_json::from_str::<SlackPushEventCallback>(&body).is_err());
        }
        // Shapes slack-morphism would refuse are refused here too.
        for (from, to) in [
            ("\"event_time\":1764400000", "\"event_time\":\"soon\""),
            ("\"user_id\":\"U0BOT00001\",", ""),
        ] {
            let body = CALLBACK.replacen(from, to, 1);
            assert!(envelope(&body).is_err(), "{to:?}");
            assert!(serde_json::from_str::<SlackPushEventCallback>(&body).is_err());
        }
    }

    #[test]
    fn url_verification_reads_the_challenge() {
        let env = envelope(r#"{"token":"t","challenge":"3eZbrw1a\"x","type":"url_verification"}"#)
            .unwrap();
        assert_eq!(env.kind, "url_verification");
        assert_eq!(env.challenge.as_deref(), Some("3eZbrw1a\"x"));
        assert_eq!(env.callback_event_id(), None);
    }
}
