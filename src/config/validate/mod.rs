//! Validation: turns the raw file into a [`Config`], one section at a time,
//! collecting every error as file:line:key so a lead can fix them all in
//! one pass. Each section's rules live in its own file; the order of the
//! calls in [`validate`] is the order errors are reported in.

mod bot;
mod calendar;
mod checkins;
mod digest;
mod questions;
mod retention;
mod roles;
mod tags;

use super::error::SourceMap;
use super::raw::RawConfig;
use super::{Config, ConfigError, ConfigErrors};
use chrono_tz::Tz;
use std::path::PathBuf;
use toml::Spanned;

pub(super) fn validate(src: &SourceMap<'_>, raw: RawConfig) -> Result<Config, ConfigErrors> {
    let mut errs = Vec::new();
    let bot = bot::validate(src, raw.bot, &mut errs);
    let digest = digest::validate(src, raw.digest, &mut errs);
    let taxonomy = tags::validate(src, &raw.tags, &mut errs);
    let checkins = checkins::validate(src, raw.checkins, &taxonomy, &mut errs);
    let calendar = calendar::validate(src, &raw.calendar, &mut errs);
    let roles = roles::validate(src, &raw.roles, &mut errs);
    let note_questions = questions::note_questions(src, &raw.capture, &taxonomy.tags, &mut errs);
    let retention = retention::validate(src, &raw.retention, &mut errs);

    if !errs.is_empty() {
        return Err(ConfigErrors(errs));
    }
    Ok(Config {
        calendar,
        note_questions,
        retention,
        path: src.file.to_path_buf(),
        bot,
        sqlite_path: PathBuf::from(
            raw.storage
                .sqlite_path
                .unwrap_or_else(|| "fieldnotes.db".into()),
        ),
        roles,
        timezone: digest.timezone,
        digests: vec![crate::config::DigestDef {
            name: "marketing-weekly".into(),
            title: "Weekly field digest".into(),
            cadence: digest.cadence.clone().unwrap_or_else(|| crate::schedule::Crontab::parse("0 9 * * MON").unwrap()),
            timezone: digest.timezone,
            period: crate::config::PeriodSpec::Week,
            checkins: vec![],
            tags: vec![],
            channels: digest.channel.iter().cloned().collect(),
            users: vec![],
            attribution: crate::config::Attribution::Named,
            redact: true,
            sections: crate::config::SectionKind::ALL.to_vec(),
            max_quotes: digest.max_quotes,
            chart: true,
        }],
        tags: taxonomy.tags,
        checkins,
    })
}

fn parse_tz(
    src: &SourceMap<'_>,
    s: &Spanned<String>,
    key: &str,
    errs: &mut Vec<ConfigError>,
) -> Option<Tz> {
    s.get_ref()
        .parse::<Tz>()
        .map_err(|_| {
            errs.push(src.error(
                s.span(),
                key,
                format!(
                    "unknown timezone `{}`: use an IANA name such as `America/New_York`",
                    s.get_ref()
                ),
            ))
        })
        .ok()
}

pub(crate) fn valid_user_id(s: &str) -> bool {
    (s.starts_with('U') || s.starts_with('W'))
        && s.len() >= 3
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | ':'))
}
