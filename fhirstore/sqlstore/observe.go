package sqlstore

import (
	"context"
	"sync"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

var _ fhirstore.CommitReporter = (*Store)(nil)

// observers are the fhirstore.CommitObservers of a Store, told of each
// commit in the order the commits happened. With group commit the one
// committer commits in turn. Without it (PostgreSQL) writers commit on
// their own goroutines, so each takes a ticket just before its COMMIT
// (see ticket) and its changes are reported in ticket order: a writer that
// waited for another's row lock reaches its COMMIT after that one
// committed, so writes to one resource are told in the order they
// happened, whichever goroutine finishes first.
type observers struct {
	mu   sync.Mutex
	next int
	fns  map[int]fhirstore.CommitObserver

	order   sync.Mutex
	tickets uint64                        // the next ticket to give
	turn    uint64                        // the ticket to report next
	held    map[uint64][]fhirstore.Change // settled out of turn
}

// ticket gives the next place in the order of reports; its holder must
// settle it, with the changes committed or none.
func (s *Store) ticket() uint64 {
	o := &s.observers
	o.order.Lock()
	defer o.order.Unlock()
	t := o.tickets
	o.tickets++
	return t
}

// settle reports the changes of ticket t once every earlier ticket is
// settled, and the later ones settled before it.
func (s *Store) settle(t uint64, changes []fhirstore.Change) {
	o := &s.observers
	o.order.Lock()
	defer o.order.Unlock()
	if t != o.turn {
		if o.held == nil {
			o.held = map[uint64][]fhirstore.Change{}
		}
		o.held[t] = changes
		return
	}
	s.report(changes)
	o.turn++
	for {
		c, ok := o.held[o.turn]
		if !ok {
			return
		}
		delete(o.held, o.turn)
		s.report(c)
		o.turn++
	}
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
