-- Capture from every path, typed and tagged: typed field values (competitor,
-- objection, stage, persona, account, lead source, asset verdicts, lead
-- quality), sentiment, edits, the Slack message a note came from, the
-- confirmation message to keep in step, and which questions a run asked.

ALTER TABLE insights ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';
ALTER TABLE insights ADD COLUMN sentiment TEXT;
ALTER TABLE insights ADD COLUMN edited_at BIGINT;
-- The Slack message the note came from (a DM reply or a message shortcut).
ALTER TABLE insights ADD COLUMN channel_id TEXT;
ALTER TABLE insights ADD COLUMN message_ts TEXT;
ALTER TABLE insights ADD COLUMN author_id TEXT;
ALTER TABLE insights ADD COLUMN permalink TEXT;
-- The bot's confirmation message (with Edit / Delete), updated on edits.
ALTER TABLE insights ADD COLUMN ack_channel TEXT;
ALTER TABLE insights ADD COLUMN ack_ts TEXT;
CREATE INDEX insights_deleted ON insights (deleted_at);

CREATE TABLE insight_fields (
    insight_id BIGINT NOT NULL REFERENCES insights(id),
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (insight_id, field, value)
);
CREATE INDEX insight_fields_value ON insight_fields (field, value);

-- Question ids a run asks (k of the check-in's pool), JSON list.
ALTER TABLE checkin_runs ADD COLUMN questions TEXT;
