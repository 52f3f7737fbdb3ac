package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"hpsandbox/internal/browsertest"
)

// fhirclientJS is the browser build of the npm fhirclient library, which
// .ci/run installs with `npm ci --legacy-peer-deps` in testdata/browser.
const fhirclientJS = "testdata/browser/node_modules/fhirclient/build/fhir-client.min.js"

// browserApp is a SMART app written with fhirclient: its launch page
// authorizes, its callback page (the demo client's /callback) finishes the
// launch, reads with the token and posts what it saw to /result.
var browserApp = map[string]string{
	"/launch.html": `<!doctype html><script src="/fhir-client.js"></script><script>
FHIR.oauth2.authorize({clientId: "sandbox-demo", scope: "launch openid fhirUser patient/*.rs", redirectUri: "/callback"})
  .catch(e => fetch("/result", {method: "POST", body: JSON.stringify({error: String(e)})}));
</script>`,
	"/standalone.html": `<!doctype html><script src="/fhir-client.js"></script><script>
FHIR.oauth2.authorize({iss: new URLSearchParams(location.search).get("iss"), clientId: "sandbox-demo",
  scope: "launch/patient openid fhirUser patient/*.rs", redirectUri: "/callback"})
  .catch(e => fetch("/result", {method: "POST", body: JSON.stringify({error: String(e)})}));
</script>`,
	"/callback": `<!doctype html><script src="/fhir-client.js"></script><script>
const report = r => fetch("/result", {method: "POST", body: JSON.stringify(r)}).then(() => { document.title = "done"; document.body.textContent = JSON.stringify(r); });
FHIR.oauth2.ready().then(async client => {
  const own = await client.request("Observation?code=8867-4");
  let other = "read";
  try { await client.request("Observation/obs-b"); } catch (e) { other = String(e.status || e.statusCode || e); }
  report({patient: client.patient.id, user: client.user.fhirUser, idToken: !!client.state.tokenResponse.id_token,
          own: (own.entry || []).map(e => e.resource.id), other});
}).catch(e => report({error: String(e)}));
</script>`,
}

// browserResult is what the app reports.
type browserResult struct {
	Error   string
	Patient string
	User    string
	IDToken bool
	Own     []string
	Other   string
}

// TestBrowser_FHIRClientLibraryDoesAnEHRLaunchInHeadlessChromium drives the
// npm fhirclient library, the one most SMART browser apps use, through an
// EHR launch against the gateway: the sandbox's launch-from-EHR action
// opens the app, fhirclient discovers the endpoints, authorizes with PKCE,
// redeems the code across origins (CORS) and reads with the token.
func TestBrowser_FHIRClientLibraryDoesAnEHRLaunchInHeadlessChromium(t *testing.T) {
	chromium, app, results := startBrowserApp(t)
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Secure, c.SkipConsent = true, true })

	launch := env.srv.URL + "/auth/ehr-launch?" + url.Values{
		"client_id": {DemoClientID}, "patient": {"pat-a"}, "user": {"Practitioner/prac-1"},
		"launch_url": {app.URL + "/launch.html"},
	}.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-dev-shm-usage", "--user-data-dir="+filepath.Join(t.TempDir(), "profile"), launch)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Chromium shuts its helper processes down on SIGTERM; SIGKILL is for
	// one that does not stop.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}()

	var res browserResult
	select {
	case res = <-results:
	case <-ctx.Done():
		t.Fatal("the browser app reported nothing within 90 s")
	}
	if res.Error != "" {
		t.Fatalf("fhirclient: %s", res.Error)
	}
	if res.Patient != "pat-a" || !res.IDToken || res.User == "" {
		t.Errorf("launch context: %+v", res)
	}
	if len(res.Own) != 1 || res.Own[0] != "obs-a" {
		t.Errorf("the patient's heart rates: %v, want [obs-a]", res.Own)
	}
	if res.Other != "403" {
		t.Errorf("reading another patient's Observation: %q, want 403", res.Other)
	}
}

// startBrowserApp finds Chromium and serves the fhirclient test app on
// loopback; the app's reports arrive on results. It skips the test, saying
// why, when Chromium or fhirclient is not installed.
func startBrowserApp(t *testing.T) (chromium string, app *httptest.Server, results chan browserResult) {
	t.Helper()
	chromium = browsertest.Chromium(t, "the fhirclient browser test")
	lib, err := os.ReadFile(fhirclientJS)
	if err != nil {
		t.Skip("fhirclient is not installed (cd sandbox/testdata/browser && npm ci --legacy-peer-deps; .ci/run does it): skipping the browser test")
	}

	results = make(chan browserResult, 1)
	app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/fhir-client.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(lib)
		case r.URL.Path == "/result" && r.Method == http.MethodPost:
			var res browserResult
			b, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(b, &res); err != nil {
				res.Error = "undecodable result: " + string(b)
			}
			select {
			case results <- res:
			default:
			}
		case browserApp[r.URL.Path] != "":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, browserApp[r.URL.Path])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(app.Close)
	return chromium, app, results
}

// TestBrowser_FHIRClientStandaloneLaunchThroughThePages drives a standalone
// launch with the npm fhirclient library in headless Chromium, and
// playwright-core clicks through the sandbox's pages as a person would:
// sign in as a practitioner, pick a patient, allow access. The app then
// reads with the token and sees that patient's data only.
func TestBrowser_FHIRClientStandaloneLaunchThroughThePages(t *testing.T) {
	chromium, app, results := startBrowserApp(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node (apt-get install nodejs; .ci/run installs it): skipping the standalone browser test")
	}
	if _, err := os.Stat("testdata/browser/node_modules/playwright-core/package.json"); err != nil {
		t.Skip("playwright-core is not installed (cd sandbox/testdata/browser && npm ci --legacy-peer-deps): skipping")
	}
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Secure = true })
	shots := os.Getenv("HPS_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	launch := app.URL + "/standalone.html?" + url.Values{"iss": {env.fhirBase()}}.Encode()
	cmd := exec.CommandContext(ctx, node, "testdata/browser/standalone.mjs", launch, "Practitioner/prac-1", "pat-b", shots)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("driver: %v\n%s", err, out)
	}
	var res browserResult
	select {
	case res = <-results:
	case <-ctx.Done():
		t.Fatal("the browser app reported nothing")
	}
	if res.Error != "" {
		t.Fatalf("fhirclient: %s", res.Error)
	}
	if res.Patient != "pat-b" || !res.IDToken || res.User != "Practitioner/prac-1" {
		t.Errorf("launch context: %+v", res)
	}
	if len(res.Own) != 1 || res.Own[0] != "obs-b" {
		t.Errorf("the picked patient's heart rates: %v, want [obs-b]", res.Own)
	}
	if res.Other != "read" {
		// The app reads Observation/obs-b, which is now its own patient's.
		t.Errorf("reading the patient's own Observation/obs-b: %q", res.Other)
	}
	for _, page := range []string{"login", "patient-picker", "consent", "app"} {
		if _, err := os.Stat(filepath.Join(shots, page+".png")); err != nil {
			t.Errorf("no screenshot of the %s page", page)
		}
	}
}
