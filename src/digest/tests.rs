//! The digest's unit tests: counts, trends, verdicts, quotes and rendering from fixed notes.

use super::*;
use crate::domain::{Insight, Source};

fn ins(id: i64, user: &str, text: &str, tags: &[&str], auto: &[&str]) -> Insight {
    Insight {
        id,
        user_id: user.into(),
        source: Source::Checkin,
        prompt_id: None,
        checkin: Some("pulse".into()),
        answers: vec![],
        text: text.into(),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        auto_tags: auto.iter().map(|s| s.to_string()).collect(),
        created_at_ms: 1_000 + id,
        ..Default::default()
    }
}

fn taxonomy() -> Vec<TagDef> {
    vec![TagDef {
        id: "competitor:acme".into(),
        label: "Competitor: Acme".into(),
        category: Some("competitor".into()),
        keywords: vec![],
        aliases: vec![],
    }]
}

#[test]
fn counts_tags_trends_and_quotes() {
    let this = vec![
        ins(
            1,
            "U1",
            "Acme undercut us by 20% on a three-year deal",
            &["competitor:acme"],
            &["competitor:acme", "objection:price"],
        ),
        ins(
            2,
            "U2",
            "Acme again, the CFO loved their ROI story",
            &[],
            &["competitor:acme"],
        ),
        ins(3, "U1", "short", &[], &[]),
    ];
    let last = vec![ins(
        9,
        "U3",
        "Security review stalled the pilot for weeks",
        &["objection:security"],
        &[],
    )];
    let tax = taxonomy();
    let d = build(&DigestInput {
        week: "2026-W48".parse().unwrap(),
        timezone: chrono_tz::America::New_York,
        stats: WeekPromptStats {
            sent: 10,
            answered: 4,
            failed: 1,
        },
        this_week: &this,
        last_week: &last,
        taxonomy: &tax,
        max_quotes: 5,
    });
    assert_eq!(d.insights, 3);
    assert_eq!(d.contributors, 2);
    assert_eq!(d.response_rate, Some(0.4));
    assert_eq!(d.tags[0].tag, "competitor:acme");
    assert_eq!(d.tags[0].count, 2);
    assert_eq!(d.tags[0].manual, 1);
    assert_eq!(d.tags[0].label, "Competitor: Acme");
    assert_eq!(d.trending.len(), 1);
    assert_eq!(d.trending[0].tag, "competitor:acme");
    let sec = d
        .tags
        .iter()
        .find(|t| t.tag == "objection:security")
        .unwrap();
    assert_eq!((sec.count, sec.previous), (0, 1));
    // The short note is not quoted; one quote per rep first.
    assert_eq!(d.quotes.len(), 2);
    assert_ne!(d.quotes[0].user_id, d.quotes[1].user_id);
    assert_eq!(d.starts, "2026-11-23");
    assert_eq!(d.ends, "2026-11-29");

    let md = to_markdown(&d);
    assert!(md.contains("# Field insights digest, 2026-W48"));
    assert!(md.contains("| Competitor: Acme | 2 | 1 | 0 | +2 |"), "{md}");
    assert!(md.contains("Quiet this week: objection:security (1 last week)"));
    assert!(md.contains("> Acme undercut us by 20%"));
    let json: serde_json::Value = serde_json::from_str(&to_json(&d)).unwrap();
    assert_eq!(json["prompts_sent"], 10);
}

#[test]
fn empty_week_renders() {
    let d = build(&DigestInput {
        week: "2027-W01".parse().unwrap(),
        timezone: chrono_tz::UTC,
        stats: WeekPromptStats::default(),
        this_week: &[],
        last_week: &[],
        taxonomy: &[],
        max_quotes: 3,
    });
    assert_eq!(d.response_rate, None);
    let md = to_markdown(&d);
    assert!(md.contains("No notes this week."));
    assert!(md.contains("n/a"));
}

#[test]
fn iso_weeks_parse_and_bound() {
    let w: IsoWeek = "2026-W48".parse().unwrap();
    assert_eq!(w.to_string(), "2026-W48");
    assert_eq!(w.previous().to_string(), "2026-W47");
    assert_eq!(
        "2027-W01"
            .parse::<IsoWeek>()
            .unwrap()
            .previous()
            .to_string(),
        "2026-W53"
    );
    assert!("2026-W54".parse::<IsoWeek>().is_err());
    assert!("48".parse::<IsoWeek>().is_err());
    let (a, b) = w.bounds_ms(chrono_tz::America::New_York);
    // Monday 2026-11-23 00:00 EST = 05:00 UTC; a full week later.
    assert_eq!(a, 1_795_410_000_000);
    assert_eq!(b - a, 7 * 86_400_000);
}

#[test]
fn truncate_respects_chars() {
    assert_eq!(truncate("héllo wörld", 6), "héllo…");
    assert_eq!(truncate("short", 10), "short");
}

#[test]
fn asset_verdicts_lead_quality_and_tone() {
    use crate::domain::{Answer, FieldValue, Sentiment};
    let mut a = ins(
        1,
        "U1",
        "The case study landed badly with the CFO",
        &[],
        &[],
    );
    a.fields = vec![
        FieldValue::new("asset", "asset:case-study"),
        FieldValue::new("asset_flopped", "asset:case-study"),
        FieldValue::new("lead_quality", "2"),
    ];
    a.answers = vec![Answer {
        question_id: "asset".into(),
        question: "Which asset?".into(),
        text: "Asset: case study: didn't work. Too long for a CFO".into(),
    }];
    a.sentiment = Some(Sentiment::Negative);
    let mut b = ins(2, "U2", "Case study worked great", &[], &[]);
    b.fields = vec![
        FieldValue::new("asset_worked", "asset:case-study"),
        FieldValue::new("lead_quality", "5"),
    ];
    b.sentiment = Some(Sentiment::Positive);
    let mut old = ins(3, "U3", "last week", &[], &[]);
    old.fields = vec![FieldValue::new("lead_quality", "4")];
    let mut tax = taxonomy();
    tax.push(TagDef {
        id: "asset:case-study".into(),
        label: "Asset: case study".into(),
        category: Some("asset".into()),
        keywords: vec![],
        aliases: vec![],
    });
    let d = build(&DigestInput {
        week: "2026-W48".parse().unwrap(),
        timezone: chrono_tz::America::New_York,
        stats: WeekPromptStats::default(),
        this_week: &[a, b],
        last_week: &[old],
        taxonomy: &tax,
        max_quotes: 5,
    });
    assert_eq!(d.assets.len(), 1);
    let cs = &d.assets[0];
    assert_eq!((cs.worked, cs.flopped), (1, 1));
    assert_eq!(cs.reasons, vec!["Didn't: Too long for a CFO"]);
    assert_eq!(d.lead_quality.ratings, 2);
    assert_eq!(d.lead_quality.average, Some(3.5));
    assert_eq!(d.lead_quality.previous_average, Some(4.0));
    assert_eq!((d.sentiment.positive, d.sentiment.negative), (1, 1));
    let md = to_markdown(&d);
    assert!(md.contains("## What worked and what didn't"), "{md}");
    assert!(md.contains("| Asset: case study | 1 | 1 |"), "{md}");
    assert!(
        md.contains("Lead quality: 3.5 / 5 from 2 rating(s) (last week 4.0 from 1)"),
        "{md}"
    );
    assert!(to_json(&d).contains("\"assets\""));
}

/// D5: a quote carries no control or bidi characters into the digest.
#[test]
fn quotes_are_stripped_of_controls_and_bidi() {
    let this = vec![ins(
        1,
        "U1",
        "Acme said \u{202e}ecirp\u{202c} was the blocker\u{7}\u{1b}[2J on the renewal",
        &["competitor:acme"],
        &[],
    )];
    let tax = taxonomy();
    let d = build(&DigestInput {
        week: "2026-W48".parse().unwrap(),
        timezone: chrono_tz::America::New_York,
        stats: WeekPromptStats::default(),
        this_week: &this,
        last_week: &[],
        taxonomy: &tax,
        max_quotes: 5,
    });
    assert_eq!(
        d.quotes[0].text,
        "Acme said ecirp was the blocker[2J on the renewal"
    );
    let md = to_markdown(&d);
    assert!(!md.chars().any(crate::text::is_unsafe), "{md:?}");
}
