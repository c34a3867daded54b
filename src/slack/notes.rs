//! The Slack half of notes (the feature is `features::notes`): opening
//! the forms a feature prepared, telling a person something after the ack,
//! and the follow-ups a saved, edited or deleted note needs in Slack:
//! answered prompts turned into thank-yous, confirmations posted and kept
//! in line, a saved message's permalink.

use super::client::with_retries;
use super::views;
use super::Bot;
use crate::domain::{Insight, Source};
use crate::features::notes::{Deleted, FormToOpen};
use crate::store::{AckMessage, SavedInsight};
use anyhow::{Context, Result};
use std::sync::Arc;
use tracing::warn;

/// callback_id of the message shortcut "Save as field insight".
pub const SAVE_MESSAGE_SHORTCUT: &str = "fieldnotes_save_message";
/// callback_id of the global shortcut "New field note".
pub const NEW_NOTE_SHORTCUT: &str = "fieldnotes_new_note";

/// Opens a form a feature prepared, on the click's trigger.
pub async fn open_form(bot: &Bot, trigger_id: &str, f: &FormToOpen) -> Result<()> {
    let cfg = bot.config();
    let view = views::form_modal(
        &cfg,
        &f.form,
        &f.meta,
        Some(&f.intro),
        &f.values,
        &f.title,
        "Save",
    );
    bot.slack
        .open_view(trigger_id, view)
        .await
        .with_context(|| format!("opening the form \"{}\"", f.title))?;
    Ok(())
}

/// Tells a person something after the ack: ephemerally where they are,
/// else (in a DM, whose payload channel may not be theirs, or when the bot
/// can't post there) in their own DM with the bot.
pub async fn notify(bot: &Arc<Bot>, user: &str, channel: Option<&str>, text: String) {
    let (st, user) = (bot.clone(), user.to_string());
    let channel = channel.filter(|c| !c.starts_with('D')).map(String::from);
    let work = async move {
        let bot = st;
        if let Some(c) = &channel {
            match bot.slack.post_ephemeral(c, &user, &text).await {
                Ok(()) => return,
                Err(e) => warn!(error = %e, user, "an ephemeral notice failed; using the DM"),
            }
        }
        // Addressed to the user id, it lands in their DM with the bot.
        if let Err(e) = bot.slack.post_message(&user, None, &text, vec![]).await {
            warn!(error = %e, user, "telling a person failed");
        }
    };
    bot.background.run("notify a person", work).await;
}

/// Whether `after_save` posts a confirmation of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    Always,
    /// Only if no answered prompt's message could carry it.
    UnlessPrompt,
    Never,
}

/// Runs `after_save` in the background set, after the ack, when it has
/// anything to do: a note that answered no sent prompt and posts no
/// confirmation (most `/fieldnotes note`s) takes no place in the set, so a
/// burst of them never waits behind follow-ups paced by Slack.
pub async fn spawn_after_save(bot: &Arc<Bot>, saved: SavedInsight, confirm: Confirm) {
    if confirm == Confirm::Never && !saved.answered.iter().any(|p| p.sent) {
        return;
    }
    let st = bot.clone();
    let work = async move { after_save(&st, &saved, None, confirm).await };
    bot.background.run("confirm a saved note", work).await;
}

/// After a new note is saved: thank every prompt it answered (their
/// messages get Edit / Delete), and, as `confirm` says, post a confirmation
/// in `thread` (a reply's thread) or the rep's DM.
pub async fn after_save(
    bot: &Bot,
    saved: &SavedInsight,
    thread: Option<(&str, &str)>,
    confirm: Confirm,
) {
    let Ok(Some(ins)) = bot.store.insight(saved.id).await else {
        return;
    };
    let cfg = bot.config();
    let mut ack: Option<AckMessage> = None;
    for p in saved.answered.iter().filter(|p| p.sent) {
        let (Some(ch), Some(ts)) = (&p.channel_id, &p.message_ts) else {
            continue;
        };
        // Its reminders lose their button too: nothing left to nag about.
        if let Ok(rs) = bot.store.sent_reminders(p.id).await {
            let (rt, rb) = views::reminder_answered(&p.question, ins.id);
            for (rch, rts) in rs {
                if let Err(e) =
                    with_retries(3, || bot.slack.update_message(&rch, &rts, &rt, rb.clone())).await
                {
                    warn!(error = %e, prompt = p.id, "updating an answered reminder failed");
                }
            }
        }
        let (text, blocks) = views::prompt_answered(&cfg, &p.question, &ins);
        match with_retries(5, || {
            bot.slack.update_message(ch, ts, &text, blocks.clone())
        })
        .await
        {
            Ok(()) => {
                if ack.is_none() && Some(p.id) == ins.prompt_id {
                    ack = Some(AckMessage {
                        channel: ch.clone(),
                        ts: ts.clone(),
                    });
                }
            }
            Err(e) => warn!(error = %e, prompt = p.id, "updating the answered prompt failed"),
        }
    }
    if confirm == Confirm::Always || (confirm == Confirm::UnlessPrompt && ack.is_none()) {
        let headline = match (ins.source, &ins.message) {
            (Source::Reply, _) => {
                ":white_check_mark: Saved your reply as a field note.".to_string()
            }
            (Source::Shortcut, Some(m)) => match &m.author_id {
                Some(a) if *a != ins.user_id => {
                    format!(":white_check_mark: Saved <@{a}>'s message as a field note.")
                }
                _ => ":white_check_mark: Saved that message as a field note.".to_string(),
            },
            _ => ":white_check_mark: Saved your field note.".to_string(),
        };
        let (text, blocks) = views::note_saved(&cfg, &ins, &headline);
        // Without a thread, addressed to the user id: their DM with the bot.
        let (channel, thread_ts) = match thread {
            Some((c, t)) => (c, Some(t)),
            None => (ins.user_id.as_str(), None),
        };
        let posted = with_retries(3, || {
            bot.slack
                .post_message(channel, thread_ts, &text, blocks.clone())
        })
        .await;
        match posted {
            Ok(p) => {
                ack = Some(AckMessage {
                    channel: p.channel,
                    ts: p.ts,
                })
            }
            Err(e) => warn!(error = %e, insight = ins.id, "posting a note's confirmation failed"),
        }
    }
    if let Some(a) = ack {
        if let Err(e) = bot.store.set_ack(ins.id, &a).await {
            warn!(error = %format!("{e:#}"), "recording a confirmation failed");
        }
    }
}

/// Brings a note's confirmation message in line after an edit.
pub async fn refresh_ack(bot: &Bot, ins: &Insight) {
    let cfg = bot.config();
    let Ok(Some(a)) = bot.store.ack_message(ins.id).await else {
        return;
    };
    let (text, blocks) = match ins.prompt_id {
        Some(pid) => match bot.store.prompt(pid).await {
            Ok(Some(p))
                if p.channel_id.as_deref() == Some(a.channel.as_str())
                    && p.message_ts.as_deref() == Some(a.ts.as_str()) =>
            {
                views::prompt_answered(&cfg, &p.question, ins)
            }
            _ => views::note_saved(&cfg, ins, ":pencil2: Your field note, as edited."),
        },
        None => views::note_saved(&cfg, ins, ":pencil2: Your field note, as edited."),
    };
    if let Err(e) = with_retries(3, || {
        bot.slack
            .update_message(&a.channel, &a.ts, &text, blocks.clone())
    })
    .await
    {
        warn!(error = %e, insight = ins.id, "updating a note's confirmation failed");
    }
}

/// Turns a deleted note's confirmation into "deleted".
pub async fn mark_deleted(bot: &Bot, d: &Deleted) {
    let Some(a) = &d.ack else { return };
    let (text, blocks) = views::note_deleted(d.id);
    if let Err(e) = with_retries(3, || {
        bot.slack
            .update_message(&a.channel, &a.ts, &text, blocks.clone())
    })
    .await
    {
        warn!(error = %e, insight = d.id, "updating a deleted note's confirmation failed");
    }
}

/// After a saved message's form opened: fetch and store its permalink,
/// then (for a new note) confirm it.
pub async fn spawn_permalink(bot: &Arc<Bot>, saved: SavedInsight, channel: String, ts: String) {
    let st = bot.clone();
    let work = async move {
        let bot = st;
        match with_retries(3, || bot.slack.permalink(&channel, &ts)).await {
            Ok(link) => {
                if let Err(e) = bot.store.set_permalink(saved.id, &link).await {
                    warn!(error = %format!("{e:#}"), "storing a permalink failed");
                }
            }
            Err(e) => warn!(error = %e, "chat.getPermalink failed"),
        }
        if saved.new {
            after_save(&bot, &saved, None, Confirm::Always).await;
        }
    };
    bot.background.run("fetch a permalink", work).await;
}

/// Tells a rep their DM could not be saved (the inbox gave up on it), with
/// their words quoted back in its thread.
pub async fn reply_not_saved(bot: &Bot, channel: &str, ts: &str, text: &str) {
    let msg = format!(
        ":warning: We couldn't save that as a note. Here it is, to send again in a moment:\n>{}",
        text.trim().replace('\n', "\n>")
    );
    if let Err(e) = with_retries(3, || {
        bot.slack.post_message(channel, Some(ts), &msg, vec![])
    })
    .await
    {
        warn!(error = %e, "telling a rep their reply was not saved failed");
    }
}
