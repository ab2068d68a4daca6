-- A number that changes with a job's anchors (AnchorsVersion): a cycle
-- counts the anchors again only when they changed since it last did.
ALTER TABLE jobs ADD COLUMN anchors_version BIGINT NOT NULL DEFAULT 0;
