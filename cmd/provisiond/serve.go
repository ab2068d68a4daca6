package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"provisiond/auth"
	"provisiond/cmd/provisiond/wiring"
	"provisiond/store"
	"provisiond/store/sqlstore"
	"provisiond/throttle"
)

type serveConfig struct {
	addr, data, limit, oidcIssuer, audience, logLevel string
	demo                                              bool
	targetNetworks                                    string
}

func serve(ctx context.Context, args []string, out io.Writer) error {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.data, "data", "./provisiond-data", "data directory (SQLite store, keys)")
	fs.BoolVar(&c.demo, "demo", false, "seed demo users, a demo SCIM app and a job, and print a token and a curl command")
	fs.StringVar(&c.limit, "ondemand-limit", "5/10s", `provisionOnDemand rate limit per service principal ("off" to disable)`)
	fs.StringVar(&c.oidcIssuer, "oidc-issuer", "", "accept tokens from this OpenID Connect issuer instead of the embedded one")
	fs.StringVar(&c.audience, "audience", "", "required token audience with --oidc-issuer")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.targetNetworks, "target-networks", "", "CIDR[,CIDR...]: the only networks provisiond may call for a job's target (default: all but link-local and provisiond's own address)")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	app, err := newApp(ctx, c, "http://"+ln.Addr().String(), log)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.store.Close()
	if c.demo {
		if err := seedDemo(ctx, app, out); err != nil {
			ln.Close()
			return fmt.Errorf("demo: %w", err)
		}
	}
	srv := &http.Server{Handler: app.handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("provisiond listening", "addr", ln.Addr().String(), "data", c.data)
	log.Info("token signing key", "data", filepath.Dir(app.issuer.KeyFile()), "kid", app.issuer.KeyID(), "file", app.issuer.KeyFile())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// app is a wired provisiond.
type app struct {
	store   store.Store
	issuer  *auth.Issuer
	handler http.Handler
	demo    *demoTarget
	baseURL string
}

func newApp(ctx context.Context, c serveConfig, baseURL string, log *slog.Logger) (*app, error) {
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(c.data, "provisiond.db"), log)
	if err != nil {
		return nil, err
	}
	a, err := wire(ctx, st, c, baseURL, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// wire builds the service over an open store (see package wiring) and
// prepares the demo SCIM app when asked.
func wire(ctx context.Context, st store.Store, c serveConfig, baseURL string, log *slog.Logger) (*app, error) {
	var limiter *throttle.Limiter
	n, per, err := throttle.ParseLimit(c.limit)
	if err != nil {
		return nil, fmt.Errorf("--ondemand-limit: %w", err)
	}
	if n > 0 {
		limiter = throttle.New(n, per, nil)
	}
	a := &app{store: st, baseURL: baseURL}
	if c.demo {
		a.demo = newDemoTarget()
	}
	w, err := wiring.Wire(ctx, st, wiring.Config{
		DataDir: c.data, OIDCIssuer: c.oidcIssuer, Audience: c.audience,
		OnDemand: limiter, Logger: log,
		TargetNetworks: c.targetNetworks, Self: baseURL,
	})
	if err != nil {
		return nil, err
	}
	a.issuer, a.handler = w.Issuer, w.Handler
	return a, nil
}
