//! `[[checkin]]`: a name defined once, a cadence, a zone (`timezone` or
//! `local_time`), the answer window and reminders inside it, the day-off
//! and catch-up rules, a pause, the tags offered and the audience. The
//! question pool is checked in `questions.rs`.

use super::tags::Taxonomy;
use super::{parse_tz, questions, valid_slug, valid_user_id};
use crate::config::error::SourceMap;
use crate::config::raw::{RawAudience, RawCheckin};
use crate::config::{
    human_duration, parse_date, parse_duration, Audience, CatchUp, CheckIn, ConfigError, OnHoliday,
    Zone, MAX_REMINDERS,
};
use crate::schedule::Crontab;
use std::collections::HashSet;
use std::time::Duration;
use toml::Spanned;

/// A prompt stays open this long when `window` is not set.
const DEFAULT_WINDOW: Duration = Duration::from_secs(2 * 86400);

pub(super) fn validate(
    src: &SourceMap<'_>,
    raw: Vec<RawCheckin>,
    taxonomy: &Taxonomy,
    errs: &mut Vec<ConfigError>,
) -> Vec<CheckIn> {
    let mut names = HashSet::new();
    let mut checkins = Vec::new();
    for c in raw {
        let name = c.name.get_ref().clone();
        let k = |field: &str| format!("checkin.{name}.{field}");
        if !valid_slug(&name) {
            errs.push(src.error(
                c.name.span(),
                k("name"),
                "check-in names must be lowercase letters, digits, `-` or `_`",
            ));
        } else if !names.insert(name.clone()) {
            errs.push(src.error(
                c.name.span(),
                k("name"),
                format!("check-in `{name}` is defined twice"),
            ));
        }
        let cadence = Crontab::parse(c.cadence.get_ref())
            .map_err(|e| {
                errs.push(src.error(
                    c.cadence.span(),
                    k("cadence"),
                    format!("invalid cron expression `{}`: {e}", c.cadence.get_ref()),
                ))
            })
            .ok();
        let zone = zone(src, &c, &k, errs);
        let window = window(src, &c.window, &k, errs);
        let reminders = reminders(src, &c.reminders, window, &k, errs);
        let on_holiday = match c.on_holiday.as_ref().map(|v| (v, v.get_ref().as_str())) {
            None | Some((_, "skip")) => OnHoliday::Skip,
            Some((_, "next_workday")) => OnHoliday::NextWorkday,
            Some((v, other)) => {
                errs.push(src.error(
                    v.span(),
                    k("on_holiday"),
                    format!("`{other}` is not one of \"skip\", \"next_workday\""),
                ));
                OnHoliday::Skip
            }
        };
        let catch_up = match c.catch_up.as_ref().map(|v| (v, v.get_ref().as_str())) {
            None | Some((_, "within_window")) => CatchUp::WithinWindow,
            Some((_, "skip")) => CatchUp::Skip,
            Some((v, other)) => {
                errs.push(src.error(
                    v.span(),
                    k("catch_up"),
                    format!("`{other}` is not one of \"within_window\", \"skip\""),
                ));
                CatchUp::WithinWindow
            }
        };
        let paused_until = c.paused_until.as_ref().and_then(|d| {
            parse_date(d.get_ref())
                .map_err(|m| errs.push(src.error(d.span(), k("paused_until"), m)))
                .ok()
        });
        for t in &c.tags {
            taxonomy.check_known(src, t, k("tags"), errs);
        }
        let audience = audience(src, &c.audience, &k, errs);
        let (questions, ask) =
            questions::pool(src, &name, &c.questions, &c.ask, taxonomy, &k, errs);
        let offered: Vec<String> = if c.tags.is_empty() {
            taxonomy.tags.iter().map(|t| t.id.clone()).collect()
        } else {
            c.tags.iter().map(|t| t.get_ref().clone()).collect()
        };
        if let (Some(cadence), Some(zone)) = (cadence, zone) {
            checkins.push(CheckIn {
                name,
                cadence,
                zone,
                prompt: c.prompt,
                audience,
                tags: offered,
                questions,
                ask,
                paused: c.paused,
                paused_until,
                window,
                reminders,
                on_holiday,
                catch_up,
            });
        }
    }
    checkins
}

/// `timezone` or `local_time = true`, exactly one of them.
fn zone(
    src: &SourceMap<'_>,
    c: &RawCheckin,
    k: &dyn Fn(&str) -> String,
    errs: &mut Vec<ConfigError>,
) -> Option<Zone> {
    let local_time = c.local_time.as_ref().is_some_and(|l| *l.get_ref());
    match (&c.timezone, local_time) {
        (Some(tz), false) => parse_tz(src, tz, &k("timezone"), errs).map(Zone::Fixed),
        (None, true) => Some(Zone::Local),
        (Some(tz), true) => {
            errs.push(src.error(
                tz.span(),
                k("timezone"),
                "set either `timezone` or `local_time = true`, not both",
            ));
            None
        }
        (None, false) => {
            errs.push(src.error(
                c.name.span(),
                k("timezone"),
                "set `timezone = \"Area/City\"`, or `local_time = true` to send at each person's own local time",
            ));
            None
        }
    }
}

/// The answer window: 1 minute to 30 days, two days when unset.
fn window(
    src: &SourceMap<'_>,
    w: &Option<Spanned<String>>,
    k: &dyn Fn(&str) -> String,
    errs: &mut Vec<ConfigError>,
) -> Duration {
    match w {
        None => DEFAULT_WINDOW,
        Some(w) => match parse_duration(w.get_ref()) {
            Ok(d) if d >= Duration::from_secs(60) && d <= Duration::from_secs(30 * 86400) => d,
            Ok(_) => {
                errs.push(src.error(w.span(), k("window"), "must be between 1m and 30d"));
                DEFAULT_WINDOW
            }
            Err(m) => {
                errs.push(src.error(w.span(), k("window"), m));
                DEFAULT_WINDOW
            }
        },
    }
}

/// At most [`MAX_REMINDERS`] offsets, increasing, each inside the window.
fn reminders(
    src: &SourceMap<'_>,
    list: &Option<Spanned<Vec<Spanned<String>>>>,
    window: Duration,
    k: &dyn Fn(&str) -> String,
    errs: &mut Vec<ConfigError>,
) -> Vec<Duration> {
    let mut reminders = Vec::new();
    let Some(list) = list else {
        return reminders;
    };
    if list.get_ref().len() > MAX_REMINDERS {
        errs.push(src.error(
            list.span(),
            k("reminders"),
            format!("at most {MAX_REMINDERS} reminders: reps are never nagged"),
        ));
    }
    for r in list.get_ref() {
        match parse_duration(r.get_ref()) {
            Ok(d) if d.is_zero() => errs.push(src.error(
                r.span(),
                k("reminders"),
                "a reminder offset must be after the prompt",
            )),
            Ok(d) if d >= window => errs.push(src.error(
                r.span(),
                k("reminders"),
                format!(
                    "`{}` is not inside the answer window ({})",
                    r.get_ref(),
                    human_duration(window)
                ),
            )),
            Ok(d) if reminders.last().is_some_and(|l| *l >= d) => errs.push(src.error(
                r.span(),
                k("reminders"),
                "list reminder offsets in increasing order",
            )),
            Ok(d) => reminders.push(d),
            Err(m) => errs.push(src.error(r.span(), k("reminders"), m)),
        }
    }
    reminders
}

/// Users, channels and user groups by Slack ID shape; at least one of them.
fn audience(
    src: &SourceMap<'_>,
    raw: &Spanned<RawAudience>,
    k: &dyn Fn(&str) -> String,
    errs: &mut Vec<ConfigError>,
) -> Audience {
    let a = raw.get_ref();
    for x in &a.exclude {
        // Exclusions may name people or whole user groups.
        if !(x.get_ref().starts_with('S') || valid_user_id(x.get_ref())) {
            errs.push(src.error(
                x.span(),
                k("audience.exclude"),
                format!(
                    "`{}` is not a Slack user ID (U…/W…) or user group ID (S…)",
                    x.get_ref()
                ),
            ));
        }
    }
    for (list, field, prefix) in [
        (&a.users, "users", 'U'),
        (&a.channels, "channels", 'C'),
        (&a.usergroups, "usergroups", 'S'),
    ] {
        for id in list {
            let ok = id.get_ref().starts_with(prefix)
                || (prefix == 'U' && id.get_ref().starts_with('W'))
                || (prefix == 'C' && id.get_ref().starts_with('G'));
            if !ok
                || id.get_ref().len() < 3
                || !id.get_ref().chars().all(|ch| ch.is_ascii_alphanumeric())
            {
                errs.push(src.error(
                    id.span(),
                    k(&format!("audience.{field}")),
                    format!(
                        "`{}` is not a Slack {} ID (they start with `{prefix}`)",
                        id.get_ref(),
                        field.trim_end_matches('s')
                    ),
                ));
            }
        }
    }
    if a.users.is_empty() && a.channels.is_empty() && a.usergroups.is_empty() {
        errs.push(src.error(
            raw.span(),
            k("audience"),
            "the audience is empty: list users, channels or usergroups",
        ));
    }
    let ids = |v: &Vec<Spanned<String>>| v.iter().map(|s| s.get_ref().clone()).collect();
    Audience {
        users: ids(&a.users),
        channels: ids(&a.channels),
        usergroups: ids(&a.usergroups),
        exclude: ids(&a.exclude),
    }
}
