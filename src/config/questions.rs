//! Question pools and typed fields: what a check-in (or a free note) asks,
//! in which Block Kit shape, and which typed field an answer fills.

use super::error::SourceMap;
use super::{ConfigError, TagDef};
use serde::Deserialize;
use std::collections::HashSet;
use toml::Spanned;

/// The typed fields marketing aggregates on, with their labels. Each one's
/// vocabulary is the `[[tag]]` entries whose `category` is the field's name;
/// `lead_quality` is a 1–5 rating and needs none.
pub const FIELD_KINDS: &[(&str, &str)] = &[
    ("competitor", "Competitor"),
    ("objection", "Objection"),
    ("funnel_stage", "Funnel stage"),
    ("persona", "Persona or title"),
    ("account", "Account or deal"),
    ("lead_source", "Lead source or campaign"),
    ("asset", "Marketing asset"),
    ("lead_quality", "Lead quality"),
];

/// The rating field (1–5, no vocabulary).
pub const LEAD_QUALITY: &str = "lead_quality";
/// Field names for an asset's verdict; the value is the asset's tag id.
pub const ASSET_WORKED: &str = "asset_worked";
pub const ASSET_FLOPPED: &str = "asset_flopped";

/// A select with more options than this becomes an external select served
/// on `block_suggestion` (Slack's limit for static selects is 100).
pub const MAX_STATIC_OPTIONS: usize = 100;
/// Most questions one prompt asks (each takes up to three blocks).
pub const MAX_ASKED: usize = 10;
/// Most questions a pool may hold.
pub const MAX_POOL: usize = 40;

pub fn field_label(kind: &str) -> Option<&'static str> {
    FIELD_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
}

/// The shape of a question in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionKind {
    /// Free text, multi-line unless `multiline = false`.
    Text,
    SingleSelect,
    MultiSelect,
    /// 1 (poor) to 5 (great).
    Rating,
    /// Which marketing asset, did it work or not, and why.
    Asset,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Text => "text",
            QuestionKind::SingleSelect => "single_select",
            QuestionKind::MultiSelect => "multi_select",
            QuestionKind::Rating => "rating",
            QuestionKind::Asset => "asset",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    pub multiline: bool,
    /// Tags implied by answering this question (applied as automatic tags).
    pub tags: Vec<String>,
    pub kind: QuestionKind,
    /// The typed field a select or rating fills (`competitor`, ...).
    pub field: Option<String>,
    /// A select's own options, when it has no typed field.
    pub options: Vec<String>,
    /// Asked every time, outside the k-of-n rotation.
    pub always: bool,
}

impl Question {
    /// A plain free-text question.
    pub fn text(id: &str, label: &str, required: bool) -> Self {
        Question {
            id: id.into(),
            label: label.into(),
            hint: None,
            required,
            multiline: true,
            tags: vec![],
            kind: QuestionKind::Text,
            field: None,
            options: vec![],
            always: false,
        }
    }

    /// Where the answer is stored: the typed field, else the question id.
    pub fn field_name(&self) -> &str {
        match self.kind {
            QuestionKind::Asset => "asset",
            _ => self.field.as_deref().unwrap_or(&self.id),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuestion {
    pub id: Spanned<String>,
    pub label: Spanned<String>,
    #[serde(default)]
    pub hint: Option<String>,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default = "yes")]
    pub multiline: bool,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    #[serde(default, rename = "type")]
    pub kind: Option<Spanned<String>>,
    #[serde(default)]
    pub field: Option<Spanned<String>>,
    #[serde(default)]
    pub options: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub always: bool,
}

fn yes() -> bool {
    true
}

/// The `[capture]` table: what the free-note form (a `/fieldnotes note`
/// without text, a shortcut, "Add tags", edits) asks besides the text.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapture {
    #[serde(default)]
    pub fields: Option<Spanned<Vec<Spanned<String>>>>,
}

/// How many tags each typed field has.
pub(super) fn vocabulary_size(tags: &[TagDef], kind: &str) -> usize {
    tags.iter()
        .filter(|t| t.category.as_deref() == Some(kind))
        .count()
}

/// Validates one question; `qk` is its key prefix for messages.
pub(super) fn validate_question(
    src: &SourceMap<'_>,
    q: &RawQuestion,
    qk: &str,
    tags: &[TagDef],
    errs: &mut Vec<ConfigError>,
) -> Question {
    let kind = match q.kind.as_ref().map(|k| (k, k.get_ref().as_str())) {
        None | Some((_, "text")) => QuestionKind::Text,
        Some((_, "single_select")) => QuestionKind::SingleSelect,
        Some((_, "multi_select")) => QuestionKind::MultiSelect,
        Some((_, "rating")) => QuestionKind::Rating,
        Some((_, "asset")) => QuestionKind::Asset,
        Some((k, other)) => {
            errs.push(src.error(
                k.span(),
                format!("{qk}.type"),
                format!("`{other}` is not one of \"text\", \"single_select\", \"multi_select\", \"rating\", \"asset\""),
            ));
            QuestionKind::Text
        }
    };
    let field = q.field.as_ref().map(|f| f.get_ref().clone());
    if let Some(f) = &q.field {
        let name = f.get_ref();
        let bad = |m: String| src.error(f.span(), format!("{qk}.field"), m);
        match kind {
            QuestionKind::Text | QuestionKind::Asset => errs.push(bad(format!(
                "a {} question takes no `field`",
                kind.as_str()
            ))),
            QuestionKind::Rating if name != LEAD_QUALITY => errs.push(bad(format!(
                "a rating fills `{LEAD_QUALITY}` or, without `field`, its own question id"
            ))),
            QuestionKind::SingleSelect | QuestionKind::MultiSelect => {
                if field_label(name).is_none() || name == LEAD_QUALITY {
                    let kinds: Vec<&str> = FIELD_KINDS
                        .iter()
                        .map(|(k, _)| *k)
                        .filter(|k| *k != LEAD_QUALITY)
                        .collect();
                    errs.push(bad(format!(
                        "unknown field `{name}`: use one of {}",
                        kinds.join(", ")
                    )));
                } else if vocabulary_size(tags, name) == 0 {
                    errs.push(bad(format!(
                        "field `{name}` has no vocabulary: add [[tag]] entries with category = \"{name}\""
                    )));
                }
            }
            QuestionKind::Rating => {}
        }
    }
    let mut options = Vec::new();
    if let Some(o) = &q.options {
        let bad = |m: &str| src.error(o.span(), format!("{qk}.options"), m);
        if !matches!(kind, QuestionKind::SingleSelect | QuestionKind::MultiSelect) {
            errs.push(bad(
                "only single_select and multi_select questions take `options`",
            ));
        } else if q.field.is_some() {
            errs.push(bad(
                "set either `field` (a typed vocabulary) or `options`, not both",
            ));
        }
        let list = o.get_ref();
        if list.is_empty() || list.len() > MAX_STATIC_OPTIONS {
            errs.push(bad("list 1 to 100 options (Slack's limit for a select)"));
        }
        let mut seen = HashSet::new();
        for opt in list {
            let n = opt.trim().chars().count();
            if n == 0 || n > 75 {
                errs.push(bad("each option needs 1 to 75 characters (Slack's limit)"));
            } else if !seen.insert(opt.trim().to_lowercase()) {
                errs.push(bad(&format!("option `{opt}` appears twice")));
            }
            options.push(opt.trim().to_string());
        }
    }
    if matches!(kind, QuestionKind::SingleSelect | QuestionKind::MultiSelect)
        && q.field.is_none()
        && q.options.is_none()
    {
        errs.push(src.error(
            q.id.span(),
            format!("{qk}.options"),
            "a select needs `options = [...]` or a typed `field` such as \"competitor\"",
        ));
    }
    if kind == QuestionKind::Asset && vocabulary_size(tags, "asset") == 0 {
        errs.push(src.error(
            q.id.span(),
            format!("{qk}.type"),
            "an asset question needs [[tag]] entries with category = \"asset\"",
        ));
    }
    Question {
        id: q.id.get_ref().clone(),
        label: q.label.get_ref().clone(),
        hint: q.hint.clone(),
        required: q.required,
        multiline: q.multiline,
        tags: q.tags.iter().map(|t| t.get_ref().clone()).collect(),
        kind,
        field,
        options,
        always: q.always,
    }
}

/// The free-note form's questions: the text, then one input per typed field.
pub(super) fn note_questions(
    src: &SourceMap<'_>,
    raw: &RawCapture,
    tags: &[TagDef],
    errs: &mut Vec<ConfigError>,
) -> Vec<Question> {
    let kinds: Vec<String> = match &raw.fields {
        Some(list) => {
            let mut out = Vec::new();
            for f in list.get_ref() {
                let name = f.get_ref();
                if field_label(name).is_none() {
                    let all: Vec<&str> = FIELD_KINDS.iter().map(|(k, _)| *k).collect();
                    errs.push(src.error(
                        f.span(),
                        "capture.fields",
                        format!("unknown field `{name}`: use one of {}", all.join(", ")),
                    ));
                } else if name != LEAD_QUALITY && vocabulary_size(tags, name) == 0 {
                    errs.push(src.error(
                        f.span(),
                        "capture.fields",
                        format!("field `{name}` has no vocabulary: add [[tag]] entries with category = \"{name}\""),
                    ));
                } else {
                    out.push(name.clone());
                }
            }
            out
        }
        None => FIELD_KINDS
            .iter()
            .map(|(k, _)| k.to_string())
            .filter(|k| k == LEAD_QUALITY || vocabulary_size(tags, k) > 0)
            .collect(),
    };
    let mut qs = vec![Question::text("note", "What did you hear?", true)];
    for k in kinds {
        let label = field_label(&k).unwrap_or("Field");
        let mut q = Question::text(&k, label, false);
        match k.as_str() {
            LEAD_QUALITY => {
                q.kind = QuestionKind::Rating;
                q.field = Some(k.clone());
                q.label = "Lead quality (1 poor, 5 great)".into();
            }
            "asset" => q.kind = QuestionKind::Asset,
            "funnel_stage" | "account" | "lead_source" => {
                q.kind = QuestionKind::SingleSelect;
                q.field = Some(k.clone());
            }
            _ => {
                q.kind = QuestionKind::MultiSelect;
                q.field = Some(k.clone());
            }
        }
        qs.push(q);
    }
    qs
}

/// Picks which questions a run asks: every `always` question, then the
/// rest in turn, `ask` in all, so over successive runs each question comes
/// round equally often. `run_seq` counts the check-in's earlier runs.
pub fn rotate(questions: &[Question], ask: usize, run_seq: u64) -> Vec<String> {
    // Every prompt asks for the rep's own words: without an `always` text
    // question, the first text question is asked every time.
    let text_fixed = questions
        .iter()
        .any(|q| q.always && q.kind == QuestionKind::Text);
    let first_text = questions
        .iter()
        .find(|q| q.kind == QuestionKind::Text)
        .map(|q| q.id.as_str());
    let is_fixed = |q: &Question| q.always || (!text_fixed && Some(q.id.as_str()) == first_text);
    let fixed: Vec<&Question> = questions.iter().filter(|q| is_fixed(q)).collect();
    let pool: Vec<&Question> = questions.iter().filter(|q| !is_fixed(q)).collect();
    let slots = ask.saturating_sub(fixed.len()).min(pool.len());
    let mut chosen: HashSet<&str> = fixed.iter().map(|q| q.id.as_str()).collect();
    if slots > 0 {
        let start = (run_seq as usize).wrapping_mul(slots) % pool.len();
        for i in 0..slots {
            chosen.insert(pool[(start + i) % pool.len()].id.as_str());
        }
    }
    // Keep the config's order in the form.
    questions
        .iter()
        .filter(|q| chosen.contains(q.id.as_str()))
        .map(|q| q.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pool(n: usize, always: usize) -> Vec<Question> {
        (0..n)
            .map(|i| {
                let mut q = Question::text(&format!("q{i}"), "Q", false);
                q.always = i < always;
                q
            })
            .collect()
    }

    #[test]
    fn rotation_is_fair_and_keeps_always_questions() {
        let qs = pool(7, 1);
        let mut seen: HashMap<String, usize> = HashMap::new();
        // 6 rotating questions, 2 slots a run: each comes round every 3 runs.
        for run in 0..30 {
            let ids = rotate(&qs, 3, run);
            assert_eq!(ids.len(), 3);
            assert_eq!(
                ids[0], "q0",
                "the always question is asked every run, first"
            );
            for id in ids {
                *seen.entry(id).or_default() += 1;
            }
        }
        assert_eq!(seen["q0"], 30);
        for i in 1..7 {
            assert_eq!(
                seen[&format!("q{i}")],
                10,
                "q{i} comes round as often as the rest"
            );
        }
    }

    #[test]
    fn uneven_pools_still_cover_every_question() {
        let mut qs = pool(6, 0);
        for q in qs.iter_mut().skip(1) {
            q.kind = QuestionKind::Rating;
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        // q0, the only text question, is asked every time; 5 others share 2 slots.
        for run in 0..10 {
            for id in rotate(&qs, 3, run) {
                *seen.entry(id).or_default() += 1;
            }
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen.remove("q0"), Some(10));
        assert!(seen.values().all(|&n| n == 4), "{seen:?}");
    }

    #[test]
    fn asking_more_than_the_pool_asks_everything() {
        let qs = pool(3, 0);
        assert_eq!(rotate(&qs, 10, 5), vec!["q0", "q1", "q2"]);
    }
}
