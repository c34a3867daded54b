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
        if action.action_id.0 != OPEN_FORM_ACTION {
            continue;
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
    let id = match state.store.save_insight(&insight).await {
        Ok((id, _new)) => id,
        Err(e) => {
            // The modal stays open with the rep's text in it.
            warn!(error = %format!("{e:#}"), user, "saving an insight failed");
            return Ok(errors(first_block, "We couldn't save this just now. Your text is still here: press Save again in a moment."));
        }
    };
    info!(user, insight = id, "insight saved from the modal");
    if let Some(pid) = meta.prompt_id {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = mark_prompt_answered(&state, pid, id).await {
                warn!(error = %format!("{e:#}"), prompt = pid, "updating the answered prompt failed");
            }
        });
    }
    Ok(SlackInteractionResponse::Empty)
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
                Ok((id, _)) => {
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
        SlackEventCallbackBody::Message(_) | SlackEventCallbackBody::AppHomeOpened(_) => {
            info!(event_id = %ev.event_id.0, "event recorded");
        }
        other => info!(kind = ?std::mem::discriminant(&other), "event ignored"),
    }
    Ok(())
}
