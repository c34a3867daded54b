//! `fieldnotes retag`: recomputes every stored note's automatic tags and
//! sentiment after the taxonomy changed; manual tags and typed fields stay.

use crate::config::Config;
use anyhow::Result;

/// What `fieldnotes retag` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetagReport {
    pub seen: usize,
    pub changed: usize,
    pub added: usize,
    pub removed: usize,
    pub sentiment_changed: usize,
}

/// Recomputes every stored insight's automatic tags and sentiment from the
/// current config; manual tags and typed fields stay.
pub async fn retag(
    store: &crate::store::Store,
    cfg: &Config,
    dry_run: bool,
) -> Result<RetagReport> {
    let tagger = crate::tagging::Tagger::new(&cfg.tags);
    let mut r = RetagReport::default();
    for ins in store
        .insights(&crate::store::InsightQuery::default())
        .await?
    {
        r.seen += 1;
        let auto = crate::capture::auto_tags(
            &tagger,
            cfg,
            &ins.text,
            &ins.answers,
            ins.checkin.as_deref(),
        );
        let tone = crate::capture::tone(&ins.text);
        let added = auto.iter().filter(|t| !ins.auto_tags.contains(t)).count();
        let removed = ins.auto_tags.iter().filter(|t| !auto.contains(t)).count();
        let tone_changed = ins.sentiment != Some(tone);
        if added + removed == 0 && !tone_changed {
            continue;
        }
        r.changed += 1;
        r.added += added;
        r.removed += removed;
        r.sentiment_changed += usize::from(tone_changed);
        if !dry_run {
            store.retag_insight(ins.id, &auto, Some(tone)).await?;
        }
    }
    Ok(r)
}
