-- 0007: rate limits the nodes of a cluster share (Store.AllowRate): per
-- key, the times (microseconds, comma-separated, oldest first) of the
-- last accepted requests.
CREATE TABLE rate_windows (
    key     TEXT NOT NULL PRIMARY KEY,
    accepts TEXT NOT NULL
);
