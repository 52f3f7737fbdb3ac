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

// Replacer is a Store that can replace a whole sandbox's content in one
// transaction: a concurrent reader sees the old content or the new one,
// never an empty or half-loaded sandbox. Resetting a sandbox uses it when
// the store offers it (checked with a type assertion).
type Replacer interface {
	// ReplaceSandbox erases everything stored for sandbox and runs load,
	// which writes the new content, in the same transaction; when load
	// fails nothing changes.
	ReplaceSandbox(ctx context.Context, sandbox Sandbox, load func(Tx) error) error
}
