-- Initiatives (issue 13): campaigns, assets and experiments the reps rate
-- over weeks. The config file's `[[initiative]]` entries are synced in
-- (source 'config'); `/fieldnotes initiative add` adds its own ('slack').
-- Ratings are the notes' `initiative_rating` fields and links their
-- `initiative:ID` tags, so nothing here duplicates a note.
CREATE TABLE initiatives (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- campaign | asset | experiment
    kind TEXT NOT NULL,
    -- Team-time days, YYYY-MM-DD; no end runs until someone ends it.
    start_day TEXT NOT NULL,
    end_day TEXT,
    -- JSON arrays of check-in names and keywords.
    checkins TEXT NOT NULL DEFAULT '[]',
    keywords TEXT NOT NULL DEFAULT '[]',
    -- config | slack
    source TEXT NOT NULL,
    added_by_user TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Ended early, by whom.
    ended_at BIGINT,
    ended_by_user TEXT,
    -- The final debrief was queued (its post and the reps' DMs are
    -- direct_messages rows).
    debriefed_at BIGINT
);
