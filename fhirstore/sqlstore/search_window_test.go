package sqlstore_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// A sorted search with filters answers the same pages whether a window of
// the sort order holds them or its matches are ordered whole, paged either
// way, whatever the window's size.
func TestSearch_SortWindow_GivesThePagesOfOrderingEveryMatch(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 40; i++ {
		birth := ""
		if i%7 != 3 {
			birth = fmt.Sprintf(`,"birthDate":"19%02d"`, 50+(i*37)%40)
		}
		body := fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","gender":%q,"name":[{"family":"F%d"},{"family":"G%d"}]%s}`,
			i, []string{"female", "male", "other"}[i%3], (i*13)%17, i%5, birth)
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	queries := []string{"gender=female,male&_sort=birthdate", "gender=female,male&_sort=-birthdate",
		"gender:not=other&_sort=family", "gender:not=other&_sort=-family", "birthdate=lt1980&_sort=-birthdate"}
	for _, query := range queries {
		restore := sqlstore.SetSortWindow(0) // no window: every match ordered
		want, _ := walkPages(t, s, query+"&_count=100")
		restore()
		for _, window := range []int{1, 3, 8, 1000} {
			restore := sqlstore.SetSortWindow(window)
			for _, count := range []int{1, 2, 5} {
				forward, back := walkPages(t, s, fmt.Sprintf("%s&_count=%d", query, count))
				if !slices.Equal(forward, want) || !slices.Equal(back, want) {
					t.Errorf("Patient?%s, window %d, _count=%d: forward %v, back %v, want %v", query, window, count, forward, back, want)
				}
			}
			restore()
		}
	}
}

// A confined search sorted through a window of the sort order keeps only
// what the confinement lets it see: its pages are those of the same search
// with the constraint as a filter, ordered whole.
func TestSearch_SortWindow_AppliesTheConfinement(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 40; i++ {
		body := fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","gender":%q,"birthDate":"19%02d","name":[{"family":"F%d"}]}`,
			i, []string{"female", "male", "other"}[i%3], 50+(i*37)%40, (i*13)%17)
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	female, err := search.Parse("Patient", url.Values{"gender": {"female"}}, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	confined := search.ConfineTo(ctx, &search.Confinement{
		Constraints: map[string][]search.Constraint{"Patient": {search.Constraint(female.Filters)}}})
	for _, query := range []string{"birthdate=lt1980&_sort=-birthdate", "name=f&_sort=family", "gender:not=other&_sort=birthdate"} {
		restore := sqlstore.SetSortWindow(0)
		want, _ := walkPages(t, s, query+"&gender=female&_count=100")
		restore()
		if len(want) == 0 {
			t.Fatalf("Patient?%s&gender=female matches nothing; the case cannot fail", query)
		}
		for _, window := range []int{1, 3, 1000} {
			restore := sqlstore.SetSortWindow(window)
			for _, count := range []int{1, 4} {
				forward, back := walkPagesIn(confined, t, s, fmt.Sprintf("%s&_count=%d", query, count))
				if !slices.Equal(forward, want) || !slices.Equal(back, want) {
					t.Errorf("Patient?%s confined, window %d, _count=%d: forward %v, back %v, want %v", query, window, count, forward, back, want)
				}
			}
			restore()
		}
	}
}

// walkPages follows next links from the first page to the last, then
// previous links back; back is in the forward order.
func walkPages(t *testing.T, s fhirstore.Store, query string) (forward, back []string) {
	t.Helper()
	return walkPagesIn(context.Background(), t, s, query)
}

// walkPagesIn is walkPages under ctx (a confinement).
func walkPagesIn(ctx context.Context, t *testing.T, s fhirstore.Store, query string) (forward, back []string) {
	t.Helper()
	return walkTypePages(ctx, t, s, "Patient", query)
}

// walkTypePages is walkPagesIn for a search of typ.
func walkTypePages(ctx context.Context, t *testing.T, s fhirstore.Store, typ, query string) (forward, back []string) {
	t.Helper()
	read := func(cursor string) *fhirstore.SearchPage {
		v, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		q, err := search.Parse(typ, v, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		q.Cursor = cursor
		p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: q})
		if err != nil {
			t.Fatalf("%s?%s: %v", typ, query, err)
		}
		return p
	}
	p := read("")
	for steps := 0; ; steps++ {
		if steps > 100 {
			t.Fatalf("Patient?%s: paging did not end", query)
		}
		for _, r := range p.Matches {
			forward = append(forward, r.ID)
		}
		if p.Next == "" {
			break
		}
		p = read(p.Next)
	}
	var pages [][]string
	for steps := 0; ; steps++ {
		if steps > 100 {
			t.Fatalf("Patient?%s: paging back did not end", query)
		}
		var ids []string
		for _, r := range p.Matches {
			ids = append(ids, r.ID)
		}
		pages = append(pages, ids)
		if p.Prev == "" {
			break
		}
		p = read(p.Prev)
	}
	slices.Reverse(pages)
	return forward, slices.Concat(pages...)
}
