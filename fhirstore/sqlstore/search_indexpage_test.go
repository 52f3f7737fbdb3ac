package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
)

// A search in rid order whose filters are all index rows (values, chains,
// date ranges, :missing=false) pages over those rows alone: it answers the
// pages, forward and back, and the totals of the usual statement, which
// tests every candidate's resource row. Deleted and updated resources, a
// resource with two index rows matching (two names), and several filters
// together count as there.
func TestSearch_PageByIndex_GivesThePagesOfTheUsualStatement(t *testing.T) {
	onEachBackend(t, testPageByIndex)
}

func testPageByIndex(t *testing.T, s fhirstore.Store) {
	ctx := context.Background()
	put := putter(t, s)
	families := []string{"Hansen", "Berg", "Aune"}
	for i := 0; i < 12; i++ {
		// Hansen Hansen-Berg: two name rows of one resource match "Hansen".
		put(fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","name":[{"family":%q},{"family":"Hansen-Berg"}],"gender":%q,"birthDate":"%d"}`,
			i, families[i%3], []string{"female", "male"}[i%2], 1970+i%4))
	}
	for i := 0; i < 60; i++ {
		code := []string{"8867-4", "59408-5"}[i%2]
		put(fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":%q}]},`+
			`"subject":{"reference":"Patient/p%d"},"effectiveDateTime":"2024-01-%02dT10:00:00Z",`+
			`"valueQuantity":{"value":%d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`, i, code, (i*7)%12, 1+i%5, 50+i))
	}
	for _, id := range []string{"o5", "o17", "o30"} {
		if _, err := s.Delete(ctx, sb, "Observation", id); err != nil {
			t.Fatal(err)
		}
	}
	// Updated: its rows are the new version's.
	put(`{"resourceType":"Observation","id":"o8","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},"subject":{"reference":"Patient/p3"},"effectiveDateTime":"2023-06-01"}`)
	if _, err := s.Delete(ctx, sb, "Patient", "p4"); err != nil {
		t.Fatal(err)
	}
	queries := []struct{ typ, query string }{
		{"Observation", "subject:Patient.family=Hansen"},
		{"Observation", "subject:Patient.gender=male"},
		{"Observation", "subject:Patient.birthdate=1971&code=59408-5"},
		{"Observation", "date=ge2024-01-02&date=lt2024-01-04"},
		{"Observation", "date=ge2024-01-02&date=lt2024-01-04&subject:Patient.family=Berg"},
		{"Observation", "code=8867-4,2339-0"},
		{"Observation", "code=8867-4&date=le2024-01-03"},
		{"Observation", "date:missing=false&status=final"},
		{"Patient", "name=Hansen"},
		{"Patient", "family=Berg&birthdate=ge1971"},
		{"Observation", "subject:Patient.family=Nobody"},
		// Several filters, which planIndexed orders by their rows.
		{"Observation", "subject:Patient.family=Aune&code=8867-4&date=ge2024-01-02"},
		{"Observation", "subject:Patient.gender=male&code=59408-5"},
		{"Observation", "date=2024-01-01&code=8867-4&subject:Patient.gender=female"},
		{"Observation", "date=2024-01-01&status=final"},
		{"Observation", "code=8867-4&value-quantity=gt80"},
		{"Observation", "value-quantity=gt70&date=ge2024-01-02&status=final"},
		{"Observation", "code=8867-4&date=ge2024-01-01&date=lt2024-01-05&status=final"},
		{"Observation", "date:missing=false&code=59408-5&subject:Patient.birthdate=1973"},
		{"Patient", "family=Hansen&gender=male&birthdate=ge1971"},
		{"Patient", "name=Aune&gender=female"},
	}
	// The default caps plan nothing here (every filter has fewer rows
	// than the first); small ones make filters drive by their counts, the
	// larger ones be tested on each driving rid by their own rows, and
	// searches whose filters all pass the caps walk.
	for _, tc := range queries {
		restore := sqlstore.SetPageByIndex(false)
		want, _ := walkTypePages(ctx, t, s, tc.typ, tc.query+"&_count=100")
		wantTotal := searchTotal(ctx, t, s, tc.typ, tc.query+"&_count=2&_total=accurate")
		restore()
		if tc.query != "subject:Patient.family=Nobody" && len(want) == 0 {
			t.Fatalf("%s?%s matches nothing; the test needs matches", tc.typ, tc.query)
		}
		for _, caps := range [][]int{nil, {3, 10, 30}, {1, 8}} {
			counts := []int{1, 2, 5, 100}
			restore := func() {}
			if caps != nil {
				counts = []int{2, 100}
				restore = sqlstore.SetPlanCaps(caps...)
			}
			for _, count := range counts {
				forward, back := walkTypePages(ctx, t, s, tc.typ, fmt.Sprintf("%s&_count=%d", tc.query, count))
				if !slices.Equal(forward, want) || !slices.Equal(back, want) {
					t.Errorf("caps %v, %s?%s, _count=%d: forward %v, back %v, want %v", caps, tc.typ, tc.query, count, forward, back, want)
				}
			}
			if got := searchTotal(ctx, t, s, tc.typ, tc.query+"&_count=2&_total=accurate"); got != wantTotal || got != len(want) {
				t.Errorf("caps %v, %s?%s: _total=accurate %d, the usual statement's %d, matches %d", caps, tc.typ, tc.query, got, wantTotal, len(want))
			}
			restore()
		}
	}
}

// searchTotal is the total of the first page of typ?query.
func searchTotal(ctx context.Context, t *testing.T, s fhirstore.Store, typ, query string) int {
	t.Helper()
	p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: storetest.ParseQuery(t, typ, query)})
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, query, err)
	}
	return p.Total
}

// A page of index rows reads no resource row to tell a match: chains,
// date ranges (bounded at both ends of the key), strings and tokens seek
// their index, no step scans a table, and the only resource rows read are
// the page's, by rid, after the statement (see materialized), and a
// chain's targets', by rid: the type's rid index appears nowhere in the
// plan.
func TestSearch_PageByIndex_ReadsIndexRowsOnly(t *testing.T) {
	db := openPlans(t)
	for _, tc := range []struct{ typ, query, seeks string }{
		{"Observation", "subject:Patient.family=Hansen", "target_id=? AND target_type=?"},
		{"Observation", "subject:Patient.family=Hansen", "norm>? AND norm<?"},
		{"Observation", "subject:Patient.gender=male", "code=?"},
		{"Observation", "subject:Patient.organization.name=Klinikk", "norm>? AND norm<?"},
		{"Observation", "date=ge2024-01-01&date=lt2024-02-01", "span=? AND low>? AND low<?"},
		{"Observation", "date=2024-01-15", "span=? AND low>? AND low<?"},
		{"Observation", "date=ge2024-01-01&date=lt2024-02-01&subject:Patient.family=Hansen", "span=? AND low>? AND low<?"},
		{"Patient", "family=Hansen", "norm>? AND norm<?"},
		{"Patient", "birthdate=1970", "low>? AND low<?"},
		{"Observation", "code=8867-4", "code=?"},
		{"Observation", "value-quantity=5.4|http://unitsofmeasure.org|mmol/L", "code=? AND low>? AND low<?"},
	} {
		p := strings.Join(plan(t, db, tc.typ, tc.query), "\n")
		if m := fullScan.FindString(p); m != "" {
			t.Errorf("%s?%s scans a whole table (%s):\n%s", tc.typ, tc.query, m, p)
		}
		if !strings.Contains(p, tc.seeks) {
			t.Errorf("%s?%s does not seek by %q:\n%s", tc.typ, tc.query, tc.seeks, p)
		}
		if strings.Contains(p, "SEARCH r ") || strings.Contains(p, "resource_type_rid") || readsMatchRows(p) {
			t.Errorf("%s?%s reads resource rows to tell its matches:\n%s", tc.typ, tc.query, p)
		}
	}
}

// Under a plan (planIndexed), the filters tested on each driving rid read
// that rid's own index rows, through the index tables' rid indexes, and a
// chain the row's own references: nothing is gathered whole, and no step
// scans a table. What drives still seeks its own index.
func TestSearch_PlannedPage_TestsEachDrivingRowByItsRidIndexes(t *testing.T) {
	db := openPlans(t)
	const chained = "subject:Patient.family=Hansen&code=8867-4&date=ge2021-01-01"
	for _, tc := range []struct {
		typ, query, driver string
		perRow             []string
		seeks              []string
	}{
		{"Observation", chained, "subject", []string{"code", "date"},
			[]string{"target_id=? AND target_type=?", "idx_token_rid (rid=? AND param=?", "idx_date_rid (rid=? AND param=?"}},
		{"Observation", chained, "code", []string{"subject", "date"},
			[]string{"code=?", "idx_reference_rid (rid=? AND param=?", "idx_date_rid (rid=? AND param=?"}},
		{"Observation", chained, "date", []string{"subject", "code"},
			[]string{"span=? AND low>?", "idx_reference_rid (rid=? AND param=?", "idx_token_rid (rid=? AND param=?"}},
		{"Observation", "code=8867-4&value-quantity=gt100", "code", []string{"value-quantity"},
			[]string{"code=?", "idx_quantity_rid (rid=? AND param=?"}},
		{"Patient", "family=Hansen&gender=male&birthdate=ge1971", "gender", []string{"family", "birthdate"},
			[]string{"code=?", "idx_string_rid (rid=? AND param=?", "idx_date_rid (rid=? AND param=?"}},
	} {
		text, args := sqlstore.PlannedPageSQL(sqlite.Dialect, sb, storetest.ParseQuery(t, tc.typ, tc.query), tc.driver, tc.perRow...)
		p := explain(t, db, text, args)
		if m := fullScan.FindString(p); m != "" {
			t.Errorf("%s?%s driven by %s scans a whole table (%s):\n%s", tc.typ, tc.query, tc.driver, m, p)
		}
		for _, seek := range tc.seeks {
			if !strings.Contains(p, seek) {
				t.Errorf("%s?%s driven by %s does not seek %q:\n%s", tc.typ, tc.query, tc.driver, seek, p)
			}
		}
		if strings.Contains(p, "BLOOM FILTER") {
			t.Errorf("%s?%s driven by %s gathers a filter whole:\n%s", tc.typ, tc.query, tc.driver, p)
		}
	}
}
