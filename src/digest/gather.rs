//! Gathering a week's digest from the store: the rows the pure builder
//! (`digest::build`) turns into a `Digest`. What the CLI, App Home's preview
//! and the demo all call.

use super::{build, Digest, DigestInput, IsoWeek};
use crate::config::Config;
use crate::store::{InsightQuery, Store};
use anyhow::Result;

/// Gathers a week's rows and builds its digest.
pub async fn gather(store: &Store, cfg: &Config, week: IsoWeek) -> Result<Digest> {
    let tz = cfg.digest.timezone;
    let (from, to) = week.bounds_ms(tz);
    let (pfrom, pto) = week.previous().bounds_ms(tz);
    let this_week = store
        .insights(&InsightQuery {
            from_ms: Some(from),
            to_ms: Some(to),
            user_id: None,
        })
        .await?;
    let last_week = store
        .insights(&InsightQuery {
            from_ms: Some(pfrom),
            to_ms: Some(pto),
            user_id: None,
        })
        .await?;
    let stats = store.week_prompt_stats(from, to).await?;
    Ok(build(&DigestInput {
        week,
        timezone: tz,
        stats,
        this_week: &this_week,
        last_week: &last_week,
        taxonomy: &cfg.tags,
        max_quotes: cfg.digest.max_quotes,
    }))
}
