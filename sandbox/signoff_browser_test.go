package sandbox

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
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/signoff"
	"hpsandbox/sandbox/tenant"
)

// TestBrowser_ReviewerApprovesAReport_OtherSupplierSeesNothing drives the
// portal in headless Chromium (playwright-core): a reviewer signs in, opens
// a test request from the queue, reads its run's report and approves it;
// the supplier that filed it sees the decision; a second supplier signs in
// and can see neither the request nor the report. The screenshots' paths
// are logged; HPS_SCREENSHOTS=dir keeps them there.
func TestBrowser_ReviewerApprovesAReport_OtherSupplierSeesNothing(t *testing.T) {
	const what = "the sign-off browser test"
	chromium := browsertest.Chromium(t, what)
	node, _ := browsertest.Node(t, "testdata/browser", what)

	env := newGatewayEnv(t, false)
	ctx := context.Background()
	accounts := map[string]tenant.NewAccount{
		"reviewer": {Username: "rev@hospital", Name: "Rita Reviewer", Role: tenant.RoleReviewer},
		"supplier": {Username: "dev@acme", Name: "Acme developer", Role: tenant.RoleSupplier, Supplier: "acme"},
		"other":    {Username: "dev@bravo", Name: "Bravo developer", Role: tenant.RoleSupplier, Supplier: "bravo"},
	}
	creds := map[string]string{}
	who := map[string]*tenant.Account{}
	for role, a := range accounts {
		a.Password = "password-of-" + role
		acct, err := env.tenants.CreateAccount(ctx, testOperator, a)
		if err != nil {
			t.Fatal(err)
		}
		creds[role], who[role] = a.Username+":"+a.Password, acct
	}
	for role, sb := range map[string]string{"supplier": "acme-dev", "other": "bravo-dev"} {
		if _, err := env.tenants.CreateSandbox(ctx, who[role], tenant.NewSandbox{ID: sb, Name: sb, SeedPatients: intPtr(-1)}); err != nil {
			t.Fatal(err)
		}
	}
	// The request, accepted, with a run over an app's careful exchanges.
	reg, err := checkRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	so := signoff.Service{Tenants: env.tenants, Runner: &conformance.Runner{Registry: reg, Log: env.gw.requests,
		Reports: conformance.StoreReports{Store: env.store}}}
	tr, err := env.tenants.FileTestRequest(ctx, who["supplier"], tenant.NewTestRequest{Product: "Acme Pulse", Kind: "app",
		Contact: "dev@acme.example", ClaimedProfiles: []string{conformance.ProfilePatientApp}}, so.Known)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.tenants.AcceptTestRequest(ctx, who["reviewer"], tr.ID, tenant.Acceptance{Sandbox: "acme-dev"}, so.Known); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Minute)
	if err := env.gw.requests.Append(ctx, []requestlog.Entry{
		{Sandbox: "acme-dev", Time: at, ClientID: "acme-pulse", Method: "GET", Path: "/sandboxes/acme-dev/fhir/.well-known/smart-configuration", Status: 200},
		{Sandbox: "acme-dev", Time: at.Add(time.Second), ClientID: "acme-pulse", Method: "GET", Path: "/auth/authorize", Status: 302,
			RequestID: "req-authorize", OAuth: &requestlog.OAuth{Endpoint: "authorize", ResponseType: "code", StateLen: 36, StateBits: 150,
				RedirectExact: true, AudMatches: true, PKCEMethod: "S256", Challenge: true}},
	}); err != nil {
		t.Fatal(err)
	}
	run, _, err := so.Run(ctx, who["reviewer"], tr.ID, conformance.RunRequest{ClientID: "acme-pulse", Profile: conformance.ProfilePatientApp})
	if err != nil {
		t.Fatal(err)
	}

	shots := browsertest.Screenshots(t)
	dctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(dctx, node, "testdata/browser/signoff.mjs", env.srv.URL, tr.ID, run.ID, shots,
		creds["reviewer"], creds["supplier"], creds["other"])
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("driver: %v\n%s\n%s", err, out, stderr.String())
	}
	var seen struct {
		List               string
		Request, Run, Diff int
		RunBody            string
	}
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("driver output %q: %v", out, err)
	}

	// The reviewer's click approved the run, and sealed its report.
	got, err := env.tenants.TestRequestFor(ctx, who["reviewer"], tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := got.DecisionOn(run.ID)
	if got.State != tenant.StateApproved || !ok || d.By != "rev@hospital" || d.Comment != "Meets the patient-facing app profile." {
		t.Errorf("after the reviewer's approval: state %s, decision %+v", got.State, d)
	}
	if sealed, err := env.tenants.Sealed(ctx, "acme-dev", run.ID); !sealed || err != nil {
		t.Errorf("the approved report is not sealed: %v", err)
	}
	// The other supplier saw nothing of it.
	if strings.Contains(seen.List, "Acme Pulse") || strings.Contains(seen.List, tr.ID) {
		t.Errorf("the other supplier's list shows the request: %s", seen.List)
	}
	if seen.Request != 404 || seen.Run != 404 || seen.Diff != 404 || strings.Contains(seen.RunBody, "smart.pkce-s256") {
		t.Errorf("the other supplier got request %d, report %d, diff %d", seen.Request, seen.Run, seen.Diff)
	}
	for _, name := range []string{"signoff-review-queue", "signoff-request", "signoff-report", "signoff-approved-request",
		"signoff-approved-report", "signoff-supplier-request", "signoff-other-supplier-list", "signoff-other-supplier-request",
		"signoff-other-supplier-report"} {
		path := filepath.Join(shots, name+".png")
		if _, err := os.Stat(path); err != nil {
			t.Errorf("no screenshot of %s", name)
			continue
		}
		t.Logf("screenshot: %s", path)
	}
}
