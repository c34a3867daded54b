//! Fuzz targets for what arrives from outside: the config loader, the
//! slash-command parser, the signature verifier and Slack's payloads
//! (events, interactivity, commands). Under `cargo test` each runs as a
//! bounded property test (bolero's random engine, plus any saved corpus
//! under `tests/__fuzz__/<target>/corpus`); under a fuzzing engine it runs
//! open-ended. See `fuzz/README.md` for the commands.

use bolero::check;
use chrono::{DateTime, Duration, TimeZone, Utc};
use fieldnotes::commands::{parse_ask, parse_pause, MAX_PAUSE_DAYS};
use fieldnotes::config::{Config, ConfigError};
use fieldnotes::slack::http::{parse, Inbound};
use fieldnotes::slack::router::{
    check_command, check_interaction, Command, Event, Interaction, Verb,
};
use fieldnotes::slack::signature::{sign, verify, MAX_SKEW_SECS};
use fieldnotes_fuzz::*;
use secrecy::SecretString;
use std::path::Path;

fn zone_named(name: &str) -> fieldnotes::tz::Tz {
    fieldnotes::tz::Tz::named(name).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap()
}

const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "Pacific/Kiritimati",
    "Pacific/Niue",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
];

/// A key path as serde_path_to_error writes it: `bot.tick`, `tag[3].id`.
/// Bare keys are letters, digits, `_` and `-`; a quoted key may hold more
/// (`"q4 webinar" = …`, found by the fuzzer), but never a quote or a line
/// break: those would be a fragment of text, not a key.
fn is_key_path(k: &str) -> bool {
    !k.is_empty()
        && k.split('.').all(|seg| {
            let name = seg.split('[').next().unwrap_or("");
            !name.is_empty()
                && !name.trim().is_empty()
                && !name
                    .chars()
                    .any(|c| matches!(c, '"' | '\'' | '\n' | '\r' | '=' | '['))
                && seg[name.len()..].split_terminator(']').all(|i| {
                    i.strip_prefix('[')
                        .is_some_and(|n| n.parse::<usize>().is_ok())
                })
        })
}

/// Whether `key` is written as a key somewhere in `text` (`key =`, or a
/// `[table]` header): a value or a fragment of text is not.
fn written_as_key(text: &str, key: &str) -> bool {
    text.match_indices(key).any(|(i, _)| {
        // A quoted key (`"U1" = …`) counts, quotes and all.
        let before = text[..i].trim_end_matches(['"', '\'']).chars().next_back();
        let after = text[i + key.len()..]
            .trim_start_matches(['"', '\''])
            // TOML 1.1 lets an inline table break lines, even before `=`.
            .trim_start();
        let starts = before.is_none_or(|c| c.is_whitespace() || matches!(c, '{' | ',' | '[' | '.'));
        starts && (after.starts_with('=') || after.starts_with(']') || after.starts_with('.'))
    })
}

fn check_error(text: &str, e: &ConfigError) {
    assert!(e.line >= 1, "no line: {e}");
    assert!(!e.key.is_empty(), "no key: {e}");
    let typed = ["invalid type", "invalid value", "unknown field"];
    // serde's own messages ("…, expected …"), not validate()'s, whose keys
    // carry names the lead chose (`checkin.<name>.…`).
    if typed.iter().any(|p| e.message.starts_with(p)) && e.message.contains("expected") {
        assert!(
            is_key_path(&e.key),
            "a type error must name a key path: {e}"
        );
        let last = e.key.rsplit('.').next().unwrap_or("");
        let last = last.split('[').next().unwrap_or("");
        assert!(
            written_as_key(text, last),
            "the key named is not a key in the file: {e}\nline: {:?}",
            text.lines().nth(e.line.saturating_sub(1))
        );
    }
}

#[test]
fn key_paths_are_recognised() {
    assert!(is_key_path("bot.tick"));
    assert!(is_key_path("tag[3].id"));
    assert!(is_key_path("checkin[0].questions[2].label"));
    assert!(is_key_path("tag[1].-1label"));
    assert!(is_key_path("q4 webinar"));
    assert!(!is_key_path("\"acme\""));
    assert!(written_as_key("[[tag]]\nid = -1\n", "id"));
    assert!(written_as_key("[[tag]]\nid = -1\n", "tag"));
    assert!(!written_as_key("[[tag]]\nid = -1\n", "-1"));
    assert!(written_as_key("\"U1\" = 2\n", "U1"));
    assert!(!is_key_path("tag[x].id"));
}

/// Any edit of the shipped config is accepted or refused with errors that
/// carry a line and a key; nothing panics.
#[test]
fn config_loader() {
    assert!(Config::parse(Path::new("fieldnotes.toml"), SHIPPED_CONFIG).is_ok());
    check!().with_type::<Vec<u8>>().for_each(|ops: &Vec<u8>| {
        let bytes = mutate(SHIPPED_CONFIG, ops);
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return;
        };
        if let Err(errs) = Config::parse(Path::new("fieldnotes.toml"), text) {
            assert!(!errs.0.is_empty());
            errs.0.iter().for_each(|e| check_error(text, e));
        }
    });
}

const COMMAND_SEEDS: &[&str] = &[
    "pause 2w",
    "pause until 2027-01-05",
    "ask weekly-pulse at 2026-12-03 08:15 Any pricing pushback?",
    "ask at 09:00 Which competitor came up?",
    "ask in 2h Anything new?",
];

/// Whatever follows `/fieldnotes pause` or `ask`: a clear answer, within
/// the documented bounds, and no panic.
#[test]
fn slash_command_parser() {
    let names = ["weekly-pulse", "deal-desk"];
    check!()
        .with_type::<(u8, u8, Vec<u8>)>()
        .for_each(|(seed, zone, ops)| {
            let seed = COMMAND_SEEDS[*seed as usize % COMMAND_SEEDS.len()];
            let bytes = mutate(seed, ops);
            let text = String::from_utf8_lossy(&bytes);
            let tz = zone_named(ZONES[*zone as usize % ZONES.len()]);
            let (verb, rest) = text.split_once(' ').unwrap_or((&text, ""));
            match verb {
                "pause" => {
                    if let Ok(until) = parse_pause(rest, now(), tz) {
                        assert!(until > now(), "{text}");
                        assert!(until - now() <= Duration::days(MAX_PAUSE_DAYS), "{text}");
                    }
                }
                _ => {
                    if let Ok(a) = parse_ask(rest, &names, now(), tz) {
                        assert!(!a.question.is_empty(), "{text}");
                        assert!(a.question.chars().count() <= 2000, "{text}");
                        if let Some(at) = a.at {
                            assert!(at > now() && at - now() <= Duration::days(30), "{text}");
                        }
                        if let Some(c) = a.checkin {
                            assert!(names.contains(&c.as_str()), "{text}");
                        }
                    }
                }
            }
        });
}

/// The verifier accepts exactly Slack's signature of these bytes at a
/// fresh timestamp: any other signature or timestamp is refused, and
/// nothing panics.
#[test]
fn signature_verifier() {
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let secrets = [SecretString::from("old-secret"), SecretString::from(secret)];
    let now = now().timestamp();
    check!()
        .with_type::<(Vec<u8>, Vec<u8>, Vec<u8>, i16)>()
        .for_each(|(body, sig_ops, ts_ops, skew)| {
            let ts = (now + *skew as i64).to_string();
            let good = sign(secret, &ts, body);
            let fresh = (*skew as i64).abs() <= MAX_SKEW_SECS;
            assert_eq!(
                verify(&secrets, Some(&ts), Some(&good), body, now).is_ok(),
                fresh
            );
            let sig = String::from_utf8_lossy(&mutate(&good, sig_ops)).into_owned();
            let ts2 = String::from_utf8_lossy(&mutate(&ts, ts_ops)).into_owned();
            if verify(&secrets, Some(&ts2), Some(&sig), body, now).is_ok() {
                assert_eq!(sig, sign(secret, &ts2, body), "accepted a wrong signature");
                let t: i64 = ts2.trim().parse().unwrap();
                assert!((now - t).abs() <= MAX_SKEW_SECS);
            }
            let _ = verify(&secrets, None, Some(&sig), body, now);
            let _ = verify(&[], Some(&ts), Some(&good), body, now);
        });
}

/// A verified body of any shape: parsed once into a typed request or
/// refused with a reason, then the checks the handlers run first.
#[test]
fn slack_payloads() {
    check!()
        .with_type::<(u8, Vec<u8>)>()
        .for_each(|(which, ops)| {
            let (ct, body) = match which % 4 {
                0 => ("application/x-www-form-urlencoded", mutate(COMMAND, ops)),
                1 => ("application/json", mutate(EVENT, ops)),
                2 => (
                    "application/x-www-form-urlencoded",
                    form_payload(&mutate(BLOCK_ACTIONS, ops)),
                ),
                _ => (
                    "application/x-www-form-urlencoded",
                    form_payload(&mutate(VIEW_SUBMISSION, ops)),
                ),
            };
            match parse(ct, &body) {
                // The router's whole parse, as both transports run it.
                Ok(Inbound::Interaction(ev)) => {
                    let _ = Interaction::parse(*ev);
                }
                Ok(Inbound::Command(ev)) => {
                    let _ = Command::parse(&ev);
                }
                Ok(Inbound::Event { event_id }) => {
                    assert!(!event_id.is_empty());
                    // What the inbox worker does with the stored payload.
                    if let Ok(ev) = serde_json::from_slice::<
                        slack_morphism::prelude::SlackPushEventCallback,
                    >(&body)
                    {
                        let _ = Event::parse(&ev, 0, "U0BOT");
                    }
                }
                Ok(_) | Err(_) => {}
            }
        });
}

/// The seeds themselves parse as what they are, so the targets start from
/// valid inputs (and a broken seed is caught here, not missed).
#[test]
fn seeds_parse() {
    let form = "application/x-www-form-urlencoded";
    match parse(form, COMMAND.as_bytes()) {
        Ok(Inbound::Command(ev)) => {
            assert!(check_command(&ev).is_ok());
            assert!(!matches!(Command::parse(&ev).verb, Verb::Refused(_)));
        }
        other => panic!("{other:?}"),
    }
    match parse("application/json", EVENT.as_bytes()) {
        Ok(Inbound::Event { event_id }) => assert_eq!(event_id, "Ev0000000001"),
        other => panic!("{other:?}"),
    }
    serde_json::from_str::<slack_morphism::prelude::SlackPushEventCallback>(EVENT).unwrap();
    for p in [BLOCK_ACTIONS, VIEW_SUBMISSION] {
        match parse(form, &form_payload(p.as_bytes())) {
            Ok(Inbound::Interaction(ev)) => {
                assert!(check_interaction(&ev).is_ok());
                let parsed = Interaction::parse(*ev);
                assert!(!matches!(parsed, Interaction::Refused(_)), "{parsed:?}");
            }
            other => panic!("{other:?}"),
        }
    }
}
