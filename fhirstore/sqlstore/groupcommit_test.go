package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"hpsandbox/fhirstore"
)

// The writes of a group run bare, each once, as long as none fails. Once
// one fails, the transaction is rolled back and the writes before it run
// again, each in a savepoint, as do those after it: the failing write
// leaves nothing behind, and every other write lands whole, index rows
// included.
func TestCommitGroup_FailingWriteFailsAloneAndItsPredecessorsRunAgain(t *testing.T) {
	errFails := errors.New("the write fails")
	cases := []struct {
		name     string
		failing  int // -1: none
		wantRuns []int
	}{
		{"no write fails", -1, []int{1, 1, 1, 1, 1}},
		{"the first fails", 0, []int{1, 1, 1, 1, 1}},
		{"a middle one fails", 2, []int{2, 2, 1, 1, 1}},
		{"the last fails", 4, []int{2, 2, 2, 2, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openStore(t)
			ctx := context.Background()
			family := fmt.Sprintf("Group%d", c.failing+1)
			runs := make([]int, len(c.wantRuns))
			fns := make([]func(fhirstore.Tx) error, len(runs))
			for i := range fns {
				fns[i] = func(tx fhirstore.Tx) error {
					runs[i]++
					if _, err := tx.Create(ctx, sb, patient(t, family), fmt.Sprintf("g-%d", i)); err != nil {
						return err
					}
					if i == c.failing {
						return errFails
					}
					return nil
				}
			}
			errs := s.CommitGroup(ctx, fns)
			for i, err := range errs {
				if want := error(nil); i == c.failing {
					if !errors.Is(err, errFails) {
						t.Errorf("write %d: %v, want its own error", i, err)
					}
				} else if err != want {
					t.Errorf("write %d beside a failing one: %v", i, err)
				}
			}
			if !slices.Equal(runs, c.wantRuns) {
				t.Errorf("runs %v, want %v", runs, c.wantRuns)
			}
			var want []string
			for i := range runs {
				_, err := s.Read(ctx, sb, "Patient", fmt.Sprintf("g-%d", i))
				if i == c.failing {
					if !errors.Is(err, fhirstore.ErrNotFound) {
						t.Errorf("the failing write's resource: %v, want ErrNotFound", err)
					}
					continue
				}
				if err != nil {
					t.Errorf("g-%d: %v", i, err)
				}
				want = append(want, fmt.Sprintf("g-%d", i))
			}
			got := families(t, s, family)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("search by family finds %v, want %v", got, want)
			}
		})
	}
}
