//! `[[initiative]]` (id, name, kind, start, end, the check-ins that ask
//! about it, keywords) and `[initiatives] min_ratings`.

use crate::config::error::SourceMap;
use crate::config::initiative::{
    valid_id, Initiative, InitiativeKind, InitiativeSettings, MAX_MIN_RATINGS, MAX_NAME,
};
use crate::config::raw::{RawInitiative, RawInitiatives};
use crate::config::{parse_date, ConfigError};
use std::collections::HashSet;

pub(super) fn validate(
    src: &SourceMap<'_>,
    raw: &[RawInitiative],
    checkins: &HashSet<String>,
    errs: &mut Vec<ConfigError>,
) -> Vec<Initiative> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for r in raw {
        let id = r.id.get_ref().trim();
        let at = |k: &str| format!("initiative.{id}.{k}");
        let before = errs.len();
        if !valid_id(id) {
            errs.push(src.error(
                r.id.span(),
                at("id"),
                format!("initiative id `{id}` must be 1-40 lowercase letters, digits, `-` or `_`"),
            ));
        } else if !seen.insert(id.to_string()) {
            errs.push(src.error(
                r.id.span(),
                at("id"),
                format!("initiative `{id}` is declared twice"),
            ));
        }
        let name = r.name.get_ref().trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            errs.push(src.error(
                r.name.span(),
                at("name"),
                format!("give it a name of 1 to {MAX_NAME} characters"),
            ));
        }
        let kind = InitiativeKind::parse(r.kind.get_ref().trim());
        if kind.is_none() {
            errs.push(src.error(
                r.kind.span(),
                at("kind"),
                format!(
                    "unknown kind `{}`: use campaign, asset or experiment",
                    r.kind.get_ref()
                ),
            ));
        }
        let start = parse_date(r.start.get_ref())
            .map_err(|m| errs.push(src.error(r.start.span(), at("start"), m)))
            .ok();
        let end = match &r.end {
            None => None,
            Some(e) => match parse_date(e.get_ref()) {
                Ok(d) if start.is_some_and(|s| d < s) => {
                    errs.push(src.error(
                        e.span(),
                        at("end"),
                        "it ends before it starts: end must be on or after start",
                    ));
                    None
                }
                Ok(d) => Some(d),
                Err(m) => {
                    errs.push(src.error(e.span(), at("end"), m));
                    None
                }
            },
        };
        if r.checkins.is_empty() {
            errs.push(src.error(
                r.id.span(),
                at("checkins"),
                "name the check-ins that ask about it, e.g. checkins = [\"weekly\"]",
            ));
        }
        for c in &r.checkins {
            if !checkins.contains(c.get_ref()) {
                errs.push(src.error(
                    c.span(),
                    at("checkins"),
                    format!("unknown check-in `{}`: name a [[checkin]]", c.get_ref()),
                ));
            }
        }
        let keywords: Vec<String> = r
            .keywords
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        if errs.len() != before {
            continue;
        }
        let (Some(kind), Some(start)) = (kind, start) else {
            continue;
        };
        out.push(Initiative {
            id: id.to_string(),
            name: name.to_string(),
            kind,
            start,
            end,
            checkins: r.checkins.iter().map(|c| c.get_ref().clone()).collect(),
            keywords,
            from_config: true,
            ended_at: None,
        });
    }
    out
}

pub(super) fn settings(
    src: &SourceMap<'_>,
    raw: &RawInitiatives,
    errs: &mut Vec<ConfigError>,
) -> InitiativeSettings {
    let mut s = InitiativeSettings::default();
    if let Some(n) = &raw.min_ratings {
        match u32::try_from(*n.get_ref()) {
            Ok(v @ 1..=MAX_MIN_RATINGS) => s.min_ratings = v,
            _ => errs.push(src.error(
                n.span(),
                "initiatives.min_ratings",
                format!("must be between 1 and {MAX_MIN_RATINGS}"),
            )),
        }
    }
    s
}
