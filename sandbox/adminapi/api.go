package adminapi

import (
	"context"
	"log/slog"
	"net/http"
	"path"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// RequestLog answers queries of the request log; requestlog.Store
// implementations (MemoryStore, SQLiteStore) satisfy it.
type RequestLog interface {
	// Query returns the entries of f.Sandbox matching f, newest first.
	Query(ctx context.Context, f requestlog.Filter) (requestlog.Page, error)
}

// DefaultMaxBodyBytes bounds a request body when Deps.MaxBodyBytes is 0.
// The largest body the API reads is an app's JSON Web Key Set.
const DefaultMaxBodyBytes = 1 << 20

// Deps are what the API serves from. Tenants is required; the rest may be
// left zero.
type Deps struct {
	// Tenants is the registry of sandboxes, apps and accounts, and the
	// judge of who may do what.
	Tenants *tenant.Service
	// Requests is the request log; nil serves an empty one.
	Requests RequestLog
	// Dropped reports how many log entries the recorder dropped under
	// overload (requestlog.Recorder.Dropped), so that a reader of the log
	// knows it may be incomplete; nil leaves the count out.
	Dropped func() uint64
	// FHIRBase returns the absolute FHIR base URL of a sandbox, shown as
	// fhir_base; nil leaves it out.
	FHIRBase func(sandbox string) string
	// RegistrationEndpoint returns the RFC 7591 registration URL of a
	// sandbox, shown as registration_endpoint when the sandbox's settings
	// open dynamic registration; nil leaves it out.
	RegistrationEndpoint func(sandbox string) string
	// Logger receives errors the API could not answer (500s); nil
	// discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Conformance runs checks over the request log and keeps their
	// reports; nil runs conformance.Default's checks over Requests and
	// keeps no reports.
	Conformance *conformance.Runner
}

// API is the admin REST API. Make one with New and Mount it.
type API struct {
	d   Deps
	log *slog.Logger
	// docPath is the URL path of the OpenAPI document, into which problem
	// types point; Mount sets it.
	docPath string
}

// New returns the API over d. It panics if d.Tenants is nil, which is a
// mistake in the program, not in its input.
func New(d Deps) *API {
	if d.Tenants == nil {
		panic("adminapi: Deps.Tenants is required")
	}
	if d.Requests == nil {
		d.Requests = requestlog.NewMemoryStore(1)
	}
	if d.Conformance == nil {
		d.Conformance = &conformance.Runner{Registry: conformance.Default(), Log: d.Requests, FHIRBase: d.FHIRBase}
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	a := &API{d: d, log: d.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// handler serves one operation for an authenticated account. It writes a
// success itself and returns any failure, which serve renders as a problem.
type handler func(c *gin.Context, who *tenant.Account) error

// route is one operation; op is its operationId in openapi.json.
type route struct {
	method, path, op string
	h                handler
}

// routes are the API's operations, in the order openapi.json lists them.
func (a *API) routes() []route {
	return []route{
		{http.MethodGet, "/me", "getMe", a.getMe},
		{http.MethodGet, "/sandboxes", "listSandboxes", a.listSandboxes},
		{http.MethodPost, "/sandboxes", "createSandbox", a.createSandbox},
		{http.MethodGet, "/sandboxes/:id", "getSandbox", a.getSandbox},
		{http.MethodPatch, "/sandboxes/:id", "updateSandbox", a.updateSandbox},
		{http.MethodDelete, "/sandboxes/:id", "deleteSandbox", a.deleteSandbox},
		{http.MethodPost, "/sandboxes/:id/reset", "resetSandbox", a.resetSandbox},
		{http.MethodGet, "/sandboxes/:id/apps", "listApps", a.listApps},
		{http.MethodPost, "/sandboxes/:id/apps", "registerApp", a.registerApp},
		{http.MethodGet, "/sandboxes/:id/apps/:client_id", "getApp", a.getApp},
		{http.MethodDelete, "/sandboxes/:id/apps/:client_id", "deleteApp", a.deleteApp},
		{http.MethodGet, "/sandboxes/:id/registration-tokens", "listRegistrationTokens", a.listRegistrationTokens},
		{http.MethodPost, "/sandboxes/:id/registration-tokens", "issueRegistrationToken", a.issueRegistrationToken},
		{http.MethodDelete, "/sandboxes/:id/registration-tokens/:token_id", "revokeRegistrationToken", a.revokeRegistrationToken},
		{http.MethodGet, "/sandboxes/:id/requests", "listRequests", a.listRequests},
		{http.MethodGet, "/sandboxes/:id/runs", "listRuns", a.listRuns},
		{http.MethodPost, "/sandboxes/:id/runs", "startRun", a.startRun},
		{http.MethodGet, "/sandboxes/:id/runs/:run_id", "getRun", a.getRun},
		{http.MethodGet, "/checks", "listChecks", a.listChecks},
		{http.MethodGet, "/test-requests", "listTestRequests", a.listTestRequests},
		{http.MethodPost, "/test-requests", "fileTestRequest", a.fileTestRequest},
		{http.MethodGet, "/test-requests/:id", "getTestRequest", a.getTestRequest},
		{http.MethodPost, "/test-requests/:id/accept", "acceptTestRequest", a.acceptTestRequest},
		{http.MethodPost, "/test-requests/:id/withdraw", "withdrawTestRequest", a.withdrawTestRequest},
		{http.MethodPost, "/test-requests/:id/runs", "startRequestRun", a.startRequestRun},
		{http.MethodGet, "/test-requests/:id/runs/:run_id", "getRequestRun", a.getRequestRun},
		{http.MethodPost, "/test-requests/:id/runs/:run_id/decision", "decideRun", a.decideRun},
		{http.MethodGet, "/test-requests/:id/diff", "diffRuns", a.diffRuns},
		{http.MethodGet, "/accounts", "listAccounts", a.listAccounts},
		{http.MethodPost, "/accounts", "createAccount", a.createAccount},
		{http.MethodGet, "/accounts/:username", "getAccount", a.getAccount},
		{http.MethodDelete, "/accounts/:username", "deleteAccount", a.deleteAccount},
		{http.MethodPut, "/accounts/:username/password", "setPassword", a.setPassword},
	}
}

// Mount adds the API's routes to r, which is the group the API lives
// under (/admin/api). The OpenAPI document is served without credentials;
// everything else needs them. Mount an API once.
func (a *API) Mount(r gin.IRouter) {
	g := r.Group("")
	a.docPath = path.Join(g.BasePath(), openAPIFile)
	g.GET("/"+openAPIFile, a.serveOpenAPI)
	authed := g.Group("", noStore, a.authenticate)
	for _, rt := range a.routes() {
		authed.Handle(rt.method, rt.path, a.serve(rt.h))
	}
}

// NoRoute answers a request under the API's base path that matches no
// operation with a 404 problem. gin has one NoRoute per engine, so the
// gateway calls this from its own for paths under the API's base path.
func (a *API) NoRoute(c *gin.Context) {
	a.renderProblem(c, problem(kindNotFound, "No operation of the admin API has this method and path; "+a.docPath+" lists them."))
}

// noStore keeps answers, which differ by account and may carry a secret,
// out of caches.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}

// serve runs h for the authenticated account and renders its failure.
func (a *API) serve(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c, account(c)); err != nil {
			a.renderError(c, err)
		}
	}
}
