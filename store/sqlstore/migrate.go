package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFS holds the schema migrations, one directory per dialect. A
// file is named NNNN_description.sql; NNNN is its version. Applied versions
// are recorded in schema_migrations; a migration is never edited once
// released, only followed by a new one.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order.
func (d dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", d.name)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version and _", name)
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// migrationsInGo are the parts of migrations done in Go, after their SQL
// and in the same transaction, by version.
var migrationsInGo = map[int]func(context.Context, writeTx) error{
	18: keyTargets,
	22: keyTargets,
}

// migrate applies the migrations not applied yet, each in its own write
// transaction together with its schema_migrations row, so a failed
// migration leaves no trace and concurrent openers apply each one once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := s.d.migrations()
	if err != nil {
		return err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		applied BIGINT  NOT NULL
	)`
	if _, err := s.wdb.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		applied := false
		err := s.inTx(ctx, func(w writeTx) error {
			var n int
			q := s.d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`)
			if err := w.tx.QueryRowContext(ctx, q, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := w.tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			if inGo := migrationsInGo[m.version]; inGo != nil {
				if err := inGo(ctx, w); err != nil {
					return err
				}
			}
			q = s.d.rebind(`INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`)
			if _, err := w.tx.ExecContext(ctx, q, m.version, micros(time.Now())); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if applied {
			s.log.Info("store migration applied", "dialect", s.d.name, "migration", m.name)
		}
	}
	return nil
}
