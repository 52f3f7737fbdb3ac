package subscription

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// env is a store with a manager following it.
type env struct {
	t     testing.TB
	store *sqlstore.Store
	m     *Manager
	hub   *Hub
}

func fastConfig() Config {
	return Config{Endpoints: EndpointPolicy{AllowLoopback: true}, RetryBase: 20 * time.Millisecond,
		RetryMax: 100 * time.Millisecond, MaxAttempts: 4, Timeout: 2 * time.Second,
		Base: func(sb fhirstore.Sandbox) string { return "http://sandbox.test/" + string(sb) + "/fhir" }}
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hub := NewHub(HubConfig{Store: st, Authenticate: testAuthenticate})
	e := &env{t: t, store: st, hub: hub}
	e.start(cfg)
	t.Cleanup(func() { st.Close() })
	return e
}

// start runs a manager over the env's store (again, after a restart).
func (e *env) start(cfg Config) {
	e.m = New(e.store, e.hub, cfg)
	stop := e.store.ObserveCommits(e.m.Committed)
	m := e.m
	e.t.Cleanup(func() { stop(); m.Close() })
}

// testAuthenticate takes "token-<sandbox>" as valid for that sandbox, and
// "bound-<sandbox>" as a DPoP-bound token of it whose proof is
// "proof@<websocket URL>".
func testAuthenticate(_ context.Context, sandbox, token string, proof Proof) error {
	switch token {
	case "token-" + sandbox:
		return nil
	case "bound-" + sandbox:
		switch {
		case len(proof.DPoP) == 0:
			return &DPoPError{Reason: "the upgrade request carried no DPoP proof"}
		case len(proof.DPoP) > 1 || proof.DPoP[0] != "proof@"+proof.URL:
			return &DPoPError{Reason: "the DPoP proof is not for " + proof.URL}
		}
		return nil
	}
	return fmt.Errorf("invalid token")
}

func parseResource(t testing.TB, body string) *fhirjson.Resource {
	t.Helper()
	r, err := fhirjson.Parse([]byte(body))
	if err != nil {
		t.Fatalf("test resource invalid: %v\n%s", err, body)
	}
	return r
}

// subscribe stores a requested Subscription and returns its id.
func (e *env) subscribe(ctx context.Context, sandbox, criteria string, channel map[string]any) string {
	e.t.Helper()
	doc := map[string]any{"resourceType": "Subscription", "status": "requested", "reason": "test",
		"criteria": criteria, "channel": channel}
	b, _ := json.Marshal(doc)
	res, err := e.store.Create(ctx, fhirstore.Sandbox(sandbox), parseResource(e.t, string(b)), "")
	if err != nil {
		e.t.Fatal(err)
	}
	return res.ID
}

// observation writes a vital-signs (or other category) Observation of a
// patient; with id set it updates that one.
func (e *env) observation(ctx context.Context, sandbox, id, patient, category string, value float64) *fhirstore.Resource {
	e.t.Helper()
	body := fmt.Sprintf(`{"resourceType":"Observation","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":%q}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
		"subject":{"reference":"Patient/%s"},"valueQuantity":{"value":%v,"unit":"/min"}}`, category, patient, value)
	if id == "" {
		res, err := e.store.Create(ctx, fhirstore.Sandbox(sandbox), parseResource(e.t, body), "")
		if err != nil {
			e.t.Fatal(err)
		}
		return res
	}
	body = `{"id":"` + id + `",` + body[1:]
	res, _, err := e.store.Update(ctx, fhirstore.Sandbox(sandbox), parseResource(e.t, body), fhirstore.UpdateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

type subscriptionState struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Meta   struct {
		Tag []struct{ System, Code string } `json:"tag"`
	} `json:"meta"`
}

func (e *env) state(sandbox, id string) subscriptionState {
	e.t.Helper()
	res, err := e.store.Read(context.Background(), fhirstore.Sandbox(sandbox), "Subscription", id)
	if err != nil {
		e.t.Fatal(err)
	}
	var s subscriptionState
	if err := json.Unmarshal(res.Body, &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// waitStatus waits until the Subscription has status and returns it.
func (e *env) waitStatus(sandbox, id, status string) subscriptionState {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := e.state(sandbox, id)
		if s.Status == status {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("Subscription/%s has status %q (error %q), want %q", id, s.Status, s.Error, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// received is one request a receiver took.
type received struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// receiver is a rest-hook endpoint on loopback; fail says how many of the
// first requests it answers 500.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	fail int
	got  chan received
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail, got: make(chan received, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		failing := r.fail > 0
		if failing {
			r.fail--
		}
		r.mu.Unlock()
		if failing {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		r.got <- received{Method: req.Method, Path: req.URL.Path, Header: req.Header, Body: string(b)}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case got := <-r.got:
		return got
	case <-time.After(5 * time.Second):
		t.Fatal("no notification arrived")
		return received{}
	}
}

// none asserts nothing arrives for a while.
func (r *receiver) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case got := <-r.got:
		t.Fatalf("unexpected notification %s %s", got.Method, got.Path)
	case <-time.After(wait):
	}
}

func hookChannel(endpoint string, extra map[string]any) map[string]any {
	ch := map[string]any{"type": "rest-hook", "endpoint": endpoint}
	for k, v := range extra {
		ch[k] = v
	}
	return ch
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
