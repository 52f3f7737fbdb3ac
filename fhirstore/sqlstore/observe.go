package sqlstore

import (
	"context"
	"sync"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

var _ fhirstore.CommitReporter = (*Store)(nil)

// observers are the fhirstore.CommitObservers of a Store. The committer
// calls them after each commit, on its own goroutine, so that they see
// commits in the order they happened.
type observers struct {
	mu   sync.Mutex
	next int
	fns  map[int]fhirstore.CommitObserver
}

// ObserveCommits implements fhirstore.CommitReporter.
func (s *Store) ObserveCommits(fn fhirstore.CommitObserver) (stop func()) {
	o := &s.observers
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fns == nil {
		o.fns = map[int]fhirstore.CommitObserver{}
	}
	id := o.next
	o.next++
	o.fns[id] = fn
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		delete(o.fns, id)
	}
}

// report hands the changes of a committed transaction to the observers.
func (s *Store) report(changes []fhirstore.Change) {
	if len(changes) == 0 {
		return
	}
	o := &s.observers
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, fn := range o.fns {
		fn(changes)
	}
}

// changed records a version the transaction wrote; a savepoint rolled back
// forgets the versions written inside it (see savepoint).
func (t *tx) changed(ctx context.Context, sandbox string, res *fhirstore.Resource) {
	t.changes = append(t.changes, fhirstore.Change{Sandbox: fhirstore.Sandbox(sandbox), Resource: res,
		Confinement: search.ConfinementOf(ctx), Writer: fhirstore.WriterScopeOf(ctx)})
}
