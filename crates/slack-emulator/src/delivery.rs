//! Delivering events, interactions and slash commands to the bot, over
//! Socket Mode or as signed HTTP requests, with Slack's ack and retry rules.
//!
//! Slack wants an ack within 3 s. Unacknowledged Events API deliveries are
//! retried 3 times with the same event_id (HTTP: `X-Slack-Retry-Num`/`-Reason`;
//! Socket Mode: `retry_attempt`/`retry_reason`), which is why bots must
//! deduplicate. Interactions and commands are never retried.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::server::Emulator;
use crate::state::{ids, Mode};

/// What was delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryKind {
    EventsApi,
    Interactive,
    SlashCommand,
}

impl DeliveryKind {
    fn socket_type(self) -> &'static str {
        match self {
            DeliveryKind::EventsApi => "events_api",
            DeliveryKind::Interactive => "interactive",
            DeliveryKind::SlashCommand => "slash_commands",
        }
    }
}

/// The outcome of one delivery (all its attempts).
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Socket Mode: the envelope_id of the last attempt. HTTP: the event_id
    /// (events) or a generated id (interactions, commands).
    pub envelope_id_or_event_id: String,
    pub kind: DeliveryKind,
    /// The exact bytes sent (last attempt): the envelope JSON over Socket
    /// Mode, the HTTP body otherwise.
    pub body: Vec<u8>,
    pub acked: bool,
    /// HTTP status of the last attempt (HTTP mode only).
    pub status: Option<u16>,
    /// HTTP response body as JSON (a JSON string if not JSON), or the Socket
    /// Mode ack's `payload`.
    pub response: Option<Value>,
    pub attempts: u32,
    pub elapsed: Duration,
    /// The event_id of an Events API delivery.
    pub event_id: Option<String>,
    /// Whether it went over Socket Mode.
    pub via_socket: bool,
    /// The HTTP URL it went to (HTTP mode only).
    pub url: Option<String>,
}

/// "v0=" + hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}")).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Constant-time check of a signature (for tests of the bot's verifier).
pub fn verify(secret: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    use subtle::ConstantTimeEq;
    sign(secret, timestamp, body)
        .as_bytes()
        .ct_eq(signature.as_bytes())
        .into()
}

enum HttpOutcome {
    Acked(u16, Option<Value>),
    Failed {
        status: Option<u16>,
        reason: &'static str,
        no_retry: bool,
        body: Option<Value>,
    },
}

fn parse_body(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    serde_json::from_slice(bytes)
        .ok()
        .or_else(|| Some(Value::String(String::from_utf8_lossy(bytes).into_owned())))
}

impl Emulator {
    /// Delivers `payload` (an event_callback, an interaction payload or the
    /// slash-command fields) the way the current mode says, with retries.
    pub(crate) async fn deliver(
        &self,
        kind: DeliveryKind,
        payload: Value,
    ) -> anyhow::Result<Delivery> {
        let mode = self.st().mode.clone();
        match mode {
            Mode::Socket => self.deliver_socket(kind, payload, 0).await,
            Mode::Http(url) => {
                let body = http_body(kind, &payload)?;
                let id = payload["event_id"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(ids::envelope_id);
                self.deliver_http(&url, kind, body, id, 0).await
            }
        }
    }

    async fn deliver_socket(
        &self,
        kind: DeliveryKind,
        payload: Value,
        first_attempt: u32,
    ) -> anyhow::Result<Delivery> {
        let cfg = &self.inner.config;
        let started = Instant::now();
        let event_id = payload["event_id"].as_str().map(str::to_string);
        let mut attempt = first_attempt;
        let mut attempts = 0;
        loop {
            let envelope_id = ids::envelope_id();
            let envelope = json!({
                "envelope_id": envelope_id,
                "type": kind.socket_type(),
                "payload": payload,
                "accepts_response_payload": kind != DeliveryKind::EventsApi,
                "retry_attempt": attempt,
                "retry_reason": if attempt == 0 { "" } else { "timeout" },
            });
            let text = envelope.to_string();
            attempts += 1;
            let ack = self
                .inner
                .sockets
                .send_and_wait(&envelope_id, text.clone(), cfg.ack_timeout)
                .await;
            let retryable = kind == DeliveryKind::EventsApi && attempt < 3;
            if ack.is_some() || !retryable {
                return Ok(Delivery {
                    envelope_id_or_event_id: envelope_id,
                    kind,
                    body: text.into_bytes(),
                    acked: ack.is_some(),
                    status: None,
                    response: ack.flatten(),
                    attempts,
                    elapsed: started.elapsed(),
                    event_id,
                    via_socket: true,
                    url: None,
                });
            }
            let delay = cfg
                .http_retry_delays
                .get(attempt as usize)
                .copied()
                .unwrap_or_default();
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn deliver_http(
        &self,
        url: &str,
        kind: DeliveryKind,
        body: Vec<u8>,
        id: String,
        first_attempt: u32,
    ) -> anyhow::Result<Delivery> {
        let cfg = &self.inner.config;
        let started = Instant::now();
        let mut retry = first_attempt;
        let mut attempts = 0;
        let mut reason = "http_timeout";
        loop {
            attempts += 1;
            let outcome = self
                .post_signed(url, kind, &body, (retry > 0).then_some((retry, reason)))
                .await;
            let (acked, status, response, stop) = match outcome {
                HttpOutcome::Acked(s, b) => (true, Some(s), b, true),
                HttpOutcome::Failed {
                    status,
                    reason: r,
                    no_retry,
                    body,
                } => {
                    reason = r;
                    (false, status, body, no_retry)
                }
            };
            let retryable = kind == DeliveryKind::EventsApi && retry < 3 && !stop;
            if acked || !retryable {
                return Ok(Delivery {
                    envelope_id_or_event_id: id.clone(),
                    kind,
                    body,
                    acked,
                    status,
                    response,
                    attempts,
                    elapsed: started.elapsed(),
                    event_id: (kind == DeliveryKind::EventsApi).then(|| id.clone()),
                    via_socket: false,
                    url: Some(url.to_string()),
                });
            }
            let delay = cfg
                .http_retry_delays
                .get(retry as usize)
                .copied()
                .unwrap_or_default();
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn post_signed(
        &self,
        url: &str,
        kind: DeliveryKind,
        body: &[u8],
        retry: Option<(u32, &str)>,
    ) -> HttpOutcome {
        let cfg = &self.inner.config;
        let ts = chrono::Utc::now().timestamp();
        let ct = match kind {
            DeliveryKind::EventsApi => "application/json",
            _ => "application/x-www-form-urlencoded",
        };
        let mut req = self
            .inner
            .http
            .post(url)
            .timeout(cfg.ack_timeout)
            .header("Content-Type", ct)
            .header("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
            .header("X-Slack-Request-Timestamp", ts.to_string())
            .header("X-Slack-Signature", self.sign(ts, body))
            .body(body.to_vec());
        if let Some((n, reason)) = retry {
            req = req
                .header("X-Slack-Retry-Num", n.to_string())
                .header("X-Slack-Retry-Reason", reason);
        }
        match req.send().await {
            Err(e) if e.is_timeout() => HttpOutcome::Failed {
                status: None,
                reason: "http_timeout",
                no_retry: false,
                body: None,
            },
            Err(_) => HttpOutcome::Failed {
                status: None,
                reason: "connection_failed",
                no_retry: false,
                body: None,
            },
            Ok(resp) => {
                let status = resp.status().as_u16();
                let no_retry = resp
                    .headers()
                    .get("X-Slack-No-Retry")
                    .is_some_and(|v| v.as_bytes() == b"1");
                let bytes = match resp.bytes().await {
                    Ok(b) => b,
                    Err(_) => {
                        return HttpOutcome::Failed {
                            status: Some(status),
                            reason: "http_timeout",
                            no_retry: false,
                            body: None,
                        }
                    }
                };
                let b = parse_body(&bytes);
                if (200..300).contains(&status) {
                    HttpOutcome::Acked(status, b)
                } else {
                    HttpOutcome::Failed {
                        status: Some(status),
                        reason: "http_error",
                        no_retry,
                        body: b,
                    }
                }
            }
        }
    }

    /// Sends the same delivery again as a Slack retry: over HTTP with the same
    /// body and `X-Slack-Retry-Num`; over Socket Mode with the same payload and
    /// `retry_attempt` + 1.
    pub async fn redeliver(&self, d: &Delivery) -> anyhow::Result<Delivery> {
        if d.via_socket {
            let env: Value = serde_json::from_slice(&d.body)?;
            let attempt = env["retry_attempt"].as_u64().unwrap_or(0) as u32 + 1;
            let mut r = self
                .deliver_socket(d.kind, env["payload"].clone(), attempt)
                .await?;
            r.attempts += d.attempts;
            Ok(r)
        } else {
            let url = d.url.clone().unwrap_or_default();
            let mut r = self
                .deliver_http(
                    &url,
                    d.kind,
                    d.body.clone(),
                    d.envelope_id_or_event_id.clone(),
                    d.attempts,
                )
                .await?;
            r.attempts += d.attempts;
            Ok(r)
        }
    }

    /// Sends Slack's `url_verification` challenge to `url`; true when the
    /// answer echoes the challenge (as plain text or `{"challenge":...}`).
    pub async fn verify_url(&self, url: &str) -> anyhow::Result<bool> {
        let challenge = ids::token();
        let body = serde_json::to_vec(&json!({
            "token": "emulator-verification-token",
            "challenge": challenge,
            "type": "url_verification",
        }))?;
        match self
            .post_signed(url, DeliveryKind::EventsApi, &body, None)
            .await
        {
            HttpOutcome::Acked(_, Some(Value::String(s))) => Ok(s.trim() == challenge),
            HttpOutcome::Acked(_, Some(v)) => Ok(v["challenge"] == challenge.as_str()),
            _ => Ok(false),
        }
    }
}

/// The HTTP body Slack sends for each kind.
fn http_body(kind: DeliveryKind, payload: &Value) -> anyhow::Result<Vec<u8>> {
    Ok(match kind {
        DeliveryKind::EventsApi => serde_json::to_vec(payload)?,
        DeliveryKind::Interactive => {
            serde_urlencoded::to_string([("payload", payload.to_string())])?.into_bytes()
        }
        DeliveryKind::SlashCommand => {
            let fields: Vec<(String, String)> = payload
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            let s = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (k.clone(), s)
                        })
                        .collect()
                })
                .unwrap_or_default();
            serde_urlencoded::to_string(fields)?.into_bytes()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_published_signature_vector() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let sig = sign(
            "8f742231b10e8888abcd99yyyzzz85a5",
            1531420618,
            body.as_bytes(),
        );
        assert_eq!(
            sig,
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
        assert!(verify(
            "8f742231b10e8888abcd99yyyzzz85a5",
            1531420618,
            body.as_bytes(),
            &sig
        ));
        assert!(!verify("other", 1531420618, body.as_bytes(), &sig));
    }

    #[test]
    fn interactive_body_is_form_encoded_payload() {
        let b = http_body(DeliveryKind::Interactive, &json!({"type":"block_actions"})).unwrap();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&b).unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].0, "payload");
        assert_eq!(
            serde_json::from_str::<Value>(&pairs[0].1).unwrap()["type"],
            "block_actions"
        );
    }
}
