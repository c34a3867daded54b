-- Closed periods' digest counts, kept once computed (issue 12). A digest
-- compares its period with the 8 before it, so a year of notes is counted
-- over 9 periods on every build; but a period that has ended never gains a
-- note, so its counts only change when one of its notes is edited,
-- retagged, deleted or purged. A rollup holds one period's counts for one
-- digest scope; the trigger below deletes every rollup a changed note falls
-- in, whatever path wrote it, and the next build counts that period again.
--
-- A rollup is claimed (a row with a fresh token, done = 0) before its
-- period is counted, and marked done, with its items, only if the claim
-- still stands: a note changed while it was being counted deletes the
-- claim, and the counts are used once but not kept. Every write to notes
-- holds advisory lock 7302118 shared until it commits, and a claim is only
-- made under it exclusively (without waiting), so no write that started
-- before the claim can commit unseen after the counts were read.
CREATE TABLE digest_rollups (
    id BIGSERIAL PRIMARY KEY,
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
-- What the trigger looks rollups up by: a note's time is in [from, to).
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

CREATE FUNCTION digest_rollups_stale() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was BIGINT;
    now_at BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(7302118);
    IF TG_TABLE_NAME = 'insights' THEN
        IF TG_OP <> 'INSERT' THEN
            was := OLD.created_at;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            now_at := NEW.created_at;
        END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            SELECT created_at INTO was FROM insights WHERE id = OLD.insight_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            SELECT created_at INTO now_at FROM insights WHERE id = NEW.insight_id;
        END IF;
    END IF;
    IF was IS NOT NULL THEN
        DELETE FROM digest_rollups WHERE to_ms > was AND from_ms <= was;
    END IF;
    IF now_at IS NOT NULL AND now_at IS DISTINCT FROM was THEN
        DELETE FROM digest_rollups WHERE to_ms > now_at AND from_ms <= now_at;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER digest_rollups_note AFTER INSERT OR DELETE
    OR UPDATE OF user_id, checkin, created_at, deleted_at ON insights
    FOR EACH ROW EXECUTE FUNCTION digest_rollups_stale();
CREATE TRIGGER digest_rollups_tag AFTER INSERT OR UPDATE OR DELETE ON insight_tags
    FOR EACH ROW EXECUTE FUNCTION digest_rollups_stale();
CREATE TRIGGER digest_rollups_field AFTER INSERT OR UPDATE OR DELETE ON insight_fields
    FOR EACH ROW EXECUTE FUNCTION digest_rollups_stale();
