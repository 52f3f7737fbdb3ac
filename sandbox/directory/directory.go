// Package directory reads a sandbox's patients, practitioners and
// encounters for the pages that list them to people: the SMART login page
// and launch pickers, and the portal's patient pages. It renders them one
// way for all (a name is the official one, else the first; an encounter is
// its type, else its class), so that a patient looks the same wherever it
// is picked.
//
// It is not a FHIR API: it reads through fhirstore, outside any token's
// scopes, for pages whose own access rules decide who sees them.
package directory

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

// Directory reads from a store.
type Directory struct {
	Store fhirstore.Store
}

// Patient is a Patient as the pages show it.
type Patient struct {
	ID, Name, BirthDate, Gender string
	Identifiers                 []Identifier
}

// Identifier is one of a patient's identifiers; Label names the Norwegian
// person identifier systems.
type Identifier struct {
	System, Label, Value string
}

// identifierLabels name the Norwegian person identifier systems.
var identifierLabels = map[string]string{
	"urn:oid:2.16.578.1.12.4.1.4.1": "Fødselsnummer",
	"urn:oid:2.16.578.1.12.4.1.4.2": "D-nummer",
	"urn:oid:2.16.578.1.12.4.1.4.3": "H-nummer",
}

// Practitioner is a Practitioner as the pages show it.
type Practitioner struct {
	ID, Name string
}

// Encounter is an Encounter as the pages show it.
type Encounter struct {
	ID, Status, Class, Type string
	// Start and End are the period's, as written.
	Start, End string
	// Subject is the reference to the patient ("Patient/id").
	Subject string
}

// Description is the encounter's type, else its class.
func (e Encounter) Description() string {
	if e.Type != "" {
		return e.Type
	}
	return e.Class
}

// Period is the encounter's days: "2024-03-01", or "2024-03-01 – 2024-03-04"
// when it ends on another day.
func (e Encounter) Period() string {
	p := day(e.Start)
	if e.End != "" && day(e.End) != p {
		p += " – " + day(e.End)
	}
	return p
}

// day is the date part of a FHIR dateTime.
func day(dt string) string {
	if len(dt) > 10 {
		return dt[:10]
	}
	return dt
}

// humanName is the part of a FHIR HumanName the pages show.
type humanName struct {
	Use    string   `json:"use"`
	Text   string   `json:"text"`
	Family string   `json:"family"`
	Given  []string `json:"given"`
}

// noName stands for the name of a person who has none.
const noName = "(no name)"

// name picks the official name, else the first, as its text or "Given
// Family"; noName when there is none.
func name(names []humanName) string {
	if len(names) == 0 {
		return noName
	}
	n := names[0]
	for _, c := range names {
		if c.Use == "official" {
			n = c
			break
		}
	}
	if n.Text != "" {
		return n.Text
	}
	if s := strings.TrimSpace(strings.Join(append(append([]string(nil), n.Given...), n.Family), " ")); s != "" {
		return s
	}
	return noName
}

// ParsePatient reads a stored Patient. Stored bodies are valid FHIR; an
// unexpected one shows with blanks.
func ParsePatient(body []byte) Patient {
	var p struct {
		ID         string      `json:"id"`
		Name       []humanName `json:"name"`
		BirthDate  string      `json:"birthDate"`
		Gender     string      `json:"gender"`
		Identifier []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	_ = json.Unmarshal(body, &p)
	out := Patient{ID: p.ID, Name: name(p.Name), BirthDate: p.BirthDate, Gender: p.Gender}
	for _, id := range p.Identifier {
		out.Identifiers = append(out.Identifiers, Identifier{System: id.System, Label: identifierLabels[id.System], Value: id.Value})
	}
	return out
}

// ParsePractitioner reads a stored Practitioner.
func ParsePractitioner(body []byte) Practitioner {
	var p struct {
		ID   string      `json:"id"`
		Name []humanName `json:"name"`
	}
	_ = json.Unmarshal(body, &p)
	return Practitioner{ID: p.ID, Name: name(p.Name)}
}

// ParseEncounter reads a stored Encounter.
func ParseEncounter(body []byte) Encounter {
	var e struct {
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
	_ = json.Unmarshal(body, &e)
	out := Encounter{ID: e.ID, Status: e.Status, Class: e.Class.Display, Start: e.Period.Start, End: e.Period.End,
		Subject: e.Subject.Reference}
	if out.Class == "" {
		out.Class = e.Class.Code
	}
	if len(e.Type) > 0 {
		out.Type = e.Type[0].Text
		if out.Type == "" && len(e.Type[0].Coding) > 0 {
			out.Type = e.Type[0].Coding[0].Display
		}
	}
	return out
}

// PatientPage is one page of a patient search.
type PatientPage struct {
	Patients []Patient
	// Next and Prev are cursors of the neighbouring pages, empty at either
	// end.
	Next, Prev string
	// Total is the number of matches, or -1 when not counted.
	Total int
}

// Patients searches the sandbox's patients in the order of family and
// given name: by name, or by identifier when text is all digits (a
// national identity number); all of them when text is empty. Cursor
// continues an earlier page.
func (d Directory) Patients(ctx context.Context, sandbox, text, cursor string, count int) (PatientPage, error) {
	params := url.Values{"_count": {strconv.Itoa(count)}, "_total": {"accurate"}, "_sort": {"family,given,_id"}}
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
	q, err := search.Parse("Patient", params, search.Options{MaxCount: max(count, 1)})
	if err != nil {
		return PatientPage{}, err
	}
	res, err := d.Store.Search(ctx, fhirstore.Sandbox(sandbox), fhirstore.SearchQuery{Query: q})
	if err != nil {
		return PatientPage{}, err
	}
	pg := PatientPage{Next: res.Next, Prev: res.Prev, Total: res.Total}
	for _, r := range res.Matches {
		pg.Patients = append(pg.Patients, ParsePatient(r.Body))
	}
	return pg, nil
}

// Patient reads a current patient; a deleted or unknown one is
// fhirstore.ErrNotFound.
func (d Directory) Patient(ctx context.Context, sandbox, id string) (Patient, error) {
	r, err := d.Store.Read(ctx, fhirstore.Sandbox(sandbox), "Patient", id)
	var gone *fhirstore.GoneError
	if errors.As(err, &gone) {
		err = fhirstore.ErrNotFound
	}
	if err != nil {
		return Patient{}, err
	}
	return ParsePatient(r.Body), nil
}

// Practitioners lists up to limit of the sandbox's practitioners, by
// family and given name.
func (d Directory) Practitioners(ctx context.Context, sandbox string, limit int) ([]Practitioner, error) {
	q, err := search.Parse("Practitioner", url.Values{"_count": {strconv.Itoa(limit)}, "_sort": {"family,given,_id"}},
		search.Options{MaxCount: max(limit, 1)})
	if err != nil {
		return nil, err
	}
	res, err := d.Store.Search(ctx, fhirstore.Sandbox(sandbox), fhirstore.SearchQuery{Query: q})
	if err != nil {
		return nil, err
	}
	out := make([]Practitioner, 0, len(res.Matches))
	for _, r := range res.Matches {
		out = append(out, ParsePractitioner(r.Body))
	}
	return out, nil
}

// Encounters lists up to limit of the patient's encounters, newest first.
func (d Directory) Encounters(ctx context.Context, sandbox, patient string, limit int) ([]Encounter, error) {
	q, err := search.Parse("Encounter", url.Values{"patient": {"Patient/" + patient}, "_sort": {"-date"},
		"_count": {strconv.Itoa(limit)}}, search.Options{MaxCount: max(limit, 1)})
	if err != nil {
		return nil, err
	}
	res, err := d.Store.Search(ctx, fhirstore.Sandbox(sandbox), fhirstore.SearchQuery{Query: q})
	if err != nil {
		return nil, err
	}
	out := make([]Encounter, 0, len(res.Matches))
	for _, r := range res.Matches {
		out = append(out, ParseEncounter(r.Body))
	}
	return out, nil
}
