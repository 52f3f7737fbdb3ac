package fhirstore_test

import (
	"context"
	"errors"
	"testing"

	"hpsandbox/fhirstore"
)

// rerunning runs every transaction's function twice, as a store does after
// a conflict with another writer: the first run is rolled back.
type rerunning struct{ fhirstore.Store }

var errConflict = errors.New("conflict")

func (r rerunning) Tx(ctx context.Context, fn func(fhirstore.Tx) error) error {
	err := r.Store.Tx(ctx, func(tx fhirstore.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errConflict
	})
	if !errors.Is(err, errConflict) {
		return err
	}
	return r.Store.Tx(ctx, fn)
}

// A transaction run again writes the same resources again: none is lost
// or written twice.
func TestLoadStream_TransactionRunAgainWritesTheSameResources(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	n, err := fhirstore.LoadStream(ctx, rerunning{s}, "sb", pieces(patients(57), 10), fhirstore.LoadOptions{Batch: 25})
	if err != nil || n != 57 {
		t.Fatalf("LoadStream: %d, %v", n, err)
	}
	page, _ := s.Search(ctx, "sb", fhirstore.SearchQuery{Type: "Patient", Count: 100})
	if page.Total != 57 {
		t.Fatalf("loaded %d, want 57", page.Total)
	}
	for _, r := range page.Matches {
		if r.Version != 1 {
			t.Errorf("Patient/%s at version %d, want 1", r.ID, r.Version)
		}
	}
}

// An atomic load does not keep its input to run again: run again, it
// fails and writes nothing.
func TestLoadStream_AtomicRunAgainWritesNothing(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	n, err := fhirstore.LoadStream(ctx, rerunning{s}, "sb", pieces(patients(57), 10), fhirstore.LoadOptions{Atomic: true})
	if err == nil || n != 0 {
		t.Fatalf("LoadStream: %d, %v; want an error", n, err)
	}
	if page, _ := s.Search(ctx, "sb", fhirstore.SearchQuery{Type: "Patient"}); page.Total != 0 {
		t.Errorf("wrote %d", page.Total)
	}
}
