//! Validation: turns the raw file into a [`Config`], one section at a time,
//! collecting every error as file:line:key so a lead can fix them all in
//! one pass. Each section's rules live in its own file; the order of the
//! calls in [`validate`] is the order errors are reported in.

mod bot;
mod calendar;
mod checkins;
mod digest;
mod initiatives;
mod questions;
mod retention;
mod roles;
mod tags;

use super::error::SourceMap;
use super::raw::RawConfig;
use super::{Config, ConfigError, ConfigErrors};
use crate::tz::Tz;
use std::collections::HashSet;
use std::path::PathBuf;
use toml::Spanned;

pub(super) fn validate(src: &SourceMap<'_>, raw: RawConfig) -> Result<Config, ConfigErrors> {
    let mut errs = Vec::new();
    let bot_timezone = bot::timezone(src, &raw.bot, &mut errs);
    let bot = bot::validate(src, raw.bot, &mut errs);
    let taxonomy = tags::validate(src, &raw.tags, &mut errs);
    let checkin_names: HashSet<String> = raw
        .checkins
        .iter()
        .map(|c| c.name.get_ref().clone())
        .collect();
    let checkins = checkins::validate(src, raw.checkins, &taxonomy, &mut errs);
    let digests = digest::validate(src, raw.digest.0, &checkin_names, &taxonomy, &mut errs);
    let calendar = calendar::validate(src, &raw.calendar, &mut errs);
    let roles = roles::validate(src, &raw.roles, &mut errs);
    let note_questions = questions::note_questions(src, &raw.capture, &taxonomy.tags, &mut errs);
    let retention = retention::validate(src, &raw.retention, &mut errs);
    let initiative_defs =
        initiatives::validate(src, &raw.initiative_entries, &checkin_names, &mut errs);
    let initiative_settings = initiatives::settings(src, &raw.initiatives, &mut errs);
    for t in &taxonomy.tags {
        if t.id.starts_with("initiative:") || t.category.as_deref() == Some("initiative") {
            let span = raw
                .tags
                .iter()
                .find(|r| r.id.get_ref() == &t.id)
                .map(|r| r.id.span())
                .unwrap_or(0..0);
            errs.push(src.error(
                span,
                format!("tag.{}.id", t.id),
                "`initiative:` tags are made from [[initiative]] entries: declare an initiative instead",
            ));
        }
    }

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
        // The team's zone: `[bot] timezone`, else the first digest's, else UTC.
        timezone: bot_timezone
            .or_else(|| digests.first().map(|d| d.timezone))
            .unwrap_or(crate::tz::UTC),
        digests,
        tags: taxonomy
            .tags
            .into_iter()
            .chain(initiative_defs.iter().map(|i| i.tag_def(i.end.is_none())))
            .collect(),
        checkins,
        initiatives: initiative_defs.clone(),
        initiative_defs,
        initiative_settings,
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
