package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/requestlog"
)

func TestRunner_RunsOverTheLogAndKeepsTheReport(t *testing.T) {
	ctx := context.Background()
	log := requestlog.NewMemoryStore(1000)
	ev := evidence(
		anon("GET", "/.well-known/smart-configuration", 200),
		oauth(goodAuthorize(), nil),
		granted("launch/patient patient/Observation.rs"),
		fhir("GET", "/Observation?patient=1", 200),
		with(fhir("GET", "/Observation?patient=1", 200), func(e *entry) { e.ClientID = "someone-else"; e.Accept = "" }),
	)
	if err := log.Append(ctx, ev.Entries); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	r := &Runner{Registry: Default(), Log: log, Reports: StoreReports{Store: store},
		FHIRBase: func(string) string { return fxBase }, Now: func() time.Time { return fxStart.Add(time.Hour) }}

	run, err := r.Run(ctx, fxSandbox, RunRequest{ClientID: fxClient, Profile: ProfilePatientApp})
	if err != nil {
		t.Fatal(err)
	}
	if run.Exchanges != 4 || !run.Passed() || run.ID == "" {
		t.Fatalf("run of %d exchanges, passed %v, id %q: %+v", run.Exchanges, run.Passed(), run.ID, run.Outcomes)
	}
	reports, err := r.Reports.List(ctx, fxSandbox, 10)
	if err != nil || len(reports) != 1 {
		t.Fatalf("List = %d reports, %v", len(reports), err)
	}
	var tr struct {
		ID     string `json:"id"`
		Result string `json:"result"`
	}
	if err := json.Unmarshal(reports[0], &tr); err != nil || tr.ID != run.ID || tr.Result != "pass" {
		t.Fatalf("stored report %s (%v)", reports[0], err)
	}
	if other, _ := r.Reports.List(ctx, "other-sandbox", 10); len(other) != 0 {
		t.Fatal("another sandbox sees the report")
	}
	if b, err := r.Reports.Get(ctx, fxSandbox, run.ID); err != nil || !json.Valid(b) {
		t.Fatalf("Get = %v", err)
	}
	for sb, id := range map[string]string{fxSandbox: "run-nope", "other-sandbox": run.ID} {
		if _, err := r.Reports.Get(ctx, sb, id); !errors.Is(err, ErrNoRun) {
			t.Errorf("Get(%s, %s) = %v, want ErrNoRun", sb, id, err)
		}
	}

	// The window leaves out what came before it.
	late, err := r.Run(ctx, fxSandbox, RunRequest{ClientID: fxClient, Profile: ProfilePatientApp, Since: ev.Entries[3].Time})
	if err != nil {
		t.Fatal(err)
	}
	if late.Exchanges != 1 {
		t.Fatalf("windowed run judged %d exchanges, want 1", late.Exchanges)
	}
}

func TestRunner_RefusesBadRequests(t *testing.T) {
	r := &Runner{Registry: Default(), Log: requestlog.NewMemoryStore(10)}
	tests := []struct {
		name string
		req  RunRequest
		want error
	}{
		{"NoClient", RunRequest{Profile: ProfileFHIRClient}, ErrBadRun},
		{"UnknownProfile", RunRequest{ClientID: "c", Profile: "nope"}, ErrUnknownProfile},
		{"EmptyWindow", RunRequest{ClientID: "c", Profile: ProfileFHIRClient, Since: fxStart, Until: fxStart}, ErrBadRun},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.Run(context.Background(), "s", tt.req); !errors.Is(err, tt.want) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
		})
	}
}
