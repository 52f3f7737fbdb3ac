package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/requestlog"
)

// logClient appends an authorization of client in the acme sandbox: with
// PKCE S256 when careful, without otherwise.
func (e *env) logClient(t *testing.T, client string, careful bool, age time.Duration) {
	t.Helper()
	f := &requestlog.OAuth{Endpoint: "authorize", ResponseType: "code", StateLen: 36, StateBits: 150, RedirectExact: true, AudMatches: true}
	if careful {
		f.PKCEMethod, f.Challenge = "S256", true
	}
	err := e.log.Append(context.Background(), []requestlog.Entry{{Sandbox: acmeSandbox, Time: time.Now().UTC().Add(-age),
		ClientID: client, Method: "GET", Path: "/auth/authorize", Status: 302, OAuth: f}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTestRequests_SupplierFilesReviewerAcceptsRunsAndApproves(t *testing.T) {
	e := conformanceEnv(t)
	product := "Vitals " + strings.ReplaceAll(t.Name(), "/", "-")
	alice := e.signedIn(t, aliceUser)
	wantContains(t, "list", alice.get("/portal/test-requests"), "Request a test", "smart-app-patient")
	got := alice.post("/portal/test-requests", url.Values{"product": {product}, "kind": {"app"}, "contact": {"dev@acme.example"},
		"profile": {"smart-app-patient"}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location(), "/portal/test-requests/tr-") {
		t.Fatalf("filing: %d to %q %s", got.status, got.location(), excerpt(got.body))
	}
	req := strings.TrimSuffix(got.location(), "?done=filed")
	wantContains(t, "filed", alice.get(got.location()), product, "submitted", "The request was filed")
	wantLacks(t, "the supplier's page", alice.get(req), "Accept the request")

	// The reviewer sees it in the queue and accepts it.
	rev := e.signedIn(t, revUser)
	wantContains(t, "queue", rev.get("/portal/test-requests"), "review queue", product, "acme")
	wantContains(t, "reviewer's page", rev.get(req), "Accept the request", acmeSandbox)
	wantStatus(t, "accept", rev.post(req+"/accept", url.Values{"sandbox": {acmeSandbox}, "profile": {"smart-app-patient"}}), http.StatusSeeOther)
	wantContains(t, "accepted", rev.get(req), "accepted", "Run the checks")

	// Two runs: the app without PKCE, then with it.
	client := "portal-app-" + strings.ToLower(strings.ReplaceAll(t.Name(), "_", "-"))
	e.logClient(t, client, false, 90*time.Minute)
	got = rev.post(req+"/runs", url.Values{"client": {client}, "profile": {"smart-app-patient"}, "hours": {"24"}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location(), req+"/runs/run-") {
		t.Fatalf("run: %d %q %s", got.status, got.location(), excerpt(got.body))
	}
	first := got.location()
	wantContains(t, "first run", rev.get(first), "smart.pkce-s256", `value="approved"`, `value="rejected"`)
	wantStatus(t, "reject without a comment", rev.post(first+"/decision", url.Values{"verdict": {"rejected"}}), http.StatusBadRequest)
	wantStatus(t, "reject", rev.post(first+"/decision", url.Values{"verdict": {"rejected"}, "comment": {"Use PKCE."}}), http.StatusSeeOther)
	e.logClient(t, client, true, time.Minute)
	got = rev.post(req+"/runs", url.Values{"client": {client}, "profile": {"smart-app-patient"}, "hours": {"1"}})
	second := got.location()
	firstID, secondID := first[strings.LastIndex(first, "/")+1:], second[strings.LastIndex(second, "/")+1:]

	diff := rev.get(req + "/diff?from=" + firstID + "&to=" + secondID)
	wantStatus(t, "diff", diff, http.StatusOK)
	wantContains(t, "diff", diff, "Runs compared", "smart.pkce-s256", "fixed")

	// The supplier follows the request but decides nothing.
	wantContains(t, "supplier's run page", alice.get(first), "rejected", "Use PKCE.")
	wantLacks(t, "supplier's run page", alice.get(second), `name="verdict"`)
	wantStatus(t, "supplier approves its own run", alice.post(second+"/decision", url.Values{"verdict": {"approved"}}), http.StatusForbidden)
	wantStatus(t, "supplier runs", alice.post(req+"/runs", url.Values{"client": {client}, "profile": {"smart-app-patient"}, "hours": {"1"}}), http.StatusForbidden)

	wantStatus(t, "approve", rev.post(second+"/decision", url.Values{"verdict": {"approved"}, "comment": {"Good."}}), http.StatusSeeOther)
	page := alice.get(second)
	wantContains(t, "approved run", page, "approved", "by rev", "sealed", "SHA-256")
	wantStatus(t, "approve twice", rev.post(second+"/decision", url.Values{"verdict": {"approved"}}), http.StatusConflict)
	wantContains(t, "history", alice.get(req), "submitted → <strong>accepted", "rejected → <strong>approved")
}

func TestTestRequests_PortalRefusesAnAttacker(t *testing.T) {
	e := conformanceEnv(t)
	alice, bob, rev := e.signedIn(t, aliceUser), e.signedIn(t, bobUser), e.signedIn(t, revUser)
	product := "Secret product " + t.Name()
	alice.get("/portal/test-requests")
	got := alice.post("/portal/test-requests", url.Values{"product": {product}, "kind": {"hub"}, "contact": {"x@acme.example"},
		"profile": {"fhir-client"}})
	req := strings.TrimSuffix(got.location(), "?done=filed")
	wantStatus(t, "accept", rev.post(req+"/accept", url.Values{"sandbox": {acmeSandbox}}), http.StatusSeeOther)
	client := "attacked-" + strings.ToLower(t.Name())
	e.logClient(t, client, true, time.Minute)
	run := rev.post(req+"/runs", url.Values{"client": {client}, "profile": {"fhir-client"}, "hours": {"1"}}).location()
	runID := run[strings.LastIndex(run, "/")+1:]

	wantLacks(t, "another supplier's list", bob.get("/portal/test-requests"), product)
	for _, path := range []string{req, run, req + "/diff?from=" + runID + "&to=" + runID} {
		wantStatus(t, "another supplier reads "+path, bob.get(path), http.StatusNotFound)
	}
	for what, post := range map[string]struct {
		path string
		form url.Values
	}{
		"accepts":   {req + "/accept", url.Values{"sandbox": {bravoSandbox}}},
		"withdraws": {req + "/withdraw", nil},
		"runs":      {req + "/runs", url.Values{"client": {client}, "profile": {"fhir-client"}, "hours": {"1"}}},
		"approves":  {run + "/decision", url.Values{"verdict": {"approved"}, "comment": {"mine now"}}},
	} {
		wantStatus(t, "another supplier "+what, bob.post(post.path, post.form), http.StatusNotFound)
	}
	wantStatus(t, "a form without the CSRF token", rev.post(run+"/decision", url.Values{"csrf": {"forged"}, "verdict": {"approved"}}), http.StatusForbidden)
	wantStatus(t, "a run not of the request", rev.get(req+"/runs/run-0123"), http.StatusNotFound)
	wantContains(t, "unchanged", rev.get(req), "accepted", "none")
}
