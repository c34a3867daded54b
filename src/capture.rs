//! What a form asks and what its answers mean, with no Slack types: which
//! questions a modal shows (a check-in's rotated pick, the free-note form,
//! or an edit of a stored note), and how submitted values become answers,
//! typed fields, the rep's tags and the automatic ones.

use crate::config::initiative::INITIATIVE_RATING;
use crate::config::questions::{ASSET_FLOPPED, ASSET_WORKED};
use crate::config::Rating;
use crate::config::{field_label, CheckIn, Config, Question, QuestionKind, TagDef};
use crate::domain::{answers_text, Answer, FieldValue, Insight, Sentiment};
use crate::tagging::{sentiment, Tagger};
use std::collections::{BTreeSet, HashMap};

/// Prefix of a question's block id (`q:heard`).
pub const QUESTION_PREFIX: &str = "q:";
/// Block id of the free tag picker.
pub const TAGS_BLOCK: &str = "tags";
/// Suffixes of an asset question's extra inputs.
pub const VERDICT_SUFFIX: &str = ":verdict";
pub const WHY_SUFFIX: &str = ":why";
/// Verdict option values.
pub const WORKED: &str = "worked";
pub const FLOPPED: &str = "flopped";

/// A form: its questions in order and the tags its picker offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub questions: Vec<Question>,
    /// Tag ids offered in the free tag picker.
    pub tags: Vec<String>,
}

impl Form {
    /// The questions a check-in prompt asks: its run's pick (k of n), or
    /// the whole pool (up to `ask`) for a prompt from before rotation.
    pub fn checkin(cfg: &Config, c: &CheckIn, asked: Option<&[String]>) -> Form {
        let picked: Vec<Question> = c
            .questions
            .iter()
            .filter(|q| asked.is_some_and(|ids| ids.contains(&q.id)))
            .cloned()
            .collect();
        // A run from before rotation, or whose questions left the config.
        let questions = if picked.iter().any(|q| q.kind == QuestionKind::Text) {
            picked
        } else {
            let ids = crate::config::questions::rotate(&c.questions, c.ask, 0);
            c.questions
                .iter()
                .filter(|q| ids.contains(&q.id))
                .cloned()
                .collect()
        };
        let mut questions = questions;
        // The initiatives this run asks about (still known to the config).
        for id in asked.into_iter().flatten() {
            if let Some(i) = id
                .strip_prefix("initiative:")
                .and_then(|i| cfg.initiative(i))
            {
                if !questions.iter().any(|q| &q.id == id) {
                    questions.push(i.question());
                }
            }
        }
        let tags = free_tags(c.tags.iter().filter_map(|t| cfg.tag(t)), &questions);
        Form { questions, tags }
    }

    /// The free-note form: the text, then one input per typed field, and
    /// the remaining tags.
    pub fn note(cfg: &Config) -> Form {
        let questions = cfg.note_questions.clone();
        let tags = free_tags(cfg.tags.iter(), &questions);
        Form { questions, tags }
    }

    /// The form to edit a stored note: for a check-in note the questions it
    /// answered, then the free-note form's typed fields it does not cover.
    pub fn edit(cfg: &Config, ins: &Insight) -> Form {
        let checkin = ins.checkin.as_deref().and_then(|c| cfg.checkin(c));
        let mut questions: Vec<Question> = match checkin {
            Some(c) => c
                .questions
                .iter()
                .filter(|q| {
                    ins.answers.iter().any(|a| a.question_id == q.id)
                        || (q.kind != QuestionKind::Text
                            && ins.field(q.field_name()).next().is_some())
                })
                .cloned()
                .collect(),
            None => vec![],
        };
        // The initiatives the note rated: kept in the form, so an edit
        // neither loses the rating nor its reason.
        for (id, _) in ins
            .field(INITIATIVE_RATING)
            .filter_map(Rating::from_field_value)
        {
            if let Some(i) = cfg.initiative(id) {
                if !questions.iter().any(|q| q.id == i.question_id()) {
                    questions.push(i.question());
                }
            }
        }
        if !questions.iter().any(|q| q.kind == QuestionKind::Text) {
            questions.insert(0, cfg.note_questions[0].clone());
        }
        let covered: BTreeSet<String> = questions
            .iter()
            .filter(|q| q.kind != QuestionKind::Text)
            .map(|q| q.field_name().to_string())
            .collect();
        for q in cfg.note_questions.iter().skip(1) {
            if !covered.contains(q.field_name()) && !questions.iter().any(|x| x.id == q.id) {
                questions.push(q.clone());
            }
        }
        let tags = free_tags(cfg.tags.iter(), &questions);
        Form { questions, tags }
    }

    /// The options a typed select offers (the field's vocabulary), as
    /// (value, label).
    pub fn options<'a>(cfg: &'a Config, q: &'a Question) -> Vec<(&'a str, &'a str)> {
        match (&q.field, q.kind) {
            (_, QuestionKind::Asset) => cfg
                .vocabulary("asset")
                .into_iter()
                .map(|t| (t.id.as_str(), t.label.as_str()))
                .collect(),
            (Some(f), QuestionKind::SingleSelect | QuestionKind::MultiSelect) => cfg
                .vocabulary(f)
                .into_iter()
                .map(|t| (t.id.as_str(), t.label.as_str()))
                .collect(),
            _ => q.options.iter().map(|o| (o.as_str(), o.as_str())).collect(),
        }
    }
}

/// The tags a form's free picker offers: `candidates` less those of a
/// typed field the form already asks.
fn free_tags<'a>(
    candidates: impl Iterator<Item = &'a TagDef>,
    questions: &[Question],
) -> Vec<String> {
    let typed: BTreeSet<&str> = questions
        .iter()
        .filter(|q| q.kind != QuestionKind::Text)
        .map(|q| q.field_name())
        .collect();
    candidates
        .filter(|t| !t.category.as_deref().is_some_and(|k| typed.contains(k)))
        .map(|t| t.id.clone())
        .collect()
}

/// Submitted values by block id: the text, or the selected option values.
pub type FormValues = HashMap<String, Vec<String>>;

/// What a submitted form says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    pub answers: Vec<Answer>,
    pub text: String,
    pub fields: Vec<FieldValue>,
    /// Tags the rep chose (the picker, and typed selects' values).
    pub tags: Vec<String>,
}

/// A problem to show under one input, as Slack's `response_action: errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub block_id: String,
    pub message: String,
}

/// Block id of a question's (main) input.
pub fn block_id(q: &Question) -> String {
    format!("{QUESTION_PREFIX}{}", q.id)
}

/// Reads a submitted form. Values the config no longer knows (a stale form)
/// are dropped rather than stored.
pub fn read(cfg: &Config, form: &Form, values: &FormValues) -> Result<Captured, FieldError> {
    let mut c = Captured::default();
    let one = |k: &str| -> Option<String> {
        values
            .get(k)
            .and_then(|v| v.first())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let known_tag = |id: &str, cat: Option<&str>| -> bool {
        cfg.tag(id)
            .is_some_and(|t| cat.is_none() || t.category.as_deref() == cat)
    };
    for q in &form.questions {
        let bid = block_id(q);
        match q.kind {
            QuestionKind::Text => {
                let text = one(&bid).unwrap_or_default();
                if q.required && text.is_empty() {
                    return Err(FieldError {
                        block_id: bid,
                        message: "Write a few words: what did you hear?".into(),
                    });
                }
                if !text.is_empty() {
                    c.answers.push(Answer {
                        question_id: q.id.clone(),
                        question: q.label.clone(),
                        text,
                    });
                }
            }
            QuestionKind::SingleSelect | QuestionKind::MultiSelect => {
                let picked = values.get(&bid).cloned().unwrap_or_default();
                let picked: Vec<String> = if q.kind == QuestionKind::SingleSelect {
                    picked.into_iter().take(1).collect()
                } else {
                    picked
                };
                for v in picked {
                    match &q.field {
                        Some(f) if known_tag(&v, Some(f)) => {
                            c.fields.push(FieldValue::new(f, &v));
                            c.tags.push(v);
                        }
                        Some(_) => {}
                        None if q.options.contains(&v) => c.fields.push(FieldValue::new(&q.id, &v)),
                        None => {}
                    }
                }
                if q.required && !c.fields.iter().any(|f| f.field == q.field_name()) {
                    return Err(FieldError {
                        block_id: bid,
                        message: "Pick at least one.".into(),
                    });
                }
            }
            QuestionKind::Rating => match one(&bid).and_then(|v| v.parse::<u8>().ok()) {
                Some(n @ 1..=5) => c
                    .fields
                    .push(FieldValue::new(q.field_name(), n.to_string())),
                _ if q.required => {
                    return Err(FieldError {
                        block_id: bid,
                        message: "Pick a rating from 1 to 5.".into(),
                    })
                }
                _ => {}
            },
            QuestionKind::Asset => {
                let asset = one(&bid).filter(|a| known_tag(a, Some("asset")));
                let verdict = one(&format!("{bid}{VERDICT_SUFFIX}"));
                let why = one(&format!("{bid}{WHY_SUFFIX}")).unwrap_or_default();
                match asset {
                    Some(a) => {
                        let label = cfg.tag(&a).map(|t| t.label.clone()).unwrap_or_default();
                        c.fields.push(FieldValue::new("asset", &a));
                        let said = match verdict.as_deref() {
                            Some(WORKED) => {
                                c.fields.push(FieldValue::new(ASSET_WORKED, &a));
                                "worked"
                            }
                            Some(FLOPPED) => {
                                c.fields.push(FieldValue::new(ASSET_FLOPPED, &a));
                                "didn't work"
                            }
                            _ => "used",
                        };
                        c.tags.push(a);
                        let mut text = asset_answer_prefix(&label, said);
                        if !why.is_empty() {
                            text.push(' ');
                            text.push_str(&why);
                        }
                        c.answers.push(Answer {
                            question_id: q.id.clone(),
                            question: q.label.clone(),
                            text,
                        });
                    }
                    None if q.required => {
                        return Err(FieldError {
                            block_id: bid,
                            message: "Pick the asset.".into(),
                        })
                    }
                    None if verdict.is_some() || !why.is_empty() => {
                        return Err(FieldError {
                            block_id: bid,
                            message: "Which asset? Pick it here, or clear the verdict.".into(),
                        })
                    }
                    None => {}
                }
            }
            QuestionKind::Initiative => {
                let id = q.id.strip_prefix("initiative:").unwrap_or(&q.id);
                let rating = one(&bid).and_then(|v| Rating::parse(&v));
                let why = one(&format!("{bid}{WHY_SUFFIX}")).unwrap_or_default();
                match rating {
                    Some(r) => {
                        let name = cfg.initiative(id).map(|i| i.name.as_str()).unwrap_or(id);
                        c.fields
                            .push(FieldValue::new(INITIATIVE_RATING, r.field_value(id)));
                        c.tags.push(q.id.clone());
                        let mut text = initiative_answer_prefix(name, r);
                        if !why.is_empty() {
                            text.push(' ');
                            text.push_str(&why);
                        }
                        c.answers.push(Answer {
                            question_id: q.id.clone(),
                            question: q.label.clone(),
                            text,
                        });
                    }
                    None if !why.is_empty() => {
                        return Err(FieldError {
                            block_id: bid,
                            message: "Did it work? Pick one, or clear the why.".into(),
                        })
                    }
                    None => {}
                }
            }
        }
    }
    for t in values.get(TAGS_BLOCK).into_iter().flatten() {
        if known_tag(t, None) {
            c.tags.push(t.clone());
        }
    }
    c.tags.sort();
    c.tags.dedup();
    c.fields.sort();
    c.fields.dedup();
    c.text = answers_text(&c.answers);
    if c.text.is_empty() && !c.fields.is_empty() {
        // Only selects and ratings answered: the note reads as what was picked.
        c.text = c
            .fields
            .iter()
            .map(|f| match cfg.tag(&f.value) {
                Some(t) => t.label.clone(),
                None => format!("{}: {}", field_label(&f.field).unwrap_or(&f.field), f.value),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    if c.text.is_empty() {
        let first = form
            .questions
            .iter()
            .find(|q| q.kind == QuestionKind::Text)
            .or(form.questions.first());
        return Err(FieldError {
            block_id: first.map(block_id).unwrap_or_default(),
            message: "Write a few words: what did you hear?".into(),
        });
    }
    Ok(c)
}

/// The start of an initiative answer's text; the rest is the rep's "why".
fn initiative_answer_prefix(name: &str, r: Rating) -> String {
    let said = match r {
        Rating::Worked => "worked",
        Rating::Didnt => "didn't work",
        Rating::NotUsed => "not used",
    };
    format!("{name}: {said}.")
}

/// The rep's reason in an initiative answer, given its name.
pub fn initiative_reason<'a>(answer: &'a str, name: &str) -> &'a str {
    Rating::ALL
        .iter()
        .find_map(|r| answer.strip_prefix(&initiative_answer_prefix(name, *r)))
        .unwrap_or("")
        .trim()
}

/// The start of an asset answer's text; the rest is the rep's "why".
fn asset_answer_prefix(label: &str, said: &str) -> String {
    format!("{label}: {said}.")
}

/// The rep's reason in an asset answer ("Case study: worked. The CFO…"),
/// given the asset's label; empty when they gave none.
pub fn asset_reason<'a>(answer: &'a str, label: &str) -> &'a str {
    ["worked", "didn't work", "used"]
        .iter()
        .find_map(|said| answer.strip_prefix(&asset_answer_prefix(label, said)))
        .unwrap_or("")
        .trim()
}

/// After an edit form is read, keeps what the form could not show: a text
/// longer than the form's 3,000 characters that came back cut but
/// otherwise unchanged, and answers to questions no longer in the form.
pub fn merge_edit(form: &Form, ins: &Insight, mut c: Captured) -> Captured {
    let folded = !ins.answers.is_empty()
        && !ins.answers.iter().any(|a| {
            form.questions
                .iter()
                .any(|q| q.id == a.question_id && q.kind == QuestionKind::Text)
        });
    for a in c.answers.iter_mut() {
        let original = match ins.answers.iter().find(|o| o.question_id == a.question_id) {
            Some(o) => o.text.as_str(),
            // The note's text was shown in this (free-text) question.
            None if ins.answers.is_empty() || folded => ins.text.as_str(),
            None => continue,
        };
        if original.chars().count() > MAX_TEXT
            && a.text == crate::text::truncate(original, MAX_TEXT).trim()
        {
            a.text = original.to_string();
        }
    }
    if !folded {
        for o in &ins.answers {
            if !form.questions.iter().any(|q| q.id == o.question_id)
                && !c.answers.iter().any(|a| a.question_id == o.question_id)
            {
                c.answers.push(o.clone());
            }
        }
    }
    if !c.answers.is_empty() {
        c.text = answers_text(&c.answers);
    }
    c
}

/// The most a form's text input holds (Slack's `max_length` limit).
pub const MAX_TEXT: usize = 3000;

/// Automatic tags for a note: keywords, aliases and #hashtags in its text,
/// the tags its answered questions imply, and its typed fields' tags that
/// the rep did not pick themselves.
pub fn auto_tags(
    tagger: &Tagger,
    cfg: &Config,
    text: &str,
    answers: &[Answer],
    checkin: Option<&str>,
) -> Vec<String> {
    let mut auto = tagger.tag(text);
    if let Some(c) = checkin.and_then(|c| cfg.checkin(c)) {
        for a in answers {
            if let Some(q) = c.questions.iter().find(|q| q.id == a.question_id) {
                auto.extend(q.tags.iter().cloned());
            }
        }
    }
    auto.sort();
    auto.dedup();
    auto
}

/// Short pleasantries a rep may send the bot ("thanks!", "ok 👍"), which
/// are not field notes.
const CHITCHAT: &[&str] = &[
    "thanks",
    "thank you",
    "thanks a lot",
    "thank you so much",
    "many thanks",
    "thx",
    "ty",
    "cheers",
    "ok",
    "okay",
    "k",
    "kk",
    "cool",
    "great",
    "nice",
    "perfect",
    "got it",
    "will do",
    "sure",
    "yes",
    "yep",
    "no",
    "nope",
    "hi",
    "hello",
    "hey",
    "sounds good",
    "np",
    "no problem",
    "done",
    "noted",
    "lol",
];

/// Whether a DM message is only a pleasantry or emoji, not something heard.
pub fn is_chitchat(text: &str) -> bool {
    // Drop Slack emoji codes (":thumbsup:") and everything but letters,
    // digits and spaces.
    let mut plain = String::new();
    let mut in_emoji = false;
    for part in text.split(':') {
        if !in_emoji || part.contains(char::is_whitespace) || part.is_empty() {
            plain.push_str(part);
            plain.push(' ');
        }
        in_emoji = !in_emoji;
    }
    let words: Vec<String> = plain
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    let phrase = words.join(" ");
    phrase.is_empty() || CHITCHAT.contains(&phrase.as_str())
}

/// The note's tone.
pub fn tone(text: &str) -> Sentiment {
    sentiment::sentiment(text)
}

/// Values to pre-fill a form with from a stored note, by block id.
pub fn prefill(cfg: &Config, form: &Form, ins: &Insight) -> FormValues {
    let mut v = FormValues::new();
    let mut text_used = false;
    let folded = !ins.answers.is_empty()
        && !ins.answers.iter().any(|a| {
            form.questions
                .iter()
                .any(|q| q.id == a.question_id && q.kind == QuestionKind::Text)
        });
    for q in &form.questions {
        let bid = block_id(q);
        match q.kind {
            QuestionKind::Text => {
                let answer = ins.answers.iter().find(|a| a.question_id == q.id);
                let text = match answer {
                    Some(a) => a.text.clone(),
                    // A note without answers (a reply, a command), or whose
                    // questions left the config, edits its text here.
                    None if !text_used && (ins.answers.is_empty() || folded) => ins.text.clone(),
                    None => continue,
                };
                text_used = true;
                v.insert(bid, vec![text]);
            }
            QuestionKind::Asset => {
                if let Some(a) = ins.field("asset").next() {
                    v.insert(bid.clone(), vec![a.to_string()]);
                    if ins.field(ASSET_WORKED).any(|x| x == a) {
                        v.insert(format!("{bid}{VERDICT_SUFFIX}"), vec![WORKED.into()]);
                    } else if ins.field(ASSET_FLOPPED).any(|x| x == a) {
                        v.insert(format!("{bid}{VERDICT_SUFFIX}"), vec![FLOPPED.into()]);
                    }
                    if let Some(ans) = ins.answers.iter().find(|x| x.question_id == q.id) {
                        // "Label: worked. why" -> "why"
                        let label = cfg.tag(a).map(|t| t.label.clone()).unwrap_or_default();
                        let why = asset_reason(&ans.text, &label);
                        if !why.is_empty() {
                            v.insert(format!("{bid}{WHY_SUFFIX}"), vec![why.to_string()]);
                        }
                    }
                }
            }
            QuestionKind::Initiative => {
                let id = q.id.strip_prefix("initiative:").unwrap_or(&q.id);
                let rating = ins
                    .field(INITIATIVE_RATING)
                    .filter_map(Rating::from_field_value)
                    .find(|(i, _)| *i == id);
                if let Some((_, r)) = rating {
                    v.insert(bid.clone(), vec![r.as_str().to_string()]);
                    if let Some(ans) = ins.answers.iter().find(|x| x.question_id == q.id) {
                        let name = cfg.initiative(id).map(|i| i.name.as_str()).unwrap_or(id);
                        let why = initiative_reason(&ans.text, name);
                        if !why.is_empty() {
                            v.insert(format!("{bid}{WHY_SUFFIX}"), vec![why.to_string()]);
                        }
                    }
                }
            }
            _ => {
                let vals: Vec<String> = ins.field(q.field_name()).map(String::from).collect();
                if !vals.is_empty() {
                    v.insert(bid, vals);
                }
            }
        }
    }
    let typed: Vec<String> = ins.fields.iter().map(|f| f.value.clone()).collect();
    let picked: Vec<String> = ins
        .tags
        .iter()
        .filter(|t| form.tags.contains(t) && !typed.contains(t))
        .cloned()
        .collect();
    if !picked.is_empty() {
        v.insert(TAGS_BLOCK.into(), picked);
    }
    v
}

#[cfg(test)]
mod tests;
