//! Slack's side of closing the loop (issue 13): the digest's three
//! buttons, the marketer's and the rep's forms, the reveal button and the
//! rep's reply in the relay DM's thread. Each checks the person on every
//! call (`features::loops`); forms open before anything slow, inside the
//! trigger's 3 s. The DMs themselves are rows sent by `jobs::dms`.

use super::views::loops::{self as v, PressMeta};
use super::{access, notes, reply, Bot};
use crate::features::loops::{self, Answer, Kind, LoopError, Press, Revealed, Target};
use slack_morphism::prelude::*;
use std::sync::Arc;
use tracing::warn;

/// Tells the presser why not: where they are (ephemeral), else in a modal
/// on the click's trigger (App Home, a modal), else by DM.
async fn refuse(bot: &Arc<Bot>, user: &str, trigger: &str, channel: Option<&str>, e: &LoopError) {
    let text = reply::text(e);
    if channel.is_none() && access::show_refusal(bot, trigger, &text).await.is_ok() {
        return;
    }
    notes::notify(bot, user, channel, text).await;
}

/// A press of Acting on it, Thanks or Ask a follow-up.
pub async fn press(
    bot: &Arc<Bot>,
    user: &str,
    trigger: &str,
    channel: Option<&str>,
    kind: Kind,
    target: &Target,
) -> anyhow::Result<()> {
    let notes = match loops::check_press(bot, user, kind, target).await {
        Ok(n) => n,
        Err(e) => {
            reply::log(&e);
            refuse(bot, user, trigger, channel, &e).await;
            return Ok(());
        }
    };
    if kind != Kind::Thanks {
        // The trigger lasts 3 s: the form opens now, the rest on submit.
        bot.slack
            .open_view(trigger, v::press_modal(kind, target, &notes, channel))
            .await
            .map_err(|e| anyhow::anyhow!("opening the loop form: {e}"))?;
        return Ok(());
    }
    let p = Press {
        actor: user,
        kind,
        target,
        text: "",
        key: "",
    };
    let text = match loops::act(bot, &p).await {
        Ok(a) => confirmation(&a),
        Err(e) => reply::text(&e),
    };
    notes::notify(bot, user, channel, text).await;
    Ok(())
}

fn confirmation(a: &loops::Acted) -> String {
    let how = if a.anonymous {
        "Fieldnotes relays it; you won't see who they are unless they choose to say."
    } else {
        "They can answer in the DM's thread."
    };
    match (a.recorded, a.repeated) {
        (0, _) => format!(
            ":information_source: You already did that for {}: nothing more was sent.",
            if a.repeated == 1 {
                "this note"
            } else {
                "these notes"
            }
        ),
        (n, r) => {
            let verb = match a.kind {
                Kind::Acting => "told that marketing is acting on it",
                Kind::Thanks => "thanked",
                Kind::Ask => "asked your question",
            };
            let reps = if a.reps == 1 {
                "the rep".to_string()
            } else {
                format!("{} reps", a.reps)
            };
            let mut s = format!(
                ":white_check_mark: Done: {reps} who shared {} will be {verb}. {how}",
                if n == 1 { "it" } else { "them" }
            );
            if r > 0 {
                s.push_str(&format!(" ({r} you had already done were skipped.)"));
            }
            s
        }
    }
}

/// The marketer's form, submitted: the role and the notes are checked
/// again, then the action is recorded and the DMs queued.
pub async fn submit_press(
    bot: &Arc<Bot>,
    user: &str,
    view_id: &str,
    meta: Option<PressMeta>,
    values: &crate::capture::FormValues,
) -> SlackInteractionResponse {
    let parsed =
        meta.and_then(|m| Some((Kind::parse(&m.kind)?, Target::parse(&m.target)?, m.channel)));
    let Some((kind, mut target, channel)) = parsed else {
        warn!(user, "a loop form with metadata Slack could not have sent");
        return reply::errors(
            v::TEXT_BLOCK.into(),
            "This form is out of date; nothing was sent.",
        );
    };
    if let Some(picked) = values.get(v::NOTES_BLOCK) {
        let ids: Vec<i64> = picked.iter().filter_map(|s| s.parse().ok()).collect();
        if ids.is_empty() {
            return reply::errors(v::NOTES_BLOCK.into(), "Pick at least one note.");
        }
        if ids.iter().any(|id| !target.notes.contains(id)) || ids.len() != picked.len() {
            warn!(user, "a loop form picking notes it did not offer");
            return reply::errors(
                v::NOTES_BLOCK.into(),
                "Those notes weren't offered; nothing was sent.",
            );
        }
        target.notes = ids;
    }
    let text = values
        .get(v::TEXT_BLOCK)
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or_default();
    let p = Press {
        actor: user,
        kind,
        target: &target,
        text: &text,
        key: view_id,
    };
    match loops::act(bot, &p).await {
        Ok(a) => {
            notes::notify(bot, user, channel.as_deref(), confirmation(&a)).await;
            SlackInteractionResponse::Empty
        }
        Err(e) => {
            reply::log(&e);
            reply::form_errors(v::TEXT_BLOCK.into(), &e)
        }
    }
}

/// The rep's **Answer in a form**: opens it for the rep only.
pub async fn open_answer(
    bot: &Arc<Bot>,
    user: &str,
    trigger: &str,
    action: i64,
) -> anyhow::Result<()> {
    let a = match loops::answerable(bot, user, action).await {
        Ok(a) => a,
        Err(e) => {
            refuse(bot, user, trigger, None, &e).await;
            return Ok(());
        }
    };
    let Ok(Some(note)) = bot.store.insight(a.insight_id).await else {
        refuse(bot, user, trigger, None, &LoopError::NoNote(a.insight_id)).await;
        return Ok(());
    };
    let kind = Kind::parse(&a.kind).unwrap_or(Kind::Acting);
    bot.slack
        .open_view(trigger, v::answer_modal(a.id, kind, &a.text, &note))
        .await
        .map_err(|e| anyhow::anyhow!("opening the answer form: {e}"))?;
    Ok(())
}

/// The rep's form, submitted: saved as a follow-up on the note.
pub async fn submit_answer(
    bot: &Arc<Bot>,
    user: &str,
    view_id: &str,
    action: Option<i64>,
    values: &crate::capture::FormValues,
) -> SlackInteractionResponse {
    let text = values
        .get(v::TEXT_BLOCK)
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or_default();
    let Some(action) = action else {
        return reply::errors(
            v::TEXT_BLOCK.into(),
            "This form is out of date; nothing was saved.",
        );
    };
    let a = match loops::answerable(bot, user, action).await {
        Ok(a) => a,
        Err(e) => return reply::form_errors(v::TEXT_BLOCK.into(), &e),
    };
    let answer = Answer {
        user,
        action: &a,
        text: &text,
        dedupe_key: format!("view:{view_id}"),
        message: None,
        at_ms: bot.now_ms(),
    };
    match loops::answer(bot, &answer).await {
        Ok(saved) => {
            if saved.new {
                let bot2 = bot.clone();
                let work = async move {
                    notes::after_save(&bot2, &saved, None, notes::Confirm::Always).await;
                };
                bot.background.run("confirm a follow-up", work).await;
            }
            SlackInteractionResponse::Empty
        }
        Err(e) => {
            reply::log(&e);
            reply::form_errors(v::TEXT_BLOCK.into(), &e)
        }
    }
}

/// The rep's **Tell them it was me**.
pub async fn reveal(bot: &Arc<Bot>, user: &str, trigger: &str, channel: Option<&str>, action: i64) {
    let text = match loops::reveal(bot, user, action).await {
        Ok(Revealed::Now) => ":wave: Done: marketing now knows it was you.".to_string(),
        Ok(Revealed::Already) => "You already told them it was you.".to_string(),
        Ok(Revealed::WasNamed) => {
            "That digest names reps, so they already know it was you.".to_string()
        }
        Err(e) => {
            refuse(bot, user, trigger, channel, &e).await;
            return;
        }
    };
    notes::notify(bot, user, channel, text).await;
}

/// A rep's message in a relay DM's thread: a follow-up on the note, when
/// it is one (`false`: not a loop thread, save it as any reply).
pub async fn thread_reply(bot: &Bot, m: &crate::features::notes::DmReply) -> anyhow::Result<bool> {
    let Some(thread) = m.thread_ts.as_deref() else {
        return Ok(false);
    };
    let Some(action) = loops::action_for_thread(bot, &m.user, &m.channel, thread).await? else {
        return Ok(false);
    };
    let answer = Answer {
        user: &m.user,
        action: &action,
        text: &m.text,
        dedupe_key: format!("msg:{}:{}", m.channel, m.ts),
        message: Some(crate::domain::SourceMessage {
            channel_id: m.channel.clone(),
            ts: m.ts.clone(),
            author_id: Some(m.user.clone()),
            permalink: None,
        }),
        at_ms: m.received_ms,
    };
    match loops::answer(bot, &answer).await {
        Ok(saved) => {
            if saved.new {
                notes::after_save(
                    bot,
                    &saved,
                    Some((&m.channel, thread)),
                    notes::Confirm::Always,
                )
                .await;
            }
            Ok(true)
        }
        // Our fault: the inbox retries the event.
        Err(LoopError::NotSaved { cause, .. }) => Err(cause),
        Err(e) => {
            reply::log(&e);
            Ok(true)
        }
    }
}
