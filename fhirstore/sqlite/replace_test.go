package sqlite_test

import (
	"context"
	"testing"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
)

func TestReplaceSandbox_ReadersSeeOldOrNewNeverEmpty(t *testing.T) {
	s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunReplace(t, s)
}
