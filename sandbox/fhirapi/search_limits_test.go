package fhirapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/fhirapi"
)

func values(n int, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f(i)
	}
	return strings.Join(parts, ",")
}

func params(key string, n int, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = key + "=" + url.QueryEscape(f(i))
	}
	return strings.Join(parts, "&")
}

// outcomeIssue reads the first issue of an OperationOutcome body.
func outcomeIssue(t *testing.T, body []byte) (code, diagnostics string) {
	t.Helper()
	var oo struct {
		ResourceType string
		Issue        []struct{ Code, Diagnostics string }
	}
	if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome: %s", body)
	}
	return oo.Issue[0].Code, oo.Issue[0].Diagnostics
}

// Searches beyond a limit of package search are 400 too-costly naming the
// limit; before the limits, SQLite's own limits leaked as 500s.
func TestSearch_BeyondALimit_Is400TooCostlyNamingIt(t *testing.T) {
	e, _ := newEngineWith(t, fhirapi.Config{MaxBodyBytes: 1 << 20})
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name, path, body, limit string
	}{
		{"thousand_name_params", "/fhir/Patient?" + params("name", 1000, func(i int) string { return fmt.Sprintf("n%d", i) }), "", "MaxParameters"},
		{"thirty_three_thousand_ids", "/fhir/Patient?_id=" + values(33000, func(i int) string { return fmt.Sprintf("x%d", i) }), "", "MaxValues"},
		{"post_form_past_the_values", "/fhir/Patient/_search", "_id=" + values(search.MaxValues+1, func(i int) string { return fmt.Sprintf("%d", i) }), "MaxValues"},
		{"six_sort_keys", "/fhir/Patient?_sort=gender,-birthdate,family,given,_id,_lastUpdated", "", "MaxSortKeys"},
		{"thousand_sort_keys", "/fhir/Patient?_sort=" + values(1000, func(i int) string {
			return []string{"gender", "birthdate", "family", "given", "_id", "_lastUpdated", "address"}[i%7]
		}), "", "MaxSortKeys"},
		{"many_includes", "/fhir/Patient?" + params("_revinclude", search.MaxIncludes+1, func(i int) string {
			return []string{"Observation", "Condition", "Encounter", "Procedure", "MedicationRequest", "CarePlan", "DiagnosticReport"}[i%7] +
				[]string{":subject", ":patient", ":subject:Patient"}[i/7]
		}), "", "MaxIncludes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := call{method: "GET", path: tt.path}
			if tt.body != "" {
				c = call{method: "POST", path: tt.path, body: tt.body, header: form}
			}
			rec := mustDo(t, e, c, http.StatusBadRequest)
			if code, diag := outcomeIssue(t, rec.Body.Bytes()); code != "too-costly" || !strings.Contains(diag, tt.limit) {
				t.Errorf("issue %s %q, want too-costly naming %s", code, diag, tt.limit)
			}
		})
	}
}

// engineWithBudget is newEngine with the store's search budget set.
func engineWithBudget(t *testing.T, budget time.Duration) *gin.Engine {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{SearchTimeout: budget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	api := fhirapi.New(store, fhirapi.Config{MaxBodyBytes: testMaxBody})
	t.Cleanup(func() { api.Close() })
	api.Mount(e.Group("/fhir"), func(*gin.Context) string { return fhirstore.DefaultSandbox })
	return e
}

// Searches within the limits answer 200, however their parameters repeat,
// and whatever SQLite's limits are. (The largest take a tenth of a second,
// some thirty times that under the race detector: the budget is a minute.)
func TestSearch_UpToTheLimits_Answers200(t *testing.T) {
	e := engineWithBudget(t, time.Minute)
	seedHTTP(t, e)
	tests := []struct {
		name, path string
		matches    int
	}{
		{"code_497_values", "/fhir/Observation?code=" + values(496, func(i int) string { return fmt.Sprintf("c%d", i) }) + ",8867-4", 1},
		{"code_with_system_999_values", "/fhir/Observation?code=" + values(998, func(i int) string { return fmt.Sprintf("http://loinc.org|c%d", i) }) + ",http://loinc.org|8867-4", 1},
		{"two_hundred_name_params", "/fhir/Patient?" + params("name", search.MaxParameters, func(i int) string { return fmt.Sprintf("nordmann,n%d", i) }), 2},
		{"include_iterate_star_200_times", "/fhir/Observation?" + params("_include:iterate", 200, func(int) string { return "*" }), 2},
		{"sort_repeated_1000_times", "/fhir/Patient?_sort=" + values(1000, func(i int) string { return []string{"-birthdate", "birthdate", "family"}[i%3] }), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := mustDo(t, e, call{method: "GET", path: tt.path}, http.StatusOK)
			var b searchBundle
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, en := range b.Entry {
				if en.Search.Mode == "match" {
					n++
				}
			}
			if n != tt.matches {
				t.Errorf("%d matches, want %d", n, tt.matches)
			}
		})
	}
}

// A search that runs past the store's time budget answers 503 with an
// OperationOutcome (timeout); the budget here is spent before the search
// starts, and the store's own test shows statements interrupted midway.
func TestSearch_PastTheTimeBudget_Is503Timeout(t *testing.T) {
	e := engineWithBudget(t, time.Nanosecond)
	seedHTTP(t, e)
	for _, path := range []string{"/fhir/Observation?_sort=-value-quantity", "/fhir/Patient?name=nordmann&_revinclude=Observation:subject", "/fhir/Patient/p1/Observation"} {
		rec := mustDo(t, e, call{method: "GET", path: path}, http.StatusServiceUnavailable)
		if code, diag := outcomeIssue(t, rec.Body.Bytes()); code != "timeout" || !strings.Contains(diag, "time budget") {
			t.Errorf("%s: issue %s %q, want timeout naming the time budget", path, code, diag)
		}
	}
}
