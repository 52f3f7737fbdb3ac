package smart

import (
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"
)

// Server is the authorization server. Create it with New; mount its
// Routes (or Handler) on the gateway.
type Server struct {
	cfg      Config
	keys     *Keys
	clients  ClientStore
	policies Policies
	state    StateStore
	patients PatientLister
	log      *slog.Logger
	now      func() time.Time
	pages    *template.Template
	// jwksCache holds clients' fetched jwks_url key sets.
	jwksCache *jwksCache
	// verified remembers access tokens whose signature was checked.
	verified *verifiedTokens
	// observer, when set, receives the facts of requests (observe.go).
	observer Observer
	// nonces makes the DPoP nonces (dpop.go).
	nonces *dpopNonces
}

// Deps are what the server needs from the rest of the sandbox. Keys and
// Clients are required; a nil State is an in-memory store, a nil Logger
// discards logs and a nil Now uses time.Now.
type Deps struct {
	// Keys signs tokens; share one Keys between gateways that serve the
	// same issuer.
	Keys *Keys
	// Clients looks up registered apps.
	Clients ClientStore
	// Policies gives sandboxes their own FHIR base and settings; nil
	// applies Config to every sandbox.
	Policies Policies
	// State keeps sessions, codes and token records; share one between
	// gateways.
	State StateStore
	// Patients feeds the standalone-launch patient picker (and, if it is a
	// PractitionerLister, the login page); nil shows an empty picker.
	Patients PatientLister
	// HTTPClient fetches clients' jwks_url; nil uses a client with a
	// timeout.
	HTTPClient *http.Client
	// Logger receives structured logs; never tokens or secrets.
	Logger *slog.Logger
	// Now is the clock, replaceable in tests.
	Now func() time.Time
	// Observer, when set, receives the facts of every request to the
	// authorize, token, introspection and revocation endpoints.
	Observer Observer
}

// New returns a server for cfg (defaults filled in) using deps.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, keys: deps.Keys, clients: deps.Clients, policies: deps.Policies, state: deps.State,
		patients: deps.Patients, log: deps.Logger, now: deps.Now, pages: pageTemplates, verified: newVerifiedTokens(),
		observer: deps.Observer, nonces: &dpopNonces{}}
	if s.keys == nil {
		return nil, errMissingDep("Keys", "smart.NewKeys()")
	}
	if s.clients == nil {
		return nil, errMissingDep("Clients", "a ClientStore such as smart.NewMemoryClients()")
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.state == nil {
		s.state = NewMemoryState(s.now)
	}
	hc := deps.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: jwksFetchTimeout}
	}
	s.jwksCache = &jwksCache{client: hc, now: s.now}
	return s, nil
}

func errMissingDep(field, fix string) error {
	return fmt.Errorf("smart: Deps.%s is required (use %s)", field, fix)
}

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Route is one endpoint for the gateway to mount: an HTTP method, the full
// URL path (including the issuer's and FHIR base's path prefixes) and its
// handler.
type Route struct {
	Method  string
	Path    string
	Handler http.Handler
}

// Endpoint paths below the issuer.
const (
	pathAuthorize       = "/auth/authorize"
	pathToken           = "/auth/token"
	pathIntrospect      = "/auth/introspect"
	pathRevoke          = "/auth/revoke"
	pathJWKS            = "/auth/jwks"
	pathLogin           = "/auth/login"
	pathSelectPatient   = "/auth/select-patient"
	pathConsent         = "/auth/consent"
	pathSelectEncounter = "/auth/select-encounter"
	pathOIDCConfig      = "/.well-known/openid-configuration"
	pathSMARTConfig     = "/.well-known/smart-configuration" // below the FHIR base
)

// Routes lists every endpoint with its method and full path.
func (s *Server) Routes() []Route {
	ip := urlPath(s.cfg.Issuer)
	get := func(p string, h http.HandlerFunc) Route { return Route{http.MethodGet, p, h} }
	post := func(p string, h http.HandlerFunc) Route { return Route{http.MethodPost, p, h} }
	return []Route{
		get(urlPath(s.cfg.FHIRBase)+pathSMARTConfig, s.smartConfiguration),
		get(ip+pathOIDCConfig, s.openIDConfiguration),
		get(ip+pathJWKS, s.jwks),
		get(ip+pathAuthorize, s.authorize),
		post(ip+pathAuthorize, s.authorize),
		get(ip+pathLogin, s.login),
		post(ip+pathLogin, s.login),
		get(ip+pathSelectPatient, s.selectPatient),
		post(ip+pathSelectPatient, s.selectPatient),
		get(ip+pathSelectEncounter, s.selectEncounter),
		post(ip+pathSelectEncounter, s.selectEncounter),
		get(ip+pathConsent, s.consent),
		post(ip+pathConsent, s.consent),
		post(ip+pathToken, s.token),
		post(ip+pathIntrospect, s.introspect),
		post(ip+pathRevoke, s.revoke),
	}
}

// Handler returns a handler serving every route, for gateways that mount
// one handler on several prefixes and for tests.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.Routes() {
		mux.Handle(r.Method+" "+r.Path, r.Handler)
	}
	return mux
}

// url returns the absolute URL of an endpoint below the issuer.
func (s *Server) url(path string) string { return s.cfg.Issuer + path }

// Endpoints are the absolute URLs of the server's OAuth endpoints, as
// discovery publishes them (for the CapabilityStatement's oauth-uris).
type Endpoints struct {
	Authorize, Token, Introspect, Revoke, JWKS string
}

// Endpoints returns the absolute URLs of the server's OAuth endpoints.
func (s *Server) Endpoints() Endpoints {
	return Endpoints{
		Authorize: s.url(pathAuthorize), Token: s.url(pathToken),
		Introspect: s.url(pathIntrospect), Revoke: s.url(pathRevoke), JWKS: s.url(pathJWKS),
	}
}
