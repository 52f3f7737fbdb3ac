package tenant

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func knownProfiles(id string) bool { return id == "smart-app-patient" || id == "fhir-client" }

// requestFixture is a service with a sandbox for each supplier and a
// request of supplier A, filed.
func requestFixture(t *testing.T) (*Service, *TestRequest) {
	t.Helper()
	s, _ := newService(t, Options{})
	ctx := context.Background()
	for _, sb := range []struct {
		who *Account
		id  string
	}{{supplierA, "acme-dev"}, {supplierB, "bravo-dev"}} {
		if _, err := s.CreateSandbox(ctx, sb.who, NewSandbox{ID: sb.id, Name: sb.id, SeedPatients: intp(-1)}); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := s.FileTestRequest(ctx, supplierA, NewTestRequest{Product: "Acme Vitals", Kind: "app",
		Contact: "dev@acme.example", ClaimedProfiles: []string{"smart-app-patient"}}, knownProfiles)
	if err != nil {
		t.Fatal(err)
	}
	return s, tr
}

var verdictReport = []byte(`{"resourceType":"TestReport"}`)

const verdictHash = "0000000000000000000000000000000000000000000000000000000000000000"

func TestFileTestRequest_RefusesWhatBreaksARule(t *testing.T) {
	s, _ := newService(t, Options{})
	good := NewTestRequest{Product: "P", Kind: "device", Contact: "a@b.no", ClaimedProfiles: []string{"fhir-client"}}
	for _, tt := range []struct {
		name  string
		who   *Account
		edit  func(*NewTestRequest)
		field string
		err   error
	}{
		{"reviewer files none", reviewer, nil, "", ErrForbidden},
		{"operator files none", operator, nil, "", ErrForbidden},
		{"no product", supplierA, func(r *NewTestRequest) { r.Product = " " }, "product", nil},
		{"unknown kind", supplierA, func(r *NewTestRequest) { r.Kind = "robot" }, "kind", nil},
		{"contact not an address", supplierA, func(r *NewTestRequest) { r.Contact = "call me" }, "contact", nil},
		{"contact with a name", supplierA, func(r *NewTestRequest) { r.Contact = "Kari <a@b.no>" }, "contact", nil},
		{"no profile", supplierA, func(r *NewTestRequest) { r.ClaimedProfiles = nil }, "claimed_profiles", nil},
		{"unknown profile", supplierA, func(r *NewTestRequest) { r.ClaimedProfiles = []string{"fhir-client", "nope"} }, "claimed_profiles[1]", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := good
			if tt.edit != nil {
				tt.edit(&req)
			}
			_, err := s.FileTestRequest(context.Background(), tt.who, req, knownProfiles)
			var inv *InvalidError
			switch {
			case tt.err != nil && !errors.Is(err, tt.err):
				t.Fatalf("err %v, want %v", err, tt.err)
			case tt.field != "" && (!errors.As(err, &inv) || inv.Field != tt.field):
				t.Fatalf("err %v, want an InvalidError of %s", err, tt.field)
			}
		})
	}
	list, err := s.TestRequests(context.Background(), operator)
	if err != nil || len(list) != 0 {
		t.Fatalf("refused requests were kept: %v %v", list, err)
	}
}

func TestTestRequest_LifecycleRecordsWhoAndWhen(t *testing.T) {
	s, tr := requestFixture(t)
	ctx := context.Background()
	if tr.State != StateSubmitted || tr.Supplier != "acme" || len(tr.History) != 1 || tr.History[0].By != "alice" {
		t.Fatalf("filed: %+v", tr)
	}
	tr, err := s.AcceptTestRequest(ctx, reviewer, tr.ID, Acceptance{Sandbox: "acme-dev"}, knownProfiles)
	if err != nil {
		t.Fatal(err)
	}
	if tr.State != StateAccepted || tr.Sandbox != "acme-dev" || strings.Join(tr.Profiles, ",") != "smart-app-patient" {
		t.Fatalf("accepted: %+v", tr)
	}
	if _, err := s.RecordRun(ctx, reviewer, tr.ID, RequestRun{ID: "run-1", Profile: "smart-app-patient", ClientID: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordRun(ctx, reviewer, tr.ID, RequestRun{ID: "run-x", Profile: "fhir-client"}); !isInvalid(err, "profile") {
		t.Fatalf("a run of a profile not accepted: %v", err)
	}
	tr, err = s.DecideRun(ctx, reviewer, tr.ID, Verdict{Run: "run-1", Verdict: VerdictRejected, Comment: "no PKCE",
		Canonical: verdictReport, SHA256: verdictHash})
	if err != nil || tr.State != StateRejected {
		t.Fatalf("rejected: %+v %v", tr, err)
	}
	if _, err := s.RecordRun(ctx, operator, tr.ID, RequestRun{ID: "run-2", Profile: "smart-app-patient"}); err != nil {
		t.Fatal(err)
	}
	tr, err = s.DecideRun(ctx, reviewer, tr.ID, Verdict{Run: "run-2", Verdict: VerdictApproved, Comment: "fine",
		Canonical: verdictReport, SHA256: verdictHash})
	if err != nil || tr.State != StateApproved {
		t.Fatalf("approved: %+v %v", tr, err)
	}
	var states []string
	for _, h := range tr.History {
		if h.By == "" || h.At.IsZero() {
			t.Errorf("history entry without who or when: %+v", h)
		}
		states = append(states, string(h.To))
	}
	if got := strings.Join(states, ","); got != "submitted,accepted,rejected,approved" {
		t.Errorf("history %s", got)
	}
	if d, ok := tr.DecisionOn("run-2"); !ok || d.By != "rev" || d.Comment != "fine" || d.ReportSHA256 != verdictHash {
		t.Errorf("decision %+v", d)
	}
	if sealed, err := s.Sealed(ctx, "acme-dev", "run-2"); !sealed || err != nil {
		t.Errorf("run-2 sealed %v %v", sealed, err)
	}
	if sealed, _ := s.Sealed(ctx, "acme-dev", "run-1"); sealed {
		t.Error("the rejected run is sealed")
	}
	if sealed, _ := s.Sealed(ctx, "bravo-dev", "run-2"); sealed {
		t.Error("a run id is sealed in another sandbox")
	}
	got, err := s.TestRequestFor(ctx, supplierA, tr.ID)
	if err != nil || got.Version != tr.Version || len(got.Decisions) != 2 {
		t.Fatalf("read back %+v %v", got, err)
	}
}

func isInvalid(err error, field string) bool {
	var inv *InvalidError
	return errors.As(err, &inv) && inv.Field == field
}

func TestTestRequest_WhoMayDoWhat(t *testing.T) {
	s, tr := requestFixture(t)
	ctx := context.Background()
	accept := func(who *Account, sb string) error {
		_, err := s.AcceptTestRequest(ctx, who, tr.ID, Acceptance{Sandbox: sb}, knownProfiles)
		return err
	}
	if _, err := s.TestRequestFor(ctx, supplierB, tr.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another supplier sees the request: %v", err)
	}
	if list, _ := s.TestRequests(ctx, supplierB); len(list) != 0 {
		t.Errorf("another supplier lists %d requests", len(list))
	}
	if list, _ := s.TestRequests(ctx, reviewer); len(list) != 1 {
		t.Errorf("a reviewer lists %d requests", len(list))
	}
	if err := accept(supplierB, "bravo-dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another supplier accepts: %v", err)
	}
	if err := accept(supplierA, "acme-dev"); !errors.Is(err, ErrForbidden) {
		t.Errorf("the supplier accepts its own request: %v", err)
	}
	if err := accept(reviewer, "bravo-dev"); !isInvalid(err, "sandbox") {
		t.Errorf("bound to another supplier's sandbox: %v", err)
	}
	if err := accept(reviewer, "acme-dev"); err != nil {
		t.Fatal(err)
	}
	if err := accept(operator, "acme-dev"); !errors.Is(err, ErrState) {
		t.Errorf("accepted twice: %v", err)
	}
	if _, err := s.RecordRun(ctx, supplierA, tr.ID, RequestRun{ID: "run-1", Profile: "smart-app-patient"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("the supplier records a run: %v", err)
	}
	if _, err := s.RecordRun(ctx, reviewer, tr.ID, RequestRun{ID: "run-1", Profile: "smart-app-patient"}); err != nil {
		t.Fatal(err)
	}
	decide := func(who *Account, run, verdict string) error {
		_, err := s.DecideRun(ctx, who, tr.ID, Verdict{Run: run, Verdict: verdict, Comment: "ok", Canonical: verdictReport, SHA256: verdictHash})
		return err
	}
	if err := decide(supplierA, "run-1", VerdictApproved); !errors.Is(err, ErrForbidden) {
		t.Errorf("the supplier approves its own run: %v", err)
	}
	if err := decide(supplierB, "run-1", VerdictApproved); !errors.Is(err, ErrNotFound) {
		t.Errorf("another supplier approves: %v", err)
	}
	if err := decide(reviewer, "run-of-elsewhere", VerdictApproved); !isInvalid(err, "run") {
		t.Errorf("a run not of the request approved: %v", err)
	}
	if err := decide(reviewer, "run-1", "maybe"); !isInvalid(err, "verdict") {
		t.Errorf("verdict maybe: %v", err)
	}
	if err := decide(reviewer, "run-1", VerdictApproved); err != nil {
		t.Fatal(err)
	}
	if err := decide(operator, "run-1", VerdictApproved); !errors.Is(err, ErrState) {
		t.Errorf("approved twice: %v", err)
	}
	if _, err := s.WithdrawTestRequest(ctx, supplierA, tr.ID); !errors.Is(err, ErrState) {
		t.Errorf("an approved request withdrawn: %v", err)
	}
}

func TestDecideRun_ConcurrentApprovals_OneWins(t *testing.T) {
	s, tr := requestFixture(t)
	ctx := context.Background()
	if _, err := s.AcceptTestRequest(ctx, reviewer, tr.ID, Acceptance{Sandbox: "acme-dev"}, knownProfiles); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"run-1", "run-2"} {
		if _, err := s.RecordRun(ctx, reviewer, tr.ID, RequestRun{ID: id, Profile: "smart-app-patient"}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.DecideRun(ctx, reviewer, tr.ID, Verdict{Run: []string{"run-1", "run-2"}[i%2], Verdict: VerdictApproved,
				Canonical: verdictReport, SHA256: verdictHash})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrState):
			t.Errorf("err %v, want ErrState", err)
		}
	}
	got, _ := s.TestRequestFor(ctx, reviewer, tr.ID)
	if won != 1 || len(got.Decisions) != 1 {
		t.Fatalf("%d approvals won, %d decisions kept", won, len(got.Decisions))
	}
}

func TestWithdrawTestRequest_SupplierOrOperatorBeforeADecision(t *testing.T) {
	s, tr := requestFixture(t)
	ctx := context.Background()
	if _, err := s.WithdrawTestRequest(ctx, reviewer, tr.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("a reviewer withdraws: %v", err)
	}
	if _, err := s.WithdrawTestRequest(ctx, supplierB, tr.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another supplier withdraws: %v", err)
	}
	got, err := s.WithdrawTestRequest(ctx, supplierA, tr.ID)
	if err != nil || got.State != StateWithdrawn {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := s.AcceptTestRequest(ctx, reviewer, tr.ID, Acceptance{Sandbox: "acme-dev"}, knownProfiles); !errors.Is(err, ErrState) {
		t.Errorf("a withdrawn request accepted: %v", err)
	}
}

func TestResetSandbox_RestoresTheSealedReports(t *testing.T) {
	s, tr := requestFixture(t)
	ctx := context.Background()
	report := []byte(`{"id":"run-1","resourceType":"TestReport","result":"pass","status":"completed","testScript":{"identifier":{"system":"urn:x","value":"p"}}}`)
	if _, err := s.AcceptTestRequest(ctx, reviewer, tr.ID, Acceptance{Sandbox: "acme-dev"}, knownProfiles); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordRun(ctx, reviewer, tr.ID, RequestRun{ID: "run-1", Profile: "smart-app-patient"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DecideRun(ctx, reviewer, tr.ID, Verdict{Run: "run-1", Verdict: VerdictApproved, Canonical: report, SHA256: verdictHash}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetSandbox(ctx, supplierA, "acme-dev"); err != nil {
		t.Fatal(err)
	}
	got, err := s.store.Read(ctx, "acme-dev", "TestReport", "run-1")
	if err != nil || !strings.Contains(string(got.Body), `"result":"pass"`) {
		t.Fatalf("after the reset: %v %s", err, got.Body)
	}
	// Resetting again finds it there.
	if _, err := s.ResetSandbox(ctx, supplierA, "acme-dev"); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRunnable_RefusesASandboxDeletedSince(t *testing.T) {
	s, tr := requestFixture(t)
	ctx := context.Background()
	if _, err := s.AcceptTestRequest(ctx, reviewer, tr.ID, Acceptance{Sandbox: "acme-dev"}, knownProfiles); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSandbox(ctx, supplierA, "acme-dev"); err != nil {
		t.Fatal(err)
	}
	// Another supplier takes the id.
	if _, err := s.CreateSandbox(ctx, supplierB, NewSandbox{ID: "acme-dev", Name: "mine now", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckRunnable(ctx, reviewer, tr.ID, "smart-app-patient"); !errors.Is(err, ErrState) {
		t.Fatalf("a run in another supplier's sandbox of the same id: %v", err)
	}
}
