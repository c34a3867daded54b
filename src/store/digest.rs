//! The digest's aggregates, computed in SQL: a year of notes is a million
//! rows, so counting happens where the rows are and only the numbers, a
//! few hundred evidence ids and the candidate quotes come back.
//!
//! Every query takes the same window: `bounds` are the local-midnight
//! instants of the baseline periods and the current one (oldest first,
//! the current period's end last), and a note falls in bucket `k` when
//! `bounds[k] <= created_at < bounds[k + 1]`. The current period is the
//! last bucket. A `DigestScope` narrows the notes to the digest's
//! check-ins and tags. The per-period counts of tags, fields and notes
//! are read through `store::rollups`, which keeps a closed period's.

use super::bulk::{keep_prepared, placeholders, IN_CHUNK};
use super::Store;
use crate::domain::Insight;
use anyhow::{Context, Result};
use std::fmt::Write;

/// Which notes a digest covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestScope {
    /// Check-in names; `"notes"` means notes shared outside a check-in.
    /// Empty: every note.
    pub checkins: Vec<String>,
    /// Only notes with one of these tags. Empty: every note.
    pub tags: Vec<String>,
}

/// The check-in name that stands for notes shared outside a check-in.
pub const FREE_NOTES: &str = "notes";

/// Mentions of one item in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BucketCount {
    /// Bucket index; `BASELINE_WINDOW` and `CURRENT_WINDOW` are the
    /// whole baseline and the current period, for distinct reps (the
    /// baseline's counted only as far as 2, the support rule's minimum,
    /// or the most in one of its periods: see `store::rollups`).
    pub bucket: i64,
    /// `tag:<id>` or `field:<field>=<value>`.
    pub key: String,
    pub mentions: i64,
    pub reps: i64,
}

/// The bucket index `item_counts` uses for the whole baseline.
pub const BASELINE_WINDOW: i64 = 1000;
/// ... and for the current period, with distinct reps.
pub const CURRENT_WINDOW: i64 = 1001;

/// Notes, reps and prompts in one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct BucketTotals {
    pub bucket: i64,
    pub notes: i64,
    pub reps: i64,
}

/// Prompts sent and answered in one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct BucketPrompts {
    pub bucket: i64,
    pub sent: i64,
    pub answered: i64,
}

/// Notes of the current period carrying both tags.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TagPair {
    pub a: String,
    pub b: String,
    pub notes: i64,
}

/// Lead quality ratings for one lead source in one window (1 = current
/// period, 0 = the one before).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SourceRatings {
    pub win: i64,
    /// The lead source's tag, or empty for ratings with no source.
    pub source: String,
    pub ratings: i64,
    pub total: i64,
}

/// One evidence id.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EvidenceRow {
    pub key: String,
    pub id: i64,
    /// How many of the key's notes precede it, newest first (1-based).
    pub rn: i64,
}

/// Where a note can be read, for the digest's links.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NoteLink {
    pub id: i64,
    pub permalink: Option<String>,
    pub created_at: i64,
}

/// A SQL fragment and the values it binds, numbered `$n` from `first`.
pub(super) struct Fragment {
    pub(super) sql: String,
    pub(super) binds: Vec<String>,
}

/// `AND …` restricting `i` (insights) to the scope, with its binds
/// numbered from `$first`.
pub(super) fn scope_sql(scope: &DigestScope, first: usize) -> Fragment {
    let mut sql = String::new();
    let mut binds = Vec::new();
    let mut n = first;
    let mut next = |v: &str, binds: &mut Vec<String>| {
        binds.push(v.to_string());
        let p = format!("${n}");
        n += 1;
        p
    };
    if !scope.checkins.is_empty() {
        let free = scope.checkins.iter().any(|c| c == FREE_NOTES);
        let named: Vec<String> = scope
            .checkins
            .iter()
            .filter(|c| *c != FREE_NOTES)
            .map(|c| next(c, &mut binds))
            .collect();
        let mut parts = Vec::new();
        if !named.is_empty() {
            parts.push(format!("i.checkin IN ({})", named.join(", ")));
        }
        if free {
            parts.push("i.checkin IS NULL".to_string());
        }
        let _ = write!(sql, " AND ({})", parts.join(" OR "));
    }
    if !scope.tags.is_empty() {
        let tags: Vec<String> = scope.tags.iter().map(|t| next(t, &mut binds)).collect();
        let _ = write!(
            sql,
            " AND EXISTS (SELECT 1 FROM insight_tags st WHERE st.insight_id = i.id AND st.tag IN ({}))",
            tags.join(", ")
        );
    }
    Fragment { sql, binds }
}

/// `CASE WHEN i.created_at < b1 THEN 0 … ELSE n-1 END`: the bucket of a
/// note. The bounds are integers we computed, written as literals.
pub(super) fn bucket_sql(bounds: &[i64], column: &str) -> String {
    if bounds.len() <= 2 {
        return "CAST(0 AS BIGINT)".to_string();
    }
    let mut sql = String::from("CAST(CASE");
    let last = bounds.len().saturating_sub(2);
    for (k, b) in bounds.iter().enumerate().skip(1).take(last) {
        let _ = write!(sql, " WHEN {column} < {b} THEN {}", k - 1);
    }
    let _ = write!(sql, " ELSE {last} END AS BIGINT)");
    sql
}

/// The tag and typed-field mentions of the window's notes: `b` bucket,
/// `key`, `id`, `user_id`, `created_at`. A tag both picked and
/// auto-applied gives two rows for one note, so counts are of distinct
/// ids (joining `insight_tags` as it is lets the database walk its
/// primary key from each note instead of deduplicating the whole table).
pub(super) fn mentions_sql(bounds: &[i64], scope: &Fragment) -> String {
    let bucket = bucket_sql(bounds, "i.created_at");
    format!(
        "SELECT {bucket} AS b, 'tag:' || t.tag AS key, i.id AS id, i.user_id AS user_id, i.created_at AS created_at
           FROM insights i JOIN insight_tags t ON t.insight_id = i.id
          WHERE i.deleted_at IS NULL AND i.created_at >= $1 AND i.created_at < $2{scope}
         UNION ALL
         SELECT {bucket} AS b, 'field:' || f.field || '=' || f.value AS key, i.id AS id, i.user_id AS user_id, i.created_at AS created_at
           FROM insights i JOIN insight_fields f ON f.insight_id = i.id
          WHERE i.deleted_at IS NULL AND i.created_at >= $1 AND i.created_at < $2
            AND f.field <> 'lead_quality'{scope}",
        scope = scope.sql
    )
}

macro_rules! bind_all {
    ($q:expr, $from:expr, $to:expr, $binds:expr) => {{
        let mut q = $q.bind($from).bind($to);
        for v in $binds {
            q = q.bind(v.clone());
        }
        q
    }};
}

impl Store {
    /// Notes of [from, to) by capture path (form, reply, command, …).
    pub async fn digest_sources(
        &self,
        from: i64,
        to: i64,
        scope: &DigestScope,
    ) -> Result<Vec<(String, i64)>> {
        let f = scope_sql(scope, 3);
        let sql = format!(
            "SELECT i.source, CAST(COUNT(*) AS BIGINT) FROM insights i
              WHERE i.deleted_at IS NULL AND i.created_at >= $1 AND i.created_at < $2{scope}
              GROUP BY i.source",
            scope = f.sql
        );
        let q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
        bind_all!(q, from, to, &f.binds)
            .fetch_all(self.pool())
            .await
            .context("counting the digest's notes by source")
    }

    /// Prompts sent and answered per bucket (by when they were sent), for
    /// the digest's check-ins (all when `checkins` is empty).
    pub async fn digest_prompts(
        &self,
        bounds: &[i64],
        checkins: &[String],
    ) -> Result<Vec<BucketPrompts>> {
        let (from, to) = window(bounds)?;
        let named: Vec<&String> = checkins.iter().filter(|c| *c != FREE_NOTES).collect();
        if !checkins.is_empty() && named.is_empty() {
            return Ok(vec![]);
        }
        let filter = if named.is_empty() {
            String::new()
        } else {
            format!(" AND p.checkin IN ({})", placeholders(3, named.len()))
        };
        let sql = format!(
            "SELECT {bucket} AS bucket, CAST(COUNT(*) AS BIGINT) AS sent,
                    CAST(SUM(CASE WHEN p.answered_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS answered
               FROM prompts p
              WHERE p.status = 'sent' AND p.sent_at >= $1 AND p.sent_at < $2{filter}
              GROUP BY 1",
            bucket = bucket_sql(bounds, "p.sent_at"),
        );
        let q = sqlx::query_as::<_, BucketPrompts>(sqlx::AssertSqlSafe(sql));
        bind_all!(q, from, to, named)
            .fetch_all(self.pool())
            .await
            .context("counting the digest's prompts")
    }

    /// The newest `per_key` note ids of each item in [from, to).
    pub async fn digest_evidence(
        &self,
        from: i64,
        to: i64,
        scope: &DigestScope,
        per_key: i64,
    ) -> Result<Vec<EvidenceRow>> {
        let f = scope_sql(scope, 3);
        let sql = format!(
            "SELECT key, id, rn FROM (
               SELECT key, id, CAST(ROW_NUMBER() OVER (PARTITION BY key ORDER BY created_at DESC, id DESC) AS BIGINT) AS rn
                 FROM (SELECT key, id, MAX(created_at) AS created_at FROM ({mentions}) m GROUP BY key, id) d
             ) r WHERE rn <= {per_key}",
            mentions = mentions_sql(&[from, to], &f)
        );
        let q = sqlx::query_as::<_, EvidenceRow>(sqlx::AssertSqlSafe(sql));
        bind_all!(q, from, to, &f.binds)
            .fetch_all(self.pool())
            .await
            .context("finding the notes behind the digest's figures")
    }

    /// Notes in [from, to) carrying a tag of `left` and a tag of `right`,
    /// per pair (competitor × account, stage × objection, …).
    pub async fn digest_tag_pairs(
        &self,
        from: i64,
        to: i64,
        scope: &DigestScope,
        left: &[String],
        right: &[String],
    ) -> Result<Vec<TagPair>> {
        if left.is_empty() || right.is_empty() {
            return Ok(vec![]);
        }
        let f = scope_sql(scope, 3);
        let l0 = 3 + f.binds.len();
        let r0 = l0 + left.len();
        let sql = format!(
            "SELECT a.tag AS a, b.tag AS b, CAST(COUNT(DISTINCT i.id) AS BIGINT) AS notes
               FROM insights i
               JOIN insight_tags a ON a.insight_id = i.id
               JOIN insight_tags b ON b.insight_id = i.id
              WHERE i.deleted_at IS NULL AND i.created_at >= $1 AND i.created_at < $2{scope}
                AND a.tag IN ({l}) AND b.tag IN ({r}) AND a.tag <> b.tag
              GROUP BY a.tag, b.tag",
            scope = f.sql,
            l = placeholders(l0, left.len()),
            r = placeholders(r0, right.len()),
        );
        let q = sqlx::query_as::<_, TagPair>(sqlx::AssertSqlSafe(sql));
        bind_all!(q, from, to, f.binds.iter().chain(left).chain(right))
            .fetch_all(self.pool())
            .await
            .context("pairing the digest's tags")
    }

    /// Lead quality ratings (the `lead_quality` field, 1–5) per lead source
    /// tag, for the period before `split` (window 0) and from it (window 1).
    pub async fn digest_lead_quality(
        &self,
        from: i64,
        split: i64,
        to: i64,
        scope: &DigestScope,
        sources: &[String],
    ) -> Result<Vec<SourceRatings>> {
        let f = scope_sql(scope, 4);
        let s0 = 4 + f.binds.len();
        // A rating's lead source: the note's lead-source tag (the first,
        // if it has several), looked up per rated note.
        let source = if sources.is_empty() {
            "''".to_string()
        } else {
            format!(
                "COALESCE((SELECT MIN(s.tag) FROM insight_tags s
                            WHERE s.insight_id = i.id AND s.tag IN ({})), '')",
                placeholders(s0, sources.len())
            )
        };
        let sql = format!(
            "SELECT CAST(CASE WHEN i.created_at >= $3 THEN 1 ELSE 0 END AS BIGINT) AS win,
                    {source} AS source,
                    CAST(COUNT(*) AS BIGINT) AS ratings,
                    CAST(SUM(CAST(q.value AS INTEGER)) AS BIGINT) AS total
               FROM insights i
               JOIN insight_fields q ON q.insight_id = i.id AND q.field = 'lead_quality'
              WHERE i.deleted_at IS NULL AND i.created_at >= $1 AND i.created_at < $2{scope}
              GROUP BY 1, 2",
            scope = f.sql,
        );
        let q = sqlx::query_as::<_, SourceRatings>(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .bind(split);
        let mut q = q;
        for v in f.binds.iter().chain(sources) {
            q = q.bind(v.clone());
        }
        q.fetch_all(self.pool())
            .await
            .context("averaging lead quality by source")
    }

    /// The period's most substantive notes (most tags, then newest): the
    /// pool quotes are picked from.
    pub async fn digest_quote_pool(
        &self,
        from: i64,
        to: i64,
        scope: &DigestScope,
        limit: i64,
    ) -> Result<Vec<i64>> {
        let f = scope_sql(scope, 3);
        let sql = format!(
            "SELECT i.id FROM insights i
              WHERE i.deleted_at IS NULL AND i.created_at >= $1 AND i.created_at < $2{scope}
                AND LENGTH(i.text) >= 20
              ORDER BY (SELECT COUNT(DISTINCT t.tag) FROM insight_tags t WHERE t.insight_id = i.id) DESC,
                       i.created_at DESC, i.id DESC
              LIMIT {limit}",
            scope = f.sql
        );
        let q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
        bind_all!(q, from, to, &f.binds)
            .fetch_all(self.pool())
            .await
            .context("choosing the digest's candidate quotes")
    }

    /// Notes by id (deleted ones left out), in id order.
    pub async fn insights_by_ids(&self, ids: &[i64]) -> Result<Vec<Insight>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT {cols} FROM insights WHERE deleted_at IS NULL AND id IN ({ids}) ORDER BY id",
                cols = super::insights::COLUMNS,
                ids = placeholders(1, chunk.len())
            );
            let mut q = sqlx::query_as::<_, super::insights::InsightRow>(sqlx::AssertSqlSafe(sql))
                .persistent(keep_prepared(chunk.len(), IN_CHUNK));
            for id in chunk {
                q = q.bind(*id);
            }
            let rows = q
                .fetch_all(self.pool())
                .await
                .context("reading notes by id")?;
            for r in rows {
                out.push(Insight::try_from(r)?);
            }
        }
        Ok(out)
    }

    /// Permalinks and dates of notes, for the digest's evidence links.
    pub async fn note_links(&self, ids: &[i64]) -> Result<Vec<NoteLink>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT id, permalink, created_at FROM insights WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query_as::<_, NoteLink>(sqlx::AssertSqlSafe(sql))
                .persistent(keep_prepared(chunk.len(), IN_CHUNK));
            for id in chunk {
                q = q.bind(*id);
            }
            out.extend(
                q.fetch_all(self.pool())
                    .await
                    .context("reading the digest's note links")?,
            );
        }
        Ok(out)
    }
}

/// The whole window [first bound, last bound).
fn window(bounds: &[i64]) -> Result<(i64, i64)> {
    match (bounds.first(), bounds.last()) {
        (Some(&a), Some(&b)) if bounds.len() >= 2 => Ok((a, b)),
        _ => anyhow::bail!("a digest window needs at least two bounds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_scope() {
        assert_eq!(
            bucket_sql(&[0, 10, 20, 30], "c"),
            "CAST(CASE WHEN c < 10 THEN 0 WHEN c < 20 THEN 1 ELSE 2 END AS BIGINT)"
        );
        let f = scope_sql(
            &DigestScope {
                checkins: vec!["weekly".into(), FREE_NOTES.into()],
                tags: vec!["a".into(), "b".into()],
            },
            3,
        );
        assert_eq!(f.binds, ["weekly", "a", "b"]);
        assert!(f.sql.contains("i.checkin IN ($3) OR i.checkin IS NULL"));
        assert!(f.sql.contains("st.tag IN ($4, $5)"));
        assert!(scope_sql(&DigestScope::default(), 3).sql.is_empty());
        assert_eq!(bucket_sql(&[0, 10], "c"), "CAST(0 AS BIGINT)");
    }
}
