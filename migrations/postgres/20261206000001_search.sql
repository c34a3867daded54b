-- Search over every note for marketers (issue 13), on PostgreSQL's full
-- text search. `insights.search` is the note's text (English stemming)
-- plus the filters as one lexeme each (tags picked and automatic, typed
-- field values, the rep, the capture source and the check-in), under one
-- GIN index, so a query with filters and words is one index match and no
-- LIKE scan or join. A facet lexeme is `z`, a kind letter, the value in hex
-- and `q`: letters and digits only, so the parser keeps it whole and no
-- word a rep types can match it. A deleted note has no search vector. A
-- trigger keeps the column in step with every write to `insights` (the
-- JSON columns hold the same tags and fields as `insight_tags` and
-- `insight_fields`).
CREATE FUNCTION fieldnotes_facet(kind TEXT, v TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT 'z' || kind || encode(convert_to(v, 'UTF8'), 'hex') || 'q' $$;

CREATE FUNCTION fieldnotes_search_vector(i insights) RETURNS tsvector
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    facets TEXT;
BEGIN
    IF i.deleted_at IS NOT NULL THEN
        RETURN NULL;
    END IF;
    facets := fieldnotes_facet('r', i.user_id) || ' ' || fieldnotes_facet('s', i.source)
        || ' ' || fieldnotes_facet('c', COALESCE(i.checkin, ''));
    facets := facets || ' ' || COALESCE((
        SELECT string_agg(fieldnotes_facet('t', t), ' ')
          FROM (SELECT jsonb_array_elements_text(i.tags::jsonb) AS t
                UNION SELECT jsonb_array_elements_text(i.auto_tags::jsonb)) x), '');
    facets := facets || ' ' || COALESCE((
        SELECT string_agg(fieldnotes_facet('f', (f ->> 'field') || '=' || (f ->> 'value')), ' ')
          FROM jsonb_array_elements(i.fields::jsonb) AS f), '');
    RETURN to_tsvector('english', i.text) || to_tsvector('simple', facets);
END
$$;

ALTER TABLE insights ADD COLUMN search tsvector;

CREATE FUNCTION fieldnotes_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := fieldnotes_search_vector(NEW);
    RETURN NEW;
END
$$;

CREATE TRIGGER insights_search BEFORE INSERT
    OR UPDATE OF text, tags, auto_tags, fields, user_id, source, checkin, deleted_at ON insights
    FOR EACH ROW EXECUTE FUNCTION fieldnotes_search_update();

-- The notes already stored.
UPDATE insights i SET search = fieldnotes_search_vector(i) WHERE i.deleted_at IS NULL;

CREATE INDEX insights_search_idx ON insights USING GIN (search);
