package searchparam

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// An Extractor sizes its rows by its last extraction; what it extracts is
// the same whatever it extracted before: a larger resource, a smaller one,
// or one with no rows of some kind.
func TestExtractor_RowsIndependentOfEarlierExtractions(t *testing.T) {
	files := []string{"observation-vitals.json", "observation-bp.json", "patient.json", "condition.json", "encounter.json"}
	bodies := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile("testdata/resources/" + f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[f] = b
	}
	minimal := []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"}}`)
	tests := []struct {
		name   string
		typ    string
		before [][]byte
		body   []byte
	}{
		{"after a larger one", "Observation", [][]byte{bodies["observation-bp.json"]}, bodies["observation-vitals.json"]},
		{"after a smaller one", "Observation", [][]byte{minimal}, bodies["observation-bp.json"]},
		{"a minimal one after others", "Observation", [][]byte{bodies["observation-bp.json"], bodies["observation-vitals.json"]}, minimal},
		{"again", "Patient", [][]byte{bodies["patient.json"]}, bodies["patient.json"]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := Extract(tt.typ, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			x, err := NewExtractor(tt.typ, func(*Param) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range tt.before {
				if _, err := x.Extract(b); err != nil {
					t.Fatal(err)
				}
			}
			got, err := x.Extract(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}
