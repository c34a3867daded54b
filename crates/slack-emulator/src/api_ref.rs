//! Slack's Web API reference, embedded: one JSON file per method under
//! `api-ref/` (copied from slack-ruby/slack-api-ref, which is scraped from
//! Slack's own documentation; MIT licence, `api-ref/LICENSE.md`, which must
//! travel with the files).
//!
//! The emulator treats it as the source of truth: a method without a file is
//! `unknown_method`, a call lacking a required argument gets Slack's error for
//! it, and an argument the method does not take is recorded as a caller bug
//! (see `Emulator::unexpected_args`). To let the bot call a new method, copy
//! its file from the same source into `api-ref/` and add it to [`FILES`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use serde_json::Value;

/// The licence of the reference files.
pub const LICENSE: &str = include_str!("../api-ref/LICENSE.md");

/// Embeds `api-ref/<method>.json` for each method named.
macro_rules! reference_files {
    ($($method:literal),* $(,)?) => {
        &[$(($method, include_str!(concat!("../api-ref/", $method, ".json")))),*]
    };
}

/// (method, JSON text) of every embedded reference file (a unit test checks
/// this list against the directory).
pub const FILES: &[(&str, &str)] = reference_files![
    "apps.connections.open",
    "auth.test",
    "chat.delete",
    "chat.getPermalink",
    "chat.meMessage",
    "chat.postEphemeral",
    "chat.postMessage",
    "chat.scheduleMessage",
    "chat.update",
    "conversations.history",
    "conversations.info",
    "conversations.join",
    "conversations.members",
    "conversations.open",
    "conversations.replies",
    "files.completeUploadExternal",
    "files.delete",
    "files.getUploadURLExternal",
    "files.info",
    "reactions.add",
    "team.info",
    "usergroups.users.list",
    "users.info",
    "users.list",
    "users.profile.get",
    "views.open",
    "views.publish",
    "views.push",
    "views.update",
];

/// Arguments every call may carry besides the method's own: the token (when
/// not in the Authorization header) and the `team_id` Slack's SDKs send.
pub const ALWAYS_ALLOWED: &[&str] = &["token", "team_id"];

/// What the reference says about one method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodRef {
    pub name: String,
    /// Argument name -> required.
    pub args: BTreeMap<String, bool>,
    /// The documented error codes.
    pub errors: BTreeSet<String>,
}

impl MethodRef {
    /// Parses one reference file.
    pub fn parse(text: &str) -> Result<MethodRef, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let name = v["name"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or("no \"name\"")?
            .to_string();
        let mut args = BTreeMap::new();
        match v.get("args") {
            None | Some(Value::Null) => {}
            Some(Value::Object(o)) => {
                for (k, a) in o {
                    let required = match a.get("required") {
                        None | Some(Value::Null) => false,
                        Some(Value::Bool(b)) => *b,
                        Some(other) => {
                            return Err(format!("argument {k}: \"required\" is {other}"))
                        }
                    };
                    args.insert(k.clone(), required);
                }
            }
            Some(other) => return Err(format!("\"args\" is not an object: {other}")),
        }
        let errors = match v.get("errors") {
            None | Some(Value::Null) => BTreeSet::new(),
            Some(Value::Object(o)) => o.keys().cloned().collect(),
            Some(other) => return Err(format!("\"errors\" is not an object: {other}")),
        };
        Ok(MethodRef { name, args, errors })
    }

    /// Whether the method takes `arg` (its own arguments, plus
    /// [`ALWAYS_ALLOWED`]).
    pub fn allows(&self, arg: &str) -> bool {
        self.args.contains_key(arg) || ALWAYS_ALLOWED.contains(&arg)
    }

    /// The required arguments, by name.
    pub fn required(&self) -> impl Iterator<Item = &str> {
        self.args
            .iter()
            .filter(|(_, r)| **r)
            .map(|(k, _)| k.as_str())
    }
}

fn all() -> &'static HashMap<&'static str, MethodRef> {
    static REF: OnceLock<HashMap<&'static str, MethodRef>> = OnceLock::new();
    REF.get_or_init(|| {
        FILES
            .iter()
            .map(|(method, text)| {
                let r =
                    MethodRef::parse(text).unwrap_or_else(|e| panic!("api-ref/{method}.json: {e}"));
                assert_eq!(
                    r.name, *method,
                    "api-ref/{method}.json names another method"
                );
                (*method, r)
            })
            .collect()
    })
}

/// The reference of `method`, if there is a file for it.
pub fn method(method: &str) -> Option<&'static MethodRef> {
    all().get(method)
}

/// Every method with a reference file, sorted.
pub fn methods() -> Vec<&'static str> {
    let mut m: Vec<&str> = all().keys().copied().collect();
    m.sort_unstable();
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_names_its_method() {
        for (method, text) in FILES {
            let r = MethodRef::parse(text).unwrap_or_else(|e| panic!("{method}: {e}"));
            assert_eq!(r.name, *method);
            assert!(!r.errors.is_empty(), "{method} documents no errors");
        }
        assert_eq!(methods().len(), FILES.len(), "a method is listed twice");
    }

    #[test]
    fn every_file_in_the_directory_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("api-ref");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".json").map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = methods().iter().map(|m| m.to_string()).collect();
        assert_eq!(on_disk, embedded, "api-ref/ and FILES differ");
        assert!(dir.join("LICENSE.md").exists());
        assert!(LICENSE.starts_with("MIT License"));
    }

    #[test]
    fn reads_required_arguments_and_errors() {
        let r = method("chat.postMessage").unwrap();
        assert_eq!(r.required().collect::<Vec<_>>(), ["channel"]);
        assert!(r.allows("thread_ts") && r.allows("metadata"));
        assert!(r.allows("team_id") && r.allows("token"));
        assert!(!r.allows("bogus"));
        assert!(r.errors.contains("channel_not_found"));
        let r = method("views.publish").unwrap();
        assert_eq!(r.required().collect::<Vec<_>>(), ["user_id", "view"]);
        assert!(method("auth.test").unwrap().args.is_empty());
        assert!(method("bogus.method").is_none());
    }
}
