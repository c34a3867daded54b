//! Translates Slack payloads (as slack-morphism types) into domain calls.
//! Both transports (Socket Mode and HTTP) call these same functions, so the
//! behaviour cannot drift between them. Each handler answers fast: it opens a
//! modal or saves a row, then spawns anything slow after the ack.

use super::views::{self, ModalMeta, NOTE_MODAL, OPEN_FORM_ACTION};
use super::{access, home, limits, notes};
use crate::app::AppState;
use crate::domain::Source;
use crate::roles::Permission;
use anyhow::{Context, Result};
use serde_json::json;
use slack_morphism::prelude::*;
use std::sync::Arc;
use tracing::{info, warn};

/// Handles an interactivity payload; the returned response is the ack body.
#[tracing::instrument(skip_all)]
pub async fn on_interaction(
    state: &Arc<AppState>,
    ev: SlackInteractionEvent,
) -> Result<SlackInteractionResponse> {
    if let Err(why) = check_interaction(&ev) {
        warn!(
            why,
            "refused an interaction payload Slack could not have sent"
        );
        return Ok(SlackInteractionResponse::Empty);
    }
    match ev {
        SlackInteractionEvent::BlockActions(a) => {
            on_block_actions(state, a).await?;
            Ok(SlackInteractionResponse::Empty)
        }
        SlackInteractionEvent::ViewSubmission(v) => on_view_submission(state, v).await,
        SlackInteractionEvent::ViewClosed(_) => Ok(SlackInteractionResponse::Empty),
        SlackInteractionEvent::BlockSuggestion(s) => Ok(notes::on_suggestion(state, &s)),
        SlackInteractionEvent::MessageAction(m) => {
            if m.callback_id.0 == notes::SAVE_MESSAGE_SHORTCUT {
                notes::on_message_shortcut(state, &m).await?;
            } else {
                warn!(callback_id = %m.callback_id.0, "unknown message shortcut");
            }
            Ok(SlackInteractionResponse::Empty)
        }
        SlackInteractionEvent::Shortcut(s) => {
            if s.callback_id.0 == notes::NEW_NOTE_SHORTCUT {
                notes::open_note_form(state, &s.trigger_id.0, Source::GlobalShortcut).await?;
            } else {
                warn!(callback_id = %s.callback_id.0, "unknown global shortcut");
            }
            Ok(SlackInteractionResponse::Empty)
        }
        other => {
            info!(kind = ?std::mem::discriminant(&other), "interaction not handled");
            Ok(SlackInteractionResponse::Empty)
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

/// Refuses a slash command Slack never sends (an id that isn't one, text
/// past a message's length), with the reply to show.
pub fn check_command(ev: &SlackCommandEvent) -> Result<(), String> {
    if !limits::is_slack_id(&ev.user_id.0) || !limits::is_token(&ev.trigger_id.0) {
        return Err(
            ":warning: Fieldnotes couldn't read who sent that command; nothing was changed.".into(),
        );
    }
    let text = ev.text.as_deref().unwrap_or("");
    if !limits::within_chars(text, limits::MAX_MESSAGE_CHARS) {
        return Err(format!(
            ":warning: That is longer than a Slack message can be ({} characters); nothing was saved.",
            limits::thousands(limits::MAX_MESSAGE_CHARS)
        ));
    }
    Ok(())
}

/// "edit:42" / "delete:42" from App Home's note menu.
fn menu_choice(v: &str) -> Option<(&str, i64)> {
    let (verb, id) = v.split_once(':')?;
    Some((verb, id.parse().ok()?))
}

async fn on_block_actions(
    state: &Arc<AppState>,
    a: SlackInteractionBlockActionsEvent,
) -> Result<()> {
    let user = a
        .user
        .as_ref()
        .map(|u| u.id.to_string())
        .unwrap_or_default();
    if user.is_empty() {
        warn!("a block_actions payload without a user");
        return Ok(());
    }
    let channel = a.channel.as_ref().map(|c| c.id.to_string());
    let trigger = a.trigger_id.0.clone();
    // Slack sends one action per block_actions payload (the element the
    // person clicked); `check_interaction` refused anything more, so one
    // payload never fans out into a write and a Slack call per entry.
    for action in a.actions.iter().flatten().take(1) {
        let value = action.value.as_deref().unwrap_or_default();
        let id_value = value.parse::<i64>().ok();
        match action.action_id.0.as_str() {
            views::HOME_PAUSE_1W | views::HOME_PAUSE_2W => {
                use crate::features::pause::{pause, Via};
                let len = if action.action_id.0 == views::HOME_PAUSE_1W {
                    "1w"
                } else {
                    "2w"
                };
                let tz = person_tz(state, &user).await;
                // The refreshed App Home shows the outcome either way.
                pause(&state.store, &user, len, tz, state.clock.now(), Via::Home).await;
                spawn_home(state, &user).await;
            }
            views::HOME_RESUME => {
                crate::features::pause::resume(&state.store, &user, state.clock.now()).await;
                spawn_home(state, &user).await;
            }
            OPEN_FORM_ACTION => match id_value {
                Some(pid) => notes::open_prompt_form(state, &user, pid, &trigger).await?,
                None => warn!("open-form button without a prompt id"),
            },
            views::EDIT_NOTE => {
                if let Some(id) = id_value {
                    notes::open_edit_form(state, &user, id, &trigger, channel.as_deref()).await?;
                }
            }
            views::DELETE_NOTE => {
                if let Some(id) = id_value {
                    spawn_delete(state, &user, id, channel.clone()).await;
                }
            }
            views::home::NOTE_MENU => {
                let choice = action
                    .selected_option
                    .as_ref()
                    .map(|o| o.value.clone())
                    .unwrap_or_default();
                match menu_choice(&choice) {
                    Some(("edit", id)) => {
                        notes::open_edit_form(state, &user, id, &trigger, None).await?
                    }
                    // An overflow option cannot ask for confirmation itself.
                    Some(("delete", id)) => {
                        notes::confirm_delete(state, &user, id, &trigger).await?
                    }
                    _ => warn!(choice, "unknown note menu choice"),
                }
            }
            views::home::NEW_NOTE => notes::open_note_form(state, &trigger, Source::Home).await?,
            views::home::PREVIEW_DIGEST => preview_digest(state, &user, &trigger).await?,
            _ => {}
        }
    }
    Ok(())
}

/// Deletes a note after the ack (the owner only), then refreshes the
/// person's App Home.
async fn spawn_delete(state: &Arc<AppState>, user: &str, id: i64, channel: Option<String>) {
    let (st, user) = (state.clone(), user.to_string());
    let work = async move {
        match notes::delete(&st, &user, id, channel.as_deref()).await {
            Ok(true) => publish_home(&st, &user).await,
            Ok(false) => {}
            Err(e) => warn!(error = %format!("{e:#}"), "deleting a note failed"),
        }
    };
    state.background.run("delete a note", work).await;
}

/// Refreshes a person's App Home after the ack.
async fn spawn_home(state: &Arc<AppState>, user: &str) {
    let (st, user) = (state.clone(), user.to_string());
    let work = async move { publish_home(&st, &user).await };
    state.background.run("refresh App Home", work).await;
}

async fn publish_home(state: &Arc<AppState>, user: &str) {
    if let Err(e) = home::publish(state, user).await {
        warn!(error = %format!("{e:#}"), user, "publishing App Home failed");
    }
}

/// "Preview digest" on a marketer's App Home: this week's digest so far, in
/// a modal. Others are refused.
async fn preview_digest(state: &Arc<AppState>, user: &str, trigger: &str) -> Result<()> {
    if let Err(refusal) = access::require(
        state,
        user,
        Permission::DigestPreview,
        "digest_preview",
        json!({}),
    )
    .await
    {
        return access::show_refusal(state, trigger, &refusal).await;
    }
    // The trigger lasts 3 s and a digest reads two weeks of notes: open a
    // placeholder now, fill it in after the ack.
    let view_id = state
        .slack
        .open_view(
            trigger,
            views::digest_preview("_Building this week's digest…_"),
        )
        .await
        .context("opening the digest preview")?;
    access::record(state, user, "digest_preview", json!({}), "ok").await;
    let st = state.clone();
    let work = async move {
        let state = st;
        let cfg = state.config();
        let week = crate::digest::IsoWeek::containing(state.clock.now(), cfg.digest.timezone);
        let md = match crate::digest::gather(&state.store, &cfg, week).await {
            Ok(d) => crate::digest::to_markdown(&d),
            Err(e) => {
                warn!(error = %format!("{e:#}"), "building the digest preview failed");
                ":warning: We couldn't build the digest just now; try again in a moment.".into()
            }
        };
        if let Err(e) = state
            .slack
            .update_view(&view_id, views::digest_preview(&md))
            .await
        {
            warn!(error = %e, "showing the digest preview failed");
        }
    };
    state.background.run("fill the digest preview", work).await;
    Ok(())
}

async fn on_view_submission(
    state: &Arc<AppState>,
    v: SlackInteractionViewSubmissionEvent,
) -> Result<SlackInteractionResponse> {
    let SlackView::Modal(modal) = &v.view.view else {
        return Ok(SlackInteractionResponse::Empty);
    };
    let callback = modal.callback_id.as_ref().map(|c| c.0.as_str());
    if callback == Some(views::CONFIRM_DELETE_MODAL) {
        let id = modal
            .private_metadata
            .as_deref()
            .and_then(|m| m.parse::<i64>().ok());
        if let Some(id) = id {
            spawn_delete(state, v.user.id.as_ref(), id, None).await;
        }
        return Ok(SlackInteractionResponse::Empty);
    }
    if callback != Some(NOTE_MODAL) {
        return Ok(SlackInteractionResponse::Empty);
    }
    let meta = ModalMeta::of(&v.view.view);
    notes::on_submit(state, &v, meta).await
}

/// A person's Slack timezone (from the shared profile cache), falling back
/// to the digest's.
pub async fn person_tz(state: &AppState, user: &str) -> chrono_tz::Tz {
    let fallback = state.config().digest.timezone;
    match crate::jobs::planner::directory(state, &[user.to_string()]).await {
        Ok(d) => d
            .get(user)
            .and_then(|p| p.tz.as_deref())
            .and_then(|t| t.parse().ok())
            .unwrap_or(fallback),
        Err(e) => {
            warn!(error = %format!("{e:#}"), user, "looking up a timezone failed");
            fallback
        }
    }
}

/// Handles a slash command; the returned response is the ephemeral reply.
#[tracing::instrument(skip_all, fields(user = %limits::for_log(&ev.user_id.0)))]
pub async fn on_command(
    state: &Arc<AppState>,
    ev: SlackCommandEvent,
) -> Result<SlackCommandEventResponse> {
    if let Err(reply) = check_command(&ev) {
        warn!("refused a slash command Slack could not have sent");
        return Ok(ephemeral(reply));
    }
    let text = ev.text.as_deref().unwrap_or("").trim();
    let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    // `Pause 2w` from a phone's autocapitalisation means `pause 2w`.
    let verb = verb.to_lowercase();
    let reply = match verb.as_str() {
        "note" if !rest.trim().is_empty() => {
            let (text, blocks) =
                notes::save_command_note(state, ev.user_id.as_ref(), rest.trim(), &ev.trigger_id.0)
                    .await;
            return Ok(SlackCommandEventResponse::new(
                SlackMessageContent::new()
                    .with_text(text)
                    .with_blocks(blocks),
            )
            .with_response_type(SlackMessageResponseType::Ephemeral));
        }
        "note" => {
            // No text: the form, with the fields marketing counts.
            notes::open_note_form(state, &ev.trigger_id.0, Source::Command).await?;
            return Ok(SlackCommandEventResponse::new(SlackMessageContent::new())
                .with_response_type(SlackMessageResponseType::Ephemeral));
        }
        "pause" => {
            use crate::features::pause::{pause, Paused, Via};
            let user = ev.user_id.to_string();
            let tz = person_tz(state, &user).await;
            match pause(&state.store, &user, rest, tz, state.clock.now(), Via::Command).await {
                Paused::Until(until) => format!(
                    ":double_vertical_bar: Paused until {}: no check-ins or reminders till then, and you won't count against participation. `{} resume` ends it early.",
                    until.with_timezone(&tz).format("%a %-d %b %Y, %H:%M"),
                    ev.command.0
                ),
                Paused::Invalid(why) => format!(":warning: {why}"),
                Paused::NotSaved => ":warning: We couldn't save your pause just now; please try again in a moment.".into(),
            }
        }
        "resume" => {
            use crate::features::pause::{resume, Resumed};
            match resume(&state.store, ev.user_id.as_ref(), state.clock.now()).await {
                Resumed::Resumed => ":arrow_forward: Check-ins are back on. Welcome back!".into(),
                Resumed::WasNotPaused => "You weren't paused: check-ins are on.".into(),
                Resumed::NotSaved => {
                    ":warning: We couldn't resume just now; please try again in a moment.".into()
                }
            }
        }
        "ask" => ask(state, &ev, rest).await,
        _ => views::help_text(&ev.command.0),
    };
    Ok(ephemeral(reply))
}

fn ephemeral(text: String) -> SlackCommandEventResponse {
    SlackCommandEventResponse::new(SlackMessageContent::new().with_text(text))
        .with_response_type(SlackMessageResponseType::Ephemeral)
}

/// Handles an Events API callback from the inbox (after the ack; the
/// inbox is unique on event_id, so a Slack retry never gets here twice).
/// An error is retried by the inbox worker with backoff, so this must be
/// safe to run again: every note carries a dedupe key from its origin.
#[tracing::instrument(skip_all, fields(event_id = %ev.event_id.0))]
/// An event from the inbox; `received_ms` is when it was committed (acked).
pub async fn on_push_event(
    state: &Arc<AppState>,
    ev: SlackPushEventCallback,
    received_ms: i64,
) -> Result<()> {
    match ev.event {
        SlackEventCallbackBody::AppHomeOpened(h) if !limits::is_slack_id(&h.user.0) => {
            warn!("app_home_opened with a user id Slack could not have sent");
        }
        SlackEventCallbackBody::AppHomeOpened(h) => home::publish(state, h.user.as_ref())
            .await
            .map_err(|e| anyhow::anyhow!("publishing App Home: {e}"))?,
        SlackEventCallbackBody::Message(m) => notes::on_dm_message(state, &m, received_ms).await?,
        other => info!(kind = ?std::mem::discriminant(&other), "event ignored"),
    }
    Ok(())
}

/// The inbox gave up on an event: a rep whose DM could not be saved gets
/// their words back.
pub async fn on_event_parked(state: &Arc<AppState>, ev: &SlackPushEventCallback) {
    if let SlackEventCallbackBody::Message(m) = &ev.event {
        notes::reply_not_saved(state, m).await;
    }
}

/// `/fieldnotes ask`: marketers and leads send a one-off question to a
/// check-in's audience, now or later; everyone else is told why not.
async fn ask(state: &Arc<AppState>, ev: &SlackCommandEvent, rest: &str) -> String {
    use crate::features::ask::{ask, Ask, Asked};
    let cfg = state.config();
    let user = ev.user_id.to_string();
    let tz = person_tz(state, &user).await;
    let when = |at: Option<chrono::DateTime<chrono::Utc>>| match at {
        Some(at) => format!("at {}", at.with_timezone(&tz).format("%a %-d %b, %H:%M %Z")),
        None => "now".into(),
    };
    let input = Ask {
        user: &user,
        text: rest,
        trigger_id: &ev.trigger_id.0,
        tz,
        now: state.clock.now(),
    };
    match ask(&state.store, &cfg, input).await {
        Asked::Queued { checkin, at, question } => format!(
            ":mega: Queued for the `{checkin}` audience, {}: \"{question}\". Answers show up in search, exports and the digest; `fieldnotes status` shows who answered.",
            when(at)
        ),
        Asked::AlreadyQueued { checkin, at } => format!(
            ":mega: Already queued for the `{checkin}` audience, {}: nothing more was sent.",
            when(at)
        ),
        Asked::Refused(why) => why,
        Asked::NoCheckins => {
            ":warning: There is no check-in in the config whose audience could get a question."
                .into()
        }
        Asked::Invalid(why) => format!(":warning: {why}"),
        Asked::NotSaved { question } => format!(
            ":warning: We couldn't queue that just now, so here it is to send again:\n>{question}"
        ),
    }
}
