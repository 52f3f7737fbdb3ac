package sandbox

import (
	"net/http"
	"strings"
	"testing"
)

func TestGateway_EverythingForAPatientTokenOnlyOfItsOwnPatient(t *testing.T) {
	env := newGatewayEnv(t, true)
	own, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	narrow, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/Observation.rs")
	user := env.backendToken(t, DemoBackendClientID, "system/*.rs")
	tests := []struct {
		name, token, path string
		status            int
	}{
		{"own patient", own.AccessToken, "/Patient/pat-a/$everything", 200},
		{"another patient", own.AccessToken, "/Patient/pat-b/$everything", 403},
		{"without read on every type", narrow.AccessToken, "/Patient/pat-a/$everything", 403},
		{"system token, any patient", user, "/Patient/pat-b/$everything", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.fhir(t, http.MethodGet, tt.path, tt.token, "")
			if resp.StatusCode != tt.status {
				t.Fatalf("%d, want %d: %v", resp.StatusCode, tt.status, body)
			}
			if tt.status == 200 {
				b, _ := body["entry"].([]any)
				for _, e := range b {
					url := e.(map[string]any)["fullUrl"].(string)
					if tt.token == own.AccessToken && strings.Contains(url, "pat-b") {
						t.Errorf("own-patient $everything returned %s", url)
					}
				}
				if len(b) == 0 {
					t.Error("$everything returned nothing")
				}
			}
		})
	}
}
