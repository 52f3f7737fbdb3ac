package adminapi

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/sandbox/requestlog"
)

// testReport is what the tests read of a run's answer.
type testReport struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Result       string `json:"result"`
	Test         []struct {
		Name   string `json:"name"`
		Action []struct {
			Assert struct {
				Result string `json:"result"`
				Detail string `json:"detail"`
			} `json:"assert"`
		} `json:"action"`
	} `json:"test"`
}

func (r testReport) assert(check string) (result, detail string) {
	for _, t := range r.Test {
		if t.Name == check && len(t.Action) == 1 {
			return t.Action[0].Assert.Result, t.Action[0].Assert.Detail
		}
	}
	return "", ""
}

func TestRuns_SupplierJudgesItsAppAndReadsTheReport(t *testing.T) {
	e := newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	now := time.Now().UTC()
	// An app that skipped PKCE, and a token in a URL.
	err := e.log.Append(context.Background(), []requestlog.Entry{
		{Sandbox: "acme-dev", Time: now.Add(-time.Minute), ClientID: "app-1", Method: "GET", Path: "/auth/authorize", Status: 302,
			RequestID: "req-a", OAuth: &requestlog.OAuth{Endpoint: "authorize", ResponseType: "code", StateLen: 36, StateBits: 150,
				RedirectExact: true, AudMatches: true}},
		{Sandbox: "acme-dev", Time: now.Add(-30 * time.Second), ClientID: "app-1", Method: "GET", Path: "/sandboxes/acme-dev/fhir/Patient/1",
			Query: "access_token=REDACTED", Status: 200, RequestID: "req-b", Accept: "application/fhir+json"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var report testReport
	a := e.must(http.StatusCreated, "POST", "/sandboxes/acme-dev/runs", aliceUser,
		map[string]any{"client_id": "app-1", "profile": "smart-app-patient"})
	a.json(t, &report)
	if _, err := fhirjson.Parse(a.body); err != nil {
		t.Fatalf("the answer is not a valid TestReport: %v", err)
	}
	if report.Result != "fail" || !strings.HasSuffix(a.header.Get("Location"), "/runs/"+report.ID) {
		t.Fatalf("report %+v, Location %q", report, a.header.Get("Location"))
	}
	if res, detail := report.assert("smart.pkce-s256"); res != "fail" || !strings.Contains(detail, "req-a") {
		t.Errorf("smart.pkce-s256: %s %q", res, detail)
	}
	if res, detail := report.assert("oauth.no-token-in-url"); res != "fail" || !strings.Contains(detail, "req-b") {
		t.Errorf("oauth.no-token-in-url: %s %q", res, detail)
	}

	var list struct {
		Runs []testReport `json:"runs"`
	}
	e.must(http.StatusOK, "GET", "/sandboxes/acme-dev/runs", aliceUser, nil).json(t, &list)
	if len(list.Runs) != 1 || list.Runs[0].ID != report.ID {
		t.Fatalf("runs %+v", list.Runs)
	}
	// The evidence a report names is found in the log, with its facts.
	var page struct {
		Entries []struct {
			RequestID string `json:"request_id"`
			OAuth     struct {
				Endpoint   string `json:"endpoint"`
				StateBits  int    `json:"state_entropy_bits"`
				PKCEMethod string `json:"pkce_method"`
			} `json:"oauth"`
		} `json:"entries"`
	}
	e.must(http.StatusOK, "GET", "/sandboxes/acme-dev/requests?request_id=req-a", aliceUser, nil).json(t, &page)
	if len(page.Entries) != 1 || page.Entries[0].OAuth.Endpoint != "authorize" || page.Entries[0].OAuth.StateBits != 150 ||
		page.Entries[0].OAuth.PKCEMethod != "" {
		t.Errorf("the evidence req-a: %+v", page.Entries)
	}

	// The stored run renders again, as JSON, JUnit XML and HTML.
	path := "/sandboxes/acme-dev/runs/" + report.ID
	var again testReport
	e.must(http.StatusOK, "GET", path, aliceUser, nil).json(t, &again)
	if again.ID != report.ID || again.Result != "fail" {
		t.Errorf("GET run: %+v", again)
	}
	junit := e.must(http.StatusOK, "GET", path+"?format=junit", aliceUser, nil)
	if err := xml.Unmarshal(junit.body, new(struct{})); err != nil || !strings.Contains(string(junit.body), "smart.pkce-s256") {
		t.Errorf("JUnit: %v\n%s", err, junit.body)
	}
	html := e.must(http.StatusOK, "GET", path+"?format=html", aliceUser, nil)
	if !strings.HasPrefix(html.header.Get("Content-Type"), "text/html") || !strings.Contains(string(html.body), "<!DOCTYPE html>") {
		t.Errorf("HTML: %s %.200s", html.header.Get("Content-Type"), html.body)
	}
	e.must(http.StatusBadRequest, "GET", path+"?format=pdf", aliceUser, nil)
	e.must(http.StatusNotFound, "GET", "/sandboxes/acme-dev/runs/run-nope", aliceUser, nil)
	e.must(http.StatusNotFound, "GET", path, bobUser, nil)

	// A reviewer reads and runs too; another supplier sees nothing.
	e.must(http.StatusOK, "GET", "/sandboxes/acme-dev/runs", revUser, nil)
	e.must(http.StatusCreated, "POST", "/sandboxes/acme-dev/runs", revUser, map[string]any{"client_id": "app-1", "profile": "fhir-client"})
	e.must(http.StatusNotFound, "GET", "/sandboxes/acme-dev/runs", bobUser, nil)
	e.must(http.StatusNotFound, "POST", "/sandboxes/acme-dev/runs", bobUser, map[string]any{"client_id": "app-1", "profile": "fhir-client"})
}

func TestRuns_RefusesWhatCannotBeRun(t *testing.T) {
	e := newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"UnknownProfile", map[string]any{"client_id": "app-1", "profile": "nope"}, http.StatusUnprocessableEntity, "profile"},
		{"NoClient", map[string]any{"profile": "fhir-client"}, http.StatusUnprocessableEntity, "client_id"},
		{"EmptyWindow", map[string]any{"client_id": "a", "profile": "fhir-client", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
			http.StatusUnprocessableEntity, "until"},
		{"UnknownField", map[string]any{"client_id": "a", "profile": "fhir-client", "window": "1h"}, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.must(tt.status, "POST", "/sandboxes/acme-dev/runs", aliceUser, tt.body).problem(t)
			if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
				t.Errorf("problem %+v does not name %s", p, tt.field)
			}
		})
	}
}

func TestChecks_ListedWithCitationsAndProfiles(t *testing.T) {
	e := newEnv(t)
	var out struct {
		Checks []struct {
			ID, Cite, Severity string
		} `json:"checks"`
		Profiles []struct {
			ID     string   `json:"id"`
			Checks []string `json:"checks"`
		} `json:"profiles"`
	}
	e.must(http.StatusOK, "GET", "/checks", bobUser, nil).json(t, &out)
	found := false
	for _, c := range out.Checks {
		found = found || c.ID == "smart.pkce-s256" && strings.HasPrefix(c.Cite, "https://hl7.org/")
	}
	if !found || len(out.Profiles) < 4 {
		t.Fatalf("checks %+v, profiles %+v", out.Checks, out.Profiles)
	}
	e.must(http.StatusUnauthorized, "GET", "/checks", "", nil)
}
