package sandbox

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
	"hpsandbox/smart"
)

// pickerLimit bounds the rows of the launch pickers and the login page.
const pickerLimit = 200

// directory lists a sandbox's patients, practitioners and encounters for
// the SMART login page and launch pickers, from the store.
type directory struct{ store fhirstore.Store }

var (
	_ smart.PatientLister      = directory{}
	_ smart.PractitionerLister = directory{}
	_ smart.EncounterLister    = directory{}
)

// humanName is the part of a FHIR HumanName the pages show.
type humanName struct {
	Use    string   `json:"use"`
	Text   string   `json:"text"`
	Family string   `json:"family"`
	Given  []string `json:"given"`
}

// display picks the official name, else the first, as "Given Family".
func display(names []humanName) string {
	if len(names) == 0 {
		return ""
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
	return strings.TrimSpace(strings.Join(append(append([]string(nil), n.Given...), n.Family), " "))
}

func (d directory) list(ctx context.Context, typ string, limit int) ([]*fhirstore.Resource, error) {
	page, err := d.store.Search(ctx, sandboxOr(smart.SandboxFromContext(ctx)), fhirstore.SearchQuery{Type: typ, Count: limit})
	if err != nil {
		return nil, err
	}
	return page.Matches, nil
}

// sandboxOr maps a client registered without a sandbox to the default one.
func sandboxOr(s string) string {
	if s == "" {
		return fhirstore.DefaultSandbox
	}
	return s
}

// ListPatients implements smart.PatientLister.
func (d directory) ListPatients(ctx context.Context) ([]smart.PatientSummary, error) {
	rs, err := d.list(ctx, "Patient", pickerLimit)
	if err != nil {
		return nil, err
	}
	out := make([]smart.PatientSummary, 0, len(rs))
	for _, r := range rs {
		var p struct {
			Name      []humanName `json:"name"`
			BirthDate string      `json:"birthDate"`
		}
		_ = json.Unmarshal(r.Body, &p) // stored bodies are valid; a bad one shows without a name
		out = append(out, smart.PatientSummary{ID: r.ID, Name: display(p.Name), BirthDate: p.BirthDate})
	}
	return out, nil
}

// ListPractitioners implements smart.PractitionerLister.
func (d directory) ListPractitioners(ctx context.Context) ([]smart.PractitionerSummary, error) {
	rs, err := d.list(ctx, "Practitioner", pickerLimit)
	if err != nil {
		return nil, err
	}
	out := make([]smart.PractitionerSummary, 0, len(rs))
	for _, r := range rs {
		var p struct {
			Name []humanName `json:"name"`
		}
		_ = json.Unmarshal(r.Body, &p)
		out = append(out, smart.PractitionerSummary{ID: r.ID, Name: display(p.Name)})
	}
	return out, nil
}

// ListEncounters implements smart.EncounterLister: the patient's
// encounters, newest first.
func (d directory) ListEncounters(ctx context.Context, patientID string) ([]smart.EncounterSummary, error) {
	q, err := search.Parse("Encounter", url.Values{
		"subject": {"Patient/" + patientID}, "_sort": {"-date"}, "_count": {strconv.Itoa(pickerLimit)},
	}, search.Options{DefaultCount: pickerLimit, MaxCount: pickerLimit})
	if err != nil {
		return nil, err
	}
	page, err := d.store.Search(ctx, sandboxOr(smart.SandboxFromContext(ctx)), fhirstore.SearchQuery{Query: q})
	if err != nil {
		return nil, err
	}
	rs := page.Matches
	var out []smart.EncounterSummary
	for _, r := range rs {
		var e struct {
			Subject struct {
				Reference string `json:"reference"`
			} `json:"subject"`
			Class struct {
				Code    string `json:"code"`
				Display string `json:"display"`
			} `json:"class"`
			Type []struct {
				Text   string `json:"text"`
				Coding []struct {
					Display string `json:"display"`
				} `json:"coding"`
			} `json:"type"`
			Period struct {
				Start string `json:"start"`
				End   string `json:"end"`
			} `json:"period"`
		}
		if json.Unmarshal(r.Body, &e) != nil {
			continue
		}
		desc := e.Class.Display
		if desc == "" {
			desc = e.Class.Code
		}
		if len(e.Type) > 0 {
			if e.Type[0].Text != "" {
				desc = e.Type[0].Text
			} else if len(e.Type[0].Coding) > 0 && e.Type[0].Coding[0].Display != "" {
				desc = e.Type[0].Coding[0].Display
			}
		}
		period := day(e.Period.Start)
		if e.Period.End != "" && day(e.Period.End) != period {
			period += " – " + day(e.Period.End)
		}
		out = append(out, smart.EncounterSummary{ID: r.ID, Description: desc, Period: period})
	}
	return out, nil
}

// day is the date part of a FHIR dateTime.
func day(dt string) string {
	if len(dt) > 10 {
		return dt[:10]
	}
	return dt
}
