// Package connectortest is the behavioural suite every connector passes:
// a connector's test calls Run with its Opener and a few messages it
// accepts. Writing a connector means making this suite pass, beside the
// connector's own tests of what it does.
//
// The suite runs the connector as the gateway does — opened by a
// connectors.Registry, its routes served by the Set, its listener owned by
// Set.Listen — over real storage: a fhirstore/sqlite store in a temporary
// directory behind the FHIR engine (fhirstore/interaction), and a requestlog.Recorder.
package connectortest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/requestlog"
)

// Subject is the connector under test.
type Subject struct {
	// ID is the id it registers under.
	ID string
	// Open opens it.
	Open connectors.Opener
	// Valid are HTTP requests its routes accept, each storing at least one
	// resource. Needed when the connector has routes.
	Valid []Request
	// Invalid are HTTP requests it must refuse with a 4xx and an
	// OperationOutcome, writing nothing; the suite adds its own (an empty
	// body, one that is not JSON, one of the wrong resource type) to every
	// POST route.
	Invalid []Request
	// ValidFrames are messages its listener accepts, each sent in an MLLP
	// frame and answered with one, storing at least one resource. Needed
	// when the connector serves a listener.
	ValidFrames [][]byte
	// InvalidFrames are messages its listener refuses, answering each
	// with a frame and writing nothing; the suite adds its own.
	InvalidFrames [][]byte
}

// Request is an HTTP request to one of a connector's routes.
type Request struct {
	Method string
	Path   string // relative to the connector, e.g. "/Observation"
	Body   []byte
}

// Sandboxes the suite writes to and checks are left alone.
const (
	SandboxA = "connectortest-a"
	SandboxB = "connectortest-b"
)

// Run runs the whole suite.
func Run(t *testing.T, s Subject) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Subject)
	}{
		{"Identity_ValidNonEmptyAndStable", testIdentity},
		{"Routes_UnknownPath_AnswersOperationOutcome", testUnknownPath},
		{"Routes_ValidInput_WritesToTheCallersSandboxOnly", testValidRoutes},
		{"Routes_BadInput_RefusedClearlyAndWritesNothing", testInvalidRoutes},
		{"Routes_WithoutCaller_RefusedAndWritesNothing", testNoCaller},
		{"Routes_EveryExchangeRecorded", testRoutesRecorded},
		{"Listener_StopsWithContextAndLeavesNoGoroutines", testListenerStops},
		{"Listener_ValidAndBadInput_AnsweredAndRecorded", testListenerExchanges},
		{"Checks_UniqueIDsAndJudgeAnyExchange", testChecks},
		{"Starter_StartsAndStops", testStarter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, s) })
	}
}

// env is one opened connector over fresh storage.
type env struct {
	t     *testing.T
	store fhirstore.Store
	rec   *requestlog.Recorder
	log   *requestlog.MemoryStore
	set   *connectors.Set
	c     connectors.Connector
}

func newEnv(t *testing.T, s Subject) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logStore := requestlog.NewMemoryStore(0)
	rec := requestlog.New(logStore, requestlog.Options{Interval: time.Millisecond})
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	var reg connectors.Registry
	if err := reg.Register(s.ID, s.Open); err != nil {
		t.Fatal(err)
	}
	set, err := reg.Open(connectors.Deps{Engine: interaction.New(store, interaction.Config{BaseURL: "http://127.0.0.1/fhir"}), Recorder: rec})
	if err != nil {
		t.Fatalf("opening %s: %v", s.ID, err)
	}
	c, _ := set.Get(s.ID)
	return &env{t: t, store: store, rec: rec, log: logStore, set: set, c: c}
}

// do sends req to the connector as caller, through the Set as the gateway
// mounts it; a nil caller sends none.
func (e *env) do(req Request, caller *connectors.Caller) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(req.Method, "/connectors/"+e.c.ID()+req.Path, bytes.NewReader(req.Body))
	r.Header.Set("Content-Type", "application/fhir+json")
	if caller != nil {
		r = r.WithContext(connectors.WithCaller(r.Context(), *caller))
	}
	w := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != nil {
				e.t.Fatalf("%s %s panicked: %v", req.Method, req.Path, p)
			}
		}()
		e.set.Handler("/connectors").ServeHTTP(w, r)
	}()
	return w
}

// versions counts the versions stored in a sandbox.
func (e *env) versions(sandbox string) int {
	e.t.Helper()
	p, err := e.store.History(context.Background(), fhirstore.Sandbox(sandbox), fhirstore.HistoryQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Total
}

// entries returns what the request log holds of a sandbox, oldest first.
func (e *env) entries(sandbox string) []requestlog.Entry {
	e.t.Helper()
	if err := e.rec.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	p, err := e.log.Query(context.Background(), requestlog.Filter{Sandbox: sandbox, Limit: requestlog.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	out := p.Entries
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

var callerA = connectors.Caller{Sandbox: SandboxA}

// isOutcome reports whether body is an OperationOutcome with an issue.
func isOutcome(body []byte) bool {
	var oo struct {
		ResourceType string            `json:"resourceType"`
		Issue        []json.RawMessage `json:"issue"`
	}
	return json.Unmarshal(body, &oo) == nil && oo.ResourceType == "OperationOutcome" && len(oo.Issue) > 0
}

func routesOf(c connectors.Connector) []connectors.Route {
	if rc, ok := c.(connectors.RouteConnector); ok {
		return rc.Routes()
	}
	return nil
}

func testIdentity(t *testing.T, s Subject) {
	e := newEnv(t, s)
	if e.c.ID() != s.ID || !connectors.ValidID(e.c.ID()) {
		t.Fatalf("ID %q: want %q, a valid connector id", e.c.ID(), s.ID)
	}
	if e.c.ID() != e.c.ID() {
		t.Fatal("ID changes between calls")
	}
	d := e.c.Description()
	if d == "" || bytes.ContainsAny([]byte(d), "\r\n") || len(d) > 200 {
		t.Fatalf("Description %q: want one non-empty line of at most 200 bytes", d)
	}
	again := newEnv(t, s)
	if again.c.ID() != e.c.ID() || again.c.Description() != d {
		t.Fatal("a connector opened again names itself differently")
	}
	for _, rt := range routesOf(e.c) {
		if rt.Summary == "" {
			t.Errorf("route %s %s has no summary", rt.Method, rt.Path)
		}
	}
}

func testUnknownPath(t *testing.T, s Subject) {
	e := newEnv(t, s)
	for _, req := range []Request{
		{Method: http.MethodGet, Path: "/no-such-route"},
		{Method: http.MethodPost, Path: "/no/such/route", Body: []byte("{}")},
		{Method: http.MethodGet, Path: ""},
		{Method: http.MethodDelete, Path: "/../../fhir/Patient"},
	} {
		w := e.do(req, &callerA)
		if w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %q: status %d, want 404 or 405", req.Method, req.Path, w.Code)
		}
		if !isOutcome(w.Body.Bytes()) {
			t.Errorf("%s %q: body %q is not an OperationOutcome", req.Method, req.Path, w.Body.String())
		}
	}
	for _, rt := range routesOf(e.c) {
		if rt.Method == http.MethodPost {
			w := e.do(Request{Method: http.MethodPut, Path: rt.Path, Body: []byte("{}")}, &callerA)
			if w.Code != http.StatusMethodNotAllowed || !isOutcome(w.Body.Bytes()) {
				t.Errorf("PUT %s: status %d body %q, want 405 with an OperationOutcome", rt.Path, w.Code, w.Body.String())
			}
		}
	}
	if n := e.versions(SandboxA); n != 0 {
		t.Errorf("unknown paths wrote %d versions", n)
	}
}

func testValidRoutes(t *testing.T, s Subject) {
	e := newEnv(t, s)
	if len(routesOf(e.c)) == 0 {
		t.Skip("the connector has no routes")
	}
	if len(s.Valid) == 0 {
		t.Fatal("Subject.Valid is empty: give a request the routes accept")
	}
	for _, req := range s.Valid {
		before := e.versions(SandboxA)
		w := e.do(req, &callerA)
		if w.Code/100 != 2 {
			t.Fatalf("%s %s: status %d, body %s; want success", req.Method, req.Path, w.Code, w.Body)
		}
		if e.versions(SandboxA) <= before {
			t.Errorf("%s %s succeeded but stored nothing", req.Method, req.Path)
		}
	}
	if n := e.versions(SandboxB); n != 0 {
		t.Errorf("writes of sandbox %s landed in %s (%d versions)", SandboxA, SandboxB, n)
	}
}

// badBodies are what the suite sends to every POST route besides the
// subject's own invalid requests.
var badBodies = [][]byte{
	nil,
	[]byte("not json"),
	[]byte(`{"resourceType":`),
	[]byte(`[]`),
	[]byte(`{"resourceType":"Patient","name":[{"family":"Nordmann"}]}`),
	[]byte(`{"resourceType":"NoSuchType"}`),
	[]byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"unknownElement":1}`),
}

func invalidRequests(c connectors.Connector, s Subject) []Request {
	reqs := append([]Request(nil), s.Invalid...)
	for _, rt := range routesOf(c) {
		if rt.Method != http.MethodPost {
			continue
		}
		for _, b := range badBodies {
			reqs = append(reqs, Request{Method: rt.Method, Path: rt.Path, Body: b})
		}
	}
	return reqs
}

func testInvalidRoutes(t *testing.T, s Subject) {
	e := newEnv(t, s)
	for _, req := range invalidRequests(e.c, s) {
		w := e.do(req, &callerA)
		if w.Code/100 != 4 {
			t.Errorf("%s %s %.40q: status %d, want 4xx", req.Method, req.Path, req.Body, w.Code)
		}
		if !isOutcome(w.Body.Bytes()) {
			t.Errorf("%s %s %.40q: body %.200q is not an OperationOutcome", req.Method, req.Path, req.Body, w.Body.String())
		}
	}
	if n := e.versions(SandboxA); n != 0 {
		t.Errorf("invalid requests stored %d versions", n)
	}
}

func testNoCaller(t *testing.T, s Subject) {
	e := newEnv(t, s)
	for _, req := range append(append([]Request(nil), s.Valid...), Request{Method: http.MethodGet, Path: "/"}) {
		w := e.do(req, nil)
		if w.Code < 400 || !isOutcome(w.Body.Bytes()) {
			t.Errorf("%s %s without a caller: status %d, want an error with an OperationOutcome", req.Method, req.Path, w.Code)
		}
	}
	if n := e.versions(SandboxA); n != 0 {
		t.Errorf("requests without a caller stored %d versions", n)
	}
}

func testRoutesRecorded(t *testing.T, s Subject) {
	e := newEnv(t, s)
	reqs := append(append([]Request(nil), s.Valid...), invalidRequests(e.c, s)...)
	reqs = append(reqs, Request{Method: http.MethodGet, Path: "/no-such-route"})
	var statuses []int
	for _, req := range reqs {
		statuses = append(statuses, e.do(req, &callerA).Code)
	}
	got := e.entries(SandboxA)
	if len(got) != len(reqs) {
		t.Fatalf("%d exchanges, %d entries in the request log; want one each", len(reqs), len(got))
	}
	for i, en := range got {
		if en.Connector != e.c.ID() || en.Channel != requestlog.ChannelHTTP || en.Method != reqs[i].Method ||
			en.Status != statuses[i] || en.Time.IsZero() || en.Path != "/connectors/"+e.c.ID()+reqs[i].Path {
			t.Errorf("entry %d = %+v; want connector %s, channel http, %s /connectors/%s%s, status %d",
				i, en, e.c.ID(), reqs[i].Method, e.c.ID(), reqs[i].Path, statuses[i])
		}
		if en.Status >= 400 && len(en.Issues) == 0 {
			t.Errorf("entry %d (status %d) keeps no issues of the OperationOutcome", i, en.Status)
		}
	}
	if other := e.entries(SandboxB); len(other) != 0 {
		t.Errorf("sandbox %s has %d entries of %s's exchanges", SandboxB, len(other), SandboxA)
	}
}
