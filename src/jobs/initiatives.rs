//! Final debriefs (issue 13): when an initiative is over (past its end
//! day, or ended with `/fieldnotes initiative end`), its debrief is posted
//! to every digest that covers its check-ins and each rep who rated it is
//! told the outcome. All of it is queued as `direct_messages` rows, with
//! the initiative marked debriefed, in one transaction, so two replicas
//! (or a retry) queue it once; `jobs::dms` sends them, paced and leased.

use crate::digest::debrief::{self, render};
use crate::slack::Bot;
use crate::store::NewDm;
use anyhow::Result;
use serde_json::json;
use tracing::info;

/// Queues the final debrief of every initiative that is over and not
/// debriefed yet; returns how many it queued.
pub async fn debrief_once(bot: &Bot) -> Result<usize> {
    let today = bot.today();
    let due = bot.store.initiatives_to_debrief(today).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let cfg = bot.config();
    let mut queued = 0;
    for rec in due {
        let i = &rec.initiative;
        // The raters hear the outcome (no quotes in it, so any attribution
        // does); each digest's channels get the debrief quoted its way.
        let (d, raters) = debrief::gather(&bot.store, &cfg, i, today, None, i64::MAX).await?;
        let (text, blocks) = render::outcome_dm(&d);
        let mut dms: Vec<NewDm> = raters
            .iter()
            .map(|rep| NewDm {
                dedupe_key: format!("outcome:{}:{rep}", i.id),
                user_id: rep.clone(),
                purpose: "outcome".into(),
                payload: json!({"text": text, "blocks": blocks}).to_string(),
            })
            .collect();
        for def in cfg.digests.iter().filter(|d| i.in_digest(d)) {
            let attribution = Some((def.attribution, def.redact));
            let (d, _) = debrief::gather(&bot.store, &cfg, i, today, attribution, i64::MAX).await?;
            let (text, blocks) = render::slack_blocks(&d);
            for to in def.recipients() {
                dms.push(NewDm {
                    dedupe_key: format!("debrief:{}:{to}", i.id),
                    user_id: to.to_string(),
                    purpose: "debrief".into(),
                    payload: json!({"text": text, "blocks": blocks}).to_string(),
                });
            }
        }
        dms.sort_by(|a, b| a.dedupe_key.cmp(&b.dedupe_key));
        dms.dedup_by(|a, b| a.dedupe_key == b.dedupe_key);
        if bot.store.queue_debrief(&i.id, &dms, bot.now_ms()).await? {
            info!(initiative = %i.id, messages = dms.len(), "final debrief queued");
            queued += 1;
        }
    }
    Ok(queued)
}
