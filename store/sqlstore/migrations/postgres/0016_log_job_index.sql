-- $filter=jobId eq finds the jobs whose id matches but for case, then
-- their logs by provisioning_logs_job (job_id, activity, id): the index of
-- lower(job_id) cost every stored log an insert for no query.
DROP INDEX provisioning_logs_job_folded;
