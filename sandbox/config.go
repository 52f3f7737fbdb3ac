// Package sandbox is the gateway: it builds the gin engine, its middleware
// (request id, logging, recovery, body limits, SMART access control) and
// mounts the FHIR API of each sandbox, the SMART authorization server, and
// the routes and listeners of the configured connectors (package
// connectors).
// Sub-packages serve the parts (fhirapi: the FHIR REST API); the
// authorization server itself is package smart.
package sandbox

import (
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"hpsandbox/sandbox/portal"
)

// Config is the whole configuration of a sandbox server, filled from
// defaults, then HPS_… environment variables, then flags.
type Config struct {
	Addr         string // HPS_ADDR, --addr
	DataDir      string // HPS_DATA, --data
	MaxBodyBytes int64  // HPS_MAX_BODY, --max-body
	PublicURL    string // HPS_PUBLIC_URL, --public-url
	LogLevel     string // HPS_LOG_LEVEL, --log-level
	// SeedPatients generated patients, besides the curated personas, fill
	// the default sandbox on first start (an empty store); -1 seeds nothing.
	SeedPatients int   // HPS_SEED_PATIENTS, --seed-patients
	Seed         int64 // HPS_SEED, --seed
	// Secure requires SMART access tokens on the default sandbox too;
	// without it a request without a token is served (a token, when sent,
	// is still checked).
	Secure bool // HPS_SECURE, --secure
	// RedisURL, when set, keeps SMART sessions, codes, token records,
	// used jti values, the DPoP nonce secret and failed sign-in counts in
	// Redis, and connects the gateways over Redis pub/sub (package peers:
	// subscription notifications, forgotten caches), so that several
	// gateways serve one deployment; otherwise all of it in memory.
	RedisURL string // HPS_REDIS_URL, --redis-url
	// SigningKeyFile is the PEM file of the SMART token signing key; empty
	// keeps it in DataDir. Gateways that serve one issuer name one file
	// (made by the first to start) so that a token signed by one verifies
	// at the others.
	SigningKeyFile string // HPS_SIGNING_KEY_FILE, --signing-key-file
	// PortalSessionKey signs portal sessions: at least 32 random bytes,
	// base64. Gateways that share it accept each other's sessions; when
	// empty the key is kept in DataDir. Environment only: flags show in ps.
	PortalSessionKey string // HPS_PORTAL_SESSION_KEY
	// Store is where the gateway's stores live: empty for SQLite in
	// DataDir, or a postgres:// URL of a PostgreSQL database that gateways
	// share, holding the FHIR store (schema public), the tenant registry
	// (hps_tenant) and the request log (hps_requestlog).
	Store string // HPS_STORE, --store
	// DemoBackendJWKS, when set, registers the backend-services demo client
	// "sandbox-backend" with the public keys at this http(s) URL or in this
	// JWKS file.
	DemoBackendJWKS string // HPS_DEMO_BACKEND_JWKS, --demo-backend-jwks
	// SkipLogin and SkipConsent leave out the simulated login and consent
	// pages of an authorization, for apps tested without a person.
	SkipLogin   bool // HPS_SMART_SKIP_LOGIN, --smart-skip-login
	SkipConsent bool // HPS_SMART_SKIP_CONSENT, --smart-skip-consent
	// RequestLogMax is how many exchanges the request log keeps per
	// sandbox (the newest); 0 turns the log off.
	RequestLogMax int // HPS_REQUEST_LOG_MAX, --request-log-max
	// SearchTimeout is the time budget of one search: past it the search
	// is stopped and answers 503.
	SearchTimeout time.Duration // HPS_SEARCH_TIMEOUT, --search-timeout
	// OperatorPassword is the password of the "operator" account made on
	// first start; when empty one is generated into
	// <data>/operator-password. Environment only: flags show in ps.
	OperatorPassword string // HPS_OPERATOR_PASSWORD
	// PortalOIDC* configure sign-in to the portal through an external
	// OpenID Connect provider, besides local accounts; off unless the
	// issuer is set. The secret is read from the environment only.
	PortalOIDCIssuer       string // HPS_PORTAL_OIDC_ISSUER, --portal-oidc-issuer
	PortalOIDCClientID     string // HPS_PORTAL_OIDC_CLIENT_ID, --portal-oidc-client-id
	PortalOIDCClientSecret string // HPS_PORTAL_OIDC_CLIENT_SECRET
	PortalOIDCName         string // HPS_PORTAL_OIDC_NAME, --portal-oidc-name
	// Connectors are the ids of the connectors to serve, comma-separated
	// (see package connectors); none by default.
	Connectors string // HPS_CONNECTORS, --connectors
	// ConnectorListen are the connectors' listeners, comma-separated, each
	// id=host:port@sandbox (e.g. example=127.0.0.1:2575@default).
	ConnectorListen string // HPS_CONNECTOR_LISTEN, --connector-listen
	// SubscriptionHosts are the hosts rest-hook Subscriptions may notify
	// (https only), comma-separated, "*.example.org" for a domain; none by
	// default. SubscriptionLoopback also allows loopback endpoints (local
	// development). See package subscription.
	SubscriptionHosts    string // HPS_SUBSCRIPTION_HOSTS, --subscription-hosts
	SubscriptionLoopback bool   // HPS_SUBSCRIPTION_LOOPBACK, --subscription-loopback
	// SubscriptionTakeover is, with several gateways on one store and
	// Redis, how long a gateway's subscriptions go unrenewed before
	// another takes them over (the lease; the others look for unheld ones
	// every third of it): how long notifications pause when a gateway dies.
	// 0 is the default, 15s.
	SubscriptionTakeover time.Duration // HPS_SUBSCRIPTION_TAKEOVER, --subscription-takeover
	// MetricsAddr, when set, is the listener of the Prometheus /metrics
	// endpoint, apart from the public one; off when empty.
	MetricsAddr string // HPS_METRICS_ADDR, --metrics-addr
	// OTLPEndpoint, when set, is the OTLP/HTTP base URL traces are sent
	// to (see package observe); OTEL_EXPORTER_OTLP_ENDPOINT is read too.
	OTLPEndpoint string // HPS_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, --otlp-endpoint
	// GCPercent is the garbage collector's target (see TuneGC and
	// DefaultGCPercent); 0 leaves the Go runtime's, and GOGC in the
	// environment overrides it.
	GCPercent int // HPS_GC_PERCENT, --gc-percent
}

// Defaults returns the configuration of `sandbox serve` with nothing set.
func Defaults() Config {
	return Config{
		Addr:         "127.0.0.1:8080",
		DataDir:      "./data",
		MaxBodyBytes: 10 << 20,
		LogLevel:     "info",
		SeedPatients: 100,
		Seed:         1,
		// About a working week of a busy app's calls.
		RequestLogMax:        10000,
		SearchTimeout:        5 * time.Second,
		SubscriptionTakeover: 15 * time.Second,
		PortalOIDCName:       "OpenID Connect",
		GCPercent:            DefaultGCPercent,
	}
}

// LoadEnv applies HPS_… variables read through getenv.
func (c *Config) LoadEnv(getenv func(string) string) error {
	str := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	str("HPS_ADDR", &c.Addr)
	str("HPS_DATA", &c.DataDir)
	str("HPS_STORE", &c.Store)
	str("HPS_PUBLIC_URL", &c.PublicURL)
	str("HPS_LOG_LEVEL", &c.LogLevel)
	str("HPS_REDIS_URL", &c.RedisURL)
	str("HPS_SIGNING_KEY_FILE", &c.SigningKeyFile)
	str("HPS_PORTAL_SESSION_KEY", &c.PortalSessionKey)
	str("HPS_DEMO_BACKEND_JWKS", &c.DemoBackendJWKS)
	str("HPS_OPERATOR_PASSWORD", &c.OperatorPassword)
	str("HPS_PORTAL_OIDC_ISSUER", &c.PortalOIDCIssuer)
	str("HPS_PORTAL_OIDC_CLIENT_ID", &c.PortalOIDCClientID)
	str("HPS_PORTAL_OIDC_CLIENT_SECRET", &c.PortalOIDCClientSecret)
	str("HPS_PORTAL_OIDC_NAME", &c.PortalOIDCName)
	str("HPS_CONNECTORS", &c.Connectors)
	str("HPS_CONNECTOR_LISTEN", &c.ConnectorListen)
	str("HPS_SUBSCRIPTION_HOSTS", &c.SubscriptionHosts)
	str("HPS_METRICS_ADDR", &c.MetricsAddr)
	str("OTEL_EXPORTER_OTLP_ENDPOINT", &c.OTLPEndpoint)
	str("HPS_OTLP_ENDPOINT", &c.OTLPEndpoint)
	for key, dst := range map[string]*bool{"HPS_SECURE": &c.Secure, "HPS_SMART_SKIP_LOGIN": &c.SkipLogin, "HPS_SMART_SKIP_CONSENT": &c.SkipConsent,
		"HPS_SUBSCRIPTION_LOOPBACK": &c.SubscriptionLoopback} {
		if v := getenv(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s=%q: want true or false", key, v)
			}
			*dst = b
		}
	}
	if v := getenv("HPS_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("HPS_SEED=%q: want an integer", v)
		}
		c.Seed = n
	}
	if v := getenv("HPS_SEED_PATIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("HPS_SEED_PATIENTS=%q: want a number of patients, e.g. 100, or -1 for none", v)
		}
		c.SeedPatients = n
	}
	if v := getenv("HPS_REQUEST_LOG_MAX"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("HPS_REQUEST_LOG_MAX=%q: want a number of exchanges per sandbox, e.g. 10000, or 0 for no log", v)
		}
		c.RequestLogMax = n
	}
	if v := getenv("HPS_GC_PERCENT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("HPS_GC_PERCENT=%q: want a percentage, e.g. 400 (Go's own default is 100)", v)
		}
		c.GCPercent = n
	}
	if v := getenv("HPS_SEARCH_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("HPS_SEARCH_TIMEOUT=%q: want a duration, e.g. 5s or 1500ms", v)
		}
		c.SearchTimeout = d
	}
	if v := getenv("HPS_SUBSCRIPTION_TAKEOVER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("HPS_SUBSCRIPTION_TAKEOVER=%q: want a duration, e.g. 15s", v)
		}
		c.SubscriptionTakeover = d
	}
	if v := getenv("HPS_MAX_BODY"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("HPS_MAX_BODY=%q: want a number of bytes, e.g. 10485760", v)
		}
		c.MaxBodyBytes = n
	}
	return nil
}

// RegisterFlags binds the configuration to fs; the current values are the
// flags' defaults, so flags override the environment.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (env HPS_ADDR)")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory of the embedded store (env HPS_DATA)")
	fs.StringVar(&c.Store, "store", c.Store, "stores (FHIR data, tenant registry, request log): a postgres://user@host:5432/db URL of a PostgreSQL database (env HPS_STORE); default: SQLite in the data directory")
	fs.Int64Var(&c.MaxBodyBytes, "max-body", c.MaxBodyBytes, "largest request body in bytes (env HPS_MAX_BODY)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "absolute URL clients reach the server at, e.g. https://sandbox.example.org (env HPS_PUBLIC_URL); default: taken from each request")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (env HPS_LOG_LEVEL)")
	fs.IntVar(&c.SeedPatients, "seed-patients", c.SeedPatients, "generated patients (besides the personas) seeded into an empty store on start; -1: seed nothing (env HPS_SEED_PATIENTS)")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of the generated population; the same seed gives the same patients (env HPS_SEED)")
	fs.BoolVar(&c.Secure, "secure", c.Secure, "require SMART access tokens on the default sandbox at /fhir (env HPS_SECURE=true)")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "keep SMART token state and sign-in throttling in Redis and connect the gateways over its pub/sub, e.g. redis://127.0.0.1:6379/0, so several gateways serve one deployment (env HPS_REDIS_URL); default: in memory, one gateway")
	fs.StringVar(&c.SigningKeyFile, "signing-key-file", c.SigningKeyFile, "PEM file of the SMART token signing key, made there if missing; gateways of one issuer name one file (env HPS_SIGNING_KEY_FILE); default: in the data directory")
	fs.BoolVar(&c.SkipLogin, "smart-skip-login", c.SkipLogin, "leave out the simulated login page of SMART authorizations (env HPS_SMART_SKIP_LOGIN=true)")
	fs.BoolVar(&c.SkipConsent, "smart-skip-consent", c.SkipConsent, "leave out the consent page: every requested scope is granted (env HPS_SMART_SKIP_CONSENT=true)")
	fs.IntVar(&c.GCPercent, "gc-percent", c.GCPercent, "garbage collector target: the heap grows by this percentage of what is live before a collection; more is faster and takes more memory, Go's own default is 100; GOGC in the environment overrides it, GOMEMLIMIT still bounds the heap (env HPS_GC_PERCENT)")
	fs.DurationVar(&c.SearchTimeout, "search-timeout", c.SearchTimeout, "time budget of one search; a search that takes longer is stopped and answers 503 (env HPS_SEARCH_TIMEOUT)")
	fs.IntVar(&c.RequestLogMax, "request-log-max", c.RequestLogMax, "exchanges kept in each sandbox's request log (the newest); 0: no request log (env HPS_REQUEST_LOG_MAX)")
	fs.StringVar(&c.PortalOIDCIssuer, "portal-oidc-issuer", c.PortalOIDCIssuer, "issuer URL of an OpenID Connect provider for portal sign-in, besides local accounts (env HPS_PORTAL_OIDC_ISSUER; the client secret only as HPS_PORTAL_OIDC_CLIENT_SECRET)")
	fs.StringVar(&c.PortalOIDCClientID, "portal-oidc-client-id", c.PortalOIDCClientID, "the portal's client_id at the OpenID Connect provider (env HPS_PORTAL_OIDC_CLIENT_ID)")
	fs.StringVar(&c.PortalOIDCName, "portal-oidc-name", c.PortalOIDCName, "the provider's name on the sign-in button (env HPS_PORTAL_OIDC_NAME)")
	fs.StringVar(&c.Connectors, "connectors", c.Connectors, "connectors to serve, comma-separated, at /connectors/{id}/ and /sandboxes/{sandbox}/connectors/{id}/ (env HPS_CONNECTORS); the connectors are "+strings.Join(catalogueIDs(), ", "))
	fs.StringVar(&c.ConnectorListen, "connector-listen", c.ConnectorListen, "connector listeners, comma-separated id=host:port@sandbox, e.g. example=127.0.0.1:2575@default (env HPS_CONNECTOR_LISTEN)")
	fs.StringVar(&c.SubscriptionHosts, "subscription-hosts", c.SubscriptionHosts, "hosts rest-hook Subscriptions may notify over https, comma-separated, *.example.org for a domain (env HPS_SUBSCRIPTION_HOSTS); default: none")
	fs.DurationVar(&c.SubscriptionTakeover, "subscription-takeover", c.SubscriptionTakeover, "with several gateways on one store and Redis: how long a gateway's subscriptions go unrenewed before another takes them over (env HPS_SUBSCRIPTION_TAKEOVER)")
	fs.BoolVar(&c.SubscriptionLoopback, "subscription-loopback", c.SubscriptionLoopback, "let rest-hook Subscriptions notify loopback addresses, for local development (env HPS_SUBSCRIPTION_LOOPBACK=true)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "listen address of the Prometheus /metrics endpoint, e.g. 127.0.0.1:9090, apart from --addr (env HPS_METRICS_ADDR); default: no metrics endpoint")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", c.OTLPEndpoint, "send OpenTelemetry traces over OTLP/HTTP to this base URL, e.g. http://127.0.0.1:4318 (env HPS_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT); default: no export")
	fs.StringVar(&c.DemoBackendJWKS, "demo-backend-jwks", c.DemoBackendJWKS, "JWKS URL or file with the public keys of the backend-services demo client sandbox-backend (env HPS_DEMO_BACKEND_JWKS); default: no such client")
}

// Validate reports the first setting that cannot work, saying how to fix it.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q: want host:port, e.g. 127.0.0.1:8080", c.Addr)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return fmt.Errorf("--data is empty: name a directory for the embedded store, e.g. ./data")
	}
	if c.Store != "" {
		u, err := url.Parse(c.Store)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return fmt.Errorf("--store: want a PostgreSQL URL like postgres://user@host:5432/db, or nothing for SQLite in --data")
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %q: want host:port, e.g. 127.0.0.1:9090, or nothing for no metrics endpoint", c.MetricsAddr)
		}
	}
	if c.OTLPEndpoint != "" {
		u, err := url.Parse(c.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--otlp-endpoint %q: want the collector's OTLP/HTTP URL, e.g. http://127.0.0.1:4318", c.OTLPEndpoint)
		}
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("--max-body %d is too small: allow at least 1024 bytes", c.MaxBodyBytes)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--public-url %q: want an absolute http(s) URL like https://sandbox.example.org", c.PublicURL)
		}
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return fmt.Errorf("--redis-url %q: want redis://host:port/db or rediss://… for TLS", c.RedisURL)
		}
	}
	if c.PortalSessionKey != "" {
		if _, err := c.SessionKey(); err != nil {
			return err
		}
	}
	if c.SeedPatients < -1 || c.SeedPatients > 200000 {
		return fmt.Errorf("--seed-patients %d: want 0 to 200000 patients, or -1 to seed nothing", c.SeedPatients)
	}
	if c.RequestLogMax < 0 || c.RequestLogMax > 10_000_000 {
		return fmt.Errorf("--request-log-max %d: want 0 (no log) to 10000000 exchanges per sandbox", c.RequestLogMax)
	}
	if c.GCPercent != 0 && (c.GCPercent < 50 || c.GCPercent > 2000) {
		return fmt.Errorf("--gc-percent %d: want 50 to 2000, e.g. 400 (Go's own default is 100), or 0 to leave the Go runtime's setting", c.GCPercent)
	}
	if c.SearchTimeout < 100*time.Millisecond || c.SearchTimeout > 10*time.Minute {
		return fmt.Errorf("--search-timeout %v: want 100ms to 10m, e.g. 5s", c.SearchTimeout)
	}
	if c.SubscriptionTakeover != 0 && (c.SubscriptionTakeover < time.Second || c.SubscriptionTakeover > 10*time.Minute) {
		return fmt.Errorf("--subscription-takeover %v: want 1s to 10m, e.g. 15s", c.SubscriptionTakeover)
	}
	if c.OperatorPassword != "" && len(c.OperatorPassword) < 10 {
		return fmt.Errorf("HPS_OPERATOR_PASSWORD is too short: use at least 10 characters")
	}
	if c.PortalOIDCIssuer != "" {
		u, err := url.Parse(c.PortalOIDCIssuer)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--portal-oidc-issuer %q: want the provider's issuer URL, e.g. https://login.example.org", c.PortalOIDCIssuer)
		}
		if c.PortalOIDCClientID == "" || c.PortalOIDCClientSecret == "" {
			return fmt.Errorf("--portal-oidc-issuer needs --portal-oidc-client-id and HPS_PORTAL_OIDC_CLIENT_SECRET (the portal's registration at the provider)")
		}
	}
	if _, err := c.Level(); err != nil {
		return err
	}
	return c.validateConnectors()
}

// Issuer is the SMART authorization server's fixed base URL, the `iss` of
// its tokens: PublicURL when set, else http://<addr> with an unspecified
// listen host (":8080", "0.0.0.0:8080") read as 127.0.0.1. Its FHIR base,
// the `aud` apps must send, is Issuer + "/fhir"; a server reached under
// another name needs --public-url.
func (c *Config) Issuer() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "http://" + c.Addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// SessionKey is PortalSessionKey decoded; nil when it is not set.
func (c *Config) SessionKey() ([]byte, error) {
	if c.PortalSessionKey == "" {
		return nil, nil
	}
	v := strings.TrimSpace(c.PortalSessionKey)
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	}
	if err != nil || len(b) < portal.MinSessionKeyBytes {
		return nil, fmt.Errorf("HPS_PORTAL_SESSION_KEY: want at least %d random bytes in base64, e.g. the output of `openssl rand -base64 32`", portal.MinSessionKeyBytes)
	}
	return b, nil
}

// Level is LogLevel as a slog level.
func (c *Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}
