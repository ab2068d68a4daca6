-- Anchors are looked up by the target object too: a group's membership is
-- reconciled only for target members the job provisioned.
CREATE INDEX anchors_target ON anchors (job_id, target_type, target_id);
