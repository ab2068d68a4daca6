// Package wiring builds a running provisiond from its parts: the explicit
// registries of authenticators and connectors, the engine, the jobs service
// and the HTTP surface. `provisiond serve` and the end-to-end tests call the
// same Wire, so the tests exercise production wiring.
package wiring

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"provisiond/auth"
	"provisiond/connector"
	"provisiond/connector/ldapsource"
	"provisiond/connector/scim"
	"provisiond/directory"
	"provisiond/engine"
	"provisiond/graphapi"
	"provisiond/ids"
	"provisiond/jobs"
	"provisiond/metrics"
	"provisiond/netguard"
	"provisiond/pacer"
	"provisiond/portal"
	"provisiond/schema"
	"provisiond/secrets"
	"provisiond/store"
	"provisiond/store/sqlstore"
	"provisiond/throttle"
)

// Config is what Wire needs besides an open store.
type Config struct {
	// DataDir holds the signing key and the secrets key.
	DataDir string
	// OIDCIssuer and Audience accept tokens of an external issuer instead
	// of the embedded one.
	OIDCIssuer, Audience string
	// OnDemand limits provisionOnDemand; nil means no limit.
	OnDemand throttle.Gate
	// TargetNetworks ("CIDR[,CIDR...]") are the only networks targets may
	// be in; empty allows all but what provisiond never calls (link-local
	// addresses, its own listen address).
	TargetNetworks string
	// TargetRate caps the requests per second provisiond sends to one
	// job's target (0: no cap); every job also slows down while its target
	// answers 429 or 5xx.
	TargetRate float64
	// CycleWorkers is how many objects one job's cycle processes at once
	// (0: jobs.CycleWorkers).
	CycleWorkers int
	// CycleChunk is how many objects of a type a chunk of a big cycle
	// holds, worked by any node (0: jobs.DefaultCycleChunk).
	CycleChunk int
	// Self is provisiond's own base URL (http://host:port), which targets
	// may never point at.
	Self string
	// Extra mounts handlers beside /v1.0.
	Extra map[string]http.Handler
	// Metrics, when set, records cycles, provisionOnDemand calls and
	// target requests, and is served at GET /metrics (unauthenticated, for
	// Prometheus); nil: no metrics and no /metrics.
	Metrics *metrics.Metrics
	// PublicURL is the base URL clients use; links are built from it.
	// TrustProxy builds them from X-Forwarded-* when PublicURL is empty.
	PublicURL  string
	TrustProxy bool
	// SchedulerDB is the database River keeps scheduled cycles in (the
	// SQLite store's, see sqlstore.Store.SchedulerDB); SchedulerPool is
	// the PostgreSQL store's (sqlstore.Store.SchedulerPool), shared by
	// several nodes, with JobLock keeping a job's cycles one at a time
	// across them. Neither: no cycles.
	SchedulerDB   *sql.DB
	SchedulerPool *pgxpool.Pool
	JobLock       jobs.JobLock
	// WorkLock goes with JobLock: the locks a cycle and its chunks hold
	// while they run (jobs.RunnerOptions.WorkLock).
	WorkLock jobs.JobLock
	// MigrationLock runs River's migrations on SchedulerPool under the
	// store's migration lock (nil: none needed).
	MigrationLock func(ctx context.Context, fn func() error) error
	// Interactive overrides the budget of provisionOnDemand and
	// validateCredentials (jobs.InteractiveTimeout); tests shorten it.
	Interactive time.Duration
	// Sources adds source connectors beside those provisiond ships, keyed
	// by directory name (tests: an in-memory Active Directory).
	Sources map[string]jobs.SourceFactory
	// NodeName names this node among those sharing a database.
	NodeName string
	// Now and NewID are injected for reproducible tests (nil: real ones).
	Now    func() time.Time
	NewID  func() string
	Logger *slog.Logger
}

// App is a wired provisiond.
type App struct {
	Store   store.Store
	Issuer  *auth.Issuer
	Jobs    *jobs.Service
	Handler *graphapi.Server
	// Runner runs started jobs' cycles; nil without a scheduler database.
	// Start it after Wire, shut it down before closing the store.
	Runner Runner
}

// Runner is a jobs.Runner on whichever database the store is.
type Runner interface {
	jobs.Scheduler
	Start(ctx context.Context) error
	Shutdown(ctx context.Context) error
	QueueDepth(ctx context.Context) (int, error)
}

// UseStore sets the scheduler fields for the SQL store st: River on its
// SQLite file, or on its PostgreSQL database with the job lock and
// migration lock that several nodes need.
func (c *Config) UseStore(st *sqlstore.Store) {
	if st.Shared() {
		c.SchedulerPool, c.JobLock, c.WorkLock, c.MigrationLock = st.SchedulerPool(), st.TryLockJob, st.TryLockWork, st.WithMigrationLock
		return
	}
	c.SchedulerDB = st.SchedulerDB()
}

// Wire builds the service over an open store.
func Wire(ctx context.Context, st store.Store, c Config) (*App, error) {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	newID, eventID := c.NewID, c.NewID
	if newID == nil {
		// Provisioning logs and change ids come in streams: time-ordered
		// ids append to the logs' index instead of landing all over it.
		newID, eventID = ids.NewUUID, ids.NewTimeUUID
	}
	iss, err := auth.LoadOrCreateIssuer(c.DataDir)
	if err != nil {
		return nil, err
	}
	var authn auth.Authenticator = iss.Authenticator()
	if c.OIDCIssuer != "" {
		if c.Audience == "" {
			return nil, errors.New("--oidc-issuer needs --audience")
		}
		if authn, err = auth.NewOIDC(ctx, c.OIDCIssuer, c.Audience, nil); err != nil {
			return nil, err
		}
	}
	box, err := secrets.LoadOrCreate(c.DataDir)
	if err != nil {
		return nil, err
	}
	if err := ClaimKeys(ctx, st, c.DataDir, iss, box); err != nil {
		return nil, err
	}
	// The admin pages sign in with the same tokens; their session cookie
	// is authenticated through the same authenticator.
	pages := portal.New(portal.Config{Auth: authn, Box: box, Store: st, PublicURL: c.PublicURL, TrustProxy: c.TrustProxy, Now: c.Now, Logger: log})
	authn = pages.Authenticator()
	guard, hc, err := TargetClient(c.TargetNetworks, c.Self)
	if err != nil {
		return nil, err
	}
	hc.Transport = c.Metrics.Transport(hc.Transport)
	reg := Registry(st, hc, guard, c.TargetRate, log)
	maps.Copy(reg.Sources, c.Sources)
	js := jobs.New(jobs.Options{
		Store:        st,
		Secrets:      box,
		Engine:       engine.New(engine.Config{State: st, Now: c.Now, NewID: eventID}),
		Registry:     reg,
		Logger:       log,
		Interactive:  c.Interactive,
		Now:          c.Now,
		CycleWorkers: c.CycleWorkers,
		CycleChunk:   c.CycleChunk,
		Metrics:      c.Metrics,
	})
	var runner Runner
	switch {
	case c.SchedulerPool != nil:
		lock := c.MigrationLock
		if lock == nil {
			lock = func(_ context.Context, fn func() error) error { return fn() }
		}
		err = lock(ctx, func() (err error) {
			runner, err = jobs.NewRunner(ctx, riverpgxv5.New(c.SchedulerPool), js, st,
				jobs.RunnerOptions{Logger: log, JobLock: c.JobLock, WorkLock: c.WorkLock, ID: c.NodeName})
			return err
		})
	case c.SchedulerDB != nil:
		runner, err = jobs.NewRunner(ctx, riversqlite.New(c.SchedulerDB), js, st, jobs.RunnerOptions{Logger: log})
	}
	if err != nil {
		return nil, err
	}
	if runner != nil {
		c.Metrics.QueueDepth(runner.QueueDepth)
	}
	extra := maps.Clone(c.Extra)
	if extra == nil {
		extra = map[string]http.Handler{}
	}
	maps.Copy(extra, pages.Routes())
	if c.Metrics != nil {
		extra["GET /metrics"] = c.Metrics.Handler()
	}
	h := graphapi.New(graphapi.Config{
		Store: st, Auth: authn, Logger: log, Extra: extra, Now: c.Now, NewID: newID,
		PublicURL: c.PublicURL, TrustProxy: c.TrustProxy,
		Sync: &graphapi.Sync{Jobs: js, OnDemand: c.OnDemand},
	})
	return &App{Store: st, Issuer: iss, Jobs: js, Handler: h, Runner: runner}, nil
}

// ClaimKeys checks that the key material of dataDir (tenant id, token
// signing key, secrets key) is the one the store was first opened with,
// recording it the first time: nodes of one cluster must accept each
// other's tokens and open each other's sealed secrets.
func ClaimKeys(ctx context.Context, st store.Store, dataDir string, iss *auth.Issuer, box *secrets.Box) error {
	h := sha256.Sum256([]byte(iss.TenantID() + "\n" + iss.KeyID() + "\n" + box.Fingerprint()))
	err := st.ClaimKeys(ctx, hex.EncodeToString(h[:16]))
	if errors.Is(err, store.ErrKeysDiffer) {
		return fmt.Errorf("the keys in the data directory %s (tenant-id, signing-key.pem, %s) are not those the store was first started with: "+
			"every node on one database needs the same key files; copy them from a node of the cluster (or use the data directory this store was created with)",
			dataDir, secrets.KeyFile)
	}
	if err != nil {
		return fmt.Errorf("check keys: %w", err)
	}
	return nil
}

// Registry is the table of connectors provisiond ships, keyed by the
// schema's directory names: the built-in directory as a source and, for
// cloud-sync jobs, as a target; SCIM 2.0 applications as targets.
func Registry(st store.Store, hc *http.Client, guard *netguard.Guard, targetRate float64, log *slog.Logger) jobs.Registry {
	return jobs.Registry{
		Sources: map[string]jobs.SourceFactory{
			schema.DirectoryEntra: func(_ context.Context, c jobs.Config) (connector.Source, error) {
				return directory.NewSource(st, c.ServicePrincipal.ID), nil
			},
			schema.DirectoryAD:   ldapSources(ldapsource.FlavorAD, guard),
			schema.DirectoryLDAP: ldapSources(ldapsource.FlavorAuto, guard),
		},
		Targets: map[string]jobs.TargetFactory{
			schema.DirectoryEntra: func(context.Context, jobs.Config) (connector.Target, error) {
				return directory.NewTarget(st, nil, nil).CheckingValues(graphapi.CheckDirectoryValue), nil
			},
			schema.DirectorySCIM: func(_ context.Context, c jobs.Config) (connector.Target, error) {
				base, _ := secrets.Lookup(c.Secrets, "BaseAddress")
				tok, _ := secrets.Lookup(c.Secrets, "SecretToken")
				if base == "" {
					return nil, errors.New("the BaseAddress secret (the SCIM endpoint URL) is not set")
				}
				profile, err := scim.ParseProfile(c.Settings)
				if err != nil {
					return nil, err
				}
				// One pacer per connector, and so per job: each job's target
				// gets its own pace.
				paced := &http.Client{Transport: pacer.New(hc.Transport, targetRate), CheckRedirect: hc.CheckRedirect}
				return scim.New(scim.Config{BaseAddress: base.Reveal(), SecretToken: tok.Reveal(), HTTPClient: paced, Guard: guard, Logger: log, Profile: profile})
			},
		},
		CheckSettings: map[string]func(map[string]string) error{
			schema.DirectorySCIM: func(settings map[string]string) error {
				if err := scim.CheckSettingNames(settings); err != nil {
					return err
				}
				_, err := scim.ParseProfile(settings)
				return err
			},
		},
	}
}

// TargetClient is the network guard for jobs' targets and the HTTP client
// that dials through it: provisiond never calls link-local addresses (cloud
// metadata) nor its own listen address (self), and with networks set only
// the networks listed.
func TargetClient(networks, self string) (*netguard.Guard, *http.Client, error) {
	allow, err := netguard.ParseNetworks(networks)
	if err != nil {
		return nil, nil, fmt.Errorf("--target-networks: %w", err)
	}
	var own []netip.AddrPort
	if u, err := url.Parse(self); err == nil {
		if ap, err := netip.ParseAddrPort(u.Host); err == nil {
			own = append(own, ap)
		}
	}
	guard := netguard.New(allow, own...)
	t := guard.Transport()
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return guard, &http.Client{Transport: t, CheckRedirect: guard.CheckRedirect}, nil
}
