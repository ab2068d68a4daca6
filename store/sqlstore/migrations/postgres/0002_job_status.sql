-- 0002: typed job status and schedule (see sqlite/0002). No PostgreSQL
-- database predates this migration, so there are no old documents to copy.

ALTER TABLE jobs ADD COLUMN schedule_interval   TEXT   NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN schedule_state      TEXT   NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN schedule_expiration BIGINT; -- NULL for never
ALTER TABLE jobs ADD COLUMN status              TEXT   NOT NULL DEFAULT '{}';
ALTER TABLE jobs DROP COLUMN schedule_json;
ALTER TABLE jobs DROP COLUMN status_json;
