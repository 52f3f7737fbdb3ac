package postgres_test

import (
	"context"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/storetest"
)

// A create is reported like an update (the INSERT … RETURNING path of
// PostgreSQL too), so that subscriptions see new resources.
func TestObserveCommits_ReportsCreatesAndUpdates(t *testing.T) {
	ctx := context.Background()
	s := gateways(t, 1)[0]
	got := make(chan fhirstore.Change, 10)
	stop := s.ObserveCommits(func(changes []fhirstore.Change) {
		for _, c := range changes {
			got <- c
		}
	})
	defer stop()
	created, err := s.Create(ctx, "default", storetest.Patient(t, "", "v"), "p-new")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Update(ctx, "default", storetest.Patient(t, "p-new", "w"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int64{1, 2} {
		select {
		case c := <-got:
			if c.Resource.ID != created.ID || c.Resource.Version != want {
				t.Errorf("reported %s/%s version %d, want version %d", c.Resource.Type, c.Resource.ID, c.Resource.Version, want)
			}
		default:
			t.Fatalf("version %d was not reported", want)
		}
	}
}

func TestReplaceSandbox_ReadersSeeOldOrNewNeverEmpty(t *testing.T) {
	storetest.RunReplace(t, gateways(t, 1)[0])
}
