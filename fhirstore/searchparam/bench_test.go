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
	// An Extractor, as a store extracts: it sizes rows by the last
	// extraction's.
	x, err := NewExtractor(resourceType, func(*Param) bool { return true })
	if err != nil {
		b.Fatal(err)
	}
	if _, err := x.Extract(body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := x.Extract(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtract_Observation(b *testing.B) {
	benchmarkExtract(b, "Observation", "observation-vitals.json")
}

func BenchmarkExtract_Patient(b *testing.B) { benchmarkExtract(b, "Patient", "patient.json") }
