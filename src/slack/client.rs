//! The Web API client: slack-morphism's hyper client pointed at
//! `SLACK_API_URL`, wrapped in the handful of calls the bot makes, with
//! Slack's failures sorted into "wait and retry" and "give up".

use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::sync::Arc;
use std::time::Duration;

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

impl SlackCallError {
    fn from_client(e: SlackClientError) -> Self {
        match e {
            SlackClientError::RateLimitError(r) => {
                SlackCallError::RateLimited(r.retry_after.unwrap_or(Duration::from_secs(1)))
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
}

/// Installs the process-wide rustls crypto provider (ring) once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds slack-morphism's hyper client for `api_url`; plain `http://` is
/// allowed so the emulator on 127.0.0.1 works.
pub fn hyper_client(api_url: &str) -> anyhow::Result<Arc<SlackHyperClient>> {
    install_crypto_provider();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .or_else(|_| {
            // No system roots (e.g. a slim container talking to the emulator):
            // an empty root store still allows plain http.
            Ok::<_, std::io::Error>(
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                ),
            )
        })?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    let connector = SlackClientHyperConnector::with_connector(https).with_slack_api_url(api_url);
    Ok(Arc::new(SlackClient::new(connector)))
}

impl SlackApi {
    pub fn new(client: Arc<SlackHyperClient>, bot_token: &SecretString) -> Self {
        Self {
            client,
            token: SlackApiToken::new(bot_token.expose_secret().to_string().into()),
            timeout: Duration::from_secs(10),
        }
    }

    pub fn hyper(&self) -> Arc<SlackHyperClient> {
        self.client.clone()
    }

    async fn call<T, F>(&self, f: F) -> SlackResult<T>
    where
        F: std::future::Future<Output = ClientResult<T>>,
    {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r.map_err(SlackCallError::from_client),
            Err(_) => Err(SlackCallError::Transient("timed out".into())),
        }
    }

    /// `auth.test`: the bot's own user id.
    pub async fn bot_user_id(&self) -> SlackResult<String> {
        let s = self.client.open_session(&self.token);
        let r = self.call(s.auth_test()).await?;
        Ok(r.user_id.to_string())
    }

    pub async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: Vec<SlackBlock>,
    ) -> SlackResult<Posted> {
        let s = self.client.open_session(&self.token);
        let content = SlackMessageContent::new()
            .with_text(text.into())
            .with_blocks(blocks);
        let req = SlackApiChatPostMessageRequest::new(channel.into(), content);
        let r = self.call(s.chat_post_message(&req)).await?;
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
        self.call(s.chat_update(&req)).await.map(|_| ())
    }

    pub async fn open_view(&self, trigger_id: &str, view: SlackView) -> SlackResult<String> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiViewsOpenRequest::new(trigger_id.into(), view);
        let r = self.call(s.views_open(&req)).await?;
        Ok(r.view.state_params.id.to_string())
    }

    pub async fn user_info(&self, user: &str) -> SlackResult<PersonInfo> {
        let s = self.client.open_session(&self.token);
        let r = self
            .call(s.users_info(&SlackApiUsersInfoRequest::new(user.into())))
            .await?;
        let u = r.user;
        Ok(PersonInfo {
            id: u.id.to_string(),
            name: u.real_name.clone().or(u.name.clone()).unwrap_or_default(),
            tz: u.tz.clone(),
            is_bot: u.flags.is_bot.unwrap_or(false),
            deleted: u.deleted.unwrap_or(false),
        })
    }

    /// Every member of a channel, following cursors.
    pub async fn channel_members(&self, channel: &str) -> SlackResult<Vec<String>> {
        let s = self.client.open_session(&self.token);
        let mut out = Vec::new();
        let mut cursor: Option<SlackCursorId> = None;
        loop {
            let mut req = SlackApiConversationsMembersRequest::new()
                .with_channel(channel.into())
                .with_limit(200);
            if let Some(c) = cursor.take() {
                req = req.with_cursor(c);
            }
            let r = self.call(s.conversations_members(&req)).await?;
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
        let r = self.call(s.usergroups_users_list(&req)).await?;
        Ok(r.users.into_iter().map(|u| u.to_string()).collect())
    }
}
