package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const vitalSigns = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"

func TestGateway_Unauthenticated_401WithChallengeAndLoginOutcome(t *testing.T) {
	env := newGatewayEnv(t, true)
	patientTok, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	revoked, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	if resp, _ := env.postForm(t, "/auth/revoke", url.Values{"token": {revoked.AccessToken}, "client_id": {DemoClientID}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	other := env.backendToken(t, otherBackendID, "system/*.rs")
	tests := []struct {
		name, auth string
		status     int
		challenge  string // in WWW-Authenticate
	}{
		{"no token", "", 401, `Bearer realm="hp-sandbox"`},
		{"garbage token", "Bearer not-a-jwt", 401, `error="invalid_token"`},
		{"revoked token", "Bearer " + revoked.AccessToken, 401, `error="invalid_token"`},
		{"token of another sandbox", "Bearer " + other, 401, `another sandbox`},
		{"not a bearer header", "Basic dXNlcjpwdw==", 400, `error="invalid_request"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, env.fhirBase()+"/Patient/pat-a", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := map[string]any{}
			decode(t, resp, &body)
			if resp.StatusCode != tt.status || !strings.Contains(resp.Header.Get("WWW-Authenticate"), tt.challenge) {
				t.Fatalf("%d %q, want %d with %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
			want := "login"
			if tt.status != 401 {
				want = "forbidden"
			}
			if body["resourceType"] != "OperationOutcome" || issueCode(body) != want {
				t.Errorf("body %v, want an OperationOutcome with code %s", body, want)
			}
		})
	}
	t.Run("expired token", func(t *testing.T) {
		env.clock.Advance(2 * time.Hour)
		defer env.clock.Advance(-2 * time.Hour)
		resp, body := env.fhir(t, http.MethodGet, "/Patient/pat-a", patientTok.AccessToken, "")
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "expired") || issueCode(body) != "login" {
			t.Fatalf("%d %q %v", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	})
	t.Run("only the statement is public", func(t *testing.T) {
		for _, p := range []string{"/metadata/_history", "/metadata/Observation", "/.well-known/_history", "/.well-known/Observation/obs-a"} {
			if resp, _ := env.fhir(t, http.MethodGet, p, "", ""); resp.StatusCode != 401 && resp.StatusCode != 404 {
				t.Errorf("%s: %d without a token", p, resp.StatusCode)
			}
		}
	})
	t.Run("public endpoints", func(t *testing.T) {
		for _, p := range []string{"/metadata", "/.well-known/smart-configuration"} {
			if resp, _ := env.fhir(t, http.MethodGet, p, "", ""); resp.StatusCode != 200 {
				t.Errorf("%s: %d without a token", p, resp.StatusCode)
			}
		}
	})
}

func TestGateway_OpenSandbox_ServesWithoutTokenButChecksOneThatIsSent(t *testing.T) {
	env := newGatewayEnv(t, false)
	if resp, _ := env.fhir(t, http.MethodGet, "/Observation/obs-b", "", ""); resp.StatusCode != 200 {
		t.Errorf("no token on the open sandbox: %d", resp.StatusCode)
	}
	if resp, _ := env.fhir(t, http.MethodGet, "/Observation/obs-b", "expired-or-garbage", ""); resp.StatusCode != 401 {
		t.Errorf("bad token on the open sandbox: %d, want 401", resp.StatusCode)
	}
	tok, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	if resp, _ := env.fhir(t, http.MethodGet, "/Observation/obs-b", tok.AccessToken, ""); resp.StatusCode != 403 {
		t.Errorf("patient token for another patient on the open sandbox: %d, want 403", resp.StatusCode)
	}
}

func TestGateway_Scopes_WritesAndConfinement(t *testing.T) {
	env := newGatewayEnv(t, true)
	readOnly, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	writer, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.cruds")
	vitals, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/Observation.rs?category="+vitalSigns)
	user, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "", "user/Observation.rs")
	batch := func(entries ...string) string {
		return `{"resourceType":"Bundle","type":"batch","entry":[` + strings.Join(entries, ",") + `]}`
	}
	txn := func(patient string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Observation"},"resource":` +
			obs("", patient, "vital-signs", "8867-4", 70) + `}]}`
	}
	tests := []struct {
		name, token, method, path, body string
		status                          int
	}{
		{"write with read-only scope", readOnly.AccessToken, "POST", "/Observation", obs("", "pat-a", "vital-signs", "8867-4", 70), 403},
		{"delete with read-only scope", readOnly.AccessToken, "DELETE", "/Observation/obs-a", "", 403},
		{"create in the compartment", writer.AccessToken, "POST", "/Observation", obs("", "pat-a", "vital-signs", "8867-4", 70), 201},
		{"create for another patient", writer.AccessToken, "POST", "/Observation", obs("", "pat-b", "vital-signs", "8867-4", 70), 403},
		{"update another patient's", writer.AccessToken, "PUT", "/Observation/obs-b", obs("obs-b", "pat-a", "vital-signs", "8867-4", 1), 403},
		{"update moving out of the compartment", writer.AccessToken, "PUT", "/Observation/obs-a", obs("obs-a", "pat-b", "vital-signs", "8867-4", 1), 403},
		{"update in the compartment", writer.AccessToken, "PUT", "/Observation/obs-a", obs("obs-a", "pat-a", "vital-signs", "8867-4", 73), 200},
		{"delete another patient's", writer.AccessToken, "DELETE", "/Observation/obs-b", "", 403},
		{"patch at patient level", writer.AccessToken, "PATCH", "/Observation/obs-a", `[]`, 403},
		{"operation at patient level", writer.AccessToken, "GET", "/Patient/pat-a/$meta", "", 403},
		{"$everything of another patient", writer.AccessToken, "GET", "/Patient/pat-b/$everything", "", 403},
		{"transaction for another patient", writer.AccessToken, "POST", "", txn("pat-b"), 403},
		{"transaction in the compartment", writer.AccessToken, "POST", "", txn("pat-a"), 200},
		{"transaction with read-only scope", readOnly.AccessToken, "POST", "", txn("pat-a"), 403},
		{"conditional update at patient level", writer.AccessToken, "PUT", "/Observation?code=8867-4", obs("", "pat-a", "vital-signs", "8867-4", 1), 403},
		{"conditional delete at patient level", writer.AccessToken, "DELETE", "/Observation?code=8867-4", "", 403},
		{"conditional create in a transaction", writer.AccessToken, "POST", "", strings.Replace(txn("pat-a"), `"url":"Observation"`, `"url":"Observation","ifNoneExist":"code=8867-4"`, 1), 403},
		{"batch reading another patient's", readOnly.AccessToken, "POST", "", batch(`{"request":{"method":"GET","url":"Observation/obs-b"}}`), 403},
		{"batch reading the patient's", readOnly.AccessToken, "POST", "", batch(`{"request":{"method":"GET","url":"Observation/obs-a"}}`), 200},
		{"batch vread of another patient's", readOnly.AccessToken, "POST", "", batch(`{"request":{"method":"GET","url":"Observation/obs-b/_history/1"}}`), 403},
		{"batch searching", readOnly.AccessToken, "POST", "", batch(`{"request":{"method":"GET","url":"Observation?code=8867-4"}}`), 403},
		{"batch deleting another patient's", writer.AccessToken, "POST", "", batch(`{"request":{"method":"DELETE","url":"Observation/obs-b"}}`), 403},
		{"batch updating another patient's", writer.AccessToken, "POST", "", batch(`{"request":{"method":"PUT","url":"Observation/obs-b"},"resource":` + obs("obs-b", "pat-a", "vital-signs", "8867-4", 1) + `}`), 403},
		{"batch with an absolute url", writer.AccessToken, "POST", "", batch(`{"request":{"method":"DELETE","url":"` + env.fhirBase() + `/Observation/obs-b"}}`), 403},
		{"batch patching", writer.AccessToken, "POST", "", batch(`{"request":{"method":"PATCH","url":"Observation/obs-a"}}`), 403},
		{"head of another patient's", readOnly.AccessToken, "HEAD", "/Observation/obs-b", "", 403},
		{"head of the patient's", readOnly.AccessToken, "HEAD", "/Observation/obs-a", "", 200},
		{"head of another patient's version", readOnly.AccessToken, "HEAD", "/Observation/obs-b/_history/1", "", 403},
		{"v2 constraint met", vitals.AccessToken, "GET", "/Observation/obs-a", "", 200},
		{"v2 constraint not met", vitals.AccessToken, "GET", "/Observation/obs-a-lab", "", 403},
		{"v2 constraint, other type", vitals.AccessToken, "GET", "/Patient/pat-a", "", 403},
		{"user level reads any patient's", user.AccessToken, "GET", "/Observation/obs-b", "", 200},
		{"user level searches", user.AccessToken, "GET", "/Observation", "", 200},
		{"user level, type not granted", user.AccessToken, "GET", "/Patient/pat-b", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.fhir(t, tt.method, tt.path, tt.token, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, diagnostics(body))
			}
			if tt.status == 403 && tt.method != "HEAD" && issueCode(body) != "forbidden" {
				t.Errorf("403 without a forbidden OperationOutcome: %v", body)
			}
		})
	}
}

func TestGateway_DeletedResourceAtPatientLevel_AnswersGoneAsForAnyone(t *testing.T) {
	env := newGatewayEnv(t, true)
	writer, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.cruds")
	if resp, _ := env.fhir(t, "DELETE", "/Observation/obs-a-lab", writer.AccessToken, ""); resp.StatusCode != 204 {
		t.Fatalf("delete in the compartment: %d", resp.StatusCode)
	}
	if resp, _ := env.fhir(t, "GET", "/Observation/obs-a-lab", writer.AccessToken, ""); resp.StatusCode != 410 {
		t.Errorf("read of the deleted: %d, want 410", resp.StatusCode)
	}
	if resp, _ := env.fhir(t, "GET", "/Observation/obs-a-lab/_history/1", writer.AccessToken, ""); resp.StatusCode != 200 {
		t.Errorf("vread of the version before the deletion: %d, want 200", resp.StatusCode)
	}
}

func TestGateway_ConditionalCreateAtPatientLevel_IsRefused(t *testing.T) {
	env := newGatewayEnv(t, true)
	writer, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.cruds")
	req, _ := http.NewRequest("POST", env.fhirBase()+"/Observation", strings.NewReader(obs("", "pat-a", "vital-signs", "8867-4", 1)))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+writer.AccessToken)
	req.Header.Set("If-None-Exist", "code=8867-4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("conditional create: %d, want 403", resp.StatusCode)
	}
}

func TestGateway_RefreshCannotEscalateScopes(t *testing.T) {
	env := newGatewayEnv(t, true)
	tok, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "offline_access", "patient/Observation.rs")
	resp, body := env.postForm(t, "/auth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {DemoClientID},
		"scope": {"patient/*.cruds"},
	})
	if resp.StatusCode != 400 || body["error"] != "invalid_scope" {
		t.Fatalf("escalating refresh: %d %v", resp.StatusCode, body)
	}
	// Narrowing is allowed, and the narrowed token is what is enforced.
	resp, body = env.postForm(t, "/auth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {DemoClientID},
		"scope": {"patient/Observation.rs"},
	})
	fresh, _ := body["access_token"].(string)
	if resp.StatusCode != 200 || fresh == "" {
		t.Fatalf("narrowing refresh: %d %v", resp.StatusCode, body)
	}
	if resp, _ := env.fhir(t, "GET", "/Patient/pat-a", fresh, ""); resp.StatusCode != 403 {
		t.Errorf("refreshed token reads a type it was not granted: %d", resp.StatusCode)
	}
}
