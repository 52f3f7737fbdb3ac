package guides_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/internal/browsertest"
)

// fhirclientBuild is the browser build of the npm fhirclient library that
// the browser tests pin (../testdata/browser/package.json).
const fhirclientBuild = "../testdata/browser/node_modules/fhirclient/build/fhir-client.min.js"

// TestBrowser_FHIRClientExampleShowsThePatient serves the JavaScript
// example (fhirclient/, a static page with the npm fhirclient library) on
// a loopback port of its own, as an app's host would, and drives it in
// headless Chromium through a SMART standalone launch with PKCE against a
// started sandbox: the sandbox's login (a GP), patient picker (Kjell Moen)
// and consent pages, then the example's page showing the patient's name.
// The screenshots go to $HPS_SCREENSHOTS/guides-fhirclient.
func TestBrowser_FHIRClientExampleShowsThePatient(t *testing.T) {
	const what = "the fhirclient example"
	chromium := browsertest.Chromium(t, what)
	node, _ := browsertest.Node(t, "../testdata/browser", what)
	lib, err := os.ReadFile(fhirclientBuild)
	if err != nil {
		t.Skip("fhirclient is not installed (cd sandbox/testdata/browser && npm ci --legacy-peer-deps; .ci/run does it): skipping " + what)
	}
	shots := filepath.Join(browsertest.Screenshots(t), "guides-fhirclient")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	base := startSandbox(t)

	// The app's host: the two pages and the library, nothing else. The
	// callback is /callback, the path the demo client's loopback redirect
	// URIs have.
	pages := map[string]string{"/launch.html": "fhirclient/launch.html", "/callback": "fhirclient/callback.html"}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fhir-client.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(lib)
			return
		}
		file, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	}))
	defer app.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	launch := app.URL + "/launch.html?" + url.Values{"iss": {base + "/fhir"}}.Encode()
	cmd := exec.CommandContext(ctx, node, "../testdata/browser/standalone.mjs", launch, "Practitioner/prac-1505-gp-1", "persona-copd", shots,
		"fhirclient-", "name,details")
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("standalone.mjs: %v\n%s%s", err, out, stderr)
	}
	var shown struct{ Name, Details string }
	if err := json.Unmarshal(out, &shown); err != nil {
		t.Fatalf("standalone.mjs printed %q: %v", out, err)
	}
	if shown.Name != "Kjell Moen" || !strings.Contains(shown.Details, "Patient/persona-copd") ||
		!strings.Contains(shown.Details, "Practitioner/prac-1505-gp-1") {
		t.Errorf("the example shows %+v, want Kjell Moen, Patient/persona-copd, signed in as the GP", shown)
	}
	for _, name := range []string{"fhirclient-login", "fhirclient-patient-picker", "fhirclient-consent", "fhirclient-app"} {
		if fi, err := os.Stat(filepath.Join(shots, name+".png")); err != nil || fi.Size() < 5_000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}
