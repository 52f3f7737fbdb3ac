package connectors_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/requestlog"
)

// plain is a connector with routes and checks as a test configures them.
type plain struct {
	id     string
	routes []connectors.Route
	checks []connectors.Check
}

func (p *plain) ID() string                 { return p.id }
func (p *plain) Description() string        { return "a test connector" }
func (p *plain) Routes() []connectors.Route { return p.routes }
func (p *plain) Checks() []connectors.Check { return p.checks }
func opener(c connectors.Connector) connectors.Opener {
	return func(connectors.Deps) (connectors.Connector, error) { return c, nil }
}

func judgeNothing(*connectors.Exchange) connectors.Result { return connectors.Result{} }

func TestRegistry_Register_RefusesBadAndDuplicateIDs(t *testing.T) {
	var r connectors.Registry
	if err := r.Register("good-1", opener(&plain{id: "good-1"})); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "Upper", "1starts-with-digit", "has space", "has/slash", strings.Repeat("a", 33), "good-1"} {
		if err := r.Register(id, opener(&plain{id: id})); err == nil {
			t.Errorf("Register(%q) accepted", id)
		}
	}
	if err := r.Register("no-opener", nil); err == nil {
		t.Error("Register without an opener accepted")
	}
	if got := r.IDs(); len(got) != 1 || got[0] != "good-1" {
		t.Errorf("IDs = %v", got)
	}
}

func TestRegistry_Open_RefusesWhatCannotBeServed(t *testing.T) {
	h := http.NotFoundHandler()
	tests := []struct {
		name string
		cs   []connectors.Connector
		want string
	}{
		{"IDOtherThanRegistered", []connectors.Connector{&plain{id: "other"}}, "opened as"},
		{"RouteWithoutMethod", []connectors.Connector{&plain{id: "a", routes: []connectors.Route{{Path: "/x", Handler: h}}}}, "want a method"},
		{"RouteWithRelativePath", []connectors.Connector{&plain{id: "a", routes: []connectors.Route{{Method: "GET", Path: "x", Handler: h}}}}, "want a method"},
		{"ConflictingRoutes", []connectors.Connector{&plain{id: "a", routes: []connectors.Route{
			{Method: "GET", Path: "/x", Handler: h}, {Method: "GET", Path: "/x", Handler: h}}}}, "routes"},
		{"CheckWithoutJudge", []connectors.Connector{&plain{id: "a", checks: []connectors.Check{{ID: "a-1"}}}}, "without an id or a Judge"},
		{"CheckIDsOfTwoConnectors", []connectors.Connector{
			&plain{id: "a", checks: []connectors.Check{{ID: "same", Judge: judgeNothing}}},
			&plain{id: "b", checks: []connectors.Check{{ID: "same", Judge: judgeNothing}}}}, "also a's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r connectors.Registry
			for i, c := range tt.cs {
				id := []string{"a", "b"}[i]
				if err := r.Register(id, opener(c)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := r.Open(connectors.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v, want an error saying %q", err, tt.want)
			}
		})
	}
	var r connectors.Registry
	_ = r.Register("fails", func(connectors.Deps) (connectors.Connector, error) { return nil, errors.New("no config") })
	if _, err := r.Open(connectors.Deps{}); err == nil || !strings.Contains(err.Error(), "no config") {
		t.Fatalf("Open of a failing opener: %v", err)
	}
}

// A route that panics answers 500 with an OperationOutcome, is recorded,
// and the Set goes on serving.
func TestSet_RoutePanics_Answers500AndRecords(t *testing.T) {
	var r connectors.Registry
	_ = r.Register("p", opener(&plain{id: "p", routes: []connectors.Route{
		{Method: "GET", Path: "/boom", Summary: "panics", Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })},
		{Method: "GET", Path: "/ok", Summary: "answers", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })},
	}}))
	log := requestlog.NewMemoryStore(0)
	rec := requestlog.New(log, requestlog.Options{})
	defer rec.Close(context.Background())
	set, err := r.Open(connectors.Deps{Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	do := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req = req.WithContext(connectors.WithCaller(req.Context(), connectors.Caller{Sandbox: "s"}))
		w := httptest.NewRecorder()
		set.Handler("").ServeHTTP(w, req)
		return w
	}
	if w := do("/p/boom"); w.Code != 500 || !strings.Contains(w.Body.String(), "OperationOutcome") {
		t.Fatalf("panicking route: %d %s", w.Code, w.Body)
	}
	if w := do("/p/ok"); w.Code != 204 {
		t.Fatalf("after a panic: %d", w.Code)
	}
	_ = rec.Flush(context.Background())
	p, _ := log.Query(context.Background(), requestlog.Filter{Sandbox: "s"})
	if len(p.Entries) != 2 || p.Entries[1].Status != 500 || p.Entries[1].Connector != "p" || len(p.Entries[1].Issues) == 0 {
		t.Fatalf("entries %+v, want the 500 with its issue and the 204", p.Entries)
	}
}

func TestParseListen(t *testing.T) {
	got, err := connectors.ParseListen("mtu=127.0.0.1:2575@acme-dev")
	if err != nil || got != (connectors.Listen{Connector: "mtu", Addr: "127.0.0.1:2575", Sandbox: "acme-dev"}) {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"", "mtu", "mtu=:1", "mtu=@s", "=:1@s", "MTU=:1@s", "mtu=:1@"} {
		if _, err := connectors.ParseListen(bad); err == nil {
			t.Errorf("ParseListen(%q) accepted", bad)
		}
	}
}

// Set.Listen binds all or none: a listener that cannot be bound, or names
// a connector without a listener, leaves no other bound.
func TestSet_Listen_AllOrNone(t *testing.T) {
	var r connectors.Registry
	_ = r.Register("routes-only", opener(&plain{id: "routes-only"}))
	set, err := r.Open(connectors.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, ls := range [][]connectors.Listen{
		{{Connector: "nope", Addr: "127.0.0.1:0", Sandbox: "s"}},
		{{Connector: "routes-only", Addr: "127.0.0.1:0", Sandbox: "s"}},
	} {
		if l, err := set.Listen(context.Background(), ls); err == nil {
			l.Close()
			t.Errorf("Listen(%+v) succeeded", ls)
		}
	}
	none, err := set.Listen(context.Background(), nil)
	if err != nil || len(none.Addrs()) != 0 || none.Close() != nil {
		t.Fatalf("Listen of nothing: %v", err)
	}
}

// starter records its starts and stops in a shared log.
type starter struct {
	plain
	log  *[]string
	fail bool
}

func (s *starter) Start(context.Context) error {
	*s.log = append(*s.log, "start "+s.id)
	if s.fail {
		return errors.New("cannot start")
	}
	return nil
}

func (s *starter) Stop(context.Context) error {
	*s.log = append(*s.log, "stop "+s.id)
	return nil
}

func TestSet_StartStop_InOrderAndUndoneOnFailure(t *testing.T) {
	var log []string
	open := func(fail bool) *connectors.Set {
		log = nil
		var r connectors.Registry
		_ = r.Register("a", opener(&starter{plain: plain{id: "a"}, log: &log}))
		_ = r.Register("plain", opener(&plain{id: "plain"}))
		_ = r.Register("b", opener(&starter{plain: plain{id: "b"}, log: &log, fail: fail}))
		set, err := r.Open(connectors.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	ctx := context.Background()
	set := open(false)
	if err := set.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := set.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ", "); got != "start a, start b, stop b, stop a" {
		t.Errorf("order: %s", got)
	}
	if err := open(true).Start(ctx); err == nil || !strings.Contains(err.Error(), "starting b") {
		t.Fatalf("Start: %v, want b's failure", err)
	}
	if got := strings.Join(log, ", "); got != "start a, start b, stop a" {
		t.Errorf("after a failed start: %s, want a stopped again", got)
	}
}

// The Set judges each message with its connector's checks as it records
// it, so that the request log carries the verdicts of the checks that were
// about the message (a run later has no body to judge); a check that
// panics fails rather than taking the route down.
func TestSet_RecordsVerdictsOfTheConnectorsChecks(t *testing.T) {
	var r connectors.Registry
	judgeBody := func(x *connectors.Exchange) connectors.Result {
		switch string(x.Request) {
		case "good":
			return connectors.Result{Verdict: connectors.Pass}
		case "bad":
			return connectors.Result{Verdict: connectors.Fail, Issues: []outcome.Issue{{Severity: outcome.ErrorLevel, Code: outcome.Value,
				Diagnostics: strings.Repeat("ø", 400)}}}
		}
		return connectors.Result{}
	}
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the Set keeps what the route read
		w.WriteHeader(202)
	})
	_ = r.Register("v", opener(&plain{id: "v",
		routes: []connectors.Route{{Method: "POST", Path: "/m", Summary: "takes a message", Handler: echo}},
		checks: []connectors.Check{
			{ID: "v-body", Description: "good bodies", Judge: judgeBody},
			{ID: "v-panics", Description: "panics on bad", Judge: func(x *connectors.Exchange) connectors.Result {
				if string(x.Request) == "bad" {
					panic("index out of range")
				}
				return connectors.Result{}
			}},
		}}))
	log := requestlog.NewMemoryStore(0)
	rec := requestlog.New(log, requestlog.Options{})
	defer rec.Close(context.Background())
	set, err := r.Open(connectors.Deps{Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"good", "bad", "neither"} {
		req := httptest.NewRequest("POST", "/v/m", strings.NewReader(body))
		req = req.WithContext(connectors.WithCaller(req.Context(), connectors.Caller{Sandbox: "s"}))
		w := httptest.NewRecorder()
		set.Handler("").ServeHTTP(w, req)
		if w.Code != 202 {
			t.Fatalf("POST %s: %d", body, w.Code)
		}
	}
	_ = rec.Flush(context.Background())
	p, _ := log.Query(context.Background(), requestlog.Filter{Sandbox: "s"})
	if len(p.Entries) != 3 {
		t.Fatalf("%d entries, want 3", len(p.Entries))
	}
	neither, bad, good := p.Entries[0], p.Entries[1], p.Entries[2] // newest first
	if len(neither.Verdicts) != 0 {
		t.Errorf("a message no check is about has verdicts %+v", neither.Verdicts)
	}
	if len(good.Verdicts) != 1 || good.Verdicts[0] != (requestlog.Verdict{Check: "v-body", Pass: true}) {
		t.Errorf("good message: verdicts %+v", good.Verdicts)
	}
	if len(bad.Verdicts) != 2 || bad.Verdicts[0].Check != "v-body" || bad.Verdicts[0].Pass ||
		len(bad.Verdicts[0].Message) > 303 || !strings.HasSuffix(bad.Verdicts[0].Message, "…") {
		t.Errorf("bad message: verdicts %+v, want v-body failed with its message cut", bad.Verdicts)
	}
	if len(bad.Verdicts) == 2 && (bad.Verdicts[1].Check != "v-panics" || bad.Verdicts[1].Pass || !strings.Contains(bad.Verdicts[1].Message, "index out of range")) {
		t.Errorf("panicking check: %+v, want a failure naming the panic", bad.Verdicts[1])
	}
}
