package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox"
)

const operatorPassword = "operator-password-for-tests"

// servedGateway runs the sandbox as `sandbox serve` does (sandbox.Open,
// with its operator account), secured, over a seeded store on loopback.
func servedGateway(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, raw := range population {
		r, err := fhirjson.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.Update(ctx, fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg := sandbox.Defaults()
	cfg.PublicURL, cfg.Secure, cfg.DataDir, cfg.OperatorPassword = srv.URL, true, dir, operatorPassword
	g, err := sandbox.Open(ctx, cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	h = g
	return srv
}

// TestSampleApp_ConformanceRunPasses: the sample app, which the API
// guides hold up as the way to do it, passes the patient-facing profile
// when its standalone launch is judged.
func TestSampleApp_ConformanceRunPasses(t *testing.T) {
	gw := servedGateway(t)
	appURL := startApp(t, gw)
	browser := &http.Client{}
	resp, err := browser.Get(appURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	session := resp.Request.URL.Query().Get("session")
	resp, _ = submit(t, browser, resp.Request.URL, url.Values{"session": {session}, "user": {"Practitioner/lege"}})
	resp, _ = submit(t, browser, resp.Request.URL, url.Values{"session": {session}, "patient": {"kari"}})
	resp, page := submit(t, browser, resp.Request.URL, url.Values{"session": {session}, "decision": {"allow"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %d %s", resp.StatusCode, page)
	}

	// The request log is written in the background: a run may come
	// before the last exchanges are, so it is asked for until the app's
	// FHIR search is among them.
	var report reportJSON
	for range 50 {
		report = startRun(t, gw)
		if report.result("fhir.accept-fhir-json") != "skip" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tc := range report.Test {
		t.Logf("%s: %s %s", tc.Name, tc.Action[0].Assert.Result, tc.Action[0].Assert.Message)
	}
	for _, id := range []string{"smart.pkce-s256", "smart.state-entropy", "smart.aud-fhir-base", "smart.redirect-uri-exact",
		"smart.discovery-first", "oauth.no-token-in-url", "fhir.accept-fhir-json", "smart.patient-compartment"} {
		if got := report.result(id); got != "pass" {
			t.Errorf("%s: %s, want pass", id, got)
		}
	}
	if report.Result != "pass" {
		t.Errorf("the sample app's run: %s", report.Result)
	}
}

// reportJSON is what the test reads of a run's TestReport.
type reportJSON struct {
	Result string `json:"result"`
	Test   []struct {
		Name   string `json:"name"`
		Action []struct {
			Assert struct {
				Result  string `json:"result"`
				Message string `json:"message"`
			} `json:"assert"`
		} `json:"action"`
	} `json:"test"`
}

// result is the assert result of check id, "" when the report has none.
func (r reportJSON) result(id string) string {
	for _, tc := range r.Test {
		if tc.Name == id && len(tc.Action) > 0 {
			return tc.Action[0].Assert.Result
		}
	}
	return ""
}

// startRun runs the patient-facing profile over the demo app's exchanges
// in the default sandbox, as the operator, through the admin API.
func startRun(t *testing.T, gw *httptest.Server) reportJSON {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/admin/api/sandboxes/default/runs",
		strings.NewReader(`{"client_id":"sandbox-demo","profile":"smart-app-patient"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(sandbox.OperatorUsername, operatorPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reportJSON
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("run: %d %v", resp.StatusCode, err)
	}
	return r
}
