//! Initiatives (issue 13): the `initiatives` table (the config file's
//! entries synced in, and those added in Slack), the notes that rate one
//! (`initiative_rating` fields) or are linked to it (`initiative:ID`
//! tags), and the final debrief, queued once.

use super::loops::{insert_dm, NewDm};
use super::{to_json, Store};
use crate::config::initiative::{Initiative, InitiativeKind, Rating, INITIATIVE_RATING};
use anyhow::{Context, Result};
use chrono::NaiveDate;

/// An initiative as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiativeRecord {
    pub initiative: Initiative,
    /// Who added it in Slack.
    pub added_by: Option<String>,
    pub created_at: i64,
    /// When its final debrief was queued.
    pub debriefed_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    kind: String,
    start_day: String,
    end_day: Option<String>,
    checkins: String,
    keywords: String,
    source: String,
    added_by_user: Option<String>,
    created_at: i64,
    ended_at: Option<i64>,
    debriefed_at: Option<i64>,
}

const COLUMNS: &str =
    "id, name, kind, start_day, end_day, checkins, keywords, source, added_by_user,
    created_at, ended_at, debriefed_at";

impl Row {
    fn record(self) -> Option<InitiativeRecord> {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        Some(InitiativeRecord {
            initiative: Initiative {
                kind: InitiativeKind::parse(&self.kind)?,
                start: day(&self.start_day)?,
                end: match &self.end_day {
                    Some(e) => Some(day(e)?),
                    None => None,
                },
                checkins: serde_json::from_str(&self.checkins).unwrap_or_default(),
                keywords: serde_json::from_str(&self.keywords).unwrap_or_default(),
                from_config: self.source == "config",
                ended_at: self.ended_at,
                id: self.id,
                name: self.name,
            },
            added_by: self.added_by_user,
            created_at: self.created_at,
            debriefed_at: self.debriefed_at,
        })
    }
}

/// What `/fieldnotes initiative end` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndOutcome {
    Ended(Initiative),
    NotFound,
    AlreadyOver(Initiative),
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl Store {
    /// Every stored initiative, oldest first.
    pub async fn initiative_records(&self) -> Result<Vec<InitiativeRecord>> {
        let rows = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM initiatives ORDER BY start_day, id"
        )))
        .fetch_all(self.pool())
        .await
        .context("reading initiatives")?;
        Ok(rows.into_iter().filter_map(Row::record).collect())
    }

    pub async fn initiative_record(&self, id: &str) -> Result<Option<InitiativeRecord>> {
        let row = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM initiatives WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .context("reading an initiative")?;
        Ok(row.and_then(Row::record))
    }

    /// The initiatives the app runs on: the file's `defs` synced in first,
    /// then read back as stored (so an early end holds), with those added
    /// in Slack. A file entry that left the file is no longer asked about.
    /// What the bot's every tick and the CLI's commands read.
    pub async fn initiatives_for(
        &self,
        defs: &[Initiative],
        now_ms: i64,
    ) -> Result<Vec<Initiative>> {
        self.sync_config_initiatives(defs, now_ms).await?;
        Ok(self
            .initiative_records()
            .await?
            .into_iter()
            .map(|r| r.initiative)
            .filter(|i| !i.from_config || defs.iter().any(|d| d.id == i.id))
            .collect())
    }

    /// Writes the file's initiatives into the table: new ones inserted,
    /// changed ones updated (an id added in Slack is left alone). Returns
    /// how many rows changed.
    async fn sync_config_initiatives(&self, defs: &[Initiative], now_ms: i64) -> Result<u64> {
        let mut changed = 0;
        for i in defs {
            changed += sqlx::query(
                "INSERT INTO initiatives (id, name, kind, start_day, end_day, checkins, keywords, source, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'config', $8, $8)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                     start_day = excluded.start_day,
                     end_day = CASE WHEN initiatives.ended_at IS NULL THEN excluded.end_day
                                    ELSE initiatives.end_day END,
                     checkins = excluded.checkins, keywords = excluded.keywords,
                     updated_at = excluded.updated_at
                 WHERE initiatives.source = 'config' AND (
                     initiatives.name <> excluded.name OR initiatives.kind <> excluded.kind
                     OR initiatives.start_day <> excluded.start_day
                     OR (initiatives.ended_at IS NULL
                         AND initiatives.end_day IS DISTINCT FROM excluded.end_day)
                     OR initiatives.checkins <> excluded.checkins
                     OR initiatives.keywords <> excluded.keywords)",
            )
            .bind(&i.id)
            .bind(&i.name)
            .bind(i.kind.as_str())
            .bind(day(i.start))
            .bind(i.end.map(day))
            .bind(to_json(&i.checkins))
            .bind(to_json(&i.keywords))
            .bind(now_ms)
            .execute(self.pool())
            .await
            .context("syncing the config's initiatives")?
            .rows_affected();
        }
        Ok(changed)
    }

    /// Adds an initiative from Slack; `false` when the id is taken.
    pub async fn add_initiative(&self, i: &Initiative, by: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO initiatives (id, name, kind, start_day, end_day, checkins, keywords, source, added_by_user, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'slack', $8, $9, $9)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&i.id)
        .bind(&i.name)
        .bind(i.kind.as_str())
        .bind(day(i.start))
        .bind(i.end.map(day))
        .bind(to_json(&i.checkins))
        .bind(to_json(&i.keywords))
        .bind(by)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .context("adding an initiative")?
        .rows_affected();
        Ok(n == 1)
    }

    /// Ends an initiative on `today`, once: one that is over already is
    /// refused and left as it is.
    pub async fn end_initiative(
        &self,
        id: &str,
        by: &str,
        today: NaiveDate,
        now_ms: i64,
    ) -> Result<EndOutcome> {
        let Some(rec) = self.initiative_record(id).await? else {
            return Ok(EndOutcome::NotFound);
        };
        if rec.initiative.over_on(today) {
            return Ok(EndOutcome::AlreadyOver(rec.initiative));
        }
        let end = today.max(rec.initiative.start);
        let n = sqlx::query(
            "UPDATE initiatives SET ended_at = $2, ended_by_user = $3, end_day = $4, updated_at = $2
             WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(id)
        .bind(now_ms)
        .bind(by)
        .bind(day(end))
        .execute(self.pool())
        .await
        .context("ending an initiative")?
        .rows_affected();
        let mut i = rec.initiative;
        if n == 0 {
            return Ok(EndOutcome::AlreadyOver(i));
        }
        i.ended_at = Some(now_ms);
        i.end = Some(end);
        Ok(EndOutcome::Ended(i))
    }

    /// The notes that rate `id`, oldest first: (note id, rating).
    pub async fn initiative_ratings(&self, id: &str) -> Result<Vec<(i64, Rating)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT f.insight_id, f.value FROM insight_fields f JOIN insights i ON i.id = f.insight_id
             WHERE f.field = $1 AND f.value IN ($2, $3, $4) AND i.deleted_at IS NULL
             ORDER BY i.created_at, i.id",
        )
        .bind(INITIATIVE_RATING)
        .bind(Rating::Worked.field_value(id))
        .bind(Rating::Didnt.field_value(id))
        .bind(Rating::NotUsed.field_value(id))
        .fetch_all(self.pool())
        .await
        .context("reading an initiative's ratings")?;
        Ok(rows
            .into_iter()
            .filter_map(|(n, v)| Rating::from_field_value(&v).map(|(_, r)| (n, r)))
            .collect())
    }

    /// The newest `limit` notes linked to `id` by its tag (picked, or
    /// from its name and keywords), newest first.
    pub async fn initiative_linked(&self, id: &str, limit: i64) -> Result<Vec<i64>> {
        // Driven from the tag's index (`insight_tags_tag`), not from the
        // notes by time: a tag on a few notes among a million is found
        // without walking the million.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT DISTINCT i.id, i.created_at FROM insight_tags t
             JOIN insights i ON i.id = t.insight_id
             WHERE t.tag = $1 AND i.deleted_at IS NULL
             ORDER BY i.created_at DESC, i.id DESC LIMIT $2",
        )
        .bind(format!("initiative:{id}"))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("reading an initiative's notes")?;
        Ok(rows.into_iter().map(|(id, _)| id).collect())
    }

    /// Initiatives over by `today` whose final debrief is not queued yet.
    pub async fn initiatives_to_debrief(&self, today: NaiveDate) -> Result<Vec<InitiativeRecord>> {
        Ok(self
            .initiative_records()
            .await?
            .into_iter()
            .filter(|r| r.debriefed_at.is_none() && r.initiative.over_on(today))
            .collect())
    }

    /// Queues an initiative's final debrief (the channel post and each
    /// rater's DM) and marks it debriefed, in one transaction, once:
    /// `false` when another worker did it first.
    pub async fn queue_debrief(&self, id: &str, dms: &[NewDm], now_ms: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE initiatives SET debriefed_at = $2 WHERE id = $1 AND debriefed_at IS NULL",
        )
        .bind(id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .context("marking an initiative debriefed")?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        for m in dms {
            insert_dm(&mut tx, m, now_ms).await?;
        }
        tx.commit().await.context("committing a debrief")?;
        Ok(true)
    }
}
