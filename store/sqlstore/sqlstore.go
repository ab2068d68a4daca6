package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"provisiond/store"
)

// Store is a store.Store on a SQL database. Its methods are safe for
// concurrent use.
type Store struct {
	d   dialect
	log *slog.Logger
	// rdb serves reads, wdb writes. They are two pools on SQLite (many
	// read-only connections, one writer) and may be the same pool elsewhere.
	rdb, wdb *sql.DB
	// rstmts and wstmts cache prepared statements by query text.
	rstmts, wstmts sync.Map // string → *sql.Stmt
	closeOnce      sync.Once
	closeErr       error
	// changed signals directory writes to subscribers.
	changed store.Notifier
	// instance tells this Store's change notifications from others' (on
	// PostgreSQL); stopListen stops listening for them.
	instance   string
	stopListen func()
	// pool is River's on PostgreSQL (SchedulerPool); nil on SQLite.
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// sqlitePragmas are the connection settings every SQLite connection gets.
// _txlock=immediate makes BEGIN take the write lock up front: a deferred
// transaction that reads and then writes fails with SQLITE_BUSY at once,
// whatever busy_timeout says.
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)" +
	"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"

// sqliteWriterPragmas are the write connection's: a checkpoint every
// 16,384 pages (64 MiB of WAL) rather than SQLite's 1,000. A cycle's
// commits rewrite the same index pages (anchors by target id come in
// random order); fewer checkpoints copy each to the database fewer
// times: a 100,000-user initial cycle takes 6 % less CPU. The WAL file is
// cut back to 64 MiB after a checkpoint.
//
// temp_store(MEMORY) keeps the writer's statement journals in memory: an
// INSERT of many rows journals every page it changes, so that a failing
// row can undo the rows before it, and in a temporary file that cost a
// write(2) per page (4 % of a cycle's CPU). A journal holds the pages one
// statement (at most 64 rows) changes: under a MB.
//
// cache_size(-32768) gives the writer 32 MiB of page cache, not 2: a
// cycle's commit changes a page of each anchor index per object, and a
// cache smaller than what one commit changes spills the changed pages to
// the WAL mid-transaction and reads them back.
const sqliteWriterPragmas = "&_pragma=wal_autocheckpoint(16384)&_pragma=journal_size_limit(67108864)&_pragma=temp_store(2)" +
	"&_pragma=cache_size(-32768)"

// sqliteDSN returns the modernc.org/sqlite DSN for the file at path. The
// path is part of a file: URI, so the characters URIs give a meaning to are
// escaped.
func sqliteDSN(path string, readOnly bool) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	dsn := "file:" + esc + "?" + sqlitePragmas
	if readOnly {
		return dsn + "&_pragma=query_only(1)"
	}
	return dsn + sqliteWriterPragmas
}

// OpenSQLite opens (creating it and its directory when needed) the SQLite
// database at path and brings its schema up to date. A nil logger discards.
func OpenSQLite(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	wdb, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	// One writer connection: writers queue in database/sql (honouring their
	// contexts) rather than spinning in SQLite's busy handler.
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxIdleTime(0)
	wdb.SetConnMaxLifetime(0)

	s := &Store{d: sqliteDialect, log: logger, wdb: wdb}
	// Migrate before the readers connect, so that they find the database in
	// WAL mode and their query_only pragma applies to a complete schema.
	if err := s.migrate(ctx); err != nil {
		wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxIdleTime(0)
	rdb.SetConnMaxLifetime(0)
	if err := rdb.PingContext(ctx); err != nil {
		rdb.Close()
		wdb.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	s.rdb = rdb
	logger.Debug("sqlite store open", "path", path)
	return s, nil
}

// Close closes the prepared statements and the database pools.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stopListen != nil {
			s.stopListen()
		}
		var errs []error
		for _, m := range []*sync.Map{&s.rstmts, &s.wstmts} {
			m.Range(func(_, v any) bool {
				errs = append(errs, v.(*sql.Stmt).Close())
				return true
			})
		}
		if s.rdb != nil && s.rdb != s.wdb {
			errs = append(errs, s.rdb.Close())
		}
		errs = append(errs, s.wdb.Close())
		if s.pool != nil {
			s.pool.Close()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// stmt returns the statement for query prepared on db, preparing it on
// first use.
func (s *Store) stmt(ctx context.Context, db *sql.DB, cache *sync.Map, query string) (*sql.Stmt, error) {
	if v, ok := cache.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, s.d.rebind(query))
	if err != nil {
		return nil, err
	}
	if v, loaded := cache.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// query runs a read query outside any transaction.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, s.rdb, &s.rstmts, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs a read query expected to return at most one row. Its Scan
// returns sql.ErrNoRows when there is none.
func (s *Store) queryRow(ctx context.Context, dest []any, query string, args ...any) error {
	st, err := s.stmt(ctx, s.rdb, &s.rstmts, query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

// exec runs a single write statement in its own (implicit) transaction.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, s.wdb, &s.wstmts, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// writeTx is a write transaction. On SQLite it holds the only writer
// connection, so nothing in it may use s.wdb: its statements are not taken
// from the cache (preparing one needs a free connection). Transactions
// serve the multi-statement writes (directory writes, which record their
// changes, among them); the others are single prepared statements.
type writeTx struct {
	s  *Store
	tx *sql.Tx
}

func (w writeTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return w.tx.ExecContext(ctx, w.s.d.rebind(query), args...)
}

func (w writeTx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return w.tx.QueryContext(ctx, w.s.d.rebind(query), args...)
}

// inTx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(w writeTx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(writeTx{s: s, tx: tx}); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			s.log.Warn("sql store: rollback failed", "err", rerr)
		}
		return err
	}
	return tx.Commit()
}

// fail wraps err with the context "<op> <key>": constraint violations
// become store.ErrConflict or store.ErrNotFound, sql.ErrNoRows becomes
// store.ErrNotFound, anything else is kept.
func (s *Store) fail(err error, op string, key ...string) error {
	what := op
	if len(key) > 0 {
		what += " " + strings.Join(key, "/")
	}
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		// Already a sentinel.
	case errors.Is(err, sql.ErrNoRows):
		err = store.ErrNotFound
	default:
		if sentinel := s.d.classify(err); sentinel != nil {
			err = sentinel
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// mustAffect returns store.ErrNotFound when res affected no row.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// micros and fromMicros convert times to and from their stored form,
// microseconds since the Unix epoch. The zero time round-trips.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func fromNullMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

// encodeProps and decodeProps convert Props to and from JSON text. A nil
// map is stored as null and comes back nil.
func encodeProps(p map[string]any) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode props: %w", err)
	}
	return string(b), nil
}

// decodeProps reads the props encodeProps wrote, with json v2: half the
// time of encoding/json, and a cycle reads every user's.
func decodeProps(s string) (map[string]any, error) {
	var p map[string]any
	if err := jsonv2.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("decode props: %w", err)
	}
	return p, nil
}

// page appends the keyset paging clauses of opt to a query whose rows are
// ordered by idCol and whose WHERE clause is where ("" for none).
func page(base, where, idCol string, opt store.ListOptions, args []any) (string, []any) {
	var conds []string
	if where != "" {
		conds = append(conds, where)
	}
	if opt.After != "" {
		conds = append(conds, idCol+" > ?")
		args = append(args, opt.After)
	}
	q := base
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY " + idCol
	if opt.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, opt.Limit)
	}
	return q, args
}

// collect scans every row of rows with scan.
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanString scans a one-column row of text.
func scanString(rows *sql.Rows) (string, error) {
	var s string
	err := rows.Scan(&s)
	return s, err
}
