package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hpsandbox/internal/browsertest"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// portalApp is the small SMART app the portal test launches: its launch
// page asks the test server for the client id the portal gave it, then
// fhirclient authorizes; its callback reads the patient and the patient's
// observations and reports what it saw.
var portalApp = map[string]string{
	"/launch.html": `<!doctype html><title>Pulse monitor</title><script src="/fhir-client.js"></script><script>
fetch("/config").then(r => r.text()).then(clientId =>
  FHIR.oauth2.authorize({clientId, scope: "launch openid fhirUser patient/*.rs", redirectUri: "/callback"}))
  .catch(e => fetch("/result", {method: "POST", body: JSON.stringify({error: String(e)})})
    .then(() => { document.title = "done"; document.body.textContent = String(e); }));
</script>`,
	"/callback": `<!doctype html><title>Pulse monitor</title><script src="/fhir-client.js"></script><script>
const report = r => fetch("/result", {method: "POST", body: JSON.stringify(r)}).then(() => {
  document.title = "done"; document.body.innerHTML = "<h1>Pulse monitor</h1><pre></pre>";
  document.querySelector("pre").textContent = JSON.stringify(r, null, 2); });
FHIR.oauth2.ready().then(async client => {
  const patient = await client.request("Patient/" + client.patient.id);
  const obs = await client.request("Observation?patient=" + client.patient.id + "&_count=5");
  report({patient: patient.id, base: client.state.serverUrl, observations: obs.total === undefined ? (obs.entry || []).length : obs.total});
}).catch(e => report({error: String(e)}));
</script>`,
}

// TestBrowser_PortalSignInCreateRegisterLaunchAndReadTheLog is a
// supplier's first hour in the portal, in headless Chromium driven by
// playwright-core: sign in, create a sandbox, register an app, launch it
// from a patient into a real SMART app (npm fhirclient) that completes the
// flow, and find its calls in the sandbox's request log. Screenshots of
// every page are kept with HPS_SCREENSHOTS=dir.
func TestBrowser_PortalSignInCreateRegisterLaunchAndReadTheLog(t *testing.T) {
	chromium, _, _ := startBrowserApp(t) // skips without Chromium or fhirclient
	node, _ := browsertest.Node(t, "testdata/browser", "the portal browser test")
	lib, err := os.ReadFile(fhirclientJS)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var clientID string
	results := make(chan map[string]any, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/fhir-client.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(lib)
		case r.URL.Path == "/config" && r.Method == http.MethodPost:
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			clientID = string(b)
			mu.Unlock()
		case r.URL.Path == "/config":
			mu.Lock()
			io.WriteString(w, clientID)
			mu.Unlock()
		case r.URL.Path == "/result" && r.Method == http.MethodPost:
			var res map[string]any
			b, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(b, &res); err != nil {
				res = map[string]any{"error": "undecodable result: " + string(b)}
			}
			select {
			case results <- res:
			default:
			}
		case portalApp[r.URL.Path] != "":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, portalApp[r.URL.Path])
		default:
			http.NotFound(w, r)
		}
	}))
	defer app.Close()

	env := newGatewayEnv(t, false)
	const password = "a-supplier-password"
	if _, err := env.tenants.CreateAccount(context.Background(), testOperator, tenant.NewAccount{
		Username: "pulse-dev", Name: "Pulse developer", Role: tenant.RoleSupplier, Supplier: "pulse", Password: password}); err != nil {
		t.Fatal(err)
	}
	shots := browsertest.Screenshots(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/browser/portal.mjs", env.srv.URL, "pulse-dev", password, app.URL, shots)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("driver: %v\n%s\n%s", err, out, stderr.String())
	}
	var driven struct{ ClientID, RequestLog string }
	if err := json.Unmarshal(out, &driven); err != nil {
		t.Fatalf("driver output %q: %v", out, err)
	}
	var res map[string]any
	select {
	case res = <-results:
	case <-ctx.Done():
		t.Fatal("the app reported nothing")
	}
	if res["error"] != nil {
		t.Fatalf("the app: %v", res["error"])
	}
	base := env.srv.URL + "/sandboxes/pulse-dev/fhir"
	if res["base"] != base || res["patient"] == "" || res["patient"] == nil {
		t.Errorf("the app ran against %v with patient %v, want the new sandbox %s", res["base"], res["patient"], base)
	}

	// The request log holds the app's calls, with its client id; the
	// portal page showed them.
	if err := env.gw.recorder.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := env.gw.requests.Query(ctx, requestlog.Filter{Sandbox: "pulse-dev", ClientID: driven.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range page.Entries {
		paths = append(paths, e.Method+" "+e.Path+" "+e.Query)
	}
	joined := strings.Join(paths, "\n")
	if !strings.Contains(joined, "GET /sandboxes/pulse-dev/fhir/Patient/") || !strings.Contains(joined, "GET /sandboxes/pulse-dev/fhir/Observation ") || !strings.Contains(joined, "patient=") {
		t.Errorf("the app's calls in the log:\n%s", joined)
	}
	if !strings.Contains(driven.RequestLog, "/Observation") || !strings.Contains(driven.RequestLog, driven.ClientID) {
		t.Errorf("the portal's request log page does not show the app's calls:\n%s", driven.RequestLog)
	}
	for _, name := range []string{"portal-login", "portal-dashboard", "portal-sandbox", "portal-register-app", "portal-app-registered",
		"portal-app", "portal-launch-patients", "portal-launch-context", "smart-login", "smart-consent", "app-launched", "portal-request-log"} {
		if _, err := os.Stat(filepath.Join(shots, name+".png")); err != nil {
			t.Errorf("no screenshot of %s", name)
		}
	}
}
