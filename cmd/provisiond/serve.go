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
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/cmd/provisiond/wiring"
	"provisiond/gctune"
	"provisiond/graphapi"
	"provisiond/jobs"
	"provisiond/metrics"
	"provisiond/store"
	"provisiond/store/sqlstore"
	"provisiond/throttle"
)

type serveConfig struct {
	addr, data, limit, oidcIssuer, audience, logLevel string
	storeURL, nodeName                                string
	demo                                              bool
	targetNetworks, publicURL                         string
	trustProxy                                        bool
	targetRate                                        float64
	cycleWorkers, cycleChunk                          int
	metrics                                           bool
	logRetention                                      time.Duration
}

func serve(ctx context.Context, args []string, out io.Writer) error {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.data, "data", "./provisiond-data", "data directory (SQLite store, keys)")
	fs.StringVar(&c.storeURL, "store", "", "postgres://USER@HOST:PORT/DB: keep everything in this PostgreSQL database, which several nodes share, instead of the SQLite file in --data (keys stay in --data; a password is best given in PGPASSWORD or ~/.pgpass)")
	fs.StringVar(&c.nodeName, "node-name", "", "this node's name, on its metrics and in its logs (default: the host name)")
	fs.BoolVar(&c.demo, "demo", false, "seed demo users, a demo SCIM app and a job, and print a token and a curl command")
	fs.StringVar(&c.limit, "ondemand-limit", "5/10s", `provisionOnDemand rate limit per service principal ("off" to disable)`)
	fs.StringVar(&c.oidcIssuer, "oidc-issuer", "", "accept tokens from this OpenID Connect issuer instead of the embedded one")
	fs.StringVar(&c.audience, "audience", "", "required token audience with --oidc-issuer")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.targetNetworks, "target-networks", "", "CIDR[,CIDR...]: the only networks provisiond may call for a job's target (default: all but link-local and provisiond's own address)")
	fs.Float64Var(&c.targetRate, "target-rate", 0, "at most this many requests per second to one job's target (0: no cap; every job slows down while its target answers 429 or 5xx)")
	fs.IntVar(&c.cycleWorkers, "cycle-workers", 8, "objects one job's cycle processes at once")
	fs.IntVar(&c.cycleChunk, "cycle-chunk", jobs.DefaultCycleChunk, "a big cycle hands its objects of a type, this many at a time, to the scheduler, whose workers on every node share them")
	fs.StringVar(&c.publicURL, "public-url", "", "the URL clients reach the service at, such as https://graph.example.com: the base of @odata.context and @odata.nextLink (default: the listen address)")
	fs.BoolVar(&c.trustProxy, "trust-proxy", false, "without --public-url, build links from X-Forwarded-Proto, -Host and -Prefix; only behind a proxy that sets them")
	fs.BoolVar(&c.metrics, "metrics", true, "serve Prometheus metrics at /metrics, without authentication: keep that path off public networks")
	fs.DurationVar(&c.logRetention, "log-retention", jobs.DefaultLogRetention, "keep provisioning logs this long, pruned in the background (0: keep them forever)")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if c.logRetention < 0 {
		return fmt.Errorf("--log-retention %v: want a duration such as 720h, 0 to keep logs forever", c.logRetention)
	}
	if c.targetRate < 0 {
		return fmt.Errorf("--target-rate %v: want requests per second, 0 for no cap", c.targetRate)
	}
	if c.cycleWorkers < 1 || c.cycleWorkers > 256 {
		return fmt.Errorf("--cycle-workers %d: want 1 to 256", c.cycleWorkers)
	}
	if c.cycleChunk < 10 || c.cycleChunk > 10000 {
		return fmt.Errorf("--cycle-chunk %d: want 10 to 10000 objects", c.cycleChunk)
	}
	if c.publicURL != "" {
		u, err := parsePublicURL(c.publicURL)
		if err != nil {
			return fmt.Errorf("--public-url: %w", err)
		}
		c.publicURL = u
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if c.nodeName == "" {
		if c.nodeName, _ = os.Hostname(); c.nodeName == "" {
			c.nodeName = "provisiond"
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("node", c.nodeName)
	if gctune.Start() {
		log.Debug("garbage collector floor", "heap_mib", gctune.MinHeap>>20)
	}

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
	// Started jobs go on where they were: cycles run until shutdown and
	// resume on the next start.
	if err := app.runner.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	if c.logRetention > 0 {
		go jobs.RetainLogs(ctx, app.store, c.logRetention, min(c.logRetention, time.Hour), log)
	}
	srv := app.handler.HTTPServer(graphapi.Limits{})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(app.handler.Listener(ln)) }()
	log.Info("provisiond listening", "addr", ln.Addr().String(), "data", c.data, "store", storeName(c))
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
	return app.runner.Shutdown(shutdownCtx)
}

// app is a wired provisiond.
type app struct {
	store   store.Store
	issuer  *auth.Issuer
	handler *graphapi.Server
	runner  wiring.Runner
	demo    *demoTarget
	baseURL string
}

func newApp(ctx context.Context, c serveConfig, baseURL string, log *slog.Logger) (*app, error) {
	st, err := openStore(ctx, c.storeURL, c.data, c.nodeName, log)
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
func wire(ctx context.Context, st *sqlstore.Store, c serveConfig, baseURL string, log *slog.Logger) (*app, error) {
	var limiter throttle.Gate
	n, per, err := throttle.ParseLimit(c.limit)
	if err != nil {
		return nil, fmt.Errorf("--ondemand-limit: %w", err)
	}
	switch {
	case n > 0 && st.Shared():
		// Several nodes: the window is kept in the database they share.
		limiter = throttle.NewShared(n, per, st.AllowRate)
	case n > 0:
		limiter = throttle.New(n, per, nil)
	}
	a := &app{store: st, baseURL: baseURL}
	var m *metrics.Metrics
	if c.metrics {
		m = metrics.NewForNode(log, c.nodeName)
	}
	if c.demo {
		a.demo = newDemoTarget()
	}
	wc := wiring.Config{
		DataDir: c.data, OIDCIssuer: c.oidcIssuer, Audience: c.audience,
		OnDemand: limiter, Logger: log,
		TargetNetworks: c.targetNetworks, Self: baseURL,
		PublicURL: c.publicURL, TrustProxy: c.trustProxy,
		Metrics: m, Extra: probes(st), NodeName: c.nodeName,
		TargetRate: c.targetRate, CycleWorkers: c.cycleWorkers, CycleChunk: c.cycleChunk,
	}
	wc.UseStore(st)
	w, err := wiring.Wire(ctx, st, wc)
	if err != nil {
		return nil, err
	}
	a.issuer, a.handler, a.runner = w.Issuer, w.Handler, w.Runner
	return a, nil
}

// parsePublicURL checks --public-url: an absolute http(s) URL, optionally
// with a path prefix, without query or fragment. It returns it without a
// trailing slash.
func parsePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", err
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q must start with https:// or http://", s)
	case u.Host == "" || u.User != nil:
		return "", fmt.Errorf("%q must name a host, without user info", s)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("%q must not have a query or a fragment", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
