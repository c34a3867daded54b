//! The loop's modals (issue 13): a marketer's **Acting on it** (an
//! optional note on what marketing will do) and **Ask a follow-up** (the
//! question), and the rep's **Answer in a form**. What each carries
//! between open and submit is in private_metadata, and is checked again
//! on submit: a forged one changes nothing.

use super::{plain, view, INPUT_ACTION};
use crate::domain::Insight;
use crate::features::loops::{snippet, Kind, Target, MAX_TEXT};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use slack_morphism::prelude::SlackView;

/// callback_id of the marketer's form.
pub const PRESS_MODAL: &str = "loop_press";
/// callback_id of the rep's answer form.
pub const ANSWER_MODAL: &str = "loop_answer";
/// The text input's block_id in both.
pub const TEXT_BLOCK: &str = "loop_text";
/// The notes picker (an evidence item names several).
pub const NOTES_BLOCK: &str = "loop_notes";

/// What the marketer's form carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PressMeta {
    pub kind: String,
    /// `digest|id,id`.
    pub target: String,
    /// Where the digest was, to answer there.
    #[serde(default)]
    pub channel: Option<String>,
}

fn quote(n: &Insight) -> String {
    format!(
        ">{}\n— note #{}",
        crate::digest::render::blocks::esc(&snippet(&n.text, 280)),
        n.id
    )
}

/// The marketer's form for Acting on it or Ask a follow-up, over `notes`
/// (already checked to exist).
pub fn press_modal(
    kind: Kind,
    target: &Target,
    notes: &[Insight],
    channel: Option<&str>,
) -> SlackView {
    let meta = PressMeta {
        kind: kind.as_str().into(),
        target: target.value(),
        channel: channel.map(String::from),
    };
    let (title, label, placeholder, optional, submit) = match kind {
        Kind::Ask => (
            "Ask a follow-up",
            "Your question",
            "Which deal was this? Did the buyer say why?",
            false,
            "Send",
        ),
        _ => (
            "Acting on it",
            "What marketing will do (optional)",
            "We're adding a pricing FAQ to the deck",
            true,
            "Tell them",
        ),
    };
    let mut blocks: Vec<Value> = vec![json!({"type": "section", "text": {"type": "mrkdwn", "text":
        "The rep who shared it gets a DM from Fieldnotes with your name and this text, and can answer in the thread."}})];
    if notes.len() > 1 {
        let options: Vec<Value> = notes
            .iter()
            .map(|n| json!({"text": plain(&format!("#{}: {}", n.id, snippet(&n.text, 60)), 75), "value": n.id.to_string()}))
            .collect();
        blocks.push(json!({
            "type": "input", "block_id": NOTES_BLOCK,
            "label": plain("Which notes", 2000),
            "element": {"type": "checkboxes", "action_id": INPUT_ACTION,
                        "options": options, "initial_options": options}
        }));
    } else {
        for n in notes {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": quote(n)}}));
        }
    }
    blocks.push(json!({
        "type": "input", "block_id": TEXT_BLOCK, "optional": optional,
        "label": plain(label, 2000),
        "element": {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": true,
                    "max_length": MAX_TEXT, "placeholder": plain(placeholder, 150)}
    }));
    view(json!({
        "type": "modal",
        "callback_id": PRESS_MODAL,
        "private_metadata": serde_json::to_string(&meta).unwrap_or_default(),
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }))
}

/// The rep's form to answer a relayed action (`action`: its id).
pub fn answer_modal(action: i64, kind: Kind, marketer_text: &str, note: &Insight) -> SlackView {
    let mut blocks =
        vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": quote(note)}})];
    if !marketer_text.is_empty() {
        let label = if kind == Kind::Ask {
            "Marketing asks"
        } else {
            "Marketing says"
        };
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("*{label}:* {}", crate::digest::render::blocks::esc(&snippet(marketer_text, 2000)))}}));
    }
    blocks.push(json!({
        "type": "input", "block_id": TEXT_BLOCK,
        "label": plain("Your answer", 2000),
        "element": {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": true,
                    "max_length": MAX_TEXT}
    }));
    view(json!({
        "type": "modal",
        "callback_id": ANSWER_MODAL,
        "private_metadata": action.to_string(),
        "title": plain("Answer marketing", 24),
        "submit": plain("Send", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_are_valid_views() {
        let n = Insight {
            id: 4,
            text: "Buyers ask for SSO".into(),
            ..Default::default()
        };
        let t = Target::parse("weekly|4,5").unwrap();
        let two = [n.clone(), Insight { id: 5, ..n.clone() }];
        for v in [
            press_modal(Kind::Ask, &t, &two, Some("C1")),
            press_modal(Kind::Acting, &t, &two[..1], None),
            answer_modal(9, Kind::Ask, "Which deal?", &n),
        ] {
            let j = serde_json::to_value(&v).unwrap();
            assert!(j["blocks"].as_array().unwrap().len() >= 2, "{j}");
        }
        let j = serde_json::to_value(press_modal(Kind::Ask, &t, &two, None)).unwrap();
        let meta: PressMeta =
            serde_json::from_str(j["private_metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta.target, "weekly|4,5");
        assert_eq!(meta.kind, "ask");
    }
}
