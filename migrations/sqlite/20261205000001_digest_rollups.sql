-- Closed periods' digest counts, kept once computed (issue 12). A digest
-- compares its period with the 8 before it, so a year of notes is counted
-- over 9 periods on every build; but a period that has ended never gains a
-- note, so its counts only change when one of its notes is edited,
-- retagged, deleted or purged. A rollup holds one period's counts for one
-- digest scope; the triggers below delete every rollup a changed note falls
-- in, whatever path wrote it, and the next build counts that period again.
--
-- A rollup is claimed (a row with a fresh token, done = 0) before its
-- period is counted, and marked done, with its items, only if the claim
-- still stands: a note changed while it was being counted deletes the
-- claim, and the counts are used once but not kept.
CREATE TABLE digest_rollups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The digest scope (check-ins and tags) in canonical form.
    scope TEXT NOT NULL,
    -- The period: [from_ms, to_ms), epoch ms.
    from_ms BIGINT NOT NULL,
    to_ms BIGINT NOT NULL,
    token TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    -- Notes and distinct reps sharing in the period.
    notes BIGINT NOT NULL DEFAULT 0,
    reps BIGINT NOT NULL DEFAULT 0,
    computed_at BIGINT NOT NULL,
    UNIQUE (scope, from_ms, to_ms)
);
-- What the triggers look rollups up by: a note's time is in [from, to).
CREATE INDEX digest_rollups_to ON digest_rollups (to_ms, from_ms);

-- One tag or typed-field value's mentions in a rollup's period: distinct
-- notes, distinct reps, and the lowest and highest rep id (two periods'
-- reps are distinct across both when their ids differ).
CREATE TABLE digest_rollup_items (
    rollup_id BIGINT NOT NULL REFERENCES digest_rollups(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    mentions BIGINT NOT NULL,
    reps BIGINT NOT NULL,
    min_rep TEXT NOT NULL,
    max_rep TEXT NOT NULL,
    PRIMARY KEY (rollup_id, key)
);

CREATE TRIGGER digest_rollups_note_insert AFTER INSERT ON insights BEGIN
    DELETE FROM digest_rollups WHERE to_ms > NEW.created_at AND from_ms <= NEW.created_at;
END;
CREATE TRIGGER digest_rollups_note_update
AFTER UPDATE OF user_id, checkin, created_at, deleted_at ON insights BEGIN
    DELETE FROM digest_rollups WHERE to_ms > OLD.created_at AND from_ms <= OLD.created_at;
    DELETE FROM digest_rollups WHERE to_ms > NEW.created_at AND from_ms <= NEW.created_at;
END;
CREATE TRIGGER digest_rollups_note_delete AFTER DELETE ON insights BEGIN
    DELETE FROM digest_rollups WHERE to_ms > OLD.created_at AND from_ms <= OLD.created_at;
END;
CREATE TRIGGER digest_rollups_tag_insert AFTER INSERT ON insight_tags BEGIN
    DELETE FROM digest_rollups
     WHERE to_ms > (SELECT created_at FROM insights WHERE id = NEW.insight_id)
       AND from_ms <= (SELECT created_at FROM insights WHERE id = NEW.insight_id);
END;
CREATE TRIGGER digest_rollups_tag_update AFTER UPDATE ON insight_tags BEGIN
    DELETE FROM digest_rollups
     WHERE to_ms > (SELECT created_at FROM insights WHERE id = OLD.insight_id)
       AND from_ms <= (SELECT created_at FROM insights WHERE id = OLD.insight_id);
    DELETE FROM digest_rollups
     WHERE to_ms > (SELECT created_at FROM insights WHERE id = NEW.insight_id)
       AND from_ms <= (SELECT created_at FROM insights WHERE id = NEW.insight_id);
END;
CREATE TRIGGER digest_rollups_tag_delete AFTER DELETE ON insight_tags BEGIN
    DELETE FROM digest_rollups
     WHERE to_ms > (SELECT created_at FROM insights WHERE id = OLD.insight_id)
       AND from_ms <= (SELECT created_at FROM insights WHERE id = OLD.insight_id);
END;
CREATE TRIGGER digest_rollups_field_insert AFTER INSERT ON insight_fields BEGIN
    DELETE FROM digest_rollups
     WHERE to_ms > (SELECT created_at FROM insights WHERE id = NEW.insight_id)
       AND from_ms <= (SELECT created_at FROM insights WHERE id = NEW.insight_id);
END;
CREATE TRIGGER digest_rollups_field_update AFTER UPDATE ON insight_fields BEGIN
    DELETE FROM digest_rollups
     WHERE to_ms > (SELECT created_at FROM insights WHERE id = OLD.insight_id)
       AND from_ms <= (SELECT created_at FROM insights WHERE id = OLD.insight_id);
    DELETE FROM digest_rollups
     WHERE to_ms > (SELECT created_at FROM insights WHERE id = NEW.insight_id)
       AND from_ms <= (SELECT created_at FROM insights WHERE id = NEW.insight_id);
END;
CREATE TRIGGER digest_rollups_field_delete AFTER DELETE ON insight_fields BEGIN
    DELETE FROM digest_rollups
     WHERE to_ms > (SELECT created_at FROM insights WHERE id = OLD.insight_id)
       AND from_ms <= (SELECT created_at FROM insights WHERE id = OLD.insight_id);
END;
