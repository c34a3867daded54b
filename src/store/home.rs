//! App Home queries: what a person's home tab shows about them (their queued
//! prompts, the check-ins that have prompted them, when they shared notes)
//! and, for marketers and leads, the digest week's counts. Soft-deleted
//! notes never count.

use super::Store;
use anyhow::{Context, Result};

/// A prompt waiting to be sent to a person.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueuedPrompt {
    pub id: i64,
    pub checkin: String,
    pub due_at_ms: i64,
}

/// Counts for one digest week (or any span), over notes not deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeekCounts {
    pub notes: i64,
    /// People who shared at least one note.
    pub reps: i64,
    /// (source, notes), most first.
    pub by_source: Vec<(String, i64)>,
    /// (tag id, notes carrying it, picked or automatic), most first.
    pub top_tags: Vec<(String, i64)>,
    /// (competitor tag id or typed value, notes naming it), most first.
    pub top_competitors: Vec<(String, i64)>,
    pub positive: i64,
    pub neutral: i64,
    pub negative: i64,
    /// Notes without a sentiment score.
    pub unscored: i64,
}

/// The week's totals.
#[derive(sqlx::FromRow)]
struct Totals {
    notes: i64,
    reps: i64,
}

/// Notes counted under one name (a source, a tag, a competitor).
#[derive(sqlx::FromRow)]
struct Counted {
    name: String,
    n: i64,
}

impl Counted {
    fn pair(self) -> (String, i64) {
        (self.name, self.n)
    }
}

/// Notes with one sentiment (or none).
#[derive(sqlx::FromRow)]
struct SentimentCount {
    sentiment: Option<String>,
    n: i64,
}

impl Store {
    /// A person's prompts still queued to send and not yet answered (a note
    /// shared meanwhile answers them), soonest first.
    pub async fn queued_prompts(&self, user: &str, limit: i64) -> Result<Vec<QueuedPrompt>> {
        let rows = sqlx::query_as::<_, QueuedPrompt>(
            "SELECT id, checkin, due_at AS due_at_ms FROM prompts
             WHERE user_id = $1 AND status = 'queued' AND answered_at IS NULL
             ORDER BY due_at, id LIMIT $2",
        )
        .bind(user)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("reading a person's queued prompts")?;
        Ok(rows)
    }

    /// The check-ins that have ever prompted a person (whatever the outcome),
    /// by name.
    pub async fn prompted_checkins(&self, user: &str) -> Result<Vec<String>> {
        let checkins: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT checkin FROM prompts WHERE user_id = $1 ORDER BY checkin",
        )
        .bind(user)
        .fetch_all(self.pool())
        .await
        .context("reading the check-ins a person belongs to")?;
        Ok(checkins)
    }

    /// When a person's notes were shared (epoch ms, newest first), from
    /// `since_ms` on: what their streak is counted from.
    pub async fn note_times(&self, user: &str, since_ms: i64) -> Result<Vec<i64>> {
        let times: Vec<i64> = sqlx::query_scalar(
            "SELECT created_at FROM insights
             WHERE user_id = $1 AND deleted_at IS NULL AND created_at >= $2
             ORDER BY created_at DESC",
        )
        .bind(user)
        .bind(since_ms)
        .fetch_all(self.pool())
        .await
        .context("reading when a person shared notes")?;
        Ok(times)
    }

    /// Counts for notes created in [from, to): totals, sources, the `top`
    /// tags and competitors, and the sentiment split. A competitor is named
    /// by a typed `competitor` field or by one of `competitor_tags` (the
    /// taxonomy's competitor category); each note counts once per name.
    pub async fn week_counts(
        &self,
        from_ms: i64,
        to_ms: i64,
        competitor_tags: &[String],
        top: i64,
    ) -> Result<WeekCounts> {
        const IN_WEEK: &str = "i.deleted_at IS NULL AND i.created_at >= $1 AND i.created_at < $2";
        let mut out = WeekCounts::default();

        let totals = sqlx::query_as::<_, Totals>(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS notes, COUNT(DISTINCT i.user_id) AS reps FROM insights i WHERE {IN_WEEK}"
        )))
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(self.pool())
        .await
        .context("counting the week's notes")?;
        out.notes = totals.notes;
        out.reps = totals.reps;

        let rows = sqlx::query_as::<_, Counted>(sqlx::AssertSqlSafe(format!(
            "SELECT i.source AS name, COUNT(*) AS n FROM insights i WHERE {IN_WEEK}
             GROUP BY i.source ORDER BY n DESC, i.source"
        )))
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await
        .context("counting the week's notes by source")?;
        out.by_source = rows.into_iter().map(Counted::pair).collect();

        let rows = sqlx::query_as::<_, Counted>(sqlx::AssertSqlSafe(format!(
            "SELECT t.tag AS name, COUNT(DISTINCT t.insight_id) AS n
             FROM insight_tags t JOIN insights i ON i.id = t.insight_id
             WHERE {IN_WEEK}
             GROUP BY t.tag ORDER BY n DESC, t.tag LIMIT $3"
        )))
        .bind(from_ms)
        .bind(to_ms)
        .bind(top)
        .fetch_all(self.pool())
        .await
        .context("counting the week's tags")?;
        out.top_tags = rows.into_iter().map(Counted::pair).collect();

        // Competitors: typed values, plus tags of the competitor category
        // (bound as $4.., so a tag id is never spliced into the SQL).
        let mut named = String::from(
            "SELECT f.insight_id AS insight_id, f.value AS name FROM insight_fields f WHERE f.field = 'competitor'",
        );
        if !competitor_tags.is_empty() {
            named.push_str(&format!(
                " UNION SELECT t.insight_id AS insight_id, t.tag AS name FROM insight_tags t WHERE t.tag IN ({})",
                super::bulk::placeholders(4, competitor_tags.len())
            ));
        }
        let sql = format!(
            "SELECT x.name AS name, COUNT(DISTINCT x.insight_id) AS n
             FROM ({named}) x JOIN insights i ON i.id = x.insight_id
             WHERE {IN_WEEK}
             GROUP BY x.name ORDER BY n DESC, x.name LIMIT $3"
        );
        let mut q = sqlx::query_as::<_, Counted>(sqlx::AssertSqlSafe(sql))
            .bind(from_ms)
            .bind(to_ms)
            .bind(top);
        for t in competitor_tags {
            q = q.bind(t);
        }
        let rows = q
            .fetch_all(self.pool())
            .await
            .context("counting the week's competitors")?;
        out.top_competitors = rows.into_iter().map(Counted::pair).collect();

        let rows = sqlx::query_as::<_, SentimentCount>(sqlx::AssertSqlSafe(format!(
            "SELECT i.sentiment AS sentiment, COUNT(*) AS n FROM insights i WHERE {IN_WEEK} GROUP BY i.sentiment"
        )))
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await
        .context("counting the week's sentiment")?;
        for r in &rows {
            match r.sentiment.as_deref() {
                Some("positive") => out.positive += r.n,
                Some("neutral") => out.neutral += r.n,
                Some("negative") => out.negative += r.n,
                _ => out.unscored += r.n,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FieldValue, NewInsight, Sentiment, Source};

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::connect(&crate::store::sqlite_url(&dir.path().join("home.db")))
            .await
            .unwrap();
        s.migrate().await.unwrap();
        (dir, s)
    }

    fn note(user: &str, at: i64, key: &str) -> NewInsight {
        NewInsight {
            user_id: user.into(),
            text: format!("note {key}"),
            created_at_ms: at,
            dedupe_key: Some(key.into()),
            ..Default::default()
        }
    }

    /// One run with one prompt per (user, due, status).
    async fn prompt(s: &Store, checkin: &str, user: &str, occ: &str, due: i64, status: &str) {
        let run: i64 = sqlx::query_scalar(
            "INSERT INTO checkin_runs (checkin, occurrence, source, scheduled_at, created_at)
             VALUES ($1, $2, 'schedule', $3, $3)
             ON CONFLICT (checkin, occurrence) DO UPDATE SET scheduled_at = excluded.scheduled_at
             RETURNING id",
        )
        .bind(checkin)
        .bind(occ)
        .bind(due)
        .fetch_one(s.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO prompts (run_id, checkin, user_id, occurrence, question, status, due_at, created_at)
             VALUES ($1, $2, $3, $4, 'What did you hear?', $5, $6, $6)",
        )
        .bind(run)
        .bind(checkin)
        .bind(user)
        .bind(occ)
        .bind(status)
        .bind(due)
        .execute(s.pool())
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn queued_prompts_and_prompted_checkins() {
        let (_d, s) = store().await;
        prompt(
            &s,
            "weekly-pulse",
            "U1",
            "2026-12-03T16:00",
            3_000,
            "queued",
        )
        .await;
        prompt(&s, "deal-review", "U1", "2026-12-02T09:00", 2_000, "queued").await;
        prompt(&s, "monthly", "U1", "2026-11-01T09:00", 1_000, "sent").await;
        prompt(&s, "weekly-pulse", "U2", "2026-12-03T16:00", 500, "queued").await;
        let q = s.queued_prompts("U1", 10).await.unwrap();
        assert_eq!(
            q.iter()
                .map(|p| (p.checkin.as_str(), p.due_at_ms))
                .collect::<Vec<_>>(),
            vec![("deal-review", 2_000), ("weekly-pulse", 3_000)]
        );
        assert_eq!(s.queued_prompts("U1", 1).await.unwrap().len(), 1);
        assert_eq!(
            s.prompted_checkins("U1").await.unwrap(),
            vec!["deal-review", "monthly", "weekly-pulse"]
        );
        assert!(s.queued_prompts("U3", 10).await.unwrap().is_empty());
        assert!(s.prompted_checkins("U3").await.unwrap().is_empty());

        // A note shared meanwhile answers the queued prompts: they won't be sent.
        s.save_insight(&note("U1", 100, "a")).await.unwrap();
        assert!(s.queued_prompts("U1", 10).await.unwrap().is_empty());
        assert_eq!(s.queued_prompts("U2", 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn note_times_skip_deleted_and_other_people() {
        let (_d, s) = store().await;
        let a = s.save_insight(&note("U1", 1_000, "a")).await.unwrap();
        s.save_insight(&note("U1", 3_000, "b")).await.unwrap();
        s.save_insight(&note("U1", 2_000, "c")).await.unwrap();
        s.save_insight(&note("U2", 2_500, "d")).await.unwrap();
        assert_eq!(
            s.note_times("U1", 0).await.unwrap(),
            vec![3_000, 2_000, 1_000]
        );
        assert_eq!(s.note_times("U1", 2_000).await.unwrap(), vec![3_000, 2_000]);
        s.delete_insight(a.id, "U1", 5_000).await.unwrap();
        assert_eq!(s.note_times("U1", 0).await.unwrap(), vec![3_000, 2_000]);
    }

    #[tokio::test]
    async fn week_counts_cover_sources_tags_competitors_and_sentiment() {
        let (_d, s) = store().await;
        let comp = vec![
            "competitor:acme".to_string(),
            "competitor:globex".to_string(),
        ];
        let empty = s.week_counts(0, 10_000, &comp, 5).await.unwrap();
        assert_eq!(empty, WeekCounts::default());

        let mut n1 = note("U1", 1_000, "1");
        n1.source = Source::Checkin;
        n1.tags = vec!["competitor:acme".into()];
        // Picked and automatic: still one note.
        n1.auto_tags = vec!["competitor:acme".into(), "objection:price".into()];
        n1.sentiment = Some(Sentiment::Negative);
        // A typed value naming the same competitor: still one note.
        n1.fields = vec![FieldValue::new("competitor", "competitor:acme")];
        s.save_insight(&n1).await.unwrap();

        let mut n2 = note("U1", 2_000, "2");
        n2.source = Source::Command;
        n2.auto_tags = vec!["objection:price".into()];
        n2.fields = vec![FieldValue::new("competitor", "competitor:initech")];
        n2.sentiment = Some(Sentiment::Positive);
        s.save_insight(&n2).await.unwrap();

        let mut n3 = note("U2", 3_000, "3");
        n3.source = Source::Command;
        n3.auto_tags = vec!["competitor:globex".into(), "competitor:acme".into()];
        s.save_insight(&n3).await.unwrap();

        // Deleted, and outside the week: neither counts.
        let mut gone = note("U3", 4_000, "gone");
        gone.auto_tags = vec!["competitor:globex".into()];
        gone.sentiment = Some(Sentiment::Negative);
        let gone = s.save_insight(&gone).await.unwrap();
        s.delete_insight(gone.id, "U3", 5_000).await.unwrap();
        let mut late = note("U4", 10_000, "late");
        late.auto_tags = vec!["competitor:globex".into()];
        s.save_insight(&late).await.unwrap();

        let w = s.week_counts(0, 10_000, &comp, 5).await.unwrap();
        assert_eq!(w.notes, 3);
        assert_eq!(w.reps, 2);
        assert_eq!(
            w.by_source,
            vec![("command".to_string(), 2), ("checkin".to_string(), 1)]
        );
        assert_eq!(
            w.top_tags,
            vec![
                ("competitor:acme".to_string(), 2),
                ("objection:price".to_string(), 2),
                ("competitor:globex".to_string(), 1),
            ]
        );
        assert_eq!(
            w.top_competitors,
            vec![
                ("competitor:acme".to_string(), 2),
                ("competitor:globex".to_string(), 1),
                ("competitor:initech".to_string(), 1),
            ]
        );
        assert_eq!(
            (w.positive, w.neutral, w.negative, w.unscored),
            (1, 0, 1, 1)
        );

        // Top-n is honoured; without competitor tags only typed values count.
        let w = s.week_counts(0, 10_000, &[], 1).await.unwrap();
        assert_eq!(w.top_tags.len(), 1);
        assert_eq!(w.top_competitors, vec![("competitor:acme".to_string(), 1)]);
    }
}
