package fhirstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

func openStore(t *testing.T) fhirstore.Store {
	s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func patients(n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		out = append(out, []byte(fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","name":[{"family":"F%d"}]}`, i, i)))
	}
	return out
}

func TestLoad_WritesEveryResourceInBatchesWithProgress(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	var calls []int
	err := fhirstore.Load(ctx, s, "sb", patients(25), fhirstore.LoadOptions{Batch: 10, Progress: func(done, total int) {
		if total != 25 {
			t.Errorf("total %d", total)
		}
		calls = append(calls, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(calls) != "[10 20 25]" {
		t.Errorf("progress %v", calls)
	}
	page, _ := s.Search(ctx, "sb", fhirstore.SearchQuery{Type: "Patient"})
	if page.Total != 25 {
		t.Errorf("loaded %d, want 25", page.Total)
	}
	// Loading again updates in place: same resources, version 2.
	if err := fhirstore.Load(ctx, s, "sb", patients(25), fhirstore.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Read(ctx, "sb", "Patient", "p7"); err != nil || r.Version != 2 {
		t.Errorf("reload: %+v %v", r, err)
	}
}

func TestLoad_InvalidOrIDLessResource_WritesNothingAndNamesIt(t *testing.T) {
	for name, bad := range map[string]string{
		"invalid": `{"resourceType":"Patient","id":"x","birthDate":"tomorrow"}`,
		"no id":   `{"resourceType":"Patient"}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			bodies := patients(30)
			bodies[17] = []byte(bad)
			err := fhirstore.Load(context.Background(), s, "sb", bodies, fhirstore.LoadOptions{Batch: 10})
			if err == nil || !errorsContain(err, "resource 17") {
				t.Fatalf("err %v", err)
			}
			var oe *outcome.Error
			if name == "invalid" && !errors.As(err, &oe) {
				t.Errorf("validation error lost its outcome: %v", err)
			}
			if page, _ := s.Search(context.Background(), "sb", fhirstore.SearchQuery{Type: "Patient"}); page.Total != 0 {
				t.Errorf("%d resources written despite an invalid one", page.Total)
			}
		})
	}
}

func errorsContain(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}

func TestLoad_RefusesIDsMadeOnlyOfDots(t *testing.T) {
	s := openStore(t)
	for _, id := range []string{".", ".."} {
		body := []byte(`{"resourceType":"Patient","id":"` + id + `"}`)
		if err := fhirstore.Load(context.Background(), s, "sb", [][]byte{body}, fhirstore.LoadOptions{}); err == nil {
			t.Errorf("Load accepted Patient/%s", id)
		}
	}
}

// pieces returns a next func over bodies cut into pieces of n.
func pieces(bodies [][]byte, n int) func() ([][]byte, error) {
	return func() ([][]byte, error) {
		if len(bodies) == 0 {
			return nil, nil
		}
		k := min(n, len(bodies))
		p := bodies[:k]
		bodies = bodies[k:]
		return p, nil
	}
}

func TestLoadStream_WritesEveryPieceInOrder(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	last := 0
	n, err := fhirstore.LoadStream(ctx, s, "sb", pieces(patients(57), 10), fhirstore.LoadOptions{Batch: 4, Progress: func(done, _ int) {
		if done <= last {
			t.Errorf("progress went from %d to %d", last, done)
		}
		last = done
	}})
	if err != nil || n != 57 || last != 57 {
		t.Fatalf("LoadStream: %d written, last progress %d, %v", n, last, err)
	}
	for _, id := range []string{"p0", "p31", "p56"} {
		if _, err := s.Read(ctx, "sb", "Patient", id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}

// An invalid resource stops the load: the pieces before it are written,
// its own piece and those after it are not, and the error names its place
// in the whole input.
func TestLoadStream_InvalidResourceStopsAfterThePiecesBefore(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	bodies := patients(30)
	bodies[23] = []byte(`{"resourceType":"Patient","id":"bad","birthDate":"yesterday"}`)
	n, err := fhirstore.LoadStream(ctx, s, "sb", pieces(bodies, 10), fhirstore.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "resource 23") {
		t.Fatalf("LoadStream: %v, want the error of resource 23", err)
	}
	if n != 20 {
		t.Errorf("%d written, want the 20 of the pieces before", n)
	}
	if _, err := s.Read(ctx, "sb", "Patient", "p20"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("p20 of the invalid piece: %v, want not found", err)
	}
	failing := errors.New("the input broke")
	calls := 0
	_, err = fhirstore.LoadStream(ctx, s, "other", func() ([][]byte, error) {
		if calls++; calls > 1 {
			return nil, failing
		}
		return patients(3), nil
	}, fhirstore.LoadOptions{})
	if !errors.Is(err, failing) {
		t.Errorf("LoadStream of a failing input: %v", err)
	}
}

// Atomic: an invalid resource or a failing input anywhere writes nothing,
// even after earlier pieces went through; a good input lands whole, and
// errors name resources as Name says.
func TestLoadStream_AtomicWritesAllOrNothing(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	bodies := patients(30)
	bodies[23] = []byte(`{"resourceType":"Patient","id":"bad","birthDate":"yesterday"}`)
	name := func(i int) string { return fmt.Sprintf("input #%d", i+1) }
	_, err := fhirstore.LoadStream(ctx, s, "sb", pieces(bodies, 10), fhirstore.LoadOptions{Atomic: true, Batch: 4, Name: name})
	if err == nil || !strings.Contains(err.Error(), "input #24") {
		t.Fatalf("LoadStream: %v, want the error to name input #24", err)
	}
	if _, err := s.Read(ctx, "sb", "Patient", "p0"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("p0 of the first piece: %v, want not found", err)
	}
	failing := errors.New("the input broke")
	calls := 0
	_, err = fhirstore.LoadStream(ctx, s, "sb", func() ([][]byte, error) {
		if calls++; calls > 2 {
			return nil, failing
		}
		return patients(3), nil
	}, fhirstore.LoadOptions{Atomic: true})
	if !errors.Is(err, failing) {
		t.Errorf("LoadStream of a failing input: %v", err)
	}
	if _, err := s.Read(ctx, "sb", "Patient", "p0"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("p0 after a failing input: %v, want not found", err)
	}
	n, err := fhirstore.LoadStream(ctx, s, "sb", pieces(patients(57), 10), fhirstore.LoadOptions{Atomic: true, Batch: 4})
	if err != nil || n != 57 {
		t.Fatalf("LoadStream: %d, %v", n, err)
	}
	if page, _ := s.Search(ctx, "sb", fhirstore.SearchQuery{Type: "Patient"}); page.Total != 57 {
		t.Errorf("%d patients, want 57", page.Total)
	}
}
