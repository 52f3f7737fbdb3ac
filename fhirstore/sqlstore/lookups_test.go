package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sqlitefile"
)

// lookupStore opens a SQLite store whose read pool holds one connection
// and whose lookup pool (Options.Lookups) holds lookups; it returns the
// store and its read pool.
func lookupStore(t *testing.T, lookups int) (*sqlstore.Store, *sql.DB) {
	t.Helper()
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
	lookup := open(sqlitefile.Options{ReadOnly: true, ForeignKeys: true, MaxOpenConns: lookups})
	s, err := sqlstore.New(ctx, read, write, sqlite.Dialect, sqlstore.Options{Lookups: lookup})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, read
}

// Reads by id have a pool of their own (Options.Lookups): with every
// connection of the read pool held, as by searches under load, a read and
// a vread still answer at once, while a search waits for a connection.
func TestLookups_ReadsByIDNeverWaitBehindSearches(t *testing.T) {
	ctx := context.Background()
	s, read := lookupStore(t, 1)
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

// A read and a vread under a patient's confinement are judged on the
// lookup pool, by statements prepared once there: with the read pool held
// they still answer, the patient's own Observation is seen and another
// patient's is refused (ErrNotVisible, and no such version), however often
// they are asked.
func TestLookups_ConfinedReadsCheckOnTheLookupPoolPreparedOnce(t *testing.T) {
	ctx := context.Background()
	s, read := lookupStore(t, 2)
	for _, p := range []string{"p1", "p2"} {
		if _, err := s.Create(ctx, sb, patient(t, "Berg"), p); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, sb, observationOf(t, p), "obs-"+p); err != nil {
			t.Fatal(err)
		}
	}
	held, err := read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	confined := search.ConfineTo(short, &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}})
	for i := 0; i < 5; i++ {
		if r, err := s.Read(confined, sb, "Observation", "obs-p1"); err != nil || r.ID != "obs-p1" || r.Type != "Observation" {
			t.Fatalf("confined read of the patient's own Observation: %v %v", r, err)
		}
		if _, err := s.Read(confined, sb, "Observation", "obs-p2"); !errors.Is(err, fhirstore.ErrNotVisible) {
			t.Fatalf("confined read of another patient's Observation: %v, want ErrNotVisible", err)
		}
		if _, err := s.VRead(confined, sb, "Observation", "obs-p1", 1); err != nil {
			t.Fatalf("confined vread of the patient's own Observation: %v", err)
		}
		if _, err := s.VRead(confined, sb, "Observation", "obs-p2", 1); !errors.Is(err, fhirstore.ErrNotFound) {
			t.Fatalf("confined vread of another patient's Observation: %v, want ErrNotFound", err)
		}
	}
	// One statement for the read's check, one for the vread's; the two
	// patients' Observations share them.
	if n := sqlstore.LookupStatementsPrepared(s); n != 2 {
		t.Errorf("the lookup pool prepared %d confinement checks, want 2", n)
	}
}

func observationOf(t *testing.T, patient string) *fhirjson.Resource {
	t.Helper()
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Observation","status":"final",` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/` + patient + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Reads keep the driver's bytes of a body (Dialect.FreshBlobs): each read
// must hand out memory of its own, which a later read never writes into.
func TestRead_BodiesAreTheirOwnMemory(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for _, p := range []string{"p1", "p2"} {
		if _, err := s.Create(ctx, sb, patient(t, "Berg-"+p), p); err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.Read(ctx, sb, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	want := string(first.Body)
	var reads []*fhirstore.Resource
	for i := 0; i < 20; i++ {
		id := []string{"p1", "p2"}[i%2]
		r, err := s.Read(ctx, sb, "Patient", id)
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.VRead(ctx, sb, "Patient", id, 1)
		if err != nil {
			t.Fatal(err)
		}
		reads = append(reads, r, v)
	}
	if string(first.Body) != want {
		t.Fatalf("a later read changed an earlier read's body:\n%s\nwant\n%s", first.Body, want)
	}
	for i, r := range reads {
		if !strings.Contains(string(r.Body), `"Berg-`+r.ID+`"`) {
			t.Fatalf("read %d of %s has the body %s", i, r.ID, r.Body)
		}
		clear(r.Body) // writing into one body changes no other
	}
	if again, err := s.Read(ctx, sb, "Patient", "p1"); err != nil || string(again.Body) != want || string(first.Body) != want {
		t.Fatalf("after clearing the bodies read: %s (%v), first %s, want %s", again.Body, err, first.Body, want)
	}
}

// A read by id runs to its end once it started (it takes microseconds),
// but a read whose context ended before fails with the context's error,
// found or not, and a read in a transaction stays cancellable.
func TestRead_ContextEndedBeforeFails(t *testing.T) {
	ctx := context.Background()
	s, _ := lookupStore(t, 1)
	if _, err := s.Create(ctx, sb, patient(t, "Berg"), "p1"); err != nil {
		t.Fatal(err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	live, stop := context.WithCancel(ctx)
	defer stop()
	tests := []struct {
		name string
		ctx  context.Context
		id   string
		want error
	}{
		{"found, context ended", ended, "p1", context.Canceled},
		{"missing, context ended", ended, "nope", context.Canceled},
		{"found, context live", live, "p1", nil},
		{"missing, context live", live, "nope", fhirstore.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.Read(tt.ctx, sb, "Patient", tt.id)
			if !errors.Is(err, tt.want) || (tt.want == nil && r == nil) {
				t.Fatalf("Read = %v, %v; want %v", r, err, tt.want)
			}
		})
	}
	// In a transaction the read is the transaction's, cancellable.
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		_, err := tx.Read(ended, sb, "Patient", "p1")
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read in a transaction with an ended context: %v; want context.Canceled", err)
	}
}
