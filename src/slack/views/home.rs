//! App Home's Block Kit: [`home_view`] turns a person's
//! [`HomeData`] into the home tab, built as Slack's documented JSON like
//! the rest of `views` and kept inside Block Kit's limits by construction
//! (see SLACK_FACTS.md). Pure: data in, view out.

use super::{escape, field_text, plain, tag_label, HOME_PAUSE_1W, HOME_PAUSE_2W, HOME_RESUME};
use crate::config::Config;
use crate::domain::{Insight, Sentiment, Source};
use crate::features::home::{HomeData, WeekSummary, RECENT_NOTES, TOP_N};
use crate::roles::Permission;
use crate::text::truncate;
use crate::tz::Tz;
use chrono::{DateTime, Datelike, Utc};
use serde_json::{json, Value};
use slack_morphism::prelude::*;
use std::collections::BTreeSet;

/// action_id of each recent note's overflow menu; option values are
/// `edit:{id}` and `delete:{id}`.
pub const NOTE_MENU: &str = "fieldnotes_note_menu";
/// action_id of the "New field note" button.
pub const NEW_NOTE: &str = "fieldnotes_new_note";
/// action_id of the marketers' "Preview digest" button; its value is the
/// ISO week (`2026-W49`).
pub const PREVIEW_DIGEST: &str = "fieldnotes_preview_digest";
/// Characters of a note quoted on the home tab.
const QUOTE_CHARS: usize = 280;

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
        Some(Source::FollowUp) => "Follow-up",
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
        {"type": "button", "action_id": PREVIEW_DIGEST, "value": truncate(&w.week, 2000), "text": plain("Preview digest", 75)},
        {"type": "button", "action_id": crate::slack::search::HOME_SEARCH, "value": "home", "text": plain("Search notes", 75)}
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

    // You said, we did: what marketing did with this person's notes.
    if !d.loop_closed.is_empty() {
        b.push(json!({"type": "divider"}));
        b.push(json!({"type": "header", "text": plain("You said, we did", 150)}));
        for a in d.loop_closed.iter().take(crate::features::home::LOOP_SHOWN) {
            let kind = crate::features::loops::Kind::parse(&a.kind);
            let what = match kind {
                Some(crate::features::loops::Kind::Acting) => "is acting on your note",
                Some(crate::features::loops::Kind::Thanks) => "thanked you for your note",
                Some(crate::features::loops::Kind::Ask) => "asked about your note",
                None => "responded to your note",
            };
            let mut text = format!(
                "{} <@{}> {what} ({})",
                kind.map(|k| k.emoji()).unwrap_or(":speech_balloon:"),
                a.actor,
                when(a.created_at, tz, now)
            );
            if !a.text.is_empty() {
                text.push_str(&format!(": \"{}\"", escape(&truncate(&a.text, 600))));
            }
            if a.follow_ups > 0 {
                text.push_str(" · you answered");
            }
            text.push('\n');
            text.push_str(&quote(&a.note));
            b.push(json!({
                "type": "section",
                "block_id": truncate(&format!("loop:{}", a.id), 255),
                "text": mrkdwn(&text, 3000),
            }));
        }
        b.push(context(
            "Marketing reads every note. When they act on one, thank you or ask a follow-up, it shows here.",
        ));
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
    //! The home tab inside Block Kit's limits for any data, with each
    //! section and button shown to whom it should be.

    use super::*;
    use crate::domain::FieldValue;
    use crate::features::home::fixtures::{cfg, local_ms, ny, utc};
    use crate::features::home::{NextCheckin, Streak};
    use crate::store::{WeekCounts, WeekPromptStats};
    use chrono::NaiveDate;
    use std::path::Path;

    fn shipped() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml")).unwrap()
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
            tz: ny(),
            now: utc("2026-12-01 15:00"),
            paused_until_ms: None,
            next_checkin: None,
            open_prompts: 0,
            streak: Streak::default(),
            notes: vec![],
            week: None,
            loop_closed: vec![],
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
                let mut n = note(i64::MAX - i, &long, local_ms(ny(), "2026-11-30 09:00"));
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
            at_ms: local_ms(ny(), "2026-12-03 16:00"),
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
            local_ms(ny(), "2026-11-30 09:05"),
        );
        n.tags = vec!["competitor:acme".into()];
        n.auto_tags = vec!["objection:price".into(), "competitor:acme".into()];
        n.fields = vec![
            FieldValue::new("competitor", "competitor:acme"),
            FieldValue::new("lead_quality", "4"),
        ];
        n.sentiment = Some(Sentiment::Negative);
        n.edited_at_ms = Some(local_ms(ny(), "2026-11-30 10:00"));
        d.notes = vec![n, note(7, "second", local_ms(ny(), "2025-06-01 12:00"))];
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
        assert!(note_meta(&sc, &shipped_note, ny(), d.now).contains(" · Competitor: Acme"));
        assert!(!note_meta(&sc, &shipped_note, ny(), d.now).contains("Competitor: Competitor"));
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
        d.paused_until_ms = Some(local_ms(ny(), "2026-12-08 15:00"));
        d.open_prompts = 1;
        d.streak = Streak {
            weeks: 3,
            this_week: 0,
        };
        d.next_checkin = Some(NextCheckin {
            checkin: "weekly-pulse".into(),
            at_ms: local_ms(ny(), "2026-12-10 16:00"),
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
    fn next_checkin_shown_in_the_persons_zone_across_dst() {
        let c = cfg();
        // Thu 5 Mar 2026, 17:00 EST; New York springs forward on Sun 8 Mar,
        // and features::home finds the next check-in at Thu 12 Mar 16:00
        // EDT = 20:00 UTC.
        let d = HomeData {
            next_checkin: Some(NextCheckin {
                checkin: "weekly-pulse".into(),
                at_ms: utc("2026-03-12 20:00").timestamp_millis(),
            }),
            now: utc("2026-03-05 22:00"),
            ..data("U0REP")
        };
        assert!(all_text(&json(&c, &d)).contains("Thu 12 Mar, 16:00 (weekly-pulse)"));
    }
}
