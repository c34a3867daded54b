//! JSON shapes Slack sends and answers with: users, conversations, messages,
//! views, event envelopes and interaction payloads.
//!
//! Built in one place so every producer shares the exact field names Slack
//! uses (and that slack-morphism's models expect).

use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::config::{EmulatorConfig, User};
use crate::state::{ids, Channel, Message};

pub fn team(cfg: &EmulatorConfig) -> Value {
    json!({"id": cfg.team_id, "domain": cfg.team_domain})
}

/// The `user` object of an interaction payload.
pub fn basic_user(cfg: &EmulatorConfig, u: &User) -> Value {
    json!({"id": u.id, "username": u.name, "name": u.name, "team_id": cfg.team_id})
}

/// (tz_label, tz_offset seconds) for an IANA zone, now.
pub fn tz_info(tz: &str) -> (String, i32) {
    let Ok(zone) = jiff::tz::TimeZone::get(tz) else {
        return ("Coordinated Universal Time".into(), 0);
    };
    let info = zone.to_offset_info(jiff::Timestamp::now());
    let offset = info.offset().seconds();
    let abbr = info.abbreviation();
    let label = match abbr {
        "EST" => "Eastern Standard Time",
        "EDT" => "Eastern Daylight Time",
        "CST" => "Central Standard Time",
        "CDT" => "Central Daylight Time",
        "MST" => "Mountain Standard Time",
        "MDT" => "Mountain Daylight Time",
        "PST" => "Pacific Standard Time",
        "PDT" => "Pacific Daylight Time",
        "GMT" => "Greenwich Mean Time",
        "BST" => "British Summer Time",
        "CET" => "Central European Time",
        "CEST" => "Central European Summer Time",
        "UTC" => "Coordinated Universal Time",
        "IST" => "India Standard Time",
        "JST" => "Japan Standard Time",
        "AEST" => "Australian Eastern Standard Time",
        "AEDT" => "Australian Eastern Daylight Time",
        _ => "",
    };
    let label = if label.is_empty() { abbr } else { label };
    (label.to_string(), offset)
}

/// A full user object as users.info / users.list return it.
pub fn user(cfg: &EmulatorConfig, u: &User) -> Value {
    let (tz_label, tz_offset) = tz_info(&u.tz);
    json!({
        "id": u.id,
        "team_id": cfg.team_id,
        "name": u.name,
        "deleted": u.deleted,
        "color": "9f69e7",
        "real_name": u.real_name,
        "tz": u.tz,
        "tz_label": tz_label,
        "tz_offset": tz_offset,
        "profile": {
            "real_name": u.real_name,
            "real_name_normalized": u.real_name,
            "display_name": u.name,
            "display_name_normalized": u.name,
            "team": cfg.team_id,
        },
        "is_admin": u.is_admin,
        "is_owner": false,
        "is_primary_owner": false,
        "is_restricted": false,
        "is_ultra_restricted": false,
        "is_bot": u.is_bot,
        "is_app_user": false,
        "updated": 1_700_000_000,
        "is_email_confirmed": !u.is_bot,
    })
}

pub fn channel(cfg: &EmulatorConfig, c: &Channel, include_num_members: bool) -> Value {
    let mut v = if let Some(user) = &c.im_user {
        json!({
            "id": c.id, "created": c.created, "is_im": true, "is_org_shared": false,
            "user": user, "is_user_deleted": false, "priority": 0,
            "context_team_id": cfg.team_id,
        })
    } else {
        json!({
            "id": c.id, "name": c.name, "name_normalized": c.name,
            "is_channel": true, "is_group": false, "is_im": false, "is_mpim": false,
            "is_private": false, "is_archived": false, "is_general": false,
            "is_shared": false, "is_org_shared": false,
            "is_member": c.has_member(&cfg.bot_user_id),
            "created": c.created, "creator": c.members.first().cloned().unwrap_or_default(),
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
            "context_team_id": cfg.team_id,
        })
    };
    if include_num_members {
        v["num_members"] = json!(c.members.len());
    }
    v
}

/// A message object as chat.postMessage returns it and payloads embed it.
pub fn message(cfg: &EmulatorConfig, m: &Message) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!("message"));
    if let Some(b) = &m.bot_id {
        o.insert("subtype".into(), json!("bot_message"));
        o.insert("bot_id".into(), json!(b));
        o.insert("app_id".into(), json!(cfg.app_id));
        o.insert(
            "bot_profile".into(),
            json!({"id": b, "app_id": cfg.app_id, "name": "Fieldnotes", "deleted": false,
                   "team_id": cfg.team_id, "updated": 1_700_000_000}),
        );
    }
    if let Some(u) = &m.user {
        o.insert("user".into(), json!(u));
    }
    o.insert("text".into(), json!(m.text));
    o.insert("ts".into(), json!(m.ts));
    o.insert("team".into(), json!(cfg.team_id));
    if m.blocks.as_array().is_some_and(|b| !b.is_empty()) {
        o.insert("blocks".into(), m.blocks.clone());
    }
    if let Some(t) = &m.thread_ts {
        o.insert("thread_ts".into(), json!(t));
    }
    if let Some(f) = &m.files {
        o.insert("files".into(), json!(f));
        o.insert("upload".into(), json!(false));
    }
    if m.edited {
        o.insert(
            "edited".into(),
            json!({"user": m.user.clone().unwrap_or_else(|| cfg.bot_user_id.clone()), "ts": m.ts}),
        );
    }
    Value::Object(o)
}

/// The `event_callback` envelope around an inner event.
pub fn event_callback(cfg: &EmulatorConfig, event: Value, event_id: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "token": "emulator-verification-token",
        "team_id": cfg.team_id,
        "context_team_id": cfg.team_id,
        "context_enterprise_id": null,
        "api_app_id": cfg.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": now,
        "authorizations": [{
            "enterprise_id": null,
            "team_id": cfg.team_id,
            "user_id": cfg.bot_user_id,
            "is_bot": true,
            "is_enterprise_install": false,
        }],
        "is_ext_shared_channel": false,
        "event_context": format!("4-{}", ids::token()),
    })
}

/// Fills in the block_id / action_id Slack generates for blocks and
/// elements that have none, so every stored block is addressable.
pub fn assign_ids(blocks: &mut Value) {
    let Some(arr) = blocks.as_array_mut() else {
        return;
    };
    for b in arr {
        let Some(o) = b.as_object_mut() else { continue };
        if !o.contains_key("block_id") {
            o.insert("block_id".into(), json!(ids::block_id()));
        }
        let mut fix = |el: &mut Value| {
            if let Some(e) = el.as_object_mut() {
                let interactive = e
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| !matches!(t, "image" | "mrkdwn" | "plain_text"));
                if interactive && !e.contains_key("action_id") {
                    e.insert("action_id".into(), json!(ids::block_id()));
                }
            }
        };
        if let Some(el) = o.get_mut("element") {
            fix(el);
        }
        if let Some(el) = o.get_mut("accessory") {
            fix(el);
        }
        if o.get("type").and_then(Value::as_str) == Some("actions") {
            if let Some(els) = o.get_mut("elements").and_then(Value::as_array_mut) {
                els.iter_mut().for_each(&mut fix);
            }
        }
    }
}

/// Finds an interactive element by action_id: (block_id, element).
pub fn find_element(blocks: &Value, action_id: &str) -> Option<(String, Value)> {
    find_element_where(blocks, action_id, |_| true)
}

/// Finds the first interactive element with `action_id` that `pick`
/// accepts (say, a button with a given value, when a message repeats an
/// action_id in several blocks, as Slack allows).
pub fn find_element_where(
    blocks: &Value,
    action_id: &str,
    pick: impl Fn(&Value) -> bool,
) -> Option<(String, Value)> {
    for b in blocks.as_array()? {
        let block_id = b["block_id"].as_str().unwrap_or_default().to_string();
        let mut candidates: Vec<&Value> = vec![];
        if let Some(a) = b.get("accessory") {
            candidates.push(a);
        }
        if let Some(e) = b.get("element") {
            candidates.push(e);
        }
        if let Some(els) = b.get("elements").and_then(Value::as_array) {
            candidates.extend(els.iter());
        }
        if let Some(e) = candidates
            .into_iter()
            .find(|e| e["action_id"].as_str() == Some(action_id) && pick(e))
        {
            return Some((block_id, e.clone()));
        }
    }
    None
}

/// The interactive elements of the block with `block_id`: an input's
/// `element`, a section's `accessory`, an actions block's `elements`.
pub fn block_elements(blocks: &Value, block_id: &str) -> Option<Vec<Value>> {
    let b = blocks
        .as_array()?
        .iter()
        .find(|b| b["block_id"].as_str() == Some(block_id))?;
    let mut out = vec![];
    for k in ["element", "accessory"] {
        if let Some(e) = b.get(k) {
            out.push(e.clone());
        }
    }
    if let Some(els) = b.get("elements").and_then(Value::as_array) {
        out.extend(els.iter().cloned());
    }
    Some(out)
}

/// A `block_suggestion` payload for an external select in a view: what Slack
/// sends as the user types into the menu.
pub fn block_suggestion(
    cfg: &EmulatorConfig,
    u: &User,
    view: &Value,
    block_id: &str,
    action_id: &str,
    value: &str,
) -> Value {
    json!({
        "type": "block_suggestion",
        "user": basic_user(cfg, u),
        "container": {"type": "view", "view_id": view["id"]},
        "api_app_id": cfg.app_id,
        "token": "emulator-verification-token",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": team(cfg),
        "enterprise": null,
        "is_enterprise_install": false,
        "view": view,
    })
}
