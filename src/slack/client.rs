//! The Web API client: slack-morphism's hyper client pointed at
//! `SLACK_API_URL`, wrapped in the handful of calls the bot makes, with
//! Slack's failures sorted into "wait and retry" and "give up".

use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::pacer::{epoch_ms, Pacer};

/// Slack's documented per-method tiers (calls per minute per workspace).
/// chat.postMessage has its own special limit and is paced by the
/// dispatcher; views.open answers a click within trigger_id's 3 s and is
/// never held back.
pub fn tier_per_minute(method: &str) -> Option<u32> {
    Some(match method {
        "users.list" | "usergroups.users.list" => 20,
        "conversations.open"
        | "conversations.history"
        | "conversations.replies"
        | "chat.update" => 50,
        "users.info"
        | "conversations.members"
        | "views.publish"
        | "views.update"
        | "chat.postEphemeral"
        | "files.getUploadURLExternal"
        | "files.completeUploadExternal"
        | "auth.test" => 100,
        _ => return None,
    })
}

/// Per-method pacers at Slack's tiers, divided among the live workers.
/// A 429 on a method pauses every caller of that method in this process
/// until its `Retry-After` and slows the method down (AIMD, see `Pacer`);
/// the pause is also queued for the other workers, which learn of it
/// through the database (`take_new_pauses` / `adopt_pause`).
#[derive(Debug, Default)]
pub struct MethodLimits {
    pacers: Mutex<HashMap<&'static str, Arc<Pacer>>>,
    workers: AtomicU32,
    /// Multiplies every tier (1.0 for Slack; the demo compresses time).
    scale: Mutex<Option<f64>>,
    /// Pauses seen here and not yet shared: (method, until, epoch ms).
    new_pauses: Mutex<Vec<(String, i64)>>,
    /// How many 429s this process has seen, by method.
    rate_limited: Mutex<HashMap<String, u64>>,
}

impl MethodLimits {
    /// This worker's share of `method`'s tier, per minute.
    fn share(&self, method: &str) -> Option<f64> {
        let scale = self.scale.lock().expect("scale lock").unwrap_or(1.0);
        let tier = tier_per_minute(method)? as f64 * scale;
        Some(tier / self.workers.load(Ordering::Relaxed).max(1) as f64)
    }

    fn pacer(&self, method: &str) -> Option<Arc<Pacer>> {
        let mut m = self.pacers.lock().expect("limits lock");
        if let Some(p) = m.get(method) {
            return Some(p.clone());
        }
        let share = self.share(method)?;
        let name: &'static str = KNOWN_METHODS.iter().find(|k| **k == method)?;
        Some(
            m.entry(name)
                .or_insert_with(|| Arc::new(Pacer::for_limit(share)))
                .clone(),
        )
    }

    /// Paces `method` with a pacer of the caller's (the dispatcher's
    /// workspace-wide chat.postMessage bucket), so 429s on it pause it too.
    pub fn register(&self, method: &'static str, pacer: Arc<Pacer>) {
        self.pacers
            .lock()
            .expect("limits lock")
            .insert(method, pacer);
    }

    /// Waits for this method's turn.
    pub async fn wait(&self, method: &'static str) {
        if let Some(p) = self.pacer(method) {
            p.acquire().await;
        }
    }

    /// Waits out a pause on `method` without taking a token (for calls
    /// paced elsewhere, or never held back, that must still honour a 429).
    pub async fn wait_unpaused(&self, method: &str) {
        let p = self
            .pacers
            .lock()
            .expect("limits lock")
            .get(method)
            .cloned();
        if let Some(p) = p {
            p.wait_unpaused().await;
        }
    }

    /// Slack answered 429 on `method`: pause it here and queue the pause
    /// for the other workers.
    pub fn rate_limited(&self, method: &str, retry_after: Duration) {
        *self
            .rate_limited
            .lock()
            .expect("limits lock")
            .entry(method.to_string())
            .or_default() += 1;
        let pacer = self.pacer(method).or_else(|| {
            // A method without a tier (views.open) still pauses.
            let name: &'static str = KNOWN_METHODS.iter().find(|k| **k == method)?;
            let p = Arc::new(Pacer::new(6000.0, 100));
            self.pacers
                .lock()
                .expect("limits lock")
                .insert(name, p.clone());
            Some(p)
        });
        if let Some(p) = pacer {
            if p.penalize(retry_after) {
                tracing::warn!(
                    method,
                    ?retry_after,
                    "Slack rate-limited this method: pausing every caller, then slowing down"
                );
            }
        }
        let until = epoch_ms() + retry_after.as_millis() as i64;
        self.new_pauses
            .lock()
            .expect("limits lock")
            .push((method.to_string(), until));
    }

    /// Pauses seen by this worker since the last call, to share.
    pub fn take_new_pauses(&self) -> Vec<(String, i64)> {
        std::mem::take(&mut *self.new_pauses.lock().expect("limits lock"))
    }

    /// A pause another worker saw on `method`, until `until_ms` (epoch ms).
    pub fn adopt_pause(&self, method: &str, until_ms: i64) {
        let left = until_ms - epoch_ms();
        if left <= 0 {
            return;
        }
        if let Some(p) = self.pacer(method) {
            p.pause_until(std::time::Instant::now() + Duration::from_millis(left as u64));
        }
    }

    /// 429s seen by this process, by method.
    pub fn rate_limited_counts(&self) -> HashMap<String, u64> {
        self.rate_limited.lock().expect("limits lock").clone()
    }

    /// Multiplies every tier by `scale` (the demo, which runs weeks in
    /// seconds against an emulator whose limits are scaled alike).
    pub fn set_scale(&self, scale: f64) {
        *self.scale.lock().expect("scale lock") = Some(scale);
        self.reshape();
    }

    /// The factor `set_scale` set (1 unless the demo scaled the limits).
    pub fn scale(&self) -> f64 {
        self.scale.lock().expect("scale lock").unwrap_or(1.0)
    }

    /// Shares each tier among `n` live workers.
    pub fn set_workers(&self, n: u32) {
        if self.workers.swap(n.max(1), Ordering::Relaxed) == n.max(1) {
            return;
        }
        self.reshape();
    }

    fn reshape(&self) {
        for (method, p) in self.pacers.lock().expect("limits lock").iter() {
            if let Some(share) = self.share(method) {
                p.set_limit(share);
            }
        }
    }
}

/// Every Web API method the bot calls.
pub const KNOWN_METHODS: &[&str] = &[
    "auth.test",
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "chat.getPermalink",
    "conversations.open",
    "conversations.history",
    "conversations.replies",
    "conversations.members",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
    "users.info",
    "users.list",
    "usergroups.users.list",
    "views.open",
    "views.update",
    "views.publish",
];

/// The mark a bot message carries in Slack's message metadata, so a worker
/// that is unsure whether an earlier attempt went out can look for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMark {
    /// "prompt" or "reminder".
    pub kind: String,
    pub prompt_id: i64,
    pub seq: i64,
}

/// The event_type of Fieldnotes' message metadata.
pub const MARK_EVENT_TYPE: &str = "fieldnotes_prompt";

impl MessageMark {
    fn to_metadata(&self) -> SlackMessageMetadata {
        let mut payload = HashMap::new();
        payload.insert("kind".to_string(), self.kind.clone());
        payload.insert("prompt_id".to_string(), self.prompt_id.to_string());
        payload.insert("seq".to_string(), self.seq.to_string());
        SlackMessageMetadata {
            event_type: MARK_EVENT_TYPE.into(),
            event_payload: Some(payload),
        }
    }

    fn matches(&self, m: &SlackMessageMetadata) -> bool {
        m.event_type == MARK_EVENT_TYPE
            && m.event_payload.as_ref().is_some_and(|p| {
                p.get("kind") == Some(&self.kind)
                    && p.get("prompt_id") == Some(&self.prompt_id.to_string())
                    && p.get("seq") == Some(&self.seq.to_string())
            })
    }
}

/// Why a Slack call failed, as the retry logic needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackCallError {
    /// HTTP 429: wait `retry_after`, then try again.
    #[error("rate limited by Slack (retry after {0:?})")]
    RateLimited(Duration),
    /// A 5xx, a timeout or a connection failure: retry with backoff.
    #[error("Slack is unavailable: {0}")]
    Transient(String),
    /// Slack answered `ok: false` with this error code; retrying won't help.
    #[error("Slack refused the call: {0}")]
    Api(String),
}

/// The longest `Retry-After` honoured: Slack's are seconds to a minute.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

impl SlackCallError {
    fn from_client(e: SlackClientError) -> Self {
        match e {
            SlackClientError::RateLimitError(r) => {
                // Bounded: a Retry-After of u64::MAX (from a proxy, say)
                // would overflow the pacer's `Instant` arithmetic.
                SlackCallError::RateLimited(
                    r.retry_after
                        .unwrap_or(Duration::from_secs(1))
                        .min(MAX_RETRY_AFTER),
                )
            }
            SlackClientError::ApiError(a) => match a.code.as_str() {
                "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                    SlackCallError::Transient(a.code)
                }
                _ => SlackCallError::Api(a.code),
            },
            SlackClientError::HttpError(h) if h.status_code.as_u16() == 429 => {
                SlackCallError::RateLimited(Duration::from_secs(1))
            }
            SlackClientError::HttpError(h) if h.status_code.is_server_error() => {
                SlackCallError::Transient(format!("HTTP {}", h.status_code))
            }
            SlackClientError::HttpError(h) => {
                SlackCallError::Api(format!("HTTP {}", h.status_code))
            }
            other => SlackCallError::Transient(other.to_string()),
        }
    }
}

/// The `status` label of `fieldnotes_slack_api_calls_total` for a failed
/// call: `ratelimited` (429), `server_error` (5xx, or Slack's own
/// "try again" codes), `api_error` (`ok: false` with any other code),
/// `http_error` (another HTTP status) or `transport_error` (no answer).
fn call_status(e: &SlackClientError) -> &'static str {
    match e {
        SlackClientError::RateLimitError(_) => "ratelimited",
        SlackClientError::ApiError(a) => match a.code.as_str() {
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                "server_error"
            }
            "ratelimited" => "ratelimited",
            _ => "api_error",
        },
        SlackClientError::HttpError(h) if h.status_code.as_u16() == 429 => "ratelimited",
        SlackClientError::HttpError(h) if h.status_code.is_server_error() => "server_error",
        SlackClientError::HttpError(_) => "http_error",
        _ => "transport_error",
    }
}

pub type SlackResult<T> = Result<T, SlackCallError>;

/// Retries a call that Slack rate-limited (after its `Retry-After`) or that
/// failed transiently (with backoff), up to `attempts` times in all.
pub async fn with_retries<T, F, Fut>(attempts: u32, mut call: F) -> SlackResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = SlackResult<T>>,
{
    let mut n = 0;
    loop {
        n += 1;
        match call().await {
            Err(SlackCallError::RateLimited(wait)) if n < attempts => {
                tokio::time::sleep(wait).await
            }
            Err(SlackCallError::Transient(_)) if n < attempts => {
                tokio::time::sleep(Duration::from_millis(250 << n.min(6))).await
            }
            other => return other,
        }
    }
}

/// What the bot needs to know about a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonInfo {
    pub id: String,
    pub name: String,
    pub tz: Option<String>,
    pub is_bot: bool,
    pub deleted: bool,
}

/// A posted message's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// Web API calls with the bot token. Cheap to clone.
#[derive(Clone)]
pub struct SlackApi {
    client: Arc<SlackHyperClient>,
    token: SlackApiToken,
    timeout: Duration,
    limits: Arc<MethodLimits>,
}

/// Installs the process-wide rustls crypto provider (ring) once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds slack-morphism's hyper client for `api_url`; plain `http://` is
/// allowed so the emulator on 127.0.0.1 works.
pub fn hyper_client(api_url: &str) -> Arc<SlackHyperClient> {
    let connector = SlackClientHyperConnector::with_connector(https_connector())
        .with_slack_api_url(&api_base(api_url));
    Arc::new(SlackClient::new(connector))
}

/// The TCP/TLS connector under every Slack client: native roots, and
/// plain `http://` allowed for the emulator.
pub fn https_connector() -> HttpsConnector {
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config())
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build()
}

/// The TLS settings every connector starts from, built once: the system's
/// root certificates are read and parsed at the first call, and every
/// later connector shares that root store (a clone shares it by `Arc`)
/// instead of holding its own 66 kB copy (BENCHMARKS.md, footprint).
fn tls_config() -> rustls::ClientConfig {
    static CONFIG: std::sync::OnceLock<rustls::ClientConfig> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use hyper_rustls::ConfigBuilderExt;
            install_crypto_provider();
            match rustls::ClientConfig::builder().with_native_roots() {
                Ok(b) => b.with_no_client_auth(),
                // No system roots (e.g. a slim container talking to the
                // emulator): an empty root store still allows plain http.
                Err(_) => rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            }
        })
        .clone()
}

/// What `https_connector` builds.
pub type HttpsConnector =
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// The Web API base as slack-morphism wants it: it joins
/// `"{base}/{method}"`, so the base keeps no trailing slash.
pub fn api_base(api_url: &str) -> String {
    let base = api_url.trim().trim_end_matches('/');
    if base.is_empty() {
        crate::config::secrets::DEFAULT_SLACK_API_URL.to_string()
    } else {
        base.to_string()
    }
}

impl SlackApi {
    pub fn new(client: Arc<SlackHyperClient>, bot_token: &SecretString) -> Self {
        Self {
            client,
            token: SlackApiToken::new(bot_token.expose_secret().to_string().into()),
            timeout: Duration::from_secs(10),
            limits: Arc::new(MethodLimits::default()),
        }
    }

    /// Gives up on a call after `timeout` (treated as transient: Slack may
    /// or may not have acted).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The per-method pacers, to share them among workers.
    pub fn limits(&self) -> &MethodLimits {
        &self.limits
    }

    pub fn hyper(&self) -> Arc<SlackHyperClient> {
        self.client.clone()
    }

    /// One call to `method`: a 429 pauses the method for every caller
    /// (and, through the database, every worker) until its Retry-After.
    async fn call<T, F>(&self, method: &'static str, f: F) -> SlackResult<T>
    where
        F: std::future::Future<Output = ClientResult<T>>,
    {
        let r = match tokio::time::timeout(self.timeout, f).await {
            Ok(Ok(v)) => {
                crate::metrics::slack_call(method, "ok");
                Ok(v)
            }
            Ok(Err(e)) => {
                crate::metrics::slack_call(method, call_status(&e));
                Err(SlackCallError::from_client(e))
            }
            Err(_) => {
                crate::metrics::slack_call(method, "timeout");
                Err(SlackCallError::Transient("timed out".into()))
            }
        };
        if let Err(SlackCallError::RateLimited(d)) = &r {
            self.limits.rate_limited(method, *d);
        }
        r
    }

    /// `auth.test`: the bot's own user id.
    pub async fn bot_user_id(&self) -> SlackResult<String> {
        let s = self.client.open_session(&self.token);
        let r = self.call("auth.test", s.auth_test()).await?;
        Ok(r.user_id.to_string())
    }

    /// chat.postMessage, in `thread_ts`'s thread when given; `channel` may
    /// be a user id, which lands in the bot's DM with them. Paced by the
    /// caller (the dispatcher's workspace pacer and per-channel spacing).
    /// Posts a message, taking its turn in the workspace's chat.postMessage
    /// bucket (which the dispatcher registers), so confirmations and
    /// notices share Slack's limit with prompts instead of running into it.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Vec<SlackBlock>,
    ) -> SlackResult<Posted> {
        self.limits.wait("chat.postMessage").await;
        self.post_message_with_token(channel, thread_ts, text, blocks, None)
            .await
    }

    /// Posts a message carrying `mark` in its metadata, taking its turn
    /// in the workspace's chat.postMessage bucket.
    pub async fn post_message_marked(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Vec<SlackBlock>,
        mark: &MessageMark,
    ) -> SlackResult<Posted> {
        self.limits.wait("chat.postMessage").await;
        self.post_message_with_token(channel, thread_ts, text, blocks, Some(mark))
            .await
    }

    /// Posts a message for a caller that already took its token from the
    /// chat.postMessage bucket (the dispatcher claims as many rows as it
    /// has tokens); still waits out a 429 pause.
    pub async fn post_message_with_token(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Vec<SlackBlock>,
        mark: Option<&MessageMark>,
    ) -> SlackResult<Posted> {
        let s = self.client.open_session(&self.token);
        let mut content = SlackMessageContent::new()
            .with_text(text.into())
            .with_blocks(blocks);
        if let Some(m) = mark {
            content = content.with_metadata(m.to_metadata());
        }
        let mut req = SlackApiChatPostMessageRequest::new(channel.into(), content);
        if let Some(t) = thread_ts {
            req = req.with_thread_ts(t.into());
        }
        self.limits.wait_unpaused("chat.postMessage").await;
        let r = self
            .call("chat.postMessage", s.chat_post_message(&req))
            .await?;
        Ok(Posted {
            channel: r.channel.to_string(),
            ts: r.ts.to_string(),
        })
    }

    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: Vec<SlackBlock>,
    ) -> SlackResult<()> {
        let s = self.client.open_session(&self.token);
        let content = SlackMessageContent::new()
            .with_text(text.into())
            .with_blocks(blocks);
        let req = SlackApiChatUpdateRequest::new(channel.into(), content, ts.into());
        self.limits.wait("chat.update").await;
        self.call("chat.update", s.chat_update(&req))
            .await
            .map(|_| ())
    }

    /// The bot's DM channel with a person (conversations.open, Tier 3).
    pub async fn open_dm(&self, user: &str) -> SlackResult<String> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiConversationsOpenRequest::new().with_users(vec![user.into()]);
        self.limits.wait("conversations.open").await;
        let r = self
            .call("conversations.open", s.conversations_open(&req))
            .await?;
        Ok(r.channel.id.to_string())
    }

    /// Looks through a channel's recent history (conversations.history,
    /// Tier 3), newest first, for a bot message carrying `mark`; returns its
    /// ts. Reads at most `max_pages` pages of 200 (a DM with the bot is
    /// short, and the message sought is recent).
    pub async fn find_marked(
        &self,
        channel: &str,
        mark: &MessageMark,
        max_pages: usize,
    ) -> SlackResult<Option<String>> {
        let s = self.client.open_session(&self.token);
        let mut cursor: Option<SlackCursorId> = None;
        for _ in 0..max_pages.max(1) {
            let mut req = SlackApiConversationsHistoryRequest::new()
                .with_channel(channel.into())
                .with_limit(200)
                .with_include_all_metadata(true);
            if let Some(c) = cursor.take() {
                req = req.with_cursor(c);
            }
            self.limits.wait("conversations.history").await;
            let r = self
                .call("conversations.history", s.conversations_history(&req))
                .await?;
            if let Some(m) = r.messages.iter().find(|m| {
                m.content
                    .metadata
                    .as_ref()
                    .is_some_and(|md| mark.matches(md))
            }) {
                return Ok(Some(m.origin.ts.to_string()));
            }
            match r
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.0.is_empty())
            {
                Some(c) => cursor = Some(c),
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Looks through a thread's replies (conversations.replies, Tier 3)
    /// for a bot message carrying `mark`, or sharing `file_id`; returns
    /// its ts. Reads at most `max_pages` pages of 200.
    pub async fn find_in_thread(
        &self,
        channel: &str,
        thread_ts: &str,
        mark: Option<&MessageMark>,
        file_id: Option<&str>,
        max_pages: usize,
    ) -> SlackResult<Option<String>> {
        let s = self.client.open_session(&self.token);
        let mut cursor: Option<SlackCursorId> = None;
        for _ in 0..max_pages.max(1) {
            // slack-morphism's request type has no `include_all_metadata`,
            // without which Slack leaves the marks out: the documented
            // arguments, sent as they are.
            let cursor_arg = cursor.take().map(|c| c.0);
            let (channel_arg, ts_arg) = (channel.to_string(), thread_ts.to_string());
            let (limit_arg, meta_arg) = ("200".to_string(), "true".to_string());
            let params = vec![
                ("channel", Some(&channel_arg)),
                ("ts", Some(&ts_arg)),
                ("limit", Some(&limit_arg)),
                ("include_all_metadata", Some(&meta_arg)),
                ("cursor", cursor_arg.as_ref()),
            ];
            self.limits.wait("conversations.replies").await;
            let r: SlackApiConversationsRepliesResponse = self
                .call(
                    "conversations.replies",
                    s.http_session_api
                        .http_get("conversations.replies", &params, None),
                )
                .await?;
            if let Some(m) = r.messages.iter().find(|m| {
                mark.is_some_and(|mark| {
                    m.content
                        .metadata
                        .as_ref()
                        .is_some_and(|md| mark.matches(md))
                }) || file_id.is_some_and(|f| {
                    m.content
                        .files
                        .as_ref()
                        .is_some_and(|fs| fs.iter().any(|x| x.id.0 == f))
                })
            }) {
                return Ok(Some(m.origin.ts.to_string()));
            }
            match r
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.0.is_empty())
            {
                Some(c) => cursor = Some(c),
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// files.getUploadURLExternal: where to send a file's bytes, and its id.
    pub async fn upload_url(
        &self,
        filename: &str,
        length: usize,
        alt_txt: &str,
    ) -> SlackResult<(String, String)> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiFilesGetUploadUrlExternalRequest::new(filename.into(), length)
            .with_alt_txt(alt_txt.into());
        self.limits.wait("files.getUploadURLExternal").await;
        let r = self
            .call(
                "files.getUploadURLExternal",
                s.get_upload_url_external(&req),
            )
            .await?;
        Ok((r.upload_url.0.to_string(), r.file_id.0))
    }

    /// POSTs a file's bytes to the URL files.getUploadURLExternal gave.
    /// The URL is pre-signed: no token goes with it. Any 200 is success
    /// (Slack answers with plain text, not JSON).
    pub async fn upload_bytes(
        &self,
        url: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> SlackResult<()> {
        use http_body_util::Full;
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| SlackCallError::Api(format!("bad upload URL: {e}")))?;
        let req = hyper::Request::post(uri)
            .header("content-type", content_type)
            .body(Full::new(hyper::body::Bytes::from(bytes)))
            .map_err(|e| SlackCallError::Api(format!("building the upload: {e}")))?;
        let connector = https_connector();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, Full<hyper::body::Bytes>>(connector);
        let resp = match tokio::time::timeout(self.timeout, client.request(req)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(SlackCallError::Transient(format!("uploading a file: {e}"))),
            Err(_) => {
                return Err(SlackCallError::Transient(
                    "uploading a file timed out".into(),
                ))
            }
        };
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else if status.as_u16() == 429 || status.is_server_error() {
            Err(SlackCallError::Transient(format!(
                "the upload URL answered {status}"
            )))
        } else {
            Err(SlackCallError::Api(format!(
                "upload_failed_{}",
                status.as_u16()
            )))
        }
    }

    /// files.completeUploadExternal: shares an uploaded file in a channel,
    /// as a reply in `thread_ts`'s thread.
    pub async fn complete_upload(
        &self,
        file_id: &str,
        title: &str,
        channel: &str,
        thread_ts: Option<&str>,
    ) -> SlackResult<()> {
        let s = self.client.open_session(&self.token);
        let mut req =
            SlackApiFilesCompleteUploadExternalRequest::new(vec![SlackApiFilesComplete::new(
                file_id.into(),
            )
            .with_title(title.into())])
            .with_channel_id(channel.into());
        if let Some(t) = thread_ts {
            req = req.with_thread_ts(t.into());
        }
        self.limits.wait("files.completeUploadExternal").await;
        self.call(
            "files.completeUploadExternal",
            s.files_complete_upload_external(&req),
        )
        .await
        .map(|_| ())
    }

    /// Publishes a person's App Home tab (views.publish).
    pub async fn publish_home(&self, user: &str, view: SlackView) -> SlackResult<()> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiViewsPublishRequest::new(user.into(), view);
        self.limits.wait("views.publish").await;
        self.call("views.publish", s.views_publish(&req))
            .await
            .map(|_| ())
    }

    /// One page of the workspace's people (users.list, Tier 2, 1,000 a
    /// page) and the cursor of the next page, if any. Callers page through
    /// and keep what they need, so a 100,000-person workspace is never held
    /// whole.
    pub async fn users_page(
        &self,
        cursor: Option<&str>,
    ) -> SlackResult<(Vec<PersonInfo>, Option<String>)> {
        let s = self.client.open_session(&self.token);
        let mut req = SlackApiUsersListRequest::new().with_limit(1000);
        if let Some(c) = cursor {
            req = req.with_cursor(SlackCursorId(c.to_string()));
        }
        self.limits.wait("users.list").await;
        let r = self.call("users.list", s.users_list(&req)).await?;
        let next = r
            .response_metadata
            .and_then(|m| m.next_cursor)
            .map(|c| c.0)
            .filter(|c| !c.is_empty());
        Ok((r.members.iter().map(person_info).collect(), next))
    }

    /// chat.postEphemeral: a message only `user` sees.
    pub async fn post_ephemeral(&self, channel: &str, user: &str, text: &str) -> SlackResult<()> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiChatPostEphemeralRequest::new(
            channel.into(),
            user.into(),
            SlackMessageContent::new().with_text(text.into()),
        );
        self.call("chat.postEphemeral", s.chat_post_ephemeral(&req))
            .await
            .map(|_| ())
    }

    /// chat.getPermalink: a link to a message.
    pub async fn permalink(&self, channel: &str, ts: &str) -> SlackResult<String> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiChatGetPermalinkRequest::new(channel.into(), ts.into());
        let r = self
            .call("chat.getPermalink", s.chat_get_permalink(&req))
            .await?;
        Ok(r.permalink.to_string())
    }

    /// views.update: replaces an open view.
    pub async fn update_view(&self, view_id: &str, view: SlackView) -> SlackResult<()> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiViewsUpdateRequest::new(view).with_view_id(view_id.into());
        self.limits.wait("views.update").await;
        self.call("views.update", s.views_update(&req))
            .await
            .map(|_| ())
    }

    pub async fn open_view(&self, trigger_id: &str, view: SlackView) -> SlackResult<String> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiViewsOpenRequest::new(trigger_id.into(), view);
        let r = self.call("views.open", s.views_open(&req)).await?;
        Ok(r.view.state_params.id.to_string())
    }

    pub async fn user_info(&self, user: &str) -> SlackResult<PersonInfo> {
        let s = self.client.open_session(&self.token);
        self.limits.wait("users.info").await;
        let r = self
            .call(
                "users.info",
                s.users_info(&SlackApiUsersInfoRequest::new(user.into())),
            )
            .await?;
        Ok(person_info(&r.user))
    }

    /// Every member of a channel, following cursors.
    pub async fn channel_members(&self, channel: &str) -> SlackResult<Vec<String>> {
        let s = self.client.open_session(&self.token);
        let mut out = Vec::new();
        let mut cursor: Option<SlackCursorId> = None;
        loop {
            let mut req = SlackApiConversationsMembersRequest::new()
                .with_channel(channel.into())
                .with_limit(1000);
            if let Some(c) = cursor.take() {
                req = req.with_cursor(c);
            }
            self.limits.wait("conversations.members").await;
            let r = self
                .call("conversations.members", s.conversations_members(&req))
                .await?;
            out.extend(r.members.into_iter().map(|m| m.to_string()));
            match r
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.0.is_empty())
            {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(out)
    }

    pub async fn usergroup_members(&self, group: &str) -> SlackResult<Vec<String>> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiUserGroupsUsersListRequest::new(group.into());
        self.limits.wait("usergroups.users.list").await;
        let r = self
            .call("usergroups.users.list", s.usergroups_users_list(&req))
            .await?;
        Ok(r.users.into_iter().map(|u| u.to_string()).collect())
    }
}

fn person_info(u: &SlackUser) -> PersonInfo {
    PersonInfo {
        id: u.id.to_string(),
        name: u.real_name.clone().or(u.name.clone()).unwrap_or_default(),
        tz: u.tz.clone(),
        is_bot: u.flags.is_bot.unwrap_or(false),
        deleted: u.deleted.unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URI slack-morphism builds for `method` with our base.
    fn uri(api_url: &str, method: &str) -> String {
        install_crypto_provider();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            )
            .https_or_http()
            .enable_http1()
            .build();
        let c =
            SlackClientHyperConnector::with_connector(https).with_slack_api_url(&api_base(api_url));
        c.create_method_uri_path(method).unwrap().to_string()
    }

    #[test]
    fn web_api_urls_join_with_exactly_one_slash() {
        let default = crate::config::Secrets::from_lookup(|_| None).slack_api_url;
        assert_eq!(
            uri(&default, "auth.test"),
            "https://slack.com/api/auth.test"
        );
        assert_eq!(uri("http://h/api", "auth.test"), "http://h/api/auth.test");
        assert_eq!(uri("http://h/api/", "auth.test"), "http://h/api/auth.test");
        assert_eq!(
            uri("http://h/api//", "chat.postMessage"),
            "http://h/api/chat.postMessage"
        );
        assert_eq!(uri("", "auth.test"), "https://slack.com/api/auth.test");
    }
}
