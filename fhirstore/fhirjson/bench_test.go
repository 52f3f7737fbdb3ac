package fhirjson

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"hpsandbox/fixtures"
)

// benchResources are realistic resources as clients send them: a
// Patient and an Observation of the synthetic world, and the three
// resources of a VKP alarm (DetectedIssue, Encounter, Composition),
// indented as suppliers send them.
func benchResources(b *testing.B) map[string][]byte {
	b.Helper()
	rs, err := fixtures.Generate(fixtures.Options{Seed: 1, Patients: 1})
	if err != nil {
		b.Fatal(err)
	}
	out := map[string][]byte{}
	for _, r := range rs {
		if (r.Type == "Patient" || r.Type == "Observation") && out[r.Type] == nil {
			out[r.Type] = r.Body
		}
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "connectors", "vkp", "testdata", "alarm.json"))
	if err != nil {
		b.Fatal(err)
	}
	var alarm struct {
		Entry []struct{ Resource json.RawMessage } `json:"entry"`
	}
	if err := json.Unmarshal(raw, &alarm); err != nil {
		b.Fatal(err)
	}
	for _, e := range alarm.Entry {
		var h struct{ ResourceType string }
		_ = json.Unmarshal(e.Resource, &h)
		out[h.ResourceType] = e.Resource
	}
	for _, t := range []string{"Patient", "Observation", "DetectedIssue", "Encounter", "Composition"} {
		if out[t] == nil {
			b.Fatalf("no %s to parse", t)
		}
		if _, err := Parse(out[t]); err != nil {
			b.Fatalf("%s does not validate: %v", t, err)
		}
	}
	return out
}

// BenchmarkParse validates each kind of resource as a create or a
// transaction's entry does (compaction, google/fhir's parse and extended
// validation, reference checks).
//
//	go test -run '^$' -bench Parse -benchtime 2s ./fhirstore/fhirjson
func BenchmarkParse(b *testing.B) {
	rs := benchResources(b)
	for _, t := range []string{"Patient", "Observation", "DetectedIssue", "Encounter", "Composition"} {
		body := rs[t]
		b.Run(t, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
