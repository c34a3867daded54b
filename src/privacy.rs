//! One person's data, for the people it is about: `fieldnotes export
//! --user` hands over everything held about them as one JSON document;
//! `fieldnotes purge --user` erases it (`Store::purge_user`) and reports
//! what went, table by table. Retention of old notes is
//! `[retention] notes` (see `jobs::purge`).

use crate::store::{PersonData, Store, UserPurge};
use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Whether `s` looks like a Slack user id (`U…` or `W…`, letters and
/// digits, as `[roles]` and audiences require), at most 32 characters.
pub fn valid_user_id(s: &str) -> bool {
    s.len() <= 32 && crate::config::valid_user_id(s)
}

fn time(ms: Option<i64>) -> Value {
    ms.and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| Value::String(t.to_rfc3339()))
        .unwrap_or(Value::Null)
}

fn parsed(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

/// The export document for `user`, from what the store holds.
pub fn export_document(user: &str, d: &PersonData, now: DateTime<Utc>) -> Value {
    let mut tags: BTreeMap<i64, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for t in &d.tags {
        let e = tags.entry(t.insight_id).or_default();
        if t.origin == "manual" {
            e.0.push(&t.tag);
        } else {
            e.1.push(&t.tag);
        }
    }
    let mut fields: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for f in &d.fields {
        fields
            .entry(f.insight_id)
            .or_default()
            .push(json!({"field": f.field, "value": f.value}));
    }
    let (own, quoted): (Vec<_>, Vec<_>) = d.notes.iter().partition(|n| n.user_id == user);
    let notes: Vec<Value> = own
        .iter()
        .map(|n| {
            let (picked, auto) = tags.remove(&n.id).unwrap_or_default();
            json!({
                "id": n.id,
                "source": n.source,
                "checkin": n.checkin,
                "prompt_id": n.prompt_id,
                "text": n.text,
                "answers": parsed(&n.answers),
                "fields": fields.remove(&n.id).unwrap_or_default(),
                "tags": picked,
                "auto_tags": auto,
                "sentiment": n.sentiment,
                "created_at": time(Some(n.created_at)),
                "edited_at": time(n.edited_at),
                "deleted_at": time(n.deleted_at),
                "message": n.channel_id.as_ref().map(|c| json!({
                    "channel": c, "ts": n.message_ts, "author": n.author_id, "permalink": n.permalink,
                })),
            })
        })
        .collect();
    // Messages of theirs that someone else saved as a note: their words,
    // without who saved them.
    let saved_by_others: Vec<Value> = quoted
        .iter()
        .map(|n| {
            json!({
                "text": n.text,
                "channel": n.channel_id,
                "ts": n.message_ts,
                "permalink": n.permalink,
                "saved_at": time(Some(n.created_at)),
            })
        })
        .collect();
    let mut reminders: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for r in &d.reminders {
        reminders.entry(r.prompt_id).or_default().push(json!({
            "seq": r.seq, "status": r.status, "due_at": time(Some(r.due_at)),
            "sent_at": time(r.sent_at), "skip_reason": r.skip_reason,
        }));
    }
    let prompts: Vec<Value> = d
        .prompts
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "checkin": p.checkin,
                "occurrence": p.occurrence,
                "question": p.question,
                "status": p.status,
                "due_at": time(Some(p.due_at)),
                "local_due": p.local_due,
                "sent_at": time(p.sent_at),
                "answered_at": time(p.answered_at),
                "closes_at": time(p.closes_at),
                "closed_at": time(p.closed_at),
                "skip_reason": p.skip_reason,
                "message": p.channel_id.as_ref().map(|c| json!({"channel": c, "ts": p.message_ts})),
                "reminders": reminders.remove(&p.id).unwrap_or_default(),
            })
        })
        .collect();
    let events: Vec<Value> = d
        .events
        .iter()
        .map(|e| (e, parsed(&e.payload)))
        .filter(|(_, p)| crate::store::event_author_is(p, user))
        .map(|(e, p)| {
            json!({
                "event_id": e.event_id, "status": e.status,
                "received_at": time(Some(e.received_at)), "payload": p,
            })
        })
        .collect();
    let loop_row = |a: &crate::store::LoopRow| {
        json!({
            "note_id": a.insight_id, "kind": a.kind, "text": a.text, "digest": a.digest,
            "anonymous": a.anonymous != 0, "revealed_at": time(a.revealed_at),
            "at": time(Some(a.created_at)),
        })
    };
    let dms: Vec<Value> = d
        .direct_messages
        .iter()
        .map(|m| {
            json!({
                "purpose": m.purpose, "status": m.status, "message": parsed(&m.payload),
                "queued_at": time(Some(m.created_at)), "sent_at": time(m.sent_at),
                "channel": m.channel_id, "ts": m.message_ts,
            })
        })
        .collect();
    json!({
        "user_id": user,
        "exported_at": now.to_rfc3339(),
        "profile": d.profile.as_ref().map(|p| json!({
            "name": p.name,
            "tz": p.tz,
            "is_bot": p.is_bot != 0,
            "deactivated": p.deleted != 0,
            "dm_channel": p.dm_channel,
            "fetched_at": time(Some(p.fetched_at)),
        })),
        "pause": d.pause.as_ref().map(|p| json!({
            "paused_until": time(Some(p.paused_until)),
            "set_at": time(Some(p.set_at)),
            "source": p.source,
        })),
        "prompts": prompts,
        "notes": notes,
        "saved_by_others": saved_by_others,
        "slack_events": events,
        // What marketing did with their notes (without the marketer's id),
        // what they did with others' (without the rep's), the loop's DMs.
        "heard_back": d.heard_back.iter().map(loop_row).collect::<Vec<_>>(),
        "loop_actions": d.loop_taken.iter().map(loop_row).collect::<Vec<_>>(),
        "direct_messages": dms,
        "audit": d.audit.iter().map(|a| json!({
            "at": time(Some(a.at)), "action": a.action, "args": parsed(&a.args), "outcome": a.outcome,
        })).collect::<Vec<_>>(),
    })
}

/// Reads and builds `user`'s export.
pub async fn export_user(store: &Store, user: &str, now: DateTime<Utc>) -> Result<Value> {
    let d = store.person_data(user).await?;
    Ok(export_document(user, &d, now))
}

/// `purge --user`'s report: a line per table.
pub fn purge_report(user: &str, p: &UserPurge) -> String {
    use std::fmt::Write;
    let total: u64 = p.tables().iter().map(|(_, n)| n).sum();
    let mut out = format!("Erased {user}: {total} rows, in one transaction.\n");
    let w = p.tables().iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    for (table, n) in p.tables() {
        let _ = writeln!(out, "  {table:<w$}  {n}");
    }
    out
}

/// `purge --user`'s outcome in the audit log (the person is not named).
pub fn purge_outcome(p: &UserPurge) -> String {
    let parts: Vec<String> = p
        .tables()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    if parts.is_empty() {
        "ok: nothing held".into()
    } else {
        format!("ok: {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NoteRow, NoteTagRow};

    #[test]
    fn user_ids() {
        assert!(valid_user_id("U0REP0001"));
        assert!(valid_user_id("W123"));
        assert!(!valid_user_id("C123"));
        assert!(!valid_user_id("U1%"));
        assert!(!valid_user_id(""));
    }

    #[test]
    fn their_notes_carry_tags_and_others_notes_hide_the_saver() {
        let note = |id, user: &str, author: Option<&str>| NoteRow {
            id,
            user_id: user.into(),
            source: "command".into(),
            prompt_id: None,
            checkin: None,
            text: format!("note {id}"),
            answers: "[]".into(),
            sentiment: None,
            created_at: 0,
            updated_at: 0,
            edited_at: None,
            deleted_at: None,
            channel_id: author.map(|_| "C1".into()),
            message_ts: author.map(|_| "1.0".into()),
            author_id: author.map(String::from),
            permalink: None,
        };
        let d = PersonData {
            notes: vec![note(1, "U1", None), note(2, "U2", Some("U1"))],
            tags: vec![
                NoteTagRow {
                    insight_id: 1,
                    tag: "a".into(),
                    origin: "manual".into(),
                },
                NoteTagRow {
                    insight_id: 1,
                    tag: "b".into(),
                    origin: "auto".into(),
                },
            ],
            ..Default::default()
        };
        let v = export_document("U1", &d, Utc::now());
        assert_eq!(v["notes"][0]["tags"], json!(["a"]));
        assert_eq!(v["notes"][0]["auto_tags"], json!(["b"]));
        assert_eq!(v["saved_by_others"][0]["text"], "note 2");
        assert!(!v.to_string().contains("U2"), "the saver is not named: {v}");
    }
}
