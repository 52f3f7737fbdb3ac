package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// TestSignoff_ApprovedReportIsImmutableThroughTheFHIRAPI approves one
// run of a test request and tries, with a token of the sandbox allowed
// to write anything, every way the FHIR API has to change or delete a
// TestReport: each is refused with a 409 OperationOutcome for the
// approved report, and allowed for a report that is not approved.
func TestSignoff_ApprovedReportIsImmutableThroughTheFHIRAPI(t *testing.T) {
	env := newGatewayEnv(t, false)
	ctx := context.Background()
	base, tok := env.supplierSandbox(t, "acme-dev", "acme", nil)
	supplier := &tenant.Account{Username: "acme-dev", Role: tenant.RoleSupplier, Supplier: "acme"}
	reviewer := &tenant.Account{Username: "rev", Role: tenant.RoleReviewer}
	reg, err := checkRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	known := func(id string) bool { _, ok := reg.Profile(id); return ok }
	runner := &conformance.Runner{Registry: reg, Log: requestlog.NewMemoryStore(10), Reports: conformance.StoreReports{Store: env.store}}
	tr, err := env.tenants.FileTestRequest(ctx, supplier, tenant.NewTestRequest{Product: "Acme", Kind: "app", Contact: "a@acme.example",
		ClaimedProfiles: []string{conformance.ProfileFHIRClient}}, known)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.tenants.AcceptTestRequest(ctx, reviewer, tr.ID, tenant.Acceptance{Sandbox: "acme-dev"}, known); err != nil {
		t.Fatal(err)
	}
	// Runs made after the approval are not the request's: any TestReport
	// of the sandbox that is not approved may change.
	newRun := func(record bool) string {
		run, err := runner.Run(ctx, "acme-dev", conformance.RunRequest{ClientID: "app", Profile: conformance.ProfileFHIRClient})
		if err != nil {
			t.Fatal(err)
		}
		if !record {
			return run.ID
		}
		if _, err := env.tenants.RecordRun(ctx, reviewer, tr.ID, tenant.RequestRun{ID: run.ID, Profile: conformance.ProfileFHIRClient}); err != nil {
			t.Fatal(err)
		}
		return run.ID
	}
	approved := newRun(true)
	stored, err := runner.Reports.Get(ctx, "acme-dev", approved)
	if err != nil {
		t.Fatal(err)
	}
	canonical, sum, err := conformance.ContentHash(stored)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.tenants.DecideRun(ctx, reviewer, tr.ID, tenant.Verdict{Run: approved, Verdict: tenant.VerdictApproved,
		Canonical: canonical, SHA256: sum}); err != nil {
		t.Fatal(err)
	}

	patch := `[{"op":"replace","path":"/result","value":"pass"}]`
	transaction := func(id string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"TestReport/` + id + `"}}]}`
	}
	for _, tt := range []struct {
		name, method, path, body, contentType string
	}{
		{"update", "PUT", "/TestReport/%s", "", ""},
		{"delete", "DELETE", "/TestReport/%s", "", ""},
		{"JSON patch", "PATCH", "/TestReport/%s", patch, "application/json-patch+json"},
		{"conditional delete", "DELETE", "/TestReport?identifier=" + conformance.RunSystem + "|%s", "", ""},
		{"transaction", "POST", "", "", ""},
		{"$meta-add", "POST", "/TestReport/%s/$meta-add",
			`{"resourceType":"Parameters","parameter":[{"name":"meta","valueMeta":{"tag":[{"system":"urn:x","code":"changed"}]}}]}`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, id := range []string{approved, newRun(false)} {
				path := strings.ReplaceAll(tt.path, "%s", id)
				body := tt.body
				switch {
				case tt.method == "PUT":
					b, err := runner.Reports.Get(ctx, "acme-dev", id)
					if err != nil {
						t.Fatal(err)
					}
					body = string(b)
				case tt.name == "transaction":
					body = transaction(id)
				}
				req, _ := http.NewRequest(tt.method, base+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/fhir+json")
				if tt.contentType != "" {
					req.Header.Set("Content-Type", tt.contentType)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]any{}
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if id == approved {
					if resp.StatusCode != http.StatusConflict || out["resourceType"] != "OperationOutcome" ||
						!strings.Contains(diagnostics(out), "approved") {
						t.Errorf("approved report: %d %v", resp.StatusCode, out)
					}
					continue
				}
				if resp.StatusCode >= 300 || (tt.name == "transaction" && !strings.Contains(fmt.Sprint(out), "204")) {
					t.Errorf("a report not approved: %d %v", resp.StatusCode, out)
				}
			}
		})
	}
	resp, got := env.fhirAt(t, base, "GET", "/TestReport/"+approved, tok, "")
	meta, _ := got["meta"].(map[string]any)
	if resp.StatusCode != http.StatusOK || meta["versionId"] != "1" {
		t.Fatalf("the approved report after the attempts: %d %v", resp.StatusCode, meta)
	}
}
