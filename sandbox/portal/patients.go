package portal

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"sort"

	"github.com/gin-gonic/gin"

	"hpsandbox/fixtures"
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

// maxObservationRows bounds the observations the chart's table lists,
// newest first; the plots use them all.
const maxObservationRows = 60

// patientData is the patient page's: the patient's chart.
type patientData struct {
	Sandbox  *tenant.Sandbox
	FHIRBase string
	Patient  directory.Patient
	// Persona is the curated persona the patient is, if any: who it is
	// and what it is good for testing.
	Persona *fixtures.Persona
	// Problems, Medications, Allergies and Devices are the chart's
	// sections; Encounters newest first.
	Problems, Medications, Allergies, Devices []clinicalRow
	Encounters                                []directory.Encounter
	// Observations are the newest observations; ObservationCount all of
	// them.
	Observations     []observationRow
	ObservationCount int
	// Plots are the trend plots, one per measure with two values or more.
	Plots []plotView
	// Launchable are the sandbox's apps with a launch URL.
	Launchable []*tenant.App
}

// observationRow is one line of the observations table.
type observationRow struct {
	ID, When, Category, Text, Value, Status string
}

// plotView is a trend plot as the page embeds it.
type plotView struct {
	Title string
	SVG   template.HTML
}

// personas are the curated personas by patient id.
var personas = func() map[string]fixtures.Persona {
	m := map[string]fixtures.Persona{}
	for _, ps := range fixtures.Personas() {
		m[ps.ID] = ps
	}
	return m
}()

// patientPage shows the patient's chart. Everything on it is read from
// the one sandbox the account may see, found by SandboxFor: a patient of
// another sandbox is not found.
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
	d := patientData{Sandbox: sb, FHIRBase: p.d.FHIRBase(sb.ID), Patient: pat}
	if ps, ok := personas[pat.ID]; ok {
		d.Persona = &ps
	}
	if d.Encounters, err = p.dir().Encounters(ctx, sb.ID, pat.ID, maxEncounters); err != nil {
		p.fail(c, v, err)
		return
	}
	if err := p.readChart(ctx, sb.ID, pat.ID, &d); err != nil {
		p.fail(c, v, err)
		return
	}
	apps, err := p.d.Tenants.Apps(ctx, v.account, sb.ID)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	for _, a := range apps {
		if a.LaunchURL != "" {
			d.Launchable = append(d.Launchable, a)
		}
	}
	p.render(c, v, http.StatusOK, "patient", pat.Name, d)
}

// readChart fills the chart's sections and plots from the sandbox.
func (p *Portal) readChart(ctx context.Context, sandbox, patient string, d *patientData) error {
	sections := []struct {
		typ, sort string
		dst       *[]clinicalRow
		parse     func([]byte) clinicalRow
	}{
		{"Condition", "", &d.Problems, parseCondition},
		{"MedicationStatement", "", &d.Medications, func(b []byte) clinicalRow { return parseMedication("MedicationStatement", b) }},
		{"MedicationRequest", "", &d.Medications, func(b []byte) clinicalRow { return parseMedication("MedicationRequest", b) }},
		{"AllergyIntolerance", "", &d.Allergies, parseAllergy},
		{"Device", "", &d.Devices, parseDevice},
	}
	for _, s := range sections {
		rs, err := p.searchPatient(ctx, sandbox, s.typ, patient, s.sort)
		if err != nil {
			return err
		}
		for _, r := range rs {
			*s.dst = append(*s.dst, s.parse(r.Body))
		}
	}
	for _, rows := range [][]clinicalRow{d.Problems, d.Medications, d.Allergies} {
		// Newest first, as the encounters.
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].When > rows[j].When })
	}
	rs, err := p.searchPatient(ctx, sandbox, "Observation", patient, "-date")
	if err != nil {
		return err
	}
	obs := make([]*observation, 0, len(rs))
	for _, r := range rs {
		var o observation
		if json.Unmarshal(r.Body, &o) != nil {
			continue
		}
		obs = append(obs, &o)
	}
	d.ObservationCount = len(obs)
	for _, o := range obs[:min(len(obs), maxObservationRows)] {
		d.Observations = append(d.Observations, observationRow{ID: "Observation/" + o.ID, When: shortTime(firstOf(o.Effective, o.EffPeriod.Start, o.Issued)),
			Category: o.category(), Text: o.Code.String(), Value: o.valueText(), Status: o.Status})
	}
	for _, t := range trends(obs) {
		// The chart package escapes every text it writes, and its output
		// is well-formed XML (fuzzed), so it may go into the page as is.
		d.Plots = append(d.Plots, plotView{Title: t.Title, SVG: template.HTML(t.SVG)}) //nolint:gosec // see above
	}
	return nil
}
