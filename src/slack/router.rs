//! The router: every Slack payload, from either transport, is parsed once
//! (without I/O) into a typed action (`Interaction`, `Command` or `Event`,
//! as mini-redis's `Command::from_frame`), then `run` calls the one feature
//! that handles it and renders its outcome: a modal, an ephemeral reply,
//! a message after the ack. Nothing past the parse sees slack-morphism's
//! payload types, and what Slack never sends (a user id that isn't one,
//! a trigger past Slack's size, two actions in one click, text past a
//! message's length) is refused at the parse with nothing done.

use super::views::{self, NOTE_MODAL, OPEN_FORM_ACTION};
use super::{access, home, limits, notes, reply, Bot};
use crate::domain::Source;
use crate::features::loops::{Kind, Target};
use crate::features::notes::{DmEdit, DmReply, FormMeta, SavedMessage, Submission, Submitted};
use crate::features::pause::Via;
use crate::features::{self, UserError};
use serde_json::json;
use slack_morphism::prelude::*;
use std::sync::Arc;
use tracing::{info, warn};

/// A click, a form, a shortcut or a type-ahead, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Interaction {
    /// A button or menu choice.
    Click {
        user: String,
        trigger: String,
        /// Where the click was (none on App Home).
        channel: Option<String>,
        click: Click,
    },
    /// A submitted note form.
    Submit(Submission),
    /// The delete confirmation's "Delete".
    ConfirmDelete { user: String, note: i64 },
    /// The search modal's **Search**.
    SearchSubmit { user: String, query: String },
    /// Type-ahead in a select with more than 100 options.
    Suggest {
        /// A typed field's vocabulary, or `tags`.
        vocabulary: String,
        typed: String,
        meta: FormMeta,
    },
    /// "Save as field insight" on a message.
    SaveMessage {
        trigger: String,
        message: SavedMessage,
        /// Longer than a Slack message can be: refused, with a notice.
        too_long: bool,
    },
    /// The global shortcut "New field note".
    NewNote { trigger: String },
    /// A marketer's loop form (Acting on it, Ask a follow-up), submitted;
    /// `meta` is `None` when unreadable (forged).
    LoopPress {
        user: String,
        view_id: String,
        meta: Option<super::views::loops::PressMeta>,
        values: crate::capture::FormValues,
    },
    /// A rep's answer form, submitted; `action` is `None` when unreadable.
    LoopAnswer {
        user: String,
        view_id: String,
        action: Option<i64>,
        values: crate::capture::FormValues,
    },
    /// Nothing to do (a closed modal, an unknown button), and why.
    Ignored(&'static str),
    /// What Slack never sends, and why it was refused.
    Refused(&'static str),
}

/// Which button or menu choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Click {
    Pause(&'static str),
    Resume,
    OpenPrompt(i64),
    Edit(i64),
    Delete(i64),
    /// App Home's menu: delete asks first.
    ConfirmDelete(i64),
    NewNote,
    PreviewDigest,
    /// A digest's loop button; `None` when its value names no notes (a
    /// forged or broken button).
    Loop(Kind, Option<Target>),
    /// The relay DM's **Answer in a form** (the action's id).
    LoopAnswer(i64),
    /// The relay DM's **Tell them it was me**.
    LoopReveal(i64),
    /// Search's **More results**: in a message (with the click's
    /// `response_url`) or in the search modal (its view id).
    SearchMore(super::search::Page, Option<String>, Option<String>),
    /// App Home's **Search notes**.
    HomeSearch,
}

/// What follows `/fieldnotes`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub user: String,
    pub trigger: String,
    /// The command as typed (`/fieldnotes`), for help and hints.
    pub name: String,
    pub verb: Verb,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `note <text>`.
    Note(String),
    /// `note` alone: the form.
    NoteForm,
    Pause(String),
    Resume,
    Ask(String),
    /// `initiative add|end|list|report ...`.
    Initiative(String),
    /// `search <query>`.
    Search(String),
    Help,
    /// What Slack never sends.
    Refused(Refused),
}

/// An Events API callback from the inbox, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    HomeOpened { user: String },
    Dm(DmReply),
    DmEdited(DmEdit),
    DmDeleted { channel: String, ts: String },
    Ignored(&'static str),
}

// ---------------------------------------------------------------- parsing

impl Interaction {
    /// Parses an interactivity payload; never fails: what can't be handled
    /// is `Ignored` or `Refused`.
    pub fn parse(ev: SlackInteractionEvent) -> Interaction {
        if let Err(why) = check_interaction(&ev) {
            return Interaction::Refused(why);
        }
        match ev {
            SlackInteractionEvent::BlockActions(a) => click(a),
            SlackInteractionEvent::ViewSubmission(v) => submission(v),
            SlackInteractionEvent::ViewClosed(_) => Interaction::Ignored("a modal was closed"),
            SlackInteractionEvent::BlockSuggestion(s) => Interaction::Suggest {
                vocabulary: s
                    .action_id
                    .0
                    .strip_prefix(views::EXTERNAL_PREFIX)
                    .unwrap_or_default()
                    .to_string(),
                typed: s.value.clone(),
                meta: s.view.as_ref().map(views::modal_meta).unwrap_or_default(),
            },
            SlackInteractionEvent::MessageAction(m) => {
                if m.callback_id.0 != notes::SAVE_MESSAGE_SHORTCUT {
                    return Interaction::Ignored("an unknown message shortcut");
                }
                let (Some(channel), Some(msg)) = (m.channel.as_ref(), m.message.as_ref()) else {
                    return Interaction::Ignored("a message shortcut without a message");
                };
                let text = msg.content.text.clone().unwrap_or_default();
                Interaction::SaveMessage {
                    trigger: m.trigger_id.0.clone(),
                    too_long: !limits::within_chars(text.trim(), limits::MAX_MESSAGE_CHARS),
                    message: SavedMessage {
                        user: m.user.id.to_string(),
                        channel: channel.id.to_string(),
                        ts: msg.origin.ts.to_string(),
                        author: msg.sender.user.as_ref().map(|u| u.to_string()),
                        text,
                    },
                }
            }
            SlackInteractionEvent::Shortcut(s) if s.callback_id.0 == notes::NEW_NOTE_SHORTCUT => {
                Interaction::NewNote {
                    trigger: s.trigger_id.0.clone(),
                }
            }
            SlackInteractionEvent::Shortcut(_) => {
                Interaction::Ignored("an unknown global shortcut")
            }
            _ => Interaction::Ignored("an interaction type the bot doesn't use"),
        }
    }
}

/// Refuses what Slack never sends: a user id that isn't one, a trigger id
/// past Slack's size, more than one action in a block_actions payload.
pub fn check_interaction(ev: &SlackInteractionEvent) -> Result<(), &'static str> {
    let (user, trigger) = match ev {
        SlackInteractionEvent::BlockActions(a) => {
            if a.actions.as_ref().is_some_and(|x| x.len() > 1) {
                return Err("more than one action in a block_actions payload");
            }
            (
                a.user.as_ref().map(|u| u.id.0.as_str()),
                Some(&a.trigger_id.0),
            )
        }
        SlackInteractionEvent::ViewSubmission(v) => (Some(v.user.id.0.as_str()), None),
        SlackInteractionEvent::ViewClosed(v) => (Some(v.user.id.0.as_str()), None),
        SlackInteractionEvent::BlockSuggestion(s) => (Some(s.user.id.0.as_str()), None),
        SlackInteractionEvent::MessageAction(m) => {
            (Some(m.user.id.0.as_str()), Some(&m.trigger_id.0))
        }
        SlackInteractionEvent::Shortcut(s) => (Some(s.user.id.0.as_str()), Some(&s.trigger_id.0)),
        _ => (None, None),
    };
    if user.is_some_and(|u| !limits::is_slack_id(u)) {
        return Err("not a Slack user id");
    }
    if trigger.is_some_and(|t| !limits::is_token(t)) {
        return Err("not a Slack trigger id");
    }
    Ok(())
}

/// "edit:42" / "delete:42" from App Home's note menu.
fn menu_choice(v: &str) -> Option<(&str, i64)> {
    let (verb, id) = v.split_once(':')?;
    Some((verb, id.parse().ok()?))
}

fn click(a: SlackInteractionBlockActionsEvent) -> Interaction {
    let user = a
        .user
        .as_ref()
        .map(|u| u.id.to_string())
        .unwrap_or_default();
    if user.is_empty() {
        return Interaction::Ignored("a block_actions payload without a user");
    }
    // Slack sends one action per block_actions payload (the element the
    // person clicked); `check_interaction` refused anything more.
    let Some(action) = a.actions.iter().flatten().next() else {
        return Interaction::Ignored("a block_actions payload without an action");
    };
    let id = action.value.as_deref().and_then(|v| v.parse::<i64>().ok());
    let click = match (action.action_id.0.as_str(), id) {
        (views::HOME_PAUSE_1W, _) => Click::Pause("1w"),
        (views::HOME_PAUSE_2W, _) => Click::Pause("2w"),
        (views::HOME_RESUME, _) => Click::Resume,
        (OPEN_FORM_ACTION, Some(id)) => Click::OpenPrompt(id),
        (OPEN_FORM_ACTION, None) => {
            return Interaction::Ignored("an open-form button without a prompt id")
        }
        (views::EDIT_NOTE, Some(id)) => Click::Edit(id),
        (views::DELETE_NOTE, Some(id)) => Click::Delete(id),
        (views::home::NOTE_MENU, _) => {
            let choice = action
                .selected_option
                .as_ref()
                .map(|o| o.value.as_str())
                .unwrap_or_default();
            match menu_choice(choice) {
                Some(("edit", id)) => Click::Edit(id),
                // An overflow option cannot ask for confirmation itself.
                Some(("delete", id)) => Click::ConfirmDelete(id),
                _ => return Interaction::Ignored("an unknown note menu choice"),
            }
        }
        (views::home::NEW_NOTE, _) => Click::NewNote,
        (views::home::PREVIEW_DIGEST, _) => Click::PreviewDigest,
        (crate::features::loops::REPLY_FORM, Some(id)) => Click::LoopAnswer(id),
        (crate::features::loops::REVEAL, Some(id)) => Click::LoopReveal(id),
        (super::search::HOME_SEARCH, _) => Click::HomeSearch,
        (super::search::SEARCH_MORE, _) => {
            match action.value.as_deref().and_then(super::search::Page::parse) {
                Some(p) => Click::SearchMore(
                    p,
                    a.response_url.as_ref().map(|u| u.0.to_string()),
                    match &a.container {
                        SlackInteractionActionContainer::View(v) => Some(v.view_id.0.clone()),
                        _ => None,
                    },
                ),
                None => return Interaction::Ignored("a More results button with a broken value"),
            }
        }
        (a, _) if Kind::of_action(a).is_some() => Click::Loop(
            Kind::of_action(a).unwrap_or(Kind::Thanks),
            action.value.as_deref().and_then(Target::parse),
        ),
        _ => return Interaction::Ignored("a button the bot doesn't know"),
    };
    // App Home's menu edits without a channel to answer in.
    let channel = match &click {
        Click::Edit(_) if action.action_id.0 == views::home::NOTE_MENU => None,
        _ => a.channel.as_ref().map(|c| c.id.to_string()),
    };
    Interaction::Click {
        user,
        trigger: a.trigger_id.0.clone(),
        channel,
        click,
    }
}

fn submission(v: SlackInteractionViewSubmissionEvent) -> Interaction {
    let SlackView::Modal(modal) = &v.view.view else {
        return Interaction::Ignored("a submitted view that is not a modal");
    };
    let user = v.user.id.to_string();
    match modal.callback_id.as_ref().map(|c| c.0.as_str()) {
        Some(super::search::SEARCH_MODAL) => {
            let values =
                serde_json::to_value(v.view.state_params.state.as_ref().map(|s| &s.values))
                    .unwrap_or_default();
            let query = views::read_values(&values)
                .get(super::search::QUERY_BLOCK)
                .and_then(|v| v.first().cloned())
                .unwrap_or_default();
            Interaction::SearchSubmit { user, query }
        }
        Some(views::CONFIRM_DELETE_MODAL) => match modal
            .private_metadata
            .as_deref()
            .and_then(|m| m.parse::<i64>().ok())
        {
            Some(note) => Interaction::ConfirmDelete { user, note },
            None => Interaction::Ignored("a delete confirmation without its note"),
        },
        Some(views::loops::PRESS_MODAL) | Some(views::loops::ANSWER_MODAL) => {
            let values =
                serde_json::to_value(v.view.state_params.state.as_ref().map(|s| &s.values))
                    .unwrap_or_default();
            let values = views::read_values(&values);
            let view_id = v.view.state_params.id.0.clone();
            let meta = modal.private_metadata.as_deref().unwrap_or_default();
            if modal.callback_id.as_ref().map(|c| c.0.as_str()) == Some(views::loops::PRESS_MODAL) {
                Interaction::LoopPress {
                    user,
                    view_id,
                    meta: serde_json::from_str(meta).ok(),
                    values,
                }
            } else {
                Interaction::LoopAnswer {
                    user,
                    view_id,
                    action: meta.parse().ok(),
                    values,
                }
            }
        }
        Some(NOTE_MODAL) => {
            let values =
                serde_json::to_value(v.view.state_params.state.as_ref().map(|s| &s.values))
                    .unwrap_or_default();
            Interaction::Submit(Submission {
                user,
                view_id: v.view.state_params.id.0.clone(),
                meta: views::modal_meta(&v.view.view),
                values: views::read_values(&values),
            })
        }
        _ => Interaction::Ignored("a submitted modal the bot doesn't know"),
    }
}

impl Command {
    /// Parses a slash command.
    pub fn parse(ev: &SlackCommandEvent) -> Command {
        let text = ev.text.as_deref().unwrap_or("").trim();
        let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let rest = rest.trim().to_string();
        let verb = match check_command(ev) {
            Err(reply) => Verb::Refused(reply),
            // `Pause 2w` from a phone's autocapitalisation means `pause 2w`.
            Ok(()) => match verb.to_lowercase().as_str() {
                "note" if !rest.is_empty() => Verb::Note(rest),
                "note" => Verb::NoteForm,
                "pause" => Verb::Pause(rest),
                "resume" => Verb::Resume,
                "ask" => Verb::Ask(rest),
                "initiative" | "initiatives" => Verb::Initiative(rest),
                "search" | "find" => Verb::Search(rest),
                _ => Verb::Help,
            },
        };
        Command {
            user: ev.user_id.to_string(),
            trigger: ev.trigger_id.0.clone(),
            name: ev.command.0.clone(),
            verb,
        }
    }
}

/// A slash command Slack never sends, as its sender should hear it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("Fieldnotes couldn't read who sent that command; nothing was changed.")]
    Unreadable,
    #[error(
        "That is longer than a Slack message can be ({} characters); nothing was saved.",
        limits::thousands(limits::MAX_MESSAGE_CHARS)
    )]
    TooLong,
}

impl UserError for Refused {}

/// Refuses a slash command Slack never sends (an id that isn't one, text
/// past a message's length).
pub fn check_command(ev: &SlackCommandEvent) -> Result<(), Refused> {
    if !limits::is_slack_id(&ev.user_id.0) || !limits::is_token(&ev.trigger_id.0) {
        return Err(Refused::Unreadable);
    }
    let text = ev.text.as_deref().unwrap_or("");
    if !limits::within_chars(text, limits::MAX_MESSAGE_CHARS) {
        return Err(Refused::TooLong);
    }
    Ok(())
}

impl Event {
    /// Parses an Events API callback; `received_ms` is when it was
    /// committed (acked). `bot_user` is the bot's own id: its messages are
    /// not notes.
    pub fn parse(ev: &SlackPushEventCallback, received_ms: i64, bot_user: &str) -> Event {
        match &ev.event {
            SlackEventCallbackBody::AppHomeOpened(h) if !limits::is_slack_id(&h.user.0) => {
                Event::Ignored("app_home_opened with a user id Slack could not have sent")
            }
            SlackEventCallbackBody::AppHomeOpened(h) => Event::HomeOpened {
                user: h.user.to_string(),
            },
            SlackEventCallbackBody::Message(m) => dm(m, received_ms, bot_user),
            _ => Event::Ignored("an event the bot doesn't use"),
        }
    }
}

fn text_of(c: Option<&SlackMessageContent>) -> String {
    c.and_then(|c| c.text.clone()).unwrap_or_default()
}

fn dm(m: &SlackMessageEvent, received_ms: i64, bot_user: &str) -> Event {
    let Some(channel) = m.origin.channel.as_ref().map(|c| c.to_string()) else {
        return Event::Ignored("a message without a channel");
    };
    if m.origin.channel_type.as_ref().map(|t| t.0.as_str()) != Some("im") {
        return Event::Ignored("a message outside a DM");
    }
    match &m.subtype {
        None
        | Some(SlackMessageEventType::FileShare)
        | Some(SlackMessageEventType::ThreadBroadcast) => {}
        Some(SlackMessageEventType::MessageChanged) => return dm_edited(channel, m),
        Some(SlackMessageEventType::MessageDeleted) => {
            return match m
                .deleted_ts
                .as_ref()
                .or(m.previous_message.as_ref().map(|p| &p.ts))
            {
                Some(ts) => Event::DmDeleted {
                    channel,
                    ts: ts.to_string(),
                },
                None => Event::Ignored("a deleted message without its ts"),
            }
        }
        Some(_) => return Event::Ignored("a message subtype that is not a note"),
    }
    let Some(user) = m.sender.user.as_ref().map(|u| u.to_string()) else {
        return Event::Ignored("a message without a user");
    };
    if m.sender.bot_id.is_some() || user == bot_user {
        return Event::Ignored("a bot's message");
    }
    if !limits::is_slack_id(&user) || !limits::is_token(&m.origin.ts.0) {
        warn!("a DM event whose user id or ts Slack could not have sent");
        return Event::Ignored("a DM Slack could not have sent");
    }
    let text = text_of(m.content.as_ref());
    if !limits::within_chars(text.trim(), limits::MAX_MESSAGE_CHARS) {
        warn!(user, "a DM longer than Slack allows; not saved");
        return Event::Ignored("a DM longer than Slack allows");
    }
    Event::Dm(DmReply {
        user,
        channel,
        ts: m.origin.ts.to_string(),
        thread_ts: m.origin.thread_ts.as_ref().map(|t| t.to_string()),
        text,
        received_ms,
    })
}

fn dm_edited(channel: String, m: &SlackMessageEvent) -> Event {
    let Some(new) = &m.message else {
        return Event::Ignored("an edit without its message");
    };
    let Some(user) = new.sender.user.as_ref().map(|u| u.to_string()) else {
        return Event::Ignored("an edit without a user");
    };
    // Only a real edit of the message counts: Slack also sends
    // message_changed when a thread reply lands under it.
    if new.edited.is_none() {
        return Event::Ignored("message_changed that is not an edit");
    }
    let text = text_of(new.content.as_ref());
    if !limits::within_chars(text.trim(), limits::MAX_MESSAGE_CHARS) {
        warn!(
            user,
            "an edited DM longer than Slack allows; the note keeps its text"
        );
        return Event::Ignored("an edited DM longer than Slack allows");
    }
    Event::DmEdited(DmEdit {
        user,
        channel,
        ts: new.ts.to_string(),
        before: text_of(m.previous_message.as_ref().and_then(|p| p.content.as_ref())),
        text,
    })
}

// ---------------------------------------------------------------- running

/// Handles an interactivity payload; the returned response is the ack body.
#[tracing::instrument(skip_all)]
pub async fn on_interaction(
    bot: &Arc<Bot>,
    ev: SlackInteractionEvent,
) -> anyhow::Result<SlackInteractionResponse> {
    run_interaction(bot, Interaction::parse(ev)).await
}

pub async fn run_interaction(
    bot: &Arc<Bot>,
    i: Interaction,
) -> anyhow::Result<SlackInteractionResponse> {
    use features::notes;
    match i {
        Interaction::Refused(why) => {
            warn!(
                why,
                "refused an interaction payload Slack could not have sent"
            );
        }
        Interaction::Ignored(why) => info!(why, "interaction not handled"),
        Interaction::Click {
            user,
            trigger,
            channel,
            click,
        } => run_click(bot, &user, &trigger, channel.as_deref(), click).await?,
        Interaction::Submit(s) => return Ok(submit(bot, s).await),
        Interaction::LoopPress {
            user,
            view_id,
            meta,
            values,
        } => {
            if let Some((block, why)) = limits::over_form_limits(&values) {
                return Ok(reply::errors(block, &why));
            }
            return Ok(super::loops::submit_press(bot, &user, &view_id, meta, &values).await);
        }
        Interaction::LoopAnswer {
            user,
            view_id,
            action,
            values,
        } => {
            if let Some((block, why)) = limits::over_form_limits(&values) {
                return Ok(reply::errors(block, &why));
            }
            return Ok(super::loops::submit_answer(bot, &user, &view_id, action, &values).await);
        }
        Interaction::ConfirmDelete { user, note } => spawn_delete(bot, &user, note, None).await,
        Interaction::SearchSubmit { user, query } => {
            return Ok(super::search::submitted(bot, &user, &query).await)
        }
        Interaction::Suggest {
            vocabulary,
            typed,
            meta,
        } => return Ok(suggest(bot, &vocabulary, &typed, &meta)),
        Interaction::SaveMessage {
            trigger,
            message,
            too_long,
        } => {
            let (user, channel) = (message.user.clone(), message.channel.clone());
            if too_long {
                let why = "That message is longer than Slack allows, so it wasn't saved.";
                super::notes::notify(bot, &user, Some(&channel), why.into()).await;
                return Ok(SlackInteractionResponse::Empty);
            }
            match notes::save_message(bot, &message).await {
                Ok(saved) => {
                    // The trigger expires 3 s after the click: the form
                    // opens before anything slow.
                    if let Err(e) = open_edit(bot, &user, saved.id, &trigger, Some(&channel)).await
                    {
                        warn!(error = %format!("{e:#}"), "opening the form after a shortcut failed; the note is saved");
                    }
                    super::notes::spawn_permalink(bot, saved, channel, message.ts).await;
                }
                Err(e) => super::notes::notify(bot, &user, Some(&channel), reply::text(&e)).await,
            }
        }
        Interaction::NewNote { trigger } => {
            let f = notes::note_form(bot, Source::GlobalShortcut);
            super::notes::open_form(bot, &trigger, &f).await?;
        }
    }
    Ok(SlackInteractionResponse::Empty)
}

async fn run_click(
    bot: &Arc<Bot>,
    user: &str,
    trigger: &str,
    channel: Option<&str>,
    click: Click,
) -> anyhow::Result<()> {
    use features::notes;
    match click {
        Click::Pause(len) => {
            let tz = super::people::person_tz(bot, user).await;
            // The refreshed App Home shows the outcome either way.
            if let Err(e) = features::pause::pause(bot, user, len, tz, Via::Home).await {
                reply::log(&e);
            }
            spawn_home(bot, user).await;
        }
        Click::Resume => {
            if let Err(e) = features::pause::resume(bot, user).await {
                reply::log(&e);
            }
            spawn_home(bot, user).await;
        }
        Click::OpenPrompt(id) => {
            let f = notes::prompt_form(bot, user, id).await;
            super::notes::open_form(bot, trigger, &f)
                .await
                .map_err(|e| e.context(format!("prompt {id}")))?;
        }
        Click::Edit(id) => open_edit(bot, user, id, trigger, channel).await?,
        Click::Delete(id) => spawn_delete(bot, user, id, channel.map(String::from)).await,
        Click::ConfirmDelete(id) => match notes::deletable(bot, user, id).await {
            Ok(Some(ins)) => {
                bot.slack
                    .open_view(trigger, views::confirm_delete(&ins))
                    .await
                    .map_err(|e| anyhow::anyhow!("opening the delete confirmation: {e}"))?;
            }
            Ok(None) => {}
            Err(notes::NoteError::NotSaved(e)) => return Err(e),
            Err(e) => super::notes::notify(bot, user, None, e.to_string()).await,
        },
        Click::NewNote => {
            let f = notes::note_form(bot, Source::Home);
            super::notes::open_form(bot, trigger, &f).await?;
        }
        Click::PreviewDigest => preview_digest(bot, user, trigger).await?,
        Click::Loop(kind, Some(target)) => {
            super::loops::press(bot, user, trigger, channel, kind, &target).await?
        }
        Click::Loop(_, None) => {
            warn!(user, "a loop button whose value names no notes");
            let why = ":warning: That button is out of date or broken; nothing was sent.";
            super::notes::notify(bot, user, channel, why.into()).await;
        }
        Click::LoopAnswer(id) => super::loops::open_answer(bot, user, trigger, id).await?,
        Click::LoopReveal(id) => super::loops::reveal(bot, user, trigger, channel, id).await,
        Click::SearchMore(page, _, Some(view)) => {
            super::search::more_in_view(bot, user, page, view).await
        }
        Click::SearchMore(page, url, None) => match url
            .filter(|u| super::search::trusted_response_url(u, &bot.secrets.slack_api_url))
        {
            Some(url) => super::search::more(bot, user, page, url).await,
            None => warn!(
                user,
                "a More results click without a response_url Slack would send"
            ),
        },
        Click::HomeSearch => super::search::open(bot, user, trigger).await?,
    }
    Ok(())
}

/// Opens the edit form for its owner; anyone else (or a deleted note) is
/// told why, where they are.
async fn open_edit(
    bot: &Arc<Bot>,
    user: &str,
    id: i64,
    trigger: &str,
    channel: Option<&str>,
) -> anyhow::Result<()> {
    use features::notes::NoteError;
    let why = match features::notes::edit_form(bot, user, id).await {
        Ok(f) => return super::notes::open_form(bot, trigger, &f).await,
        Err(NoteError::NotSaved(e)) => return Err(e),
        Err(NoteError::Gone) => "That note was deleted.",
        Err(_) => "Only the person who shared a note can edit it.",
    };
    super::notes::notify(bot, user, channel, why.into()).await;
    Ok(())
}

async fn submit(bot: &Arc<Bot>, s: Submission) -> SlackInteractionResponse {
    if let Some((block, why)) = limits::over_form_limits(&s.values) {
        warn!(user = s.user, "a form submission past Slack's input limits");
        return reply::errors(block, &why);
    }
    match features::notes::submit(bot, s).await {
        Ok(Submitted::Saved { saved, from_prompt }) => {
            if saved.new {
                let confirm = if from_prompt {
                    super::notes::Confirm::UnlessPrompt
                } else {
                    super::notes::Confirm::Always
                };
                super::notes::spawn_after_save(bot, saved, confirm).await;
            }
            SlackInteractionResponse::Empty
        }
        Ok(Submitted::Edited(ins)) => {
            let st = bot.clone();
            let work = async move { super::notes::refresh_ack(&st, &ins).await };
            bot.background
                .run("refresh a note's confirmation", work)
                .await;
            SlackInteractionResponse::Empty
        }
        Err(e) => reply::form_errors(e.block, &e.error),
    }
}

/// Type-ahead for a select with more than 100 options: the free tag picker
/// offers the form's own tags, not the whole taxonomy.
fn suggest(bot: &Bot, vocabulary: &str, typed: &str, meta: &FormMeta) -> SlackInteractionResponse {
    use crate::capture::Form;
    let cfg = bot.config();
    let allowed: Option<Vec<String>> = (vocabulary == "tags").then(|| {
        match meta.checkin.as_deref().and_then(|c| cfg.checkin(c)) {
            Some(c) => Form::checkin(&cfg, c, Some(&meta.questions)).tags,
            None => Form::note(&cfg).tags,
        }
    });
    let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> =
        views::suggestions(&cfg, vocabulary, typed, allowed.as_deref())
            .into_iter()
            .map(|(value, label)| {
                SlackBlockChoiceItem::new(SlackBlockPlainTextOnly::from(label), value)
            })
            .collect();
    SlackInteractionResponse::BlockSuggestion(SlackBlockSuggestionResponse::Options(
        SlackBlockSuggestionOptions::new(options),
    ))
}

/// Deletes a note after the ack (the owner only), marks its confirmation,
/// then refreshes the person's App Home.
async fn spawn_delete(bot: &Arc<Bot>, user: &str, id: i64, channel: Option<String>) {
    let (st, user) = (bot.clone(), user.to_string());
    let work = async move {
        let bot = st;
        match features::notes::delete(&bot, &user, id).await {
            Ok(Some(d)) => {
                super::notes::mark_deleted(&bot, &d).await;
                publish_home(&bot, &user).await;
            }
            Ok(None) => {}
            Err(e) if e.internal().is_some() => {
                reply::log(&e);
            }
            Err(e) => super::notes::notify(&bot, &user, channel.as_deref(), e.to_string()).await,
        }
    };
    bot.background.run("delete a note", work).await;
}

/// Refreshes a person's App Home after the ack.
async fn spawn_home(bot: &Arc<Bot>, user: &str) {
    let (st, user) = (bot.clone(), user.to_string());
    let work = async move { publish_home(&st, &user).await };
    bot.background.run("refresh App Home", work).await;
}

async fn publish_home(bot: &Bot, user: &str) {
    if let Err(e) = home::publish(bot, user).await {
        warn!(error = %format!("{e:#}"), user, "publishing App Home failed");
    }
}

/// "Preview digest" on a marketer's App Home: this week's digest so far, in
/// a modal. Others are refused, in a modal (App Home has no channel).
async fn preview_digest(bot: &Arc<Bot>, user: &str, trigger: &str) -> anyhow::Result<()> {
    use features::digest::{may_preview, preview};
    if let Err(refusal) = may_preview(bot, user).await {
        return access::show_refusal(bot, trigger, &refusal.to_string()).await;
    }
    // The trigger lasts 3 s and a digest reads two weeks of notes: open a
    // placeholder now, fill it in after the ack.
    let view_id = bot
        .slack
        .open_view(
            trigger,
            views::digest_preview_text("_Building the digest so far…_"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("opening the digest preview: {e}"))?;
    access::record(bot, user, "digest_preview", json!({}), "ok").await;
    let st = bot.clone();
    let work = async move {
        let bot = st;
        let view = match preview(&bot).await {
            Ok(d) => views::digest_preview(&d),
            Err(e) => views::digest_preview_text(&reply::text(&e)),
        };
        if let Err(e) = bot.slack.update_view(&view_id, view).await {
            warn!(error = %e, "showing the digest preview failed");
        }
    };
    bot.background.run("fill the digest preview", work).await;
    Ok(())
}

/// Handles a slash command; the returned response is the ephemeral reply.
#[tracing::instrument(skip_all, fields(user = %limits::for_log(&ev.user_id.0)))]
pub async fn on_command(
    bot: &Arc<Bot>,
    ev: SlackCommandEvent,
) -> anyhow::Result<SlackCommandEventResponse> {
    run_command(bot, Command::parse(&ev)).await
}

pub async fn run_command(bot: &Arc<Bot>, c: Command) -> anyhow::Result<SlackCommandEventResponse> {
    let user = c.user.as_str();
    let text = match c.verb {
        Verb::Refused(why) => {
            warn!("refused a slash command Slack could not have sent");
            reply::text(&why)
        }
        Verb::Note(text) => {
            let (text, blocks) = match features::notes::save_command(bot, user, &text, &c.trigger)
                .await
            {
                Ok(n) => {
                    let id = n.saved.id;
                    if n.saved.new {
                        // The ephemeral reply is the confirmation.
                        super::notes::spawn_after_save(bot, n.saved, super::notes::Confirm::Never)
                            .await;
                    }
                    match n.note {
                        Some(ins) => views::note_saved(
                            &bot.config(),
                            &ins,
                            ":white_check_mark: Saved. Thank you!",
                        ),
                        None => (
                            format!(":white_check_mark: Saved as note #{id}. Thank you!"),
                            vec![],
                        ),
                    }
                }
                Err(e) => (reply::text(&e), vec![]),
            };
            return Ok(SlackCommandEventResponse::new(
                SlackMessageContent::new()
                    .with_text(text)
                    .with_blocks(blocks),
            )
            .with_response_type(SlackMessageResponseType::Ephemeral));
        }
        Verb::Search(rest) => {
            let (text, blocks) = super::search::search(bot, user, &rest, 0).await;
            let blocks: Vec<SlackBlock> =
                serde_json::from_value(serde_json::Value::Array(blocks)).unwrap_or_default();
            return Ok(SlackCommandEventResponse::new(
                SlackMessageContent::new()
                    .with_text(text)
                    .with_blocks(blocks),
            )
            .with_response_type(SlackMessageResponseType::Ephemeral));
        }
        Verb::NoteForm => {
            // No text: the form, with the fields marketing counts.
            let f = features::notes::note_form(bot, Source::Command);
            super::notes::open_form(bot, &c.trigger, &f).await?;
            return Ok(SlackCommandEventResponse::new(SlackMessageContent::new())
                .with_response_type(SlackMessageResponseType::Ephemeral));
        }
        Verb::Pause(rest) => {
            let tz = super::people::person_tz(bot, user).await;
            match features::pause::pause(bot, user, &rest, tz, Via::Command).await {
                Ok(until) => format!(
                    ":double_vertical_bar: Paused until {}: no check-ins or reminders till then, and you won't count against participation. `{} resume` ends it early.",
                    until.with_timezone(&tz).format("%a %-d %b %Y, %H:%M"),
                    c.name
                ),
                Err(e) => reply::text(&e),
            }
        }
        Verb::Resume => {
            use features::pause::Resumed;
            match features::pause::resume(bot, user).await {
                Ok(Resumed::Resumed) => {
                    ":arrow_forward: Check-ins are back on. Welcome back!".into()
                }
                Ok(Resumed::WasNotPaused) => "You weren't paused: check-ins are on.".into(),
                Err(e) => reply::text(&e),
            }
        }
        Verb::Ask(rest) => ask(bot, &c.user, &c.trigger, &rest).await,
        Verb::Initiative(rest) => features::initiatives::command(bot, &c.user, &rest).await,
        Verb::Help => views::help_text(&c.name),
    };
    Ok(reply::ephemeral(text))
}

/// `/fieldnotes ask`: marketers and leads send a one-off question to a
/// check-in's audience, now or later; everyone else is told why not.
async fn ask(bot: &Bot, user: &str, trigger: &str, rest: &str) -> String {
    use crate::features::ask::{ask, Ask, Asked};
    let tz = super::people::person_tz(bot, user).await;
    let when = |at: Option<chrono::DateTime<chrono::Utc>>| match at {
        Some(at) => format!("at {}", at.with_timezone(&tz).format("%a %-d %b, %H:%M %Z")),
        None => "now".into(),
    };
    let input = Ask {
        user,
        text: rest,
        trigger_id: trigger,
        tz,
    };
    match ask(bot, input).await {
        Ok(Asked::Queued { checkin, at, question }) => format!(
            ":mega: Queued for the `{checkin}` audience, {}: \"{question}\". Answers show up in search, exports and the digest; `fieldnotes status` shows who answered.",
            when(at)
        ),
        Ok(Asked::AlreadyQueued { checkin, at }) => format!(
            ":mega: Already queued for the `{checkin}` audience, {}: nothing more was sent.",
            when(at)
        ),
        Err(e) => reply::text(&e),
    }
}

/// Handles an Events API callback from the inbox (after the ack; the
/// inbox is unique on event_id, so a Slack retry never gets here twice).
/// An error is retried by the inbox worker with backoff, so this must be
/// safe to run again: every note carries a dedupe key from its origin.
#[tracing::instrument(skip_all, fields(event_id = %ev.event_id.0))]
pub async fn on_push_event(
    bot: &Arc<Bot>,
    ev: SlackPushEventCallback,
    received_ms: i64,
) -> anyhow::Result<()> {
    run_event(bot, Event::parse(&ev, received_ms, &bot.bot_user_id)).await
}

pub async fn run_event(bot: &Arc<Bot>, e: Event) -> anyhow::Result<()> {
    use features::notes;
    match e {
        Event::HomeOpened { user } => home::publish(bot, &user)
            .await
            .map_err(|e| anyhow::anyhow!("publishing App Home: {e}"))?,
        Event::Dm(m) => {
            // An answer in a relay DM's thread is a follow-up on its note.
            if super::loops::thread_reply(bot, &m).await? {
                return Ok(());
            }
            if let Some(saved) = notes::save_reply(bot, &m).await? {
                if saved.new {
                    // Already after the ack (the inbox worker), so no spawn.
                    let thread_ts = m.thread_ts.as_deref().unwrap_or(&m.ts);
                    super::notes::after_save(
                        bot,
                        &saved,
                        Some((&m.channel, thread_ts)),
                        super::notes::Confirm::Always,
                    )
                    .await;
                }
            }
        }
        Event::DmEdited(edit) => {
            if let Some(ins) = notes::edit_from_dm(bot, &edit).await? {
                super::notes::refresh_ack(bot, &ins).await;
            }
        }
        Event::DmDeleted { channel, ts } => {
            if let Some(d) = notes::delete_from_dm(bot, &channel, &ts).await? {
                super::notes::mark_deleted(bot, &d).await;
            }
        }
        Event::Ignored(why) => info!(why, "event ignored"),
    }
    Ok(())
}

/// The inbox gave up on an event: a rep whose DM could not be saved gets
/// their words back.
pub async fn on_event_parked(bot: &Bot, ev: &SlackPushEventCallback) {
    if let Event::Dm(m) = Event::parse(ev, 0, &bot.bot_user_id) {
        if !m.text.trim().is_empty() {
            super::notes::reply_not_saved(bot, &m.channel, &m.ts, &m.text).await;
        }
    }
}
