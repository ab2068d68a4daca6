-- The anchors' target index holds a hash of the job, target type and
-- target id (target_key, set in Go: keyTargets) instead of the three.
ALTER TABLE anchors ADD COLUMN target_key BIGINT NOT NULL DEFAULT 0;
DROP INDEX anchors_target;
CREATE INDEX anchors_target_key ON anchors (target_key);
