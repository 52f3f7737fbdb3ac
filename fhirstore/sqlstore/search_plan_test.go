package sqlstore_test

import (
	"database/sql"
	"regexp"
	"strings"
	"testing"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
)

// fullScan finds a step that reads a whole table (SCAN t) rather than
// seeking an index (SEARCH t USING INDEX …). SQLite reports a scan of a
// covering index as SCAN … USING COVERING INDEX, which reads every row of
// that index too.
var fullScan = regexp.MustCompile(`(?m)^SCAN (resource|idx_\w+)\b`)

// Every kind of search parameter, chains, _has and the includes seek an
// index, so that a search's cost follows what it matches and not how many
// resources the sandbox holds: a plan with a full scan of the resources or
// of an index table fails the test, and so does one that no longer seeks
// by the columns named. Ranges (dates, numbers, quantities) seek both ends
// of the value's range.
//
// Still wider than the value: :contains reads every row of the parameter,
// and a quantity compared without a unit every row of the parameter (the
// key orders rows by unit before value).
func TestSearch_EveryParameterKindSeeksAnIndex(t *testing.T) {
	db := openPlans(t)
	for _, tc := range []struct{ typ, query, seeks string }{
		{"Patient", "family=Hansen", `norm>? AND norm<?`},
		{"Patient", "family:exact=Hansen", `norm=?`},
		{"Patient", "name:contains=ans", `param=?`},
		{"Observation", "code=http://loinc.org|8867-4", `code=?`},
		{"Observation", "code=8867-4", `code=?`},
		{"Observation", "code:not=8867-4&subject=Patient/p1", `target_id=?`},
		{"Patient", "identifier=urn:oid:2.16.578.1.12.4.1.4.1|01017012345", `code=?`},
		{"Observation", "subject=Patient/p1", `target_id=?`},
		{"Observation", "patient=p1", `target_id=?`},
		{"Observation", "date=ge2024-01-01&date=lt2024-02-01", `low>? AND low<?`},
		{"Observation", "date=2024-01-15", `low>? AND low<?`},
		{"Observation", "date=eb2024-01-15", `low<?`},
		{"Patient", "birthdate=1970", `low>? AND low<?`},
		{"Observation", "value-quantity=gt100", `param=?`},
		{"Observation", "value-quantity=5.4|http://unitsofmeasure.org|mmol/L", `code=? AND low>? AND low<?`},
		{"Observation", "value-quantity=gt5.4|http://unitsofmeasure.org|mmol/L", `code=? AND low>?`},
		{"Observation", "value-quantity=gt5.4|http://unitsofmeasure.org|mmol/L", `idx_quantity_range (sandbox=? AND type=? AND param=? AND code=? AND high>?)`},
		{"Observation", "value-quantity=le5.4|http://unitsofmeasure.org|mmol/L", `code=? AND low<?`},
		{"RiskAssessment", "probability=gt0.5", `param=? AND low>?`},
		{"RiskAssessment", "probability=gt0.5", `idx_number_range (sandbox=? AND type=? AND param=? AND high>?)`},
		{"RiskAssessment", "probability=ge0.5", `idx_number_range (sandbox=? AND type=? AND param=? AND high>?)`},
		{"RiskAssessment", "probability=ap0.5", `param=? AND low>? AND low<?`},
		{"RiskAssessment", "probability=0.5", `param=? AND low>? AND low<?`},
		{"RiskAssessment", "probability=lt0.5", `param=? AND low<?`},
		{"Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", `code=?`},
		{"Observation", "_profile=http://hl7.org/fhir/StructureDefinition/vitalsigns", `value=?`},
		{"Observation", "_id=o1", ``},
		{"Observation", "_lastUpdated=ge2024-01-01", ``},
		{"Observation", "subject:Patient.family=Hansen", `norm>? AND norm<?`},
		{"Observation", "subject:Patient.organization.name=Klinikk", `norm>? AND norm<?`},
		{"Patient", "_has:Observation:patient:code=8867-4", `code=?`},
		{"Observation", "code=8867-4&_include=Observation:subject", `code=?`},
		{"Patient", "family=Hansen&_revinclude=Observation:subject", `norm>? AND norm<?`},
	} {
		lines := plan(t, db, tc.typ, tc.query)
		p := strings.Join(lines, "\n")
		if m := fullScan.FindString(p); m != "" {
			t.Errorf("%s?%s scans a whole table (%s):\n%s", tc.typ, tc.query, m, p)
		}
		if !strings.Contains(p, tc.seeks) {
			t.Errorf("%s?%s does not seek its index by %q:\n%s", tc.typ, tc.query, tc.seeks, p)
		}
	}
}

// explain returns SQLite's query plan of a statement, one line per step.
func explain(t *testing.T, db *sql.DB, text string, args []any) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+text, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
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
	return strings.Join(lines, "\n")
}

// A count reads indexes only: a whole type its rows and its deleted rows
// from two indexes, filters the rids of their index rows; no resource row
// of the matches is read (a seek by INTEGER PRIMARY KEY), however many
// match. A chain reads its targets' rows (readsMatchRows), whose ids the
// reference rows name, by rid.
func TestSearch_CountsReadIndexesOnly(t *testing.T) {
	db := openPlans(t)
	for _, tc := range []struct{ typ, query, seeks string }{
		{"Observation", "", "COVERING INDEX resource_type_rid (sandbox=? AND type=?)"},
		{"Observation", "", "resource_deleted (sandbox=? AND type=?)"},
		{"Observation", "code=8867-4", "code=?"},
		{"Observation", "code=8867-4&subject:Patient.family=Hansen", "norm>? AND norm<?"},
		{"Observation", "date=ge2024-01-01&date=lt2024-02-01&status=final", "low>? AND low<?"},
		{"Observation", "value-quantity=gt100", "param=?"},
		{"Patient", "family=Hansen&birthdate=1970", "norm>? AND norm<?"},
		{"Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", "code=?"},
	} {
		text, args := sqlstore.CountSQL(sqlite.Dialect, sb, storetest.ParseQuery(t, tc.typ, tc.query))
		p := explain(t, db, text, args)
		if m := fullScan.FindString(p); m != "" {
			t.Errorf("count of %s?%s scans a whole table (%s):\n%s", tc.typ, tc.query, m, p)
		}
		if readsMatchRows(p) {
			t.Errorf("count of %s?%s reads resource rows:\n%s", tc.typ, tc.query, p)
		}
		if !strings.Contains(p, tc.seeks) {
			t.Errorf("count of %s?%s does not seek by %q:\n%s", tc.typ, tc.query, tc.seeks, p)
		}
	}
}

// rowSeek is a step of a plan that reads resource rows by rid.
var rowSeek = regexp.MustCompile(`(?m)^SEARCH (\w+) USING INTEGER PRIMARY KEY`)

// readsMatchRows reports a plan that reads resource rows by rid other than
// a chain's targets (aliases t1, t2 …: see chainTargets), whose ids the
// reference rows name and which the chain reads once.
func readsMatchRows(plan string) bool {
	for _, m := range rowSeek.FindAllStringSubmatch(plan, -1) {
		if !regexp.MustCompile(`^t\d+$`).MatchString(m[1]) {
			return true
		}
	}
	return false
}
