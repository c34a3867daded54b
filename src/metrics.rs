//! Metrics: every metric's name, help and labels in one place, and the
//! small functions the rest of the bot calls to record them.
//!
//! Recording goes through the `metrics` facade into one process-wide
//! `metrics-exporter-prometheus` recorder, installed once (`init`) without
//! the exporter's own HTTP listener: `GET /metrics` (see `ops`) renders it
//! from our router. Until `init` runs (one-shot CLI commands), recording is a
//! no-op. Gauges that describe one running bot's own state (the inbox, the
//! Socket Mode connection) are read at scrape time and appended by
//! `render`, so two bots in one process (tests) never overwrite each other's.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Duration;

/// Prompts and reminders this process posted, by `kind` (prompt, reminder).
pub const PROMPTS_SENT: &str = "fieldnotes_prompts_sent_total";
/// Prompts and reminders given up on (`bot.max_send_attempts`, or a refusal
/// retrying won't fix), by `kind`.
pub const PROMPTS_FAILED: &str = "fieldnotes_prompts_failed_total";
/// Prompts a saved note answered (a check-in form, a reply, any note).
pub const PROMPTS_ANSWERED: &str = "fieldnotes_prompts_answered_total";
/// Notes saved (new, not Slack's retries of one), by `source`.
pub const NOTES_SAVED: &str = "fieldnotes_notes_saved_total";
/// Requests refused at the front door, by reason.
pub const REJECTED: &str = "fieldnotes_http_rejected_total";
/// Web API calls by `method` and `status`.
pub const SLACK_CALLS: &str = "fieldnotes_slack_api_calls_total";
/// Seconds from a Slack delivery's arrival to its answer, by `transport`.
pub const ACK_SECONDS: &str = "fieldnotes_slack_ack_seconds";
/// Seconds a message went out after it was due, by `job` (send).
pub const JOB_LAG_SECONDS: &str = "fieldnotes_job_lag_seconds";
/// Inbox rows waiting to be handled (read at scrape time).
pub const INBOX_DEPTH: &str = "fieldnotes_inbox_depth";
/// Age of the oldest waiting inbox row, 0 when none (read at scrape time).
pub const INBOX_OLDEST_AGE: &str = "fieldnotes_inbox_oldest_age_seconds";
/// Inbox rows given up on after `bot.max_event_attempts` (read at scrape time).
pub const INBOX_PARKED: &str = "fieldnotes_inbox_parked";
/// 1 while the Socket Mode connection is up (only when Socket Mode is used).
pub const SOCKET_CONNECTED: &str = "fieldnotes_socket_mode_connected";

/// Every metric name, for docs and tests.
pub const NAMES: &[&str] = &[
    PROMPTS_SENT,
    PROMPTS_FAILED,
    PROMPTS_ANSWERED,
    NOTES_SAVED,
    SLACK_CALLS,
    ACK_SECONDS,
    JOB_LAG_SECONDS,
    INBOX_DEPTH,
    INBOX_OLDEST_AGE,
    INBOX_PARKED,
    SOCKET_CONNECTED,
];

/// Slack wants an ack within 3 s: buckets around that.
const ACK_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0,
];
/// From on time to a day late.
const LAG_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 86400.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; later calls return the same
/// handle) and a thread that drains histograms every few seconds, so they
/// stay bounded whether or not anyone scrapes.
pub fn init() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(ACK_SECONDS.into()), ACK_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(JOB_LAG_SECONDS.into()), LAG_BUCKETS)
            })
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "another metrics recorder is installed; /metrics shows only the bot's own gauges"
            );
        }
        describe();
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            });
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_histogram, Unit};
    describe_counter!(
        PROMPTS_SENT,
        "Prompts and reminders this process posted, by kind."
    );
    describe_counter!(
        PROMPTS_FAILED,
        "Prompts and reminders given up on, by kind."
    );
    describe_counter!(PROMPTS_ANSWERED, "Prompts answered by a saved note.");
    describe_counter!(NOTES_SAVED, "Notes saved, by source.");
    describe_counter!(
        REJECTED,
        "HTTP requests refused before any handler (no valid signature, too large), by reason."
    );
    describe_counter!(
        SLACK_CALLS,
        "Slack Web API calls by method and status (ok, ratelimited, api_error, http_error, server_error, timeout, transport_error)."
    );
    describe_histogram!(
        ACK_SECONDS,
        Unit::Seconds,
        "Time from a Slack delivery's arrival to its answer (HTTP response or Socket Mode ack), by transport."
    );
    describe_histogram!(
        JOB_LAG_SECONDS,
        Unit::Seconds,
        "How late a job acted after its due time, by job."
    );
    // Series that exist from the start, at 0, so dashboards and alerts
    // see them before the first event.
    for kind in ["prompt", "reminder"] {
        metrics::counter!(PROMPTS_SENT, "kind" => kind).absolute(0);
        metrics::counter!(PROMPTS_FAILED, "kind" => kind).absolute(0);
    }
    metrics::counter!(PROMPTS_ANSWERED).absolute(0);
}

/// A prompt or reminder (`kind`) was posted, `lag` after it was due.
pub fn prompt_sent(kind: &'static str, lag: Duration) {
    metrics::counter!(PROMPTS_SENT, "kind" => kind).increment(1);
    metrics::histogram!(JOB_LAG_SECONDS, "job" => "send").record(lag.as_secs_f64());
}

/// A prompt or reminder (`kind`) failed for good.
pub fn prompt_failed(kind: &'static str) {
    metrics::counter!(PROMPTS_FAILED, "kind" => kind).increment(1);
}

/// A new note from `source` was saved, answering `answered` prompts.
pub fn note_saved(source: &'static str, answered: usize) {
    metrics::counter!(NOTES_SAVED, "source" => source).increment(1);
    metrics::counter!(PROMPTS_ANSWERED).increment(answered as u64);
}

/// One Web API call to `method` ended with `status`.
pub fn slack_call(method: &'static str, status: &'static str) {
    metrics::counter!(SLACK_CALLS, "method" => method, "status" => status).increment(1);
}

/// An HTTP request was refused before it reached a handler, for `reason`
/// (signature, too_large): logged at debug only, counted here.
pub fn rejected(reason: &'static str) {
    metrics::counter!(REJECTED, "reason" => reason).increment(1);
}

/// A Slack delivery over `transport` (http, socket_mode) was answered
/// `elapsed` after it arrived.
pub fn ack(transport: &'static str, elapsed: Duration) {
    metrics::histogram!(ACK_SECONDS, "transport" => transport).record(elapsed.as_secs_f64());
}

/// One running bot's own state, read at scrape time. `None` leaves a
/// metric out (the database didn't answer in time; Socket Mode not used).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub inbox_depth: Option<i64>,
    pub inbox_oldest_age: Option<Duration>,
    pub inbox_parked: Option<i64>,
    pub socket_mode_connected: Option<bool>,
}

/// The Prometheus text exposition: the process's metrics, then `snap`.
pub fn render(snap: &Snapshot) -> String {
    let mut out = HANDLE.get().map(|h| h.render()).unwrap_or_default();
    let mut gauge = |name: &str, help: &str, value: Option<f64>| {
        if let Some(v) = value {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
            );
        }
    };
    gauge(
        INBOX_DEPTH,
        "Slack events committed to the inbox and not yet handled.",
        snap.inbox_depth.map(|n| n as f64),
    );
    gauge(
        INBOX_OLDEST_AGE,
        "Age of the oldest event waiting in the inbox (0 when empty).",
        snap.inbox_oldest_age.map(|d| d.as_secs_f64()),
    );
    gauge(
        INBOX_PARKED,
        "Inbox events given up on after bot.max_event_attempts.",
        snap.inbox_parked.map(|n| n as f64),
    );
    gauge(
        SOCKET_CONNECTED,
        "1 while the Socket Mode connection is up.",
        snap.socket_mode_connected.map(|c| f64::from(u8::from(c))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_metrics_render_in_prometheus_text_format() {
        init();
        slack_call("auth.test", "ratelimited");
        ack("http", Duration::from_millis(20));
        note_saved("command", 1);
        let text = render(&Snapshot {
            inbox_depth: Some(3),
            inbox_oldest_age: Some(Duration::from_millis(1500)),
            inbox_parked: Some(0),
            socket_mode_connected: None,
        });
        assert!(
            text.contains(
                "fieldnotes_slack_api_calls_total{method=\"auth.test\",status=\"ratelimited\"}"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE fieldnotes_slack_ack_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains("fieldnotes_slack_ack_seconds_bucket{transport=\"http\",le=\"0.025\"}"),
            "{text}"
        );
        assert!(
            text.contains("fieldnotes_notes_saved_total{source=\"command\"}"),
            "{text}"
        );
        assert!(
            text.contains("fieldnotes_prompts_sent_total{kind=\"reminder\"} "),
            "{text}"
        );
        assert!(text.contains("\nfieldnotes_inbox_depth 3\n"), "{text}");
        assert!(
            text.contains("\nfieldnotes_inbox_oldest_age_seconds 1.5\n"),
            "{text}"
        );
        assert!(!text.contains(SOCKET_CONNECTED), "{text}");
        assert!(std::ptr::eq(init(), init()), "installed once");
    }
}
