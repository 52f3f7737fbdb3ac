package postgres_test

import (
	"testing"

	"hpsandbox/fhirstore/storetest"
)

// A reset replaces a sandbox's content in one transaction (see
// storetest.RunReplace). That creates are told to commit observers on
// PostgreSQL is in the store suite (ObserveCommits_*).
func TestReplaceSandbox_ReadersSeeOldOrNewNeverEmpty(t *testing.T) {
	storetest.RunReplace(t, gateways(t, 1)[0])
}
