-- Users kept in the order of their ids (a table without rowid): a cycle
-- lists them by id, and in a rowid table each row listed was a search of
-- the table from the id's index (random ids, rows in insertion order).
CREATE TABLE users_by_id (
    id              TEXT    NOT NULL PRIMARY KEY,
    upn             TEXT    NOT NULL,
    upn_key         TEXT    NOT NULL UNIQUE, -- lower-cased upn
    account_enabled INTEGER NOT NULL,
    props           TEXT    NOT NULL,        -- JSON object
    created         BIGINT  NOT NULL,
    deleted         BIGINT                   -- NULL unless soft-deleted
) WITHOUT ROWID;
INSERT INTO users_by_id (id, upn, upn_key, account_enabled, props, created, deleted)
SELECT id, upn, upn_key, account_enabled, props, created, deleted FROM users ORDER BY id;
DROP TABLE users;
ALTER TABLE users_by_id RENAME TO users;
