-- Search over every note for marketers (issue 13), on SQLite's FTS5. One
-- contentless index row per live note: `body` is the note's text (stemmed,
-- accents folded), `facets` the filters as one token each (tags picked and
-- automatic, typed field values, the rep, the capture source and the
-- check-in), so a query with filters and words is one FTS5 match and no
-- LIKE scan or join. A facet token is `z`, a kind letter, the value in hex
-- and `q`: letters and digits only, so the tokenizer keeps it whole and no
-- word a rep types can match it. Deleted notes leave the index; triggers
-- keep it in step with every write to `insights` (the JSON columns hold
-- the same tags and fields as `insight_tags` and `insight_fields`).
CREATE VIRTUAL TABLE notes_fts USING fts5(
    body,
    facets,
    content = '',
    contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER notes_fts_insert AFTER INSERT ON insights WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO notes_fts (rowid, body, facets) VALUES (NEW.id, NEW.text,
        'zr' || lower(hex(NEW.user_id)) || 'q zs' || lower(hex(NEW.source)) || 'q zc'
        || lower(hex(COALESCE(NEW.checkin, ''))) || 'q '
        || (SELECT COALESCE(group_concat('zt' || lower(hex(value)) || 'q', ' '), '')
              FROM (SELECT value FROM json_each(NEW.tags) UNION SELECT value FROM json_each(NEW.auto_tags)))
        || ' '
        || (SELECT COALESCE(group_concat('zf' || lower(hex(json_extract(value, '$.field') || '=' || json_extract(value, '$.value'))) || 'q', ' '), '')
              FROM json_each(NEW.fields)));
END;

CREATE TRIGGER notes_fts_update
AFTER UPDATE OF text, tags, auto_tags, fields, user_id, source, checkin, deleted_at ON insights BEGIN
    DELETE FROM notes_fts WHERE rowid = OLD.id;
    INSERT INTO notes_fts (rowid, body, facets) SELECT NEW.id, NEW.text,
        'zr' || lower(hex(NEW.user_id)) || 'q zs' || lower(hex(NEW.source)) || 'q zc'
        || lower(hex(COALESCE(NEW.checkin, ''))) || 'q '
        || (SELECT COALESCE(group_concat('zt' || lower(hex(value)) || 'q', ' '), '')
              FROM (SELECT value FROM json_each(NEW.tags) UNION SELECT value FROM json_each(NEW.auto_tags)))
        || ' '
        || (SELECT COALESCE(group_concat('zf' || lower(hex(json_extract(value, '$.field') || '=' || json_extract(value, '$.value'))) || 'q', ' '), '')
              FROM json_each(NEW.fields))
     WHERE NEW.deleted_at IS NULL;
END;

CREATE TRIGGER notes_fts_delete AFTER DELETE ON insights BEGIN
    DELETE FROM notes_fts WHERE rowid = OLD.id;
END;

-- The notes already stored.
INSERT INTO notes_fts (rowid, body, facets)
SELECT i.id, i.text,
       'zr' || lower(hex(i.user_id)) || 'q zs' || lower(hex(i.source)) || 'q zc'
       || lower(hex(COALESCE(i.checkin, ''))) || 'q '
       || (SELECT COALESCE(group_concat('zt' || lower(hex(value)) || 'q', ' '), '')
             FROM (SELECT value FROM json_each(i.tags) UNION SELECT value FROM json_each(i.auto_tags)))
       || ' '
       || (SELECT COALESCE(group_concat('zf' || lower(hex(json_extract(value, '$.field') || '=' || json_extract(value, '$.value'))) || 'q', ' '), '')
             FROM json_each(i.fields))
  FROM insights i WHERE i.deleted_at IS NULL;
