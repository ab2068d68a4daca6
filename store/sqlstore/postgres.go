package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"provisiond/store"
)

// postgresDialect is PostgreSQL through pgx's database/sql driver.
var postgresDialect = dialect{
	name:     "postgres",
	numbered: true,
	classify: func(err error) error {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			return nil
		}
		switch pe.Code {
		case "23505": // unique_violation
			return store.ErrConflict
		case "23503": // foreign_key_violation
			return store.ErrNotFound
		}
		return nil
	},
	lockRow: " FOR UPDATE",
	// Writers run in parallel: directory writes take this lock before
	// they record changes, so seqs are given, and commit, in order.
	// Held to commit; the key is arbitrary but fixed.
	lockFeed: `SELECT pg_advisory_xact_lock(7410734520181113)`,
	// Delivered at commit, to every Store on the database (see listen).
	notify:    `SELECT pg_notify('provisiond_changes', ?)`,
	nowMicros: `CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)`,
}

// migrationLock is the session advisory lock migrations run under, so
// that nodes starting together apply each migration once.
const migrationLock = 7410734520181112

// OpenPostgres connects to the PostgreSQL database at url (a postgres://
// URL or a key=value DSN, as pgx takes them) and brings its schema up to
// date under an advisory lock. Its Subscribe also signals the directory
// writes of other processes on the same database (LISTEN/NOTIFY). A nil
// logger discards.
func OpenPostgres(ctx context.Context, url string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	pcfg.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{d: postgresDialect, log: logger, rdb: db, wdb: db, pool: pool, instance: randomID()}
	if err := s.migratePostgres(ctx); err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.listen(lctx, cfg) })
	s.stopListen = func() { cancel(); wg.Wait() }
	logger.Debug("postgres store open", "host", cfg.Host, "database", cfg.Database)
	return s, nil
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// migratePostgres runs migrate holding migrationLock.
func (s *Store) migratePostgres(ctx context.Context) error {
	return s.WithMigrationLock(ctx, func() error { return s.migrate(ctx) })
}

// WithMigrationLock runs fn holding the lock the store's migrations run
// under, so that the scheduler's migrations are safe from nodes starting
// together too. On SQLite it just runs fn.
func (s *Store) WithMigrationLock(ctx context.Context, fn func() error) error {
	if s.d.name != postgresDialect.name {
		return fn()
	}
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open postgres store: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// A context that ended still lets the lock go: closing the
		// session would release it, but conn goes back to the pool.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, migrationLock); err != nil {
			s.log.Warn("postgres store: migration unlock failed", "err", err)
			conn.Raw(func(any) error { return sql.ErrConnDone }) // discard the session, and its lock
		}
	}()
	return fn()
}

// listen LISTENs on its own connection for the notifications of directory
// writes and signals subscribers of those made by other Stores (this one's
// have signalled already). When the connection breaks it reconnects and
// signals once, as writes may have gone unnoticed meanwhile.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig) {
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, cfg)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("postgres store: change notifications interrupted; reconnecting", "err", err)
		s.changed.Notify()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN provisiond_changes`); err != nil {
		return err
	}
	for {
		// Wait a while at a time, then make sure the server is still
		// there: a peer that vanished without closing the connection
		// would otherwise leave this wait, and the node deaf, forever.
		wctx, cancel := context.WithTimeout(ctx, listenIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err == nil {
				continue
			}
		}
		if err != nil {
			return err
		}
		if n.Payload != s.instance {
			s.changed.Notify()
		}
	}
}

// listenIdle is how long the listener waits for a notification before it
// checks that its connection still works.
var listenIdle = 30 * time.Second

// Shared reports whether several processes may share the database
// (PostgreSQL), so that what must hold across them (rate limits, one
// cycle per job) is kept in the database.
func (s *Store) Shared() bool { return s.pool != nil }

// SchedulerPool is the pgx pool a job scheduler (River, riverpgxv5) keeps
// its tables in on PostgreSQL, nil on SQLite. The Store closes it.
func (s *Store) SchedulerPool() *pgxpool.Pool { return s.pool }

// jobLockClass and workLockClass are the first keys of the advisory
// locks TryLockJob and TryLockWork take, the second being a hash of the
// name locked: a job's lock is told apart from the others'.
const (
	jobLockClass  = 0x7064 // "pd"
	workLockClass = 0x7065
)

// TryLockJob takes, without waiting, a lock on jobID that other processes
// on the database see (a session advisory lock, on a connection of its
// own, held until unlock): ok is false when another holds it. The lock
// goes with its session, so a process that dies lets its locks go as soon
// as PostgreSQL sees the connection close. On SQLite, which one process
// opens at a time, it always succeeds.
func (s *Store) TryLockJob(ctx context.Context, jobID string) (unlock func(), ok bool, err error) {
	return s.tryLock(ctx, jobLockClass, jobID)
}

// TryLockWork is TryLockJob for any other work a process holds while it
// lives (a cycle's, a chunk of one), so that others can tell whether its
// holder is still there.
func (s *Store) TryLockWork(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	return s.tryLock(ctx, workLockClass, name)
}

func (s *Store) tryLock(ctx context.Context, class int, name string) (unlock func(), ok bool, err error) {
	if s.pool == nil {
		return func() {}, true, nil
	}
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, class, name).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: %w", name, err)
		}
		return nil, false, nil
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, class, name); err != nil {
			// Closing the session releases the lock too.
			conn.Raw(func(any) error { return sql.ErrConnDone }) //nolint:errcheck
		}
		conn.Close()
	}, true, nil
}
