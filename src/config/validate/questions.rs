//! Questions: a check-in's pool (ids, labels, types, typed fields and
//! options, how many each run asks, at least one free-text question) and
//! `[capture] fields`, the free-note form.

use super::tags::Taxonomy;
use super::valid_slug;
use crate::config::error::SourceMap;
use crate::config::questions::{
    field_label, Question, QuestionKind, FIELD_KINDS, LEAD_QUALITY, MAX_ASKED, MAX_POOL,
    MAX_STATIC_OPTIONS,
};
use crate::config::raw::{RawCapture, RawQuestion};
use crate::config::{ConfigError, TagDef};
use std::collections::HashSet;
use toml::Spanned;

/// A check-in's question pool and how many of it each run asks. `k` makes
/// the check-in's keys (`checkin.NAME.FIELD`).
pub(super) fn pool(
    src: &SourceMap<'_>,
    name: &str,
    raw: &Spanned<Vec<RawQuestion>>,
    ask: &Option<Spanned<usize>>,
    taxonomy: &Taxonomy,
    k: &dyn Fn(&str) -> String,
    errs: &mut Vec<ConfigError>,
) -> (Vec<Question>, usize) {
    let mut qids = HashSet::new();
    let mut questions = Vec::new();
    if raw.get_ref().is_empty() {
        errs.push(src.error(
            raw.span(),
            k("questions"),
            "a check-in needs at least one question",
        ));
    }
    if raw.get_ref().len() > MAX_POOL {
        errs.push(src.error(
            raw.span(),
            k("questions"),
            format!("a question pool holds at most {MAX_POOL} questions"),
        ));
    }
    for q in raw.get_ref() {
        let qid = q.id.get_ref();
        let qk = format!("checkin.{name}.questions.{qid}");
        if !valid_slug(qid) || qid.contains(':') {
            errs.push(src.error(
                q.id.span(),
                format!("{qk}.id"),
                "question ids must be lowercase letters, digits, `-` or `_`",
            ));
        } else if qid == "note"
            || qid.starts_with("asset_")
            || (field_label(qid).is_some()
                && q.field.as_ref().map(|f| f.get_ref().as_str()) != Some(qid.as_str())
                && !(qid == "asset"
                    && q.kind.as_ref().map(|k| k.get_ref().as_str()) == Some("asset")))
        {
            errs.push(src.error(
                q.id.span(),
                format!("{qk}.id"),
                format!("`{qid}` is reserved for a typed field: give this question another id"),
            ));
        } else if !qids.insert(qid.clone()) {
            errs.push(src.error(
                q.id.span(),
                format!("{qk}.id"),
                format!("question `{qid}` appears twice"),
            ));
        }
        let len = q.label.get_ref().chars().count();
        if len == 0 || len > 2000 {
            errs.push(src.error(
                q.label.span(),
                format!("{qk}.label"),
                "a label must have 1 to 2000 characters (Slack's limit)",
            ));
        }
        for t in &q.tags {
            taxonomy.check_known(src, t, format!("{qk}.tags"), errs);
        }
        questions.push(question(src, q, &qk, &taxonomy.tags, errs));
    }
    let always = questions.iter().filter(|q| q.always).count();
    let asked = match ask {
        None => questions.len().min(MAX_ASKED),
        Some(a) => {
            let n = *a.get_ref();
            if n == 0 || n > MAX_ASKED || n > questions.len().max(1) {
                errs.push(src.error(
                    a.span(),
                    k("ask"),
                    format!(
                        "ask between 1 and {} questions (the pool has {})",
                        MAX_ASKED.min(questions.len().max(1)),
                        questions.len()
                    ),
                ));
            } else if n < always {
                errs.push(src.error(
                    a.span(),
                    k("ask"),
                    format!("{always} questions are marked `always`, so ask at least {always}"),
                ));
            }
            n
        }
    };
    if ask.is_none() && questions.len() > MAX_ASKED {
        errs.push(src.error(
            raw.span(),
            k("ask"),
            format!(
                "the pool has {} questions: set `ask` (at most {MAX_ASKED}) so a prompt stays short",
                questions.len(),
            ),
        ));
    }
    if !questions.iter().any(|q| q.kind == QuestionKind::Text) {
        errs.push(src.error(
            raw.span(),
            k("questions"),
            "add at least one free-text question, so reps can say it in their own words",
        ));
    }
    (questions, asked)
}

/// How many tags each typed field has.
fn vocabulary_size(tags: &[TagDef], kind: &str) -> usize {
    tags.iter()
        .filter(|t| t.category.as_deref() == Some(kind))
        .count()
}

/// Validates one question; `qk` is its key prefix for messages.
fn question(
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
            QuestionKind::Text | QuestionKind::Asset | QuestionKind::Initiative => errs.push(bad(
                format!("a {} question takes no `field`", kind.as_str()),
            )),
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
