package openapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox"
	"hpsandbox/sandbox/openapi"
	"hpsandbox/sandbox/openapi/openapitest"
)

// gateway runs the sandbox over an empty store on a free loopback port,
// until the tests end (cleanup).
func gateway(dir string) (base string, cleanup func(), err error) {
	store, err := sqlite.Open(context.Background(), dir, sqlstore.Options{})
	if err != nil {
		return "", nil, err
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	cfg := sandbox.Defaults()
	cfg.PublicURL = srv.URL
	g := sandbox.New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h = g
	return srv.URL, func() { srv.Close(); g.Close(); store.Close() }, nil
}

// served is one gateway and its document as served and as kin-openapi
// reads it (openapitest.New: loaded, validated, routed), which the tests
// share: they only read the document, and building it and parsing its
// few megabytes take seconds each under the race detector.
var served struct {
	once  sync.Once
	base  string
	raw   []byte
	check *openapitest.Checker
	err   error
	close func()
	dir   string
}

// shared returns the shared gateway's base URL, its document and the
// checker of answers, starting them on first use.
func shared(t *testing.T) (string, []byte, *openapitest.Checker) {
	t.Helper()
	served.once.Do(func() {
		if served.dir, served.err = os.MkdirTemp("", "openapi-test-"); served.err != nil {
			return
		}
		if served.base, served.close, served.err = gateway(served.dir); served.err != nil {
			return
		}
		if served.raw, served.err = fetch(served.base); served.err != nil {
			return
		}
		served.check, served.err = openapitest.New(served.raw)
	})
	if served.err != nil {
		t.Fatal(served.err)
	}
	return served.base, served.raw, served.check
}

func TestMain(m *testing.M) {
	code := m.Run()
	if served.close != nil {
		served.close()
	}
	if served.dir != "" {
		os.RemoveAll(served.dir)
	}
	os.Exit(code)
}

// fetch gets /openapi.json.
func fetch(base string) ([]byte, error) {
	resp, err := http.Get(base + openapi.Path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return nil, fmt.Errorf("GET %s: %d %s", openapi.Path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return raw, nil
}

// TestOpenAPI_TheServedDocumentIsValidOpenAPI31 parses the whole server's
// document with kin-openapi and validates it (schemas, references, unique
// operation ids, path parameters): openapitest.New does both, and fails
// shared when either fails.
func TestOpenAPI_TheServedDocumentIsValidOpenAPI31(t *testing.T) {
	_, _, c := shared(t)
	if doc := c.Doc; doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
}

// TestOpenAPI_EveryCapabilityIsDocumented: every resource type and
// interaction of the CapabilityStatement, every route of the admin API's
// own document and of the authorization server is in the whole document.
func TestOpenAPI_EveryCapabilityIsDocumented(t *testing.T) {
	base, _, c := shared(t)
	doc := c.Doc
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
	base, _, c := shared(t)
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
	base, _, c := shared(t)
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
	_, raw, _ := shared(t)
	if len(raw) > 4<<20 {
		t.Errorf("the document is %d bytes; keep it under 4 MiB", len(raw))
	}
	t.Logf("/openapi.json: %d bytes", len(raw))
}
