package fhirjson

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// alarmBundle is a VKP alarm as a supplier sends it, indented.
func alarmBundle(b *testing.B) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "connectors", "vkp", "testdata", "alarm.json"))
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkCompact compacts the alarm as sent (indented) and as the
// engine receives it (compact), with Compact and, for reference, with
// encoding/json.Compact.
//
//	go test -run '^$' -bench Compact -benchmem ./fhirstore/fhirjson
func BenchmarkCompact(b *testing.B) {
	indented := alarmBundle(b)
	compact, _ := Compact(indented)
	for _, in := range []struct {
		name string
		body []byte
	}{{"indented", indented}, {"compact", compact}} {
		b.Run(in.name+"/fhirjson", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.body)))
			for b.Loop() {
				if _, ok := Compact(in.body); !ok {
					b.Fatal("refused")
				}
			}
		})
		b.Run(in.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.body)))
			for b.Loop() {
				var buf bytes.Buffer
				if err := json.Compact(&buf, in.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSplitBundle splits the alarm as the hub receives it (indented)
// and as the engine receives the hub's transaction (compact).
func BenchmarkSplitBundle(b *testing.B) {
	indented := alarmBundle(b)
	compact, _ := Compact(indented)
	for _, in := range []struct {
		name string
		body []byte
	}{{"indented", indented}, {"compact", compact}} {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.body)))
			for b.Loop() {
				if _, _, err := SplitBundle(in.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVouchedHead reads the head of each resource of the alarm.
func BenchmarkVouchedHead(b *testing.B) {
	_, resources, err := SplitBundle(alarmBundle(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range resources {
			if _, _, _, ok := VouchedHead(r); !ok {
				b.Fatal("declined")
			}
		}
	}
}
