package sandbox

import (
	"net/url"
	"testing"

	"hpsandbox/fhirstore/searchparam"
)

func TestClassify_DecidesTheInteractionTheAPIRoutes(t *testing.T) {
	tests := []struct {
		method, path string
		want         interaction
	}{
		{"POST", "", interaction{kind: kindBundle}},
		{"GET", "", interaction{kind: kindSearchSystem}},
		{"POST", "_search", interaction{kind: kindSearchSystem}},
		{"GET", "_history", interaction{kind: kindHistorySystem}},
		{"GET", "Observation", interaction{kind: kindSearch, typ: "Observation"}},
		{"HEAD", "Observation", interaction{kind: kindSearch, typ: "Observation"}},
		{"POST", "Observation/_search", interaction{kind: kindSearch, typ: "Observation"}},
		{"GET", "Patient/p1/Observation", interaction{kind: kindSearch, typ: "Observation", compartment: "p1"}},
		{"POST", "Observation", interaction{kind: kindCreate, typ: "Observation"}},
		{"PUT", "Observation", interaction{kind: kindUpdate, typ: "Observation"}},
		{"DELETE", "Observation", interaction{kind: kindDelete, typ: "Observation"}},
		{"GET", "Observation/o1", interaction{kind: kindRead, typ: "Observation", id: "o1"}},
		{"PUT", "Observation/o1", interaction{kind: kindUpdate, typ: "Observation", id: "o1"}},
		{"PATCH", "Observation/o1", interaction{kind: kindPatch, typ: "Observation", id: "o1"}},
		{"DELETE", "Observation/o1", interaction{kind: kindDelete, typ: "Observation", id: "o1"}},
		{"GET", "Observation/_history", interaction{kind: kindHistoryType, typ: "Observation"}},
		{"GET", "Observation/o1/_history", interaction{kind: kindHistoryInst, typ: "Observation", id: "o1"}},
		{"GET", "Observation/o1/_history/2", interaction{kind: kindVRead, typ: "Observation", id: "o1", version: "2"}},
		{"GET", "$export", interaction{kind: kindOperation, op: "$export"}},
		{"GET", "Patient/$export", interaction{kind: kindOperation, op: "$export", typ: "Patient"}},
		{"GET", "Group/g1/$export", interaction{kind: kindOperation, op: "$export", typ: "Group", id: "g1"}},
		{"GET", "$export-status/j1", interaction{kind: kindOperation, op: "$export-status"}},
		{"POST", "Observation/$validate", interaction{kind: kindOperation, op: "$validate", typ: "Observation"}},
		{"GET", "Observation/_search", interaction{kind: kindUnknown}},
		{"GET", "Observation/o1/x/y/z", interaction{kind: kindUnknown}},
		{"POST", "Observation/o1", interaction{kind: kindUnknown}},
		{"GET", "Encounter/e1/Observation", interaction{kind: kindUnknown}},
	}
	for _, tt := range tests {
		if got := classify(tt.method, splitPath(tt.path)); got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestConstraint_TokenParametersMatchLikeSearch(t *testing.T) {
	idx, err := searchparam.Extract("Observation", []byte(obs("o", "p", "vital-signs", "8867-4", 1)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  bool
	}{
		{"category=vital-signs", true},
		{"category=" + url.QueryEscape(vitalSigns), true},
		{"category=http://terminology.hl7.org/CodeSystem/observation-category|", true},
		{"category=laboratory", false},
		{"category=laboratory,vital-signs", true},
		{"category=|vital-signs", false}, // the coding has a system
		{"category=http://other|vital-signs", false},
		{"category=vital-signs&code=8867-4", true},
		{"category=vital-signs&code=4548-4", false},
		{"category=vital-signs&category=laboratory", false}, // both must match
		{"date=2024", false},                                // not a token parameter: not evaluated, so no match
		{"category:not=laboratory", false},                  // modifiers are not evaluated
		{"nonsense=1", false},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := matchesAll("Observation", idx, q); got != tt.want {
			t.Errorf("?%s: %v, want %v", tt.query, got, tt.want)
		}
	}
}
