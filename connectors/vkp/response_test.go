package vkp

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
)

// storeResponse is a transaction-response as the store writes one.
const storeResponse = `{"resourceType":"Bundle","id":"18a2b3c4d5e6f708","meta":{"lastUpdated":"2026-12-04T04:00:00.123Z"},"type":"transaction-response","entry":[` +
	`{"fullUrl":"http://127.0.0.1:8080/fhir/sb/DetectedIssue/vkp-3f0c8a8e","response":{"status":"201 Created","location":"DetectedIssue/vkp-3f0c8a8e/_history/1","etag":"W/\"1\"","lastModified":"2026-12-04T04:00:00.123Z"}},` +
	`{"fullUrl":"http://127.0.0.1:8080/fhir/sb/Encounter/vkp-4f0c8a8e","response":{"status":"200 OK","location":"Encounter/vkp-4f0c8a8e/_history/2","etag":"W/\"2\"","lastModified":"2026-12-04T04:00:00.123Z"}}]}`

// patientResponses are transaction-responses the splice must either
// answer as encoding/json does or leave to it.
func patientResponses() []string {
	r := func(old, new string) string { return strings.Replace(storeResponse, old, new, 1) }
	return []string{
		storeResponse,
		r(`"id":"18a2b3c4d5e6f708",`, ``),
		r(`"meta":{"lastUpdated":"2026-12-04T04:00:00.123Z"},`, ``),
		r(`"id":"18a2b3c4d5e6f708",`, `"id":"",`),
		r(`"id":"18a2b3c4d5e6f708",`, `"id":null,`),
		r(`"meta":{"lastUpdated":"2026-12-04T04:00:00.123Z"},`, `"meta":null,`),
		r(`"meta":{"lastUpdated":"2026-12-04T04:00:00.123Z"},`, `"meta":{},`),
		r(`"meta":{"lastUpdated":"2026-12-04T04:00:00.123Z"},`, `"meta":{ "lastUpdated":"x"},`),
		r(`"resourceType":"Bundle",`, ``),
		r(`"resourceType":"Bundle",`, `"resourcetype":"Bundle",`),
		r(`"resourceType":"Bundle",`, `"resourceType":"Bundle","resourceType":"Bundle",`),
		r(`"type":"transaction-response",`, `"type":"transaction-response","link":[],`),
		r(`"type":"transaction-response",`, `"type":"<transaction>\u0026",`),
		r(`"type":"transaction-response",`, `"type":"trans\u00e6ction",`),
		r(`"id":"18a2b3c4d5e6f708",`, ``) + ` `,
		storeResponse + "\n",
		" " + storeResponse,
		r(`,"entry":[`, `,"entry":[ `),
		r(`"resourceType":"Bundle","id":"18a2b3c4d5e6f708",`, `"id":"18a2b3c4d5e6f708","resourceType":"Bundle",`),
		`{"resourceType":"Bundle","type":"transaction-response","entry":[]}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":null}`,
		`{"resourceType":"Bundle","type":"transaction-response"}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[{}]}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[null]}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[{"fullUrl":"Patient"},{"fullUrl":"a/b"},{"fullUrl":"x/y/z"}]}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[{"fullUrl":"/b"},{"fullUrl":"http://h/<b>/c/d"}]}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[{"FullURL":"http://h/a/b"}]}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[{"fullUrl":"http://h/a/b","fullUrl":"http://i/a/b"}]}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[{"fullUrl":"http:\/\/h/a/b"}]}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[{"fullUrl":7}]}`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[{"fullUrl":"http://h/a/b"}]`,
		`{"resourceType":"Bundle","type":"transaction-response","entry":[{"fullUrl":"http://h/a/b"}]}x`,
		`[]`, `null`, ``, `{}`,
	}
}

var patient = &fhirstore.Resource{Type: "Patient", ID: "p<1>", Version: 3, LastUpdated: time.Date(2026, 12, 4, 4, 0, 0, 5e8, time.UTC)}

func TestWithPatientFirst_SameAsEncodingJSON(t *testing.T) {
	spliced := 0
	for _, resp := range patientResponses() {
		got, err := withPatientFirst([]byte(resp), patient)
		want, werr := withPatientFirstStd([]byte(resp), patient)
		if !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
			t.Errorf("withPatientFirst(%s) =\n%s, %v\nwant\n%s, %v", resp, got, err, want, werr)
		}
		if _, ok := splicePatientFirst([]byte(resp), patient); ok {
			spliced++
		}
	}
	if spliced < 8 {
		t.Errorf("the splice took %d responses, want at least the store's 8", spliced)
	}
}

func FuzzWithPatientFirst(f *testing.F) {
	for _, r := range patientResponses() {
		f.Add([]byte(r))
	}
	f.Fuzz(func(t *testing.T, resp []byte) {
		got, err := withPatientFirst(resp, patient)
		want, werr := withPatientFirstStd(resp, patient)
		if !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
			t.Fatalf("withPatientFirst(%q) =\n%s, %v\nwant\n%s, %v", resp, got, err, want, werr)
		}
	})
}

func BenchmarkWithPatientFirst(b *testing.B) {
	for _, c := range []struct {
		name string
		fn   func([]byte, *fhirstore.Resource) ([]byte, error)
	}{{"splice", withPatientFirst}, {"encoding-json", withPatientFirstStd}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.fn([]byte(storeResponse), patient); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
