package storetest

import (
	"context"
	"slices"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// sortCases sort by a parameter of every kind, both ways, over resources
// of which some have no value, several the same, and some more than one.
var sortCases = []struct{ typ, sort string }{
	{"Patient", "birthdate"}, {"Patient", "-birthdate"},
	{"Patient", "family"}, {"Patient", "-family"},
	{"Patient", "gender"}, {"Patient", "-gender"},
	{"Patient", "identifier"}, {"Patient", "-identifier"},
	{"Patient", "organization"}, {"Patient", "-organization"},
	{"Patient", "_profile"}, {"Patient", "-_profile"},
	{"Patient", "gender,-birthdate"}, {"Patient", "-gender,family,_id"},
	{"Observation", "value-quantity"}, {"Observation", "-value-quantity"},
	{"Observation", "date"}, {"Observation", "-date"},
	{"Observation", "code"}, {"Observation", "-code"},
	{"Observation", "status,-value-quantity"}, {"Observation", "patient"},
	{"Observation", "-patient"}, {"Observation", "subject"}, {"Observation", "-subject"},
	{"Observation", "combo-code"}, {"Observation", "-combo-code"},
	{"RiskAssessment", "probability"}, {"RiskAssessment", "-probability"},
}

// testSearchSortPaging: a sort answers one order whether the store reads
// it from the sort index (no filter) or orders the matches of a filter, and
// following next links page by page, or previous links back from the last
// page, gives that order.
func testSearchSortPaging(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	for _, tc := range sortCases {
		want := firstPage(t, s, tc.typ, "_lastUpdated=ge2000-01-01&_count=100&_sort="+tc.sort)
		if got := firstPage(t, s, tc.typ, "_count=100&_sort="+tc.sort); !slices.Equal(got, want) {
			t.Errorf("%s?_sort=%s = %v, but %v with a filter matching all", tc.typ, tc.sort, got, want)
		}
		for _, query := range []string{"_count=1&_sort=" + tc.sort, "_count=2&_sort=" + tc.sort,
			"_count=1&_lastUpdated=ge2000-01-01&_sort=" + tc.sort} {
			forward, back := walkBothWays(t, s, tc.typ, query)
			if !slices.Equal(forward, want) {
				t.Errorf("%s?%s paged forward: %v, want %v", tc.typ, query, forward, want)
			}
			if !slices.Equal(back, want) {
				t.Errorf("%s?%s paged back from the last page: %v, want %v", tc.typ, query, back, want)
			}
		}
	}
}

func firstPage(t *testing.T, s fhirstore.Store, typ, query string) []string {
	t.Helper()
	p, err := s.Search(context.Background(), sb, fhirstore.SearchQuery{Query: parseSearch(t, typ, query)})
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, query, err)
	}
	return ids(p.Matches)
}

// walkBothWays follows next links to the last page, then previous links
// back to the first; back is in the forward order.
func walkBothWays(t *testing.T, s fhirstore.Store, typ, query string) (forward, back []string) {
	t.Helper()
	ctx := context.Background()
	read := func(cursor string) *fhirstore.SearchPage {
		q := parseSearch(t, typ, query)
		q.Cursor = cursor
		p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: q})
		if err != nil {
			t.Fatalf("%s?%s: %v", typ, query, err)
		}
		return p
	}
	p := read("")
	for step := 0; ; step++ {
		if step > 100 {
			t.Fatalf("%s?%s: paging did not end", typ, query)
		}
		forward = append(forward, ids(p.Matches)...)
		if p.Next == "" {
			break
		}
		p = read(p.Next)
	}
	pages := [][]string{ids(p.Matches)}
	for p.Prev != "" {
		if len(pages) > 100 {
			t.Fatalf("%s?%s: paging back did not end", typ, query)
		}
		p = read(p.Prev)
		pages = append(pages, ids(p.Matches))
	}
	slices.Reverse(pages)
	return forward, slices.Concat(pages...)
}

// testSearchSortManyReferences: a sort by a reference, URI or token
// parameter (a code of several codings) orders a resource by its least
// value ascending and its greatest descending, once (a code of two systems
// too; a CodeableConcept of text alone has the empty code), whether the
// store reads the parameter's index in order (no filter) or orders the
// matches of a filter; a resource with no value comes last, and one that
// names the same id twice (of two types) comes once. Paging either way
// gives the same order.
func testSearchSortManyReferences(t *testing.T, s fhirstore.Store, _ *Clock) {
	ctx := context.Background()
	for _, body := range []string{
		`{"resourceType":"Observation","id":"a","status":"final",
			"code":{"coding":[{"system":"http://example.org/s1","code":"b"},{"system":"http://example.org/s1","code":"d"}]},
			"meta":{"profile":["http://example.org/b","http://example.org/d"]},
			"performer":[{"reference":"Practitioner/pb"},{"reference":"Practitioner/pd"}]}`,
		`{"resourceType":"Observation","id":"b","status":"final",
			"code":{"coding":[{"system":"http://example.org/s1","code":"c"}]},
			"meta":{"profile":["http://example.org/c"]},
			"performer":[{"reference":"Practitioner/pc"}]}`,
		`{"resourceType":"Observation","id":"c","status":"final",
			"code":{"coding":[{"system":"http://example.org/s1","code":"e"},{"system":"http://example.org/s2","code":"a"}]},
			"meta":{"profile":["http://example.org/e","http://example.org/a"]},
			"performer":[{"reference":"Practitioner/pe"},{"reference":"Practitioner/pa"}]}`,
		`{"resourceType":"Observation","id":"d","status":"final","code":{"text":"x"}}`,
		`{"resourceType":"Observation","id":"e","status":"final",
			"code":{"coding":[{"system":"http://example.org/s1","code":"b"},{"system":"http://example.org/s2","code":"b"}]},
			"meta":{"profile":["http://example.org/b","http://example.org/b"]},
			"performer":[{"reference":"Organization/pb"},{"reference":"Practitioner/pb","display":"B"}]}`,
	} {
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for sort, want := range map[string][]string{
		"performer":  {"c", "a", "e", "b", "d"},
		"-performer": {"c", "a", "b", "e", "d"},
		"_profile":   {"c", "a", "e", "b", "d"},
		"-_profile":  {"c", "a", "b", "e", "d"},
		"-code":      {"c", "a", "b", "e", "d"},
		// d's code is a text alone: the empty code, first ascending.
		"code": {"d", "c", "a", "e", "b"},
	} {
		for _, query := range []string{"_count=10&_sort=" + sort, "_count=10&status=final&_sort=" + sort} {
			if got := firstPage(t, s, "Observation", query); !slices.Equal(got, want) {
				t.Errorf("Observation?%s = %v, want %v", query, got, want)
			}
		}
		for _, query := range []string{"_count=1&_sort=" + sort, "_count=2&_sort=" + sort, "_count=1&status=final&_sort=" + sort} {
			forward, back := walkBothWays(t, s, "Observation", query)
			if !slices.Equal(forward, want) || !slices.Equal(back, want) {
				t.Errorf("Observation?%s paged forward %v and back %v, want %v", query, forward, back, want)
			}
		}
	}
}
