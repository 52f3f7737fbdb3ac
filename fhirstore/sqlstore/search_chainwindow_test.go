package sqlstore_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/internal/testpg"
)

// A chained search in rid order answers the same pages whether a window
// of the type's first rows holds them (each row testing its own
// references) or every resource the chain reaches is gathered first,
// paged either way, whatever the window's size; deleted resources and
// other filters count as in the usual statement.
func TestSearch_ChainWindow_GivesThePagesOfGatheringEveryMatch(t *testing.T) {
	for _, backend := range benchBackends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			var s *sqlstore.Store
			var err error
			if backend == "postgres" {
				s, err = postgres.Open(ctx, testpg.Start(t), sqlstore.Options{})
			} else {
				s, err = sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			testChainWindow(t, s)
		})
	}
}

func testChainWindow(t *testing.T, s fhirstore.Store) {
	ctx := context.Background()
	put := func(body string) {
		t.Helper()
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	families := []string{"Hansen", "Berg", "Aune"}
	for i := 0; i < 12; i++ {
		put(fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","name":[{"family":%q}]}`, i, families[i%3]))
		put(fmt.Sprintf(`{"resourceType":"Group","id":"g%d","type":"person","actual":true,"name":%q}`, i, families[i%3]))
	}
	for i := 0; i < 60; i++ {
		subject := fmt.Sprintf("Patient/p%d", (i*7)%12)
		if i%9 == 4 {
			subject = fmt.Sprintf("Group/g%d", i%12)
		}
		code := []string{"8867-4", "59408-5"}[i%2]
		put(fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":%q}]},"subject":{"reference":%q}}`, i, code, subject))
	}
	for _, id := range []string{"o5", "o17"} {
		if _, err := s.Delete(ctx, sb, "Observation", id); err != nil {
			t.Fatal(err)
		}
	}
	queries := []string{
		"subject:Patient.family=Hansen",
		"subject:Patient.family=Berg&code=59408-5",
		"subject.name=Aune", // Patient or Group
		"subject:Patient.family=Nobody",
		"patient.family=Hansen,Aune",
	}
	defer sqlstore.SetChainWindowTargets(0)() // every chain tries the window
	for _, query := range queries {
		restore := sqlstore.SetSortWindow(0) // an empty window: the usual statement
		want, _ := walkTypePages(ctx, t, s, "Observation", query+"&_count=100")
		restore()
		if query != "subject:Patient.family=Nobody" && len(want) == 0 {
			t.Fatalf("Observation?%s matches nothing; the test needs matches", query)
		}
		for _, window := range []int{1, 4, 13, 1000} {
			restore := sqlstore.SetSortWindow(window)
			for _, count := range []int{1, 2, 5} {
				forward, back := walkTypePages(ctx, t, s, "Observation", fmt.Sprintf("%s&_count=%d", query, count))
				if !slices.Equal(forward, want) || !slices.Equal(back, want) {
					t.Errorf("Observation?%s, window %d, _count=%d: forward %v, back %v, want %v", query, window, count, forward, back, want)
				}
			}
			restore()
		}
	}
}

// The window's statement reads the type's rows in rid order and tests
// each one's references by their rid index: no step gathers what the
// chain reaches from the reference table's value index.
func TestSearch_ChainWindow_TestsEachRowsReferences(t *testing.T) {
	db := openPlans(t)
	q, err := search.Parse("Observation", url.Values{"subject:Patient.family": {"Hansen"}, "_count": {"10"}}, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	text, args := sqlstore.ChainWindowSQL(sqlite.Dialect, sb, q, 1000)
	rows, err := db.Query("EXPLAIN QUERY PLAN "+text, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	p := strings.Join(lines, "\n")
	if !strings.Contains(p, "idx_reference_rid") || !strings.Contains(p, "resource_type_rid") {
		t.Errorf("the chain window does not test rows by the rid index:\n%s", p)
	}
	if m := fullScan.FindString(p); m != "" {
		t.Errorf("the chain window scans a whole table (%s):\n%s", m, p)
	}
}
