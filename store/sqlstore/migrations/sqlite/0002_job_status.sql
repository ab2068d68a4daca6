-- 0002: typed job status and schedule.
--
-- The schedule gets a column per field (state is what a scheduler selects
-- on); the status is one JSON document with the field names of
-- store.Status, which are the Graph names the old status_json used, so the
-- old documents are copied as they are.

ALTER TABLE jobs ADD COLUMN schedule_interval   TEXT   NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN schedule_state      TEXT   NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN schedule_expiration BIGINT; -- NULL for never
ALTER TABLE jobs ADD COLUMN status              TEXT   NOT NULL DEFAULT '{}';

UPDATE jobs SET
    schedule_interval   = COALESCE(json_extract(CAST(schedule_json AS TEXT), '$.interval'), ''),
    schedule_state      = COALESCE(json_extract(CAST(schedule_json AS TEXT), '$.state'), ''),
    schedule_expiration = CAST(strftime('%s', json_extract(CAST(schedule_json AS TEXT), '$.expiration')) AS BIGINT) * 1000000
WHERE schedule_json IS NOT NULL AND json_valid(CAST(schedule_json AS TEXT));

UPDATE jobs SET status = CAST(status_json AS TEXT)
WHERE status_json IS NOT NULL AND json_valid(CAST(status_json AS TEXT));

ALTER TABLE jobs DROP COLUMN schedule_json;
ALTER TABLE jobs DROP COLUMN status_json;
