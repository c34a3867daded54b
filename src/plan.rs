//! Pure planning: one person's row for a check-in run (their send time in
//! their zone, or why it is skipped: day off, paused, missed while the bot
//! was down), and the wall-clock key a scheduled occurrence is stored under.
//! No I/O: `jobs::planner` fans runs out with it, and `schedule preview` and
//! App Home plan with it without writing. Above `config` and `schedule`,
//! whose types it reads.

use crate::config::{CatchUp, CheckIn, Config, OnHoliday, Zone};
use crate::domain::{PendingRun, PersonRow, PlannedPrompt};
use crate::schedule::crontab::wall_clock_instant;
use crate::tz::Tz;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::HashMap;

/// A send time this far in the past when planned means the bot was down.
pub const LATE_GRACE_MS: i64 = 5 * 60_000;

/// The wall-clock key of a scheduled occurrence.
pub fn occurrence_key(local: NaiveDateTime) -> String {
    local.format("%Y-%m-%dT%H:%M").to_string()
}

/// The run a scheduled occurrence makes, for planning without writing
/// (`schedule preview`, App Home's next check-in).
pub fn scheduled_run(checkin: &str, local: NaiveDateTime, at_ms: i64, now_ms: i64) -> PendingRun {
    PendingRun {
        id: 0,
        checkin: checkin.to_string(),
        occurrence: occurrence_key(local),
        question: None,
        source: "schedule".into(),
        scheduled_at_ms: at_ms,
        created_at_ms: now_ms,
    }
}

/// The wall-clock time back from [`occurrence_key`].
pub fn parse_occurrence_key(key: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(key, "%Y-%m-%dT%H:%M").ok()
}

/// Everything one person's plan depends on.
pub struct PlanContext<'a> {
    pub cfg: &'a Config,
    pub checkin: &'a CheckIn,
    pub run: &'a PendingRun,
    pub now: DateTime<Utc>,
    /// Person → end of their pause (epoch ms).
    pub pauses: &'a HashMap<String, i64>,
    /// Nothing due before this is sent (when the bot first saw the check-in).
    pub first_seen_ms: i64,
}

impl PlanContext<'_> {
    /// The zone a person's wall-clock times are read in.
    pub fn person_zone(&self, p: &PersonRow) -> Tz {
        match self.checkin.zone {
            Zone::Fixed(tz) => tz,
            Zone::Local => {
                p.tz.as_deref()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(self.cfg.timezone)
            }
        }
    }

    /// One person's row for this run, or `None` when this occurrence is not
    /// theirs at all (a wall-clock time folded into another by a DST gap in
    /// their zone, or due before the bot knew the check-in).
    pub fn plan(&self, p: &PersonRow) -> Option<PlannedPrompt> {
        let c = self.checkin;
        let tz = self.person_zone(p);
        let now_ms = self.now.timestamp_millis();
        let (due, local) = if self.run.source == "manual" {
            let due = DateTime::from_timestamp_millis(self.run.scheduled_at_ms)?;
            (due, due.with_timezone(&tz).naive_local())
        } else {
            let local = parse_occurrence_key(&self.run.occurrence)?;
            let fire = c.cadence.fire_instant(tz, local)?;
            (fire, local)
        };
        let mut due_ms = due.timestamp_millis();
        let mut local_due = local;
        let mut skip: Option<String> = None;
        if self.run.source != "manual" {
            if let Some(off) = self.cfg.calendar.day_off(&p.user_id, local.date()) {
                match c.on_holiday {
                    OnHoliday::Skip => skip = Some(format!("day off: {off}")),
                    OnHoliday::NextWorkday => {
                        let moved = self
                            .cfg
                            .calendar
                            .next_workday(&p.user_id, local.date())
                            .map(|d| d.and_time(local.time()));
                        let next = c.cadence.next_local_after(local);
                        match moved {
                            Some(m) if next.is_none_or(|n| n > m) => {
                                local_due = m;
                                due_ms = wall_clock_instant(tz, m)?.timestamp_millis();
                            }
                            _ => {
                                skip =
                                    Some(format!("day off: {off}; the next occurrence covers it"))
                            }
                        }
                    }
                }
            }
            if due_ms < self.first_seen_ms {
                return None;
            }
        }
        let window_ms = c.window.as_millis() as i64;
        let closes_ms = due_ms + window_ms;
        if skip.is_none() && due_ms + LATE_GRACE_MS < now_ms && self.run.source == "manual" {
            // A one-off question queued before a restart still goes out.
            due_ms = now_ms;
        } else if skip.is_none() && due_ms + LATE_GRACE_MS < now_ms {
            match c.catch_up {
                CatchUp::Skip => {
                    skip = Some(format!(
                        "missed: the bot was down at {} (catch_up = \"skip\")",
                        local_due.format("%a %Y-%m-%d %H:%M")
                    ))
                }
                CatchUp::WithinWindow if now_ms >= closes_ms => {
                    skip =
                        Some("missed: the answer window closed while the bot was down".to_string())
                }
                CatchUp::WithinWindow => due_ms = now_ms,
            }
        }
        if skip.is_none() {
            if let Some(until) = self.pauses.get(&p.user_id).filter(|u| **u > due_ms) {
                let until = DateTime::from_timestamp_millis(*until)
                    .map(|u| u.with_timezone(&tz).format("%a %Y-%m-%d").to_string())
                    .unwrap_or_default();
                skip = Some(format!("paused: until {until}"));
            }
        }
        let reminders_ms = c
            .reminders
            .iter()
            .map(|o| due_ms + o.as_millis() as i64)
            .filter(|r| *r < closes_ms)
            .collect();
        Some(PlannedPrompt {
            user_id: p.user_id.clone(),
            due_at_ms: due_ms,
            closes_at_ms: closes_ms,
            skip,
            reminders_ms,
            local_due: format!("{} {tz}", local_due.format("%Y-%m-%dT%H:%M")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CFG: &str = r#"
[bot]
timezone = "America/New_York"

[calendar]
holidays = [{ date = "2026-12-25", name = "Christmas Day" }]

[calendar.regions.uk]
holidays = [{ date = "2026-12-28", name = "Boxing Day (substitute)" }]
users = ["U0LONDON"]

[[checkin]]
name = "local"
cadence = "0 16 * * MON-FRI"
local_time = true
window = "2d"
reminders = ["4h", "1d"]
prompt = "What did you hear?"
audience = { users = ["U0NY"] }
questions = [{ id = "heard", label = "What did you hear?" }]

[[checkin]]
name = "moved"
cadence = "0 9 * * FRI"
timezone = "Europe/London"
on_holiday = "next_workday"
catch_up = "skip"
prompt = "What did you hear?"
audience = { users = ["U0NY"] }
questions = [{ id = "heard", label = "What did you hear?" }]

[[checkin]]
name = "early"
cadence = "30 1 * * *"
local_time = true
prompt = "What did you hear?"
audience = { users = ["U0NY"] }
questions = [{ id = "heard", label = "What did you hear?" }]
"#;

    fn cfg() -> Config {
        Config::parse(Path::new("t.toml"), CFG).unwrap()
    }

    fn person(id: &str, tz: &str) -> PersonRow {
        PersonRow {
            user_id: id.into(),
            name: String::new(),
            tz: Some(tz.into()),
            is_bot: false,
            deleted: false,
            dm_channel: None,
            fetched_at_ms: 0,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    fn run(checkin: &str, occurrence: &str) -> PendingRun {
        PendingRun {
            id: 1,
            checkin: checkin.into(),
            occurrence: occurrence.into(),
            question: None,
            source: "schedule".into(),
            scheduled_at_ms: 0,
            created_at_ms: 0,
        }
    }

    fn plan(
        cfg: &Config,
        checkin: &str,
        occ: &str,
        now: &str,
        p: &PersonRow,
        pauses: &HashMap<String, i64>,
    ) -> Option<PlannedPrompt> {
        let r = run(checkin, occ);
        PlanContext {
            cfg,
            checkin: cfg.checkin(checkin).unwrap(),
            run: &r,
            now: utc(now),
            pauses,
            first_seen_ms: 0,
        }
        .plan(p)
    }

    #[test]
    fn local_time_sends_at_each_persons_own_wall_clock() {
        let cfg = cfg();
        let none = HashMap::new();
        for (tz, want) in [
            ("America/New_York", "2026-12-03 21:00"),
            ("Europe/London", "2026-12-03 16:00"),
            ("Asia/Kolkata", "2026-12-03 10:30"),
            ("Australia/Sydney", "2026-12-03 05:00"),
        ] {
            let p = plan(
                &cfg,
                "local",
                "2026-12-03T16:00",
                "2026-12-03 02:00",
                &person("U1", tz),
                &none,
            )
            .unwrap();
            assert_eq!(p.due_at_ms, utc(want).timestamp_millis(), "{tz}");
            assert_eq!(p.skip, None);
            assert_eq!(p.closes_at_ms - p.due_at_ms, 2 * 86_400_000);
            assert_eq!(
                p.reminders_ms,
                vec![p.due_at_ms + 4 * 3_600_000, p.due_at_ms + 86_400_000]
            );
            assert!(
                p.local_due.starts_with("2026-12-03T16:00"),
                "{}",
                p.local_due
            );
        }
    }

    #[test]
    fn local_time_follows_each_zones_daylight_saving_changes() {
        let cfg = cfg();
        let none = HashMap::new();
        let ny = person("U1", "America/New_York");
        let london = person("U2", "Europe/London");
        // 2026-03-08: 01:30 exists once in New York (the change is at 02:00).
        let p = plan(
            &cfg,
            "early",
            "2026-03-08T01:30",
            "2026-03-07 00:00",
            &ny,
            &none,
        )
        .unwrap();
        assert_eq!(p.due_at_ms, utc("2026-03-08 06:30").timestamp_millis());
        // 2026-03-29: 01:30 does not exist in London: once, at 02:00 BST.
        let p = plan(
            &cfg,
            "early",
            "2026-03-29T01:30",
            "2026-03-28 00:00",
            &london,
            &none,
        )
        .unwrap();
        assert_eq!(p.due_at_ms, utc("2026-03-29 01:00").timestamp_millis());
        // 2026-11-01: 01:30 happens twice in New York: once, the first time.
        let p = plan(
            &cfg,
            "early",
            "2026-11-01T01:30",
            "2026-10-31 00:00",
            &ny,
            &none,
        )
        .unwrap();
        assert_eq!(p.due_at_ms, utc("2026-11-01 05:30").timestamp_millis());
    }

    #[test]
    fn holidays_skip_or_move_by_region() {
        let cfg = cfg();
        let none = HashMap::new();
        let ny = person("U0NY", "America/New_York");
        let london = person("U0LONDON", "Europe/London");
        // Christmas is a holiday for everyone: `local` skips it.
        let p = plan(
            &cfg,
            "local",
            "2026-12-25T16:00",
            "2026-12-25 00:00",
            &ny,
            &none,
        )
        .unwrap();
        assert_eq!(p.skip.as_deref(), Some("day off: holiday: Christmas Day"));
        // `moved` (Fridays 09:00 London) moves to the next work day: Monday
        // the 28th in New York, Tuesday the 29th in London (a regional holiday).
        let p = plan(
            &cfg,
            "moved",
            "2026-12-25T09:00",
            "2026-12-25 08:00",
            &ny,
            &none,
        )
        .unwrap();
        assert_eq!(p.skip, None);
        assert_eq!(p.due_at_ms, utc("2026-12-28 09:00").timestamp_millis());
        let p = plan(
            &cfg,
            "moved",
            "2026-12-25T09:00",
            "2026-12-25 08:00",
            &london,
            &none,
        )
        .unwrap();
        assert_eq!(p.due_at_ms, utc("2026-12-29 09:00").timestamp_millis());
        // The regional holiday does not touch New York on a normal cadence day.
        let p = plan(
            &cfg,
            "local",
            "2026-12-28T16:00",
            "2026-12-28 00:00",
            &ny,
            &none,
        )
        .unwrap();
        assert_eq!(p.skip, None);
        let p = plan(
            &cfg,
            "local",
            "2026-12-28T16:00",
            "2026-12-28 00:00",
            &london,
            &none,
        )
        .unwrap();
        assert!(p.skip.unwrap().contains("Boxing Day"));
    }

    #[test]
    fn missed_runs_follow_catch_up_and_pauses_skip() {
        let cfg = cfg();
        let ny = person("U0NY", "America/New_York");
        let none = HashMap::new();
        // within_window (the default): three hours late, still inside 2d: send now.
        let p = plan(
            &cfg,
            "local",
            "2026-12-03T16:00",
            "2026-12-04 00:00",
            &ny,
            &none,
        )
        .unwrap();
        assert_eq!(p.skip, None);
        assert_eq!(p.due_at_ms, utc("2026-12-04 00:00").timestamp_millis());
        // ...but not once the window has closed.
        let p = plan(
            &cfg,
            "local",
            "2026-12-03T16:00",
            "2026-12-06 00:00",
            &ny,
            &none,
        )
        .unwrap();
        assert!(p
            .skip
            .unwrap()
            .starts_with("missed: the answer window closed"));
        // catch_up = "skip": late is skipped.
        let p = plan(
            &cfg,
            "moved",
            "2026-12-04T09:00",
            "2026-12-04 12:00",
            &ny,
            &none,
        )
        .unwrap();
        assert!(p.skip.unwrap().contains("catch_up = \"skip\""));
        // Paused people are skipped, with the date they come back.
        let mut pauses = HashMap::new();
        pauses.insert(
            "U0NY".to_string(),
            utc("2026-12-10 05:00").timestamp_millis(),
        );
        let p = plan(
            &cfg,
            "local",
            "2026-12-03T16:00",
            "2026-12-03 02:00",
            &ny,
            &pauses,
        )
        .unwrap();
        assert_eq!(p.skip.as_deref(), Some("paused: until Thu 2026-12-10"));
        let p = plan(
            &cfg,
            "local",
            "2026-12-10T16:00",
            "2026-12-10 02:00",
            &ny,
            &pauses,
        )
        .unwrap();
        assert_eq!(p.skip, None);
    }
}
