package vkp_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hpsandbox/connectors/vkp"
	"hpsandbox/connectors/vkp/spec"
	"hpsandbox/fhirstore/profile"
)

var benchClients = flag.Int("bench.clients", 64, "concurrent clients of BenchmarkAlarmSubmission")

// BenchmarkAlarmSubmission: alarm Bundles (DetectedIssue + Encounter +
// Composition) submitted over HTTP by parallel clients, each with its own
// identifiers, judged and stored; reports alarms/s.
//
//	go test -run '^$' -bench AlarmSubmission -benchtime 2s ./connectors/vkp
func BenchmarkAlarmSubmission(b *testing.B) {
	h := newHub(b, vkp.Options{})
	alarm := string(readFile(b, "alarm.json"))
	url := h.url("/Bundle")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *benchClients}}
	var n atomic.Int64
	// A known patient, as in a seeded sandbox.
	if status, body, _ := h.post("/Bundle", []byte(alarm)); status != 200 {
		b.Fatalf("status %d: %s", status, body)
	}
	b.SetParallelism(*benchClients / max(1, runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			// Fresh identifiers: each alarm is a new one.
			body := strings.ReplaceAll(alarm, "3f0c8a8e-1d2b-4c5e-9f60-7a8b9c0d1e0", fmt.Sprintf("%08x-1d2b-4c5e-9f60-%011x", i, i))
			resp, err := client.Post(url, "application/fhir+json", bytes.NewReader([]byte(body)))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alarms/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time this process has used, on every thread: on a
// machine shared with other work it varies less than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAlarmParse: the hub's own judging of an alarm (shape, test-data
// guard, codes, VKP profiles) and building its transaction, without
// storing it.
func BenchmarkAlarmParse(b *testing.B) {
	alarm := readFile(b, "alarm.json")
	if _, err := vkp.Parse(alarm, nil, vkp.Alarm); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := vkp.Parse(alarm, nil, vkp.Alarm)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Transaction(vkp.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAlarmProfiles: the VKP profile validation of each of an
// alarm's resources (DetectedIssue, Encounter, Composition) against the
// profile the hub judges it by, the part of Parse that costs most.
//
//	go test -run '^$' -bench AlarmProfiles -benchtime 2s ./connectors/vkp
func BenchmarkAlarmProfiles(b *testing.B) {
	s, err := vkp.Parse(readFile(b, "alarm.json"), nil, vkp.Alarm)
	if err != nil {
		b.Fatal(err)
	}
	defs, err := spec.Definitions()
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range s.Entries {
		opts := profile.Options{Profiles: []string{vkp.ProfileOf(vkp.Alarm, e)}}
		if issues := defs.Validate(e.Raw, opts); profile.HasErrors(issues) {
			b.Fatalf("%s: %v", e.Type, issues)
		}
		b.Run(e.Type, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				defs.Validate(e.Raw, opts)
			}
		})
	}
}
