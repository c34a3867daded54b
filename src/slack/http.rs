//! HTTP mode: one `POST /slack/events` path for Events API callbacks,
//! interactivity and slash commands (as Bolt apps do), plus `ops`'s
//! `GET /healthz`, `/readyz` and `/metrics`. The signature is checked on the
//! raw bytes before anything is parsed.

use super::handlers;
use super::signature;
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use slack_morphism::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::{info, warn};

pub fn router(state: Arc<AppState>) -> Router {
    // Each delivery gets a request id span and its ack latency recorded.
    let observed = axum::middleware::from_fn(super::delivery::http);
    Router::new()
        .route("/slack/events", post(slack_events).layer(observed))
        .with_state(state.clone())
        .merge(crate::ops::router(state))
}

fn reject(status: StatusCode, why: &str) -> Response {
    // X-Slack-No-Retry: a forged or malformed request will not get better.
    (status, [("X-Slack-No-Retry", "1")], why.to_string()).into_response()
}

async fn slack_events(State(state): State<Arc<AppState>>, req: Request) -> Response {
    // The headers are moved out rather than cloned (as the `HeaderMap`
    // extractor does); the body is read by axum's own `Bytes` extractor,
    // with its limit and rejections.
    let (mut parts, body) = req.into_parts();
    let headers = std::mem::take(&mut parts.headers);
    let body = match Bytes::from_request(Request::from_parts(parts, body), &()).await {
        Ok(b) => b,
        Err(rejection) => return rejection.into_response(),
    };
    slack_request(state, &headers, body).await
}

// A debug-level span: under the default filter (`fieldnotes=info`) it costs
// nothing per request; event warnings carry the retry number themselves.
#[tracing::instrument(level = "debug", skip_all, fields(retry = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()).unwrap_or("0")))]
async fn slack_request(state: Arc<AppState>, headers: &HeaderMap, body: Bytes) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    if let Err(e) = signature::verify(
        &state.secrets.signing_secrets,
        h("x-slack-request-timestamp"),
        h("x-slack-signature"),
        &body,
        now,
    ) {
        warn!(error = %e, "rejected an unsigned or forged Slack request");
        return reject(StatusCode::UNAUTHORIZED, "invalid signature");
    }
    let content_type = h(header::CONTENT_TYPE.as_str()).unwrap_or("");
    if content_type.starts_with("application/json") {
        let retry = h("x-slack-retry-num").unwrap_or("0");
        on_json(state, &body, retry).await
    } else {
        on_form(state, &body).await
    }
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

async fn on_json(state: Arc<AppState>, body: &[u8], retry: &str) -> Response {
    let Ok(env) = serde_json::from_slice::<Envelope>(body) else {
        return reject(StatusCode::BAD_REQUEST, "malformed JSON");
    };
    match env.kind.as_ref() {
        "url_verification" => {
            let challenge = env.challenge.as_deref().unwrap_or("");
            Json(serde_json::json!({ "challenge": challenge })).into_response()
        }
        "event_callback" => match env.callback_event_id() {
            Some(event_id) => {
                // Acked only once committed to the inbox; a worker acts on
                // it from there. If it can't be committed, 503 without
                // X-Slack-No-Retry, so Slack delivers it again.
                let payload = String::from_utf8_lossy(body).into_owned();
                match state.inbox.commit(event_id, payload).await {
                    Ok(()) => StatusCode::OK.into_response(),
                    Err(e) => {
                        warn!(error = %e, event_id, retry, "event not committed; asking Slack to retry");
                        (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
                    }
                }
            }
            None => {
                warn!(retry, "unparseable event callback");
                reject(StatusCode::BAD_REQUEST, "malformed event")
            }
        },
        "app_rate_limited" => {
            warn!("Slack reports this app is over its event rate limit");
            StatusCode::OK.into_response()
        }
        _ => reject(StatusCode::BAD_REQUEST, "unknown request type"),
    }
}

async fn on_form(state: Arc<AppState>, body: &[u8]) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(body) else {
        return reject(StatusCode::BAD_REQUEST, "malformed form");
    };
    if form.get("ssl_check").map(String::as_str) == Some("1") {
        return StatusCode::OK.into_response();
    }
    if let Some(payload) = form.get("payload") {
        let ev = match serde_json::from_str::<SlackInteractionEvent>(payload) {
            Ok(ev) => ev,
            Err(e) => {
                warn!(error = %e, "unparseable interaction payload");
                return reject(StatusCode::BAD_REQUEST, "malformed payload");
            }
        };
        return match handlers::on_interaction(&state, ev).await {
            Ok(SlackInteractionResponse::Empty) => StatusCode::OK.into_response(),
            Ok(resp) => Json(resp).into_response(),
            Err(e) => {
                warn!(error = %format!("{e:#}"), "interaction failed");
                StatusCode::OK.into_response()
            }
        };
    }
    if form.contains_key("command") {
        let ev = match serde_json::to_value(&form)
            .and_then(serde_json::from_value::<SlackCommandEvent>)
        {
            Ok(ev) => ev,
            Err(e) => {
                warn!(error = %e, "unparseable slash command");
                return reject(StatusCode::BAD_REQUEST, "malformed command");
            }
        };
        return match handlers::on_command(&state, ev).await {
            Ok(resp) => Json(resp).into_response(),
            Err(e) => {
                warn!(error = %format!("{e:#}"), "command failed");
                Json(serde_json::json!({"response_type": "ephemeral", "text": "Sorry, something went wrong on our side. Please try again."})).into_response()
            }
        };
    }
    info!("form request with neither payload nor command");
    reject(StatusCode::BAD_REQUEST, "unknown request")
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
