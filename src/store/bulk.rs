//! Multi-row INSERTs: the one place that writes a `VALUES (…), (…)` list,
//! binds its rows and splits them into statements under the databases'
//! bind-parameter limits.
//!
//! The placeholders are written here as `$n`, not with
//! `QueryBuilder::push_bind`: through sqlx's `Any` driver that writes `?`,
//! which PostgreSQL rejects (launchbadge/sqlx#3000).

use anyhow::{anyhow, Result};
use sqlx::any::{AnyArguments, AnyQueryResult};
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, AnyConnection, Arguments, Encode, QueryBuilder, Type};

/// Most bind parameters in one statement: SQLite's limit (PostgreSQL
/// allows 65,535).
const MAX_BINDS: usize = 32_766;

/// Most rows in one statement, whatever their width. Each statement size is
/// prepared once per connection and kept, so statements stay small, while a
/// 10,000-person fan-out still takes only a few dozen round trips.
const MAX_ROWS: usize = 200;

/// Most values in one `IN (…)` list: callers split longer lists into
/// chunks of this many.
pub(super) const IN_CHUNK: usize = 500;

/// `$a, $b, …` for `count` values, numbered from `first`.
pub(super) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a statement whose SQL varies with a list's length is kept
/// prepared. Each connection caches what it prepares (100 statements, a
/// long `IN` list or a 200-row `VALUES` some 10–100 kB of SQLite's memory
/// each), so only the full-size chunk, which repeats, is kept; the
/// odd-sized last ones would fill the cache with statements never run
/// again and push out the ones that are (heaptrack, BENCHMARKS.md, load
/// step 6). Values are always bound, never written into the SQL.
pub(super) fn keep_prepared(len: usize, full: usize) -> bool {
    len == full
}

/// Pushes `VALUES ($first, …), (…)`: `rows` tuples of `columns`
/// placeholders each, numbered on from `first`.
pub(super) fn push_values(qb: &mut QueryBuilder<Any>, rows: usize, columns: usize, first: usize) {
    qb.push_values(0..rows, |mut tuple, row| {
        for column in 0..columns {
            tuple.push(format_args!("${}", first + row * columns + column));
        }
    });
}

/// One row's values, bound in column order.
pub(super) struct Binds<'a> {
    args: &'a mut AnyArguments,
    error: &'a mut Option<sqlx::error::BoxDynError>,
}

impl Binds<'_> {
    /// Binds the next column's value.
    pub(super) fn bind<'t, T: Encode<'t, Any> + Type<Any>>(&mut self, value: T) -> &mut Self {
        if self.error.is_none() {
            if let Err(e) = self.args.add(value) {
                *self.error = Some(e);
            }
        }
        self
    }
}

/// A multi-row `INSERT`: `head` names the table and its columns, `tail`
/// follows the values (`ON CONFLICT …`, `RETURNING …`), and each row binds
/// `columns` values.
#[derive(Debug, Clone, Copy)]
pub(super) struct Insert {
    head: &'static str,
    columns: usize,
    tail: &'static str,
}

impl Insert {
    pub(super) const fn new(head: &'static str, columns: usize, tail: &'static str) -> Insert {
        Insert {
            head,
            columns,
            tail,
        }
    }

    /// How many rows one statement takes.
    fn rows_per_statement(&self) -> usize {
        (MAX_BINDS / self.columns.max(1)).clamp(1, MAX_ROWS)
    }

    /// `rows` in slices that each fit one statement (`query`, `query_as`).
    pub(super) fn chunks<'r, T>(&self, rows: &'r [T]) -> std::slice::Chunks<'r, T> {
        rows.chunks(self.rows_per_statement())
    }

    /// The SQL and bound values for `rows` (at least one; at most one
    /// `chunks` slice).
    fn build<T>(
        &self,
        rows: &[T],
        mut bind: impl FnMut(&mut Binds, &T),
    ) -> Result<(String, AnyArguments)> {
        anyhow::ensure!(
            !rows.is_empty() && rows.len() <= self.rows_per_statement(),
            "an INSERT takes 1 to {} rows, not {}",
            self.rows_per_statement(),
            rows.len()
        );
        let mut qb = QueryBuilder::<Any>::new(self.head);
        qb.push(" ");
        push_values(&mut qb, rows.len(), self.columns, 1);
        qb.push(" ");
        qb.push(self.tail);
        let mut args = AnyArguments::default();
        let mut error = None;
        for row in rows {
            bind(
                &mut Binds {
                    args: &mut args,
                    error: &mut error,
                },
                row,
            );
        }
        if let Some(e) = error {
            return Err(anyhow!(e).context("binding a row"));
        }
        anyhow::ensure!(
            args.len() == rows.len() * self.columns,
            "{} values bound for {} rows of {} columns",
            args.len(),
            rows.len(),
            self.columns
        );
        Ok((qb.into_string(), args))
    }

    /// Whether a statement of `rows` rows is kept prepared (`keep_prepared`).
    fn persistent(&self, rows: usize) -> bool {
        keep_prepared(rows, self.rows_per_statement())
    }

    /// One statement for `rows` (a `chunks` slice).
    pub(super) fn query<T>(
        &self,
        rows: &[T],
        bind: impl FnMut(&mut Binds, &T),
    ) -> Result<Query<'static, Any, AnyArguments>> {
        let (sql, args) = self.build(rows, bind)?;
        Ok(
            sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                .persistent(self.persistent(rows.len())),
        )
    }

    /// One statement for `rows` (a `chunks` slice) whose `RETURNING` rows
    /// are read as `R`.
    pub(super) fn query_as<R, T>(
        &self,
        rows: &[T],
        bind: impl FnMut(&mut Binds, &T),
    ) -> Result<QueryAs<'static, Any, R, AnyArguments>>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let (sql, args) = self.build(rows, bind)?;
        Ok(sqlx::query_as_with(sqlx::AssertSqlSafe(sql), args)
            .persistent(self.persistent(rows.len())))
    }

    /// Inserts every row of `rows`, a statement per `chunks` slice, on
    /// `conn` (a transaction, so they commit together); how many rows the
    /// statements affected.
    pub(super) async fn execute<T>(
        &self,
        conn: &mut AnyConnection,
        rows: &[T],
        mut bind: impl FnMut(&mut Binds, &T),
    ) -> Result<u64> {
        let mut affected = 0;
        for chunk in self.chunks(rows) {
            let r: AnyQueryResult = self.query(chunk, &mut bind)?.execute(&mut *conn).await?;
            affected += r.rows_affected();
        }
        Ok(affected)
    }
}

#[cfg(test)]
mod tests {
    //! The SQL the helper writes, and its chunking.

    use super::*;

    #[test]
    fn values_are_numbered_across_rows() {
        let mut qb = QueryBuilder::<Any>::new("X ");
        push_values(&mut qb, 2, 3, 2);
        assert_eq!(qb.into_string(), "X VALUES ($2, $3, $4), ($5, $6, $7)");
    }

    #[test]
    fn statements_stay_under_the_bind_limit() {
        let narrow = Insert::new("INSERT INTO t (a)", 1, "");
        assert_eq!(narrow.rows_per_statement(), MAX_ROWS);
        let wide = Insert::new("INSERT INTO t (…)", 1_000, "");
        assert_eq!(wide.rows_per_statement(), 32);
        assert!(wide.rows_per_statement() * 1_000 <= MAX_BINDS);
        let rows: Vec<i64> = (0..450).collect();
        let sizes: Vec<usize> = narrow.chunks(&rows).map(|c| c.len()).collect();
        assert_eq!(sizes, vec![200, 200, 50]);
    }

    #[test]
    fn a_row_must_bind_every_column() {
        let ins = Insert::new("INSERT INTO t (a, b)", 2, "ON CONFLICT DO NOTHING");
        let (sql, args) = ins
            .build(&[(1i64, "x"), (2, "y")], |b, (n, s)| {
                b.bind(*n).bind(*s);
            })
            .unwrap();
        assert_eq!(
            sql,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(args.len(), 4);
        assert!(ins
            .build(&[1i64], |b, n| {
                b.bind(*n);
            })
            .is_err());
    }
}
