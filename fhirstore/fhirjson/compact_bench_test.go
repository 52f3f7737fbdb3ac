package fhirjson

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// BenchmarkSplitBundle_RepeatedMembers splits a Bundle whose entry repeats
// a member n times, as only a hostile sender writes one: the time per
// member stays flat as n grows.
func BenchmarkSplitBundle_RepeatedMembers(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		body, _ := repeatedMembers(n)
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, _, err := SplitBundle(body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
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
