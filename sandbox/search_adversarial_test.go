package sandbox

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// An attacker holding a token for one patient (pat-a) writes an
// Observation into its own compartment that points at another patient
// (pat-b, born 1980-02-02), then asks searches whose chains or _has look at
// pat-b: one match or none would answer any question about pat-b's record,
// by bisection. Under a patient-level token every such filter must see
// only the compartment, so that both halves of each question answer alike
// (nothing), while the same filter on the patient's own data still works.
func TestAdversarial_ChainAndHas_AreNoOracleUnderAPatientToken(t *testing.T) {
	env := newGatewayEnv(t, true)
	tok, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.cruds")
	bearer := tok.AccessToken
	resp, body := env.fhir(t, "POST", "/Observation", bearer, `{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/pat-a"},
		"focus":[{"reference":"Patient/pat-b"}],"hasMember":[{"reference":"Observation/obs-b"}]}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create in own compartment: %d %s", resp.StatusCode, diagnostics(body))
	}
	own := body["id"].(string)

	// Each question about pat-b, asked both ways: one of each pair is true
	// of pat-b, so an unconfined search would answer 1 to it.
	questions := []struct{ name, path, yes, no string }{
		{"typed chain, date", "/Observation?_id=" + own, "focus:Patient.birthdate=ge1980", "focus:Patient.birthdate=lt1980"},
		{"typed chain, string", "/Observation?_id=" + own, "focus:Patient.family=hansen", "focus:Patient.family=nordmann"},
		{"untyped chain", "/Observation?_id=" + own, "focus.given=ola", "focus.given=kari"},
		{"chain to another patient's lab value", "/Observation?_id=" + own, "has-member:Observation.value-quantity=gt60", "has-member:Observation.value-quantity=le60"},
		{"two-level chain", "/Observation?_id=" + own, "has-member:Observation.subject:Patient.birthdate=ge1980", "has-member:Observation.subject:Patient.birthdate=lt1980"},
		{"_has from another patient's data", "/Patient?_id=pat-a", "_has:Observation:focus:code=8867-4", "_has:Observation:focus:code=0000-0"},
		{"compartment search with a chain", "/Patient/pat-a/Observation?_id=" + own, "focus:Patient.birthdate=ge1980", "focus:Patient.birthdate=lt1980"},
		{"system search with a chain", "/?_type=Observation&_id=" + own, "focus:Patient.birthdate=ge1980", "focus:Patient.birthdate=lt1980"},
	}
	// pat-b's Observation pointing back at pat-a makes the _has question
	// answerable in the open.
	writeDirect(t, env, `{"resourceType":"Observation","id":"obs-b-focus","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/pat-b"},
		"focus":[{"reference":"Patient/pat-a"}]}`)
	for _, q := range questions {
		t.Run(q.name, func(t *testing.T) {
			var totals []any
			for _, filter := range []string{q.yes, q.no} {
				resp, body := env.fhir(t, "GET", q.path+"&"+filter+"&_total=accurate", bearer, "")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s&%s: %d %s", q.path, filter, resp.StatusCode, diagnostics(body))
				}
				totals = append(totals, body["total"])
			}
			if totals[0] != float64(0) || totals[1] != float64(0) {
				t.Errorf("totals %v for the two halves of the question, want 0 and 0", totals)
			}
		})
	}
	// POST _search is confined the same way.
	for _, filter := range []string{"focus:Patient.birthdate=ge1980", "focus:Patient.birthdate=lt1980"} {
		req, _ := http.NewRequest("POST", env.fhirBase()+"/Observation/_search",
			strings.NewReader(url.Values{"_id": {own}, "_total": {"accurate"}}.Encode()+"&"+filter))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]any{}
		decode(t, resp, &body)
		if resp.StatusCode != http.StatusOK || body["total"] != float64(0) {
			t.Errorf("POST _search %s: %d total=%v, want 200 total=0", filter, resp.StatusCode, body["total"])
		}
	}
	// A form too large to read is refused, not searched without it (the
	// query's chain unchecked).
	for _, filter := range []string{"focus:Patient.birthdate=ge1980", "focus:Patient.birthdate=lt1980"} {
		big := "_id=" + own + "&pad=" + strings.Repeat("x", 11<<20)
		req, _ := http.NewRequest("POST", env.fhirBase()+"/Observation/_search?_total=accurate&"+filter, strings.NewReader(big))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]any{}
		decode(t, resp, &body)
		if resp.StatusCode == http.StatusOK && body["total"] != float64(0) {
			t.Errorf("POST _search with an unreadable form and %s: 200 total=%v, want a refusal or nothing", filter, body["total"])
		}
	}
	// _include and _revinclude add only what lies in the compartment: the
	// answer neither shows pat-b nor refuses itself because pat-b is there
	// (a 403 would tell that another patient's data points at pat-a).
	for _, path := range []string{
		"/Observation?_id=" + own + "&_include=Observation:focus",
		"/Observation?_id=" + own + "&_include=*&_include:iterate=*",
		"/Patient?_id=pat-a&_revinclude=Observation:focus",
		"/Patient?_id=pat-a&_revinclude=*",
	} {
		resp, body := env.fhir(t, "GET", path, bearer, "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, want 200: %s", path, resp.StatusCode, diagnostics(body))
			continue
		}
		entries, _ := body["entry"].([]any)
		for _, e := range entries {
			r := e.(map[string]any)["resource"].(map[string]any)
			if r["id"] == "pat-b" || r["id"] == "obs-b-focus" || r["id"] == "obs-b" {
				t.Errorf("%s included %s/%s", path, r["resourceType"], r["id"])
			}
		}
	}
	// The patient's own record is still searchable through chains and _has.
	for path, want := range map[string]float64{
		"/Observation?subject:Patient.birthdate=1970-01-01&_total=accurate":       3,
		"/Patient?_has:Observation:subject:code=4548-4&_total=accurate":           1,
		"/Observation?_id=" + own + "&subject.family=nordmann&_total=accurate":    1,
		"/Patient?_has:Observation:subject:code=4548-4&_id=pat-b&_total=accurate": 0,
		"/?_type=Observation,Patient&_total=accurate":                             4,
	} {
		if resp, body := env.fhir(t, "GET", path, bearer, ""); resp.StatusCode != http.StatusOK || body["total"] != want {
			t.Errorf("%s: %d total=%v, want %v", path, resp.StatusCode, body["total"], want)
		}
	}
}

// A chain or _has reads resources of its own type: the token must be
// allowed to search that type, and reads only what its scope on that type
// lets it see (the compartment, the constraints), rather than the filter
// reading what the scopes hide.
func TestAdversarial_ChainAndHas_NeedSearchOnTheTypesTheyRead(t *testing.T) {
	env := newGatewayEnv(t, true)
	patientsOnly, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/Patient.rs")
	vitalsOnly, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient",
		"patient/Patient.rs", "patient/Observation.rs?category="+vitalSigns)
	practitioner, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "", "openid", "fhirUser", "user/Patient.rs")
	mixed, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "user/Observation.rs", "patient/Patient.rs")
	tests := []struct {
		name, token, path string
		want              int
		total             float64
	}{
		{"patient scope, _has into an unscoped type", patientsOnly.AccessToken, "/Patient?_has:Observation:subject:code=4548-4", 403, 0},
		{"patient scope, chain into an unscoped type", patientsOnly.AccessToken, "/Patient?general-practitioner:Practitioner.family=lege", 403, 0},
		{"constrained scope, _has reading hidden labs", vitalsOnly.AccessToken, "/Patient?_has:Observation:subject:code=4548-4", 200, 0},
		{"constrained scope, _has reading visible vitals", vitalsOnly.AccessToken, "/Patient?_has:Observation:subject:code=8867-4", 200, 1},
		{"user scope, _has into an unscoped type", practitioner.AccessToken, "/Patient?_has:Observation:subject:code=4548-4", 403, 0},
		{"user scope, chain within the scoped type", practitioner.AccessToken, "/Patient?link:Patient.family=hansen", 200, 0},
		{"user scope, plain search", practitioner.AccessToken, "/Patient?family=hansen", 200, 1},
		// Observations are readable at user level, Patients only in the
		// compartment: the chain sees pat-a only.
		{"mixed levels, chain into the confined type", mixed.AccessToken, "/Observation?subject:Patient.family=hansen", 200, 0},
		{"mixed levels, chain to the patient in context", mixed.AccessToken, "/Observation?subject:Patient.family=nordmann", 200, 2},
		{"mixed levels, unconfined type searched freely", mixed.AccessToken, "/Observation?code=8867-4", 200, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.fhir(t, "GET", tt.path+"&_total=accurate", tt.token, "")
			if resp.StatusCode != tt.want {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.want, diagnostics(body))
			}
			if tt.want == 200 && body["total"] != tt.total {
				t.Errorf("total %v, want %v", body["total"], tt.total)
			}
			if tt.want == 403 && !strings.Contains(diagnostics(body), "reads") {
				t.Errorf("diagnostics %q do not say what the filter reads", diagnostics(body))
			}
		})
	}
}

// writeDirect writes a resource into the default sandbox's store, past the
// gateway.
func writeDirect(t *testing.T, env *gatewayEnv, body string) {
	t.Helper()
	r, err := fhirjson.Parse([]byte(body))
	if err != nil {
		t.Fatalf("test resource invalid: %v", err)
	}
	if _, _, err := env.store.Update(context.Background(), fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Conditional interactions and the searches of a batch read through their
// criteria as a search does: the same rule holds for them.
func TestAdversarial_ConditionsAndBatchSearches_NeedSearchOnTheTypesTheyRead(t *testing.T) {
	env := newGatewayEnv(t, true)
	patients, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "", "openid", "fhirUser", "user/Patient.cruds")
	bearer := patients.AccessToken
	newPatient := `{"resourceType":"Patient","name":[{"family":"Probe"}]}`
	hasLab := "_has:Observation:subject:code=4548-4"

	req, _ := http.NewRequest("POST", env.fhirBase()+"/Patient", strings.NewReader(newPatient))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("If-None-Exist", hasLab)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("conditional create reading Observations: %d, want 403", resp.StatusCode)
	}
	for _, method := range []string{"PUT", "DELETE"} {
		body := ""
		if method == "PUT" {
			body = newPatient
		}
		if resp, b := env.fhir(t, method, "/Patient?"+hasLab, bearer, body); resp.StatusCode != http.StatusForbidden {
			t.Errorf("conditional %s reading Observations: %d, want 403 (%s)", method, resp.StatusCode, diagnostics(b))
		}
	}
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?` + hasLab + `"}}]}`
	if resp, b := env.fhir(t, "POST", "", bearer, batch); resp.StatusCode != http.StatusForbidden {
		t.Errorf("batch search reading Observations: %d, want 403 (%s)", resp.StatusCode, diagnostics(b))
	}
	// Criteria within the scoped type pass.
	if resp, b := env.fhir(t, "PUT", "/Patient?family=probe-nobody", bearer, newPatient); resp.StatusCode != http.StatusCreated {
		t.Errorf("conditional update within scope: %d (%s)", resp.StatusCode, diagnostics(b))
	}
}

// A conditional reference (Patient?criteria) in a transaction is resolved
// by searching the whole sandbox: under a token that may not search its
// type unconfined, whether the entry succeeds would say whether another
// patient matches — and the reference, resolved, would name them.
func TestAdversarial_ConditionalReferences_NeedAnUnconfinedSearchOfTheirType(t *testing.T) {
	env := newGatewayEnv(t, true)
	patient, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.cruds")
	obsOnly, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "", "openid", "fhirUser", "user/Observation.cruds")
	everything, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "", "openid", "fhirUser", "user/*.cruds")
	noEncounters, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "", "openid", "fhirUser", "user/Observation.cruds", "user/Patient.rs")
	transaction := func(subject, focus string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Observation",` +
			`"status":"final","code":{"text":"probe"},"subject":{"reference":"` + subject + `"},"focus":[{"reference":"` + focus + `"}]},` +
			`"request":{"method":"POST","url":"Observation"}}]}`
	}
	tests := []struct {
		name, token, subject, focus string
		want                        int
	}{
		{"patient token, another patient's birth date", patient.AccessToken, "Patient/pat-a", "Patient?family=hansen&birthdate=ge1980", http.StatusForbidden},
		{"patient token, the other half", patient.AccessToken, "Patient/pat-a", "Patient?family=hansen&birthdate=lt1980", http.StatusForbidden},
		{"patient token, own patient by identifier", patient.AccessToken, "Patient/pat-a", "Patient?_id=pat-a", http.StatusForbidden},
		{"no Patient scope", obsOnly.AccessToken, "Patient/pat-a", "Patient?family=hansen&birthdate=ge1980", http.StatusForbidden},
		{"a _has into an unscoped type", noEncounters.AccessToken, "Patient/pat-a", "Patient?_has:Encounter:subject:status=finished", http.StatusForbidden},
		{"a _has into a scoped type", noEncounters.AccessToken, "Patient/pat-a", "Patient?_has:Observation:subject:code=4548-4", http.StatusOK},
		{"user scope on every type", everything.AccessToken, "Patient/pat-a", "Patient?family=hansen&birthdate=ge1980", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.fhir(t, "POST", "", tt.token, transaction(tt.subject, tt.focus))
			if resp.StatusCode != tt.want {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.want, diagnostics(body))
			}
		})
	}
}

// An include of a type the token may not read adds nothing, rather than
// refusing the answer when something of that type points at a match:
// the refusal told a token that cannot read Observations whether another
// patient's Observation points at its patient.
func TestAdversarial_IncludesOfUnreadableTypes_AddNothing(t *testing.T) {
	env := newGatewayEnv(t, true)
	patientsOnly, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/Patient.rs")
	userPatients, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "", "openid", "fhirUser", "user/Patient.rs")
	writeDirect(t, env, `{"resourceType":"Observation","id":"obs-b-focus","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/pat-b"},
		"focus":[{"reference":"Patient/pat-a"}]}`)
	for _, tt := range []struct{ token, path string }{
		{patientsOnly.AccessToken, "/Patient?_id=pat-a&_revinclude=Observation:focus"},
		{patientsOnly.AccessToken, "/Patient?_id=pat-a&_revinclude=*"},
		{userPatients.AccessToken, "/Patient?_id=pat-a&_revinclude=Observation:focus&_revinclude=Observation:subject"},
		{userPatients.AccessToken, "/?_type=Patient,Observation&_id=pat-a,obs-a"},
	} {
		resp, body := env.fhir(t, "GET", tt.path, tt.token, "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, want 200: %s", tt.path, resp.StatusCode, diagnostics(body))
			continue
		}
		entries, _ := body["entry"].([]any)
		for _, e := range entries {
			if r := e.(map[string]any)["resource"].(map[string]any); r["resourceType"] == "Observation" {
				t.Errorf("%s: an Observation was added: %v", tt.path, r["id"])
			}
		}
	}
}
