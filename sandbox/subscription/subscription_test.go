package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

func TestRestHook_PayloadKinds(t *testing.T) {
	tests := []struct {
		name        string
		payload     map[string]any
		wantMethod  string
		wantPath    func(obsID string) string
		wantBody    bool
		wantContent bool // Content-Location names the version
	}{
		{name: "no payload: empty POST", payload: nil, wantMethod: "POST",
			wantPath: func(string) string { return "/hook" }},
		{name: "empty", payload: map[string]any{"payload": "application/fhir+json",
			"_payload": map[string]any{"extension": []any{map[string]any{"url": ContentExtension, "valueCode": "empty"}}}},
			wantMethod: "POST", wantPath: func(string) string { return "/hook" }},
		{name: "id-only", payload: map[string]any{"payload": "application/fhir+json",
			"_payload": map[string]any{"extension": []any{map[string]any{"url": ContentExtension, "valueCode": "id-only"}}}},
			wantMethod: "POST", wantPath: func(string) string { return "/hook" }, wantContent: true},
		{name: "full resource: PUT [endpoint]/[type]/[id]", payload: map[string]any{"payload": "application/fhir+json"},
			wantMethod: "PUT", wantPath: func(id string) string { return "/hook/Observation/" + id }, wantBody: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, fastConfig())
			rcv := newReceiver(t, 0)
			extra := map[string]any{"header": []string{"Authorization: Bearer secret-of-the-app", "X-Tenant: a"}}
			for k, v := range tt.payload {
				extra[k] = v
			}
			id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(rcv.URL+"/hook", extra))
			e.waitStatus("a", id, StatusActive)
			obs := e.observation(ctx, "a", "", "p1", "vital-signs", 70)
			got := rcv.next(t)
			if got.Method != tt.wantMethod || got.Path != tt.wantPath(obs.ID) {
				t.Errorf("notification %s %s, want %s %s", got.Method, got.Path, tt.wantMethod, tt.wantPath(obs.ID))
			}
			if got.Header.Get("Authorization") != "Bearer secret-of-the-app" || got.Header.Get("X-Tenant") != "a" {
				t.Errorf("custom headers not sent: %v", got.Header)
			}
			if tt.wantBody != (got.Body != "") {
				t.Errorf("body %q, want a body: %v", got.Body, tt.wantBody)
			}
			if tt.wantBody && (got.Body != string(obs.Body) || got.Header.Get("Content-Type") != "application/fhir+json") {
				t.Errorf("body is not the version written: %s (%s)", got.Body, got.Header.Get("Content-Type"))
			}
			wantLoc := ""
			if tt.wantContent {
				wantLoc = fmt.Sprintf("http://sandbox.test/a/fhir/Observation/%s/_history/1", obs.ID)
			}
			if loc := got.Header.Get("Content-Location"); loc != wantLoc {
				t.Errorf("Content-Location %q, want %q", loc, wantLoc)
			}
		})
	}
}

// Criteria mean what a search means: only matching writes notify, and
// each subscription receives its notifications in commit order.
func TestRestHook_MatchesCriteria_InCommitOrder(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 0)
	id := e.subscribe(ctx, "a", "Observation?subject=Patient/p1&category=vital-signs",
		hookChannel(rcv.URL, map[string]any{"payload": "application/fhir+json"}))
	e.waitStatus("a", id, StatusActive)

	e.observation(ctx, "a", "", "p2", "vital-signs", 1) // another patient
	e.observation(ctx, "a", "", "p1", "laboratory", 2)  // another category
	const n = 20
	obs := e.observation(ctx, "a", "", "p1", "vital-signs", 0)
	for i := 1; i < n; i++ {
		e.observation(ctx, "a", obs.ID, "p1", "vital-signs", float64(i))
	}
	for i := range n {
		got := rcv.next(t)
		var body struct {
			Meta          struct{ VersionID string } `json:"meta"`
			ValueQuantity struct{ Value float64 }    `json:"valueQuantity"`
		}
		if err := json.Unmarshal([]byte(got.Body), &body); err != nil {
			t.Fatal(err)
		}
		if body.Meta.VersionID != fmt.Sprint(i+1) || body.ValueQuantity.Value != float64(i) {
			t.Fatalf("notification %d carries version %s value %v, want version %d", i, body.Meta.VersionID, body.ValueQuantity.Value, i+1)
		}
	}
	rcv.none(t, 100*time.Millisecond)
}

func TestRestHook_RolledBackTransactionNotifiesNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 0)
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	e.waitStatus("a", id, StatusActive)
	boom := errors.New("boom")
	err := e.store.Tx(ctx, func(tx fhirstore.Tx) error {
		body := `{"resourceType":"Observation","id":"lost","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"text":"x"}}`
		if _, _, err := tx.Update(ctx, "a", parseResource(t, body), fhirstore.UpdateOptions{}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	rcv.none(t, 200*time.Millisecond)
	e.observation(ctx, "a", "", "p1", "vital-signs", 1)
	if got := rcv.next(t); got.Method != "POST" {
		t.Errorf("notification of the committed write: %s", got.Method)
	}
}

// A receiver that fails, then succeeds: the subscription goes to error
// with the failure, the notification is retried with back-off and
// delivered, and the subscription returns to active.
func TestRestHook_RetriesWithBackoffThenRecovers(t *testing.T) {
	ctx := context.Background()
	cfg := fastConfig()
	cfg.RetryBase = 50 * time.Millisecond
	e := newEnv(t, cfg)
	rcv := newReceiver(t, 2)
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	e.waitStatus("a", id, StatusActive)
	start := time.Now()
	e.observation(ctx, "a", "", "p1", "vital-signs", 1)
	s := e.waitStatus("a", id, StatusError)
	if !contains(s.Error, "500") {
		t.Errorf("error %q does not say what failed", s.Error)
	}
	rcv.next(t)
	// Two failures: waits of 50ms and 100ms before the third attempt.
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("delivered after %v: the retries did not back off", waited)
	}
	if s := e.waitStatus("a", id, StatusActive); s.Error != "" {
		t.Errorf("error %q kept after recovery", s.Error)
	}
}

func TestRestHook_DeadEndpointSwitchedOff(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 1000)
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	e.waitStatus("a", id, StatusActive)
	e.observation(ctx, "a", "", "p1", "vital-signs", 1)
	s := e.waitStatus("a", id, StatusOff)
	if !contains(s.Error, "4 times") {
		t.Errorf("error %q does not say the delivery failed 4 times", s.Error)
	}
	// Off means off: the receiver recovers, nothing more is sent.
	rcv.mu.Lock()
	rcv.fail = 0
	rcv.mu.Unlock()
	e.observation(ctx, "a", "", "p1", "vital-signs", 2)
	rcv.none(t, 150*time.Millisecond)
}

func TestSubscription_RefusedWithReason(t *testing.T) {
	strict := fastConfig()
	strict.Endpoints = EndpointPolicy{AllowHosts: []string{"hooks.example.org"}}
	tests := []struct {
		name, criteria string
		channel        map[string]any
		cfg            Config
		wantErr        string
	}{
		{"host not listed", "Observation?category=vital-signs", hookChannel("https://evil.example.net/h", nil), strict, "not on this server's list"},
		{"http to a listed host", "Observation?category=vital-signs", hookChannel("http://hooks.example.org/h", nil), strict, "https"},
		{"loopback not allowed", "Observation?category=vital-signs", hookChannel("http://127.0.0.1:9/h", nil), strict, "loopback"},
		{"metadata address", "Observation?category=vital-signs", hookChannel("https://169.254.169.254/latest", nil), strict, "not on this server's list"},
		{"credentials in URL", "Observation?category=vital-signs", hookChannel("https://u:p@hooks.example.org/h", nil), strict, "credentials"},
		{"reserved header", "Observation?category=vital-signs", hookChannel("https://hooks.example.org/h", map[string]any{"header": []string{"Host: internal"}}), strict, "Host"},
		{"header injection", "Observation?category=vital-signs", hookChannel("https://hooks.example.org/h", map[string]any{"header": []string{"X-A b: c"}}), strict, "not a header"},
		{"result parameter", "Observation?category=vital-signs&_include=Observation:subject", hookChannel("https://hooks.example.org/h", nil), strict, "_include"},
		{"unknown parameter", "Observation?colour=blue", hookChannel("https://hooks.example.org/h", nil), strict, "colour"},
		{"no type", "?category=x", hookChannel("https://hooks.example.org/h", nil), strict, "criteria"},
		{"unknown type", "Vitals", hookChannel("https://hooks.example.org/h", nil), strict, "not a FHIR R4 resource type"},
		{"xml payload", "Observation?category=vital-signs", hookChannel("https://hooks.example.org/h", map[string]any{"payload": "application/fhir+xml"}), strict, "payload"},
		{"email channel", "Observation?category=vital-signs", map[string]any{"type": "email", "endpoint": "mailto:a@b.c"}, strict, "email"},
		{"subscriptions on subscriptions", "Subscription?status=active", hookChannel("https://hooks.example.org/h", nil), strict, "Subscription"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			id := e.subscribe(context.Background(), "a", tt.criteria, tt.channel)
			s := e.waitStatus("a", id, StatusError)
			if !contains(s.Error, tt.wantErr) {
				t.Errorf("error %q does not mention %q", s.Error, tt.wantErr)
			}
		})
	}
}

func TestEndpointPolicy_DialRefusesInternalAddresses(t *testing.T) {
	p := EndpointPolicy{AllowHosts: []string{"*.example.org"}}
	for _, addr := range []string{"127.0.0.1:443", "[::1]:443", "10.0.0.1:443", "192.168.1.1:443",
		"169.254.169.254:80", "0.0.0.0:443", "[::ffff:127.0.0.1]:443", "[fe80::1]:443"} {
		if _, err := p.dialContext(context.Background(), addr); !errors.Is(err, errEndpoint) {
			t.Errorf("dial %s: %v, want refused by the policy", addr, err)
		}
	}
	if err := p.Check("https://a.example.org/x"); err != nil {
		t.Errorf("listed wildcard host refused: %v", err)
	}
	if err := p.Check("https://example.org.evil.net/x"); err == nil {
		t.Error("a host merely starting with a listed name was allowed")
	}
}

func TestSubscription_SeesOnlyItsSandbox(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 0)
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	e.waitStatus("a", id, StatusActive)
	e.observation(ctx, "b", "", "p1", "vital-signs", 1)
	rcv.none(t, 150*time.Millisecond)
}

// A subscription made under a patient-level token's confinement matches
// under it: another patient's observations are never notified, even with
// criteria that do not name the patient.
func TestSubscription_ConfinedToItsCreatorsCompartment(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 0)
	conf := &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}}
	id := e.subscribe(search.ConfineTo(ctx, conf), "a", "Observation?category=vital-signs",
		hookChannel(rcv.URL, map[string]any{"payload": "application/fhir+json"}))
	s := e.waitStatus("a", id, StatusActive)
	if len(s.Meta.Tag) != 1 || s.Meta.Tag[0].Code != ConfinedTag {
		t.Errorf("confined subscription not tagged: %+v", s.Meta.Tag)
	}
	e.observation(ctx, "a", "", "p2", "vital-signs", 1)
	mine := e.observation(ctx, "a", "", "p1", "vital-signs", 2)
	got := rcv.next(t)
	if got.Path != "/Observation/"+mine.ID {
		t.Errorf("notified %s, want only the creator's patient's Observation/%s", got.Path, mine.ID)
	}
	rcv.none(t, 100*time.Millisecond)

	// After a restart the confinement is unknown: the subscription is off.
	e.m.Close()
	e.start(fastConfig())
	e.observation(ctx, "a", "", "p2", "vital-signs", 3)
	if s := e.waitStatus("a", id, StatusOff); !contains(s.Error, "restarted") {
		t.Errorf("error %q", s.Error)
	}
	rcv.none(t, 100*time.Millisecond)
}

// An unconfined subscription resumes after a restart.
func TestSubscription_ResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 0)
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	e.waitStatus("a", id, StatusActive)
	e.m.Close()
	e.start(fastConfig())
	e.observation(ctx, "a", "", "p1", "vital-signs", 1)
	rcv.next(t)
}

func TestSubscription_OffAndDeletedStop(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 0)
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	e.waitStatus("a", id, StatusActive)
	if _, err := e.store.Delete(ctx, "a", "Subscription", id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	e.observation(ctx, "a", "", "p1", "vital-signs", 1)
	rcv.none(t, 150*time.Millisecond)
}

// What the writer may read, as its door declared it, rules over the
// confinement its write ran under: a type it may not read refuses the
// subscription, and constraints on the criteria type confine the matches.
func TestSubscription_WriterScopeConfinesMatches(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 0)
	excluded := fhirstore.WithWriterScope(ctx, &fhirstore.WriterScope{Confinement: &search.Confinement{Excluded: []string{"Observation"}}})
	id := e.subscribe(excluded, "a", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	if s := e.waitStatus("a", id, StatusError); !contains(s.Error, "may not read Observation") {
		t.Errorf("error %q", s.Error)
	}

	q, err := search.Parse("Observation", map[string][]string{"category": {"laboratory"}}, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	labOnly := fhirstore.WithWriterScope(ctx, &fhirstore.WriterScope{Confinement: &search.Confinement{Types: []string{},
		Constraints: map[string][]search.Constraint{"Observation": {q.Filters}}}})
	id = e.subscribe(labOnly, "a", "Observation?subject=Patient/p1",
		hookChannel(rcv.URL, map[string]any{"payload": "application/fhir+json"}))
	e.waitStatus("a", id, StatusActive)
	e.observation(ctx, "a", "", "p1", "vital-signs", 1)
	lab := e.observation(ctx, "a", "", "p1", "laboratory", 2)
	if got := rcv.next(t); got.Path != "/Observation/"+lab.ID {
		t.Errorf("notified %s, want only the laboratory Observation/%s", got.Path, lab.ID)
	}
	rcv.none(t, 100*time.Millisecond)
}

// Redirects are not followed: a 3xx answer is a failed delivery, so an
// allowed endpoint cannot send the sandbox on to another address.
func TestRestHook_RedirectIsNotFollowed(t *testing.T) {
	ctx := context.Background()
	cfg := fastConfig()
	cfg.MaxAttempts = 1
	e := newEnv(t, cfg)
	target := newReceiver(t, 0)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(redirect.URL, nil))
	e.waitStatus("a", id, StatusActive)
	e.observation(ctx, "a", "", "p1", "vital-signs", 1)
	if s := e.waitStatus("a", id, StatusOff); !contains(s.Error, "307") {
		t.Errorf("error %q", s.Error)
	}
	target.none(t, 50*time.Millisecond)
}

// An erased sandbox's subscriptions stop: a sandbox made again under its
// id does not inherit them.
func TestSubscription_ForgottenWithAnErasedSandbox(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 0)
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	e.waitStatus("a", id, StatusActive)
	if err := e.store.EraseSandbox(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	e.m.Forget("a")
	e.observation(ctx, "a", "", "p1", "vital-signs", 1)
	rcv.none(t, 150*time.Millisecond)
}

// Concurrent writers of one resource: its notifications arrive in the
// order of its versions, which is commit order.
func TestRestHook_ConcurrentWritersNotifiedInCommitOrder(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	rcv := newReceiver(t, 0)
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs",
		hookChannel(rcv.URL, map[string]any{"payload": "application/fhir+json"}))
	e.waitStatus("a", id, StatusActive)
	const n = 30
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			e.observation(ctx, "a", "same", "p1", "vital-signs", float64(i))
		}()
	}
	for range n {
		<-done
	}
	for i := range n {
		var body struct {
			Meta struct{ VersionID string } `json:"meta"`
		}
		if err := json.Unmarshal([]byte(rcv.next(t).Body), &body); err != nil {
			t.Fatal(err)
		}
		if body.Meta.VersionID != fmt.Sprint(i+1) {
			t.Fatalf("notification %d carries version %s", i, body.Meta.VersionID)
		}
	}
}
