//! The `Emulator` handle: starting the HTTP/WebSocket server, workspace
//! fixtures and inspection of what the bot did.
//!
//! A single axum server on 127.0.0.1 serves the Web API (`/api/{method}`),
//! Socket Mode (`/socket`), interaction `response_url`s (`/response/{id}`)
//! and the upload URLs of files.getUploadURLExternal (`/upload/v1/{token}`),
//! so a test needs one address and the bot needs one base URL. Every other
//! path is HTTP 404, as on Slack: `/api//auth.test` and `/api/auth.test/`
//! included.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::Router;

use crate::config::{EmulatorConfig, Failure, User};
use crate::socket_mode::SocketHub;
use crate::state::{ApiCall, Channel, Message, Mode, OpenView, State, UploadedFile};

pub(crate) struct Inner {
    pub config: EmulatorConfig,
    pub addr: SocketAddr,
    pub state: Mutex<State>,
    pub sockets: SocketHub,
    pub http: reqwest::Client,
    pub server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(h) = self.server.get_mut().ok().and_then(|s| s.take()) {
            h.abort();
        }
    }
}

/// A running emulated Slack workspace. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Emulator {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

impl Emulator {
    /// Starts the emulator on 127.0.0.1 with a free port.
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<Emulator> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts the emulator on the given address.
    pub async fn start_on(addr: SocketAddr, config: EmulatorConfig) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let addr = listener.local_addr()?;
        let mut state = State::new();
        state.upsert_user(User {
            id: config.bot_user_id.clone(),
            name: "fieldnotes".into(),
            real_name: "Fieldnotes".into(),
            tz: "America/Los_Angeles".into(),
            is_bot: true,
            deleted: false,
            is_admin: false,
        });
        let inner = Arc::new(Inner {
            config,
            addr,
            state: Mutex::new(state),
            sockets: SocketHub::default(),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .context("building HTTP client")?,
            server: Mutex::new(None),
        });
        let emu = Emulator { inner };
        let app = Router::new()
            // One segment: "/api//auth.test" and "/api/a/b" match nothing.
            .route("/api/{method}", any(crate::web_api::handle))
            .route("/socket", get(crate::socket_mode::handle_upgrade))
            .route("/response/{id}", post(crate::web_api::handle_response_url))
            .route(
                "/upload/v1/{token}",
                // A file of up to Slack's 1 GB, in a multipart body or raw.
                post(crate::files::handle_upload).layer(DefaultBodyLimit::max(
                    crate::files::MAX_FILE_BYTES + 64 * 1024,
                )),
            )
            .with_state(emu.weak());
        let handle = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("slack emulator server stopped: {e}");
            }
        });
        *emu.inner.server.lock().unwrap() = Some(handle);
        Ok(emu)
    }

    pub(crate) fn weak(&self) -> WeakEmulator {
        WeakEmulator(Arc::downgrade(&self.inner))
    }

    pub(crate) fn st(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Web API base, without a trailing slash:
    /// `http://127.0.0.1:PORT/api`. Callers join `{api_url}/{method}` (as
    /// slack-morphism's `with_slack_api_url` does), giving exactly one slash;
    /// `{api_url}//{method}` is a 404, as on Slack.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.inner.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// Stops the server (it also stops when the last handle is dropped).
    pub fn shutdown(&self) {
        if let Some(h) = self.inner.server.lock().unwrap().take() {
            h.abort();
        }
        self.inner.sockets.close_all();
    }

    // ---- fixtures ----

    /// Adds (or replaces, in place) a workspace member.
    pub fn add_user(&self, u: User) {
        self.st().upsert_user(u);
    }

    /// Adds (or replaces) many members under one lock: the way to set up a
    /// workspace of thousands.
    pub fn add_users(&self, users: impl IntoIterator<Item = User>) {
        let mut st = self.st();
        for u in users {
            st.upsert_user(u);
        }
    }

    /// Adds (or replaces) a public channel.
    pub fn add_channel(&self, id: &str, name: &str, members: &[&str]) {
        self.st().upsert_channel(Channel::new(
            id,
            name,
            members.iter().map(|s| s.to_string()).collect(),
            None,
        ));
    }

    pub fn set_channel_members(&self, id: &str, members: &[&str]) {
        if let Some(c) = self.st().channel_mut(id) {
            c.set_members(members.iter().map(|s| s.to_string()).collect());
        }
    }

    pub fn add_usergroup(&self, id: &str, handle: &str, users: &[&str]) {
        self.st().usergroups.insert(
            id.into(),
            (handle.into(), users.iter().map(|s| s.to_string()).collect()),
        );
    }

    /// All users, the bot included, in the order they were added.
    pub fn users(&self) -> Vec<User> {
        self.st().users().to_vec()
    }

    /// Marks a user deactivated (users.info then says `deleted: true`).
    pub fn deactivate_user(&self, id: &str) {
        if let Some(u) = self.st().user_mut(id) {
            u.deleted = true;
        }
    }

    // ---- delivery target ----

    /// Deliver events, interactions and commands over Socket Mode (default).
    pub fn deliver_via_socket_mode(&self) {
        self.st().mode = Mode::Socket;
    }

    /// Deliver by POSTing signed requests to the bot's URL.
    pub fn deliver_via_http(&self, url: &str) {
        self.st().mode = Mode::Http(url.to_string());
    }

    pub async fn wait_for_socket_connection(&self, timeout: Duration) -> anyhow::Result<()> {
        self.wait_until(timeout, |e| e.socket_connection_count() > 0)
            .await
            .context("no Socket Mode connection")
    }

    pub fn socket_connection_count(&self) -> usize {
        self.inner.sockets.count()
    }

    /// Sends `{"type":"disconnect","reason":"refresh_requested"}` on every
    /// socket, as Slack does a few times an hour.
    pub async fn request_socket_refresh(&self) {
        self.inner.sockets.disconnect_all("refresh_requested");
    }

    // ---- inspection ----

    pub fn calls(&self) -> Vec<ApiCall> {
        self.st().calls().to_vec()
    }

    pub fn calls_to(&self, method: &str) -> Vec<ApiCall> {
        self.st()
            .calls()
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// How many calls `method` received (answered or not), without copying
    /// the call log.
    pub fn call_count(&self, method: &str) -> usize {
        self.st().call_count(method)
    }

    /// Every message in the workspace, in post order.
    pub fn messages(&self) -> Vec<Message> {
        self.st().messages.iter().cloned().collect()
    }

    /// The messages of one conversation (ephemeral ones and thread replies
    /// included), in post order.
    pub fn messages_in(&self, channel: &str) -> Vec<Message> {
        self.st().messages.in_channel(channel).cloned().collect()
    }

    /// For each human user (not a bot, deactivated or not): how many
    /// top-level, non-ephemeral messages the bot has in their DM with it (0
    /// when no DM is open). More than 1 for a one-prompt run is a duplicate;
    /// 0 is a lost prompt.
    pub fn bot_message_counts_by_dm_user(&self) -> HashMap<String, usize> {
        let bot_id = self.inner.config.bot_id.as_str();
        let st = self.st();
        st.users()
            .iter()
            .filter(|u| !u.is_bot)
            .map(|u| {
                let n = st.dm_of(&u.id).map_or(0, |c| {
                    st.messages
                        .count_top_level(&c.id, |m| m.bot_id.as_deref() == Some(bot_id))
                });
                (u.id.clone(), n)
            })
            .collect()
    }

    /// Every file begun with files.getUploadURLExternal, in that order:
    /// pending (`bytes` is `None` until they reach the upload URL),
    /// uploaded, or completed (and shared, given a conversation).
    pub fn uploaded_files(&self) -> Vec<UploadedFile> {
        self.st().files.files().cloned().collect()
    }

    /// One of [`Emulator::uploaded_files`], by file id.
    pub fn uploaded_file(&self, id: &str) -> Option<UploadedFile> {
        self.st().files.file(id).cloned()
    }

    /// The IM channel between the bot and `user`, once opened.
    pub fn dm_channel(&self, user: &str) -> Option<String> {
        self.st().dm_of(user).map(|c| c.id.clone())
    }

    pub fn views(&self) -> Vec<OpenView> {
        self.st().views.clone()
    }

    /// The topmost open modal of `user`.
    pub fn open_modal_for(&self, user: &str) -> Option<OpenView> {
        self.st().modal_stack(user).last().map(|v| (*v).clone())
    }

    pub fn home_view(&self, user: &str) -> Option<OpenView> {
        self.st()
            .views
            .iter()
            .find(|v| v.user == user && v.kind == "home")
            .cloned()
    }

    /// Every (method, argument) pair the bot sent that Slack's reference
    /// (`api-ref/METHOD.json`) does not list for the method, besides `token`
    /// and `team_id`: de-duplicated, sorted. Slack ignores such arguments, so
    /// the calls still work, but each is a caller bug (a misspelt or
    /// misplaced argument silently does nothing on Slack).
    pub fn unexpected_args(&self) -> Vec<(String, String)> {
        self.st().unexpected_args().iter().cloned().collect()
    }

    /// Panics, listing them, if the bot sent any argument Slack's reference
    /// does not list (see [`Emulator::unexpected_args`]).
    pub fn assert_no_unexpected_args(&self) {
        let u = self.unexpected_args();
        if !u.is_empty() {
            let list = u
                .iter()
                .map(|(m, a)| format!("{m}: {a}"))
                .collect::<Vec<_>>()
                .join(", ");
            panic!(
                "the bot sent arguments Slack's reference does not list for these methods: {list}"
            );
        }
    }

    /// Number of Web API calls answered 429.
    pub fn rate_limited_count(&self) -> u64 {
        self.st().limiter.rejected()
    }

    /// Polls `f` every 20 ms until it holds or `timeout` passes.
    pub async fn wait_until<F: Fn(&Emulator) -> bool>(
        &self,
        timeout: Duration,
        f: F,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if f(self) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!("condition not met within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Makes the next `times` calls to `method` fail (or be delayed).
    pub fn fail_next(&self, method: &str, times: u32, failure: Failure) {
        let mut st = self.st();
        let q = st.failures.entry(method.to_string()).or_default();
        for _ in 0..times {
            q.push_back(failure.clone());
        }
    }

    /// A fresh trigger_id for `user`, as if they had just clicked something
    /// (for calling views.open directly in tests).
    pub fn mint_trigger_id(&self, user: &str) -> String {
        self.st().mint_trigger(user)
    }

    /// Slack's request signature: "v0=" + hex(HMAC-SHA256(secret, "v0:ts:body")).
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        crate::delivery::sign(&self.inner.config.signing_secret, timestamp, body)
    }
}

/// A handle the server's routes hold, so dropping every `Emulator` stops it.
#[derive(Clone)]
pub(crate) struct WeakEmulator(std::sync::Weak<Inner>);

impl WeakEmulator {
    pub fn upgrade(&self) -> Option<Emulator> {
        self.0.upgrade().map(|inner| Emulator { inner })
    }
}
