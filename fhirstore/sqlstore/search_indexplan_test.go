package sqlstore

import (
	"net/url"
	"testing"

	"hpsandbox/fhirstore/search"
)

// Only filters whose rows a rid index finds can be tested one row at a
// time (a walk's chunk, a plan's per-row filters); a search with another
// (a number, a quantity, a composite, :not) never walks for its broad
// filters, which would gather that one for every chunk.
func TestPerRowFilters_OnlyThoseARidIndexFinds(t *testing.T) {
	for _, tc := range []struct {
		typ, query string
		want       bool
	}{
		{"Observation", "code=8867-4&date=ge2021-01-01", true},
		{"Observation", "status=final&subject:Patient.family=Hansen", true},
		{"Observation", "subject=Patient/p1&code:missing=false", true},
		{"Patient", "family=Hansen&birthdate=ge1970&_has:Observation:subject:code=8867-4", true},
		{"Observation", "_profile=http://hl7.org/fhir/StructureDefinition/vitalsigns&status=final", true},
		{"Observation", "code=8867-4&value-quantity=gt100", false},
		{"RiskAssessment", "probability=gt0.5&status=final", false},
		{"Observation", "code=8867-4&component-code-value-quantity=http://loinc.org|8480-6$gt100", false},
		{"Observation", "code:not=8867-4&status=final", false},
	} {
		v, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		q, err := search.Parse(tc.typ, v, search.Options{})
		if err != nil {
			t.Fatalf("%s?%s: %v", tc.typ, tc.query, err)
		}
		if got := perRowFilters(q); got != tc.want {
			t.Errorf("%s?%s: perRowFilters %v, want %v", tc.typ, tc.query, got, tc.want)
		}
	}
}
