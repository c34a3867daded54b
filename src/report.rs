//! What team leads read: `fieldnotes status` (what happened, per check-in
//! occurrence) and `fieldnotes schedule preview` (what will happen, per
//! person, with skips and pauses explained).

use crate::config::{CheckIn, Config, Zone};
use crate::schedule::plan::{scheduled_run, PlanContext};
use crate::slack::Bot;
use crate::store::{OccurrenceStatus, Store};
use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use std::fmt::Write;

/// `fieldnotes status`: per check-in and occurrence, newest first.
pub async fn status(
    store: &Store,
    cfg: &Config,
    checkin: Option<&str>,
    last: i64,
) -> Result<String> {
    if let Some(name) = checkin {
        if cfg.checkin(name).is_none() {
            anyhow::bail!("no check-in named `{name}` in {}", cfg.path.display());
        }
    }
    let rows = store.occurrence_status(checkin, last).await?;
    let mut out = String::new();
    let names: Vec<&str> = match checkin {
        Some(n) => vec![n],
        None => cfg.checkins.iter().map(|c| c.name.as_str()).collect(),
    };
    for name in names {
        let _ = writeln!(out, "Check-in `{name}`");
        let mine: Vec<&OccurrenceStatus> = rows.iter().filter(|r| r.checkin == name).collect();
        if mine.is_empty() {
            let _ = writeln!(out, "  no occurrences yet");
            continue;
        }
        let _ = writeln!(
            out,
            "  {:<34} {:<17} {:>6} {:>5} {:>8} {:>8} {:>6}  {:<14} skipped",
            "occurrence",
            "scheduled (UTC)",
            "queued",
            "sent",
            "answered",
            "reminded",
            "failed",
            "participation"
        );
        for r in mine {
            let occ = if r.source == "manual" {
                format!(
                    "one-off: {}",
                    crate::text::truncate(r.question.as_deref().unwrap_or(""), 24)
                )
            } else {
                r.occurrence.clone()
            };
            let when = DateTime::from_timestamp_millis(r.scheduled_at_ms)
                .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let part = match r.participation() {
                Some(p) => format!("{:.0}% ({}/{})", p * 100.0, r.answered, r.eligible),
                None => "-".into(),
            };
            let skipped = if r.skipped.is_empty() {
                "-".to_string()
            } else {
                r.skipped
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let queued = if r.run_status == "pending" || r.run_status == "planning" {
                format!("({})", r.run_status)
            } else {
                r.queued.to_string()
            };
            let _ = writeln!(
                out,
                "  {:<34} {:<17} {:>6} {:>5} {:>8} {:>8} {:>6}  {:<14} {}",
                occ, when, queued, r.sent, r.answered, r.reminded, r.failed, part, skipped
            );
        }
    }
    let errors = store.delivery_errors(20).await?;
    if !errors.is_empty() {
        let _ = writeln!(out, "\nDelivery errors (newest first):");
        for e in errors {
            let state = if e.status == "failed" {
                format!("failed after {} attempt(s)", e.attempts)
            } else {
                format!("retrying (attempt {})", e.attempts)
            };
            let _ = writeln!(
                out,
                "  {} {} {} {}: {state}: {}",
                e.checkin, e.occurrence, e.user_id, e.kind, e.error
            );
        }
    }
    let backlog = store.inbox_backlog().await?;
    let parked = store.parked_events(20).await?;
    if backlog > 0 || !parked.is_empty() {
        let _ = writeln!(
            out,
            "\nSlack events: {backlog} waiting in the inbox, {} parked",
            parked.len()
        );
    }
    if !parked.is_empty() {
        let _ = writeln!(
            out,
            "Parked events (given up after at most {} attempts, `[bot] max_event_attempts`; the rep was told and got their text back; newest first):",
            cfg.bot.max_event_attempts
        );
        for p in parked {
            let when = chrono::DateTime::from_timestamp_millis(p.received_at)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} received {when}, {} attempt(s): {}",
                p.event_id, p.attempts, p.last_error
            );
        }
    }
    Ok(out)
}

/// `fieldnotes schedule preview`: each person's next `next` sends of each
/// check-in (or one), in their local time and UTC, with skips explained.
pub async fn preview(state: &Bot, checkin: Option<&str>, next: usize) -> Result<String> {
    let cfg = state.config();
    let now = state.clock.now();
    let checkins: Vec<&CheckIn> = match checkin {
        Some(n) => vec![cfg
            .checkin(n)
            .ok_or_else(|| anyhow::anyhow!("no check-in named `{n}` in {}", cfg.path.display()))?],
        None => cfg.checkins.iter().collect(),
    };
    let pauses = state.store.pauses(now.timestamp_millis()).await?;
    let mut out = String::new();
    for c in checkins {
        let zone = match c.zone {
            Zone::Fixed(tz) => tz.to_string(),
            Zone::Local => "each person's timezone".into(),
        };
        let _ = writeln!(
            out,
            "Check-in `{}`: `{}` ({}) in {zone}; answer window {}",
            c.name,
            c.cadence.expr(),
            c.cadence.describe(),
            crate::config::human_duration(c.window)
        );
        if c.paused_at(now) {
            let _ = writeln!(
                out,
                "  PAUSED in the config{}: nothing will be sent.",
                c.paused_until
                    .map(|d| format!(" until {d}"))
                    .unwrap_or_default()
            );
            continue;
        }
        let people = crate::slack::people::resolve_audience(state, c).await?;
        // Enough occurrences that every zone has `next` ahead of it.
        let look_back = match c.zone {
            Zone::Local => Duration::hours(27),
            Zone::Fixed(_) => Duration::zero(),
        };
        let occs: Vec<_> = c
            .cadence
            .occurrences_after(c.planning_zone(), now - look_back)
            .take(next + 2)
            .collect();
        let _ = writeln!(out, "  {} people", people.len());
        for p in &people {
            let region = cfg
                .calendar
                .region_of(&p.user_id)
                .map(|r| format!(", region {r}"))
                .unwrap_or_default();
            let name = if p.name.is_empty() { "" } else { &p.name };
            let _ = writeln!(out, "  {} {name}{region}", p.user_id);
            let mut shown = 0;
            for o in &occs {
                let run = scheduled_run(
                    &c.name,
                    o.local,
                    o.at.timestamp_millis(),
                    now.timestamp_millis(),
                );
                let ctx = PlanContext {
                    cfg: &cfg,
                    checkin: c,
                    run: &run,
                    now,
                    pauses: &pauses,
                    first_seen_ms: now.timestamp_millis(),
                };
                let Some(plan) = ctx.plan(p) else { continue };
                if plan.due_at_ms <= now.timestamp_millis() && plan.skip.is_none() {
                    continue;
                }
                if shown == next {
                    break;
                }
                shown += 1;
                let tz = ctx.person_zone(p);
                let due = DateTime::<Utc>::from_timestamp_millis(plan.due_at_ms).unwrap_or(now);
                let local = due.with_timezone(&tz);
                let what = match &plan.skip {
                    Some(reason) => format!("skip ({reason})"),
                    None if plan.reminders_ms.is_empty() => "send".to_string(),
                    None => format!(
                        "send; reminders {}",
                        plan.reminders_ms
                            .iter()
                            .filter_map(|r| DateTime::<Utc>::from_timestamp_millis(*r))
                            .map(|r| r.with_timezone(&tz).format("%a %H:%M").to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let _ = writeln!(
                    out,
                    "    {} {}  ({} UTC)  {what}",
                    local.format("%a %Y-%m-%d %H:%M"),
                    tz,
                    due.format("%Y-%m-%d %H:%M")
                );
            }
        }
    }
    Ok(out)
}
