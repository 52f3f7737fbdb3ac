package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/directory"
	"hpsandbox/sandbox/tenant"
)

// notices are the fixed confirmations a redirect after a change may ask
// for with ?done=…; the query never puts its own text on a page.
var notices = map[string]string{
	"created":         "The sandbox was created and seeded.",
	"reset":           "The sandbox was reset: its data is back to the seeded state. Apps and settings are unchanged.",
	"settings":        "The settings were saved.",
	"deleted":         "The sandbox, its apps and its data were deleted.",
	"app-deleted":     "The app was deleted; its tokens stop working.",
	"token-revoked":   "The initial access token was revoked; apps registered with it stay.",
	"account":         "The account was created.",
	"account-del":     "The account was deleted.",
	"approved":        "The account was approved; it can sign in now.",
	"rejected":        "The sign-up was rejected and its account removed.",
	"signup-settings": "The sign-up setting was saved.",
}

// dashboardData is the dashboard's.
type dashboardData struct {
	Sandboxes []sandboxRow
	// CanCreate shows the create form; AskSupplier its supplier field
	// (operators create sandboxes for any supplier).
	CanCreate, AskSupplier bool
	Form                   sandboxForm
	Notice                 string
}

type sandboxRow struct {
	*tenant.Sandbox
	FHIRBase string
}

// sandboxForm is the create form's values and error, kept when it is
// shown again.
type sandboxForm struct {
	ID, Name, Supplier, SeedPatients string
	Error                            string
}

func (p *Portal) dashboard(c *gin.Context, v *visit) {
	p.showDashboard(c, v, http.StatusOK, sandboxForm{})
}

func (p *Portal) showDashboard(c *gin.Context, v *visit, status int, form sandboxForm) {
	sbs, err := p.d.Tenants.Sandboxes(c.Request.Context(), v.account)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	d := dashboardData{Form: form, Notice: notices[c.Query("done")],
		CanCreate:   v.account.Role == tenant.RoleOperator || (v.account.Role == tenant.RoleSupplier && v.account.Supplier != ""),
		AskSupplier: v.account.Role == tenant.RoleOperator}
	for _, sb := range sbs {
		d.Sandboxes = append(d.Sandboxes, sandboxRow{Sandbox: sb, FHIRBase: p.d.FHIRBase(sb.ID)})
	}
	if d.Form.SeedPatients == "" {
		d.Form.SeedPatients = strconv.Itoa(tenant.DefaultSeedPatients)
	}
	p.render(c, v, status, "dashboard", "Sandboxes", d)
}

// createSandbox creates and seeds a sandbox, which takes a few seconds.
func (p *Portal) createSandbox(c *gin.Context, v *visit) {
	form := sandboxForm{ID: strings.TrimSpace(c.PostForm("id")), Name: c.PostForm("name"),
		Supplier: strings.TrimSpace(c.PostForm("supplier")), SeedPatients: strings.TrimSpace(c.PostForm("seed_patients"))}
	req := tenant.NewSandbox{ID: form.ID, Name: form.Name, Supplier: form.Supplier}
	if form.SeedPatients != "" {
		n, err := strconv.Atoi(form.SeedPatients)
		if err != nil {
			form.Error = "Generated patients: want a whole number from 0 to " + strconv.Itoa(tenant.MaxSeedPatients) + "."
			p.showDashboard(c, v, http.StatusBadRequest, form)
			return
		}
		req.SeedPatients = &n
	}
	sb, err := p.d.Tenants.CreateSandbox(c.Request.Context(), v.account, req)
	var inv *tenant.InvalidError
	switch {
	case errors.As(err, &inv):
		form.Error = inv.Error()
		p.showDashboard(c, v, http.StatusBadRequest, form)
	case errors.Is(err, tenant.ErrExists):
		form.Error = "A sandbox with id " + strconv.Quote(form.ID) + " exists already; choose another id."
		p.showDashboard(c, v, http.StatusConflict, form)
	case err != nil:
		p.fail(c, v, err)
	default:
		c.Redirect(http.StatusSeeOther, sandboxPath(sb.ID)+"?done=created")
	}
}

// sandboxData is the sandbox page's.
type sandboxData struct {
	Sandbox   *tenant.Sandbox
	FHIRBase  string
	CanChange bool
	// Deletable is false for the default sandbox, which can only be reset.
	Deletable bool
	Apps      []*tenant.App
	// Tokens are the sandbox's initial access tokens, Lifetimes the
	// choices of the form that issues them.
	Tokens    []*tenant.RegistrationToken
	Lifetimes []tokenLifetime
	Patients  []directory.Patient
	// MorePatients says the preview does not show them all.
	MorePatients bool
	Notice       string
	Error        string
}

// sandboxPreviewPatients is how many patients the sandbox page lists.
const sandboxPreviewPatients = 10

func (p *Portal) sandboxPage(c *gin.Context, v *visit) {
	p.showSandbox(c, v, http.StatusOK, "")
}

func (p *Portal) showSandbox(c *gin.Context, v *visit, status int, formError string) {
	ctx := c.Request.Context()
	sb, err := p.d.Tenants.SandboxFor(ctx, v.account, c.Param("sb"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	apps, err := p.d.Tenants.Apps(ctx, v.account, sb.ID)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	tokens, err := p.d.Tenants.RegistrationTokens(ctx, v.account, sb.ID)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	pats, err := p.dir().Patients(ctx, sb.ID, "", "", sandboxPreviewPatients)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	p.render(c, v, status, "sandbox", sb.Name, sandboxData{
		Sandbox: sb, FHIRBase: p.d.FHIRBase(sb.ID), CanChange: v.account.CanChange(sb),
		Deletable: sb.ID != fhirstore.DefaultSandbox, Apps: apps, Tokens: tokens, Lifetimes: tokenLifetimes,
		Patients: pats.Patients, MorePatients: pats.Next != "",
		Notice: notices[c.Query("done")], Error: formError,
	})
}

// changeable returns the sandbox of the request's path if the account may
// change it, having answered the request (404 or 403) otherwise. It runs
// before a form is read, so that a form's errors never tell a supplier
// anything of a sandbox it may not see.
func (p *Portal) changeable(c *gin.Context, v *visit) (*tenant.Sandbox, bool) {
	sb, err := p.d.Tenants.SandboxFor(c.Request.Context(), v.account, c.Param("sb"))
	if err == nil && !v.account.CanChange(sb) {
		err = tenant.ErrForbidden
	}
	if err != nil {
		p.fail(c, v, err)
		return nil, false
	}
	return sb, true
}

// updateSandbox saves the name and settings.
func (p *Portal) updateSandbox(c *gin.Context, v *visit) {
	sb, ok := p.changeable(c, v)
	if !ok {
		return
	}
	name := c.PostForm("name")
	set := tenant.Settings{
		Secured: c.PostForm("secured") != "", SkipLogin: c.PostForm("skip_login") != "",
		SkipConsent: c.PostForm("skip_consent") != "", DynamicRegistration: c.PostForm("dynamic_registration") != "",
		RegistrationScopes: strings.Join(strings.Fields(c.PostForm("registration_scopes")), " "),
		ProfileEnforcement: tenant.ProfileEnforcement{Declared: c.PostForm("enforce_declared") != ""},
	}
	required, err := parseRequiredProfiles(c.PostForm("required_profiles"))
	if err != nil {
		p.showSandbox(c, v, http.StatusBadRequest, "required_profiles: "+err.Error())
		return
	}
	set.ProfileEnforcement.Required = required
	for field, dst := range map[string]*int{"access_token_seconds": &set.AccessTokenSeconds, "refresh_token_seconds": &set.RefreshTokenSeconds} {
		raw := strings.TrimSpace(c.PostForm(field))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			p.showSandbox(c, v, http.StatusBadRequest, field+": want a whole number of seconds, or empty for the default.")
			return
		}
		*dst = n
	}
	_, err = p.d.Tenants.UpdateSandbox(c.Request.Context(), v.account, sb.ID, &name, &set)
	var inv *tenant.InvalidError
	switch {
	case errors.As(err, &inv):
		p.showSandbox(c, v, http.StatusBadRequest, inv.Error())
	case err != nil:
		p.fail(c, v, err)
	default:
		c.Redirect(http.StatusSeeOther, sandboxPath(sb.ID)+"?done=settings")
	}
}

// resetSandbox returns the sandbox's data to its seed.
func (p *Portal) resetSandbox(c *gin.Context, v *visit) {
	sb, ok := p.changeable(c, v)
	if !ok {
		return
	}
	// A reset that has started finishes even if the browser goes away.
	if _, err := p.d.Tenants.ResetSandbox(context.WithoutCancel(c.Request.Context()), v.account, sb.ID); err != nil {
		p.fail(c, v, err)
		return
	}
	c.Redirect(http.StatusSeeOther, sandboxPath(sb.ID)+"?done=reset")
}

// deleteSandbox removes the sandbox, its apps and its data.
func (p *Portal) deleteSandbox(c *gin.Context, v *visit) {
	sb, ok := p.changeable(c, v)
	if !ok {
		return
	}
	if err := p.d.Tenants.DeleteSandbox(context.WithoutCancel(c.Request.Context()), v.account, sb.ID); err != nil {
		p.fail(c, v, err)
		return
	}
	c.Redirect(http.StatusSeeOther, basePath+"/?done=deleted")
}

// sandboxPath is the sandbox page's path.
func sandboxPath(id string) string { return basePath + "/sandboxes/" + id }

// parseRequiredProfiles reads the form's required profiles: one
// "ResourceType canonical-URL" pair a line; the tenant registry checks
// the types and URLs.
func parseRequiredProfiles(text string) (map[string][]string, error) {
	var out map[string][]string
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 0:
			continue
		case 2:
		default:
			return nil, fmt.Errorf("line %d: want a resource type and a profile's canonical URL, such as Observation http://hl7.org/fhir/StructureDefinition/heartrate", i+1)
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[f[0]] = append(out[f[0]], f[1])
	}
	return out, nil
}

// requiredProfilesText writes required profiles as the form reads them,
// sorted by type.
func requiredProfilesText(required map[string][]string) string {
	types := make([]string, 0, len(required))
	for typ := range required {
		types = append(types, typ)
	}
	slices.Sort(types)
	var b strings.Builder
	for _, typ := range types {
		for _, u := range required[typ] {
			b.WriteString(typ + " " + u + "\n")
		}
	}
	return b.String()
}
