package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// key names a version as "Type/id/version".
func key(r *fhirstore.Resource) string { return fmt.Sprintf("%s/%s/%d", r.Type, r.ID, r.Version) }

func keys(rs []*fhirstore.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = key(r)
	}
	return out
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func organization(t testing.TB, id string) *fhirjson.Resource {
	t.Helper()
	r, err := fhirjson.Parse([]byte(fmt.Sprintf(`{"resourceType":"Organization","id":%q,"name":"St. Olavs hospital"}`, id)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// seedHistory writes, one second apart: Patient/a v1, Organization/o v1,
// Patient/a v2, Patient/b v1, Patient/a v3 (delete).
func seedHistory(t *testing.T, s fhirstore.Store) {
	ctx := context.Background()
	steps := []func() error{
		func() error {
			_, _, err := s.Update(ctx, sb, Patient(t, "a", "A1"), fhirstore.UpdateOptions{})
			return err
		},
		func() error {
			_, _, err := s.Update(ctx, sb, organization(t, "o"), fhirstore.UpdateOptions{})
			return err
		},
		func() error {
			_, _, err := s.Update(ctx, sb, Patient(t, "a", "A2"), fhirstore.UpdateOptions{})
			return err
		},
		func() error {
			_, _, err := s.Update(ctx, sb, Patient(t, "b", "B1"), fhirstore.UpdateOptions{})
			return err
		},
		func() error { _, err := s.Delete(ctx, sb, "Patient", "a"); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("seed step %d: %v", i, err)
		}
	}
}

func testHistory(t *testing.T, s fhirstore.Store, c *Clock) {
	seedHistory(t, s)
	tests := []struct {
		name string
		q    fhirstore.HistoryQuery
		want []string
	}{
		{"instance", fhirstore.HistoryQuery{Type: "Patient", ID: "a", Count: 10}, []string{"Patient/a/3", "Patient/a/2", "Patient/a/1"}},
		{"type", fhirstore.HistoryQuery{Type: "Patient", Count: 10}, []string{"Patient/a/3", "Patient/b/1", "Patient/a/2", "Patient/a/1"}},
		{"system", fhirstore.HistoryQuery{Count: 10}, []string{"Patient/a/3", "Patient/b/1", "Patient/a/2", "Organization/o/1", "Patient/a/1"}},
		{"count 0 gives total only", fhirstore.HistoryQuery{Count: 0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := s.History(context.Background(), sb, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(h.Versions); !equal(got, tt.want) {
				t.Errorf("versions %v, want %v", got, tt.want)
			}
			wantTotal := len(tt.want)
			if tt.q.Count == 0 {
				wantTotal = 5
			}
			if h.Total != wantTotal {
				t.Errorf("total %d, want %d", h.Total, wantTotal)
			}
		})
	}
	h, _ := s.History(context.Background(), sb, fhirstore.HistoryQuery{Type: "Patient", ID: "a", Count: 1})
	if len(h.Versions) != 1 || !h.Versions[0].Deleted() || h.Versions[0].Body != nil {
		t.Errorf("newest version of Patient/a should be its deletion: %+v", h.Versions)
	}
}

func testHistoryPaging(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	seedHistory(t, s)
	first, err := s.History(ctx, sb, fhirstore.HistoryQuery{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	before := first.Versions[0].LastUpdated
	// A write after the first page must not shift the pages that follow.
	if _, _, err := s.Update(ctx, sb, Patient(t, "c", "C1"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var all []string
	all = append(all, keys(first.Versions)...)
	for off := 2; ; off += 2 {
		p, err := s.History(ctx, sb, fhirstore.HistoryQuery{Count: 2, Offset: off, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 5 {
			t.Fatalf("total under snapshot %d, want 5", p.Total)
		}
		if len(p.Versions) == 0 {
			break
		}
		all = append(all, keys(p.Versions)...)
	}
	want := []string{"Patient/a/3", "Patient/b/1", "Patient/a/2", "Organization/o/1", "Patient/a/1"}
	if !equal(all, want) {
		t.Errorf("pages %v, want %v", all, want)
	}
}

func testHistorySince(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	seedHistory(t, s)
	all, _ := s.History(ctx, sb, fhirstore.HistoryQuery{Count: 10})
	since := all.Versions[2].LastUpdated // Patient/a/2
	h, err := s.History(ctx, sb, fhirstore.HistoryQuery{Since: since, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(h.Versions), []string{"Patient/a/3", "Patient/b/1", "Patient/a/2"}; !equal(got, want) {
		t.Errorf("since %v: %v, want %v", since, got, want)
	}
}

func testHistoryUnknown(t *testing.T, s fhirstore.Store, c *Clock) {
	if _, err := s.History(context.Background(), sb, fhirstore.HistoryQuery{Type: "Patient", ID: "nope", Count: 10}); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Fatalf("history of unknown instance: %v", err)
	}
}

func testIsolation(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	if _, _, err := s.Update(ctx, "sbA", Patient(t, "p1", "A"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The same id in another sandbox is another resource.
	if _, created, err := s.Update(ctx, "sbB", Patient(t, "p1", "B"), fhirstore.UpdateOptions{}); err != nil || !created {
		t.Fatalf("same id in sbB: created=%v %v", created, err)
	}
	if r, err := s.Read(ctx, "sbA", "Patient", "p1"); err != nil || family(t, r) != "A" || r.Version != 1 {
		t.Fatalf("sbA's p1 changed by sbB's write: %v", err)
	}
	if _, err := s.Read(ctx, "sbC", "Patient", "p1"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("sbC reads another sandbox's resource: %v", err)
	}
	s.Delete(ctx, "sbB", "Patient", "p1")
	if _, err := s.Read(ctx, "sbA", "Patient", "p1"); err != nil {
		t.Errorf("sbB's delete reached sbA: %v", err)
	}
	h, _ := s.History(ctx, "sbA", fhirstore.HistoryQuery{Count: 10})
	if got := keys(h.Versions); !equal(got, []string{"Patient/p1/1"}) || h.Total != 1 {
		t.Errorf("sbA system history %v total %d", got, h.Total)
	}
}

func testTxRollback(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	s.Update(ctx, sb, Patient(t, "keep", "K"), fhirstore.UpdateOptions{})
	boom := errors.New("entry 3 failed")
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		if _, err := tx.Create(ctx, sb, Patient(t, "", "X"), "new1"); err != nil {
			return err
		}
		if _, _, err := tx.Update(ctx, sb, Patient(t, "keep", "changed"), fhirstore.UpdateOptions{}); err != nil {
			return err
		}
		if _, err := tx.Delete(ctx, sb, "Patient", "keep"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v", err)
	}
	if _, err := s.Read(ctx, sb, "Patient", "new1"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("rolled-back create is visible: %v", err)
	}
	r, err := s.Read(ctx, sb, "Patient", "keep")
	if err != nil || r.Version != 1 || family(t, r) != "K" {
		t.Errorf("rolled-back update/delete visible: %+v %v", r, err)
	}
	if h, _ := s.History(ctx, sb, fhirstore.HistoryQuery{Count: 10}); h.Total != 1 {
		t.Errorf("history holds %d versions after rollback, want 1", h.Total)
	}
}

func testTxReadsOwnWrites(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		if _, err := tx.Create(ctx, sb, Patient(t, "", "X"), "p1"); err != nil {
			return err
		}
		r, err := tx.Read(ctx, sb, "Patient", "p1")
		if err != nil || family(t, r) != "X" {
			return fmt.Errorf("read own write: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testConcurrentIfMatch(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	if _, _, err := s.Update(ctx, sb, Patient(t, "p1", "start"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	const writers = 20
	var wins, conflicts atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for attempt := 0; attempt < 50; attempt++ {
				cur, err := s.Read(ctx, sb, "Patient", "p1")
				if err != nil {
					t.Error(err)
					return
				}
				_, _, err = s.Update(ctx, sb, Patient(t, "p1", fmt.Sprint("w", i)), fhirstore.UpdateOptions{IfMatch: cur.Version})
				if err == nil {
					wins.Add(1)
					return
				}
				if !errors.Is(err, fhirstore.ErrVersionConflict) {
					t.Error(err)
					return
				}
				conflicts.Add(1)
			}
			t.Errorf("writer %d never won", i)
		}(i)
	}
	wg.Wait()
	r, err := s.Read(ctx, sb, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if wins.Load() != writers || r.Version != 1+writers {
		t.Errorf("wins %d, final version %d: an update was lost (conflicts %d)", wins.Load(), r.Version, conflicts.Load())
	}
}

func testSearchType(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	seedHistory(t, s) // Patient/a deleted, Patient/b current, Organization/o
	s.Update(ctx, sb, Patient(t, "c", "C"), fhirstore.UpdateOptions{})
	s.Update(ctx, "other", Patient(t, "z", "Z"), fhirstore.UpdateOptions{})
	p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Type: "Patient", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 2 || !equal(keys(p.Matches), []string{"Patient/b/1"}) {
		t.Errorf("page 1: total %d %v", p.Total, keys(p.Matches))
	}
	p, _ = s.Search(ctx, sb, fhirstore.SearchQuery{Type: "Patient", Count: 1, Offset: 1})
	if !equal(keys(p.Matches), []string{"Patient/c/1"}) {
		t.Errorf("page 2: %v", keys(p.Matches))
	}
}

func testHistorySnapshot(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	c.Step = 0 // every write and the snapshot fall in one millisecond
	for _, id := range []string{"a", "b", "c"} {
		if _, _, err := s.Update(ctx, sb, Patient(t, id, id), fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.History(ctx, sb, fhirstore.HistoryQuery{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if first.Total != 3 || first.Snapshot.IsZero() {
		t.Fatalf("first page: total %d snapshot %v", first.Total, first.Snapshot)
	}
	for _, v := range first.Versions {
		if v.LastUpdated.After(first.Snapshot) {
			t.Errorf("version %s stamped after the snapshot that shows it", key(v))
		}
	}
	later, _, err := s.Update(ctx, sb, Patient(t, "z", "z"), fhirstore.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !later.LastUpdated.After(first.Snapshot) {
		t.Errorf("a write after the snapshot is stamped %v, not after %v", later.LastUpdated, first.Snapshot)
	}
	rest, err := s.History(ctx, sb, fhirstore.HistoryQuery{Count: 10, Offset: 1, Before: first.Snapshot})
	if err != nil {
		t.Fatal(err)
	}
	if rest.Total != 3 || len(rest.Versions) != 2 {
		t.Errorf("under the snapshot: total %d, %d more versions; want 3 and 2", rest.Total, len(rest.Versions))
	}
}

func testReplaceMeta(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	v1, _, _ := s.Update(ctx, sb, Patient(t, "p1", "A"), fhirstore.UpdateOptions{})
	v2, _, err := s.Update(ctx, sb, Patient(t, "p1", "B"), fhirstore.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tagged := func(v *fhirstore.Resource) []byte {
		return []byte(strings.Replace(string(v.Body), `"meta":{`, `"meta":{"tag":[{"system":"urn:t","code":"x"}],`, 1))
	}
	for _, v := range []*fhirstore.Resource{v1, v2} {
		if err := s.ReplaceMeta(ctx, sb, "Patient", "p1", v.Version, tagged(v)); err != nil {
			t.Fatalf("version %d: %v", v.Version, err)
		}
		got, err := s.VRead(ctx, sb, "Patient", "p1", v.Version)
		if err != nil || string(got.Body) != string(tagged(v)) || !got.LastUpdated.Equal(v.LastUpdated) {
			t.Errorf("version %d after ReplaceMeta: %s %v", v.Version, got.Body, err)
		}
	}
	if h, _ := s.History(ctx, sb, fhirstore.HistoryQuery{Type: "Patient", ID: "p1"}); h.Total != 2 {
		t.Errorf("ReplaceMeta made versions: %d", h.Total)
	}
	if err := s.ReplaceMeta(ctx, sb, "Patient", "p1", 7, tagged(v2)); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("unknown version: %v", err)
	}
	s.Delete(ctx, sb, "Patient", "p1")
	if err := s.ReplaceMeta(ctx, sb, "Patient", "p1", 3, tagged(v2)); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("the deletion version has no body to replace: %v", err)
	}
}
