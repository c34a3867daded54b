//! Block Kit for every message and view the bot sends, kept inside Slack's
//! limits (see SLACK_FACTS.md). Built as Slack's documented JSON, then parsed
//! into slack-morphism's types, so what we send is exactly what Slack's docs
//! show and a malformed block fails in tests, not in a rep's DM.

pub mod home;
pub mod loops;

use crate::capture::{self, Form, FormValues};
pub use crate::capture::{QUESTION_PREFIX, TAGS_BLOCK};
use crate::config::{field_label, questions, Config, Question, QuestionKind, Rating};
use crate::domain::{FieldValue, Insight};
use crate::text::truncate;
use serde_json::{json, Value};
use slack_morphism::prelude::*;

/// action_id of the prompt's "Add field notes" button.
pub const OPEN_FORM_ACTION: &str = "fieldnotes_open_form";
/// callback_id of the note modal.
pub const NOTE_MODAL: &str = "fieldnotes_note";
/// action_id of every input element in the modal.
pub const INPUT_ACTION: &str = "value";

/// What the modal carries between open and submit (private_metadata).
pub use crate::features::notes::FormMeta as ModalMeta;

/// What a note form carries, read back from its view (empty for any other
/// view).
pub fn modal_meta(view: &SlackView) -> ModalMeta {
    match view {
        SlackView::Modal(m) => m
            .private_metadata
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default(),
        _ => ModalMeta::default(),
    }
}

/// action_id prefix of a type-ahead select; the rest names its vocabulary
/// (a typed field, or `tags`).
pub const EXTERNAL_PREFIX: &str = "ext:";
/// Type-ahead answers at most this many options (Slack's limit).
pub const MAX_SUGGESTIONS: usize = 100;

pub fn blocks(v: Value) -> Vec<SlackBlock> {
    serde_json::from_value(v).expect("static Block Kit JSON parses")
}

fn view(v: Value) -> SlackView {
    serde_json::from_value(v).expect("static view JSON parses")
}

pub(crate) fn plain(text: &str, max: usize) -> Value {
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
            {"type": "mrkdwn", "text": "Takes under a minute: a few words in your own voice is plenty. Or just reply here."}
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

/// A reminder after its prompt was answered: no button, a pointer to the note.
pub fn reminder_answered(question: &str, insight_id: i64) -> (String, Vec<SlackBlock>) {
    let text = format!("Answered (note #{insight_id}).");
    let b = json!([
        {"type": "section", "block_id": "prompt", "text": {"type": "mrkdwn", "text": truncate(&format!("*Quick check-in*\n{question}"), 3000)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": format!(":white_check_mark: Answered with note #{insight_id}. Nothing more to do.")}]}
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

/// action_ids of a saved note's buttons (value: the note id).
pub const EDIT_NOTE: &str = "fieldnotes_edit_note";
pub const DELETE_NOTE: &str = "fieldnotes_delete_note";

/// Edit ("Add tags") and Delete buttons for a saved note; Delete asks first.
fn note_buttons(insight_id: i64, edit_label: &str) -> Value {
    json!({"type": "actions", "block_id": format!("note_actions:{insight_id}"), "elements": [
        {"type": "button", "action_id": EDIT_NOTE, "value": insight_id.to_string(), "text": plain(edit_label, 75)},
        {"type": "button", "action_id": DELETE_NOTE, "style": "danger", "value": insight_id.to_string(), "text": plain("Delete", 75),
         "confirm": {"title": plain("Delete this note?", 100), "text": {"type": "mrkdwn", "text": "Marketing won't see it any more. This can't be undone."},
                     "confirm": plain("Delete", 30), "deny": plain("Keep it", 30), "style": "danger"}}
    ]})
}

/// Escapes text for mrkdwn (Slack's three control characters).
/// Rep-typed text for mrkdwn: controls and bidi overrides stripped, and
/// `&`, `<`, `>` escaped so it cannot mention, link or format.
pub fn escape(s: &str) -> String {
    crate::text::clean(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A tag's label, or its id when the config no longer has it.
pub(crate) fn tag_label(cfg: &Config, id: &str) -> String {
    cfg.tag(id)
        .map(|t| t.label.clone())
        .unwrap_or_else(|| id.to_string())
}

/// `Competitor: Acme`, `Lead quality: 4/5`, or a check-in question's label.
pub(crate) fn field_text(cfg: &Config, f: &FieldValue) -> String {
    let value = tag_label(cfg, &f.value);
    match f.field.as_str() {
        questions::LEAD_QUALITY => format!("Lead quality: {value}/5"),
        questions::ASSET_WORKED => format!("Worked: {value}"),
        questions::ASSET_FLOPPED => format!("Didn't land: {value}"),
        other => {
            let name = field_label(other).map(str::to_string).unwrap_or_else(|| {
                cfg.checkins
                    .iter()
                    .flat_map(|c| &c.questions)
                    .find(|q| q.id == other)
                    .map(|q| truncate(&q.label, 40))
                    .unwrap_or_else(|| other.replace('_', " "))
            });
            // Labels like "Competitor: Acme" already say what they are.
            if value
                .to_lowercase()
                .starts_with(&format!("{}:", name.to_lowercase()))
            {
                value
            } else {
                format!("{name}: {value}")
            }
        }
    }
}

/// A one-line summary of a note's typed fields and other tags, for
/// confirmations.
pub fn tag_summary(cfg: &Config, ins: &Insight) -> String {
    let shown: Vec<&str> = ins.fields.iter().map(|f| f.value.as_str()).collect();
    let mut parts: Vec<String> = ins.fields.iter().map(|f| field_text(cfg, f)).collect();
    parts.dedup();
    parts.extend(
        ins.all_tags()
            .iter()
            .filter(|t| !shown.contains(&t.as_str()))
            .map(|t| tag_label(cfg, t)),
    );
    if parts.is_empty() {
        "no tags yet".into()
    } else {
        parts.join(" · ")
    }
}

/// The confirmation for a saved note, with Add tags / Edit and Delete.
pub fn note_saved(cfg: &Config, ins: &Insight, headline: &str) -> (String, Vec<SlackBlock>) {
    let text = format!("Saved as note #{}.", ins.id);
    let edited = if ins.edited_at_ms.is_some() {
        " (edited)"
    } else {
        ""
    };
    let edit_label = if ins.tags.is_empty() && ins.fields.is_empty() {
        "Add tags"
    } else {
        "Edit"
    };
    let b = json!([
        {"type": "section", "block_id": "note", "text": {"type": "mrkdwn", "text": truncate(&format!("{headline}\n>{}", escape(&truncate(&ins.text, 500)).replace('\n', "\n>")), 3000)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&format!("Note #{}{edited} · {}", ins.id, tag_summary(cfg, ins)), 2000)}]},
        note_buttons(ins.id, edit_label)
    ]);
    (text, blocks(b))
}

/// callback_id of the "Delete this note?" modal (private_metadata: the id).
pub const CONFIRM_DELETE_MODAL: &str = "fieldnotes_confirm_delete";

/// Asks before deleting a note chosen from App Home's menu.
pub fn confirm_delete(ins: &Insight) -> SlackView {
    view(json!({
        "type": "modal",
        "callback_id": CONFIRM_DELETE_MODAL,
        "private_metadata": ins.id.to_string(),
        "title": plain("Delete this note?", 24),
        "submit": plain("Delete", 24),
        "close": plain("Keep it", 24),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&format!("Delete note #{}? Marketing won't see it any more.\n>{}", ins.id, escape(&truncate(&ins.text, 500)).replace('\n', "\n>")), 3000)}}
        ]
    }))
}

/// A deleted note's confirmation: no buttons left.
pub fn note_deleted(insight_id: i64) -> (String, Vec<SlackBlock>) {
    let text = format!("Note #{insight_id} deleted.");
    let b = json!([
        {"type": "context", "elements": [{"type": "mrkdwn", "text": format!(":wastebasket: Note #{insight_id} deleted. Marketing won't see it.")}]}
    ]);
    (text, blocks(b))
}

/// The prompt after it was answered: the form button goes, a thank-you
/// stays, with Edit and Delete for the note.
pub fn prompt_answered(cfg: &Config, question: &str, ins: &Insight) -> (String, Vec<SlackBlock>) {
    let id = ins.id;
    let text = format!("Thanks, your field notes are saved (note #{id}).");
    let b = json!([
        {"type": "section", "block_id": "prompt", "text": {"type": "mrkdwn", "text": truncate(&format!("*Quick check-in*\n{question}"), 3000)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&format!(":white_check_mark: Saved as note #{id}. Marketing reads every one; thank you. {}", tag_summary(cfg, ins)), 2000)}]},
        note_buttons(id, "Edit")
    ]);
    (text, blocks(b))
}

fn option(value: &str, label: &str) -> Value {
    json!({"text": plain(label, 75), "value": truncate(value, 150)})
}

/// A select over `options` (value, label): static up to 100 options,
/// type-ahead served on block_suggestion beyond that.
fn select(
    vocabulary: &str,
    multi: bool,
    options: &[(&str, &str)],
    initial: &[String],
    placeholder: &str,
) -> Value {
    let label_of = |v: &str| {
        options
            .iter()
            .find(|(val, _)| *val == v)
            .map(|(_, l)| *l)
            .unwrap_or(v)
            .to_string()
    };
    let initial: Vec<Value> = initial
        .iter()
        .filter(|v| options.iter().any(|(val, _)| val == v))
        .map(|v| option(v, &label_of(v)))
        .collect();
    let external = options.len() > crate::config::questions::MAX_STATIC_OPTIONS;
    let mut el = match (external, multi) {
        (false, false) => json!({"type": "static_select", "action_id": INPUT_ACTION}),
        (false, true) => json!({"type": "multi_static_select", "action_id": INPUT_ACTION}),
        (true, false) => json!({"type": "external_select", "min_query_length": 1}),
        (true, true) => json!({"type": "multi_external_select", "min_query_length": 1}),
    };
    el["placeholder"] = plain(placeholder, 150);
    if external {
        el["action_id"] = json!(format!("{EXTERNAL_PREFIX}{vocabulary}"));
    } else {
        el["options"] = Value::Array(options.iter().map(|(v, l)| option(v, l)).collect());
    }
    match (multi, initial.is_empty()) {
        (_, true) => {}
        (true, false) => el["initial_options"] = Value::Array(initial),
        (false, false) => el["initial_option"] = initial[0].clone(),
    }
    el
}

/// Labels of the 1–5 rating.
const RATING: [&str; 5] = ["1 · poor", "2", "3", "4", "5 · great"];

/// Blocks for one question: one input, or three for an asset (which one,
/// did it work, why).
fn question_blocks(cfg: &Config, q: &Question, prefill: &FormValues) -> Vec<Value> {
    let bid = capture::block_id(q);
    let init = |k: &str| prefill.get(k).cloned().unwrap_or_default();
    let element = match q.kind {
        QuestionKind::Text => {
            let mut el = json!({"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": q.multiline, "max_length": 3000});
            if let Some(t) = init(&bid).first() {
                el["initial_value"] = json!(truncate(t, 3000));
            }
            el
        }
        QuestionKind::SingleSelect | QuestionKind::MultiSelect => select(
            q.field.as_deref().unwrap_or(&q.id),
            q.kind == QuestionKind::MultiSelect,
            &Form::options(cfg, q),
            &init(&bid),
            if q.kind == QuestionKind::MultiSelect {
                "Pick any"
            } else {
                "Pick one"
            },
        ),
        QuestionKind::Rating => {
            let opts: Vec<Value> = RATING
                .iter()
                .enumerate()
                .map(|(i, l)| option(&(i + 1).to_string(), l))
                .collect();
            let mut el =
                json!({"type": "radio_buttons", "action_id": INPUT_ACTION, "options": opts});
            if let Some(n) = init(&bid)
                .first()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| (1..=5).contains(n))
            {
                el["initial_option"] = option(&n.to_string(), RATING[n - 1]);
            }
            el
        }
        QuestionKind::Asset => select(
            "asset",
            false,
            &Form::options(cfg, q),
            &init(&bid),
            "Which asset?",
        ),
        QuestionKind::Initiative => {
            let opts: Vec<Value> = Rating::ALL
                .iter()
                .map(|r| option(r.as_str(), r.label()))
                .collect();
            let mut el =
                json!({"type": "radio_buttons", "action_id": INPUT_ACTION, "options": opts});
            if let Some(r) = init(&bid).first().and_then(|v| Rating::parse(v)) {
                el["initial_option"] = option(r.as_str(), r.label());
            }
            el
        }
    };
    let mut input = json!({
        "type": "input",
        "block_id": bid,
        "optional": !q.required,
        "label": plain(&q.label, 2000),
        "element": element
    });
    if let Some(h) = &q.hint {
        input["hint"] = plain(h, 2000);
    }
    let mut out = vec![input];
    if q.kind == QuestionKind::Initiative {
        let wid = format!("{bid}{}", capture::WHY_SUFFIX);
        let mut why = json!({"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": false, "max_length": 500});
        if let Some(t) = init(&wid).first() {
            why["initial_value"] = json!(truncate(t, 500));
        }
        out.push(json!({"type": "input", "block_id": wid, "optional": true, "label": plain("Why, in a few words?", 2000), "element": why}));
    }
    if q.kind == QuestionKind::Asset {
        let vid = format!("{bid}{}", capture::VERDICT_SUFFIX);
        let mut radio = json!({"type": "radio_buttons", "action_id": INPUT_ACTION, "options": [
            option(capture::WORKED, "It worked"),
            option(capture::FLOPPED, "It didn't work")
        ]});
        match init(&vid).first().map(String::as_str) {
            Some(capture::WORKED) => radio["initial_option"] = option(capture::WORKED, "It worked"),
            Some(capture::FLOPPED) => {
                radio["initial_option"] = option(capture::FLOPPED, "It didn't work")
            }
            _ => {}
        }
        out.push(json!({"type": "input", "block_id": vid, "optional": true, "label": plain("Did it help?", 2000), "element": radio}));
        let wid = format!("{bid}{}", capture::WHY_SUFFIX);
        let mut why = json!({"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": false, "max_length": 500});
        if let Some(t) = init(&wid).first() {
            why["initial_value"] = json!(truncate(t, 500));
        }
        out.push(json!({"type": "input", "block_id": wid, "optional": true, "label": plain("Why?", 2000), "element": why}));
    }
    out
}

/// A note form: the questions, then a picker for the remaining tags.
/// Stays inside Block Kit's limits whatever the config holds: at most 100
/// blocks, a 24-character title, and selects beyond 100 options become
/// type-ahead.
pub fn form_modal(
    cfg: &Config,
    form: &Form,
    meta: &ModalMeta,
    intro: Option<&str>,
    prefill: &FormValues,
    title: &str,
    submit: &str,
) -> SlackView {
    let mut b: Vec<Value> = Vec::new();
    if let Some(p) = intro {
        b.push(
            json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(p, 2000)}]}),
        );
    }
    for q in &form.questions {
        let blocks = question_blocks(cfg, q, prefill);
        if b.len() + blocks.len() > 99 {
            break;
        }
        b.extend(blocks);
    }
    let offered: Vec<(&str, &str)> = form
        .tags
        .iter()
        .filter_map(|id| cfg.tag(id))
        .map(|t| (t.id.as_str(), t.label.as_str()))
        .collect();
    if !offered.is_empty() && b.len() < 100 {
        let init = prefill.get(TAGS_BLOCK).cloned().unwrap_or_default();
        b.push(json!({
            "type": "input", "block_id": TAGS_BLOCK, "optional": true,
            "label": plain("Other tags", 2000),
            "hint": plain("Pick what fits. We also tag from your words automatically.", 2000),
            "element": select("tags", true, &offered, &init, "Market shift, objection…")
        }));
    }
    view(json!({
        "type": "modal",
        "callback_id": NOTE_MODAL,
        "private_metadata": truncate(&serde_json::to_string(meta).expect("meta serialises"), 3000),
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel", 24),
        "blocks": b
    }))
}

/// Type-ahead options for `vocabulary` (a typed field or `tags`) matching
/// `query` (the free tag picker: among `allowed`): labels, ids, aliases and
/// keywords, case-insensitive; labels
/// that start with the query first; at most 100.
pub fn suggestions(
    cfg: &Config,
    vocabulary: &str,
    query: &str,
    allowed: Option<&[String]>,
) -> Vec<(String, String)> {
    let q = query.trim().to_lowercase();
    let pool: Vec<&crate::config::TagDef> = if vocabulary == "tags" {
        cfg.tags
            .iter()
            .filter(|t| allowed.is_none_or(|a| a.contains(&t.id)))
            .collect()
    } else {
        cfg.vocabulary(vocabulary)
    };
    let mut hits: Vec<(u8, &crate::config::TagDef)> = pool
        .into_iter()
        .filter_map(|t| {
            let label = t.label.to_lowercase();
            let rank = if label.starts_with(&q) {
                0
            } else if label.contains(&q) || t.id.contains(&q) {
                1
            } else if t
                .aliases
                .iter()
                .chain(&t.keywords)
                .any(|a| a.to_lowercase().contains(&q))
            {
                2
            } else {
                return None;
            };
            Some((rank, t))
        })
        .collect();
    hits.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.label.cmp(&b.1.label)));
    hits.into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, t)| (t.id.clone(), truncate(&t.label, 75)))
        .collect()
}

/// Reads a submitted modal's `state.values` (Slack's documented shape):
/// each block's text, or its selected option values.
pub fn read_values(state_values: &Value) -> FormValues {
    let mut out = FormValues::new();
    let Some(blocks) = state_values.as_object() else {
        return out;
    };
    for (block_id, actions) in blocks {
        let Some((_, el)) = actions.as_object().and_then(|a| a.iter().next()) else {
            continue;
        };
        let vals: Vec<String> = if let Some(v) = el.get("value").and_then(Value::as_str) {
            vec![v.to_string()]
        } else if let Some(o) = el.get("selected_option").filter(|o| !o.is_null()) {
            o.get("value")
                .and_then(Value::as_str)
                .map(String::from)
                .into_iter()
                .collect()
        } else if let Some(os) = el.get("selected_options").and_then(Value::as_array) {
            os.iter()
                .filter_map(|o| o.get("value").and_then(Value::as_str))
                .map(String::from)
                .collect()
        } else {
            vec![]
        };
        out.insert(block_id.clone(), vals);
    }
    out
}

/// A modal showing the current period's digest as it would be posted:
/// the summary, then each thread message's blocks, inside a modal's 100
/// blocks (a note says when the rest was left out).
pub fn digest_preview(d: &crate::digest::Digest) -> SlackView {
    let mut b: Vec<Value> = Vec::new();
    if d.is_empty() {
        return digest_preview_text(&format!(
            "*{}: {}*\nNo notes yet this period, so there is nothing to preview (and nothing would be posted).",
            d.title, d.period.label
        ));
    }
    let messages = crate::digest::render::blocks::messages(d);
    let total: usize = messages.iter().map(|m| m.blocks.len()).sum();
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            b.push(json!({"type": "divider"}));
        }
        b.extend(m.blocks.iter().cloned());
    }
    if b.len() > 100 {
        b.truncate(98);
        b.push(json!({"type": "divider"}));
        b.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!(
            "The preview shows the first part of {total} blocks; `fieldnotes digest --format html` writes the whole report."
        )}]}));
    }
    view(json!({
        "type": "modal",
        "title": plain("Digest preview", 24),
        "close": plain("Close", 24),
        "blocks": b
    }))
}

/// A modal with a digest preview's text (a placeholder while it builds,
/// or why it couldn't be), split into sections of at most 3,000
/// characters (and 100 blocks).
pub fn digest_preview_text(markdown: &str) -> SlackView {
    let mut chunks: Vec<String> = Vec::new();
    let mut cur = String::new();
    for line in markdown.lines() {
        let line = truncate(line, 2900);
        if cur.chars().count() + line.chars().count() + 1 > 2900 {
            chunks.push(std::mem::take(&mut cur));
        }
        cur.push_str(&line);
        cur.push('\n');
    }
    if !cur.trim().is_empty() {
        chunks.push(cur);
    }
    let mut b: Vec<Value> = chunks
        .iter()
        .take(99)
        .map(|c| json!({"type": "section", "text": {"type": "mrkdwn", "text": escape(c)}}))
        .collect();
    if b.is_empty() {
        b.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": "Nothing yet this week."}}));
    }
    view(json!({
        "type": "modal",
        "title": plain("Digest preview", 24),
        "close": plain("Close", 24),
        "blocks": b
    }))
}

/// A modal that only tells the person something, such as why an App Home
/// button was refused (App Home has no channel for an ephemeral message).
pub fn notice_modal(title: &str, text: &str) -> SlackView {
    view(json!({
        "type": "modal",
        "title": plain(title, 24),
        "close": plain("Close", 24),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}]
    }))
}

/// Ephemeral help for `/fieldnotes`.
pub fn help_text(command: &str) -> String {
    format!(
        "*Fieldnotes* turns what you hear from buyers into notes marketing can use.\n\
         • `{command} note <what you heard>`: save a note now (tags are added from your words; use #hashtags too)\n\
         • `{command} note`: open the form with competitor, objection, stage, asset and lead quality\n\
         • `{command} pause 2w` or `{command} pause until 2027-01-05`: no check-ins while you're away\n\
         • `{command} resume`: check-ins back on\n\
         • `{command} ask [check-in] [at 2026-12-01 15:00 | in 2h] <question>`: marketers, leads and admins send a one-off question\n\
         • `{command} initiative add ID name=\"Spring webinar\" kind=campaign|asset|experiment [start=… end=… checkins=… keywords=…]`, `initiative end ID`, `initiative list`, `initiative report ID`: marketers and leads register what reps should rate, and read its debrief\n\
         • `{command} search competitor:acme since:30d pricing`: marketers and leads search every note (words, \"phrases\", competitor: stage: tag: rep:@name since: source: initiative:)\n\
         • `{command} help`: this message\n\
         You also get a short check-in by DM: answer with the *Add field notes* button, or just reply in the DM. \
         On any message, the *Save as field insight* shortcut (⋯ menu) saves it as a note."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml")).unwrap()
    }

    fn json_of(v: SlackView) -> Value {
        serde_json::to_value(v).unwrap()
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
    fn checkin_form_renders_each_question_type() {
        let c = cfg();
        let ck = &c.checkins[0];
        let form = Form::checkin(
            &c,
            ck,
            Some(
                &ck.questions
                    .iter()
                    .map(|q| q.id.clone())
                    .collect::<Vec<_>>(),
            ),
        );
        let meta = ModalMeta {
            prompt_id: Some(7),
            checkin: Some(ck.name.clone()),
            questions: form.questions.iter().map(|q| q.id.clone()).collect(),
            ..Default::default()
        };
        let v = json_of(form_modal(
            &c,
            &form,
            &meta,
            Some("Hi"),
            &FormValues::new(),
            "Field notes",
            "Save",
        ));
        assert_eq!(v["callback_id"], NOTE_MODAL);
        let blocks = v["blocks"].as_array().unwrap();
        let by_id = |id: &str| {
            blocks
                .iter()
                .find(|b| b["block_id"] == id)
                .unwrap_or_else(|| panic!("{id}"))
        };
        assert_eq!(by_id("q:heard")["element"]["type"], "plain_text_input");
        assert_eq!(by_id("q:heard")["optional"], false);
        assert_eq!(
            by_id("q:competitors")["element"]["type"],
            "multi_static_select"
        );
        assert_eq!(by_id("q:stage")["element"]["type"], "static_select");
        assert_eq!(by_id("q:lead_quality")["element"]["type"], "radio_buttons");
        assert_eq!(
            by_id("q:lead_quality")["element"]["options"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        assert_eq!(by_id("q:asset")["element"]["type"], "static_select");
        assert_eq!(by_id("q:asset:verdict")["element"]["type"], "radio_buttons");
        assert_eq!(by_id("q:asset:why")["element"]["type"], "plain_text_input");
        assert_eq!(by_id(TAGS_BLOCK)["element"]["type"], "multi_static_select");
        let meta2: ModalMeta =
            serde_json::from_str(v["private_metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta2, meta);
    }

    #[test]
    fn big_vocabularies_become_type_ahead_and_forms_stay_in_limits() {
        let mut text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml"),
        )
        .unwrap();
        for i in 0..250 {
            text.push_str(&format!("\n[[tag]]\nid = \"account:a{i}\"\nlabel = \"Account {i:03}\"\ncategory = \"account\"\naliases = [\"Acct{i}\"]\n"));
            text.push_str(&format!(
                "\n[[tag]]\nid = \"theme:t{i}\"\nlabel = \"Theme {i:03}\"\ncategory = \"theme\"\n"
            ));
        }
        let c = Config::parse(Path::new("big.toml"), &text).unwrap();
        let form = Form::note(&c);
        let v = json_of(form_modal(
            &c,
            &form,
            &ModalMeta::default(),
            None,
            &FormValues::new(),
            "A title far longer than Slack allows",
            "Save",
        ));
        assert!(v["title"]["text"].as_str().unwrap().chars().count() <= 24);
        let blocks = v["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 100);
        let account = blocks
            .iter()
            .find(|b| b["block_id"] == "q:account")
            .unwrap();
        assert_eq!(account["element"]["type"], "external_select");
        assert_eq!(account["element"]["action_id"], "ext:account");
        assert!(account["element"].get("options").is_none());
        // The free tag picker (tags outside the typed fields) now holds more
        // than 100 tags: type-ahead too.
        let tags = blocks.iter().find(|b| b["block_id"] == TAGS_BLOCK).unwrap();
        assert_eq!(tags["element"]["type"], "multi_external_select");
        for b in blocks {
            if let Some(o) = b["element"]["options"].as_array() {
                assert!(o.len() <= 100);
            }
        }
        let s = suggestions(&c, "account", "account 01", None);
        assert_eq!(s.len(), 10, "Account 010..019");
        assert!(s.iter().all(|(v, _)| v.starts_with("account:a1")));
        assert_eq!(
            suggestions(&c, "account", "acct249", None)[0].0,
            "account:a249",
            "aliases are searched"
        );
        assert_eq!(
            suggestions(&c, "account", "a", None).len(),
            100,
            "at most 100 suggestions"
        );
        let allowed = vec!["theme:t7".to_string(), "theme:t70".to_string()];
        let picked = suggestions(&c, "tags", "theme 0", Some(&allowed));
        assert_eq!(picked.len(), 2, "only the form's own tags: {picked:?}");
    }

    #[test]
    fn values_read_from_every_element_shape() {
        let state = json!({
            "q:heard": {"value": {"type": "plain_text_input", "value": "Acme is cheaper"}},
            "q:stalled": {"value": {"type": "plain_text_input", "value": null}},
            "q:stage": {"value": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": "stage:evaluation"}}},
            "q:account": {"ext:account": {"type": "external_select", "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": "account:contoso"}}},
            "q:asset:verdict": {"value": {"type": "radio_buttons", "selected_option": null}},
            "tags": {"value": {"type": "multi_static_select", "selected_options": [
                {"text": {"type": "plain_text", "text": "Acme"}, "value": "competitor:acme"}]}}
        });
        let v = read_values(&state);
        assert_eq!(v["q:heard"], vec!["Acme is cheaper"]);
        assert!(v["q:stalled"].is_empty());
        assert_eq!(v["q:stage"], vec!["stage:evaluation"]);
        assert_eq!(v["q:account"], vec!["account:contoso"]);
        assert!(v["q:asset:verdict"].is_empty());
        assert_eq!(v[TAGS_BLOCK], vec!["competitor:acme"]);
    }

    #[test]
    fn note_confirmation_has_edit_and_delete() {
        let c = cfg();
        let ins = Insight {
            id: 9,
            text: "<script> & stuff".into(),
            auto_tags: vec!["competitor:acme".into()],
            ..Default::default()
        };
        let (_, b) = note_saved(&c, &ins, "Saved");
        let v = serde_json::to_value(&b).unwrap();
        assert!(v[0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("&lt;script&gt; &amp; stuff"));
        assert!(v[1]["elements"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Competitor: Acme"));
        assert_eq!(v[2]["elements"][0]["action_id"], EDIT_NOTE);
        assert_eq!(v[2]["elements"][0]["text"]["text"], "Add tags");
        assert_eq!(v[2]["elements"][1]["action_id"], DELETE_NOTE);
        assert_eq!(v[2]["elements"][1]["value"], "9");
        assert!(v[2]["elements"][1]["confirm"].is_object());
    }

    #[test]
    fn digest_preview_stays_inside_limits() {
        let md = "line of text\n".repeat(5000);
        let v = json_of(digest_preview_text(&md));
        let blocks = v["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 100);
        assert!(blocks
            .iter()
            .all(|b| b["text"]["text"].as_str().unwrap().chars().count() <= 3000));
    }
}
