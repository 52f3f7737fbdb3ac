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
