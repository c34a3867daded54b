//! The pure builder: a digest's aggregates (counted in SQL by
//! `store::digest`) and a few hundred candidate notes in, a [`Digest`]
//! out. No I/O, no clock: the same rows always give the same digest.

use super::model::*;
use super::period::Period;
use super::redact::{self, Redaction};
use super::trend::{self, Counts, Exposure, Verdict};
use crate::config::questions::{ASSET_FLOPPED, ASSET_WORKED};
use crate::config::{DigestDef, TagDef};
use crate::domain::Insight;
use crate::store::{
    BucketCount, BucketPrompts, BucketTotals, EvidenceRow, NoteLink, SourceRatings, TagPair,
    BASELINE_WINDOW, CURRENT_WINDOW,
};
use crate::tz::Tz;
use chrono::TimeZone;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How many baseline periods trends compare against.
pub const BASELINE_PERIODS: u32 = 8;

/// Everything the builder reads, gathered from the store.
#[derive(Debug, Clone, Default)]
pub struct Aggregates {
    /// The baseline periods and the current one, oldest first: bucket k is
    /// `periods[k]`, the current period is the last.
    pub periods: Vec<Period>,
    pub items: Vec<BucketCount>,
    pub totals: Vec<BucketTotals>,
    pub prompts: Vec<BucketPrompts>,
    /// Notes of the current period by capture path.
    pub by_source: BTreeMap<String, u64>,
    /// The current period's evidence ids per item key.
    pub evidence: Vec<EvidenceRow>,
    /// Current-period co-occurrences (competitor × account, stage ×
    /// objection, …).
    pub pairs: Vec<TagPair>,
    pub lead_quality: Vec<SourceRatings>,
    /// Candidate notes for quotes, best quotes and asset reasons.
    pub notes: Vec<Insight>,
    pub links: Vec<NoteLink>,
    /// Display names by Slack user id.
    pub names: HashMap<String, String>,
    /// The period's loop actions and the notes they answer.
    pub loop_actions: Vec<crate::store::LoopActionNote>,
    pub loop_notes: Vec<Insight>,
    /// Reps who shared last period, by whether they heard back then.
    pub heard_back: crate::store::LoopRetention,
    /// Debriefs so far of the initiatives the period saw.
    pub initiatives: Vec<crate::digest::debrief::Debrief>,
}

/// The taxonomy as the builder reads it.
struct Taxonomy<'a> {
    tags: HashMap<&'a str, &'a TagDef>,
}

impl<'a> Taxonomy<'a> {
    fn new(tags: &'a [TagDef]) -> Self {
        Taxonomy {
            tags: tags.iter().map(|t| (t.id.as_str(), t)).collect(),
        }
    }

    fn label(&self, tag: &str) -> String {
        self.tags
            .get(tag)
            .map(|t| t.label.clone())
            .unwrap_or_else(|| tag.to_string())
    }

    fn category(&self, tag: &str) -> Option<&str> {
        self.tags.get(tag).and_then(|t| t.category.as_deref())
    }

    fn in_category<'s>(&'s self, cat: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.tags
            .values()
            .filter(move |t| t.category.as_deref() == Some(cat))
            .map(|t| t.id.as_str())
    }
}

/// The tag lists the SQL pairing and lead-quality queries need.
pub fn tags_in(tags: &[TagDef], category: &str) -> Vec<String> {
    let mut v: Vec<String> = tags
        .iter()
        .filter(|t| t.category.as_deref() == Some(category))
        .map(|t| t.id.clone())
        .collect();
    v.sort();
    v
}

/// Per-key counts, looked up by bucket.
struct Items<'a> {
    by_key: BTreeMap<&'a str, Vec<&'a BucketCount>>,
    current: i64,
}

impl<'a> Items<'a> {
    fn new(rows: &'a [BucketCount], current: i64) -> Self {
        let mut by_key: BTreeMap<&str, Vec<&BucketCount>> = BTreeMap::new();
        for r in rows {
            by_key.entry(r.key.as_str()).or_default().push(r);
        }
        Items { by_key, current }
    }

    fn get(&self, key: &str, bucket: i64) -> (u64, u64) {
        self.by_key
            .get(key)
            .and_then(|rows| rows.iter().find(|r| r.bucket == bucket))
            .map(|r| (r.mentions.max(0) as u64, r.reps.max(0) as u64))
            .unwrap_or_default()
    }

    fn now(&self, key: &str) -> u64 {
        self.get(key, self.current).0
    }

    fn previous(&self, key: &str) -> u64 {
        if self.current == 0 {
            0
        } else {
            self.get(key, self.current - 1).0
        }
    }

    fn reps_now(&self, key: &str) -> u64 {
        self.get(key, CURRENT_WINDOW).1
    }

    fn history(&self, key: &str) -> Vec<u64> {
        (0..=self.current).map(|b| self.get(key, b).0).collect()
    }
}

fn tag_key(tag: &str) -> String {
    format!("tag:{tag}")
}

fn field_key(field: &str, value: &str) -> String {
    format!("field:{field}={value}")
}

/// Builds the digest of `agg.periods`' last period for `def`.
pub fn build(def: &DigestDef, taxonomy: &[TagDef], agg: &Aggregates) -> Digest {
    let tax = Taxonomy::new(taxonomy);
    let current = agg.periods.len().saturating_sub(1) as i64;
    let period = agg
        .periods
        .last()
        .copied()
        .unwrap_or_else(|| Period::containing_date(def.period, chrono::NaiveDate::default()));
    let tz = def.timezone;
    let items = Items::new(&agg.items, current);
    let evidence = evidence_index(&agg.evidence, &items);
    let notes: BTreeMap<i64, &Insight> = agg.notes.iter().map(|n| (n.id, n)).collect();
    let quoter = Quoter {
        def,
        tax: &tax,
        names: &agg.names,
        links: agg
            .links
            .iter()
            .map(|l| (l.id, l))
            .collect::<HashMap<_, _>>(),
        tz,
        redaction: if def.redact {
            Redaction::On
        } else {
            Redaction::Off
        },
    };

    let mut d = Digest {
        name: def.name.clone(),
        title: def.title.clone(),
        period: PeriodInfo {
            key: period.to_string(),
            kind: period.kind().to_string(),
            label: period.label(),
            starts: period.start.to_string(),
            ends: period.last_day().to_string(),
            timezone: tz.to_string(),
            baseline_periods: current as u32,
            unit: period.unit().to_string(),
        },
        attribution: def.attribution,
        redacted: def.redact,
        sections: def.sections.clone(),
        participation: participation(agg, current, &evidence),
        you_said_we_did: you_said_we_did(agg, &quoter),
        initiatives: agg.initiatives.clone(),
        trends: trends(&tax, &items, agg, current, &period, &evidence),
        competitors: mentions(
            &tax,
            &items,
            "competitor",
            &agg.pairs,
            &evidence,
            &notes,
            &quoter,
        ),
        objections: mentions(
            &tax,
            &items,
            "objection",
            &agg.pairs,
            &evidence,
            &notes,
            &quoter,
        ),
        funnel: funnel(&tax, &items, &agg.pairs, &evidence),
        assets: assets(&tax, &items, &evidence, &notes),
        lead_quality: lead_quality(&tax, &agg.lead_quality, &evidence),
        committee: mentions(
            &tax, &items, "persona", &agg.pairs, &evidence, &notes, &quoter,
        ),
        ideas: tagged_quotes(&tax, "idea", &evidence, &notes, &quoter, 5),
        market_shifts: tagged_quotes(&tax, "market", &evidence, &notes, &quoter, 5),
        quotes: {
            let pool: Vec<&Insight> = notes.values().copied().collect();
            pick_quotes(&pool, &tax, def.max_quotes)
                .into_iter()
                .map(|n| quoter.quote(n))
                .collect()
        },
        notes: BTreeMap::new(),
    };
    d.notes = note_refs(&d, &quoter);
    d
}

/// Evidence ids per item key, with each item's count.
fn evidence_index(rows: &[EvidenceRow], items: &Items<'_>) -> HashMap<String, Evidence> {
    let mut by: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for r in rows {
        by.entry(r.key.clone()).or_default().push((r.rn, r.id));
    }
    by.into_iter()
        .map(|(k, mut ids)| {
            ids.sort();
            let count = items.now(&k);
            (
                k,
                Evidence {
                    count,
                    note_ids: ids
                        .into_iter()
                        .take(Evidence::MAX_IDS)
                        .map(|(_, id)| id)
                        .collect(),
                },
            )
        })
        .collect()
}

fn ev(index: &HashMap<String, Evidence>, key: &str) -> Evidence {
    index.get(key).cloned().unwrap_or_default()
}

fn participation(
    agg: &Aggregates,
    current: i64,
    evidence: &HashMap<String, Evidence>,
) -> Participation {
    let total = |b: i64| {
        agg.totals
            .iter()
            .find(|t| t.bucket == b)
            .cloned()
            .unwrap_or_default()
    };
    let prompts = |b: i64| {
        agg.prompts
            .iter()
            .find(|p| p.bucket == b)
            .cloned()
            .unwrap_or_default()
    };
    let (now, before) = (total(current), total(current - 1));
    let (pn, pb) = (prompts(current), prompts(current - 1));
    let rate = |p: &BucketPrompts| (p.sent > 0).then(|| p.answered as f64 / p.sent as f64);
    // Every note of the period is behind the participation figures; the
    // newest stand for them.
    let mut all: Vec<i64> = evidence
        .values()
        .flat_map(|e| e.note_ids.iter().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .rev()
        .collect();
    all.truncate(Evidence::MAX_IDS);
    Participation {
        prompts_sent: Figure::new(pn.sent as f64, pb.sent as f64),
        prompts_answered: Figure::new(pn.answered as f64, pb.answered as f64),
        response_rate: rate(&pn),
        previous_response_rate: rate(&pb),
        reps_sharing: Figure::new(now.reps as f64, before.reps as f64),
        notes: Figure::new(now.notes as f64, before.notes as f64),
        by_source: agg.by_source.clone(),
        history: agg
            .periods
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let t = total(k as i64);
                PeriodPoint {
                    period: p.to_string(),
                    label: p.short_label(),
                    notes: t.notes.max(0) as u64,
                    reps: t.reps.max(0) as u64,
                }
            })
            .collect(),
        evidence: Evidence {
            count: now.notes.max(0) as u64,
            note_ids: all,
        },
        heard_back: HeardBack {
            heard_back: agg.heard_back.heard_back.max(0) as u64,
            heard_back_shared: agg.heard_back.heard_back_shared.max(0) as u64,
            not_heard: agg.heard_back.not_heard.max(0) as u64,
            not_heard_shared: agg.heard_back.not_heard_shared.max(0) as u64,
        },
    }
}

/// "You said, we did": the period's loop actions, each with its note as
/// a quote and the marketer by name (marketers are never anonymous).
fn you_said_we_did(agg: &Aggregates, quoter: &Quoter<'_>) -> Vec<LoopClosure> {
    let notes: HashMap<i64, &Insight> = agg.loop_notes.iter().map(|n| (n.id, n)).collect();
    agg.loop_actions
        .iter()
        .filter_map(|a| {
            let n = notes.get(&a.insight_id)?;
            let text = crate::text::clean(a.text.trim()).into_owned();
            Some(LoopClosure {
                kind: a.kind.clone(),
                marketer: agg
                    .names
                    .get(&a.actor)
                    .cloned()
                    .unwrap_or_else(|| format!("marketer {}", a.actor)),
                text: super::truncate(quoter.redaction.apply(&text).trim(), 280),
                date: local_date(a.created_at, quoter.tz),
                note: quoter.quote(n),
                follow_ups: a.follow_ups.max(0) as u64,
            })
        })
        .collect()
}

/// Whether a typed-field item says something its tag doesn't: a check-in's
/// own select, or an asset's verdict. A vocabulary field's value is a tag,
/// counted as that tag.
fn field_item_counts(field: &str, value: &str, tax: &Taxonomy<'_>) -> bool {
    if field == ASSET_WORKED || field == ASSET_FLOPPED {
        return true;
    }
    !tax.tags.contains_key(value) && field != "asset"
}

fn item_label(key: &str, tax: &Taxonomy<'_>) -> String {
    if let Some(tag) = key.strip_prefix("tag:") {
        return tax.label(tag);
    }
    let (field, value) = key
        .strip_prefix("field:")
        .and_then(|f| f.split_once('='))
        .unwrap_or(("", key));
    match field {
        ASSET_WORKED => format!("{}: worked", tax.label(value)),
        ASSET_FLOPPED => format!("{}: didn't work", tax.label(value)),
        _ => format!("{}: {value}", field.replace('_', " ")),
    }
}

fn trends(
    tax: &Taxonomy<'_>,
    items: &Items<'_>,
    agg: &Aggregates,
    current: i64,
    period: &Period,
    evidence: &HashMap<String, Evidence>,
) -> Vec<TrendItem> {
    let notes_in = |b: i64| {
        agg.totals
            .iter()
            .find(|t| t.bucket == b)
            .map(|t| t.notes.max(0) as u64)
            .unwrap_or(0)
    };
    let exposure = Exposure {
        now: notes_in(current),
        before: (0..current).map(notes_in).sum(),
    };
    let keys: Vec<&str> = items
        .by_key
        .keys()
        .copied()
        .filter(
            |k| match k.strip_prefix("field:").and_then(|f| f.split_once('=')) {
                Some((f, v)) => field_item_counts(f, v, tax),
                None => true,
            },
        )
        .collect();
    let counts: Vec<Counts> = keys
        .iter()
        .map(|k| {
            let history = items.history(k);
            Counts {
                now: items.now(k),
                reps_now: items.reps_now(k),
                before: history[..history.len().saturating_sub(1)].iter().sum(),
                reps_before: items.get(k, BASELINE_WINDOW).1,
            }
        })
        .collect();
    let verdicts = trend::classify(&counts, exposure);
    let baseline = current.max(1) as u32;
    let mut out: Vec<TrendItem> = keys
        .iter()
        .zip(&counts)
        .zip(verdicts)
        .filter_map(|((k, c), t)| {
            let direction = match t.verdict {
                Verdict::New => Direction::New,
                Verdict::Rising => Direction::Rising,
                Verdict::Falling => Direction::Falling,
                Verdict::Steady => return None,
            };
            Some(TrendItem {
                key: k.to_string(),
                label: item_label(k, tax),
                direction,
                mentions: c.now,
                reps: c.reps_now,
                baseline_mentions: c.before,
                baseline_avg: c.before as f64 / f64::from(baseline),
                ratio: t.ratio,
                p: t.p,
                q: t.q,
                summary: trend::describe(c, baseline, period.unit()),
                history: items.history(k),
                evidence: ev(evidence, k),
            })
        })
        .collect();
    let rank = |d: Direction| match d {
        Direction::Rising => 0,
        Direction::New => 1,
        Direction::Falling => 2,
    };
    out.sort_by(|a, b| {
        rank(a.direction)
            .cmp(&rank(b.direction))
            .then(a.q.unwrap_or(0.0).total_cmp(&b.q.unwrap_or(0.0)))
            .then(b.mentions.cmp(&a.mentions))
            .then(a.key.cmp(&b.key))
    });
    out
}

/// Competitors, objections or personas of the period, most mentioned first.
fn mentions(
    tax: &Taxonomy<'_>,
    items: &Items<'_>,
    category: &str,
    pairs: &[TagPair],
    evidence: &HashMap<String, Evidence>,
    notes: &BTreeMap<i64, &Insight>,
    quoter: &Quoter<'_>,
) -> Vec<Mention> {
    let mut out: Vec<Mention> = tax
        .in_category(category)
        .filter_map(|tag| {
            let key = tag_key(tag);
            let mentions = items.now(&key);
            (mentions > 0).then(|| {
                let e = ev(evidence, &key);
                let accounts = pairs
                    .iter()
                    .filter(|p| p.a == tag && tax.category(&p.b) == Some("account"))
                    .count() as u64;
                let best = e
                    .note_ids
                    .iter()
                    .filter_map(|id| notes.get(id))
                    .filter(|n| n.text.trim().chars().count() >= 20)
                    .max_by(|a, b| relevance(a).total_cmp(&relevance(b)).then(b.id.cmp(&a.id)))
                    .map(|n| quoter.quote(n));
                Mention {
                    tag: tag.to_string(),
                    label: tax.label(tag),
                    mentions,
                    previous: items.previous(&key),
                    reps: items.reps_now(&key),
                    accounts,
                    best_quote: best,
                    evidence: e,
                }
            })
        })
        .collect();
    out.sort_by(|a, b| b.mentions.cmp(&a.mentions).then(a.tag.cmp(&b.tag)));
    out
}

fn funnel(
    tax: &Taxonomy<'_>,
    items: &Items<'_>,
    pairs: &[TagPair],
    evidence: &HashMap<String, Evidence>,
) -> Vec<StageFriction> {
    let mut out: Vec<StageFriction> = tax
        .in_category("funnel_stage")
        .filter_map(|stage| {
            let key = tag_key(stage);
            let notes = items.now(&key);
            (notes > 0).then(|| {
                let mut stalls: Vec<Count> = pairs
                    .iter()
                    .filter(|p| p.a == stage && tax.category(&p.b) == Some("objection"))
                    .map(|p| Count {
                        key: p.b.clone(),
                        label: tax.label(&p.b),
                        count: p.notes.max(0) as u64,
                    })
                    .collect();
                stalls.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
                StageFriction {
                    stage: stage.to_string(),
                    label: tax.label(stage),
                    notes,
                    reps: items.reps_now(&key),
                    stalls,
                    evidence: ev(evidence, &key),
                }
            })
        })
        .collect();
    out.sort_by(|a, b| b.notes.cmp(&a.notes).then(a.stage.cmp(&b.stage)));
    out
}

fn assets(
    tax: &Taxonomy<'_>,
    items: &Items<'_>,
    evidence: &HashMap<String, Evidence>,
    notes: &BTreeMap<i64, &Insight>,
) -> Vec<AssetRollup> {
    let mut out: Vec<AssetRollup> = tax
        .in_category("asset")
        .filter_map(|asset| {
            let used_key = field_key("asset", asset);
            let worked_key = field_key(ASSET_WORKED, asset);
            let flopped_key = field_key(ASSET_FLOPPED, asset);
            let (used, worked, flopped) = (
                items.now(&used_key),
                items.now(&worked_key),
                items.now(&flopped_key),
            );
            if used + worked + flopped == 0 {
                return None;
            }
            let label = tax.label(asset);
            let mut reasons = Vec::new();
            for (key, w) in [(&worked_key, true), (&flopped_key, false)] {
                let e = ev(evidence, key);
                let mut n = 0;
                for id in &e.note_ids {
                    let Some(note) = notes.get(id) else { continue };
                    let why = note
                        .answers
                        .iter()
                        .map(|a| crate::capture::asset_reason(&a.text, &label))
                        .find(|w| !w.is_empty());
                    if let Some(why) = why {
                        reasons.push(Reason {
                            worked: w,
                            text: super::truncate(crate::text::clean(why).trim(), 200),
                            note_id: note.id,
                        });
                        n += 1;
                        if n == 3 {
                            break;
                        }
                    }
                }
            }
            let mut e = ev(evidence, &used_key);
            if e.count == 0 {
                e = ev(evidence, &worked_key);
            }
            Some(AssetRollup {
                asset: asset.to_string(),
                label,
                worked,
                flopped,
                used: used.saturating_sub(worked + flopped),
                reasons,
                evidence: e,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (b.worked + b.flopped + b.used)
            .cmp(&(a.worked + a.flopped + a.used))
            .then(a.asset.cmp(&b.asset))
    });
    out
}

fn lead_quality(
    tax: &Taxonomy<'_>,
    rows: &[SourceRatings],
    evidence: &HashMap<String, Evidence>,
) -> Vec<LeadSourceQuality> {
    let sources: BTreeSet<&str> = rows.iter().map(|r| r.source.as_str()).collect();
    let mut out: Vec<LeadSourceQuality> = sources
        .into_iter()
        .filter_map(|s| {
            let get = |w: i64| rows.iter().find(|r| r.source == s && r.win == w);
            let now = get(1)?;
            let before = get(0);
            let average = now.total as f64 / now.ratings.max(1) as f64;
            let previous_average = before
                .filter(|b| b.ratings > 0)
                .map(|b| b.total as f64 / b.ratings as f64);
            Some(LeadSourceQuality {
                source: if s.is_empty() {
                    "(none)".into()
                } else {
                    s.to_string()
                },
                label: if s.is_empty() {
                    "No lead source given".into()
                } else {
                    tax.label(s)
                },
                ratings: now.ratings.max(0) as u64,
                average,
                previous_ratings: before.map(|b| b.ratings.max(0) as u64).unwrap_or(0),
                previous_average,
                trend: previous_average.map(|p| average - p),
                evidence: if s.is_empty() {
                    Evidence::default()
                } else {
                    ev(evidence, &tag_key(s))
                },
            })
        })
        .collect();
    out.sort_by(|a, b| b.ratings.cmp(&a.ratings).then(a.source.cmp(&b.source)));
    out
}

/// Notes with a tag of `category` (ideas, market shifts), newest first,
/// at most `max`.
fn tagged_quotes(
    tax: &Taxonomy<'_>,
    category: &str,
    evidence: &HashMap<String, Evidence>,
    notes: &BTreeMap<i64, &Insight>,
    quoter: &Quoter<'_>,
    max: usize,
) -> Vec<Quote> {
    let ids: BTreeSet<i64> = tax
        .in_category(category)
        .flat_map(|t| ev(evidence, &tag_key(t)).note_ids)
        .collect();
    ids.into_iter()
        .rev()
        .filter_map(|id| notes.get(&id))
        .filter(|n| n.text.trim().chars().count() >= 20)
        .take(max)
        .map(|n| quoter.quote(n))
        .collect()
}

/// How much a note is worth quoting on its own: substance (length, up to a
/// point) and how much it touches (tags), with strong tone a little ahead.
fn relevance(n: &Insight) -> f64 {
    let len = n.text.trim().chars().count().min(240) as f64 / 240.0;
    let tags = n.all_tags().len().min(4) as f64 / 4.0;
    let tone = match n.sentiment {
        Some(crate::domain::Sentiment::Neutral) | None => 0.0,
        _ => 0.1,
    };
    0.5 * len + 0.4 * tags + tone
}

/// What makes two quotes alike: their tags, their rep, their account.
fn features(n: &Insight, tax: &Taxonomy<'_>) -> BTreeSet<String> {
    let mut f: BTreeSet<String> = n.all_tags().into_iter().collect();
    f.insert(format!("rep:{}", n.user_id));
    for t in n.all_tags() {
        if tax.category(&t) == Some("account") {
            f.insert(format!("account:{t}"));
        }
    }
    f
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let inter = a.intersection(b).count() as f64;
    let union = a.union(b).count() as f64;
    if union == 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// The weight of relevance against novelty in maximal marginal relevance.
const MMR_LAMBDA: f64 = 0.6;

/// Picks `max` quotes by maximal marginal relevance: each next quote is
/// the one whose relevance, less its likeness to a quote already picked,
/// is highest, so the quotes spread over tags, reps and accounts.
fn pick_quotes<'a>(pool: &[&'a Insight], tax_tags: &Taxonomy<'_>, max: usize) -> Vec<&'a Insight> {
    let cands: Vec<(&Insight, f64, BTreeSet<String>)> = pool
        .iter()
        .filter(|n| n.text.trim().chars().count() >= 20)
        .map(|n| (*n, relevance(n), features(n, tax_tags)))
        .collect();
    let mut picked: Vec<usize> = Vec::new();
    while picked.len() < max && picked.len() < cands.len() {
        let best = cands
            .iter()
            .enumerate()
            .filter(|(i, _)| !picked.contains(i))
            .map(|(i, (n, rel, f))| {
                let sim = picked
                    .iter()
                    .map(|&j| jaccard(f, &cands[j].2))
                    .fold(0.0, f64::max);
                (i, MMR_LAMBDA * rel - (1.0 - MMR_LAMBDA) * sim, n.id)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.2.cmp(&a.2)));
        match best {
            Some((i, _, _)) => picked.push(i),
            None => break,
        }
    }
    picked.into_iter().map(|i| cands[i].0).collect()
}

/// Turns a note into a quote: cleaned, cut, redacted, named or not.
struct Quoter<'a> {
    def: &'a DigestDef,
    tax: &'a Taxonomy<'a>,
    names: &'a HashMap<String, String>,
    links: HashMap<i64, &'a NoteLink>,
    tz: Tz,
    redaction: Redaction,
}

impl Quoter<'_> {
    fn quote(&self, n: &Insight) -> Quote {
        let anonymous = self.def.attribution == Attribution::Anonymous;
        let text = crate::text::clean(n.text.trim()).into_owned();
        let text = redact::mentions(&text, |id| {
            if anonymous {
                "a colleague".to_string()
            } else {
                self.names
                    .get(id)
                    .map(|n| format!("@{n}"))
                    .unwrap_or_else(|| "a colleague".to_string())
            }
        });
        let text = self.redaction.apply(&text);
        Quote {
            note_id: n.id,
            rep: (!anonymous).then(|| {
                self.names
                    .get(&n.user_id)
                    .cloned()
                    .unwrap_or_else(|| format!("rep {}", n.user_id))
            }),
            text: super::truncate(text.trim(), 280),
            tags: n.all_tags(),
            account: n
                .all_tags()
                .into_iter()
                .find(|t| self.tax.category(t) == Some("account"))
                .map(|t| self.tax.label(&t)),
            permalink: self
                .links
                .get(&n.id)
                .and_then(|l| l.permalink.clone())
                .or_else(|| n.message.as_ref().and_then(|m| m.permalink.clone())),
            date: local_date(n.created_at_ms, self.tz),
        }
    }
}

fn local_date(ms: i64, tz: Tz) -> String {
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default()
}

/// Every note the digest points at, with its link.
fn note_refs(d: &Digest, q: &Quoter<'_>) -> BTreeMap<i64, NoteRef> {
    let mut ids: BTreeSet<i64> = BTreeSet::new();
    ids.extend(&d.participation.evidence.note_ids);
    for t in &d.trends {
        ids.extend(&t.evidence.note_ids);
    }
    for m in d
        .competitors
        .iter()
        .chain(&d.objections)
        .chain(&d.committee)
    {
        ids.extend(&m.evidence.note_ids);
        ids.extend(m.best_quote.iter().map(|q| q.note_id));
    }
    for s in &d.funnel {
        ids.extend(&s.evidence.note_ids);
    }
    for a in &d.assets {
        ids.extend(&a.evidence.note_ids);
        ids.extend(a.reasons.iter().map(|r| r.note_id));
    }
    for l in &d.lead_quality {
        ids.extend(&l.evidence.note_ids);
    }
    for quote in d.ideas.iter().chain(&d.market_shifts).chain(&d.quotes) {
        ids.insert(quote.note_id);
    }
    ids.extend(d.you_said_we_did.iter().map(|c| c.note.note_id));
    ids.into_iter()
        .map(|id| {
            let link = q.links.get(&id);
            (
                id,
                NoteRef {
                    permalink: link.and_then(|l| l.permalink.clone()),
                    date: link
                        .map(|l| local_date(l.created_at, q.tz))
                        .unwrap_or_default(),
                },
            )
        })
        .collect()
}
