package fhirapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/fhirapi"
)

// searchSeed is a small data set for the HTTP search tests.
var searchSeed = []string{
	`{"resourceType":"Organization","id":"o1","name":"St. Olavs hospital"}`,
	`{"resourceType":"Patient","id":"p1","name":[{"family":"Nordmann","given":["Kari"]}],"gender":"female","birthDate":"1980-02-03","managingOrganization":{"reference":"Organization/o1"}}`,
	`{"resourceType":"Patient","id":"p2","name":[{"family":"Nordmann","given":["Ola"]}],"gender":"male","birthDate":"1975-06-01"}`,
	`{"resourceType":"Observation","id":"ob1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2013-01-14","valueQuantity":{"value":72,"system":"http://unitsofmeasure.org","code":"/min"}}`,
	`{"resourceType":"Observation","id":"ob2","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/p2"},"effectiveDateTime":"2013-01-15","valueQuantity":{"value":80,"system":"http://unitsofmeasure.org","code":"kg"}}`,
}

func seedHTTP(t *testing.T, e *gin.Engine) {
	t.Helper()
	for _, b := range searchSeed {
		var head struct{ ResourceType, ID string }
		json.Unmarshal([]byte(b), &head)
		mustDo(t, e, call{method: "PUT", path: "/fhir/" + head.ResourceType + "/" + head.ID, body: b}, http.StatusCreated)
	}
}

// stable blanks what changes from run to run (bundle id, timestamps) so a
// bundle can be compared with a golden file.
func stable(t *testing.T, body []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	b["id"] = "ID"
	b["meta"] = map[string]any{"lastUpdated": "T"}
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		if res, ok := e.(map[string]any)["resource"].(map[string]any); ok {
			if meta, ok := res["meta"].(map[string]any); ok {
				meta["lastUpdated"] = "T"
			}
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestSearch_BundleShape_Golden(t *testing.T) {
	e, _ := newEngine(t)
	seedHTTP(t, e)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name string
		call call
	}{
		{"token_match", call{method: "GET", path: "/fhir/Observation?code=http://loinc.org|8867-4"}},
		{"paged_first_page", call{method: "GET", path: "/fhir/Patient?family=nordmann&_count=1"}},
		{"include_and_revinclude", call{method: "GET", path: "/fhir/Patient?_id=p1&_include=Patient:organization&_revinclude=Observation:subject"}},
		{"unknown_param_outcome_entry", call{method: "GET", path: "/fhir/Patient?nmae=x&gender=male"}},
		{"post_search_form", call{method: "POST", path: "/fhir/Patient/_search?_count=5", body: "family=nordmann&gender=female", header: form}},
		{"compartment", call{method: "GET", path: "/fhir/Patient/p2/Observation"}},
		{"system_search", call{method: "GET", path: "/fhir?_type=Patient,Organization&_id=o1,p2"}},
		{"summary_count", call{method: "GET", path: "/fhir/Observation?_summary=count"}},
		{"elements", call{method: "GET", path: "/fhir/Patient?_id=p1&_elements=gender"}},
		{"chain", call{method: "GET", path: "/fhir/Observation?subject:Patient.name=kari&_total=accurate"}},
		{"has", call{method: "GET", path: "/fhir/Patient?_has:Observation:subject:code=29463-7"}},
		{"sorted", call{method: "GET", path: "/fhir/Patient?_sort=-birthdate&_total=none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := mustDo(t, e, tt.call, http.StatusOK)
			golden(t, filepath.Join("search", tt.name+".json"), stable(t, rec.Body.Bytes()))
		})
	}
}

func TestSearch_Refusals_Golden(t *testing.T) {
	e, _ := newEngine(t)
	strict := map[string]string{"Prefer": "handling=strict"}
	tests := []struct {
		name   string
		call   call
		status int
	}{
		{"strict_unknown_param", call{method: "GET", path: "/fhir/Observation?nmae=x", header: strict}, 400},
		{"bad_date", call{method: "GET", path: "/fhir/Patient?birthdate=03.02.1980"}, 400},
		{"bad_prefix", call{method: "GET", path: "/fhir/Observation?date=xx2013"}, 400},
		{"bad_number", call{method: "GET", path: "/fhir/Observation?value-quantity=five"}, 400},
		{"text_refused", call{method: "GET", path: "/fhir/Observation?_text=blood"}, 400},
		{"bad_cursor", call{method: "GET", path: "/fhir/Observation?_cursor=zz"}, 400},
		{"bad_modifier", call{method: "GET", path: "/fhir/Patient?gender:below=f"}, 400},
		{"post_search_json", call{method: "POST", path: "/fhir/Patient/_search", body: `{}`}, 415},
		{"compartment_other", call{method: "GET", path: "/fhir/Encounter/e1/Observation"}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, e, tt.call)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			golden(t, filepath.Join("search", "refused_"+tt.name+".json"), rec.Body.Bytes())
		})
	}
}

type searchBundle struct {
	Total *int
	Link  []struct{ Relation, URL string }
	Entry []struct {
		FullURL string
		Search  struct{ Mode string }
	}
}

func (b searchBundle) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

// TestSearch_NextLinks_ToTheEndUnderConcurrentWrites follows next links
// while another goroutine writes: every resource that was there from the
// start is seen exactly once.
func TestSearch_NextLinks_ToTheEndUnderConcurrentWrites(t *testing.T) {
	e, _ := newEngine(t)
	const n = 23
	for i := 0; i < n; i++ {
		mustDo(t, e, call{method: "PUT", path: fmt.Sprintf("/fhir/Patient/s%02d", i),
			body: fmt.Sprintf(`{"resourceType":"Patient","id":"s%02d","name":[{"family":"Stabil"}]}`, i)}, http.StatusCreated)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// New matches, and updates of old ones, while paging.
			do(t, e, call{method: "PUT", path: fmt.Sprintf("/fhir/Patient/w%d", i),
				body: fmt.Sprintf(`{"resourceType":"Patient","id":"w%d","name":[{"family":"Stabil"}]}`, i)})
			do(t, e, call{method: "PUT", path: fmt.Sprintf("/fhir/Patient/s%02d", i%n),
				body: fmt.Sprintf(`{"resourceType":"Patient","id":"s%02d","name":[{"family":"Stabil","given":["v%d"]}]}`, i%n, i)})
		}
	}()
	seen := map[string]int{}
	next := "/fhir/Patient?family=stabil&_count=4&_sort=family"
	for pages := 0; next != ""; pages++ {
		if pages > 200 {
			t.Fatal("paging does not end")
		}
		var b searchBundle
		decode(t, mustDo(t, e, call{method: "GET", path: next}, http.StatusOK), &b)
		for _, en := range b.Entry {
			seen[en.FullURL[strings.LastIndex(en.FullURL, "/")+1:]]++
		}
		next = b.link("next")
		if next != "" {
			u, err := url.Parse(next)
			if err != nil || u.Host != "sandbox.test" {
				t.Fatalf("next link %q", next)
			}
			next = u.RequestURI()
		}
		if pages == 2 {
			close(stop)
			wg.Wait()
		}
	}
	for i := 0; i < n; i++ {
		if id := fmt.Sprintf("s%02d", i); seen[id] != 1 {
			t.Errorf("%s seen %d times", id, seen[id])
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s seen %d times", id, c)
		}
	}
}

func TestSearch_PreviousLink_ReturnsThePageBefore(t *testing.T) {
	e, _ := newEngine(t)
	seedHTTP(t, e)
	var p1, p2, back searchBundle
	decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Observation?_count=1"}, http.StatusOK), &p1)
	u, _ := url.Parse(p1.link("next"))
	decode(t, mustDo(t, e, call{method: "GET", path: u.RequestURI()}, http.StatusOK), &p2)
	u, _ = url.Parse(p2.link("previous"))
	decode(t, mustDo(t, e, call{method: "GET", path: u.RequestURI()}, http.StatusOK), &back)
	if len(back.Entry) != 1 || back.Entry[0].FullURL != p1.Entry[0].FullURL || p2.Entry[0].FullURL == p1.Entry[0].FullURL {
		t.Errorf("page 1 %+v, page 2 %+v, back %+v", p1.Entry, p2.Entry, back.Entry)
	}
	if p1.link("previous") != "" || p2.link("next") != "" || p1.Total == nil || *p1.Total != 2 || p2.Total == nil || *p2.Total != 2 {
		t.Errorf("links or totals wrong: %+v / %+v", p1, p2)
	}
}

// TestSearch_SandboxesNeverMeet: the same ids and values in two sandboxes;
// no search, include or revinclude in one returns the other's resources.
func TestSearch_SandboxesNeverMeet(t *testing.T) {
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{SearchTimeout: time.Minute}) // the budget is tested on its own (search_limits_test.go)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	fhirapi.New(store, fhirapi.Config{MaxBodyBytes: testMaxBody}).
		Mount(e.Group("/fhir"), func(c *gin.Context) string { return c.GetHeader("X-Sandbox") })
	for _, sbx := range []string{"a", "b"} {
		for _, body := range searchSeed {
			var head struct{ ResourceType, ID string }
			json.Unmarshal([]byte(body), &head)
			body = strings.Replace(body, `"Nordmann"`, `"Nordmann-`+sbx+`"`, 1)
			mustDo(t, e, call{method: "PUT", path: "/fhir/" + head.ResourceType + "/" + head.ID, body: body,
				header: map[string]string{"X-Sandbox": sbx}}, http.StatusCreated)
		}
	}
	for _, path := range []string{
		"/fhir/Patient?family=nordmann&_revinclude=Observation:subject&_include=Patient:organization",
		"/fhir/Observation?subject:Patient.name=nordmann&_include=Observation:subject",
		"/fhir/Patient?_has:Observation:subject:code=8867-4",
		"/fhir?_type=Patient,Observation,Organization",
		"/fhir/Patient/p1/Observation",
	} {
		rec := mustDo(t, e, call{method: "GET", path: path, header: map[string]string{"X-Sandbox": "a"}}, http.StatusOK)
		var b struct {
			Entry []struct{ Resource json.RawMessage }
		}
		decode(t, rec, &b)
		if len(b.Entry) == 0 {
			t.Errorf("%s: nothing found in sandbox a", path)
		}
		for _, en := range b.Entry {
			if strings.Contains(string(en.Resource), "Nordmann-b") {
				t.Errorf("%s in sandbox a returned %s", path, en.Resource)
			}
		}
	}
}
