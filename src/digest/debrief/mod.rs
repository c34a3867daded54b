//! Initiative debriefs (issue 13): how reps rated a campaign, asset or
//! experiment, week by week, with a Wilson score interval on the share
//! that said it worked, so one bad week shows as a wide interval and not a
//! verdict; a verdict only once `[initiatives] min_ratings` ratings are in
//! and the interval clears 50%; quotes for and against; the reps' ideas.
//!
//! `build` is pure (ratings and notes in, [`Debrief`] out); `gather` reads
//! the store. `render` turns a debrief into Markdown, HTML, JSON and Slack
//! blocks, for `fieldnotes initiative report`, the digest and the final
//! debrief post.

pub mod render;

use crate::config::initiative::{Initiative, Rating};
use crate::config::{Attribution, Config, TagDef};
use crate::digest::redact::{self, Redaction};
use crate::domain::{Insight, Sentiment};
use crate::store::Store;
use crate::tz::Tz;
use anyhow::Result;
use chrono::{Datelike, NaiveDate, TimeZone};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// z for a 95% interval.
const Z: f64 = 1.96;
/// Quotes for, against, and ideas shown, at most each.
pub const MAX_QUOTES: usize = 5;
/// Linked notes read, newest first.
const MAX_LINKED: i64 = 2000;

/// The Wilson score interval for `k` successes in `n` trials, at 95%:
/// `None` with no trials.
pub fn wilson(k: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = Z * Z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Ratings counted over some span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Tally {
    pub worked: u64,
    pub didnt: u64,
    pub not_used: u64,
    /// Share of worked among worked and didn't (those who used it).
    pub share_worked: Option<f64>,
    /// The 95% Wilson interval on that share.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Tally {
    fn add(&mut self, r: Rating) {
        match r {
            Rating::Worked => self.worked += 1,
            Rating::Didnt => self.didnt += 1,
            Rating::NotUsed => self.not_used += 1,
        }
    }

    fn finish(mut self) -> Tally {
        let used = self.used();
        self.share_worked = (used > 0).then(|| self.worked as f64 / used as f64);
        if let Some((l, h)) = wilson(self.worked, used) {
            self.low = Some(l);
            self.high = Some(h);
        }
        self
    }

    /// Ratings from reps who used it (worked or didn't).
    pub fn used(&self) -> u64 {
        self.worked + self.didnt
    }

    pub fn all(&self) -> u64 {
        self.used() + self.not_used
    }
}

/// One week's ratings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodTally {
    /// ISO week, `2026-W49`.
    pub key: String,
    /// Its Monday.
    pub starts: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// Fewer ratings than the threshold.
    TooEarly,
    Worked,
    DidntWork,
    /// Enough ratings, but the interval spans 50%.
    Mixed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    /// One sentence a marketer reads.
    pub text: String,
}

/// A note quoted in a debrief.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DebriefQuote {
    pub note_id: i64,
    /// The rep's name; `None` when anonymous.
    pub rep: Option<String>,
    pub text: String,
    /// The rep's rating, when the note rated it.
    pub rating: Option<&'static str>,
    pub date: String,
    pub permalink: Option<String>,
}

/// An initiative's debrief.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Debrief {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub start: String,
    pub end: Option<String>,
    /// upcoming | active | ended
    pub status: &'static str,
    pub checkins: Vec<String>,
    pub min_ratings: u32,
    pub total: Tally,
    pub periods: Vec<PeriodTally>,
    pub verdict: Verdict,
    /// Reps who rated it.
    pub raters: u64,
    /// Notes linked to it (rated it, picked its tag, or mentioned it).
    pub linked_notes: u64,
    pub quotes_for: Vec<DebriefQuote>,
    pub quotes_against: Vec<DebriefQuote>,
    pub ideas: Vec<DebriefQuote>,
    pub attribution: Attribution,
}

/// What `build` needs besides the notes.
pub struct Frame<'a> {
    pub tz: Tz,
    pub today: NaiveDate,
    pub min_ratings: u32,
    pub attribution: Attribution,
    pub redact: bool,
    pub names: &'a HashMap<String, String>,
    pub tags: &'a [TagDef],
}

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

fn verdict(total: &Tally, min: u32) -> Verdict {
    let used = total.used();
    if used < u64::from(min) {
        return Verdict {
            kind: VerdictKind::TooEarly,
            text: format!(
                "Too early for a verdict: {used} of the {min} ratings it needs from reps who used it."
            ),
        };
    }
    let (l, h) = (total.low.unwrap_or(0.0), total.high.unwrap_or(1.0));
    let share = total.share_worked.unwrap_or(0.0);
    let range = format!("{} worked (95% interval {}–{})", pct(share), pct(l), pct(h));
    if l > 0.5 {
        Verdict {
            kind: VerdictKind::Worked,
            text: format!("It worked: {range}, over {used} ratings."),
        }
    } else if h < 0.5 {
        Verdict {
            kind: VerdictKind::DidntWork,
            text: format!("It didn't work: {range}, over {used} ratings."),
        }
    } else {
        Verdict {
            kind: VerdictKind::Mixed,
            text: format!("Mixed: {range}, over {used} ratings; the interval spans 50%."),
        }
    }
}

/// The rating a note gave `id`.
fn rating_of(n: &Insight, id: &str) -> Option<Rating> {
    n.field(crate::config::initiative::INITIATIVE_RATING)
        .filter_map(Rating::from_field_value)
        .find(|(i, _)| *i == id)
        .map(|(_, r)| r)
}

/// What a rating note says: the rep's reason, else the note's text.
fn said(n: &Insight, i: &Initiative) -> String {
    let qid = i.question_id();
    match n.answers.iter().find(|a| a.question_id == qid) {
        Some(a) => {
            let why = crate::capture::initiative_reason(&a.text, &i.name);
            if why.is_empty() {
                // Only the rating: the rest of the note, if any, says more.
                let rest: Vec<&str> = n
                    .answers
                    .iter()
                    .filter(|x| x.question_id != qid)
                    .map(|x| x.text.as_str())
                    .collect();
                rest.join(" ")
            } else {
                why.to_string()
            }
        }
        None => n.text.clone(),
    }
}

/// Builds the debrief of `i` from the notes that rate it (`rated`) and
/// the notes linked to it (`linked`, which may overlap).
pub fn build(i: &Initiative, rated: &[Insight], linked: &[Insight], f: &Frame<'_>) -> Debrief {
    let quote = |n: &Insight, text: &str, rating: Option<Rating>| -> DebriefQuote {
        let anonymous = f.attribution == Attribution::Anonymous;
        let text = crate::text::clean(text.trim()).into_owned();
        let text = redact::mentions(&text, |id| match f.names.get(id).filter(|_| !anonymous) {
            Some(n) => format!("@{n}"),
            None => "a colleague".into(),
        });
        let redaction = if f.redact {
            Redaction::On
        } else {
            Redaction::Off
        };
        let text = redaction.apply(&text).into_owned();
        DebriefQuote {
            note_id: n.id,
            rep: (!anonymous).then(|| {
                f.names
                    .get(&n.user_id)
                    .cloned()
                    .unwrap_or_else(|| format!("rep {}", n.user_id))
            }),
            text: crate::text::truncate(text.trim(), 280),
            rating: rating.map(|r| r.as_str()),
            date: day_of(n.created_at_ms, f.tz).to_string(),
            permalink: n.message.as_ref().and_then(|m| m.permalink.clone()),
        }
    };
    let mut total = Tally::default();
    let mut weeks: BTreeMap<NaiveDate, Tally> = BTreeMap::new();
    let mut raters = BTreeSet::new();
    let mut ratings: Vec<(&Insight, Rating)> = Vec::new();
    for n in rated {
        let Some(r) = rating_of(n, &i.id) else {
            continue;
        };
        total.add(r);
        weeks
            .entry(monday(day_of(n.created_at_ms, f.tz)))
            .or_default()
            .add(r);
        raters.insert(n.user_id.as_str());
        ratings.push((n, r));
    }
    // Every week it ran (up to today), rated or not: a gap is information.
    let last = i.end.unwrap_or(f.today).min(f.today);
    let mut w = monday(i.start);
    while w <= monday(last) && weeks.len() < 520 {
        weeks.entry(w).or_default();
        w += chrono::Duration::days(7);
    }
    let periods = weeks
        .into_iter()
        .map(|(d, t)| {
            let iso = d.iso_week();
            PeriodTally {
                key: format!("{}-W{:02}", iso.year(), iso.week()),
                starts: d.to_string(),
                tally: t.finish(),
            }
        })
        .collect();
    let total = total.finish();

    // Quotes: the reps' reasons first (newest first), then linked notes
    // by their tone.
    let mut quotes_for = Vec::new();
    let mut quotes_against = Vec::new();
    let mut used: BTreeSet<i64> = BTreeSet::new();
    for (n, r) in ratings.iter().rev() {
        let text = said(n, i);
        if text.trim().is_empty() {
            continue;
        }
        let list = match r {
            Rating::Worked => &mut quotes_for,
            Rating::Didnt => &mut quotes_against,
            Rating::NotUsed => continue,
        };
        if list.len() < MAX_QUOTES {
            list.push(quote(n, &text, Some(*r)));
            used.insert(n.id);
        }
    }
    for n in linked {
        if used.contains(&n.id) || rating_of(n, &i.id).is_some() {
            continue;
        }
        let list = match n.sentiment {
            Some(Sentiment::Positive) => &mut quotes_for,
            Some(Sentiment::Negative) => &mut quotes_against,
            _ => continue,
        };
        if list.len() < MAX_QUOTES {
            list.push(quote(n, &n.text, None));
            used.insert(n.id);
        }
    }
    let is_idea = |t: &String| {
        f.tags
            .iter()
            .any(|d| &d.id == t && d.category.as_deref() == Some("idea"))
    };
    let mut seen = BTreeSet::new();
    let ideas = rated
        .iter()
        .rev()
        .chain(linked.iter())
        .filter(|n| seen.insert(n.id) && n.all_tags().iter().any(is_idea))
        .take(MAX_QUOTES)
        .map(|n| quote(n, &n.text, rating_of(n, &i.id)))
        .collect();
    let linked_ids: BTreeSet<i64> = rated.iter().chain(linked).map(|n| n.id).collect();
    Debrief {
        id: i.id.clone(),
        name: i.name.clone(),
        kind: i.kind.as_str(),
        start: i.start.to_string(),
        end: i.end.map(|d| d.to_string()),
        status: i.status(f.today),
        checkins: i.checkins.clone(),
        min_ratings: f.min_ratings,
        verdict: verdict(&total, f.min_ratings),
        total,
        periods,
        raters: raters.len() as u64,
        linked_notes: linked_ids.len() as u64,
        quotes_for,
        quotes_against,
        ideas,
        attribution: f.attribution,
    }
}

fn day_of(ms: i64, tz: Tz) -> NaiveDate {
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

fn monday(d: NaiveDate) -> NaiveDate {
    d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// How a debrief attributes quotes: like the first digest (anonymous and
/// redacted when there is none).
pub fn attribution(cfg: &Config) -> (Attribution, bool) {
    cfg.digests
        .first()
        .map(|d| (d.attribution, d.redact))
        .unwrap_or((Attribution::Anonymous, true))
}

/// Reads what `i`'s debrief needs and builds it, from the notes shared
/// before `until_ms`. `None` attribution takes the first digest's.
pub async fn gather(
    store: &Store,
    cfg: &Config,
    i: &Initiative,
    today: NaiveDate,
    attribution: Option<(Attribution, bool)>,
    until_ms: i64,
) -> Result<(Debrief, Vec<String>)> {
    let rated_ids: Vec<i64> = store
        .initiative_ratings(&i.id)
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut rated = store.insights_by_ids(&rated_ids).await?;
    rated.retain(|n| n.created_at_ms < until_ms);
    rated.sort_by_key(|n| (n.created_at_ms, n.id));
    let linked_ids = store.initiative_linked(&i.id, MAX_LINKED).await?;
    let mut linked = store.insights_by_ids(&linked_ids).await?;
    linked.retain(|n| n.created_at_ms < until_ms);
    linked.sort_by_key(|n| std::cmp::Reverse((n.created_at_ms, n.id)));
    let mut people: Vec<String> = rated
        .iter()
        .chain(&linked)
        .map(|n| n.user_id.clone())
        .collect();
    people.sort();
    people.dedup();
    let names: HashMap<String, String> = store
        .people(&people)
        .await?
        .into_iter()
        .map(|(id, p)| (id, p.name))
        .collect();
    let (attribution, redact) = attribution.unwrap_or_else(|| self::attribution(cfg));
    let frame = Frame {
        tz: cfg.timezone,
        today,
        min_ratings: cfg.initiative_settings.min_ratings,
        attribution,
        redact,
        names: &names,
        tags: &cfg.tags,
    };
    let d = build(i, &rated, &linked, &frame);
    let mut raters: Vec<String> = rated
        .iter()
        .filter(|n| rating_of(n, &i.id).is_some())
        .map(|n| n.user_id.clone())
        .collect();
    raters.sort();
    raters.dedup();
    Ok((d, raters))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook() {
        // 8 of 10: 0.490 to 0.943 (Wilson, z = 1.96).
        let (l, h) = wilson(8, 10).unwrap();
        assert!((l - 0.490).abs() < 0.001, "{l}");
        assert!((h - 0.943).abs() < 0.001, "{h}");
        // One bad week: 0 of 2 spans most of the range.
        let (l, h) = wilson(0, 2).unwrap();
        assert_eq!(l, 0.0);
        assert!(h > 0.6, "{h}");
        assert_eq!(wilson(0, 0), None);
        let (l, h) = wilson(50, 50).unwrap();
        assert!(l > 0.9 && h == 1.0);
    }

    #[test]
    fn verdicts_wait_for_enough_ratings_and_a_clear_interval() {
        let t = |w, d| {
            Tally {
                worked: w,
                didnt: d,
                ..Default::default()
            }
            .finish()
        };
        assert_eq!(verdict(&t(3, 0), 8).kind, VerdictKind::TooEarly);
        assert_eq!(verdict(&t(9, 1), 8).kind, VerdictKind::Worked);
        assert_eq!(verdict(&t(1, 9), 8).kind, VerdictKind::DidntWork);
        assert_eq!(verdict(&t(5, 5), 8).kind, VerdictKind::Mixed);
        assert!(verdict(&t(9, 1), 8).text.contains("95% interval"));
    }
}
