//! Block Kit validation with Slack's documented limits.
//!
//! Slack refuses a message whose blocks break a limit (`invalid_blocks`) and a
//! view that does (`invalid_arguments`). Bots tend to hit these only in
//! production, with long user-provided text; validating here makes the
//! emulator refuse exactly what Slack refuses, with a JSON-pointer path in
//! each error so a failing test says where the problem is.

use std::collections::HashSet;

use serde_json::{Map, Value};

/// Max blocks in a message.
pub const MAX_MESSAGE_BLOCKS: usize = 50;
/// Max blocks in a modal or Home tab.
pub const MAX_VIEW_BLOCKS: usize = 100;
/// Max characters of a message's top-level `text`.
pub const MAX_MESSAGE_TEXT: usize = 40_000;
/// Max characters of text in a message's blocks all together (see
/// [`message_blocks_text_len`]). Undocumented: Slack refuses blocks of
/// around 12–13k characters with `msg_blocks_too_long` (bolt-js #2509,
/// #2867; one report saw it refuse 11,341), so a bot should budget about
/// 10k.
pub const MAX_MESSAGE_BLOCKS_TEXT: usize = 12_000;
/// Max options (or option groups) in a select menu, and in an app's answer
/// to a `block_suggestion` payload.
pub const MAX_SELECT_OPTIONS: usize = 100;
/// Max characters of an option's text (and of its description).
pub const MAX_OPTION_TEXT: usize = 75;
/// Max characters of an option's value.
pub const MAX_OPTION_VALUE: usize = 150;
/// An external select's `min_query_length` when the view leaves it out:
/// Slack sends no `block_suggestion` before that many characters are typed.
pub const DEFAULT_MIN_QUERY_LENGTH: u64 = 3;

const KNOWN_BLOCKS: &[&str] = &[
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "image",
    "input",
    "rich_text",
    "video",
    "file",
    "markdown",
    "table",
    "context_actions",
];

struct V {
    errors: Vec<String>,
}

fn len(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

impl V {
    fn err(&mut self, path: &str, msg: impl AsRef<str>) {
        self.errors
            .push(format!("{} [json-pointer:{}]", msg.as_ref(), path));
    }

    fn max_len(&mut self, v: &Value, path: &str, max: usize) {
        if let Some(s) = v.as_str() {
            if s.chars().count() > max {
                self.err(path, format!("must be less than {} characters", max + 1));
            }
        }
    }

    /// A text object (`{type, text}`); `plain_only` for plain_text-only fields.
    fn text_obj(&mut self, v: &Value, path: &str, min: usize, max: usize, plain_only: bool) {
        let Some(o) = v.as_object() else {
            self.err(path, "must be a text object");
            return;
        };
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
        if plain_only && ty != "plain_text" {
            self.err(&format!("{path}/type"), "must be plain_text");
        } else if ty != "plain_text" && ty != "mrkdwn" {
            self.err(&format!("{path}/type"), "must be plain_text or mrkdwn");
        }
        let t = o.get("text").unwrap_or(&Value::Null);
        if !t.is_string() {
            self.err(&format!("{path}/text"), "must be a string");
            return;
        }
        let n = len(t);
        if n < min {
            self.err(
                &format!("{path}/text"),
                format!("must be more than {} characters", min.saturating_sub(1)),
            );
        }
        if n > max {
            self.err(
                &format!("{path}/text"),
                format!("must be less than {} characters", max + 1),
            );
        }
    }

    fn id(&mut self, v: Option<&Value>, path: &str) {
        if let Some(v) = v {
            self.max_len(v, path, 255);
        }
    }

    /// One option object. `plain_only`: select and overflow menus take
    /// plain_text only (radio buttons and checkboxes may use mrkdwn);
    /// `url_ok`: only overflow options may carry a url.
    fn option(&mut self, o: &Value, path: &str, plain_only: bool, url_ok: bool) {
        if !o.is_object() {
            self.err(path, "must be an option object");
            return;
        }
        match o.get("text") {
            Some(t) => self.text_obj(t, &format!("{path}/text"), 1, MAX_OPTION_TEXT, plain_only),
            None => self.err(&format!("{path}/text"), "is required"),
        }
        match o.get("value") {
            Some(v) if v.is_string() => self.max_len(v, &format!("{path}/value"), MAX_OPTION_VALUE),
            Some(_) => self.err(&format!("{path}/value"), "must be a string"),
            None => self.err(&format!("{path}/value"), "is required"),
        }
        if let Some(d) = o.get("description") {
            self.text_obj(
                d,
                &format!("{path}/description"),
                0,
                MAX_OPTION_TEXT,
                plain_only,
            );
        }
        if let Some(u) = o.get("url") {
            if url_ok {
                self.max_len(u, &format!("{path}/url"), 3000);
            } else {
                self.err(&format!("{path}/url"), "is only allowed in overflow menus");
            }
        }
    }

    /// A list of option objects (an element's `options`, a group's
    /// `options`, `initial_options`), at most `max` of them.
    fn option_list(&mut self, v: &Value, path: &str, max: usize, plain_only: bool, url_ok: bool) {
        let Some(opts) = v.as_array() else {
            self.err(path, "must be an array");
            return;
        };
        if opts.len() > max {
            self.err(path, format!("must provide no more than {max} items"));
        }
        for (i, o) in opts.iter().enumerate() {
            self.option(o, &format!("{path}/{i}"), plain_only, url_ok);
        }
    }

    /// An `option_groups` array: at most 100 groups, each with a plain_text
    /// label and at most 100 options.
    fn option_groups(&mut self, v: &Value, path: &str) {
        let Some(groups) = v.as_array() else {
            self.err(path, "must be an array");
            return;
        };
        if groups.len() > MAX_SELECT_OPTIONS {
            self.err(
                path,
                format!("must provide no more than {MAX_SELECT_OPTIONS} items"),
            );
        }
        for (g, group) in groups.iter().enumerate() {
            match group.get("label") {
                Some(l) => self.text_obj(l, &format!("{path}/{g}/label"), 1, MAX_OPTION_TEXT, true),
                None => self.err(&format!("{path}/{g}/label"), "is required"),
            }
            match group.get("options") {
                Some(opts) => self.option_list(
                    opts,
                    &format!("{path}/{g}/options"),
                    MAX_SELECT_OPTIONS,
                    true,
                    false,
                ),
                None => self.err(&format!("{path}/{g}/options"), "is required"),
            }
        }
    }

    /// `initial_option` (single selects, radio buttons) and `initial_options`
    /// (multi-selects, checkboxes), when present.
    fn initial_options(&mut self, o: &Map<String, Value>, path: &str, plain_only: bool) {
        if let Some(i) = o.get("initial_option") {
            self.option(i, &format!("{path}/initial_option"), plain_only, false);
        }
        if let Some(i) = o.get("initial_options") {
            self.option_list(
                i,
                &format!("{path}/initial_options"),
                MAX_SELECT_OPTIONS,
                plain_only,
                false,
            );
        }
    }

    fn max_selected_items(&mut self, o: &Map<String, Value>, path: &str) {
        if let Some(m) = o.get("max_selected_items") {
            if m.as_u64().is_none_or(|n| n < 1) {
                self.err(
                    &format!("{path}/max_selected_items"),
                    "must be an integer of at least 1",
                );
            }
        }
    }

    fn element(&mut self, el: &Value, path: &str) {
        let Some(o) = el.as_object() else {
            self.err(path, "must be an object");
            return;
        };
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
        self.id(o.get("action_id"), &format!("{path}/action_id"));
        if let Some(p) = o.get("placeholder") {
            self.text_obj(p, &format!("{path}/placeholder"), 0, 150, true);
        }
        match ty {
            "button" => {
                match o.get("text") {
                    Some(t) => self.text_obj(t, &format!("{path}/text"), 1, 75, true),
                    None => self.err(&format!("{path}/text"), "is required"),
                }
                if let Some(v) = o.get("value") {
                    self.max_len(v, &format!("{path}/value"), 2000);
                }
                if let Some(v) = o.get("url") {
                    self.max_len(v, &format!("{path}/url"), 3000);
                }
            }
            "static_select" | "multi_static_select" => {
                match (o.get("options"), o.get("option_groups")) {
                    (None, None) => self.err(
                        &format!("{path}/options"),
                        "options or option_groups is required",
                    ),
                    (Some(_), Some(_)) => self.err(
                        &format!("{path}/option_groups"),
                        "provide options or option_groups, not both",
                    ),
                    _ => {}
                }
                if let Some(opts) = o.get("options") {
                    self.option_list(
                        opts,
                        &format!("{path}/options"),
                        MAX_SELECT_OPTIONS,
                        true,
                        false,
                    );
                }
                if let Some(groups) = o.get("option_groups") {
                    self.option_groups(groups, &format!("{path}/option_groups"));
                }
                self.initial_options(o, path, true);
                self.max_selected_items(o, path);
            }
            "external_select" | "multi_external_select" => {
                // No static options: they come from the app's answers to
                // block_suggestion payloads.
                if let Some(m) = o.get("min_query_length") {
                    if m.as_u64().is_none() {
                        self.err(
                            &format!("{path}/min_query_length"),
                            "must be a non-negative integer",
                        );
                    }
                }
                self.initial_options(o, path, true);
                self.max_selected_items(o, path);
            }
            "checkboxes" | "radio_buttons" => {
                match o.get("options") {
                    Some(opts) => {
                        self.option_list(opts, &format!("{path}/options"), 10, false, false)
                    }
                    None => self.err(&format!("{path}/options"), "is required"),
                }
                self.initial_options(o, path, false);
            }
            "overflow" => match o.get("options") {
                Some(opts) => {
                    if opts.as_array().is_some_and(Vec::is_empty) {
                        self.err(&format!("{path}/options"), "must provide at least 1 item");
                    }
                    self.option_list(opts, &format!("{path}/options"), 5, true, true);
                }
                None => self.err(&format!("{path}/options"), "is required"),
            },
            "plain_text_input" => {
                if let Some(m) = o.get("max_length").and_then(Value::as_u64) {
                    if m > 3000 {
                        self.err(&format!("{path}/max_length"), "must be at most 3000");
                    }
                }
                if let Some(v) = o.get("initial_value") {
                    self.max_len(v, &format!("{path}/initial_value"), 3000);
                }
            }
            "" => self.err(&format!("{path}/type"), "is required"),
            _ => {}
        }
    }

    fn block(&mut self, b: &Value, path: &str, seen_block_ids: &mut HashSet<String>) {
        let Some(o) = b.as_object() else {
            self.err(path, "must be an object");
            return;
        };
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
        if !KNOWN_BLOCKS.contains(&ty) {
            self.err(&format!("{path}/type"), format!("unsupported type: {ty:?}"));
            return;
        }
        if let Some(id) = o.get("block_id") {
            self.id(Some(id), &format!("{path}/block_id"));
            if let Some(s) = id.as_str() {
                if !seen_block_ids.insert(s.to_string()) {
                    self.err(
                        &format!("{path}/block_id"),
                        format!("duplicate block_id {s:?}"),
                    );
                }
            }
        }
        match ty {
            "section" => {
                if o.get("text").is_none() && o.get("fields").is_none() {
                    self.err(&format!("{path}/text"), "text or fields is required");
                }
                if let Some(t) = o.get("text") {
                    self.text_obj(t, &format!("{path}/text"), 1, 3000, false);
                }
                if let Some(f) = o.get("fields").and_then(Value::as_array) {
                    if f.len() > 10 {
                        self.err(
                            &format!("{path}/fields"),
                            "must provide no more than 10 items",
                        );
                    }
                    for (i, x) in f.iter().enumerate() {
                        self.text_obj(x, &format!("{path}/fields/{i}"), 1, 2000, false);
                    }
                }
                if let Some(a) = o.get("accessory") {
                    self.element(a, &format!("{path}/accessory"));
                }
            }
            "header" => match o.get("text") {
                Some(t) => self.text_obj(t, &format!("{path}/text"), 1, 150, true),
                None => self.err(&format!("{path}/text"), "is required"),
            },
            "context" => {
                let els = o.get("elements").and_then(Value::as_array);
                match els {
                    Some(e) if e.len() > 10 => self.err(
                        &format!("{path}/elements"),
                        "must provide no more than 10 items",
                    ),
                    Some(e) if e.is_empty() => {
                        self.err(&format!("{path}/elements"), "must provide at least 1 item")
                    }
                    None => self.err(&format!("{path}/elements"), "is required"),
                    _ => {}
                }
            }
            "actions" => {
                let els = o.get("elements").and_then(Value::as_array);
                match els {
                    Some(e) => {
                        if e.len() > 25 {
                            self.err(
                                &format!("{path}/elements"),
                                "must provide no more than 25 items",
                            );
                        }
                        let mut seen = HashSet::new();
                        for (i, el) in e.iter().enumerate() {
                            self.element(el, &format!("{path}/elements/{i}"));
                            if let Some(a) = el.get("action_id").and_then(Value::as_str) {
                                if !seen.insert(a.to_string()) {
                                    self.err(
                                        &format!("{path}/elements/{i}/action_id"),
                                        format!("duplicate action_id {a:?}"),
                                    );
                                }
                            }
                        }
                    }
                    None => self.err(&format!("{path}/elements"), "is required"),
                }
            }
            "input" => {
                match o.get("label") {
                    Some(l) => self.text_obj(l, &format!("{path}/label"), 1, 2000, true),
                    None => self.err(&format!("{path}/label"), "is required"),
                }
                if let Some(h) = o.get("hint") {
                    self.text_obj(h, &format!("{path}/hint"), 1, 2000, true);
                }
                match o.get("element") {
                    Some(e) => self.element(e, &format!("{path}/element")),
                    None => self.err(&format!("{path}/element"), "is required"),
                }
            }
            _ => {}
        }
    }

    fn blocks(&mut self, blocks: &Value, path: &str, max: usize) {
        let Some(arr) = blocks.as_array() else {
            self.err(path, "must be an array");
            return;
        };
        if arr.len() > max {
            self.err(path, format!("must provide no more than {max} items"));
        }
        let mut seen = HashSet::new();
        for (i, b) in arr.iter().enumerate() {
            self.block(b, &format!("{path}/{i}"), &mut seen);
        }
    }
}

/// Validates a message's `blocks` array (Slack's `invalid_blocks` rules).
pub fn validate_message_blocks(blocks: &Value) -> Result<(), Vec<String>> {
    let mut v = V { errors: vec![] };
    v.blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS);
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

/// The characters of text in a message's blocks all together, as counted
/// against [`MAX_MESSAGE_BLOCKS_TEXT`]: every string `text` at any depth,
/// which covers text objects (section text and fields, headers, context
/// elements, buttons, options), `rich_text` and table cells, and `markdown`
/// blocks. URLs, ids, values and alt text do not count.
pub fn message_blocks_text_len(blocks: &Value) -> usize {
    match blocks {
        Value::Array(a) => a.iter().map(message_blocks_text_len).sum(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) if k == "text" => s.chars().count(),
                _ => message_blocks_text_len(v),
            })
            .sum(),
        _ => 0,
    }
}

/// Validates a modal or Home tab view (Slack's `invalid_arguments` rules).
pub fn validate_view(view: &Value) -> Result<(), Vec<String>> {
    let mut v = V { errors: vec![] };
    let Some(o) = view.as_object() else {
        return Err(vec!["must be an object [json-pointer:/view]".into()]);
    };
    let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
    match ty {
        "modal" => {
            match o.get("title") {
                Some(t) => v.text_obj(t, "/view/title", 1, 24, true),
                None => v.err("/view/title", "is required"),
            }
            for k in ["submit", "close"] {
                if let Some(t) = o.get(k).filter(|t| !t.is_null()) {
                    v.text_obj(t, &format!("/view/{k}"), 1, 24, true);
                }
            }
            let has_input = o
                .get("blocks")
                .and_then(Value::as_array)
                .is_some_and(|b| b.iter().any(|b| b["type"] == "input"));
            if has_input && o.get("submit").is_none_or(Value::is_null) {
                v.err(
                    "/view/submit",
                    "must provide submit when the view has an input block",
                );
            }
        }
        "home" => {}
        _ => v.err("/view/type", "must be modal or home"),
    }
    if let Some(p) = o.get("private_metadata") {
        v.max_len(p, "/view/private_metadata", 3000);
    }
    if let Some(c) = o.get("callback_id") {
        v.max_len(c, "/view/callback_id", 255);
    }
    if let Some(e) = o.get("external_id") {
        v.max_len(e, "/view/external_id", 255);
    }
    match o.get("blocks") {
        Some(b) => v.blocks(b, "/view/blocks", MAX_VIEW_BLOCKS),
        None => v.err("/view/blocks", "is required"),
    }
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

/// Validates an app's answer to a `block_suggestion` payload the way Slack
/// does before showing it: an object with either `options` (at most 100) or
/// `option_groups` (at most 100 groups of at most 100), each option a
/// plain_text `text` of 1–75 characters and a `value` of at most 150.
/// Returns the options, groups flattened, in order.
pub fn validate_suggestion_response(resp: &Value) -> Result<Vec<Value>, Vec<String>> {
    let mut v = V { errors: vec![] };
    let Some(o) = resp.as_object() else {
        return Err(vec![
            "must be a JSON object with options or option_groups [json-pointer:/]".into(),
        ]);
    };
    let mut out = vec![];
    match (o.get("options"), o.get("option_groups")) {
        (None, None) => v.err("/options", "options or option_groups is required"),
        (Some(_), Some(_)) => v.err(
            "/option_groups",
            "provide options or option_groups, not both",
        ),
        (Some(opts), None) => {
            v.option_list(opts, "/options", MAX_SELECT_OPTIONS, true, false);
            out.extend(opts.as_array().cloned().unwrap_or_default());
        }
        (None, Some(groups)) => {
            v.option_groups(groups, "/option_groups");
            for g in groups.as_array().into_iter().flatten() {
                out.extend(g["options"].as_array().cloned().unwrap_or_default());
            }
        }
    }
    if v.errors.is_empty() {
        Ok(out)
    } else {
        Err(v.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(t: &str) -> Value {
        json!({"type":"plain_text","text":t})
    }
    fn section(t: &str) -> Value {
        json!({"type":"section","text":{"type":"mrkdwn","text":t}})
    }
    fn msg_err(blocks: Value) -> Vec<String> {
        validate_message_blocks(&blocks).unwrap_err()
    }
    fn button(action: &str) -> Value {
        json!({"type":"button","action_id":action,"text":plain("Go"),"value":"v"})
    }
    fn modal(blocks: Value) -> Value {
        json!({"type":"modal","title":plain("Title"),"submit":plain("Save"),"blocks":blocks})
    }
    fn opts(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| json!({"text":plain(&format!("o{i}")),"value":format!("v{i}")}))
            .collect()
    }

    #[test]
    fn blocks_text_counts_every_text_string() {
        let blocks = json!([
            section("abc"),
            {"type": "header", "text": plain("hé")},
            {"type": "section", "fields": [plain("12"), {"type": "mrkdwn", "text": "3"}],
             "accessory": {"type": "button", "text": plain("Go"), "value": "ignored",
                           "url": "https://ignored.example"}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": "ctx"},
                {"type": "image", "image_url": "https://x", "alt_text": "ignored"}]},
            {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
                {"type": "text", "text": "rich"},
                {"type": "link", "url": "https://ignored", "text": "ln"},
                {"type": "emoji", "name": "ignored"}]}]},
            {"type": "markdown", "text": "**md**"},
            {"type": "divider", "block_id": "ignored"},
        ]);
        // abc + hé + 12 + 3 + Go + ctx + rich + ln + **md**
        assert_eq!(
            message_blocks_text_len(&blocks),
            3 + 2 + 2 + 1 + 2 + 3 + 4 + 2 + 6
        );
        assert_eq!(message_blocks_text_len(&json!([])), 0);
    }

    #[test]
    fn valid_message_passes() {
        let blocks = json!([
            {"type":"header","text":plain("Weekly digest")},
            section("hello"),
            {"type":"divider"},
            {"type":"context","elements":[{"type":"mrkdwn","text":"x"}]},
            {"type":"actions","elements":[button("a"), button("b")]},
        ]);
        assert!(validate_message_blocks(&blocks).is_ok());
    }

    #[test]
    fn message_block_count() {
        let blocks = Value::Array((0..51).map(|_| json!({"type":"divider"})).collect());
        assert!(msg_err(blocks)[0].contains("no more than 50"));
        let ok = Value::Array((0..50).map(|_| json!({"type":"divider"})).collect());
        assert!(validate_message_blocks(&ok).is_ok());
    }

    #[test]
    fn section_text_length() {
        assert!(validate_message_blocks(&json!([section(&"a".repeat(3000))])).is_ok());
        let e = msg_err(json!([section(&"a".repeat(3001))]));
        assert!(e[0].contains("/blocks/0/text/text"), "{e:?}");
        assert!(!msg_err(json!([section("")])).is_empty());
    }

    #[test]
    fn section_fields() {
        let f: Vec<Value> = (0..11)
            .map(|_| json!({"type":"mrkdwn","text":"x"}))
            .collect();
        assert!(msg_err(json!([{"type":"section","fields":f}]))[0].contains("/fields"));
        let long = json!([{"type":"section","fields":[{"type":"mrkdwn","text":"a".repeat(2001)}]}]);
        assert!(msg_err(long)[0].contains("/fields/0/text"));
    }

    #[test]
    fn header_length_and_plain_text() {
        assert!(validate_message_blocks(
            &json!([{"type":"header","text":plain(&"h".repeat(150))}])
        )
        .is_ok());
        assert!(!msg_err(json!([{"type":"header","text":plain(&"h".repeat(151))}])).is_empty());
        assert!(
            !msg_err(json!([{"type":"header","text":{"type":"mrkdwn","text":"x"}}])).is_empty()
        );
    }

    #[test]
    fn context_elements() {
        let e: Vec<Value> = (0..11)
            .map(|_| json!({"type":"mrkdwn","text":"x"}))
            .collect();
        assert!(!msg_err(json!([{"type":"context","elements":e}])).is_empty());
    }

    #[test]
    fn actions_elements_and_duplicates() {
        let e: Vec<Value> = (0..26).map(|i| button(&format!("a{i}"))).collect();
        assert!(!msg_err(json!([{"type":"actions","elements":e}])).is_empty());
        let dup = msg_err(json!([{"type":"actions","elements":[button("x"), button("x")]}]));
        assert!(dup[0].contains("duplicate action_id"));
    }

    #[test]
    fn duplicate_block_ids() {
        let e = msg_err(json!([
            {"type":"divider","block_id":"b"},
            {"type":"divider","block_id":"b"}
        ]));
        assert!(e[0].contains("duplicate block_id"));
    }

    #[test]
    fn button_limits() {
        let mut b = button("a");
        b["text"] = plain(&"t".repeat(76));
        assert!(!msg_err(json!([{"type":"actions","elements":[b]}])).is_empty());
        let mut b = button("a");
        b["value"] = json!("v".repeat(2001));
        assert!(!msg_err(json!([{"type":"actions","elements":[b]}])).is_empty());
        let mut b = button("a");
        b["url"] = json!(format!("https://x/{}", "u".repeat(3000)));
        assert!(!msg_err(json!([{"type":"actions","elements":[b]}])).is_empty());
    }

    #[test]
    fn id_lengths() {
        let e = msg_err(json!([{"type":"divider","block_id":"b".repeat(256)}]));
        assert!(e[0].contains("block_id"));
        let e = msg_err(json!([{"type":"actions","elements":[button(&"a".repeat(256))]}]));
        assert!(e[0].contains("action_id"));
    }

    #[test]
    fn select_limits() {
        let sel = |o: Vec<Value>| json!([{"type":"actions","elements":[{"type":"static_select","action_id":"s","options":o}]}]);
        assert!(validate_message_blocks(&sel(opts(100))).is_ok());
        assert!(!msg_err(sel(opts(101))).is_empty());
        let long_text = vec![json!({"text":plain(&"t".repeat(76)),"value":"v"})];
        assert!(!msg_err(sel(long_text)).is_empty());
        let long_value = vec![json!({"text":plain("t"),"value":"v".repeat(151)})];
        assert!(!msg_err(sel(long_value)).is_empty());
        let ph = json!([{"type":"actions","elements":[{"type":"static_select","action_id":"s","options":opts(2),"placeholder":plain(&"p".repeat(151))}]}]);
        assert!(msg_err(ph)[0].contains("placeholder"));
    }

    #[test]
    fn checkbox_and_radio_limits() {
        for ty in ["checkboxes", "radio_buttons"] {
            let b = json!([{"type":"actions","elements":[{"type":ty,"action_id":"c","options":opts(11)}]}]);
            assert!(!msg_err(b).is_empty(), "{ty}");
            let ok = json!([{"type":"actions","elements":[{"type":ty,"action_id":"c","options":opts(10)}]}]);
            assert!(validate_message_blocks(&ok).is_ok());
        }
    }

    #[test]
    fn plain_text_input_max_length() {
        let input = |m: u64| {
            modal(
                json!([{"type":"input","block_id":"b","label":plain("L"),"element":{"type":"plain_text_input","action_id":"a","max_length":m}}]),
            )
        };
        assert!(validate_view(&input(3000)).is_ok());
        assert!(validate_view(&input(3001)).unwrap_err()[0].contains("max_length"));
    }

    #[test]
    fn unknown_block_type() {
        assert!(!msg_err(json!([{"type":"bogus"}])).is_empty());
    }

    #[test]
    fn view_block_count() {
        let b = Value::Array((0..101).map(|_| json!({"type":"divider"})).collect());
        assert!(!validate_view(&modal(b)).unwrap_err().is_empty());
        let b = Value::Array((0..100).map(|_| json!({"type":"divider"})).collect());
        assert!(validate_view(&modal(b)).is_ok());
    }

    #[test]
    fn view_title_submit_close() {
        for k in ["title", "submit", "close"] {
            let mut v = modal(json!([]));
            v[k] = plain(&"x".repeat(25));
            assert!(validate_view(&v).unwrap_err()[0].contains(k), "{k}");
        }
    }

    #[test]
    fn view_submit_required_with_input() {
        let mut v = modal(
            json!([{"type":"input","label":plain("L"),"element":{"type":"plain_text_input","action_id":"a"}}]),
        );
        assert!(validate_view(&v).is_ok());
        v.as_object_mut().unwrap().remove("submit");
        assert!(validate_view(&v).unwrap_err()[0].contains("submit"));
    }

    #[test]
    fn view_metadata_and_callback_id() {
        let mut v = modal(json!([]));
        v["private_metadata"] = json!("m".repeat(3001));
        assert!(!validate_view(&v).unwrap_err().is_empty());
        let mut v = modal(json!([]));
        v["callback_id"] = json!("c".repeat(256));
        assert!(!validate_view(&v).unwrap_err().is_empty());
    }

    #[test]
    fn input_label_and_hint() {
        let mk = |l: usize, h: usize| {
            modal(
                json!([{"type":"input","label":plain(&"l".repeat(l)),"hint":plain(&"h".repeat(h)),"element":{"type":"plain_text_input","action_id":"a"}}]),
            )
        };
        assert!(validate_view(&mk(2000, 2000)).is_ok());
        assert!(validate_view(&mk(2001, 1)).unwrap_err()[0].contains("label"));
        assert!(validate_view(&mk(1, 2001)).unwrap_err()[0].contains("hint"));
    }

    #[test]
    fn home_view_ok() {
        assert!(validate_view(&json!({"type":"home","blocks":[section("hi")]})).is_ok());
        assert!(validate_view(&json!({"type":"bogus","blocks":[]})).is_err());
    }

    fn input(el: Value) -> Value {
        modal(json!([{"type":"input","block_id":"b","label":plain("L"),"element":el}]))
    }

    #[test]
    fn external_selects_in_views() {
        for ty in ["external_select", "multi_external_select"] {
            let el = json!({"type":ty,"action_id":"q","placeholder":plain("Search")});
            assert!(validate_view(&input(el.clone())).is_ok(), "{ty}");
            let mut zero = el.clone();
            zero["min_query_length"] = json!(0);
            assert!(validate_view(&input(zero)).is_ok(), "{ty}");
            let mut neg = el.clone();
            neg["min_query_length"] = json!(-1);
            assert!(validate_view(&input(neg)).unwrap_err()[0].contains("min_query_length"));
            let mut frac = el.clone();
            frac["min_query_length"] = json!("3");
            assert!(validate_view(&input(frac)).is_err());
        }
        let single = json!({"type":"external_select","action_id":"q",
            "initial_option":{"text":plain("Pricing"),"value":"pricing"}});
        assert!(validate_view(&input(single)).is_ok());
        let multi = json!({"type":"multi_external_select","action_id":"q","max_selected_items":2,
            "initial_options":opts(2)});
        assert!(validate_view(&input(multi)).is_ok());
        let bad = json!({"type":"external_select","action_id":"q",
            "initial_option":{"text":plain(&"t".repeat(76)),"value":"v"}});
        assert!(validate_view(&input(bad)).unwrap_err()[0].contains("initial_option/text"));
        let mrkdwn = json!({"type":"multi_external_select","action_id":"q",
            "initial_options":[{"text":{"type":"mrkdwn","text":"*x*"},"value":"x"}]});
        assert!(validate_view(&input(mrkdwn)).unwrap_err()[0].contains("initial_options/0/text"));
        let none = json!({"type":"multi_external_select","action_id":"q","max_selected_items":0});
        assert!(validate_view(&input(none)).is_err());
        // in a section accessory and an actions block too
        let home = json!({"type":"home","blocks":[
            {"type":"section","text":{"type":"mrkdwn","text":"x"},
             "accessory":{"type":"external_select","action_id":"a","min_query_length":1}},
            {"type":"actions","elements":[{"type":"external_select","action_id":"b"}]}]});
        assert!(validate_view(&home).is_ok());
    }

    #[test]
    fn static_select_over_100_options_in_a_view() {
        let el = |n| json!({"type":"static_select","action_id":"s","options":opts(n)});
        assert!(validate_view(&input(el(100))).is_ok());
        let e = validate_view(&input(el(101))).unwrap_err();
        assert!(e[0].contains("/view/blocks/0/element/options"), "{e:?}");
        let multi = json!({"type":"multi_static_select","action_id":"s","options":opts(101)});
        assert!(validate_view(&input(multi)).is_err());
        let groups: Vec<Value> = (0..101)
            .map(|g| json!({"label":plain(&format!("g{g}")),"options":opts(1)}))
            .collect();
        let grouped = json!({"type":"static_select","action_id":"s","option_groups":groups});
        assert!(validate_view(&input(grouped)).unwrap_err()[0].contains("option_groups"));
        let both = json!({"type":"static_select","action_id":"s","options":opts(1),
            "option_groups":[{"label":plain("g"),"options":opts(1)}]});
        assert!(validate_view(&input(both)).is_err());
    }

    #[test]
    fn select_options_are_plain_text_only() {
        let o = vec![json!({"text":{"type":"mrkdwn","text":"*x*"},"value":"x"})];
        let sel = json!([{"type":"actions","elements":[{"type":"static_select","action_id":"s","options":o.clone()}]}]);
        assert!(msg_err(sel)[0].contains("/options/0/text/type"));
        // radio buttons and checkboxes may use mrkdwn
        let radio = json!([{"type":"actions","elements":[{"type":"radio_buttons","action_id":"r","options":o}]}]);
        assert!(validate_message_blocks(&radio).is_ok());
    }

    #[test]
    fn overflow_takes_one_to_five_options() {
        let of = |o: Vec<Value>| json!([{"type":"actions","elements":[{"type":"overflow","action_id":"o","options":o}]}]);
        assert!(validate_message_blocks(&of(opts(1))).is_ok());
        assert!(validate_message_blocks(&of(opts(5))).is_ok());
        assert!(msg_err(of(opts(6)))[0].contains("no more than 5"));
        assert!(msg_err(of(vec![]))[0].contains("at least 1"));
        let missing = json!([{"type":"actions","elements":[{"type":"overflow","action_id":"o"}]}]);
        assert!(msg_err(missing)[0].contains("options"));
        let url = vec![json!({"text":plain("Docs"),"value":"d","url":"https://example.com"})];
        assert!(validate_message_blocks(&of(url.clone())).is_ok());
        let sel = json!([{"type":"actions","elements":[{"type":"static_select","action_id":"s","options":url}]}]);
        assert!(msg_err(sel)[0].contains("url"));
    }

    #[test]
    fn radio_and_checkboxes_in_views() {
        for ty in ["checkboxes", "radio_buttons"] {
            let el = |n| json!({"type":ty,"action_id":"c","options":opts(n)});
            assert!(validate_view(&input(el(10))).is_ok(), "{ty}");
            assert!(validate_view(&input(el(11))).is_err(), "{ty}");
            let missing = json!({"type":ty,"action_id":"c"});
            assert!(validate_view(&input(missing)).is_err(), "{ty}");
        }
    }

    #[test]
    fn home_block_count_and_modal_title() {
        let b = |n| Value::Array((0..n).map(|_| json!({"type":"divider"})).collect());
        assert!(validate_view(&json!({"type":"home","blocks":b(100)})).is_ok());
        let e = validate_view(&json!({"type":"home","blocks":b(101)})).unwrap_err();
        assert!(e[0].contains("no more than 100"), "{e:?}");
        let mut m = modal(json!([]));
        m["title"] = plain(&"x".repeat(24));
        assert!(validate_view(&m).is_ok());
        m["title"] = plain(&"x".repeat(25));
        assert!(validate_view(&m).unwrap_err()[0].contains("/view/title/text"));
    }

    #[test]
    fn suggestion_responses() {
        let ok = validate_suggestion_response(&json!({"options":opts(100)})).unwrap();
        assert_eq!(ok.len(), 100);
        assert_eq!(ok[7]["value"], "v7");
        let e = validate_suggestion_response(&json!({"options":opts(101)})).unwrap_err();
        assert!(
            e[0].contains("no more than 100") && e[0].contains("/options"),
            "{e:?}"
        );
        let groups = json!({"option_groups":[
            {"label":plain("A"),"options":opts(2)},
            {"label":plain("B"),"options":[{"text":plain("z"),"value":"z"}]}]});
        let flat = validate_suggestion_response(&groups).unwrap();
        let values: Vec<&str> = flat.iter().map(|o| o["value"].as_str().unwrap()).collect();
        assert_eq!(values, ["v0", "v1", "z"]);
        let too_many_groups: Vec<Value> = (0..101)
            .map(|g| json!({"label":plain(&format!("g{g}")),"options":opts(1)}))
            .collect();
        assert!(validate_suggestion_response(&json!({"option_groups":too_many_groups})).is_err());
        let long_text = json!({"options":[{"text":plain(&"t".repeat(76)),"value":"v"}]});
        assert!(validate_suggestion_response(&long_text).unwrap_err()[0]
            .contains("/options/0/text/text"));
        let long_value = json!({"options":[{"text":plain("t"),"value":"v".repeat(151)}]});
        assert!(
            validate_suggestion_response(&long_value).unwrap_err()[0].contains("/options/0/value")
        );
        let mrkdwn = json!({"options":[{"text":{"type":"mrkdwn","text":"t"},"value":"v"}]});
        assert!(validate_suggestion_response(&mrkdwn).is_err());
        assert!(validate_suggestion_response(&json!({"options":[]}))
            .unwrap()
            .is_empty());
        assert!(validate_suggestion_response(&json!({})).is_err());
        assert!(validate_suggestion_response(&json!("ok")).is_err());
        assert!(validate_suggestion_response(&json!({"options":[],"option_groups":[]})).is_err());
    }
}
