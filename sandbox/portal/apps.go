package portal

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/directory"
	"hpsandbox/sandbox/tenant"
	"hpsandbox/smart"
)

// appForm is the register form's values and error, kept when it is shown
// again.
type appForm struct {
	Name, Type, RedirectURIs, LaunchURL, Scopes, JWKS, JWKSURL string
	// HelseID, DPoPBound and VKPID are the HelseID profile's fields, as
	// the admin API takes them (tenant.NewApp).
	HelseID, DPoPBound bool
	VKPID              string
	Error              string
}

// choice is one option of a form.
type choice struct{ Value, Label string }

// appTypes are the choices of the register form.
var appTypes = []choice{
	{smart.Public.String(), "Public (browser or native app, PKCE, no secret)"},
	{smart.ConfidentialSymmetric.String(), "Confidential, client secret"},
	{smart.ConfidentialAsymmetric.String(), "Confidential, private key JWT (backend services)"},
}

// newAppData is the register form page's.
type newAppData struct {
	Sandbox       *tenant.Sandbox
	Form          appForm
	Types         []choice
	DefaultScopes string
}

func (p *Portal) newAppPage(c *gin.Context, v *visit) {
	sb, ok := p.changeable(c, v)
	if !ok {
		return
	}
	p.showAppForm(c, v, http.StatusOK, sb, appForm{Type: smart.Public.String()})
}

func (p *Portal) showAppForm(c *gin.Context, v *visit, status int, sb *tenant.Sandbox, form appForm) {
	p.render(c, v, status, "app_new", "Register an app", newAppData{
		Sandbox: sb, Form: form, Types: appTypes, DefaultScopes: tenant.DefaultAppScopes})
}

// registeredData is the page shown once after registering.
type registeredData struct {
	Sandbox  *tenant.Sandbox
	App      *tenant.App
	Secret   string
	FHIRBase string
}

// registerApp registers an app and shows its client id and, this once,
// its secret.
func (p *Portal) registerApp(c *gin.Context, v *visit) {
	sb, ok := p.changeable(c, v)
	if !ok {
		return
	}
	form := appForm{Name: c.PostForm("name"), Type: c.PostForm("type"), RedirectURIs: c.PostForm("redirect_uris"),
		LaunchURL: strings.TrimSpace(c.PostForm("launch_url")), Scopes: c.PostForm("scopes"),
		JWKS: strings.TrimSpace(c.PostForm("jwks")), JWKSURL: strings.TrimSpace(c.PostForm("jwks_url")),
		HelseID: c.PostForm("helseid") == "on", DPoPBound: c.PostForm("dpop_bound_access_tokens") == "on",
		VKPID: strings.TrimSpace(c.PostForm("vkp_id"))}
	req := tenant.NewApp{Name: form.Name, Type: form.Type, RedirectURIs: strings.Fields(form.RedirectURIs),
		LaunchURL: form.LaunchURL, Scopes: form.Scopes, JWKSURL: form.JWKSURL,
		HelseID: form.HelseID, DPoPBoundAccessTokens: form.DPoPBound, VKPID: form.VKPID}
	if form.JWKS != "" {
		if !json.Valid([]byte(form.JWKS)) {
			form.Error = `jwks: not JSON; paste a JSON Web Key Set, {"keys":[…]}, with the public keys only.`
			p.showAppForm(c, v, http.StatusBadRequest, sb, form)
			return
		}
		req.JWKS = json.RawMessage(form.JWKS)
	}
	app, secret, err := p.d.Tenants.RegisterApp(c.Request.Context(), v.account, sb.ID, req)
	var inv *tenant.InvalidError
	if errors.As(err, &inv) {
		form.Error = inv.Error()
		p.showAppForm(c, v, http.StatusBadRequest, sb, form)
		return
	}
	if err != nil {
		p.fail(c, v, err)
		return
	}
	p.log.InfoContext(c.Request.Context(), "portal: app registered", "sandbox", sb.ID, "client_id", app.ClientID, "by", v.account.Username)
	p.render(c, v, http.StatusCreated, "app_registered", "App registered", registeredData{
		Sandbox: sb, App: app, Secret: secret, FHIRBase: p.d.FHIRBase(sb.ID)})
}

// appData is the app page's.
type appData struct {
	Sandbox   *tenant.Sandbox
	App       *tenant.App
	FHIRBase  string
	CanChange bool
}

func (p *Portal) appPage(c *gin.Context, v *visit) {
	ctx := c.Request.Context()
	sb, err := p.d.Tenants.SandboxFor(ctx, v.account, c.Param("sb"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	app, err := p.d.Tenants.App(ctx, v.account, sb.ID, c.Param("app"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	p.render(c, v, http.StatusOK, "app", app.Name, appData{Sandbox: sb, App: app,
		FHIRBase: p.d.FHIRBase(sb.ID), CanChange: v.account.CanChange(sb)})
}

func (p *Portal) deleteApp(c *gin.Context, v *visit) {
	sb, ok := p.changeable(c, v)
	if !ok {
		return
	}
	if err := p.d.Tenants.DeleteApp(c.Request.Context(), v.account, sb.ID, c.Param("app")); err != nil {
		p.fail(c, v, err)
		return
	}
	p.log.InfoContext(c.Request.Context(), "portal: app deleted", "sandbox", sb.ID, "client_id", c.Param("app"), "by", v.account.Username)
	c.Redirect(http.StatusSeeOther, sandboxPath(sb.ID)+"?done=app-deleted")
}

// launchData is the launch picker's: first a patient, then (optionally)
// one of the patient's encounters.
type launchData struct {
	Sandbox *tenant.Sandbox
	App     *tenant.App
	// Patient is the chosen patient; nil while choosing.
	Patient    *directory.Patient
	Encounters []directory.Encounter
	// Query, Page, NextURL and PrevURL are the patient search.
	Query            string
	Page             directory.PatientPage
	NextURL, PrevURL string
	// LaunchURL is a loopback launch URL given instead of the registered
	// one; Error says what was wrong with the last attempt.
	LaunchURL, Error string
}

// launchApp returns the sandbox and app of the request if the account may
// see them (anyone who may see a sandbox may launch its apps: a launch
// changes no data), having answered the request otherwise.
func (p *Portal) launchApp(c *gin.Context, v *visit) (*tenant.Sandbox, *tenant.App, bool) {
	ctx := c.Request.Context()
	sb, err := p.d.Tenants.SandboxFor(ctx, v.account, c.Param("sb"))
	if err != nil {
		p.fail(c, v, err)
		return nil, nil, false
	}
	app, err := p.d.Tenants.App(ctx, v.account, sb.ID, c.Param("app"))
	if err != nil {
		p.fail(c, v, err)
		return nil, nil, false
	}
	return sb, app, true
}

func (p *Portal) launchPage(c *gin.Context, v *visit) {
	sb, app, ok := p.launchApp(c, v)
	if !ok {
		return
	}
	p.showLaunch(c, v, http.StatusOK, sb, app, "")
}

func (p *Portal) showLaunch(c *gin.Context, v *visit, status int, sb *tenant.Sandbox, app *tenant.App, launchErr string) {
	ctx := c.Request.Context()
	d := launchData{Sandbox: sb, App: app, LaunchURL: c.Query("launch_url"), Error: launchErr}
	if id := c.Query("patient"); id != "" {
		pat, err := p.dir().Patient(ctx, sb.ID, id)
		if err != nil {
			p.fail(c, v, err)
			return
		}
		encs, err := p.dir().Encounters(ctx, sb.ID, pat.ID, maxEncounters)
		if err != nil {
			p.fail(c, v, err)
			return
		}
		d.Patient, d.Encounters = &pat, encs
	} else {
		d.Query = c.Query("q")
		pg, err := p.dir().Patients(ctx, sb.ID, d.Query, c.Query("cursor"), patientsPerPage)
		if err != nil {
			p.fail(c, v, err)
			return
		}
		d.Page = pg
		path := launchPath(sb.ID, app.ClientID)
		d.NextURL, d.PrevURL = pageURL(path, "q", d.Query, "cursor", pg.Next), pageURL(path, "q", d.Query, "cursor", pg.Prev)
	}
	p.render(c, v, status, "launch", "Launch "+app.Name, d)
}

// launchStart checks the picked context and sends the browser to the
// gateway's EHR-launch endpoint, which sends it on to the app.
func (p *Portal) launchStart(c *gin.Context, v *visit) {
	sb, app, ok := p.launchApp(c, v)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	patient, encounter, launchURL := c.Query("patient"), c.Query("encounter"), strings.TrimSpace(c.Query("launch_url"))
	if patient == "" {
		p.notFound(c, v)
		return
	}
	if _, err := p.dir().Patient(ctx, sb.ID, patient); err != nil {
		p.fail(c, v, err)
		return
	}
	if encounter != "" {
		r, err := p.d.Store.Read(ctx, fhirstore.Sandbox(sb.ID), "Encounter", encounter)
		if err != nil {
			p.showLaunch(c, v, http.StatusBadRequest, sb, app, "That encounter is not in the sandbox; choose another.")
			return
		}
		if directory.ParseEncounter(r.Body).Subject != "Patient/"+patient {
			p.showLaunch(c, v, http.StatusBadRequest, sb, app, "That encounter is not one of the patient's; choose another.")
			return
		}
	}
	switch {
	case launchURL != "" && !smart.IsLoopbackURL(launchURL):
		p.showLaunch(c, v, http.StatusBadRequest, sb, app,
			"A launch URL given here must be a loopback http URL, such as http://127.0.0.1:8765/launch; other apps launch at their registered URL.")
		return
	case launchURL == "" && app.LaunchURL == "":
		p.showLaunch(c, v, http.StatusBadRequest, sb, app,
			"The app has no registered launch URL; give a loopback launch URL, or register the app with one.")
		return
	}
	q := url.Values{"client_id": {app.ClientID}, "patient": {patient}}
	if encounter != "" {
		q.Set("encounter", encounter)
	}
	if launchURL != "" {
		q.Set("launch_url", launchURL)
	}
	p.log.InfoContext(ctx, "portal: app launched", "sandbox", sb.ID, "client_id", app.ClientID, "by", v.account.Username)
	c.Redirect(http.StatusSeeOther, p.d.EHRLaunchPath+"?"+q.Encode())
}

// launchPath is the launch picker's path.
func launchPath(sandbox, clientID string) string {
	return sandboxPath(sandbox) + "/apps/" + url.PathEscape(clientID) + "/launch"
}
