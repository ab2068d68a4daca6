package sqlstore

import (
	"errors"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"provisiond/store"
)

// dialect is what differs between the SQL databases the Store runs on. The
// queries are written once with ? placeholders; rebind adapts them.
type dialect struct {
	// name names the dialect and its migrations directory.
	name string
	// numbered reports whether placeholders are $1, $2, ... instead of ?.
	numbered bool
	// classify maps a driver error to store.ErrConflict (unique or primary
	// key violation) or store.ErrNotFound (foreign key violation: the parent
	// row is absent); nil when the error is neither.
	classify func(error) error
	// lockRow ends a SELECT that reads a row to update in the same
	// transaction: " FOR UPDATE" where transactions write in parallel, ""
	// on SQLite, whose write transactions (BEGIN IMMEDIATE) run one at a time.
	lockRow string
	// lockFeed, when set, is run first in every directory write's
	// transaction, to serialise the writes that record changes.
	lockFeed string
	// notify, when set, is run last in every directory write's
	// transaction with the Store's instance id, to tell other Stores on
	// the database.
	notify string
	// nowMicros is an expression for the database's clock in
	// microseconds since the Unix epoch.
	nowMicros string
	// bytewise reports whether TEXT compares byte by byte (SQLite's BINARY
	// collation), as Go's strings do: then the ids between two ids in Go's
	// order are those between them in the database's. PostgreSQL compares
	// by the database's collation.
	bytewise bool
}

// rebind rewrites the ? placeholders of query for d. Queries contain no ?
// inside string literals.
func (d dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// sqliteDialect is SQLite through modernc.org/sqlite, which reports extended
// result codes.
var sqliteDialect = dialect{
	name:      "sqlite",
	bytewise:  true,
	nowMicros: `CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)`,
	classify: func(err error) error {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return nil
		}
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return store.ErrConflict
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return store.ErrNotFound
		}
		return nil
	},
}
