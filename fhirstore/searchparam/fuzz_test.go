package searchparam

import "testing"

func FuzzExtract(f *testing.F) {
	for _, body := range sampleResources(f) {
		f.Add(body)
	}
	f.Add([]byte(`{"resourceType":"Observation","valueQuantity":{"value":1e400},"effectivePeriod":{"start":"9999-12-31T23:59:60Z"}}`))
	f.Add([]byte(`{"resourceType":"Patient","name":[null,{"given":[null,1]}],"birthDate":"2024-"}`))
	f.Add([]byte(`{"resourceType":"RiskAssessment","prediction":[{"probabilityRange":{"low":{"value":"x"}}}]}`))
	types := []string{"Patient", "Observation", "Encounter", "Condition", "RiskAssessment", "Bundle"}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, rt := range types {
			x, err := Extract(rt, body)
			if err == nil && x.ResourceType != rt {
				t.Fatalf("index of type %q for %s", x.ResourceType, rt)
			}
		}
	})
}
