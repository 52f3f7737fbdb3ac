package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
)

// conformanceEnv is a portal that runs checks over the world's request
// log and keeps the reports in its store.
func conformanceEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, func(d *Deps, _ string) {
		d.Conformance = &conformance.Runner{Registry: conformance.Default(), Log: d.Requests,
			Reports: conformance.StoreReports{Store: d.Store}, FHIRBase: d.FHIRBase}
	})
}

func TestConformance_SupplierRunsChecksAndReadsTheReport(t *testing.T) {
	e := conformanceEnv(t)
	client := e.acmeApp.ClientID
	reqID := "portal-run-" + strings.ReplaceAll(t.Name(), "/", "-")
	err := e.log.Append(context.Background(), []requestlog.Entry{{
		Sandbox: acmeSandbox, Time: time.Now().UTC().Add(-time.Hour), ClientID: client, Method: "GET", Path: "/auth/authorize",
		Status: 302, RequestID: reqID, OAuth: &requestlog.OAuth{Endpoint: "authorize", StateLen: 4, StateBits: 20,
			RedirectExact: true, AudMatches: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	alice := e.signedIn(t, aliceUser)
	runs := "/portal/sandboxes/" + acmeSandbox + "/runs"
	wantContains(t, "runs page", alice.get(runs), "Judge an app", client, "SMART app, patient-facing")

	got := alice.post(runs, url.Values{"client": {client}, "profile": {"smart-app-patient"}, "hours": {"24"}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location(), runs+"/run-") {
		t.Fatalf("starting a run: %d to %q", got.status, got.location())
	}
	run := got.location()
	page := alice.get(run)
	wantStatus(t, "run page", page, http.StatusOK)
	wantContains(t, "run page", page, "smart.pkce-s256", "smart.state-entropy", "fail", reqID,
		"/requests?request_id="+reqID)

	junit := alice.get(run + "?format=junit")
	wantStatus(t, "JUnit download", junit, http.StatusOK)
	if !strings.HasPrefix(junit.body, "<?xml") || !strings.Contains(junit.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("JUnit download: %s %.100s", junit.header.Get("Content-Disposition"), junit.body)
	}
	wantContains(t, "HTML download", alice.get(run+"?format=html"), "<!DOCTYPE html>", "smart.pkce-s256")
	wantStatus(t, "unknown format", alice.get(run+"?format=pdf"), http.StatusBadRequest)
	wantContains(t, "runs page after the run", alice.get(runs), strings.TrimPrefix(run, runs+"/"))

	// The evidence link shows that one exchange, with its facts.
	wantContains(t, "the evidence", alice.get("/portal/sandboxes/"+acmeSandbox+"/requests?request_id="+reqID),
		reqID, "PKCE none", "state 20 bits")

	// Another supplier sees neither the runs nor the report.
	bob := e.signedIn(t, bobUser)
	wantStatus(t, "another supplier's runs", bob.get(runs), http.StatusNotFound)
	wantStatus(t, "another supplier's run", bob.get(run), http.StatusNotFound)
	wantStatus(t, "an unknown run", alice.get(runs+"/run-nope"), http.StatusNotFound)
}

func TestConformance_ChecksPageListsCitations(t *testing.T) {
	e := conformanceEnv(t)
	page := e.signedIn(t, bobUser).get("/portal/checks")
	wantStatus(t, "checks page", page, http.StatusOK)
	wantContains(t, "checks page", page, "smart.pkce-s256", "https://hl7.org/fhir/smart-app-launch/", "SMART backend service")
}

func TestConformance_BadRunForm_ShowsTheFormAgain(t *testing.T) {
	e := conformanceEnv(t)
	alice := e.signedIn(t, aliceUser)
	runs := "/portal/sandboxes/" + acmeSandbox + "/runs"
	alice.get(runs)
	for name, form := range map[string]url.Values{
		"NoWindow":       {"client": {e.acmeApp.ClientID}, "profile": {"smart-app-patient"}},
		"UnknownProfile": {"client": {e.acmeApp.ClientID}, "profile": {"nope"}, "hours": {"24"}},
		"NoClient":       {"profile": {"smart-app-patient"}, "hours": {"24"}},
	} {
		t.Run(name, func(t *testing.T) {
			got := alice.post(runs, form)
			wantStatus(t, "bad form", got, http.StatusBadRequest)
			wantContains(t, "bad form", got, "Judge an app")
		})
	}
}
