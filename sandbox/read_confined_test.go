package sandbox

import (
	"net/http"
	"testing"
)

// Two patients' tokens take turns over every route that reads by id or
// searches, so that checks the store keeps prepared after their first use
// (one statement per shape of confinement, filled with each request's
// patient) are run for both patients alike: each token reads its own
// patient's data and is refused the other's, on the first request and on
// every later one, and no answer carries a resource of the other patient.
func TestGateway_PatientTokensTakingTurns_NeverReachTheOtherPatientsData(t *testing.T) {
	env := newGatewayEnv(t, true)
	tokA, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	tokB, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-b", "launch/patient", "patient/*.rs")
	type side struct {
		token, patient, obs    string // the token's own patient and Observation
		otherPatient, otherObs string
	}
	sides := []side{
		{tokA.AccessToken, "pat-a", "obs-a", "pat-b", "obs-b"},
		{tokB.AccessToken, "pat-b", "obs-b", "pat-a", "obs-a"},
	}
	for round := 0; round < 3; round++ {
		for _, s := range sides {
			tests := []struct {
				path   string
				status int
			}{
				{"/Patient/" + s.patient, http.StatusOK},
				{"/Observation/" + s.obs, http.StatusOK},
				{"/Observation/" + s.obs + "/_history/1", http.StatusOK},
				{"/Observation/" + s.obs + "/_history", http.StatusOK},
				{"/Patient/" + s.otherPatient, http.StatusForbidden},
				{"/Observation/" + s.otherObs, http.StatusForbidden},
				{"/Observation/" + s.otherObs + "/_history/1", http.StatusForbidden},
				{"/Observation/" + s.otherObs + "/_history", http.StatusForbidden},
				{"/Observation?_id=" + s.otherObs, http.StatusOK},
				{"/Observation?_id=" + s.obs + "," + s.otherObs + "&_include=Observation:subject", http.StatusOK},
				{"/Patient?_id=" + s.otherPatient + "&_revinclude=Observation:subject", http.StatusOK},
				{"/Observation?subject=Patient/" + s.otherPatient, http.StatusOK},
			}
			for _, tt := range tests {
				resp, body := env.fhir(t, http.MethodGet, tt.path, s.token, "")
				if resp.StatusCode != tt.status {
					t.Fatalf("round %d, %s's token, GET %s: %d, want %d (%s)", round, s.patient, tt.path, resp.StatusCode, tt.status, diagnostics(body))
				}
				if tt.status == http.StatusForbidden && issueCode(body) != "forbidden" {
					t.Errorf("round %d, %s's token, GET %s: 403 without a forbidden outcome: %v", round, s.patient, tt.path, body)
				}
				for _, ref := range resourcesIn(body) {
					if ref == "Patient/"+s.otherPatient || ref == "Observation/"+s.otherObs {
						t.Errorf("round %d, %s's token, GET %s: the answer holds %s", round, s.patient, tt.path, ref)
					}
				}
			}
		}
	}
}

// resourcesIn lists type/id of a resource body, or of each resource in a
// Bundle.
func resourcesIn(body map[string]any) []string {
	var out []string
	ref := func(m map[string]any) {
		typ, _ := m["resourceType"].(string)
		id, _ := m["id"].(string)
		if typ != "" && typ != "Bundle" && typ != "OperationOutcome" {
			out = append(out, typ+"/"+id)
		}
	}
	ref(body)
	entries, _ := body["entry"].([]any)
	for _, e := range entries {
		em, _ := e.(map[string]any)
		if r, ok := em["resource"].(map[string]any); ok {
			ref(r)
		}
	}
	return out
}
