//! One Slack delivery, observed: every HTTP request to `/slack/events` and
//! every Socket Mode envelope runs inside a `slack` span carrying a request
//! id, so all the log lines of one delivery share it, and the time to its
//! answer (the HTTP response, or the Socket Mode ack, which goes out when
//! the callback returns) is recorded in `fieldnotes_slack_ack_seconds`.
//!
//! The id is the event's `event_id` where the transport hands it over
//! before anything is parsed (a Socket Mode `events_api` envelope), else a
//! fresh random one. An event is then handled from the inbox under its
//! `event_id` (`jobs::inbox`).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::future::Future;
use std::time::Instant;
use tracing::Instrument;

/// A fresh request id: 16 hex digits.
pub fn request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The span one delivery runs in.
pub fn span(transport: &'static str, request_id: &str) -> tracing::Span {
    tracing::info_span!("slack", transport, request_id = %request_id)
}

/// Runs one Socket Mode envelope's callback in its span and records how
/// long it took to be ready to ack.
pub async fn socket_mode<F: Future>(request_id: &str, work: F) -> F::Output {
    let started = Instant::now();
    let out = work.instrument(span("socket_mode", request_id)).await;
    crate::metrics::ack("socket_mode", started.elapsed());
    out
}

/// Middleware for `POST /slack/events`: a request id span around the
/// request, and its time from the request head to the response.
pub async fn http(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id();
    let resp = next.run(req).instrument(span("http", &id)).await;
    crate::metrics::ack("http", started.elapsed());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_hex() {
        let (a, b) = (request_id(), request_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
