-- A job's provisioning logs outlive it, as Entra's audit logs do: they go
-- when retention prunes them, not with the job. SQLite cannot drop a
-- foreign key, so the table is built again without it.
CREATE TABLE provisioning_logs_kept (
    id                   TEXT   NOT NULL PRIMARY KEY,
    job_id               TEXT   NOT NULL,
    service_principal_id TEXT   NOT NULL,
    change_id            TEXT   NOT NULL,
    activity             BIGINT NOT NULL,
    data                 BLOB,
    cycle_id             TEXT   NOT NULL DEFAULT '',
    action               TEXT   NOT NULL DEFAULT '',
    status               TEXT   NOT NULL DEFAULT '',
    source_id            TEXT   NOT NULL DEFAULT '',
    source_name          TEXT   NOT NULL DEFAULT '',
    target_id            TEXT   NOT NULL DEFAULT ''
);
INSERT INTO provisioning_logs_kept (id, job_id, service_principal_id, change_id, activity, data,
    cycle_id, action, status, source_id, source_name, target_id)
SELECT id, job_id, service_principal_id, change_id, activity, data,
    cycle_id, action, status, source_id, source_name, target_id
FROM provisioning_logs ORDER BY rowid;
DROP TABLE provisioning_logs;
ALTER TABLE provisioning_logs_kept RENAME TO provisioning_logs;
CREATE INDEX provisioning_logs_activity ON provisioning_logs (activity, id);
CREATE INDEX provisioning_logs_job ON provisioning_logs (job_id, activity, id);
CREATE INDEX provisioning_logs_cycle ON provisioning_logs (lower(cycle_id), activity, id);
