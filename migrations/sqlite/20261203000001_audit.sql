-- The audit log: every action of an admin or marketer (ask, digest preview,
-- export, purge), every role refusal, and retention's purges. `actor` is a
-- Slack user id, `cli:<os user>` for the command line, or `system`.
-- `args` is JSON, capped, and never holds a secret; `outcome` says how it
-- ended (`ok…`, `refused…`, `failed…`). Rows are only inserted; the one
-- change is `fieldnotes purge --user`, which takes the erased person's id out.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '{}',
    outcome TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_actor ON audit (actor);
