package openapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox"
	"hpsandbox/sandbox/openapi"
	"hpsandbox/sandbox/openapi/openapitest"
)

// gateway runs the sandbox over an empty store on a free loopback port.
func gateway(t *testing.T) string {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg := sandbox.Defaults()
	cfg.PublicURL = srv.URL
	g := sandbox.New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { g.Close() })
	h = g
	return srv.URL
}

// load fetches /openapi.json and parses it with kin-openapi.
func load(t *testing.T, base string) (*openapi3.T, []byte) {
	t.Helper()
	resp, err := http.Get(base + openapi.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s", openapi.Path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	return doc, raw
}

// TestOpenAPI_TheServedDocumentIsValidOpenAPI31 parses the whole server's
// document with kin-openapi and validates it (schemas, references, unique
// operation ids, path parameters).
func TestOpenAPI_TheServedDocumentIsValidOpenAPI31(t *testing.T) {
	doc, _ := load(t, gateway(t))
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document does not validate: %v", err)
	}
}

// TestOpenAPI_EveryCapabilityIsDocumented: every resource type and
// interaction of the CapabilityStatement, every route of the admin API's
// own document and of the authorization server is in the whole document.
func TestOpenAPI_EveryCapabilityIsDocumented(t *testing.T) {
	base := gateway(t)
	doc, _ := load(t, base)
	resp, err := http.Get(base + "/fhir/metadata")
	if err != nil {
		t.Fatal(err)
	}
	var cs struct {
		Rest []struct {
			Resource []struct {
				Type        string `json:"type"`
				Interaction []struct{ Code string }
				SearchParam []struct{ Name string }
			} `json:"resource"`
		} `json:"rest"`
	}
	err = json.NewDecoder(resp.Body).Decode(&cs)
	resp.Body.Close()
	if err != nil || len(cs.Rest) == 0 || len(cs.Rest[0].Resource) < 140 {
		t.Fatalf("metadata: %v, %d rest", err, len(cs.Rest))
	}
	where := map[string][2]string{
		"read": {"/{id}", "GET"}, "vread": {"/{id}/_history/{vid}", "GET"}, "update": {"/{id}", "PUT"}, "patch": {"/{id}", "PATCH"},
		"delete": {"/{id}", "DELETE"}, "history-instance": {"/{id}/_history", "GET"}, "history-type": {"/_history", "GET"},
		"create": {"", "POST"}, "search-type": {"", "GET"},
	}
	for _, r := range cs.Rest[0].Resource {
		for _, i := range r.Interaction {
			w, ok := where[i.Code]
			if !ok {
				t.Errorf("%s: interaction %s has no place in the test's table", r.Type, i.Code)
				continue
			}
			path := "/fhir/" + r.Type + w[0]
			item := doc.Paths.Value(path)
			if item == nil || item.GetOperation(w[1]) == nil {
				t.Errorf("%s %s (%s %s) is not in the document", r.Type, i.Code, w[1], path)
			}
		}
		if s := doc.Paths.Value("/fhir/" + r.Type).Get; s != nil {
			for _, sp := range r.SearchParam {
				if s.Parameters.GetByInAndName("query", sp.Name) == nil {
					t.Errorf("search parameter %s of %s is not in the document", sp.Name, r.Type)
				}
			}
		}
	}
	for _, want := range []string{
		"GET /fhir/metadata", "POST /fhir", "GET /fhir/$export", "GET /fhir/Patient/{id}/$everything", "POST /fhir/Observation/$validate",
		"GET /fhir/.well-known/smart-configuration", "GET /.well-known/openid-configuration", "GET /auth/authorize", "POST /auth/token",
		"POST /auth/introspect", "POST /auth/revoke", "GET /auth/jwks", "GET /auth/ehr-launch", "POST /auth/register",
		"GET /admin/api/sandboxes", "POST /admin/api/sandboxes/{id}/apps", "GET /admin/api/checks", "GET /openapi.json",
	} {
		m, p, _ := strings.Cut(want, " ")
		if item := doc.Paths.Value(p); item == nil || item.GetOperation(m) == nil {
			t.Errorf("%s is not in the document", want)
		}
	}
}

// TestOpenAPI_AnswersMatchTheDocument sends requests of every part of the
// server and checks each answer (status, media type, body schema) against
// the document with kin-openapi's response validator.
func TestOpenAPI_AnswersMatchTheDocument(t *testing.T) {
	base := gateway(t)
	_, raw := load(t, base)
	c, err := openapitest.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	patient := `{"resourceType":"Patient","name":[{"family":"Nordmann"}]}`
	cases := []struct {
		method, path, ctype, body string
		status                    int
	}{
		{"GET", "/fhir/metadata", "", "", 200},
		{"POST", "/fhir/Patient", "application/fhir+json", patient, 201},
		{"GET", "/fhir/Patient?family=Nordmann", "", "", 200},
		{"GET", "/fhir/Patient/nope", "", "", 404},
		{"POST", "/fhir/Patient", "application/fhir+json", `{"resourceType":"Patient","nickname":"x"}`, 400},
		{"POST", "/fhir/Observation", "application/fhir+json", `{"resourceType":"Observation","code":{"text":"x"}}`, 422},
		{"POST", "/fhir", "application/fhir+json", `{"resourceType":"Bundle","type":"batch","entry":[]}`, 200},
		{"GET", "/fhir/_history?_count=1", "", "", 200},
		{"POST", "/fhir/Patient/$validate", "application/fhir+json", patient, 200},
		{"GET", "/fhir/.well-known/smart-configuration", "", "", 200},
		{"GET", "/.well-known/openid-configuration", "", "", 200},
		{"GET", "/auth/jwks", "", "", 200},
		{"POST", "/auth/token", "application/x-www-form-urlencoded", "grant_type=authorization_code&code=x&client_id=sandbox-demo", 400},
		{"GET", "/healthz", "", "", 200},
		{"GET", "/readyz", "", "", 200},
		{"GET", "/admin/api/sandboxes", "", "", 401},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.status, body)
		}
		if err := c.Check(req, resp.StatusCode, resp.Header, body); err != nil {
			t.Error(err)
		}
	}
}

// TestOpenAPI_ResourceSchemasCatchAWrongFieldType: an answer whose
// elements have the wrong JSON type or cardinality, or an element R4 does
// not have, does not match the document; the server's own answer does.
func TestOpenAPI_ResourceSchemasCatchAWrongFieldType(t *testing.T) {
	base := gateway(t)
	_, raw := load(t, base)
	c, err := openapitest.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("GET", base+"/fhir/Patient/p1", nil)
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{"Content-Type": {"application/fhir+json"}}
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"as R4 writes it", `{"resourceType":"Patient","id":"p1","active":true,"name":[{"family":"Nordmann","given":["Kari"]}],
			"birthDate":"1985-01-01","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1985-01-01T08:00:00+01:00"}]},
			"deceasedBoolean":false,"multipleBirthInteger":2,"meta":{"versionId":"1"}}`, true},
		{"a date as a number", `{"resourceType":"Patient","birthDate":19850101}`, false},
		{"a boolean as a string", `{"resourceType":"Patient","active":"true"}`, false},
		{"one name where R4 has a list", `{"resourceType":"Patient","name":{"family":"Nordmann"}}`, false},
		{"a list where R4 has one", `{"resourceType":"Patient","gender":["female"]}`, false},
		{"an element R4 does not have", `{"resourceType":"Patient","nickname":"Kari"}`, false},
		{"a choice type R4 does not list", `{"resourceType":"Patient","deceasedString":"yes"}`, false},
		{"a data type's element of the wrong type", `{"resourceType":"Patient","name":[{"family":["Nordmann"]}]}`, false},
		{"another resource type", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, false},
	} {
		err := c.Check(req, 200, header, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestOpenAPI_DocumentSize keeps the document small enough to load in a
// browser's API reference: data types are shared schemas, not repeated.
func TestOpenAPI_DocumentSize(t *testing.T) {
	_, raw := load(t, gateway(t))
	if len(raw) > 4<<20 {
		t.Errorf("the document is %d bytes; keep it under 4 MiB", len(raw))
	}
	t.Logf("/openapi.json: %d bytes", len(raw))
}
