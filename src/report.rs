//! What team leads read: `fieldnotes status` (what happened, per check-in
//! occurrence), `fieldnotes schedule preview` (what will happen, per
//! person, with skips and pauses explained, and when each digest goes out)
//! and `fieldnotes check-config` (what the config will do).

use crate::config::{Attribution, CheckIn, Config, DigestDef, PeriodSpec, Zone};
use crate::plan::{scheduled_run, PlanContext};
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
    let runs = store.recent_digest_runs(10).await?;
    if !runs.is_empty() {
        let _ = writeln!(out, "\nDigests (newest first):");
        for r in &runs {
            let when = DateTime::from_timestamp_millis(r.scheduled_at)
                .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            let _ = writeln!(out, "  {when}  {}", crate::digest::run_line(r));
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
/// check-in (or one), in their local time and UTC, with skips explained;
/// then, unless one check-in was asked for, each digest's next `next`
/// sends.
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
    // `--checkin` asks about one check-in only; otherwise the digests too.
    if checkin.is_none() {
        preview_digests(&mut out, &cfg.digests, now, next);
    }
    Ok(out)
}

/// The digest part of `schedule preview`: each digest's next `next`
/// sends, in its timezone and UTC, and where they go.
fn preview_digests(out: &mut String, digests: &[DigestDef], now: DateTime<Utc>, next: usize) {
    for d in digests {
        let _ = writeln!(
            out,
            "Digest `{}`: `{}` ({}) in {}; covers the {}",
            d.name,
            d.cadence.expr(),
            d.cadence.describe(),
            d.timezone,
            period_text(d.period)
        );
        let _ = writeln!(out, "  recipients: {}", recipients_text(d));
        for o in d.cadence.upcoming(d.timezone, now, next) {
            let _ = writeln!(
                out,
                "    {} {}  ({} UTC)  post",
                o.local.format("%a %Y-%m-%d %H:%M"),
                d.timezone,
                o.at.format("%Y-%m-%d %H:%M")
            );
        }
    }
}

// ------------------------------------------------------------ check-config

/// `fieldnotes check-config`: a human summary of what a valid config will
/// do. `now` anchors the "next sends" it lists.
pub fn check_config(cfg: &crate::config::Config, now: chrono::DateTime<chrono::Utc>) -> String {
    use crate::config::{human_duration, questions, CatchUp, OnHoliday, Zone};
    use std::collections::BTreeSet;
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "Config {} is valid.", cfg.path.display());
    let _ = writeln!(
        out,
        "Bot: {} (polls every {:?}; at most {} messages/minute workspace-wide)",
        cfg.bot.name, cfg.bot.tick, cfg.bot.workspace_messages_per_minute
    );
    let _ = writeln!(
        out,
        "Roles: {} admin(s), {} marketer(s), {} lead(s); everyone else is a rep",
        cfg.roles.admins.len(),
        cfg.roles.marketers.len(),
        cfg.roles.leads.len()
    );
    let cats: BTreeSet<&str> = cfg
        .tags
        .iter()
        .filter_map(|t| t.category.as_deref())
        .collect();
    let kw: usize = cfg.tags.iter().map(|t| t.keywords.len()).sum();
    let _ = writeln!(
        out,
        "Taxonomy: {} tags in {} categories ({}), {} keywords",
        cfg.tags.len(),
        cats.len(),
        cats.into_iter().collect::<Vec<_>>().join(", "),
        kw
    );
    let fields: Vec<String> = cfg
        .note_questions
        .iter()
        .skip(1)
        .map(|q| {
            let n = cfg.vocabulary(q.field_name()).len();
            if n > questions::MAX_STATIC_OPTIONS {
                format!("{} ({n}, type-ahead)", q.field_name())
            } else if q.field_name() == questions::LEAD_QUALITY {
                format!("{} (1-5)", q.field_name())
            } else {
                format!("{} ({n})", q.field_name())
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "Typed fields on the free-note form: {}; deleted notes purged after {}",
        if fields.is_empty() {
            "none".to_string()
        } else {
            fields.join(", ")
        },
        human_duration(cfg.retention.deleted_notes)
    );
    let _ = writeln!(
        out,
        "Retention: notes {}; `fieldnotes purge --user ID` erases one person",
        cfg.retention
            .notes
            .map(|d| format!("purged {} after they were shared", human_duration(d)))
            .unwrap_or_else(|| "kept until deleted (no `retention.notes`)".into())
    );
    let _ = writeln!(
        out,
        "Timezone: {} (App Home's week; anyone whose Slack profile has no timezone)",
        cfg.timezone
    );
    let days: Vec<String> = (0..7)
        .filter(|i| cfg.calendar.workdays[*i])
        .map(|i| {
            chrono::Weekday::try_from(i as u8)
                .map(|d| d.to_string())
                .unwrap_or_default()
        })
        .collect();
    let _ = writeln!(
        out,
        "Calendar: work days {}; {} holiday(s) for everyone; {} region(s){}",
        days.join(" "),
        cfg.calendar.holidays.len(),
        cfg.calendar.regions.len(),
        cfg.calendar
            .regions
            .iter()
            .map(|(n, r)| format!(
                " {n}: {} holiday(s), {} person(s)",
                r.holidays.len(),
                cfg.calendar.people.values().filter(|v| *v == n).count()
            ))
            .collect::<Vec<_>>()
            .join(";")
    );
    for c in &cfg.checkins {
        let _ = writeln!(
            out,
            "\nCheck-in `{}`{}",
            c.name,
            if c.paused_at(now) {
                " (PAUSED: nothing will be sent)"
            } else {
                ""
            }
        );
        let zone = match c.zone {
            Zone::Fixed(tz) => tz.to_string(),
            Zone::Local => "each person's own Slack timezone".to_string(),
        };
        let _ = writeln!(
            out,
            "  cadence: `{}` = {} ({zone})",
            c.cadence.expr(),
            c.cadence.describe(),
        );
        let always: Vec<&str> = c
            .questions
            .iter()
            .filter(|q| q.always)
            .map(|q| q.id.as_str())
            .collect();
        let _ = writeln!(
            out,
            "  questions: asks {} of {} ({}){}",
            c.ask,
            c.questions.len(),
            c.questions
                .iter()
                .map(|q| format!(
                    "{} [{}{}]",
                    q.id,
                    q.kind.as_str(),
                    q.field
                        .as_deref()
                        .map(|f| format!(": {f}"))
                        .unwrap_or_default()
                ))
                .collect::<Vec<_>>()
                .join(", "),
            if always.is_empty() {
                String::new()
            } else {
                format!("; always: {}", always.join(", "))
            }
        );
        let _ = writeln!(
            out,
            "  answer window: {}; reminders: {}; on a day off: {}; missed while down: {}",
            human_duration(c.window),
            if c.reminders.is_empty() {
                "none".to_string()
            } else {
                c.reminders
                    .iter()
                    .map(|d| format!("{} after", human_duration(*d)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            match c.on_holiday {
                OnHoliday::Skip => "skip",
                OnHoliday::NextWorkday => "move to the next work day",
            },
            match c.catch_up {
                CatchUp::WithinWindow => "send late while the window is open",
                CatchUp::Skip => "skip",
            }
        );
        if let Some(d) = c.paused_until {
            let _ = writeln!(out, "  paused until {d}");
        }
        let a = &c.audience;
        let _ = writeln!(
            out,
            "  audience: {} user(s), members of {} channel(s), {} user group(s), {} excluded",
            a.users.len(),
            a.channels.len(),
            a.usergroups.len(),
            a.exclude.len()
        );
        let _ = writeln!(out, "  prompt: \"{}\"", c.prompt);
        for q in &c.questions {
            let _ = writeln!(
                out,
                "  question `{}`{}: {}",
                q.id,
                if q.required { "" } else { " (optional)" },
                q.label
            );
        }
        let _ = writeln!(out, "  tag picker: {} tag(s)", c.tags.len());
        if !c.paused_at(now) {
            for o in c.cadence.upcoming(c.planning_zone(), now, 3) {
                match c.zone {
                    Zone::Fixed(tz) => {
                        let _ = writeln!(
                            out,
                            "  next: {} {tz} ({} UTC)",
                            o.local.format("%a %Y-%m-%d %H:%M"),
                            o.at.format("%Y-%m-%d %H:%M")
                        );
                    }
                    Zone::Local => {
                        let _ = writeln!(
                            out,
                            "  next: {} in each person's timezone",
                            o.local.format("%a %Y-%m-%d %H:%M"),
                        );
                    }
                }
            }
            let _ = writeln!(
                out,
                "  per person: `fieldnotes schedule preview --checkin {}`",
                c.name
            );
        }
    }
    if cfg.digests.is_empty() {
        let _ = writeln!(out, "\nDigests: none (add a [[digest]] entry to post one)");
    }
    for d in &cfg.digests {
        describe_digest(&mut out, d, now);
    }
    out
}

/// One digest in `check-config`: what it covers, who gets it, how it
/// reads, and its next sends in its timezone.
fn describe_digest(out: &mut String, d: &DigestDef, now: DateTime<Utc>) {
    let _ = writeln!(out, "\nDigest `{}`: \"{}\"", d.name, d.title);
    let _ = writeln!(out, "  period: {} in {}", period_text(d.period), d.timezone);
    let _ = writeln!(
        out,
        "  cadence: `{}` = {} ({})",
        d.cadence.expr(),
        d.cadence.describe(),
        d.timezone
    );
    let _ = writeln!(out, "  covers: {}", coverage_text(d));
    let _ = writeln!(out, "  recipients: {}", recipients_text(d));
    let _ = writeln!(
        out,
        "  quotes: {}, {}; up to {} in the quotes section",
        match d.attribution {
            Attribution::Named => "named (who said it is shown)",
            Attribution::Anonymous => "anonymous (no names)",
        },
        if d.redact {
            "emails and phone numbers masked"
        } else {
            "not redacted"
        },
        d.max_quotes
    );
    let _ = writeln!(
        out,
        "  sections: {}",
        d.sections
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "  chart: {}",
        if d.chart {
            "posted in the digest's thread"
        } else {
            "none"
        }
    );
    for o in d.cadence.upcoming(d.timezone, now, 3) {
        let _ = writeln!(
            out,
            "  next: {} {} ({} UTC)",
            o.local.format("%a %Y-%m-%d %H:%M"),
            d.timezone,
            o.at.format("%Y-%m-%d %H:%M")
        );
    }
}

fn period_text(p: PeriodSpec) -> String {
    match p {
        PeriodSpec::Week => "week (Monday to Sunday)".into(),
        PeriodSpec::Month => "calendar month".into(),
        PeriodSpec::Days(1) => "1 day".into(),
        PeriodSpec::Days(n) => format!("{n} days"),
    }
}

fn coverage_text(d: &DigestDef) -> String {
    let notes = if d.checkins.is_empty() {
        "every note".to_string()
    } else {
        let named: Vec<String> = d
            .checkins
            .iter()
            .map(|c| {
                if c == "notes" {
                    "notes shared outside a check-in".to_string()
                } else {
                    format!("check-in `{c}`")
                }
            })
            .collect();
        named.join(", ")
    };
    if d.tags.is_empty() {
        notes
    } else {
        format!("{notes}, tagged {}", d.tags.join(" or "))
    }
}

fn recipients_text(d: &DigestDef) -> String {
    let mut parts = Vec::new();
    match d.channels.len() {
        0 => {}
        1 => parts.push(format!("channel {}", d.channels[0])),
        _ => parts.push(format!("channels {}", d.channels.join(", "))),
    }
    match d.users.len() {
        0 => {}
        1 => parts.push(format!("a DM to {}", d.users[0])),
        _ => parts.push(format!("DMs to {}", d.users.join(", "))),
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    /// The shipped config's summary names its check-ins.
    #[test]
    fn check_config_describes_the_shipped_config() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml");
        let c = crate::config::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(super::check_config(&c, chrono::Utc::now()).contains("weekly-pulse"));
    }

    fn shipped() -> crate::config::Config {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml");
        crate::config::Config::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Wednesday 2 December 2026, 12:00 UTC.
    fn wednesday() -> chrono::DateTime<chrono::Utc> {
        "2026-12-02T12:00:00Z".parse().unwrap()
    }

    /// Each digest: what it covers, who gets it, how it reads, and its next
    /// three sends in its own timezone (09:00 New York is 14:00 UTC in
    /// winter).
    #[test]
    fn check_config_lists_each_digest_and_its_next_sends() {
        let out = super::check_config(&shipped(), wednesday());
        assert!(out.contains("Timezone: America/New_York"), "{out}");
        let part = &out[out.find("Digest `marketing-weekly`").expect("the digest")..];
        for line in [
            "Digest `marketing-weekly`: \"Weekly field digest\"",
            "  period: week (Monday to Sunday) in America/New_York",
            "  cadence: `0 9 * * MON` = ",
            "  covers: every note",
            "  recipients: channel C0MARKETNG",
            "  quotes: named (who said it is shown), emails and phone numbers masked; up to 6 in the quotes section",
            "  sections: participation, you_said_we_did, initiatives, trends, competitors, objections, funnel, assets, lead_quality, committee, ideas, market_shifts, quotes",
            "  chart: posted in the digest's thread",
            "  next: Mon 2026-12-07 09:00 America/New_York (2026-12-07 14:00 UTC)",
            "  next: Mon 2026-12-14 09:00 America/New_York (2026-12-14 14:00 UTC)",
            "  next: Mon 2026-12-21 09:00 America/New_York (2026-12-21 14:00 UTC)",
        ] {
            assert!(part.contains(line), "missing `{line}` in:\n{part}");
        }
        assert_eq!(part.matches("  next: ").count(), 3, "{part}");
    }

    #[test]
    fn check_config_says_when_there_is_no_digest() {
        let mut c = shipped();
        c.digests.clear();
        let out = super::check_config(&c, wednesday());
        assert!(out.contains("Digests: none"), "{out}");
    }

    /// `schedule preview`'s digest part: the next `next` sends, in the
    /// digest's zone and UTC, and where they go.
    #[test]
    fn preview_shows_when_each_digest_goes_out() {
        let mut c = shipped();
        let mut d = c.digests[0].clone();
        d.name = "leadership".into();
        d.period = crate::config::PeriodSpec::Days(14);
        d.channels.clear();
        d.users = vec!["U0LEAD001".into()];
        d.timezone = crate::tz::Tz::named("Europe/London").unwrap();
        c.digests.push(d);
        let mut out = String::new();
        super::preview_digests(&mut out, &c.digests, wednesday(), 2);
        assert_eq!(
            out.lines().filter(|l| l.starts_with("Digest ")).count(),
            2,
            "{out}"
        );
        for line in [
            "  recipients: channel C0MARKETNG",
            "    Mon 2026-12-07 09:00 America/New_York  (2026-12-07 14:00 UTC)  post",
            "    Mon 2026-12-14 09:00 America/New_York  (2026-12-14 14:00 UTC)  post",
            "covers the 14 days",
            "  recipients: a DM to U0LEAD001",
            "    Mon 2026-12-07 09:00 Europe/London  (2026-12-07 09:00 UTC)  post",
        ] {
            assert!(out.contains(line), "missing `{line}` in:\n{out}");
        }
        assert_eq!(out.matches("  post").count(), 4, "{out}");
    }
}
