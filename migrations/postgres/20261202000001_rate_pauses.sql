-- Slack's 429 pauses, shared between workers: a method Slack rate-limited
-- for one worker is paused for all of them until `until_ms` (epoch ms, wall
-- clock), so no worker retries into the same wall.
CREATE TABLE rate_pauses (
    method TEXT PRIMARY KEY,
    until_ms BIGINT NOT NULL
);
