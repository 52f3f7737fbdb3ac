package profile

import (
	"sync"
	"testing"

	"github.com/gofhir/fhirpath"
)

// Invariants with regular expressions evaluate concurrently without a data
// race (run with -race): matches() and replaceMatches() share the
// library's regex cache.
func TestFHIRPathRegex_ConcurrentMatchesDoNotRace(t *testing.T) {
	exprs := []string{
		`'abc'.matches('a.c')`,
		`'2026-01-02'.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')`,
		`'a-b-c'.replaceMatches('-', '+') = 'a+b+c'`,
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				src := exprs[(g+i)%len(exprs)]
				e, err := fhirpath.Compile(src)
				if err != nil {
					t.Error(err)
					return
				}
				col, err := e.Evaluate([]byte(`{"resourceType":"Basic"}`))
				if err != nil || len(col) != 1 || col[0].String() != "true" {
					t.Errorf("%s = %v, %v; want true", src, col, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
