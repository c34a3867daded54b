//! Who a check-in goes to, and their profiles: audiences resolved from
//! Slack (users, channel members, user groups, minus exclusions, bots and
//! deactivated accounts), and the shared profile cache in `people`,
//! refreshed from Slack when a profile is older than a day.

use super::client::with_retries;
use super::Bot;
use crate::config::CheckIn;
use crate::store::PersonRow;
use anyhow::{Context, Result};
use std::collections::{BTreeSet, HashMap, HashSet};
use tracing::warn;

/// Attempts per Slack call while resolving an audience: a 429 waits its
/// Retry-After, a 5xx or timeout backs off, then the run is retried later.
const ATTEMPTS: u32 = 4;
/// How long a cached Slack profile is trusted.
pub const PROFILE_TTL_MS: i64 = 24 * 3600 * 1000;
/// Above this many unknown or stale profiles, one paged users.list (Tier 2)
/// beats one users.info (Tier 4) per person.
const BULK_PROFILE_THRESHOLD: usize = 8;

/// Users, channel members and user-group members, minus exclusions (people
/// or whole user groups), bots and deactivated accounts. Looked up fresh
/// each run, so joiners and leavers are picked up without a restart.
pub async fn resolve_audience(state: &Bot, c: &CheckIn) -> Result<Vec<PersonRow>> {
    let a = &c.audience;
    let mut ids: BTreeSet<String> = a.users.iter().cloned().collect();
    for ch in &a.channels {
        ids.extend(
            with_retries(ATTEMPTS, || state.slack.channel_members(ch))
                .await
                .with_context(|| format!("listing members of {ch}"))?,
        );
    }
    for g in &a.usergroups {
        ids.extend(
            with_retries(ATTEMPTS, || state.slack.usergroup_members(g))
                .await
                .with_context(|| format!("listing user group {g}"))?,
        );
    }
    for x in &a.exclude {
        if x.starts_with('S') {
            for u in with_retries(ATTEMPTS, || state.slack.usergroup_members(x))
                .await
                .with_context(|| format!("listing excluded user group {x}"))?
            {
                ids.remove(&u);
            }
        } else {
            ids.remove(x);
        }
    }
    ids.remove(&state.bot_user_id);
    let ids: Vec<String> = ids.into_iter().collect();
    let mut dir = directory(state, &ids).await?;
    Ok(ids
        .iter()
        .filter_map(|id| dir.remove(id))
        .filter(|p| !p.is_bot && !p.deleted)
        .collect())
}

/// Profiles for `ids` from the shared cache, refreshed from Slack when
/// older than a day: one paged users.list when many are stale, else
/// users.info each, both paced at their tiers.
pub async fn directory(state: &Bot, ids: &[String]) -> Result<HashMap<String, PersonRow>> {
    let now_ms = state.now_ms();
    let mut dir = state.store.people(ids).await?;
    let stale: Vec<&String> = ids
        .iter()
        .filter(|id| {
            dir.get(*id)
                .is_none_or(|p| now_ms - p.fetched_at_ms > PROFILE_TTL_MS)
        })
        .collect();
    if stale.is_empty() {
        return Ok(dir);
    }
    let row = |p: super::PersonInfo| PersonRow {
        user_id: p.id,
        name: p.name,
        tz: p.tz,
        is_bot: p.is_bot,
        deleted: p.deleted,
        dm_channel: None,
        fetched_at_ms: now_ms,
    };
    let mut missing: HashSet<&str> = stale.iter().map(|s| s.as_str()).collect();
    // Each page is saved as it arrives and only the people asked for are
    // kept: the workspace's directory is never held whole (a page of 1,000
    // profiles at a time; BENCHMARKS.md, footprint while sending).
    if stale.len() > BULK_PROFILE_THRESHOLD {
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = with_retries(ATTEMPTS, || state.slack.users_page(cursor.as_deref()))
                .await
                .context("listing the workspace's people")?;
            let page: Vec<PersonRow> = page.into_iter().map(row).collect();
            state.store.upsert_people(&page).await?;
            for p in page {
                if missing.remove(p.user_id.as_str()) {
                    keep(&mut dir, p);
                }
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    let mut fresh: Vec<PersonRow> = Vec::new();
    // Who users.list didn't return (or everyone, for a few): users.info
    // each, in the audience's order.
    for id in stale
        .iter()
        .map(|s| s.as_str())
        .filter(|s| missing.contains(s))
    {
        match with_retries(ATTEMPTS, || state.slack.user_info(id)).await {
            Ok(p) => fresh.push(row(p)),
            Err(super::SlackCallError::Api(code)) if code == "user_not_found" => {
                fresh.push(PersonRow {
                    user_id: id.to_string(),
                    name: String::new(),
                    tz: None,
                    is_bot: false,
                    deleted: true,
                    dm_channel: None,
                    fetched_at_ms: now_ms,
                })
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("looking up {id}"))),
        }
    }
    if !fresh.is_empty() {
        state.store.upsert_people(&fresh).await?;
    }
    for p in fresh {
        keep(&mut dir, p);
    }
    Ok(dir)
}

/// Puts a freshly fetched profile in `dir`, keeping the DM channel the
/// cache knew (Slack's profile doesn't carry it).
fn keep(dir: &mut HashMap<String, PersonRow>, mut p: PersonRow) {
    if let Some(old) = dir.get(&p.user_id) {
        p.dm_channel = old.dm_channel.clone();
    }
    dir.insert(p.user_id.clone(), p);
}

/// A person's Slack timezone (from the shared profile cache), falling back
/// to the digest's.
pub async fn person_tz(state: &Bot, user: &str) -> crate::tz::Tz {
    let fallback = state.config().timezone;
    match directory(state, &[user.to_string()]).await {
        Ok(d) => d
            .get(user)
            .and_then(|p| p.tz.as_deref())
            .and_then(|t| t.parse().ok())
            .unwrap_or(fallback),
        Err(e) => {
            warn!(error = %format!("{e:#}"), user, "looking up a timezone failed");
            fallback
        }
    }
}
