package interaction_test

import (
	"bytes"
	"testing"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
)

// FuzzVouchedResource: what a caller vouches for is read as fhirjson
// reads it. Whatever the body, reading it vouched for never panics, and a
// body fhirjson takes is read with the same type, id and compacted body.
func FuzzVouchedResource(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Nordmann"}]}`,
		"\ufeff{ \"resourceType\" : \"Observation\", \"status\":\"final\", \"code\":{\"text\":\"x\"} }",
		`{"resourceType":"Patient","id":""}`, `{"resourceType":"Patientx"}`, `{"id":"a"}`, `[]`, `null`, `{`,
		`{"resourceType":"Patient","id":"a b"}`, `{"resourceType":"Patient","id":7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gotErr := interaction.VouchedResource(body)
		want, err := fhirjson.Parse(body)
		if err != nil {
			return // vouched for wrongly: the caller's promise was broken
		}
		if gotErr != nil {
			t.Fatalf("fhirjson takes %q, read vouched for: %v", body, gotErr)
		}
		if got.Type != want.Type || got.ID != want.ID || !bytes.Equal(got.Body, want.Body) {
			t.Fatalf("%q read vouched for as %s/%s %s, fhirjson reads %s/%s %s", body, got.Type, got.ID, got.Body, want.Type, want.ID, want.Body)
		}
	})
}
