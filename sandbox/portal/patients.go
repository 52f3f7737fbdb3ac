package portal

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/directory"
	"hpsandbox/sandbox/tenant"
)

// patientsPerPage is the page size of the patient list and picker.
const patientsPerPage = 20

// dir reads the patients and encounters the pages list, as the SMART
// pickers show them.
func (p *Portal) dir() directory.Directory {
	return directory.Directory{Store: p.d.Store}
}

// maxEncounters bounds the encounters a patient page lists.
const maxEncounters = 100

// patientsData is the patient list's.
type patientsData struct {
	Sandbox *tenant.Sandbox
	Query   string
	Page    directory.PatientPage
	// NextURL and PrevURL page the list, keeping the search.
	NextURL, PrevURL string
}

func (p *Portal) patientsPage(c *gin.Context, v *visit) {
	ctx := c.Request.Context()
	sb, err := p.d.Tenants.SandboxFor(ctx, v.account, c.Param("sb"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	text := c.Query("q")
	pg, err := p.dir().Patients(ctx, sb.ID, text, c.Query("cursor"), patientsPerPage)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	p.render(c, v, http.StatusOK, "patients", "Patients of "+sb.Name, patientsData{
		Sandbox: sb, Query: text, Page: pg,
		NextURL: pageURL(c.Request.URL.Path, "q", text, "cursor", pg.Next),
		PrevURL: pageURL(c.Request.URL.Path, "q", text, "cursor", pg.Prev),
	})
}

// pageURL is path with the query of the given name-value pairs, or "" when
// the last value (the cursor) is empty: there is no such page.
func pageURL(path string, kv ...string) string {
	if kv[len(kv)-1] == "" {
		return ""
	}
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return path + "?" + q.Encode()
}

// patientData is the patient page's.
type patientData struct {
	Sandbox    *tenant.Sandbox
	FHIRBase   string
	Patient    directory.Patient
	Encounters []directory.Encounter
	// Launchable are the sandbox's apps with a launch URL.
	Launchable []*tenant.App
}

func (p *Portal) patientPage(c *gin.Context, v *visit) {
	ctx := c.Request.Context()
	sb, err := p.d.Tenants.SandboxFor(ctx, v.account, c.Param("sb"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	pat, err := p.dir().Patient(ctx, sb.ID, c.Param("patient"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	encs, err := p.dir().Encounters(ctx, sb.ID, pat.ID, maxEncounters)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	apps, err := p.d.Tenants.Apps(ctx, v.account, sb.ID)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	d := patientData{Sandbox: sb, FHIRBase: p.d.FHIRBase(sb.ID), Patient: pat, Encounters: encs}
	for _, a := range apps {
		if a.LaunchURL != "" {
			d.Launchable = append(d.Launchable, a)
		}
	}
	p.render(c, v, http.StatusOK, "patient", pat.Name, d)
}
