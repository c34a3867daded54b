//! `Bot`: the context plus what talking to Slack needs: the Web API
//! client, the secrets, the bot's own user id, the inbox both transports
//! commit events to, and the Socket Mode link's state. Handlers, the router
//! and the jobs that call Slack take a `Bot`; features take its `Context`.

use super::socket::Connection;
use super::SlackApi;
use crate::clock::SharedClock;
use crate::config::{Config, Secrets};
use crate::context::Context;
use crate::inbox::{Inbox, InboxWriter};
use crate::store::Store;
use anyhow::{Context as _, Result};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

pub struct Bot {
    ctx: Arc<Context>,
    pub slack: SlackApi,
    pub secrets: Secrets,
    pub bot_user_id: String,
    /// Where both transports commit Slack events before acking them.
    pub inbox: Inbox,
    inbox_writer: Mutex<Option<InboxWriter>>,
    /// The Socket Mode link, for `/readyz` (not used without Socket Mode).
    pub socket_mode: Connection,
    /// When each channel may next take a message from the digest poster
    /// (Slack allows about one a second per channel).
    channel_turns: Mutex<std::collections::HashMap<String, tokio::time::Instant>>,
}

/// The spacing between two posts into one channel.
pub const CHANNEL_SPACING: std::time::Duration = std::time::Duration::from_millis(1_100);

/// A `Bot` reads as its context: `bot.store`, `bot.config()`.
impl std::ops::Deref for Bot {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Bot {
    pub fn new(ctx: Arc<Context>, slack: SlackApi, secrets: Secrets, bot_user_id: String) -> Bot {
        let (inbox, writer) = Inbox::new();
        Bot {
            ctx,
            slack,
            secrets,
            bot_user_id,
            inbox,
            inbox_writer: Mutex::new(Some(writer)),
            socket_mode: Default::default(),
            channel_turns: Mutex::new(Default::default()),
        }
    }

    /// Waits for `channel`'s next turn: one post a second per channel, as
    /// Slack's chat.postMessage limit allows.
    pub async fn space_channel(&self, channel: &str) {
        let at = {
            let mut turns = self.channel_turns.lock().unwrap_or_else(|e| e.into_inner());
            let now = tokio::time::Instant::now();
            let at = turns.get(channel).copied().unwrap_or(now).max(now);
            let spacing = CHANNEL_SPACING.div_f64(self.slack.limits().scale().max(1.0));
            turns.insert(channel.to_string(), at + spacing);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Connects to Slack with the bot token (auth.test) and builds the
    /// bot around an open store, without starting anything.
    pub async fn connect(
        config: Config,
        store: Store,
        secrets: Secrets,
        clock: SharedClock,
    ) -> Result<Bot> {
        let token = secrets
            .bot_token
            .clone()
            .context("SLACK_BOT_TOKEN is not set: the bot needs its xoxb- token")?;
        let hyper = super::client::hyper_client(&secrets.slack_api_url);
        // A call never outlives half a lease, so a lease renewed right
        // before a send still holds when Slack answers.
        let timeout = (config.bot.lease / 2).min(std::time::Duration::from_secs(10));
        let api = SlackApi::new(hyper, &token).with_timeout(timeout);
        let bot_user_id = api
            .bot_user_id()
            .await
            .context("checking the bot token with auth.test")?;
        let ctx = Arc::new(Context::new(config, store, clock));
        Ok(Bot::new(ctx, api, secrets, bot_user_id))
    }

    /// The context, shared (for tasks that outlive a borrow).
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Starts the inbox's writer task (once; later calls return None).
    pub fn start_inbox_writer(self: &Arc<Self>) -> Option<JoinHandle<()>> {
        let writer = self.inbox_writer.lock().ok()?.take()?;
        let clock = self.clock.clone();
        Some(writer.spawn(self.store.clone(), move || clock.now().timestamp_millis()))
    }
}
