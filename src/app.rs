//! Wiring: `Application::build` connects the store, runs migrations, builds
//! the Slack client, binds HTTP (port 0 in tests) and starts Socket Mode and
//! the background jobs. `main` only parses the CLI and calls into here.

use crate::clock::SharedClock;
use crate::config::{Config, Secrets};
use crate::jobs;
use crate::slack::{self, socket::SocketListener, Bot};
use crate::store::{self, Store};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

/// HTTP requests handled at once, at most; past this the bot answers 503
/// at once (no `X-Slack-No-Retry`, so Slack retries) instead of queueing
/// them, which keeps memory bounded and every answer inside Slack's 3 s.
pub const HTTP_IN_FLIGHT: usize = 512;

/// `router` behind a load shedder: at most `limit` requests in flight, and
/// an immediate 503 for any past that. (A tokio semaphore in an axum
/// middleware: tower's `load_shed` + `concurrency_limit` layered on an axum
/// router queued requests instead of shedding them.)
fn shed_load(router: axum::Router, limit: usize) -> axum::Router {
    use axum::extract::{Request, State};
    use axum::http::StatusCode;
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};
    async fn gate(
        State(slots): State<Arc<tokio::sync::Semaphore>>,
        req: Request,
        next: Next,
    ) -> Response {
        match slots.try_acquire_owned() {
            Ok(_slot) => next.run(req).await,
            Err(_) => {
                tracing::warn!("too many requests in flight; answering 503 so Slack retries");
                (StatusCode::SERVICE_UNAVAILABLE, "busy, try again").into_response()
            }
        }
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(limit.max(1)));
    router.layer(axum::middleware::from_fn_with_state(slots, gate))
}

/// How to run.
pub struct AppOptions {
    pub config: Config,
    pub secrets: Secrets,
    pub clock: SharedClock,
    /// Serve `POST /slack/events` and `GET /healthz` here (HTTP mode).
    pub http: Option<SocketAddr>,
    /// Run the planner and dispatcher loop in the background.
    pub run_jobs: bool,
    /// Reload the config file when it changes or on SIGHUP.
    pub watch_config: bool,
}

/// A running bot.
pub struct Application {
    state: Arc<Bot>,
    http_addr: Option<SocketAddr>,
    socket: Option<SocketListener>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    http_task: Option<JoinHandle<()>>,
    inbox_writer: Option<JoinHandle<()>>,
}

/// The database URL: `DATABASE_URL`, else the config's SQLite file.
pub fn database_url(config: &Config, secrets: &Secrets) -> String {
    secrets
        .database_url
        .clone()
        .unwrap_or_else(|| store::sqlite_url(&config.sqlite_path))
}

/// Connects and migrates the database.
pub async fn open_store(config: &Config, secrets: &Secrets) -> Result<Store> {
    let store = Store::connect(&database_url(config, secrets)).await?;
    store.migrate().await?;
    Ok(store)
}

impl Application {
    pub async fn build(opts: AppOptions) -> Result<Application> {
        crate::metrics::init();
        let store = open_store(&opts.config, &opts.secrets).await?;
        let state = Arc::new(Bot::connect(opts.config, store, opts.secrets, opts.clock).await?);
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let inbox_writer = state.start_inbox_writer();

        let mut http_addr = None;
        let mut http_task = None;
        if let Some(addr) = opts.http {
            if state.secrets.signing_secrets.is_empty() {
                anyhow::bail!("HTTP mode needs SLACK_SIGNING_SECRET to verify Slack's requests");
            }
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let bound = listener.local_addr()?;
            http_addr = Some(bound);
            // Slack's endpoint and the operator's probes share the listener.
            let router =
                slack::http::router(state.clone()).merge(crate::ops::router(state.clone()));
            let router = shed_load(router, HTTP_IN_FLIGHT);
            http_task = Some(tokio::spawn(crate::server::serve(
                listener,
                router,
                stop_rx.clone(),
            )));
            info!(%bound, "serving Slack requests at POST /slack/events");
        }

        let socket = match state.secrets.app_token.clone() {
            Some(app_token) => {
                let l = slack::socket::start(state.clone(), &app_token).await?;
                info!("connected to Slack over Socket Mode");
                Some(l)
            }
            None => None,
        };
        if socket.is_none() && http_addr.is_none() {
            info!("neither SLACK_APP_TOKEN (Socket Mode) nor --http given: sending prompts only");
        }

        if opts.watch_config {
            tasks.push(crate::reload::spawn(
                state.context().clone(),
                stop_rx.clone(),
            )?);
        }
        if opts.run_jobs {
            let st = state.clone();
            let rx = stop_rx.clone();
            tasks.push(tokio::spawn(supervise(st, rx)));
        }
        Ok(Application {
            state,
            http_addr,
            socket,
            stop,
            tasks,
            http_task,
            inbox_writer,
        })
    }

    pub fn state(&self) -> &Arc<Bot> {
        &self.state
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Serves `GET /healthz`, `/readyz` and `/metrics` on `addr` as well
    /// (`run --admin`; how Socket Mode exposes them) until shutdown;
    /// returns the address bound.
    pub async fn serve_admin(&mut self, addr: SocketAddr) -> Result<SocketAddr> {
        let (bound, task) =
            crate::ops::serve(self.state.clone(), addr, self.stop.subscribe()).await?;
        self.tasks.push(task);
        Ok(bound)
    }

    /// Stops taking deliveries (HTTP answers what it is already handling,
    /// after its inbox commit), then background work: claimed rows finish
    /// or are handed back, and what is left in the inbox waits for the next
    /// start.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(s) = &self.socket {
            s.shutdown().await;
        }
        if let Some(t) = self.http_task {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), t).await;
        }
        for t in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), t).await;
        }
        // Follow-ups already started (confirmations, App Home) finish before
        // the pool closes under them.
        let left = self
            .state
            .background
            .drain(std::time::Duration::from_secs(10))
            .await;
        if left > 0 {
            tracing::warn!(left, "background tasks still running at shutdown");
        }
        // Hand back anything still leased and leave the worker pool, so the
        // other workers carry on at once instead of after the lease.
        let st = &self.state;
        if let Err(e) = st.store.release_leases(&st.worker_id).await {
            tracing::warn!(error = %format!("{e:#}"), "releasing leases on shutdown failed");
        }
        if let Err(e) = st.store.release_inbox(&st.worker_id).await {
            tracing::warn!(error = %format!("{e:#}"), "handing back inbox rows on shutdown failed");
        }
        if let Some(w) = self.inbox_writer {
            w.abort();
        }
        if let Err(e) = st.store.forget_worker(&st.worker_id).await {
            tracing::warn!(error = %format!("{e:#}"), "leaving the worker pool failed");
        }
        self.state.store.close().await;
    }
}

/// Restarts the jobs loop if it panics.
async fn supervise(state: Arc<Bot>, stop: watch::Receiver<bool>) {
    loop {
        let h = tokio::spawn(jobs::run_loop(state.clone(), stop.clone()));
        match h.await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, "jobs loop crashed; restarting");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::sync::Semaphore;
    use tower::ServiceExt;

    /// Past the limit a request is answered 503 at once; a slot that frees
    /// up serves again.
    #[tokio::test]
    async fn requests_past_the_limit_get_503_at_once() {
        let gate = Arc::new(Semaphore::new(0));
        let entered = Arc::new(AtomicUsize::new(0));
        let (g, e) = (gate.clone(), entered.clone());
        let router = axum::Router::new().route(
            "/slack/events",
            axum::routing::post(move || {
                let (g, e) = (g.clone(), e.clone());
                async move {
                    e.fetch_add(1, Ordering::SeqCst);
                    let _ = g.acquire().await;
                    "ok"
                }
            }),
        );
        let router = shed_load(router, 2);
        let req = || Request::post("/slack/events").body(Body::empty()).unwrap();
        let held: Vec<_> = (0..2)
            .map(|_| tokio::spawn(router.clone().oneshot(req())))
            .collect();
        while entered.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        let shed = tokio::time::timeout(Duration::from_secs(5), router.clone().oneshot(req()))
            .await
            .expect("answered at once, not queued")
            .unwrap();
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(shed.headers().get("X-Slack-No-Retry").is_none());
        assert_eq!(entered.load(Ordering::SeqCst), 2, "the handler never ran");
        gate.add_permits(3);
        for h in held {
            assert_eq!(h.await.unwrap().unwrap().status(), StatusCode::OK);
        }
        let again = router.oneshot(req()).await.unwrap();
        assert_eq!(again.status(), StatusCode::OK);
    }
}
