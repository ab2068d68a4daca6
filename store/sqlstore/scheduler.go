package sqlstore

import "database/sql"

// SchedulerDB is the database a job scheduler (River) keeps its tables in:
// the store's own writer connection. SQLite has one writer at a time
// anyway; sharing the connection means River and the store queue for it
// instead of failing with SQLITE_BUSY.
func (s *Store) SchedulerDB() *sql.DB { return s.wdb }
