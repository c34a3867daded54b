//! The workspace's mutable state: users, conversations, messages, views,
//! trigger ids and the record of every API call.
//!
//! One plain `Mutex` guards it all: the emulator never awaits while holding it,
//! and a single lock keeps every answer consistent (a message posted is
//! visible to the next call at once, as in Slack).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Instant, SystemTime};

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use serde_json::Value;

use crate::config::{Failure, User};
use crate::files::FileStore;
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
    /// The call's arguments that Slack's reference does not list for the
    /// method (besides `token` and `team_id`), sorted. Slack ignores them;
    /// sending them is a caller bug. Empty for `response_url` posts.
    pub unexpected_args: Vec<String>,
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
    /// The file objects of a file share (files.completeUploadExternal), as
    /// Slack lists them in the message's `files`; `None` for other messages.
    pub files: Option<Vec<Value>>,
}

/// A file uploaded through Slack's external upload (files.getUploadURLExternal,
/// a POST to its upload URL, files.completeUploadExternal), at whatever stage
/// it reached.
#[derive(Clone, Debug, PartialEq)]
pub struct UploadedFile {
    /// "F…", as files.getUploadURLExternal answered.
    pub id: String,
    pub filename: String,
    /// The `length` declared to files.getUploadURLExternal, in bytes.
    pub length: usize,
    pub alt_txt: Option<String>,
    pub snippet_type: Option<String>,
    /// The bytes POSTed to the upload URL; `None` until they arrive.
    pub bytes: Option<Vec<u8>>,
    /// Set by files.completeUploadExternal: the title given there, or the
    /// filename (as Slack shows a file without one). `None` until completed.
    pub title: Option<String>,
    /// Whether files.completeUploadExternal accepted it. An upload never
    /// completed is never shared (Slack drops it).
    pub completed: bool,
    /// The first conversation it was shared to (the `channel_id` argument,
    /// when given); `None` for a private file.
    pub channel_id: Option<String>,
    /// Every conversation it was shared to (`channel_id` and `channels`).
    pub channels: Vec<String>,
    /// The thread it was shared into.
    pub thread_ts: Option<String>,
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
    /// Members in the order they were added (conversations.members pages
    /// through this). Change it only through `set_members`.
    pub members: Vec<String>,
    member_set: HashSet<String>,
    /// For an IM: the human on the other side.
    pub im_user: Option<String>,
    pub created: i64,
}

impl Channel {
    pub fn new(id: &str, name: &str, members: Vec<String>, im_user: Option<String>) -> Self {
        let member_set = members.iter().cloned().collect();
        Self {
            id: id.into(),
            name: name.into(),
            members,
            member_set,
            im_user,
            created: chrono::Utc::now().timestamp(),
        }
    }

    pub fn set_members(&mut self, members: Vec<String>) {
        self.member_set = members.iter().cloned().collect();
        self.members = members;
    }

    /// O(1) membership test.
    pub fn has_member(&self, user: &str) -> bool {
        self.member_set.contains(user)
    }
}

/// A Slack ts ("1700000000.000100") as microseconds, for ordering and range
/// filters without float rounding. `None` when it is not a number.
pub(crate) fn ts_micros(ts: &str) -> Option<i64> {
    let (secs, frac) = match ts.split_once('.') {
        Some((s, f)) => (s, f),
        None => (ts, ""),
    };
    if secs.is_empty() && frac.is_empty() {
        return None;
    }
    let secs: i64 = if secs.is_empty() {
        0
    } else {
        secs.parse().ok()?
    };
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Pad or cut the fraction to 6 digits.
    let mut f: String = frac.chars().take(6).collect();
    while f.len() < 6 {
        f.push('0');
    }
    let micros: i64 = f.parse().ok()?;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

/// The messages of one conversation, as indices into `MessageStore::slots`,
/// in ts order (which is post order: ts are minted under the state lock).
#[derive(Debug, Default)]
struct ChannelLog {
    /// Every message of the channel.
    all: Vec<usize>,
    /// Top-level, non-ephemeral messages (what conversations.history lists).
    top: Vec<usize>,
    /// ts -> slot.
    by_ts: HashMap<String, usize>,
    /// Parent ts -> number of (non-ephemeral) replies.
    replies: HashMap<String, usize>,
}

/// Every message of the workspace: a slab in post order plus per-channel
/// indexes, so reading one conversation never scans the others.
#[derive(Debug, Default)]
pub(crate) struct MessageStore {
    slots: Vec<Option<Message>>,
    channels: HashMap<String, ChannelLog>,
}

impl MessageStore {
    fn is_top(m: &Message) -> bool {
        m.ephemeral_for.is_none() && m.thread_ts.as_ref().is_none_or(|t| *t == m.ts)
    }

    pub fn push(&mut self, m: Message) {
        let idx = self.slots.len();
        let log = self.channels.entry(m.channel.clone()).or_default();
        log.all.push(idx);
        if Self::is_top(&m) {
            log.top.push(idx);
        } else if m.ephemeral_for.is_none() {
            if let Some(t) = &m.thread_ts {
                *log.replies.entry(t.clone()).or_default() += 1;
            }
        }
        log.by_ts.insert(m.ts.clone(), idx);
        self.slots.push(Some(m));
    }

    pub fn get(&self, channel: &str, ts: &str) -> Option<&Message> {
        let idx = *self.channels.get(channel)?.by_ts.get(ts)?;
        self.slots[idx].as_ref()
    }

    /// Mutable access for edits. Callers must not change `channel`, `ts`,
    /// `thread_ts` or `ephemeral_for` (the indexes depend on them).
    pub fn get_mut(&mut self, channel: &str, ts: &str) -> Option<&mut Message> {
        let idx = *self.channels.get(channel)?.by_ts.get(ts)?;
        self.slots[idx].as_mut()
    }

    pub fn remove(&mut self, channel: &str, ts: &str) -> Option<Message> {
        let log = self.channels.get_mut(channel)?;
        let idx = log.by_ts.remove(ts)?;
        log.all.retain(|&i| i != idx);
        log.top.retain(|&i| i != idx);
        let m = self.slots[idx].take()?;
        if m.ephemeral_for.is_none() && !Self::is_top(&m) {
            if let Some(n) = m.thread_ts.as_ref().and_then(|t| log.replies.get_mut(t)) {
                *n = n.saturating_sub(1);
            }
        }
        Some(m)
    }

    /// Every message, in post order.
    pub fn iter(&self) -> impl Iterator<Item = &Message> {
        self.slots.iter().flatten()
    }

    /// The messages of one channel, in post order.
    pub fn in_channel<'a>(&'a self, channel: &str) -> impl Iterator<Item = &'a Message> + 'a {
        self.channels
            .get(channel)
            .map(|l| l.all.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| self.slots[i].as_ref())
    }

    /// Top-level messages of a channel with `lo <= ts < hi` (microseconds),
    /// oldest first, found by binary search.
    pub fn top_level_range(&self, channel: &str, lo: i64, hi: i64) -> &[usize] {
        let Some(l) = self.channels.get(channel) else {
            return &[];
        };
        let key = |i: &usize| {
            self.slots[*i]
                .as_ref()
                .and_then(|m| ts_micros(&m.ts))
                .unwrap_or(0)
        };
        let a = l.top.partition_point(|i| key(i) < lo);
        let b = l.top.partition_point(|i| key(i) < hi);
        &l.top[a..b.max(a)]
    }

    /// How many top-level, non-ephemeral messages of a channel match `f`.
    pub fn count_top_level(&self, channel: &str, f: impl Fn(&Message) -> bool) -> usize {
        self.channels.get(channel).map_or(0, |l| {
            l.top
                .iter()
                .filter_map(|&i| self.slots[i].as_ref())
                .filter(|m| f(m))
                .count()
        })
    }

    pub fn slot(&self, idx: usize) -> Option<&Message> {
        self.slots.get(idx).and_then(Option::as_ref)
    }

    /// Number of replies in the thread under `parent_ts`.
    pub fn reply_count(&self, channel: &str, parent_ts: &str) -> usize {
        self.channels
            .get(channel)
            .and_then(|l| l.replies.get(parent_ts))
            .copied()
            .unwrap_or(0)
    }
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
    /// Users in the order they were added; `user_index` maps id -> position.
    users: Vec<User>,
    user_index: HashMap<String, usize>,
    /// Conversations; `channel_index` maps id -> position, `dm_index` maps a
    /// human's id -> their IM with the bot.
    channels: Vec<Channel>,
    channel_index: HashMap<String, usize>,
    dm_index: HashMap<String, String>,
    pub usergroups: HashMap<String, (String, Vec<String>)>,
    pub messages: MessageStore,
    pub views: Vec<OpenView>,
    pub triggers: HashMap<String, Trigger>,
    calls: Vec<ApiCall>,
    call_counts: HashMap<String, usize>,
    /// (method, argument) pairs the reference does not list, ever sent.
    unexpected_args: BTreeSet<(String, String)>,
    pub failures: HashMap<String, VecDeque<Failure>>,
    pub limiter: RateLimiter,
    pub last_ts_micros: i64,
    pub mode: Mode,
    pub tickets: HashMap<String, Instant>,
    pub response_urls: HashMap<String, ResponseTarget>,
    pub dm_counter: u32,
    /// The options the app answered `block_suggestion` with, per menu
    /// (view_id, block_id, action_id), so a submission reports the picked
    /// option's real text as the Slack client does.
    pub suggested: HashMap<(String, String, String), Vec<Value>>,
    /// Files uploaded through the external upload, completed or not.
    pub files: FileStore,
}

impl State {
    pub fn new() -> Self {
        Self {
            users: vec![],
            user_index: HashMap::new(),
            channels: vec![],
            channel_index: HashMap::new(),
            dm_index: HashMap::new(),
            usergroups: HashMap::new(),
            messages: MessageStore::default(),
            views: vec![],
            triggers: HashMap::new(),
            calls: vec![],
            call_counts: HashMap::new(),
            unexpected_args: BTreeSet::new(),
            failures: HashMap::new(),
            limiter: RateLimiter::default(),
            last_ts_micros: 0,
            mode: Mode::Socket,
            tickets: HashMap::new(),
            response_urls: HashMap::new(),
            dm_counter: 0,
            suggested: HashMap::new(),
            files: FileStore::default(),
        }
    }

    // ---- users ----

    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// Adds a user, or replaces the one with the same id in place.
    pub fn upsert_user(&mut self, u: User) {
        match self.user_index.get(&u.id) {
            Some(&i) => self.users[i] = u,
            None => {
                self.user_index.insert(u.id.clone(), self.users.len());
                self.users.push(u);
            }
        }
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.user_index.get(id).map(|&i| &self.users[i])
    }

    pub fn user_mut(&mut self, id: &str) -> Option<&mut User> {
        let i = *self.user_index.get(id)?;
        Some(&mut self.users[i])
    }

    // ---- conversations ----

    /// Adds a channel, or replaces the one with the same id in place.
    pub fn upsert_channel(&mut self, c: Channel) {
        if let Some(old) = self.channel(&c.id).and_then(|o| o.im_user.clone()) {
            self.dm_index.remove(&old);
        }
        if let Some(u) = &c.im_user {
            self.dm_index.insert(u.clone(), c.id.clone());
        }
        match self.channel_index.get(&c.id) {
            Some(&i) => self.channels[i] = c,
            None => {
                self.channel_index.insert(c.id.clone(), self.channels.len());
                self.channels.push(c);
            }
        }
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channel_index.get(id).map(|&i| &self.channels[i])
    }

    pub fn channel_mut(&mut self, id: &str) -> Option<&mut Channel> {
        let i = *self.channel_index.get(id)?;
        Some(&mut self.channels[i])
    }

    pub fn dm_of(&self, user: &str) -> Option<&Channel> {
        self.dm_index.get(user).and_then(|id| self.channel(id))
    }

    /// The IM channel between the bot and `user`, created on first use.
    /// Returns (id, already_open).
    pub fn open_dm(&mut self, user: &str, bot_user: &str) -> (String, bool) {
        if let Some(c) = self.dm_of(user) {
            return (c.id.clone(), true);
        }
        self.dm_counter += 1;
        let id = format!("D0{:08}", self.dm_counter);
        self.upsert_channel(Channel::new(
            &id,
            user,
            vec![user.to_string(), bot_user.to_string()],
            Some(user.to_string()),
        ));
        (id, false)
    }

    // ---- the call log ----

    pub fn record_call(&mut self, call: ApiCall) {
        *self.call_counts.entry(call.method.clone()).or_default() += 1;
        for a in &call.unexpected_args {
            self.unexpected_args
                .insert((call.method.clone(), a.clone()));
        }
        self.calls.push(call);
    }

    /// Every (method, argument) pair sent that the reference does not list,
    /// sorted and de-duplicated.
    pub fn unexpected_args(&self) -> &BTreeSet<(String, String)> {
        &self.unexpected_args
    }

    pub fn calls(&self) -> &[ApiCall] {
        &self.calls
    }

    pub fn call_count(&self, method: &str) -> usize {
        self.call_counts.get(method).copied().unwrap_or(0)
    }

    /// A unique, increasing message ts ("1700000000.000100" style).
    pub fn next_ts(&mut self) -> String {
        let now = chrono::Utc::now().timestamp_micros();
        let t = now.max(self.last_ts_micros + 1);
        self.last_ts_micros = t;
        format!("{}.{:06}", t / 1_000_000, t % 1_000_000)
    }

    pub fn message(&self, channel: &str, ts: &str) -> Option<&Message> {
        self.messages.get(channel, ts)
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

    /// A file id such as "F07A63UJTTN".
    pub fn file_id() -> String {
        format!("F0{}", upper_alnum(9))
    }

    /// The opaque last segment of an upload URL.
    pub fn upload_token() -> String {
        Alphanumeric.sample_string(&mut rand::rng(), 40)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(channel: &str, ts: &str, thread_ts: Option<&str>, eph: Option<&str>) -> Message {
        Message {
            channel: channel.into(),
            ts: ts.into(),
            user: None,
            bot_id: Some("B1".into()),
            text: ts.into(),
            blocks: json!([]),
            thread_ts: thread_ts.map(str::to_string),
            edited: false,
            ephemeral_for: eph.map(str::to_string),
            metadata: None,
            files: None,
        }
    }

    #[test]
    fn ts_micros_parses_slack_timestamps() {
        assert_eq!(ts_micros("1700000000.000100"), Some(1_700_000_000_000_100));
        assert_eq!(ts_micros("1700000000"), Some(1_700_000_000_000_000));
        assert_eq!(ts_micros("1700000000.5"), Some(1_700_000_000_500_000));
        assert_eq!(ts_micros("0"), Some(0));
        assert_eq!(ts_micros(""), None);
        assert_eq!(ts_micros("abc"), None);
        assert_eq!(ts_micros("1.2.3"), None);
        assert_eq!(ts_micros("1.-2"), None);
    }

    #[test]
    fn message_store_indexes_channels_threads_and_deletes() {
        let mut s = MessageStore::default();
        s.push(msg("D1", "1.000001", None, None));
        s.push(msg("C1", "1.000002", None, None));
        s.push(msg("D1", "1.000003", Some("1.000001"), None));
        s.push(msg("D1", "1.000004", None, Some("U1")));
        s.push(msg("D1", "1.000005", None, None));
        assert_eq!(s.iter().count(), 5);
        assert_eq!(s.in_channel("D1").count(), 4);
        assert_eq!(s.in_channel("nope").count(), 0);
        assert_eq!(s.reply_count("D1", "1.000001"), 1);
        assert_eq!(s.count_top_level("D1", |_| true), 2);
        let all = s.top_level_range("D1", i64::MIN, i64::MAX);
        let ts: Vec<&str> = all
            .iter()
            .map(|&i| s.slot(i).unwrap().ts.as_str())
            .collect();
        assert_eq!(ts, ["1.000001", "1.000005"]);
        assert_eq!(s.top_level_range("D1", 1_000_002, 1_000_005).len(), 0);
        assert_eq!(s.top_level_range("D1", 1_000_002, 1_000_006).len(), 1);
        assert_eq!(s.top_level_range("D1", 9, 1).len(), 0);

        s.get_mut("D1", "1.000005").unwrap().text = "edited".into();
        assert_eq!(s.get("D1", "1.000005").unwrap().text, "edited");
        assert!(s.get("C1", "1.000005").is_none());

        assert!(s.remove("D1", "1.000003").is_some());
        assert_eq!(s.reply_count("D1", "1.000001"), 0);
        assert!(s.remove("D1", "1.000003").is_none());
        assert!(s.remove("D1", "1.000001").is_some());
        assert_eq!(s.count_top_level("D1", |_| true), 1);
        let left: Vec<&str> = s.iter().map(|m| m.ts.as_str()).collect();
        assert_eq!(left, ["1.000002", "1.000004", "1.000005"]);
    }

    #[test]
    fn users_and_channels_are_indexed_and_replaced_in_place() {
        let mut st = State::new();
        st.upsert_user(User::new("U1", "a", "UTC"));
        st.upsert_user(User::new("U2", "b", "UTC"));
        st.upsert_user(User::new("U1", "a2", "UTC"));
        let names: Vec<&str> = st.users().iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["a2", "b"]);
        st.user_mut("U2").unwrap().deleted = true;
        assert!(st.user("U2").unwrap().deleted);
        assert!(st.user("U3").is_none());

        let (d, again) = st.open_dm("U1", "UBOT");
        assert!(!again);
        assert_eq!(st.open_dm("U1", "UBOT"), (d.clone(), true));
        assert_eq!(st.dm_of("U1").unwrap().id, d);
        assert!(st.channel(&d).unwrap().has_member("UBOT"));
        st.upsert_channel(Channel::new("C1", "c", vec!["U1".into()], None));
        st.channel_mut("C1").unwrap().set_members(vec!["U2".into()]);
        let c = st.channel("C1").unwrap();
        assert!(c.has_member("U2") && !c.has_member("U1"));
        // Replacing an IM by a plain channel forgets the DM.
        st.upsert_channel(Channel::new(&d, "x", vec![], None));
        assert!(st.dm_of("U1").is_none());
    }
}
