-- 0003: the directory change feed and job watermarks.
--
-- changes holds one row per user or group a directory write touched,
-- written in the write's transaction. AUTOINCREMENT (SQLite's; an identity
-- column elsewhere) keeps seq strictly increasing and never reused, even
-- after every row is pruned. change_feed holds, in its one row, the seq
-- below which rows were pruned.

CREATE TABLE changes (
    seq         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    object_type TEXT    NOT NULL, -- 'User' or 'Group'
    object_id   TEXT    NOT NULL,
    deleted     INTEGER NOT NULL, -- 1 for a hard delete
    at          BIGINT  NOT NULL
);

CREATE TABLE change_feed (
    id            INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    pruned_before BIGINT  NOT NULL
);
INSERT INTO change_feed (id, pruned_before) VALUES (1, 0);

-- The objects a database already holds are where its feed begins, so that
-- reading the feed from the beginning names every object, as it does on a
-- database that had the feed from the start.
INSERT INTO changes (object_type, object_id, deleted, at)
SELECT 'User', id, 0, CAST(strftime('%s', 'now') AS BIGINT) * 1000000 FROM users ORDER BY id;
INSERT INTO changes (object_type, object_id, deleted, at)
SELECT 'Group', id, 0, CAST(strftime('%s', 'now') AS BIGINT) * 1000000 FROM groups ORDER BY id;

ALTER TABLE jobs ADD COLUMN watermark TEXT NOT NULL DEFAULT '';
