package interaction_test

import (
	"os"
	"path/filepath"
	"testing"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
)

// alarm is a VKP alarm: a transaction of three resources, compacted, as
// the hub hands it to the engine.
func alarm(b *testing.B) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "connectors", "vkp", "testdata", "alarm.json"))
	if err != nil {
		b.Fatal(err)
	}
	c, ok := fhirjson.Compact(raw)
	if !ok {
		b.Fatal("alarm.json is not JSON")
	}
	return c
}

// BenchmarkVouchedResource reads the alarm's three resources as a
// validated transaction's entries are read.
//
//	go test -run '^$' -bench Vouched -benchmem ./fhirstore/interaction
func BenchmarkVouchedResource(b *testing.B) {
	_, resources, err := fhirjson.SplitBundle(alarm(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range resources {
			if _, err := interaction.VouchedResource(r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkBundle_Validated runs the alarm as the hub's validated
// transaction into a SQLite store.
func BenchmarkBundle_Validated(b *testing.B) {
	body := alarm(b)
	f := newFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.eng.Bundle(f.ctx, &interaction.BundleRequest{Sandbox: sb, Body: body, Validated: true}); err != nil {
			b.Fatal(err)
		}
	}
}
