//! Pure parsing of what people type after `/fieldnotes`: pause lengths and
//! dates, and one-off questions with an optional check-in and send time.

use crate::tz::Tz;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// The longest pause a rep can set in one go.
pub const MAX_PAUSE_DAYS: i64 = 366;

/// When a pause typed as `2w`, `10d`, `until 2027-01-05` ends. A date means
/// "back on that day": the pause ends at its start in the person's zone.
pub fn parse_pause(text: &str, now: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Say how long: `pause 2w`, `pause 3d` or `pause until 2027-01-05`.".into());
    }
    let until = if let Some(date) = text.strip_prefix("until") {
        let date = date.trim();
        let d = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| format!("`{date}` is not a date like 2027-01-05."))?;
        let start = d.and_time(NaiveTime::MIN);
        crate::schedule::crontab::wall_clock_instant(tz, start)
            .ok_or_else(|| format!("{date} has no start in {tz}."))?
    } else {
        let d = crate::config::parse_duration(text).map_err(|e| {
            if e.contains("too long") {
                too_long_pause()
            } else {
                format!("`{text}` is not a length like `2w`, `10d` or `until 2027-01-05`.")
            }
        })?;
        if d.as_secs() < 3600 {
            return Err("Pause for at least an hour (`1d`, `2w`, …).".into());
        }
        add(now, d).ok_or_else(too_long_pause)?
    };
    if until <= now {
        return Err("That date has passed: pick one ahead.".into());
    }
    if until.signed_duration_since(now) > Duration::days(MAX_PAUSE_DAYS) {
        return Err(too_long_pause());
    }
    Ok(until)
}

fn too_long_pause() -> String {
    format!("Pauses go up to {MAX_PAUSE_DAYS} days; pick a nearer date.")
}

/// `at + d`, or None when it would leave chrono's range (a user can type
/// any number; nothing here may panic on it).
fn add(at: DateTime<Utc>, d: std::time::Duration) -> Option<DateTime<Utc>> {
    at.checked_add_signed(Duration::from_std(d).ok()?)
}

const MAX_ASK_AHEAD_MSG: &str = "Schedule one-off questions at most 30 days ahead.";

/// A parsed `/fieldnotes ask`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The check-in whose audience gets the question (`None`: the first).
    pub checkin: Option<String>,
    /// When to send (`None`: now).
    pub at: Option<DateTime<Utc>>,
    pub question: String,
}

/// Words a question may start with in lower case. Any other lower-case
/// slug in first place (`deal-desk`, `pipeline`, `nosuchcheckin`) is read as
/// a check-in name, so a typo is refused by name instead of silently
/// asking the first check-in's audience with the typo in the question.
const QUESTION_STARTS: &[&str] = &[
    "a", "an", "any", "anyone", "anything", "are", "can", "could", "did", "do", "does", "for",
    "give", "had", "has", "have", "how", "if", "in", "is", "at", "list", "name", "please", "quick",
    "share", "should", "tell", "the", "was", "were", "what", "whats", "when", "where", "which",
    "who", "whom", "whose", "why", "will", "would", "you", "your",
];

fn looks_like_checkin_name(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 80
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !QUESTION_STARTS.contains(&word)
}

/// Parses `[check-in] [at YYYY-MM-DD HH:MM | at HH:MM | in 2h] question`.
/// Times are read in the asker's zone; `at HH:MM` means the next such time.
pub fn parse_ask(text: &str, checkins: &[&str], now: DateTime<Utc>, tz: Tz) -> Result<Ask, String> {
    let mut rest = text.trim();
    let mut checkin = None;
    let (first, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if checkins.contains(&first) {
        checkin = Some(first.to_string());
        rest = tail.trim_start();
    } else if looks_like_checkin_name(first) {
        return Err(format!(
            "There's no check-in called `{first}`. Name one of: {}, or leave it out to ask `{}`'s audience (start the question with a capital or a question word, e.g. `ask Which competitor came up?`).",
            checkins
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            checkins.first().copied().unwrap_or("the first check-in"),
        ));
    }
    let mut at = None;
    if let Some(tail) = rest.strip_prefix("at ") {
        let tail = tail.trim_start();
        let words: Vec<&str> = tail.splitn(3, ' ').collect();
        let (when, question) =
            if words.len() >= 2 && NaiveDate::parse_from_str(words[0], "%Y-%m-%d").is_ok() {
                let local = NaiveDateTime::parse_from_str(
                    &format!("{} {}", words[0], words[1]),
                    "%Y-%m-%d %H:%M",
                )
                .map_err(|_| {
                    format!(
                        "`{} {}` is not a time like 2026-12-01 15:00.",
                        words[0], words[1]
                    )
                })?;
                let at = crate::schedule::crontab::wall_clock_instant(tz, local)
                    .ok_or_else(|| "That time does not exist in your timezone.".to_string())?;
                (at, words.get(2).copied().unwrap_or(""))
            } else {
                let t = NaiveTime::parse_from_str(words[0], "%H:%M").map_err(|_| {
                    format!(
                        "`{}` is not a time like 15:00 or 2026-12-01 15:00.",
                        words[0]
                    )
                })?;
                let today = now.with_timezone(&tz).date_naive();
                let mut at = crate::schedule::crontab::wall_clock_instant(tz, today.and_time(t))
                    .ok_or_else(|| "That time does not exist in your timezone.".to_string())?;
                if at <= now {
                    let tomorrow = today
                        .succ_opt()
                        .ok_or_else(|| "That time is out of range.".to_string())?;
                    at = crate::schedule::crontab::wall_clock_instant(tz, tomorrow.and_time(t))
                        .ok_or_else(|| "That time does not exist in your timezone.".to_string())?;
                }
                let q = tail.split_once(' ').map(|(_, q)| q).unwrap_or("");
                (at, q)
            };
        if when <= now {
            return Err(
                "That time has passed: pick one ahead, or leave `at` out to send now.".into(),
            );
        }
        at = Some(when);
        rest = question.trim();
    } else if let Some(tail) = rest.strip_prefix("in ") {
        let (len, question) = tail.trim_start().split_once(' ').unwrap_or((tail, ""));
        let d = crate::config::parse_duration(len).map_err(|e| {
            if e.contains("too long") {
                MAX_ASK_AHEAD_MSG.to_string()
            } else {
                format!("`{len}` is not a length like 30m or 2h.")
            }
        })?;
        if d.is_zero() {
            return Err(format!(
                "`in {len}` is now: leave `in` out to send at once."
            ));
        }
        at = Some(add(now, d).ok_or_else(|| MAX_ASK_AHEAD_MSG.to_string())?);
        rest = question.trim();
    }
    if let Some(a) = at {
        if a.signed_duration_since(now) > Duration::days(30) {
            return Err(MAX_ASK_AHEAD_MSG.into());
        }
    }
    // It goes out in every rep's DM: no control or bidi characters.
    let cleaned = crate::text::clean(rest);
    let rest = cleaned.trim();
    if rest.is_empty() {
        return Err("Add the question, e.g. `ask Which competitor came up most this week?`".into());
    }
    if rest.chars().count() > 2000 {
        return Err("Keep the question under 2,000 characters.".into());
    }
    Ok(Ask {
        checkin,
        at,
        question: rest.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    fn ny() -> Tz {
        crate::tz::Tz::named("America/New_York").unwrap()
    }

    #[test]
    fn pause_lengths_and_dates() {
        let now = utc("2026-12-01 15:00");
        assert_eq!(parse_pause("2w", now, ny()), Ok(utc("2026-12-15 15:00")));
        assert_eq!(parse_pause("3d", now, ny()), Ok(utc("2026-12-04 15:00")));
        // Back on the 5th: paused until midnight at the start of it, local time.
        assert_eq!(
            parse_pause("until 2027-01-05", now, ny()),
            Ok(utc("2027-01-05 05:00"))
        );
        assert!(parse_pause("", now, ny()).is_err());
        assert!(parse_pause("soon", now, ny()).unwrap_err().contains("soon"));
        assert!(parse_pause("until 2026-11-01", now, ny())
            .unwrap_err()
            .contains("passed"));
        assert!(parse_pause("until 2026-13-01", now, ny()).is_err());
        assert!(parse_pause("400d", now, ny()).unwrap_err().contains("366"));
        assert!(parse_pause("5m", now, ny()).is_err());
    }

    #[test]
    fn ask_with_checkin_and_times() {
        let now = utc("2026-12-01 15:00"); // 10:00 in New York
        let names = ["weekly-pulse", "deal-desk"];
        assert_eq!(
            parse_ask("Which competitor came up?", &names, now, ny()),
            Ok(Ask {
                checkin: None,
                at: None,
                question: "Which competitor came up?".into()
            })
        );
        let a = parse_ask(
            "deal-desk at 14:30 Any pricing pushback?",
            &names,
            now,
            ny(),
        )
        .unwrap();
        assert_eq!(a.checkin.as_deref(), Some("deal-desk"));
        assert_eq!(a.at, Some(utc("2026-12-01 19:30")));
        assert_eq!(a.question, "Any pricing pushback?");
        // A time already past today means tomorrow.
        let a = parse_ask("at 09:00 Morning question", &names, now, ny()).unwrap();
        assert_eq!(a.at, Some(utc("2026-12-02 14:00")));
        let a = parse_ask("at 2026-12-03 08:15 Later", &names, now, ny()).unwrap();
        assert_eq!(a.at, Some(utc("2026-12-03 13:15")));
        let a = parse_ask("in 2h Soon", &names, now, ny()).unwrap();
        assert_eq!(a.at, Some(utc("2026-12-01 17:00")));
        assert!(parse_ask("weekly-pulse", &names, now, ny()).is_err());
        assert!(parse_ask("at 2026-11-01 08:00 Past", &names, now, ny()).is_err());
        assert!(parse_ask("at 25:00 Bad", &names, now, ny()).is_err());
        assert!(parse_ask("in 60d Far", &names, now, ny()).is_err());
        // Found by the fuzz target: `in 0h` was a time not after now.
        assert!(parse_ask("in 0h Now?", &names, now, ny())
            .unwrap_err()
            .contains("is now"));
    }

    /// Any length a user types is refused cleanly, never panics, and never
    /// wraps into a short one (`30500568904944w` once gave a 6-day pause).
    #[test]
    fn huge_lengths_are_refused_not_wrapped() {
        let now = utc("2026-12-01 15:00");
        let names = ["weekly-pulse"];
        for len in [
            "20000000w",
            "30500568904944w",
            "99999999999999w",
            "18446744073709551615s",
            "99999999999999999999999d",
            "3651d",
        ] {
            let e = parse_pause(len, now, ny()).unwrap_err();
            assert!(e.contains("366 days"), "{len}: {e}");
            let e = parse_ask(&format!("in {len} x"), &names, now, ny()).unwrap_err();
            assert!(e.contains("30 days"), "{len}: {e}");
        }
        assert!(parse_pause("until 9999-12-31", now, ny())
            .unwrap_err()
            .contains("366"));
        assert!(parse_pause("until +262143-12-31", now, ny()).is_err());
        assert!(parse_ask("at +262143-12-31 23:59 x", &names, now, ny()).is_err());
        // chrono's last day, behind UTC: its UTC instant is out of range,
        // and looking for the next valid minute once overflowed (found in
        // review).
        for t in ["19:00", "23:59"] {
            assert!(parse_ask(&format!("at +262142-12-31 {t} hi"), &names, now, ny()).is_err());
        }
        assert!(parse_pause("until +262142-12-31", now, ny()).is_err());
        assert!(parse_pause(
            "until -262143-01-01",
            now,
            crate::tz::Tz::named("Pacific/Kiritimati").unwrap()
        )
        .is_err());
    }

    #[test]
    fn an_unknown_checkin_is_refused_by_name() {
        let now = utc("2026-12-01 15:00");
        let names = ["weekly-pulse", "deal-desk"];
        let e = parse_ask("nosuchcheckin hello", &names, now, ny()).unwrap_err();
        assert!(e.contains("`nosuchcheckin`"), "{e}");
        assert!(
            e.contains("`weekly-pulse`") && e.contains("`deal-desk`"),
            "{e}"
        );
        assert!(parse_ask("deal-dsk in 2h Pricing?", &names, now, ny()).is_err());
        // Questions that start in lower case with a question word still go
        // to the first check-in.
        for q in [
            "any pricing pushback?",
            "which competitor came up?",
            "in 2h what's new?",
        ] {
            let a = parse_ask(q, &names, now, ny()).unwrap();
            assert_eq!(a.checkin, None, "{q}");
        }
        let a = parse_ask("What's new?", &names, now, ny()).unwrap();
        assert_eq!(a.question, "What's new?");
        // What goes to every rep's DM carries no bidi override or control.
        let a = parse_ask("Which \u{202e}rotitepmoc\u{202c}?\u{7}", &names, now, ny()).unwrap();
        assert_eq!(a.question, "Which rotitepmoc?");
        assert!(parse_ask("\u{202e}\u{7}", &names, now, ny()).is_err());
    }
}
