-- 0001: the initial schema.
--
-- Portable on purpose: the PostgreSQL migrations differ only in BLOB
-- (BYTEA there). Times are BIGINT microseconds since the Unix epoch (UTC),
-- booleans are INTEGER 0/1 here, JSON documents are TEXT.

CREATE TABLE users (
    id              TEXT    NOT NULL PRIMARY KEY,
    upn             TEXT    NOT NULL,
    upn_key         TEXT    NOT NULL UNIQUE, -- lower-cased upn
    account_enabled INTEGER NOT NULL,
    props           TEXT    NOT NULL,        -- JSON object
    created         BIGINT  NOT NULL,
    deleted         BIGINT                   -- NULL unless soft-deleted
);

CREATE TABLE groups (
    id           TEXT   NOT NULL PRIMARY KEY,
    display_name TEXT   NOT NULL,
    props        TEXT   NOT NULL,
    created      BIGINT NOT NULL,
    deleted      BIGINT
);

-- member_id is a user or a group, so it has no foreign key; purging one
-- deletes its rows explicitly.
CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id, group_id);

CREATE TABLE service_principals (
    id             TEXT   NOT NULL PRIMARY KEY,
    app_id         TEXT   NOT NULL UNIQUE,
    application_id TEXT   NOT NULL,
    display_name   TEXT   NOT NULL,
    created        BIGINT NOT NULL
);

-- An application lives and dies with the service principal it was created
-- with (service_principal_id), whatever the ApplicationID field says.
CREATE TABLE applications (
    id                   TEXT   NOT NULL PRIMARY KEY,
    app_id               TEXT   NOT NULL UNIQUE,
    display_name         TEXT   NOT NULL,
    created              BIGINT NOT NULL,
    service_principal_id TEXT   NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE
);
CREATE INDEX applications_sp ON applications (service_principal_id);

CREATE TABLE sp_owners (
    service_principal_id TEXT NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    owner_id             TEXT NOT NULL,
    PRIMARY KEY (service_principal_id, owner_id)
);

-- principal_id is a user or a group: no foreign key, purged explicitly.
CREATE TABLE app_role_assignments (
    id             TEXT   NOT NULL PRIMARY KEY,
    app_role_id    TEXT   NOT NULL,
    principal_id   TEXT   NOT NULL,
    principal_type TEXT   NOT NULL,
    resource_id    TEXT   NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    created        BIGINT NOT NULL,
    UNIQUE (resource_id, principal_id, app_role_id)
);
CREATE INDEX app_role_assignments_principal ON app_role_assignments (principal_id, id);
CREATE INDEX app_role_assignments_resource ON app_role_assignments (resource_id, id);

CREATE TABLE jobs (
    id                   TEXT   NOT NULL PRIMARY KEY,
    service_principal_id TEXT   NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    template_id          TEXT   NOT NULL,
    schema_json          BLOB,
    status_json          BLOB,
    schedule_json        BLOB,
    settings_json        BLOB,
    created              BIGINT NOT NULL,
    updated              BIGINT NOT NULL
);
CREATE INDEX jobs_sp ON jobs (service_principal_id, id);

CREATE TABLE sp_secrets (
    service_principal_id TEXT NOT NULL PRIMARY KEY REFERENCES service_principals (id) ON DELETE CASCADE,
    sealed               BLOB
);

CREATE TABLE anchors (
    job_id      TEXT   NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    source_type TEXT   NOT NULL,
    source_id   TEXT   NOT NULL,
    target_type TEXT   NOT NULL,
    target_id   TEXT   NOT NULL,
    updated     BIGINT NOT NULL,
    PRIMARY KEY (job_id, source_type, source_id)
);

CREATE TABLE provisioning_logs (
    id                   TEXT   NOT NULL PRIMARY KEY,
    job_id               TEXT   NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    service_principal_id TEXT   NOT NULL,
    change_id            TEXT   NOT NULL,
    activity             BIGINT NOT NULL,
    data                 BLOB
);
CREATE INDEX provisioning_logs_activity ON provisioning_logs (activity, id);
CREATE INDEX provisioning_logs_job ON provisioning_logs (job_id, activity, id);
