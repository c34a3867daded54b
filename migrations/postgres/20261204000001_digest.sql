-- Digest delivery as rows (issue 12). One run per digest and period, sent
-- once across restarts and replicas: a worker leases it, builds the digest,
-- writes every message it will post as a digest_posts row (the summary,
-- its thread replies and the chart, per recipient), then posts them in
-- order. A post is marked uncertain before its Slack call, so a crash
-- mid-call is settled by looking for the post's metadata mark in Slack
-- instead of posting again.
CREATE TABLE digest_runs (
    id BIGSERIAL PRIMARY KEY,
    digest TEXT NOT NULL,
    period TEXT NOT NULL,
    -- The cadence occurrence that made it due (epoch ms), or when
    -- `fieldnotes digest --post` asked for it.
    scheduled_at BIGINT NOT NULL,
    -- pending: to build; posting: built, posts queued; done; empty (no
    -- notes, nothing posted); failed (see last_error).
    status TEXT NOT NULL DEFAULT 'pending',
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    notes BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (digest, period)
);
CREATE INDEX digest_runs_claim ON digest_runs (status, lease_until);

CREATE TABLE digest_posts (
    id BIGSERIAL PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES digest_runs(id),
    -- A channel id, or a user id (posted in the bot's DM with them).
    recipient TEXT NOT NULL,
    -- 0 is the summary; 1.. its thread replies in order; the chart last.
    seq BIGINT NOT NULL,
    -- summary | reply | chart
    kind TEXT NOT NULL,
    -- JSON: {"text": ..., "blocks": [...]} or, for a chart, its title,
    -- file name and alt text (the PNG itself is rendered again from the
    -- run's digest when it is uploaded).
    payload TEXT NOT NULL,
    -- queued | sent | failed
    status TEXT NOT NULL DEFAULT 'queued',
    uncertain INTEGER NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    channel_id TEXT,
    message_ts TEXT,
    file_id TEXT,
    last_error TEXT,
    sent_at BIGINT,
    UNIQUE (run_id, recipient, seq)
);

-- The digest's window scans (issue 12): notes by time with what the
-- aggregates read of them, so a year of notes is counted from the index
-- without visiting each note's row (text, answers).
CREATE INDEX insights_window ON insights (created_at, deleted_at, user_id, checkin, id);
