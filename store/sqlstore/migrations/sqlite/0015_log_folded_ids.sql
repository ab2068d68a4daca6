-- $filter compares jobId and cycleId case-insensitively, as lower(column):
-- index those expressions, so that one job's or one cycle's logs are found
-- (and a job's read newest first) without scanning every log.
DROP INDEX provisioning_logs_cycle;
CREATE INDEX provisioning_logs_cycle ON provisioning_logs (lower(cycle_id));
CREATE INDEX provisioning_logs_job_folded ON provisioning_logs (lower(job_id), activity, id);
