-- Indexes that stay small and stay chosen whatever the statistics say
-- (issue 14, load benchmark). With a year of history, ANALYZE (or PRAGMA
-- optimize) finds `status` and `deleted_at` unselective, and the claim
-- of due prompts and the retention sweep scanned every row: on SQLite
-- inside a write, holding every other writer (and the acks behind them)
-- for up to a second over 1,000,000 notes.

-- Only the prompts still to send: the claim's `WHERE status IN (...)`
-- matches this index's own, and `ORDER BY due_at, id` reads it in order.
CREATE INDEX prompts_pending ON prompts (due_at, id) WHERE status IN ('queued', 'sending');

-- Only deleted notes, which the retention sweep purges.
DROP INDEX insights_deleted;
CREATE INDEX insights_deleted ON insights (deleted_at) WHERE deleted_at IS NOT NULL;
