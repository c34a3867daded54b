//! `[bot]`: the polling tick (50 ms–1 h), the lease (2 s–1 h), the
//! workspace message rate, the attempt limits and the team's timezone.

use super::parse_tz;
use crate::config::error::SourceMap;
use crate::config::raw::RawBot;
use crate::config::{parse_duration, BotSettings, ConfigError};
use crate::tz::Tz;
use std::time::Duration;

/// `[bot] timezone`, when set: an IANA name.
pub(super) fn timezone(
    src: &SourceMap<'_>,
    raw: &RawBot,
    errs: &mut Vec<ConfigError>,
) -> Option<Tz> {
    raw.timezone
        .as_ref()
        .and_then(|tz| parse_tz(src, tz, "bot.timezone", errs))
}

pub(super) fn validate(
    src: &SourceMap<'_>,
    raw: RawBot,
    errs: &mut Vec<ConfigError>,
) -> BotSettings {
    let tick = match parse_duration(raw.tick.get_ref()) {
        Ok(d) if d >= Duration::from_millis(50) && d <= Duration::from_secs(3600) => d,
        Ok(_) => {
            errs.push(src.error(raw.tick.span(), "bot.tick", "must be between 50ms and 1h"));
            Duration::from_secs(2)
        }
        Err(m) => {
            errs.push(src.error(raw.tick.span(), "bot.tick", m));
            Duration::from_secs(2)
        }
    };
    let attempts = *raw.max_event_attempts.get_ref();
    if !(1..=50).contains(&attempts) {
        errs.push(src.error(
            raw.max_event_attempts.span(),
            "bot.max_event_attempts",
            "must be between 1 and 50",
        ));
    }
    let lease = match parse_duration(raw.lease.get_ref()) {
        // A lease past an hour would only leave a dead worker's rows stuck.
        Ok(d) if d >= Duration::from_secs(2) && d <= Duration::from_secs(3600) => d,
        Ok(_) => {
            errs.push(src.error(raw.lease.span(), "bot.lease", "must be between 2s and 1h"));
            Duration::from_secs(30)
        }
        Err(m) => {
            errs.push(src.error(raw.lease.span(), "bot.lease", m));
            Duration::from_secs(30)
        }
    };
    if *raw.workspace_messages_per_minute.get_ref() == 0 {
        errs.push(src.error(
            raw.workspace_messages_per_minute.span(),
            "bot.workspace_messages_per_minute",
            "must be at least 1",
        ));
    }
    BotSettings {
        name: raw.name,
        tick,
        workspace_messages_per_minute: raw.workspace_messages_per_minute.into_inner(),
        max_send_attempts: raw.max_send_attempts.max(1),
        lease,
        max_event_attempts: attempts,
    }
}
