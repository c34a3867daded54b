//! Translates Slack payloads (as slack-morphism types) into domain calls.
//! Both transports (Socket Mode and HTTP) call these same functions, so the
//! behaviour cannot drift between them. Each handler answers fast: it opens a
//! modal or saves a row, then spawns anything slow after the ack.

use super::client::with_retries;
use super::views::{self, ModalMeta, NOTE_MODAL, OPEN_FORM_ACTION};
use crate::app::AppState;
use crate::domain::{answers_text, Answer, NewInsight, Source};
use anyhow::{Context, Result};
use slack_morphism::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::{info, warn};

/// Handles an interactivity payload; the returned response is the ack body.
#[tracing::instrument(skip_all)]
pub async fn on_interaction(
    state: &Arc<AppState>,
    ev: SlackInteractionEvent,
) -> Result<SlackInteractionResponse> {
    match ev {
        SlackInteractionEvent::BlockActions(a) => {
            on_block_actions(state, a).await?;
            Ok(SlackInteractionResponse::Empty)
        }
        SlackInteractionEvent::ViewSubmission(v) => on_view_submission(state, v).await,
        SlackInteractionEvent::ViewClosed(_) => Ok(SlackInteractionResponse::Empty),
        other => {
            info!(kind = ?std::mem::discriminant(&other), "interaction not handled yet");
            Ok(SlackInteractionResponse::Empty)
        }
    }
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
    for action in a.actions.iter().flatten() {
        match action.action_id.0.as_str() {
            views::HOME_PAUSE_1W | views::HOME_PAUSE_2W => {
                let len = if action.action_id.0 == views::HOME_PAUSE_1W {
                    "1w"
                } else {
                    "2w"
                };
                let tz = person_tz(state, &user).await;
                if let Ok(until) = crate::commands::parse_pause(len, state.clock.now(), tz) {
                    state
                        .store
                        .set_pause(&user, until.timestamp_millis(), state.now_ms(), "home")
                        .await?;
                    info!(user, %until, "paused from App Home");
                }
                publish_home(state, &user).await?;
                continue;
            }
            views::HOME_RESUME => {
                state.store.clear_pause(&user, state.now_ms()).await?;
                info!(user, "resumed from App Home");
                publish_home(state, &user).await?;
                continue;
            }
            OPEN_FORM_ACTION => {}
            _ => continue,
        }
        let Some(prompt_id) = action.value.as_deref().and_then(|v| v.parse::<i64>().ok()) else {
            warn!("open-form button without a prompt id");
            continue;
        };
        let prompt = state.store.prompt(prompt_id).await?;
        let cfg = state.config();
        let (checkin, text) = match &prompt {
            // Only the rep the prompt was sent to may answer it.
            Some(p) if p.user_id == user => (cfg.checkin(&p.checkin), p.question.clone()),
            Some(_) => {
                warn!(user, prompt_id, "a user clicked someone else's prompt");
                (None, "What did you hear from buyers?".to_string())
            }
            None => (None, "What did you hear from buyers?".to_string()),
        };
        let meta = ModalMeta {
            prompt_id: prompt.as_ref().filter(|p| p.user_id == user).map(|p| p.id),
            checkin: checkin.map(|c| c.name.clone()),
        };
        let view = views::note_modal(&cfg, checkin, &meta, Some(&text));
        // trigger_id expires 3 s after the click: open the modal before anything else.
        state
            .slack
            .open_view(&a.trigger_id.0, view)
            .await
            .with_context(|| format!("opening the note modal for prompt {prompt_id}"))?;
    }
    Ok(())
}

async fn on_view_submission(
    state: &Arc<AppState>,
    v: SlackInteractionViewSubmissionEvent,
) -> Result<SlackInteractionResponse> {
    let SlackView::Modal(modal) = &v.view.view else {
        return Ok(SlackInteractionResponse::Empty);
    };
    if modal.callback_id.as_ref().map(|c| c.0.as_str()) != Some(NOTE_MODAL) {
        return Ok(SlackInteractionResponse::Empty);
    }
    let user = v.user.id.to_string();
    let meta: ModalMeta = modal
        .private_metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or(ModalMeta {
            prompt_id: None,
            checkin: None,
        });
    let values = serde_json::to_value(v.view.state_params.state.as_ref().map(|s| &s.values))
        .unwrap_or_default();
    let mut sub = views::parse_submission(&values);
    let cfg = state.config();
    let checkin = meta.checkin.as_deref().and_then(|c| cfg.checkin(c));
    // Keep the form's order, whatever order the state map came in.
    if let Some(c) = checkin {
        sub.answers.sort_by_key(|(qid, _)| {
            c.questions
                .iter()
                .position(|q| &q.id == qid)
                .unwrap_or(usize::MAX)
        });
    }
    let answers: Vec<Answer> = sub
        .answers
        .iter()
        .map(|(qid, text)| Answer {
            question_id: qid.clone(),
            question: checkin
                .and_then(|c| c.questions.iter().find(|q| &q.id == qid))
                .map(|q| q.label.clone())
                .unwrap_or_else(|| "Note".into()),
            text: text.clone(),
        })
        .collect();
    let first_block = sub
        .answers
        .first()
        .map(|(q, _)| format!("{}{q}", views::QUESTION_PREFIX));
    let text = answers_text(&answers);
    if text.is_empty() {
        return Ok(errors(first_block, "Write a few words: what did you hear?"));
    }
    // Keep only tags the config knows, so a stale form cannot inject ids.
    let tags: Vec<String> = sub
        .tags
        .into_iter()
        .filter(|t| cfg.tag(t).is_some())
        .collect();
    let mut auto = state.tagger().tag(&text);
    if let Some(c) = checkin {
        for a in &answers {
            if a.text.is_empty() {
                continue;
            }
            if let Some(q) = c.questions.iter().find(|q| q.id == a.question_id) {
                auto.extend(q.tags.iter().cloned());
            }
        }
    }
    auto.sort();
    auto.dedup();
    let insight = NewInsight {
        user_id: user.clone(),
        source: Source::Checkin,
        prompt_id: meta.prompt_id,
        checkin: meta.checkin.clone(),
        answers,
        text,
        tags,
        auto_tags: auto,
        created_at_ms: state.now_ms(),
        dedupe_key: Some(format!("view:{}", v.view.state_params.id.0)),
    };
    let saved = match state.store.save_insight(&insight).await {
        Ok(s) => s,
        Err(e) => {
            // The modal stays open with the rep's text in it.
            warn!(error = %format!("{e:#}"), user, "saving an insight failed");
            return Ok(errors(first_block, "We couldn't save this just now. Your text is still here: press Save again in a moment."));
        }
    };
    info!(user, insight = saved.id, "insight saved from the modal");
    thank_answered(state, &saved);
    Ok(SlackInteractionResponse::Empty)
}

/// Edits every prompt message a saved insight answered into a thank-you,
/// after the ack.
fn thank_answered(state: &Arc<AppState>, saved: &crate::store::SavedInsight) {
    for p in saved.answered.iter().filter(|p| p.sent) {
        let (state, pid, id) = (state.clone(), p.id, saved.id);
        tokio::spawn(async move {
            if let Err(e) = mark_prompt_answered(&state, pid, id).await {
                warn!(error = %format!("{e:#}"), prompt = pid, "updating the answered prompt failed");
            }
        });
    }
}

/// A person's Slack timezone (from the shared profile cache), falling back
/// to the digest's.
async fn person_tz(state: &AppState, user: &str) -> chrono_tz::Tz {
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

/// Publishes a person's App Home with their pause state.
pub async fn publish_home(state: &AppState, user: &str) -> Result<()> {
    let now_ms = state.now_ms();
    let paused = state.store.paused_until(user, now_ms).await?;
    let until = match paused {
        Some(ms) => {
            let tz = person_tz(state, user).await;
            chrono::DateTime::from_timestamp_millis(ms).map(|u| {
                u.with_timezone(&tz)
                    .format("%a %-d %b %Y, %H:%M")
                    .to_string()
            })
        }
        None => None,
    };
    let open = state.store.open_prompt_count(user, now_ms).await?;
    let view = views::home(&state.config().bot.name, until.as_deref(), open as usize);
    state
        .slack
        .publish_home(user, view)
        .await
        .context("publishing App Home")?;
    Ok(())
}

fn errors(block: Option<String>, msg: &str) -> SlackInteractionResponse {
    let mut errs = HashMap::new();
    errs.insert(
        block.unwrap_or_else(|| format!("{}note", views::QUESTION_PREFIX)),
        msg.to_string(),
    );
    SlackInteractionResponse::ViewSubmission(SlackViewSubmissionResponse::Errors(
        SlackViewSubmissionErrorsResponse::new(errs),
    ))
}

async fn mark_prompt_answered(state: &AppState, prompt_id: i64, insight_id: i64) -> Result<()> {
    let Some(p) = state.store.prompt(prompt_id).await? else {
        return Ok(());
    };
    if let (Some(ch), Some(ts)) = (p.channel_id, p.message_ts) {
        let (text, blocks) = views::prompt_answered(&p.question, insight_id);
        with_retries(5, || {
            state.slack.update_message(&ch, &ts, &text, blocks.clone())
        })
        .await?;
    }
    Ok(())
}

/// Handles a slash command; the returned response is the ephemeral reply.
#[tracing::instrument(skip_all, fields(user = %ev.user_id))]
pub async fn on_command(
    state: &Arc<AppState>,
    ev: SlackCommandEvent,
) -> Result<SlackCommandEventResponse> {
    let text = ev.text.as_deref().unwrap_or("").trim();
    let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let reply = match verb {
        "note" if !rest.trim().is_empty() => {
            let body = rest.trim().to_string();
            let insight = NewInsight {
                user_id: ev.user_id.to_string(),
                source: Source::Command,
                prompt_id: None,
                checkin: None,
                answers: vec![],
                auto_tags: state.tagger().tag(&body),
                text: body.clone(),
                tags: vec![],
                created_at_ms: state.now_ms(),
                dedupe_key: Some(format!("command:{}", ev.trigger_id.0)),
            };
            match state.store.save_insight(&insight).await {
                Ok(saved) => {
                    let id = saved.id;
                    thank_answered(state, &saved);
                    let tags = if insight.auto_tags.is_empty() {
                        "no tags yet".to_string()
                    } else {
                        insight.auto_tags.join(", ")
                    };
                    format!(":white_check_mark: Saved as note #{id} ({tags}). Thank you!")
                }
                Err(e) => {
                    warn!(error = %format!("{e:#}"), "saving a /fieldnotes note failed");
                    format!(":warning: We couldn't save that note just now, so here it is to send again:\n>{}", body.replace('\n', "\n>"))
                }
            }
        }
        "note" => format!(
            "Add what you heard after `{} note`, e.g. `{} note Acme came up on price again`.",
            ev.command.0, ev.command.0
        ),
        "pause" => {
            let user = ev.user_id.to_string();
            let tz = person_tz(state, &user).await;
            match crate::commands::parse_pause(rest, state.clock.now(), tz) {
                Ok(until) => match state
                    .store
                    .set_pause(&user, until.timestamp_millis(), state.now_ms(), "command")
                    .await
                {
                    Ok(()) => {
                        info!(user, %until, "paused");
                        format!(
                            ":double_vertical_bar: Paused until {}: no check-ins or reminders till then, and you won't count against participation. `{} resume` ends it early.",
                            until.with_timezone(&tz).format("%a %-d %b %Y, %H:%M"),
                            ev.command.0
                        )
                    }
                    Err(e) => {
                        warn!(error = %format!("{e:#}"), "saving a pause failed");
                        ":warning: We couldn't save your pause just now; please try again in a moment.".into()
                    }
                },
                Err(msg) => format!(":warning: {msg}"),
            }
        }
        "resume" => match state
            .store
            .clear_pause(ev.user_id.as_ref(), state.now_ms())
            .await
        {
            Ok(true) => ":arrow_forward: Check-ins are back on. Welcome back!".into(),
            Ok(false) => "You weren't paused: check-ins are on.".into(),
            Err(e) => {
                warn!(error = %format!("{e:#}"), "ending a pause failed");
                ":warning: We couldn't resume just now; please try again in a moment.".into()
            }
        },
        "ask" => ask(state, &ev, rest).await,
        _ => views::help_text(&ev.command.0),
    };
    Ok(
        SlackCommandEventResponse::new(SlackMessageContent::new().with_text(reply))
            .with_response_type(SlackMessageResponseType::Ephemeral),
    )
}

/// Handles an Events API callback, once per event_id.
#[tracing::instrument(skip_all)]
pub async fn on_push_event(state: &Arc<AppState>, ev: SlackPushEventCallback) -> Result<()> {
    if !state
        .store
        .record_event(&ev.event_id.0, state.now_ms())
        .await?
    {
        info!(event_id = %ev.event_id.0, "duplicate event delivery ignored");
        return Ok(());
    }
    match ev.event {
        SlackEventCallbackBody::AppHomeOpened(h) => {
            publish_home(state, h.user.as_ref()).await?;
        }
        SlackEventCallbackBody::Message(_) => {
            info!(event_id = %ev.event_id.0, "event recorded");
        }
        other => info!(kind = ?std::mem::discriminant(&other), "event ignored"),
    }
    Ok(())
}

/// `/fieldnotes ask`: marketers and leads send a one-off question to a
/// check-in's audience, now or later; everyone else is told why not.
async fn ask(state: &Arc<AppState>, ev: &SlackCommandEvent, rest: &str) -> String {
    let cfg = state.config();
    let user = ev.user_id.to_string();
    if !cfg.roles.marketers.contains(&user) && !cfg.roles.leads.contains(&user) {
        info!(user, "ask refused: not a marketer or lead");
        return ":no_entry: Only marketers and team leads can send a one-off question to the sales team. If you should be able to, ask a team lead to add you under `[roles]` in the Fieldnotes config.".into();
    }
    if cfg.checkins.is_empty() {
        return ":warning: There is no check-in in the config whose audience could get a question."
            .into();
    }
    let names: Vec<&str> = cfg.checkins.iter().map(|c| c.name.as_str()).collect();
    let tz = person_tz(state, &user).await;
    let now = state.clock.now();
    let a = match crate::commands::parse_ask(rest, &names, now, tz) {
        Ok(a) => a,
        Err(msg) => return format!(":warning: {msg}"),
    };
    let checkin = a.checkin.clone().unwrap_or_else(|| names[0].to_string());
    match crate::jobs::planner::queue_checkin(
        &state.store,
        &cfg,
        &checkin,
        Some(&a.question),
        now,
        a.at,
    )
    .await
    {
        Ok(key) => {
            info!(user, checkin, run = %key, "one-off question queued");
            let when = match a.at {
                Some(at) => format!("at {}", at.with_timezone(&tz).format("%a %-d %b, %H:%M %Z")),
                None => "now".into(),
            };
            format!(
                ":mega: Queued for the `{checkin}` audience, {when}: \"{}\". Answers show up in search, exports and the digest; `fieldnotes status` shows who answered.",
                a.question
            )
        }
        Err(e) => {
            warn!(error = %format!("{e:#}"), "queueing a question failed");
            format!(
                ":warning: We couldn't queue that just now, so here it is to send again:\n>{}",
                a.question
            )
        }
    }
}
