-- The durable inbox: every Events API delivery is committed here, unique on
-- Slack's event_id, before it is acknowledged; workers claim rows with a
-- lease and turn them into notes, edits, deletes and App Home refreshes.
-- status: pending (to do or retry at next_at), done, parked (gave up after
-- max attempts; `fieldnotes status` lists it).
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    received_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX inbox_claim ON inbox (status, next_at);
