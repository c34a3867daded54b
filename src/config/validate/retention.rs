//! `[retention]`: notes (optional, at least a day; unset keeps them for
//! good), deleted notes (30 days by default) and Slack event ids (7 days),
//! each at least an hour.

use crate::config::error::SourceMap;
use crate::config::raw::RawRetention;
use crate::config::{parse_duration, ConfigError, Retention};
use std::time::Duration;
use toml::Spanned;

pub(super) fn validate(
    src: &SourceMap<'_>,
    raw: &RawRetention,
    errs: &mut Vec<ConfigError>,
) -> Retention {
    let notes = notes(src, &raw.notes, errs);
    let mut retention_of = |v: &Option<Spanned<String>>, key: &str, default: u64| match v {
        None => Duration::from_secs(default * 86400),
        Some(v) => match parse_duration(v.get_ref()) {
            Ok(d) if d >= Duration::from_secs(3600) => d,
            Ok(_) => {
                errs.push(src.error(v.span(), key, "keep them at least 1h"));
                Duration::from_secs(default * 86400)
            }
            Err(m) => {
                errs.push(src.error(v.span(), key, m));
                Duration::from_secs(default * 86400)
            }
        },
    };
    Retention {
        notes,
        deleted_notes: retention_of(&raw.deleted_notes, "retention.deleted_notes", 30),
        slack_events: retention_of(&raw.slack_events, "retention.slack_events", 7),
    }
}

/// `[retention] notes`: at least a day (`None` when unset: kept for good).
fn notes(
    src: &SourceMap<'_>,
    v: &Option<Spanned<String>>,
    errs: &mut Vec<ConfigError>,
) -> Option<Duration> {
    let v = v.as_ref()?;
    match parse_duration(v.get_ref()) {
        Ok(d) if d >= Duration::from_secs(86400) => Some(d),
        Ok(_) => {
            errs.push(src.error(v.span(), "retention.notes", "keep notes at least 1d"));
            None
        }
        Err(m) => {
            errs.push(src.error(v.span(), "retention.notes", m));
            None
        }
    }
}
