package storetest

import (
	"context"
	"errors"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// testErase: erasing a sandbox leaves nothing of it (current versions,
// history, index rows) and nothing of another sandbox is touched.
func testErase(t *testing.T, s fhirstore.Store, c *Clock) {
	e, ok := s.(fhirstore.Eraser)
	if !ok {
		t.Skip("store does not implement fhirstore.Eraser")
	}
	seedSearch(t, s)
	ctx := context.Background()
	otherBefore, err := s.History(ctx, "other", fhirstore.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.EraseSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, sb, "Patient", "p1"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("Read after erase: %v, want ErrNotFound", err)
	}
	if _, err := s.Read(ctx, sb, "Patient", "p5"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("Read of a deleted resource after erase: %v, want ErrNotFound (no deletion kept)", err)
	}
	h, err := s.History(ctx, sb, fhirstore.HistoryQuery{})
	if err != nil || h.Total != 0 {
		t.Errorf("History after erase: %d versions, %v; want none", h.Total, err)
	}
	// A new resource under an erased id must not match the old index rows.
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Patient","id":"p1","name":[{"family":"Berg"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Update(ctx, sb, r, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for query, want := range map[string]int{"family=nordmann": 0, "family=berg": 1, "_has:Observation:subject:code=8867-4": 0} {
		p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: parseSearch(t, "Patient", query)})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Matches) != want {
			t.Errorf("Patient?%s after erase: %v, want %d matches", query, ids(p.Matches), want)
		}
	}
	otherAfter, err := s.History(ctx, "other", fhirstore.HistoryQuery{})
	if err != nil || otherAfter.Total != otherBefore.Total {
		t.Errorf("other sandbox: %d versions before, %d after (%v)", otherBefore.Total, otherAfter.Total, err)
	}
	p, err := s.Search(ctx, "other", fhirstore.SearchQuery{Query: parseSearch(t, "Patient", "family=nordmann")})
	if err != nil || len(p.Matches) == 0 {
		t.Errorf("other sandbox's index rows were touched: %v %v", ids(p.Matches), err)
	}
	if err := e.EraseSandbox(ctx, "never-used"); err != nil {
		t.Errorf("erasing an unknown sandbox: %v", err)
	}
}
