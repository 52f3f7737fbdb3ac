package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"hpsandbox/sandbox/tenant"
)

// A sandbox whose settings enforce declared profiles refuses, over HTTP,
// a write that does not conform to the profile it declares: 422 with the
// validator's OperationOutcome, nothing written. The profile is one the
// supplier PUT into the sandbox; another sandbox neither knows it nor
// enforces anything.
func TestSandboxes_ProfileEnforcement_RefusesNonConformingWrites(t *testing.T) {
	env := newGatewayEnv(t, false)
	settings := tenant.DefaultSettings()
	settings.ProfileEnforcement = tenant.ProfileEnforcement{Declared: true}
	baseA, tokA := env.supplierSandbox(t, "acme-dev", "acme", &settings)
	baseB, tokB := env.supplierSandbox(t, "bravo-dev", "bravo", nil)
	const url = "http://example.org/fhir/StructureDefinition/patient-born"
	sd := `{"resourceType":"StructureDefinition","id":"patient-born","url":"` + url + `","name":"PatientBorn",` +
		`"status":"active","kind":"resource","abstract":false,"type":"Patient",` +
		`"baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",` +
		`"differential":{"element":[{"id":"Patient.birthDate","path":"Patient.birthDate","min":1}]}}`
	if resp, out := env.fhirAt(t, baseA, http.MethodPut, "/StructureDefinition/patient-born", tokA, sd); resp.StatusCode >= 300 {
		t.Fatalf("PUT the profile: %d %v", resp.StatusCode, out)
	}
	unborn := `{"resourceType":"Patient","meta":{"profile":["` + url + `"]},"name":[{"family":"Ufødt"}]}`
	resp, out := env.fhirAt(t, baseA, http.MethodPost, "/Patient", tokA, unborn)
	if resp.StatusCode != http.StatusUnprocessableEntity || out["resourceType"] != "OperationOutcome" || !strings.Contains(toJSON(out), "Patient.birthDate") {
		t.Errorf("a non-conforming Patient: %d %v, want 422 naming Patient.birthDate", resp.StatusCode, out)
	}
	if _, out := env.fhirAt(t, baseA, http.MethodGet, "/Patient?_summary=count", tokA, ""); out["total"] != float64(0) {
		t.Errorf("the refused Patient was written: %v", out)
	}
	born := strings.Replace(unborn, `"name"`, `"birthDate":"1970-01-01","name"`, 1)
	if resp, out := env.fhirAt(t, baseA, http.MethodPost, "/Patient", tokA, born); resp.StatusCode != http.StatusCreated {
		t.Errorf("a conforming Patient: %d %v", resp.StatusCode, out)
	}
	if resp, out := env.fhirAt(t, baseB, http.MethodPost, "/Patient", tokB, unborn); resp.StatusCode != http.StatusCreated {
		t.Errorf("a sandbox without enforcement: %d %v", resp.StatusCode, out)
	}
	resp, out = env.fhirAt(t, baseB, http.MethodPost, "/Patient/$validate?profile="+url, tokB, unborn)
	if text := toJSON(out); resp.StatusCode != http.StatusOK || strings.Contains(text, "Patient.birthDate") || !strings.Contains(text, url) {
		t.Errorf("another sandbox knows the profile: %d %s", resp.StatusCode, text)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
