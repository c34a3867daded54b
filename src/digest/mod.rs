//! The weekly insight digest: a pure builder from stored rows to a [`Digest`]
//! model, and renderers (Markdown, JSON). No I/O here.

mod gather;
mod render;
pub mod trend;
mod week;

pub use gather::gather;
pub use render::{to_json, to_markdown};
pub use week::IsoWeek;

use crate::config::questions::{ASSET_FLOPPED, ASSET_WORKED, LEAD_QUALITY};
use crate::config::TagDef;
use crate::domain::{Insight, Sentiment};
use crate::store::WeekPromptStats;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Count of one tag in the week, with last week's for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagCount {
    pub tag: String,
    pub label: String,
    pub category: Option<String>,
    pub count: usize,
    /// How many of those the rep picked (the rest were auto-tagged).
    pub manual: usize,
    pub previous: usize,
}

impl TagCount {
    pub fn change(&self) -> i64 {
        self.count as i64 - self.previous as i64
    }
}

/// A note in the rep's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub insight_id: i64,
    pub user_id: String,
    pub text: String,
    pub tags: Vec<String>,
    pub created_at_ms: i64,
}

/// The week's digest model; every renderer reads this.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    pub week: String,
    pub timezone: String,
    pub starts: String,
    pub ends: String,
    pub prompts_sent: i64,
    pub prompts_answered: i64,
    pub prompts_failed: i64,
    /// Answered / sent, 0..=1; `None` when nothing was sent.
    pub response_rate: Option<f64>,
    pub insights: usize,
    pub insights_previous: usize,
    pub contributors: usize,
    pub by_source: BTreeMap<String, usize>,
    /// Every tag seen this week or last, most frequent first.
    pub tags: Vec<TagCount>,
    /// Tags that rose the most against last week.
    pub trending: Vec<TagCount>,
    pub quotes: Vec<Quote>,
    /// Marketing assets reps said worked or didn't, most mentioned first.
    pub assets: Vec<AssetVerdicts>,
    /// Lead quality ratings (1–5) this week and last.
    pub lead_quality: LeadQuality,
    /// Notes by tone this week.
    pub sentiment: SentimentSplit,
}

/// What reps said about one marketing asset this week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetVerdicts {
    pub tag: String,
    pub label: String,
    pub worked: usize,
    pub flopped: usize,
    /// Their reasons, in their words (at most three).
    pub reasons: Vec<String>,
}

/// Lead quality ratings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LeadQuality {
    pub ratings: usize,
    pub average: Option<f64>,
    pub previous_ratings: usize,
    pub previous_average: Option<f64>,
}

/// Notes by tone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SentimentSplit {
    pub positive: usize,
    pub neutral: usize,
    pub negative: usize,
}

/// Everything the builder needs; gathered by the caller from the store.
pub struct DigestInput<'a> {
    pub week: IsoWeek,
    pub timezone: chrono_tz::Tz,
    pub stats: WeekPromptStats,
    pub this_week: &'a [Insight],
    pub last_week: &'a [Insight],
    pub taxonomy: &'a [TagDef],
    pub max_quotes: usize,
}

/// Builds the digest model.
pub fn build(input: &DigestInput<'_>) -> Digest {
    let count = |insights: &[Insight]| {
        let mut m: HashMap<String, (usize, usize)> = HashMap::new();
        for i in insights {
            for t in i.all_tags() {
                let e = m.entry(t.clone()).or_default();
                e.0 += 1;
                if i.tags.contains(&t) {
                    e.1 += 1;
                }
            }
        }
        m
    };
    let now = count(input.this_week);
    let before = count(input.last_week);
    let names: BTreeSet<&String> = now.keys().chain(before.keys()).collect();
    let mut tags: Vec<TagCount> = names
        .into_iter()
        .map(|t| {
            let def = input.taxonomy.iter().find(|d| &d.id == t);
            let (count, manual) = now.get(t).copied().unwrap_or_default();
            TagCount {
                tag: t.clone(),
                label: def.map(|d| d.label.clone()).unwrap_or_else(|| t.clone()),
                category: def.and_then(|d| d.category.clone()),
                count,
                manual,
                previous: before.get(t).map(|c| c.0).unwrap_or(0),
            }
        })
        .collect();
    tags.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.change().cmp(&a.change()))
            .then(a.tag.cmp(&b.tag))
    });
    let mut trending: Vec<TagCount> = tags
        .iter()
        .filter(|t| t.change() > 0 && t.count >= 2)
        .cloned()
        .collect();
    trending.sort_by(|a, b| {
        b.change()
            .cmp(&a.change())
            .then(b.count.cmp(&a.count))
            .then(a.tag.cmp(&b.tag))
    });
    trending.truncate(5);

    let mut by_source = BTreeMap::new();
    for i in input.this_week {
        *by_source.entry(i.source.as_str().to_string()).or_insert(0) += 1;
    }
    let contributors = input
        .this_week
        .iter()
        .map(|i| &i.user_id)
        .collect::<BTreeSet<_>>()
        .len();
    let (starts, ends) = input.week.local_dates();
    Digest {
        week: input.week.to_string(),
        timezone: input.timezone.to_string(),
        starts: starts.to_string(),
        ends: ends.to_string(),
        prompts_sent: input.stats.sent,
        prompts_answered: input.stats.answered,
        prompts_failed: input.stats.failed,
        response_rate: (input.stats.sent > 0)
            .then(|| input.stats.answered as f64 / input.stats.sent as f64),
        insights: input.this_week.len(),
        insights_previous: input.last_week.len(),
        contributors,
        by_source,
        trending,
        quotes: pick_quotes(input.this_week, input.max_quotes),
        tags,
        assets: asset_verdicts(input.this_week, input.taxonomy),
        lead_quality: {
            let (previous_ratings, previous_average) = rating_stats(input.last_week);
            let (ratings, average) = rating_stats(input.this_week);
            LeadQuality {
                ratings,
                average,
                previous_ratings,
                previous_average,
            }
        },
        sentiment: {
            let mut s = SentimentSplit::default();
            for i in input.this_week {
                match i.sentiment {
                    Some(Sentiment::Positive) => s.positive += 1,
                    Some(Sentiment::Negative) => s.negative += 1,
                    Some(Sentiment::Neutral) => s.neutral += 1,
                    None => {}
                }
            }
            s
        },
    }
}

/// How many lead quality ratings, and their average.
fn rating_stats(insights: &[Insight]) -> (usize, Option<f64>) {
    let all: Vec<f64> = insights
        .iter()
        .flat_map(|i| i.field(LEAD_QUALITY))
        .filter_map(|v| v.parse::<f64>().ok())
        .collect();
    let avg = (!all.is_empty()).then(|| all.iter().sum::<f64>() / all.len() as f64);
    (all.len(), avg)
}

/// Assets reps said worked or didn't, with their reasons.
fn asset_verdicts(insights: &[Insight], taxonomy: &[TagDef]) -> Vec<AssetVerdicts> {
    let mut by: BTreeMap<String, AssetVerdicts> = BTreeMap::new();
    for i in insights {
        for (field, worked) in [(ASSET_WORKED, true), (ASSET_FLOPPED, false)] {
            for tag in i.field(field) {
                let label = taxonomy
                    .iter()
                    .find(|d| d.id == tag)
                    .map(|d| d.label.clone())
                    .unwrap_or_else(|| tag.to_string());
                let e = by.entry(tag.to_string()).or_insert_with(|| AssetVerdicts {
                    tag: tag.to_string(),
                    label: label.clone(),
                    worked: 0,
                    flopped: 0,
                    reasons: vec![],
                });
                if worked {
                    e.worked += 1;
                } else {
                    e.flopped += 1;
                }
                let why = i
                    .answers
                    .iter()
                    .map(|a| crate::capture::asset_reason(&a.text, &label))
                    .find(|w| !w.is_empty());
                if let Some(w) = why {
                    if e.reasons.len() < 3 {
                        e.reasons.push(format!(
                            "{} {}",
                            if worked { "Worked:" } else { "Didn't:" },
                            truncate(&crate::text::clean(w), 200)
                        ));
                    }
                }
            }
        }
    }
    let mut out: Vec<AssetVerdicts> = by.into_values().collect();
    out.sort_by(|a, b| {
        (b.worked + b.flopped)
            .cmp(&(a.worked + a.flopped))
            .then(a.tag.cmp(&b.tag))
    });
    out
}

/// Picks quotes worth a marketer's time: tagged, substantive notes, at most
/// one per rep until every rep has had a turn, newest first among equals.
fn pick_quotes(insights: &[Insight], max: usize) -> Vec<Quote> {
    let mut ranked: Vec<&Insight> = insights
        .iter()
        .filter(|i| i.text.trim().chars().count() >= 20)
        .collect();
    ranked.sort_by(|a, b| {
        let score = |i: &Insight| i.all_tags().len() * 40 + i.text.chars().count().min(240);
        score(b)
            .cmp(&score(a))
            .then(b.created_at_ms.cmp(&a.created_at_ms))
            .then(a.id.cmp(&b.id))
    });
    let mut out: Vec<Quote> = Vec::new();
    let mut used_users = BTreeSet::new();
    for pass in 0..2 {
        for i in &ranked {
            if out.len() >= max {
                break;
            }
            if out.iter().any(|q| q.insight_id == i.id)
                || (pass == 0 && used_users.contains(&i.user_id))
            {
                continue;
            }
            used_users.insert(i.user_id.clone());
            out.push(Quote {
                insight_id: i.id,
                user_id: i.user_id.clone(),
                text: truncate(crate::text::clean(i.text.trim()).trim(), 280),
                tags: i.all_tags(),
                created_at_ms: i.created_at_ms,
            });
        }
    }
    out
}

pub use crate::text::truncate;

#[cfg(test)]
mod tests;
