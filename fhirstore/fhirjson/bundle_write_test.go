package fhirjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// encodingJSON is what the API wrote Bundles with before AppendJSON: encoding/json
// with HTML escaping off, without the Encoder's newline.
func encodingJSON(b *Bundle) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// sameAsEncodingJSON fails t unless b's AppendJSON writes what
// encoding/json writes for it, or both refuse it.
func sameAsEncodingJSON(t *testing.T, b *Bundle) {
	t.Helper()
	want, wantErr := encodingJSON(b)
	got, err := b.AppendJSON([]byte("prefix:"))
	switch {
	case (err != nil) != (wantErr != nil):
		t.Fatalf("appendJSON error %v, encoding/json error %v", err, wantErr)
	case err != nil:
		return
	case !bytes.HasPrefix(got, []byte("prefix:")):
		t.Fatalf("appendJSON did not append: %q", got)
	case !bytes.Equal(got[len("prefix:"):], want):
		t.Fatalf("appendJSON wrote\n%s\nencoding/json writes\n%s", got[len("prefix:"):], want)
	}
}

func TestBundleJSON_WritesWhatEncodingJSONWrites(t *testing.T) {
	total := 3
	zero := 0
	patient := json.RawMessage(`{"resourceType":"Patient","id":"p1","name":[{"text":"Åse <&> \u2028"}]}`)
	indented := json.RawMessage("{\n  \"resourceType\": \"Observation\",\n  \"id\": \"o1\"\n}")
	issue := json.RawMessage(`{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"not-supported"}]}`)
	for _, c := range []struct {
		name string
		b    *Bundle
	}{
		{"empty searchset", &Bundle{ResourceType: "Bundle", ID: "1", Meta: BundleMeta{"2026-12-04T10:00:00.000Z"}, Type: "searchset", Total: &zero,
			Link: []BundleLink{{"self", "http://127.0.0.1/fhir/Patient?name=a&b=<c>"}}}},
		{"no total, no links", &Bundle{ResourceType: "Bundle", ID: "2", Type: "searchset"}},
		{"matches and includes", &Bundle{ResourceType: "Bundle", ID: "3", Meta: BundleMeta{"x"}, Type: "searchset", Total: &total,
			Link: []BundleLink{{"self", "http://h/fhir/Observation?subject=Patient/p1&_include=Observation:subject"}, {"next", "http://h/fhir/Observation?_cursor=a%2Fb"}},
			Entry: []BundleEntry{
				{FullURL: "http://h/fhir/Patient/p1", Resource: patient, Search: &BundleSearch{"match"}},
				{FullURL: "http://h/fhir/Observation/o1", Resource: indented, Search: &BundleSearch{"include"}},
				{Resource: issue, Search: &BundleSearch{"outcome"}},
			}}},
		{"history", &Bundle{ResourceType: "Bundle", ID: "4", Type: "history", Total: &total, Entry: []BundleEntry{
			{FullURL: "http://h/fhir/Patient/p1", Resource: patient, Request: &BundleRequest{"PUT", "Patient/p1"},
				Response: &BundleResponse{Status: "200 OK", Etag: `W/"2"`, LastModified: "2026-12-04T10:00:00.000Z"}},
			{FullURL: "http://h/fhir/Patient/p1", Request: &BundleRequest{"DELETE", "Patient/p1"}, Response: &BundleResponse{Status: "204 No Content"}},
			{Response: &BundleResponse{Status: "400 Bad Request", Location: "Patient/p1/_history/1", Outcome: issue}},
			{},
		}}},
		{"escapes in strings", &Bundle{ResourceType: "Bundle\"\\\n\t\x01\x7f", ID: "\xff\xfe bad UTF-8 \u2029", Type: "<searchset> & more",
			Link: []BundleLink{{"self\b\f\r", "é—🙂"}}}},
		{"a resource that is not JSON", &Bundle{ResourceType: "Bundle", Type: "searchset", Entry: []BundleEntry{{Resource: json.RawMessage(`{"a":`)}}}},
		{"an outcome that is not JSON", &Bundle{ResourceType: "Bundle", Type: "batch-response", Entry: []BundleEntry{{Response: &BundleResponse{Status: "500", Outcome: json.RawMessage(`nul`)}}}}},
		{"a resource of two values", &Bundle{ResourceType: "Bundle", Type: "searchset", Entry: []BundleEntry{{Resource: json.RawMessage(`{} {}`)}}}},
	} {
		t.Run(c.name, func(t *testing.T) { sameAsEncodingJSON(t, c.b) })
	}
}

// FuzzBundleJSON: AppendJSON writes what encoding/json writes, or refuses
// what it refuses, for any strings and raw resources.
func FuzzBundleJSON(f *testing.F) {
	f.Add("searchset", "http://h/fhir/Patient?a=1&b=<2>", "http://h/fhir/Patient/p1", []byte(`{"resourceType":"Patient"}`), "match", "200 OK", []byte(`{"x":[1,2.5e3,true,null]}`), true)
	f.Add("history\u2028", "\xff", "", []byte(" { \"a\" : \"\\u00e9\" } "), "", "", []byte(`[`), false)
	f.Fuzz(func(t *testing.T, typ, link, fullURL string, resource []byte, mode, status string, outcome []byte, withTotal bool) {
		b := &Bundle{ResourceType: "Bundle", ID: fullURL, Meta: BundleMeta{status}, Type: typ, Link: []BundleLink{{mode, link}}}
		if withTotal {
			n := len(resource) - len(outcome)
			b.Total = &n
		}
		b.Entry = []BundleEntry{
			{FullURL: fullURL, Resource: resource, Search: &BundleSearch{mode}},
			{Request: &BundleRequest{typ, link}, Response: &BundleResponse{Status: status, Location: link, Etag: mode, LastModified: typ, Outcome: outcome}},
		}
		sameAsEncodingJSON(t, b)
	})
}

// BenchmarkBundleJSON writes a searchset page of ten stored Observations
// (compact, about 600 bytes each) as the API does, and for reference
// as encoding/json wrote it.
//
//	go test -run '^$' -bench BundleJSON ./fhirstore/fhirjson
func BenchmarkBundleJSON(b *testing.B) {
	total := 38
	page := &Bundle{ResourceType: "Bundle", ID: "18ee241550f7ebec", Meta: BundleMeta{"2026-12-04T19:36:15.338Z"}, Type: "searchset", Total: &total,
		Link: []BundleLink{{"self", "http://127.0.0.1:8080/fhir/Observation?_count=10&subject=Patient%2Fpersona-copd"},
			{"next", "http://127.0.0.1:8080/fhir/Observation?_count=10&_cursor=Ab3xQ&subject=Patient%2Fpersona-copd"}}}
	for i := range 10 {
		id := fmt.Sprintf("obs-%d", i)
		page.Entry = append(page.Entry, BundleEntry{FullURL: "http://127.0.0.1:8080/fhir/Observation/" + id, Search: &BundleSearch{"match"},
			Resource: json.RawMessage(`{"resourceType":"Observation","id":"` + id + `","meta":{"versionId":"1","lastUpdated":"2026-12-04T19:36:07.451Z"},` +
				`"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],` +
				`"code":{"coding":[{"system":"http://loinc.org","code":"59408-5","display":"Oxygen saturation in Arterial blood by Pulse oximetry"}],"text":"SpO2"},` +
				`"subject":{"reference":"Patient/persona-copd"},"effectiveDateTime":"2026-11-2` + fmt.Sprint(i%10) + `T08:00:00+01:00",` +
				`"valueQuantity":{"value":9` + fmt.Sprint(i%10) + `,"unit":"%","system":"http://unitsofmeasure.org","code":"%"}}`)})
	}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := page.AppendJSON(make([]byte, 0, page.SizeHint())); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodingJSON(page); err != nil {
				b.Fatal(err)
			}
		}
	})
}
