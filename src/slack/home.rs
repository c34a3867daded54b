//! App Home: a rep's own page (check-ins on or paused, the next one, what is
//! waiting, their streak and latest notes with Edit / Delete), plus the
//! digest week at a glance for marketers, leads and admins.
//!
//! [`publish`] gathers the data; [`home_view`] is pure (data in, view out),
//! built as Slack's documented JSON like `views.rs` and kept inside Block
//! Kit's limits by construction (see SLACK_FACTS.md).

use super::views::{
    escape, field_text, plain, tag_label, HOME_PAUSE_1W, HOME_PAUSE_2W, HOME_RESUME,
};
use crate::app::AppState;
use crate::config::{Config, Zone};
use crate::digest::IsoWeek;
use crate::domain::{Insight, Sentiment, Source};
use crate::roles::Permission;
use crate::schedule::plan::{scheduled_run, PlanContext};
use crate::store::{PersonRow, WeekCounts, WeekPromptStats};
use crate::text::truncate;
use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use slack_morphism::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// action_id of each recent note's overflow menu; option values are
/// `edit:{id}` and `delete:{id}`.
pub const NOTE_MENU: &str = "fieldnotes_note_menu";
/// action_id of the "New field note" button.
pub const NEW_NOTE: &str = "fieldnotes_new_note";
/// action_id of the marketers' "Preview digest" button; its value is the
/// ISO week (`2026-W49`).
pub const PREVIEW_DIGEST: &str = "fieldnotes_preview_digest";
/// How many of a person's latest notes the home tab lists.
pub const RECENT_NOTES: usize = 10;
/// Top tags and competitors shown for the week.
pub const TOP_N: usize = 5;
/// Characters of a note quoted on the home tab.
const QUOTE_CHARS: usize = 280;
/// Occurrences looked at per check-in when finding the next one.
const MAX_SCAN: usize = 500;
/// Queued prompts looked at per person.
const MAX_QUEUED: i64 = 50;

/// A person's next check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextCheckin {
    pub checkin: String,
    /// When it is sent (epoch ms); at or before now when it is overdue.
    pub at_ms: i64,
}

/// Consecutive Monday-start weeks (in the person's zone) with a note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Streak {
    /// Counted back from this week, or from last week while this week has
    /// none yet.
    pub weeks: u32,
    /// Notes shared this week.
    pub this_week: u32,
}

/// The digest week for marketers, leads and admins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeekSummary {
    /// ISO week, e.g. `2026-W49`.
    pub week: String,
    /// Its first and last local date in the digest zone.
    pub starts: Option<NaiveDate>,
    pub ends: Option<NaiveDate>,
    pub timezone: String,
    pub prompts: WeekPromptStats,
    /// Notes, reps, sources, top tags and competitors, tone.
    pub counts: WeekCounts,
}

/// Everything one person's home tab shows.
#[derive(Debug, Clone)]
pub struct HomeData {
    pub user: String,
    pub bot_name: String,
    /// The person's timezone; every time is shown in it.
    pub tz: Tz,
    pub now: DateTime<Utc>,
    pub paused_until_ms: Option<i64>,
    pub next_checkin: Option<NextCheckin>,
    pub open_prompts: i64,
    pub streak: Streak,
    /// Newest first; at most [`RECENT_NOTES`] are shown.
    pub notes: Vec<Insight>,
    /// Shown only when the person is a marketer or lead.
    pub week: Option<WeekSummary>,
}

/// Gathers a person's home tab and publishes it (`views.publish`).
pub async fn publish(state: &AppState, user: &str) -> Result<()> {
    let data = gather(state, user).await?;
    let view = home_view(&state.config(), &data);
    state
        .slack
        .publish_home(user, view)
        .await
        .context("publishing App Home")?;
    Ok(())
}

/// Reads what [`home_view`] shows for `user`.
pub async fn gather(state: &AppState, user: &str) -> Result<HomeData> {
    let cfg = state.config();
    let now = state.clock.now();
    let now_ms = now.timestamp_millis();
    let store = &state.store;
    let tz = super::handlers::person_tz(state, user).await;
    let paused_until_ms = store.paused_until(user, now_ms).await?;
    let queued: Vec<(String, i64)> = store
        .queued_prompts(user, MAX_QUEUED)
        .await?
        .into_iter()
        .map(|p| (p.checkin, p.due_at_ms))
        .collect();
    let prompted = store.prompted_checkins(user).await?;
    let next = next_checkin(&cfg, user, tz, now, paused_until_ms, &queued, &prompted);
    let open_prompts = store.open_prompt_count(user, now_ms).await?;
    let times = store.note_times(user, i64::MIN).await?;
    let notes = store.recent_insights(user, RECENT_NOTES as i64).await?;
    let week = if cfg.roles.can(user, Permission::DigestPreview) {
        let dtz = cfg.digest.timezone;
        let w = IsoWeek::containing(now, dtz);
        let (from, to) = w.bounds_ms(dtz);
        let competitors: Vec<String> = cfg
            .vocabulary("competitor")
            .iter()
            .map(|t| t.id.clone())
            .collect();
        let c = store
            .week_counts(from, to, &competitors, TOP_N as i64)
            .await?;
        let (starts, ends) = w.local_dates();
        Some(WeekSummary {
            week: w.to_string(),
            starts: Some(starts),
            ends: Some(ends),
            timezone: dtz.to_string(),
            prompts: store.week_prompt_stats(from, to).await?,
            counts: c,
        })
    } else {
        None
    };
    Ok(HomeData {
        user: user.to_string(),
        bot_name: cfg.bot.name.clone(),
        tz,
        now,
        paused_until_ms,
        next_checkin: next,
        open_prompts,
        streak: streak(&times, now, tz),
        notes,
        week,
    })
}

/// The Monday starting the week of `d`.
fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// A person's streak from when their notes were shared. Weeks start on
/// Monday in `tz` and are compared as local dates, so a DST change never
/// moves a note into the wrong week.
pub fn streak(note_times_ms: &[i64], now: DateTime<Utc>, tz: Tz) -> Streak {
    let this = week_start(now.with_timezone(&tz).date_naive());
    let weeks: Vec<NaiveDate> = note_times_ms
        .iter()
        .filter_map(|ms| DateTime::from_timestamp_millis(*ms))
        .map(|t| week_start(t.with_timezone(&tz).date_naive()))
        .collect();
    let this_week = weeks.iter().filter(|w| **w == this).count() as u32;
    let set: BTreeSet<NaiveDate> = weeks.into_iter().collect();
    let mut w = if this_week > 0 {
        this
    } else {
        this - Duration::days(7)
    };
    let mut n = 0;
    while set.contains(&w) {
        n += 1;
        w -= Duration::days(7);
    }
    Streak {
        weeks: n,
        this_week,
    }
}

/// The earliest of a person's queued prompts (`(check-in, due ms)`) and the
/// next occurrence of each check-in they belong to (listed in its audience,
/// or prompted by it before), planned the way the planner will plan it: in
/// the check-in's zone (or the person's, for local-time check-ins), moved or
/// skipped for their days off, after their pause, skipping paused check-ins.
pub fn next_checkin(
    cfg: &Config,
    user: &str,
    tz: Tz,
    now: DateTime<Utc>,
    paused_until_ms: Option<i64>,
    queued: &[(String, i64)],
    prompted: &[String],
) -> Option<NextCheckin> {
    let now_ms = now.timestamp_millis();
    let pause_end = paused_until_ms.filter(|u| *u > now_ms);
    // A prompt due while the person is paused is skipped when it comes up.
    let mut best: Option<NextCheckin> = queued
        .iter()
        .filter(|(_, due)| pause_end.is_none_or(|u| *due >= u))
        .min_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
        .map(|(c, due)| NextCheckin {
            checkin: c.clone(),
            at_ms: *due,
        });
    let person = PersonRow {
        user_id: user.to_string(),
        name: String::new(),
        tz: Some(tz.name().to_string()),
        is_bot: false,
        deleted: false,
        dm_channel: None,
        fetched_at_ms: now_ms,
    };
    let pauses: HashMap<String, i64> = pause_end
        .map(|u| (user.to_string(), u))
        .into_iter()
        .collect();
    // Start shortly before the pause ends: an occurrence on a day off just
    // before it may move past it.
    let from = pause_end
        .and_then(|u| DateTime::from_timestamp_millis(u - 14 * 86_400_000))
        .filter(|f| *f > now)
        .unwrap_or(now);
    for c in &cfg.checkins {
        let member = c.audience.users.iter().any(|u| u == user) || prompted.contains(&c.name);
        if !member || c.audience.exclude.iter().any(|u| u == user) || c.paused {
            continue;
        }
        let zone = match c.zone {
            Zone::Fixed(z) => z,
            Zone::Local => tz,
        };
        for o in c.cadence.occurrences_after(zone, from).take(MAX_SCAN) {
            let at_ms = o.at.timestamp_millis();
            // A day off only ever moves an occurrence later.
            if best.as_ref().is_some_and(|b| at_ms >= b.at_ms) {
                break;
            }
            if c.paused_at(o.at) {
                continue;
            }
            let run = scheduled_run(&c.name, o.local, at_ms, now_ms);
            let ctx = PlanContext {
                cfg,
                checkin: c,
                run: &run,
                now,
                pauses: &pauses,
                first_seen_ms: 0,
            };
            let Some(p) = ctx.plan(&person) else {
                continue;
            };
            if p.skip.is_some() || p.due_at_ms <= now_ms {
                continue;
            }
            if best.as_ref().is_none_or(|b| p.due_at_ms < b.at_ms) {
                best = Some(NextCheckin {
                    checkin: c.name.clone(),
                    at_ms: p.due_at_ms,
                });
            }
        }
    }
    best
}

fn mrkdwn(text: &str, max: usize) -> Value {
    json!({"type": "mrkdwn", "text": truncate(text, max)})
}

fn section(block_id: &str, text: &str) -> Value {
    json!({"type": "section", "block_id": block_id, "text": mrkdwn(text, 3000)})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [mrkdwn(text, 2000)]})
}

/// `Thu 3 Dec, 16:00` in `tz`, with the year when it isn't this year's.
fn when(ms: i64, tz: Tz, now: DateTime<Utc>) -> String {
    let Some(t) = DateTime::from_timestamp_millis(ms) else {
        return "?".into();
    };
    let t = t.with_timezone(&tz);
    if t.year() == now.with_timezone(&tz).year() {
        t.format("%a %-d %b, %H:%M").to_string()
    } else {
        t.format("%a %-d %b %Y, %H:%M").to_string()
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn source_label(source: &str) -> &str {
    match Source::parse(source) {
        Some(Source::Checkin) => "Check-in form",
        Some(Source::Reply) => "DM reply",
        Some(Source::Command) => "/fieldnotes note",
        Some(Source::Shortcut) => "Message shortcut",
        Some(Source::GlobalShortcut) => "New note shortcut",
        Some(Source::Home) => "App Home",
        None => source,
    }
}

fn sentiment_label(s: Sentiment) -> &'static str {
    match s {
        Sentiment::Positive => ":slightly_smiling_face: Positive",
        Sentiment::Neutral => ":neutral_face: Neutral",
        Sentiment::Negative => ":slightly_frowning_face: Negative",
    }
}

/// A short mrkdwn quote of a note: its lines, cut to [`QUOTE_CHARS`].
fn quote(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let short = truncate(&lines.join("\n"), QUOTE_CHARS);
    if short.is_empty() {
        return "_(empty note)_".into();
    }
    format!(">{}", escape(&short).replace('\n', "\n>"))
}

/// The note's details under its quote: fields, tags, sentiment, date.
fn note_meta(cfg: &Config, n: &Insight, tz: Tz, now: DateTime<Utc>) -> String {
    let mut parts: Vec<String> = vec![format!(
        "#{} · {}{}",
        n.id,
        when(n.created_at_ms, tz, now),
        if n.edited_at_ms.is_some() {
            " · edited"
        } else {
            ""
        }
    )];
    let mut shown: BTreeSet<&str> = BTreeSet::new();
    for f in n.fields.iter().take(6) {
        parts.push(escape(&field_text(cfg, f)));
        shown.insert(f.value.as_str());
    }
    let tags: Vec<String> = n
        .all_tags()
        .iter()
        .filter(|t| !shown.contains(t.as_str()))
        .map(|t| tag_label(cfg, t))
        .collect();
    if !tags.is_empty() {
        let mut list = tags.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
        if tags.len() > 8 {
            list.push_str(&format!(" +{}", tags.len() - 8));
        }
        parts.push(format!(":label: {}", escape(&list)));
    }
    if let Some(s) = n.sentiment {
        parts.push(sentiment_label(s).to_string());
    }
    parts.join(" · ")
}

/// `1. Acme · 5` lines, or a dash.
fn ranked(cfg: &Config, items: &[(String, i64)]) -> String {
    if items.is_empty() {
        return "—".into();
    }
    items
        .iter()
        .take(TOP_N)
        .enumerate()
        .map(|(i, (id, n))| format!("{}. {} · {n}", i + 1, escape(&tag_label(cfg, id))))
        .collect::<Vec<_>>()
        .join("\n")
}

fn field(title: &str, body: &str) -> Value {
    mrkdwn(&format!("*{title}*\n{body}"), 2000)
}

fn week_blocks(cfg: &Config, w: &WeekSummary) -> Vec<Value> {
    let c = &w.counts;
    let span = match (w.starts, w.ends) {
        (Some(s), Some(e)) => format!("{} – {}", s.format("%a %-d %b"), e.format("%a %-d %b")),
        _ => w.week.clone(),
    };
    let p = &w.prompts;
    let answered = if p.sent > 0 {
        format!(
            "{} of {} sent ({}%)",
            p.answered,
            p.sent,
            (p.answered * 100 + p.sent / 2) / p.sent
        )
    } else {
        "None sent yet".into()
    };
    let failed = if p.failed > 0 {
        format!("\n:warning: {} failed to send", p.failed)
    } else {
        String::new()
    };
    let scored = c.positive + c.neutral + c.negative;
    let sentiment = if scored + c.unscored == 0 {
        "—".to_string()
    } else {
        let mut s = format!(
            ":slightly_smiling_face: {} · :neutral_face: {} · :slightly_frowning_face: {}",
            c.positive, c.neutral, c.negative
        );
        if c.unscored > 0 {
            s.push_str(&format!(" · {} unscored", c.unscored));
        }
        s
    };
    let sources = if c.by_source.is_empty() {
        "—".to_string()
    } else {
        c.by_source
            .iter()
            .take(8)
            .map(|(s, n)| format!("{} · {n}", escape(source_label(s))))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut out = vec![
        json!({"type": "divider"}),
        json!({"type": "header", "text": plain(&format!("This week · {span}"), 150)}),
        json!({"type": "section", "block_id": "week_stats", "fields": [
            field("Notes", &c.notes.to_string()),
            field("Reps who shared", &c.reps.to_string()),
            field("Check-ins answered", &format!("{answered}{failed}")),
            field("Sentiment", &sentiment),
        ]}),
        json!({"type": "section", "block_id": "week_breakdown", "fields": [
            field("Top tags", &ranked(cfg, &c.top_tags)),
            field("Top competitors", &ranked(cfg, &c.top_competitors)),
            field("Notes by source", &sources),
        ]}),
    ];
    if c.notes == 0 {
        out.push(context(
            "No notes yet this week. They show up here as reps share them.",
        ));
    }
    out.push(json!({"type": "actions", "block_id": "week_actions", "elements": [
        {"type": "button", "action_id": PREVIEW_DIGEST, "value": truncate(&w.week, 2000), "text": plain("Preview digest", 75)}
    ]}));
    out.push(context(&format!(
        "Digest week {}, {} in {}, so far. Team-wide counts; deleted notes are left out.",
        w.week, span, w.timezone
    )));
    out
}

/// The home tab. Notes beyond [`RECENT_NOTES`] are left out and every text
/// is cut to Block Kit's limits, so any data gives a valid view.
pub fn home_view(cfg: &Config, d: &HomeData) -> SlackView {
    let tz = d.tz;
    let now = d.now;
    let now_ms = now.timestamp_millis();
    let paused = d.paused_until_ms.filter(|u| *u > now_ms);
    let mut b: Vec<Value> = vec![json!({"type": "header", "text": plain(&d.bot_name, 150)})];

    // Check-ins: on or paused, with the buttons to change it.
    b.push(match paused {
        Some(u) => section(
            "status",
            &format!(
                ":double_vertical_bar: *Check-ins are paused until {}.* No prompts or reminders till then, and you don't count against participation.",
                when(u, tz, now)
            ),
        ),
        None => section(
            "status",
            ":large_green_circle: *Check-ins are on.* You get a short prompt on your team's cadence, at a sensible local time.",
        ),
    });
    let mut buttons = vec![
        json!({"type": "button", "action_id": NEW_NOTE, "style": "primary", "value": "home", "text": plain("New field note", 75)}),
    ];
    match paused {
        Some(_) => buttons.push(json!({"type": "button", "action_id": HOME_RESUME, "value": "resume", "text": plain("Resume check-ins", 75)})),
        None => {
            buttons.push(json!({"type": "button", "action_id": HOME_PAUSE_1W, "value": "1w", "text": plain("Pause 1 week", 75)}));
            buttons.push(json!({"type": "button", "action_id": HOME_PAUSE_2W, "value": "2w", "text": plain("Pause 2 weeks", 75)}));
        }
    }
    b.push(json!({"type": "actions", "block_id": "home_actions", "elements": buttons}));

    // At a glance: next check-in, what's waiting, streak, this week.
    let next = match &d.next_checkin {
        Some(n) if n.at_ms <= now_ms => format!("Any moment now ({})", escape(&n.checkin)),
        Some(n) => format!("{} ({})", when(n.at_ms, tz, now), escape(&n.checkin)),
        None if paused.is_some() => "None before your pause ends".into(),
        None => "Nothing scheduled for you yet".into(),
    };
    let waiting = match d.open_prompts {
        0 => "Nothing. You're all caught up :white_check_mark:".to_string(),
        n => format!(
            "{} in your DMs with me",
            plural(n, "open check-in", "open check-ins")
        ),
    };
    let s = d.streak;
    let streak = match (s.weeks, s.this_week) {
        (0, _) => "No streak yet. Share a note this week to start one".to_string(),
        (w, 0) => format!(
            ":fire: {}. Share one this week to keep it going",
            plural(w.into(), "week", "weeks")
        ),
        (w, _) => format!(":fire: {} in a row", plural(w.into(), "week", "weeks")),
    };
    let this_week = match s.this_week {
        0 => "No notes yet".to_string(),
        n => plural(n.into(), "note", "notes"),
    };
    b.push(json!({"type": "section", "block_id": "glance", "fields": [
        field("Next check-in", &next),
        field("Waiting for you", &waiting),
        field("Your streak", &streak),
        field("This week", &this_week),
    ]}));
    b.push(context(&format!(
        "Times are in {tz}, your Slack timezone. Share a note any time with `/fieldnotes note ...`; pause from anywhere with `/fieldnotes pause 2w`."
    )));

    if let Some(w) = d
        .week
        .as_ref()
        .filter(|_| cfg.roles.can(&d.user, Permission::DigestPreview))
    {
        b.extend(week_blocks(cfg, w));
    }

    // Latest notes, each with Edit / Delete.
    b.push(json!({"type": "divider"}));
    b.push(json!({"type": "header", "text": plain("Your latest notes", 150)}));
    if d.notes.is_empty() {
        b.push(section(
            "notes_empty",
            "*You haven't shared any field notes yet.*\nHeard something from a buyer: a competitor, an objection, a campaign that landed? Press *New field note* above, type `/fieldnotes note Acme came up on price again`, answer a check-in from your DMs, or use *Save as field insight* from any message's ⋯ menu. Tags are added from your words.",
        ));
    } else {
        for n in d.notes.iter().take(RECENT_NOTES) {
            b.push(json!({
                "type": "section",
                "block_id": truncate(&format!("note:{}", n.id), 255),
                "text": mrkdwn(&quote(&n.text), 3000),
                "accessory": {"type": "overflow", "action_id": NOTE_MENU, "options": [
                    {"text": plain("Edit", 75), "value": truncate(&format!("edit:{}", n.id), 150)},
                    {"text": plain("Delete", 75), "value": truncate(&format!("delete:{}", n.id), 150)}
                ]}
            }));
            b.push(context(&note_meta(cfg, n, tz, now)));
        }
        let shown = d.notes.len().min(RECENT_NOTES);
        b.push(context(&if shown == 1 {
            "Your newest note. Edit or delete it from its ⋯ menu.".to_string()
        } else {
            format!("Your {shown} newest notes. Edit or delete one from its ⋯ menu.")
        }));
    }
    b.truncate(100);
    serde_json::from_value(json!({"type": "home", "blocks": b})).expect("home view JSON parses")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldValue;
    use chrono::{NaiveDateTime, TimeZone};
    use std::path::Path;

    const NY: Tz = chrono_tz::America::New_York;

    fn shipped() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml")).unwrap()
    }

    const CFG: &str = r#"
[roles]
marketers = ["U0MKT"]
leads = ["U0LEAD"]

[digest]
timezone = "America/New_York"

[calendar.regions.ops]
holidays = [{ date = "2026-12-03", name = "Team day" }]
users = ["U0MOVE"]

[[tag]]
id = "competitor:acme"
label = "Acme"
category = "competitor"

[[tag]]
id = "objection:price"
label = "Price"
category = "objection"

[[checkin]]
name = "weekly-pulse"
cadence = "0 16 * * THU"
local_time = true
prompt = "What did you hear?"
audience = { users = ["U0REP"] }
questions = [{ id = "heard", label = "What did you hear?" }]

[[checkin]]
name = "london-daily"
cadence = "0 9 * * MON-FRI"
timezone = "Europe/London"
prompt = "What did you hear?"
audience = { channels = ["C0SALES"] }
questions = [{ id = "heard", label = "What did you hear?" }]

[[checkin]]
name = "moved"
cadence = "0 10 * * THU"
timezone = "America/New_York"
on_holiday = "next_workday"
prompt = "What did you hear?"
audience = { users = ["U0MOVE"] }
questions = [{ id = "heard", label = "What did you hear?" }]

[[checkin]]
name = "off"
cadence = "* * * * *"
timezone = "UTC"
paused = true
prompt = "What did you hear?"
audience = { users = ["U0REP", "U0MOVE"] }
questions = [{ id = "heard", label = "What did you hear?" }]
"#;

    fn cfg() -> Config {
        Config::parse(Path::new("t.toml"), CFG).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    fn local_ms(tz: Tz, s: &str) -> i64 {
        tz.from_local_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
            .earliest()
            .unwrap()
            .timestamp_millis()
    }

    fn note(id: i64, text: &str, at_ms: i64) -> Insight {
        Insight {
            id,
            user_id: "U0REP".into(),
            text: text.into(),
            created_at_ms: at_ms,
            ..Default::default()
        }
    }

    fn data(user: &str) -> HomeData {
        HomeData {
            user: user.into(),
            bot_name: "Fieldnotes".into(),
            tz: NY,
            now: utc("2026-12-01 15:00"),
            paused_until_ms: None,
            next_checkin: None,
            open_prompts: 0,
            streak: Streak::default(),
            notes: vec![],
            week: None,
        }
    }

    fn json(cfg: &Config, d: &HomeData) -> Value {
        let v = serde_json::to_value(home_view(cfg, d)).unwrap();
        slack_emulator::blockkit::validate_view(&v).unwrap_or_else(|e| panic!("{e:?}\n{v:#}"));
        check_limits(&v);
        v
    }

    fn chars(v: &Value) -> usize {
        v.as_str().map(|s| s.chars().count()).unwrap_or(0)
    }

    /// Slack's documented limits (SLACK_FACTS.md), checked directly.
    fn check_limits(v: &Value) {
        let blocks = v["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 100, "{} blocks", blocks.len());
        let mut ids = BTreeSet::new();
        for b in blocks {
            if let Some(id) = b["block_id"].as_str() {
                assert!(id.len() <= 255);
                assert!(ids.insert(id.to_string()), "duplicate block_id {id}");
            }
            match b["type"].as_str().unwrap() {
                "section" => {
                    if !b["text"].is_null() {
                        let n = chars(&b["text"]["text"]);
                        assert!((1..=3000).contains(&n), "section text {n}");
                    }
                    if let Some(f) = b["fields"].as_array() {
                        assert!(f.len() <= 10);
                        assert!(f.iter().all(|f| chars(&f["text"]) <= 2000));
                    }
                    let acc = &b["accessory"];
                    if acc["type"] == "overflow" {
                        let opts = acc["options"].as_array().unwrap();
                        assert!((2..=5).contains(&opts.len()));
                        for o in opts {
                            assert!(chars(&o["text"]["text"]) <= 75);
                            assert!(chars(&o["value"]) <= 150);
                        }
                    }
                }
                "header" => assert!(chars(&b["text"]["text"]) <= 150),
                "context" => {
                    let e = b["elements"].as_array().unwrap();
                    assert!((1..=10).contains(&e.len()));
                    assert!(e.iter().all(|e| chars(&e["text"]) <= 2000));
                }
                "actions" => {
                    let e = b["elements"].as_array().unwrap();
                    assert!(e.len() <= 25);
                    for el in e {
                        assert!(chars(&el["text"]["text"]) <= 75);
                        assert!(chars(&el["value"]) <= 2000);
                        assert!(chars(&el["action_id"]) <= 255);
                    }
                }
                _ => {}
            }
        }
    }

    fn all_text(v: &Value) -> String {
        v.to_string()
    }

    fn action_ids(v: &Value) -> Vec<String> {
        let mut out = vec![];
        for b in v["blocks"].as_array().unwrap() {
            for e in b["elements"].as_array().into_iter().flatten() {
                if let Some(a) = e["action_id"].as_str() {
                    out.push(a.to_string());
                }
            }
            if let Some(a) = b["accessory"]["action_id"].as_str() {
                out.push(a.to_string());
            }
        }
        out
    }

    fn full_week() -> WeekSummary {
        WeekSummary {
            week: "2026-W49".into(),
            starts: NaiveDate::from_ymd_opt(2026, 11, 30),
            ends: NaiveDate::from_ymd_opt(2026, 12, 6),
            timezone: "America/New_York".into(),
            prompts: WeekPromptStats {
                sent: 10,
                answered: 8,
                failed: 1,
            },
            counts: WeekCounts {
                notes: 12,
                reps: 5,
                by_source: vec![("checkin".into(), 8), ("command".into(), 4)],
                top_tags: (0..TOP_N)
                    .map(|i| (format!("tag-{i}-{}", "x".repeat(500)), 9 - i as i64))
                    .chain([("objection:price".into(), 1)])
                    .collect(),
                top_competitors: vec![("competitor:acme".into(), 4)],
                positive: 4,
                neutral: 6,
                negative: 1,
                unscored: 1,
            },
        }
    }

    #[test]
    fn ten_long_notes_stay_inside_limits() {
        let c = shipped();
        let mut d = data("U0MKT0001");
        let long = format!("<!channel> & {}\n\n{}", "é".repeat(4000), "y".repeat(4000));
        d.notes = (0..25)
            .map(|i| {
                let mut n = note(i64::MAX - i, &long, local_ms(NY, "2026-11-30 09:00"));
                n.tags = c.tags.iter().map(|t| t.id.clone()).collect();
                n.auto_tags = (0..50)
                    .map(|k| format!("auto-{k}-{}", "z".repeat(300)))
                    .collect();
                n.fields = (0..20)
                    .map(|k| FieldValue::new(format!("f{k}"), "v".repeat(2000)))
                    .collect();
                n.sentiment = Some(Sentiment::Negative);
                n.edited_at_ms = Some(1);
                n
            })
            .collect();
        d.week = Some(full_week());
        d.next_checkin = Some(NextCheckin {
            checkin: "c".repeat(3000),
            at_ms: local_ms(NY, "2026-12-03 16:00"),
        });
        d.bot_name = "B".repeat(400);
        d.open_prompts = 3;
        d.streak = Streak {
            weeks: 12,
            this_week: 2,
        };
        let v = json(&c, &d);
        let menus = v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["accessory"]["action_id"] == NOTE_MENU)
            .count();
        assert_eq!(menus, RECENT_NOTES);
        // Mentions are escaped, never sent live.
        assert!(!all_text(&v).contains("<!channel>"));
        assert!(all_text(&v).contains("&lt;!channel&gt; &amp;"));
    }

    #[test]
    fn overflow_menu_offers_edit_and_delete_by_id() {
        let c = cfg();
        let mut d = data("U0REP");
        let mut n = note(
            42,
            "Acme came up on price again",
            local_ms(NY, "2026-11-30 09:05"),
        );
        n.tags = vec!["competitor:acme".into()];
        n.auto_tags = vec!["objection:price".into(), "competitor:acme".into()];
        n.fields = vec![
            FieldValue::new("competitor", "competitor:acme"),
            FieldValue::new("lead_quality", "4"),
        ];
        n.sentiment = Some(Sentiment::Negative);
        n.edited_at_ms = Some(local_ms(NY, "2026-11-30 10:00"));
        d.notes = vec![n, note(7, "second", local_ms(NY, "2025-06-01 12:00"))];
        let v = json(&c, &d);
        let blocks = v["blocks"].as_array().unwrap();
        let i = blocks
            .iter()
            .position(|b| b["block_id"] == "note:42")
            .unwrap();
        let menu = &blocks[i]["accessory"];
        assert_eq!(menu["type"], "overflow");
        assert_eq!(menu["action_id"], NOTE_MENU);
        let values: Vec<&str> = menu["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, vec!["edit:42", "delete:42"]);
        assert_eq!(blocks[i]["text"]["text"], ">Acme came up on price again");
        let meta = blocks[i + 1]["elements"][0]["text"].as_str().unwrap();
        assert_eq!(
            meta,
            "#42 · Mon 30 Nov, 09:05 · edited · Competitor: Acme · Lead quality: 4/5 · :label: Price · :slightly_frowning_face: Negative"
        );
        // A label that already names its field isn't prefixed twice.
        let mut shipped_note = note(5, "x", 0);
        shipped_note.fields = vec![FieldValue::new("competitor", "competitor:acme")];
        let sc = shipped();
        assert_eq!(sc.tag("competitor:acme").unwrap().label, "Competitor: Acme");
        assert!(note_meta(&sc, &shipped_note, NY, d.now).contains(" · Competitor: Acme"));
        assert!(!note_meta(&sc, &shipped_note, NY, d.now).contains("Competitor: Competitor"));
        // Newest first, as given; an older year shows its year.
        let j = blocks
            .iter()
            .position(|b| b["block_id"] == "note:7")
            .unwrap();
        assert!(j > i);
        assert!(blocks[j + 1]["elements"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("#7 · Sun 1 Jun 2025, 12:00"));
    }

    #[test]
    fn marketer_section_only_for_marketers_and_leads() {
        let c = cfg();
        for (user, shown) in [("U0MKT", true), ("U0LEAD", true), ("U0REP", false)] {
            let mut d = data(user);
            d.week = Some(full_week());
            let v = json(&c, &d);
            assert_eq!(
                action_ids(&v).contains(&PREVIEW_DIGEST.to_string()),
                shown,
                "{user}"
            );
            assert_eq!(all_text(&v).contains("This week ·"), shown, "{user}");
            if shown {
                let t = all_text(&v);
                assert!(t.contains("8 of 10 sent (80%)"));
                assert!(t.contains("1. Acme · 4"));
                assert!(t.contains("Check-in form · 8"));
                let b = v["blocks"].as_array().unwrap();
                let btn = b
                    .iter()
                    .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
                    .find(|e| e["action_id"] == PREVIEW_DIGEST)
                    .unwrap();
                assert_eq!(btn["value"], "2026-W49");
            }
        }
        // A marketer with no data for the week still gets a valid section.
        let mut d = data("U0MKT");
        d.week = Some(WeekSummary {
            week: "2026-W49".into(),
            ..Default::default()
        });
        let v = json(&c, &d);
        assert!(all_text(&v).contains("No notes yet this week"));
        assert!(all_text(&v).contains("None sent yet"));
    }

    #[test]
    fn empty_states_and_pause_buttons() {
        let c = cfg();
        let d = data("U0REP");
        let v = json(&c, &d);
        let t = all_text(&v);
        assert!(t.contains("You haven't shared any field notes yet"));
        assert!(t.contains("Nothing scheduled for you yet"));
        assert!(t.contains("all caught up"));
        assert!(t.contains("No streak yet"));
        assert!(t.contains("Check-ins are on"));
        assert_eq!(action_ids(&v), vec![NEW_NOTE, HOME_PAUSE_1W, HOME_PAUSE_2W]);

        let mut d = data("U0REP");
        d.paused_until_ms = Some(local_ms(NY, "2026-12-08 15:00"));
        d.open_prompts = 1;
        d.streak = Streak {
            weeks: 3,
            this_week: 0,
        };
        d.next_checkin = Some(NextCheckin {
            checkin: "weekly-pulse".into(),
            at_ms: local_ms(NY, "2026-12-10 16:00"),
        });
        let v = json(&c, &d);
        let t = all_text(&v);
        assert!(t.contains("paused until Tue 8 Dec, 15:00"));
        assert!(t.contains("Thu 10 Dec, 16:00 (weekly-pulse)"));
        assert!(t.contains("1 open check-in in your DMs"));
        assert!(t.contains("3 weeks. Share one this week to keep it going"));
        assert_eq!(action_ids(&v), vec![NEW_NOTE, HOME_RESUME]);
    }

    #[test]
    fn streak_counts_monday_weeks_in_the_persons_zone() {
        // Now: Wednesday 4 Nov 2026, 10:00 in New York (US DST ended 1 Nov).
        let now = utc("2026-11-04 15:00");
        let at = |s: &str| local_ms(NY, s);
        assert_eq!(streak(&[], now, NY), Streak::default());

        // This week (from Monday 00:00), the week ending with the DST
        // change (Sunday 1 Nov, 01:30 happens twice), the one before, and
        // one after a gap.
        let times = [
            at("2026-11-03 09:00"),
            at("2026-11-02 00:00"),
            at("2026-11-01 01:30"),
            at("2026-10-19 12:00"),
            at("2026-10-05 12:00"),
        ];
        assert_eq!(
            streak(&times, now, NY),
            Streak {
                weeks: 3,
                this_week: 2
            }
        );
        // Nothing yet this week: the streak still counts up to last week.
        assert_eq!(
            streak(&times[2..], now, NY),
            Streak {
                weeks: 2,
                this_week: 0
            }
        );
        // A gap of a whole week breaks it.
        assert_eq!(
            streak(&times[3..], now, NY),
            Streak {
                weeks: 0,
                this_week: 0
            }
        );
        // Sunday 23:30 in New York is Monday in UTC and in Kolkata: the
        // week depends on the person's zone.
        let sunday_night = at("2026-11-01 23:30");
        let kolkata = chrono_tz::Asia::Kolkata;
        let mon = utc("2026-11-02 12:00");
        assert_eq!(streak(&[sunday_night], mon, NY).this_week, 0);
        assert_eq!(streak(&[sunday_night], mon, NY).weeks, 1);
        assert_eq!(
            streak(&[sunday_night], mon, kolkata),
            Streak {
                weeks: 1,
                this_week: 1
            }
        );
        // Spring forward: the week of Mon 2 Mar 2026 is 167 hours long, so
        // counting 168-hour weeks would put Mon 9 Mar 00:30 in it.
        let now = utc("2026-03-16 04:30"); // Mon 16 Mar 00:30 EDT
        let times = [
            at("2026-03-16 00:10"),
            at("2026-03-09 00:30"),
            at("2026-03-08 23:59"),
        ];
        assert_eq!(
            streak(&times, now, NY),
            Streak {
                weeks: 3,
                this_week: 1
            }
        );
        assert_eq!(streak(&times[..2], now, NY).weeks, 2);
    }

    #[test]
    fn next_checkin_from_cadence_queue_and_pauses() {
        let c = cfg();
        // Tue 1 Dec 2026 10:00 in New York.
        let now = utc("2026-12-01 15:00");
        let london = chrono_tz::Europe::London;
        let kolkata = chrono_tz::Asia::Kolkata;

        // Listed in weekly-pulse (local time): Thu 16:00 in their own zone.
        let n = next_checkin(&c, "U0REP", NY, now, None, &[], &[]).unwrap();
        assert_eq!(n.checkin, "weekly-pulse");
        assert_eq!(n.at_ms, local_ms(NY, "2026-12-03 16:00"));
        let n = next_checkin(&c, "U0REP", kolkata, now, None, &[], &[]).unwrap();
        assert_eq!(n.at_ms, local_ms(kolkata, "2026-12-03 16:00"));

        // Not listed, but prompted by london-daily before: 09:00 London
        // (fixed zone) on the next workday, whatever the person's zone.
        let prompted = vec!["london-daily".to_string()];
        let n = next_checkin(&c, "U0CHAN", NY, now, None, &[], &prompted).unwrap();
        assert_eq!(n.checkin, "london-daily");
        assert_eq!(n.at_ms, local_ms(london, "2026-12-02 09:00"));
        // Nobody's check-in: nothing.
        assert_eq!(next_checkin(&c, "U0CHAN", NY, now, None, &[], &[]), None);

        // A queued prompt sooner than the cadence wins, and vice versa.
        let soon = vec![("weekly-pulse".to_string(), local_ms(NY, "2026-12-01 11:00"))];
        let n = next_checkin(&c, "U0REP", NY, now, None, &soon, &[]).unwrap();
        assert_eq!(n.at_ms, local_ms(NY, "2026-12-01 11:00"));
        let later = vec![("ask".to_string(), local_ms(NY, "2026-12-09 11:00"))];
        let n = next_checkin(&c, "U0REP", NY, now, None, &later, &[]).unwrap();
        assert_eq!(n.checkin, "weekly-pulse");

        // Paused until Mon 7 Dec: this Thursday is skipped, and so is a
        // queued prompt due during the pause.
        let pause = Some(local_ms(NY, "2026-12-07 10:00"));
        let n = next_checkin(&c, "U0REP", NY, now, pause, &soon, &[]).unwrap();
        assert_eq!(n.at_ms, local_ms(NY, "2026-12-10 16:00"));
        // A pause already over changes nothing.
        let over = Some(local_ms(NY, "2026-11-30 10:00"));
        let n = next_checkin(&c, "U0REP", NY, now, over, &[], &[]).unwrap();
        assert_eq!(n.at_ms, local_ms(NY, "2026-12-03 16:00"));

        // Thursday 3 Dec is U0MOVE's holiday: "moved" goes to Friday 4 Dec, 10:00;
        // the paused check-in (every minute) never counts.
        let n = next_checkin(&c, "U0MOVE", NY, now, None, &[], &[]).unwrap();
        assert_eq!(n.checkin, "moved");
        assert_eq!(n.at_ms, local_ms(NY, "2026-12-04 10:00"));
    }

    #[test]
    fn next_checkin_follows_dst_in_the_persons_zone() {
        let c = cfg();
        // Thu 5 Mar 2026, 17:00 EST (past this week's 16:00); New York
        // springs forward on Sun 8 Mar.
        let now = utc("2026-03-05 22:00");
        let n = next_checkin(&c, "U0REP", NY, now, None, &[], &[]).unwrap();
        // Thu 12 Mar 16:00 EDT = 20:00 UTC (not 21:00).
        assert_eq!(n.at_ms, utc("2026-03-12 20:00").timestamp_millis());
        let d = HomeData {
            next_checkin: Some(n),
            now,
            ..data("U0REP")
        };
        assert!(all_text(&json(&c, &d)).contains("Thu 12 Mar, 16:00 (weekly-pulse)"));
    }
}
