//! Search for marketers: the query language, parsed without I/O into a
//! [`SearchSpec`] for the store (`store/search.rs`), plus the reps named by
//! `rep:`, which the caller resolves (`features::search`).
//!
//! A query is words, `"quoted phrases"` and filters, in any order:
//! - `tag:objection:price`: a tag by id, label or alias;
//! - `competitor:acme`, `stage:negotiation`, `persona:cfo`, …: a tag of
//!   that kind (the part of tag ids before the colon, or the taxonomy
//!   category, such as `funnel_stage`), by id, label or alias;
//! - `rep:@dana`, `rep:<@U0…>`, `rep:U0…`, `rep:me`: whose notes;
//! - `source:reply`: how a note was captured (`checkin`, `reply`,
//!   `command`, `shortcut`, `global_shortcut`, `home`); a lead-source tag
//!   (`source:referral`) also works;
//! - `checkin:weekly-pulse` (`checkin:notes` for notes outside one);
//! - `since:30d`, `since:2026-11-01`, `until:2026-12-01` (a duration back
//!   from now, a UTC date or an RFC 3339 time).
//!
//! A malformed filter is an error that names the part and says what would
//! do; nothing is searched.

use crate::config::{Config, TagDef};
use crate::store::SearchSpec;
use chrono::{DateTime, Utc};
use std::fmt;

/// The capture sources `source:` takes.
pub const SOURCES: [&str; 7] = [
    "checkin",
    "reply",
    "command",
    "shortcut",
    "global_shortcut",
    "home",
    "follow_up",
];

/// A `rep:` filter, before it is resolved to a user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepRef {
    /// A Slack user id (`U…`, `W…`), from `<@U…>` or typed.
    Id(String),
    /// A display name (`@dana` or `dana`), looked up in the people cache.
    Name(String),
    /// The person searching.
    Me,
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Everything but the reps' user ids.
    pub spec: SearchSpec,
    pub reps: Vec<RepRef>,
}

/// What is wrong with a query, and which part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// The offending part as typed (empty for the query as a whole).
    pub part: String,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.part.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.part, self.message)
        }
    }
}

impl std::error::Error for QueryError {}

fn error(part: &str, message: impl Into<String>) -> QueryError {
    QueryError {
        part: part.to_string(),
        message: message.into(),
    }
}

/// Most parts a query may have.
const MAX_PARTS: usize = 20;
/// Longest query, in characters.
pub const MAX_QUERY: usize = 500;

/// Slack's escaping undone (`&amp;`, `&lt;`, `&gt;`) and curly quotes
/// made straight.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace(['\u{201c}', '\u{201d}', '\u{201e}'], "\"")
}

/// Splits on whitespace, keeping `"quoted phrases"` (and `key:"a b"`) whole.
fn split(input: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in input.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    parts.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

/// A filter's key when `part` is `key:value` with a plain key (letters and
/// underscores), else `None` (a word such as a URL).
fn filter_key(part: &str) -> Option<(&str, &str)> {
    let (k, v) = part.split_once(':')?;
    if k.is_empty()
        || !k.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
        || v.starts_with("//")
    {
        return None;
    }
    Some((k, v))
}

fn unquote(v: &str) -> String {
    v.trim_matches('"').trim().to_string()
}

/// Lower-case, with spaces, hyphens and underscores alike.
fn norm(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '_' { '-' } else { c })
        .collect()
}

/// The kind of a tag id: the part before its first colon.
fn kind_of(id: &str) -> Option<&str> {
    id.split_once(':').map(|(k, _)| k)
}

/// Whether `t` is the tag `value` names: its id, the id after its kind,
/// its label or an alias.
fn names(t: &TagDef, value: &str) -> bool {
    let v = norm(value);
    norm(&t.id) == v
        || t.id
            .split_once(':')
            .is_some_and(|(_, rest)| norm(rest) == v)
        || norm(&t.label) == v
        || t.aliases.iter().any(|a| norm(a) == v)
}

/// The tag of kind `kind` (id prefix or category) named `value`.
fn tag_of_kind<'a>(cfg: &'a Config, kind: &str, value: &str) -> Option<&'a TagDef> {
    cfg.tags
        .iter()
        .filter(|t| kind_of(&t.id) == Some(kind) || t.category.as_deref() == Some(kind))
        .find(|t| names(t, value))
}

/// The kinds filters can name: tag id prefixes and categories.
fn tag_kinds(cfg: &Config) -> Vec<String> {
    let mut kinds: Vec<String> = cfg
        .tags
        .iter()
        .flat_map(|t| {
            kind_of(&t.id)
                .map(str::to_string)
                .into_iter()
                .chain(t.category.clone())
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// "acme, globex, initech": what a kind's filter takes.
fn known_of_kind(cfg: &Config, kind: &str) -> String {
    cfg.tags
        .iter()
        .filter(|t| kind_of(&t.id) == Some(kind) || t.category.as_deref() == Some(kind))
        .map(|t| {
            t.id.split_once(':')
                .map(|(_, r)| r.to_string())
                .unwrap_or_else(|| t.id.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a query typed in Slack or on the command line.
pub fn parse(input: &str, cfg: &Config, now: DateTime<Utc>) -> Result<Query, QueryError> {
    let input = unescape(input);
    if input.chars().count() > MAX_QUERY {
        return Err(error(
            "",
            format!("a search is at most {MAX_QUERY} characters"),
        ));
    }
    if input.matches('"').count() % 2 == 1 {
        return Err(error("\"", "a quote is not closed"));
    }
    let parts = split(&input);
    if parts.len() > MAX_PARTS {
        return Err(error(
            "",
            format!("a search has at most {MAX_PARTS} words and filters"),
        ));
    }
    let mut q = Query::default();
    for part in &parts {
        let Some((key, raw)) = filter_key(part) else {
            let w = unquote(part);
            if w.chars().any(char::is_alphanumeric) {
                q.spec.words.push(w);
            }
            continue;
        };
        let value = unquote(raw);
        if value.is_empty() {
            return Err(error(part, format!("`{key}:` needs a value")));
        }
        let key = key.to_lowercase();
        match key.as_str() {
            "tag" => {
                let t = cfg
                    .tags
                    .iter()
                    .find(|t| names(t, &value))
                    .ok_or_else(|| error(part, format!("no tag `{value}` in the taxonomy")))?;
                q.spec.tags.push(t.id.clone());
            }
            "rep" => q.reps.push(rep(part, &value)?),
            "since" | "until" => {
                let at = crate::audit::parse_since(&value, now)
                    .map_err(|_| {
                        error(
                            part,
                            "takes a duration back from now (30d, 12h), a date (2026-11-01) or an RFC 3339 time",
                        )
                    })?
                    .timestamp_millis();
                if key == "since" {
                    q.spec.since_ms = Some(at);
                } else {
                    q.spec.until_ms = Some(at);
                }
            }
            "checkin" => {
                let v = value.to_lowercase();
                if v == "notes" {
                    q.spec.checkins.push(String::new());
                } else if let Some(c) = cfg.checkins.iter().find(|c| c.name.to_lowercase() == v) {
                    q.spec.checkins.push(c.name.clone());
                } else {
                    let known: Vec<&str> = cfg.checkins.iter().map(|c| c.name.as_str()).collect();
                    return Err(error(
                        part,
                        format!(
                            "no check-in `{value}`; there are: {}, and `notes` for notes outside one",
                            known.join(", ")
                        ),
                    ));
                }
            }
            "initiative" => {
                let t = tag_of_kind(cfg, "initiative", &value).ok_or_else(|| {
                    let known = known_of_kind(cfg, "initiative");
                    error(
                        part,
                        if known.is_empty() {
                            format!("no initiative `{value}`: none is registered yet")
                        } else {
                            format!("no initiative `{value}`; known: {known}")
                        },
                    )
                })?;
                q.spec.tags.push(t.id.clone());
            }
            "source" if SOURCES.contains(&norm(&value).replace('-', "_").as_str()) => {
                q.spec.sources.push(norm(&value).replace('-', "_"));
            }
            _ => {
                if let Some(t) = tag_of_kind(cfg, &key, &value) {
                    q.spec.tags.push(t.id.clone());
                } else if tag_kinds(cfg).contains(&key) {
                    let extra = if key == "source" {
                        format!(" (or a capture source: {})", SOURCES.join(", "))
                    } else {
                        String::new()
                    };
                    return Err(error(
                        part,
                        format!(
                            "no {key} `{value}`; known: {}{extra}",
                            known_of_kind(cfg, &key)
                        ),
                    ));
                } else {
                    return Err(error(
                        part,
                        format!(
                            "`{key}:` is not a filter; use tag:, rep:, source:, checkin:, since:, until: or one of {}",
                            tag_kinds(cfg)
                                .iter()
                                .map(|k| format!("{k}:"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
        }
    }
    if let (Some(s), Some(u)) = (q.spec.since_ms, q.spec.until_ms) {
        if u <= s {
            return Err(error("until:", "is not after since:"));
        }
    }
    if q.spec == SearchSpec::default() && q.reps.is_empty() {
        return Err(error(
            "",
            "type a word or a filter, e.g. `competitor:acme since:30d pricing`",
        ));
    }
    q.spec.tags.sort();
    q.spec.tags.dedup();
    Ok(q)
}

/// A `rep:` value: `<@U…>` or `<@U…|name>`, `U…`, `@name`, `name`, `me`.
fn rep(part: &str, value: &str) -> Result<RepRef, QueryError> {
    let v = value.trim();
    if let Some(inner) = v.strip_prefix("<@").and_then(|s| s.strip_suffix('>')) {
        let id = inner.split('|').next().unwrap_or_default();
        return if crate::privacy::valid_user_id(id) {
            Ok(RepRef::Id(id.to_string()))
        } else {
            Err(error(part, "is not a Slack user mention"))
        };
    }
    if v.eq_ignore_ascii_case("me") {
        return Ok(RepRef::Me);
    }
    if crate::privacy::valid_user_id(v) {
        return Ok(RepRef::Id(v.to_string()));
    }
    let name = v.trim_start_matches('@').trim_matches('"').trim();
    if name.is_empty() {
        return Err(error(part, "needs a name, an @mention or a user id"));
    }
    Ok(RepRef::Name(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_filters() {
        assert_eq!(
            split(r#"price "lost deal" rep:"Dana Reyes" x"#),
            vec!["price", "\"lost deal\"", "rep:\"Dana Reyes\"", "x"]
        );
        assert_eq!(filter_key("since:30d"), Some(("since", "30d")));
        assert_eq!(filter_key("https://acme.com"), None, "a URL is a word");
        assert_eq!(filter_key("10:30"), None, "a time is a word");
        assert_eq!(
            unescape("rep:&lt;@U0A|dana&gt; \u{201c}a b\u{201d} R&amp;D"),
            "rep:<@U0A|dana> \"a b\" R&D"
        );
    }

    #[test]
    fn reps() {
        assert_eq!(
            rep("p", "<@U0REP0001|dana>").unwrap(),
            RepRef::Id("U0REP0001".into())
        );
        assert_eq!(
            rep("p", "W0ABCDEF1").unwrap(),
            RepRef::Id("W0ABCDEF1".into())
        );
        assert_eq!(rep("p", "ME").unwrap(), RepRef::Me);
        assert_eq!(
            rep("p", "@\"Dana Reyes\"").unwrap(),
            RepRef::Name("Dana Reyes".into())
        );
        assert!(rep("p", "<@nope>").is_err());
        assert!(rep("p", "@").is_err());
    }

    #[test]
    fn query_limits() {
        let cfg = Config::load(std::path::Path::new("config/fieldnotes.toml")).unwrap();
        let now = Utc::now();
        let long = "word ".repeat(21);
        assert!(parse(&long, &cfg, now)
            .unwrap_err()
            .to_string()
            .contains("at most 20"));
        assert!(parse(&"x".repeat(501), &cfg, now).is_err());
        let q = parse(
            "--- price competitor:Globex stage:\"negotiation\"",
            &cfg,
            now,
        )
        .unwrap();
        assert_eq!(q.spec.words, vec!["price"], "punctuation alone is no word");
        assert_eq!(
            q.spec.tags,
            vec!["competitor:globex", "stage:negotiation"],
            "by label, any case"
        );
        let q = parse("source:Global-Shortcut source:referral", &cfg, now).unwrap();
        assert_eq!(q.spec.sources, vec!["global_shortcut"]);
        assert_eq!(q.spec.tags, vec!["source:referral"], "a lead source tag");
    }
}
