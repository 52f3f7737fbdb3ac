package fhirapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/fhirapi"
)

const idSystem = "urn:oid:2.16.578.1.12.4.1.4.1"

func withIdentifier(id, value string) string {
	head := `{"resourceType":"Patient",`
	if id != "" {
		head += `"id":"` + id + `",`
	}
	return head + `"identifier":[{"system":"` + idSystem + `","value":"` + value + `"}]}`
}

// conditionalSeed: a and b share identifier 111, c has 222.
func conditionalSeed(t *testing.T, e *gin.Engine) {
	for id, v := range map[string]string{"a": "111", "b": "111", "c": "222"} {
		mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/" + id, body: withIdentifier(id, v)}, http.StatusCreated)
	}
}

func count(t *testing.T, e *gin.Engine, path string) int {
	var b struct{ Total int }
	decode(t, mustDo(t, e, call{method: "GET", path: path}, http.StatusOK), &b)
	return b.Total
}

func TestConditionalCreate_IfNoneExist(t *testing.T) {
	tests := []struct {
		name, criteria string
		status         int
		patients       int
	}{
		{"no match creates", "identifier=" + idSystem + "|333", 201, 4},
		{"one match returns it", "identifier=" + idSystem + "|222", 200, 3},
		{"several matches refused", "identifier=" + idSystem + "|111", 412, 3},
		{"unknown parameter refused", "nickname=x", 400, 3},
		{"malformed value refused", "birthdate=soon", 400, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t)
			conditionalSeed(t, e)
			rec := do(t, e, call{method: "POST", path: "/fhir/Patient", body: withIdentifier("", "333"),
				header: map[string]string{"If-None-Exist": tt.criteria}})
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 && !strings.Contains(rec.Body.String(), `"id":"c"`) {
				t.Errorf("one match should answer with it: %s", rec.Body)
			}
			if n := count(t, e, "/fhir/Patient"); n != tt.patients {
				t.Errorf("%d patients, want %d", n, tt.patients)
			}
		})
	}
}

func TestConditionalUpdate_ByCriteria(t *testing.T) {
	tests := []struct {
		name, query, body string
		status            int
		check             func(t *testing.T, e *gin.Engine)
	}{
		{"one match updates it", "identifier=" + idSystem + "|222", `{"resourceType":"Patient","gender":"female","identifier":[{"system":"` + idSystem + `","value":"222"}]}`, 200,
			func(t *testing.T, e *gin.Engine) {
				rec := mustDo(t, e, call{method: "GET", path: "/fhir/Patient/c"}, http.StatusOK)
				if rec.Header().Get("ETag") != `W/"2"` || !strings.Contains(rec.Body.String(), `"gender":"female"`) {
					t.Errorf("c not updated: %s", rec.Body)
				}
			}},
		{"no match creates", "identifier=" + idSystem + "|999", withIdentifier("", "999"), 201,
			func(t *testing.T, e *gin.Engine) {
				if n := count(t, e, "/fhir/Patient?identifier="+idSystem+"|999"); n != 1 {
					t.Errorf("created %d", n)
				}
			}},
		{"several matches refused", "identifier=" + idSystem + "|111", withIdentifier("", "111"), 412, nil},
		{"body id disagrees with the match", "identifier=" + idSystem + "|222", withIdentifier("x", "222"), 400, nil},
		{"no criteria", "", withIdentifier("", "1"), 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t)
			conditionalSeed(t, e)
			path := "/fhir/Patient"
			if tt.query != "" {
				path += "?" + tt.query
			}
			rec := do(t, e, call{method: "PUT", path: path, body: tt.body})
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.check != nil {
				tt.check(t, e)
			}
			if tt.status >= 400 && count(t, e, "/fhir/_history") != 3 {
				t.Error("a refused conditional update wrote")
			}
		})
	}
}

func TestConditionalDelete_SingleByDefaultMultipleWhenConfigured(t *testing.T) {
	e, _ := newEngine(t)
	conditionalSeed(t, e)
	mustDo(t, e, call{method: "DELETE", path: "/fhir/Patient?identifier=" + idSystem + "|111"}, http.StatusPreconditionFailed)
	mustDo(t, e, call{method: "DELETE", path: "/fhir/Patient?identifier=" + idSystem + "|222"}, http.StatusNoContent)
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/c"}, http.StatusGone)
	mustDo(t, e, call{method: "DELETE", path: "/fhir/Patient?identifier=" + idSystem + "|999"}, http.StatusNoContent)
	if n := count(t, e, "/fhir/Patient"); n != 2 {
		t.Errorf("%d patients left, want 2", n)
	}

	multi, _ := newEngineWith(t, fhirapi.Config{ConditionalDeleteMax: 5})
	conditionalSeed(t, multi)
	rec := mustDo(t, multi, call{method: "DELETE", path: "/fhir/Patient?identifier=" + idSystem + "|111",
		header: map[string]string{"Prefer": "return=OperationOutcome"}}, http.StatusOK)
	if !strings.Contains(rec.Body.String(), "2 Patient resource(s) deleted") {
		t.Errorf("outcome %s", rec.Body)
	}
	if n := count(t, multi, "/fhir/Patient"); n != 1 {
		t.Errorf("%d patients left, want 1", n)
	}
	var cs struct {
		Rest []struct {
			Resource []struct {
				Type              string
				ConditionalDelete string
			}
		}
	}
	decode(t, mustDo(t, multi, call{method: "GET", path: "/fhir/metadata"}, http.StatusOK), &cs)
	if cs.Rest[0].Resource[0].ConditionalDelete != "multiple" {
		t.Errorf("CapabilityStatement conditionalDelete %q", cs.Rest[0].Resource[0].ConditionalDelete)
	}
}

func TestTransaction_ConditionalEntriesAndReferences(t *testing.T) {
	e, _ := newEngine(t)
	conditionalSeed(t, e) // a, b: 111; c: 222
	body := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000c1","resource":` + withIdentifier("", "222") + `,
	  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=` + idSystem + `|222"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000c1"}},
	  "request":{"method":"POST","url":"Observation"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"y"},"subject":{"reference":"Patient?identifier=` + idSystem + `|222"}},
	  "request":{"method":"POST","url":"Observation"}},
	 {"resource":{"resourceType":"Patient","gender":"male","identifier":[{"system":"` + idSystem + `","value":"444"}]},
	  "request":{"method":"PUT","url":"Patient?identifier=` + idSystem + `|444"}},
	 {"request":{"method":"DELETE","url":"Patient?_id=a"}},
	 {"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000d1","resource":` + withIdentifier("", "555") + `,
	  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=` + idSystem + `|555"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"z"},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000d1"}},
	  "request":{"method":"POST","url":"Observation"}}
	]}`
	var b bundleResponse
	decode(t, mustDo(t, e, call{method: "POST", path: "/fhir", body: body}, http.StatusOK), &b)
	want := []string{"200 OK", "201 Created", "201 Created", "201 Created", "204 No Content"}
	for i, w := range want {
		if b.Entry[i].Response.Status != w {
			t.Errorf("entry %d: %q, want %q", i, b.Entry[i].Response.Status, w)
		}
	}
	if !strings.HasPrefix(b.Entry[0].Response.Location, "Patient/c/") {
		t.Errorf("conditional create should answer with Patient/c: %q", b.Entry[0].Response.Location)
	}
	for _, i := range []int{1, 2} {
		loc := strings.SplitN(b.Entry[i].Response.Location, "/_history", 2)[0]
		rec := mustDo(t, e, call{method: "GET", path: "/fhir/" + loc}, http.StatusOK)
		if !strings.Contains(rec.Body.String(), `"reference":"Patient/c"`) {
			t.Errorf("entry %d reference not resolved to Patient/c: %s", i, rec.Body)
		}
	}
	if n := count(t, e, "/fhir/Patient?identifier="+idSystem+"|444"); n != 1 {
		t.Errorf("conditional PUT created %d", n)
	}
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/a"}, http.StatusGone)
	// A conditional create that found nothing creates, and references to
	// its fullUrl point at what it created.
	created := strings.SplitN(b.Entry[5].Response.Location, "/_history", 2)[0]
	if b.Entry[5].Response.Status != "201 Created" || !strings.HasPrefix(created, "Patient/") || len(created) <= len("Patient/") {
		t.Fatalf("entry 5: %+v", b.Entry[5].Response)
	}
	obs := strings.SplitN(b.Entry[6].Response.Location, "/_history", 2)[0]
	if rec := mustDo(t, e, call{method: "GET", path: "/fhir/" + obs}, http.StatusOK); !strings.Contains(rec.Body.String(), `"reference":"`+created+`"`) {
		t.Errorf("reference to the conditional create's fullUrl: %s, want %s", rec.Body, created)
	}
}

func TestTransaction_AmbiguousOrMissingConditionalReferenceFailsWhole(t *testing.T) {
	for name, criteria := range map[string]string{"two matches": "111", "no match": "999"} {
		t.Run(name, func(t *testing.T) {
			e, _ := newEngine(t)
			conditionalSeed(t, e)
			body := `{"resourceType":"Bundle","type":"transaction","entry":[
			 {"resource":{"resourceType":"Organization","name":"x"},"request":{"method":"POST","url":"Organization"}},
			 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=` + idSystem + `|` + criteria + `"}},
			  "request":{"method":"POST","url":"Observation"}}]}`
			rec := do(t, e, call{method: "POST", path: "/fhir", body: body})
			if rec.Code != http.StatusPreconditionFailed || !strings.Contains(rec.Body.String(), "Bundle.entry[1]") {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if count(t, e, "/fhir/Organization") != 0 || count(t, e, "/fhir/Observation") != 0 {
				t.Error("a failed transaction left resources behind")
			}
		})
	}
}
