package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

// seen collects what a commit observer is told.
type seen struct {
	mu      sync.Mutex
	commits [][]fhirstore.Change
}

func (s *seen) observe(c []fhirstore.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits = append(s.commits, append([]fhirstore.Change(nil), c...))
}

func (s *seen) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.commits {
		for _, ch := range c {
			out = append(out, fmt.Sprintf("%s %s/%s/%d %s", ch.Sandbox, ch.Resource.Type, ch.Resource.ID, ch.Resource.Version, ch.Resource.Method))
		}
	}
	return out
}

// reporterStore is a store that tells observers of its commits.
type reporterStore interface {
	fhirstore.Store
	fhirstore.CommitReporter
}

func reporter(t *testing.T, s fhirstore.Store) reporterStore {
	t.Helper()
	r, ok := s.(reporterStore)
	if !ok {
		t.Fatalf("%T does not report its commits (fhirstore.CommitReporter)", s)
	}
	return r
}

func testObserveCommits(t *testing.T, store fhirstore.Store, _ *Clock) {
	ctx := context.Background()
	s := reporter(t, store)
	var got seen
	stop := s.ObserveCommits(got.observe)

	if _, err := s.Create(ctx, "a", Patient(t, "", "One"), "p1"); err != nil {
		t.Fatal(err)
	}
	// A transaction that fails writes nothing and reports nothing.
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		if _, err := tx.Create(ctx, "a", Patient(t, "", "Lost"), "lost"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx: %v", err)
	}
	// A write that fails (the id is taken) reports nothing.
	if _, err := s.Create(ctx, "a", Patient(t, "", "Again"), "p1"); !errors.Is(err, fhirstore.ErrExists) {
		t.Fatalf("create of a taken id: %v", err)
	}
	// A transaction's writes, in the order it made them, under its
	// writer's confinement.
	conf := &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}}
	scope := &fhirstore.WriterScope{Confinement: conf}
	cctx := fhirstore.WithWriterScope(search.ConfineTo(ctx, conf), scope)
	err = s.Tx(cctx, func(tx fhirstore.Tx) error {
		if _, _, err := tx.Update(cctx, "b", Patient(t, "p2", "Two"), fhirstore.UpdateOptions{}); err != nil {
			return err
		}
		_, err := tx.Delete(cctx, "a", "Patient", "p1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := s.Create(ctx, "a", Patient(t, "", "Unseen"), "p3"); err != nil {
		t.Fatal(err)
	}
	want := []string{"a Patient/p1/1 POST", "b Patient/p2/1 PUT", "a Patient/p1/2 DELETE"}
	if fmt.Sprint(got.keys()) != fmt.Sprint(want) {
		t.Errorf("reported %q, want %q", got.keys(), want)
	}
	last := got.commits[len(got.commits)-1]
	if last[0].Confinement != conf {
		t.Errorf("confinement of the transaction's writes = %v, want the writer's", last[0].Confinement)
	}
	if last[0].Writer != scope || got.commits[0][0].Writer != nil {
		t.Errorf("writer scopes %v, %v: want the one declared, and none where none was", last[0].Writer, got.commits[0][0].Writer)
	}
}

// Concurrent writers are told in commit order: the versions of one
// resource in the order they were written, whether the store commits
// through one committer (SQLite) or on each writer's goroutine
// (PostgreSQL), however those goroutines are scheduled after their COMMIT.
func testObserveConcurrentCommits(t *testing.T, store fhirstore.Store, _ *Clock) {
	ctx := context.Background()
	s := reporter(t, store)
	var mu sync.Mutex
	var got []string
	defer s.ObserveCommits(func(changes []fhirstore.Change) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range changes {
			got = append(got, fmt.Sprintf("%s/%d", c.Resource.ID, c.Resource.Version))
		}
	})()
	const writers, rounds = 8, 15
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				// Two resources, so that commits both contend for one
				// row and pass each other on different rows.
				id := fmt.Sprint("p", (w+i)%2)
				if _, _, err := s.Update(ctx, "a", Patient(t, id, fmt.Sprint(w, "-", i)), fhirstore.UpdateOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != writers*rounds {
		t.Fatalf("reported %d versions, want %d: %v", len(got), writers*rounds, got)
	}
	last := map[string]int{}
	for i, k := range got {
		var id string
		var v int
		if _, err := fmt.Sscanf(k, "%2s/%d", &id, &v); err != nil {
			t.Fatalf("report %d: %q: %v", i, k, err)
		}
		if v != last[id]+1 {
			t.Errorf("report %d is %s, after version %d of %s", i, k, last[id], id)
		}
		last[id] = v
	}
}
