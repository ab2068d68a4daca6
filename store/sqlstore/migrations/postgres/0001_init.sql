-- 0001: the initial schema, as sqlite/0001 with PostgreSQL's types: BYTEA
-- for BLOB, BOOLEAN for the 0/1 flags, and TEXT COLLATE "C" for the text
-- that is sorted or paged by, so that ids order byte-wise as on SQLite,
-- whatever the database's default collation.

CREATE TABLE users (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    upn             TEXT    NOT NULL,
    upn_key         TEXT COLLATE "C" NOT NULL UNIQUE, -- lower-cased upn
    account_enabled BOOLEAN NOT NULL,
    props           TEXT    NOT NULL,        -- JSON object
    created         BIGINT  NOT NULL,
    deleted         BIGINT                   -- NULL unless soft-deleted
);

CREATE TABLE groups (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    display_name TEXT   NOT NULL,
    props        TEXT   NOT NULL,
    created      BIGINT NOT NULL,
    deleted      BIGINT
);

CREATE TABLE group_members (
    group_id  TEXT COLLATE "C" NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id, group_id);

CREATE TABLE service_principals (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_id         TEXT   NOT NULL UNIQUE,
    application_id TEXT   NOT NULL,
    display_name   TEXT   NOT NULL,
    created        BIGINT NOT NULL
);

CREATE TABLE applications (
    id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_id               TEXT   NOT NULL UNIQUE,
    display_name         TEXT   NOT NULL,
    created              BIGINT NOT NULL,
    service_principal_id TEXT COLLATE "C" NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE
);
CREATE INDEX applications_sp ON applications (service_principal_id);

CREATE TABLE sp_owners (
    service_principal_id TEXT COLLATE "C" NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    owner_id             TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (service_principal_id, owner_id)
);

CREATE TABLE app_role_assignments (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_role_id    TEXT COLLATE "C" NOT NULL,
    principal_id   TEXT COLLATE "C" NOT NULL,
    principal_type TEXT   NOT NULL,
    resource_id    TEXT COLLATE "C" NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    created        BIGINT NOT NULL,
    UNIQUE (resource_id, principal_id, app_role_id)
);
CREATE INDEX app_role_assignments_principal ON app_role_assignments (principal_id, id);
CREATE INDEX app_role_assignments_resource ON app_role_assignments (resource_id, id);

CREATE TABLE jobs (
    id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    service_principal_id TEXT COLLATE "C" NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    template_id          TEXT   NOT NULL,
    schema_json          BYTEA,
    status_json          BYTEA,
    schedule_json        BYTEA,
    settings_json        BYTEA,
    created              BIGINT NOT NULL,
    updated              BIGINT NOT NULL
);
CREATE INDEX jobs_sp ON jobs (service_principal_id, id);

CREATE TABLE sp_secrets (
    service_principal_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES service_principals (id) ON DELETE CASCADE,
    sealed               BYTEA
);

CREATE TABLE anchors (
    job_id      TEXT COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    source_type TEXT COLLATE "C" NOT NULL,
    source_id   TEXT COLLATE "C" NOT NULL,
    target_type TEXT COLLATE "C" NOT NULL,
    target_id   TEXT COLLATE "C" NOT NULL,
    updated     BIGINT NOT NULL,
    PRIMARY KEY (job_id, source_type, source_id)
);

CREATE TABLE provisioning_logs (
    id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    job_id               TEXT COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    service_principal_id TEXT   NOT NULL,
    change_id            TEXT   NOT NULL,
    activity             BIGINT NOT NULL,
    data                 BYTEA
);
CREATE INDEX provisioning_logs_activity ON provisioning_logs (activity, id);
CREATE INDEX provisioning_logs_job ON provisioning_logs (job_id, activity, id);
