package fhirapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// encodingJSON is what writeBundle wrote before appendJSON: encoding/json
// with HTML escaping off, without the Encoder's newline.
func encodingJSON(b *bundleJSON) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// sameAsEncodingJSON fails t unless b's appendJSON writes what
// encoding/json writes for it, or both refuse it.
func sameAsEncodingJSON(t *testing.T, b *bundleJSON) {
	t.Helper()
	want, wantErr := encodingJSON(b)
	got, err := b.appendJSON([]byte("prefix:"))
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
		b    *bundleJSON
	}{
		{"empty searchset", &bundleJSON{ResourceType: "Bundle", ID: "1", Meta: metaJSON{"2026-12-04T10:00:00.000Z"}, Type: "searchset", Total: &zero,
			Link: []linkJSON{{"self", "http://127.0.0.1/fhir/Patient?name=a&b=<c>"}}}},
		{"no total, no links", &bundleJSON{ResourceType: "Bundle", ID: "2", Type: "searchset"}},
		{"matches and includes", &bundleJSON{ResourceType: "Bundle", ID: "3", Meta: metaJSON{"x"}, Type: "searchset", Total: &total,
			Link: []linkJSON{{"self", "http://h/fhir/Observation?subject=Patient/p1&_include=Observation:subject"}, {"next", "http://h/fhir/Observation?_cursor=a%2Fb"}},
			Entry: []entryJSON{
				{FullURL: "http://h/fhir/Patient/p1", Resource: patient, Search: &searchJSON{"match"}},
				{FullURL: "http://h/fhir/Observation/o1", Resource: indented, Search: &searchJSON{"include"}},
				{Resource: issue, Search: &searchJSON{"outcome"}},
			}}},
		{"history", &bundleJSON{ResourceType: "Bundle", ID: "4", Type: "history", Total: &total, Entry: []entryJSON{
			{FullURL: "http://h/fhir/Patient/p1", Resource: patient, Request: &requestJSON{"PUT", "Patient/p1"},
				Response: &responseJSON{Status: "200 OK", Etag: `W/"2"`, LastModified: "2026-12-04T10:00:00.000Z"}},
			{FullURL: "http://h/fhir/Patient/p1", Request: &requestJSON{"DELETE", "Patient/p1"}, Response: &responseJSON{Status: "204 No Content"}},
			{Response: &responseJSON{Status: "400 Bad Request", Location: "Patient/p1/_history/1", Outcome: issue}},
			{},
		}}},
		{"escapes in strings", &bundleJSON{ResourceType: "Bundle\"\\\n\t\x01\x7f", ID: "\xff\xfe bad UTF-8 \u2029", Type: "<searchset> & more",
			Link: []linkJSON{{"self\b\f\r", "é—🙂"}}}},
		{"a resource that is not JSON", &bundleJSON{ResourceType: "Bundle", Type: "searchset", Entry: []entryJSON{{Resource: json.RawMessage(`{"a":`)}}}},
		{"an outcome that is not JSON", &bundleJSON{ResourceType: "Bundle", Type: "batch-response", Entry: []entryJSON{{Response: &responseJSON{Status: "500", Outcome: json.RawMessage(`nul`)}}}}},
		{"a resource of two values", &bundleJSON{ResourceType: "Bundle", Type: "searchset", Entry: []entryJSON{{Resource: json.RawMessage(`{} {}`)}}}},
	} {
		t.Run(c.name, func(t *testing.T) { sameAsEncodingJSON(t, c.b) })
	}
}

// FuzzBundleJSON: appendJSON writes what encoding/json writes, or refuses
// what it refuses, for any strings and raw resources.
func FuzzBundleJSON(f *testing.F) {
	f.Add("searchset", "http://h/fhir/Patient?a=1&b=<2>", "http://h/fhir/Patient/p1", []byte(`{"resourceType":"Patient"}`), "match", "200 OK", []byte(`{"x":[1,2.5e3,true,null]}`), true)
	f.Add("history\u2028", "\xff", "", []byte(" { \"a\" : \"\\u00e9\" } "), "", "", []byte(`[`), false)
	f.Fuzz(func(t *testing.T, typ, link, fullURL string, resource []byte, mode, status string, outcome []byte, withTotal bool) {
		b := &bundleJSON{ResourceType: "Bundle", ID: fullURL, Meta: metaJSON{status}, Type: typ, Link: []linkJSON{{mode, link}}}
		if withTotal {
			n := len(resource) - len(outcome)
			b.Total = &n
		}
		b.Entry = []entryJSON{
			{FullURL: fullURL, Resource: resource, Search: &searchJSON{mode}},
			{Request: &requestJSON{typ, link}, Response: &responseJSON{Status: status, Location: link, Etag: mode, LastModified: typ, Outcome: outcome}},
		}
		sameAsEncodingJSON(t, b)
	})
}

// BenchmarkBundleJSON writes a searchset page of ten stored Observations
// (compact, about 600 bytes each) as writeBundle does, and for reference
// as encoding/json wrote it.
//
//	go test -run '^$' -bench BundleJSON ./sandbox/fhirapi
func BenchmarkBundleJSON(b *testing.B) {
	total := 38
	page := &bundleJSON{ResourceType: "Bundle", ID: "18ee241550f7ebec", Meta: metaJSON{"2026-12-04T19:36:15.338Z"}, Type: "searchset", Total: &total,
		Link: []linkJSON{{"self", "http://127.0.0.1:8080/fhir/Observation?_count=10&subject=Patient%2Fpersona-copd"},
			{"next", "http://127.0.0.1:8080/fhir/Observation?_count=10&_cursor=Ab3xQ&subject=Patient%2Fpersona-copd"}}}
	for i := range 10 {
		id := fmt.Sprintf("obs-%d", i)
		page.Entry = append(page.Entry, entryJSON{FullURL: "http://127.0.0.1:8080/fhir/Observation/" + id, Search: &searchJSON{"match"},
			Resource: json.RawMessage(`{"resourceType":"Observation","id":"` + id + `","meta":{"versionId":"1","lastUpdated":"2026-12-04T19:36:07.451Z"},` +
				`"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],` +
				`"code":{"coding":[{"system":"http://loinc.org","code":"59408-5","display":"Oxygen saturation in Arterial blood by Pulse oximetry"}],"text":"SpO2"},` +
				`"subject":{"reference":"Patient/persona-copd"},"effectiveDateTime":"2026-11-2` + fmt.Sprint(i%10) + `T08:00:00+01:00",` +
				`"valueQuantity":{"value":9` + fmt.Sprint(i%10) + `,"unit":"%","system":"http://unitsofmeasure.org","code":"%"}}`)})
	}
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := page.appendJSON(make([]byte, 0, page.sizeHint())); err != nil {
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
