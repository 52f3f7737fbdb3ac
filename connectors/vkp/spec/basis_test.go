package spec

import (
	"encoding/json"
	"strings"
	"testing"

	"hpsandbox/fhirstore/profile"
	"hpsandbox/fixtures"
)

// persona is a persona's Patient from the synthetic world.
func persona(t *testing.T, id string) map[string]any {
	t.Helper()
	rs, err := fixtures.Generate(fixtures.Options{Personas: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Type == "Patient" && r.ID == id {
			var m map[string]any
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("no persona %s", id)
	return nil
}

func errorsOf(issues []profile.Issue) string {
	var b strings.Builder
	for _, is := range issues {
		if profile.HasErrors([]profile.Issue{is}) {
			b.WriteString(is.Issue.Expression[0] + ": " + is.Issue.Diagnostics + "\n")
		}
	}
	return b.String()
}

// TestNoBasisPatient_PersonasConformAndBrokenRulesAreReported: the
// synthetic world's patients conform to the basis profile (VKP's own
// Patient closes Address.extension to its two, which refuses the basis
// profile's municipality number: see SOURCE.md); a Patient that breaks a basis rule is reported, naming
// the element.
func TestNoBasisPatient_PersonasConformAndBrokenRulesAreReported(t *testing.T) {
	d := definitions(t)
	validate := func(p map[string]any, url string) string {
		b, _ := json.Marshal(p)
		return errorsOf(d.Validate(b, profile.Options{Profiles: []string{url}}))
	}
	for _, url := range []string{NoBasisPatient} {
		for _, id := range []string{"persona-home-care", "persona-copd", "persona-pregnant"} {
			if errs := validate(persona(t, id), url); errs != "" {
				t.Errorf("%s against %s:\n%s", id, url, errs)
			}
		}
	}
	for _, tt := range []struct {
		name   string
		break_ func(p map[string]any)
		want   string // in an error's element
	}{
		{"FNR without a value", func(p map[string]any) {
			p["identifier"] = []any{map[string]any{"system": "urn:oid:2.16.578.1.12.4.1.4.1"}}
		}, "identifier"},
		{"DNR without a value", func(p map[string]any) {
			p["identifier"] = []any{map[string]any{"system": "urn:oid:2.16.578.1.12.4.1.4.2"}}
		}, "identifier"},
		{"middle name that is not a string", func(p map[string]any) {
			name := p["name"].([]any)[0].(map[string]any)
			name["extension"] = []any{map[string]any{"url": "http://hl7.no/fhir/StructureDefinition/no-basis-middlename", "valueInteger": 3}}
		}, "name"},
		{"municipality number as a string", func(p map[string]any) {
			addr := p["address"].([]any)[0].(map[string]any)
			addr["extension"] = []any{map[string]any{"url": "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode", "valueString": "5006"}}
		}, "address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := persona(t, "persona-home-care")
			tt.break_(p)
			errs := validate(p, NoBasisPatient)
			if errs == "" || !strings.Contains(errs, tt.want) {
				t.Errorf("errors:\n%s\nwant one at %s", errs, tt.want)
			}
		})
	}
}

// TestVKPPatient_ClosesOutTheBasisMunicipalityNumber records the guide's
// conflict: vkp-Address-v090 closes Address.extension to elock and hint,
// so a Patient with the basis profile's municipality number breaks it.
func TestVKPPatient_ClosesOutTheBasisMunicipalityNumber(t *testing.T) {
	d := definitions(t)
	b, _ := json.Marshal(persona(t, "persona-home-care"))
	if errs := errorsOf(d.Validate(b, profile.Options{Profiles: []string{Patient}})); !strings.Contains(errs, "Patient.address[0].extension[0]") {
		t.Errorf("errors against vkp-Patient-v090:\n%s\nwant the closed Address.extension", errs)
	}
}
