//! Acting as a workspace member: clicking, submitting, typing commands and
//! messages, opening App Home.
//!
//! Each action builds the payload in Slack's documented shape (minting a
//! fresh trigger_id and response_url where Slack would), delivers it through
//! the current mode, waits for the ack, and applies what the ack says (a
//! `response_action` for a modal, a reply for a slash command), because that
//! is how a real user's click reaches the bot.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};

use crate::blockkit::{self, DEFAULT_MIN_QUERY_LENGTH};
use crate::config::{FieldAnswer, User};
use crate::delivery::{Delivery, DeliveryKind};
use crate::payloads;
use crate::server::Emulator;
use crate::state::{ids, Message, OpenView, ResponseTarget};

fn action_ts() -> String {
    let t = chrono::Utc::now().timestamp_micros();
    format!("{}.{:06}", t / 1_000_000, t % 1_000_000)
}

fn is_empty_answer(v: &Value) -> bool {
    let has = |k: &str| match v.get(k) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    };
    ![
        "value",
        "selected_option",
        "selected_options",
        "selected_user",
        "selected_users",
        "selected_conversation",
        "selected_conversations",
        "selected_channel",
        "selected_channels",
        "selected_date",
        "selected_time",
        "selected_date_time",
    ]
    .iter()
    .any(|k| has(k))
}

/// All options of a select-like element, groups flattened.
fn element_options(el: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = el["options"].as_array().cloned().unwrap_or_default();
    if let Some(groups) = el["option_groups"].as_array() {
        for g in groups {
            out.extend(g["options"].as_array().cloned().unwrap_or_default());
        }
    }
    out
}

/// An option as Slack reports a selection: its text and value.
fn selected(o: &Value) -> Value {
    json!({"text": o["text"], "value": o["value"]})
}

/// The option with `value` among `known`, or one whose text is the value
/// when no option has it.
fn option_for(known: &[Value], value: &str) -> Value {
    known
        .iter()
        .find(|o| o["value"] == value)
        .map(selected)
        .unwrap_or_else(
            || json!({"text": {"type":"plain_text","text": value, "emoji": true}, "value": value}),
        )
}

fn is_external_select(el: &Value) -> bool {
    matches!(
        el["type"].as_str(),
        Some("external_select" | "multi_external_select")
    )
}

impl Emulator {
    fn member(&self, id: &str) -> anyhow::Result<User> {
        self.st()
            .user(id)
            .cloned()
            .ok_or_else(|| anyhow!("no such user {id}"))
    }

    fn new_response_url(&self, channel: &str, user: &str, message_ts: Option<&str>) -> String {
        let token = ids::token();
        self.st().response_urls.insert(
            token.clone(),
            ResponseTarget {
                channel: channel.into(),
                user: user.into(),
                message_ts: message_ts.map(str::to_string),
            },
        );
        format!("http://{}/response/{token}", self.inner.addr)
    }

    fn channel_ref(&self, id: &str) -> anyhow::Result<Value> {
        let st = self.st();
        let c = st
            .channel(id)
            .ok_or_else(|| anyhow!("no such channel {id}"))?;
        let name = if c.im_user.is_some() {
            "directmessage".to_string()
        } else {
            c.name.clone()
        };
        Ok(json!({"id": c.id, "name": name}))
    }

    /// Clicks a button in a message.
    pub async fn click_button(
        &self,
        user: &str,
        channel: &str,
        message_ts: &str,
        action_id: &str,
    ) -> anyhow::Result<Delivery> {
        self.click_button_where(user, channel, message_ts, action_id, None)
            .await
    }

    /// Clicks the button `action_id` whose value is `value`, in a message
    /// that has several (one per block).
    pub async fn click_button_valued(
        &self,
        user: &str,
        channel: &str,
        message_ts: &str,
        action_id: &str,
        value: &str,
    ) -> anyhow::Result<Delivery> {
        self.click_button_where(user, channel, message_ts, action_id, Some(value))
            .await
    }

    async fn click_button_where(
        &self,
        user: &str,
        channel: &str,
        message_ts: &str,
        action_id: &str,
        value: Option<&str>,
    ) -> anyhow::Result<Delivery> {
        let cfg = self.config().clone();
        let u = self.member(user)?;
        let msg = self
            .st()
            .message(channel, message_ts)
            .filter(|m| m.ephemeral_for.as_deref().is_none_or(|e| e == user))
            .cloned()
            .ok_or_else(|| anyhow!("no message {message_ts} in {channel} visible to {user}"))?;
        let (block_id, el) = payloads::find_element_where(&msg.blocks, action_id, |e| {
            value.is_none_or(|v| e["value"].as_str() == Some(v))
        })
        .ok_or_else(|| {
            anyhow!("no element with action_id {action_id:?} (value {value:?}) in that message")
        })?;
        if el["type"] != "button" {
            bail!("{action_id:?} is a {}, not a button", el["type"]);
        }
        let trigger_id = self.st().mint_trigger(user);
        let response_url = self.new_response_url(channel, user, Some(message_ts));
        let mut action = json!({
            "type": "button", "action_id": action_id, "block_id": block_id,
            "text": el["text"], "action_ts": action_ts(),
        });
        if let Some(v) = el.get("value") {
            action["value"] = v.clone();
        }
        if let Some(s) = el.get("style") {
            action["style"] = s.clone();
        }
        let is_ephemeral = msg.ephemeral_for.is_some();
        let mut payload = json!({
            "type": "block_actions",
            "user": payloads::basic_user(&cfg, &u),
            "api_app_id": cfg.app_id,
            "token": "emulator-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": is_ephemeral},
            "trigger_id": trigger_id,
            "team": payloads::team(&cfg),
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": self.channel_ref(channel)?,
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        });
        if !is_ephemeral {
            payload["message"] = payloads::message(&cfg, &msg);
        }
        self.deliver(DeliveryKind::Interactive, payload).await
    }

    fn visible_view(&self, user: &str, view_id: &str) -> anyhow::Result<OpenView> {
        let v = self
            .st()
            .view(view_id)
            .cloned()
            .ok_or_else(|| anyhow!("no view {view_id}"))?;
        if v.user != user {
            bail!("view {view_id} belongs to {}, not {user}", v.user);
        }
        if v.closed {
            bail!("view {view_id} is closed");
        }
        Ok(v)
    }

    /// Clicks a button inside a modal or the Home tab.
    pub async fn click_view_button(
        &self,
        user: &str,
        view_id: &str,
        action_id: &str,
    ) -> anyhow::Result<Delivery> {
        self.act_in_view(user, view_id, action_id, "button", |block_id, el| {
            let mut action = json!({
                "type": "button", "action_id": action_id, "block_id": block_id,
                "text": el["text"], "action_ts": action_ts(),
            });
            if let Some(val) = el.get("value") {
                action["value"] = val.clone();
            }
            Ok(action)
        })
        .await
    }

    /// Picks `value` in an overflow menu (action_id) in a view the user sees
    /// (their Home tab or topmost modal).
    pub async fn select_overflow_in_view(
        &self,
        user: &str,
        view_id: &str,
        action_id: &str,
        value: &str,
    ) -> anyhow::Result<Delivery> {
        self.act_in_view(user, view_id, action_id, "overflow", |block_id, el| {
            let opt = el["options"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|o| o["value"] == value)
                .cloned()
                .ok_or_else(|| anyhow!("overflow {action_id:?} has no option {value:?}"))?;
            Ok(json!({
                "type": "overflow", "action_id": action_id, "block_id": block_id,
                "selected_option": opt, "action_ts": action_ts(),
            }))
        })
        .await
    }

    /// Sends a `block_actions` payload for the element `action_id` (of type
    /// `kind`) in a view the user sees; `action` builds the action object
    /// from the element's block_id and JSON.
    async fn act_in_view(
        &self,
        user: &str,
        view_id: &str,
        action_id: &str,
        kind: &str,
        action: impl FnOnce(&str, &Value) -> anyhow::Result<Value>,
    ) -> anyhow::Result<Delivery> {
        let cfg = self.config().clone();
        let u = self.member(user)?;
        let v = self.visible_view(user, view_id)?;
        let (block_id, el) = payloads::find_element(&v.view["blocks"], action_id)
            .ok_or_else(|| anyhow!("no element with action_id {action_id:?} in view {view_id}"))?;
        if el["type"] != kind {
            bail!("{action_id:?} is a {}, not a {kind}", el["type"]);
        }
        let action = action(&block_id, &el)?;
        let trigger_id = self.st().mint_trigger(user);
        let payload = json!({
            "type": "block_actions",
            "user": payloads::basic_user(&cfg, &u),
            "api_app_id": cfg.app_id,
            "token": "emulator-verification-token",
            "container": {"type": "view", "view_id": view_id},
            "trigger_id": trigger_id,
            "team": payloads::team(&cfg),
            "enterprise": null,
            "is_enterprise_install": false,
            "view": v.view,
            "actions": [action],
        });
        self.deliver(DeliveryKind::Interactive, payload).await
    }

    /// Delivers an interaction payload as given (correctly signed, as if
    /// from Slack): for tests of what the app does with a payload no Slack
    /// client would send, such as someone acting on another person's note.
    pub async fn send_interaction(&self, payload: Value) -> anyhow::Result<Delivery> {
        self.deliver(DeliveryKind::Interactive, payload).await
    }

    /// Delivers slash-command fields as given (correctly signed): for tests
    /// of fields no Slack client would send, such as an empty `user_id`.
    pub async fn send_command_fields(&self, fields: Value) -> anyhow::Result<Delivery> {
        self.deliver(DeliveryKind::SlashCommand, fields).await
    }

    /// Builds `view.state.values` for a modal from answers keyed by block_id,
    /// using the right shape for each input element.
    ///
    /// Selects, radio buttons and checkboxes take option values: the
    /// reported option carries the text of the element's option with that
    /// value (for an external select: of the options the app answered
    /// [`Emulator::block_suggestion`] with, or of its initial options), or
    /// the value itself as text when none has it. An unanswered option input
    /// reports its `initial_option(s)`, and an untouched text input its
    /// `initial_value`, as Slack does; any other unanswered input gets
    /// Slack's empty value.
    pub fn fill_modal_values(&self, view: &Value, answers: &HashMap<String, FieldAnswer>) -> Value {
        let view_id = view["id"].as_str().unwrap_or_default();
        let mut values = serde_json::Map::new();
        for b in view["blocks"].as_array().into_iter().flatten() {
            if b["type"] != "input" {
                continue;
            }
            let (Some(block_id), Some(action_id)) =
                (b["block_id"].as_str(), b["element"]["action_id"].as_str())
            else {
                continue;
            };
            let el = &b["element"];
            let ty = el["type"].as_str().unwrap_or("plain_text_input");
            let answer = answers.get(block_id);
            let texts: Vec<String> = match answer {
                None => vec![],
                Some(FieldAnswer::Text(t)) | Some(FieldAnswer::Select(t)) => vec![t.clone()],
                Some(FieldAnswer::Multi(v)) => v.clone(),
            };
            let first = texts.first().cloned();
            let initial: Vec<Value> = el
                .get("initial_option")
                .filter(|o| o.is_object())
                .into_iter()
                .chain(el["initial_options"].as_array().into_iter().flatten())
                .cloned()
                .collect();
            let known = || {
                let mut k = if is_external_select(el) {
                    self.st()
                        .suggested
                        .get(&(view_id.into(), block_id.into(), action_id.into()))
                        .cloned()
                        .unwrap_or_default()
                } else {
                    element_options(el)
                };
                k.extend(initial.iter().cloned());
                k
            };
            let mut state = json!({"type": ty});
            match ty {
                "static_select" | "external_select" | "radio_buttons" => {
                    state["selected_option"] = match (answer, first) {
                        (None, _) => initial.first().map(selected).unwrap_or(Value::Null),
                        (Some(_), Some(v)) => option_for(&known(), &v),
                        (Some(_), None) => Value::Null,
                    };
                }
                "multi_static_select" | "multi_external_select" | "checkboxes" => {
                    state["selected_options"] = match answer {
                        None => Value::Array(initial.iter().map(selected).collect()),
                        Some(_) => {
                            let known = known();
                            Value::Array(texts.iter().map(|v| option_for(&known, v)).collect())
                        }
                    };
                }
                "users_select" => state["selected_user"] = json!(first),
                "multi_users_select" => state["selected_users"] = json!(texts),
                "conversations_select" => state["selected_conversation"] = json!(first),
                "multi_conversations_select" => state["selected_conversations"] = json!(texts),
                "channels_select" => state["selected_channel"] = json!(first),
                "multi_channels_select" => state["selected_channels"] = json!(texts),
                "datepicker" => state["selected_date"] = json!(first),
                "timepicker" => state["selected_time"] = json!(first),
                // An untouched text input submits its initial_value, as in Slack.
                _ => {
                    state["value"] = match (&answer, el.get("initial_value")) {
                        (None, Some(init)) => init.clone(),
                        _ => json!(first),
                    }
                }
            }
            values.insert(block_id.to_string(), json!({ action_id: state }));
        }
        Value::Object(values)
    }

    /// Types `value` into the external select (`external_select` or
    /// `multi_external_select`) of block `block_id` in a view `user` sees
    /// (their topmost modal, or their Home tab), as a user searching the
    /// menu: sends Slack's `block_suggestion` payload through the current
    /// delivery mode and returns the options the app answered with
    /// (`option_groups` flattened).
    ///
    /// Refused, as the Slack client would not send it, when `value` is
    /// shorter than the element's `min_query_length` (3 when unset). The
    /// answer is checked as Slack checks it (at most 100 options or option
    /// groups; plain_text option text of 1–75 characters; values of at most
    /// 150); an answer Slack could not show (none, late, non-2xx, or
    /// invalid) is an error that says why. The options are remembered so
    /// that [`Emulator::fill_modal_values`] reports a picked one with its
    /// text.
    pub async fn block_suggestion(
        &self,
        user: &str,
        view_id: &str,
        block_id: &str,
        value: &str,
    ) -> anyhow::Result<Vec<Value>> {
        let cfg = self.config().clone();
        let u = self.member(user)?;
        let v = self.visible_view(user, view_id)?;
        if v.kind == "modal" && self.open_modal_for(user).map(|t| t.id).as_deref() != Some(view_id)
        {
            bail!("view {view_id} is not the topmost modal of {user}: they cannot type into it");
        }
        let els = payloads::block_elements(&v.view["blocks"], block_id)
            .ok_or_else(|| anyhow!("no block {block_id:?} in view {view_id}"))?;
        let externals: Vec<&Value> = els.iter().filter(|e| is_external_select(e)).collect();
        let el = match externals.as_slice() {
            [el] => *el,
            [] => {
                let types: Vec<&str> = els.iter().filter_map(|e| e["type"].as_str()).collect();
                bail!(
                    "block {block_id:?} of view {view_id} has no external_select or \
                     multi_external_select (it has {types:?}): only those send block_suggestion"
                );
            }
            many => bail!(
                "block {block_id:?} of view {view_id} has {} external selects; \
                 give each its own block to search one",
                many.len()
            ),
        };
        let action_id = el["action_id"]
            .as_str()
            .ok_or_else(|| anyhow!("the external select in {block_id:?} has no action_id"))?;
        let min = el["min_query_length"]
            .as_u64()
            .unwrap_or(DEFAULT_MIN_QUERY_LENGTH);
        let typed = value.chars().count() as u64;
        if typed < min {
            bail!(
                "{typed} characters typed into {block_id:?}, fewer than its min_query_length \
                 of {min}: Slack sends no block_suggestion yet"
            );
        }
        let payload = payloads::block_suggestion(&cfg, &u, &v.view, block_id, action_id, value);
        let d = self.deliver(DeliveryKind::Interactive, payload).await?;
        if !d.acked {
            match d.status {
                Some(s) => bail!(
                    "the app answered block_suggestion for {block_id:?} with HTTP {s}: \
                     Slack shows the menu as failing to load"
                ),
                None => bail!(
                    "the app did not answer block_suggestion for {block_id:?} within {:?}: \
                     Slack shows the menu as failing to load",
                    cfg.ack_timeout
                ),
            }
        }
        let resp = d.response.ok_or_else(|| {
            anyhow!(
                "the app acknowledged block_suggestion for {block_id:?} without a body: \
                 Slack needs {{\"options\":[...]}} or {{\"option_groups\":[...]}} to fill the menu"
            )
        })?;
        let options = blockkit::validate_suggestion_response(&resp).map_err(|errors| {
            anyhow!(
                "Slack would not show the app's answer to block_suggestion for {block_id:?}: {}",
                errors.join("; ")
            )
        })?;
        // Adds to what the menu has offered: the user may pick from an
        // earlier answer too (a multi-select keeps what was picked while the
        // query changes); a value offered again takes its latest text.
        {
            let mut st = self.st();
            let known = st
                .suggested
                .entry((view_id.into(), block_id.into(), action_id.into()))
                .or_default();
            for o in &options {
                match known.iter_mut().find(|k| k["value"] == o["value"]) {
                    Some(k) => *k = o.clone(),
                    None => known.push(o.clone()),
                }
            }
        }
        Ok(options)
    }

    /// Submits a modal with `values` (Slack's `view.state.values` shape) and
    /// applies the bot's `response_action`.
    pub async fn submit_view(
        &self,
        user: &str,
        view_id: &str,
        values: Value,
    ) -> anyhow::Result<Delivery> {
        let cfg = self.config().clone();
        let u = self.member(user)?;
        let v = self.visible_view(user, view_id)?;
        if v.kind != "modal" {
            bail!("view {view_id} is not a modal");
        }
        let top = self.open_modal_for(user).map(|t| t.id);
        if top.as_deref() != Some(view_id) {
            bail!("view {view_id} is not the topmost modal of {user}");
        }
        // The Slack client refuses to submit when a required input is empty
        // or too short/long; mirror that rather than send an impossible payload.
        for b in v.view["blocks"].as_array().into_iter().flatten() {
            if b["type"] != "input" {
                continue;
            }
            let bid = b["block_id"].as_str().unwrap_or_default();
            let aid = b["element"]["action_id"].as_str().unwrap_or_default();
            let answer = &values[bid][aid];
            if b["optional"] != true && is_empty_answer(answer) {
                bail!("required input {bid:?} is empty: Slack would not submit this modal");
            }
            if let Some(s) = answer["value"].as_str() {
                let n = s.chars().count() as u64;
                if b["element"]["max_length"].as_u64().is_some_and(|m| n > m)
                    || b["element"]["min_length"]
                        .as_u64()
                        .is_some_and(|m| n < m && n > 0)
                {
                    bail!("input {bid:?} has {n} characters, outside its min/max_length");
                }
            }
        }
        let view_json = {
            let mut st = self.st();
            let sv = st.view_mut(view_id).expect("checked above");
            sv.view["state"] = json!({"values": values});
            sv.view.clone()
        };
        let trigger_id = self.st().mint_trigger(user);
        let payload = json!({
            "type": "view_submission",
            "team": payloads::team(&cfg),
            "user": payloads::basic_user(&cfg, &u),
            "api_app_id": cfg.app_id,
            "token": "emulator-verification-token",
            "trigger_id": trigger_id,
            "view": view_json,
            "response_urls": [],
            "is_enterprise_install": false,
            "enterprise": null,
        });
        let d = self.deliver(DeliveryKind::Interactive, payload).await?;
        if d.acked {
            self.apply_view_response(user, view_id, d.response.as_ref());
        }
        Ok(d)
    }

    fn apply_view_response(&self, user: &str, view_id: &str, response: Option<&Value>) {
        let action = response
            .and_then(|r| r["response_action"].as_str())
            .unwrap_or("");
        let mut st = self.st();
        match action {
            "errors" => {
                if let Some(v) = st.view_mut(view_id) {
                    v.errors = response.map(|r| r["errors"].clone());
                }
            }
            "update" => {
                let new = response.map(|r| r["view"].clone()).unwrap_or_default();
                if crate::blockkit::validate_view(&new).is_ok() {
                    if let Some(old) = st.view(view_id).cloned() {
                        let full = self.replace_view_content(&old, &new);
                        let v = st.view_mut(view_id).expect("exists");
                        v.view = full;
                        v.errors = None;
                    }
                } else {
                    tracing::warn!("bot answered response_action update with an invalid view");
                }
            }
            "push" => {
                let new = response.map(|r| r["view"].clone()).unwrap_or_default();
                let stack: Vec<String> =
                    st.modal_stack(user).iter().map(|v| v.id.clone()).collect();
                if crate::blockkit::validate_view(&new).is_ok() && stack.len() < 3 {
                    let id = ids::view_id();
                    let full = self.stateful_view(
                        &id,
                        &new,
                        json!({}),
                        stack.first().map(String::as_str),
                        stack.last().map(String::as_str),
                    );
                    st.views.push(OpenView {
                        id,
                        user: user.into(),
                        view: full,
                        kind: "modal".into(),
                        closed: false,
                        errors: None,
                    });
                } else {
                    tracing::warn!("bot answered response_action push with an invalid view");
                }
            }
            "clear" => {
                let ids: Vec<String> = st.modal_stack(user).iter().map(|v| v.id.clone()).collect();
                for id in ids {
                    if let Some(v) = st.view_mut(&id) {
                        v.closed = true;
                    }
                }
            }
            _ => {
                if let Some(v) = st.view_mut(view_id) {
                    v.closed = true;
                }
            }
        }
    }

    /// Closes a modal as the user would with its close button; sends
    /// `view_closed` when the view asked for `notify_on_close`.
    pub async fn close_view(&self, user: &str, view_id: &str) -> anyhow::Result<Option<Delivery>> {
        let cfg = self.config().clone();
        let u = self.member(user)?;
        let v = self.visible_view(user, view_id)?;
        {
            let mut st = self.st();
            let ids: Vec<String> = if v.view["clear_on_close"] == true {
                st.modal_stack(user).iter().map(|v| v.id.clone()).collect()
            } else {
                vec![view_id.to_string()]
            };
            for id in ids {
                if let Some(x) = st.view_mut(&id) {
                    x.closed = true;
                }
            }
        }
        if v.view["notify_on_close"] != true {
            return Ok(None);
        }
        let payload = json!({
            "type": "view_closed",
            "team": payloads::team(&cfg),
            "user": payloads::basic_user(&cfg, &u),
            "api_app_id": cfg.app_id,
            "token": "emulator-verification-token",
            "view": v.view,
            "is_cleared": false,
            "is_enterprise_install": false,
            "enterprise": null,
        });
        self.deliver(DeliveryKind::Interactive, payload)
            .await
            .map(Some)
    }

    /// Types `/command text` in a channel.
    pub async fn slash_command(
        &self,
        user: &str,
        command: &str,
        text: &str,
        channel: &str,
    ) -> anyhow::Result<Delivery> {
        let cfg = self.config().clone();
        let u = self.member(user)?;
        let ch = self.channel_ref(channel)?;
        let trigger_id = self.st().mint_trigger(user);
        let response_url = self.new_response_url(channel, user, None);
        let payload = json!({
            "token": "emulator-verification-token",
            "team_id": cfg.team_id,
            "team_domain": cfg.team_domain,
            "channel_id": channel,
            "channel_name": ch["name"],
            "user_id": user,
            "user_name": u.name,
            "command": command,
            "text": text,
            "api_app_id": cfg.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        });
        let d = self.deliver(DeliveryKind::SlashCommand, payload).await?;
        if d.acked {
            let reply = match &d.response {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(json!({"text": s})),
                Some(v @ Value::Object(_))
                    if v.get("text").is_some() || v.get("blocks").is_some() =>
                {
                    Some(v.clone())
                }
                _ => None,
            };
            if let Some(r) = reply {
                let mut st = self.st();
                let ts = st.next_ts();
                let mut blocks = r.get("blocks").cloned().unwrap_or(json!([]));
                payloads::assign_ids(&mut blocks);
                st.messages.push(Message {
                    channel: channel.into(),
                    ts,
                    user: Some(cfg.bot_user_id.clone()),
                    bot_id: Some(cfg.bot_id.clone()),
                    text: r["text"].as_str().unwrap_or_default().into(),
                    blocks,
                    thread_ts: None,
                    edited: false,
                    ephemeral_for: (r["response_type"] != "in_channel").then(|| user.to_string()),
                    metadata: None,
                    files: None,
                });
            }
        }
        Ok(d)
    }

    /// Posts a message as `user` and sends the `message` event.
    pub async fn user_message(
        &self,
        user: &str,
        channel: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> anyhow::Result<Delivery> {
        self.member(user)?;
        let (ts, is_im, parent_user) = {
            let mut st = self.st();
            let c = st
                .channel(channel)
                .ok_or_else(|| anyhow!("no such channel {channel}"))?;
            if !c.has_member(user) {
                bail!("{user} is not a member of {channel}");
            }
            let is_im = c.im_user.is_some();
            let parent_user = thread_ts
                .and_then(|t| st.message(channel, t))
                .and_then(|m| m.user.clone());
            let ts = st.next_ts();
            st.messages.push(Message {
                channel: channel.into(),
                ts: ts.clone(),
                user: Some(user.into()),
                bot_id: None,
                text: text.into(),
                blocks: json!([]),
                thread_ts: thread_ts.map(str::to_string),
                edited: false,
                ephemeral_for: None,
                metadata: None,
                files: None,
            });
            (ts, is_im, parent_user)
        };
        let mut event = json!({
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "team": self.config().team_id,
            "client_msg_id": uuid::Uuid::new_v4().to_string(),
            "blocks": [{"type": "rich_text", "block_id": ids::block_id(), "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
            ]}],
            "channel": channel,
            "event_ts": ts,
            "channel_type": if is_im { "im" } else { "channel" },
        });
        if let Some(t) = thread_ts {
            event["thread_ts"] = json!(t);
            if let Some(p) = parent_user {
                event["parent_user_id"] = json!(p);
            }
        }
        self.send_event(event).await
    }

    /// Uses a message shortcut on a message.
    pub async fn message_shortcut(
        &self,
        user: &str,
        callback_id: &str,
        channel: &str,
        message_ts: &str,
    ) -> anyhow::Result<Delivery> {
        let cfg = self.config().clone();
        let u = self.member(user)?;
        let msg = self
            .st()
            .message(channel, message_ts)
            .cloned()
            .ok_or_else(|| anyhow!("no message {message_ts} in {channel}"))?;
        let trigger_id = self.st().mint_trigger(user);
        let response_url = self.new_response_url(channel, user, Some(message_ts));
        let payload = json!({
            "type": "message_action",
            "token": "emulator-verification-token",
            "action_ts": action_ts(),
            "team": payloads::team(&cfg),
            "user": payloads::basic_user(&cfg, &u),
            "channel": self.channel_ref(channel)?,
            "is_enterprise_install": false,
            "enterprise": null,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
            "response_url": response_url,
            "message_ts": message_ts,
            "message": payloads::message(&cfg, &msg),
        });
        self.deliver(DeliveryKind::Interactive, payload).await
    }

    /// Uses a global shortcut.
    pub async fn global_shortcut(&self, user: &str, callback_id: &str) -> anyhow::Result<Delivery> {
        let cfg = self.config().clone();
        let u = self.member(user)?;
        let trigger_id = self.st().mint_trigger(user);
        let payload = json!({
            "type": "shortcut",
            "token": "emulator-verification-token",
            "action_ts": action_ts(),
            "team": payloads::team(&cfg),
            "user": payloads::basic_user(&cfg, &u),
            "is_enterprise_install": false,
            "enterprise": null,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
        });
        self.deliver(DeliveryKind::Interactive, payload).await
    }

    /// The user opens the app's Home tab.
    pub async fn app_home_opened(&self, user: &str) -> anyhow::Result<Delivery> {
        self.member(user)?;
        let bot = self.config().bot_user_id.clone();
        let dm = self.st().open_dm(user, &bot).0;
        let mut event = json!({
            "type": "app_home_opened",
            "user": user,
            "channel": dm,
            "tab": "home",
            "event_ts": action_ts(),
        });
        if let Some(v) = self.home_view(user) {
            event["view"] = v.view;
        }
        self.send_event(event).await
    }

    /// Wraps any inner event in an `event_callback` envelope with a new
    /// event_id and delivers it.
    pub async fn send_event(&self, mut event: Value) -> anyhow::Result<Delivery> {
        if !event.is_object() {
            bail!("an event must be a JSON object");
        }
        if event.get("event_ts").is_none() {
            event["event_ts"] = json!(action_ts());
        }
        let cb = payloads::event_callback(self.config(), event, &ids::event_id());
        self.deliver(DeliveryKind::EventsApi, cb)
            .await
            .context("delivering event")
    }
}
