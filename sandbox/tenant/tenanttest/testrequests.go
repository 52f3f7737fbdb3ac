package tenanttest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"hpsandbox/sandbox/tenant"
)

func testRequest(id, supplier string) *tenant.TestRequest {
	return &tenant.TestRequest{ID: id, Supplier: supplier, Product: "Product " + id, Kind: "app", Contact: "a@b.no",
		ClaimedProfiles: []string{"fhir-client"}, State: tenant.StateSubmitted, Runs: []tenant.RequestRun{},
		Decisions: []tenant.Decision{}, History: []tenant.StateChange{{To: tenant.StateSubmitted, By: "alice", At: t0}},
		CreatedBy: "alice", Created: t0, Version: 1}
}

func testRequestRoundTrip(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	want := testRequest("tr-1", "acme")
	want.State, want.Sandbox, want.Profiles = tenant.StateApproved, "acme-dev", []string{"fhir-client"}
	want.Runs = []tenant.RequestRun{{ID: "run-1", Profile: "fhir-client", ClientID: "app", By: "rev", At: t0, Passed: true}}
	want.Decisions = []tenant.Decision{{Run: "run-1", Verdict: "approved", Comment: "ok", By: "rev", At: t0, ReportSHA256: "ab"}}
	if err := r.CreateTestRequest(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := r.TestRequest(ctx, "tr-1")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v\nwant %+v", got, err, want)
	}
	if err := r.CreateTestRequest(ctx, testRequest("tr-1", "bravo")); !errors.Is(err, tenant.ErrExists) {
		t.Errorf("taken id: %v", err)
	}
	if _, err := r.TestRequest(ctx, "tr-none"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

func testRequestsBySupplier(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	for _, tr := range []*tenant.TestRequest{testRequest("tr-b", "acme"), testRequest("tr-a", "bravo"), testRequest("tr-c", "acme")} {
		if err := r.CreateTestRequest(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(supplier string) (out []string) {
		list, err := r.TestRequests(ctx, supplier)
		if err != nil || list == nil {
			t.Fatalf("list %v %v", list, err)
		}
		for _, tr := range list {
			out = append(out, tr.ID)
		}
		return out
	}
	if got := ids("acme"); !reflect.DeepEqual(got, []string{"tr-c", "tr-b"}) {
		t.Errorf("acme: %v", got)
	}
	if got := ids(""); !reflect.DeepEqual(got, []string{"tr-c", "tr-a", "tr-b"}) {
		t.Errorf("all: %v", got)
	}
	if got, err := r.TestRequests(ctx, "nobody"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("nobody's: %v %v", got, err)
	}
}

func testUpdateRequestVersion(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	tr := testRequest("tr-1", "acme")
	if err := r.CreateTestRequest(ctx, tr); err != nil {
		t.Fatal(err)
	}
	a, b := *tr, *tr
	a.Version, a.State = 2, tenant.StateAccepted
	b.Version, b.State = 2, tenant.StateWithdrawn
	if err := r.UpdateTestRequest(ctx, &a, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateTestRequest(ctx, &b, nil); !errors.Is(err, tenant.ErrState) {
		t.Fatalf("a write over a stale version: %v", err)
	}
	got, _ := r.TestRequest(ctx, "tr-1")
	if got.State != tenant.StateAccepted || got.Version != 2 {
		t.Errorf("kept %s v%d", got.State, got.Version)
	}
	missing := testRequest("tr-none", "acme")
	missing.Version = 2
	if err := r.UpdateTestRequest(ctx, missing, nil); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

func testSealOnce(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	if err := r.CreateSandbox(ctx, sandbox("acme-dev", "acme")); err != nil {
		t.Fatal(err)
	}
	tr := testRequest("tr-1", "acme")
	if err := r.CreateTestRequest(ctx, tr); err != nil {
		t.Fatal(err)
	}
	seal := &tenant.SealedReport{Sandbox: "acme-dev", Run: "run-1", Request: "tr-1", Canonical: []byte(`{"a":1}`), SHA256: "cafe", At: t0}
	tr.Version = 2
	if err := r.UpdateTestRequest(ctx, tr, seal); err != nil {
		t.Fatal(err)
	}
	tr.Version = 3
	if err := r.UpdateTestRequest(ctx, tr, seal); !errors.Is(err, tenant.ErrState) {
		t.Fatalf("sealed twice: %v", err)
	}
	if got, _ := r.TestRequest(ctx, "tr-1"); got.Version != 2 {
		t.Errorf("the refused seal wrote the request: v%d", got.Version)
	}
	if err := r.DeleteSandbox(ctx, "acme-dev"); err != nil {
		t.Fatal(err)
	}
	got, err := r.SealedReport(ctx, "acme-dev", "run-1")
	if err != nil || !reflect.DeepEqual(got, seal) {
		t.Fatalf("got %+v %v, want %+v", got, err, seal)
	}
	if _, err := r.TestRequest(ctx, "tr-1"); err != nil {
		t.Errorf("the request went with its sandbox: %v", err)
	}
	if _, err := r.SealedReport(ctx, "acme-dev", "run-2"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if list, err := r.SealedReports(ctx, "acme-dev"); err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], seal) {
		t.Errorf("SealedReports = %+v, %v", list, err)
	}
	if list, err := r.SealedReports(ctx, "bravo-dev"); err != nil || list == nil || len(list) != 0 {
		t.Errorf("SealedReports of another sandbox = %v, %v", list, err)
	}
}
