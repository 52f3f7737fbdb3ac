package portal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/fhirapi"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// RequestLog is the part of the request log the portal reads.
type RequestLog interface {
	Query(ctx context.Context, f requestlog.Filter) (requestlog.Page, error)
}

// Deps are what the portal needs from the gateway. Tenants, Store,
// FHIRBase, EHRLaunchPath and SessionKey are required.
type Deps struct {
	// Tenants holds sandboxes, apps and accounts, and the rules over them.
	Tenants *tenant.Service
	// Store holds the sandboxes' FHIR data (patients, encounters).
	Store fhirstore.Store
	// Requests is the request log; nil shows a page saying none is kept.
	Requests RequestLog
	// FHIRBase returns the absolute FHIR base URL of a sandbox.
	FHIRBase func(sandbox string) string
	// RegistrationEndpoint returns the absolute RFC 7591 registration URL
	// of a sandbox, shown with its initial access tokens; nil leaves it
	// out.
	RegistrationEndpoint func(sandbox string) string
	// EHRLaunchPath is the gateway's EHR-launch endpoint, a path such as
	// /auth/ehr-launch or an absolute URL.
	EHRLaunchPath string
	// SessionKey signs session cookies; at least 32 random bytes, the same
	// on every gateway that serves the portal, kept across restarts.
	SessionKey []byte
	// SecureCookies marks cookies Secure; set it when the portal is served
	// over https.
	SecureCookies bool
	// SessionTTL is how long a sign-in lasts; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// OIDC enables sign-in through an external OpenID Connect provider;
	// nil offers local accounts only.
	OIDC *OIDCConfig
	// Logger receives structured logs, never passwords, secrets or tokens;
	// nil discards.
	Logger *slog.Logger
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// Conformance runs checks over the request log and keeps their
	// reports; nil lists the checks but runs none.
	Conformance *conformance.Runner
}

// DefaultSessionTTL is how long a sign-in lasts unless Deps says otherwise:
// a working day.
const DefaultSessionTTL = 8 * time.Hour

// MinSessionKeyBytes is the shortest SessionKey New accepts.
const MinSessionKeyBytes = 32

// Portal serves the portal's pages. Create it with New and Mount it on the
// gateway's engine.
type Portal struct {
	d     Deps
	log   *slog.Logger
	now   func() time.Time
	pages map[string]pageTemplate
	oidc  *oidcClient
}

// New checks d and returns the portal. It does not contact the OpenID
// Connect provider: discovery happens at the first sign-in through it, so
// that a provider that is down does not stop the gateway.
func New(d Deps) (*Portal, error) {
	switch {
	case d.Tenants == nil:
		return nil, errors.New("portal: Deps.Tenants is required")
	case d.Store == nil:
		return nil, errors.New("portal: Deps.Store is required")
	case d.FHIRBase == nil:
		return nil, errors.New("portal: Deps.FHIRBase is required (a function from sandbox id to its FHIR base URL)")
	case d.EHRLaunchPath == "":
		return nil, errors.New("portal: Deps.EHRLaunchPath is required (the gateway's EHR-launch endpoint, e.g. /auth/ehr-launch)")
	case len(d.SessionKey) < MinSessionKeyBytes:
		return nil, fmt.Errorf("portal: Deps.SessionKey has %d bytes; want at least %d random bytes, kept across restarts and shared by every gateway", len(d.SessionKey), MinSessionKeyBytes)
	case d.SessionTTL < 0:
		return nil, fmt.Errorf("portal: Deps.SessionTTL is negative (%s); use a positive duration or 0 for %s", d.SessionTTL, DefaultSessionTTL)
	}
	p := &Portal{d: d, log: d.Logger, now: d.Now}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.d.SessionTTL == 0 {
		p.d.SessionTTL = DefaultSessionTTL
	}
	p.d.SessionKey = append([]byte(nil), d.SessionKey...)
	if d.OIDC != nil {
		oc, err := newOIDCClient(*d.OIDC, p.now)
		if err != nil {
			return nil, err
		}
		p.oidc = oc
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	p.pages = pages
	return p, nil
}

// Mount adds the portal's routes below /portal, and its assets below
// /portal/static, to e. It does not touch "/".
func (p *Portal) Mount(e *gin.Engine) {
	g := e.Group(basePath, p.headers)
	static, _ := fs.Sub(assets, "static")
	files := http.StripPrefix(basePath+"/static", http.FileServer(http.FS(static)))
	g.GET("/static/*file", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(c.Writer, c.Request)
	})

	g.GET("", func(c *gin.Context) { c.Redirect(http.StatusFound, basePath+"/") })
	g.GET("/login", p.anonymous(p.loginPage))
	g.POST("/login", p.anonymous(p.login))
	g.GET("/login/oidc", p.anonymous(p.oidcStart))
	g.GET(oidcCallbackPath, p.anonymous(p.oidcCallback))
	g.POST("/logout", p.signedIn(p.logout))
	g.GET("/signup", p.anonymous(p.signUpPage))
	g.POST("/signup", p.anonymous(p.signUp))

	g.GET("/", p.signedIn(p.dashboard))
	g.POST("/sandboxes", p.signedIn(p.createSandbox))
	g.GET("/sandboxes/:sb", p.signedIn(p.sandboxPage))
	g.POST("/sandboxes/:sb/settings", p.signedIn(p.updateSandbox))
	g.POST("/sandboxes/:sb/reset", p.signedIn(p.resetSandbox))
	g.POST("/sandboxes/:sb/delete", p.signedIn(p.deleteSandbox))

	g.POST("/sandboxes/:sb/registration-tokens", p.signedIn(p.issueRegistrationToken))
	g.POST("/sandboxes/:sb/registration-tokens/:token/revoke", p.signedIn(p.revokeRegistrationToken))

	g.GET("/sandboxes/:sb/apps/new", p.signedIn(p.newAppPage))
	g.POST("/sandboxes/:sb/apps", p.signedIn(p.registerApp))
	g.GET("/sandboxes/:sb/apps/:app", p.signedIn(p.appPage))
	g.POST("/sandboxes/:sb/apps/:app/delete", p.signedIn(p.deleteApp))
	g.GET("/sandboxes/:sb/apps/:app/launch", p.signedIn(p.launchPage))
	g.GET("/sandboxes/:sb/apps/:app/launch/start", p.signedIn(p.launchStart))

	g.GET("/sandboxes/:sb/patients", p.signedIn(p.patientsPage))
	g.GET("/sandboxes/:sb/patients/:patient", p.signedIn(p.patientPage))
	g.GET("/sandboxes/:sb/requests", p.signedIn(p.requestsPage))
	g.GET("/sandboxes/:sb/runs", p.signedIn(p.runsPage))
	g.POST("/sandboxes/:sb/runs", p.signedIn(p.startRun))
	g.GET("/sandboxes/:sb/runs/:run", p.signedIn(p.runPage))
	g.GET("/checks", p.signedIn(p.checksPage))

	g.GET("/test-requests", p.signedIn(p.testRequestsPage))
	g.POST("/test-requests", p.signedIn(p.fileTestRequest))
	g.GET("/test-requests/:req", p.signedIn(p.testRequestPage))
	g.POST("/test-requests/:req/accept", p.signedIn(p.acceptTestRequest))
	g.POST("/test-requests/:req/withdraw", p.signedIn(p.withdrawTestRequest))
	g.POST("/test-requests/:req/runs", p.signedIn(p.startRequestRun))
	g.GET("/test-requests/:req/runs/:run", p.signedIn(p.requestRunPage))
	g.POST("/test-requests/:req/runs/:run/decision", p.signedIn(p.decideRun))
	g.GET("/test-requests/:req/diff", p.signedIn(p.requestDiffPage))

	g.GET("/accounts", p.signedIn(p.accountsPage))
	g.POST("/accounts", p.signedIn(p.createAccount))
	g.POST("/accounts/:user/delete", p.signedIn(p.deleteAccount))
	g.POST("/accounts/:user/approve", p.signedIn(p.approveAccount))
	g.POST("/accounts/:user/reject", p.signedIn(p.rejectAccount))
	g.POST("/accounts/settings", p.signedIn(p.accountSettings))
}

// basePath is where the portal is mounted.
const basePath = "/portal"

// contentSecurityPolicy allows the portal's own scripts, styles and images
// and nothing inline, framed or from elsewhere.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// maxFormBytes bounds a form's body; the largest field is an inline JWK
// Set of a few keys.
const maxFormBytes = 256 << 10

// headers sets the security headers of every portal response, and bounds
// request bodies: a larger form reads as an empty one (and so fails its
// CSRF check).
func (p *Portal) headers(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.Next()
}

// visit is one request of a signed-in (or, on the sign-in pages, an
// anonymous) browser.
type visit struct {
	sess    session
	account *tenant.Account // nil when anonymous
}

// handler is a portal page or action.
type handler func(c *gin.Context, v *visit)

// signedIn runs h for a signed-in account whose POST carries the
// session's CSRF token. Without a valid session a GET goes to the sign-in
// page and a POST is refused.
func (p *Portal) signedIn(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		sess, ok := p.readSession(c)
		var acct *tenant.Account
		if ok && sess.User != "" {
			a, err := p.d.Tenants.Account(c.Request.Context(), sess.User)
			if err == nil && !a.Pending() {
				acct = a
			} else if err != nil && !errors.Is(err, tenant.ErrNotFound) {
				p.fail(c, &visit{sess: sess}, err)
				return
			}
		}
		if acct == nil {
			p.clearCookie(c, sessionCookie)
			if c.Request.Method != http.MethodGet {
				p.renderStatus(c, &visit{}, http.StatusForbidden, "Session ended",
					"You are not signed in, or your session has ended. Sign in again and repeat what you were doing.")
				return
			}
			c.Redirect(http.StatusSeeOther, basePath+"/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
			return
		}
		v := &visit{sess: sess, account: acct}
		if c.Request.Method == http.MethodPost && !p.checkCSRF(c, sess) {
			p.csrfRefused(c, v)
			return
		}
		h(c, v)
	}
}

// anonymous runs h with the browser's session, making an anonymous one
// (for the CSRF token of the sign-in form) when there is none. A POST must
// carry the session's CSRF token.
func (p *Portal) anonymous(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		sess, ok := p.readSession(c)
		if c.Request.Method == http.MethodPost && (!ok || !p.checkCSRF(c, sess)) {
			p.csrfRefused(c, &visit{})
			return
		}
		if !ok {
			sess = p.newSession("", anonymousTTL)
			p.writeSession(c, sess)
		}
		h(c, &visit{sess: sess})
	}
}

func (p *Portal) csrfRefused(c *gin.Context, v *visit) {
	p.log.WarnContext(c.Request.Context(), "portal: form without a valid CSRF token refused", "path", c.Request.URL.Path)
	p.renderStatus(c, v, http.StatusForbidden, "Form refused",
		"The form did not carry a valid security token (it may be from an older session). Go back, reload the page and try again.")
}

// fail answers err of the tenant service as a page. Not-found answers
// never say more than "not found", so that a supplier cannot tell another
// supplier's sandbox from one that does not exist.
func (p *Portal) fail(c *gin.Context, v *visit, err error) {
	var inv *tenant.InvalidError
	var oe *outcome.Error
	switch {
	case errors.Is(err, tenant.ErrNotFound), errors.Is(err, fhirstore.ErrNotFound):
		p.notFound(c, v)
	case errors.Is(err, tenant.ErrForbidden):
		p.renderStatus(c, v, http.StatusForbidden, "Not allowed", "Your account may look at this but not change it.")
	case errors.Is(err, tenant.ErrBusy):
		p.renderStatus(c, v, http.StatusConflict, "Busy", "The sandbox is being reset or deleted right now. Wait a moment and try again.")
	case errors.Is(err, tenant.ErrExists):
		p.renderStatus(c, v, http.StatusConflict, "Already exists", "That id or username is taken. Choose another.")
	case errors.As(err, &inv):
		p.renderStatus(c, v, http.StatusBadRequest, "Not accepted", inv.Error())
	case errors.As(err, &oe) && fhirapi.Status(oe) < 500:
		// A search the store refused: a malformed or stale paging cursor.
		p.renderStatus(c, v, http.StatusBadRequest, "Search not accepted", oe.Error())
	default:
		p.log.ErrorContext(c.Request.Context(), "portal: request failed", "path", c.Request.URL.Path, "err", err)
		p.renderStatus(c, v, http.StatusInternalServerError, "Something went wrong",
			"The portal could not complete the request. Try again; if it keeps failing, tell the operators.")
	}
}

func (p *Portal) notFound(c *gin.Context, v *visit) {
	p.renderStatus(c, v, http.StatusNotFound, "Not found",
		"There is nothing here, or nothing your account may see.")
}

// safeNext returns next if it is a portal path to return to after sign-in,
// else the dashboard: never another site.
func safeNext(next string) string {
	if strings.HasPrefix(next, basePath+"/") && !strings.HasPrefix(next, "//") &&
		!strings.ContainsAny(next, "\\\r\n") && !strings.Contains(next, "..") && !strings.HasPrefix(next, basePath+"/login") {
		return next
	}
	return basePath + "/"
}
