//! The workspace's mutable state: users, conversations, messages, views,
//! trigger ids and the record of every API call.
//!
//! One plain `Mutex` guards it all: the emulator never awaits while holding it,
//! and a single lock keeps every answer consistent (a message posted is
//! visible to the next call at once, as in Slack).

use std::collections::{HashMap, VecDeque};
use std::time::{Instant, SystemTime};

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use serde_json::Value;

use crate::config::{Failure, User};
use crate::ratelimit::RateLimiter;

/// One Web API call as the emulator saw it.
#[derive(Clone, Debug)]
pub struct ApiCall {
    pub method: String,
    /// Query string, form body and JSON body merged (JSON-encoded form fields
    /// such as `blocks` or `view` are decoded).
    pub params: Value,
    pub token: Option<String>,
    pub status: u16,
    pub response: Value,
    pub at: SystemTime,
}

/// A message in a conversation (bot or user, possibly ephemeral).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    pub user: Option<String>,
    pub bot_id: Option<String>,
    pub text: String,
    pub blocks: Value,
    pub thread_ts: Option<String>,
    pub edited: bool,
    /// `Some(user)` for an ephemeral message only that user sees.
    pub ephemeral_for: Option<String>,
    /// Message metadata (`{event_type, event_payload}`), if posted with it.
    pub metadata: Option<Value>,
}

/// A modal or Home tab view.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenView {
    pub id: String,
    pub user: String,
    /// The full Slack view object (id, hash, state, root_view_id, ...).
    pub view: Value,
    /// "modal" or "home".
    pub kind: String,
    pub closed: bool,
    /// The `errors` of the last `response_action: "errors"` answer, if any.
    pub errors: Option<Value>,
}

#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub id: String,
    pub name: String,
    pub members: Vec<String>,
    /// For an IM: the human on the other side.
    pub im_user: Option<String>,
    pub created: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Trigger {
    pub user: String,
    pub created: Instant,
    pub used: bool,
}

/// Where a response_url posts to.
#[derive(Clone, Debug)]
pub(crate) struct ResponseTarget {
    pub channel: String,
    pub user: String,
    pub message_ts: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Mode {
    Socket,
    Http(String),
}

pub(crate) struct State {
    pub users: Vec<User>,
    pub channels: Vec<Channel>,
    pub usergroups: HashMap<String, (String, Vec<String>)>,
    pub messages: Vec<Message>,
    pub views: Vec<OpenView>,
    pub triggers: HashMap<String, Trigger>,
    pub calls: Vec<ApiCall>,
    pub failures: HashMap<String, VecDeque<Failure>>,
    pub limiter: RateLimiter,
    pub last_ts_micros: i64,
    pub mode: Mode,
    pub tickets: HashMap<String, Instant>,
    pub response_urls: HashMap<String, ResponseTarget>,
    pub dm_counter: u32,
}

impl State {
    pub fn new() -> Self {
        Self {
            users: vec![],
            channels: vec![],
            usergroups: HashMap::new(),
            messages: vec![],
            views: vec![],
            triggers: HashMap::new(),
            calls: vec![],
            failures: HashMap::new(),
            limiter: RateLimiter::default(),
            last_ts_micros: 0,
            mode: Mode::Socket,
            tickets: HashMap::new(),
            response_urls: HashMap::new(),
            dm_counter: 0,
        }
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn channel_mut(&mut self, id: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }

    pub fn dm_of(&self, user: &str) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| c.im_user.as_deref() == Some(user))
    }

    /// The IM channel between the bot and `user`, created on first use.
    /// Returns (id, already_open).
    pub fn open_dm(&mut self, user: &str, bot_user: &str) -> (String, bool) {
        if let Some(c) = self.dm_of(user) {
            return (c.id.clone(), true);
        }
        self.dm_counter += 1;
        let id = format!("D0{:08}", self.dm_counter);
        self.channels.push(Channel {
            id: id.clone(),
            name: user.to_string(),
            members: vec![user.to_string(), bot_user.to_string()],
            im_user: Some(user.to_string()),
            created: chrono::Utc::now().timestamp(),
        });
        (id, false)
    }

    /// A unique, increasing message ts ("1700000000.000100" style).
    pub fn next_ts(&mut self) -> String {
        let now = chrono::Utc::now().timestamp_micros();
        let t = now.max(self.last_ts_micros + 1);
        self.last_ts_micros = t;
        format!("{}.{:06}", t / 1_000_000, t % 1_000_000)
    }

    pub fn message(&self, channel: &str, ts: &str) -> Option<&Message> {
        self.messages
            .iter()
            .find(|m| m.channel == channel && m.ts == ts)
    }

    pub fn view(&self, id: &str) -> Option<&OpenView> {
        self.views.iter().find(|v| v.id == id)
    }

    pub fn view_mut(&mut self, id: &str) -> Option<&mut OpenView> {
        self.views.iter_mut().find(|v| v.id == id)
    }

    /// Open modals of a user, bottom of the stack first.
    pub fn modal_stack(&self, user: &str) -> Vec<&OpenView> {
        self.views
            .iter()
            .filter(|v| v.user == user && v.kind == "modal" && !v.closed)
            .collect()
    }

    pub fn mint_trigger(&mut self, user: &str) -> String {
        let id = ids::trigger_id();
        self.triggers.insert(
            id.clone(),
            Trigger {
                user: user.to_string(),
                created: Instant::now(),
                used: false,
            },
        );
        id
    }
}

/// Slack-shaped identifiers.
pub(crate) mod ids {
    use super::*;

    fn upper_alnum(n: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut rng = rand::rng();
        (0..n)
            .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
            .collect()
    }

    pub fn view_id() -> String {
        format!("V0{}", upper_alnum(9))
    }

    pub fn event_id() -> String {
        format!("Ev0{}", upper_alnum(9))
    }

    pub fn envelope_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// e.g. "4975386542.170962549.6a3b0f1c9d7e4f2a8b5c1d0e9f8a7b6c".
    pub fn trigger_id() -> String {
        let mut rng = rand::rng();
        format!(
            "{}.{}.{}",
            rng.random_range(1_000_000_000u64..9_999_999_999),
            rng.random_range(100_000_000u64..999_999_999),
            uuid::Uuid::new_v4().simple()
        )
    }

    /// A view hash such as "1700000000.AbCdEfGh".
    pub fn view_hash() -> String {
        format!(
            "{}.{}",
            chrono::Utc::now().timestamp(),
            Alphanumeric.sample_string(&mut rand::rng(), 8)
        )
    }

    /// The short random ids Slack gives blocks and elements without one.
    pub fn block_id() -> String {
        Alphanumeric.sample_string(&mut rand::rng(), 5)
    }

    pub fn token() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }
}
