package sandbox

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/fhirapi"
	"hpsandbox/sandbox/requestlog/ginlog"
	"hpsandbox/smart"
)

// guard stands in front of a FHIR base: it serves the SMART endpoints that
// live below the base (.well-known/smart-configuration), keeps /metadata
// public, and on
// everything else checks the bearer token and enforces its scopes, the
// sandbox it was issued for, patient-compartment confinement and SMART v2
// constraints.
//
// A sandbox that is not secured serves requests without a token; a token
// that is sent is still checked, so an app sees the errors an EHR would
// give it.
type guard struct {
	authz   *smart.Server
	store   fhirstore.Store
	below   map[string]http.Handler // "METHOD /path below the base"
	maxBody int64
	secured func(ctx context.Context, sandbox string) bool
	// clientIn reports whether a token's app is still registered in the
	// sandbox.
	clientIn func(ctx context.Context, clientID, sandbox string) (bool, error)
}

// handle is the middleware of a FHIR base group.
func (g *guard) handle(sandboxOf fhirapi.SandboxFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		path := c.Param("path")
		if h, ok := g.below[c.Request.Method+" "+path]; ok {
			h.ServeHTTP(c.Writer, c.Request.WithContext(smart.WithSandbox(c.Request.Context(), sandboxOf(c))))
			c.Abort()
			return
		}
		segs := splitPath(path)
		if len(segs) == 1 && segs[0] == "metadata" {
			// Only the statement itself: the API routes metadata/_history
			// as a history, for one.
			c.Next()
			return
		}
		sandbox := sandboxOf(c)
		if c.GetHeader("Authorization") == "" && !g.secured(c.Request.Context(), sandbox) {
			c.Next()
			return
		}
		grant, err := g.authz.Authenticate(c.Request)
		if err != nil {
			denyOAuth(c, err)
			return
		}
		if n := ginlog.NoteOf(c); n != nil {
			n.ClientID, n.Scopes = grant.ClientID, grant.Scopes.String()
		}
		if sandboxOr(grant.Sandbox) != sandbox {
			denyOAuth(c, errOtherSandbox)
			return
		}
		if ok, err := g.clientIn(c.Request.Context(), grant.ClientID, sandbox); err != nil {
			denyOAuth(c, smart.ErrServerError)
			return
		} else if !ok {
			denyOAuth(c, errAppGone)
			return
		}
		g.enforce(c, &access{grant: grant, sandbox: sandbox, base: g.authz.Config().FHIRBase}, classify(c.Request.Method, segs))
	}
}

// errOtherSandbox refuses a valid token of another sandbox as a token
// that is not valid here (RFC 6750 §3.1 invalid_token), like one for
// another audience.
var errOtherSandbox = &smart.Error{Code: smart.ErrInvalidToken.Code, Status: http.StatusUnauthorized,
	Description: "token was issued for another sandbox"}

// errAppGone refuses a token whose app was deleted, or whose sandbox was
// deleted (and perhaps made again under its id).
var errAppGone = &smart.Error{Code: smart.ErrInvalidToken.Code, Status: http.StatusUnauthorized,
	Description: "the token's app is no longer registered in this sandbox"}

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

// forbid answers 403 insufficient_scope with an OperationOutcome saying why.
func forbid(c *gin.Context, format string, args ...any) {
	oe := outcome.New(outcome.Denied, outcome.Forbidden, format, args...)
	c.Header("WWW-Authenticate", (&smart.Error{Code: smart.ErrInsufficientScope.Code, Status: http.StatusForbidden,
		Description: oe.Issues[0].Diagnostics}).WWWAuthenticate())
	writeOutcome(c, oe)
}

func writeOutcome(c *gin.Context, oe *outcome.Error) {
	h := c.Writer.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Location", "Content-Location"} {
		h.Del(k)
	}
	c.Header("Cache-Control", "no-store")
	c.Data(fhirapi.Status(oe), "application/fhir+json; charset=utf-8", oe.JSON())
	c.Abort()
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// kind is the FHIR interaction a request asks for, decided from its method
// and path shape the way fhirapi routes it.
type kind int

const (
	kindUnknown kind = iota
	kindBundle
	kindSearch        // GET [type], POST [type]/_search, GET Patient/[id]/[type]
	kindSearchSystem  // GET [base], POST [base]/_search
	kindCreate        // POST [type]
	kindRead          // GET/HEAD [type]/[id]
	kindVRead         // GET [type]/[id]/_history/[vid]
	kindUpdate        // PUT [type]/[id]
	kindPatch         // PATCH [type]/[id]
	kindDelete        // DELETE [type]/[id]
	kindHistoryInst   // GET [type]/[id]/_history
	kindHistoryType   // GET [type]/_history
	kindHistorySystem // GET _history
	kindOperation     // anything with a $operation
)

// interaction is a classified request.
type interaction struct {
	kind    kind
	typ, id string
	version string // vread
	op      string // the $operation
	// compartment is the Patient id of a compartment search
	// (Patient/[id]/[type]); typ is then the searched type.
	compartment string
}

func classify(method string, segs []string) interaction {
	for i, s := range segs {
		if strings.HasPrefix(s, "$") {
			in := interaction{kind: kindOperation, op: s}
			if i > 0 {
				in.typ = segs[0]
			}
			if i > 1 {
				in.id = segs[1]
			}
			return in
		}
	}
	get := method == http.MethodGet || method == http.MethodHead
	switch len(segs) {
	case 0:
		if method == http.MethodPost {
			return interaction{kind: kindBundle}
		}
		if get {
			return interaction{kind: kindSearchSystem}
		}
	case 1:
		switch {
		case segs[0] == "_history" && get:
			return interaction{kind: kindHistorySystem}
		case segs[0] == "_search" && method == http.MethodPost:
			return interaction{kind: kindSearchSystem}
		case strings.HasPrefix(segs[0], "_"):
		case get:
			return interaction{kind: kindSearch, typ: segs[0]}
		case method == http.MethodPost:
			return interaction{kind: kindCreate, typ: segs[0]}
		case method == http.MethodPut: // conditional update
			return interaction{kind: kindUpdate, typ: segs[0]}
		case method == http.MethodDelete: // conditional delete
			return interaction{kind: kindDelete, typ: segs[0]}
		}
	case 2:
		t, id := segs[0], segs[1]
		switch {
		case id == "_history" && get:
			return interaction{kind: kindHistoryType, typ: t}
		case id == "_search" && method == http.MethodPost:
			return interaction{kind: kindSearch, typ: t}
		case strings.HasPrefix(id, "_"):
		case get:
			return interaction{kind: kindRead, typ: t, id: id}
		case method == http.MethodPut:
			return interaction{kind: kindUpdate, typ: t, id: id}
		case method == http.MethodPatch:
			return interaction{kind: kindPatch, typ: t, id: id}
		case method == http.MethodDelete:
			return interaction{kind: kindDelete, typ: t, id: id}
		}
	case 3:
		if segs[2] == "_history" && get {
			return interaction{kind: kindHistoryInst, typ: segs[0], id: segs[1]}
		}
		if segs[0] == "Patient" && get && !strings.HasPrefix(segs[1], "_") && !strings.HasPrefix(segs[2], "_") {
			return interaction{kind: kindSearch, typ: segs[2], compartment: segs[1]}
		}
	case 4:
		if segs[2] == "_history" && get {
			return interaction{kind: kindVRead, typ: segs[0], id: segs[1], version: segs[3]}
		}
	}
	return interaction{kind: kindUnknown}
}
