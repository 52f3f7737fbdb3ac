package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/vkp"
	"hpsandbox/connectors/vkp/sim"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fixtures"
)

// server is the FHIR API's Patient read and the hub's routes over one
// store seeded with the personas, on a loopback port, as the gateway
// serves them for the default sandbox.
func server(t *testing.T) (*httptest.Server, *interaction.Engine) {
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	engine := interaction.New(store, interaction.Config{BaseURL: "http://127.0.0.1/fhir"})
	rs, err := fixtures.Generate(fixtures.Options{Personas: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := fixtures.WriteBundle(&buf, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Transaction(t.Context(), fhirstore.DefaultSandbox, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	var reg connectors.Registry
	_ = reg.Register(vkp.ID, vkp.OpenWith(vkp.Options{Sleep: func(*http.Request, time.Duration) {}}))
	set, err := reg.Open(connectors.Deps{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/Patient/{id}", func(w http.ResponseWriter, r *http.Request) {
		res, err := engine.Read(r.Context(), fhirstore.DefaultSandbox, "Patient", r.PathValue("id"))
		if err != nil {
			connectors.WriteOutcome(w, err)
			return
		}
		_, _ = w.Write(res.Body)
	})
	hub := set.Handler("/connectors")
	mux.Handle("/connectors/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hub.ServeHTTP(w, r.WithContext(connectors.WithCaller(r.Context(), connectors.Caller{Sandbox: string(fhirstore.DefaultSandbox)})))
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, engine
}

func TestNightOfAFallSensorPatient(t *testing.T) {
	srv, engine := server(t)
	// Throttle every fourth submission: the simulator retries.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/connectors/vkp/settings", strings.NewReader(`{"throttle_every":4,"retry_after":1}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("settings: %v %v", resp, err)
	}
	events, err := sim.Run(t.Context(), sim.Config{Target: srv.URL, Sandbox: "default", Persona: "persona-home-care", Events: 22, Seed: 1,
		Start: time.Date(2026, 3, 1, 21, 30, 0, 0, time.FixedZone("CET", 3600)), MaxWait: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	retried := 0
	for _, ev := range events {
		if ev.Status != 200 {
			t.Fatalf("%s %s: status %d", ev.At, ev.What, ev.Status)
		}
		retried += ev.Retries
	}
	if retried == 0 {
		t.Error("no submission was retried")
	}
	// The fall alarm of each night: one Encounter whose versions are its
	// life (reported, handled, acknowledged, journaled).
	page, err := engine.Search(t.Context(), fhirstore.DefaultSandbox, "Encounter", map[string][]string{"subject": {"Patient/persona-home-care"}, "type": {vkp.SystemAlertCode + "|4.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Matches) != 2 {
		t.Fatalf("%d fall Encounters after two nights, want 2", len(page.Matches))
	}
	for _, m := range page.Matches {
		if m.Version != 4 {
			t.Errorf("Encounter/%s has %d versions, want 4 (one per stage)", m.ID, m.Version)
		}
		var e struct{ Status string }
		_ = json.Unmarshal(m.Body, &e)
		if e.Status != "finished" {
			t.Errorf("Encounter/%s is %s, want finished", m.ID, e.Status)
		}
	}
	comps, _ := engine.Search(t.Context(), fhirstore.DefaultSandbox, "Composition", map[string][]string{"subject": {"Patient/persona-home-care"}, "status": {"final"}})
	if len(comps.Matches) < 8 {
		t.Errorf("%d journaled Compositions, want at least 8", len(comps.Matches))
	}
}

func TestWeekOfHomeMeasurements(t *testing.T) {
	srv, engine := server(t)
	events, err := sim.Run(t.Context(), sim.Config{Target: srv.URL, Persona: "persona-heart-failure", Events: 35, Seed: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Status != 200 || ev.Kind != vkp.Measurements {
			t.Fatalf("%s %s: status %d", ev.At, ev.What, ev.Status)
		}
	}
	page, err := engine.Search(t.Context(), fhirstore.DefaultSandbox, "Observation", map[string][]string{"subject": {"Patient/persona-heart-failure"}, "code": {"http://loinc.org|29463-7"}, "_count": {"100"}})
	if err != nil {
		t.Fatal(err)
	}
	// The persona's own weight series plus seven simulated mornings.
	var simulated int
	for _, m := range page.Matches {
		if bytes.Contains(m.Body, []byte("urn:ietf:rfc:3986")) {
			simulated++
		}
	}
	if simulated != 7 {
		t.Errorf("%d simulated weights, want 7", simulated)
	}
}

func TestRun_Refusals(t *testing.T) {
	srv, _ := server(t)
	for _, cfg := range []sim.Config{
		{Target: srv.URL, Persona: "no-such", Events: 1},
		{Target: srv.URL, Persona: "persona-home-care", Events: 0},
		{Target: srv.URL, Persona: "persona-restricted", Events: 1}, // no address: no municipality
	} {
		if _, err := sim.Run(t.Context(), cfg, nil); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
