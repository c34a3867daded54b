//! The audit log: who did what, when, with which arguments, and how it
//! ended. Written for every admin or marketer action (ask, digest
//! preview, export), every role refusal, every operator command that reads
//! or erases people's data (`fieldnotes export`, `purge`, `checkin run`),
//! and retention's purges (actor `system`). Listed by `fieldnotes audit`.
//!
//! Arguments are JSON built by the caller from what the person typed or
//! chose; keys that look like secrets are dropped, and long text is capped,
//! so a row stays small and never holds a token.

use crate::store::{AuditRow, NewAudit, Store};
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Map, Value};
use tracing::warn;

/// Longest string kept in a row's arguments (a note or a question), in
/// characters; the rest is cut with `…`.
pub const MAX_ARG_CHARS: usize = 500;
/// Longest arguments JSON kept, in bytes.
pub const MAX_ARGS_BYTES: usize = 4000;
/// Longest outcome kept, in characters.
const MAX_OUTCOME_CHARS: usize = 500;

/// `Ok` when Slack user `user` holds `p`; else the refusal that names the
/// roles needed, audited as `action` with `args` at `now_ms`. The one role
/// check for every gated action, whichever transport or feature asks.
pub async fn require(
    store: &Store,
    cfg: &crate::config::Config,
    now_ms: i64,
    user: &str,
    p: crate::roles::Permission,
    action: &str,
    args: Value,
) -> std::result::Result<(), String> {
    if cfg.roles.can(user, p) {
        return Ok(());
    }
    tracing::info!(user, permission = %p, "refused: not in a role that may");
    let outcome = format!("refused: needs {}", p.who());
    record(
        store,
        now_ms,
        &Actor::Slack(user.to_string()),
        action,
        args,
        &outcome,
    )
    .await;
    Err(crate::config::Roles::refusal(p, &cfg.file_label()))
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A Slack user id.
    Slack(String),
    /// An operator on the host, by OS user name.
    Cli(String),
    /// The bot itself (retention).
    System,
}

impl Actor {
    /// The operator running this process (`$USER`, else `$LOGNAME`).
    pub fn cli() -> Actor {
        let name = ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
            .unwrap_or_else(|| "unknown".into());
        Actor::Cli(name)
    }

    /// As stored: `U123`, `cli:alice`, `system`.
    pub fn id(&self) -> String {
        match self {
            Actor::Slack(u) => u.clone(),
            Actor::Cli(u) => format!("cli:{u}"),
            Actor::System => "system".into(),
        }
    }
}

/// Whether a key names something that must never be logged.
fn secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "database_url",
        "authorization",
    ]
    .iter()
    .any(|s| k.contains(s))
}

fn cap(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

fn scrub(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(cap(&s, MAX_ARG_CHARS)),
        Value::Array(a) => Value::Array(a.into_iter().take(50).map(scrub).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, _)| !secret_key(k))
                .map(|(k, v)| (k, scrub(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

/// The arguments as stored: secret-looking keys dropped, strings capped at
/// [`MAX_ARG_CHARS`], the whole at [`MAX_ARGS_BYTES`] (past that, a
/// `{"truncated": …}` object with the start of it).
pub fn args_json(args: Value) -> String {
    let s = scrub(args).to_string();
    if s.len() <= MAX_ARGS_BYTES {
        return s;
    }
    let mut cut = MAX_ARGS_BYTES - 200;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    json!({"truncated": true, "start": &s[..cut]}).to_string()
}

/// The row for an action.
pub fn entry(at_ms: i64, actor: &Actor, action: &str, args: Value, outcome: &str) -> NewAudit {
    NewAudit {
        at: at_ms,
        actor: actor.id(),
        action: action.to_string(),
        args: args_json(args),
        outcome: cap(outcome, MAX_OUTCOME_CHARS),
    }
}

/// Writes an audit row. A failure is logged and does not fail the action
/// (it has already happened, or been refused).
pub async fn record(
    store: &Store,
    at_ms: i64,
    actor: &Actor,
    action: &str,
    args: Value,
    outcome: &str,
) {
    if let Err(e) = store
        .record_audit(&entry(at_ms, actor, action, args, outcome))
        .await
    {
        warn!(error = %format!("{e:#}"), action, "writing an audit row failed");
    }
}

/// `--since`: a duration back from `now` (`30d`, `12h`), a date
/// (`2026-11-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        return Ok(Utc.from_utc_datetime(&t));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = crate::config::parse_duration(s).map_err(|_| {
        anyhow::anyhow!(
            "`{s}` is not a duration like 30d, a date like 2026-11-01, or an RFC 3339 time"
        )
    })?;
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .with_context(|| format!("`{s}` reaches back too far"))
}

fn when(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// One line per row: time (UTC), actor, action, outcome, arguments.
pub fn to_text(rows: &[AuditRow]) -> String {
    use std::fmt::Write;
    if rows.is_empty() {
        return "No audit rows in that time.\n".into();
    }
    let w_actor = rows.iter().map(|r| r.actor.len()).max().unwrap_or(0).max(5);
    let w_action = rows
        .iter()
        .map(|r| r.action.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20}  {:<w_actor$}  {:<w_action$}  OUTCOME  ARGS",
        "WHEN (UTC)", "ACTOR", "ACTION"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<20}  {:<w_actor$}  {:<w_action$}  {}  {}",
            when(r.at),
            r.actor,
            r.action,
            one_line(&r.outcome),
            one_line(&r.args)
        );
    }
    out
}

/// Control characters (a note's newlines) would break the table.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A JSON array of rows, `args` parsed back into JSON.
pub fn to_json(rows: &[AuditRow]) -> String {
    let v: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "at": when(r.at),
                "at_ms": r.at,
                "actor": r.actor,
                "action": r.action,
                "args": serde_json::from_str::<Value>(&r.args).unwrap_or(Value::String(r.args.clone())),
                "outcome": r.outcome,
            })
        })
        .collect();
    serde_json::to_string_pretty(&v).expect("serialising plain data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_dropped_and_text_capped() {
        let long = "x".repeat(2000);
        let s = args_json(json!({
            "question": long,
            "bot_token": "xoxb-1",
            "nested": {"signing_secret": "s", "ok": 1},
            "database_url": "postgres://u:p@h/db",
        }));
        assert!(
            !s.contains("xoxb") && !s.contains("signing") && !s.contains("postgres"),
            "{s}"
        );
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            v["question"].as_str().unwrap().chars().count(),
            MAX_ARG_CHARS + 1
        );
        assert_eq!(v["nested"]["ok"], 1);
    }

    #[test]
    fn huge_arguments_stay_under_the_cap() {
        let many: Vec<String> = (0..50).map(|i| format!("{i}{}", "é".repeat(400))).collect();
        let s = args_json(json!({ "list": many }));
        assert!(s.len() <= MAX_ARGS_BYTES, "{}", s.len());
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["truncated"], true);
    }

    #[test]
    fn since_takes_durations_dates_and_times() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        assert_eq!(
            parse_since("30d", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 3, 12, 0, 0).unwrap()
        );
        assert_eq!(
            parse_since("2026-11-01", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_since("2026-11-01T10:00:00+01:00", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap()
        );
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("99999999999w", now).is_err());
    }

    #[test]
    fn actors_and_text_rows() {
        assert_eq!(Actor::Cli("ops".into()).id(), "cli:ops");
        assert_eq!(Actor::System.id(), "system");
        let rows = vec![AuditRow {
            id: 1,
            at: Utc
                .with_ymd_and_hms(2026, 12, 3, 9, 0, 0)
                .unwrap()
                .timestamp_millis(),
            actor: "U0MKT0001".into(),
            action: "ask".into(),
            args: r#"{"text":"a\nb"}"#.into(),
            outcome: "ok".into(),
        }];
        let t = to_text(&rows);
        assert!(
            t.contains("2026-12-03 09:00:00Z  U0MKT0001  ask     ok"),
            "{t}"
        );
        assert_eq!(t.lines().count(), 2);
        let j: Value = serde_json::from_str(&to_json(&rows)).unwrap();
        assert_eq!(j[0]["args"]["text"], "a\nb");
    }
}
