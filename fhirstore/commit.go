package fhirstore

import (
	"context"

	"hpsandbox/fhirstore/search"
)

// Change is one version a committed write stored: what a subscription, a
// cache or a replica needs to follow a store without polling it.
type Change struct {
	Sandbox  Sandbox
	Resource *Resource
	// Confinement is the search.Confinement the write was made under (that
	// of its context), nil for an unconfined writer: what the writer could
	// see, so that what is derived from its write sees no more.
	Confinement *search.Confinement
	// Writer is what the writer may read, when the door the write came
	// through declared it (WithWriterScope); nil when it declared nothing.
	// A request's confinement covers only the types it touches; this is
	// the writer's reach over every type.
	Writer *WriterScope
}

// WriterScope is what a writer may read: a door into a store (the
// gateway, for a token) declares it on the context of the writes it makes,
// so that what is derived from a write later (a subscription's matches)
// sees no more than its writer could.
type WriterScope struct {
	// Confinement limits what the writer may read; nil: everything.
	Confinement *search.Confinement
}

type writerKey struct{}

// WithWriterScope returns a context whose writes are reported with s.
func WithWriterScope(ctx context.Context, s *WriterScope) context.Context {
	return context.WithValue(ctx, writerKey{}, s)
}

// WriterScopeOf returns the WriterScope ctx carries, or nil.
func WriterScopeOf(ctx context.Context) *WriterScope {
	s, _ := ctx.Value(writerKey{}).(*WriterScope)
	return s
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
