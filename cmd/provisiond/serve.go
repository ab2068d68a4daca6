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
	"provisiond/connector"
	"provisiond/connector/scim"
	"provisiond/directory"
	"provisiond/engine"
	"provisiond/graphapi"
	"provisiond/secrets"
	"provisiond/store"
	"provisiond/store/sqlstore"
	"provisiond/throttle"
)

type serveConfig struct {
	addr, data, limit, oidcIssuer, audience, logLevel string
	demo                                              bool
	publicURL                                         string
	trustProxy                                        bool
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
	fs.StringVar(&c.publicURL, "public-url", "", "the URL clients reach the service at, such as https://graph.example.com: the base of @odata.context and @odata.nextLink (default: the listen address)")
	fs.BoolVar(&c.trustProxy, "trust-proxy", false, "without --public-url, build links from X-Forwarded-Proto, -Host and -Prefix; only behind a proxy that sets them")
	if err := fs.Parse(args); err != nil {
		return err
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
	srv := app.handler.HTTPServer(graphapi.Limits{})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(app.handler.Listener(ln)) }()
	log.Info("provisiond listening", "addr", ln.Addr().String(), "data", c.data)
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
	handler *graphapi.Server
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

// wire builds the service over an open store: the explicit registries of
// authenticators and connectors live here.
func wire(ctx context.Context, st store.Store, c serveConfig, baseURL string, log *slog.Logger) (*app, error) {
	iss, err := auth.LoadOrCreateIssuer(c.data)
	if err != nil {
		return nil, err
	}
	var authn auth.Authenticator = iss.Authenticator()
	if c.oidcIssuer != "" {
		if c.audience == "" {
			return nil, errors.New("--oidc-issuer needs --audience")
		}
		if authn, err = auth.NewOIDC(ctx, c.oidcIssuer, c.audience, nil); err != nil {
			return nil, err
		}
	}
	box, err := secrets.LoadOrCreate(c.data)
	if err != nil {
		return nil, err
	}
	var limiter *throttle.Limiter
	n, per, err := throttle.ParseLimit(c.limit)
	if err != nil {
		return nil, fmt.Errorf("--ondemand-limit: %w", err)
	}
	if n > 0 {
		limiter = throttle.New(n, per, nil)
	}
	a := &app{store: st, issuer: iss, baseURL: baseURL}
	extra := map[string]http.Handler{}
	if c.demo {
		a.demo = newDemoTarget()
		extra["/demo/scim/v2/"] = http.StripPrefix("/demo/scim/v2", a.demo.server)
	}
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}}
	a.handler = graphapi.New(graphapi.Config{
		Store:      st,
		Auth:       authn,
		Logger:     log,
		Extra:      extra,
		PublicURL:  c.publicURL,
		TrustProxy: c.trustProxy,
		Sync: &graphapi.Sync{
			Engine:   engine.New(engine.Config{State: st, NewID: graphapi.NewUUID, Logger: log}),
			Secrets:  box,
			Connect:  connectors(st, httpClient, log),
			OnDemand: limiter,
			CheckSettings: func(templateID string, settings map[string]string) error {
				if templateID == "scim" {
					_, err := scim.ParseProfile(settings)
					return err
				}
				return nil
			},
		},
	})
	return a, nil
}

// connectors is the registry of templates → source and target connectors.
func connectors(st store.Store, hc *http.Client, log *slog.Logger) graphapi.Connect {
	return func(ctx context.Context, templateID string, sp store.ServicePrincipal, creds []secrets.Pair, settings map[string]string) (connector.Source, connector.Target, error) {
		switch templateID {
		case "scim":
			base, _ := secrets.Lookup(creds, "BaseAddress")
			tok, _ := secrets.Lookup(creds, "SecretToken")
			if base == "" {
				return nil, nil, errors.New("the BaseAddress secret (the SCIM endpoint URL) is not set")
			}
			profile, err := scim.ParseProfile(settings)
			if err != nil {
				return nil, nil, err
			}
			target, err := scim.New(scim.Config{BaseAddress: base.Reveal(), SecretToken: tok.Reveal(), HTTPClient: hc, Logger: log, Profile: profile})
			if err != nil {
				return nil, nil, err
			}
			return directory.NewSource(st, sp.ID), target, nil
		}
		return nil, nil, fmt.Errorf("no connector is registered for template %q", templateID)
	}
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
