package sqlstore

import (
	"testing"

	"hpsandbox/fhirstore/storetest"
)

// Only filters whose rows a rid index finds can be tested one row at a
// time (a walk's chunk, a plan's per-row filters); a search with another
// (a composite, :not) never walks for its broad filters, which would
// gather that one for every chunk.
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
		{"Observation", "code=8867-4&value-quantity=gt100", true},
		{"RiskAssessment", "probability=gt0.5&status=final", true},
		{"Observation", "code=8867-4&component-code-value-quantity=http://loinc.org|8480-6$gt100", false},
		{"Observation", "code:not=8867-4&status=final", false},
	} {
		if got := perRowFilters(storetest.ParseQuery(t, tc.typ, tc.query)); got != tc.want {
			t.Errorf("%s?%s: perRowFilters %v, want %v", tc.typ, tc.query, got, tc.want)
		}
	}
}

// A filter found only by reading every row of its parameter is never
// counted to plan a search (counting would read them all), nor made to
// drive when another filter can.
func TestSweeping_QuantitiesWithoutUnitAndContains(t *testing.T) {
	for _, tc := range []struct {
		typ, query string
		want       bool
	}{
		{"Observation", "value-quantity=gt100", true},
		{"Observation", "value-quantity=gt100|http://unitsofmeasure.org|/min,gt5", true},
		{"Observation", "value-quantity=gt100|http://unitsofmeasure.org|/min", false},
		{"Patient", "name:contains=ans", true},
		{"Patient", "name=Hans", false},
		{"Observation", "code=8867-4", false},
		{"RiskAssessment", "probability=gt0.5", false},
	} {
		if got := sweeping(storetest.ParseQuery(t, tc.typ, tc.query).Filters[0]); got != tc.want {
			t.Errorf("%s?%s: sweeping %v, want %v", tc.typ, tc.query, got, tc.want)
		}
	}
}
