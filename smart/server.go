package smart

import (
	"log/slog"
	"net/http"
	"time"
)

// Server is the authorization server. Create it with New; mount its
// Routes (or Handler) on the gateway.
type Server struct {
	cfg  Config
	keys *Keys
	log  *slog.Logger
	now  func() time.Time
}

// Deps are what the server needs from the rest of the sandbox. Keys is
// required; a nil Logger discards logs and a nil Now uses time.Now.
type Deps struct {
	// Keys signs tokens; share one Keys between gateways that serve the
	// same issuer.
	Keys *Keys
	// Logger receives structured logs; never tokens or secrets.
	Logger *slog.Logger
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

// New returns a server for cfg (defaults filled in) using deps.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, keys: deps.Keys, log: deps.Logger, now: deps.Now}
	if s.keys == nil {
		return nil, errMissingDep("Keys", "smart.NewKeys()")
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

func errMissingDep(field, fix string) error {
	return &configError{"smart: Deps." + field + " is required (use " + fix + ")"}
}

type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

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
	pathAuthorize     = "/auth/authorize"
	pathToken         = "/auth/token"
	pathIntrospect    = "/auth/introspect"
	pathRevoke        = "/auth/revoke"
	pathJWKS          = "/auth/jwks"
	pathLogin         = "/auth/login"
	pathSelectPatient = "/auth/select-patient"
	pathConsent       = "/auth/consent"
	pathOIDCConfig    = "/.well-known/openid-configuration"
	pathSMARTConfig   = "/.well-known/smart-configuration" // below the FHIR base
)

// Routes lists every endpoint with its method and full path.
func (s *Server) Routes() []Route {
	ip := urlPath(s.cfg.Issuer)
	get := func(p string, h http.HandlerFunc) Route { return Route{http.MethodGet, p, h} }
	return []Route{
		get(urlPath(s.cfg.FHIRBase)+pathSMARTConfig, s.smartConfiguration),
		get(ip+pathOIDCConfig, s.openIDConfiguration),
		get(ip+pathJWKS, s.jwks),
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
