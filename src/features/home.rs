//! App Home's use case: what one person's home tab shows (their check-ins
//! on or paused, the next one, what is waiting, their streak and latest
//! notes, and the digest week for those who may preview it), read from the
//! store into a [`HomeData`]. Knows nothing of Slack; `slack::views::home`
//! renders it and `slack::home` publishes it.

use crate::config::{Config, Zone};
use crate::digest::IsoWeek;
use crate::domain::Insight;
use crate::plan::{scheduled_run, PlanContext};
use crate::roles::Permission;
use crate::store::{PersonRow, Store, WeekCounts, WeekPromptStats};
use crate::tz::Tz;
use anyhow::Result;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use std::collections::{BTreeSet, HashMap};

/// How many of a person's latest notes the home tab lists.
pub const RECENT_NOTES: usize = 10;
/// Top tags and competitors shown for the week.
pub const TOP_N: usize = 5;
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
    /// "You said, we did": what marketing did with this person's notes,
    /// newest first (at most [`LOOP_SHOWN`]).
    pub loop_closed: Vec<crate::store::LoopActionNote>,
}

/// How many of marketing's actions on a rep's notes App Home lists.
pub const LOOP_SHOWN: usize = 5;

/// Reads what `user`'s home tab shows at `now`, with their times in `tz`
/// (their Slack timezone).
pub async fn gather(
    store: &Store,
    cfg: &Config,
    user: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<HomeData> {
    let now_ms = now.timestamp_millis();
    let paused_until_ms = store.paused_until(user, now_ms).await?;
    let queued: Vec<(String, i64)> = store
        .queued_prompts(user, MAX_QUEUED)
        .await?
        .into_iter()
        .map(|p| (p.checkin, p.due_at_ms))
        .collect();
    let prompted = store.prompted_checkins(user).await?;
    let next = next_checkin(cfg, user, tz, now, paused_until_ms, &queued, &prompted);
    let open_prompts = store.open_prompt_count(user, now_ms).await?;
    let times = store.note_times(user, i64::MIN).await?;
    let notes = store.recent_insights(user, RECENT_NOTES as i64).await?;
    let loop_closed = store.loop_actions_for_rep(user, LOOP_SHOWN as i64).await?;
    let week = if cfg.roles.can(user, Permission::DigestPreview) {
        let dtz = cfg.timezone;
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
        loop_closed,
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

#[cfg(test)]
pub(crate) mod fixtures {
    //! A config and time helpers shared by these tests and App Home's
    //! rendering tests (`slack::views::home`).

    use crate::config::Config;
    use crate::tz::Tz;
    use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
    use std::path::Path;

    pub(crate) fn ny() -> Tz {
        crate::tz::Tz::named("America/New_York").unwrap()
    }

    const CFG: &str = r#"
[roles]
marketers = ["U0MKT"]
leads = ["U0LEAD"]

[bot]
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

    pub(crate) fn cfg() -> Config {
        Config::parse(Path::new("t.toml"), CFG).unwrap()
    }

    pub(crate) fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    pub(crate) fn local_ms(tz: Tz, s: &str) -> i64 {
        tz.from_local_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
            .earliest()
            .unwrap()
            .timestamp_millis()
    }
}

#[cfg(test)]
mod tests {
    //! The streak and the next check-in, against a config with local-time,
    //! fixed-zone, holiday-moved and paused check-ins.

    use super::fixtures::{cfg, local_ms, ny, utc};
    use super::*;

    #[test]
    fn streak_counts_monday_weeks_in_the_persons_zone() {
        // Now: Wednesday 4 Nov 2026, 10:00 in New York (US DST ended 1 Nov).
        let now = utc("2026-11-04 15:00");
        let at = |s: &str| local_ms(ny(), s);
        assert_eq!(streak(&[], now, ny()), Streak::default());

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
            streak(&times, now, ny()),
            Streak {
                weeks: 3,
                this_week: 2
            }
        );
        // Nothing yet this week: the streak still counts up to last week.
        assert_eq!(
            streak(&times[2..], now, ny()),
            Streak {
                weeks: 2,
                this_week: 0
            }
        );
        // A gap of a whole week breaks it.
        assert_eq!(
            streak(&times[3..], now, ny()),
            Streak {
                weeks: 0,
                this_week: 0
            }
        );
        // Sunday 23:30 in New York is Monday in UTC and in Kolkata: the
        // week depends on the person's zone.
        let sunday_night = at("2026-11-01 23:30");
        let kolkata = crate::tz::Tz::named("Asia/Kolkata").unwrap();
        let mon = utc("2026-11-02 12:00");
        assert_eq!(streak(&[sunday_night], mon, ny()).this_week, 0);
        assert_eq!(streak(&[sunday_night], mon, ny()).weeks, 1);
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
            streak(&times, now, ny()),
            Streak {
                weeks: 3,
                this_week: 1
            }
        );
        assert_eq!(streak(&times[..2], now, ny()).weeks, 2);
    }

    #[test]
    fn next_checkin_from_cadence_queue_and_pauses() {
        let c = cfg();
        // Tue 1 Dec 2026 10:00 in New York.
        let now = utc("2026-12-01 15:00");
        let london = crate::tz::Tz::named("Europe/London").unwrap();
        let kolkata = crate::tz::Tz::named("Asia/Kolkata").unwrap();

        // Listed in weekly-pulse (local time): Thu 16:00 in their own zone.
        let n = next_checkin(&c, "U0REP", ny(), now, None, &[], &[]).unwrap();
        assert_eq!(n.checkin, "weekly-pulse");
        assert_eq!(n.at_ms, local_ms(ny(), "2026-12-03 16:00"));
        let n = next_checkin(&c, "U0REP", kolkata, now, None, &[], &[]).unwrap();
        assert_eq!(n.at_ms, local_ms(kolkata, "2026-12-03 16:00"));

        // Not listed, but prompted by london-daily before: 09:00 London
        // (fixed zone) on the next workday, whatever the person's zone.
        let prompted = vec!["london-daily".to_string()];
        let n = next_checkin(&c, "U0CHAN", ny(), now, None, &[], &prompted).unwrap();
        assert_eq!(n.checkin, "london-daily");
        assert_eq!(n.at_ms, local_ms(london, "2026-12-02 09:00"));
        // Nobody's check-in: nothing.
        assert_eq!(next_checkin(&c, "U0CHAN", ny(), now, None, &[], &[]), None);

        // A queued prompt sooner than the cadence wins, and vice versa.
        let soon = vec![(
            "weekly-pulse".to_string(),
            local_ms(ny(), "2026-12-01 11:00"),
        )];
        let n = next_checkin(&c, "U0REP", ny(), now, None, &soon, &[]).unwrap();
        assert_eq!(n.at_ms, local_ms(ny(), "2026-12-01 11:00"));
        let later = vec![("ask".to_string(), local_ms(ny(), "2026-12-09 11:00"))];
        let n = next_checkin(&c, "U0REP", ny(), now, None, &later, &[]).unwrap();
        assert_eq!(n.checkin, "weekly-pulse");

        // Paused until Mon 7 Dec: this Thursday is skipped, and so is a
        // queued prompt due during the pause.
        let pause = Some(local_ms(ny(), "2026-12-07 10:00"));
        let n = next_checkin(&c, "U0REP", ny(), now, pause, &soon, &[]).unwrap();
        assert_eq!(n.at_ms, local_ms(ny(), "2026-12-10 16:00"));
        // A pause already over changes nothing.
        let over = Some(local_ms(ny(), "2026-11-30 10:00"));
        let n = next_checkin(&c, "U0REP", ny(), now, over, &[], &[]).unwrap();
        assert_eq!(n.at_ms, local_ms(ny(), "2026-12-03 16:00"));

        // Thursday 3 Dec is U0MOVE's holiday: "moved" goes to Friday 4 Dec, 10:00;
        // the paused check-in (every minute) never counts.
        let n = next_checkin(&c, "U0MOVE", ny(), now, None, &[], &[]).unwrap();
        assert_eq!(n.checkin, "moved");
        assert_eq!(n.at_ms, local_ms(ny(), "2026-12-04 10:00"));
    }

    #[test]
    fn next_checkin_follows_dst_in_the_persons_zone() {
        let c = cfg();
        // Thu 5 Mar 2026, 17:00 EST (past this week's 16:00); New York
        // springs forward on Sun 8 Mar.
        let now = utc("2026-03-05 22:00");
        let n = next_checkin(&c, "U0REP", ny(), now, None, &[], &[]).unwrap();
        assert_eq!(n.checkin, "weekly-pulse");
        // Thu 12 Mar 16:00 EDT = 20:00 UTC (not 21:00). `slack::views::home`
        // checks it is shown as `Thu 12 Mar, 16:00 (weekly-pulse)`.
        assert_eq!(n.at_ms, utc("2026-03-12 20:00").timestamp_millis());
    }
}
