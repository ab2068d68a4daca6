-- A job's provisioning logs outlive it, as Entra's audit logs do: they go
-- when retention prunes them, not with the job.
ALTER TABLE provisioning_logs DROP CONSTRAINT IF EXISTS provisioning_logs_job_id_fkey;
