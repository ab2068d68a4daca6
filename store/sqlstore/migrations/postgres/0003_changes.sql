-- 0003: the directory change feed and job watermarks (see sqlite/0003).
-- seq is an identity column: strictly increasing, never reused. Writers
-- run in parallel here, so the store takes a transaction-scoped advisory
-- lock before it records changes, and seqs commit in order.

CREATE TABLE changes (
    seq         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_type TEXT    NOT NULL, -- 'User' or 'Group'
    object_id   TEXT    NOT NULL,
    deleted     BOOLEAN NOT NULL, -- true for a hard delete
    at          BIGINT  NOT NULL
);

CREATE TABLE change_feed (
    id            INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    pruned_before BIGINT  NOT NULL
);
INSERT INTO change_feed (id, pruned_before) VALUES (1, 0);

ALTER TABLE jobs ADD COLUMN watermark TEXT NOT NULL DEFAULT '';
