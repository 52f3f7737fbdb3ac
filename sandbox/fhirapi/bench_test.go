package fhirapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/fhirapi"
)

// transaction50 is an encounter's worth of data: a Patient and 49
// Observations that reference it through its urn:uuid fullUrl.
func transaction50(n int) []byte {
	var b strings.Builder
	pid := fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", n)
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	b.WriteString(`{"fullUrl":"` + pid + `","resource":{"resourceType":"Patient","name":[{"family":"Nordmann","given":["Kari"]}],"birthDate":"1985-01-01"},"request":{"method":"POST","url":"Patient"}}`)
	for i := 0; i < 49; i++ {
		fmt.Fprintf(&b, `,{"resource":{"resourceType":"Observation","status":"final",`+
			`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},`+
			`"subject":{"reference":"%s"},"effectiveDateTime":"2026-01-02T10:%02d:00+01:00",`+
			`"valueQuantity":{"value":%d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}},"request":{"method":"POST","url":"Observation"}}`,
			pid, i, 60+i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTransaction_50Entries posts 50-entry transaction Bundles to the
// API over loopback, from one client and from four at once, and reports
// resources ingested per second.
func BenchmarkTransaction_50Entries(b *testing.B) {
	for _, clients := range []int{1, 4} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			e, _ := newEngineWith(b, fhirapi.Config{})
			srv := httptest.NewServer(e)
			defer srv.Close()
			bodies := make([][]byte, 16)
			for i := range bodies {
				bodies[i] = transaction50(i)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			cpu := cpuTime()
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						resp, err := http.Post(srv.URL+"/fhir", "application/fhir+json", bytes.NewReader(bodies[i%int64(len(bodies))]))
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(50*b.N)/time.Since(start).Seconds(), "resources/s")
			// CPU per resource, of server and client alike: on a shared
			// machine it varies less than the rate, and it bounds the rate
			// once the cores are busy.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(50*b.N), "cpu-ns/resource")
		})
	}
}

// BenchmarkEverything_500 measures Patient/[id]/$everything for a patient
// with 500 resources in its compartment (the Patient and 499 Observations
// from a pulse oximeter) that reference three resources outside it (the
// Device, the GP, the organisation): in one page (_count=1000) and as the
// first page of 50, and every page of 50 in turn. It reports how many
// referenced resources the answer holds (search mode include).
func BenchmarkEverything_500(b *testing.B) {
	e, store := newEngineWith(b, fhirapi.Config{})
	bodies := [][]byte{
		[]byte(`{"resourceType":"Organization","id":"org500","name":"Fiktiv kommune"}`),
		[]byte(`{"resourceType":"Practitioner","id":"gp500","name":[{"family":"Lege"}]}`),
		[]byte(`{"resourceType":"Device","id":"oxi500","owner":{"reference":"Organization/org500"}}`),
		[]byte(`{"resourceType":"Patient","id":"p500","generalPractitioner":[{"reference":"Practitioner/gp500"}],"managingOrganization":{"reference":"Organization/org500"}}`),
	}
	for i := 0; i < 499; i++ {
		bodies = append(bodies, []byte(fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final",`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"59408-5"}]},"subject":{"reference":"Patient/p500"},`+
			`"performer":[{"reference":"Practitioner/gp500"}],"device":{"reference":"Device/oxi500"},`+
			`"effectiveDateTime":"2026-01-02T10:00:00Z","valueQuantity":{"value":%d,"unit":"%%"}}`, i, 90+i%10)))
	}
	if err := fhirstore.Load(context.Background(), store, fhirstore.DefaultSandbox, bodies, fhirstore.LoadOptions{}); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	for _, c := range []struct {
		name, query string
		want        int
	}{{"all", "?_count=1000", 500}, {"first_page_of_50", "?_count=50", 50}} {
		b.Run(c.name, func(b *testing.B) {
			var lat []time.Duration
			included := 0
			for i := 0; i < b.N; i++ {
				start := time.Now()
				resp, err := http.Get(srv.URL + "/fhir/Patient/p500/$everything" + c.query)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if resp.StatusCode != http.StatusOK || bytes.Count(body, []byte(`"mode":"match"`)) != c.want {
					b.Fatalf("status %d, %d matches", resp.StatusCode, bytes.Count(body, []byte(`"mode":"match"`)))
				}
				included = bytes.Count(body, []byte(`"mode":"include"`))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(included), "referenced")
		})
	}
	// Every page of 50, following the next links: the page where the
	// matches end also gathers the references of the whole compartment.
	b.Run("all_pages_of_50", func(b *testing.B) {
		var lat []time.Duration
		included := 0
		for i := 0; i < b.N; i++ {
			start := time.Now()
			matches := 0
			included = 0
			for next := srv.URL + "/fhir/Patient/p500/$everything?_count=50"; next != ""; {
				resp, err := http.Get(next)
				if err != nil {
					b.Fatal(err)
				}
				var page struct {
					Link  []struct{ Relation, URL string }
					Entry []struct{ Search struct{ Mode string } }
				}
				err = json.NewDecoder(resp.Body).Decode(&page)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d: %v", resp.StatusCode, err)
				}
				next = ""
				for _, l := range page.Link {
					if l.Relation == "next" {
						next = l.URL
					}
				}
				for _, e := range page.Entry {
					if e.Search.Mode == "match" {
						matches++
					} else {
						included++
					}
				}
			}
			lat = append(lat, time.Since(start))
			if matches != 500 {
				b.Fatalf("%d matches over all pages", matches)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(included), "referenced")
	})
}
