package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// The writer leaves checkpoints to the store: soon after a commit the log
// is copied into the database file, though it is far below the size at
// which the writer would copy it itself.
func TestCheckpointer_CopiesTheLogIntoTheDatabaseAfterCommits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		st, err := os.Stat(filepath.Join(dir, sqlite.FileName))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	err = s.Tx(ctx, func(tx fhirstore.Tx) error {
		for i := 0; i < 500; i++ {
			if _, err := tx.Create(ctx, sb, patient(t, "Logged"), ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); size() < 100_000; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 5 s after the commit", size())
		}
	}
	if ids := families(t, s, "Logged"); len(ids) == 0 {
		t.Error("search after the checkpoint finds nothing")
	}
}
