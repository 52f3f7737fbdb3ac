package fhirapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/fhirapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testMaxBody = 4096

// newEngine returns a gin engine serving the FHIR API at /fhir over a fresh
// SQLite store.
func newEngine(t testing.TB) (*gin.Engine, fhirstore.Store) {
	t.Helper()
	return newEngineWith(t, fhirapi.Config{MaxBodyBytes: testMaxBody})
}

// newEngineWith is newEngine with another API configuration.
func newEngineWith(t testing.TB, cfg fhirapi.Config) (*gin.Engine, fhirstore.Store) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{SearchTimeout: time.Minute}) // the budget is tested on its own (search_limits_test.go)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	api := fhirapi.New(store, cfg)
	t.Cleanup(func() { api.Close() })
	api.Mount(e.Group("/fhir"), func(*gin.Context) string { return fhirstore.DefaultSandbox })
	return e, store
}

type call struct {
	method, path, body string
	header             map[string]string
}

func do(t testing.TB, h http.Handler, c call) *httptest.ResponseRecorder {
	t.Helper()
	var body *bytes.Reader
	if c.body != "" {
		body = bytes.NewReader([]byte(c.body))
	} else {
		body = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(c.method, "http://sandbox.test"+c.path, body)
	if c.body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func mustDo(t testing.TB, h http.Handler, c call, want int) *httptest.ResponseRecorder {
	t.Helper()
	rec := do(t, h, c)
	if rec.Code != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", c.method, c.path, rec.Code, want, rec.Body)
	}
	return rec
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("response is not JSON: %s", got)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run go test -update): %v", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("response differs from %s:\ngot:\n%s\nwant:\n%s", path, pretty.Bytes(), want)
	}
}

const patientP1 = `{"resourceType":"Patient","id":"p1","name":[{"family":"Nordmann","given":["Kari"]}],"birthDate":"1980-02-03"}`

func TestErrors_AreOperationOutcomesWithSpecStatus(t *testing.T) {
	e, _ := newEngine(t)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/gone", body: strings.Replace(patientP1, `"p1"`, `"gone"`, 1)}, http.StatusCreated)
	mustDo(t, e, call{method: "DELETE", path: "/fhir/Patient/gone"}, http.StatusNoContent)

	tests := []struct {
		name   string
		call   call
		status int
	}{
		{"read_unknown_id", call{method: "GET", path: "/fhir/Patient/nope"}, 404},
		{"unknown_resource_type", call{method: "GET", path: "/fhir/Patientt/p1"}, 404},
		{"read_deleted", call{method: "GET", path: "/fhir/Patient/gone"}, 410},
		{"vread_unknown_version", call{method: "GET", path: "/fhir/Patient/p1/_history/9"}, 404},
		{"vread_bad_version", call{method: "GET", path: "/fhir/Patient/p1/_history/x"}, 400},
		{"invalid_id_in_url", call{method: "GET", path: "/fhir/Patient/a%20b"}, 400},
		{"create_invalid_json", call{method: "POST", path: "/fhir/Patient", body: `{"resourceType":"Patient",`}, 400},
		{"create_unknown_element", call{method: "POST", path: "/fhir/Patient", body: `{"resourceType":"Patient","nmae":[{"family":"X"}]}`}, 400},
		{"create_wrong_primitive", call{method: "POST", path: "/fhir/Patient", body: `{"resourceType":"Patient","birthDate":"03.02.1980","active":"yes"}`}, 400},
		{"create_missing_required", call{method: "POST", path: "/fhir/Observation", body: `{"resourceType":"Observation","code":{"text":"puls"}}`}, 422},
		{"create_type_mismatch", call{method: "POST", path: "/fhir/Observation", body: patientP1}, 400},
		{"create_empty_body", call{method: "POST", path: "/fhir/Patient", header: map[string]string{"Content-Type": "application/fhir+json"}}, 400},
		{"create_empty_body_an_encounter", call{method: "POST", path: "/fhir/Encounter", header: map[string]string{"Content-Type": "application/fhir+json"}}, 400},
		{"create_invalid_json_line_and_column", call{method: "POST", path: "/fhir/Patient", body: "{\n  \"resourceType\": \"Patient\",\n  \"active\": yes\n}"}, 400},
		{"transaction_invalid_json_line_and_column", call{method: "POST", path: "/fhir", body: "{\"resourceType\":\"Bundle\",\n\"type\":\"batch\",\n\"entry\":[}"}, 400},
		{"patch_invalid_json_line_and_column", call{method: "PATCH", path: "/fhir/Patient/p1", body: "[\n {\"op\":\"add\" \"path\":\"/active\",\"value\":true}]", header: map[string]string{"Content-Type": "application/json-patch+json"}}, 400},
		{"update_id_only_dots", call{method: "PUT", path: "/fhir/Patient/..", body: `{"resourceType":"Patient","id":".."}`}, 400},
		{"create_wrong_content_type", call{method: "POST", path: "/fhir/Patient", body: patientP1, header: map[string]string{"Content-Type": "application/xml"}}, 415},
		{"create_body_too_large", call{method: "POST", path: "/fhir/Patient", body: `{"resourceType":"Patient","name":[{"text":"` + strings.Repeat("x", testMaxBody) + `"}]}`}, 413},
		{"update_id_mismatch", call{method: "PUT", path: "/fhir/Patient/p2", body: patientP1}, 400},
		{"update_without_id", call{method: "PUT", path: "/fhir/Patient/p1", body: `{"resourceType":"Patient"}`}, 400},
		{"update_if_match_stale", call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1, header: map[string]string{"If-Match": `W/"7"`}}, 412},
		{"update_if_match_malformed", call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1, header: map[string]string{"If-Match": `W/"abc"`}}, 400},
		{"format_xml", call{method: "GET", path: "/fhir/Patient/p1?_format=xml"}, 406},
		{"accept_xml_only", call{method: "GET", path: "/fhir/Patient/p1", header: map[string]string{"Accept": "application/fhir+xml"}}, 406},
		{"patch_not_a_patch", call{method: "PATCH", path: "/fhir/Patient/p1", body: `{"resourceType":"Patient"}`}, 400},
		{"metadata_wrong_method", call{method: "DELETE", path: "/fhir/metadata"}, 405},
		{"history_bad_since", call{method: "GET", path: "/fhir/Patient/_history?_since=yesterday"}, 400},
		{"search_bad_count", call{method: "GET", path: "/fhir/Patient?_count=-1"}, 400},
		{"search_strict_unknown_param", call{method: "GET", path: "/fhir/Patient?nmae=x", header: map[string]string{"Prefer": "handling=strict"}}, 400},
		{"unknown_path", call{method: "GET", path: "/fhir/_nothing"}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, e, tt.call)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != fhirapi.ContentType {
				t.Errorf("Content-Type %q", ct)
			}
			golden(t, filepath.Join("outcomes", tt.name+".json"), rec.Body.Bytes())
		})
	}
	// Nothing refused above was written.
	rec := mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1"}, 200)
	if rec.Header().Get("ETag") != `W/"1"` {
		t.Errorf("p1 changed by refused requests: ETag %s", rec.Header().Get("ETag"))
	}
	for _, typ := range []string{"Patient", "Observation"} {
		var b struct{ Total int }
		json.Unmarshal(mustDo(t, e, call{method: "GET", path: "/fhir/" + typ}, 200).Body.Bytes(), &b)
		if want := map[string]int{"Patient": 1, "Observation": 0}[typ]; b.Total != want {
			t.Errorf("%s total %d after refused writes, want %d", typ, b.Total, want)
		}
	}
}
