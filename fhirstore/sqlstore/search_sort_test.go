package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
)

// plan returns SQLite's query plan of the first page of typ?query, one
// line per step.
func plan(t *testing.T, db *sql.DB, typ, query string) []string {
	t.Helper()
	text, args := sqlstore.PageSQL(sqlite.Dialect, sb, storetest.ParseQuery(t, typ, query))
	rows, err := db.Query("EXPLAIN QUERY PLAN "+text, args...)
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return out
}

func openPlans(t *testing.T) *sql.DB {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A sort by a parameter of any kind, with nothing else to narrow the
// search, reads the sort index in order and stops after the page: no sort
// of every resource, and no lookup that scans a parameter's rows.
func TestSearch_SortWithoutFilters_ReadsTheSortIndexInOrder(t *testing.T) {
	db := openPlans(t)
	for _, tc := range []struct{ typ, query string }{
		{"Observation", "_sort=code"}, {"Observation", "_sort=-code"},
		{"Observation", "_sort=value-quantity"}, {"Observation", "_sort=-value-quantity"},
		{"RiskAssessment", "_sort=probability"}, {"Observation", "_sort=_profile"},
		{"Observation", "_sort=-_profile"}, {"Observation", "_sort=value-string"}, {"Observation", "_sort=-date"},
		{"Observation", "_sort=subject"}, {"Observation", "_sort=-subject"},
	} {
		p := strings.Join(plan(t, db, tc.typ, tc.query), "\n")
		index := "INDEX idx_sort_"
		switch {
		case strings.Contains(tc.query, "subject"):
			index = "INDEX idx_reference_sort"
		case strings.Contains(tc.query, "_profile"), strings.Contains(tc.query, "code"):
			index = "PRIMARY KEY" // idx_uri's, idx_token's
		}
		if strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, index) {
			t.Errorf("%s?%s is not read in the sort index's order:\n%s", tc.typ, tc.query, p)
		}
	}
}

// A sorted search with filters orders its matches by keys each looked up by
// the resource's rid: O(m log m) for m matches, never a scan of every value
// of the parameter per match.
func TestSearch_SortKeys_AreLookupsByRID(t *testing.T) {
	db := openPlans(t)
	for _, tc := range []struct{ typ, query string }{
		{"Observation", "status=final&_sort=code"}, {"Observation", "status=final&_sort=-value-quantity"},
		{"RiskAssessment", "status=final&_sort=probability"}, {"Observation", "status=final&_sort=_profile"},
		{"Observation", "status=final&_sort=date,-value-quantity,code"}, {"Observation", "status=final&_sort=patient"},
		{"Observation", "status=final&_sort=combo-code"}, {"Observation", "_sort=date,-value-quantity,_profile"},
	} {
		lines := plan(t, db, tc.typ, tc.query)
		for i, l := range lines {
			if strings.Contains(l, "CORRELATED SCALAR SUBQUERY") && (i+1 >= len(lines) || !strings.Contains(lines[i+1], "rid=?")) {
				t.Errorf("%s?%s: a sort key is not looked up by rid:\n%s", tc.typ, tc.query, strings.Join(lines, "\n"))
			}
		}
	}
}
