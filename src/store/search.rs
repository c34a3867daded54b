//! Search over every live note, on the database's own full-text index:
//! SQLite's FTS5 (`notes_fts`) or PostgreSQL's `tsvector` with GIN
//! (`insights.search`); see the search migration. Words match the note's
//! text, stemmed; each filter is a facet token in the same index, so a
//! query with filters and words is one index match, never a `LIKE` scan.
//!
//! Kinds of filter are ANDed; values of one kind are ORed, but tags, which
//! a note carries several of, are each required.

use super::{Backend, Store};
use anyhow::{Context, Result};
use std::fmt::Write;

/// What to search for, parsed and resolved (`search::parse`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchSpec {
    /// Words and quoted phrases, all required.
    pub words: Vec<String>,
    /// Tag ids, all required (picked or automatic).
    pub tags: Vec<String>,
    /// Typed field values as `field=value`, all required.
    pub fields: Vec<String>,
    /// Rep user ids, any of them.
    pub users: Vec<String>,
    /// Capture sources (`reply`, `command`, …), any of them.
    pub sources: Vec<String>,
    /// Check-in names, any of them; `""` is a note shared outside one.
    pub checkins: Vec<String>,
    /// Notes created at or after, and before (epoch ms).
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

impl SearchSpec {
    /// Whether it needs the full-text index (anything but a time range).
    fn matches_text(&self) -> bool {
        !(self.words.is_empty()
            && self.tags.is_empty()
            && self.fields.is_empty()
            && self.users.is_empty()
            && self.sources.is_empty()
            && self.checkins.is_empty())
    }

    /// The facet groups: every group is required, any token in a group
    /// matches it.
    fn facet_groups(&self) -> Vec<Vec<String>> {
        let mut groups: Vec<Vec<String>> = Vec::new();
        groups.extend(self.tags.iter().map(|t| vec![facet('t', t)]));
        groups.extend(self.fields.iter().map(|f| vec![facet('f', f)]));
        for (kind, values) in [
            ('r', &self.users),
            ('s', &self.sources),
            ('c', &self.checkins),
        ] {
            if !values.is_empty() {
                groups.push(values.iter().map(|v| facet(kind, v)).collect());
            }
        }
        groups
    }
}

/// A facet token as the migration writes it: `z`, the kind, the value's
/// UTF-8 in lower-case hex, `q`.
pub fn facet(kind: char, value: &str) -> String {
    let mut s = String::with_capacity(value.len() * 2 + 3);
    s.push('z');
    s.push(kind);
    for b in value.as_bytes() {
        let _ = write!(s, "{b:02x}");
    }
    s.push('q');
    s
}

/// How many of the newest matching notes are ranked by relevance: a
/// common word with a common filter matches a tenth of a million notes,
/// and scoring them all takes half a second, while the newest 200 are
/// what a marketer reads (older ones are reached with `until:`). The index
/// yields matches newest first and stops here; 200 rather than 1,000 took
/// the p99 over 1M notes from 57 to 44 ms on SQLite (BENCHMARKS.md).
pub const CANDIDATES: i64 = 200;

/// One search result: a note id and its score (higher is better).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SearchHit {
    pub id: i64,
    pub created_at: i64,
    pub score: f64,
}

/// An FTS5 string: `"…"` with inner quotes doubled.
fn fts5_string(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Store {
    /// User ids of the cached people whose display name is `name`, ignoring
    /// case (for `rep:@name`).
    pub async fn people_named(&self, name: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT user_id FROM people WHERE LOWER(name) = LOWER($1) AND deleted = 0 ORDER BY user_id",
        )
        .bind(name.trim())
        .fetch_all(self.pool())
        .await
        .context("looking up a rep by name")
    }

    /// The notes matching `spec`, best first (by relevance when there are
    /// words, then newest), `limit` of them after skipping `offset`.
    pub async fn search(
        &self,
        spec: &SearchSpec,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<SearchHit>> {
        let mut binds: Vec<String> = Vec::new();
        let next = |v: String, binds: &mut Vec<String>| {
            binds.push(v);
            format!("${}", binds.len())
        };
        let mut filters = String::new();
        if let Some(s) = spec.since_ms {
            let _ = write!(filters, " AND i.created_at >= {s}");
        }
        if let Some(u) = spec.until_ms {
            let _ = write!(filters, " AND i.created_at < {u}");
        }
        let limit = limit.clamp(1, 1000);
        let offset = offset.max(0);
        let sql = if !spec.matches_text() {
            format!(
                "SELECT i.id, i.created_at, CAST(0.0 AS DOUBLE PRECISION) AS score FROM insights i
                  WHERE i.deleted_at IS NULL{filters}
                  ORDER BY i.created_at DESC, i.id DESC LIMIT {limit} OFFSET {offset}"
            )
        } else {
            match self.backend {
                Backend::Sqlite => {
                    let mut parts: Vec<String> = Vec::new();
                    if !spec.words.is_empty() {
                        let words: Vec<String> =
                            spec.words.iter().map(|w| fts5_string(w)).collect();
                        parts.push(format!("body : ({})", words.join(" AND ")));
                    }
                    for g in spec.facet_groups() {
                        parts.push(format!("facets : ({})", g.join(" OR ")));
                    }
                    let m = next(parts.join(" AND "), &mut binds);
                    format!(
                        "SELECT id, created_at, score FROM (
                           SELECT i.id AS id, i.created_at AS created_at,
                                  -bm25(notes_fts, 1.0, 0.0) AS score
                             FROM notes_fts JOIN insights i ON i.id = notes_fts.rowid
                            WHERE notes_fts MATCH {m} AND i.deleted_at IS NULL{filters}
                            ORDER BY notes_fts.rowid DESC LIMIT {CANDIDATES}
                         ) c
                          ORDER BY score DESC, created_at DESC, id DESC
                          LIMIT {limit} OFFSET {offset}"
                    )
                }
                Backend::Postgres => {
                    let mut parts: Vec<String> = Vec::new();
                    for w in &spec.words {
                        let p = next(w.clone(), &mut binds);
                        parts.push(if w.contains(char::is_whitespace) {
                            format!("phraseto_tsquery('english', {p})")
                        } else {
                            format!("plainto_tsquery('english', {p})")
                        });
                    }
                    for g in spec.facet_groups() {
                        let p = next(g.join(" | "), &mut binds);
                        parts.push(format!("to_tsquery('simple', {p})"));
                    }
                    let rank = if spec.words.is_empty() {
                        "CAST(0.0 AS DOUBLE PRECISION)".to_string()
                    } else {
                        "CAST(ts_rank(i.search, q.q) AS DOUBLE PRECISION)".to_string()
                    };
                    format!(
                        "SELECT id, created_at, score FROM (
                           SELECT i.id AS id, i.created_at AS created_at, {rank} AS score
                             FROM insights i, (SELECT {query} AS q) q
                            WHERE i.search @@ q.q AND i.deleted_at IS NULL{filters}
                            ORDER BY i.id DESC LIMIT {CANDIDATES}
                         ) c
                          ORDER BY score DESC, created_at DESC, id DESC
                          LIMIT {limit} OFFSET {offset}",
                        query = parts.join(" && ")
                    )
                }
            }
        };
        let mut q = sqlx::query_as::<_, SearchHit>(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        q.fetch_all(self.pool()).await.context("searching notes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_are_letters_and_digits() {
        assert_eq!(
            facet('t', "competitor:acme"),
            "zt636f6d70657469746f723a61636d65q"
        );
        assert_eq!(facet('c', ""), "zcq");
        let f = facet('r', "Ünïcode \"quoted\"");
        assert!(f.chars().all(|c| c.is_ascii_alphanumeric()), "{f}");
    }

    #[test]
    fn groups_and_strings() {
        let spec = SearchSpec {
            tags: vec!["a".into(), "b".into()],
            users: vec!["U1".into(), "U2".into()],
            ..Default::default()
        };
        let g = spec.facet_groups();
        assert_eq!(g.len(), 3, "each tag required, the users one group");
        assert_eq!(g[2].len(), 2);
        assert!(spec.matches_text());
        assert!(!SearchSpec {
            since_ms: Some(1),
            ..Default::default()
        }
        .matches_text());
        assert_eq!(fts5_string("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
