//! Operating the bot: `GET /healthz` (the process answers), `GET /readyz`
//! (the database answers and Slack is connected) and `GET /metrics`
//! (Prometheus text). In HTTP mode they share the listener of
//! `/slack/events`; `run --admin ADDR` serves them on a listener of their
//! own, which is how Socket Mode (no inbound HTTP) exposes them. Bodies are
//! short and fixed: internal errors go to the log, never to a prober.

use crate::metrics::{self, Snapshot};
use crate::slack::Bot;
use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long `/readyz` and `/metrics` wait for the database.
pub const DB_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The three endpoints, with their state applied.
pub fn router(bot: Arc<Bot>) -> Router {
    let state = Arc::new(Ops {
        bot,
        probes: Probes::default(),
    });
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

/// The endpoints' state: the bot, and this listener's cached readings.
struct Ops {
    bot: Arc<Bot>,
    probes: Probes,
}

/// Binds `addr` and serves the endpoints there until `stop` flips.
pub async fn serve(
    state: Arc<Bot>,
    addr: SocketAddr,
    stop: watch::Receiver<bool>,
) -> Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the admin address {addr}"))?;
    let bound = listener.local_addr()?;
    let app = router(state);
    // The same hardened listener as HTTP mode's (HTTP/1.1, header timeout,
    // connection cap).
    let task = tokio::spawn(crate::server::serve(listener, app, stop));
    tracing::info!(%bound, "serving GET /healthz, /readyz and /metrics");
    Ok((bound, task))
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// Alive: the process is serving. Nothing else is checked, so a database
/// outage never gets the bot restarted.
async fn healthz() -> Response {
    plain(StatusCode::OK, "alive\n")
}

/// Why the bot is not ready, if it isn't.
pub async fn readiness(state: &Bot) -> Result<(), &'static str> {
    match tokio::time::timeout(DB_PROBE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!(error = %format!("{e:#}"), "not ready: the database did not answer");
            return Err("database");
        }
        Err(_) => {
            tracing::debug!(timeout = ?DB_PROBE_TIMEOUT, "not ready: the database did not answer in time");
            return Err("database");
        }
    }
    // Without Socket Mode, Slack was reached at start (auth.test): the
    // bot doesn't start otherwise.
    if state.socket_mode.state() == Some(false) {
        return Err("slack");
    }
    Ok(())
}

/// How long a `/readyz` or `/metrics` reading is reused: they are reachable
/// without authentication, and each reading takes a database connection,
/// so a flood of probes must not take the pool from Slack's requests.
const PROBE_TTL: Duration = Duration::from_secs(1);

/// The last readings, one at a time (a burst of probes waits for one).
#[derive(Default)]
struct Probes {
    ready: tokio::sync::Mutex<Option<(tokio::time::Instant, Result<(), &'static str>)>>,
    snapshot: tokio::sync::Mutex<Option<(tokio::time::Instant, Snapshot)>>,
}

async fn cached_readiness(ops: &Ops) -> Result<(), &'static str> {
    let state = &ops.bot;
    let r = {
        let mut last = ops.probes.ready.lock().await;
        match *last {
            Some((at, r)) if at.elapsed() < PROBE_TTL => r,
            _ => {
                let r = readiness(state).await;
                *last = Some((tokio::time::Instant::now(), r));
                r
            }
        }
    };
    // The Socket Mode link costs no I/O: always read live.
    match r {
        Ok(()) if state.socket_mode.state() == Some(false) => Err("slack"),
        r => r,
    }
}

/// The snapshot with its database readings reused for a second; the
/// Socket Mode link (no I/O) is read live.
async fn cached_snapshot(ops: &Ops) -> Snapshot {
    let state = &ops.bot;
    let mut last = ops.probes.snapshot.lock().await;
    let mut snap = match last.as_ref() {
        Some((at, snap)) if at.elapsed() < PROBE_TTL => snap.clone(),
        _ => {
            let snap = snapshot(state).await;
            *last = Some((tokio::time::Instant::now(), snap.clone()));
            snap
        }
    };
    snap.socket_mode_connected = state.socket_mode.state();
    snap
}

async fn readyz(State(state): State<Arc<Ops>>) -> Response {
    match cached_readiness(&state).await {
        Ok(()) => plain(StatusCode::OK, "ready\n"),
        Err("database") => plain(StatusCode::SERVICE_UNAVAILABLE, "not ready: database\n"),
        Err(_) => plain(StatusCode::SERVICE_UNAVAILABLE, "not ready: slack\n"),
    }
}

/// This bot's own gauges, read now; the inbox's are left out when the
/// database doesn't answer in time.
pub async fn snapshot(state: &Bot) -> Snapshot {
    let mut snap = Snapshot {
        socket_mode_connected: state.socket_mode.state(),
        ..Snapshot::default()
    };
    match tokio::time::timeout(DB_PROBE_TIMEOUT, state.store.inbox_gauges()).await {
        Ok(Ok(g)) => {
            snap.inbox_depth = Some(g.pending);
            snap.inbox_parked = Some(g.parked);
            let age = g
                .oldest_pending_ms
                .map(|t| (state.now_ms() - t).max(0) as u64)
                .unwrap_or(0);
            snap.inbox_oldest_age = Some(Duration::from_millis(age));
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %format!("{e:#}"), "reading the inbox for /metrics failed")
        }
        Err(_) => tracing::debug!("reading the inbox for /metrics timed out"),
    }
    snap
}

async fn metrics_text(State(state): State<Arc<Ops>>) -> Response {
    let text = metrics::render(&cached_snapshot(&state).await);
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// The default URL `fieldnotes healthcheck` probes.
pub const DEFAULT_HEALTHCHECK_URL: &str = "http://127.0.0.1:9090/healthz";

/// `fieldnotes healthcheck`: GETs `url` and succeeds on a 2xx, so a
/// container's HEALTHCHECK needs no curl in the image.
pub async fn probe(url: &str, timeout: Duration) -> Result<String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .build()
        .context("building the HTTP client")?;
    let resp = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("GET {url}: {status} {}", body.trim());
    }
    Ok(body)
}

/// Caps glibc's malloc at two arenas, unless `MALLOC_ARENA_MAX` says
/// otherwise. By default every thread that finds the heap busy gets an
/// arena of its own (up to 8 per core), and each keeps the pages it
/// freed: with the tokio workers and one `sqlx-sqlite-worker` per pooled
/// connection, a fan-out to 10,000 people peaked at 49.4 MB, and at 41.1
/// MB with two arenas (BENCHMARKS.md, footprint). Called first thing in
/// `main`, before any thread starts. Elsewhere (musl, other systems), a
/// no-op.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a malloc parameter; it is called
        // before any other thread exists, and a refusal (0) leaves the
        // default in place.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
