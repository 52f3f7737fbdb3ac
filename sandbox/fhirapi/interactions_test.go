package fhirapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/sandbox/fhirapi"
)

type meta struct {
	ID   string
	Meta struct{ VersionID, LastUpdated string }
}

func decode(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
}

func TestCreate_Returns201WithLocationETagLastModifiedAndStampedBody(t *testing.T) {
	e, _ := newEngine(t)
	body := `{"resourceType":"Patient","id":"ignored","name":[{"family":"Nordmann"}]}`
	rec := mustDo(t, e, call{method: "POST", path: "/fhir/Patient", body: body}, http.StatusCreated)
	var got meta
	decode(t, rec, &got)
	if got.ID == "" || got.ID == "ignored" {
		t.Errorf("server must assign the id and ignore the body's: %q", got.ID)
	}
	if want := "http://sandbox.test/fhir/Patient/" + got.ID + "/_history/1"; rec.Header().Get("Location") != want {
		t.Errorf("Location %q, want %q", rec.Header().Get("Location"), want)
	}
	if rec.Header().Get("ETag") != `W/"1"` || got.Meta.VersionID != "1" {
		t.Errorf("ETag %q versionId %q", rec.Header().Get("ETag"), got.Meta.VersionID)
	}
	lm, err := http.ParseTime(rec.Header().Get("Last-Modified"))
	lu, err2 := time.Parse(time.RFC3339Nano, got.Meta.LastUpdated)
	if err != nil || err2 != nil || !lm.Equal(lu.Truncate(time.Second)) {
		t.Errorf("Last-Modified %q vs meta.lastUpdated %q", rec.Header().Get("Last-Modified"), got.Meta.LastUpdated)
	}
	loc, _ := url.Parse(rec.Header().Get("Location"))
	read := mustDo(t, e, call{method: "GET", path: loc.Path}, http.StatusOK)
	if read.Body.String() != rec.Body.String() {
		t.Errorf("vread of Location differs:\n%s\n%s", read.Body, rec.Body)
	}
}

func TestPrefer_ReturnMinimalRepresentationOutcome(t *testing.T) {
	e, _ := newEngine(t)
	tests := []struct {
		prefer   string
		wantBody string // "", "Patient" or "OperationOutcome"
	}{
		{"", "Patient"},
		{"return=representation", "Patient"},
		{"return=minimal", ""},
		{"return=OperationOutcome", "OperationOutcome"},
	}
	for _, tt := range tests {
		t.Run(tt.prefer, func(t *testing.T) {
			for _, c := range []call{
				{method: "POST", path: "/fhir/Patient", body: patientP1},
				{method: "PUT", path: "/fhir/Patient/p1", body: patientP1},
			} {
				c.header = map[string]string{"Prefer": tt.prefer}
				rec := do(t, e, c)
				if rec.Code != 200 && rec.Code != 201 {
					t.Fatalf("%s: %d %s", c.method, rec.Code, rec.Body)
				}
				if rec.Header().Get("ETag") == "" || rec.Header().Get("Location") == "" {
					t.Errorf("%s: headers missing with Prefer %q", c.method, tt.prefer)
				}
				var rt struct{ ResourceType string }
				if rec.Body.Len() > 0 {
					decode(t, rec, &rt)
				}
				if rt.ResourceType != tt.wantBody {
					t.Errorf("%s Prefer %q: body %q", c.method, tt.prefer, rec.Body)
				}
			}
		})
	}
}

func TestUpdate_CreatesThenVersionsWithIfMatch(t *testing.T) {
	e, _ := newEngine(t)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	rec := mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1, header: map[string]string{"If-Match": `W/"1"`}}, http.StatusOK)
	if rec.Header().Get("ETag") != `W/"2"` {
		t.Errorf("ETag after update %q", rec.Header().Get("ETag"))
	}
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1, header: map[string]string{"If-Match": `W/"1"`}}, http.StatusPreconditionFailed)
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1/_history/1"}, http.StatusOK)
	rec = mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1"}, http.StatusOK)
	if rec.Header().Get("ETag") != `W/"2"` {
		t.Errorf("current ETag %q", rec.Header().Get("ETag"))
	}
}

func TestConditionalRead_NotModified(t *testing.T) {
	e, _ := newEngine(t)
	rec := mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	lm, _ := http.ParseTime(rec.Header().Get("Last-Modified"))
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"If-None-Match current", map[string]string{"If-None-Match": `W/"1"`}, 304},
		{"If-None-Match strong form", map[string]string{"If-None-Match": `"1"`}, 304},
		{"If-None-Match other version", map[string]string{"If-None-Match": `W/"2"`}, 200},
		{"If-None-Match list", map[string]string{"If-None-Match": `W/"5", W/"1"`}, 304},
		{"If-Modified-Since now", map[string]string{"If-Modified-Since": lm.Format(http.TimeFormat)}, 304},
		{"If-Modified-Since earlier", map[string]string{"If-Modified-Since": lm.Add(-time.Hour).Format(http.TimeFormat)}, 200},
		{"If-None-Match wins over If-Modified-Since", map[string]string{"If-None-Match": `W/"2"`, "If-Modified-Since": lm.Format(http.TimeFormat)}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, e, call{method: "GET", path: "/fhir/Patient/p1", header: tt.header})
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if rec.Code == 304 && (rec.Body.Len() != 0 || rec.Header().Get("ETag") != `W/"1"`) {
				t.Errorf("304 with body %q or ETag %q", rec.Body, rec.Header().Get("ETag"))
			}
		})
	}
}

func TestDelete_ThenReadIs410AndHistoryShowsIt(t *testing.T) {
	e, _ := newEngine(t)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	rec := mustDo(t, e, call{method: "DELETE", path: "/fhir/Patient/p1"}, http.StatusNoContent)
	if rec.Header().Get("ETag") != `W/"2"` {
		t.Errorf("delete ETag %q", rec.Header().Get("ETag"))
	}
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1"}, http.StatusGone)
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1/_history/2"}, http.StatusGone)
	mustDo(t, e, call{method: "DELETE", path: "/fhir/Patient/p1"}, http.StatusNoContent)
	rec = mustDo(t, e, call{method: "DELETE", path: "/fhir/Patient/never", header: map[string]string{"Prefer": "return=OperationOutcome"}}, http.StatusOK)
	if !strings.Contains(rec.Body.String(), "did not exist") {
		t.Errorf("delete of unknown with outcome: %s", rec.Body)
	}
	var h struct {
		Type  string
		Total int
		Entry []struct {
			Resource json.RawMessage
			Request  struct{ Method, URL string }
			Response struct{ Status, Etag string }
		}
	}
	decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1/_history"}, http.StatusOK), &h)
	if h.Type != "history" || h.Total != 2 || len(h.Entry) != 2 {
		t.Fatalf("history %+v", h)
	}
	if d := h.Entry[0]; d.Request.Method != "DELETE" || d.Resource != nil || d.Response.Etag != `W/"2"` {
		t.Errorf("newest entry should be the deletion: %+v", d)
	}
	if c := h.Entry[1]; c.Request.Method != "PUT" || c.Request.URL != "Patient/p1" || c.Response.Status != "201 Created" {
		t.Errorf("first version entry: %+v", c)
	}
	// A re-created resource reads again.
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1"}, http.StatusOK)
}

func TestHistory_PagesFollowNextLinksStablyUnderWrites(t *testing.T) {
	e, _ := newEngine(t)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/" + id, body: strings.Replace(patientP1, `"p1"`, `"`+id+`"`, 1)}, http.StatusCreated)
		time.Sleep(2 * time.Millisecond)
	}
	type page struct {
		Total int
		Link  []struct{ Relation, URL string }
		Entry []struct{ FullURL string }
	}
	next := "/fhir/_history?_count=2"
	var seen []string
	for i := 0; next != ""; i++ {
		var p page
		decode(t, mustDo(t, e, call{method: "GET", path: next}, http.StatusOK), &p)
		if p.Total != 5 {
			t.Fatalf("page %d total %d, want 5 (a write after page 1 must not show)", i, p.Total)
		}
		for _, en := range p.Entry {
			seen = append(seen, en.FullURL[strings.LastIndex(en.FullURL, "/")+1:])
		}
		if i == 0 {
			// A write between pages.
			mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/z", body: strings.Replace(patientP1, `"p1"`, `"z"`, 1)}, http.StatusCreated)
		}
		next = ""
		for _, l := range p.Link {
			if l.Relation == "next" {
				u, _ := url.Parse(l.URL)
				next = u.RequestURI()
			}
		}
		if i > 5 {
			t.Fatal("paging does not end")
		}
	}
	if got := strings.Join(seen, ","); got != "e,d,c,b,a" {
		t.Errorf("paged history %s, want e,d,c,b,a", got)
	}
}

func TestPretty_IndentsAndContentTypeIsFHIRJSON(t *testing.T) {
	e, _ := newEngine(t)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	rec := mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1?_pretty=true"}, http.StatusOK)
	if !strings.Contains(rec.Body.String(), "\n  \"id\": \"p1\"") {
		t.Errorf("not pretty: %s", rec.Body)
	}
	for _, accept := range []string{"application/fhir+json", "application/json", "*/*", "text/html,application/xhtml+xml,*/*;q=0.8", "application/json+fhir"} {
		rec := mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1", header: map[string]string{"Accept": accept}}, http.StatusOK)
		if rec.Header().Get("Content-Type") != fhirapi.ContentType {
			t.Errorf("Accept %q: Content-Type %q", accept, rec.Header().Get("Content-Type"))
		}
	}
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1?_format=json"}, http.StatusOK)
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1?_format=application/fhir%2Bjson"}, http.StatusOK)
}

func TestMetadata_IsValidAndListsWhatIsServed(t *testing.T) {
	e, _ := newEngine(t)
	rec := mustDo(t, e, call{method: "GET", path: "/fhir/metadata"}, http.StatusOK)
	if _, err := fhirjson.Parse(rec.Body.Bytes()); err != nil {
		t.Fatalf("CapabilityStatement is not valid FHIR R4: %v", err)
	}
	var cs struct {
		FHIRVersion    string
		Implementation struct{ URL string }
		Rest           []struct {
			Resource []struct {
				Type        string
				Interaction []struct{ Code string }
				Operation   []struct{ Name string }
			}
			Interaction []struct{ Code string }
			Operation   []struct{ Name string }
		}
	}
	decode(t, rec, &cs)
	if cs.FHIRVersion != "4.0.1" || cs.Implementation.URL != "http://sandbox.test/fhir" {
		t.Errorf("fhirVersion %q url %q", cs.FHIRVersion, cs.Implementation.URL)
	}
	if len(cs.Rest) != 1 || len(cs.Rest[0].Resource) != len(fhirjson.Types()) {
		t.Fatalf("rest resources: %d", len(cs.Rest[0].Resource))
	}
	// Every interaction the statement claims for a type is served.
	served := map[string]call{
		"create":           {method: "POST", path: "/fhir/%s", body: `{"resourceType":"%s"}`},
		"update":           {method: "PUT", path: "/fhir/%s/x1", body: `{"resourceType":"%s","id":"x1"}`},
		"read":             {method: "GET", path: "/fhir/%s/x1"},
		"vread":            {method: "GET", path: "/fhir/%s/x1/_history/1"},
		"history-instance": {method: "GET", path: "/fhir/%s/x1/_history"},
		"history-type":     {method: "GET", path: "/fhir/%s/_history"},
		"search-type":      {method: "GET", path: "/fhir/%s"},
		"patch":            {method: "PATCH", path: "/fhir/%s/x1", body: `[]`, header: map[string]string{"Content-Type": "application/json-patch+json"}},
		"delete":           {method: "DELETE", path: "/fhir/%s/x1"},
	}
	order := []string{"create", "update", "read", "vread", "patch", "history-instance", "history-type", "search-type", "delete"}
	for _, r := range cs.Rest[0].Resource {
		if r.Type != "Basic" && r.Type != "Patient" {
			continue
		}
		claimed := map[string]bool{}
		for _, i := range r.Interaction {
			claimed[i.Code] = true
		}
		for _, name := range order {
			if !claimed[name] {
				t.Errorf("%s: %s not claimed", r.Type, name)
				continue
			}
			c := served[name]
			c.path = strings.Replace(c.path, "%s", r.Type, 1)
			c.body = strings.Replace(c.body, "%s", r.Type, 1)
			if r.Type == "Basic" && strings.HasPrefix(c.body, "{") {
				c.body = strings.Replace(c.body, `"}`, `","code":{"text":"x"}}`, 1)
			}
			if rec := do(t, e, c); rec.Code >= 300 {
				t.Errorf("%s %s claimed but %s %s gives %d %s", r.Type, name, c.method, c.path, rec.Code, rec.Body)
			}
		}
		for _, op := range r.Operation {
			c := call{method: "POST", path: "/fhir/" + r.Type + "/$" + op.Name, body: `{"resourceType":"` + r.Type + `"}`}
			want := http.StatusOK
			switch op.Name {
			case "export":
				c = call{method: "GET", path: "/fhir/" + r.Type + "/$export", header: map[string]string{"Prefer": "respond-async"}}
				want = http.StatusAccepted
			case "meta", "meta-add", "meta-delete":
				body := `{"resourceType":"` + r.Type + `","id":"m1"}`
				if r.Type == "Basic" {
					body = `{"resourceType":"Basic","id":"m1","code":{"text":"x"}}`
				}
				mustDo(t, e, call{method: "PUT", path: "/fhir/" + r.Type + "/m1", body: body}, map[bool]int{true: 201, false: 200}[op.Name == "meta"])
				c = call{method: "POST", path: "/fhir/" + r.Type + "/m1/$" + op.Name,
					body: `{"resourceType":"Parameters","parameter":[{"name":"meta","valueMeta":{"tag":[{"code":"t"}]}}]}`}
			case "everything":
				mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/ev", body: `{"resourceType":"Patient","id":"ev"}`}, http.StatusCreated)
				c = call{method: "GET", path: "/fhir/Patient/ev/$everything"}
			}
			if rec := do(t, e, c); rec.Code != want {
				t.Errorf("%s $%s claimed but answers %d %s", r.Type, op.Name, rec.Code, rec.Body)
			}
		}
		delete(claimed, "")
		if len(claimed) != len(order) {
			t.Errorf("%s claims %d interactions, the test knows %d", r.Type, len(claimed), len(order))
		}
	}
	for _, op := range cs.Rest[0].Operation {
		rec := do(t, e, call{method: "GET", path: "/fhir/$" + op.Name, header: map[string]string{"Prefer": "respond-async"}})
		if rec.Code != http.StatusAccepted {
			t.Errorf("system $%s claimed but answers %d", op.Name, rec.Code)
		}
	}
	sys := map[string]call{
		"transaction":    {method: "POST", path: "/fhir", body: `{"resourceType":"Bundle","type":"transaction"}`},
		"batch":          {method: "POST", path: "/fhir", body: `{"resourceType":"Bundle","type":"batch"}`},
		"history-system": {method: "GET", path: "/fhir/_history"},
		"search-system":  {method: "GET", path: "/fhir?_type=Patient"},
	}
	if len(cs.Rest[0].Interaction) != len(sys) {
		t.Errorf("system interactions %+v, the test knows %d", cs.Rest[0].Interaction, len(sys))
	}
	for _, i := range cs.Rest[0].Interaction {
		c, ok := sys[i.Code]
		if !ok {
			t.Errorf("system interaction %q claimed but not tested", i.Code)
			continue
		}
		if rec := do(t, e, c); rec.Code != http.StatusOK {
			t.Errorf("%s claimed but %s %s gives %d", i.Code, c.method, c.path, rec.Code)
		}
	}
}

// TestHistory_ShowsVersionsStampedAheadOfTheClock writes many versions in
// quick succession, so that the store stamps some a millisecond ahead of
// the clock; each must show in the history read right after it.
func TestHistory_ShowsVersionsStampedAheadOfTheClock(t *testing.T) {
	e, _ := newEngine(t)
	for i := 1; i <= 30; i++ {
		mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, map[bool]int{true: 201, false: 200}[i == 1])
		var h struct{ Total int }
		decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1/_history"}, http.StatusOK), &h)
		if h.Total != i {
			t.Fatalf("after %d writes history shows %d", i, h.Total)
		}
	}
}
