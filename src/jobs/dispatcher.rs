//! The dispatcher: claims due prompts and reminders with a lease and DMs
//! them, paced to stay inside Slack's limits on its own (a workspace-wide
//! rate shared among live workers, and at most one message per second per
//! DM), retrying what Slack asks us to retry. It also closes answer windows.
//!
//! Exactly once: a row is claimed with a lease before its message is sent
//! and marked sent after. A live worker keeps extending the leases of the
//! rows it holds; right before posting it renews the lease once more (and
//! stops if it was lost) and flags the row uncertain. A row whose attempt
//! may have reached Slack unrecorded (the worker died mid-post, or the call
//! timed out) is therefore uncertain, and the next attempt first looks in
//! the DM for the message's metadata mark before sending again.

use super::backoff;
use crate::slack::pacer::epoch_ms;
use crate::slack::Bot;
use crate::slack::{views, MessageMark, Pacer, SlackCallError};
use crate::store::{MessageKind, SendJob};
use anyhow::Result;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// What one dispatcher step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchOutcome {
    pub claimed: usize,
    pub sent: usize,
    /// Found already delivered by an earlier attempt (not sent again).
    pub recovered: usize,
    pub skipped: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Most rows claimed at once.
const BATCH: usize = 50;
/// Concurrent Slack calls per worker.
const IN_FLIGHT: usize = 8;
/// Slack's chat.postMessage limit: one message per second per channel.
const PER_CHANNEL_GAP: Duration = Duration::from_secs(1);

pub struct Dispatcher {
    pacer: Arc<Pacer>,
    /// Configured workspace rate and the live worker count it is shared by.
    shape: Mutex<(u32, u32)>,
    /// When each DM last got a message from this worker.
    last_sent: Mutex<HashMap<String, Instant>>,
    /// Rows this worker has claimed and is still working on: only these
    /// leases are kept alive (a row left behind by a failed write expires
    /// and is taken up again).
    held: Mutex<std::collections::HashSet<(MessageKind, i64)>>,
}

/// The `kind` label of the prompt metrics.
fn kind_label(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Prompt => "prompt",
        MessageKind::Reminder(_) => "reminder",
    }
}

enum Sent {
    Ok,
    Recovered,
    Skipped,
    Retry,
    Failed,
}

impl Dispatcher {
    pub fn new(state: &Bot) -> Self {
        let per_min = state.config().bot.workspace_messages_per_minute;
        // Slack allows "N per minute" with bursts of an undocumented, small
        // size: the bucket keeps under the configured rate with half a
        // second's burst (see `Pacer::for_limit`).
        let pacer = Arc::new(Pacer::for_limit(per_min as f64));
        // A 429 on chat.postMessage pauses this bucket for every sender.
        state
            .slack
            .limits()
            .register("chat.postMessage", pacer.clone());
        Self {
            pacer,
            shape: Mutex::new((per_min, 1)),
            last_sent: Mutex::new(HashMap::new()),
            held: Mutex::new(Default::default()),
        }
    }

    /// Records this worker as alive and re-shares Slack's limits among the
    /// live workers (also picks up a reloaded workspace rate).
    pub async fn heartbeat(&self, state: &Bot) -> Result<u32> {
        let cfg = state.config();
        let now_ms = state.now_ms();
        let live_window = (cfg.bot.tick.as_millis() as i64 * 3).max(10_000);
        let n = state
            .store
            .heartbeat(&state.worker_id, now_ms, now_ms - live_window)
            .await? as u32;
        // Slack's 429 pauses are shared: publish ours, adopt the others'.
        let mine = state.slack.limits().take_new_pauses();
        match state.store.share_rate_pauses(&mine, epoch_ms()).await {
            Ok(all) => {
                for (method, until) in all {
                    state.slack.limits().adopt_pause(&method, until);
                }
            }
            Err(e) => warn!(error = %format!("{e:#}"), "sharing rate-limit pauses failed"),
        }
        let rate = cfg.bot.workspace_messages_per_minute;
        let changed = {
            let mut shape = self.shape.lock().expect("shape lock");
            let changed = *shape != (rate, n);
            *shape = (rate, n);
            changed
        };
        if changed {
            let share = rate as f64 / n as f64;
            self.pacer.set_limit(share);
            state.slack.limits().set_workers(n);
            info!(
                workers = n,
                per_minute = share,
                "sharing Slack's limits among live workers"
            );
        }
        Ok(n)
    }

    /// Waits for the pacer, claims as many due messages as it allows, and
    /// sends them.
    pub async fn run_once(&self, state: &Arc<Bot>) -> Result<DispatchOutcome> {
        let tokens = self.pacer.acquire_up_to(BATCH).await;
        let cfg = state.config();
        let now_ms = state.now_ms();
        let jobs = match state
            .store
            .claim_sends(
                &state.worker_id,
                now_ms,
                cfg.bot.lease.as_millis() as i64,
                tokens as i64,
            )
            .await
        {
            Ok(j) => j,
            Err(e) => {
                self.pacer.give_back(tokens);
                return Err(e);
            }
        };
        self.pacer.give_back(tokens - jobs.len());
        self.held
            .lock()
            .expect("held lock")
            .extend(jobs.iter().map(|j| (j.kind, j.row_id)));
        let mut out = DispatchOutcome {
            claimed: jobs.len(),
            ..Default::default()
        };
        let results: Vec<Sent> = futures::stream::iter(jobs)
            .map(|job| {
                let state = state.clone();
                async move {
                    let key = (job.kind, job.row_id);
                    let r = self.send_one(&state, job).await;
                    self.held.lock().expect("held lock").remove(&key);
                    r
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for r in results {
            match r {
                Sent::Ok => out.sent += 1,
                Sent::Recovered => out.recovered += 1,
                Sent::Skipped => out.skipped += 1,
                Sent::Retry => out.retried += 1,
                Sent::Failed => out.failed += 1,
            }
        }
        Ok(out)
    }

    /// Waits until this DM may get another message (1 per second).
    async fn space_channel(&self, user: &str) {
        loop {
            let wait = {
                let mut m = self.last_sent.lock().expect("last_sent lock");
                let now = Instant::now();
                match m.get(user) {
                    Some(t) if now.duration_since(*t) < PER_CHANNEL_GAP => {
                        PER_CHANNEL_GAP - now.duration_since(*t)
                    }
                    _ => {
                        m.insert(user.to_string(), now);
                        if m.len() > 50_000 {
                            m.retain(|_, t| now.duration_since(*t) < PER_CHANNEL_GAP);
                        }
                        return;
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    #[tracing::instrument(skip_all, fields(prompt = job.prompt_id, user = %job.user_id, checkin = %job.checkin, kind = ?job.kind))]
    async fn send_one(&self, state: &Bot, job: SendJob) -> Sent {
        let cfg = state.config();
        let store = &state.store;
        let owner = &state.worker_id;
        let now_ms = state.now_ms();
        let skip = |reason: String| async move {
            if let Err(e) = store
                .mark_skipped(job.kind, job.row_id, owner, &reason)
                .await
            {
                warn!(error = %format!("{e:#}"), "recording a skip failed");
            }
            // A skipped row used no Slack call: hand its token back.
            self.pacer.give_back(1);
            Sent::Skipped
        };
        // Reasons not to send at all.
        if job.answered {
            return skip(match job.kind {
                MessageKind::Prompt => {
                    "answered early: a note came in before the prompt went out".into()
                }
                MessageKind::Reminder(_) => "answered".into(),
            })
            .await;
        }
        if let MessageKind::Reminder(_) = job.kind {
            match job.prompt_status.as_str() {
                "sent" => {}
                "queued" | "sending" => {
                    // The prompt is still on its way (a backlog); remind later.
                    let _ = store
                        .defer_reminder(job.row_id, owner, now_ms + 60_000)
                        .await;
                    self.pacer.give_back(1);
                    return Sent::Retry;
                }
                _ => return skip("the prompt was not delivered".into()).await,
            }
            if job.closes_at_ms.is_some_and(|c| c <= now_ms) {
                return skip("the answer window closed".into()).await;
            }
        }
        match store.paused_until(&job.user_id, now_ms).await {
            Ok(Some(until)) => {
                let until = chrono::DateTime::from_timestamp_millis(until)
                    .map(|u| u.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                return skip(format!("paused: until {until}")).await;
            }
            Ok(None) => {}
            Err(e) => {
                warn!(error = %format!("{e:#}"), "reading pauses failed; will retry");
                let _ = store
                    .mark_send_error(
                        job.kind,
                        job.row_id,
                        owner,
                        &format!("{e:#}"),
                        Some(now_ms + 5_000),
                        false,
                    )
                    .await;
                return Sent::Retry;
            }
        }

        let mark = MessageMark {
            kind: match job.kind {
                MessageKind::Prompt => "prompt".into(),
                MessageKind::Reminder(_) => "reminder".into(),
            },
            prompt_id: job.prompt_id,
            seq: match job.kind {
                MessageKind::Prompt => 0,
                MessageKind::Reminder(n) => n,
            },
        };
        if job.uncertain {
            match self.find_earlier_attempt(state, &job, &mark).await {
                Ok(Some((channel, ts))) => {
                    info!("an earlier attempt was delivered; recorded, not resent");
                    let _ = store
                        .mark_sent(job.kind, job.row_id, owner, &channel, &ts, now_ms)
                        .await;
                    self.pacer.give_back(1);
                    return Sent::Recovered;
                }
                Ok(None) => {}
                Err(SlackCallError::Api(code)) => {
                    // The DM cannot be read (say, the im:history scope is
                    // missing): a possible duplicate beats a lost prompt.
                    warn!(code = %code, "cannot check the DM for an earlier attempt; sending");
                }
                Err(e) => return self.failed_call(state, &job, e, true).await,
            }
        }

        let (text, blocks) = match job.kind {
            MessageKind::Prompt => {
                views::prompt_message(&job.question, job.prompt_id, &cfg.bot.name)
            }
            MessageKind::Reminder(_) => {
                let closes = job
                    .closes_at_ms
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|c| {
                        format!(
                            "<!date^{}^{{date_short_pretty}} at {{time}}|{}>",
                            c.timestamp(),
                            c.format("%Y-%m-%d %H:%M UTC")
                        )
                    })
                    .unwrap_or_else(|| "the end of the check-in".into());
                views::reminder_message(&job.question, job.prompt_id, &closes, &cfg.bot.name)
            }
        };
        self.space_channel(&job.user_id).await;
        // The last word on ownership comes right before the side effect: a
        // worker whose lease ran out (a slow check, a long pause) must not
        // send what another worker has taken over. The Slack call's timeout
        // is shorter than the lease, so the renewed lease covers the post.
        let lease_ms = cfg.bot.lease.as_millis() as i64;
        match store
            .start_send(job.kind, job.row_id, owner, state.now_ms() + lease_ms)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                warn!("lease lost before sending; another worker has it");
                return Sent::Retry;
            }
            Err(e) => {
                warn!(error = %format!("{e:#}"), "renewing the lease failed; will retry");
                return Sent::Retry;
            }
        }
        // Posting to the user id lands in the bot's DM with them, so no
        // conversations.open round trip (Tier 3) is needed per person.
        match state
            .slack
            .post_message_with_token(&job.user_id, None, &text, blocks, Some(&mark))
            .await
        {
            Ok(posted) => {
                let now_ms = state.now_ms();
                match store
                    .mark_sent(
                        job.kind,
                        job.row_id,
                        owner,
                        &posted.channel,
                        &posted.ts,
                        now_ms,
                    )
                    .await
                {
                    Ok(true) => {
                        info!("sent");
                        let lag = Duration::from_millis((now_ms - job.due_at_ms).max(0) as u64);
                        crate::metrics::prompt_sent(kind_label(job.kind), lag);
                        Sent::Ok
                    }
                    Ok(false) => {
                        warn!("lease lost before the message was marked sent");
                        Sent::Retry
                    }
                    Err(e) => {
                        // The row stays 'sending'; when the lease runs out the
                        // next attempt finds this message by its mark.
                        warn!(error = %format!("{e:#}"), "sent but not recorded");
                        Sent::Retry
                    }
                }
            }
            Err(e) => {
                let maybe_delivered = matches!(e, SlackCallError::Transient(_));
                self.failed_call(state, &job, e, maybe_delivered).await
            }
        }
    }

    /// Extends the leases of the rows this worker is working on.
    pub async fn keep_leases(&self, state: &Bot) -> Result<()> {
        let lease = state.config().bot.lease.as_millis() as i64;
        let held: Vec<(MessageKind, i64)> = self
            .held
            .lock()
            .expect("held lock")
            .iter()
            .copied()
            .collect();
        state
            .store
            .extend_leases(&state.worker_id, &held, state.now_ms() + lease)
            .await
    }

    /// Looks for the message an earlier attempt may have posted.
    async fn find_earlier_attempt(
        &self,
        state: &Bot,
        job: &SendJob,
        mark: &MessageMark,
    ) -> Result<Option<(String, String)>, SlackCallError> {
        let cached = state
            .store
            .known_dm_channel(&job.user_id)
            .await
            .ok()
            .flatten();
        let channel = match cached {
            Some(c) => c,
            None => {
                let c = state.slack.open_dm(&job.user_id).await?;
                let _ = state.store.set_dm_channel(&job.user_id, &c).await;
                c
            }
        };
        let found = state.slack.find_marked(&channel, mark, 3).await?;
        Ok(found.map(|ts| (channel, ts)))
    }

    async fn failed_call(
        &self,
        state: &Bot,
        job: &SendJob,
        e: SlackCallError,
        maybe_delivered: bool,
    ) -> Sent {
        let cfg = state.config();
        let now_ms = state.now_ms();
        if let SlackCallError::Api(code) = &e {
            if matches!(
                code.as_str(),
                "user_disabled" | "user_not_found" | "account_inactive" | "cannot_dm_bot"
            ) {
                // They left (or are a bot): not a delivery failure, and not
                // someone who should count against participation.
                info!(code = %code, "recipient is gone; skipped");
                if let Err(err) = state
                    .store
                    .mark_skipped(
                        job.kind,
                        job.row_id,
                        &state.worker_id,
                        &format!("left: Slack says {code}"),
                    )
                    .await
                {
                    warn!(error = %format!("{err:#}"), "recording a skip failed");
                }
                return Sent::Skipped;
            }
        }
        let last = job.attempts >= cfg.bot.max_send_attempts as i64;
        let retry_at = match &e {
            SlackCallError::RateLimited(d) => Some(now_ms + d.as_millis() as i64),
            SlackCallError::Transient(_) if !last => {
                Some(now_ms + backoff(job.attempts).as_millis() as i64)
            }
            _ => None,
        };
        warn!(error = %e, attempt = job.attempts, retry = retry_at.is_some(), "not delivered");
        if let Err(err) = state
            .store
            .mark_send_error(
                job.kind,
                job.row_id,
                &state.worker_id,
                &e.to_string(),
                retry_at,
                maybe_delivered || job.uncertain,
            )
            .await
        {
            warn!(error = %format!("{err:#}"), "recording the delivery error failed");
        }
        if retry_at.is_some() {
            Sent::Retry
        } else {
            crate::metrics::prompt_failed(kind_label(job.kind));
            Sent::Failed
        }
    }

    /// Edits the messages of prompts whose answer window closed unanswered
    /// (chat.update, paced at Tier 3), and closes the rest.
    pub async fn close_windows(&self, state: &Bot) -> Result<usize> {
        let cfg = state.config();
        let now_ms = state.now_ms();
        let closing = state
            .store
            .claim_closing(
                &state.worker_id,
                now_ms,
                cfg.bot.lease.as_millis() as i64,
                20,
            )
            .await?;
        let mut closed = 0;
        for p in closing {
            let (text, blocks) = views::prompt_closed(&p.question);
            match state
                .slack
                .update_message(&p.channel_id, &p.message_ts, &text, blocks)
                .await
            {
                Ok(()) | Err(SlackCallError::Api(_)) => {
                    // An Api error (message deleted, channel gone) will not
                    // get better: the window is closed either way.
                    state
                        .store
                        .mark_closed(p.id, &state.worker_id, state.now_ms())
                        .await?;
                    closed += 1;
                }
                Err(SlackCallError::RateLimited(d)) => {
                    state
                        .store
                        .release_closing(p.id, &state.worker_id, now_ms + d.as_millis() as i64)
                        .await?;
                }
                Err(e) => {
                    warn!(prompt = p.id, error = %e, "closing a prompt's message failed; will retry");
                    state
                        .store
                        .release_closing(p.id, &state.worker_id, now_ms + 30_000)
                        .await?;
                }
            }
        }
        Ok(closed)
    }
}
