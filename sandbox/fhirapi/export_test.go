package fhirapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// exportSeed writes two patients with observations, an organization and a
// group holding only the first patient.
func exportSeed(t *testing.T, e *gin.Engine) {
	for _, c := range []call{
		{method: "PUT", path: "/fhir/Patient/a", body: `{"resourceType":"Patient","id":"a"}`},
		{method: "PUT", path: "/fhir/Patient/b", body: `{"resourceType":"Patient","id":"b"}`},
		{method: "PUT", path: "/fhir/Observation/oa", body: `{"resourceType":"Observation","id":"oa","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/a"}}`},
		{method: "PUT", path: "/fhir/Observation/ob", body: `{"resourceType":"Observation","id":"ob","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/b"}}`},
		{method: "PUT", path: "/fhir/Observation/none", body: `{"resourceType":"Observation","id":"none","status":"final","code":{"text":"x"}}`},
		{method: "PUT", path: "/fhir/Organization/org", body: `{"resourceType":"Organization","id":"org","name":"St. Olavs hospital"}`},
		{method: "PUT", path: "/fhir/Group/g", body: `{"resourceType":"Group","id":"g","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/a"}}]}`},
	} {
		mustDo(t, e, c, http.StatusCreated)
	}
}

// runExport kicks off an export, polls it to completion and returns the ids
// per type it exported.
func runExport(t *testing.T, e *gin.Engine, path string) map[string][]string {
	t.Helper()
	return runExportAt(t, e, e, path)
}

// runExportAt is runExport kicked off at one gateway, polled and fetched
// at another.
func runExportAt(t *testing.T, kick, e http.Handler, path string) map[string][]string {
	t.Helper()
	rec := mustDo(t, kick, call{method: "GET", path: path, header: map[string]string{"Prefer": "respond-async", "Accept": "application/fhir+json"}}, http.StatusAccepted)
	status, _ := url.Parse(rec.Header().Get("Content-Location"))
	var manifest struct {
		TransactionTime string
		Request         string
		Output          []struct {
			Type, URL string
			Count     int
		}
	}
	for i := 0; ; i++ {
		rec = do(t, e, call{method: "GET", path: status.Path})
		if rec.Code == http.StatusOK {
			decode(t, rec, &manifest)
			break
		}
		if rec.Code != http.StatusAccepted || rec.Header().Get("X-Progress") == "" || i > 500 {
			t.Fatalf("status: %d %s", rec.Code, rec.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if manifest.TransactionTime == "" || !strings.HasSuffix(manifest.Request, path) {
		t.Errorf("manifest %+v", manifest)
	}
	got := map[string][]string{}
	for _, o := range manifest.Output {
		u, _ := url.Parse(o.URL)
		rec := mustDo(t, e, call{method: "GET", path: u.Path}, http.StatusOK)
		if rec.Header().Get("Content-Type") != "application/fhir+ndjson" {
			t.Errorf("file Content-Type %q", rec.Header().Get("Content-Type"))
		}
		sc := bufio.NewScanner(bytes.NewReader(rec.Body.Bytes()))
		for sc.Scan() {
			var r struct{ ResourceType, ID string }
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ResourceType != o.Type {
				t.Fatalf("line %q in %s", sc.Text(), o.Type)
			}
			got[o.Type] = append(got[o.Type], r.ID)
		}
		sort.Strings(got[o.Type])
		if len(got[o.Type]) != o.Count {
			t.Errorf("%s: manifest count %d, file lines %d", o.Type, o.Count, len(got[o.Type]))
		}
	}
	return got
}

func TestExport_SystemPatientAndGroupLevels(t *testing.T) {
	e, _ := newEngine(t)
	exportSeed(t, e)
	tests := []struct {
		path string
		want string
	}{
		{"/fhir/$export", "map[Group:[g] Observation:[none oa ob] Organization:[org] Patient:[a b]]"},
		{"/fhir/$export?_type=Patient,Organization", "map[Organization:[org] Patient:[a b]]"},
		// Group is in its members' compartments (Group.member), as the
		// specification's CompartmentDefinition says.
		{"/fhir/Patient/$export", "map[Group:[g] Observation:[oa ob] Patient:[a b]]"},
		{"/fhir/Group/g/$export", "map[Group:[g] Observation:[oa] Patient:[a]]"},
		{"/fhir/$export?_since=2999-01-01T00:00:00Z", "map[]"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := fmtMap(runExport(t, e, tt.path)); got != tt.want {
				t.Errorf("exported %s, want %s", got, tt.want)
			}
		})
	}
}

func fmtMap(m map[string][]string) string {
	b, _ := json.Marshal(m)
	s := strings.NewReplacer(`{`, `map[`, `}`, `]`, `"`, ``, `,`, ` `, `:`, `:`).Replace(string(b))
	return s
}

func TestExport_KickOffErrorsAndDelete(t *testing.T) {
	e, _ := newEngine(t)
	exportSeed(t, e)
	async := map[string]string{"Prefer": "respond-async"}
	for _, tc := range []struct {
		c    call
		want int
	}{
		{call{method: "GET", path: "/fhir/$export"}, 400},
		{call{method: "GET", path: "/fhir/$export?_outputFormat=text/csv", header: async}, 400},
		{call{method: "GET", path: "/fhir/$export?_type=Nope", header: async}, 400},
		{call{method: "GET", path: "/fhir/$export?_typeFilter=x", header: async}, 400},
		{call{method: "GET", path: "/fhir/Group/nope/$export", header: async}, 404},
		{call{method: "GET", path: "/fhir/$export-status/unknown"}, 404},
	} {
		if rec := do(t, e, tc.c); rec.Code != tc.want {
			t.Errorf("%s: %d, want %d %s", tc.c.path, rec.Code, tc.want, rec.Body)
		}
	}
	rec := mustDo(t, e, call{method: "GET", path: "/fhir/$export", header: async}, http.StatusAccepted)
	status, _ := url.Parse(rec.Header().Get("Content-Location"))
	mustDo(t, e, call{method: "DELETE", path: status.Path}, http.StatusAccepted)
	mustDo(t, e, call{method: "GET", path: status.Path}, http.StatusNotFound)
}
