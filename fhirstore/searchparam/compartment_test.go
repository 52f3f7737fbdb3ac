package searchparam

import (
	"slices"
	"testing"
)

func TestCompartmentPatients_ByCompartmentParamsOnly(t *testing.T) {
	tests := []struct {
		name, typ, id, body string
		want                []string
	}{
		{"patient itself", "Patient", "p1", `{"resourceType":"Patient","id":"p1","link":[{"other":{"reference":"Patient/p2"},"type":"seealso"}]}`, []string{"p1", "p2"}},
		{"observation subject and performer", "Observation", "o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},` +
			`"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Patient/p2"}],"focus":[{"reference":"Patient/p3"}]}`, []string{"p1", "p2"}},
		{"absolute reference of this server", "Observation", "o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},` +
			`"subject":{"reference":"http://sandbox.test/fhir/Patient/p1"}}`, []string{"p1"}},
		{"absolute reference elsewhere", "Observation", "o3", `{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"x"},` +
			`"subject":{"reference":"http://other.example/fhir/Patient/p1"}}`, nil},
		{"type outside the compartment", "Organization", "org", `{"resourceType":"Organization","id":"org","name":"x"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, err := Extract(tt.typ, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got := CompartmentPatients(tt.typ, tt.id, idx, "http://sandbox.test/fhir")
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
