package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sqlitefile"
)

// Reads by id have a pool of their own (Options.Lookups): with every
// connection of the read pool held, as by searches under load, a read and
// a vread still answer at once, while a search waits for a connection.
func TestLookups_ReadsByIDNeverWaitBehindSearches(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	open := func(o sqlitefile.Options) *sql.DB {
		db, err := sqlitefile.Open(ctx, path, o)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	write := open(sqlitefile.Options{ForeignKeys: true, ImmediateTx: true, MaxOpenConns: 1})
	read := open(sqlitefile.Options{ReadOnly: true, ForeignKeys: true, MaxOpenConns: 1})
	lookups := open(sqlitefile.Options{ReadOnly: true, ForeignKeys: true, MaxOpenConns: 1})
	s, err := sqlstore.New(ctx, read, write, sqlite.Dialect, sqlstore.Options{Lookups: lookups})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Create(ctx, sb, patient(t, "Berg"), "p1"); err != nil {
		t.Fatal(err)
	}

	// A search holds the read pool's one connection.
	held, err := read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r, err := s.Read(short, sb, "Patient", "p1")
	if err != nil {
		t.Fatalf("read by id with the read pool busy: %v", err)
	}
	if r.Version != 1 {
		t.Errorf("read version %d, want 1", r.Version)
	}
	if _, err := s.VRead(short, sb, "Patient", "p1", 1); err != nil {
		t.Fatalf("vread with the read pool busy: %v", err)
	}
	// The search does wait: the pools are really apart.
	waiting, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	q := fhirstore.SearchQuery{Type: "Patient", Query: &search.Query{Types: []string{"Patient"}, Count: 10}}
	if _, err := s.Search(waiting, sb, q); err == nil {
		t.Fatal("a search ran with the read pool's only connection held")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("search with the read pool held: %v, want it to wait until its deadline", err)
	}
}
