package searchparam

import (
	"os"
	"testing"
)

func benchmarkExtract(b *testing.B, resourceType, file string) {
	body, err := os.ReadFile("testdata/resources/" + file)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Extract(resourceType, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Extract(resourceType, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtract_Observation(b *testing.B) {
	benchmarkExtract(b, "Observation", "observation-vitals.json")
}

func BenchmarkExtract_Patient(b *testing.B) { benchmarkExtract(b, "Patient", "patient.json") }
