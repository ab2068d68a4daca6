// Package pgtest gives tests a PostgreSQL database of their own on the
// cluster that scripts/components/postgres.sh starts, so that tests on
// PostgreSQL run in parallel without seeing each other's data.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable holding a superuser URL of the
// test cluster.
const EnvURL = "PROVISIOND_TEST_POSTGRES"

// Database creates an empty database with a random name and returns its
// URL; it is dropped when the test ends. Without a cluster (EnvURL unset)
// the test is skipped, or fails when PROVISIOND_COMPONENTS is "required",
// as it is in the test command.
func Database(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		if os.Getenv("PROVISIOND_COMPONENTS") == "required" {
			t.Fatalf("PostgreSQL is required: set %s (scripts/components/postgres.sh start)", EnvURL)
		}
		t.Skipf("no PostgreSQL: set %s to run this test (scripts/components/postgres.sh start)", EnvURL)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "provisiond_test_" + hex.EncodeToString(b)
	exec(t, admin, `CREATE DATABASE `+name)
	t.Cleanup(func() { exec(t, admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) })
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("postgres: %s: %v", sql, err)
	}
}
