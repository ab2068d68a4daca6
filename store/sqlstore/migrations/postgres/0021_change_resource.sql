-- The service principal whose app role assignment a change made or removed
-- (store.Change.Resource): the change concerns its jobs alone; '' concerns
-- every job.
ALTER TABLE changes ADD COLUMN resource_id TEXT NOT NULL DEFAULT '';
