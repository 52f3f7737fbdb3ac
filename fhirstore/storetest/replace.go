package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

// RunReplace checks a fhirstore.Replacer: while a sandbox's content is
// replaced again and again, readers hammering it by id and by search see
// every resource of the old generation or of the new one, never a
// missing resource, a short count or a mix; invalid input changes nothing.
func RunReplace(t *testing.T, s fhirstore.Store) {
	t.Helper()
	ctx := context.Background()
	const n, rounds = 50, 8
	gen := func(g int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = fmt.Appendf(nil, `{"resourceType":"Patient","id":"p%d","name":[{"family":"gen%d"}]}`, i, g)
		}
		return out
	}
	if err := fhirstore.Replace(ctx, s, "sb", gen(0), fhirstore.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	// A resource written outside the seed goes with a replace.
	if _, err := s.Create(ctx, "sb", Patient(t, "", "extra"), "extra"); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				reads.Add(1)
				if r%2 == 0 {
					if _, err := s.Read(ctx, "sb", "Patient", fmt.Sprintf("p%d", i%n)); err != nil {
						t.Errorf("read during a replace: %v", err)
						return
					}
					continue
				}
				q, err := search.Parse("Patient", url.Values{"_total": {"accurate"}}, search.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				page, err := s.Search(ctx, "sb", fhirstore.SearchQuery{Type: "Patient", Query: q, Count: 1})
				if err != nil {
					t.Errorf("search during a replace: %v", err)
					return
				}
				if page.Total != n && page.Total != n+1 {
					t.Errorf("search during a replace counted %d patients, want %d (or %d before the first)", page.Total, n, n+1)
					return
				}
			}
		}()
	}
	for g := 1; g <= rounds; g++ {
		if err := fhirstore.Replace(ctx, s, "sb", gen(g), fhirstore.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no reads ran")
	}
	if _, err := s.Read(ctx, "sb", "Patient", "extra"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("a resource of the old content after a replace: %v", err)
	}
	bad := append(gen(rounds+1), []byte(`{"resourceType":"Patient","id":"bad","gender":"nonsense"}`))
	if err := fhirstore.Replace(ctx, s, "sb", bad, fhirstore.LoadOptions{}); err == nil {
		t.Fatal("a replace with an invalid resource succeeded")
	}
	cur, err := s.Read(ctx, "sb", "Patient", "p0")
	if err != nil || !containsFamily(cur.Body, fmt.Sprintf("gen%d", rounds)) {
		t.Errorf("after a failed replace: %v %s, want generation %d untouched", err, cur.Body, rounds)
	}
}

func containsFamily(body []byte, family string) bool {
	return len(body) > 0 && strings.Contains(string(body), `"family":"`+family+`"`)
}
