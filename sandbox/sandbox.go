package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/sandbox/access"
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/directory"
	"hpsandbox/sandbox/exportjobs"
	"hpsandbox/sandbox/fhirapi"
	"hpsandbox/sandbox/observe"
	"hpsandbox/sandbox/peers"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/requestlog/ginlog"
	"hpsandbox/sandbox/tenant"
	"hpsandbox/sandbox/throttle"
	"hpsandbox/smart"
	"hpsandbox/smart/redisstate"
)

// Version is the release of the sandbox, set at build time with
// -ldflags "-X hpsandbox/sandbox.Version=…".
var Version = "dev"

// fhirBasePath is where the default sandbox's FHIR API is served.
const fhirBasePath = "/fhir"

// requestLogFile is the request log's file in the data directory.
const requestLogFile = "requestlog.db"

// defaultRegistrationScopes are what an app registering itself in the
// default sandbox without an initial access token may read: what the demo
// app may read there anyway. Writes, system/ scopes and backend services
// need an initial access token from the operator.
const defaultRegistrationScopes = "patient/*.rs user/*.rs"

// redisPrefix starts every key the gateway keeps in Redis.
const redisPrefix = "hps:smart:"

// Gateway is the server's handler together with what it holds open.
type Gateway struct {
	http.Handler
	closers []func() error
	metrics *observe.Metrics
}

// Close releases what Open opened (running export jobs, the Redis
// connection pool if any); closing again does nothing.
func (g *Gateway) Close() error {
	var errs []error
	for _, c := range g.closers {
		errs = append(errs, c())
	}
	g.closers = nil
	return errors.Join(errs...)
}

// New returns the gateway over store, with a SMART signing key made for
// this process, and token state, the tenant registry and the request log
// in memory: for tests and for embedding. `sandbox serve` uses Open. Close
// it after serving. cfg must pass Validate; New panics
// when the gateway cannot be built from it.
func New(cfg Config, store fhirstore.Store, log *slog.Logger) *Gateway {
	keys, err := smart.NewKeys()
	if err != nil {
		panic(err)
	}
	g := &Gateway{metrics: observe.NewMetrics()}
	b, err := build(cfg, store, log, parts{keys: keys, track: g.track, metrics: g.metrics})
	if err != nil {
		panic(fmt.Sprintf("sandbox.New: %v", err))
	}
	g.Handler = b.engine
	return g
}

// track adds a closer that Close calls, in the order added.
func (g *Gateway) track(c func() error) { g.closers = append(g.closers, c) }

// Open returns the gateway `sandbox serve` runs: the SMART signing key is
// kept in cfg.DataDir (made on first start, so tokens survive restarts),
// the tenant registry and the request log there too or, when cfg.Store
// names a PostgreSQL database, in that database beside the FHIR store,
// and token state in Redis when cfg.RedisURL is set.
func Open(ctx context.Context, cfg Config, store fhirstore.Store, log *slog.Logger) (*Gateway, error) {
	keys, err := loadSigningKey(cfg.DataDir)
	if cfg.SigningKeyFile != "" {
		keys, err = loadSigningKeyFile(cfg.SigningKeyFile)
	}
	if err != nil {
		return nil, err
	}
	g := &Gateway{metrics: observe.NewMetrics()}
	// Export jobs live in a database (OpenExportJobs); the files that
	// jobs kept in memory left here are unreachable.
	exportDir := filepath.Join(cfg.DataDir, "exports")
	if err := os.RemoveAll(exportDir); err != nil {
		return nil, fmt.Errorf("clearing %s: %w", exportDir, err)
	}
	sessionKey, err := cfg.SessionKey()
	if sessionKey == nil && err == nil {
		sessionKey, err = loadSessionKey(cfg.DataDir)
	}
	if err != nil {
		return nil, err
	}
	p := parts{keys: keys, exportDir: exportDir, tenants: filepath.Join(cfg.DataDir, tenant.FileName), track: g.track,
		sessionKey: sessionKey, metrics: g.metrics}
	if cfg.RequestLogMax > 0 {
		st, err := OpenRequestLog(ctx, cfg)
		if err != nil {
			return nil, err
		}
		p.requestLog = st
	}
	p.store = cfg.Store
	tp, stopTracing, err := observe.Tracing(ctx, cfg.OTLPEndpoint, Version)
	if err != nil {
		if c, ok := p.requestLog.(interface{ Close() error }); ok {
			_ = c.Close()
		}
		return nil, err
	}
	p.tracer = tp
	g.track(func() error {
		// Spans still batched are sent before the process ends.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return stopTracing(ctx)
	})
	if cfg.RedisURL != "" {
		rdb, err := openRedis(ctx, cfg.RedisURL, g.metrics, tp)
		if err != nil {
			_ = g.Close()
			if c, ok := p.requestLog.(interface{ Close() error }); ok {
				_ = c.Close()
			}
			return nil, err
		}
		st := redisstate.New(rdb, redisPrefix)
		p.state, p.redis = st, rdb
		p.signIns = func(kind string) throttle.Shared { return st.Counts("signin:" + kind) }
		p.locker = st.Locks("lock:connectors:")
		g.track(rdb.Close)
		bus, err := peers.Open(ctx, cfg.RedisURL, peersPrefix, log)
		if err != nil {
			_ = g.Close()
			return nil, err
		}
		p.bus = bus
	}
	{
		// Export jobs beside the registry, so that any gateway sharing it
		// answers for a job another runs.
		jobs, err := OpenExportJobs(ctx, cfg)
		if err != nil {
			if p.bus != nil {
				_ = p.bus.Close()
			}
			_ = g.Close()
			if c, ok := p.requestLog.(interface{ Close() error }); ok {
				_ = c.Close()
			}
			return nil, err
		}
		p.exportJobs = jobs
	}
	b, err := build(cfg, store, log, p)
	if p.exportJobs != nil {
		// After the API build tracked, whose exports write into it.
		g.track(p.exportJobs.Close)
	}
	if p.bus != nil {
		// Subscribed by build; closed after what build tracked.
		g.track(p.bus.Close)
		if err == nil {
			err = p.bus.Start(ctx)
		}
	}
	if c, ok := p.requestLog.(interface{ Close() error }); ok {
		// After the recorder build tracked, which writes into it.
		g.track(c.Close)
	}
	if err == nil {
		err = ensureOperator(ctx, b.tenants, cfg, log)
	}
	if err != nil {
		_ = g.Close()
		return nil, err
	}
	g.Handler = b.engine
	return g, nil
}

// ExportJobsPath is the file in which Open keeps the Bulk Data export
// jobs of a gateway without --store.
func ExportJobsPath(dataDir string) string { return filepath.Join(dataDir, "exports.db") }

// OpenExportJobs opens the Bulk Data export jobs' store cfg names: in the
// PostgreSQL database of cfg.Store (schema hps_exports) when it is set,
// else in its file in cfg.DataDir (ExportJobsPath).
func OpenExportJobs(ctx context.Context, cfg Config) (*exportjobs.SQLStore, error) {
	if cfg.Store != "" {
		return exportjobs.OpenPostgres(ctx, cfg.Store)
	}
	return exportjobs.OpenSQLite(ctx, ExportJobsPath(cfg.DataDir))
}

// OpenRequestLog opens the request log cfg names: in the PostgreSQL
// database of cfg.Store (schema hps_requestlog) when it is set, else in
// its file in cfg.DataDir (RequestLogPath).
func OpenRequestLog(ctx context.Context, cfg Config) (*requestlog.SQLStore, error) {
	if cfg.Store != "" {
		return requestlog.OpenPostgres(ctx, cfg.Store, cfg.RequestLogMax)
	}
	return requestlog.OpenSQLite(ctx, RequestLogPath(cfg.DataDir), cfg.RequestLogMax)
}

// parts are what build needs beyond the configuration; tests add clients
// and a clock.
type parts struct {
	keys  *smart.Keys
	state smart.StateStore // nil: in memory
	// bus, when set, connects the gateway with the others of its
	// deployment (package peers); build subscribes, the caller starts it.
	bus *peers.Bus
	// signIns, when set, shares the counts of failed sign-ins with the
	// other gateways (tenant.Options.SharedSignIns).
	signIns func(kind string) throttle.Shared
	// locker, when set, serialises the connectors' work on one key with
	// the other gateways (connectors.Deps.Locker).
	locker  connectors.Locker
	clients []*smart.Client // registered besides the demo clients
	now     func() time.Time
	// requestLog keeps the request log (in memory when nil); build closes
	// the recorder, the caller the store.
	requestLog requestlog.Store
	// sessionKey signs portal sessions; nil makes one for this process.
	sessionKey []byte
	// tenants is the registry file (tenant.FileName in the data
	// directory); empty keeps it in memory.
	tenants string
	// store, when set, is the PostgreSQL database (Config.Store) that
	// keeps the registry instead of the file tenants.
	store string
	// exportJobs, when set, keeps the Bulk Data export jobs (Open: in the
	// PostgreSQL database of Config.Store or a file in the data
	// directory); nil keeps them in this process, their files in
	// exportDir.
	exportJobs exportjobs.Store
	// exportDir holds Bulk Data export files (a temporary directory when
	// empty); track, when set, receives what the gateway must close.
	exportDir string
	track     func(close func() error)
	// bcryptCost is the registry's (tenant.Options.BcryptCost); tests
	// lower it.
	bcryptCost int
	// metrics receives the gateway's series (none when nil); tracer makes
	// its spans (ids only, recording nothing, when nil).
	metrics *observe.Metrics
	tracer  trace.TracerProvider
	// redis is the client of the token state in Redis, which /readyz
	// pings; nil when the state is in memory.
	redis *redis.Client
}

// built is the gateway with the parts tests reach into.
type built struct {
	engine  *gin.Engine
	authz   *smart.Server
	tenants *tenant.Service
	// requests is the request log's store and recorder its writer; both
	// nil when the log is off.
	requests requestlog.Store
	recorder *requestlog.Recorder
}

func build(cfg Config, store fhirstore.Store, log *slog.Logger, p parts) (*built, error) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = false
	e.RedirectTrailingSlash = false
	log = slog.New(observe.LogHandler(log.Handler()))
	var sbs *sandboxes // made from tenants, which tells it of erasures
	e.Use(observe.Middleware(p.metrics, p.tracer, func(c *gin.Context) string { return sbs.metricsSandbox(c) }),
		requestID(), logRequests(log), recoverPanics(log), cors())
	track := p.track
	if track == nil {
		track = func(func() error) {}
	}

	clients, err := demoClients(cfg)
	if err != nil {
		return nil, err
	}
	issuer := cfg.Issuer()
	// The request log comes first: deleting a sandbox deletes its log.
	var requests requestlog.Store
	var rec *requestlog.Recorder
	if cfg.RequestLogMax > 0 {
		requests = p.requestLog
		if requests == nil {
			requests = requestlog.NewMemoryStore(cfg.RequestLogMax)
		}
		rec = requestlog.New(requests, requestlog.Options{Logger: log})
		p.metrics.CountDropped(rec.Dropped)
	}
	// Every door into a sandbox (the FHIR API, connectors) judges writes
	// with the same per-sandbox definitions, and under the sandbox's
	// profile enforcement once the tenant registry is open: connectors
	// start before it, and what they write until then is not judged.
	var policies atomic.Pointer[sandboxes]
	engineCfg := interaction.Config{
		Definitions: interaction.NewDefinitionCache(store),
		Enforcement: func(ctx context.Context, sb fhirstore.Sandbox) (interaction.Enforcement, error) {
			if p := policies.Load(); p != nil {
				return p.enforcement(ctx, sb)
			}
			return interaction.Enforcement{}, nil
		},
	}
	// The FHIR API and the connectors write through a store that refuses
	// to change or delete an approved conformance report; which reports
	// are approved, the tenant registry says once it is open.
	var sealer atomic.Pointer[tenant.Service]
	writes := conformance.SealedStore{Store: observe.NewStore(store, p.metrics, p.tracer), Sealed: func(ctx context.Context, sb, id string) (bool, error) {
		if t := sealer.Load(); t != nil {
			return t.Sealed(ctx, sb, id)
		}
		return false, nil
	}}
	// Connectors stop before the recorder closes, so that their last
	// exchanges are recorded.
	set, stopConnectors, err := openConnectors(cfg, writes, engineCfg, messageMetrics{m: p.metrics, next: rec}, connectorSettings{&sealer}, p.locker, log)
	if err != nil {
		if rec != nil {
			_ = rec.Close(context.Background())
		}
		return nil, err
	}
	track(stopConnectors)
	if rec != nil {
		// The recorder's queue is written before the stores close.
		track(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return rec.Close(ctx)
		})
	}
	forgetSubscriptions := func(string) {}
	forget := func(id string) {
		sbs.forget(id)
		engineCfg.Definitions.Invalidate(fhirstore.Sandbox(id))
		forgetSubscriptions(id)
	}
	erased, changed := func(context.Context, string) {}, func(context.Context, string) {}
	if p.bus != nil {
		erased = shareForgets(p.bus, topicErased, forget, log)
		changed = shareForgets(p.bus, topicChanged, func(id string) { sbs.forget(id) }, log)
	}
	var registry tenant.Registry // nil: SQLite at p.tenants
	if p.store != "" {
		r, err := tenant.OpenPostgresRegistry(context.Background(), p.store)
		if err != nil {
			return nil, err
		}
		registry = r
	}
	tenants, err := tenant.Open(context.Background(), tenant.Options{
		Path:     p.tenants,
		Registry: registry,
		Store:    store,
		Default: tenant.Sandbox{Name: "Default sandbox", SeedPatients: cfg.SeedPatients, Seed: cfg.Seed,
			Settings: tenant.Settings{Secured: cfg.Secure, SkipLogin: cfg.SkipLogin, SkipConsent: cfg.SkipConsent,
				DynamicRegistration: true, RegistrationScopes: defaultRegistrationScopes}},
		OnErase: func(ctx context.Context, id string) {
			forget(id)
			erased(ctx, id)
		},
		OnChange: func(ctx context.Context, id string) {
			sbs.forget(id)
			changed(ctx, id)
		},
		OnDelete: func(ctx context.Context, id string) {
			if rec == nil {
				return
			}
			// Entries still queued would land after the delete.
			_ = rec.Flush(ctx)
			if err := requests.DeleteSandbox(ctx, id); err != nil {
				log.Error("deleting a sandbox's request log", "sandbox", id, "err", err)
			}
		},
		Logger:        log,
		Now:           p.now,
		BcryptCost:    p.bcryptCost,
		SharedSignIns: p.signIns,
	})
	if err != nil {
		return nil, err
	}
	sealer.Store(tenants)
	sbs = newSandboxes(tenants, issuer, p.now)
	policies.Store(sbs)
	if rec != nil {
		e.Use(ginlog.Middleware(rec, sbs.recorded))
	}
	track(tenants.Close)
	registered := tenants.Clients(append(clients, p.clients...)...)
	sbs.clients = registered
	observer := tokenMetrics{m: p.metrics}
	if rec != nil {
		observer.next = oauthEvidence{}
	}
	authz, err := smart.New(smart.Config{Issuer: issuer, FHIRBase: issuer + fhirBasePath,
		SkipLogin: cfg.SkipLogin, SkipConsent: cfg.SkipConsent}, smart.Deps{
		Keys:     p.keys,
		Clients:  registered,
		Policies: sbs,
		State:    p.state,
		Patients: launchDirectory{dir: directory.Directory{Store: store}},
		Logger:   log,
		Now:      p.now,
		Observer: observer,
	})
	if err != nil {
		return nil, err
	}
	// The authorization server's own endpoints are mounted on the engine;
	// those below the FHIR base (.well-known/smart-configuration) are
	// served by the guard in front of the FHIR API, since the API owns
	// every path there.
	below := map[string]http.Handler{}
	for _, r := range authz.Routes() {
		if rest, ok := strings.CutPrefix(r.Path, fhirBasePath+"/"); ok {
			below[r.Method+" /"+rest] = r.Handler
			continue
		}
		e.Handle(r.Method, r.Path, ginlog.ShareNote, gin.WrapH(r.Handler))
	}
	launchPath := strings.TrimSuffix(urlPath(authz.Endpoints().Authorize), "/authorize") + "/ehr-launch"
	e.GET(launchPath, ehrLaunch(authz, registered, store))

	api := fhirapi.New(writes, fhirapi.Config{
		MaxBodyBytes: cfg.MaxBodyBytes,
		PublicURL:    cfg.PublicURL,
		Software:     "HP Sandbox",
		Version:      Version,
		Security:     smartSecurity(authz.Endpoints()),
		ExportDir:    p.exportDir,
		ExportJobs:   p.exportJobs,
		Definitions:  engineCfg.Definitions,
		Enforcement:  engineCfg.Enforcement,
		WebsocketURL: websocketURL,
	})
	track(api.Close)
	g := access.New(access.Config{Authz: authz, Store: store, Below: below, MaxBody: cfg.MaxBodyBytes,
		Secured: sbs.secured, ClientIn: sbs.clientIn, PublicURL: cfg.PublicURL})
	defaultOf := func(*gin.Context) string { return fhirstore.DefaultSandbox }
	api.Mount(e.Group(fhirBasePath, g.Handler(defaultOf), declareWriterScope(authz, defaultOf),
		judgePHDUploads(rec, cfg.MaxBodyBytes, log)), defaultOf)
	perSandbox := e.Group(sandboxesPath+"/:sandbox", sbs.routeSandbox)
	api.Mount(perSandbox.Group(fhirBasePath, g.Handler(sandboxParam), declareWriterScope(authz, sandboxParam),
		judgePHDUploads(rec, cfg.MaxBodyBytes, log)), sandboxParam)

	forgetSubscriptions = mountSubscriptions(e, perSandbox, cfg, store, authz, sbs, p.bus, log, track)

	gate := &connectorGate{set: set, guard: g, maxBody: cfg.MaxBodyBytes}
	e.Any(connectorsPath+"/*rest", gate.handle(func(*gin.Context) string { return fhirstore.DefaultSandbox }))
	perSandbox.Any(connectorsPath+"/*rest", gate.handle(sandboxParam))

	e.POST(registerPath, gin.WrapH(tenants.RegistrationHandler(func(*http.Request) string { return fhirstore.DefaultSandbox })))
	perSandbox.POST(registerPath, func(c *gin.Context) {
		tenants.RegistrationHandler(func(*http.Request) string { return c.Param("sandbox") }).ServeHTTP(c.Writer, c.Request)
	})

	sessionKey := p.sessionKey
	if sessionKey == nil {
		sessionKey = randomKey()
	}
	checks, err := checkRegistry(set)
	if err != nil {
		return nil, err
	}
	if err := (web{cfg: cfg, tenants: tenants, store: store, requests: requests, recorder: rec, sandboxes: sbs,
		sessionKey: sessionKey, launchPath: launchPath, checks: checks}).mount(e); err != nil {
		return nil, err
	}
	e.GET("/healthz", gin.WrapH(observe.Healthz()))
	e.GET("/readyz", gin.WrapH(observe.Readyz(log, readinessChecks(store, p.redis)...)))
	mountDocs(e, api.CapabilityStatement(cfg.Issuer()+fhirBasePath), authz.Routes(), launchPath)
	return &built{engine: e, authz: authz, tenants: tenants, requests: requests, recorder: rec}, nil
}

// smartSecurity is the CapabilityStatement's rest.security: the SMART on
// FHIR service and the OAuth endpoints (SMART App Launch 2.x §Capability
// Statement, the oauth-uris extension).
//
// One statement serves every sandbox, so it says what decides whether a
// token is needed rather than the answer for one sandbox.
func smartSecurity(ep smart.Endpoints) json.RawMessage {
	uri := func(name, u string) map[string]string { return map[string]string{"url": name, "valueUri": u} }
	desc := "SMART App Launch 2.x; discovery at [base]/.well-known/smart-configuration. " +
		"A secured sandbox (suppliers' sandboxes by default) needs an access token on every interaction but metadata; " +
		"an open one also answers without a token. A token that is sent is always checked."
	b, err := json.Marshal(map[string]any{
		"extension": []any{map[string]any{
			"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
			"extension": []any{
				uri("authorize", ep.Authorize), uri("token", ep.Token),
				uri("introspect", ep.Introspect), uri("revoke", ep.Revoke),
			},
		}},
		"cors": true,
		"service": []any{map[string]any{
			"coding": []any{map[string]string{
				"system":  "http://terminology.hl7.org/CodeSystem/restful-security-service",
				"code":    "SMART-on-FHIR",
				"display": "SMART-on-FHIR",
			}},
			"text": "OAuth2 using the SMART App Launch profile",
		}},
		"description": desc,
	})
	if err != nil {
		panic(err) // maps of strings only
	}
	return b
}

// urlPath is the path of an absolute URL.
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}
