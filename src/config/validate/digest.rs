//! `[digest]`: the timezone weeks are counted in, and the optional channel
//! and cadence.

use super::parse_tz;
use crate::config::error::SourceMap;
use crate::config::raw::RawDigest;
use crate::config::ConfigError;

pub(crate) struct DigestSettings {
    pub timezone: chrono_tz::Tz,
    pub channel: Option<String>,
    pub cadence: Option<Crontab>,
    pub max_quotes: usize,
}
use crate::schedule::Crontab;

pub(super) fn validate(
    src: &SourceMap<'_>,
    raw: RawDigest,
    errs: &mut Vec<ConfigError>,
) -> DigestSettings {
    let timezone = parse_tz(src, &raw.timezone, "digest.timezone", errs);
    let cadence = raw.cadence.as_ref().and_then(|c| {
        Crontab::parse(c.get_ref())
            .map_err(|e| {
                errs.push(src.error(
                    c.span(),
                    "digest.cadence",
                    format!("invalid cron expression `{}`: {e}", c.get_ref()),
                ))
            })
            .ok()
    });
    DigestSettings {
        timezone: timezone.unwrap_or(chrono_tz::UTC),
        channel: raw.channel,
        cadence,
        max_quotes: raw.max_quotes,
    }
}
