//! A digest window's counts, with each closed period counted once.
//!
//! A digest compares its period with the 8 before it, so every build
//! counts 9 periods of notes: about 175,000 notes and 780,000 tag and
//! field rows in a year of a 1,000-rep team. A period that has ended never
//! gains a note, and its counts change only when one of its notes is
//! edited, retagged, deleted or purged; so once counted, a closed period's
//! counts are kept as a rollup (`digest_rollups`, one per digest scope and
//! period, with its items) and read back on the next build. Triggers on
//! `insights`, `insight_tags` and `insight_fields` delete every rollup a
//! changed note falls in, whichever code path wrote it (see the
//! migration), so a kept rollup always matches its notes.
//!
//! A rollup is claimed before its period is counted and kept only if the
//! claim still stands afterwards: a note changed in the meantime deletes
//! the claim, and the counts are used for this build but not kept. On
//! PostgreSQL a claim is made under an advisory lock that every note
//! write holds shared until it commits, so a write whose trigger ran
//! before the claim existed has committed before the period is counted.
//!
//! Distinct reps don't add across periods, and the baseline's only need
//! them for the support rule (at least 2): each item keeps its lowest and
//! highest rep id, and the baseline has 2 or more reps exactly when they
//! differ across its periods.

use super::bulk::Insert;
use super::digest::{
    bucket_sql, mentions_sql, scope_sql, BucketCount, BucketTotals, DigestScope, BASELINE_WINDOW,
    CURRENT_WINDOW,
};
use super::{Backend, Store};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};

/// The advisory lock every note write holds shared (the PostgreSQL
/// migration's trigger), taken exclusively to claim rollups.
const ROLLUP_LOCK: i64 = 7_302_118;

/// A digest window's counts: each bucket's items and totals, plus the
/// whole baseline's and the current period's items (`BASELINE_WINDOW`,
/// `CURRENT_WINDOW`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowCounts {
    pub items: Vec<BucketCount>,
    pub totals: Vec<BucketTotals>,
    /// How many buckets were read from rollups, and how many counted.
    pub kept: usize,
    pub counted: usize,
}

/// One item of one period.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct ItemRow {
    bucket: i64,
    key: String,
    mentions: i64,
    reps: i64,
    min_rep: String,
    max_rep: String,
}

/// A kept rollup's header.
#[derive(Debug, Clone, sqlx::FromRow)]
struct RollupRow {
    id: i64,
    from_ms: i64,
    to_ms: i64,
    notes: i64,
    reps: i64,
}

/// One period's counts, kept or freshly counted.
#[derive(Debug, Clone, Default)]
struct Bucket {
    totals: BucketTotals,
    items: Vec<ItemRow>,
}

const INSERT_ITEMS: Insert = Insert::new(
    "INSERT INTO digest_rollup_items (rollup_id, key, mentions, reps, min_rep, max_rep)",
    6,
    "",
);

/// The scope in the canonical form rollups are keyed by.
fn scope_key(scope: &DigestScope) -> String {
    let mut checkins = scope.checkins.clone();
    checkins.sort();
    checkins.dedup();
    let mut tags = scope.tags.clone();
    tags.sort();
    tags.dedup();
    serde_json::json!({ "checkins": checkins, "tags": tags }).to_string()
}

/// Runs of consecutive bucket indices: `[2, 3, 4, 7]` → `[(2, 4), (7, 7)]`.
fn runs(buckets: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &b in buckets {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == b => *last = b,
            _ => out.push((b, b)),
        }
    }
    out
}

impl Store {
    /// Mentions and distinct reps of every tag and typed-field value and
    /// the notes and reps sharing, per bucket of `bounds` (see
    /// `store::digest`), with the whole baseline's items under
    /// `BASELINE_WINDOW` (its `reps` at least 1 or 2: enough for the support
    /// rule, see the module) and the current period's under
    /// `CURRENT_WINDOW`. Buckets that ended by `now_ms` are read from their
    /// rollups, or counted and kept.
    pub async fn digest_counts(
        &self,
        bounds: &[i64],
        scope: &DigestScope,
        now_ms: i64,
    ) -> Result<WindowCounts> {
        anyhow::ensure!(
            bounds.len() >= 2,
            "a digest window needs at least two bounds"
        );
        let n = bounds.len() - 1;
        let key = scope_key(scope);
        let mut buckets: Vec<Option<Bucket>> = vec![None; n];
        let kept = self.kept_rollups(&key, bounds).await?;
        let mut kept_count = 0;
        for (k, b) in kept {
            buckets[k] = Some(b);
            kept_count += 1;
        }
        let missing: Vec<usize> = (0..n).filter(|&k| buckets[k].is_none()).collect();
        let closed: Vec<usize> = missing
            .iter()
            .copied()
            .filter(|&k| bounds[k + 1] <= now_ms)
            .collect();
        let claims = self.claim_rollups(&key, bounds, &closed, now_ms).await?;
        for (first, last) in runs(&missing) {
            let counted = self.count_buckets(&bounds[first..=last + 1], scope).await?;
            for (i, b) in counted.into_iter().enumerate() {
                buckets[first + i] = Some(b);
            }
        }
        for (k, (id, token)) in &claims {
            if let Some(b) = &buckets[*k] {
                self.keep_rollup(*id, token, b, now_ms).await?;
            }
        }
        Ok(assemble(
            buckets.into_iter().map(Option::unwrap_or_default).collect(),
            kept_count,
            missing.len(),
        ))
    }

    /// The done rollups of `scope` matching `bounds`' buckets, by bucket.
    async fn kept_rollups(&self, scope: &str, bounds: &[i64]) -> Result<Vec<(usize, Bucket)>> {
        let (first, last) = (bounds[0], bounds[bounds.len() - 1]);
        let heads = sqlx::query_as::<_, RollupRow>(
            "SELECT id, from_ms, to_ms, notes, reps FROM digest_rollups
              WHERE scope = $1 AND done = 1 AND from_ms >= $2 AND to_ms <= $3",
        )
        .bind(scope)
        .bind(first)
        .bind(last)
        .fetch_all(self.pool())
        .await
        .context("reading the digest's kept counts")?;
        let index: HashMap<(i64, i64), usize> = bounds
            .windows(2)
            .enumerate()
            .map(|(k, w)| ((w[0], w[1]), k))
            .collect();
        let heads: Vec<(usize, RollupRow)> = heads
            .into_iter()
            .filter_map(|h| index.get(&(h.from_ms, h.to_ms)).map(|&k| (k, h)))
            .collect();
        if heads.is_empty() {
            return Ok(vec![]);
        }
        let ids = heads
            .iter()
            .map(|(_, h)| h.id.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(format!(
            "SELECT rollup_id AS bucket, key, mentions, reps, min_rep, max_rep
               FROM digest_rollup_items WHERE rollup_id IN ({ids})"
        )))
        .fetch_all(self.pool())
        .await
        .context("reading the digest's kept counts")?;
        let mut by_id: HashMap<i64, Vec<ItemRow>> = HashMap::new();
        for r in rows {
            by_id.entry(r.bucket).or_default().push(r);
        }
        Ok(heads
            .into_iter()
            .map(|(k, h)| {
                let items = by_id
                    .remove(&h.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| ItemRow {
                        bucket: k as i64,
                        ..r
                    })
                    .collect();
                let totals = BucketTotals {
                    bucket: k as i64,
                    notes: h.notes,
                    reps: h.reps,
                };
                (k, Bucket { totals, items })
            })
            .collect())
    }

    /// Claims a rollup for each bucket of `closed`: its id and token, by
    /// bucket. A bucket someone else finished meanwhile is left out, and
    /// so is every bucket when a note write is in flight (PostgreSQL):
    /// those are counted but not kept.
    async fn claim_rollups(
        &self,
        scope: &str,
        bounds: &[i64],
        closed: &[usize],
        now_ms: i64,
    ) -> Result<Vec<(usize, (i64, String))>> {
        if closed.is_empty() {
            return Ok(vec![]);
        }
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(ROLLUP_LOCK)
                .fetch_one(&mut *tx)
                .await
                .context("claiming the digest's counts")?;
            if !locked {
                return Ok(vec![]);
            }
        }
        let mut out = Vec::with_capacity(closed.len());
        for &k in closed {
            let token = format!("{:016x}", rand::random::<u64>());
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO digest_rollups (scope, from_ms, to_ms, token, done, computed_at)
                 VALUES ($1, $2, $3, $4, 0, $5)
                 ON CONFLICT (scope, from_ms, to_ms) DO UPDATE
                    SET token = excluded.token, computed_at = excluded.computed_at
                  WHERE digest_rollups.done = 0
                 RETURNING id",
            )
            .bind(scope)
            .bind(bounds[k])
            .bind(bounds[k + 1])
            .bind(&token)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await
            .context("claiming the digest's counts")?;
            if let Some(id) = id {
                out.push((k, (id, token)));
            }
        }
        tx.commit().await.context("claiming the digest's counts")?;
        Ok(out)
    }

    /// Keeps a counted bucket under its claim, if the claim still stands.
    async fn keep_rollup(&self, id: i64, token: &str, b: &Bucket, now_ms: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE digest_rollups SET done = 1, notes = $1, reps = $2, computed_at = $3
              WHERE id = $4 AND token = $5 AND done = 0",
        )
        .bind(b.totals.notes)
        .bind(b.totals.reps)
        .bind(now_ms)
        .bind(id)
        .bind(token)
        .execute(&mut *tx)
        .await
        .context("keeping the digest's counts")?
        .rows_affected()
            == 1;
        if !claimed {
            // A note in the period changed while it was counted: the
            // counts served this build, and the next counts again.
            return Ok(());
        }
        sqlx::query("DELETE FROM digest_rollup_items WHERE rollup_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .context("keeping the digest's counts")?;
        INSERT_ITEMS
            .execute(&mut tx, &b.items, |row, i| {
                row.bind(id)
                    .bind(i.key.as_str())
                    .bind(i.mentions)
                    .bind(i.reps)
                    .bind(i.min_rep.as_str())
                    .bind(i.max_rep.as_str());
            })
            .await
            .context("keeping the digest's counts")?;
        tx.commit().await.context("keeping the digest's counts")
    }

    /// Counts the buckets of `bounds` (consecutive) from the notes.
    async fn count_buckets(&self, bounds: &[i64], scope: &DigestScope) -> Result<Vec<Bucket>> {
        let (from, to) = (bounds[0], bounds[bounds.len() - 1]);
        let f = scope_sql(scope, 3);
        let sql = format!(
            "WITH m AS ({mentions})
             SELECT b AS bucket, key, CAST(COUNT(DISTINCT id) AS BIGINT) AS mentions,
                    CAST(COUNT(DISTINCT user_id) AS BIGINT) AS reps,
                    MIN(user_id) AS min_rep, MAX(user_id) AS max_rep
               FROM m GROUP BY b, key",
            mentions = mentions_sql(bounds, &f)
        );
        let mut q = sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to);
        for v in &f.binds {
            q = q.bind(v.clone());
        }
        let items = q
            .fetch_all(self.pool())
            .await
            .context("counting the digest's tags and fields")?;
        let sql = format!(
            "SELECT {bucket} AS bucket, CAST(COUNT(*) AS BIGINT) AS notes,
                    CAST(COUNT(DISTINCT i.user_id) AS BIGINT) AS reps
               FROM insights i
              WHERE i.deleted_at IS NULL AND i.created_at >= $1 AND i.created_at < $2{scope}
              GROUP BY 1",
            bucket = bucket_sql(bounds, "i.created_at"),
            scope = f.sql
        );
        let mut q = sqlx::query_as::<_, BucketTotals>(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to);
        for v in &f.binds {
            q = q.bind(v.clone());
        }
        let totals = q
            .fetch_all(self.pool())
            .await
            .context("counting the digest's notes")?;
        let mut out = vec![Bucket::default(); bounds.len() - 1];
        for (k, b) in out.iter_mut().enumerate() {
            b.totals.bucket = k as i64;
        }
        for t in totals {
            if let Some(b) = out.get_mut(t.bucket as usize) {
                b.totals = t;
            }
        }
        for i in items {
            if let Some(b) = out.get_mut(i.bucket as usize) {
                b.items.push(i);
            }
        }
        Ok(out)
    }
}

/// The window's rows from its buckets (in order; the last is the current
/// period).
fn assemble(buckets: Vec<Bucket>, kept: usize, counted: usize) -> WindowCounts {
    let current = buckets.len() as i64 - 1;
    let mut items = Vec::new();
    let mut totals = Vec::new();
    // Per key over the baseline: mentions, most reps in one bucket, the
    // lowest and highest rep.
    let mut baseline: BTreeMap<String, (i64, i64, String, String)> = BTreeMap::new();
    for (k, b) in buckets.into_iter().enumerate() {
        let k = k as i64;
        if b.totals.notes > 0 {
            totals.push(BucketTotals {
                bucket: k,
                ..b.totals
            });
        }
        for i in b.items {
            if k < current {
                let e = baseline
                    .entry(i.key.clone())
                    .or_insert_with(|| (0, 0, i.min_rep.clone(), i.max_rep.clone()));
                e.0 += i.mentions;
                e.1 = e.1.max(i.reps);
                if i.min_rep < e.2 {
                    e.2 = i.min_rep.clone();
                }
                if i.max_rep > e.3 {
                    e.3 = i.max_rep.clone();
                }
            } else {
                items.push(BucketCount {
                    bucket: CURRENT_WINDOW,
                    key: i.key.clone(),
                    mentions: i.mentions,
                    reps: i.reps,
                });
            }
            items.push(BucketCount {
                bucket: k,
                key: i.key,
                mentions: i.mentions,
                reps: i.reps,
            });
        }
    }
    for (key, (mentions, most, min_rep, max_rep)) in baseline {
        let reps = most.max(if min_rep == max_rep { 1 } else { 2 });
        items.push(BucketCount {
            bucket: BASELINE_WINDOW,
            key,
            mentions,
            reps,
        });
    }
    WindowCounts {
        items,
        totals,
        kept,
        counted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(bucket: i64, key: &str, mentions: i64, reps: i64, min: &str, max: &str) -> ItemRow {
        ItemRow {
            bucket,
            key: key.into(),
            mentions,
            reps,
            min_rep: min.into(),
            max_rep: max.into(),
        }
    }

    #[test]
    fn consecutive_runs() {
        assert_eq!(runs(&[2, 3, 4, 7]), vec![(2, 4), (7, 7)]);
        assert_eq!(runs(&[]), vec![]);
        assert_eq!(runs(&[0]), vec![(0, 0)]);
    }

    #[test]
    fn scope_keys_ignore_order() {
        let a = DigestScope {
            checkins: vec!["b".into(), "a".into()],
            tags: vec!["x".into()],
        };
        let b = DigestScope {
            checkins: vec!["a".into(), "b".into(), "a".into()],
            tags: vec!["x".into()],
        };
        assert_eq!(scope_key(&a), scope_key(&b));
        assert_ne!(scope_key(&a), scope_key(&DigestScope::default()));
    }

    #[test]
    fn baseline_reps_from_the_rep_range() {
        let bucket = |k: i64, items: Vec<ItemRow>| Bucket {
            totals: BucketTotals {
                bucket: k,
                notes: 1,
                reps: 1,
            },
            items,
        };
        let w = assemble(
            vec![
                // One rep a week, the same one: 1 rep over the baseline.
                bucket(0, vec![item(0, "tag:a", 2, 1, "U1", "U1")]),
                // One rep a week, different ones: 2 reps.
                bucket(
                    1,
                    vec![
                        item(1, "tag:a", 1, 1, "U1", "U1"),
                        item(1, "tag:b", 1, 1, "U1", "U1"),
                    ],
                ),
                bucket(
                    2,
                    vec![
                        item(2, "tag:b", 1, 1, "U2", "U2"),
                        item(2, "tag:c", 5, 3, "U1", "U4"),
                    ],
                ),
                // The current period.
                bucket(3, vec![item(3, "tag:a", 4, 2, "U1", "U2")]),
            ],
            1,
            3,
        );
        let get = |b: i64, k: &str| {
            w.items
                .iter()
                .find(|i| i.bucket == b && i.key == k)
                .map(|i| (i.mentions, i.reps))
        };
        assert_eq!(get(BASELINE_WINDOW, "tag:a"), Some((3, 1)));
        assert_eq!(get(BASELINE_WINDOW, "tag:b"), Some((2, 2)));
        assert_eq!(get(BASELINE_WINDOW, "tag:c"), Some((5, 3)));
        assert_eq!(get(CURRENT_WINDOW, "tag:a"), Some((4, 2)));
        assert_eq!(get(3, "tag:a"), Some((4, 2)));
        assert_eq!(get(CURRENT_WINDOW, "tag:c"), None);
        assert_eq!(w.totals.len(), 4);
        assert_eq!((w.kept, w.counted), (1, 3));
    }
}
