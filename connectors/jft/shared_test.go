package jft

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/smart/redisstate"
	"hpsandbox/smart/redisstate/redistest"
)

// twoGateways is the connector opened twice over one store, each with its
// own Redis client under one prefix, as two gateways of a deployment.
func twoGateways(t *testing.T) [2]*env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	url, prefix := redistest.Start(t), "test:"+rand.Text()+":"
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	var gws [2]*env
	for i := range gws {
		st, closeFn, err := redisstate.Open(ctx, url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeFn() })
		var reg connectors.Registry
		if err := reg.Register(ID, Open); err != nil {
			t.Fatal(err)
		}
		set, err := reg.Open(connectors.Deps{Engine: interaction.New(store, interaction.Config{BaseURL: "http://127.0.0.1/fhir"}),
			Now: c.now, Locker: st.Locks("lock:connectors:")})
		if err != nil {
			t.Fatal(err)
		}
		gws[i] = &env{t: t, set: set, store: store, clock: c}
	}
	return gws
}

// Retries of one submission sent at once, split over two gateways, store
// one submission: every answer is 202 at the same Location.
func TestSubmit_RetriesAcrossGatewaysStoreOne(t *testing.T) {
	gws := twoGateways(t)
	body := testdata(t, "composition.json")
	const n = 16
	locs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w, _ := gws[i%2].do(open, http.MethodPost, "/jft/v1/Composition", body)
			if w.Code != http.StatusAccepted {
				t.Errorf("submission %d: %d %s", i, w.Code, w.Body)
			}
			locs[i] = w.Header().Get("Location")
		})
	}
	wg.Wait()
	for i, l := range locs {
		if l != locs[0] {
			t.Errorf("submission %d at %q, the first at %q; want one submission", i, l, locs[0])
		}
	}
	for i, gw := range gws {
		if _, list := gw.do(open, http.MethodGet, "/jft/v1/Composition", nil); list["total"] != 1.0 {
			t.Errorf("gateway %d lists %v submissions, want 1", i, list["total"])
		}
	}
}

// Reads and acknowledgements of one submission racing over two gateways
// leave one consistent lifecycle: one outcome wins, every acknowledgement
// of it answers 200 and every other 409, and the stored versions are the
// steps taken, none lost.
func TestLifecycle_ReadAndAcknowledgeRacingAcrossGateways(t *testing.T) {
	gws := twoGateways(t)
	w, _ := gws[0].do(open, http.MethodPost, "/jft/v1/Composition", testdata(t, "composition.json"))
	if w.Code != http.StatusAccepted {
		t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	path := strings.TrimPrefix(w.Header().Get("Location"), "/sandboxes/s1/connectors/jft")
	acks := map[string][]byte{
		"journaled": []byte(`{"resourceType":"Parameters","parameter":[{"name":"outcome","valueCode":"journaled"}]}`),
		"failed":    []byte(`{"resourceType":"Parameters","parameter":[{"name":"outcome","valueCode":"failed"},{"name":"reason","valueString":"x"}]}`),
	}
	var (
		mu    sync.Mutex
		codes = map[string][]int{}
		wg    sync.WaitGroup
	)
	for i := range 12 {
		gw := gws[i%2]
		wg.Go(func() {
			var kind string
			var w interface{ Result() *http.Response }
			switch i % 3 {
			case 0:
				kind = "read"
				r, _ := gw.do(open, http.MethodGet, path, nil)
				w = r
			case 1:
				kind = "journaled"
				r, _ := gw.do(open, http.MethodPost, path+"/$journaling-acknowledged", acks[kind])
				w = r
			default:
				kind = "failed"
				r, _ := gw.do(open, http.MethodPost, path+"/$journaling-acknowledged", acks[kind])
				w = r
			}
			mu.Lock()
			codes[kind] = append(codes[kind], w.Result().StatusCode)
			mu.Unlock()
		})
	}
	wg.Wait()
	_, st := gws[1].do(open, http.MethodGet, path+"/$status", nil)
	won := param(st, "status")
	if won != "journaled" && won != "failed" {
		t.Fatalf("state after the race: %q, want journaled or failed", won)
	}
	lost := map[string]string{"journaled": "failed", "failed": "journaled"}[won]
	for _, c := range codes[won] {
		if c != http.StatusOK {
			t.Errorf("an acknowledgement as %s, which won: %d, want 200", won, c)
		}
	}
	for _, c := range codes[lost] {
		if c != http.StatusConflict {
			t.Errorf("an acknowledgement as %s after %s: %d, want 409", lost, won, c)
		}
	}
	for _, c := range codes["read"] {
		if c != http.StatusOK {
			t.Errorf("a read: %d, want 200", c)
		}
	}
	// registered, then read if a read came before the acknowledgement,
	// then the acknowledgement: two or three versions, never more.
	id := path[strings.LastIndex(path, "/")+1:]
	h, err := gws[0].store.History(context.Background(), fhirstore.Sandbox("s1"), fhirstore.HistoryQuery{Type: "Composition", ID: id})
	if err != nil {
		t.Fatal(err)
	}
	read := param(st, "read") != ""
	if want := map[bool]int{false: 2, true: 3}[read]; h.Total != want {
		t.Errorf("%d versions (read %v), want %d", h.Total, read, want)
	}
}

// refusingLocker is shared locks that do not answer.
type refusingLocker struct{}

func (refusingLocker) Lock(context.Context, string) (func(), error) {
	return nil, errors.New("redisstate: taking a lock: connection refused")
}

// Without the lock a submission is not taken: 503 with Retry-After, a
// transient OperationOutcome, and nothing stored.
func TestSubmit_NoLockIsBusyAndStoresNothing(t *testing.T) {
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
	set, err := reg.Open(connectors.Deps{Engine: interaction.New(store, interaction.Config{BaseURL: "http://127.0.0.1/fhir"}),
		Now: c.now, Locker: refusingLocker{}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, set: set, store: store, clock: c}
	w, out := e.do(open, http.MethodPost, "/jft/v1/Composition", testdata(t, "composition.json"))
	issues, _ := out["issue"].([]any)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || len(issues) != 1 ||
		issues[0].(map[string]any)["code"] != "transient" {
		t.Fatalf("submit without the lock: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if _, list := e.do(open, http.MethodGet, "/jft/v1/Composition", nil); list["total"] != 0.0 {
		t.Errorf("%v submissions stored, want 0", list["total"])
	}
}
