package fhirstore

import "context"

// Eraser is a Store that can remove a whole sandbox at once: every
// resource, every version and every index row. Resetting or deleting a
// supplier's sandbox needs it; a store offers it by implementing it
// (checked with a type assertion).
type Eraser interface {
	// EraseSandbox removes everything stored for sandbox in one
	// transaction; erasing an empty or unknown sandbox does nothing.
	EraseSandbox(ctx context.Context, sandbox Sandbox) error
}
