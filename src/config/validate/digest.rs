//! `[[digest]]`: a name defined once, a cadence and timezone, the period
//! covered, which check-ins and tags it reads, who receives it (at least
//! one channel or person), attribution and redaction, the sections in
//! order, how many quotes, and the chart. Keys are `digest[i].field`, the
//! same path the deserializer names for a type error in that entry.

use super::tags::Taxonomy;
use super::{parse_tz, valid_user_id};
use crate::config::error::SourceMap;
use crate::config::raw::RawDigest;
use crate::config::{Attribution, ConfigError, DigestDef, PeriodSpec, SectionKind};
use crate::schedule::Crontab;
use std::collections::HashSet;
use toml::Spanned;

/// In `checkins`, the notes shared outside any check-in.
pub(crate) const FREE_NOTES: &str = "notes";
/// Slack's limit on a header block's text, which the title becomes.
pub(crate) const MAX_TITLE_CHARS: usize = 150;
/// The longest `period = "Nd"`: about a quarter.
pub(crate) const MAX_PERIOD_DAYS: u32 = 92;
pub(crate) const DEFAULT_MAX_QUOTES: usize = 6;
pub(crate) const MAX_QUOTES: i64 = 20;

/// `checkins` are the names `[[checkin]]` entries use (as written, so a
/// check-in with another error does not add one here).
pub(super) fn validate(
    src: &SourceMap<'_>,
    raw: Vec<RawDigest>,
    checkins: &HashSet<String>,
    taxonomy: &Taxonomy,
    errs: &mut Vec<ConfigError>,
) -> Vec<DigestDef> {
    let mut names = HashSet::new();
    let mut digests = Vec::new();
    for (i, d) in raw.into_iter().enumerate() {
        let k = |field: &str| format!("digest[{i}].{field}");
        let name = d.name.get_ref().clone();
        if !valid_name(&name) {
            errs.push(src.error(
                d.name.span(),
                k("name"),
                format!(
                    "digest name `{name}` must be 1 to 64 lowercase letters, digits, `-` or `_`"
                ),
            ));
        } else if !names.insert(name.clone()) {
            errs.push(src.error(
                d.name.span(),
                k("name"),
                format!("digest `{name}` is defined twice"),
            ));
        }
        let cadence = Crontab::parse(d.cadence.get_ref())
            .map_err(|e| {
                errs.push(src.error(
                    d.cadence.span(),
                    k("cadence"),
                    format!("invalid cron expression `{}`: {e}", d.cadence.get_ref()),
                ))
            })
            .ok();
        let timezone = parse_tz(src, &d.timezone, &k("timezone"), errs);
        let period = match &d.period {
            None => PeriodSpec::Week,
            Some(p) => parse_period(p.get_ref()).unwrap_or_else(|m| {
                errs.push(src.error(p.span(), k("period"), m));
                PeriodSpec::Week
            }),
        };
        let title = title(src, &d.title, period, &k, errs);
        no_repeats(src, &d.checkins, &k("checkins"), errs);
        for c in &d.checkins {
            if c.get_ref() != FREE_NOTES && !checkins.contains(c.get_ref()) {
                errs.push(src.error(
                    c.span(),
                    k("checkins"),
                    format!(
                        "unknown check-in `{}`: name a [[checkin]] entry, or \"{FREE_NOTES}\" for notes shared outside a check-in",
                        c.get_ref()
                    ),
                ));
            }
        }
        no_repeats(src, &d.tags, &k("tags"), errs);
        for t in &d.tags {
            taxonomy.check_known(src, t, k("tags"), errs);
        }
        recipients(src, &d, &k, errs);
        let attribution = match d.attribution.as_ref().map(|a| (a, a.get_ref().as_str())) {
            None | Some((_, "named")) => Attribution::Named,
            Some((_, "anonymous")) => Attribution::Anonymous,
            Some((a, other)) => {
                errs.push(src.error(
                    a.span(),
                    k("attribution"),
                    format!("`{other}` is not one of \"named\", \"anonymous\""),
                ));
                Attribution::Named
            }
        };
        let sections = sections(src, &d.sections, &k, errs);
        let max_quotes = match &d.max_quotes {
            None => DEFAULT_MAX_QUOTES,
            Some(q) if (1..=MAX_QUOTES).contains(q.get_ref()) => *q.get_ref() as usize,
            Some(q) => {
                errs.push(src.error(
                    q.span(),
                    k("max_quotes"),
                    format!("must be between 1 and {MAX_QUOTES}"),
                ));
                DEFAULT_MAX_QUOTES
            }
        };
        if let (Some(cadence), Some(timezone)) = (cadence, timezone) {
            digests.push(DigestDef {
                name,
                title,
                cadence,
                timezone,
                period,
                checkins: strings(&d.checkins),
                tags: strings(&d.tags),
                channels: strings(&d.channels),
                users: strings(&d.users),
                attribution,
                redact: d.redact,
                sections,
                max_quotes,
                chart: d.chart,
            });
        }
    }
    digests
}

/// `[a-z0-9_-]{1,64}`.
fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// `"week"`, `"month"` or `"Nd"` with N in 1..=92.
fn parse_period(s: &str) -> Result<PeriodSpec, String> {
    match s {
        "week" => return Ok(PeriodSpec::Week),
        "month" => return Ok(PeriodSpec::Month),
        _ => {}
    }
    let days = s
        .strip_suffix('d')
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    match days.map(|n| n.parse::<u32>()) {
        Some(Ok(n)) if (1..=MAX_PERIOD_DAYS).contains(&n) => Ok(PeriodSpec::Days(n)),
        Some(_) => Err(format!(
            "a period of days must be between 1d and {MAX_PERIOD_DAYS}d, not `{s}`"
        )),
        None => Err(format!(
            "`{s}` is not \"week\", \"month\" or a number of days such as \"14d\""
        )),
    }
}

/// The title, or the period's default; it becomes a Slack header, so it is
/// not blank and at most [`MAX_TITLE_CHARS`] characters.
fn title(
    src: &SourceMap<'_>,
    raw: &Option<Spanned<String>>,
    period: PeriodSpec,
    k: &dyn Fn(&str) -> String,
    errs: &mut Vec<ConfigError>,
) -> String {
    let default = match period {
        PeriodSpec::Week => "Weekly field digest",
        PeriodSpec::Month => "Monthly field digest",
        PeriodSpec::Days(_) => "Field digest",
    };
    let Some(t) = raw else {
        return default.into();
    };
    let chars = t.get_ref().chars().count();
    if t.get_ref().trim().is_empty() {
        errs.push(src.error(
            t.span(),
            k("title"),
            "the title is empty: write one, or leave `title` out for the default",
        ));
    } else if chars > MAX_TITLE_CHARS {
        errs.push(src.error(
            t.span(),
            k("title"),
            format!(
                "the title has {chars} characters; a Slack header holds at most {MAX_TITLE_CHARS}"
            ),
        ));
    } else {
        return t.get_ref().clone();
    }
    default.into()
}

/// Channels by C…/G… id, people by U…/W… id; at least one of them.
fn recipients(
    src: &SourceMap<'_>,
    d: &RawDigest,
    k: &dyn Fn(&str) -> String,
    errs: &mut Vec<ConfigError>,
) {
    no_repeats(src, &d.channels, &k("channels"), errs);
    no_repeats(src, &d.users, &k("users"), errs);
    for c in &d.channels {
        let id = c.get_ref();
        let ok = (id.starts_with('C') || id.starts_with('G'))
            && id.len() >= 3
            && id.chars().all(|ch| ch.is_ascii_alphanumeric());
        if !ok {
            errs.push(src.error(
                c.span(),
                k("channels"),
                format!("`{id}` is not a Slack channel ID (they start with `C` or `G`)"),
            ));
        }
    }
    for u in &d.users {
        if !valid_user_id(u.get_ref()) {
            errs.push(src.error(
                u.span(),
                k("users"),
                format!(
                    "`{}` is not a Slack user ID (they start with `U` or `W`)",
                    u.get_ref()
                ),
            ));
        }
    }
    if d.channels.is_empty() && d.users.is_empty() {
        errs.push(src.error(
            d.name.span(),
            k("channels"),
            format!(
                "digest `{}` has no recipients: list channels (C…/G…) or users (U…/W…)",
                d.name.get_ref()
            ),
        ));
    }
}

/// Known section names, each once, at least one; all of them in
/// [`SectionKind::ALL`]'s order when left out.
fn sections(
    src: &SourceMap<'_>,
    raw: &Option<Spanned<Vec<Spanned<String>>>>,
    k: &dyn Fn(&str) -> String,
    errs: &mut Vec<ConfigError>,
) -> Vec<SectionKind> {
    let Some(list) = raw else {
        return SectionKind::ALL.to_vec();
    };
    if list.get_ref().is_empty() {
        errs.push(src.error(
            list.span(),
            k("sections"),
            "list at least one section, or leave `sections` out for all of them",
        ));
        return SectionKind::ALL.to_vec();
    }
    let mut out = Vec::new();
    for s in list.get_ref() {
        match SectionKind::parse(s.get_ref()) {
            Some(kind) if out.contains(&kind) => errs.push(src.error(
                s.span(),
                k("sections"),
                format!("section `{}` is listed twice", s.get_ref()),
            )),
            Some(kind) => out.push(kind),
            None => errs.push(src.error(
                s.span(),
                k("sections"),
                format!(
                    "unknown section `{}`: use {}",
                    s.get_ref(),
                    SectionKind::ALL
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
    out
}

/// A name or id listed twice in one list is an error at its second place.
fn no_repeats(
    src: &SourceMap<'_>,
    list: &[Spanned<String>],
    key: &str,
    errs: &mut Vec<ConfigError>,
) {
    let mut seen = HashSet::new();
    for s in list {
        if !seen.insert(s.get_ref().as_str()) {
            errs.push(src.error(s.span(), key, format!("`{}` is listed twice", s.get_ref())));
        }
    }
}

fn strings(v: &[Spanned<String>]) -> Vec<String> {
    v.iter().map(|s| s.get_ref().clone()).collect()
}
