-- 0011: as sqlite/0011, with the keys sorted byte-wise (COLLATE "C").
-- Escrows: objects whose export failed, retried by later cycles.
CREATE TABLE escrows (
    job_id       TEXT COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    source_type  TEXT COLLATE "C" NOT NULL,
    source_id    TEXT COLLATE "C" NOT NULL,
    kind         TEXT    NOT NULL,
    first_failed BIGINT  NOT NULL,
    attempts     BIGINT  NOT NULL,
    next_attempt BIGINT  NOT NULL,
    code         TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    error_kind   TEXT    NOT NULL,
    PRIMARY KEY (job_id, source_type, source_id)
);

-- Staged deletes: disables and deletes the accidental-deletions guard held
-- back until an administrator lets them through (restart ForceDeletes).
CREATE TABLE staged_deletes (
    job_id      TEXT COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    source_type TEXT COLLATE "C" NOT NULL,
    source_id   TEXT COLLATE "C" NOT NULL,
    action      TEXT   NOT NULL,
    staged      BIGINT NOT NULL,
    PRIMARY KEY (job_id, source_type, source_id)
);
