package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
	"hpsandbox/internal/testpg"
)

// Writers on PostgreSQL commit on their own goroutines, not through one
// committer; a commit observer is still told of the versions of one
// resource in the order they were written, however the goroutines that
// wrote them are scheduled after their COMMIT.
func TestObserveCommits_ConcurrentWritersReportedInVersionOrder(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, testpg.Start(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
				if _, _, err := s.Update(ctx, "a", storetest.Patient(t, id, fmt.Sprint(w, "-", i)), fhirstore.UpdateOptions{}); err != nil {
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
