//! The Slack Web API: `/api/{method}` and interaction `response_url`s.
//!
//! Slack answers HTTP 200 with `{"ok":false,"error":...}` for API errors, 429
//! with `Retry-After` when rate limited, and takes parameters from the query
//! string, a form body (URL-encoded or multipart) or a JSON body alike; the
//! bot's client may use any of them, so the handler merges them before
//! dispatching.
//!
//! It is as strict as Slack, with the embedded reference (`api_ref`) as the
//! source of truth:
//! - a path that is not exactly `/api/METHOD`, with a Slack-shaped method
//!   name (`auth.test`, `chat.postMessage`), is HTTP 404 (`/api//auth.test`
//!   included);
//! - a method without a reference file, or not implemented here, is
//!   `unknown_method`;
//! - a call lacking a required argument (absent, null or `""`) gets Slack's
//!   error for it, after authentication and before anything else
//!   (see [`missing_arg_error`]);
//! - an argument the method does not take is answered as Slack does
//!   (ignored) but recorded: `Emulator::unexpected_args`.

use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::api_ref::{self, MethodRef};
use crate::blockkit;
use crate::config::Failure;
use crate::multipart;
use crate::payloads;
use crate::server::{Emulator, WeakEmulator};
use crate::state::{ids, ts_micros, ApiCall, Message, OpenView, State as WsState};

/// The methods the emulator implements (each has a file in `api-ref/`).
pub(crate) const METHODS: &[&str] = &[
    "auth.test",
    "users.info",
    "users.list",
    "conversations.open",
    "conversations.members",
    "conversations.info",
    "conversations.history",
    "conversations.replies",
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "chat.getPermalink",
    "chat.delete",
    "views.open",
    "views.update",
    "views.push",
    "views.publish",
    "usergroups.users.list",
    "apps.connections.open",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
];

pub(crate) type R = Result<Value, Value>;

pub(crate) fn err(code: &str) -> Value {
    json!({"ok": false, "error": code})
}

pub(crate) fn ok(mut v: Value) -> R {
    if let Some(o) = v.as_object_mut() {
        o.insert("ok".into(), json!(true));
    }
    Ok(v)
}

/// Parameters merged from the query string and the body.
pub(crate) struct Params(pub Map<String, Value>);

impl Params {
    pub fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Params {
        let mut m = Map::new();
        let add_form = |s: &[u8], m: &mut Map<String, Value>| {
            if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(s) {
                for (k, v) in pairs {
                    m.insert(k, Value::String(v));
                }
            }
        };
        if let Some(q) = query {
            add_form(q.as_bytes(), &mut m);
        }
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if ct.starts_with("application/json") {
            if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
                m.extend(o);
            }
        } else if multipart::is_multipart(ct) {
            // `curl -F`: each plain field is an argument (file parts are not).
            for part in multipart::parse(ct, body).unwrap_or_default() {
                if let (Some(k), None) = (part.name, part.filename) {
                    if let Ok(v) = String::from_utf8(part.data) {
                        m.insert(k, Value::String(v));
                    }
                }
            }
        } else if !body.is_empty() {
            add_form(body, &mut m);
        }
        // Form-encoded callers send structured fields as JSON strings.
        for k in ["blocks", "view", "attachments", "metadata"] {
            if let Some(Value::String(s)) = m.get(k) {
                if let Ok(v) = serde_json::from_str::<Value>(s) {
                    m.insert(k.to_string(), v);
                }
            }
        }
        Params(m)
    }

    pub fn str(&self, k: &str) -> Option<String> {
        match self.0.get(k)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn bool(&self, k: &str) -> bool {
        matches!(self.str(k).as_deref(), Some("true" | "1"))
    }

    pub fn get(&self, k: &str) -> Option<&Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }

    /// Whether `k` was given: absent, null and `""` count as missing.
    pub fn present(&self, k: &str) -> bool {
        match self.0.get(k) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        }
    }

    /// A list given as "a,b" or as a JSON array.
    pub fn list(&self, k: &str) -> Vec<String> {
        match self.0.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => s
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            _ => vec![],
        }
    }
}

/// Whether `m` looks like a Slack method name: `[a-zA-Z]+(\.[a-zA-Z]+)+`.
pub(crate) fn is_method_name(m: &str) -> bool {
    let mut parts = m.split('.');
    let first_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let mut rest = 0;
    for p in parts {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphabetic()) {
            return false;
        }
        rest += 1;
    }
    first_ok && rest > 0
}

/// Slack's answer to a call lacking required arguments (`missing`, non-empty,
/// sorted by name), decided by the first of them:
/// - `channel` → `channel_not_found`;
/// - `user` → `user_not_found`;
/// - `ts`, `message_ts`, `timestamp` → `message_not_found`;
/// - `file` → `file_not_found`;
/// - any other: `missing_argument` if the method documents that error, else
///   `invalid_arguments` with `response_metadata.messages` naming every
///   missing argument (`"[ERROR] missing required field: <arg>"`), as
///   Slack's newer methods answer.
pub(crate) fn missing_arg_error(r: &MethodRef, missing: &[&str]) -> Value {
    match missing.first().copied().unwrap_or_default() {
        "channel" => err("channel_not_found"),
        "user" => err("user_not_found"),
        "ts" | "message_ts" | "timestamp" => err("message_not_found"),
        "file" => err("file_not_found"),
        _ if r.errors.contains("missing_argument") => err("missing_argument"),
        _ => json!({
            "ok": false,
            "error": "invalid_arguments",
            "response_metadata": {"messages": missing
                .iter()
                .map(|a| format!("[ERROR] missing required field: {a}"))
                .collect::<Vec<_>>()},
        }),
    }
}

/// The required arguments of `r` that `p` lacks. `token` is never asked of
/// the parameters: an authenticated call has one (header or parameter).
fn missing_args<'a>(r: &'a MethodRef, p: &Params) -> Vec<&'a str> {
    r.required()
        .filter(|a| *a != "token" && !p.present(a))
        .collect()
}

/// The arguments of a call the method does not take, sorted.
fn unexpected_args(r: &MethodRef, p: &Params) -> Vec<String> {
    p.0.keys().filter(|k| !r.allows(k)).cloned().collect()
}

/// The reference of a method the emulator implements.
fn implemented(method: &str) -> Option<&'static MethodRef> {
    if METHODS.contains(&method) {
        api_ref::method(method)
    } else {
        None
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|s| s.trim().to_string())
}

pub(crate) async fn handle(
    State(w): State<WeakEmulator>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(emu) = w.upgrade() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    // Exactly "/api/METHOD": the route takes one path segment, and it must
    // be shaped like a method name. Slack serves nothing else.
    if !is_method_name(&method) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let params = Params::parse(query.as_deref(), &headers, &body);
    let token = bearer(&headers).or_else(|| params.str("token"));
    let out = emu.api_call(&method, &params, token.as_deref()).await;
    {
        let unexpected = implemented(&method)
            .map(|r| unexpected_args(r, &params))
            .unwrap_or_default();
        if !unexpected.is_empty() {
            tracing::warn!(
                method,
                ?unexpected,
                "arguments Slack's reference does not list for this method"
            );
        }
        let mut p = params.0;
        p.remove("token");
        emu.st().record_call(ApiCall {
            method,
            params: Value::Object(p),
            token,
            status: out.status,
            response: out.body.clone(),
            at: SystemTime::now(),
            unexpected_args: unexpected,
        });
    }
    // Failure::ApplyThenDelay: Slack acted (and the call is on record), but
    // the answer is late; a client with a short timeout gives up.
    if let Some(d) = out.delay_after {
        tokio::time::sleep(d).await;
    }
    let mut resp = (
        StatusCode::from_u16(out.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(out.body),
    )
        .into_response();
    if let Some(ra) = out.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, ra.to_string().parse().unwrap());
    }
    resp
}

/// Where a `response_url` POST goes: reply, replace or delete the message.
pub(crate) async fn handle_response_url(
    State(w): State<WeakEmulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(emu) = w.upgrade() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let params = Params::parse(None, &headers, &body);
    let (status, resp) = emu.response_url(&id, &params);
    emu.st().record_call(ApiCall {
        method: "response_url".into(),
        params: Value::Object(params.0.clone()),
        token: None,
        status,
        response: resp.clone(),
        at: SystemTime::now(),
        // Not a Web API method: no reference to check against.
        unexpected_args: vec![],
    });
    (StatusCode::from_u16(status).unwrap(), axum::Json(resp)).into_response()
}

/// Text and blocks of a message request, validated.
fn message_content(p: &Params, require: bool) -> Result<(Option<String>, Option<Value>), Value> {
    let text = p.str("text");
    let blocks = p.get("blocks").cloned();
    if let Some(t) = &text {
        if t.chars().count() > blockkit::MAX_MESSAGE_TEXT {
            return Err(err("msg_too_long"));
        }
    }
    if let Some(b) = &blocks {
        if let Err(errors) = blockkit::validate_message_blocks(b) {
            return Err(json!({"ok": false, "error": "invalid_blocks", "errors": errors}));
        }
    }
    let has_blocks = blocks
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|b| !b.is_empty());
    if require && text.is_none() && !has_blocks && p.get("attachments").is_none() {
        return Err(err("no_text"));
    }
    Ok((text, blocks))
}

/// Slack's undocumented cap on the text of a message's blocks all together
/// (chat.postMessage and chat.update; see
/// [`blockkit::MAX_MESSAGE_BLOCKS_TEXT`]): `msg_blocks_too_long` past it.
fn blocks_text_within_limit(blocks: Option<&Value>) -> Result<(), Value> {
    match blocks {
        Some(b) if blockkit::message_blocks_text_len(b) > blockkit::MAX_MESSAGE_BLOCKS_TEXT => {
            Err(err("msg_blocks_too_long"))
        }
        _ => Ok(()),
    }
}

/// Slack's `metadata` argument of chat.postMessage / chat.update.
pub(crate) enum MetadataArg {
    /// Not given (or empty).
    Absent,
    /// `{}`: chat.update removes the message's metadata.
    Remove,
    /// A valid `{"event_type": .., "event_payload": {..}}`.
    Set(Value),
}

/// Reads and checks `metadata`: a JSON object (or a JSON-encoded string of
/// one, as form-encoded callers send it) with a non-empty string `event_type`
/// and an object `event_payload`; anything else is `invalid_metadata_format`.
fn metadata_arg(p: &Params) -> Result<MetadataArg, Value> {
    let md = match p.get("metadata") {
        None => return Ok(MetadataArg::Absent),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(MetadataArg::Absent),
        Some(v) => v,
    };
    let Some(o) = md.as_object() else {
        return Err(err("invalid_metadata_format"));
    };
    if o.is_empty() {
        return Ok(MetadataArg::Remove);
    }
    let valid = o
        .get("event_type")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty())
        && o.get("event_payload").is_some_and(Value::is_object);
    if !valid {
        return Err(err("invalid_metadata_format"));
    }
    Ok(MetadataArg::Set(json!({
        "event_type": o["event_type"],
        "event_payload": o["event_payload"],
    })))
}

/// conversations.history's cursor: the ts of the oldest message of the
/// previous page (later pages hold only older messages, so messages posted
/// meanwhile neither shift nor repeat a page).
fn history_cursor(ts: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("next_ts:{ts}"))
}

fn parse_history_cursor(c: &str) -> Option<i64> {
    let raw = base64::engine::general_purpose::STANDARD.decode(c).ok()?;
    let s = String::from_utf8(raw).ok()?;
    ts_micros(s.strip_prefix("next_ts:")?)
}

fn invalid_view(errors: Vec<String>) -> Value {
    json!({
        "ok": false,
        "error": "invalid_arguments",
        "response_metadata": {"messages": errors.iter().map(|e| format!("[ERROR] {e}")).collect::<Vec<_>>()}
    })
}

fn page(p: &Params, total: usize) -> Result<(usize, usize), Value> {
    let offset = match p.str("cursor") {
        None => 0,
        Some(c) => base64::engine::general_purpose::STANDARD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| err("invalid_cursor"))?,
    };
    let limit = p
        .str("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(total.max(1))
        .min(1000);
    Ok((offset.min(total), limit))
}

fn next_cursor(end: usize, total: usize) -> Value {
    let c = if end < total {
        base64::engine::general_purpose::STANDARD.encode(format!("offset:{end}"))
    } else {
        String::new()
    };
    json!({"next_cursor": c})
}

/// What one Web API call answers.
pub(crate) struct Outcome {
    pub status: u16,
    pub body: Value,
    /// Seconds for the `Retry-After` header of a 429.
    pub retry_after: Option<u64>,
    /// Hold the answer back this long after recording the call.
    pub delay_after: Option<Duration>,
}

impl Outcome {
    fn new(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            retry_after: None,
            delay_after: None,
        }
    }
}

impl Emulator {
    /// Runs one Web API call.
    pub(crate) async fn api_call(&self, method: &str, p: &Params, token: Option<&str>) -> Outcome {
        let cfg = &self.inner.config;
        let Some(reference) = implemented(method) else {
            return Outcome::new(200, err("unknown_method"));
        };
        let Some(token) = token else {
            return Outcome::new(200, err("not_authed"));
        };
        let is_bot = token == cfg.bot_token;
        let is_app = token == cfg.app_token;
        if !is_bot && !is_app {
            return Outcome::new(200, err("invalid_auth"));
        }
        let wants_app = method == "apps.connections.open";
        if method != "auth.test" && wants_app != is_app {
            return Outcome::new(200, err("not_allowed_token_type"));
        }
        let missing = missing_args(reference, p);
        if !missing.is_empty() {
            return Outcome::new(200, missing_arg_error(reference, &missing));
        }
        let failure = self
            .st()
            .failures
            .get_mut(method)
            .and_then(|q| q.pop_front());
        let mut lose_answer = None;
        let mut delay_after = None;
        // An apply-then failure only counts once the call is applied: a 429
        // leaves it queued for the next call.
        let requeue = failure
            .clone()
            .filter(|f| matches!(f, Failure::ApplyThenStatus(_) | Failure::ApplyThenDelay(_)));
        match failure {
            Some(Failure::Status(s)) => return Outcome::new(s, err("internal_error")),
            Some(Failure::SlackError(code)) => return Outcome::new(200, err(&code)),
            Some(Failure::Delay(d)) => tokio::time::sleep(d).await,
            Some(Failure::ApplyThenStatus(s)) => lose_answer = Some(s),
            Some(Failure::ApplyThenDelay(d)) => delay_after = Some(d),
            None => {}
        }
        let mut st = self.st();
        let rl_channel = if method == "chat.postMessage" {
            // A user id and that user's DM are the same channel.
            p.str("channel")
                .map(|c| match st.channel(&c).and_then(|ch| ch.im_user.clone()) {
                    Some(u) => format!("dm:{u}"),
                    None if c.starts_with('U') || c.starts_with('W') => format!("dm:{c}"),
                    None => c,
                })
        } else {
            None
        };
        if let Err(ra) = st.limiter.check(
            &cfg.rate_limits,
            method,
            rl_channel.as_deref(),
            Instant::now(),
        ) {
            if let Some(f) = requeue {
                st.failures
                    .entry(method.to_string())
                    .or_default()
                    .push_front(f);
            }
            return Outcome {
                retry_after: Some(ra),
                ..Outcome::new(429, err("ratelimited"))
            };
        }
        let r = self.dispatch(&mut st, method, p, token);
        drop(st);
        if let Some(s) = lose_answer {
            return Outcome::new(s, err("internal_error"));
        }
        let (Ok(v) | Err(v)) = r;
        Outcome {
            delay_after,
            ..Outcome::new(200, v)
        }
    }

    fn dispatch(&self, st: &mut WsState, method: &str, p: &Params, token: &str) -> R {
        let cfg = &self.inner.config;
        match method {
            "auth.test" => ok(json!({
                "url": format!("https://{}.slack.com/", cfg.team_domain),
                "team": "Fieldnotes Demo",
                "user": "fieldnotes",
                "team_id": cfg.team_id,
                "user_id": cfg.bot_user_id,
                "bot_id": cfg.bot_id,
                "is_enterprise_install": false,
            })),
            "users.info" => {
                let id = p.str("user").ok_or_else(|| err("user_not_found"))?;
                let u = st.user(&id).ok_or_else(|| err("user_not_found"))?;
                ok(json!({"user": payloads::user(cfg, u)}))
            }
            "users.list" => {
                let users = st.users();
                let total = users.len();
                let (off, limit) = page(p, total)?;
                let end = (off + limit).min(total);
                let members: Vec<Value> = users[off..end]
                    .iter()
                    .map(|u| payloads::user(cfg, u))
                    .collect();
                ok(json!({
                    "members": members,
                    "cache_ts": chrono::Utc::now().timestamp(),
                    "response_metadata": next_cursor(end, total),
                }))
            }
            "usergroups.users.list" => {
                let id = p.str("usergroup").ok_or_else(|| err("no_such_subteam"))?;
                let (_, users) = st
                    .usergroups
                    .get(&id)
                    .ok_or_else(|| err("no_such_subteam"))?;
                ok(json!({"users": users}))
            }
            "conversations.open" => self.conversations_open(st, p),
            "conversations.members" => {
                let id = p.str("channel").ok_or_else(|| err("channel_not_found"))?;
                let c = st.channel(&id).ok_or_else(|| err("channel_not_found"))?;
                let total = c.members.len();
                let (off, limit) = page(p, total)?;
                let limit = if p.str("limit").is_none() { 100 } else { limit };
                let end = (off + limit).min(total);
                ok(json!({
                    "members": c.members[off..end],
                    "response_metadata": next_cursor(end, total),
                }))
            }
            "conversations.info" => {
                let id = p.str("channel").ok_or_else(|| err("channel_not_found"))?;
                let c = st.channel(&id).ok_or_else(|| err("channel_not_found"))?;
                ok(json!({"channel": payloads::channel(cfg, c, p.bool("include_num_members"))}))
            }
            "chat.postMessage" => self.post_message(st, p),
            "conversations.history" => self.conversations_history(st, p),
            "conversations.replies" => self.conversations_replies(st, p),
            "chat.update" => {
                let (channel, ts) = (p.str("channel"), p.str("ts"));
                let channel = channel.ok_or_else(|| err("channel_not_found"))?;
                let ts = ts.ok_or_else(|| err("message_not_found"))?;
                if st.channel(&channel).is_none() {
                    return Err(err("channel_not_found"));
                }
                let (text, blocks) = message_content(p, false)?;
                blocks_text_within_limit(blocks.as_ref())?;
                let metadata = metadata_arg(p)?;
                let m = st
                    .messages
                    .get_mut(&channel, &ts)
                    .filter(|m| m.ephemeral_for.is_none())
                    .ok_or_else(|| err("message_not_found"))?;
                if m.bot_id.as_deref() != Some(cfg.bot_id.as_str()) {
                    return Err(err("cant_update_message"));
                }
                if let Some(t) = text {
                    m.text = t;
                }
                if let Some(mut b) = blocks {
                    payloads::assign_ids(&mut b);
                    m.blocks = b;
                }
                // Absent: keep the old metadata; `{}`: remove it.
                match metadata {
                    MetadataArg::Absent => {}
                    MetadataArg::Remove => m.metadata = None,
                    MetadataArg::Set(md) => m.metadata = Some(md),
                }
                m.edited = true;
                let msg = payloads::message(cfg, m);
                ok(json!({"channel": channel, "ts": ts, "text": m.text, "message": msg}))
            }
            "chat.postEphemeral" => {
                let channel = p.str("channel").ok_or_else(|| err("channel_not_found"))?;
                let user = p.str("user").ok_or_else(|| err("user_not_found"))?;
                if st.user(&user).is_none() {
                    return Err(err("user_not_found"));
                }
                let c = st
                    .channel(&channel)
                    .ok_or_else(|| err("channel_not_found"))?;
                if !c.has_member(&user) {
                    return Err(err("user_not_in_channel"));
                }
                let (text, mut blocks) = message_content(p, true)?;
                if let Some(b) = blocks.as_mut() {
                    payloads::assign_ids(b);
                }
                let ts = st.next_ts();
                st.messages.push(Message {
                    channel,
                    ts: ts.clone(),
                    user: Some(cfg.bot_user_id.clone()),
                    bot_id: Some(cfg.bot_id.clone()),
                    text: text.unwrap_or_default(),
                    blocks: blocks.unwrap_or(json!([])),
                    thread_ts: p.str("thread_ts"),
                    edited: false,
                    ephemeral_for: Some(user),
                    metadata: None,
                    files: None,
                });
                ok(json!({"message_ts": ts}))
            }
            "chat.delete" => {
                let channel = p.str("channel").ok_or_else(|| err("channel_not_found"))?;
                let ts = p.str("ts").ok_or_else(|| err("message_not_found"))?;
                if st.channel(&channel).is_none() {
                    return Err(err("channel_not_found"));
                }
                let m = st
                    .message(&channel, &ts)
                    .ok_or_else(|| err("message_not_found"))?;
                if m.bot_id.as_deref() != Some(cfg.bot_id.as_str()) {
                    return Err(err("cant_delete_message"));
                }
                st.messages.remove(&channel, &ts);
                ok(json!({"channel": channel, "ts": ts}))
            }
            "chat.getPermalink" => {
                let channel = p.str("channel").ok_or_else(|| err("channel_not_found"))?;
                let ts = p
                    .str("message_ts")
                    .ok_or_else(|| err("message_not_found"))?;
                if st.channel(&channel).is_none() {
                    return Err(err("channel_not_found"));
                }
                let m = st
                    .message(&channel, &ts)
                    .ok_or_else(|| err("message_not_found"))?;
                let mut link = format!(
                    "https://{}.slack.com/archives/{}/p{}",
                    cfg.team_domain,
                    channel,
                    ts.replace('.', "")
                );
                if let Some(t) = m.thread_ts.as_ref().filter(|t| **t != ts) {
                    link.push_str(&format!("?thread_ts={t}&cid={channel}"));
                }
                ok(json!({"channel": channel, "permalink": link}))
            }
            "views.open" => self.views_open(st, p, false),
            "views.push" => self.views_open(st, p, true),
            "views.update" => self.views_update(st, p),
            "views.publish" => self.views_publish(st, p),
            "apps.connections.open" => {
                let ticket = ids::token();
                st.tickets.insert(ticket.clone(), Instant::now());
                ok(json!({"url": format!("ws://{}/socket?ticket={ticket}", self.inner.addr)}))
            }
            "files.getUploadURLExternal" => self.get_upload_url_external(st, p, token),
            "files.completeUploadExternal" => self.complete_upload_external(st, p, token),
            _ => Err(err("unknown_method")),
        }
    }

    fn conversations_open(&self, st: &mut WsState, p: &Params) -> R {
        let cfg = &self.inner.config;
        let id = if let Some(ch) = p.str("channel") {
            let c = st.channel(&ch).ok_or_else(|| err("channel_not_found"))?;
            if c.im_user.is_none() {
                return Err(err("channel_not_found"));
            }
            (ch, true)
        } else {
            let users = p.list("users");
            match users.len() {
                0 => return Err(err("users_list_not_supplied")),
                1 => {}
                2..=8 => return Err(err("not_supported")),
                _ => return Err(err("too_many_users")),
            }
            let user = &users[0];
            if *user == cfg.bot_user_id {
                return Err(err("cannot_dm_bot"));
            }
            let u = st.user(user).ok_or_else(|| err("user_not_found"))?;
            if u.deleted {
                return Err(err("user_disabled"));
            }
            st.open_dm(user, &cfg.bot_user_id)
        };
        let c = st.channel(&id.0).expect("just opened");
        let channel = if p.bool("return_im") {
            payloads::channel(cfg, c, false)
        } else {
            json!({"id": c.id})
        };
        let mut r = json!({"channel": channel});
        if id.1 {
            r["no_op"] = json!(true);
            r["already_open"] = json!(true);
        }
        ok(r)
    }

    /// conversations.history: top-level, non-ephemeral messages of one
    /// conversation, newest first, cursor-paged. Thread replies stay in
    /// their threads (their parents carry `reply_count`), and `metadata` is
    /// returned only with `include_all_metadata`.
    /// conversations.replies: the parent, then its replies, oldest first,
    /// `limit` a page (cursor: an offset into the thread). Metadata only
    /// with `include_all_metadata`, as Slack does.
    fn conversations_replies(&self, st: &mut WsState, p: &Params) -> R {
        let cfg = &self.inner.config;
        let id = p.str("channel").ok_or_else(|| err("channel_not_found"))?;
        let c = st.channel(&id).ok_or_else(|| err("channel_not_found"))?;
        if c.im_user.is_none() && !c.has_member(&cfg.bot_user_id) {
            return Err(err("not_in_channel"));
        }
        let ts = p.str("ts").ok_or_else(|| err("thread_not_found"))?;
        let parent = st
            .messages
            .get(&id, &ts)
            .filter(|m| m.thread_ts.is_none() && m.ephemeral_for.is_none())
            .ok_or_else(|| err("thread_not_found"))?;
        let with_meta = p.bool("include_all_metadata");
        let limit = p
            .str("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0)
            .unwrap_or(10)
            .min(1000);
        let start = match p.str("cursor") {
            None => 0,
            Some(c) => c
                .strip_prefix("replies:")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| err("invalid_cursor"))?,
        };
        let mut thread: Vec<&Message> = vec![parent];
        thread.extend(st.messages.in_channel(&id).filter(|m| {
            m.thread_ts.as_deref() == Some(ts.as_str()) && m.ts != ts && m.ephemeral_for.is_none()
        }));
        let page: Vec<Value> = thread
            .iter()
            .skip(start)
            .take(limit)
            .map(|m| {
                let mut v = payloads::message(cfg, m);
                v["thread_ts"] = json!(ts);
                if with_meta {
                    if let Some(md) = &m.metadata {
                        v["metadata"] = md.clone();
                    }
                }
                v
            })
            .collect();
        let next = if start + limit < thread.len() {
            format!("replies:{}", start + limit)
        } else {
            String::new()
        };
        ok(json!({
            "messages": page,
            "has_more": !next.is_empty(),
            "response_metadata": {"next_cursor": next},
        }))
    }

    fn conversations_history(&self, st: &mut WsState, p: &Params) -> R {
        let cfg = &self.inner.config;
        let id = p.str("channel").ok_or_else(|| err("channel_not_found"))?;
        let c = st.channel(&id).ok_or_else(|| err("channel_not_found"))?;
        if c.im_user.is_none() && !c.has_member(&cfg.bot_user_id) {
            return Err(err("not_in_channel"));
        }
        let ts_arg = |k: &str, code: &str| match p.str(k) {
            None => Ok(None),
            Some(t) => ts_micros(&t).map(Some).ok_or_else(|| err(code)),
        };
        let oldest = ts_arg("oldest", "invalid_ts_oldest")?;
        let latest = ts_arg("latest", "invalid_ts_latest")?;
        let inclusive = p.bool("inclusive");
        let with_meta = p.bool("include_all_metadata");
        let limit = p
            .str("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0)
            .unwrap_or(100)
            .min(999);
        // [lo, hi) in microseconds.
        let lo = match oldest {
            None => i64::MIN,
            Some(o) if inclusive => o,
            Some(o) => o.saturating_add(1),
        };
        let mut hi = match latest {
            None => i64::MAX,
            Some(l) if inclusive => l.saturating_add(1),
            Some(l) => l,
        };
        if let Some(cur) = p.str("cursor") {
            hi = hi.min(parse_history_cursor(&cur).ok_or_else(|| err("invalid_cursor"))?);
        }
        let range = st.messages.top_level_range(&id, lo, hi);
        let take = range.len().min(limit);
        let page = &range[range.len() - take..];
        let has_more = range.len() > take;
        let mut messages = Vec::with_capacity(take);
        for &i in page.iter().rev() {
            let Some(m) = st.messages.slot(i) else {
                continue;
            };
            let mut v = payloads::message(cfg, m);
            let replies = st.messages.reply_count(&id, &m.ts);
            if replies > 0 {
                v["thread_ts"] = json!(m.ts);
                v["reply_count"] = json!(replies);
            }
            if with_meta {
                if let Some(md) = &m.metadata {
                    v["metadata"] = md.clone();
                }
            }
            messages.push(v);
        }
        let next = match page.first().and_then(|&i| st.messages.slot(i)) {
            Some(m) if has_more => history_cursor(&m.ts),
            _ => String::new(),
        };
        let mut r = json!({
            "messages": messages,
            "has_more": has_more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": next},
        });
        if let Some(l) = p.str("latest") {
            r["latest"] = json!(l);
        }
        ok(r)
    }

    fn post_message(&self, st: &mut WsState, p: &Params) -> R {
        let cfg = &self.inner.config;
        let raw = p.str("channel").ok_or_else(|| err("channel_not_found"))?;
        let channel = if raw.starts_with('U') || raw.starts_with('W') {
            let u = st.user(&raw).ok_or_else(|| err("channel_not_found"))?;
            if u.deleted {
                return Err(err("user_disabled"));
            }
            st.open_dm(&raw, &cfg.bot_user_id).0
        } else {
            st.channel(&raw)
                .ok_or_else(|| err("channel_not_found"))?
                .id
                .clone()
        };
        let (text, mut blocks) = message_content(p, true)?;
        blocks_text_within_limit(blocks.as_ref())?;
        if let Some(b) = blocks.as_mut() {
            payloads::assign_ids(b);
        }
        let metadata = match metadata_arg(p)? {
            MetadataArg::Set(md) => Some(md),
            // `{}` is not metadata: Slack wants event_type and event_payload.
            MetadataArg::Remove => return Err(err("invalid_metadata_format")),
            MetadataArg::Absent => None,
        };
        let ts = st.next_ts();
        let m = Message {
            metadata,
            channel: channel.clone(),
            ts: ts.clone(),
            user: Some(cfg.bot_user_id.clone()),
            bot_id: Some(cfg.bot_id.clone()),
            text: text.unwrap_or_default(),
            blocks: blocks.unwrap_or(json!([])),
            thread_ts: p.str("thread_ts"),
            edited: false,
            ephemeral_for: None,
            files: None,
        };
        let msg = payloads::message(cfg, &m);
        st.messages.push(m);
        ok(json!({"channel": channel, "ts": ts, "message": msg}))
    }

    /// Checks and consumes a trigger_id; returns the user it belongs to.
    fn take_trigger(&self, st: &mut WsState, p: &Params) -> Result<String, Value> {
        let id = p
            .str("trigger_id")
            .ok_or_else(|| err("invalid_trigger_id"))?;
        let t = st
            .triggers
            .get_mut(&id)
            .ok_or_else(|| err("invalid_trigger_id"))?;
        if t.used {
            return Err(err("exchanged_trigger_id"));
        }
        if t.created.elapsed() > self.inner.config.trigger_ttl {
            return Err(err("expired_trigger_id"));
        }
        t.used = true;
        Ok(t.user.clone())
    }

    fn views_open(&self, st: &mut WsState, p: &Params, push: bool) -> R {
        let view = p
            .get("view")
            .cloned()
            .ok_or_else(|| err("invalid_arguments"))?;
        if view["type"] != "modal" {
            return Err(invalid_view(vec![
                "must be modal [json-pointer:/view/type]".into(),
            ]));
        }
        blockkit::validate_view(&view).map_err(invalid_view)?;
        if let Some(ext) = view["external_id"].as_str().filter(|s| !s.is_empty()) {
            if st
                .views
                .iter()
                .any(|v| !v.closed && v.view["external_id"] == ext)
            {
                return Err(err("duplicate_external_id"));
            }
        }
        let user = {
            // Check without consuming first, so an error leaves it usable.
            let id = p.str("trigger_id").unwrap_or_default();
            let trigger_user = st.triggers.get(&id).map(|t| t.user.clone());
            if push {
                if let Some(u) = &trigger_user {
                    let depth = st.modal_stack(u).len();
                    if depth == 0 {
                        return Err(err("not_found"));
                    }
                    if depth >= 3 {
                        return Err(err("push_limit_reached"));
                    }
                }
            }
            self.take_trigger(st, p)?
        };
        let stack: Vec<String> = st.modal_stack(&user).iter().map(|v| v.id.clone()).collect();
        let (root, previous) = if push {
            (stack.first().cloned(), stack.last().cloned())
        } else {
            for id in &stack {
                if let Some(v) = st.view_mut(id) {
                    v.closed = true;
                }
            }
            (None, None)
        };
        let id = ids::view_id();
        let full = self.stateful_view(&id, &view, json!({}), root.as_deref(), previous.as_deref());
        st.views.push(OpenView {
            id,
            user,
            view: full.clone(),
            kind: "modal".into(),
            closed: false,
            errors: None,
        });
        ok(json!({"view": full}))
    }

    fn views_update(&self, st: &mut WsState, p: &Params) -> R {
        let view = p
            .get("view")
            .cloned()
            .ok_or_else(|| err("invalid_arguments"))?;
        blockkit::validate_view(&view).map_err(invalid_view)?;
        let target = if let Some(id) = p.str("view_id") {
            st.views.iter().position(|v| v.id == id && !v.closed)
        } else if let Some(ext) = p.str("external_id") {
            st.views
                .iter()
                .position(|v| !v.closed && v.view["external_id"] == ext.as_str())
        } else {
            return Err(err("invalid_arguments"));
        };
        let idx = target.ok_or_else(|| err("not_found"))?;
        let old = st.views[idx].clone();
        if let Some(h) = p.str("hash") {
            if old.view["hash"] != h.as_str() {
                return Err(err("hash_conflict"));
            }
        }
        if view["type"].as_str() != Some(old.kind.as_str()) {
            return Err(invalid_view(vec![
                "type cannot change [json-pointer:/view/type]".into(),
            ]));
        }
        let full = self.replace_view_content(&old, &view);
        st.views[idx].view = full.clone();
        st.views[idx].errors = None;
        ok(json!({"view": full}))
    }

    fn views_publish(&self, st: &mut WsState, p: &Params) -> R {
        let user = p.str("user_id").ok_or_else(|| err("user_not_found"))?;
        if st.user(&user).is_none() {
            return Err(err("user_not_found"));
        }
        let view = p
            .get("view")
            .cloned()
            .ok_or_else(|| err("invalid_arguments"))?;
        if view["type"] != "home" {
            return Err(invalid_view(vec![
                "must be home [json-pointer:/view/type]".into()
            ]));
        }
        blockkit::validate_view(&view).map_err(invalid_view)?;
        let existing = st
            .views
            .iter()
            .position(|v| v.user == user && v.kind == "home");
        if let (Some(h), Some(i)) = (p.str("hash"), existing) {
            if st.views[i].view["hash"] != h.as_str() {
                return Err(err("hash_conflict"));
            }
        }
        let full = match existing {
            Some(i) => {
                let f = self.replace_view_content(&st.views[i], &view);
                st.views[i].view = f.clone();
                f
            }
            None => {
                let id = ids::view_id();
                let f = self.stateful_view(&id, &view, json!({}), None, None);
                st.views.push(OpenView {
                    id,
                    user,
                    view: f.clone(),
                    kind: "home".into(),
                    closed: false,
                    errors: None,
                });
                f
            }
        };
        ok(json!({"view": full}))
    }

    /// New content for an existing view: same id and stack, new hash, and the
    /// state of inputs whose block survives.
    pub(crate) fn replace_view_content(&self, old: &OpenView, view: &Value) -> Value {
        let mut values = old.view["state"]["values"].clone();
        let mut full = self.stateful_view(
            &old.id,
            view,
            json!({}),
            old.view["root_view_id"].as_str(),
            old.view["previous_view_id"].as_str(),
        );
        let keep: Vec<String> = full["blocks"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|b| b["block_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(o) = values.as_object_mut() {
            o.retain(|k, _| keep.contains(k));
        }
        full["state"] = json!({"values": values});
        full
    }

    /// A view as Slack stores and returns it.
    pub(crate) fn stateful_view(
        &self,
        id: &str,
        view: &Value,
        values: Value,
        root: Option<&str>,
        previous: Option<&str>,
    ) -> Value {
        let cfg = &self.inner.config;
        let mut v = view.clone();
        if let Some(b) = v.get_mut("blocks") {
            payloads::assign_ids(b);
        }
        let o = v.as_object_mut().expect("view is an object");
        for k in ["private_metadata", "callback_id", "external_id"] {
            if o.get(k).is_none_or(Value::is_null) {
                o.insert(k.into(), json!(""));
            }
        }
        for k in ["clear_on_close", "notify_on_close"] {
            o.entry(k).or_insert(json!(false));
        }
        if o["type"] == "modal" {
            o.entry("close").or_insert(Value::Null);
            o.entry("submit").or_insert(Value::Null);
        }
        o.insert("id".into(), json!(id));
        o.insert("team_id".into(), json!(cfg.team_id));
        o.insert("state".into(), json!({"values": values}));
        o.insert("hash".into(), json!(ids::view_hash()));
        o.insert("root_view_id".into(), json!(root.unwrap_or(id)));
        o.insert("previous_view_id".into(), json!(previous));
        o.insert("app_id".into(), json!(cfg.app_id));
        o.insert("app_installed_team_id".into(), json!(cfg.team_id));
        o.insert("bot_id".into(), json!(cfg.bot_id));
        v
    }

    fn response_url(&self, id: &str, p: &Params) -> (u16, Value) {
        let cfg = &self.inner.config;
        let mut st = self.st();
        let Some(t) = st.response_urls.get(id).cloned() else {
            return (404, err("invalid_token"));
        };
        let (text, mut blocks) = match message_content(p, false) {
            Ok(x) => x,
            Err(e) => return (400, e),
        };
        if let Some(b) = blocks.as_mut() {
            payloads::assign_ids(b);
        }
        if p.bool("delete_original") {
            if let Some(ts) = &t.message_ts {
                st.messages.remove(&t.channel, ts);
            }
            return (200, json!({"ok": true}));
        }
        if p.bool("replace_original") {
            if let Some(ts) = &t.message_ts {
                if let Some(m) = st.messages.get_mut(&t.channel, ts) {
                    if let Some(tx) = text {
                        m.text = tx;
                    }
                    m.blocks = blocks.unwrap_or(json!([]));
                    return (200, json!({"ok": true}));
                }
            }
            return (404, err("message_not_found"));
        }
        let in_channel = p.str("response_type").as_deref() == Some("in_channel");
        let ts = st.next_ts();
        st.messages.push(Message {
            channel: t.channel.clone(),
            ts,
            user: Some(cfg.bot_user_id.clone()),
            bot_id: Some(cfg.bot_id.clone()),
            text: text.unwrap_or_default(),
            blocks: blocks.unwrap_or(json!([])),
            thread_ts: p.str("thread_ts"),
            edited: false,
            ephemeral_for: (!in_channel).then(|| t.user.clone()),
            metadata: None,
            files: None,
        });
        (200, json!({"ok": true}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_method_has_a_reference() {
        for m in METHODS {
            assert!(
                api_ref::method(m).is_some(),
                "{m} is implemented but api-ref/{m}.json is missing"
            );
            assert!(implemented(m).is_some());
            assert!(is_method_name(m), "{m}");
        }
        // A reference alone does not make a method implemented.
        assert!(api_ref::method("reactions.add").is_some());
        assert!(implemented("reactions.add").is_none());
    }

    #[test]
    fn method_names_are_slack_shaped() {
        for ok in ["auth.test", "chat.postMessage", "apps.connections.open"] {
            assert!(is_method_name(ok), "{ok}");
        }
        for bad in [
            "",
            "auth",
            "/auth.test",
            "auth.test/",
            "auth..test",
            ".auth.test",
            "auth.test.",
            "auth.te-st",
            "auth.test1",
            "auth/test",
            "auth.tést",
        ] {
            assert!(!is_method_name(bad), "{bad:?}");
        }
    }

    fn params(v: Value) -> Params {
        match v {
            Value::Object(o) => Params(o),
            _ => unreachable!(),
        }
    }

    #[test]
    fn missing_arguments_map_to_slacks_errors() {
        let check = |method: &str, p: Value| {
            let r = api_ref::method(method).unwrap();
            let m = missing_args(r, &params(p));
            (!m.is_empty()).then(|| missing_arg_error(r, &m))
        };
        let code = |v: Option<Value>| v.map(|v| v["error"].as_str().unwrap().to_string());
        assert_eq!(
            code(check("chat.postMessage", json!({"text": "x"}))).as_deref(),
            Some("channel_not_found")
        );
        // Empty and null count as missing.
        assert_eq!(
            code(check("chat.postMessage", json!({"channel": ""}))).as_deref(),
            Some("channel_not_found")
        );
        assert_eq!(
            code(check("users.info", json!({"user": null}))).as_deref(),
            Some("user_not_found")
        );
        assert_eq!(
            code(check("chat.update", json!({"channel": "C1"}))).as_deref(),
            Some("message_not_found")
        );
        assert_eq!(
            code(check("chat.getPermalink", json!({"channel": "C1"}))).as_deref(),
            Some("message_not_found")
        );
        assert_eq!(
            code(check(
                "reactions.add",
                json!({"channel": "C1", "name": "x"})
            ))
            .as_deref(),
            Some("message_not_found")
        );
        assert_eq!(
            code(check("files.info", json!({}))).as_deref(),
            Some("file_not_found")
        );
        // Documents missing_argument.
        assert_eq!(
            code(check(
                "files.getUploadURLExternal",
                json!({"filename": "a.png"})
            ))
            .as_deref(),
            Some("missing_argument")
        );
        // Otherwise invalid_arguments, naming the fields.
        let e = check("views.publish", json!({})).unwrap();
        assert_eq!(e["error"], "invalid_arguments");
        assert_eq!(
            e["response_metadata"]["messages"],
            json!([
                "[ERROR] missing required field: user_id",
                "[ERROR] missing required field: view"
            ])
        );
        assert!(check("views.publish", json!({"user_id": "U1", "view": {}})).is_none());
        assert!(check("auth.test", json!({})).is_none());
        assert!(check("conversations.open", json!({})).is_none());
    }

    #[test]
    fn unexpected_arguments_exclude_token_and_team_id() {
        let r = api_ref::method("chat.postMessage").unwrap();
        let p = params(json!({
            "channel": "C1", "text": "x", "token": "t", "team_id": "T1",
            "bogus": 1, "as_user": true, "zz": null,
        }));
        assert_eq!(unexpected_args(r, &p), ["bogus", "zz"]);
    }
}
