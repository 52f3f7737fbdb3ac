package portal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
	"hpsandbox/sandbox/tenant"
)

// patientsPerPage is the page size of the patient list and picker.
const patientsPerPage = 20

// patientRow is a Patient as the portal lists it.
type patientRow struct {
	ID, Name, BirthDate, Gender string
	Identifiers                 []identifier
}

type identifier struct {
	System, Label, Value string
}

// identifierLabels name the Norwegian person identifier systems.
var identifierLabels = map[string]string{
	"urn:oid:2.16.578.1.12.4.1.4.1": "Fødselsnummer",
	"urn:oid:2.16.578.1.12.4.1.4.2": "D-nummer",
	"urn:oid:2.16.578.1.12.4.1.4.3": "H-nummer",
}

// fhirPatient is the part of a Patient the portal shows.
type fhirPatient struct {
	ID   string `json:"id"`
	Name []struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
	BirthDate  string `json:"birthDate"`
	Gender     string `json:"gender"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
}

func parsePatient(body []byte) patientRow {
	var fp fhirPatient
	_ = json.Unmarshal(body, &fp) // stored bodies are valid FHIR; a surprise shows as blanks
	row := patientRow{ID: fp.ID, BirthDate: fp.BirthDate, Gender: fp.Gender}
	for i, n := range fp.Name {
		if i > 0 && n.Use != "official" {
			continue
		}
		row.Name = n.Text
		if row.Name == "" {
			row.Name = strings.TrimSpace(strings.Join(n.Given, " ") + " " + n.Family)
		}
		if n.Use == "official" {
			break
		}
	}
	if row.Name == "" {
		row.Name = "(no name)"
	}
	for _, id := range fp.Identifier {
		row.Identifiers = append(row.Identifiers, identifier{System: id.System, Label: identifierLabels[id.System], Value: id.Value})
	}
	return row
}

// patientPage is one page of a patient search.
type patientPage struct {
	Rows       []patientRow
	Next, Prev string // cursors, empty at either end
	Total      int    // -1 when not counted
}

// searchPatients searches the sandbox's patients by name, or by
// identifier when text is all digits (a national identity number), in the
// order of family and given name.
func (p *Portal) searchPatients(ctx context.Context, sandbox, text, cursor string, count int) (patientPage, error) {
	params := url.Values{"_count": {strconv.Itoa(count)}, "_total": {"accurate"}, "_sort": {"family,given"}}
	if text = strings.TrimSpace(text); text != "" {
		if strings.Trim(text, "0123456789") == "" {
			params.Set("identifier", text)
		} else {
			params.Set("name", text)
		}
	}
	if cursor != "" {
		params.Set("_cursor", cursor)
	}
	q, err := search.Parse("Patient", params, search.Options{Base: p.d.FHIRBase(sandbox), MaxCount: 100})
	if err != nil {
		return patientPage{}, err
	}
	res, err := p.d.Store.Search(ctx, sandbox, fhirstore.SearchQuery{Type: "Patient", Query: q})
	if err != nil {
		return patientPage{}, err
	}
	pg := patientPage{Next: res.Next, Prev: res.Prev, Total: res.Total}
	for _, r := range res.Matches {
		pg.Rows = append(pg.Rows, parsePatient(r.Body))
	}
	return pg, nil
}

// encounterRow is an Encounter as the portal lists it.
type encounterRow struct {
	ID, Status, Class, Type, Start, End string
}

type fhirEncounter struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Class  struct {
		Code    string `json:"code"`
		Display string `json:"display"`
	} `json:"class"`
	Type []struct {
		Text   string `json:"text"`
		Coding []struct {
			Display string `json:"display"`
		} `json:"coding"`
	} `json:"type"`
	Subject struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	Period struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
}

func parseEncounter(body []byte) (encounterRow, string) {
	var fe fhirEncounter
	_ = json.Unmarshal(body, &fe)
	row := encounterRow{ID: fe.ID, Status: fe.Status, Class: fe.Class.Display, Start: fe.Period.Start, End: fe.Period.End}
	if row.Class == "" {
		row.Class = fe.Class.Code
	}
	if len(fe.Type) > 0 {
		row.Type = fe.Type[0].Text
		if row.Type == "" && len(fe.Type[0].Coding) > 0 {
			row.Type = fe.Type[0].Coding[0].Display
		}
	}
	return row, fe.Subject.Reference
}

// maxEncounters bounds the encounters a patient page lists.
const maxEncounters = 100

// encounters lists a patient's encounters, newest first.
func (p *Portal) encounters(ctx context.Context, sandbox, patient string) ([]encounterRow, error) {
	q, err := search.Parse("Encounter", url.Values{"patient": {"Patient/" + patient}, "_sort": {"-date"},
		"_count": {strconv.Itoa(maxEncounters)}}, search.Options{Base: p.d.FHIRBase(sandbox), MaxCount: maxEncounters})
	if err != nil {
		return nil, err
	}
	res, err := p.d.Store.Search(ctx, sandbox, fhirstore.SearchQuery{Type: "Encounter", Query: q})
	if err != nil {
		return nil, err
	}
	rows := make([]encounterRow, 0, len(res.Matches))
	for _, r := range res.Matches {
		row, _ := parseEncounter(r.Body)
		rows = append(rows, row)
	}
	return rows, nil
}

// readPatient returns a current patient of the sandbox; a deleted or
// unknown one is fhirstore.ErrNotFound.
func (p *Portal) readPatient(ctx context.Context, sandbox, id string) (patientRow, error) {
	r, err := p.d.Store.Read(ctx, sandbox, "Patient", id)
	var gone *fhirstore.GoneError
	if errors.As(err, &gone) {
		err = fhirstore.ErrNotFound
	}
	if err != nil {
		return patientRow{}, err
	}
	return parsePatient(r.Body), nil
}

// patientsData is the patient list's.
type patientsData struct {
	Sandbox *tenant.Sandbox
	Query   string
	Page    patientPage
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
	pg, err := p.searchPatients(ctx, sb.ID, text, c.Query("cursor"), patientsPerPage)
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
	Patient    patientRow
	Encounters []encounterRow
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
	pat, err := p.readPatient(ctx, sb.ID, c.Param("patient"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	encs, err := p.encounters(ctx, sb.ID, pat.ID)
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
