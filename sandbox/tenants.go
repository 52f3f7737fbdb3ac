package sandbox

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/tenant"
	"hpsandbox/smart"
)

// sandboxesPath is where suppliers' sandboxes are served:
// /sandboxes/{id}/fhir is the FHIR base of sandbox id.
const sandboxesPath = "/sandboxes"

// registerPath is the RFC 7591 registration endpoint below the issuer
// (default sandbox) or below /sandboxes/{id}.
const registerPath = "/auth/register"

// sandboxPrefix is the path before a sandbox's FHIR base and registration
// endpoint ("" for the default sandbox).
func sandboxPrefix(id string) string {
	if id == "" || id == fhirstore.DefaultSandbox {
		return ""
	}
	return sandboxesPath + "/" + id
}

// settingsTTL is how long the gateway trusts what it read of a sandbox's
// registration. Settings changed through another gateway apply after it;
// a reset or delete through this one applies at once.
const settingsTTL = 2 * time.Second

// sandboxes is the gateway's view of the tenant registry: which sandboxes
// exist and what their settings are, and which sandbox each app belongs
// to, remembered briefly because every FHIR request asks.
type sandboxes struct {
	svc    *tenant.Service
	issuer string

	// clients looks up registered apps, whose sandbox a token's client
	// must still belong to.
	clients smart.ClientStore

	byID  *briefly[*tenant.Sandbox] // nil: no such sandbox
	appIn *briefly[string]          // an app's sandbox, "" for no such app
}

func newSandboxes(svc *tenant.Service, issuer string, now func() time.Time) *sandboxes {
	if now == nil {
		now = time.Now
	}
	return &sandboxes{svc: svc, issuer: issuer, byID: newBriefly[*tenant.Sandbox](now), appIn: newBriefly[string](now)}
}

// briefly remembers looked-up values for settingsTTL, and at most
// maxRemembered of them.
type briefly[V any] struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]remembered[V]
}

type remembered[V any] struct {
	v  V
	at time.Time
}

const maxRemembered = 10000

func newBriefly[V any](now func() time.Time) *briefly[V] {
	return &briefly[V]{now: now, m: map[string]remembered[V]{}}
}

// get returns the value of key, from load when it is not remembered or
// older than settingsTTL; errors are not remembered.
func (b *briefly[V]) get(key string, load func() (V, error)) (V, error) {
	now := b.now()
	b.mu.Lock()
	r, ok := b.m[key]
	b.mu.Unlock()
	if ok && now.Sub(r.at) < settingsTTL {
		return r.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	b.mu.Lock()
	if len(b.m) >= maxRemembered {
		clear(b.m)
	}
	b.m[key] = remembered[V]{v: v, at: now}
	b.mu.Unlock()
	return v, nil
}

// forget drops key, or everything when key is "".
func (b *briefly[V]) forget(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if key == "" {
		clear(b.m)
		return
	}
	delete(b.m, key)
}

// get returns the sandbox id, nil when there is none.
func (s *sandboxes) get(ctx context.Context, id string) (*tenant.Sandbox, error) {
	return s.byID.get(id, func() (*tenant.Sandbox, error) {
		sb, err := s.svc.Sandbox(ctx, id)
		if errors.Is(err, tenant.ErrNotFound) {
			return nil, nil
		}
		return sb, err
	})
}

// forget drops what is remembered of id, after a reset or delete, and of
// every app (a deleted sandbox's apps are gone).
func (s *sandboxes) forget(id string) {
	s.byID.forget(id)
	s.appIn.forget("")
}

// clientIn reports whether the app clientID is registered in sandbox now.
// A token outlives neither its app nor its sandbox: a sandbox deleted and
// made again under the same id (by another supplier, perhaps) has new
// apps, so the old sandbox's tokens are refused there.
func (s *sandboxes) clientIn(ctx context.Context, clientID, sandbox string) (bool, error) {
	in, err := s.appIn.get(clientID, func() (string, error) {
		cl, err := s.clients.Client(ctx, clientID)
		if errors.Is(err, smart.ErrClientNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return sandboxOr(cl.Sandbox), nil
	})
	return err == nil && in != "" && in == sandbox, err
}

// secured reports whether a sandbox requires tokens; an unknown one does.
func (s *sandboxes) secured(ctx context.Context, id string) bool {
	sb, err := s.get(ctx, id)
	return err != nil || sb == nil || sb.Settings.Secured
}

// enforcement is the profile enforcement of sandbox id, as the FHIR
// engine asks for it on every write; nothing for a sandbox that does not
// exist (its writes fail elsewhere).
func (s *sandboxes) enforcement(ctx context.Context, id fhirstore.Sandbox) (interaction.Enforcement, error) {
	sb, err := s.get(ctx, sandboxOr(string(id)))
	if err != nil || sb == nil {
		return interaction.Enforcement{}, err
	}
	pe := sb.Settings.ProfileEnforcement
	return interaction.Enforcement{Declared: pe.Declared, Required: pe.Required}, nil
}

// fhirBase is the absolute FHIR base URL of sandbox id.
func (s *sandboxes) fhirBase(id string) string {
	return s.issuer + sandboxPrefix(id) + fhirBasePath
}

// registrationEndpoint is the absolute RFC 7591 endpoint of sandbox id.
func (s *sandboxes) registrationEndpoint(id string) string {
	return s.issuer + sandboxPrefix(id) + registerPath
}

var _ smart.Policies = (*sandboxes)(nil)

// Policy implements smart.Policies from the sandbox's registration.
func (s *sandboxes) Policy(ctx context.Context, id string) (smart.Policy, error) {
	id = sandboxOr(id)
	sb, err := s.get(ctx, id)
	if err != nil {
		return smart.Policy{}, err
	}
	if sb == nil {
		return smart.Policy{}, tenant.ErrNotFound
	}
	p := smart.Policy{FHIRBase: s.fhirBase(id), SkipLogin: sb.Settings.SkipLogin, SkipConsent: sb.Settings.SkipConsent,
		AccessTokenTTL:  time.Duration(sb.Settings.AccessTokenSeconds) * time.Second,
		RefreshTokenTTL: time.Duration(sb.Settings.RefreshTokenSeconds) * time.Second}
	if sb.Settings.DynamicRegistration {
		p.RegistrationEndpoint = s.registrationEndpoint(id)
	}
	return p, nil
}

// routeSandbox is the middleware of /sandboxes/:sandbox/…: a sandbox that
// does not exist answers 404 with an OperationOutcome.
func (s *sandboxes) routeSandbox(c *gin.Context) {
	id := c.Param("sandbox")
	sb, err := s.get(c.Request.Context(), id)
	switch {
	case err != nil:
		writeOutcome(c, outcome.New(outcome.Fault, outcome.Exception, "looking up the sandbox failed"))
	case sb == nil || id == fhirstore.DefaultSandbox:
		// The default sandbox lives at /fhir only, so that each sandbox has
		// one base and one audience.
		writeOutcome(c, outcome.New(outcome.Missing, outcome.NotFound,
			"there is no sandbox %q; sandboxes are created in the portal or with POST /admin/api/sandboxes", id))
	}
}

// recorded names the sandbox whose request log records the request: the
// default sandbox for /fhir, /auth/register and /connectors, the sandbox of
// /sandboxes/{id}/… when it exists, and none otherwise (so that requests
// to made-up sandboxes cannot fill the log with new sandboxes).
func (s *sandboxes) recorded(c *gin.Context) string {
	route := c.FullPath()
	switch {
	case c.GetBool(connectorServed):
		// The connector recorded the exchange itself, as evidence of it.
		return ""
	case strings.HasPrefix(route, fhirBasePath), route == registerPath, strings.HasPrefix(route, connectorsPath+"/"):
		return fhirstore.DefaultSandbox
	case strings.HasPrefix(route, sandboxesPath+"/:sandbox/"):
		id := c.Param("sandbox")
		if sb, err := s.get(c.Request.Context(), id); err == nil && sb != nil && id != fhirstore.DefaultSandbox {
			return id
		}
	}
	return ""
}

// sandboxParam names the sandbox of a request below /sandboxes/:sandbox.
func sandboxParam(c *gin.Context) string { return c.Param("sandbox") }

// writeOutcome answers with a FHIR error and stops the chain.
func writeOutcome(c *gin.Context, oe *outcome.Error) {
	c.Header("Cache-Control", "no-store")
	c.Data(interaction.Status(oe), "application/fhir+json; charset=utf-8", oe.JSON())
	c.Abort()
}
