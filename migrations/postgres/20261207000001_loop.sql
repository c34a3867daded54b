-- Closing the loop with reps (issue 13). A marketer's press on a digest
-- quote or evidence item is one loop_actions row per note (who, when,
-- which note, what kind, the text), unique on a key from the press, so a
-- double click or a Slack retry records one action. Every DM the loop
-- sends (the relay to the rep, the notice to the marketer) is a
-- direct_messages row with a unique key before it is a Slack call, sent
-- by a leased worker like the prompts.
CREATE TABLE loop_actions (
    id BIGSERIAL PRIMARY KEY,
    insight_id BIGINT NOT NULL,
    -- The note's author: whose App Home lists it. Never shown to the
    -- marketer while the action is anonymous and not revealed.
    rep_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    -- acting | thanks | ask
    kind TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    -- The digest whose button it came from.
    digest TEXT,
    anonymous INTEGER NOT NULL DEFAULT 0,
    -- The rep chose to tell the marketer who they are.
    revealed_at BIGINT,
    -- The DM that relays it to the rep (one per press and rep).
    dm_id BIGINT,
    dedupe_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX loop_actions_note ON loop_actions (insight_id);
CREATE INDEX loop_actions_rep ON loop_actions (rep_id, created_at);
CREATE INDEX loop_actions_time ON loop_actions (created_at);
CREATE INDEX loop_actions_dm ON loop_actions (dm_id);

CREATE TABLE direct_messages (
    id BIGSERIAL PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    -- relay | follow_up | reveal | outcome
    purpose TEXT NOT NULL,
    -- JSON {"text": ..., "blocks": [...]}
    payload TEXT NOT NULL,
    -- queued | sent | failed
    status TEXT NOT NULL DEFAULT 'queued',
    uncertain INTEGER NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    channel_id TEXT,
    message_ts TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX direct_messages_due ON direct_messages (status, due_at);
CREATE INDEX direct_messages_thread ON direct_messages (channel_id, message_ts);

-- A rep's answer to a follow-up is a note of its own (tagged and scored
-- like any), stored on the note it answers.
ALTER TABLE insights ADD COLUMN follow_up_of BIGINT;
ALTER TABLE insights ADD COLUMN loop_action_id BIGINT;
CREATE INDEX insights_follow_up ON insights (follow_up_of) WHERE follow_up_of IS NOT NULL;

-- A note erased (by retention or a person's purge) takes its loop actions
-- with it.
CREATE FUNCTION fieldnotes_loop_note_gone() RETURNS trigger AS $$
BEGIN
    DELETE FROM loop_actions WHERE insight_id = OLD.id;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER loop_actions_note_gone AFTER DELETE ON insights
    FOR EACH ROW EXECUTE FUNCTION fieldnotes_loop_note_gone();
