package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/storetest"
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

func TestObserveCommits_ReportsCommittedVersionsInOrder_NeverRolledBack(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	var got seen
	stop := s.ObserveCommits(got.observe)

	if _, err := s.Create(ctx, "a", storetest.Patient(t, "", "One"), "p1"); err != nil {
		t.Fatal(err)
	}
	// A transaction that fails writes nothing and reports nothing.
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		if _, err := tx.Create(ctx, "a", storetest.Patient(t, "", "Lost"), "lost"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx: %v", err)
	}
	// A write that fails (the id is taken) reports nothing.
	if _, err := s.Create(ctx, "a", storetest.Patient(t, "", "Again"), "p1"); !errors.Is(err, fhirstore.ErrExists) {
		t.Fatalf("create of a taken id: %v", err)
	}
	// A transaction's writes, in the order it made them, under its
	// writer's confinement.
	conf := &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}}
	scope := &fhirstore.WriterScope{Confinement: conf}
	cctx := fhirstore.WithWriterScope(search.ConfineTo(ctx, conf), scope)
	err = s.Tx(cctx, func(tx fhirstore.Tx) error {
		if _, _, err := tx.Update(cctx, "b", storetest.Patient(t, "p2", "Two"), fhirstore.UpdateOptions{}); err != nil {
			return err
		}
		_, err := tx.Delete(cctx, "a", "Patient", "p1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := s.Create(ctx, "a", storetest.Patient(t, "", "Unseen"), "p3"); err != nil {
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

// Concurrent writers to one resource are reported in the order their
// versions were committed.
func TestObserveCommits_ConcurrentWritersReportedInVersionOrder(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	var got seen
	defer s.ObserveCommits(got.observe)()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.Update(ctx, "a", storetest.Patient(t, "p", fmt.Sprint(i)), fhirstore.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	keys := got.keys()
	if len(keys) != 50 {
		t.Fatalf("reported %d versions, want 50", len(keys))
	}
	for i, k := range keys {
		if want := fmt.Sprintf("a Patient/p/%d", i+1); k[:len(want)] != want {
			t.Errorf("report %d is %q, want version %d", i, k, i+1)
		}
	}
}
