package profile_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"hpsandbox/connectors/vkp/spec"
	"hpsandbox/fhirstore/profile"
)

// alarmResources are the three resources of the VKP alarm message
// (connectors/vkp/testdata/alarm.json, the message the hub's alarm
// benchmark posts), compacted as the hub hands them to the validator, with
// the profile the hub checks each against.
func alarmResources(tb testing.TB) (raws [][]byte, profiles []string) {
	body, err := os.ReadFile(filepath.Join("..", "..", "connectors", "vkp", "testdata", "alarm.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		tb.Fatal(err)
	}
	byType := map[string]string{
		"DetectedIssue": spec.DetectedIssue,
		"Encounter":     spec.Encounter,
		"Composition":   "http://ehelse.no/fhir/StructureDefinition/vkp-Composition-v090",
	}
	for _, e := range b.Entry {
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Resource); err != nil {
			tb.Fatal(err)
		}
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		_ = json.Unmarshal(buf.Bytes(), &head)
		raws = append(raws, buf.Bytes())
		profiles = append(profiles, byType[head.ResourceType])
	}
	return raws, profiles
}

// BenchmarkValidate_VKPAlarm validates the alarm's DetectedIssue,
// Encounter and Composition against their VKP profiles, as the hub does for
// every alarm it takes.
//
//	go test -run '^$' -bench Validate_VKPAlarm -benchmem ./fhirstore/profile
func BenchmarkValidate_VKPAlarm(b *testing.B) {
	defs, err := spec.Definitions()
	if err != nil {
		b.Fatal(err)
	}
	raws, profiles := alarmResources(b)
	for i, raw := range raws {
		if issues := defs.Validate(raw, profile.Options{Profiles: []string{profiles[i]}}); profile.HasErrors(issues) {
			b.Fatalf("resource %d does not validate: %v", i, issues)
		}
	}
	// As in the hub's benchmark, every alarm has its own ids, so that
	// invariants remembered by value are evaluated afresh.
	const n = 1 << 12
	variants := make([][][]byte, n)
	for v := range variants {
		id := []byte(fmt.Sprintf("%08x-1d2b-4c5e-9f60-%011x", v, v))
		for _, raw := range raws {
			variants[v] = append(variants[v], bytes.ReplaceAll(raw, []byte("3f0c8a8e-1d2b-4c5e-9f60-7a8b9c0d1e0"), id))
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU()
	v := 0
	for b.Loop() {
		for i, raw := range variants[v%n] {
			defs.Validate(raw, profile.Options{Profiles: []string{profiles[i]}})
		}
		v++
	}
	// CPU time says more than wall time on a machine shared with builds.
	if cpu := processCPU() - start; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// processCPU is the process's CPU time, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
