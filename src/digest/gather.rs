//! Gathering a digest from the store: the SQL aggregates and candidate
//! notes the pure builder (`digest::build`) turns into a [`Digest`]. What
//! the CLI, App Home's preview, the scheduled delivery and the demo call.

use super::build::{build, tags_in, Aggregates, BASELINE_PERIODS};
use super::model::{Digest, Evidence};
use super::period::Period;
use crate::config::{Config, DigestDef};
use crate::store::{DigestScope, Store};
use anyhow::Result;
use std::collections::{BTreeSet, HashMap};

/// How many of the period's notes quotes are picked from.
const QUOTE_POOL: i64 = 300;

/// The notes a digest covers.
pub fn scope(def: &DigestDef) -> DigestScope {
    DigestScope {
        checkins: def.checkins.clone(),
        tags: def.tags.clone(),
    }
}

/// Reads a period's aggregates and candidate notes. Display names come
/// from the `people` cache; `missing_names` says whose the caller may want
/// to look up (through `users.info`) before building.
pub async fn aggregates(
    store: &Store,
    cfg: &Config,
    def: &DigestDef,
    period: Period,
) -> Result<Aggregates> {
    let tz = def.timezone;
    let mut periods = period.baseline(BASELINE_PERIODS);
    periods.push(period);
    let mut bounds: Vec<i64> = periods.iter().map(|p| p.bounds_ms(tz).0).collect();
    let (from, to) = period.bounds_ms(tz);
    bounds.push(to);
    let prev_from = bounds[bounds.len() - 3];
    let scope = scope(def);

    // Closed periods' counts are kept once counted (`store::rollups`);
    // the clock only decides which periods are worth keeping.
    let counts = store
        .digest_counts(&bounds, &scope, chrono::Utc::now().timestamp_millis())
        .await?;
    let prompts = store.digest_prompts(&bounds, &def.checkins).await?;
    let by_source = store
        .digest_sources(from, to, &scope)
        .await?
        .into_iter()
        .map(|(s, n)| (s, n.max(0) as u64))
        .collect();
    let evidence = store
        .digest_evidence(from, to, &scope, Evidence::MAX_IDS as i64)
        .await?;
    let mut left = Vec::new();
    for c in ["competitor", "objection", "persona", "funnel_stage"] {
        left.extend(tags_in(&cfg.tags, c));
    }
    let mut right = tags_in(&cfg.tags, "account");
    right.extend(tags_in(&cfg.tags, "objection"));
    let pairs = store
        .digest_tag_pairs(from, to, &scope, &left, &right)
        .await?;
    let lead_quality = store
        .digest_lead_quality(
            prev_from,
            from,
            to,
            &scope,
            &tags_in(&cfg.tags, "lead_source"),
        )
        .await?;

    // Candidates: the period's most substantive notes, and the newest
    // behind each item (best quotes, asset reasons, ideas, shifts).
    let mut ids: BTreeSet<i64> = store
        .digest_quote_pool(from, to, &scope, QUOTE_POOL)
        .await?
        .into_iter()
        .collect();
    ids.extend(evidence.iter().filter(|e| e.rn <= 10).map(|e| e.id));
    let ids: Vec<i64> = ids.into_iter().collect();
    let notes = store.insights_by_ids(&ids).await?;
    // The loop closed in the period, and last period's reps by whether
    // they heard back then.
    let loop_actions = store.loop_actions_between(from, to, &scope).await?;
    let loop_ids: Vec<i64> = loop_actions
        .iter()
        .map(|a| a.insight_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let loop_notes = store.insights_by_ids(&loop_ids).await?;
    let heard_back = store.loop_retention(prev_from, from, to, &scope).await?;
    let mut linked: BTreeSet<i64> = evidence.iter().map(|e| e.id).collect();
    linked.extend(&ids);
    linked.extend(&loop_ids);
    let links = store
        .note_links(&linked.into_iter().collect::<Vec<_>>())
        .await?;
    let users: Vec<String> = notes
        .iter()
        .chain(&loop_notes)
        .map(|n| n.user_id.clone())
        .chain(loop_actions.iter().map(|a| a.actor.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names = store
        .people(&users)
        .await?
        .into_iter()
        .filter(|(_, p)| !p.name.trim().is_empty())
        .map(|(id, p)| (id, p.name))
        .collect::<HashMap<_, _>>();
    // The initiatives the period saw among this digest's check-ins, as
    // their debrief stood at its end.
    let mut initiatives = Vec::new();
    let last_day = period.last_day();
    for i in cfg.initiatives.iter().filter(|i| {
        i.start <= last_day && i.end.is_none_or(|e| e >= period.start) && i.in_digest(def)
    }) {
        let (d, _) = crate::digest::debrief::gather(
            store,
            cfg,
            i,
            last_day,
            Some((def.attribution, def.redact)),
            to,
        )
        .await?;
        initiatives.push(d);
    }
    Ok(Aggregates {
        initiatives,
        periods,
        items: counts.items,
        totals: counts.totals,
        prompts,
        by_source,
        evidence,
        pairs,
        lead_quality,
        notes,
        links,
        names,
        loop_actions,
        loop_notes,
        heard_back,
    })
}

/// Reps whose quotes could appear and whose name isn't cached.
pub fn missing_names(agg: &Aggregates) -> Vec<String> {
    agg.notes
        .iter()
        .map(|n| n.user_id.clone())
        .filter(|u| !agg.names.contains_key(u))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Gathers and builds one period's digest, with the names the store knows.
pub async fn gather(
    store: &Store,
    cfg: &Config,
    def: &DigestDef,
    period: Period,
) -> Result<Digest> {
    let agg = aggregates(store, cfg, def, period).await?;
    Ok(build(def, &cfg.tags, &agg))
}
