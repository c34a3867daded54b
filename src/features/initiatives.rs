//! `/fieldnotes initiative add|end|list|report` (issue 13): marketers and
//! leads register a campaign, asset or experiment, end it, list them and
//! read one's debrief; the role is checked on every call, and every
//! refusal or bad argument changes nothing and says what was wrong.
//!
//! `add ID name="Spring webinar" kind=campaign start=2026-12-07
//! end=2027-01-31 checkins=weekly keywords="webinar,spring event"`:
//! `kind` and `name` are required; `start` defaults to today, `checkins`
//! to every check-in, no `end` runs until someone ends it.

use crate::audit::{self, Actor};
use crate::config::initiative::{valid_id, Initiative, InitiativeKind, MAX_NAME};
use crate::config::{parse_date, Config};
use crate::context::Context;
use crate::digest::debrief::{self, render};
use crate::digest::render::blocks::esc;
use crate::roles::Permission;
use crate::store::EndOutcome;
use chrono::NaiveDate;
use serde_json::json;

/// Splits `s` into words, keeping "quoted phrases" (straight or Slack's
/// curly quotes) together: `name="Spring webinar"` is one word.
pub fn words(s: &str) -> Result<Vec<String>, String> {
    let s = s.replace(['\u{201c}', '\u{201d}'], "\"");
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for ch in s.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed: close it with another \"".into());
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Parses `add`'s arguments into an initiative, naming the bad part.
pub fn parse_add(args: &[String], cfg: &Config, today: NaiveDate) -> Result<Initiative, String> {
    let usage = "Try `initiative add spring-webinar name=\"Spring webinar\" kind=campaign start=2026-12-07 end=2027-01-31 checkins=weekly keywords=webinar`";
    let Some((id, rest)) = args.split_first() else {
        return Err(format!("Name the initiative's id first. {usage}"));
    };
    if !valid_id(id) || id.contains('=') {
        return Err(format!(
            "`{id}` can't be an id: use 1-40 lowercase letters, digits, `-` or `_`. {usage}"
        ));
    }
    let (mut name, mut kind, mut start, mut end) = (None, None, today, None);
    let mut checkins: Vec<String> = cfg.checkins.iter().map(|c| c.name.clone()).collect();
    let mut keywords = Vec::new();
    for w in rest {
        let Some((k, v)) = w.split_once('=') else {
            return Err(format!("`{w}` is not `key=value`. {usage}"));
        };
        let v = v.trim();
        match k.trim().to_lowercase().as_str() {
            "name" => {
                if v.is_empty() || v.chars().count() > MAX_NAME {
                    return Err(format!("`name` must be 1 to {MAX_NAME} characters."));
                }
                name = Some(v.to_string());
            }
            "kind" => {
                kind = Some(
                    InitiativeKind::parse(&v.to_lowercase())
                        .ok_or_else(|| format!("`kind={v}`: use campaign, asset or experiment."))?,
                )
            }
            "start" => start = parse_date(v).map_err(|m| format!("`start`: {m}."))?,
            "end" => end = Some(parse_date(v).map_err(|m| format!("`end`: {m}."))?),
            "checkins" | "checkin" => {
                checkins = list(v);
                if let Some(bad) = checkins.iter().find(|c| cfg.checkin(c).is_none()) {
                    let known: Vec<&str> = cfg.checkins.iter().map(|c| c.name.as_str()).collect();
                    return Err(format!(
                        "`checkins`: there is no check-in `{bad}` (there is: {}).",
                        known.join(", ")
                    ));
                }
            }
            "keywords" | "keyword" => keywords = list(v),
            other => {
                return Err(format!(
                    "unknown key `{other}`: use name, kind, start, end, checkins or keywords."
                ))
            }
        }
    }
    let name = name.ok_or_else(|| format!("Give it a `name=\"...\"`. {usage}"))?;
    let kind = kind.ok_or_else(|| "Give it a `kind=campaign|asset|experiment`.".to_string())?;
    if end.is_some_and(|e| e < start) {
        return Err("`end` is before `start`: it must end on or after the day it starts.".into());
    }
    if end.is_some_and(|e| e < today) {
        return Err(
            "`end` is in the past: an initiative must still be running to be added.".into(),
        );
    }
    if checkins.is_empty() {
        return Err("`checkins`: name at least one check-in that asks about it.".into());
    }
    Ok(Initiative {
        id: id.clone(),
        name,
        kind,
        start,
        end,
        checkins,
        keywords,
        from_config: false,
        ended_at: None,
    })
}

/// Handles `/fieldnotes initiative ...` for `user`; the reply is
/// ephemeral mrkdwn.
pub async fn command(ctx: &Context, user: &str, rest: &str) -> String {
    let cfg = ctx.config();
    let args = match words(rest) {
        Ok(a) => a,
        Err(m) => return format!(":warning: {m}; nothing was changed."),
    };
    let verb = args.first().map(|v| v.to_lowercase()).unwrap_or_default();
    let audit_args = json!({"verb": verb, "args": crate::text::truncate(rest, 300)});
    if let Err(refusal) = audit::require(
        &ctx.store,
        &cfg,
        ctx.now_ms(),
        user,
        Permission::Initiatives,
        "initiative",
        audit_args.clone(),
    )
    .await
    {
        return refusal;
    }
    let today = ctx.today();
    let reply = match verb.as_str() {
        "add" => add(ctx, &cfg, user, &args[1..], today).await,
        "end" => end(ctx, user, args.get(1).map(String::as_str), today).await,
        "list" | "" => list_all(ctx, &cfg, today).await,
        "report" | "debrief" => report(ctx, &cfg, args.get(1).map(String::as_str), today).await,
        other => Err(format!(
            "`{other}` is not an initiative command: use `add`, `end`, `list` or `report ID`."
        )),
    };
    let (text, outcome) = match reply {
        Ok(t) => (t, "ok".to_string()),
        Err(m) => (
            format!(":warning: {m} Nothing was changed."),
            format!("refused: {}", crate::text::truncate(&m, 200)),
        ),
    };
    if verb == "add" || verb == "end" {
        audit::record(
            &ctx.store,
            ctx.now_ms(),
            &Actor::Slack(user.to_string()),
            "initiative",
            audit_args,
            &outcome,
        )
        .await;
    }
    text
}

async fn add(
    ctx: &Context,
    cfg: &Config,
    user: &str,
    args: &[String],
    today: NaiveDate,
) -> Result<String, String> {
    let i = parse_add(args, cfg, today)?;
    match ctx.store.add_initiative(&i, user, ctx.now_ms()).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(format!(
                "There is already an initiative `{}`: pick another id, or `/fieldnotes initiative list`.",
                i.id
            ))
        }
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "adding an initiative failed");
            return Err("The database didn't answer; try again in a minute.".into());
        }
    }
    if let Err(e) = ctx.refresh_initiatives().await {
        tracing::warn!(error = %format!("{e:#}"), "reading initiatives back failed");
    }
    let until = i
        .end
        .map(|e| format!("to {e}"))
        .unwrap_or_else(|| "until you end it".into());
    Ok(format!(
        ":dart: Added *{}* ({}, {} {until}). While it runs, the {} check-in{} ask reps whether it worked, as one of their questions in turn. Notes that mention {} are linked to it. `/fieldnotes initiative report {}` shows the debrief.",
        esc(&i.name),
        i.kind.as_str(),
        i.start,
        i.checkins.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
        if i.checkins.len() == 1 { "" } else { "s" },
        if i.keywords.is_empty() {
            format!("\"{}\"", esc(&i.name))
        } else {
            format!(
                "\"{}\" or {}",
                esc(&i.name),
                i.keywords
                    .iter()
                    .map(|k| format!("\"{}\"", esc(k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        i.id
    ))
}

async fn end(
    ctx: &Context,
    user: &str,
    id: Option<&str>,
    today: NaiveDate,
) -> Result<String, String> {
    let id = id.ok_or("Name the initiative to end: `/fieldnotes initiative end ID`.")?;
    let out = ctx
        .store
        .end_initiative(id, user, today, ctx.now_ms())
        .await
        .map_err(|e| {
            tracing::warn!(error = %format!("{e:#}"), "ending an initiative failed");
            "The database didn't answer; try again in a minute.".to_string()
        })?;
    match out {
        EndOutcome::NotFound => Err(format!(
            "There is no initiative `{id}`: `/fieldnotes initiative list` shows them."
        )),
        EndOutcome::AlreadyOver(i) => Err(format!(
            "*{}* has already ended{}.",
            esc(&i.name),
            i.end.map(|e| format!(" (on {e})")).unwrap_or_default()
        )),
        EndOutcome::Ended(i) => {
            if let Err(e) = ctx.refresh_initiatives().await {
                tracing::warn!(error = %format!("{e:#}"), "reading initiatives back failed");
            }
            Ok(format!(
                ":checkered_flag: Ended *{}*. Check-ins stop asking about it; its final debrief goes to the digest's channel, and every rep who rated it hears the outcome.",
                esc(&i.name)
            ))
        }
    }
}

async fn list_all(ctx: &Context, cfg: &Config, today: NaiveDate) -> Result<String, String> {
    let recs = ctx.store.initiative_records().await.map_err(|e| {
        tracing::warn!(error = %format!("{e:#}"), "listing initiatives failed");
        "The database didn't answer; try again in a minute.".to_string()
    })?;
    let recs: Vec<_> = recs
        .into_iter()
        .filter(|r| cfg.initiative(&r.initiative.id).is_some() || !r.initiative.from_config)
        .collect();
    if recs.is_empty() {
        return Ok("No initiatives yet. Add one with `/fieldnotes initiative add ID name=\"...\" kind=campaign`, or as `[[initiative]]` in the config.".into());
    }
    let mut lines = vec!["*Initiatives*".to_string()];
    for r in recs.iter().rev().take(20) {
        let i = &r.initiative;
        let status = i.status(today);
        let n = ctx
            .store
            .initiative_ratings(&i.id)
            .await
            .map(|v| v.len())
            .unwrap_or(0);
        lines.push(format!(
            "• `{}` *{}* ({}, {status}, from {}{}) · {n} rating{}",
            i.id,
            esc(&i.name),
            i.kind.as_str(),
            i.start,
            i.end.map(|e| format!(" to {e}")).unwrap_or_default(),
            if n == 1 { "" } else { "s" }
        ));
    }
    Ok(lines.join("\n"))
}

async fn report(
    ctx: &Context,
    cfg: &Config,
    id: Option<&str>,
    today: NaiveDate,
) -> Result<String, String> {
    let id = id.ok_or("Name the initiative: `/fieldnotes initiative report ID`.")?;
    let rec = ctx
        .store
        .initiative_record(id)
        .await
        .map_err(|_| "The database didn't answer; try again in a minute.".to_string())?
        .ok_or_else(|| {
            format!("There is no initiative `{id}`: `/fieldnotes initiative list` shows them.")
        })?;
    let (d, _) = debrief::gather(&ctx.store, cfg, &rec.initiative, today, None, i64::MAX)
        .await
        .map_err(|_| "The database didn't answer; try again in a minute.".to_string())?;
    Ok(render::digest_lines(&d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quoted_phrases() {
        assert_eq!(
            words(r#"add x name="Spring webinar" keywords=“a b,c”"#).unwrap(),
            vec!["add", "x", "name=Spring webinar", "keywords=a b,c"]
        );
        assert!(words(r#"add x name="open"#).is_err());
    }
}
