package sqlstore_test

import (
	"regexp"
	"strings"
	"testing"
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
// by the column named.
//
// Two seeks are still wider than the value: a number or quantity compared
// with gt/ge (the row's high bound, which the key orders after its low
// one) reads every row of the parameter (and unit), and :contains every
// row of the parameter.
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
		{"Observation", "date=2024-01-15", `low`},
		{"Patient", "birthdate=1970", `low`},
		{"Observation", "value-quantity=gt100", `param=?`},
		{"Observation", "value-quantity=5.4|http://unitsofmeasure.org|mmol/L", `code=? AND low>?`},
		{"RiskAssessment", "probability=gt0.5", `param=?`},
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
