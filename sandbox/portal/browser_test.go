package portal

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/internal/browsertest"
	"hpsandbox/sandbox/requestlog"
)

// TestBrowser_PicturesAndSignUp drives the portal in headless Chromium
// (playwright-core): a patient's chart with its plots, an app's timeline
// in the request log, a conformance run's chart, and a sign-up through an
// operator's approval to the first sign-in. Screenshots of every step are
// kept with HPS_SCREENSHOTS=dir, to be judged by eye.
func TestBrowser_PicturesAndSignUp(t *testing.T) {
	chromium := browsertest.Chromium(t, "the portal's pictures browser test")
	node, playwright := browsertest.Node(t, "../testdata/browser", "the portal's pictures browser test")
	e := conformanceEnv(t)
	client := e.acmeApp.ClientID
	start := time.Now().UTC().Add(-50 * time.Minute)
	var entries []requestlog.Entry
	for i := range 40 {
		st := 200
		switch {
		case i%11 == 5:
			st = 404
		case i%17 == 9:
			st = 500
		case i%13 == 3:
			st = 302
		case i%7 == 6:
			st = 401
		}
		entries = append(entries, requestlog.Entry{Sandbox: acmeSandbox, Time: start.Add(time.Duration(i*i) * 1500 * time.Millisecond), ClientID: client,
			Method: "GET", Path: "/sandboxes/" + acmeSandbox + "/fhir/Observation", Query: "patient=" + chartPersona, Status: st})
	}
	if err := e.log.Append(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	shots := browsertest.Screenshots(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/pictures.mjs", playwright, e.srv.URL, shots, aliceUser, alicePass, opUser, opPass,
		acmeSandbox, chartPersona, client)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("driver: %v\n%s\n%s", err, out, stderr.String())
	}
	var driven struct {
		Steps []struct {
			Name, URL, Text string
			Count, Plots    int
		}
		Errors []string
	}
	if err := json.Unmarshal(out, &driven); err != nil {
		t.Fatalf("driver output %q: %v", out, err)
	}
	if len(driven.Errors) > 0 {
		t.Errorf("the pages logged errors (a script or the Content Security Policy): %v", driven.Errors)
	}
	seen := map[string]string{}
	for _, s := range driven.Steps {
		seen[s.Name] = s.Text
		if s.Name == "copy-buttons" && (s.Count < 4 || s.Plots < 2) {
			t.Errorf("the chart has %d copy buttons and %d plots; want the script's buttons on every URL and at least two plots", s.Count, s.Plots)
		}
	}
	for name, want := range map[string]string{
		"portal-chart":                  "Trends",
		"portal-timeline":               "Request log",
		"portal-run-chart":              "SMART app, patient-facing",
		"portal-signup-received":        "awaits an operator",
		"portal-signup-pending-refused": "awaits an operator's approval",
		"portal-accounts-pending":       "ingrid@nordlys.example",
		"portal-accounts-approved":      "The account was approved",
		"portal-signup-first-sign-in":   "Sandboxes",
	} {
		if !strings.Contains(seen[name], want) {
			t.Errorf("%s: page lacks %q: %s", name, want, seen[name])
		}
		if _, err := os.Stat(filepath.Join(shots, name+".png")); err != nil {
			t.Errorf("no screenshot of %s", name)
		}
	}
	t.Logf("screenshots in %s", shots)
}
