package requestlog_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/requestlog/storetest"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func openPostgres(t testing.TB, dsn string, perSandboxMax int) *requestlog.SQLStore {
	t.Helper()
	s, err := requestlog.OpenPostgres(context.Background(), dsn, perSandboxMax)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestPostgresStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, perSandboxMax int) requestlog.Store {
		return openPostgres(t, testpg.Start(t), perSandboxMax)
	})
}

func TestPostgresStore_BoundCutsThroughChunks(t *testing.T) {
	testBoundCutsThroughChunks(t, openPostgres(t, testpg.Start(t), 7))
}

// Gateways sharing a database share the log: their concurrent appends get
// distinct ids, each sandbox keeps its bound exactly, and every gateway
// reads the same entries, newest first. They started at once against the
// empty database, and all opened it.
func TestPostgresStore_GatewaysSharingADatabase(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	const gateways, batches, bound = 3, 20, 25
	stores := make([]*requestlog.SQLStore, gateways)
	var wg sync.WaitGroup
	errs := make([]error, gateways)
	for g := range gateways {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[g], errs[g] = requestlog.OpenPostgres(ctx, dsn, bound)
		}()
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("gateway %d: %v", g, err)
		}
		defer stores[g].Close()
	}
	var mu sync.Mutex
	var all, ofA []int64
	for g, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				batch := make([]requestlog.Entry, 4)
				for i := range batch {
					batch[i] = requestlog.Entry{Sandbox: []string{"a", "b"}[i%2], Method: "GET",
						Path: fmt.Sprintf("/fhir/Patient/g%d-b%d-%d", g, b, i), Status: 200}
				}
				if err := s.Append(ctx, batch); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range batch {
					all = append(all, e.ID)
					if e.Sandbox == "a" {
						ofA = append(ofA, e.ID)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(all)
	if n := len(slices.Compact(slices.Clone(all))); n != gateways*batches*4 {
		t.Fatalf("%d distinct ids of %d entries", n, gateways*batches*4)
	}
	var first []int64
	for g, s := range stores {
		for _, sb := range []string{"a", "b"} {
			p, err := s.Query(ctx, requestlog.Filter{Sandbox: sb, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Entries) != bound {
				t.Errorf("gateway %d, sandbox %s: %d entries, want the bound %d", g, sb, len(p.Entries), bound)
			}
			var ids []int64
			for _, e := range p.Entries {
				ids = append(ids, e.ID)
			}
			if !slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) }) {
				t.Errorf("gateway %d, sandbox %s: not newest first: %v", g, sb, ids)
			}
			if sb == "a" && first == nil {
				first = ids
			} else if sb == "a" && !slices.Equal(ids, first) {
				t.Errorf("gateway %d reads %v, gateway 0 %v", g, ids, first)
			}
		}
	}
	// The newest entries are those kept.
	slices.Sort(ofA)
	want := slices.Clone(ofA[len(ofA)-bound:])
	slices.Reverse(want)
	if !slices.Equal(first, want) {
		t.Errorf("sandbox a keeps %v, want the newest %v", first, want)
	}
}

// A log's entries outlive the gateway: a reopened store reads them, and
// deleting a sandbox from one gateway deletes it for all.
func TestPostgresStore_ReopenAndDeleteFromAnother(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	s := openPostgres(t, dsn, 10)
	batch := []requestlog.Entry{{Sandbox: "a", Method: "GET", Path: "/fhir/metadata", Status: 200,
		Verdicts: []requestlog.Verdict{{Check: "c", Pass: true}}}, {Sandbox: "b", Method: "GET", Path: "/fhir/metadata", Status: 200}}
	if err := s.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	other := openPostgres(t, dsn, 10)
	p, err := other.Query(ctx, requestlog.Filter{Sandbox: "a"})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].ID != batch[0].ID || len(p.Entries[0].Verdicts) != 1 {
		t.Fatalf("another gateway reads %+v, %v", p.Entries, err)
	}
	if err := other.DeleteSandbox(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Query(ctx, requestlog.Filter{Sandbox: "a"}); err != nil || len(p.Entries) != 0 {
		t.Errorf("after the delete: %+v, %v", p.Entries, err)
	}
	if p, err := s.Query(ctx, requestlog.Filter{Sandbox: "b"}); err != nil || len(p.Entries) != 1 {
		t.Errorf("the other sandbox: %+v, %v", p.Entries, err)
	}
}
