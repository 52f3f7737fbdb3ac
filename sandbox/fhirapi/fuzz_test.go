package fhirapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// FuzzCreate posts arbitrary bodies as a create. Whatever the input, the
// answer is a 201 whose Location reads back the same resource, or a 4xx
// OperationOutcome; never a 5xx, never a panic.
func FuzzCreate(f *testing.F) {
	for _, s := range []string{
		patientP1,
		`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":72,"unit":"/min"}}`,
		`{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"x"}],"managingOrganization":{"reference":"#o"}}`,
		`{"resourceType":"Patient","meta":{"versionId":"9","tag":[{"code":"x"}]}}`,
		`{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://x","valueString":"y"}]}}`,
		`{"resourceType":"Patient","name":[{"family":"\u00d8yen"}]}`,
		`{"resourceType":"Patient"`, `null`, `[]`, `{}`, `{"resourceType":"Bundle","type":"collection"}`,
		"\ufeff" + patientP1, "\ufeff{\n \"resourceType\": \"Patient\",\n}",
	} {
		f.Add("Patient", s)
	}
	f.Add("Parameters", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","contained":[{"resourceType":"Organization"}]}},`+
		`{"name":"q","part":[{"name":"r","resource":{"resourceType":"Parameters"}}]}]}`)
	e, _ := newEngine(f)
	f.Fuzz(func(t *testing.T, typ, body string) {
		if typ != "Patient" && typ != "Observation" && typ != "Parameters" {
			typ = "Patient"
		}
		rec := do(t, e, call{method: "POST", path: "/fhir/" + typ, body: body,
			header: map[string]string{"Content-Type": "application/fhir+json"}})
		switch {
		case rec.Code == http.StatusCreated:
			loc, err := url.Parse(rec.Header().Get("Location"))
			if err != nil {
				t.Fatalf("Location %q", rec.Header().Get("Location"))
			}
			back := do(t, e, call{method: "GET", path: loc.Path})
			if back.Code != http.StatusOK || back.Body.String() != rec.Body.String() {
				t.Fatalf("created %s but reading %s gives %d %s", rec.Body, loc.Path, back.Code, back.Body)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var oo struct{ ResourceType string }
			if json.Unmarshal(rec.Body.Bytes(), &oo) != nil || oo.ResourceType != "OperationOutcome" {
				t.Fatalf("%d without OperationOutcome: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
		}
	})
}
