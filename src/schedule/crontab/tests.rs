//! The crontab tests: parsing, the translation to the `cron` engine checked
//! against a reference matcher, descriptions, and the DST rule in several zones.

use super::parse::{self, Fields};
use super::{Crontab, Occurrence};
use crate::tz::Tz;
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc, Weekday,
};
use std::collections::{BTreeMap, HashSet};

fn ndt(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}
fn utc(s: &str) -> DateTime<Utc> {
    ndt(s).and_utc()
}
fn local_seq(expr: &str, start: &str, n: usize) -> Vec<NaiveDateTime> {
    let c = Crontab::parse(expr).unwrap();
    let mut out = Vec::new();
    let mut t = ndt(start);
    for _ in 0..n {
        t = c.next_local_after(t).unwrap();
        out.push(t);
    }
    out
}

/// The parser's field lists as bit masks, for a fast reference matcher.
struct Masks {
    minutes: u64,
    hours: u64,
    doms: u64,
    months: u64,
    dows: u64,
    dom_star: bool,
    dow_star: bool,
}

impl Masks {
    fn of(f: &Fields) -> Masks {
        let mask = |values: &[u32]| values.iter().fold(0u64, |m, v| m | (1 << v));
        Masks {
            minutes: mask(&f.minutes),
            hours: mask(&f.hours),
            doms: mask(&f.doms),
            months: mask(&f.months),
            dows: mask(&f.dows),
            dom_star: f.dom_star,
            dow_star: f.dow_star,
        }
    }
}

/// Reference matcher straight from crontab(5) over the parser's output, used
/// to brute-force check the translation to the cron engine.
fn reference_matches(c: &Masks, t: NaiveDateTime) -> bool {
    let has = |mask: u64, v: u32| mask & (1 << v) != 0;
    let dom = has(c.doms, t.day());
    let dow = has(c.dows, t.weekday().num_days_from_sunday());
    let day = if !c.dom_star && !c.dow_star {
        dom || dow
    } else {
        dom && dow
    };
    t.second() == 0
        && has(c.minutes, t.minute())
        && has(c.hours, t.hour())
        && has(c.months, t.month())
        && day
}

#[test]
fn engine_agrees_with_reference_matcher() {
    let exprs = [
        "* * * * *",
        "*/15 * * * *",
        "1-5/2 * * * *",
        "5/20 3 * * *",
        "0 9 * * MON-FRI",
        "0 9 * * 1-5",
        "30 8 1 * MON",
        "0 9 1,15 * 0",
        "0 9 */10 * 7",
        "0 9 1 * */2",
        "0 9 */2 * *",
        "0 12 * JAN,jul *",
        "0 12 31 * *",
        "0 0 29 2 *",
        "0 0 29 2 MON",
        "15 10 * FEB-APR/2 sat,Sun",
        "0 0-23/6 13 * FRI",
    ];
    for expr in exprs {
        let c = Crontab::parse(expr).unwrap();
        let f = Masks::of(&parse::fields(expr).unwrap());
        let start = ndt("2026-01-01 00:00");
        let end = start + Duration::days(if f.minutes.count_ones() > 4 { 20 } else { 800 });
        let mut expected = Vec::new();
        let mut t = start + Duration::minutes(1);
        while t <= end {
            if f.hours & (1 << t.hour()) == 0 {
                // No minute of this hour can match: jump to the next hour.
                t += Duration::minutes(60 - i64::from(t.minute()));
                continue;
            }
            if reference_matches(&f, t) {
                expected.push(t);
            }
            t += Duration::minutes(1);
        }
        let mut got = Vec::new();
        let mut t = start;
        while let Some(n) = c.next_local_after(t) {
            if n > end {
                break;
            }
            got.push(n);
            t = n;
        }
        assert_eq!(got, expected, "{expr}");
        assert!(!got.is_empty(), "{expr}");
    }
}

#[test]
fn parses_valid_forms() {
    // (expr, start, expected next local times)
    let table: &[(&str, &str, &[&str])] = &[
        (
            "*/15 * * * *",
            "2026-05-05 10:07",
            &[
                "2026-05-05 10:15",
                "2026-05-05 10:30",
                "2026-05-05 10:45",
                "2026-05-05 11:00",
            ],
        ),
        (
            "1-5/2 * * * *",
            "2026-05-05 10:00",
            &[
                "2026-05-05 10:01",
                "2026-05-05 10:03",
                "2026-05-05 10:05",
                "2026-05-05 11:01",
            ],
        ),
        (
            "0,30 9 * * *",
            "2026-05-05 09:00",
            &["2026-05-05 09:30", "2026-05-06 09:00"],
        ),
        (
            "0 16 * * MON-FRI",
            "2026-05-08 16:00",
            &["2026-05-11 16:00", "2026-05-12 16:00"],
        ),
        (
            "0 16 * * mon-fri",
            "2026-05-08 16:00",
            &["2026-05-11 16:00"],
        ),
        ("0 9 * feb *", "2026-05-05 09:00", &["2027-02-01 09:00"]),
        (
            "0 9 1 JAN-MAR/2 *",
            "2026-01-01 09:00",
            &["2026-03-01 09:00", "2027-01-01 09:00"],
        ),
        ("  0 9 * * *  ", "2026-05-05 09:00", &["2026-05-06 09:00"]),
        (
            "@yearly",
            "2026-05-05 00:00",
            &["2027-01-01 00:00", "2028-01-01 00:00"],
        ),
        ("@annually", "2026-05-05 00:00", &["2027-01-01 00:00"]),
        (
            "@monthly",
            "2026-05-05 00:00",
            &["2026-06-01 00:00", "2026-07-01 00:00"],
        ),
        // 2026-05-05 is a Tuesday; @weekly is Sunday midnight.
        (
            "@weekly",
            "2026-05-05 00:00",
            &["2026-05-10 00:00", "2026-05-17 00:00"],
        ),
        ("@daily", "2026-05-05 00:00", &["2026-05-06 00:00"]),
        ("@midnight", "2026-05-05 00:00", &["2026-05-06 00:00"]),
        ("@DAILY", "2026-05-05 00:00", &["2026-05-06 00:00"]),
        (
            "@hourly",
            "2026-05-05 10:00",
            &["2026-05-05 11:00", "2026-05-05 12:00"],
        ),
        ("0 0 29 2 *", "2026-01-01 00:00", &["2028-02-29 00:00"]),
    ];
    for (expr, start, expected) in table {
        let expected: Vec<_> = expected.iter().map(|s| ndt(s)).collect();
        assert_eq!(local_seq(expr, start, expected.len()), expected, "{expr}");
    }
    assert_eq!(Crontab::parse("  @daily ").unwrap().expr(), "@daily");
    assert_eq!(
        "0 9 * * *".parse::<Crontab>().unwrap().to_string(),
        "0 9 * * *"
    );
}

#[test]
fn next_local_after_is_strict_and_ignores_subseconds() {
    let c = Crontab::parse("0 9 * * *").unwrap();
    let at_nine = ndt("2026-05-05 09:00");
    assert_eq!(c.next_local_after(at_nine), Some(ndt("2026-05-06 09:00")));
    let just_before = at_nine - Duration::milliseconds(1);
    assert_eq!(c.next_local_after(just_before), Some(at_nine));
    let just_after = at_nine + Duration::milliseconds(500);
    assert_eq!(
        c.next_local_after(just_after),
        Some(ndt("2026-05-06 09:00"))
    );
    // The engine stops at 2100.
    assert_eq!(c.next_local_after(ndt("2100-12-31 10:00")), None);
}

#[test]
fn day_of_week_numbers_follow_crontab() {
    // (expr, weekdays expected, in order of the week starting Monday)
    let table: &[(&str, &[Weekday])] = &[
        ("0 9 * * 0", &[Weekday::Sun]),
        ("0 9 * * 7", &[Weekday::Sun]),
        ("0 9 * * SUN", &[Weekday::Sun]),
        ("0 9 * * 1", &[Weekday::Mon]),
        ("0 9 * * 6", &[Weekday::Sat]),
        (
            "0 9 * * MON-FRI",
            &[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
        ),
        (
            "0 9 * * 1-5",
            &[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
        ),
        ("0 9 * * 5-7", &[Weekday::Fri, Weekday::Sat, Weekday::Sun]),
        ("0 9 * * 0,6", &[Weekday::Sat, Weekday::Sun]),
        ("0 9 * * sat,SUN", &[Weekday::Sat, Weekday::Sun]),
        (
            "0 9 * * */2",
            &[Weekday::Sun, Weekday::Tue, Weekday::Thu, Weekday::Sat],
        ),
        (
            "0 9 * * 0-7",
            &[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ],
        ),
    ];
    for (expr, days) in table {
        // Four weeks starting Monday 2026-05-04.
        let got = local_seq(expr, "2026-05-03 23:59", days.len() * 4);
        let expected: HashSet<Weekday> = days.iter().copied().collect();
        for t in &got {
            assert!(
                expected.contains(&t.weekday()),
                "{expr}: {t} is a {}",
                t.weekday()
            );
            assert_eq!(t.time(), ndt("2026-01-01 09:00").time());
        }
        let distinct: HashSet<_> = got.iter().map(|t| t.date()).collect();
        assert_eq!(distinct.len(), got.len(), "{expr}");
        assert!(
            *got.last().unwrap() < ndt("2026-06-01 00:00"),
            "{expr}: {got:?}"
        );
    }
}

/// `cron` rejects a step larger than the field's maximum; crontab takes it
/// to select just the start, and so does the translation.
#[test]
fn steps_past_the_field_select_only_the_start() {
    assert_eq!(
        local_seq("*/90 * * * *", "2026-05-05 10:07", 2),
        vec![ndt("2026-05-05 11:00"), ndt("2026-05-05 12:00")]
    );
    assert_eq!(
        local_seq("1/4294967295 9 * * *", "2026-05-05 00:00", 2),
        vec![ndt("2026-05-05 09:01"), ndt("2026-05-06 09:01")]
    );
    assert_eq!(
        local_seq("0 9 * * MON/9", "2026-05-05 00:00", 2),
        vec![ndt("2026-05-11 09:00"), ndt("2026-05-18 09:00")]
    );
}

#[test]
fn dom_and_dow_are_ored_when_both_restricted() {
    let c = Crontab::parse("0 9 1 * MON").unwrap();
    let mut t = ndt("2025-12-31 00:00");
    let mut dates = Vec::new();
    while let Some(n) = c.next_local_after(t) {
        if n.year() > 2026 {
            break;
        }
        dates.push(n.date());
        t = n;
    }
    let mut expected = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    while d.year() == 2026 {
        if d.day() == 1 || d.weekday() == Weekday::Mon {
            expected.push(d);
        }
        d = d.succ_opt().unwrap();
    }
    assert_eq!(dates, expected);
    // 2026-01-01 is a Thursday, 2026-01-05 a Monday.
    assert!(dates.contains(&NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()));
    assert!(dates.contains(&NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()));
    // `*`-prefixed day-of-month counts as unrestricted: AND (Vixie cron).
    let and = local_seq("0 9 */2 * MON", "2026-01-01 00:00", 10);
    assert!(and
        .iter()
        .all(|t| t.weekday() == Weekday::Mon && t.day() % 2 == 1));
    // Only one restricted: just that one.
    let only_dom = local_seq("0 9 1 * *", "2026-01-01 00:00", 5);
    assert!(only_dom.iter().all(|t| t.day() == 1));
}

#[test]
fn rejects_bad_expressions_with_clear_messages() {
    let table: &[(&str, &str)] = &[
        ("", "the schedule is empty"),
        ("   ", "the schedule is empty"),
        (
            "* * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week) but found 4",
        ),
        (
            "0 * * * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week) but found 6 (seconds and year fields are not supported",
        ),
        ("0 0 9 * * * 2026", "but found 7"),
        ("60 * * * *", "minute value 60 is out of range 0–59"),
        ("0 24 * * *", "hour value 24 is out of range 0–23"),
        ("0 0 32 * *", "day-of-month value 32 is out of range 1–31"),
        ("0 0 0 * *", "day-of-month value 0 is out of range 1–31"),
        ("0 0 * 13 *", "month value 13 is out of range 1–12"),
        ("0 0 * 0 *", "month value 0 is out of range 1–12"),
        ("0 0 * * 8", "day-of-week value 8 is out of range 0–7"),
        ("0 0 * * 1-8", "day-of-week value 8 is out of range 0–7"),
        (
            "0 0 * * 99999999999999",
            "day-of-week value 99999999999999 is out of range 0–7",
        ),
        (
            "0 0 * * MUN",
            "day-of-week value \"MUN\" is not a number or a day name (SUN–SAT)",
        ),
        (
            "0 0 * * Monday",
            "day-of-week value \"Monday\" is not a number or a day name (SUN–SAT)",
        ),
        (
            "0 0 * JANUARY *",
            "month value \"JANUARY\" is not a number or a month name (JAN–DEC)",
        ),
        (
            "0 0 * * JAN",
            "day-of-week value \"JAN\" is not a number or a day name",
        ),
        ("0 0 MON * *", "day-of-month value \"MON\" is not a number"),
        ("x 0 * * *", "minute value \"x\" is not a number"),
        ("-5 0 * * *", "minute value \"-5\" is not a number"),
        ("0 0 ? * *", "day-of-month value \"?\" is not a number"),
        ("0 0 L * *", "day-of-month value \"L\" is not a number"),
        ("1,,2 0 * * *", "minute field \"1,,2\" has an empty entry"),
        ("1, 0 * * *", "minute field \"1,\" has an empty entry"),
        ("30-10 0 * * *", "minute range \"30-10\" runs backwards"),
        (
            "0 0 * * FRI-MON",
            "day-of-week range \"FRI-MON\" runs backwards",
        ),
        (
            "*/0 * * * *",
            "minute step in \"*/0\" must be a whole number of at least 1",
        ),
        ("*/ * * * *", "minute step in \"*/\" must be a whole number"),
        (
            "*/x * * * *",
            "minute step in \"*/x\" must be a whole number",
        ),
        ("0 0 30 2 *", "can never fire"),
        ("0 0 31 4,6,9,11 *", "can never fire"),
        ("@reboot", "@reboot is not supported"),
        ("@REBOOT", "@reboot is not supported"),
        ("@fortnightly", "unknown macro \"@fortnightly\""),
        ("@daily 0", "unknown macro"),
    ];
    for (expr, msg) in table {
        let err = Crontab::parse(expr).expect_err(expr).to_string();
        assert!(err.contains(msg), "{expr:?}: got {err:?}, want {msg:?}");
    }
    // Feb 30 with a weekday is fine (ORed: fires on the weekday).
    assert!(Crontab::parse("0 0 30 2 MON").is_ok());
}

#[test]
fn describes() {
    let table: &[(&str, &str)] = &[
        ("0 16 * * MON-FRI", "at 16:00 on Mon–Fri"),
        ("0 16 * * 1-5", "at 16:00 on Mon–Fri"),
        ("30 9 * * *", "at 09:30 every day"),
        ("0 9,17 * * *", "at 09:00 and 17:00 every day"),
        ("0 9 * * 0,6", "at 09:00 on Sat and Sun"),
        ("0 9 * * 1,3,5", "at 09:00 on Mon, Wed and Fri"),
        ("* * * * *", "every minute"),
        ("*/15 * * * *", "every 15 minutes"),
        ("*/30 * * * *", "every 30 minutes"),
        ("@hourly", "every hour"),
        ("5 * * * *", "every hour at :05"),
        (
            "*/15 9-17 * * MON-FRI",
            "every 15 minutes from 09:00 to 17:45 on Mon–Fri",
        ),
        ("0 9 1 * *", "at 09:00 on day 1 of the month"),
        ("0 9 1,15 * *", "at 09:00 on days 1 and 15 of the month"),
        ("0 9 1 * MON", "at 09:00 on day 1 of the month and on Mon"),
        ("0 9 * JAN,JUL *", "at 09:00 every day in Jan and Jul"),
        ("0 9 * * MON", "at 09:00 on Mon"),
        ("@yearly", "at 00:00 on 1 Jan"),
        ("@weekly", "at 00:00 on Sun"),
        ("@monthly", "at 00:00 on day 1 of the month"),
        (
            "1,7,13,29,44 1-3,7 * * *",
            "on crontab schedule \"1,7,13,29,44 1-3,7 * * *\"",
        ),
    ];
    for (expr, want) in table {
        assert_eq!(Crontab::parse(expr).unwrap().describe(), *want, "{expr}");
    }
}

// ---------------------------------------------------------------- DST

fn ny() -> Tz {
    crate::tz::Tz::named("America/New_York").unwrap()
}
fn london() -> Tz {
    crate::tz::Tz::named("Europe/London").unwrap()
}
fn sydney() -> Tz {
    crate::tz::Tz::named("Australia/Sydney").unwrap()
}
fn kolkata() -> Tz {
    crate::tz::Tz::named("Asia/Kolkata").unwrap()
}

struct Change {
    zone: fn() -> Tz,
    date: &'static str,
    /// A wall-clock time inside the gap (spring) or the repeated hour (fall).
    inside: &'static str,
    /// Expected UTC instant of that time's single firing.
    fires_at_utc: &'static str,
    spring: bool,
}

impl Change {
    fn tz(&self) -> Tz {
        (self.zone)()
    }
}

const CHANGES: &[Change] = &[
    // New York: gap 02:00–03:00 (03:00 EDT = 07:00Z); overlap 01:00–02:00 (01:30 EDT = 05:30Z).
    Change {
        zone: ny,
        date: "2026-03-08",
        inside: "02:30",
        fires_at_utc: "2026-03-08 07:00",
        spring: true,
    },
    Change {
        zone: ny,
        date: "2026-11-01",
        inside: "01:30",
        fires_at_utc: "2026-11-01 05:30",
        spring: false,
    },
    Change {
        zone: ny,
        date: "2027-03-14",
        inside: "02:30",
        fires_at_utc: "2027-03-14 07:00",
        spring: true,
    },
    Change {
        zone: ny,
        date: "2027-11-07",
        inside: "01:30",
        fires_at_utc: "2027-11-07 05:30",
        spring: false,
    },
    // London: gap 01:00–02:00 (02:00 BST = 01:00Z); overlap 01:00–02:00 (01:30 BST = 00:30Z).
    Change {
        zone: london,
        date: "2026-03-29",
        inside: "01:30",
        fires_at_utc: "2026-03-29 01:00",
        spring: true,
    },
    Change {
        zone: london,
        date: "2026-10-25",
        inside: "01:30",
        fires_at_utc: "2026-10-25 00:30",
        spring: false,
    },
    Change {
        zone: london,
        date: "2027-03-28",
        inside: "01:30",
        fires_at_utc: "2027-03-28 01:00",
        spring: true,
    },
    Change {
        zone: london,
        date: "2027-10-31",
        inside: "01:30",
        fires_at_utc: "2027-10-31 00:30",
        spring: false,
    },
    // Sydney: back 03:00→02:00 (02:30 AEDT = 15:30Z previous day);
    // forward 02:00→03:00 (03:00 AEDT = 16:00Z previous day).
    Change {
        zone: sydney,
        date: "2026-04-05",
        inside: "02:30",
        fires_at_utc: "2026-04-04 15:30",
        spring: false,
    },
    Change {
        zone: sydney,
        date: "2026-10-04",
        inside: "02:30",
        fires_at_utc: "2026-10-03 16:00",
        spring: true,
    },
    Change {
        zone: sydney,
        date: "2027-04-04",
        inside: "02:30",
        fires_at_utc: "2027-04-03 15:30",
        spring: false,
    },
    Change {
        zone: sydney,
        date: "2027-10-03",
        inside: "02:30",
        fires_at_utc: "2027-10-02 16:00",
        spring: true,
    },
];

/// `"02:30"` -> `30 2 * * *`.
fn daily(time: &str) -> Crontab {
    let (h, m) = time.split_once(':').unwrap();
    let (h, m): (u32, u32) = (h.parse().unwrap(), m.parse().unwrap());
    Crontab::parse(&format!("{m} {h} * * *")).unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// All occurrences whose scheduled local date is within ±`days` of `day`.
fn around(c: &Crontab, tz: Tz, day: NaiveDate, days: i64) -> Vec<Occurrence> {
    let from_local = (day - Duration::days(days)).and_hms_opt(0, 0, 0).unwrap();
    let to_local = (day + Duration::days(days + 1))
        .and_hms_opt(0, 0, 0)
        .unwrap();
    // Generous UTC window, then filter by local date.
    let from = from_local.and_utc() - Duration::days(1);
    let to = to_local.and_utc() + Duration::days(1);
    c.occurrences_between(tz, from, to)
        .into_iter()
        .filter(|o| o.local >= from_local && o.local < to_local)
        .collect()
}

/// Invariants every occurrence sequence must satisfy.
fn check_invariants(c: &Crontab, tz: Tz, occ: &[Occurrence]) {
    let mut locals = HashSet::new();
    for w in occ.windows(2) {
        assert!(
            w[0].at < w[1].at,
            "{}: not strictly increasing: {w:?}",
            c.expr()
        );
        assert!(
            w[0].local < w[1].local,
            "{}: locals out of order: {w:?}",
            c.expr()
        );
    }
    for o in occ {
        assert!(
            locals.insert(o.local),
            "{}: duplicate local {}",
            c.expr(),
            o.local
        );
        match tz.from_local_datetime(&o.local) {
            chrono::LocalResult::Single(dt) => assert_eq!(dt, o.at),
            chrono::LocalResult::Ambiguous(a, b) => assert_eq!(a.min(b), o.at),
            chrono::LocalResult::None => {
                // Gap time: fires at the gap end, which lies after it.
                let shown = o.at.with_timezone(&tz).naive_local();
                assert!(
                    shown > o.local && shown - o.local <= Duration::hours(2),
                    "{o:?}"
                );
            }
        }
    }
    // next_after agrees with the sequence at (a sample of) its boundaries.
    let stride = occ.len() / 100 + 1;
    for w in occ.windows(2).step_by(stride) {
        assert_eq!(c.next_after(tz, w[0].at), Some(w[1]), "{}", c.expr());
        assert_eq!(c.next_after(tz, w[1].at - Duration::seconds(1)), Some(w[1]));
    }
}

#[test]
fn daily_time_inside_the_change_fires_exactly_once() {
    for ch in CHANGES {
        let (h, _) = ch.inside.split_once(':').unwrap();
        let c = daily(ch.inside);
        let day = date(ch.date);
        let occ = around(&c, ch.tz(), day, 3);
        check_invariants(&c, ch.tz(), &occ);
        let that_day: Vec<_> = occ.iter().filter(|o| o.local.date() == day).collect();
        assert_eq!(that_day.len(), 1, "{} {}: {that_day:?}", ch.tz(), ch.date);
        assert_eq!(
            that_day[0].local,
            ndt(&format!("{} {}", ch.date, ch.inside))
        );
        assert_eq!(
            that_day[0].at,
            utc(ch.fires_at_utc),
            "{} {}",
            ch.tz(),
            ch.date
        );
        if ch.spring {
            // Gap end: the next valid minute, on the hour after the gap.
            let shown = that_day[0].at.with_timezone(&ch.tz());
            assert_eq!(
                (shown.hour(), shown.minute()),
                (h.parse::<u32>().unwrap() + 1, 0)
            );
        }
        // One firing per local date, none skipped.
        let dates: Vec<_> = occ.iter().map(|o| o.local.date()).collect();
        let expected: Vec<_> = (-3..=3).map(|d| day + Duration::days(d)).collect();
        assert_eq!(dates, expected, "{} {}", ch.tz(), ch.date);
    }
}

#[test]
fn daily_times_outside_the_change_fire_once_per_day() {
    let times = [
        "00:00", "00:59", "01:59", "03:00", "03:30", "09:00", "12:15", "16:00", "23:59",
    ];
    for ch in CHANGES {
        let day = date(ch.date);
        for time in times {
            let local = ndt(&format!("{} {time}", ch.date));
            let inside_change = !matches!(
                ch.tz().from_local_datetime(&local),
                chrono::LocalResult::Single(_)
            );
            let c = daily(time);
            let occ = around(&c, ch.tz(), day, 3);
            check_invariants(&c, ch.tz(), &occ);
            let dates: Vec<_> = occ.iter().map(|o| o.local.date()).collect();
            let expected: Vec<_> = (-3..=3).map(|d| day + Duration::days(d)).collect();
            assert_eq!(dates, expected, "{} {} {time}", ch.tz(), ch.date);
            for o in &occ {
                if o.local.date() != day || !inside_change {
                    assert_eq!(o.at.with_timezone(&ch.tz()).naive_local(), o.local, "{o:?}");
                }
            }
        }
    }
}

/// Expected number of firings on a change day for sub-daily schedules.
#[test]
fn subdaily_schedules_across_changes() {
    // (expr, firings on a spring day, firings on a fall day) for 1-hour shifts.
    let table: &[(&str, usize, usize)] = &[
        // Gap times collapse into the real gap-end time.
        ("0 * * * *", 23, 24),
        ("*/30 * * * *", 46, 48),
        ("*/15 * * * *", 92, 96),
        ("* * * * *", 1380, 1440),
        // Gap-end not scheduled: the gap times collapse into one firing.
        ("15,45 * * * *", 47, 48),
        ("30 * * * *", 24, 24),
        ("0 1-3 * * *", 2, 3),
    ];
    for ch in CHANGES {
        let day = date(ch.date);
        for (expr, spring_n, fall_n) in table {
            let c = Crontab::parse(expr).unwrap();
            let occ = around(&c, ch.tz(), day, 1);
            check_invariants(&c, ch.tz(), &occ);
            let instants: HashSet<_> = occ.iter().map(|o| o.at).collect();
            assert_eq!(instants.len(), occ.len());
            let n = occ.iter().filter(|o| o.local.date() == day).count();
            // `0 1-3` in London spring: 01:00 gap collapses into 02:00; in
            // New York/Sydney spring: 02:00 collapses into 03:00. Both give 2.
            let want = if ch.spring { *spring_n } else { *fall_n };
            assert_eq!(n, want, "{expr} in {} on {}", ch.tz(), ch.date);
            // Neighbouring days are normal.
            for d in [day - Duration::days(1), day + Duration::days(1)] {
                let n = occ.iter().filter(|o| o.local.date() == d).count();
                assert_eq!(n, if *spring_n == 2 { 3 } else { *fall_n }, "{expr} {d}");
            }
        }
    }
}

#[test]
fn gap_rule_identity() {
    // New York 2026-03-08: 02:00–03:00 does not exist.
    let gap_end = utc("2026-03-08 07:00");
    let fire = |expr: &str| {
        Crontab::parse(expr).unwrap().occurrences_between(
            ny(),
            utc("2026-03-08 06:00"),
            utc("2026-03-08 08:00"),
        )
    };
    // A real 03:00 exists: it fires, 02:00 and 02:30 are dropped.
    let occ = fire("*/30 * * * *");
    let at_gap: Vec<_> = occ.iter().filter(|o| o.at == gap_end).collect();
    assert_eq!(at_gap.len(), 1);
    assert_eq!(at_gap[0].local, ndt("2026-03-08 03:00"));
    assert_eq!(
        occ.iter().map(|o| o.local).collect::<Vec<_>>(),
        vec![
            // 01:00 EST is 06:00Z: `from` is exclusive; 04:00 EDT is 08:00Z: `to` is inclusive.
            ndt("2026-03-08 01:30"),
            ndt("2026-03-08 03:00"),
            ndt("2026-03-08 03:30"),
            ndt("2026-03-08 04:00"),
        ]
    );
    // No real 03:00: the first gap time (02:15) fires at 03:00, 02:45 dropped.
    let occ = fire("15,45 * * * *");
    assert_eq!(
        occ.iter().map(|o| (o.local, o.at)).collect::<Vec<_>>(),
        vec![
            (ndt("2026-03-08 01:15"), utc("2026-03-08 06:15")),
            (ndt("2026-03-08 01:45"), utc("2026-03-08 06:45")),
            (ndt("2026-03-08 02:15"), gap_end),
            (ndt("2026-03-08 03:15"), utc("2026-03-08 07:15")),
            (ndt("2026-03-08 03:45"), utc("2026-03-08 07:45")),
        ]
    );
    // Asking from just before / at the gap end.
    let c = Crontab::parse("15,45 * * * *").unwrap();
    let o = c.next_after(ny(), gap_end - Duration::seconds(1)).unwrap();
    assert_eq!((o.local, o.at), (ndt("2026-03-08 02:15"), gap_end));
    let o = c.next_after(ny(), gap_end).unwrap();
    assert_eq!(o.local, ndt("2026-03-08 03:15"));
}

#[test]
fn fall_back_fires_first_pass_only() {
    // New York 2026-11-01: 01:00–02:00 happens twice (EDT 05:00Z–06:00Z, EST 06:00Z–07:00Z).
    let c = Crontab::parse("*/30 * * * *").unwrap();
    let occ = c.occurrences_between(ny(), utc("2026-11-01 04:00"), utc("2026-11-01 08:00"));
    assert_eq!(
        occ.iter().map(|o| (o.local, o.at)).collect::<Vec<_>>(),
        vec![
            (ndt("2026-11-01 00:30"), utc("2026-11-01 04:30")),
            (ndt("2026-11-01 01:00"), utc("2026-11-01 05:00")),
            (ndt("2026-11-01 01:30"), utc("2026-11-01 05:30")),
            (ndt("2026-11-01 02:00"), utc("2026-11-01 07:00")),
            (ndt("2026-11-01 02:30"), utc("2026-11-01 07:30")),
            (ndt("2026-11-01 03:00"), utc("2026-11-01 08:00")),
        ]
    );
    // Asking during the second pass does not re-fire 01:30.
    let o = c.next_after(ny(), utc("2026-11-01 06:10")).unwrap();
    assert_eq!(o.local, ndt("2026-11-01 02:00"));
}

#[test]
fn kolkata_is_exactly_daily() {
    let dates: Vec<&str> = CHANGES.iter().map(|c| c.date).collect();
    for time in ["09:00", "02:30", "01:30", "00:00"] {
        let c = daily(time);
        for d in &dates {
            let occ = around(&c, kolkata(), date(d), 4);
            check_invariants(&c, kolkata(), &occ);
            assert_eq!(occ.len(), 9);
            for w in occ.windows(2) {
                assert_eq!(w[1].at - w[0].at, Duration::days(1));
            }
            for o in &occ {
                assert_eq!(o.at.naive_utc() + Duration::minutes(330), o.local);
            }
        }
    }
}

#[test]
fn between_upcoming_and_next_after_agree() {
    let exprs = [
        "*/30 * * * *",
        "0 * * * *",
        "30 2 * * *",
        "0 9 1 * MON",
        "15,45 1-3 * * *",
    ];
    for ch in CHANGES {
        for expr in exprs {
            let c = Crontab::parse(expr).unwrap();
            let from = ndt(&format!("{} 00:00", ch.date)).and_utc() - Duration::days(2);
            let to = from + Duration::days(4);
            let between = c.occurrences_between(ch.tz(), from, to);
            check_invariants(&c, ch.tz(), &between);
            assert!(between.iter().all(|o| o.at > from && o.at <= to));
            let upcoming = c.upcoming(ch.tz(), from, between.len());
            assert_eq!(upcoming, between, "{expr} {}", ch.date);
            let mut t = from;
            let mut stepped = Vec::new();
            while let Some(o) = c.next_after(ch.tz(), t) {
                if o.at > to {
                    break;
                }
                stepped.push(o);
                t = o.at;
            }
            assert_eq!(stepped, between, "{expr} {}", ch.date);
            // `to` is inclusive, `from` exclusive.
            if let Some(first) = between.first() {
                let again = c.occurrences_between(ch.tz(), first.at, first.at);
                assert!(again.is_empty());
                let incl =
                    c.occurrences_between(ch.tz(), first.at - Duration::seconds(1), first.at);
                assert_eq!(incl, vec![*first]);
            }
        }
    }
}

#[test]
fn long_runs_never_repeat_a_local() {
    // A full year of half-hourly firings in every zone.
    for tz in [ny(), london(), sydney(), kolkata()] {
        let c = Crontab::parse("*/30 * * * *").unwrap();
        let occ = c.occurrences_between(tz, utc("2026-01-01 00:00"), utc("2027-01-01 00:00"));
        let mut seen = BTreeMap::new();
        for w in occ.windows(2) {
            assert!(w[0].at < w[1].at);
        }
        for o in &occ {
            assert!(seen.insert(o.local, o.at).is_none(), "{tz}: {o:?}");
        }
        // 365 days × 48 half-hours of real time, minus the 2 firings lost
        // in the repeated hour of the year's fall-back (gap times still
        // fire, at the gap end).
        let expected = 365 * 48 - if tz == kolkata() { 0 } else { 2 };
        assert_eq!(occ.len(), expected, "{tz}");
    }
}

/// `local_time` check-ins resolve one wall-clock time in each person's
/// zone: on spring-forward days a missing time fires once at the gap's
/// end, on fall-back days a repeated time fires once (the first pass).
#[test]
fn fire_instant_across_2026_and_2027_dst_changes() {
    let utc = |s: &str| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    };
    // (zone, cadence, local wall-clock, expected UTC instant)
    let cases: &[(Tz, &str, &str, Option<&str>)] = &[
        // New York: 2026-03-08 and 2027-03-14 spring forward at 02:00.
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "30 2 * * *",
            "2026-03-08 02:30",
            Some("2026-03-08 07:00"),
        ),
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "30 2 * * *",
            "2027-03-14 02:30",
            Some("2027-03-14 07:00"),
        ),
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "30 2 * * *",
            "2026-03-09 02:30",
            Some("2026-03-09 06:30"),
        ),
        // Two times in the same gap fire once, as the first of them.
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "0,30 2 * * *",
            "2026-03-08 02:00",
            Some("2026-03-08 07:00"),
        ),
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "0,30 2 * * *",
            "2026-03-08 02:30",
            None,
        ),
        // A real scheduled time at the gap end absorbs the gap's times.
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "0,30 2,3 * * *",
            "2026-03-08 02:00",
            None,
        ),
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "0,30 2,3 * * *",
            "2026-03-08 02:30",
            None,
        ),
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "0,30 2,3 * * *",
            "2026-03-08 03:00",
            Some("2026-03-08 07:00"),
        ),
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "0,30 2,3 * * *",
            "2026-03-08 03:30",
            Some("2026-03-08 07:30"),
        ),
        // Fall back 2026-11-01 and 2027-11-07: 01:30 happens twice, fires at the first.
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "30 1 * * *",
            "2026-11-01 01:30",
            Some("2026-11-01 05:30"),
        ),
        (
            crate::tz::Tz::named("America/New_York").unwrap(),
            "30 1 * * *",
            "2027-11-07 01:30",
            Some("2027-11-07 05:30"),
        ),
        // London: 2026-03-29 / 2027-03-28 01:00 -> 02:00; 2026-10-25 / 2027-10-31 02:00 -> 01:00.
        (
            crate::tz::Tz::named("Europe/London").unwrap(),
            "30 1 * * *",
            "2026-03-29 01:30",
            Some("2026-03-29 01:00"),
        ),
        (
            crate::tz::Tz::named("Europe/London").unwrap(),
            "30 1 * * *",
            "2027-03-28 01:30",
            Some("2027-03-28 01:00"),
        ),
        (
            crate::tz::Tz::named("Europe/London").unwrap(),
            "30 1 * * *",
            "2026-10-25 01:30",
            Some("2026-10-25 00:30"),
        ),
        (
            crate::tz::Tz::named("Europe/London").unwrap(),
            "30 1 * * *",
            "2027-10-31 01:30",
            Some("2027-10-31 00:30"),
        ),
        // Sydney: DST ends 2026-04-05 / 2027-04-04 (03:00 -> 02:00), starts 2026-10-04 / 2027-10-03 (02:00 -> 03:00).
        (
            crate::tz::Tz::named("Australia/Sydney").unwrap(),
            "30 2 * * *",
            "2026-04-05 02:30",
            Some("2026-04-04 15:30"),
        ),
        (
            crate::tz::Tz::named("Australia/Sydney").unwrap(),
            "30 2 * * *",
            "2027-04-04 02:30",
            Some("2027-04-03 15:30"),
        ),
        (
            crate::tz::Tz::named("Australia/Sydney").unwrap(),
            "30 2 * * *",
            "2026-10-04 02:30",
            Some("2026-10-03 16:00"),
        ),
        (
            crate::tz::Tz::named("Australia/Sydney").unwrap(),
            "30 2 * * *",
            "2027-10-03 02:30",
            Some("2027-10-02 16:00"),
        ),
        // Kolkata has no DST: every time exists once, at +05:30.
        (
            crate::tz::Tz::named("Asia/Kolkata").unwrap(),
            "30 2 * * *",
            "2026-03-08 02:30",
            Some("2026-03-07 21:00"),
        ),
        (
            crate::tz::Tz::named("Asia/Kolkata").unwrap(),
            "30 1 * * *",
            "2027-11-07 01:30",
            Some("2027-11-06 20:00"),
        ),
        // Not a scheduled time at all.
        (
            crate::tz::Tz::named("Asia/Kolkata").unwrap(),
            "30 1 * * *",
            "2027-11-07 01:31",
            None,
        ),
    ];
    for (tz, expr, local, want) in cases {
        let c = Crontab::parse(expr).unwrap();
        let got = c.fire_instant(*tz, ndt(local));
        assert_eq!(got, want.map(utc), "{tz} `{expr}` at {local}");
    }
}
