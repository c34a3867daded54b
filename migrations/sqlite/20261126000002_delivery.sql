-- Check-ins teams can trust: answer windows, reminders, per-person local
-- times, skips that explain themselves, pauses, the people directory and
-- worker heartbeats (to share Slack's rate limits between processes).

ALTER TABLE prompts ADD COLUMN skip_reason TEXT;
ALTER TABLE prompts ADD COLUMN closes_at BIGINT;
ALTER TABLE prompts ADD COLUMN closed_at BIGINT;
-- 1 when an earlier attempt may have reached Slack without being recorded
-- (a crash or a timeout after the request left): check the DM before sending.
ALTER TABLE prompts ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0;
-- The wall-clock send time in the person's zone, e.g. "2026-12-03T16:00 America/New_York".
ALTER TABLE prompts ADD COLUMN local_due TEXT;
CREATE INDEX prompts_close ON prompts (closed_at, closes_at);
CREATE INDEX prompts_run ON prompts (run_id);

CREATE TABLE reminders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt_id BIGINT NOT NULL REFERENCES prompts(id),
    seq BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    uncertain INTEGER NOT NULL DEFAULT 0,
    channel_id TEXT,
    message_ts TEXT,
    last_error TEXT,
    skip_reason TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    UNIQUE (prompt_id, seq)
);
CREATE INDEX reminders_claim ON reminders (status, due_at);

ALTER TABLE scheduler_cursors ADD COLUMN first_seen BIGINT;

CREATE TABLE people (
    user_id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    tz TEXT,
    is_bot INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    dm_channel TEXT,
    fetched_at BIGINT NOT NULL
);

CREATE TABLE pauses (
    user_id TEXT PRIMARY KEY,
    paused_until BIGINT NOT NULL,
    set_at BIGINT NOT NULL,
    source TEXT NOT NULL
);

CREATE TABLE workers (
    worker_id TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);
