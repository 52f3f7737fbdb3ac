package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// StoreReports keeps TestReports in the sandbox's FHIR store, where any
// FHIR client of the sandbox reads them too.
type StoreReports struct {
	Store fhirstore.Store
}

var _ Reports = StoreReports{}

// Save implements Reports.
func (s StoreReports) Save(ctx context.Context, sandbox, id string, report []byte) error {
	r, err := fhirjson.Parse(report)
	if err != nil {
		return err
	}
	_, err = s.Store.Create(ctx, fhirstore.Sandbox(sandbox), r, id)
	return err
}

// Get implements Reports. A TestReport deleted through the FHIR API is
// no longer a run.
func (s StoreReports) Get(ctx context.Context, sandbox, id string) ([]byte, error) {
	r, err := s.Store.Read(ctx, fhirstore.Sandbox(sandbox), "TestReport", id)
	var gone *fhirstore.GoneError
	if errors.Is(err, fhirstore.ErrNotFound) || errors.As(err, &gone) {
		return nil, fmt.Errorf("%w: %q", ErrNoRun, id)
	}
	if err != nil {
		return nil, err
	}
	return r.Body, nil
}

// maxListed bounds the TestReports List reads to sort.
const maxListed = 1000

// List implements Reports: the newest by meta.lastUpdated first.
func (s StoreReports) List(ctx context.Context, sandbox string, limit int) ([][]byte, error) {
	page, err := s.Store.Search(ctx, fhirstore.Sandbox(sandbox), fhirstore.SearchQuery{Type: "TestReport", Count: maxListed})
	if err != nil {
		return nil, err
	}
	matches := page.Matches
	slices.SortStableFunc(matches, func(a, b *fhirstore.Resource) int {
		if c := b.LastUpdated.Compare(a.LastUpdated); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	out := make([][]byte, 0, min(limit, len(matches)))
	for _, m := range matches[:min(limit, len(matches))] {
		out = append(out, m.Body)
	}
	return out, nil
}
