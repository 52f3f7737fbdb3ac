package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// With --store (HPS_STORE) naming a PostgreSQL database, the FHIR data
// lives there, not in the data directory: a gateway started on another,
// empty data directory serves what the first one seeded.
func TestServe_StoreOnPostgres_KeepsTheDataInTheDatabase(t *testing.T) {
	dsn := testpg.Start(t)
	addr, stop := startServe(t, map[string]string{"HPS_DATA": t.TempDir(), "HPS_STORE": dsn}, "--seed-patients", "5")
	if n := total(t, "http://"+addr+"/fhir/Patient"); n != 15 {
		t.Errorf("patients after first start: %d, want 10 personas + 5", n)
	}
	stop()
	addr, stop = startServe(t, map[string]string{"HPS_DATA": t.TempDir()}, "--store", dsn, "--seed-patients", "50")
	defer stop()
	if n := total(t, "http://"+addr+"/fhir/Patient"); n != 15 {
		t.Errorf("patients seen by a gateway on another data directory: %d, want 15 (no reseed)", n)
	}
}

// With --store, the tenant registry, the request log and the conformance
// runs live in the database too: an app registered through the admin API,
// the log of its requests and a run judging them are there after a
// restart on another, empty data directory, and the data directories
// hold neither the registry nor the log.
func TestServe_StoreOnPostgres_KeepsRegistryAndRequestLogThere(t *testing.T) {
	dsn := testpg.Start(t)
	const password = "operator-password-for-tests"
	dirs := []string{t.TempDir(), t.TempDir()}
	env := map[string]string{"HPS_DATA": dirs[0], "HPS_STORE": dsn, "HPS_OPERATOR_PASSWORD": password, "HPS_LOG_LEVEL": "error"}
	addr, stop := startServe(t, env, "--seed-patients", "2")
	base := "http://" + addr
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	status := adminJSON(t, base, password, http.MethodPost, "/sandboxes/default/apps",
		`{"name":"Kept app","type":"confidential-symmetric","redirect_uris":["https://app.example/cb"]}`, &app)
	if status != http.StatusCreated || app.ClientID == "" || app.ClientSecret == "" {
		t.Fatalf("registering an app: %d %+v", status, app)
	}
	// A token request of the app is recorded in the log of its sandbox.
	resp, err := http.PostForm(base+"/auth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {app.ClientID}, "client_secret": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A conformance run of the app is a TestReport in the FHIR store.
	var run struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if status := adminJSON(t, base, password, http.MethodPost, "/sandboxes/default/runs",
		`{"client_id":"`+app.ClientID+`","profile":"smart-app-patient"}`, &run); status != http.StatusCreated || run.ID == "" {
		t.Fatalf("a conformance run: %d %+v", status, run)
	}
	stop()

	env["HPS_DATA"] = dirs[1]
	addr, stop = startServe(t, env, "--seed-patients", "2")
	defer stop()
	base = "http://" + addr
	var got struct {
		ClientID string `json:"client_id"`
		Name     string `json:"name"`
	}
	if status := adminJSON(t, base, password, http.MethodGet, "/sandboxes/default/apps/"+app.ClientID, "", &got); status != http.StatusOK || got.Name != "Kept app" {
		t.Errorf("the app after a restart on another data directory: %d %+v", status, got)
	}
	var log struct {
		Entries []struct {
			ClientID string `json:"client_id"`
			Path     string `json:"path"`
		} `json:"entries"`
	}
	if status := adminJSON(t, base, password, http.MethodGet, "/sandboxes/default/requests?client_id="+app.ClientID, "", &log); status != http.StatusOK {
		t.Errorf("the request log: %d", status)
	}
	if len(log.Entries) == 0 || log.Entries[0].Path != "/auth/token" {
		t.Errorf("the request log after the restart: %+v, want the app's token request", log.Entries)
	}
	var again struct {
		ID string `json:"id"`
	}
	if status := adminJSON(t, base, password, http.MethodGet, "/sandboxes/default/runs/"+run.ID, "", &again); status != http.StatusOK || again.ID != run.ID {
		t.Errorf("the conformance run after the restart: %d %+v", status, again)
	}
	for _, dir := range dirs {
		for _, name := range []string{tenant.FileName, filepath.Base(sandbox.RequestLogPath(dir))} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				t.Errorf("%s is in the data directory %s", name, dir)
			}
		}
	}
}

// adminJSON makes a request of the admin API as the operator and decodes
// its JSON answer into out.
func adminJSON(t *testing.T, base, password, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, base+"/admin/api"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(sandbox.OperatorUsername, password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// `conformance report --store` judges the log the gateways keep in the
// database, not a file in --data.
func TestConformanceReport_StoreOnPostgres_JudgesTheLogThere(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	log, err := requestlog.OpenPostgres(ctx, dsn, 100)
	if err != nil {
		t.Fatal(err)
	}
	err = log.Append(ctx, []requestlog.Entry{{Sandbox: "default", Time: now.Add(-time.Hour), ClientID: "app-1",
		Method: "GET", Path: "/auth/authorize", Status: 302, OAuth: &requestlog.OAuth{Endpoint: "authorize", PKCEMethod: "plain",
			Challenge: true, StateLen: 36, StateBits: 150, RedirectExact: true, AudMatches: true}}})
	log.Close()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	env := map[string]string{"HPS_DATA": t.TempDir()}
	err = reportCmd(ctx, []string{"--store", dsn, "--client", "app-1", "--since", "2h"},
		func(k string) string { return env[k] }, func() time.Time { return now }, &stdout, &stderr)
	if !errors.Is(err, errRunFailed) || !strings.Contains(stdout.String(), "fail  smart.pkce-s256") ||
		!strings.Contains(stdout.String(), "1 exchanges") {
		t.Errorf("reportCmd = %v\n%s%s", err, stdout.String(), stderr.String())
	}
}
