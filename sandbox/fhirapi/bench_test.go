package fhirapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

// BenchmarkTransaction_50Entries posts 50-entry transaction Bundles to the
// API over loopback and reports resources ingested per second.
func BenchmarkTransaction_50Entries(b *testing.B) {
	e, _ := newEngineWith(b, fhirapi.Config{})
	srv := httptest.NewServer(e)
	defer srv.Close()
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = transaction50(i)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		resp, err := http.Post(srv.URL+"/fhir", "application/fhir+json", bytes.NewReader(bodies[i%len(bodies)]))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(50*b.N)/time.Since(start).Seconds(), "resources/s")
}
