-- 0006: the fingerprint of the key material the database was first
-- opened with (Store.ClaimKeys), in a single row.
CREATE TABLE key_fingerprint (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT    NOT NULL
);
