//! How a note is saved, edited and deleted, whatever way it came in: the
//! check-in form, a DM reply, `/fieldnotes note`, a saved message, App
//! Home. Each function checks ownership, picks the source, tags, scores
//! and saves in one place, and returns what happened; the Slack side
//! (`slack::notes`) opens the forms, and posts confirmations after the ack.

use super::error::UserError;
use crate::capture::{self, Captured, Form, FormValues};
use crate::context::Context;
use crate::domain::{Insight, NewInsight, Source, SourceMessage};
use crate::store::{AckMessage, InsightEdit, OwnedChange, SavedInsight};
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::future::Future;
use tracing::{info, warn};

/// What a note form carries between open and submit (Slack keeps it in
/// the modal's private_metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkin: Option<String>,
    /// The check-in questions the form shows (its run's pick).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<String>,
    /// The note this form edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insight_id: Option<i64>,
    /// How a new note without a prompt came in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// Why a note wasn't saved, changed or shown, as the person should hear it.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// An answer the form can't take; `block` is the input to flag.
    #[error("{message}")]
    Invalid { block: String, message: String },
    #[error("This note was deleted, so there is nothing to save.")]
    Gone,
    #[error("Only the person who shared this note can edit it.")]
    NotOwner,
    #[error("Only the person who shared a note can delete it.")]
    NotOwnerDelete,
    /// The database failed: nothing was saved, and the form keeps the text.
    #[error(
        "We couldn't save this just now. Your text is still here: press Save again in a moment."
    )]
    NotSaved(#[source] anyhow::Error),
}

impl UserError for NoteError {
    fn internal(&self) -> Option<&anyhow::Error> {
        match self {
            NoteError::NotSaved(e) => Some(e),
            _ => None,
        }
    }
}

/// How long a form submit may wait on the database. Slack wants the
/// answer within 3 s; later, the rep sees a generic error instead of our
/// `NotSaved` next to their text. While the database refuses connections
/// (it is stopped or restarting) the pool retries for its whole acquire
/// timeout (10 s), so without this bound the answer came too late. A save
/// cut off at its COMMIT may still land: the rep's next Save is then a
/// no-op (the note's key is the view id).
pub const SUBMIT_DB_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// What opening a form may spend on the database before the trigger (3 s)
/// is at risk.
pub const OPEN_DB_BUDGET: std::time::Duration = std::time::Duration::from_millis(1500);

/// `f`, or an error once `deadline` passes.
pub async fn by<T>(
    deadline: tokio::time::Instant,
    f: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout_at(deadline, f)
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the database did not answer in time")))
}

/// A form to open: its questions, what it carries, and its words.
#[derive(Debug, Clone)]
pub struct FormToOpen {
    pub form: Form,
    pub meta: FormMeta,
    pub intro: String,
    pub title: String,
    pub values: FormValues,
}

const NOTE_INTRO: &str = "What did you hear from buyers?";

/// The form for a prompt's button. Only the rep the prompt was sent to
/// gets its questions; anyone else gets a plain note form. If the database
/// doesn't answer in time the rep still gets a form: the plain note form,
/// still linked to this prompt (its owner is checked again on Save).
pub async fn prompt_form(ctx: &Context, user: &str, prompt_id: i64) -> FormToOpen {
    let cfg = ctx.config();
    let deadline = tokio::time::Instant::now() + OPEN_DB_BUDGET;
    let read = by(deadline, ctx.store.prompt(prompt_id)).await;
    let unread = read.is_err();
    let own = match read {
        Ok(p) => p.filter(|p| p.user_id == user),
        Err(e) => {
            warn!(error = %format!("{e:#}"), user, prompt_id, "reading a prompt failed; opening the note form");
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
        None if unread => (
            Form::note(&cfg),
            FormMeta {
                prompt_id: Some(prompt_id),
                ..Default::default()
            },
            NOTE_INTRO.to_string(),
        ),
        Some((p, c)) => {
            let form = Form::checkin(&cfg, c, p.questions.as_deref());
            let meta = FormMeta {
                prompt_id: Some(p.id),
                checkin: Some(c.name.clone()),
                questions: form.questions.iter().map(|q| q.id.clone()).collect(),
                ..Default::default()
            };
            (form, meta, p.question.clone())
        }
        None => (
            Form::note(&cfg),
            FormMeta {
                source: Some(Source::Command),
                ..Default::default()
            },
            NOTE_INTRO.to_string(),
        ),
    };
    FormToOpen {
        form,
        meta,
        intro,
        title: "Field notes".into(),
        values: FormValues::new(),
    }
}

/// The free-note form (a `/fieldnotes note` without text, the global
/// shortcut, App Home's "New field note").
pub fn note_form(ctx: &Context, source: Source) -> FormToOpen {
    FormToOpen {
        form: Form::note(&ctx.config()),
        meta: FormMeta {
            source: Some(source),
            ..Default::default()
        },
        intro: "What did you hear from a buyer, prospect or customer? A few words in your own voice is plenty.".into(),
        title: "New field note".into(),
        values: FormValues::new(),
    }
}

/// The form to edit (or add tags to) a note, pre-filled. Only its owner
/// may open it.
pub async fn edit_form(
    ctx: &Context,
    user: &str,
    insight_id: i64,
) -> Result<FormToOpen, NoteError> {
    let cfg = ctx.config();
    let ins = match ctx.store.insight(insight_id).await {
        Ok(Some(i)) if i.user_id == user => i,
        Ok(Some(_)) => {
            warn!(user, insight_id, "edit refused: not the note's owner");
            return Err(NoteError::NotOwner);
        }
        Ok(None) => return Err(NoteError::Gone),
        Err(e) => return Err(NoteError::NotSaved(e.context("reading a note to edit"))),
    };
    let form = Form::edit(&cfg, &ins);
    let intro = match &ins.message {
        Some(m) if m.author_id.as_deref().is_some_and(|a| a != user) => format!(
            "Saved from <@{}>'s message. Add the fields and tags marketing counts.",
            m.author_id.as_deref().unwrap_or_default()
        ),
        _ => "Add the fields and tags marketing counts, or fix the text.".to_string(),
    };
    let values = capture::prefill(&cfg, &form, &ins);
    Ok(FormToOpen {
        // The submit rebuilds the form from the stored note.
        meta: FormMeta {
            insight_id: Some(ins.id),
            ..Default::default()
        },
        form,
        intro,
        title: format!("Note #{}", ins.id),
        values,
    })
}

/// A submitted note form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub user: String,
    /// The modal's id: a resubmitted form saves once.
    pub view_id: String,
    pub meta: FormMeta,
    pub values: FormValues,
}

/// What a submitted form did.
#[derive(Debug)]
pub enum Submitted {
    /// A new note (or, with `saved.new` false, a resubmission of one).
    Saved {
        saved: SavedInsight,
        /// It answered the prompt whose form it was.
        from_prompt: bool,
    },
    Edited(Box<Insight>),
}

/// The block to hang a save error on: the form's first text input.
fn first_text_block(form: &Form) -> String {
    form.questions
        .iter()
        .find(|q| q.kind == crate::config::QuestionKind::Text)
        .or(form.questions.first())
        .map(capture::block_id)
        .unwrap_or_else(|| format!("{}note", capture::QUESTION_PREFIX))
}

/// A question block of a submitted form, for an error when the form
/// itself can't be rebuilt.
fn first_block(values: &FormValues) -> String {
    values
        .keys()
        .find(|k| k.starts_with(capture::QUESTION_PREFIX))
        .cloned()
        .unwrap_or_else(|| format!("{}note", capture::QUESTION_PREFIX))
}

/// Where a failure shows on the form: beside `block`.
#[derive(Debug)]
pub struct FormError {
    pub block: String,
    pub error: NoteError,
}

fn on(block: String) -> impl FnOnce(NoteError) -> FormError {
    move |error| match error {
        NoteError::Invalid { block, message } => FormError {
            block: block.clone(),
            error: NoteError::Invalid { block, message },
        },
        error => FormError { block, error },
    }
}

/// Saves a submitted form: a new note or an edit. An error names the block
/// to flag, so the form stays open with the rep's text.
pub async fn submit(ctx: &Context, s: Submission) -> Result<Submitted, FormError> {
    let deadline = tokio::time::Instant::now() + SUBMIT_DB_BUDGET;
    if let Some(id) = s.meta.insight_id {
        return submit_edit(ctx, &s.user, id, &s.values, deadline).await;
    }
    let Submission {
        user,
        view_id,
        mut meta,
        values,
    } = s;
    let snap = ctx.snapshot();
    let cfg = &snap.config;
    let checkin = meta.checkin.as_deref().and_then(|c| cfg.checkin(c));
    let form = match checkin {
        Some(c) => Form::checkin(cfg, c, Some(&meta.questions)),
        None => Form::note(cfg),
    };
    let block = first_text_block(&form);
    if let Some(pid) = meta.prompt_id {
        // Only the rep the prompt went to may answer it.
        match by(deadline, ctx.store.prompt(pid)).await {
            Ok(Some(p)) if p.user_id == user => {}
            Ok(_) => {
                warn!(user, prompt = pid, "a form answering someone else's prompt");
                meta.prompt_id = None;
            }
            Err(e) => {
                return Err(on(block)(NoteError::NotSaved(
                    e.context("reading the prompt a form answers"),
                )))
            }
        }
    }
    let captured = capture::read(cfg, &form, &values).map_err(|e| {
        on(block.clone())(NoteError::Invalid {
            block: e.block_id,
            message: e.message,
        })
    })?;
    let source = match (meta.prompt_id, meta.source) {
        (Some(_), _) | (None, None) => Source::Checkin,
        (None, Some(s)) => s,
    };
    let auto = capture::auto_tags(
        &snap.tagger,
        cfg,
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
        created_at_ms: ctx.now_ms(),
        dedupe_key: Some(format!("view:{view_id}")),
        message: None,
        follow_up: None,
    };
    let saved = by(deadline, ctx.store.save_insight(&insight))
        .await
        .map_err(|e| on(block)(NoteError::NotSaved(e.context("saving a note from a form"))))?;
    info!(
        user,
        insight = saved.id,
        source = source.as_str(),
        "note saved from a form"
    );
    Ok(Submitted::Saved {
        saved,
        from_prompt: meta.prompt_id.is_some(),
    })
}

async fn submit_edit(
    ctx: &Context,
    user: &str,
    id: i64,
    values: &FormValues,
    deadline: tokio::time::Instant,
) -> Result<Submitted, FormError> {
    let snap = ctx.snapshot();
    let cfg = &snap.config;
    let ins = match by(deadline, ctx.store.insight(id)).await {
        Ok(Some(i)) => i,
        Ok(None) => return Err(on(first_block(values))(NoteError::Gone)),
        Err(e) => {
            return Err(on(first_block(values))(NoteError::NotSaved(
                e.context("reading a note to edit"),
            )))
        }
    };
    // The form the note was edited in; the owner is checked with the write.
    let form = Form::edit(cfg, &ins);
    let block = first_text_block(&form);
    let c = match capture::read(cfg, &form, values) {
        Ok(c) => capture::merge_edit(&form, &ins, c),
        Err(e) => {
            return Err(on(block)(NoteError::Invalid {
                block: e.block_id,
                message: e.message,
            }))
        }
    };
    let edit = InsightEdit {
        auto_tags: capture::auto_tags(
            &snap.tagger,
            cfg,
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
        ctx.store.edit_insight(id, user, &edit, ctx.now_ms()),
    )
    .await
    {
        Ok(OwnedChange::Done(ins)) => {
            info!(user, insight = id, "note edited");
            Ok(Submitted::Edited(ins))
        }
        Ok(OwnedChange::NotOwner) => {
            warn!(user, id, "edit refused: not the note's owner");
            Err(on(block)(NoteError::NotOwner))
        }
        Ok(OwnedChange::NotFound) => Err(on(block)(NoteError::Gone)),
        Err(e) => Err(on(block)(NoteError::NotSaved(e.context("saving an edit")))),
    }
}

/// Builds a note from free text (a reply, a command, a saved message):
/// automatic tags from its words, and its tone.
pub(crate) fn free_text_note(
    ctx: &Context,
    user: &str,
    source: Source,
    text: &str,
    dedupe_key: String,
) -> NewInsight {
    NewInsight {
        user_id: user.to_string(),
        source,
        auto_tags: ctx.tagger().tag(text),
        sentiment: Some(capture::tone(text)),
        text: text.to_string(),
        created_at_ms: ctx.now_ms(),
        dedupe_key: Some(dedupe_key),
        ..Default::default()
    }
}

/// A note saved from free text, with the note as stored (for its
/// confirmation) when it could be read back.
#[derive(Debug)]
pub struct SavedNote {
    pub saved: SavedInsight,
    pub note: Option<Insight>,
}

/// Why free text wasn't saved, as the person should hear it.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The database failed; the person's words go back to them.
    #[error("We couldn't save that note just now, so here it is to send again:\n>{}", .text.replace('\n', "\n>"))]
    NotSaved {
        text: String,
        #[source]
        cause: anyhow::Error,
    },
}

impl UserError for SaveError {
    fn internal(&self) -> Option<&anyhow::Error> {
        match self {
            SaveError::NotSaved { cause, .. } => Some(cause),
        }
    }
}

/// `/fieldnotes note <text>`: saved at once, tagged from its words, keyed
/// on the command's trigger (a retry saves once).
pub async fn save_command(
    ctx: &Context,
    user: &str,
    text: &str,
    trigger_id: &str,
) -> Result<SavedNote, SaveError> {
    let insight = free_text_note(
        ctx,
        user,
        Source::Command,
        text,
        format!("command:{trigger_id}"),
    );
    match ctx.store.save_insight(&insight).await {
        Ok(saved) => {
            info!(user, insight = saved.id, "note saved from /fieldnotes note");
            let note = ctx.store.insight(saved.id).await.ok().flatten();
            Ok(SavedNote { saved, note })
        }
        Err(e) => Err(SaveError::NotSaved {
            text: text.to_string(),
            cause: e.context("saving a /fieldnotes note"),
        }),
    }
}

/// A rep's message in their DM with the bot (a reply, or one in a prompt's
/// thread), as the inbox committed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmReply {
    pub user: String,
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    /// When the bot committed the event (the ack): the note is dated then,
    /// and answers the prompt that was open then, however long it waited.
    pub received_ms: i64,
}

/// Saves a DM reply as a note, linked to the prompt it answers. `None`
/// when it is not a note (empty, a pleasantry).
pub async fn save_reply(ctx: &Context, m: &DmReply) -> Result<Option<SavedInsight>> {
    let text = m.text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if capture::is_chitchat(text) {
        info!(user = m.user, "a pleasantry in the DM, not a note");
        return Ok(None);
    }
    let prompt_id = ctx
        .store
        .prompt_for_reply(&m.user, &m.channel, m.thread_ts.as_deref(), m.received_ms)
        .await?;
    let checkin = match prompt_id {
        Some(p) => ctx.store.prompt(p).await?.map(|p| p.checkin),
        None => None,
    };
    let mut insight = free_text_note(
        ctx,
        &m.user,
        Source::Reply,
        text,
        format!("msg:{}:{}", m.channel, m.ts),
    );
    insight.created_at_ms = m.received_ms;
    insight.prompt_id = prompt_id;
    insight.checkin = checkin;
    insight.message = Some(SourceMessage {
        channel_id: m.channel.clone(),
        ts: m.ts.clone(),
        author_id: Some(m.user.clone()),
        permalink: None,
    });
    let saved = ctx
        .store
        .save_insight(&insight)
        .await
        .context("saving a DM reply")?;
    info!(user = m.user, insight = saved.id, prompt = ?prompt_id, new = saved.new, "DM reply saved as a note");
    Ok(Some(saved))
}

/// A rep edited a DM message that may be a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmEdit {
    pub user: String,
    pub channel: String,
    pub ts: String,
    /// The message's text before the edit.
    pub before: String,
    pub text: String,
}

/// Edits the note a DM message became, while the note still says what the
/// message said (a note edited in the form is the rep's later word). The
/// edited note, if any.
pub async fn edit_from_dm(ctx: &Context, e: &DmEdit) -> Result<Option<Insight>> {
    let Some(ins) = ctx.store.insight_by_message(&e.channel, &e.ts).await? else {
        return Ok(None);
    };
    let text = e.text.trim();
    if text.is_empty() || text == ins.text || e.before.trim() != ins.text {
        return Ok(None);
    }
    let snap = ctx.snapshot();
    let edit = InsightEdit {
        auto_tags: capture::auto_tags(&snap.tagger, &snap.config, text, &[], None),
        sentiment: Some(capture::tone(text)),
        text: text.to_string(),
        answers: vec![],
        tags: ins.tags.clone(),
        fields: ins.fields.clone(),
    };
    match ctx
        .store
        .edit_insight(ins.id, &e.user, &edit, ctx.now_ms())
        .await?
    {
        OwnedChange::Done(ins) => {
            info!(
                user = e.user,
                insight = ins.id,
                "note edited with its DM message"
            );
            Ok(Some(*ins))
        }
        _ => Ok(None),
    }
}

/// A deleted note, and where its confirmation is (to mark it deleted).
#[derive(Debug)]
pub struct Deleted {
    pub id: i64,
    pub ack: Option<AckMessage>,
}

/// Deletes a note (softly; retention purges it) if `user` owns it.
/// `Ok(None)`: there was no such note.
pub async fn delete(ctx: &Context, user: &str, id: i64) -> Result<Option<Deleted>, NoteError> {
    match ctx.store.delete_insight(id, user, ctx.now_ms()).await {
        Ok(OwnedChange::Done(_)) => {
            info!(user, insight = id, "note deleted");
            let ack = ctx.store.ack_message(id).await.ok().flatten();
            Ok(Some(Deleted { id, ack }))
        }
        Ok(OwnedChange::NotOwner) => {
            warn!(user, insight = id, "delete refused: not the note's owner");
            Err(NoteError::NotOwnerDelete)
        }
        Ok(OwnedChange::NotFound) => Ok(None),
        Err(e) => Err(NoteError::NotSaved(e.context("deleting a note"))),
    }
}

/// The note a deleted DM message became, deleted too (only its author can
/// delete a DM message, so the owner is known).
pub async fn delete_from_dm(ctx: &Context, channel: &str, ts: &str) -> Result<Option<Deleted>> {
    let Some(ins) = ctx.store.insight_by_message(channel, ts).await? else {
        return Ok(None);
    };
    match delete(ctx, &ins.user_id.clone(), ins.id).await {
        Ok(d) => Ok(d),
        Err(NoteError::NotSaved(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

/// Whether the note at `id` may be deleted by `user` (for the
/// confirmation App Home's menu asks first). `Ok(None)`: no such note.
pub async fn deletable(ctx: &Context, user: &str, id: i64) -> Result<Option<Insight>, NoteError> {
    match ctx.store.insight(id).await {
        Ok(Some(ins)) if ins.user_id == user => Ok(Some(ins)),
        Ok(Some(_)) => {
            warn!(user, insight = id, "delete refused: not the note's owner");
            Err(NoteError::NotOwnerDelete)
        }
        Ok(None) => Ok(None),
        Err(e) => Err(NoteError::NotSaved(e.context("reading a note to delete"))),
    }
}

/// A message someone chose to save ("Save as field insight").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedMessage {
    pub user: String,
    pub channel: String,
    pub ts: String,
    pub author: Option<String>,
    pub text: String,
}

/// Why a message wasn't saved, as the person should hear it.
#[derive(Debug, thiserror::Error)]
pub enum ShortcutError {
    #[error("That message has no text to save. Use `/fieldnotes note` to write what you heard.")]
    Empty,
    #[error("We couldn't save that message just now; try the shortcut again in a moment.")]
    NotSaved(#[source] anyhow::Error),
}

impl UserError for ShortcutError {
    fn internal(&self) -> Option<&anyhow::Error> {
        match self {
            ShortcutError::NotSaved(e) => Some(e),
            ShortcutError::Empty => None,
        }
    }
}

/// Saves a message with its author and channel (the permalink comes after
/// the ack), keyed on who saved which message.
pub async fn save_message(ctx: &Context, m: &SavedMessage) -> Result<SavedInsight, ShortcutError> {
    let text = m.text.trim();
    if text.is_empty() {
        return Err(ShortcutError::Empty);
    }
    let mut insight = free_text_note(
        ctx,
        &m.user,
        Source::Shortcut,
        text,
        format!("shortcut:{}:{}:{}", m.user, m.channel, m.ts),
    );
    insight.message = Some(SourceMessage {
        channel_id: m.channel.clone(),
        ts: m.ts.clone(),
        author_id: m.author.clone(),
        permalink: None,
    });
    // Within the trigger's 3 s, so the form can still open after it.
    let deadline = tokio::time::Instant::now() + OPEN_DB_BUDGET;
    let saved = by(deadline, ctx.store.save_insight(&insight))
        .await
        .map_err(|e| ShortcutError::NotSaved(e.context("saving a shortcut note")))?;
    info!(
        user = m.user,
        insight = saved.id,
        new = saved.new,
        "message saved by shortcut"
    );
    Ok(saved)
}
