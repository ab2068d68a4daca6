package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"provisiond/store"
	"provisiond/store/sqlstore"
)

// openStore opens the store a command's --store names: a PostgreSQL
// database several nodes share, or, when empty, the SQLite file in the
// data directory.
func openStore(ctx context.Context, storeURL, dataDir, node string, log *slog.Logger) (*sqlstore.Store, error) {
	if storeURL == "" {
		return sqlstore.OpenSQLite(ctx, filepath.Join(dataDir, "provisiond.db"), log)
	}
	u, err := url.Parse(storeURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, fmt.Errorf("--store %s: want a PostgreSQL URL such as postgres://provisiond@db.example.com:5432/provisiond, or no --store for the SQLite file in --data", redactedURL(storeURL))
	}
	// The node's sessions carry its name (pg_stat_activity), unless the
	// URL names them otherwise.
	if q := u.Query(); q.Get("application_name") == "" && node != "" {
		q.Set("application_name", "provisiond-"+node)
		u.RawQuery = q.Encode()
	}
	// Reaching the database is bounded; its migrations may wait for
	// another node's (an advisory lock), which ctx still bounds.
	st, err := sqlstore.OpenPostgres(ctx, u.String(), log)
	if err != nil {
		return nil, fmt.Errorf("--store %s: %w", redactedURL(storeURL), err)
	}
	return st, nil
}

// redactedURL is s with any password replaced, for messages.
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}

// storeName says where the store is, for the log.
func storeName(c serveConfig) string {
	if c.storeURL == "" {
		return filepath.Join(c.data, "provisiond.db")
	}
	return redactedURL(c.storeURL)
}

// readyTimeout bounds /readyz's look at the store.
const readyTimeout = 2 * time.Second

// probes are the unauthenticated health endpoints: /healthz answers while
// the process serves, /readyz when the store answers too (its migrations
// ran when it opened), so a load balancer sends calls only to nodes that
// can serve them.
func probes(st store.Store) map[string]http.Handler {
	return map[string]http.Handler{
		"GET /healthz": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintln(w, "ok")
		}),
		"GET /readyz": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			if _, err := st.LastChangeSeq(ctx); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, "store unreachable")
				return
			}
			fmt.Fprintln(w, "ok")
		}),
	}
}
