//! The digest model: what one digest says about one period. Built by
//! `digest::build` from stored aggregates, read by every renderer (Block
//! Kit, Markdown, HTML, JSON, CSV, the PNG chart). Serialised as it is for
//! `--format json`; `docs/digest.schema.json` describes it and the tests
//! validate against that file.

pub use crate::config::{Attribution, SectionKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// One digest of one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    /// The `[[digest]]` entry's name.
    pub name: String,
    /// Its title ("Weekly field digest").
    pub title: String,
    pub period: PeriodInfo,
    /// `named` or `anonymous`: whether quotes say who said them.
    pub attribution: Attribution,
    /// Whether emails and phone numbers were masked in quotes.
    pub redacted: bool,
    /// The sections this digest shows, in order.
    pub sections: Vec<SectionKind>,
    pub participation: Participation,
    /// What marketing did in the period with what reps shared, oldest
    /// first: the loop closed (issue 13).
    pub you_said_we_did: Vec<LoopClosure>,
    /// The initiatives running in the period (or ended in it) among this
    /// digest's check-ins: their debrief so far.
    pub initiatives: Vec<crate::digest::debrief::Debrief>,
    /// Rising, new and falling items, in that order, strongest first.
    pub trends: Vec<TrendItem>,
    pub competitors: Vec<Mention>,
    pub objections: Vec<Mention>,
    /// Where the period's notes come from in the funnel, and what stalls
    /// there.
    pub funnel: Vec<StageFriction>,
    pub assets: Vec<AssetRollup>,
    pub lead_quality: Vec<LeadSourceQuality>,
    /// Buying committee and persona notes.
    pub committee: Vec<Mention>,
    pub ideas: Vec<Quote>,
    pub market_shifts: Vec<Quote>,
    /// Quotes chosen for diversity (maximal marginal relevance).
    pub quotes: Vec<Quote>,
    /// The notes every figure and quote points at: id → where to read it.
    pub notes: BTreeMap<i64, NoteRef>,
}

impl Digest {
    /// Whether the period had no notes at all: nothing is posted then.
    pub fn is_empty(&self) -> bool {
        self.participation.notes.now == 0.0
    }
}

/// The period a digest covers, in the digest's timezone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodInfo {
    /// `2026-W48`, `2026-11`, or `2026-11-16+14d`.
    pub key: String,
    /// `week`, `month` or `days`.
    pub kind: String,
    /// Human label: "week 48, 23–29 Nov 2026".
    pub label: String,
    /// First local date.
    pub starts: String,
    /// Last local date (inclusive).
    pub ends: String,
    pub timezone: String,
    /// How many earlier periods the trends compare against.
    pub baseline_periods: u32,
    /// The unit a rate is given in: `wk`, `mo` or `period`.
    pub unit: String,
}

/// A figure this period and the period before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Figure {
    pub now: f64,
    pub previous: f64,
    /// now − previous.
    pub change: f64,
}

impl Figure {
    pub fn new(now: f64, previous: f64) -> Figure {
        Figure {
            now,
            previous,
            change: now - previous,
        }
    }
}

/// Prompts, answers and notes, each with last period's figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Participation {
    pub prompts_sent: Figure,
    pub prompts_answered: Figure,
    /// Answered ÷ sent, 0..=1; `None` when nothing was sent.
    pub response_rate: Option<f64>,
    pub previous_response_rate: Option<f64>,
    /// Reps who shared at least one note.
    pub reps_sharing: Figure,
    pub notes: Figure,
    /// Notes by capture path (form, reply, command, shortcut).
    pub by_source: BTreeMap<String, u64>,
    /// Notes and reps sharing in each period, oldest first, this one last
    /// (the participation chart).
    pub history: Vec<PeriodPoint>,
    pub evidence: Evidence,
    /// Reps who shared last period, split by whether marketing got back
    /// to them then, and how many of each shared again this period.
    pub heard_back: HeardBack,
}

/// Participation against loop closures: of the reps who shared last
/// period, those marketing acted on, thanked or asked (heard back) and
/// those it didn't, with how many of each shared again this period
/// (follow-up answers don't count as sharing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HeardBack {
    pub heard_back: u64,
    pub heard_back_shared: u64,
    pub not_heard: u64,
    pub not_heard_shared: u64,
}

/// One thing marketing did with a note: "You said, we did".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoopClosure {
    /// `acting`, `thanks` or `ask`.
    pub kind: String,
    /// The marketer's display name.
    pub marketer: String,
    /// What marketing said it will do, or asked (masked like quotes).
    pub text: String,
    /// Local date of the action.
    pub date: String,
    /// The note it answers, as a quote (anonymous as the digest is).
    pub note: Quote,
    /// The rep's answers to it so far.
    pub follow_ups: u64,
}

/// One period on a chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodPoint {
    /// Period key.
    pub period: String,
    /// Short label for an axis ("W48", "Nov").
    pub label: String,
    pub notes: u64,
    pub reps: u64,
}

/// The notes behind a figure: the first ids (newest first) and how many
/// there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub count: u64,
    pub note_ids: Vec<i64>,
}

impl Evidence {
    /// How many ids an item carries at most; the rest are counted.
    pub const MAX_IDS: usize = 25;
}

/// Where a note can be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRef {
    /// The Slack permalink of the message the note was saved from, or of
    /// its confirmation, when there is one.
    pub permalink: Option<String>,
    /// Local date it was shared.
    pub date: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    New,
    Rising,
    Falling,
}

/// A tag or typed-field value whose rate changed, by the test in
/// `digest::trend`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendItem {
    /// `tag:objection:price` or `field:asset_flopped=asset:webinar`.
    pub key: String,
    pub label: String,
    pub direction: Direction,
    /// x₁: mentions this period.
    pub mentions: u64,
    pub reps: u64,
    /// x₀: mentions over the baseline periods.
    pub baseline_mentions: u64,
    /// x₀ per baseline period.
    pub baseline_avg: f64,
    /// Rate ratio per note; None on a zero baseline.
    pub ratio: Option<f64>,
    pub p: Option<f64>,
    /// Benjamini–Hochberg adjusted p-value.
    pub q: Option<f64>,
    /// "5 mentions (avg 1.0/wk), 4 reps".
    pub summary: String,
    /// Mentions per period, oldest first, this one last (its chart).
    pub history: Vec<u64>,
    pub evidence: Evidence,
}

/// A competitor, objection or persona: how often, by whom, where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mention {
    pub tag: String,
    pub label: String,
    pub mentions: u64,
    pub previous: u64,
    pub reps: u64,
    /// Distinct accounts named in those notes.
    pub accounts: u64,
    pub best_quote: Option<Quote>,
    pub evidence: Evidence,
}

/// Notes from one funnel stage, and what stalls there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageFriction {
    pub stage: String,
    pub label: String,
    pub notes: u64,
    pub reps: u64,
    /// Objections raised in notes at this stage, most first.
    pub stalls: Vec<Count>,
    pub evidence: Evidence,
}

/// A label and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub key: String,
    pub label: String,
    pub count: u64,
}

/// One marketing asset, rolled up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetRollup {
    pub asset: String,
    pub label: String,
    pub worked: u64,
    pub flopped: u64,
    /// Used without a verdict.
    pub used: u64,
    /// The reps' reasons, in their words, each with its note.
    pub reasons: Vec<Reason>,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub worked: bool,
    pub text: String,
    pub note_id: i64,
}

/// Lead quality (1–5) for one lead source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadSourceQuality {
    /// The lead source's tag, or `(none)` for ratings with no source.
    pub source: String,
    pub label: String,
    pub ratings: u64,
    pub average: f64,
    pub previous_ratings: u64,
    pub previous_average: Option<f64>,
    /// average − previous average.
    pub trend: Option<f64>,
    pub evidence: Evidence,
}

/// A note in the rep's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub note_id: i64,
    /// The rep's display name; `None` in an anonymous digest.
    pub rep: Option<String>,
    pub text: String,
    pub tags: Vec<String>,
    pub account: Option<String>,
    pub permalink: Option<String>,
    pub date: String,
}
