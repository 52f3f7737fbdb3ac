package fhirstore

import "hpsandbox/fhirstore/search"

// Change is one version a committed write stored: what a subscription, a
// cache or a replica needs to follow a store without polling it.
type Change struct {
	Sandbox  Sandbox
	Resource *Resource
	// Confinement is the search.Confinement the write was made under (that
	// of its context), nil for an unconfined writer: what the writer could
	// see, so that what is derived from its write sees no more.
	Confinement *search.Confinement
}

// CommitObserver is told of the changes of each committed database
// transaction, in commit order, once the commit succeeded and before the
// writers are answered. A rolled-back write is never reported, nor is a
// ReplaceMeta (no new version). It runs on the store's committing
// goroutine: it must return at once (hand the changes to a queue) and must
// not call the store.
type CommitObserver func(changes []Change)

// CommitReporter is a Store that reports its commits. Backends offer it as
// an extra capability, checked by type assertion.
type CommitReporter interface {
	// ObserveCommits calls fn for every commit from now on, until the
	// returned function is called.
	ObserveCommits(fn CommitObserver) (stop func())
}
