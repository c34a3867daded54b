//! Search for marketers: a query (`search::parse`) resolved and run on the
//! store's full-text index, a page of results with snippets. The CLI's
//! `fieldnotes search` calls it, and so does Slack (`slack::search`:
//! `/fieldnotes search`, App Home's search modal, **More results**), after
//! checking `Permission::Search` on every call.
//!
//! Results respect attribution: when any `[[digest]]` is anonymous, search
//! is too. Reps are not named, `rep:` is refused, and snippets have emails
//! and phone numbers masked and mentions turned into "a colleague".

use super::UserError;
use crate::config::{Attribution, Config};
use crate::digest::redact::{mentions, Redaction};
use crate::search::{self, QueryError, RepRef};
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

/// Results per page.
pub const PAGE: i64 = 10;
/// Characters of text around the first matching word.
const SNIPPET: usize = 200;

/// A search, as typed.
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    pub query: &'a str,
    /// 0-based.
    pub page: u32,
    /// Who is searching (for `rep:me`), when known.
    pub searcher: Option<&'a str>,
}

/// One result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub id: i64,
    pub created_at: String,
    /// The rep's display name (or user id when not cached); `None` when
    /// search is anonymous.
    pub rep: Option<String>,
    pub rep_id: Option<String>,
    pub source: String,
    pub checkin: Option<String>,
    pub tags: Vec<String>,
    /// The text around the first word searched for, cleaned (and masked
    /// when anonymous).
    pub snippet: String,
    pub permalink: Option<String>,
    pub score: f64,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Results {
    pub query: String,
    pub page: u32,
    pub hits: Vec<Hit>,
    /// Whether a next page has results.
    pub more: bool,
    pub anonymous: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A malformed query: which part, and why.
    #[error("Search didn't run: {0}")]
    Query(#[from] QueryError),
    #[error("Search didn't run: `{part}`: {message}")]
    Rep { part: String, message: String },
    #[error("Search failed just now; try again in a moment.")]
    Failed(#[source] anyhow::Error),
}

impl UserError for SearchError {
    fn internal(&self) -> Option<&anyhow::Error> {
        match self {
            SearchError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether search hides who wrote what: when any digest is anonymous.
pub fn anonymous(cfg: &Config) -> bool {
    cfg.digests
        .iter()
        .any(|d| d.attribution == Attribution::Anonymous)
}

/// Runs a search.
pub async fn run(
    store: &Store,
    cfg: &Config,
    req: &SearchRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Results, SearchError> {
    let anonymous = anonymous(cfg);
    let mut q = search::parse(req.query, cfg, now)?;
    if anonymous && !q.reps.is_empty() {
        return Err(SearchError::Rep {
            part: "rep:".into(),
            message: "reps are anonymous in search here (the digests are anonymous)".into(),
        });
    }
    for r in &q.reps {
        match r {
            RepRef::Id(id) => q.spec.users.push(id.clone()),
            RepRef::Me => match req.searcher {
                Some(me) => q.spec.users.push(me.to_string()),
                None => {
                    return Err(SearchError::Rep {
                        part: "rep:me".into(),
                        message: "works in Slack, where we know who you are".into(),
                    })
                }
            },
            RepRef::Name(name) => {
                let ids = store
                    .people_named(name)
                    .await
                    .map_err(SearchError::Failed)?;
                if ids.is_empty() {
                    return Err(SearchError::Rep {
                        part: format!("rep:{name}"),
                        message: "no one by that name; try an @mention".into(),
                    });
                }
                q.spec.users.extend(ids);
            }
        }
    }
    let offset = i64::from(req.page) * PAGE;
    let found = store
        .search(&q.spec, PAGE + 1, offset)
        .await
        .map_err(SearchError::Failed)?;
    let more = found.len() as i64 > PAGE;
    let ids: Vec<i64> = found.iter().take(PAGE as usize).map(|h| h.id).collect();
    let notes: HashMap<i64, _> = store
        .insights_by_ids(&ids)
        .await
        .map_err(SearchError::Failed)?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let users: Vec<String> = notes
        .values()
        .map(|n| n.user_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names: HashMap<String, String> = store
        .people(&users)
        .await
        .map_err(SearchError::Failed)?
        .into_iter()
        .filter(|(_, p)| !p.name.trim().is_empty())
        .map(|(id, p)| (id, p.name))
        .collect();
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let hits = found
        .iter()
        .take(PAGE as usize)
        .filter_map(|h| {
            let n = notes.get(&h.id)?;
            let text = crate::text::clean(&n.text).into_owned();
            let text = if anonymous {
                let t = mentions(&text, |_| "a colleague".to_string());
                Redaction::On.apply(&t).into_owned()
            } else {
                mentions(&text, |id| format!("@{}", name(id)))
            };
            Some(Hit {
                id: n.id,
                created_at: DateTime::<Utc>::from_timestamp_millis(n.created_at_ms)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default(),
                rep: (!anonymous).then(|| name(&n.user_id)),
                rep_id: (!anonymous).then(|| n.user_id.clone()),
                source: n.source.as_str().to_string(),
                checkin: n.checkin.clone(),
                tags: n.all_tags(),
                snippet: snippet(&text, &q.spec.words, SNIPPET),
                permalink: n.message.as_ref().and_then(|m| m.permalink.clone()),
                score: h.score,
            })
        })
        .collect();
    Ok(Results {
        query: req.query.to_string(),
        page: req.page,
        hits,
        more,
        anonymous,
    })
}

/// Up to `max` characters of `text` around the first of `words` it
/// contains (by the word's first 4 letters, so stems match), with `…`
/// where it was cut; the start of the text when none is found.
pub fn snippet(text: &str, words: &[String], max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = flat.chars().collect();
    if chars.len() <= max {
        return flat;
    }
    let lower: Vec<char> = flat.to_lowercase().chars().collect();
    // Lower-casing can change the length (rare letters); match on the
    // original positions only when it didn't.
    let at = if lower.len() == chars.len() {
        words
            .iter()
            .filter_map(|w| {
                let stem: Vec<char> = w.to_lowercase().chars().take(4).collect();
                (!stem.is_empty())
                    .then(|| {
                        lower
                            .windows(stem.len())
                            .position(|win| win == stem.as_slice())
                    })
                    .flatten()
            })
            .min()
            .unwrap_or(0)
    } else {
        0
    };
    let start = at
        .saturating_sub(max / 3)
        .min(chars.len().saturating_sub(max));
    let end = (start + max).min(chars.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_centre_on_the_word() {
        let text = format!("{} pricing came up {}", "a ".repeat(200), "b ".repeat(200));
        let s = snippet(&text, &["prices".into()], 60);
        assert!(s.contains("pricing"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert_eq!(snippet("short text", &["x".into()], 60), "short text");
        let s = snippet(&"word ".repeat(100), &[], 20);
        assert!(s.starts_with("word") && s.ends_with('…'));
    }
}
