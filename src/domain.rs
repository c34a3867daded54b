//! Plain types shared by the core and the adapters. No I/O here.

use serde::{Deserialize, Serialize};

/// Where an insight came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The modal opened from a scheduled (or one-off) check-in prompt.
    #[default]
    Checkin,
    /// A plain reply to the prompt in the DM.
    Reply,
    /// `/fieldnotes note ...`.
    Command,
    /// The "Save as field insight" message shortcut.
    Shortcut,
    /// The "New field note" global shortcut.
    GlobalShortcut,
    /// App Home's "New field note" button.
    Home,
    /// A rep's answer to a marketer's follow-up question or action (in
    /// the relay DM's thread, or its form).
    FollowUp,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Checkin => "checkin",
            Source::Reply => "reply",
            Source::Command => "command",
            Source::Shortcut => "shortcut",
            Source::GlobalShortcut => "global_shortcut",
            Source::Home => "home",
            Source::FollowUp => "follow_up",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "checkin" => Source::Checkin,
            "reply" => Source::Reply,
            "command" => Source::Command,
            "shortcut" => Source::Shortcut,
            "global_shortcut" => Source::GlobalShortcut,
            "home" => Source::Home,
            "follow_up" => Source::FollowUp,
            _ => return None,
        })
    }
}

/// One answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub question_id: String,
    pub question: String,
    pub text: String,
}

/// One typed value of an insight: `competitor = competitor:acme`,
/// `lead_quality = 4`, `asset_worked = asset:case-study`, or a check-in's own
/// select question (`field` = the question id, `value` = the option).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FieldValue {
    pub field: String,
    pub value: String,
}

impl FieldValue {
    pub fn new(field: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            value: value.into(),
        }
    }
}

/// Overall tone of a note, from a lexicon-based scorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    Positive,
    Neutral,
    Negative,
}

impl Sentiment {
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Neutral => "neutral",
            Sentiment::Negative => "negative",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "positive" => Sentiment::Positive,
            "neutral" => Sentiment::Neutral,
            "negative" => Sentiment::Negative,
            _ => return None,
        })
    }
}

/// The Slack message a note was saved from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceMessage {
    pub channel_id: String,
    pub ts: String,
    /// Who wrote it (the rep for a DM reply; anyone for a shortcut).
    pub author_id: Option<String>,
    pub permalink: Option<String>,
}

/// A new insight, before it has an id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewInsight {
    pub user_id: String,
    pub source: Source,
    pub prompt_id: Option<i64>,
    pub checkin: Option<String>,
    pub answers: Vec<Answer>,
    /// Free text (for sources without questions); answers are joined otherwise.
    pub text: String,
    /// Tags the rep picked.
    pub tags: Vec<String>,
    /// Tags the keyword tagger (and question defaults) applied.
    pub auto_tags: Vec<String>,
    /// Typed values (competitor, objection, stage, rating, ...).
    pub fields: Vec<FieldValue>,
    pub sentiment: Option<Sentiment>,
    pub message: Option<SourceMessage>,
    pub created_at_ms: i64,
    /// Idempotency key, e.g. the Slack view id or event id, so a retried
    /// delivery never creates a second insight.
    pub dedupe_key: Option<String>,
    /// A follow-up: the note it answers and the loop action that asked.
    /// It answers no check-in prompt.
    pub follow_up: Option<(i64, i64)>,
}

/// A stored insight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insight {
    pub id: i64,
    pub user_id: String,
    pub source: Source,
    pub prompt_id: Option<i64>,
    pub checkin: Option<String>,
    pub answers: Vec<Answer>,
    pub text: String,
    pub tags: Vec<String>,
    pub auto_tags: Vec<String>,
    #[serde(default)]
    pub fields: Vec<FieldValue>,
    #[serde(default)]
    pub sentiment: Option<Sentiment>,
    #[serde(default)]
    pub message: Option<SourceMessage>,
    pub created_at_ms: i64,
    /// When the rep last edited it.
    #[serde(default)]
    pub edited_at_ms: Option<i64>,
}

impl Insight {
    /// The values of one typed field.
    pub fn field(&self, name: &str) -> impl Iterator<Item = &str> {
        let name = name.to_string();
        self.fields
            .iter()
            .filter(move |f| f.field == name)
            .map(|f| f.value.as_str())
    }

    /// Manual and auto tags together, deduplicated, in a stable order.
    pub fn all_tags(&self) -> Vec<String> {
        let mut all: Vec<String> = self.tags.iter().chain(&self.auto_tags).cloned().collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Joins answers into one readable text block.
pub fn answers_text(answers: &[Answer]) -> String {
    answers
        .iter()
        .filter(|a| !a.text.trim().is_empty())
        .map(|a| a.text.trim().to_string())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A stored prompt as the handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub id: i64,
    pub checkin: String,
    pub user_id: String,
    pub occurrence: String,
    pub status: String,
    pub channel_id: Option<String>,
    pub message_ts: Option<String>,
    pub answered: bool,
    pub question: String,
    /// Its answer window has closed.
    pub closed: bool,
    /// The question ids its run asks (k of the pool); `None` for all.
    pub questions: Option<Vec<String>>,
}

/// A check-in run waiting to be fanned out to its audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRun {
    pub id: i64,
    pub checkin: String,
    pub occurrence: String,
    pub question: Option<String>,
    /// `schedule` or `manual` (a one-off run or `/fieldnotes ask`).
    pub source: String,
    pub scheduled_at_ms: i64,
    pub created_at_ms: i64,
}

/// A cached Slack profile (the people directory's row). Lives here, not in
/// the store, because planning reads it without the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub user_id: String,
    pub name: String,
    pub tz: Option<String>,
    pub is_bot: bool,
    pub deleted: bool,
    pub dm_channel: Option<String>,
    pub fetched_at_ms: i64,
}

/// One person's planned prompt for a run: what pure planning
/// (`plan`) produces and the store enqueues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPrompt {
    pub user_id: String,
    pub due_at_ms: i64,
    pub closes_at_ms: i64,
    /// `Some(reason)`: recorded as skipped (paused, day off, missed), never sent.
    pub skip: Option<String>,
    /// When reminders are due (only those inside the window).
    pub reminders_ms: Vec<i64>,
    /// Human wall-clock time in the person's zone, for status and preview.
    pub local_due: String,
}
