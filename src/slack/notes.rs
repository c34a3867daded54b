//! Every way a note comes in and changes: the check-in form, a plain DM
//! reply (or one in the prompt's thread), `/fieldnotes note`, the "Save as
//! field insight" message shortcut, the "New field note" global shortcut,
//! and edits and deletes from a confirmation or App Home. Each answers
//! Slack fast (a modal opens first, a row is written in one transaction)
//! and does anything slow after the ack, in a spawned task.

use super::client::with_retries;
use super::limits;
use super::views::{self, ModalMeta};
use crate::app::AppState;
use crate::capture::{self, Captured, Form, FormValues};
use crate::domain::{Insight, NewInsight, Source, SourceMessage};
use crate::store::{AckMessage, InsightEdit, OwnedChange, SavedInsight};
use anyhow::{Context, Result};
use slack_morphism::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::{info, warn};

/// callback_id of the message shortcut "Save as field insight".
pub const SAVE_MESSAGE_SHORTCUT: &str = "fieldnotes_save_message";
/// callback_id of the global shortcut "New field note".
pub const NEW_NOTE_SHORTCUT: &str = "fieldnotes_new_note";

fn err_text(e: &anyhow::Error) -> String {
    format!("{e:#}")
}

/// Builds a note from free text (a reply, a command, a saved message):
/// automatic tags from its words, and its tone.
fn free_text_note(
    state: &AppState,
    user: &str,
    source: Source,
    text: &str,
    dedupe_key: String,
) -> NewInsight {
    NewInsight {
        user_id: user.to_string(),
        source,
        auto_tags: state.tagger().tag(text),
        sentiment: Some(capture::tone(text)),
        text: text.to_string(),
        created_at_ms: state.now_ms(),
        dedupe_key: Some(dedupe_key),
        ..Default::default()
    }
}

// ---------------------------------------------------------------- forms

/// Opens the check-in form for a prompt's button. Only the rep the prompt
/// was sent to gets its questions; anyone else gets a plain note form.
pub async fn open_prompt_form(
    state: &AppState,
    user: &str,
    prompt_id: i64,
    trigger_id: &str,
) -> Result<()> {
    let cfg = state.config();
    // The trigger dies 3 s after the click. If the database doesn't answer
    // in time, the rep still gets a form: the plain note form, still linked
    // to this prompt (its owner is checked again on Save).
    let deadline = tokio::time::Instant::now() + OPEN_DB_BUDGET;
    let read = by(deadline, state.store.prompt(prompt_id)).await;
    let unread = read.is_err();
    let own = match read {
        Ok(p) => p.filter(|p| p.user_id == user),
        Err(e) => {
            warn!(error = %err_text(&e), user, prompt_id, "reading a prompt failed; opening the note form");
            None
        }
    };
    if own.is_none() && !unread {
        warn!(
            user,
            prompt_id, "a prompt button pressed by someone else, or gone"
        );
    }
    let (form, meta, intro) = match own
        .as_ref()
        .and_then(|p| cfg.checkin(&p.checkin).map(|c| (p, c)))
    {
        // Unread: the note form, still linked to this prompt (its owner is
        // checked again on Save).
        None if unread => (
            Form::note(&cfg),
            ModalMeta {
                prompt_id: Some(prompt_id),
                ..Default::default()
            },
            "What did you hear from buyers?".to_string(),
        ),
        Some((p, c)) => {
            let form = Form::checkin(&cfg, c, p.questions.as_deref());
            let meta = ModalMeta {
                prompt_id: Some(p.id),
                checkin: Some(c.name.clone()),
                questions: form.questions.iter().map(|q| q.id.clone()).collect(),
                ..Default::default()
            };
            (form, meta, p.question.clone())
        }
        None => (
            Form::note(&cfg),
            ModalMeta {
                source: Some(Source::Command),
                ..Default::default()
            },
            "What did you hear from buyers?".to_string(),
        ),
    };
    let view = views::form_modal(
        &cfg,
        &form,
        &meta,
        Some(&intro),
        &FormValues::new(),
        "Field notes",
        "Save",
    );
    state
        .slack
        .open_view(trigger_id, view)
        .await
        .with_context(|| format!("opening the form for prompt {prompt_id}"))?;
    Ok(())
}

/// Opens the free-note form (a `/fieldnotes note` without text, the global
/// shortcut, App Home's "New field note").
pub async fn open_note_form(state: &AppState, trigger_id: &str, source: Source) -> Result<()> {
    let cfg = state.config();
    let meta = ModalMeta {
        source: Some(source),
        ..Default::default()
    };
    let view = views::form_modal(
        &cfg,
        &Form::note(&cfg),
        &meta,
        Some("What did you hear from a buyer, prospect or customer? A few words in your own voice is plenty."),
        &FormValues::new(),
        "New field note",
        "Save",
    );
    state
        .slack
        .open_view(trigger_id, view)
        .await
        .context("opening the note form")?;
    Ok(())
}

/// Opens the form to edit (or add tags to) a note, pre-filled. Only its
/// owner may; anyone else is told so.
pub async fn open_edit_form(
    state: &Arc<AppState>,
    user: &str,
    insight_id: i64,
    trigger_id: &str,
    notice_channel: Option<&str>,
) -> Result<()> {
    let cfg = state.config();
    let ins = match state.store.insight(insight_id).await? {
        Some(i) if i.user_id == user => i,
        found => {
            let why = if found.is_some() {
                warn!(user, insight_id, "edit refused: not the note's owner");
                "Only the person who shared a note can edit it."
            } else {
                "That note was deleted."
            };
            notify(state, user, notice_channel, why).await;
            return Ok(());
        }
    };
    let form = Form::edit(&cfg, &ins);
    // The submit rebuilds the form from the stored note.
    let meta = ModalMeta {
        insight_id: Some(ins.id),
        ..Default::default()
    };
    let intro = match &ins.message {
        Some(m) if m.author_id.as_deref().is_some_and(|a| a != user) => format!(
            "Saved from <@{}>'s message. Add the fields and tags marketing counts.",
            m.author_id.as_deref().unwrap_or_default()
        ),
        _ => "Add the fields and tags marketing counts, or fix the text.".to_string(),
    };
    let view = views::form_modal(
        &cfg,
        &form,
        &meta,
        Some(&intro),
        &capture::prefill(&cfg, &form, &ins),
        &format!("Note #{}", ins.id),
        "Save",
    );
    state
        .slack
        .open_view(trigger_id, view)
        .await
        .with_context(|| format!("opening the edit form for note {insight_id}"))?;
    Ok(())
}

/// Tells a person something after the ack: ephemerally where they are,
/// else (in a DM, whose payload channel may not be theirs, or when the bot
/// can't post there) in their own DM with the bot.
async fn notify(state: &Arc<AppState>, user: &str, channel: Option<&str>, text: &str) {
    let (st, user, text) = (state.clone(), user.to_string(), text.to_string());
    let channel = channel.filter(|c| !c.starts_with('D')).map(String::from);
    let work = async move {
        let state = st;
        if let Some(c) = &channel {
            match state.slack.post_ephemeral(c, &user, &text).await {
                Ok(()) => return,
                Err(e) => warn!(error = %e, user, "an ephemeral notice failed; using the DM"),
            }
        }
        // Addressed to the user id, it lands in their DM with the bot.
        if let Err(e) = state.slack.post_message(&user, None, &text, vec![]).await {
            warn!(error = %e, user, "telling a person failed");
        }
    };
    state.background.run("notify a person", work).await;
}

fn errors(block: String, msg: &str) -> SlackInteractionResponse {
    let mut errs = HashMap::new();
    errs.insert(block, msg.to_string());
    SlackInteractionResponse::ViewSubmission(SlackViewSubmissionResponse::Errors(
        SlackViewSubmissionErrorsResponse::new(errs),
    ))
}

/// The block to hang a save error on: the form's first text input.
fn first_text_block(form: &Form) -> String {
    form.questions
        .iter()
        .find(|q| q.kind == crate::config::QuestionKind::Text)
        .or(form.questions.first())
        .map(capture::block_id)
        .unwrap_or_else(|| format!("{}note", views::QUESTION_PREFIX))
}

const NOTE_GONE: &str = "This note was deleted, so there is nothing to save.";
const NOT_OWNER: &str = "Only the person who shared this note can edit it.";
const NOT_OWNER_DELETE: &str = "Only the person who shared a note can delete it.";
const SAVE_FAILED: &str =
    "We couldn't save this just now. Your text is still here: press Save again in a moment.";

/// How long a form submit may wait on the database. Slack wants the
/// answer within 3 s; later, the rep sees a generic error instead of our
/// `SAVE_FAILED` next to their text. While the database refuses
/// connections (it is stopped or restarting) the pool retries for its whole
/// acquire timeout (10 s), so without this bound the answer came too late.
/// A save cut off at its COMMIT may still land: the rep's next Save is then
/// a no-op (the note's key is the view id).
const SUBMIT_DB_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// What opening a form may spend on the database before the trigger (3 s)
/// is at risk.
const OPEN_DB_BUDGET: std::time::Duration = std::time::Duration::from_millis(1500);

/// `f`, or an error once `deadline` passes.
async fn by<T>(
    deadline: tokio::time::Instant,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout_at(deadline, f)
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the database did not answer in time")))
}

/// A submitted note form: a new note or an edit. Answers with
/// `response_action: errors` (the form stays open with the rep's text)
/// when the input is incomplete or the database fails.
pub async fn on_submit(
    state: &Arc<AppState>,
    v: &SlackInteractionViewSubmissionEvent,
    mut meta: ModalMeta,
) -> Result<SlackInteractionResponse> {
    let deadline = tokio::time::Instant::now() + SUBMIT_DB_BUDGET;
    let user = v.user.id.to_string();
    let cfg = state.config();
    let values = serde_json::to_value(v.view.state_params.state.as_ref().map(|s| &s.values))
        .unwrap_or_default();
    let values = views::read_values(&values);
    if let Some((block, why)) = over_limits(&values) {
        warn!(user, "a form submission past Slack's input limits");
        return Ok(errors(block, &why));
    }
    if let Some(id) = meta.insight_id {
        return submit_edit(state, &user, id, &values, deadline).await;
    }
    let checkin = meta.checkin.as_deref().and_then(|c| cfg.checkin(c));
    let form = match checkin {
        Some(c) => Form::checkin(&cfg, c, Some(&meta.questions)),
        None => Form::note(&cfg),
    };
    if let Some(pid) = meta.prompt_id {
        // Only the rep the prompt went to may answer it.
        match by(deadline, state.store.prompt(pid)).await {
            Ok(Some(p)) if p.user_id == user => {}
            Ok(_) => {
                warn!(user, prompt = pid, "a form answering someone else's prompt");
                meta.prompt_id = None;
            }
            Err(e) => {
                warn!(error = %err_text(&e), user, "reading a prompt failed");
                return Ok(errors(first_text_block(&form), SAVE_FAILED));
            }
        }
    }
    let captured = match capture::read(&cfg, &form, &values) {
        Ok(c) => c,
        Err(e) => return Ok(errors(e.block_id, &e.message)),
    };
    let source = match (meta.prompt_id, meta.source) {
        (Some(_), _) | (None, None) => Source::Checkin,
        (None, Some(s)) => s,
    };
    let auto = capture::auto_tags(
        &state.tagger(),
        &cfg,
        &captured.text,
        &captured.answers,
        meta.checkin.as_deref(),
    );
    let Captured {
        answers,
        text,
        fields,
        tags,
    } = captured;
    let insight = NewInsight {
        user_id: user.clone(),
        source,
        prompt_id: meta.prompt_id,
        checkin: checkin.map(|c| c.name.clone()),
        sentiment: Some(capture::tone(&text)),
        answers,
        text,
        tags,
        auto_tags: auto,
        fields,
        created_at_ms: state.now_ms(),
        dedupe_key: Some(format!("view:{}", v.view.state_params.id.0)),
        message: None,
    };
    let saved = match by(deadline, state.store.save_insight(&insight)).await {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %err_text(&e), user, "saving a note from a form failed");
            return Ok(errors(first_text_block(&form), SAVE_FAILED));
        }
    };
    info!(
        user,
        insight = saved.id,
        source = source.as_str(),
        "note saved from a form"
    );
    if saved.new {
        let (st, from_prompt) = (state.clone(), meta.prompt_id.is_some());
        let work = async move {
            let confirm = if from_prompt {
                Confirm::UnlessPrompt
            } else {
                Confirm::Always
            };
            after_save(&st, &saved, None, confirm).await;
        };
        state.background.run("confirm a saved note", work).await;
    }
    Ok(SlackInteractionResponse::Empty)
}

async fn submit_edit(
    state: &Arc<AppState>,
    user: &str,
    id: i64,
    values: &FormValues,
    deadline: tokio::time::Instant,
) -> Result<SlackInteractionResponse> {
    let cfg = state.config();
    let ins = match by(deadline, state.store.insight(id)).await {
        Ok(Some(i)) => i,
        Ok(None) => return Ok(errors(first_block(values), NOTE_GONE)),
        Err(e) => {
            warn!(error = %err_text(&e), user, "reading a note to edit failed");
            return Ok(errors(first_block(values), SAVE_FAILED));
        }
    };
    // The form the note was edited in; the owner is checked with the write.
    let form = Form::edit(&cfg, &ins);
    let c = match capture::read(&cfg, &form, values) {
        Ok(c) => capture::merge_edit(&form, &ins, c),
        Err(e) => return Ok(errors(e.block_id, &e.message)),
    };
    let edit = InsightEdit {
        auto_tags: capture::auto_tags(
            &state.tagger(),
            &cfg,
            &c.text,
            &c.answers,
            ins.checkin.as_deref(),
        ),
        sentiment: Some(capture::tone(&c.text)),
        text: c.text,
        answers: c.answers,
        tags: c.tags,
        fields: c.fields,
    };
    match by(
        deadline,
        state.store.edit_insight(id, user, &edit, state.now_ms()),
    )
    .await
    {
        Ok(OwnedChange::Done(ins)) => {
            info!(user, insight = id, "note edited");
            let st = state.clone();
            let work = async move { refresh_ack(&st, &ins).await };
            state
                .background
                .run("refresh a note's confirmation", work)
                .await;
            Ok(SlackInteractionResponse::Empty)
        }
        Ok(OwnedChange::NotOwner) => {
            warn!(user, id, "edit refused: not the note's owner");
            Ok(errors(first_text_block(&form), NOT_OWNER))
        }
        Ok(OwnedChange::NotFound) => Ok(errors(first_text_block(&form), NOTE_GONE)),
        Err(e) => {
            warn!(error = %err_text(&e), user, "saving an edit failed");
            Ok(errors(first_text_block(&form), SAVE_FAILED))
        }
    }
}

/// A question block of a submitted form, for an error when the form
/// itself can't be rebuilt.
fn first_block(values: &FormValues) -> String {
    values
        .keys()
        .find(|k| k.starts_with(views::QUESTION_PREFIX))
        .cloned()
        .unwrap_or_else(|| format!("{}note", views::QUESTION_PREFIX))
}

/// Whether `after_save` posts a confirmation of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    Always,
    /// Only if no answered prompt's message could carry it.
    UnlessPrompt,
    Never,
}

/// After a new note is saved: thank every prompt it answered (their
/// messages get Edit / Delete), and, as `confirm` says, post a confirmation
/// in `thread` (a reply's thread) or the rep's DM.
async fn after_save(
    state: &AppState,
    saved: &SavedInsight,
    thread: Option<(&str, &str)>,
    confirm: Confirm,
) {
    let Ok(Some(ins)) = state.store.insight(saved.id).await else {
        return;
    };
    let cfg = state.config();
    let mut ack: Option<AckMessage> = None;
    for p in saved.answered.iter().filter(|p| p.sent) {
        let (Some(ch), Some(ts)) = (&p.channel_id, &p.message_ts) else {
            continue;
        };
        // Its reminders lose their button too: nothing left to nag about.
        if let Ok(rs) = state.store.sent_reminders(p.id).await {
            let (rt, rb) = views::reminder_answered(&p.question, ins.id);
            for (rch, rts) in rs {
                if let Err(e) = with_retries(3, || {
                    state.slack.update_message(&rch, &rts, &rt, rb.clone())
                })
                .await
                {
                    warn!(error = %e, prompt = p.id, "updating an answered reminder failed");
                }
            }
        }
        let (text, blocks) = views::prompt_answered(&cfg, &p.question, &ins);
        match with_retries(5, || {
            state.slack.update_message(ch, ts, &text, blocks.clone())
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
            state
                .slack
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
        if let Err(e) = state.store.set_ack(ins.id, &a).await {
            warn!(error = %err_text(&e), "recording a confirmation failed");
        }
    }
}

/// Brings a note's confirmation message in line after an edit.
async fn refresh_ack(state: &AppState, ins: &Insight) {
    let cfg = state.config();
    let Ok(Some(a)) = state.store.ack_message(ins.id).await else {
        return;
    };
    let (text, blocks) = match ins.prompt_id {
        Some(pid) => match state.store.prompt(pid).await {
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
        state
            .slack
            .update_message(&a.channel, &a.ts, &text, blocks.clone())
    })
    .await
    {
        warn!(error = %e, insight = ins.id, "updating a note's confirmation failed");
    }
}

/// Asks the owner to confirm a delete chosen from App Home's menu.
pub async fn confirm_delete(
    state: &Arc<AppState>,
    user: &str,
    id: i64,
    trigger_id: &str,
) -> Result<()> {
    match state.store.insight(id).await? {
        Some(ins) if ins.user_id == user => {
            state
                .slack
                .open_view(trigger_id, views::confirm_delete(&ins))
                .await
                .context("opening the delete confirmation")?;
        }
        Some(_) => {
            warn!(user, insight = id, "delete refused: not the note's owner");
            notify(state, user, None, NOT_OWNER_DELETE).await;
        }
        None => {}
    }
    Ok(())
}

/// Deletes a note (softly; retention purges it) if `user` owns it, and
/// turns its confirmation into "deleted".
pub async fn delete(
    state: &Arc<AppState>,
    user: &str,
    id: i64,
    notice_channel: Option<&str>,
) -> Result<bool> {
    match state.store.delete_insight(id, user, state.now_ms()).await? {
        OwnedChange::Done(_) => {
            info!(user, insight = id, "note deleted");
            if let Ok(Some(a)) = state.store.ack_message(id).await {
                let (text, blocks) = views::note_deleted(id);
                if let Err(e) = with_retries(3, || {
                    state
                        .slack
                        .update_message(&a.channel, &a.ts, &text, blocks.clone())
                })
                .await
                {
                    warn!(error = %e, insight = id, "updating a deleted note's confirmation failed");
                }
            }
            Ok(true)
        }
        OwnedChange::NotOwner => {
            warn!(user, insight = id, "delete refused: not the note's owner");
            notify(state, user, notice_channel, NOT_OWNER_DELETE).await;
            Ok(false)
        }
        OwnedChange::NotFound => Ok(false),
    }
}

// ---------------------------------------------------------------- free text paths

/// `/fieldnotes note <text>`: saved at once, tagged from its words. The
/// returned text is the ephemeral reply.
pub async fn save_command_note(
    state: &Arc<AppState>,
    user: &str,
    body: &str,
    trigger_id: &str,
) -> (String, Vec<SlackBlock>) {
    let insight = free_text_note(
        state,
        user,
        Source::Command,
        body,
        format!("command:{trigger_id}"),
    );
    match state.store.save_insight(&insight).await {
        Ok(saved) => {
            info!(user, insight = saved.id, "note saved from /fieldnotes note");
            let ins = state.store.insight(saved.id).await.ok().flatten();
            let id = saved.id;
            if saved.new {
                let st = state.clone();
                // The ephemeral reply is the confirmation.
                let work = async move { after_save(&st, &saved, None, Confirm::Never).await };
                state.background.run("answer open prompts", work).await;
            }
            match ins {
                Some(ins) => views::note_saved(
                    &state.config(),
                    &ins,
                    ":white_check_mark: Saved. Thank you!",
                ),
                None => (
                    format!(":white_check_mark: Saved as note #{id}. Thank you!"),
                    vec![],
                ),
            }
        }
        Err(e) => {
            warn!(error = %err_text(&e), user, "saving a /fieldnotes note failed");
            (
                format!(
                    ":warning: We couldn't save that note just now, so here it is to send again:\n>{}",
                    body.replace('\n', "\n>")
                ),
                vec![],
            )
        }
    }
}

/// A submitted form whose values Slack's inputs could not have produced
/// (past `max_length`, more options than a select holds, more blocks than a
/// modal holds): the block to flag, and why.
fn over_limits(values: &FormValues) -> Option<(String, String)> {
    if values.len() > 100 {
        let block = values.keys().min().cloned().unwrap_or_default();
        return Some((block, "This form has more fields than Slack allows.".into()));
    }
    for (block, vals) in values {
        if vals.len() > 100 {
            return Some((block.clone(), "Pick at most 100 options.".into()));
        }
        if let Some(v) = vals
            .iter()
            .find(|v| !limits::within_chars(v, limits::MAX_INPUT_CHARS))
        {
            return Some((
                block.clone(),
                format!(
                    "Keep this under {} characters (it has {}).",
                    limits::thousands(limits::MAX_INPUT_CHARS),
                    limits::thousands(v.chars().count())
                ),
            ));
        }
    }
    None
}

/// A message in a DM with the bot. A rep's plain message (or a reply in a
/// prompt's thread) is a note, linked to the prompt it answers; an edit of
/// that message edits the note, and deleting it deletes the note.
/// A DM event, handled from the inbox. `received_ms` is when the bot
/// committed it (the ack): the note is dated then, and answers the prompt
/// that was open then, however long the event waited in the inbox.
pub async fn on_dm_message(
    state: &Arc<AppState>,
    m: &SlackMessageEvent,
    received_ms: i64,
) -> Result<()> {
    dm_message(state, m, received_ms).await
}

/// Tells a rep their DM could not be saved (the inbox gave up on it), with
/// their words quoted back in its thread.
pub async fn reply_not_saved(state: &Arc<AppState>, m: &SlackMessageEvent) {
    let plain = m.subtype.is_none() && m.sender.bot_id.is_none();
    let text = m
        .content
        .as_ref()
        .and_then(|c| c.text.clone())
        .unwrap_or_default();
    let channel = m.origin.channel.as_ref().map(|c| c.to_string());
    let (true, Some(channel), false) = (plain, channel, text.trim().is_empty()) else {
        return;
    };
    let ts = m.origin.ts.to_string();
    let msg = format!(
        ":warning: We couldn't save that as a note. Here it is, to send again in a moment:\n>{}",
        text.trim().replace('\n', "\n>")
    );
    if let Err(e) = with_retries(3, || {
        state.slack.post_message(&channel, Some(&ts), &msg, vec![])
    })
    .await
    {
        warn!(error = %e, "telling a rep their reply was not saved failed");
    }
}

async fn dm_message(state: &Arc<AppState>, m: &SlackMessageEvent, received_ms: i64) -> Result<()> {
    let Some(channel) = m.origin.channel.as_ref().map(|c| c.to_string()) else {
        return Ok(());
    };
    if m.origin.channel_type.as_ref().map(|t| t.0.as_str()) != Some("im") {
        return Ok(());
    }
    match &m.subtype {
        None
        | Some(SlackMessageEventType::FileShare)
        | Some(SlackMessageEventType::ThreadBroadcast) => {}
        Some(SlackMessageEventType::MessageChanged) => {
            return on_dm_edited(state, &channel, m).await
        }
        Some(SlackMessageEventType::MessageDeleted) => {
            return on_dm_deleted(state, &channel, m).await
        }
        Some(_) => return Ok(()),
    }
    let Some(user) = m.sender.user.as_ref().map(|u| u.to_string()) else {
        return Ok(());
    };
    if m.sender.bot_id.is_some() || user == state.bot_user_id {
        return Ok(());
    }
    if !limits::is_slack_id(&user) || !limits::is_token(&m.origin.ts.0) {
        warn!("a DM event whose user id or ts Slack could not have sent");
        return Ok(());
    }
    let text = m
        .content
        .as_ref()
        .and_then(|c| c.text.clone())
        .unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return Ok(());
    }
    if !limits::within_chars(text, limits::MAX_MESSAGE_CHARS) {
        warn!(user, "a DM longer than Slack allows; not saved");
        return Ok(());
    }
    if capture::is_chitchat(text) {
        info!(user, "a pleasantry in the DM, not a note");
        return Ok(());
    }
    let ts = m.origin.ts.to_string();
    let thread = m.origin.thread_ts.as_ref().map(|t| t.to_string());
    let prompt_id = state
        .store
        .prompt_for_reply(&user, &channel, thread.as_deref(), received_ms)
        .await?;
    let checkin = match prompt_id {
        Some(p) => state.store.prompt(p).await?.map(|p| p.checkin),
        None => None,
    };
    let mut insight = free_text_note(
        state,
        &user,
        Source::Reply,
        text,
        format!("msg:{channel}:{ts}"),
    );
    insight.created_at_ms = received_ms;
    insight.prompt_id = prompt_id;
    insight.checkin = checkin;
    insight.message = Some(SourceMessage {
        channel_id: channel.clone(),
        ts: ts.clone(),
        author_id: Some(user.clone()),
        permalink: None,
    });
    let saved = state
        .store
        .save_insight(&insight)
        .await
        .context("saving a DM reply")?;
    info!(user, insight = saved.id, prompt = ?prompt_id, new = saved.new, "DM reply saved as a note");
    if saved.new {
        // Already after the ack (the inbox worker), so no spawn.
        let thread_ts = thread.unwrap_or(ts);
        after_save(state, &saved, Some((&channel, &thread_ts)), Confirm::Always).await;
    }
    Ok(())
}

async fn on_dm_edited(state: &Arc<AppState>, channel: &str, m: &SlackMessageEvent) -> Result<()> {
    let Some(new) = &m.message else { return Ok(()) };
    let Some(user) = new.sender.user.as_ref().map(|u| u.to_string()) else {
        return Ok(());
    };
    let Some(ins) = state
        .store
        .insight_by_message(channel, new.ts.as_ref())
        .await?
    else {
        return Ok(());
    };
    // Only a real edit of the message counts (Slack also sends
    // message_changed when a thread reply lands under it), and only while
    // the note still says what the message said: a note edited in the form
    // is the rep's later word.
    if new.edited.is_none() {
        return Ok(());
    }
    let before = m
        .previous_message
        .as_ref()
        .and_then(|p| p.content.as_ref())
        .and_then(|c| c.text.clone())
        .unwrap_or_default();
    let text = new
        .content
        .as_ref()
        .and_then(|c| c.text.clone())
        .unwrap_or_default();
    let text = text.trim();
    if !limits::within_chars(text, limits::MAX_MESSAGE_CHARS) {
        warn!(
            user,
            "an edited DM longer than Slack allows; the note keeps its text"
        );
        return Ok(());
    }
    if text.is_empty() || text == ins.text || before.trim() != ins.text {
        return Ok(());
    }
    let cfg = state.config();
    let edit = InsightEdit {
        auto_tags: capture::auto_tags(&state.tagger(), &cfg, text, &[], None),
        sentiment: Some(capture::tone(text)),
        text: text.to_string(),
        answers: vec![],
        tags: ins.tags.clone(),
        fields: ins.fields.clone(),
    };
    if let OwnedChange::Done(ins) = state
        .store
        .edit_insight(ins.id, &user, &edit, state.now_ms())
        .await?
    {
        info!(user, insight = ins.id, "note edited with its DM message");
        refresh_ack(state, &ins).await;
    }
    Ok(())
}

async fn on_dm_deleted(state: &Arc<AppState>, channel: &str, m: &SlackMessageEvent) -> Result<()> {
    let Some(ts) = m
        .deleted_ts
        .as_ref()
        .or(m.previous_message.as_ref().map(|p| &p.ts))
    else {
        return Ok(());
    };
    let Some(ins) = state.store.insight_by_message(channel, ts.as_ref()).await? else {
        return Ok(());
    };
    // Only the author can delete their own DM message, so its owner is known.
    let owner = ins.user_id.clone();
    delete(state, &owner, ins.id, None).await?;
    Ok(())
}

/// "Save as field insight" on any message: saves its text, author, channel
/// and (after the ack) permalink, then opens the note pre-filled for fields
/// and tags.
pub async fn on_message_shortcut(
    state: &Arc<AppState>,
    ev: &SlackInteractionMessageActionEvent,
) -> Result<()> {
    let user = ev.user.id.to_string();
    let channel = ev.channel.as_ref().map(|c| c.id.to_string());
    let Some(msg) = &ev.message else {
        return Ok(());
    };
    let text = msg.content.text.clone().unwrap_or_default();
    let text = text.trim();
    let Some(channel) = channel else {
        return Ok(());
    };
    if !limits::within_chars(text, limits::MAX_MESSAGE_CHARS) {
        notify(
            state,
            &user,
            Some(&channel),
            "That message is longer than Slack allows, so it wasn't saved.",
        )
        .await;
        return Ok(());
    }
    if text.is_empty() {
        notify(
            state,
            &user,
            Some(&channel),
            "That message has no text to save. Use `/fieldnotes note` to write what you heard.",
        )
        .await;
        return Ok(());
    }
    let ts = msg.origin.ts.to_string();
    let mut insight = free_text_note(
        state,
        &user,
        Source::Shortcut,
        text,
        format!("shortcut:{user}:{channel}:{ts}"),
    );
    insight.message = Some(SourceMessage {
        channel_id: channel.clone(),
        ts: ts.clone(),
        author_id: msg.sender.user.as_ref().map(|u| u.to_string()),
        permalink: None,
    });
    // Within the trigger's 3 s, so the form can still open after it.
    let deadline = tokio::time::Instant::now() + OPEN_DB_BUDGET;
    let saved = match by(deadline, state.store.save_insight(&insight)).await {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %err_text(&e), user, "saving a shortcut note failed");
            notify(state, &user, Some(&channel), ":warning: We couldn't save that message just now; try the shortcut again in a moment.").await;
            return Ok(());
        }
    };
    info!(
        user,
        insight = saved.id,
        new = saved.new,
        "message saved by shortcut"
    );
    // The trigger expires 3 s after the click: the form opens before anything slow.
    if let Err(e) = open_edit_form(state, &user, saved.id, &ev.trigger_id.0, Some(&channel)).await {
        warn!(error = %err_text(&e), "opening the form after a shortcut failed; the note is saved");
    }
    let st = state.clone();
    let work = async move {
        let state = st;
        match with_retries(3, || state.slack.permalink(&channel, &ts)).await {
            Ok(link) => {
                if let Err(e) = state.store.set_permalink(saved.id, &link).await {
                    warn!(error = %err_text(&e), "storing a permalink failed");
                }
            }
            Err(e) => warn!(error = %e, "chat.getPermalink failed"),
        }
        if saved.new {
            after_save(&state, &saved, None, Confirm::Always).await;
        }
    };
    state.background.run("fetch a permalink", work).await;
    Ok(())
}

/// Type-ahead for a select with more than 100 options.
pub fn on_suggestion(
    state: &AppState,
    ev: &SlackInteractionBlockSuggestionEvent,
) -> SlackInteractionResponse {
    let vocabulary = ev
        .action_id
        .0
        .strip_prefix(views::EXTERNAL_PREFIX)
        .unwrap_or_default();
    let cfg = state.config();
    // The free tag picker offers the form's own tags, not the whole taxonomy.
    let allowed: Option<Vec<String>> = (vocabulary == "tags").then(|| {
        let meta = ev.view.as_ref().map(ModalMeta::of).unwrap_or_default();
        match meta.checkin.as_deref().and_then(|c| cfg.checkin(c)) {
            Some(c) => Form::checkin(&cfg, c, Some(&meta.questions)).tags,
            None => Form::note(&cfg).tags,
        }
    });
    let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> =
        views::suggestions(&cfg, vocabulary, &ev.value, allowed.as_deref())
            .into_iter()
            .map(|(value, label)| {
                SlackBlockChoiceItem::new(SlackBlockPlainTextOnly::from(label), value)
            })
            .collect();
    SlackInteractionResponse::BlockSuggestion(SlackBlockSuggestionResponse::Options(
        SlackBlockSuggestionOptions::new(options),
    ))
}
