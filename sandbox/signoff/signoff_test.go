package signoff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

var (
	reviewer = &tenant.Account{Username: "rev", Role: tenant.RoleReviewer}
	acme     = &tenant.Account{Username: "alice", Role: tenant.RoleSupplier, Supplier: "acme"}
	bravo    = &tenant.Account{Username: "bob", Role: tenant.RoleSupplier, Supplier: "bravo"}
)

// fixture is a service with an accepted request of acme and a sandbox of
// each supplier, whose log holds an authorization of client app without
// PKCE and one with.
func fixture(t *testing.T) (Service, *tenant.TestRequest) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tenants, err := tenant.Open(ctx, tenant.Options{Path: dir + "/" + tenant.FileName, Store: store, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tenants.Close() })
	log := requestlog.NewMemoryStore(100)
	s := Service{Tenants: tenants, Runner: &conformance.Runner{Registry: conformance.Default(), Log: log,
		Reports: conformance.StoreReports{Store: store}}}
	for who, id := range map[*tenant.Account]string{acme: "acme-dev", bravo: "bravo-dev"} {
		if _, err := tenants.CreateSandbox(ctx, who, tenant.NewSandbox{ID: id, Name: id, SeedPatients: new(-1)}); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := tenants.FileTestRequest(ctx, acme, tenant.NewTestRequest{Product: "P", Kind: "app", Contact: "a@acme.example",
		ClaimedProfiles: []string{conformance.ProfilePatientApp}}, s.Known)
	if err != nil {
		t.Fatal(err)
	}
	if tr, err = tenants.AcceptTestRequest(ctx, reviewer, tr.ID, tenant.Acceptance{Sandbox: "acme-dev"}, s.Known); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, pkce := range []string{"", "S256"} {
		f := &requestlog.OAuth{Endpoint: "authorize", ResponseType: "code", StateLen: 36, StateBits: 150, RedirectExact: true,
			AudMatches: true, PKCEMethod: pkce, Challenge: pkce != ""}
		if err := log.Append(ctx, []requestlog.Entry{{Sandbox: "acme-dev", Time: now.Add(time.Duration(i-2) * time.Minute), ClientID: "app",
			Method: "GET", Path: "/auth/authorize", Status: 302, OAuth: f}}); err != nil {
			t.Fatal(err)
		}
	}
	return s, tr
}

func TestService_RunsDecidesAndCompares(t *testing.T) {
	s, tr := fixture(t)
	ctx := context.Background()
	now := time.Now().UTC()
	first, _, err := s.Run(ctx, reviewer, tr.ID, conformance.RunRequest{ClientID: "app", Profile: conformance.ProfilePatientApp,
		Since: now.Add(-3 * time.Minute), Until: now.Add(-90 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	second, tr, err := s.Run(ctx, reviewer, tr.ID, conformance.RunRequest{ClientID: "app", Profile: conformance.ProfilePatientApp,
		Since: now.Add(-90 * time.Second)})
	if err != nil || len(tr.Runs) != 2 {
		t.Fatalf("%v, runs %+v", err, tr.Runs)
	}
	cmp, err := s.Compare(ctx, acme, tr, first.ID, second.ID)
	if err != nil || cmp.Counts[conformance.Fixed] != 1 {
		t.Fatalf("compare: %v %v", cmp, err)
	}
	// Another sandbox's run is not the request's, nor is it found.
	other, err := s.Runner.Run(ctx, "bravo-dev", conformance.RunRequest{ClientID: "app", Profile: conformance.ProfilePatientApp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Report(ctx, reviewer, tr, other.ID); !errors.Is(err, conformance.ErrNoRun) {
		t.Errorf("another sandbox's run: %v", err)
	}
	if _, err := s.Decide(ctx, reviewer, tr.ID, other.ID, tenant.VerdictApproved, ""); !errors.Is(err, conformance.ErrNoRun) {
		t.Errorf("approving another sandbox's run: %v", err)
	}
	if _, err := s.Decide(ctx, acme, tr.ID, second.ID, tenant.VerdictApproved, ""); !errors.Is(err, tenant.ErrForbidden) {
		t.Errorf("the supplier approves: %v", err)
	}
	if _, err := s.Decide(ctx, bravo, tr.ID, second.ID, tenant.VerdictApproved, ""); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("another supplier approves: %v", err)
	}
	tr, err = s.Decide(ctx, reviewer, tr.ID, second.ID, tenant.VerdictApproved, "ok")
	if err != nil {
		t.Fatal(err)
	}
	report, err := s.Report(ctx, acme, tr, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(report)
	if d, _ := tr.DecisionOn(second.ID); d.ReportSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("the report as the request holds it hashes to %x, the decision says %s", sum, d.ReportSHA256)
	}
	if _, err := s.Decide(ctx, reviewer, tr.ID, second.ID, tenant.VerdictApproved, ""); !errors.Is(err, tenant.ErrState) {
		t.Errorf("approved twice: %v", err)
	}
}
