package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// walk follows Next (or Prev) cursors from the first page to the end and
// returns the ids seen, calling between after every page.
func walk(t *testing.T, s fhirstore.Store, typ, query string, backward bool, between func(page int)) []string {
	t.Helper()
	ctx := context.Background()
	var seen []string
	cursor := ""
	for page := 0; page < 50; page++ {
		q := parseSearch(t, typ, query)
		q.Cursor = cursor
		p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: q})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		seen = append(seen, ids(p.Matches)...)
		if between != nil {
			between(page)
		}
		cursor = p.Next
		if backward {
			cursor = p.Prev
		}
		if cursor == "" {
			return seen
		}
	}
	t.Fatal("paging did not end")
	return nil
}

func testSearchPaging(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	for _, query := range []string{"_count=2", "_count=1&_sort=-birthdate", "_count=3&_sort=family,given"} {
		all, err := s.Search(context.Background(), sb, fhirstore.SearchQuery{Query: parseSearch(t, "Patient", strings.Replace(query, "_count=", "_count=10", 1))})
		if err != nil {
			t.Fatal(err)
		}
		want := ids(all.Matches)
		if got := walk(t, s, "Patient", query, false, nil); !slices.Equal(got, want) {
			t.Errorf("Patient?%s paged forward: %v, want %v", query, got, want)
		}
	}
}

// testSearchPagingUnderWrites pages while other writes land: resources that
// were there all along are each seen exactly once.
func testSearchPagingUnderWrites(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, _, err := s.Update(ctx, sb, Patient(t, fmt.Sprintf("k%02d", i), "Stable"), fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for qi, query := range []string{"family=stable&_count=3", "family=stable&_count=3&_sort=-_id"} {
		n := 0
		seen := walk(t, s, "Patient", query, false, func(page int) {
			// A new match, an update of a seen and an unseen match, and an
			// unrelated resource.
			n++
			s.Update(ctx, sb, Patient(t, fmt.Sprintf("new%d-%d", qi, n), "Stable"), fhirstore.UpdateOptions{})
			s.Update(ctx, sb, Patient(t, "k00", "Stable"), fhirstore.UpdateOptions{})
			s.Update(ctx, sb, Patient(t, "k09", "Stable"), fhirstore.UpdateOptions{})
			s.Update(ctx, sb, Patient(t, fmt.Sprintf("x%d-%d", qi, n), "Other"), fhirstore.UpdateOptions{})
		})
		count := map[string]int{}
		for _, id := range seen {
			count[id]++
		}
		for i := 0; i < 10; i++ {
			if id := fmt.Sprintf("k%02d", i); count[id] != 1 {
				t.Errorf("%s: %s seen %d times in %v", query, id, count[id], seen)
			}
		}
		for id, n := range count {
			if n != 1 {
				t.Errorf("%s: %s seen %d times", query, id, n)
			}
		}
	}
	// Backward from the last page returns the same resources in reverse.
	q := parseSearch(t, "Patient", "family=stable&_count=4")
	var last *fhirstore.SearchPage
	for cursor := ""; ; {
		q.Cursor = cursor
		p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		last = p
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	forward := walk(t, s, "Patient", "family=stable&_count=4", false, nil)
	var backward []string
	for p := last; ; {
		backward = append(ids(p.Matches), backward...)
		if p.Prev == "" {
			break
		}
		q.Cursor = p.Prev
		var err error
		if p, err = s.Search(ctx, sb, fhirstore.SearchQuery{Query: q}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(forward, backward) {
		t.Errorf("backward %v, forward %v", backward, forward)
	}
}

// testSearchPagingRepeatedValues pages a search whose value a resource
// holds twice (two codings of one code): each resource comes once, and
// paging neither stops early nor repeats.
func testSearchPagingRepeatedValues(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		body := fmt.Sprintf(`{"resourceType":"Observation","id":"d%d","status":"final","code":{"coding":[`+
			`{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"},`+
			`{"system":"http://loinc.org","code":"8867-4","display":"Puls"}]}}`, i)
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"1", "2", "4"} {
		got := walk(t, s, "Observation", "code=http://loinc.org|8867-4&_count="+n, false, nil)
		if strings.Join(got, ",") != "d0,d1,d2,d3,d4" {
			t.Errorf("_count=%s: %v", n, got)
		}
	}
}
