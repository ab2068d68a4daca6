-- 0012: as sqlite/0012, the columns compared byte-wise (COLLATE "C", where
-- lower() folds ASCII letters only, as store.FoldASCII does). A stored
-- event that is not JSON leaves its log's columns empty.
ALTER TABLE provisioning_logs ADD COLUMN cycle_id    TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN action      TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN status      TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN source_id   TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN source_name TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE provisioning_logs ADD COLUMN target_id   TEXT COLLATE "C" NOT NULL DEFAULT '';

DO $$
DECLARE
    r record;
    j jsonb;
BEGIN
    FOR r IN SELECT id, data FROM provisioning_logs WHERE data IS NOT NULL LOOP
        BEGIN
            j := convert_from(r.data, 'UTF8')::jsonb;
        EXCEPTION WHEN others THEN
            CONTINUE;
        END;
        IF jsonb_typeof(j) = 'object' THEN
            UPDATE provisioning_logs SET
                cycle_id    = coalesce(j ->> 'cycleId', ''),
                action      = coalesce(j ->> 'action', ''),
                status      = coalesce(j #>> '{statusInfo,status}', ''),
                source_id   = coalesce(j #>> '{sourceIdentity,id}', ''),
                source_name = coalesce(j #>> '{sourceIdentity,displayName}', ''),
                target_id   = coalesce(j #>> '{targetIdentity,id}', '')
            WHERE id = r.id;
        END IF;
    END LOOP;
END $$;

-- One cycle's logs are a common question (cycleId eq '...').
CREATE INDEX provisioning_logs_cycle ON provisioning_logs (cycle_id);
