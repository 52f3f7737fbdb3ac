package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
)

// A history or vread under a confinement answers the versions it lets be
// seen, each judged as it was: past versions by what they referenced and
// held when they were current, deletions as the version they deleted.

const (
	serverBase = "http://sandbox.test/fhir"
	vitalSigns = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
)

// versionObservation is an Observation of subject (a reference as written)
// in category (a code of observation-category).
func versionObservation(t *testing.T, id, subject, category string) *fhirjson.Resource {
	t.Helper()
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Observation","id":"` + id + `","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` + category + `"}]}],
		"code":{"coding":[{"system":"` + loinc + `","code":"8867-4"}]},"subject":{"reference":"` + subject + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// seedConfinedHistory writes, in order:
//
//	Patient/a v1, Patient/b v1
//	Observation/moved v1 of a (vital signs), v2 of b (vital signs)
//	Observation/recat v1 of a (vital signs), v2 of a (laboratory)
//	Observation/gone  v1 of a, v2 deleted, v3 of b
//	Observation/del   v1 of a, v2 deleted
//	Observation/abs   v1 of another server's Patient/a, v2 of this server's
func seedConfinedHistory(t *testing.T, s fhirstore.Store) {
	t.Helper()
	ctx := context.Background()
	put := func(r *fhirjson.Resource) {
		t.Helper()
		if _, _, err := s.Update(ctx, sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	del := func(typ, id string) {
		t.Helper()
		if _, err := s.Delete(ctx, sb, typ, id); err != nil {
			t.Fatal(err)
		}
	}
	put(Patient(t, "a", "A"))
	put(Patient(t, "b", "B"))
	put(versionObservation(t, "moved", "Patient/a", "vital-signs"))
	put(versionObservation(t, "moved", "Patient/b", "vital-signs"))
	put(versionObservation(t, "recat", "Patient/a", "vital-signs"))
	put(versionObservation(t, "recat", "Patient/a", "laboratory"))
	put(versionObservation(t, "gone", "Patient/a", "vital-signs"))
	del("Observation", "gone")
	put(versionObservation(t, "gone", "Patient/b", "vital-signs"))
	put(versionObservation(t, "del", "Patient/a", "vital-signs"))
	del("Observation", "del")
	put(versionObservation(t, "abs", "http://other.test/fhir/Patient/a", "vital-signs"))
	put(versionObservation(t, "abs", serverBase+"/Patient/a", "vital-signs"))
}

// compartmentOf is a confinement to Patient/id's compartment, of every type.
func compartmentOf(id string) *search.Confinement {
	return &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: id}, Base: serverBase}
}

// confinedHistory runs a history under conf, every page of size count,
// and returns its versions newest first; it fails when a page's Total
// differs from what all pages hold.
func confinedHistory(t *testing.T, s fhirstore.Store, conf *search.Confinement, hq fhirstore.HistoryQuery, count int) ([]string, error) {
	t.Helper()
	ctx := search.ConfineTo(context.Background(), conf)
	var got []string
	total := -1
	for hq.Offset, hq.Count = 0, count; ; hq.Offset += count {
		page, err := s.History(ctx, sb, hq)
		if err != nil {
			return nil, err
		}
		hq.Before = page.Snapshot
		if total >= 0 && page.Total != total {
			t.Errorf("history %+v: Total %d on one page, %d on another", hq, total, page.Total)
		}
		total = page.Total
		got = append(got, keys(page.Versions)...)
		if len(page.Versions) < count {
			break
		}
	}
	if total != len(got) {
		t.Errorf("history %+v: Total %d, but the pages hold %d versions %v", hq, total, len(got), got)
	}
	return got, nil
}

func testHistoryConfinement(t *testing.T, s fhirstore.Store, c *Clock) {
	seedConfinedHistory(t, s)
	labOnly := constrained(t, search.Compartment{}, "category=laboratory")
	vitalsOfA := constrained(t, search.Compartment{Type: "Patient", ID: "a"}, "category="+vitalSigns)
	noObservations := compartmentOf("a")
	noObservations.Excluded = []string{"Observation"}
	patientsOnly := compartmentOf("a")
	patientsOnly.Types = []string{"Patient"}
	noBase := compartmentOf("a")
	noBase.Base = ""
	tests := []struct {
		name string
		conf *search.Confinement
		hq   fhirstore.HistoryQuery
		want []string
	}{
		{"A sees the version that was in A's compartment, not the one moved to B's",
			compartmentOf("a"), fhirstore.HistoryQuery{Type: "Observation", ID: "moved"}, []string{"Observation/moved/1"}},
		{"B sees the version moved into B's compartment, not the one before",
			compartmentOf("b"), fhirstore.HistoryQuery{Type: "Observation", ID: "moved"}, []string{"Observation/moved/2"}},
		{"a deletion is seen as the version it deleted, and a later version as itself",
			compartmentOf("a"), fhirstore.HistoryQuery{Type: "Observation", ID: "gone"}, []string{"Observation/gone/2", "Observation/gone/1"}},
		{"a version written after a deletion is judged by itself",
			compartmentOf("b"), fhirstore.HistoryQuery{Type: "Observation", ID: "gone"}, []string{"Observation/gone/3"}},
		{"a current deletion is seen as the version it deleted",
			compartmentOf("a"), fhirstore.HistoryQuery{Type: "Observation", ID: "del"}, []string{"Observation/del/2", "Observation/del/1"}},
		{"another server's Patient/a is not the compartment's",
			compartmentOf("a"), fhirstore.HistoryQuery{Type: "Observation", ID: "abs"}, []string{"Observation/abs/2"}},
		{"without a base any URL counts",
			noBase, fhirstore.HistoryQuery{Type: "Observation", ID: "abs"}, []string{"Observation/abs/2", "Observation/abs/1"}},
		{"a constraint holds for each past version as it was",
			labOnly, fhirstore.HistoryQuery{Type: "Observation"}, []string{"Observation/recat/2"}},
		{"compartment and constraint together",
			vitalsOfA, fhirstore.HistoryQuery{Type: "Observation"}, []string{"Observation/abs/2", "Observation/abs/1",
				"Observation/del/2", "Observation/del/1", "Observation/gone/2", "Observation/gone/1",
				"Observation/recat/1", "Observation/moved/1"}},
		{"the type history of A",
			compartmentOf("a"), fhirstore.HistoryQuery{Type: "Observation"}, []string{"Observation/abs/2",
				"Observation/del/2", "Observation/del/1", "Observation/gone/2", "Observation/gone/1",
				"Observation/recat/2", "Observation/recat/1", "Observation/moved/1"}},
		{"the system history of B",
			compartmentOf("b"), fhirstore.HistoryQuery{}, []string{"Observation/gone/3", "Observation/moved/2", "Patient/b/1"}},
		{"an excluded type is never seen",
			noObservations, fhirstore.HistoryQuery{}, []string{"Patient/a/1"}},
		{"types the compartment does not apply to are seen whole",
			patientsOnly, fhirstore.HistoryQuery{Type: "Observation", ID: "moved"}, []string{"Observation/moved/2", "Observation/moved/1"}},
	}
	for _, tt := range tests {
		for _, count := range []int{1, 2, 100} {
			got, err := confinedHistory(t, s, tt.conf, tt.hq, count)
			if err != nil {
				t.Errorf("%s (_count=%d): %v", tt.name, count, err)
				continue
			}
			if !equal(got, tt.want) {
				t.Errorf("%s (_count=%d):\n got %v\nwant %v", tt.name, count, got, tt.want)
			}
		}
	}
	// An instance with no version to see is not found, as if it had none.
	if _, err := confinedHistory(t, s, compartmentOf("b"), fhirstore.HistoryQuery{Type: "Observation", ID: "del"}, 10); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("B's history of a resource only ever in A's compartment: %v, want ErrNotFound", err)
	}
}

func testVReadConfinement(t *testing.T, s fhirstore.Store, c *Clock) {
	seedConfinedHistory(t, s)
	labOnly := constrained(t, search.Compartment{}, "category=laboratory")
	tests := []struct {
		conf    *search.Confinement
		id      string
		version int64
		seen    bool
	}{
		{compartmentOf("a"), "moved", 1, true},
		{compartmentOf("a"), "moved", 2, false},
		{compartmentOf("b"), "moved", 1, false},
		{compartmentOf("b"), "moved", 2, true},
		{compartmentOf("a"), "gone", 2, true}, // a deletion, archived
		{compartmentOf("b"), "gone", 2, false},
		{compartmentOf("a"), "del", 2, true}, // a deletion, current
		{compartmentOf("b"), "del", 2, false},
		{compartmentOf("a"), "abs", 1, false},
		{labOnly, "recat", 1, false},
		{labOnly, "recat", 2, true},
	}
	for _, tt := range tests {
		ctx := search.ConfineTo(context.Background(), tt.conf)
		r, err := s.VRead(ctx, sb, "Observation", tt.id, tt.version)
		switch {
		case tt.seen && (err != nil || r.Version != tt.version):
			t.Errorf("Observation/%s/_history/%d under %+v: %v, want it", tt.id, tt.version, tt.conf, err)
		case !tt.seen && !errors.Is(err, fhirstore.ErrNotFound):
			t.Errorf("Observation/%s/_history/%d under %+v: %v, want ErrNotFound", tt.id, tt.version, tt.conf, err)
		}
	}
	if r, err := s.VRead(context.Background(), sb, "Observation", "moved", 2); err != nil || r.Version != 2 {
		t.Errorf("unconfined vread: %v", err)
	}
}

// A version's meta rewritten in place is judged by its new tags.
func testHistoryConfinementAfterReplaceMeta(t *testing.T, s fhirstore.Store, c *Clock) {
	seedConfinedHistory(t, s)
	ctx := context.Background()
	old, err := s.VRead(ctx, sb, "Observation", "moved", 1)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.Replace(string(old.Body), `"meta":{`, `"meta":{"tag":[{"system":"urn:test","code":"shared"}],`, 1))
	if err := s.ReplaceMeta(ctx, sb, "Observation", "moved", 1, body); err != nil {
		t.Fatal(err)
	}
	shared := &search.Confinement{Constraints: map[string][]search.Constraint{
		"Observation": {search.Constraint(parseSearch(t, "Observation", "_tag=urn:test|shared").Filters)}}}
	got, err := confinedHistory(t, s, shared, fhirstore.HistoryQuery{Type: "Observation"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"Observation/moved/1"}) {
		t.Errorf("versions tagged shared: %v, want the one retagged", got)
	}
}

// Erasing a sandbox erases what its past versions kept: the versions of a
// resource written again under the same id are judged by themselves.
func testHistoryConfinementAfterErase(t *testing.T, s fhirstore.Store, c *Clock) {
	e, ok := s.(fhirstore.Eraser)
	if !ok {
		t.Skip("store does not implement fhirstore.Eraser")
	}
	seedConfinedHistory(t, s)
	ctx := context.Background()
	if err := e.EraseSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"Patient/b", "Patient/b"} {
		if _, _, err := s.Update(ctx, sb, versionObservation(t, "moved", subject, "vital-signs"), fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := confinedHistory(t, s, compartmentOf("a"), fhirstore.HistoryQuery{Type: "Observation"}, 10); err != nil || len(got) != 0 {
		t.Errorf("A's history after the erase and B's versions: %v %v, want none", got, err)
	}
	if got, err := confinedHistory(t, s, compartmentOf("b"), fhirstore.HistoryQuery{Type: "Observation", ID: "moved"}, 10); err != nil || len(got) != 2 {
		t.Errorf("B's history after the erase: %v %v, want both versions", got, err)
	}
}
