package profile

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"hpsandbox/fixtures"
)

// BenchmarkValidate_ObservationBP validates a blood-pressure Observation
// against its type and the core bp profile (slicing on category, code and
// component; invariants obs-6, obs-7, vs-1 …), definitions compiled.
func BenchmarkValidate_ObservationBP(b *testing.B) {
	raw, err := os.ReadFile("testdata/resources/observation-bp.json")
	if err != nil {
		b.Fatal(err)
	}
	d := Core()
	if issues := d.Validate(raw, Options{}); HasErrors(issues) {
		b.Fatalf("the example does not validate: %v", issues)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		d.Validate(raw, Options{})
	}
	reportCPU(b, start)
}

// BenchmarkValidate_ObservationBPVaried is the same with readings that
// differ (values, times, ids, subjects), as a device's stream does: the
// invariants whose answers depend on the values are evaluated afresh.
func BenchmarkValidate_ObservationBPVaried(b *testing.B) {
	raw, err := os.ReadFile("testdata/resources/observation-bp.json")
	if err != nil {
		b.Fatal(err)
	}
	const n = 1 << 14
	docs := make([][]byte, n)
	for i := range docs {
		s := strings.Replace(string(raw), `"value": 107`, fmt.Sprintf(`"value": %d`, 90+i%60), 1)
		s = strings.Replace(s, `"value": 60`, fmt.Sprintf(`"value": %d.%d`, 50+i%40, i%10), 1)
		s = strings.Replace(s, `"2012-09-17"`, fmt.Sprintf(`"2012-09-17T%02d:%02d:00Z"`, i%24, i%60), 1)
		s = strings.Replace(s, `"blood-pressure"`, fmt.Sprintf(`"bp-%d"`, i), 1)
		s = strings.Replace(s, `"Patient/example"`, fmt.Sprintf(`"Patient/p%d"`, i%500), 1)
		docs[i] = []byte(s)
	}
	d := Core()
	if issues := d.Validate(docs[1], Options{}); HasErrors(issues) {
		b.Fatalf("a variant does not validate: %v", issues)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	i := 0
	for b.Loop() {
		d.Validate(docs[i%n], Options{})
		i++
	}
	reportCPU(b, start)
}

// cpuTime is the process's CPU time (user and system). On a machine shared
// with other builds, wall time per operation says more about the
// neighbours than about the code; CPU time per operation does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports wall-clock and CPU-time rates of the benchmark loop.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
	if cpu := cpuTime() - start; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "validations/cpu-s")
	}
}

// BenchmarkCompile_Core loads the embedded core definitions and compiles
// every resource type, as a server that compiled all eagerly would.
func BenchmarkCompile_Core(b *testing.B) {
	for b.Loop() {
		d, err := loadCore()
		if err != nil {
			b.Fatal(err)
		}
		for url := range d.raw {
			if c, err := d.compile(url); err == nil && c.sd.Kind == "resource" {
				_ = c
			}
		}
	}
}

// BenchmarkLoad_Core is the start-up cost: reading the embedded data, with
// compilation left to first use.
func BenchmarkLoad_Core(b *testing.B) {
	for b.Loop() {
		if _, err := loadCore(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate_Fixtures validates a Patient and an Observation of the
// synthetic world against their core definitions, as a create that
// declares no profile is judged.
//
//	go test -run '^$' -bench Validate_Fixtures -benchtime 2s ./fhirstore/profile
func BenchmarkValidate_Fixtures(b *testing.B) {
	rs, err := fixtures.Generate(fixtures.Options{Seed: 1, Patients: 1})
	if err != nil {
		b.Fatal(err)
	}
	d := Core()
	for _, typ := range []string{"Patient", "Observation"} {
		var raw []byte
		for _, r := range rs {
			if r.Type == typ {
				raw = r.Body
				break
			}
		}
		if issues := d.Validate(raw, Options{}); HasErrors(issues) {
			b.Fatalf("the %s does not validate: %v", typ, issues)
		}
		b.Run(typ, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				d.Validate(raw, Options{})
			}
			reportCPU(b, start)
		})
	}
}
