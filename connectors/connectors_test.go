package connectors_test

import (
	"context"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/smart"
)

func TestCaller_MayCreate(t *testing.T) {
	scopes := func(raw string) smart.Scopes {
		s, err := smart.ParseScopes(raw)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name   string
		caller connectors.Caller
		want   bool
	}{
		{"NoToken_OpenSandbox", connectors.Caller{Sandbox: "s"}, true},
		{"SystemCreate", connectors.Caller{Sandbox: "s", Token: true, Scopes: scopes("system/Observation.c")}, true},
		{"UserWildcard", connectors.Caller{Sandbox: "s", Token: true, Scopes: scopes("user/*.cruds")}, true},
		{"V1Write", connectors.Caller{Sandbox: "s", Token: true, Scopes: scopes("system/Observation.write")}, true},
		{"ReadOnly", connectors.Caller{Sandbox: "s", Token: true, Scopes: scopes("system/Observation.rs")}, false},
		{"OtherType", connectors.Caller{Sandbox: "s", Token: true, Scopes: scopes("system/Patient.c")}, false},
		{"PatientLevel", connectors.Caller{Sandbox: "s", Token: true, Scopes: scopes("patient/Observation.c")}, false},
		{"Constrained", connectors.Caller{Sandbox: "s", Token: true, Scopes: scopes("user/Observation.c?category=vital-signs")}, false},
		{"TokenWithoutScopes", connectors.Caller{Sandbox: "s", Token: true}, false},
	}
	for _, tt := range tests {
		if got := tt.caller.MayCreate("Observation"); got != tt.want {
			t.Errorf("%s: MayCreate = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCallerFrom_NeedsASandbox(t *testing.T) {
	ctx := context.Background()
	if _, ok := connectors.CallerFrom(ctx); ok {
		t.Error("a caller in an empty context")
	}
	if _, ok := connectors.CallerFrom(connectors.WithCaller(ctx, connectors.Caller{})); ok {
		t.Error("a caller without a sandbox counts")
	}
	if c, ok := connectors.CallerFrom(connectors.WithCaller(ctx, connectors.Caller{Sandbox: "s"})); !ok || c.Sandbox != "s" {
		t.Error("the caller is lost")
	}
}

func TestExchange_Entry(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name       string
		x          connectors.Exchange
		wantStatus int
		wantIssues int
	}{
		{"AckAccepted", connectors.Exchange{Ack: "AA"}, 200, 0},
		{"AckErrorWithIssues", connectors.Exchange{Ack: "AE", Issues: []outcome.Issue{{Severity: "error", Code: "value", Diagnostics: "OBX-5"}}}, 422, 1},
		{"AckRejectIssuesFromResponse", connectors.Exchange{Ack: "AR", Response: outcome.New(outcome.Incorrect, outcome.Structure, "bad MSH").JSON(), ResponseType: "application/fhir+json"}, 400, 1},
		{"StatusWinsOverAck", connectors.Exchange{Ack: "AA", Status: 201}, 201, 0},
		{"HTTPError", connectors.Exchange{Status: 404, Response: outcome.New(outcome.Missing, outcome.NotFound, "no").JSON(), ResponseType: "application/fhir+json"}, 404, 1},
		{"SuccessBodyNotRead", connectors.Exchange{Status: 201, Response: outcome.New(outcome.Incorrect, outcome.Structure, "x").JSON(), ResponseType: "application/fhir+json"}, 201, 0},
	}
	log := requestlog.NewMemoryStore(0)
	rec := requestlog.New(log, requestlog.Options{})
	defer rec.Close(context.Background())
	ev := connectors.NewEvidence(rec, "mtu", func() time.Time { return start.Add(3 * time.Millisecond) })
	for _, tt := range tests {
		x := tt.x
		x.Sandbox, x.Channel, x.Kind, x.Path, x.Start = "s", requestlog.ChannelMLLP, "ORU^R01", "127.0.0.1:2575", start
		ev.Record(&x)
	}
	ev.Record(&connectors.Exchange{Kind: "no sandbox"}) // not recorded: the log is per sandbox
	_ = rec.Flush(context.Background())
	p, _ := log.Query(context.Background(), requestlog.Filter{Sandbox: "s"})
	if len(p.Entries) != len(tests) {
		t.Fatalf("%d entries, want %d", len(p.Entries), len(tests))
	}
	for i, tt := range tests {
		e := p.Entries[len(tests)-1-i]
		if e.Status != tt.wantStatus || len(e.Issues) != tt.wantIssues || e.Connector != "mtu" || e.Channel != "mllp" ||
			e.Method != "ORU^R01" || e.Latency != 3*time.Millisecond || !e.Time.Equal(start) || e.Time.Location() != time.UTC {
			t.Errorf("%s: entry %+v; want status %d, %d issues, connector mtu over mllp, 3ms, the start in UTC", tt.name, e, tt.wantStatus, tt.wantIssues)
		}
	}
}

func openStore(t *testing.T) fhirstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const obsJSON = `{"resourceType":"Observation","id":"ignored","status":"final","code":{"text":"pulse"}}`
