package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Concurrent single writes share transactions, and a write that fails in a
// group (an id already taken) fails alone: every other write of the group
// lands and is answered with success.
func TestGroupCommit_OneFailingWriteFailsNoOther(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for i := 0; i < 8; i++ {
		if _, err := s.Create(ctx, "default", storetest.Patient(t, "", "Taken"), fmt.Sprintf("taken-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	g0, w0 := s.GroupCommits()
	const n = 400
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("new-%d", i)
			if i%5 == 0 {
				id = fmt.Sprintf("taken-%d", i%8)
			}
			_, errs[i] = s.Create(ctx, "default", storetest.Patient(t, "", fmt.Sprintf("N%d", i)), id)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%5 == 0 {
			if !errors.Is(err, fhirstore.ErrExists) {
				t.Errorf("create of a taken id: %v, want ErrExists", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("create %d failed beside a failing write: %v", i, err)
			continue
		}
		r, err := s.Read(ctx, "default", "Patient", fmt.Sprintf("new-%d", i))
		if err != nil || r.Version != 1 {
			t.Errorf("acknowledged create %d not readable: %v", i, err)
		}
	}
	// The taken ids keep their first body.
	for i := 0; i < 8; i++ {
		r, err := s.Read(ctx, "default", "Patient", fmt.Sprintf("taken-%d", i))
		if err != nil || r.Version != 1 {
			t.Fatalf("taken-%d: %+v %v", i, r, err)
		}
	}
	g, w := s.GroupCommits()
	if w-w0 != n-n/5 {
		t.Errorf("groups held %d writes, want %d", w-w0, n-n/5)
	}
	if g-g0 >= w-w0 {
		t.Errorf("%d writes in %d transactions: no two concurrent writes shared one", w-w0, g-g0)
	}
	t.Logf("%d writes in %d group transactions", w-w0, g-g0)
}

// If-Match keeps its meaning under group commit: of concurrent updates
// that all expect version 1, exactly one lands.
func TestGroupCommit_IfMatchLetsOneOfConcurrentUpdatesWin(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, _, err := s.Update(ctx, "default", storetest.Patient(t, "p1", "First"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wins, conflicts int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Update(ctx, "default", storetest.Patient(t, "p1", fmt.Sprintf("U%d", i)), fhirstore.UpdateOptions{IfMatch: 1})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, fhirstore.ErrVersionConflict):
				conflicts++
			default:
				t.Errorf("update: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Fatalf("%d updates won and %d conflicted, want 1 and %d", wins, conflicts, n-1)
	}
	if r, err := s.Read(ctx, "default", "Patient", "p1"); err != nil || r.Version != 2 {
		t.Fatalf("after the race: %+v %v", r, err)
	}
}

// A caller that gave up before its write ran gets its context's error,
// and the write never lands.
func TestGroupCommit_CancelledWriteDoesNotLand(t *testing.T) {
	s := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Create(ctx, "default", storetest.Patient(t, "", "Gone"), "c1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("create under a cancelled context: %v", err)
	}
	if _, err := s.Read(context.Background(), "default", "Patient", "c1"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Fatalf("read: %v, want not found", err)
	}
}

// Writes after Close are refused, not lost silently or hung.
func TestGroupCommit_WriteAfterCloseIsRefused(t *testing.T) {
	s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Create(context.Background(), "default", storetest.Patient(t, "", "Late"), ""); !errors.Is(err, sqlstore.ErrClosed) {
		t.Fatalf("create after close: %v, want ErrClosed", err)
	}
}

// Store.Tx shares group transactions too: a transaction whose function
// fails or panics rolls back alone, the panic reaches its caller, and
// transactions beside it land whole.
func TestGroupCommit_TransactionsRollBackAlone(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	panics := make([]any, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = s.Tx(ctx, func(tx fhirstore.Tx) error {
				for j := 0; j < 3; j++ {
					if _, err := tx.Create(ctx, "default", storetest.Patient(t, "", "T"), fmt.Sprintf("t%d-%d", i, j)); err != nil {
						return err
					}
				}
				switch i % 6 {
				case 1:
					return errors.New("the function fails")
				case 2:
					panic("the function panics")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		landed := 0
		for j := 0; j < 3; j++ {
			if _, err := s.Read(ctx, "default", "Patient", fmt.Sprintf("t%d-%d", i, j)); err == nil {
				landed++
			}
		}
		switch i % 6 {
		case 1:
			if errs[i] == nil || landed != 0 {
				t.Errorf("failing transaction %d: err %v, %d of 3 landed", i, errs[i], landed)
			}
		case 2:
			if panics[i] != "the function panics" || landed != 0 {
				t.Errorf("panicking transaction %d: recovered %v, %d of 3 landed", i, panics[i], landed)
			}
		default:
			if errs[i] != nil || panics[i] != nil || landed != 3 {
				t.Errorf("transaction %d beside failing ones: err %v, panic %v, %d of 3 landed", i, errs[i], panics[i], landed)
			}
		}
	}
}

// A caller that gives up while its write runs does not undo the writes
// that share its transaction: SQLite would roll the whole transaction back
// on an interrupted insert.
func TestGroupCommit_CancelledCallerDoesNotUndoItsNeighbours(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx
			if i%4 == 0 {
				var cancel context.CancelFunc
				c, cancel = context.WithTimeout(ctx, time.Duration(i%7)*100*time.Microsecond)
				defer cancel()
			}
			errs[i] = s.Tx(c, func(tx fhirstore.Tx) error {
				for j := 0; j < 5; j++ {
					if _, err := tx.Create(c, "default", storetest.Patient(t, "", "C"), fmt.Sprintf("c%d-%d", i, j)); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		landed := 0
		for j := 0; j < 5; j++ {
			if _, err := s.Read(ctx, "default", "Patient", fmt.Sprintf("c%d-%d", i, j)); err == nil {
				landed++
			}
		}
		if i%4 != 0 && (errs[i] != nil || landed != 5) {
			t.Errorf("transaction %d, never cancelled: err %v, %d of 5 landed", i, errs[i], landed)
		}
		if errs[i] == nil && landed != 5 || errs[i] != nil && landed != 0 {
			t.Errorf("transaction %d: err %v but %d of 5 landed", i, errs[i], landed)
		}
	}
}
