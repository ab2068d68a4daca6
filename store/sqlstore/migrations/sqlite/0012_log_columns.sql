-- Provisioning logs are queried (Graph's $filter on auditLogs/provisioning)
-- by fields of the stored event: they get columns of their own, filled for
-- the logs stored before from their event JSON.
ALTER TABLE provisioning_logs ADD COLUMN cycle_id    TEXT NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN action      TEXT NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN status      TEXT NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN source_id   TEXT NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN source_name TEXT NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN target_id   TEXT NOT NULL DEFAULT '';

UPDATE provisioning_logs SET
    cycle_id    = coalesce(json_extract(CAST(data AS TEXT), '$.cycleId'), ''),
    action      = coalesce(json_extract(CAST(data AS TEXT), '$.action'), ''),
    status      = coalesce(json_extract(CAST(data AS TEXT), '$.statusInfo.status'), ''),
    source_id   = coalesce(json_extract(CAST(data AS TEXT), '$.sourceIdentity.id'), ''),
    source_name = coalesce(json_extract(CAST(data AS TEXT), '$.sourceIdentity.displayName'), ''),
    target_id   = coalesce(json_extract(CAST(data AS TEXT), '$.targetIdentity.id'), '')
WHERE json_valid(CAST(data AS TEXT));

-- One cycle's logs are a common question (cycleId eq '...').
CREATE INDEX provisioning_logs_cycle ON provisioning_logs (cycle_id);
