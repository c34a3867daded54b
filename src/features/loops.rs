//! Closing the loop with reps (issue 13): a marketer's **Acting on it**,
//! **Thanks** or **Ask a follow-up** on a digest quote or evidence item
//! becomes one `loop_actions` row per note and one relayed DM per rep
//! (queued in the same transaction, sent by `jobs::dms`). The rep's answer,
//! in the DM's thread or its form, is a follow-up note on the same note,
//! tagged like any, and the marketer is told. When the digests are
//! anonymous the marketer never learns who the rep is, unless the rep
//! chooses to say.
//!
//! Every entry point checks the Slack user on every call: the role for a
//! press, the rep for an answer or a reveal. What is refused changes
//! nothing and says why.

use super::UserError;
use crate::context::Context;
use crate::domain::{Insight, Source, SourceMessage};
use crate::roles::Permission;
use crate::store::{LoopActionRow, NewDm, NewLoopAction, SavedInsight};
use serde_json::{json, Value};
use tracing::info;

/// Button action ids on digest quotes and evidence: the value is
/// `digest|id,id,…`.
pub const ACTING: &str = "loop_acting";
pub const THANKS: &str = "loop_thanks";
pub const ASK: &str = "loop_ask";
/// In the relay DM: answer in a form, and reveal who you are (value: the
/// first action's id).
pub const REPLY_FORM: &str = "loop_reply";
pub const REVEAL: &str = "loop_reveal";
/// Notes one press may act on (an evidence line shows five).
pub const MAX_NOTES: usize = 5;
/// Characters a marketer's text or a rep's answer may have.
pub const MAX_TEXT: usize = 3000;

/// What a marketer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Acting,
    Thanks,
    Ask,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Acting => "acting",
            Kind::Thanks => "thanks",
            Kind::Ask => "ask",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "acting" => Kind::Acting,
            "thanks" => Kind::Thanks,
            "ask" => Kind::Ask,
            _ => return None,
        })
    }

    /// From a button's action id.
    pub fn of_action(action_id: &str) -> Option<Kind> {
        Some(match action_id {
            ACTING => Kind::Acting,
            THANKS => Kind::Thanks,
            ASK => Kind::Ask,
            _ => return None,
        })
    }

    /// "is acting on", for the rep's App Home and the digest.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Acting => "Acting on it",
            Kind::Thanks => "Thanks",
            Kind::Ask => "Follow-up question",
        }
    }

    pub fn emoji(self) -> &'static str {
        match self {
            Kind::Acting => ":hammer_and_wrench:",
            Kind::Thanks => ":pray:",
            Kind::Ask => ":speech_balloon:",
        }
    }
}

/// A button's target: the digest it was in and the notes it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub digest: String,
    pub notes: Vec<i64>,
}

impl Target {
    /// `digest|12,15`; `None` for anything else (a forged value).
    pub fn parse(value: &str) -> Option<Target> {
        let (digest, ids) = value.split_once('|')?;
        if digest.is_empty() || digest.len() > 100 {
            return None;
        }
        let mut notes = Vec::new();
        for id in ids.split(',') {
            let id: i64 = id.trim().parse().ok()?;
            if id <= 0 {
                return None;
            }
            if !notes.contains(&id) {
                notes.push(id);
            }
        }
        if notes.is_empty() || notes.len() > MAX_NOTES {
            return None;
        }
        Some(Target {
            digest: digest.to_string(),
            notes,
        })
    }

    pub fn value(&self) -> String {
        let ids: Vec<String> = self.notes.iter().map(i64::to_string).collect();
        format!("{}|{}", self.digest, ids.join(","))
    }
}

/// One press, as the marketer made it.
#[derive(Debug, Clone)]
pub struct Press<'a> {
    pub actor: &'a str,
    pub kind: Kind,
    pub target: &'a Target,
    pub text: &'a str,
    /// What makes a repeat the same press: a form's view id for a
    /// question (each question is its own); unused for the others, which
    /// are one per marketer and note.
    pub key: &'a str,
}

/// What a press did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acted {
    pub kind: Kind,
    /// Actions recorded now, one per note.
    pub recorded: usize,
    /// Notes this marketer had already done this for.
    pub repeated: usize,
    /// The reps DMed (one DM each).
    pub reps: usize,
    pub anonymous: bool,
}

/// Why a press, an answer or a reveal changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    /// Not a marketer or lead: the refusal names the roles that may.
    #[error("{0}")]
    Refused(String),
    #[error("There is no digest called `{0}`; nothing was sent.")]
    UnknownDigest(String),
    #[error("Note #{0} doesn't exist or was deleted; nothing was sent.")]
    NoNote(i64),
    #[error("Write the question to ask; nothing was sent.")]
    NoQuestion,
    #[error("That is longer than {MAX_TEXT} characters; nothing was sent.")]
    TooLong,
    #[error("That follow-up doesn't exist any more; nothing was saved.")]
    NoAction,
    #[error("Only the rep who shared that note can answer it; nothing was saved.")]
    NotTheRep,
    #[error("Write your answer first; nothing was saved.")]
    Empty,
    #[error("We couldn't save that just now, so here it is to send again:\n>{}", .text.replace('\n', "\n>"))]
    NotSaved {
        text: String,
        #[source]
        cause: anyhow::Error,
    },
}

impl UserError for LoopError {
    fn internal(&self) -> Option<&anyhow::Error> {
        match self {
            LoopError::NotSaved { cause, .. } => Some(cause),
            _ => None,
        }
    }

    fn icon(&self) -> &'static str {
        match self {
            LoopError::Refused(_) => "",
            _ => ":warning:",
        }
    }
}

fn internal(text: &str) -> impl FnOnce(anyhow::Error) -> LoopError + '_ {
    move |cause| LoopError::NotSaved {
        text: text.to_string(),
        cause,
    }
}

/// Whether a marketer may see which rep wrote a note: not when any digest
/// is anonymous (as search).
pub fn anonymous(cfg: &crate::config::Config) -> bool {
    super::search::anonymous(cfg)
}

/// Checks who pressed and what, before a form opens: the role, the digest,
/// and that every note is there. Audited when refused.
pub async fn check_press(
    ctx: &Context,
    actor: &str,
    kind: Kind,
    target: &Target,
) -> Result<Vec<Insight>, LoopError> {
    let cfg = ctx.config();
    crate::audit::require(
        &ctx.store,
        &cfg,
        ctx.now_ms(),
        actor,
        Permission::CloseLoop,
        "loop",
        json!({"kind": kind.as_str(), "notes": target.notes}),
    )
    .await
    .map_err(LoopError::Refused)?;
    if !cfg.digests.iter().any(|d| d.name == target.digest) {
        return Err(LoopError::UnknownDigest(target.digest.clone()));
    }
    let mut notes = Vec::with_capacity(target.notes.len());
    for &id in &target.notes {
        match ctx.store.insight(id).await {
            Ok(Some(n)) => notes.push(n),
            Ok(None) => return Err(LoopError::NoNote(id)),
            Err(e) => return Err(internal("")(e.context("reading a note to act on"))),
        }
    }
    Ok(notes)
}

/// Records a press and queues the DM to each rep. The role and the notes
/// are checked again (a form's submission is a call of its own).
pub async fn act(ctx: &Context, p: &Press<'_>) -> Result<Acted, LoopError> {
    let text = p.text.trim();
    if text.chars().count() > MAX_TEXT {
        return Err(LoopError::TooLong);
    }
    if p.kind == Kind::Ask && text.is_empty() {
        return Err(LoopError::NoQuestion);
    }
    let notes = check_press(ctx, p.actor, p.kind, p.target).await?;
    let anonymous = anonymous(&ctx.config());
    let actions: Vec<NewLoopAction> = notes
        .iter()
        .map(|n| NewLoopAction {
            insight_id: n.id,
            rep_id: n.user_id.clone(),
            actor: p.actor.to_string(),
            kind: p.kind.as_str().to_string(),
            text: text.to_string(),
            digest: Some(p.target.digest.clone()),
            anonymous,
            dedupe_key: match p.kind {
                Kind::Ask => format!("ask:{}:{}", p.key, n.id),
                k => format!("{}:{}:{}", k.as_str(), p.actor, n.id),
            },
        })
        .collect();
    let relay = |rep: &str, new: &[LoopActionRow]| {
        let mine: Vec<&Insight> = notes
            .iter()
            .filter(|n| new.iter().any(|a| a.insight_id == n.id))
            .collect();
        NewDm {
            dedupe_key: format!("relay:{}", new[0].id),
            user_id: rep.to_string(),
            purpose: "relay".into(),
            payload: relay_message(p.actor, p.kind, text, &mine, new[0].id, anonymous).to_string(),
        }
    };
    let rec = ctx
        .store
        .record_loop_actions(&actions, relay, ctx.now_ms())
        .await
        .map_err(internal(text))?;
    let mut reps: Vec<&str> = rec.new.iter().map(|a| a.rep_id.as_str()).collect();
    reps.sort_unstable();
    reps.dedup();
    crate::audit::record(
        &ctx.store,
        ctx.now_ms(),
        &crate::audit::Actor::Slack(p.actor.to_string()),
        "loop",
        json!({"kind": p.kind.as_str(), "notes": p.target.notes, "digest": p.target.digest}),
        &format!("ok: {} recorded, {} repeated", rec.new.len(), rec.repeated),
    )
    .await;
    info!(
        actor = p.actor,
        kind = p.kind.as_str(),
        recorded = rec.new.len(),
        repeated = rec.repeated,
        "loop action"
    );
    Ok(Acted {
        kind: p.kind,
        recorded: rec.new.len(),
        repeated: rec.repeated,
        reps: reps.len(),
        anonymous,
    })
}

/// A note's words, cut for a DM.
pub fn snippet(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn esc(s: &str) -> String {
    crate::digest::render::blocks::esc(s)
}

fn quoted(s: &str) -> String {
    format!(">{}", esc(s).replace('\n', "\n>"))
}

/// A link to a note where it can be read, else its number.
fn note_link(n: &Insight) -> String {
    match n.message.as_ref().and_then(|m| m.permalink.as_deref()) {
        Some(url) if !url.contains(['|', '>']) => format!("<{url}|note #{}>", n.id),
        _ => format!("note #{}", n.id),
    }
}

/// The DM relaying a press to the rep: who, what, their text, the notes
/// with links, and how to answer (or reveal themselves).
pub fn relay_message(
    actor: &str,
    kind: Kind,
    text: &str,
    notes: &[&Insight],
    first_action: i64,
    anonymous: bool,
) -> Value {
    let what = match kind {
        Kind::Acting => "is acting on what you shared",
        Kind::Thanks => "says thanks for what you shared",
        Kind::Ask => "has a question about what you shared",
    };
    let mut lines = vec![format!(
        "{} <@{actor}> from marketing {what}:",
        kind.emoji()
    )];
    for n in notes {
        lines.push(format!(
            "{}\n— {}",
            quoted(&snippet(&n.text, 300)),
            note_link(n)
        ));
    }
    let mut blocks =
        vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": lines.join("\n")}})];
    if !text.is_empty() {
        let label = match kind {
            Kind::Ask => "*Their question:*",
            _ => "*What marketing will do:*",
        };
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("{label}\n{}", quoted(&snippet(text, 2800)))}}));
    }
    let ask = match kind {
        Kind::Ask => "Reply in this thread to answer, or use the form.",
        _ => "Anything to add? Reply in this thread, or use the form.",
    };
    let mut context = ask.to_string();
    if anonymous {
        context.push_str(" Marketing sees your answer without your name unless you choose to tell them it was you.");
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
    let mut buttons = vec![json!({"type": "button", "action_id": REPLY_FORM,
        "text": {"type": "plain_text", "text": "Answer in a form"}, "value": first_action.to_string()})];
    if anonymous {
        buttons.push(json!({"type": "button", "action_id": REVEAL,
            "text": {"type": "plain_text", "text": "Tell them it was me"}, "value": first_action.to_string()}));
    }
    blocks.push(json!({"type": "actions", "elements": buttons}));
    let notice = match kind {
        Kind::Acting => "Marketing is acting on what you shared",
        Kind::Thanks => "Marketing says thanks for what you shared",
        Kind::Ask => "Marketing has a question about what you shared",
    };
    json!({"text": notice, "blocks": blocks})
}

/// The relay DM a rep answers, from its first action's id: the action,
/// if `user` is its rep.
pub async fn answerable(
    ctx: &Context,
    user: &str,
    action: i64,
) -> Result<LoopActionRow, LoopError> {
    let a = ctx
        .store
        .loop_action(action)
        .await
        .map_err(internal(""))?
        .ok_or(LoopError::NoAction)?;
    if a.rep_id != user {
        tracing::warn!(user, action, "a loop answer refused: not the rep");
        return Err(LoopError::NotTheRep);
    }
    Ok(a)
}

/// The action a reply in a DM thread answers: the relay DM sent as
/// `thread_ts` in `channel`, if `user` is its rep.
pub async fn action_for_thread(
    ctx: &Context,
    user: &str,
    channel: &str,
    thread_ts: &str,
) -> anyhow::Result<Option<LoopActionRow>> {
    let Some(dm) = ctx.store.relay_dm_at(channel, thread_ts).await? else {
        return Ok(None);
    };
    Ok(ctx
        .store
        .loop_actions_of_dm(dm)
        .await?
        .into_iter()
        .next()
        .filter(|a| a.rep_id == user))
}

/// A rep's answer to a relayed action.
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    pub user: &'a str,
    pub action: &'a LoopActionRow,
    pub text: &'a str,
    /// The DM message or the form's view: a retry saves once.
    pub dedupe_key: String,
    /// The DM message it came as, when it did.
    pub message: Option<SourceMessage>,
    pub at_ms: i64,
}

/// Saves a rep's answer as a follow-up note on the note the action was
/// about, tagged like any note, and queues the marketer's notice.
pub async fn answer(ctx: &Context, a: &Answer<'_>) -> Result<SavedInsight, LoopError> {
    let text = a.text.trim();
    if text.is_empty() {
        return Err(LoopError::Empty);
    }
    if text.chars().count() > MAX_TEXT {
        return Err(LoopError::TooLong);
    }
    if a.action.rep_id != a.user {
        return Err(LoopError::NotTheRep);
    }
    let note = match ctx.store.insight(a.action.insight_id).await {
        Ok(Some(n)) => n,
        Ok(None) => return Err(LoopError::NoNote(a.action.insight_id)),
        Err(e) => return Err(internal(text)(e)),
    };
    let mut n =
        super::notes::free_text_note(ctx, a.user, Source::FollowUp, text, a.dedupe_key.clone());
    n.created_at_ms = a.at_ms;
    n.checkin = note.checkin.clone();
    n.message = a.message.clone();
    n.follow_up = Some((note.id, a.action.id));
    let saved = ctx.store.save_insight(&n).await.map_err(internal(text))?;
    if saved.new {
        // The marketer hears of it: one notice per answer.
        let who = if a.action.rep_known() {
            format!("<@{}>", a.user)
        } else {
            "The rep who shared it".to_string()
        };
        let what = match Kind::parse(&a.action.kind) {
            Some(Kind::Ask) => "answered your question",
            _ => "replied",
        };
        let mut blocks = vec![
            json!({"type": "section", "text": {"type": "mrkdwn", "text": format!(
                ":incoming_envelope: {who} {what} on {}:\n{}",
                note_link(&note),
                quoted(&snippet(text, 2800))
            )}}),
        ];
        if !a.action.text.is_empty() {
            blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
                "text": format!("You wrote: {}", esc(&snippet(&a.action.text, 300)))}]}));
        }
        let dm = NewDm {
            dedupe_key: format!("follow_up:{}:{}", saved.id, a.action.actor),
            user_id: a.action.actor.clone(),
            purpose: "follow_up".into(),
            payload: json!({"text": format!("{} {what}", who), "blocks": blocks}).to_string(),
        };
        if let Err(e) = ctx.store.queue_dm(&dm, ctx.now_ms()).await {
            // The answer is saved; the notice is what's lost. Loud, not fatal.
            tracing::warn!(error = %format!("{e:#}"), "queueing a follow-up notice failed");
        }
        info!(
            user = a.user,
            note = note.id,
            follow_up = saved.id,
            "follow-up saved"
        );
    }
    Ok(saved)
}

/// How a reveal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revealed {
    Now,
    Already,
    /// The digest wasn't anonymous: they already knew.
    WasNamed,
}

/// The rep chooses to tell the marketer who they are.
pub async fn reveal(ctx: &Context, user: &str, action: i64) -> Result<Revealed, LoopError> {
    let a = answerable(ctx, user, action).await?;
    if a.anonymous == 0 {
        return Ok(Revealed::WasNamed);
    }
    let Some(dm) = a.dm_id else {
        return Err(LoopError::NoAction);
    };
    let now = ctx.now_ms();
    if !ctx
        .store
        .reveal_loop_actions(dm, now)
        .await
        .map_err(internal(""))?
    {
        return Ok(Revealed::Already);
    }
    let text = format!(
        ":wave: <@{user}> is the rep who shared note #{}: they chose to tell you.",
        a.insight_id
    );
    let m = NewDm {
        dedupe_key: format!("reveal:{dm}"),
        user_id: a.actor.clone(),
        purpose: "reveal".into(),
        payload: json!({"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]})
            .to_string(),
    };
    ctx.store.queue_dm(&m, now).await.map_err(internal(""))?;
    Ok(Revealed::Now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_and_refuse_forgeries() {
        let t = Target::parse("marketing-weekly|12,15,12").unwrap();
        assert_eq!(t.notes, vec![12, 15], "repeats dropped");
        assert_eq!(t.value(), "marketing-weekly|12,15");
        for bad in [
            "",
            "12",
            "|12",
            "d|",
            "d|x",
            "d|-3",
            "d|0",
            "d|1,2,3,4,5,6",
            "d|1;DROP TABLE",
        ] {
            assert_eq!(Target::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn kinds_parse_from_their_buttons_and_rows() {
        for k in [Kind::Acting, Kind::Thanks, Kind::Ask] {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::of_action(ASK), Some(Kind::Ask));
        assert_eq!(Kind::of_action("loop_other"), None);
    }

    #[test]
    fn the_relay_names_the_marketer_and_hides_nothing_but_the_rep() {
        let n = Insight {
            id: 7,
            user_id: "UREP".into(),
            text: "Acme undercut us <by> 20%".into(),
            ..Default::default()
        };
        let m = relay_message("UMKT", Kind::Ask, "Which deal?", &[&n], 3, true);
        let s = m.to_string();
        assert!(s.contains("<@UMKT> from marketing has a question"), "{s}");
        assert!(s.contains("Acme undercut us &lt;by&gt; 20%"), "{s}");
        assert!(s.contains("Which deal?"), "{s}");
        assert!(s.contains(REVEAL), "anonymous: a reveal button");
        assert!(!s.contains("UREP"), "the rep is not in their own DM's text");
        let named = relay_message("UMKT", Kind::Thanks, "", &[&n], 3, false).to_string();
        assert!(!named.contains(REVEAL), "named: nothing to reveal");
        assert!(named.contains("says thanks"));
    }
}
