// Package access is the access guard in front of a FHIR base: it checks a
// request's SMART access token, routes and parses the request once
// (interaction.Route, search.Parse), decides it under the token's scopes
// (Decide: allow, allow narrowed to a search.Confinement, or refuse), and
// hands the routed request, its parsed search and the confinement to the
// API through the request context, so that the store applies the
// confinement inside its queries and nothing is filtered after the fact.
//
// It is not the authorization server (package smart issues and verifies
// tokens) and not the FHIR API (sandbox/fhirapi). Gin is used only at its
// edge (Guard.Handler); the decision is gin-free.
package access

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/sandbox/fhirapi"
	"hpsandbox/sandbox/requestlog/ginlog"
	"hpsandbox/smart"
)

// Config configures a Guard.
type Config struct {
	// Authz verifies access tokens.
	Authz *smart.Server
	// Store is what the checks a decision leaves read.
	Store fhirstore.Store
	// Below are the authorization server's handlers below the FHIR base
	// (.well-known/smart-configuration), by "METHOD /path below the base".
	Below map[string]http.Handler
	// MaxBody bounds the request bodies the guard reads (10 MB when zero).
	MaxBody int64
	// Secured reports whether a sandbox requires a token; one that does
	// not serves requests without a token, but still checks a token sent.
	Secured func(ctx context.Context, sandbox string) bool
	// ClientIn reports whether a token's app is still registered in the
	// sandbox.
	ClientIn func(ctx context.Context, clientID, sandbox string) (bool, error)
	// PublicURL is the API's (fhirapi.Config.PublicURL): a search is parsed
	// at the base the API answers under, so that the API runs the very
	// query the guard decided on.
	PublicURL string
}

// Guard stands in front of a FHIR base: it serves the SMART endpoints
// below the base, keeps /metadata public, and on everything else checks
// the bearer token and enforces its scopes, the sandbox it was issued for,
// patient-compartment confinement and SMART v2 constraints.
type Guard struct {
	cfg Config
	// belowPaths are the paths of cfg.Below, so that a request to any
	// other path is not looked up there (which makes a key per request).
	belowPaths map[string]bool
}

// New returns a Guard.
func New(cfg Config) *Guard {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 10 << 20
	}
	g := &Guard{cfg: cfg, belowPaths: map[string]bool{}}
	for k := range cfg.Below {
		if _, path, ok := strings.Cut(k, " "); ok {
			g.belowPaths[path] = true
		}
	}
	return g
}

// below is the authorization server's handler of method and path below
// the base, if it has one.
func (g *Guard) below(method, path string) (http.Handler, bool) {
	if !g.belowPaths[path] {
		return nil, false
	}
	h, ok := g.cfg.Below[method+" "+path]
	return h, ok
}

// Handler is the middleware of a FHIR base group whose sandbox sandboxOf
// names.
func (g *Guard) Handler(sandboxOf func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		path := c.Param("path")
		if h, ok := g.below(c.Request.Method, path); ok {
			h.ServeHTTP(c.Writer, c.Request.WithContext(smart.WithSandbox(c.Request.Context(), sandboxOf(c))))
			c.Abort()
			return
		}
		if strings.Trim(path, "/") == "metadata" {
			// Only the statement itself: metadata/_history is routed as a
			// history, for one.
			c.Next()
			return
		}
		tok, ok := g.Authenticate(c, sandboxOf(c))
		if !ok {
			return
		}
		if tok == nil {
			// An open sandbox without a token: nothing to decide, so the
			// API routes the request itself (carrying the route would copy
			// the http.Request for nothing).
			c.Next()
			return
		}
		sandbox := sandboxOf(c)
		route, rerr := interaction.Route(c.Request.Method, path)
		if rerr != nil {
			// The API answers the same error; a request no interaction
			// serves reads nothing.
			c.Next()
			return
		}
		g.enforce(c, tok, &Request{Sandbox: sandbox, Route: route, Base: g.cfg.Authz.Config().FHIRBase})
	}
}

// Authenticate checks the bearer token of a request to sandbox: valid,
// issued for that sandbox, and its app still registered there. A sandbox
// that is not secured takes requests without a token (tok nil), but a
// token that is sent is checked all the same, so an app sees the errors an
// EHR would give it. When ok is false the request was answered (401 with
// the RFC 6750 challenge and an OperationOutcome) and aborted.
func (g *Guard) Authenticate(c *gin.Context, sandbox string) (tok *smart.Grant, ok bool) {
	if c.GetHeader("Authorization") == "" && !g.cfg.Secured(c.Request.Context(), sandbox) {
		return nil, true
	}
	tok, err := g.cfg.Authz.AuthenticateAt(c.Request, g.requestURL(c))
	if err != nil {
		denyOAuth(c, err)
		return nil, false
	}
	if n := ginlog.NoteOf(c); n != nil {
		n.ClientID, n.Scopes = tok.ClientID, tok.Scopes.String()
	}
	if sandboxOr(tok.Sandbox) != sandbox {
		denyOAuth(c, ErrOtherSandbox)
		return nil, false
	}
	if ok, err := g.cfg.ClientIn(c.Request.Context(), tok.ClientID, sandbox); err != nil {
		denyOAuth(c, smart.ErrServerError)
		return nil, false
	} else if !ok {
		denyOAuth(c, errAppGone)
		return nil, false
	}
	return tok, true
}

// requestURL is the absolute URL of the request without its query, under
// the API's public URL: what a DPoP proof's htu must name.
func (g *Guard) requestURL(c *gin.Context) string {
	root := strings.TrimRight(g.cfg.PublicURL, "/")
	if root == "" {
		scheme := "http"
		if c.Request.TLS != nil {
			scheme = "https"
		}
		if p := c.GetHeader("X-Forwarded-Proto"); p == "https" || p == "http" {
			scheme = p
		}
		root = scheme + "://" + c.Request.Host
	}
	return root + c.Request.URL.EscapedPath()
}

// errAppGone refuses a token whose app was deleted, or whose sandbox was
// deleted (and perhaps made again under its id).
var errAppGone = &smart.Error{Code: smart.ErrInvalidToken.Code, Status: http.StatusUnauthorized,
	Description: "the token's app is no longer registered in this sandbox"}

// enforce parses what the decision reads, decides, and applies the
// decision: the routed request, its search and the confinement go into
// the request context, and the checks it leaves run before the API.
func (g *Guard) enforce(c *gin.Context, tok *smart.Grant, r *Request) {
	in, base := r.Route, r.Base
	switch {
	case in.Kind.IsSearch():
		if err := c.Request.ParseForm(); err != nil {
			// Refused here: a form read once and failed reads as empty the
			// next time, and the search would run unchecked on the query.
			writeOutcome(c, outcome.New(outcome.Incorrect, outcome.Invalid, "the form body cannot be read: %v", err))
			return
		}
		q, err := search.Parse(in.Type, c.Request.Form, fhirapi.SearchOptions(fhirapi.BaseURL(c, g.cfg.PublicURL)))
		if err != nil {
			var oe *outcome.Error
			if !errors.As(err, &oe) {
				oe = outcome.New(outcome.Incorrect, outcome.Invalid, "%v", err)
			}
			writeOutcome(c, oe)
			return
		}
		r.Search = q
	case in.Kind == interaction.Create:
		if h := c.GetHeader("If-None-Exist"); h != "" {
			r.Conditional, r.Search = true, criteria(in.Type, h, base)
		}
	case in.Kind == interaction.ConditionalUpdate || in.Kind == interaction.ConditionalDelete:
		r.Conditional, r.Search = true, criteria(in.Type, c.Request.URL.RawQuery, base)
	}
	d := Decide(tok, r)
	if d.Effect == Refuse {
		deny(c, d.Err)
		return
	}
	ctx := interaction.WithRequest(c.Request.Context(), in)
	if r.Search != nil && in.Kind.IsSearch() {
		ctx = interaction.WithSearch(ctx, r.Search)
	}
	ctx = search.ConfineTo(ctx, d.Confinement)
	c.Request = c.Request.WithContext(ctx)
	var err error
	switch {
	case d.Has(CheckEntries):
		err = g.checkBundle(c, tok, r.Sandbox, base)
	default:
		err = g.check(c, r.Sandbox, base, in, d)
	}
	if err != nil {
		deny(c, err)
		return
	}
	c.Next()
}

// check runs the checks d leaves on the resource in names: visible under
// the confinement, and so the version a vread names and some version of
// the history of one. What a write writes is the engine's to judge, inside
// its transaction.
func (g *Guard) check(c *gin.Context, sandbox, base string, in *interaction.Request, d Decision) error {
	ctx := c.Request.Context()
	if d.Has(CheckVisible) && in.ID != "" {
		if err := visible(ctx, g.cfg.Store, sandbox, in.Type, in.ID, d); err != nil {
			return forbidden(err)
		}
	}
	if d.Has(CheckVersion) {
		if err := versionVisible(ctx, g.cfg.Store, sandbox, in.Type, in.ID, in.Version, d); err != nil {
			return forbidden(err)
		}
	}
	if d.Has(CheckHistory) && in.ID != "" {
		if err := historyVisible(ctx, g.cfg.Store, sandbox, in.Type, in.ID, d); err != nil {
			return forbidden(err)
		}
	}
	return nil
}

// criteria parses the criteria of a conditional interaction on typ; nil
// when they do not parse, which the API refuses before searching.
func criteria(typ, query, base string) *search.Query {
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil
	}
	q, err := search.Parse(typ, params, search.Options{Base: base})
	if err != nil {
		return nil
	}
	return q
}

func forbidden(err error) error {
	var oe *outcome.Error
	if errors.As(err, &oe) {
		return err
	}
	return outcome.New(outcome.Denied, outcome.Forbidden, "%s", err.Error())
}

// deny answers a refusal: a *smart.Error as an authentication error, else
// a 403 insufficient_scope with its OperationOutcome.
func deny(c *gin.Context, err error) {
	var se *smart.Error
	if errors.As(err, &se) {
		denyOAuth(c, err)
		return
	}
	oe, ok := err.(*outcome.Error)
	if !ok {
		oe = outcome.New(outcome.Denied, outcome.Forbidden, "%s", err.Error())
	}
	if oe.Category == outcome.Denied {
		c.Header("WWW-Authenticate", (&smart.Error{Code: smart.ErrInsufficientScope.Code, Status: http.StatusForbidden,
			Description: oe.Issues[0].Diagnostics}).WWWAuthenticate())
	}
	writeOutcome(c, oe)
}

// denyOAuth answers an authentication error: its status, the RFC 6750
// challenge, and an OperationOutcome with code login (401) or forbidden.
func denyOAuth(c *gin.Context, err error) {
	var e *smart.Error
	if !errors.As(err, &e) {
		e = smart.ErrServerError
	}
	if h := e.WWWAuthenticate(); h != "" {
		c.Header("WWW-Authenticate", h)
	}
	if e.DPoPNonce != "" {
		c.Header("DPoP-Nonce", e.DPoPNonce)
	}
	cat, code := outcome.Denied, outcome.Forbidden
	msg := e.Description
	switch {
	case e.Status == http.StatusUnauthorized:
		cat, code = outcome.Unauthenticated, outcome.Login
		if msg == "" {
			msg = "this sandbox requires a SMART access token in an Authorization: Bearer header"
		}
	case e.Status == http.StatusBadRequest:
		cat = outcome.Incorrect
	case e.Status >= 500:
		cat, code = outcome.Fault, outcome.Exception
	}
	writeOutcome(c, outcome.New(cat, code, "%s", msg))
}

func writeOutcome(c *gin.Context, oe *outcome.Error) {
	h := c.Writer.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Location", "Content-Location"} {
		h.Del(k)
	}
	c.Header("Cache-Control", "no-store")
	c.Data(interaction.Status(oe), "application/fhir+json; charset=utf-8", oe.JSON())
	c.Abort()
}
