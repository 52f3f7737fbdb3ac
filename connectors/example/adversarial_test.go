package example_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/connectors/example"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/smart"
)

func openSet(t *testing.T) (*connectors.Set, fhirstore.Store) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var r connectors.Registry
	if err := r.Register(example.ID, example.Open); err != nil {
		t.Fatal(err)
	}
	set, err := r.Open(connectors.Deps{Engine: interaction.New(store, interaction.Config{BaseURL: "http://127.0.0.1/fhir"})})
	if err != nil {
		t.Fatal(err)
	}
	return set, store
}

func post(set *connectors.Set, caller connectors.Caller, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/example"+path, bytes.NewReader([]byte(body)))
	req = req.WithContext(connectors.WithCaller(req.Context(), caller))
	w := httptest.NewRecorder()
	set.Handler("").ServeHTTP(w, req)
	return w
}

func versions(t *testing.T, store fhirstore.Store, sandbox string) int {
	t.Helper()
	p, err := store.History(context.Background(), fhirstore.Sandbox(sandbox), fhirstore.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

// A token that may not create Observations at user or system level
// writes nothing, by either route: a patient-level token would otherwise
// write about any patient.
func TestExample_TokenWithoutCreate_Forbidden(t *testing.T) {
	set, store := openSet(t)
	for _, raw := range []string{"patient/Observation.crus", "user/Observation.rs", "system/Patient.c", "openid fhirUser", "user/Observation.c?category=laboratory"} {
		scopes, err := smart.ParseScopes(raw)
		if err != nil {
			t.Fatal(err)
		}
		caller := connectors.Caller{Sandbox: "a", Token: true, ClientID: "app", Scopes: scopes}
		for path, body := range map[string]string{"/Observation": observation, "/Bundle": transaction} {
			if w := post(set, caller, path, body); w.Code != http.StatusForbidden || !bytes.Contains(w.Body.Bytes(), []byte(`"forbidden"`)) {
				t.Errorf("%q on %s: %d %s, want 403 forbidden", raw, path, w.Code, w.Body)
			}
		}
	}
	if n := versions(t, store, "a"); n != 0 {
		t.Fatalf("forbidden requests stored %d versions", n)
	}
}

// A caller of one sandbox writes into that sandbox only, whatever the
// body says: an id, or a Bundle naming another sandbox's base in fullUrl.
func TestExample_WritesOnlyTheCallersSandbox(t *testing.T) {
	set, store := openSet(t)
	scopes, _ := smart.ParseScopes("system/Observation.c")
	a := connectors.Caller{Sandbox: "a", Token: true, ClientID: "app-a", Scopes: scopes}
	if w := post(set, a, "/Observation", observation); w.Code != http.StatusCreated {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	cross := `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"http://gw/sandboxes/b/fhir/Observation/x",` +
		`"resource":` + observation + `,"request":{"method":"POST","url":"Observation"}}]}`
	if w := post(set, a, "/Bundle", cross); w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if n := versions(t, store, "a"); n != 2 {
		t.Errorf("sandbox a holds %d versions, want 2", n)
	}
	if n := versions(t, store, "b"); n != 0 {
		t.Errorf("sandbox b holds %d versions written by a caller of a", n)
	}
}

// A caller judged for creating Observations cannot update, delete or
// read through the Bundle route: only transactions of POST entries pass,
// and a refused Bundle changes nothing.
func TestExample_BundleRouteCreatesOnly(t *testing.T) {
	set, store := openSet(t)
	scopes, _ := smart.ParseScopes("system/Observation.c")
	a := connectors.Caller{Sandbox: "a", Token: true, ClientID: "app-a", Scopes: scopes}
	w := post(set, a, "/Observation", observation)
	if w.Code != http.StatusCreated {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil || created.ID == "" {
		t.Fatalf("created: %s %v", w.Body, err)
	}
	entry := func(method, url, resource string) string {
		e := `{"request":{"method":"` + method + `","url":"` + url + `"}`
		if resource != "" {
			e += `,"resource":` + resource
		}
		return e + "}"
	}
	for name, bundle := range map[string]string{
		"Update":            `{"resourceType":"Bundle","type":"transaction","entry":[` + entry("PUT", "Observation/"+created.ID, strings.Replace(observation, `"resourceType":"Observation"`, `"resourceType":"Observation","id":"`+created.ID+`"`, 1)) + `]}`,
		"Delete":            `{"resourceType":"Bundle","type":"transaction","entry":[` + entry("DELETE", "Observation/"+created.ID, "") + `]}`,
		"ConditionalDelete": `{"resourceType":"Bundle","type":"transaction","entry":[` + entry("DELETE", "Observation?status=final", "") + `]}`,
		"Read":              `{"resourceType":"Bundle","type":"batch","entry":[` + entry("GET", "Observation/"+created.ID, "") + `]}`,
		"Batch":             `{"resourceType":"Bundle","type":"batch","entry":[` + entry("POST", "Observation", observation) + `]}`,
	} {
		if w := post(set, a, "/Bundle", bundle); w.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", name, w.Code, w.Body)
		}
	}
	if n := versions(t, store, "a"); n != 1 {
		t.Fatalf("refused Bundles changed the sandbox: %d versions, want 1", n)
	}
}

func TestExample_Checks(t *testing.T) {
	set, _ := openSet(t)
	checks := set.Checks()
	judge := func(id string, body string) connectors.Verdict {
		for _, c := range checks {
			if c.ID == id {
				return c.Judge(&connectors.Exchange{Connector: example.ID, Status: http.StatusCreated, Request: []byte(body)}).Verdict
			}
		}
		t.Fatalf("no check %s", id)
		return 0
	}
	noLOINC := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"364075005"}]}}`
	for _, tt := range []struct {
		check, body string
		want        connectors.Verdict
	}{
		{"example-observation-loinc", observation, connectors.Pass},
		{"example-observation-loinc", noLOINC, connectors.Fail},
		{"example-observation-subject", observation, connectors.Pass},
		{"example-observation-subject", noLOINC, connectors.Fail},
		{"example-observation-subject", transaction, connectors.NotApplicable},
	} {
		if got := judge(tt.check, tt.body); got != tt.want {
			t.Errorf("%s on %.50s: %v, want %v", tt.check, tt.body, got, tt.want)
		}
	}
}
