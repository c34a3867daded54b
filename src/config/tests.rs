//! The config loader end to end: a good file, and each kind of error
//! located by file, line and key; durations and secrets.

use super::*;
use crate::config::secrets::DEFAULT_SLACK_API_URL;
use std::path::{Path, PathBuf};
use std::time::Duration;

const GOOD: &str = r#"
# No [[digest]] and no [bot] timezone: the team's
# timezone is UTC.

[[tag]]
id = "competitor:acme"
label = "Acme"
keywords = ["acme"]

[[checkin]]
name = "pulse"
cadence = "0 16 * * FRI"
timezone = "Europe/London"
prompt = "What did you hear?"
audience = { users = ["U123"] }
questions = [{ id = "heard", label = "What did you hear?" }]
"#;

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(Path::new("team.toml"), text)
}

fn one_error(text: &str) -> ConfigError {
    let errs = parse(text).expect_err("config should be rejected").0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn good_config_parses_with_defaults() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.checkins.len(), 1);
    assert_eq!(c.checkins[0].tags, vec!["competitor:acme"]);
    assert_eq!(c.bot.tick, Duration::from_secs(2));
    assert!(c.checkins[0].questions[0].required);
}

#[test]
fn shipped_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.checkins.is_empty());
}

#[test]
fn invalid_cron_names_file_line_and_key() {
    let e = one_error(&GOOD.replace("0 16 * * FRI", "0 16 * FRI"));
    assert_eq!(e.file, PathBuf::from("team.toml"));
    assert_eq!(e.line, 12);
    assert_eq!(e.key, "checkin.pulse.cadence");
    assert!(
        e.message.contains("invalid cron expression"),
        "{}",
        e.message
    );
    let shown = e.to_string();
    assert!(
        shown.starts_with("team.toml:12: key `checkin.pulse.cadence`"),
        "{shown}"
    );
}

#[test]
fn unknown_tag_in_question_is_named() {
    let e = one_error(&GOOD.replace(
        r#"label = "What did you hear?" }"#,
        r#"label = "What did you hear?", tags = ["competitor:nope"] }"#,
    ));
    assert_eq!(e.line, 16);
    assert_eq!(e.key, "checkin.pulse.questions.heard.tags");
    assert!(e.message.contains("unknown tag `competitor:nope`"));
}

#[test]
fn unknown_key_is_rejected_with_its_line() {
    let e = one_error(&GOOD.replace("prompt = ", "promt = "));
    assert_eq!(e.line, 14);
    assert_eq!(e.key, "checkin[0].promt");
    assert!(e.message.contains("unknown field"), "{}", e.message);
}

#[test]
fn missing_key_is_named() {
    let e = one_error(&GOOD.replace("prompt = \"What did you hear?\"\n", ""));
    assert_eq!(e.key, "checkin[0].prompt");
    assert!(e.message.contains("missing field"), "{}", e.message);
}

#[test]
fn bad_timezone_and_bad_user_id_are_both_reported() {
    let errs = parse(
        &GOOD
            .replace(
                r#"timezone = "Europe/London"
prompt"#,
                r#"timezone = "Mars/Olympus"
prompt"#,
            )
            .replace("U123", "bob"),
    )
    .unwrap_err()
    .0;
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].key, "checkin.pulse.timezone");
    assert_eq!(errs[0].line, 13);
    assert_eq!(errs[1].key, "checkin.pulse.audience.users");
}

#[test]
fn syntax_error_has_a_line() {
    let e = one_error("[bot]\ntimezone = \"UTC\"\n[[checkin]\n");
    assert_eq!(e.line, 3);
}

#[test]
fn unreadable_file_is_named() {
    let e = Config::load(Path::new("/nonexistent/fieldnotes.toml")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/fieldnotes.toml"));
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
    assert!(parse_duration("2 fortnights").is_err());
    assert!(parse_duration("").is_err());
    // Checked arithmetic with an upper bound: no wrap, no panic.
    assert!(parse_duration("99999999999999w")
        .unwrap_err()
        .contains("too long"));
    assert!(parse_duration("30500568904944w")
        .unwrap_err()
        .contains("too long"));
    assert!(parse_duration("99999999999999999999999s")
        .unwrap_err()
        .contains("too long"));
    assert!(parse_duration("3651d").unwrap_err().contains("too long"));
    assert_eq!(parse_duration("3650d").unwrap(), MAX_DURATION);
}

#[test]
fn secrets_come_from_the_environment_and_never_print() {
    let s = Secrets::from_lookup(|k| match k {
        "SLACK_BOT_TOKEN" => Some("xoxb-secret".into()),
        "SLACK_SIGNING_SECRET" => Some("old, new,".into()),
        "SLACK_API_URL" => Some("http://127.0.0.1:9/api//".into()),
        _ => None,
    });
    assert_eq!(s.slack_api_url, "http://127.0.0.1:9/api");
    assert_eq!(s.signing_secrets.len(), 2);
    assert!(!format!("{s:?}").contains("xoxb-secret"));
    let d = Secrets::from_lookup(|_| None);
    assert_eq!(d.slack_api_url, DEFAULT_SLACK_API_URL);
    let empty = Secrets::from_lookup(|k| (k == "SLACK_SIGNING_SECRET").then(|| " , ".into()));
    assert!(
        empty.signing_secrets.is_empty(),
        "an empty part is never a key"
    );
    assert!(d.app_token.is_none());
}

fn with_questions(qs: &str) -> String {
    GOOD.replace(
        r#"questions = [{ id = "heard", label = "What did you hear?" }]"#,
        qs,
    )
}

#[test]
fn typed_questions_parse() {
    let c = parse(&with_questions(
        r#"ask = 2
questions = [
  { id = "heard", label = "Heard?", always = true },
  { id = "who", type = "multi_select", field = "competitor", label = "Who?", required = false },
  { id = "mood", type = "single_select", options = ["Up", "Down"], label = "Mood?" },
  { id = "q", type = "rating", field = "lead_quality", label = "Leads?" },
]"#,
    )
    .replace("label = \"Acme\"", "label = \"Acme\"\ncategory = \"competitor\"\naliases = [\"AcmeCloud\"]\nsynonyms = [\"roadrunner co\"]"))
    .unwrap_or_else(|e| panic!("{e}"));
    let ck = &c.checkins[0];
    assert_eq!(ck.ask, 2);
    assert_eq!(ck.questions[1].kind, QuestionKind::MultiSelect);
    assert_eq!(ck.questions[1].field.as_deref(), Some("competitor"));
    assert_eq!(ck.questions[2].options, vec!["Up", "Down"]);
    assert_eq!(ck.questions[3].kind, QuestionKind::Rating);
    assert!(ck.questions[0].always);
    assert_eq!(c.tags[0].aliases, vec!["AcmeCloud"]);
    assert!(c.tags[0].keywords.contains(&"roadrunner co".to_string()));
    // The free-note form asks the text and the fields that have a vocabulary.
    let ids: Vec<&str> = c.note_questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, vec!["note", "competitor", "lead_quality"]);
    assert_eq!(c.retention.deleted_notes, Duration::from_secs(30 * 86400));
}

#[test]
fn bad_question_types_name_the_line_and_key() {
    let e = one_error(&with_questions(
        r#"questions = [
  { id = "heard", label = "Heard?" },
  { id = "x", type = "dropdown", label = "X?" },
]"#,
    ));
    assert_eq!(
        (e.line, e.key.as_str()),
        (18, "checkin.pulse.questions.x.type")
    );
    assert!(e.message.contains("single_select"), "{}", e.message);

    let e = one_error(&with_questions(
        r#"questions = [
  { id = "heard", label = "Heard?" },
  { id = "who", type = "single_select", label = "Who?" },
]"#,
    ));
    assert_eq!(e.key, "checkin.pulse.questions.who.options");

    let e = one_error(&with_questions(
        r#"questions = [
  { id = "heard", label = "Heard?" },
  { id = "who", type = "multi_select", field = "rival", label = "Who?" },
]"#,
    ));
    assert_eq!(
        (e.line, e.key.as_str()),
        (18, "checkin.pulse.questions.who.field")
    );
    assert!(e.message.contains("unknown field `rival`"), "{}", e.message);

    // A typed field needs its vocabulary.
    let e = one_error(&with_questions(
        r#"questions = [
  { id = "heard", label = "Heard?" },
  { id = "acct", type = "single_select", field = "account", label = "Account?" },
]"#,
    ));
    assert!(
        e.message.contains("category = \"account\""),
        "{}",
        e.message
    );

    let e = one_error(&with_questions(
        r#"ask = 5
questions = [{ id = "heard", label = "Heard?" }]"#,
    ));
    assert_eq!((e.line, e.key.as_str()), (16, "checkin.pulse.ask"));

    let e = one_error(&with_questions(
        r#"questions = [{ id = "heard", label = "Heard?" }, { id = "pick", type = "single_select", options = ["a", "a"], label = "Pick?" }]"#,
    ));
    assert!(e.message.contains("appears twice"), "{}", e.message);
}

#[test]
fn question_ids_cannot_collide_with_typed_fields() {
    for qs in [
        r#"questions = [{ id = "heard", label = "Heard?" }, { id = "competitor", type = "single_select", options = ["a"], label = "C?" }]"#,
        r#"questions = [{ id = "note", label = "Heard?" }]"#,
        r#"questions = [{ id = "a:b", label = "Heard?" }]"#,
    ] {
        let e = one_error(&with_questions(qs));
        assert!(e.key.ends_with(".id"), "{e:?}");
    }
    let e = one_error(&with_questions(
        r#"questions = [{ id = "mood", type = "rating", label = "Mood?" }]"#,
    ));
    assert!(e.message.contains("free-text question"), "{}", e.message);
}

#[test]
fn capture_and_retention_errors_name_the_key() {
    let e = one_error(&format!(
        "{GOOD}\n[capture]\nfields = [\"lead_quality\", \"vibes\"]\n"
    ));
    assert_eq!(e.key, "capture.fields");
    assert!(e.message.contains("vibes"));
    let e = one_error(&format!("{GOOD}\n[retention]\ndeleted_notes = \"soon\"\n"));
    assert_eq!(e.key, "retention.deleted_notes");
}

#[test]
fn event_attempts_default_and_bounds_name_the_line() {
    assert_eq!(parse(GOOD).unwrap().bot.max_event_attempts, 5);
    let c = parse(&format!("[bot]\nmax_event_attempts = 8\n{GOOD}")).unwrap();
    assert_eq!(c.bot.max_event_attempts, 8);
    for bad in ["0", "51"] {
        let e = one_error(&format!("[bot]\nmax_event_attempts = {bad}\n{GOOD}"));
        assert_eq!(
            (e.line, e.key.as_str()),
            (2, "bot.max_event_attempts"),
            "{e}"
        );
        assert!(e.message.contains("between 1 and 50"), "{}", e.message);
    }
}

/// A value of the wrong type is reported under its key path, never under
/// the value or a fragment of text (`key \`-1\``, as it once was).
#[test]
fn type_errors_name_the_key_path() {
    let cases = [
        (
            GOOD.replace("id = \"competitor:acme\"", "id = -1"),
            "tag[0].id",
            6,
        ),
        (
            GOOD.replace("keywords = [\"acme\"]", "keywords = \"acme\""),
            "tag[0].keywords",
            8,
        ),
        (
            GOOD.replace("prompt = \"What did you hear?\"", "prompt = [1, 2]"),
            "checkin[0].prompt",
            14,
        ),
        (
            format!("{GOOD}\n[bot]\nworkspace_messages_per_minute = \"lots\"\n"),
            "bot.workspace_messages_per_minute",
            19,
        ),
        (
            format!("{GOOD}{DIGEST}").replace("America/New_York", "5"),
            "digest[0].timezone",
            21,
        ),
        (
            GOOD.replace(
                "questions = [{ id = \"heard\", label = \"What did you hear?\" }]",
                "questions = [{ id = \"heard\", label = true }]",
            ),
            // Questions are read through a flattened table: the path
            // stops at the list, and the line points at the entry.
            "checkin[0].questions",
            16,
        ),
    ];
    for (text, key, line) in cases {
        let e = one_error(&text);
        assert_eq!(e.key, key, "{e}");
        assert_eq!(e.line, line, "{e}");
    }
    // Unknown and missing fields name the field under its table.
    let e = one_error(&GOOD.replace("label = \"Acme\"", "label = \"Acme\"\ncolour = 1"));
    assert_eq!(e.key, "tag[0].colour", "{e}");
}

#[test]
fn zero_rate_names_its_line_and_bounds_hold() {
    let e = one_error(&format!(
        "{GOOD}\n[bot]\nworkspace_messages_per_minute = 0\n"
    ));
    assert_eq!(e.key, "bot.workspace_messages_per_minute");
    assert_eq!(e.line, 19, "{e}");
    for (key, value, msg) in [
        ("tick", "99999999999999w", "too long"),
        ("tick", "2h", "between 50ms and 1h"),
        ("lease", "99999999999999w", "too long"),
        ("lease", "2h", "between 2s and 1h"),
    ] {
        let e = one_error(&format!("{GOOD}\n[bot]\n{key} = \"{value}\"\n"));
        assert_eq!(e.key, format!("bot.{key}"), "{e}");
        assert_eq!(e.line, 19, "{e}");
        assert!(e.message.contains(msg), "{e}");
    }
    let e = one_error(&format!(
        "{GOOD}\n[retention]\ndeleted_notes = \"99999999999999w\"\n"
    ));
    assert!(e.message.contains("too long"), "{e}");
}

#[test]
fn invalid_utf8_and_deep_nesting_get_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let mut bytes = GOOD.as_bytes().to_vec();
    let at = GOOD.find("What did you hear?\"\naudience").unwrap();
    bytes[at] = 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let e = Config::load(&path).unwrap_err().0.remove(0);
    assert_eq!(e.line, 14, "{e}");
    assert_eq!(e.key, "prompt", "{e}");
    assert!(e.message.contains("UTF-8"), "{e}");

    let deep = format!("{GOOD}\nx = {}1{}\n", "[".repeat(5000), "]".repeat(5000));
    let e = one_error(&deep);
    assert_eq!(e.line, 18, "{e}");
    let deep = format!(
        "{GOOD}\ny = {}\n",
        "{ a = ".repeat(5000) + "1" + &" }".repeat(5000)
    );
    let e = one_error(&deep);
    assert_eq!(e.line, 18, "{e}");
}

#[test]
fn note_retention_is_optional_at_least_a_day_and_named() {
    assert_eq!(parse(GOOD).unwrap().retention.notes, None);
    let c = parse(&format!("{GOOD}\n[retention]\nnotes = \"365d\"\n")).unwrap();
    assert_eq!(c.retention.notes, Some(Duration::from_secs(365 * 86400)));
    for bad in ["12h", "forever"] {
        let e = one_error(&format!("{GOOD}\n[retention]\nnotes = \"{bad}\"\n"));
        assert_eq!((e.line, e.key.as_str()), (19, "retention.notes"), "{e}");
    }
}

// ---------------------------------------------------------------- [[digest]]

/// A digest with only its required keys (appended to [`GOOD`]).
const DIGEST: &str = r#"
[[digest]]
name = "weekly"
cadence = "0 9 * * MON"
timezone = "America/New_York"
channels = ["C0MARKETNG"]
"#;

/// `GOOD` and one digest, with `extra` lines added to the digest.
fn with_digest(extra: &str) -> String {
    format!("{GOOD}{DIGEST}{extra}\n")
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in the text"))
        + 1
}

#[test]
fn zero_digests_are_allowed_and_the_team_zone_is_utc() {
    let c = parse(GOOD).unwrap();
    assert!(c.digests.is_empty());
    assert_eq!(c.timezone, crate::tz::UTC);
}

#[test]
fn a_digest_with_only_required_keys_gets_the_defaults() {
    let c = parse(&with_digest("")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.digests.len(), 1);
    let d = &c.digests[0];
    assert_eq!(d.name, "weekly");
    assert_eq!(d.title, "Weekly field digest");
    assert_eq!(d.cadence.expr(), "0 9 * * MON");
    assert_eq!(
        d.timezone,
        crate::tz::Tz::named("America/New_York").unwrap()
    );
    assert_eq!(d.period, PeriodSpec::Week);
    assert!(d.checkins.is_empty() && d.tags.is_empty() && d.users.is_empty());
    assert_eq!(d.channels, vec!["C0MARKETNG"]);
    assert_eq!(d.attribution, Attribution::Named);
    assert!(d.redact);
    assert_eq!(d.sections, SectionKind::ALL.to_vec());
    assert_eq!(d.max_quotes, 6);
    assert!(d.chart);
    assert_eq!(d.recipients().collect::<Vec<_>>(), vec!["C0MARKETNG"]);
}

#[test]
fn a_digest_with_every_key_set() {
    let c = parse(&with_digest(
        r#"title = "Leadership monthly"
period = "month"
checkins = ["pulse", "notes"]
tags = ["competitor:acme"]
users = ["U0LEAD001", "W0MKT0002"]
attribution = "anonymous"
redact = false
sections = ["quotes", "competitors"]
max_quotes = 20
chart = false"#,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let d = &c.digests[0];
    assert_eq!(d.title, "Leadership monthly");
    assert_eq!(d.period, PeriodSpec::Month);
    assert_eq!(d.checkins, vec!["pulse", "notes"]);
    assert_eq!(d.tags, vec!["competitor:acme"]);
    assert_eq!(d.users, vec!["U0LEAD001", "W0MKT0002"]);
    assert_eq!(
        d.recipients().collect::<Vec<_>>(),
        vec!["C0MARKETNG", "U0LEAD001", "W0MKT0002"]
    );
    assert_eq!(d.attribution, Attribution::Anonymous);
    assert!(!d.redact && !d.chart);
    assert_eq!(
        d.sections,
        vec![SectionKind::Quotes, SectionKind::Competitors]
    );
    assert_eq!(d.max_quotes, 20);
}

#[test]
fn the_default_title_follows_the_period() {
    for (period, title, spec) in [
        ("week", "Weekly field digest", PeriodSpec::Week),
        ("month", "Monthly field digest", PeriodSpec::Month),
        ("14d", "Field digest", PeriodSpec::Days(14)),
        ("1d", "Field digest", PeriodSpec::Days(1)),
        ("92d", "Field digest", PeriodSpec::Days(92)),
    ] {
        let c = parse(&with_digest(&format!("period = \"{period}\"")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.digests[0].period, c.digests[0].title.as_str()),
            (spec, title)
        );
    }
}

/// Each bad value is one error, on its own line, under `digest[0].<key>`.
#[test]
fn each_bad_digest_key_names_its_line_and_key() {
    let long_title = format!("title = \"{}\"", "x".repeat(151));
    let cases: Vec<(String, &str, &str)> = vec![
        ("title = \"  \"".into(), "title", "the title is empty"),
        (long_title, "title", "at most 150"),
        ("period = \"fortnight\"".into(), "period", "\"14d\""),
        (
            "period = \"2w\"".into(),
            "period",
            "not \"week\", \"month\"",
        ),
        ("period = \"0d\"".into(), "period", "between 1d and 92d"),
        ("period = \"93d\"".into(), "period", "between 1d and 92d"),
        (
            "period = \"99999999999d\"".into(),
            "period",
            "between 1d and 92d",
        ),
        (
            "checkins = [\"pulse\", \"nope\"]".into(),
            "checkins",
            "unknown check-in `nope`",
        ),
        (
            "checkins = [\"pulse\", \"pulse\"]".into(),
            "checkins",
            "`pulse` is listed twice",
        ),
        (
            "tags = [\"competitor:nope\"]".into(),
            "tags",
            "unknown tag `competitor:nope`",
        ),
        ("users = [\"bob\"]".into(), "users", "not a Slack user ID"),
        (
            "users = [\"C0MARKETNG\"]".into(),
            "users",
            "not a Slack user ID",
        ),
        (
            "attribution = \"secret\"".into(),
            "attribution",
            "\"named\", \"anonymous\"",
        ),
        (
            "sections = [\"quotes\", \"gossip\"]".into(),
            "sections",
            "unknown section `gossip`: use participation, you_said_we_did, initiatives, trends,",
        ),
        (
            "sections = [\"quotes\", \"quotes\"]".into(),
            "sections",
            "listed twice",
        ),
        ("sections = []".into(), "sections", "at least one section"),
        ("max_quotes = 0".into(), "max_quotes", "between 1 and 20"),
        ("max_quotes = 21".into(), "max_quotes", "between 1 and 20"),
        ("max_quotes = -1".into(), "max_quotes", "between 1 and 20"),
        // Errors the deserializer finds carry the same key path.
        ("colour = \"blue\"".into(), "colour", "unknown field"),
        ("redact = \"yes\"".into(), "redact", "invalid type"),
        ("chart = 1".into(), "chart", "invalid type"),
    ];
    for (extra, key, msg) in cases {
        let text = with_digest(&extra);
        let e = one_error(&text);
        assert_eq!(e.key, format!("digest[0].{key}"), "{extra}: {e}");
        assert_eq!(e.line, line_of(&text, &extra), "{extra}: {e}");
        assert!(e.message.contains(msg), "{extra}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("team.toml:{}: key `digest[0].{key}`", e.line)),
            "{e}"
        );
    }
}

/// The required keys' values, replaced in place.
#[test]
fn bad_required_values_name_their_line_and_key() {
    for (from, to, key, msg) in [
        (
            "name = \"weekly\"",
            "name = \"Weekly!\"",
            "name",
            "lowercase letters",
        ),
        ("name = \"weekly\"", "name = \"\"", "name", "1 to 64"),
        ("name = \"weekly\"", "name = \"a:b\"", "name", "`-` or `_`"),
        (
            "cadence = \"0 9 * * MON\"",
            "cadence = \"0 9 * MON\"",
            "cadence",
            "invalid cron expression `0 9 * MON`",
        ),
        (
            "timezone = \"America/New_York\"",
            "timezone = \"Mars/Olympus\"",
            "timezone",
            "unknown timezone `Mars/Olympus`",
        ),
        (
            "channels = [\"C0MARKETNG\"]",
            "channels = [\"#marketing\"]",
            "channels",
            "not a Slack channel ID",
        ),
        (
            "channels = [\"C0MARKETNG\"]",
            "channels = [\"U0LEAD001\"]",
            "channels",
            "not a Slack channel ID",
        ),
        (
            "channels = [\"C0MARKETNG\"]",
            "channels = [\"C0MARKETNG\", \"C0MARKETNG\"]",
            "channels",
            "listed twice",
        ),
    ] {
        let text = with_digest("").replace(from, to);
        let e = one_error(&text);
        assert_eq!(e.key, format!("digest[0].{key}"), "{to}: {e}");
        assert_eq!(e.line, line_of(&text, to), "{to}: {e}");
        assert!(e.message.contains(msg), "{to}: {e}");
    }
    let long = "a".repeat(65);
    let e = one_error(&with_digest("").replace("\"weekly\"", &format!("\"{long}\"")));
    assert_eq!(e.key, "digest[0].name", "{e}");
    // A private channel (G…) is a channel too; 64 characters is a name.
    let ok = with_digest("")
        .replace("C0MARKETNG", "G0PRIVATE")
        .replace("\"weekly\"", &format!("\"{}\"", "a".repeat(64)));
    assert!(parse(&ok).is_ok());
}

#[test]
fn a_missing_required_key_is_named_under_its_entry() {
    for key in ["name", "cadence", "timezone"] {
        let entry: String = DIGEST
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} = ")))
            .map(|l| format!("{l}\n"))
            .collect();
        let text = format!("{GOOD}{entry}");
        let e = one_error(&text);
        assert_eq!(e.key, format!("digest[0].{key}"), "{e}");
        assert!(e.message.contains("missing field"), "{e}");
    }
}

#[test]
fn digest_names_are_unique() {
    let text = format!("{}{DIGEST}", with_digest(""));
    let e = one_error(&text);
    assert_eq!(e.key, "digest[1].name", "{e}");
    // The second entry's name line.
    let second = text.rfind("name = \"weekly\"").unwrap();
    assert_eq!(e.line, text[..second].lines().count() + 1, "{e}");
    assert!(
        e.message.contains("digest `weekly` is defined twice"),
        "{e}"
    );
    // Another name is fine.
    let c = parse(&format!(
        "{}{}",
        with_digest(""),
        DIGEST.replace("weekly", "monthly")
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.digests.len(), 2);
}

#[test]
fn a_digest_needs_a_recipient() {
    for text in [
        with_digest("").replace("channels = [\"C0MARKETNG\"]\n", ""),
        with_digest("").replace("[\"C0MARKETNG\"]", "[]") + "users = []\n",
    ] {
        let e = one_error(&text);
        assert_eq!(e.key, "digest[0].channels", "{e}");
        assert_eq!(e.line, line_of(&text, "name = \"weekly\""), "{e}");
        assert!(e.message.contains("no recipients"), "{e}");
    }
    // People alone are enough.
    let only_users =
        with_digest("users = [\"U0LEAD001\"]").replace("channels = [\"C0MARKETNG\"]\n", "");
    assert!(parse(&only_users).is_ok());
}

#[test]
fn the_old_digest_table_says_what_replaced_it() {
    let old = "\n[digest]\ntimezone = \"Europe/London\"\nchannel = \"C0MARKETNG\"\n";
    for text in [format!("{old}{GOOD}"), format!("{GOOD}{old}")] {
        let e = one_error(&text);
        assert_eq!(e.key, "digest", "{e}");
        let header = text.find("\n[digest]\n").unwrap() + 1;
        assert_eq!(e.line, text[..header].lines().count() + 1, "{e}");
        assert!(
            e.message.starts_with(
                "`[digest]` is now one or more `[[digest]]` entries: name, cadence, timezone, channels…"
            ),
            "{e}"
        );
    }
    // An inline table is the same old shape.
    let e = one_error(&format!("digest = {{ timezone = \"UTC\" }}\n{GOOD}"));
    assert_eq!((e.key.as_str(), e.line), ("digest", 1), "{e}");
    assert!(e.message.contains("[[digest]]"), "{e}");
}

#[test]
fn the_team_timezone_is_bot_then_first_digest_then_utc() {
    let two = format!(
        "{}{}",
        with_digest(""),
        DIGEST
            .replace("weekly", "monthly")
            .replace("America/New_York", "Asia/Kolkata")
    );
    // The first digest's, without `[bot] timezone`.
    assert_eq!(
        parse(&two).unwrap().timezone,
        crate::tz::Tz::named("America/New_York").unwrap()
    );
    // `[bot] timezone` wins, with or without digests.
    let bot = "[bot]\ntimezone = \"Europe/Paris\"\n";
    assert_eq!(
        parse(&format!("{bot}{two}")).unwrap().timezone,
        crate::tz::Tz::named("Europe/Paris").unwrap()
    );
    assert_eq!(
        parse(&format!("{bot}{GOOD}")).unwrap().timezone,
        crate::tz::Tz::named("Europe/Paris").unwrap()
    );
    assert_eq!(parse(GOOD).unwrap().timezone, crate::tz::UTC);
    let e = one_error(&format!("[bot]\ntimezone = \"Mars/Olympus\"\n{GOOD}"));
    assert_eq!((e.line, e.key.as_str()), (2, "bot.timezone"), "{e}");
    assert!(e.message.contains("unknown timezone"), "{e}");
}

#[test]
fn the_shipped_digest_is_the_weekly_marketing_digest() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.timezone,
        crate::tz::Tz::named("America/New_York").unwrap()
    );
    assert_eq!(c.digests.len(), 1);
    let d = &c.digests[0];
    assert_eq!(d.name, "marketing-weekly");
    assert_eq!(d.cadence.expr(), "0 9 * * MON");
    assert_eq!(
        d.timezone,
        crate::tz::Tz::named("America/New_York").unwrap()
    );
    assert_eq!(d.period, PeriodSpec::Week);
    assert_eq!(d.channels, vec!["C0MARKETNG"]);
    assert_eq!(d.sections, SectionKind::ALL.to_vec());
    assert_eq!((d.max_quotes, d.redact, d.chart), (6, true, true));
    assert_eq!(d.attribution, Attribution::Named);
    // The sections' categories have tags.
    assert!(!c.vocabulary("idea").is_empty());
    assert!(!c.vocabulary("market").is_empty());
}
