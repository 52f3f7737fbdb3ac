package sandbox

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
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

// A patient-level token's $everything holds the patient's record: its
// compartment and the resources that references which no patient
// compartment holds (the Device, the practitioner, the organisation), never
// another patient or that patient's resources, which a system token gets.
func TestGateway_EverythingForAPatientTokenHoldsTheRecordButNoOtherPatient(t *testing.T) {
	env := newGatewayEnv(t, true)
	ctx := context.Background()
	for _, raw := range []string{
		`{"resourceType":"Organization","id":"org-1","name":"Fiktiv kommune"}`,
		`{"resourceType":"Device","id":"oxi-a","owner":{"reference":"Organization/org-1"}}`,
		`{"resourceType":"Patient","id":"pat-a","name":[{"family":"Nordmann"}],"generalPractitioner":[{"reference":"Practitioner/prac-1"}],` +
			`"managingOrganization":{"reference":"Organization/org-1"},"link":[{"other":{"reference":"Patient/pat-b"},"type":"seealso"}]}`,
		`{"resourceType":"Observation","id":"obs-a-oxi","status":"final","code":{"text":"SpO2"},"subject":{"reference":"Patient/pat-a"},` +
			`"device":{"reference":"Device/oxi-a"},"performer":[{"reference":"Practitioner/prac-1"}],"hasMember":[{"reference":"Observation/obs-b"}]}`,
	} {
		r, err := fhirjson.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.store.Update(ctx, fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	own, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	system := env.backendToken(t, DemoBackendClientID, "system/*.rs")
	record := []string{"Patient/pat-a", "Observation/obs-a", "Observation/obs-a-lab", "Observation/obs-a-oxi", "Encounter/enc-a",
		"Device/oxi-a", "Organization/org-1", "Practitioner/prac-1"}
	others := []string{"Patient/pat-b", "Observation/obs-b"}
	tests := []struct {
		name, token string
		want, not   []string
	}{
		{"patient token", own.AccessToken, record, others},
		{"system token", system, append(append([]string{}, record...), others...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for path := "/Patient/pat-a/$everything?_count=2"; path != ""; {
				resp, body := env.fhir(t, http.MethodGet, path, tt.token, "")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%d: %v", resp.StatusCode, body)
				}
				entries, _ := body["entry"].([]any)
				for _, e := range entries {
					en := e.(map[string]any)
					u := en["fullUrl"].(string)
					ref := u[strings.Index(u, "/fhir/")+len("/fhir/"):]
					if _, dup := got[ref]; dup {
						t.Errorf("%s twice", ref)
					}
					got[ref] = en["search"].(map[string]any)["mode"].(string)
				}
				path = ""
				links, _ := body["link"].([]any)
				for _, l := range links {
					if lm := l.(map[string]any); lm["relation"] == "next" {
						path = strings.TrimPrefix(lm["url"].(string), env.fhirBase())
					}
				}
			}
			for _, ref := range tt.want {
				if _, ok := got[ref]; !ok {
					t.Errorf("%s missing from %v", ref, got)
				}
			}
			for _, ref := range tt.not {
				if _, ok := got[ref]; ok {
					t.Errorf("%s returned to a token of Patient/pat-a", ref)
				}
			}
			for _, ref := range []string{"Device/oxi-a", "Organization/org-1", "Practitioner/prac-1"} {
				if got[ref] != "include" {
					t.Errorf("%s has search mode %q, want include", ref, got[ref])
				}
			}
		})
	}
}
