//! HTTP mode: one `POST /slack/events` path for Events API callbacks,
//! interactivity and slash commands (as Bolt apps do), plus `GET /healthz`.
//! The signature is checked on the raw bytes before anything is parsed.

use super::handlers;
use super::signature;
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use slack_morphism::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::{info, warn};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/slack/events", post(slack_events))
        .route("/healthz", get(healthz))
        .with_state(state)
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}"),
        )
            .into_response(),
    }
}

fn reject(status: StatusCode, why: &str) -> Response {
    // X-Slack-No-Retry: a forged or malformed request will not get better.
    (status, [("X-Slack-No-Retry", "1")], why.to_string()).into_response()
}

#[tracing::instrument(skip_all, fields(retry = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()).unwrap_or("0")))]
async fn slack_events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
        on_json(state, &body).await
    } else {
        on_form(state, &body).await
    }
}

async fn on_json(state: Arc<AppState>, body: &[u8]) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return reject(StatusCode::BAD_REQUEST, "malformed JSON");
    };
    match v.get("type").and_then(Value::as_str) {
        Some("url_verification") => {
            let challenge = v
                .get("challenge")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            Json(serde_json::json!({ "challenge": challenge })).into_response()
        }
        Some("event_callback") => match serde_json::from_value::<SlackPushEventCallback>(v) {
            Ok(ev) => {
                // Acked only once committed to the inbox; a worker acts on
                // it from there. If it can't be committed, 503 without
                // X-Slack-No-Retry, so Slack delivers it again.
                let payload = String::from_utf8_lossy(body).into_owned();
                match state.inbox.commit(&ev.event_id.0, payload).await {
                    Ok(()) => StatusCode::OK.into_response(),
                    Err(e) => {
                        warn!(error = %e, event_id = %ev.event_id.0, "event not committed; asking Slack to retry");
                        (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
                    }
                }
            }
            Err(e) => {
                warn!(error = %e, "unparseable event callback");
                reject(StatusCode::BAD_REQUEST, "malformed event")
            }
        },
        Some("app_rate_limited") => {
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
