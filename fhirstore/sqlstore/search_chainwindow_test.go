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
	"hpsandbox/fhirstore/storetest"
	"hpsandbox/internal/testpg"
)

// A chained (or _has) search in rid order answers the same pages whether
// it walks the type's rows in chunks (each row testing its own
// references) or gathers every resource the chain reaches first, paged
// either way, whatever the size of the first chunk and whether the walk
// gives up; deleted resources, other filters and matches sparse enough to
// lie past the first chunks count as in the usual statement.
func TestSearch_ChainWindow_GivesThePagesOfGatheringEveryMatch(t *testing.T) {
	onEachBackend(t, testChainWindow)
}

// onEachBackend runs test on a new empty store of each backend the search
// benchmarks compare.
func onEachBackend(t *testing.T, test func(t *testing.T, s fhirstore.Store)) {
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
			test(t, s)
		})
	}
}

// putter writes a resource's JSON to s in sandbox sb, as an update.
func putter(t *testing.T, s fhirstore.Store) func(body string) {
	return func(body string) {
		t.Helper()
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(context.Background(), sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func testChainWindow(t *testing.T, s fhirstore.Store) {
	ctx := context.Background()
	put := putter(t, s)
	families := []string{"Hansen", "Berg", "Aune"}
	for i := 0; i < 12; i++ {
		put(fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","name":[{"family":%q}],"birthDate":"%d"}`, i, families[i%3], 1970+i%4))
		put(fmt.Sprintf(`{"resourceType":"Group","id":"g%d","type":"person","actual":true,"name":%q}`, i, families[i%3]))
	}
	for i := 0; i < 60; i++ {
		subject := fmt.Sprintf("Patient/p%d", (i*7)%12)
		if i%9 == 4 {
			subject = fmt.Sprintf("Group/g%d", i%12)
		}
		code := []string{"8867-4", "59408-5"}[i%2]
		put(fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":%q}]},"subject":{"reference":%q},"effectiveDateTime":"2024-01-%02d"}`, i, code, subject, 1+i%5))
	}
	// One patient of a rare name whose Observations come last: a walk
	// finds them only past every earlier chunk, or gives up and gathers.
	put(`{"resourceType":"Patient","id":"rare","name":[{"family":"Rønning"}]}`)
	for i := 0; i < 3; i++ {
		put(fmt.Sprintf(`{"resourceType":"Observation","id":"late%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},"subject":{"reference":"Patient/rare"}}`, i))
	}
	for _, id := range []string{"o5", "o17", "late1"} {
		if _, err := s.Delete(ctx, sb, "Observation", id); err != nil {
			t.Fatal(err)
		}
	}
	queries := []struct{ typ, query string }{
		{"Observation", "subject:Patient.family=Hansen"},
		{"Observation", "subject:Patient.family=Berg&code=59408-5"},
		{"Observation", "subject.name=Aune"}, // Patient or Group
		{"Observation", "subject:Patient.family=Nobody"},
		{"Observation", "patient.family=Hansen,Aune"},
		{"Observation", "subject:Patient.family=Rønning"}, // sparse: past the first chunks
		{"Observation", "subject:Patient.birthdate=1971"}, // a date, looked up by rid
		{"Observation", "subject:Group.type=person"},      // a token, gathered
		{"Observation", "subject:Patient.family:exact=Berg"},
		{"Patient", "_has:Observation:subject:code=59408-5"},
		{"Patient", "_has:Observation:subject:code=2339-0"}, // sparse
		{"Patient", "_has:Observation:subject:code=59408-5&family=Berg"},
		{"Group", "_has:Observation:subject:code=8867-4,59408-5"},
		// Other filters beside the chain, tested on each walked row by its
		// own index rows.
		{"Observation", "subject:Patient.family=Berg&code=59408-5&date=ge2024-01-02"},
		{"Observation", "subject:Patient.family=Hansen&date=ge2024-01-03&date=lt2024-01-05&status=final"},
		{"Patient", "_has:Observation:subject:code=59408-5&birthdate=ge1971"},
	}
	defer sqlstore.SetChainWindowTargets(0)() // every chain walks
	for _, tc := range queries {
		restore := sqlstore.SetChainWindowTargets(1 << 30) // no walk: the usual statement
		want, _ := walkTypePages(ctx, t, s, tc.typ, tc.query+"&_count=100")
		restore()
		if tc.query != "subject:Patient.family=Nobody" && len(want) == 0 {
			t.Fatalf("%s?%s matches nothing; the test needs matches", tc.typ, tc.query)
		}
		for _, window := range []int{1, 13, 1000} {
			restore := sqlstore.SetSortWindow(window) // the first chunk
			for _, walk := range []int{2, 16 * window} {
				restore := sqlstore.SetWalkRows(walk) // giving up early, or not
				for _, count := range []int{2, 5} {
					forward, back := walkTypePages(ctx, t, s, tc.typ, fmt.Sprintf("%s&_count=%d", tc.query, count))
					if !slices.Equal(forward, want) || !slices.Equal(back, want) {
						t.Errorf("%s?%s, window %d, walk %d, _count=%d: forward %v, back %v, want %v", tc.typ, tc.query, window, walk, count, forward, back, want)
					}
				}
				restore()
			}
			restore()
		}
	}
	// Confined to one patient's compartment, a walk sees what the usual
	// statement sees.
	confined := search.ConfineTo(ctx, &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}})
	for _, tc := range []struct{ typ, query string }{
		{"Observation", "subject:Patient.family=Berg"},
		{"Patient", "_has:Observation:subject:code=59408-5"},
		{"Observation", "subject.name=Berg"},
	} {
		restore := sqlstore.SetChainWindowTargets(1 << 30)
		want, _ := walkTypePages(confined, t, s, tc.typ, tc.query+"&_count=100")
		restore()
		if len(want) == 0 {
			t.Fatalf("%s?%s matches nothing confined; the test needs matches", tc.typ, tc.query)
		}
		for _, window := range []int{1, 1000} {
			restore := sqlstore.SetSortWindow(window)
			forward, back := walkTypePages(confined, t, s, tc.typ, tc.query+"&_count=2")
			if !slices.Equal(forward, want) || !slices.Equal(back, want) {
				t.Errorf("confined %s?%s, window %d: forward %v, back %v, want %v", tc.typ, tc.query, window, forward, back, want)
			}
			restore()
		}
	}
}

// Beside a walked chain, the other filters are tested on each walked row
// by its own index rows (rowPlan): a chunk gathers none of them whole, as
// it did every chunk, however many resources they match.
func TestSearch_ChainWindow_TestsOtherFiltersByEachRowsIndexRows(t *testing.T) {
	db := openPlans(t)
	q := storetest.ParseQuery(t, "Observation", "subject:Patient.family=Hansen&code=8867-4&date=ge2021-01-01&status=final&_count=10")
	text, args := sqlstore.ChainWindowSQL(sqlite.Dialect, sb, q, 1000)
	p := explain(t, db, text, args)
	for _, seek := range []string{"idx_reference_rid", "idx_token_rid (rid=? AND param=?", "idx_date_rid (rid=? AND param=?"} {
		if !strings.Contains(p, seek) {
			t.Errorf("the walk does not seek by %s:\n%s", seek, p)
		}
	}
	if m := fullScan.FindString(p); m != "" {
		t.Errorf("the walk scans a whole table (%s):\n%s", m, p)
	}
	if strings.Contains(p, "BLOOM FILTER") {
		t.Errorf("the walk gathers a filter whole:\n%s", p)
	}
}

// A walk's statement reads the type's rows in rid order and tests each
// one's references by an index: a chain its own references by the
// reference table's rid index, a _has the references to it by their
// target. No step scans a table, and a chain's walk reads indexes only:
// not even the resource rows of the targets it reaches, which may be
// thousands.
func TestSearch_ChainWindow_TestsEachRowsReferences(t *testing.T) {
	db := openPlans(t)
	for _, tc := range []struct {
		typ, param, value string
		seeks             []string
	}{
		{"Observation", "subject:Patient.family", "Hansen", []string{"idx_reference_rid", "resource_type_rid", "COVERING INDEX resource_key (sandbox=? AND type=? AND id=?)", "COVERING INDEX idx_string_rid (rid=? AND param=?"}},
		{"Observation", "subject:Patient.birthdate", "1970", []string{"idx_reference_rid", "resource_type_rid", "COVERING INDEX resource_key (sandbox=? AND type=? AND id=?)", "COVERING INDEX idx_date_rid (rid=? AND param=?"}},
		// A token: the target's rid, by the covering resource key, looked up
		// in the rids of the token's rows, gathered once.
		{"Observation", "subject:Patient.gender", "female", []string{"idx_reference_rid", "resource_type_rid", "COVERING INDEX resource_key (sandbox=? AND type=? AND id=?)", "code=?"}},
		{"Patient", "_has:Observation:subject:code", "8867-4", []string{"EXISTS USING PRIMARY KEY (sandbox=? AND type=? AND param=? AND target_id=? AND target_type=?)", "resource_type_rid", "code=?"}},
	} {
		q, err := search.Parse(tc.typ, url.Values{tc.param: {tc.value}, "_count": {"10"}}, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		text, args := sqlstore.ChainWindowSQL(sqlite.Dialect, sb, q, 1000)
		rows, err := db.Query("EXPLAIN QUERY PLAN "+text, args...)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		rows.Close()
		p := strings.Join(lines, "\n")
		for _, seek := range tc.seeks {
			if !strings.Contains(p, seek) {
				t.Errorf("%s?%s=%s: the walk does not seek by %s:\n%s", tc.typ, tc.param, tc.value, seek, p)
			}
		}
		if m := fullScan.FindString(p); m != "" {
			t.Errorf("%s?%s=%s: the walk scans a whole table (%s):\n%s", tc.typ, tc.param, tc.value, m, p)
		}
		if tc.typ == "Observation" && strings.Contains(p, "INTEGER PRIMARY KEY") {
			t.Errorf("%s?%s=%s: the walk reads resource rows, not only indexes:\n%s", tc.typ, tc.param, tc.value, p)
		}
	}
}
