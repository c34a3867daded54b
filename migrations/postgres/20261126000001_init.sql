-- Fieldnotes schema (PostgreSQL). Times are epoch milliseconds (BIGINT), booleans
-- INTEGER 0/1 and lists JSON text, so the same rows decode through sqlx's Any
-- driver on both backends.

CREATE TABLE checkin_runs (
    id BIGSERIAL PRIMARY KEY,
    checkin TEXT NOT NULL,
    occurrence TEXT NOT NULL,
    source TEXT NOT NULL,
    question TEXT,
    scheduled_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    audience_size BIGINT,
    created_at BIGINT NOT NULL,
    planned_at BIGINT,
    UNIQUE (checkin, occurrence)
);

CREATE TABLE scheduler_cursors (
    checkin TEXT PRIMARY KEY,
    checked_until BIGINT NOT NULL
);

CREATE TABLE prompts (
    id BIGSERIAL PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES checkin_runs(id),
    checkin TEXT NOT NULL,
    user_id TEXT NOT NULL,
    occurrence TEXT NOT NULL,
    question TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts BIGINT NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    channel_id TEXT,
    message_ts TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    answered_at BIGINT,
    UNIQUE (checkin, user_id, occurrence)
);
CREATE INDEX prompts_claim ON prompts (status, due_at);
CREATE INDEX prompts_user ON prompts (user_id, sent_at);

CREATE TABLE insights (
    id BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL,
    source TEXT NOT NULL,
    prompt_id BIGINT REFERENCES prompts(id),
    checkin TEXT,
    text TEXT NOT NULL,
    answers TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    auto_tags TEXT NOT NULL DEFAULT '[]',
    dedupe_key TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX insights_created ON insights (created_at);
CREATE INDEX insights_user ON insights (user_id, created_at);

CREATE TABLE insight_tags (
    insight_id BIGINT NOT NULL REFERENCES insights(id),
    tag TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (insight_id, tag, origin)
);
CREATE INDEX insight_tags_tag ON insight_tags (tag);

CREATE TABLE slack_events (
    event_id TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);
