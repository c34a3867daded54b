//! Block Kit for every message and view the bot sends, kept inside Slack's
//! limits (see SLACK_FACTS.md). Built as Slack's documented JSON, then parsed
//! into slack-morphism's types, so what we send is exactly what Slack's docs
//! show and a malformed block fails in tests, not in a rep's DM.

use crate::config::{CheckIn, Config};
use crate::digest::truncate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use slack_morphism::prelude::*;

/// action_id of the prompt's "Add field notes" button.
pub const OPEN_FORM_ACTION: &str = "fieldnotes_open_form";
/// callback_id of the note modal.
pub const NOTE_MODAL: &str = "fieldnotes_note";
/// block_id of the tag picker in the modal.
pub const TAGS_BLOCK: &str = "tags";
/// action_id of every input element in the modal.
pub const INPUT_ACTION: &str = "value";
/// Prefix of question block ids.
pub const QUESTION_PREFIX: &str = "q:";

/// What the modal carries between open and submit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModalMeta {
    pub prompt_id: Option<i64>,
    pub checkin: Option<String>,
}

pub fn blocks(v: Value) -> Vec<SlackBlock> {
    serde_json::from_value(v).expect("static Block Kit JSON parses")
}

fn view(v: Value) -> SlackView {
    serde_json::from_value(v).expect("static view JSON parses")
}

fn plain(text: &str, max: usize) -> Value {
    json!({"type": "plain_text", "text": truncate(text, max), "emoji": true})
}

/// The DM that asks a rep for field notes.
pub fn prompt_message(question: &str, prompt_id: i64, bot_name: &str) -> (String, Vec<SlackBlock>) {
    let text = format!("{bot_name} check-in: {question}");
    let b = json!([
        {"type": "section", "block_id": "prompt", "text": {"type": "mrkdwn", "text": truncate(&format!(":wave: *Quick check-in*\n{question}"), 3000)}},
        {"type": "actions", "block_id": "prompt_actions", "elements": [
            {"type": "button", "action_id": OPEN_FORM_ACTION, "style": "primary", "value": prompt_id.to_string(), "text": plain("Add field notes", 75)}
        ]},
        {"type": "context", "elements": [
            {"type": "mrkdwn", "text": "Takes under a minute: a few words in your own voice is plenty."}
        ]}
    ]);
    (text, blocks(b))
}

/// A reminder for a prompt not yet answered: the same button, and when the
/// check-in closes.
pub fn reminder_message(
    question: &str,
    prompt_id: i64,
    closes: &str,
    bot_name: &str,
) -> (String, Vec<SlackBlock>) {
    let text = format!("{bot_name} reminder: {question}");
    let b = json!([
        {"type": "section", "block_id": "prompt", "text": {"type": "mrkdwn", "text": truncate(&format!(":hourglass_flowing_sand: *Still time for a quick check-in*\n{question}"), 3000)}},
        {"type": "actions", "block_id": "prompt_actions", "elements": [
            {"type": "button", "action_id": OPEN_FORM_ACTION, "style": "primary", "value": prompt_id.to_string(), "text": plain("Add field notes", 75)}
        ]},
        {"type": "context", "elements": [
            {"type": "mrkdwn", "text": truncate(&format!("Open until {closes}. Away? `/fieldnotes pause 1w` and we'll stay quiet."), 2000)}
        ]}
    ]);
    (text, blocks(b))
}

/// The prompt after its answer window closed unanswered: no button.
pub fn prompt_closed(question: &str) -> (String, Vec<SlackBlock>) {
    let text = "This check-in is closed.".to_string();
    let b = json!([
        {"type": "section", "block_id": "prompt", "text": {"type": "mrkdwn", "text": truncate(&format!("*Quick check-in*\n{question}"), 3000)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": ":lock: This check-in is closed. Heard something worth sharing anyway? `/fieldnotes note ...` works any time."}]}
    ]);
    (text, blocks(b))
}

/// action_ids of the App Home buttons.
pub const HOME_PAUSE_1W: &str = "fieldnotes_pause_1w";
pub const HOME_PAUSE_2W: &str = "fieldnotes_pause_2w";
pub const HOME_RESUME: &str = "fieldnotes_resume";

/// A rep's App Home: whether check-ins are on, and buttons to pause or resume.
pub fn home(bot_name: &str, paused_until: Option<&str>, open_prompts: usize) -> SlackView {
    let status = match paused_until {
        Some(u) => format!(":double_vertical_bar: *Check-ins are paused until {u}.* You won't get prompts or reminders until then."),
        None => ":large_green_circle: *Check-ins are on.* You'll get a short prompt on your team's cadence, at a sensible local time.".to_string(),
    };
    let buttons = match paused_until {
        Some(_) => json!([
            {"type": "button", "action_id": HOME_RESUME, "style": "primary", "value": "resume", "text": plain("Resume check-ins", 75)}
        ]),
        None => json!([
            {"type": "button", "action_id": HOME_PAUSE_1W, "value": "1w", "text": plain("Pause 1 week", 75)},
            {"type": "button", "action_id": HOME_PAUSE_2W, "value": "2w", "text": plain("Pause 2 weeks", 75)}
        ]),
    };
    let v = json!({
        "type": "home",
        "blocks": [
            {"type": "header", "text": plain(bot_name, 150)},
            {"type": "section", "block_id": "status", "text": {"type": "mrkdwn", "text": status}},
            {"type": "actions", "block_id": "pause_actions", "elements": buttons},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&format!("Open check-ins waiting for you: {open_prompts}. Share a note any time with `/fieldnotes note ...`; pause from anywhere with `/fieldnotes pause 2w` or `/fieldnotes pause until 2027-01-05`."), 2000)}]}
        ]
    });
    view(v)
}

/// The prompt after it was answered: the button goes, a thank-you stays.
pub fn prompt_answered(question: &str, insight_id: i64) -> (String, Vec<SlackBlock>) {
    let text = format!("Thanks, your field notes are saved (note #{insight_id}).");
    let b = json!([
        {"type": "section", "block_id": "prompt", "text": {"type": "mrkdwn", "text": truncate(&format!("*Quick check-in*\n{question}"), 3000)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": format!(":white_check_mark: Saved as note #{insight_id}. Marketing reads every one; thank you.")}]}
    ]);
    (text, blocks(b))
}

/// The modal with the check-in's questions and a tag picker.
pub fn note_modal(
    cfg: &Config,
    checkin: Option<&CheckIn>,
    meta: &ModalMeta,
    prompt_text: Option<&str>,
) -> SlackView {
    let mut b: Vec<Value> = Vec::new();
    if let Some(p) = prompt_text {
        b.push(
            json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(p, 2000)}]}),
        );
    }
    match checkin {
        Some(c) => {
            for q in &c.questions {
                let mut input = json!({
                    "type": "input",
                    "block_id": format!("{QUESTION_PREFIX}{}", q.id),
                    "optional": !q.required,
                    "label": plain(&q.label, 2000),
                    "element": {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": q.multiline, "max_length": 3000}
                });
                if let Some(h) = &q.hint {
                    input["hint"] = plain(h, 2000);
                }
                b.push(input);
            }
        }
        None => b.push(json!({
            "type": "input", "block_id": format!("{QUESTION_PREFIX}note"),
            "label": plain("What did you hear?", 2000),
            "element": {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": true, "max_length": 3000}
        })),
    }
    let offered: Vec<&str> = match checkin {
        Some(c) => c.tags.iter().map(String::as_str).collect(),
        None => cfg.tags.iter().map(|t| t.id.as_str()).collect(),
    };
    let options: Vec<Value> = offered
        .iter()
        .filter_map(|id| cfg.tag(id))
        .take(100)
        .map(|t| json!({"text": plain(&t.label, 75), "value": truncate(&t.id, 150)}))
        .collect();
    if !options.is_empty() {
        b.push(json!({
            "type": "input", "block_id": TAGS_BLOCK, "optional": true,
            "label": plain("Tags", 2000),
            "hint": plain("Pick what fits. We also tag from your words automatically.", 2000),
            "element": {"type": "multi_static_select", "action_id": INPUT_ACTION, "placeholder": plain("Competitor, objection, stage…", 150), "options": options}
        }));
    }
    view(json!({
        "type": "modal",
        "callback_id": NOTE_MODAL,
        "private_metadata": serde_json::to_string(meta).expect("meta serialises"),
        "title": plain("Field notes", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": b
    }))
}

/// What a rep submitted in the note modal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Submission {
    /// (question id, text) in form order.
    pub answers: Vec<(String, String)>,
    pub tags: Vec<String>,
}

/// Reads a submitted modal's `state.values` (Slack's documented shape).
pub fn parse_submission(state_values: &Value) -> Submission {
    let mut s = Submission::default();
    let Some(blocks) = state_values.as_object() else {
        return s;
    };
    for (block_id, actions) in blocks {
        let Some(el) = actions.get(INPUT_ACTION) else {
            continue;
        };
        if let Some(qid) = block_id.strip_prefix(QUESTION_PREFIX) {
            let text = el
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string();
            s.answers.push((qid.to_string(), text));
        } else if block_id == TAGS_BLOCK {
            if let Some(opts) = el.get("selected_options").and_then(Value::as_array) {
                s.tags = opts
                    .iter()
                    .filter_map(|o| o.get("value").and_then(Value::as_str))
                    .map(String::from)
                    .collect();
            }
        }
    }
    s
}

/// Ephemeral help for `/fieldnotes`.
pub fn help_text(command: &str) -> String {
    format!(
        "*Fieldnotes* turns what you hear from buyers into notes marketing can use.\n\
         • `{command} note <what you heard>`: save a note now (tags are added from your words; use #hashtags too)\n\
         • `{command} pause 2w` or `{command} pause until 2027-01-05`: no check-ins while you're away\n\
         • `{command} resume`: check-ins back on\n\
         • `{command} ask [check-in] [at 2026-12-01 15:00 | in 2h] <question>`: marketers and leads send a one-off question\n\
         • `{command} help`: this message\n\
         You also get a short check-in by DM; answer it with the *Add field notes* button."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml")).unwrap()
    }

    #[test]
    fn prompt_message_stays_inside_limits() {
        let long = "x".repeat(5000);
        let (text, b) = prompt_message(&long, 42, "Fieldnotes");
        assert!(text.len() > 100);
        let v = serde_json::to_value(&b).unwrap();
        assert!(v[0]["text"]["text"].as_str().unwrap().chars().count() <= 3000);
        assert_eq!(v[1]["elements"][0]["value"], "42");
        assert_eq!(v[1]["elements"][0]["action_id"], OPEN_FORM_ACTION);
    }

    #[test]
    fn modal_has_questions_and_tags_within_limits() {
        let c = cfg();
        let ck = &c.checkins[0];
        let meta = ModalMeta {
            prompt_id: Some(7),
            checkin: Some(ck.name.clone()),
        };
        let v = serde_json::to_value(note_modal(&c, Some(ck), &meta, Some("What did you hear?")))
            .unwrap();
        assert_eq!(v["type"], "modal");
        assert_eq!(v["callback_id"], NOTE_MODAL);
        assert!(v["title"]["text"].as_str().unwrap().chars().count() <= 24);
        let blocks = v["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 100);
        assert_eq!(blocks.len(), 1 + ck.questions.len() + 1);
        let tags = blocks.last().unwrap();
        assert_eq!(tags["block_id"], TAGS_BLOCK);
        assert_eq!(
            tags["element"]["options"].as_array().unwrap().len(),
            ck.tags.len().min(100)
        );
        let meta2: ModalMeta =
            serde_json::from_str(v["private_metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta2, meta);
    }

    #[test]
    fn submission_parses_slack_state_values() {
        let state = json!({
            "q:heard": {"value": {"type": "plain_text_input", "value": "  Acme is cheaper  "}},
            "q:stalled": {"value": {"type": "plain_text_input", "value": null}},
            "tags": {"value": {"type": "multi_static_select", "selected_options": [
                {"text": {"type": "plain_text", "text": "Acme"}, "value": "competitor:acme"}]}}
        });
        let s = parse_submission(&state);
        assert!(s
            .answers
            .contains(&("heard".into(), "Acme is cheaper".into())));
        assert!(s.answers.contains(&("stalled".into(), String::new())));
        assert_eq!(s.tags, vec!["competitor:acme"]);
    }
}
