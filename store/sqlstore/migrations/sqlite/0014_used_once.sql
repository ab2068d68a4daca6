-- One-time values already used (sign-in codes of `provisiond token --web`),
-- kept until they expire so that a code works once across every process.
CREATE TABLE used_once (
  id      TEXT PRIMARY KEY,
  expires INTEGER NOT NULL
);
CREATE INDEX used_once_expires ON used_once (expires);
