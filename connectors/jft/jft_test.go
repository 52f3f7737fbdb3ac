package jft

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/connectortest"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/smart"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConnector_PassesTheSuite(t *testing.T) {
	big := append([]byte(`{"resourceType":"Composition","title":"`), bytes.Repeat([]byte("x"), MaxMessageBytes)...)
	big = append(big, `"}`...)
	connectortest.Run(t, connectortest.Subject{
		ID: ID, Open: Open,
		Valid: []connectortest.Request{
			{Method: http.MethodPost, Path: "/jft/v1/Composition", Body: testdata(t, "composition.json")},
			{Method: http.MethodPost, Path: "/jft/v1/Bundle", Body: testdata(t, "bundle.json")},
			{Method: http.MethodPost, Path: "/jft/v1/MedicationDispense", Body: testdata(t, "dispense.json")},
		},
		Invalid: []connectortest.Request{
			{Method: http.MethodPost, Path: "/jft/v1/Bundle", Body: testdata(t, "composition.json")},
			{Method: http.MethodPost, Path: "/jft/v1/Composition", Body: big},
			{Method: http.MethodGet, Path: "/jft/v1/Composition/no-such/$status"},
			{Method: http.MethodPost, Path: "/jft/v1/Composition/no-such/$journaling-acknowledged"},
			{Method: http.MethodPost, Path: "/jft/v1/MedicationDispense", Body: []byte(`{"resourceType":"MedicationDispense","meta":{"profile":["http://ehelse.no/fhir/StructureDefinition/vkp-MedicationDispense-v090"]},"status":"completed","medicationCodeableConcept":{"text":"x"}}`)},
		},
	})
}

// env is the connector over a fresh store, served as the gateway serves it.
type env struct {
	t     *testing.T
	set   *connectors.Set
	store fhirstore.Store
	clock *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var reg connectors.Registry
	if err := reg.Register(ID, Open); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	set, err := reg.Open(connectors.Deps{Engine: interaction.New(store, interaction.Config{BaseURL: "http://127.0.0.1/fhir"}), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, set: set, store: store, clock: c}
}

func (e *env) do(caller connectors.Caller, method, path string, body []byte) (*httptest.ResponseRecorder, map[string]any) {
	e.t.Helper()
	r := httptest.NewRequest(method, "/sandboxes/s1/connectors/jft"+path, bytes.NewReader(body))
	r = r.WithContext(connectors.WithCaller(r.Context(), caller))
	w := httptest.NewRecorder()
	e.set.Handler("/sandboxes/s1/connectors").ServeHTTP(w, r)
	out := map[string]any{}
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w, out
}

var open = connectors.Caller{Sandbox: "s1"}

func param(p map[string]any, name string) string {
	ps, _ := p["parameter"].([]any)
	for _, x := range ps {
		m := x.(map[string]any)
		if m["name"] == name {
			for k, v := range m {
				if strings.HasPrefix(k, "value") {
					s, _ := v.(string)
					return s
				}
			}
		}
	}
	return ""
}

func TestLifecycle_SubmitStatusReadAcknowledge(t *testing.T) {
	e := newEnv(t)
	w, _ := e.do(open, http.MethodPost, "/jft/v1/Composition", testdata(t, "composition.json"))
	loc := w.Header().Get("Location")
	if w.Code != http.StatusAccepted || !strings.HasPrefix(loc, "/sandboxes/s1/connectors/jft/jft/v1/Composition/") {
		t.Fatalf("submit: %d, Location %q, %s", w.Code, loc, w.Body)
	}
	path := strings.TrimPrefix(loc, "/sandboxes/s1/connectors/jft")

	// A retry with the same identifier is the same submission.
	w, _ = e.do(open, http.MethodPost, "/jft/v1/Composition", testdata(t, "composition.json"))
	if w.Code != http.StatusAccepted || w.Header().Get("Location") != loc {
		t.Fatalf("retry: %d, Location %q; want 202 at %q", w.Code, w.Header().Get("Location"), loc)
	}
	if _, list := e.do(open, http.MethodGet, "/jft/v1/Composition", nil); list["total"] != 1.0 {
		t.Errorf("%v submissions listed; a retry stores nothing more", list["total"])
	}
	if w, _ := e.do(open, http.MethodGet, "/jft/v1/Composition?name=x", nil); w.Code != http.StatusBadRequest {
		t.Errorf("listing by a parameter the service does not take: %d, want 400", w.Code)
	}

	w, st := e.do(open, http.MethodGet, path+"/$status", nil)
	if w.Code != 200 || param(st, "status") != "registered" || param(st, "registered") == "" || param(st, "read") != "" {
		t.Fatalf("$status after submit: %d %s", w.Code, w.Body)
	}
	w, res := e.do(open, http.MethodGet, path, nil)
	if w.Code != 200 || res["resourceType"] != "Composition" {
		t.Fatalf("read: %d %s", w.Code, w.Body)
	}
	_, st = e.do(open, http.MethodGet, path+"/$status", nil)
	if param(st, "status") != "read" || param(st, "read") == "" {
		t.Fatalf("$status after read: %v", st)
	}
	ack := []byte(`{"resourceType":"Parameters","parameter":[{"name":"outcome","valueCode":"journaled"}]}`)
	w, st = e.do(open, http.MethodPost, path+"/$journaling-acknowledged", ack)
	if w.Code != 200 || param(st, "status") != "journaled" || param(st, "journaled") == "" {
		t.Fatalf("ack: %d %s", w.Code, w.Body)
	}
	if w, _ := e.do(open, http.MethodPost, path+"/$journaling-acknowledged", ack); w.Code != 200 {
		t.Errorf("repeating the acknowledgement: %d, want 200", w.Code)
	}
	failed := []byte(`{"resourceType":"Parameters","parameter":[{"name":"outcome","valueCode":"failed"},{"name":"reason","valueString":"x"}]}`)
	if w, _ := e.do(open, http.MethodPost, path+"/$journaling-acknowledged", failed); w.Code != http.StatusConflict {
		t.Errorf("a different acknowledgement after it: %d, want 409", w.Code)
	}
}

func TestSubmit_SenderCannotPreMarkJournaled(t *testing.T) {
	e := newEnv(t)
	body := strings.Replace(string(testdata(t, "composition.json")), `"status":"final"`,
		`"meta":{"tag":[{"system":"`+TagSystem+`","code":"journaled"}]},"status":"final"`, 1)
	w, _ := e.do(open, http.MethodPost, "/jft/v1/Composition", []byte(body))
	if w.Code != http.StatusAccepted {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	_, st := e.do(open, http.MethodGet, strings.TrimPrefix(w.Header().Get("Location"), "/sandboxes/s1/connectors/jft")+"/$status", nil)
	if param(st, "status") != "registered" {
		t.Errorf("status %q; a sender's own tag must not count", param(st, "status"))
	}
}

func TestReader_NotAcknowledgedPagedByCursor_StableUnderWrites(t *testing.T) {
	e := newEnv(t)
	submit := func(i int) string {
		body := strings.Replace(string(testdata(t, "composition.json")), "7d1c0a52-3b1e-4f7a-9a59-2b8c9e1d4f10",
			"7d1c0a52-3b1e-4f7a-9a59-"+strings.Repeat("0", 10)+string(rune('a'+i/10))+string(rune('0'+i%10)), 1)
		w, _ := e.do(open, http.MethodPost, "/jft/v1/Composition", []byte(body))
		if w.Code != http.StatusAccepted {
			t.Fatalf("submit %d: %d %s", i, w.Code, w.Body)
		}
		return strings.TrimPrefix(w.Header().Get("Location"), "/sandboxes/s1/connectors/jft")
	}
	var paths []string
	for i := range 7 {
		paths = append(paths, submit(i))
	}
	// The first is acknowledged: the reader no longer lists it.
	if w, _ := e.do(open, http.MethodPost, paths[0]+"/$journaling-acknowledged", nil); w.Code != 200 {
		t.Fatalf("ack: %d %s", w.Code, w.Body)
	}
	q := url.Values{"_tag:not": {TagSystem + "|journaled"}, "_count": {"2"}}
	next := "/jft/v1/Composition?" + q.Encode()
	seen := map[string]int{}
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		w, b := e.do(open, http.MethodGet, next, nil)
		if w.Code != 200 || b["type"] != "searchset" {
			t.Fatalf("list: %d %s", w.Code, w.Body)
		}
		entries, _ := b["entry"].([]any)
		for _, en := range entries {
			seen[en.(map[string]any)["fullUrl"].(string)]++
		}
		if pages == 0 {
			submit(8) // written while the reader pages
		}
		next = ""
		links, _ := b["link"].([]any)
		for _, l := range links {
			if l := l.(map[string]any); l["relation"] == "next" {
				u, _ := url.Parse(l["url"].(string))
				next = strings.TrimPrefix(u.Path, "/sandboxes/s1/connectors/jft") + "?" + u.RawQuery
			}
		}
	}
	for _, p := range paths[1:] {
		found := 0
		for full, n := range seen {
			if strings.HasSuffix(full, p) {
				found = n
			}
		}
		if found != 1 {
			t.Errorf("%s listed %d times; want once", p, found)
		}
	}
	for full := range seen {
		if strings.HasSuffix(full, paths[0]) {
			t.Errorf("the acknowledged %s is listed with _tag:not journaled", paths[0])
		}
	}
}

func TestAccess_TokenRules(t *testing.T) {
	e := newEnv(t)
	body := testdata(t, "composition.json")
	bound := func(dpop bool, scopes ...string) connectors.Caller {
		return connectors.Caller{Sandbox: "s1", Token: true, ClientID: "c", DPoP: dpop,
			Grant: &smart.Grant{ClientID: "c", Scope: scopes, DPoPKey: "jkt"}}
	}
	for _, tt := range []struct {
		name   string
		caller connectors.Caller
		want   int
	}{
		{"DPoPWithScope", bound(true, "nhn:jft/api"), http.StatusAccepted},
		{"DPoPWithoutScope", bound(true, "system/*.rs"), http.StatusForbidden},
		{"BearerToken", connectors.Caller{Sandbox: "s1", Token: true, Grant: &smart.Grant{Scope: []string{"nhn:jft/api"}}}, http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := e.do(tt.caller, http.MethodPost, "/jft/v1/Composition", body)
			if w.Code != tt.want {
				t.Fatalf("%d %s; want %d", w.Code, w.Body, tt.want)
			}
		})
	}
}

func TestChecks_JudgeExchanges(t *testing.T) {
	checks := map[string]connectors.Check{}
	for _, c := range (&Connector{}).Checks() {
		checks[c.ID] = c
	}
	base := "/sandboxes/s1/connectors/jft/jft/v1/Composition"
	for _, tt := range []struct {
		check   string
		x       connectors.Exchange
		verdict connectors.Verdict
	}{
		{CheckSubmissionAccepted, connectors.Exchange{Kind: "POST", Path: base, Status: 202}, connectors.Pass},
		{CheckSubmissionAccepted, connectors.Exchange{Kind: "POST", Path: base, Status: 422}, connectors.Fail},
		{CheckSubmissionAccepted, connectors.Exchange{Kind: "POST", Path: base, Status: 401}, connectors.NotApplicable},
		{CheckSubmissionIdentifier, connectors.Exchange{Kind: "POST", Path: base, Status: 202, Request: []byte(`{"resourceType":"Composition"}`)}, connectors.Fail},
		{CheckSubmissionIdentifier, connectors.Exchange{Kind: "POST", Path: base, Status: 202, Request: []byte(`{"resourceType":"Composition","identifier":{"system":"urn:x","value":"1"}}`)}, connectors.Pass},
		{CheckStatusKnown, connectors.Exchange{Kind: "GET", Path: base + "/a/$status", Status: 200}, connectors.Pass},
		{CheckStatusKnown, connectors.Exchange{Kind: "GET", Path: base + "/a/$status", Status: 404}, connectors.Fail},
		{CheckStatusKnown, connectors.Exchange{Kind: "GET", Path: base + "/a", Status: 404}, connectors.NotApplicable},
		{CheckReadKnown, connectors.Exchange{Kind: "GET", Path: base + "/a", Status: 404}, connectors.Fail},
		{CheckAckOnce, connectors.Exchange{Kind: "POST", Path: base + "/a/$journaling-acknowledged", Status: 409}, connectors.Fail},
		{CheckAckOnce, connectors.Exchange{Kind: "POST", Path: base + "/a/$journaling-acknowledged", Status: 200}, connectors.Pass},
		{CheckReaderQuery, connectors.Exchange{Kind: "GET", Path: base, Status: 400}, connectors.Fail},
		{CheckReaderQuery, connectors.Exchange{Kind: "GET", Path: base, Status: 200}, connectors.Pass},
	} {
		tt.x.Connector = ID
		if got := checks[tt.check].Judge(&tt.x).Verdict; got != tt.verdict {
			t.Errorf("%s on %s %s %d: %s, want %s", tt.check, tt.x.Kind, tt.x.Path, tt.x.Status, got, tt.verdict)
		}
	}
}

func FuzzAcknowledgement(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"outcome","valueCode":"failed"},{"name":"reason","valueString":"x"}]}`))
	f.Add([]byte(``))
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"outcome"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		state, _, err := acknowledgement(body)
		if err == nil && state != Journaled && state != Failed {
			t.Fatalf("accepted outcome %q", state)
		}
	})
}

func FuzzSubmission(f *testing.F) {
	f.Add(testdata(f, "composition.json"))
	f.Add(testdata(f, "bundle.json"))
	f.Add([]byte(`{"resourceType":"Composition","meta":{"tag":[{"system":"` + TagSystem + `","code":"journaled"}],"extension":[1]}}`))
	f.Add([]byte(`{"meta":null,"identifier":[{"system":"a","value":"b"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _, _ = head(body)
		now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		out, err := withLifecycle(body, Lifecycle{State: Registered, Registered: now})
		if err != nil {
			return
		}
		l, ok := lifecycleOf(out)
		if !ok || l.State != Registered || !l.Registered.Equal(now) {
			t.Fatalf("the lifecycle written is not read back: %+v %v from %s", l, ok, out)
		}
	})
}

func TestReader_LastUpdated_ListsOnlyLaterChanges(t *testing.T) {
	e := newEnv(t)
	w, _ := e.do(open, http.MethodPost, "/jft/v1/Composition", testdata(t, "composition.json"))
	if w.Code != http.StatusAccepted {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	time.Sleep(20 * time.Millisecond)
	since := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	time.Sleep(20 * time.Millisecond)
	w, _ = e.do(open, http.MethodPost, "/jft/v1/MedicationDispense", testdata(t, "dispense.json"))
	if w.Code != http.StatusAccepted {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	first := strings.TrimPrefix(w.Header().Get("Location"), "/sandboxes/s1/connectors/jft")
	q := url.Values{"_lastUpdated": {"gt" + since}}
	for typ, want := range map[string]float64{"Composition": 0, "MedicationDispense": 1} {
		if _, b := e.do(open, http.MethodGet, "/jft/v1/"+typ+"?"+q.Encode(), nil); b["total"] != want {
			t.Errorf("%s changed after %s: %v, want %v", typ, since, b["total"], want)
		}
	}
	// Reading marks the dispensing read: a change the reader sees again.
	if w, _ := e.do(open, http.MethodGet, first, nil); w.Code != 200 {
		t.Fatalf("read: %d", w.Code)
	}
	q = url.Values{"_tag": {TagSystem + "|read"}}
	if _, b := e.do(open, http.MethodGet, "/jft/v1/MedicationDispense?"+q.Encode(), nil); b["total"] != 1.0 {
		t.Errorf("listing by _tag read: %v, want 1", b["total"])
	}
}

// The test-data guard refuses a submission naming a real-looking national
// identity number, names where it is without repeating it, and stores
// nothing.
func TestSubmit_RealLookingIdentityNumberRefused(t *testing.T) {
	e := newEnv(t)
	real := bytes.ReplaceAll(testdata(t, "composition.json"), []byte("05873500141"), []byte("05073500186"))
	w, _ := e.do(open, http.MethodPost, "/jft/v1/Composition", real)
	if got := w.Body.String(); w.Code != http.StatusUnprocessableEntity || !strings.Contains(got, "not synthetic") || strings.Contains(got, "05073500186") {
		t.Fatalf("real-looking number: %d %s; want 422 naming the element, not the number", w.Code, got)
	}
	w, _ = e.do(open, http.MethodGet, "/jft/v1/Composition", nil)
	if strings.Contains(w.Body.String(), `"Composition"`) && strings.Contains(w.Body.String(), "entry") {
		t.Errorf("the refused submission is listed: %s", w.Body)
	}
}
